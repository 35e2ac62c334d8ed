"""Sub-commands of the CLI other than ``bench``: validate, schema, compare.

Every user error (bad scenario, unusable output folder) is printed as one line per problem
on stderr with exit status 2; tracebacks are reserved for bugs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_USAGE = 2


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {v}")
    return v


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the scenario commands on the CLI's sub-parser."""
    p = sub.add_parser("validate", help="check scenario files; print OK or every problem")
    p.add_argument("files", nargs="+", metavar="FILE", type=Path)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("compare", help="run every policy x replication of a scenario and report")
    p.add_argument("file", metavar="FILE", type=Path)
    p.add_argument("--replications", "-n", type=_positive_int, metavar="N",
                   help="replications per policy (default: the scenario's)")
    p.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="J",
                   help="worker processes (results are identical for any J; default 1)")
    p.add_argument("--out", "-o", type=Path, metavar="DIR",
                   help="fresh results folder (default results/<name>-<timestamp>)")
    p.set_defaults(func=cmd_compare)


def _report_problems(exc: Exception) -> int:
    from simcity.scenario import ScenarioError

    problems = exc.problems if isinstance(exc, ScenarioError) else [exc]
    for prob in problems:
        print(str(prob), file=sys.stderr)
    return EXIT_USAGE


def cmd_validate(args: argparse.Namespace) -> int:
    from simcity.scenario import ScenarioError, load_scenario

    status = 0
    for f in args.files:
        try:
            load_scenario(f)
        except ScenarioError as exc:
            status = _report_problems(exc)
        else:
            print(f"{f}: OK")
    return status


def cmd_schema(args: argparse.Namespace) -> int:
    from simcity.scenario import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from simcity import report
    from simcity.experiment import compare
    from simcity.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.file)
        if args.replications is not None:
            scenario = scenario.with_overrides({"replications": args.replications})
    except ScenarioError as exc:
        return _report_problems(exc)
    try:
        out = args.out
        if out is not None:
            report.check_out_dir(out)
    except report.OutputError as exc:
        return _report_problems(exc)

    results = compare(scenario, jobs=args.jobs)
    out = out or report.default_out_dir(results)
    try:
        report.save(results, out)
    except (report.OutputError, OSError) as exc:
        return _report_problems(exc)
    print(report.terminal_summary(results))
    print(f"\nresults written to {out}/ (report: {out / 'report.html'})")
    return 0
