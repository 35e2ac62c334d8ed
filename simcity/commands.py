"""Sub-commands of the CLI other than ``bench``: validate, schema, compare, sweep, select.

Every user error (bad scenario, unusable output folder, unreachable Dask scheduler) is printed
as one line per problem on stderr with exit status 2; tracebacks are reserved for bugs.

``compare``, ``sweep`` and ``select`` persist every finished replication in a work folder
(``--work-dir``, default ``results/.partial``) as it finishes; after Ctrl-C or a killed
process, the same command with ``--resume`` reruns only what had not finished.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simcity.backends import Backend
    from simcity.experiment import Task
    from simcity.scenario import ScenarioBase

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
    _add_run_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", help="vary the parameters of the scenario's [sweep] table; "
                                     "responses against parameters with confidence bands")
    _add_run_options(p)
    p.set_defaults(func=cmd_sweep)

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
    p.set_defaults(func=cmd_select)


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


def _add_run_options(p: argparse.ArgumentParser, replications: bool = True) -> None:
    p.add_argument("file", metavar="FILE", type=Path)
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


def _report_problems(exc: Exception) -> int:
    from simcity.scenario import ScenarioError

    problems = exc.problems if isinstance(exc, ScenarioError) else [exc]
    for prob in problems:
        print(str(prob), file=sys.stderr)
    return EXIT_USAGE


def cmd_validate(args: argparse.Namespace) -> int:
    from simcity.plugins import PluginError, load_plugins
    from simcity.scenario import ScenarioError, load_scenario
    from simcity.sweep import check

    try:
        load_plugins()
    except PluginError as exc:
        return _report_problems(exc)
    status = 0
    for f in args.files:
        try:
            check(load_scenario(f))
        except ScenarioError as exc:
            status = _report_problems(exc)
        else:
            print(f"{f}: OK")
    return status


def cmd_schema(args: argparse.Namespace) -> int:
    from simcity.scenario import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _prepare(args: argparse.Namespace) -> tuple[ScenarioBase | None, int]:
    """Load plug-ins and the scenario, check the output folder; (scenario, 0) or (None, status)."""
    from simcity import report
    from simcity.plugins import PluginError, load_plugins
    from simcity.scenario import ScenarioError, load_scenario
    from simcity.sweep import check

    try:
        load_plugins()
        scenario = load_scenario(args.file)
        if getattr(args, "replications", None) is not None:
            scenario = scenario.with_overrides({"replications": args.replications})
        check(scenario)
        if args.out is not None:
            report.check_out_dir(args.out)
    except (ScenarioError, PluginError, report.OutputError) as exc:
        return None, _report_problems(exc)
    return scenario, 0


def _work_root(args: argparse.Namespace) -> Path:
    from simcity.store import DEFAULT_WORK_ROOT

    return args.work_dir if args.work_dir is not None else DEFAULT_WORK_ROOT


def _backend(args: argparse.Namespace) -> Backend:
    from simcity.backends import make_backend

    return make_backend(args.jobs, args.dask)


def _note_resume(scenarios: Sequence[ScenarioBase], task_lists: Sequence[Sequence[Task]],
                 args: argparse.Namespace) -> None:
    from simcity.experiment import count_finished

    n = count_finished(scenarios, task_lists, _work_root(args))
    if args.resume:
        print(f"resuming: {n} finished replications reused from {_work_root(args)}", file=sys.stderr)
    elif n:
        print(f"note: {n} finished replications of an interrupted run are in {_work_root(args)}; "
              "they are run again (pass --resume to reuse them)", file=sys.stderr)


def _run_guarded(args: argparse.Namespace, body: Callable[[Backend], int]) -> int:
    """Run ``body(backend)`` turning backend start-up failures and interruptions into messages."""
    from simcity.backends import BackendError

    try:
        with _backend(args) as be:
            return body(be)
    except BackendError as exc:
        return _report_problems(exc)
    except KeyboardInterrupt:
        print(f"interrupted; finished replications are kept in {_work_root(args)} - "
              "run the same command with --resume to continue", file=sys.stderr)
        return 130


def cmd_compare(args: argparse.Namespace) -> int:
    from simcity import report
    from simcity.experiment import all_tasks, compare

    scenario, status = _prepare(args)
    if scenario is None:
        return status
    _note_resume([scenario], [all_tasks(scenario)], args)

    def body(be: Backend) -> int:
        results = compare(scenario, backend=be, work_root=_work_root(args), resume=args.resume)
        return _finish(args, args.out or report.default_out_dir(results), lambda o: report.save(results, o),
                       [scenario], report.terminal_summary(results))

    return _run_guarded(args, body)


def cmd_sweep(args: argparse.Namespace) -> int:
    from simcity import sweep
    from simcity.experiment import all_tasks
    from simcity.scenario import ScenarioError

    scenario, status = _prepare(args)
    if scenario is None:
        return status
    try:
        sweep.spec_of(scenario)
        points = sweep.point_scenarios(scenario, sweep.design(scenario))
    except ScenarioError as exc:
        return _report_problems(exc)
    _note_resume(points, [all_tasks(s) for s in points], args)

    def body(be: Backend) -> int:
        res = sweep.run_sweep(scenario, backend=be, work_root=_work_root(args), resume=args.resume)
        return _finish(args, args.out or _default_out(scenario, "sweep"), lambda o: sweep.save_sweep(res, o),
                       points, sweep.terminal_summary(res))

    return _run_guarded(args, body)


def cmd_select(args: argparse.Namespace) -> int:
    from simcity import selection

    scenario, status = _prepare(args)
    if scenario is None:
        return status
    try:
        spec = selection.resolve_spec(scenario, metric=args.metric, goal=args.goal, delta=args.delta,
                                      alpha=args.alpha, max_replications=args.max_replications,
                                      policies=args.policies)
    except selection.SelectionError as exc:
        return _report_problems(exc)
    if args.resume:
        print(f"resuming: finished replications are reused from {_work_root(args)}", file=sys.stderr)

    def body(be: Backend) -> int:
        sel = selection.select(scenario, spec, backend=be, work_root=_work_root(args),
                               resume=args.resume, progress=None)
        return _finish(args, args.out or _default_out(scenario, "select"),
                       lambda o: selection.save_selection(sel, o), [scenario], selection.terminal_summary(sel))

    return _run_guarded(args, body)


def _finish(args: argparse.Namespace, out: Path, save: Callable[[Path], object],
            scenarios: Sequence[ScenarioBase], summary: str) -> int:
    """Write the results folder, then drop the work folders and print the summary."""
    from simcity.experiment import discard_work
    from simcity.report import OutputError

    try:
        save(out)
    except (OutputError, OSError) as exc:
        return _report_problems(exc)
    discard_work(scenarios, _work_root(args))
    print(summary)
    print(f"\nresults written to {out}/ (report: {out / 'report.html'})")
    return 0


def _default_out(scenario: ScenarioBase, kind: str) -> Path:
    import datetime as _dt

    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in scenario.name)[:60]
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"{safe}-{kind}-{stamp}"
