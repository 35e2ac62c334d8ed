"""Sub-commands of the CLI other than ``bench``: validate, schema, compare, sweep, select.

This module defines the arguments and runs the light commands (``validate``, ``schema``); the
commands that run simulations live in :mod:`simcity.run_commands`, loaded only when one of them
is asked for (it brings pandas, matplotlib and the solvers: about 2 s), so ``--help`` and
``validate`` start at once.

Every user error (bad scenario, unusable output folder, unreachable Dask scheduler) is printed
as one line per problem on stderr with exit status 2; tracebacks are reserved for bugs.

``compare``, ``sweep`` and ``select`` persist every finished replication in a work folder
(``--work-dir``, default ``results/.partial``) as it finishes; after Ctrl-C or a killed
process, the same command with ``--resume`` reruns only what had not finished.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from simcity.plugins import PluginError, load_plugins
from simcity.scenario import (
    ScenarioBase,
    ScenarioError,
    apply_sets,
    check_specs,
    json_schema,
    load_scenario,
    parse_set,
)

EXIT_USAGE = 2


def _run_command(name: str) -> Callable[[argparse.Namespace], int]:
    """The handler ``name`` of :mod:`simcity.run_commands`, imported when it is called."""
    def run(args: argparse.Namespace) -> int:
        handler: Callable[[argparse.Namespace], int] = getattr(importlib.import_module("simcity.run_commands"), name)
        return handler(args)

    return run


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
    _add_run_options(p)
    p.add_argument("--warmup-check", nargs="?", const="", default=None, metavar="SERIES",
                   help="MSER-5 on a by_time series (default: the model's first time plot) after the "
                        "configured warm-up; warns when a transient is still in the data")
    g = p.add_argument_group("replications to a precision (Hoad, Robinson & Davies 2010)")
    g.add_argument("--precision", type=_positive_float, metavar="D",
                   help="add replications until every chosen metric's paired difference to the baseline has "
                        "a CI half-width within D of its size (e.g. 0.05); --replications is then the first "
                        "batch (default 3)")
    g.add_argument("--metric", nargs="+", metavar="M", help="metrics the precision applies to (default: all reported)")
    g.add_argument("--max-replications", type=_positive_int, default=1000, metavar="N",
                   help="budget per policy (default 1000)")
    g.add_argument("--look-ahead", type=_non_negative_int, default=5, metavar="K",
                   help="replications the precision must keep holding before the run stops (default 5)")
    g.add_argument("--relative-to", choices=["difference", "baseline"], default="difference",
                   help="divide the half-width by the difference itself (default) or by the baseline's mean")
    p.set_defaults(func=_run_command("cmd_compare"))

    p = sub.add_parser("report", help="draw the report of a saved results folder again: a compare folder "
                                      "from the folder alone (no model, no simulation); a sweep or "
                                      "select folder from its resolved scenario and tables (the "
                                      "model's plug-in installed, nothing simulated)")
    p.add_argument("folder", metavar="DIR", type=Path)
    p.add_argument("--out", "-o", type=Path, metavar="FILE",
                   help="where to write the report (default: DIR/report.html, replaced)")
    p.set_defaults(func=_run_command("cmd_report"))

    p = sub.add_parser("warmup", help="estimate the warm-up: MSER-5 truncation of a time series per "
                                      "replication of a run with no warm-up")
    _add_run_options(p)
    p.add_argument("--metric", help="the by_time series to analyse (default: the model's first time plot)")
    p.add_argument("--entity", help="one entity's series (default: the city-wide series, or the mean "
                                    "over entities)")
    p.add_argument("--batch", type=_positive_int, default=5, metavar="B",
                   help="batch size of the MSER rule (default 5, MSER-5; a daily cycle of hourly data "
                        "needs 24)")
    p.set_defaults(func=_run_command("cmd_warmup"))

    p = sub.add_parser("sweep", help="vary the parameters of the scenario's [sweep] table; "
                                     "responses against parameters with confidence bands")
    _add_run_options(p)
    p.set_defaults(func=_run_command("cmd_sweep"))

    p = sub.add_parser("select", help="select the best policy (Kim-Nelson, sequential replications, "
                                      "stated confidence)")
    _add_run_options(p, replications=False)
    p.add_argument("--metric", help="metric to optimise (default: the scenario's [selection] table)")
    p.add_argument("--goal", choices=["min", "max"], help="minimise or maximise (default: the metric's direction)")
    p.add_argument("--delta", type=_positive_float, metavar="D",
                   help="indifference zone: smallest difference worth detecting, in the metric's unit")
    p.add_argument("--alpha", type=_probability, metavar="A",
                   help="error probability; the selection is right with probability >= 1 - A (default 0.05)")
    p.add_argument("--max-replications", type=_positive_int, metavar="N", help="budget per policy")
    p.add_argument("--policies", nargs="+", metavar="NAME", help="choose among these policies only")
    p.set_defaults(func=_run_command("cmd_select"))


def _non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, found {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, found {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, found {v}")
    return v


def _probability(text: str) -> float:
    v = _positive_float(text)
    if not v < 0.5:
        raise argparse.ArgumentTypeError(f"expected a probability below 0.5, found {v}")
    return v


def _set_option(text: str) -> str:
    try:
        parse_set(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _add_run_options(p: argparse.ArgumentParser, replications: bool = True) -> None:
    p.add_argument("file", metavar="FILE", type=Path)
    p.add_argument("--set", dest="sets", action="append", default=[], type=_set_option, metavar="KEY=VALUE",
                   help="override a value of the scenario by its dotted path, validated as the file is "
                        "(repeatable): --set policies.0.fleet_scale=0.9 --set city.routing.effort=2; "
                        "list entries by position or name; VALUE is a TOML value (text may go unquoted); "
                        "the saved scenario records it")
    if replications:
        p.add_argument("--replications", "-n", type=_positive_int, metavar="N",
                       help="replications per policy (default: the scenario's)")
    p.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="J",
                   help="worker processes (results are identical for any J; default 1)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run on Dask: 'local' starts a local cluster of J workers, otherwise the "
                        "address of a running scheduler (tcp://host:8786); needs dask[distributed]")
    p.add_argument("--out", "-o", type=Path, metavar="DIR",
                   help="fresh results folder (default results/<name>-<timestamp>)")
    p.add_argument("--resume", action="store_true",
                   help="reuse the replications an interrupted run of the same scenario finished")
    p.add_argument("--work-dir", type=Path, default=None, metavar="DIR",
                   help="where finished replications are kept until the results folder is written "
                        "(default results/.partial)")


def report_problems(exc: Exception) -> int:
    problems = exc.problems if isinstance(exc, ScenarioError) else [exc]
    for prob in problems:
        print(str(prob), file=sys.stderr)
    return EXIT_USAGE


def load_with_sets(args: argparse.Namespace) -> ScenarioBase:
    """The scenario of ``args.file`` with its ``--set`` overrides applied (located errors)."""
    scenario = load_scenario(args.file)
    sets = list(getattr(args, "sets", []) or [])
    return apply_sets(scenario, [parse_set(t) for t in sets], sets)


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        load_plugins()
    except PluginError as exc:
        return report_problems(exc)
    status = 0
    for f in args.files:
        try:
            check_specs(load_scenario(f))
        except ScenarioError as exc:
            status = report_problems(exc)
        else:
            print(f"{f}: OK")
    return status


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0
