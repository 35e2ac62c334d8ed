"""The CLI commands that run simulations: ``compare``, ``sweep`` and ``select``.

Their arguments are defined in :mod:`simcity.commands`.  Every finished replication is kept in
a work folder (``--work-dir``, default ``results/.partial``) as it finishes; after Ctrl-C or a
killed process, the same command with ``--resume`` reruns only what had not finished.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from simcity import (
    precision,
    report,
    selection,
    selection_report,
    sweep,
    sweep_report,
    warmup,
    warmup_report,
)
from simcity.backends import Backend, BackendError, make_backend
from simcity.commands import EXIT_USAGE, load_with_sets, report_problems
from simcity.experiment import Results, all_tasks, compare, count_finished, discard_work
from simcity.output import OutputError, check_out_dir, default_out_dir
from simcity.plugins import PluginError, load_plugins
from simcity.scenario import ScenarioBase, ScenarioError
from simcity.store import DEFAULT_WORK_ROOT
from simcity.tasks import Task


def _prepare(args: argparse.Namespace) -> tuple[ScenarioBase | None, int]:
    """Load plug-ins and the scenario, check the output folder; (scenario, 0) or (None, status)."""
    try:
        load_plugins()
        scenario = load_with_sets(args)
        if getattr(args, "replications", None) is not None:
            scenario = scenario.with_overrides({"replications": args.replications})
        sweep.check(scenario)
        if args.out is not None:
            check_out_dir(args.out)
    except (ScenarioError, PluginError, OutputError) as exc:
        return None, report_problems(exc)
    return scenario, 0


def _work_root(args: argparse.Namespace) -> Path:
    return args.work_dir if args.work_dir is not None else DEFAULT_WORK_ROOT


def _backend(args: argparse.Namespace) -> Backend:
    return make_backend(args.jobs, args.dask)


def _note_resume(scenarios: Sequence[ScenarioBase], task_lists: Sequence[Sequence[Task]],
                 args: argparse.Namespace) -> None:
    n = count_finished(scenarios, task_lists, _work_root(args))
    if args.resume:
        print(f"resuming: {n} finished replications reused from {_work_root(args)}", file=sys.stderr)
    elif n:
        print(f"note: {n} finished replications of an interrupted run are in {_work_root(args)}; "
              "they are run again (pass --resume to reuse them)", file=sys.stderr)


def _run_guarded(args: argparse.Namespace, body: Callable[[Backend], int]) -> int:
    """Run ``body(backend)`` turning backend start-up failures and interruptions into messages."""
    try:
        with _backend(args) as be:
            return body(be)
    except BackendError as exc:
        return report_problems(exc)
    except OSError as exc:  # a task file could not be written (disk full, file too large, ...)
        print(f"{_write_failure(exc)}; the replications finished so far are kept in {_work_root(args)} - "
              "fix that and run the same command with --resume to finish the run", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"interrupted; finished replications are kept in {_work_root(args)} - "
              "run the same command with --resume to continue", file=sys.stderr)
        return 130


def cmd_compare(args: argparse.Namespace) -> int:
    scenario, status = _prepare(args)
    if scenario is None:
        return status
    if getattr(args, "precision", None) is not None:
        return _compare_to_precision(args, scenario)
    _note_resume([scenario], [all_tasks(scenario)], args)

    def body(be: Backend) -> int:
        results = compare(scenario, backend=be, work_root=_work_root(args), resume=args.resume)
        notes = _warmup_check(args, results)
        return _finish(args, args.out or default_out_dir(scenario.name),
                       lambda o: report.save(results, o, notes=notes), [scenario],
                       "\n\n".join([report.terminal_summary(results), *notes]))

    return _run_guarded(args, body)


def _warmup_check(args: argparse.Namespace, results: Results) -> list[str]:
    """``compare --warmup-check``: the verdict of MSER on the kept series, as a report note."""
    if getattr(args, "warmup_check", None) is None:
        return []
    try:
        return [warmup.residual_check(results, args.warmup_check or None)[1]]
    except warmup.WarmupError as exc:
        return [f"Warm-up check not possible: {exc}."]


def _compare_to_precision(args: argparse.Namespace, scenario: ScenarioBase) -> int:
    """``compare --precision``: replications added until the paired intervals are narrow enough."""
    initial = args.replications if args.replications is not None else 3
    if args.resume:
        print(f"resuming: finished replications are reused from {_work_root(args)}", file=sys.stderr)

    def body(be: Backend) -> int:
        try:
            run = precision.compare_to_precision(
                scenario, args.precision, metrics=args.metric, max_replications=args.max_replications,
                initial=initial, look_ahead=args.look_ahead, relative_to=args.relative_to, backend=be,
                work_root=_work_root(args), resume=args.resume)
        except precision.PrecisionError as exc:
            print(f"{args.file}: compare: {exc}", file=sys.stderr)
            return 2
        res = run.results
        text = json.dumps(run.to_json(), indent=2)
        notes = [run.statement(), *_warmup_check(args, res)]
        return _finish(args, args.out or default_out_dir(scenario.name),
                       lambda o: report.save(res, o, notes=notes,
                                             texts={"precision.json": text,
                                                    "precision_trace.csv": run.trace.to_csv(index=False)}),
                       [scenario], "\n\n".join([report.terminal_summary(res), *notes]))

    return _run_guarded(args, body)


def cmd_report(args: argparse.Namespace) -> int:
    """``simcity report DIR``: the report of a saved folder drawn again from its tables and metadata."""
    try:
        target = report.rerender(args.folder, args.out)
    except report.FolderError as exc:
        return report_problems(exc)
    except OSError as exc:
        print(_write_failure(exc), file=sys.stderr)
        return EXIT_USAGE
    print(f"report written to {target}")
    return 0


def cmd_warmup(args: argparse.Namespace) -> int:
    scenario, status = _prepare(args)
    if scenario is None:
        return status
    cold = scenario.with_overrides({"warmup_hours": 0.0})
    _note_resume([cold], [all_tasks(cold)], args)

    def body(be: Backend) -> int:
        try:
            w, _ = warmup.run_warmup(scenario, metric=args.metric, entity=args.entity, batch=args.batch,
                                     backend=be, work_root=_work_root(args), resume=args.resume)
        except warmup.WarmupError as exc:
            print(f"{args.file}: warmup: {exc}", file=sys.stderr)
            return 2
        return _finish(args, args.out or default_out_dir(scenario.name, "warmup"),
                       lambda o: warmup_report.save_warmup(w, o), [cold], warmup_report.terminal_summary(w))

    return _run_guarded(args, body)


def cmd_sweep(args: argparse.Namespace) -> int:
    scenario, status = _prepare(args)
    if scenario is None:
        return status
    try:
        sweep.spec_of(scenario)
        points = sweep.point_scenarios(scenario, sweep.design(scenario))
    except ScenarioError as exc:
        return report_problems(exc)
    _note_resume(points, [all_tasks(s) for s in points], args)

    def body(be: Backend) -> int:
        res = sweep.run_sweep(scenario, backend=be, work_root=_work_root(args), resume=args.resume)
        return _finish(args, args.out or default_out_dir(scenario.name, "sweep"),
                       lambda o: sweep_report.save_sweep(res, o), points, sweep_report.terminal_summary(res))

    return _run_guarded(args, body)


def cmd_select(args: argparse.Namespace) -> int:
    scenario, status = _prepare(args)
    if scenario is None:
        return status
    try:
        spec = selection.resolve_spec(scenario, metric=args.metric, goal=args.goal, delta=args.delta,
                                      alpha=args.alpha, max_replications=args.max_replications,
                                      policies=args.policies)
        # the options become the scenario's [selection] table, so the saved scenario re-runs the same selection
        scenario = scenario.with_overrides({"selection": spec.model_dump(mode="json")})
    except (selection.SelectionError, ScenarioError) as exc:
        return report_problems(exc)
    if args.resume:
        print(f"resuming: finished replications are reused from {_work_root(args)}", file=sys.stderr)

    def body(be: Backend) -> int:
        sel = selection.select(scenario, spec, backend=be, work_root=_work_root(args),
                               resume=args.resume, progress=None)
        return _finish(args, args.out or default_out_dir(scenario.name, "select"),
                       lambda o: selection_report.save_selection(sel, o), [scenario],
                       selection_report.terminal_summary(sel))

    return _run_guarded(args, body)


def _write_failure(exc: OSError) -> str:
    """``PATH: cannot write: REASON`` for a failed write (the path is named whenever known)."""
    where = exc.filename if exc.filename is not None else "<unknown file>"
    return f"{where}: cannot write: {exc.strerror or exc}"


def _finish(args: argparse.Namespace, out: Path, save: Callable[[Path], object],
            scenarios: Sequence[ScenarioBase], summary: str) -> int:
    """Write the results folder, then drop the work folders and print the summary."""
    try:
        save(out)
    except (OutputError, OSError) as exc:
        # nothing is lost: the work folder is dropped only after the results folder is written
        what = str(exc) if isinstance(exc, OutputError) else f"{out}: results not written ({_write_failure(exc)})"
        print(f"{what}; every replication has finished and is kept in {_work_root(args)} - run the "
              "same command with --resume (and a fresh --out if the folder is taken) to write the "
              "results without running them again", file=sys.stderr)
        return EXIT_USAGE
    discard_work(scenarios, _work_root(args))
    print(summary)
    print(f"\nresults written to {out}/ (report: {out / 'report.html'})")
    return 0
