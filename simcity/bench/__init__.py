"""Benchmarks behind ``simcity bench``: solver quality and simulation speed.

Each benchmark module exposes ``add_arguments(parser)`` and ``main(args) -> int`` and
is registered by name in :data:`simcity.cli.BENCHMARKS`.  Shared pieces (JSON result
files, baseline comparison with a noise band) live in :mod:`simcity.bench.common`.
"""
