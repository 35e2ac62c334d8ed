"""Benchmarks behind ``simcity bench``: solver quality and simulation speed.

Each benchmark module exposes ``add_arguments(parser)`` and ``main(args) -> int`` and
is registered by name in :data:`BENCHMARKS` (the CLI imports a module only when its benchmark
is asked for).  Shared pieces (JSON result files, baseline comparison with a noise band) live
in :mod:`simcity.bench.common`.
"""

from __future__ import annotations

#: ``simcity bench NAME``: module path of each benchmark.  A module exposes
#: ``add_arguments(parser)`` and ``main(args) -> int`` (see :mod:`simcity.bench`).
BENCHMARKS: dict[str, tuple[str, str]] = {
    "routing": ("simcity.bench.routing", "vehicle-routing solution quality (CVRP, VRPTW)"),
    "berths": ("simcity.bench.berths", "berth-allocation solution quality (DBAP)"),
    "parking": ("simcity.bench.parking", "parking simulation speed at city scale"),
    "garbage": ("simcity.bench.garbage", "garbage-collection simulation speed"),
    "bikes": ("simcity.bench.bikes", "shared-bike simulation speed at city scale"),
    "city": ("simcity.bench.citybench",
             "city-day simulation speed: parking, garbage and bikes together at Suzhou scale"),
    "ci": ("simcity.bench.ci", "CI gate: quick tier of every benchmark vs benchmarks/baselines/ci.json"),
}
