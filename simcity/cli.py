"""The ``simcity`` command line.  It parses arguments and calls the library; no model logic."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from simcity import __version__, commands
from simcity.bench import BENCHMARKS


def _add_bench(sub: argparse._SubParsersAction[argparse.ArgumentParser], load: bool) -> None:
    bench = sub.add_parser("bench", help="run a benchmark (solver quality or simulation speed)")
    if not load:
        # Benchmark modules import the solvers and models; only pay for that when asked.
        return
    bsub = bench.add_subparsers(dest="bench", required=True, metavar="NAME")
    for name, (module, help_text) in BENCHMARKS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue  # benchmark not built yet
        p = bsub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text))
        mod.add_arguments(p)
        p.set_defaults(func=mod.main)


def build_parser(with_benchmarks: bool = True) -> argparse.ArgumentParser:
    """The argument parser; ``with_benchmarks=False`` skips importing the benchmark modules."""
    parser = argparse.ArgumentParser(
        prog="simcity",
        description="Simulate and optimise city operations: compare policies on scenario files.",
    )
    parser.add_argument("--version", action="version", version=f"simcity {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_commands(sub)
    _add_bench(sub, with_benchmarks)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(with_benchmarks=bool(argv) and argv[0] == "bench")
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
