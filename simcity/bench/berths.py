"""Berth-allocation (DBAP) solution quality: objective, proven lower bound, gap to known values.

Runs :func:`optimize.berths.solve` on DBAP instance files (or folders of them) with a fixed
time limit and seed, checks every schedule with the independent checker and prints a table;
``--json`` writes the rows, ``--baseline`` compares ``gap_pct`` paired by instance.

The file conventions are stated, never guessed from a folder name: ``--forbidden`` is the
handling-time sentinel of a forbidden pair (99999 in the Kramer et al. files, 200 in the
Cordeau-style 60×13 files) and ``--weights`` says whether the file's weight line counts
(``file``) or every request weighs 1 (``unit``, the convention of the 60×13 known values).
Known values are read from ``known_values.csv`` in the file's folder or the one above.

An instance proven infeasible is a result, not a failure: its row has status
``infeasible``, check ``infeasible`` and the solver's diagnosis (naming the requests);
only a schedule the independent checker rejects, or a feasible instance left without
a schedule, is a failure (exit status 1).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from optimize.berths import (
    BerthProblem,
    InstanceFormatError,
    SolveResult,
    SolverOptions,
    Status,
    check_schedule,
    read_dbap,
    solve,
)
from simcity.bench.common import (
    BenchError,
    collect_instances,
    compare_to_baseline,
    load_results,
    write_results,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``simcity bench berths``."""
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="DBAP instance files or folders of *.txt instances")
    parser.add_argument("--time-limit", type=float, default=10.0, metavar="S",
                        help="seconds per instance (default 10)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="solver seed (default 0)")
    parser.add_argument("--workers", type=int, default=2, metavar="W",
                        help="CP-SAT workers (default 2)")
    parser.add_argument("--weights", choices=("file", "unit"), default="file",
                        help="'file': the weights in the instance file count (Kramer et al. sets); "
                        "'unit': every request weighs 1 (the Cordeau 60x13 known values). "
                        "Default file")
    parser.add_argument("--forbidden", type=int, default=99999, metavar="H",
                        help="handling time that marks a forbidden request-berth pair "
                        "(default 99999; the Cordeau 60x13 files use 200)")
    parser.add_argument("--plain", action="store_true",
                        help="use the plain CP-SAT model (the 'before' of the comparison)")
    parser.add_argument("--json", metavar="OUT", help="write the result rows to this JSON file")
    parser.add_argument("--baseline", metavar="FILE",
                        help="compare gap_pct with this result file; exit 1 on a regression")
    parser.add_argument("--noise", type=float, default=1.0, metavar="X",
                        help="allowed mean worsening of gap_pct in percentage points (default 1.0)")


def _instances(paths: list[str]) -> list[Path]:
    return collect_instances(paths, [".txt"], "*.txt DBAP instances")


def _known_values(path: Path) -> dict[str, dict[str, str]]:
    for folder in (path.resolve().parent, path.resolve().parent.parent):
        csv_path = folder / "known_values.csv"
        if csv_path.is_file():
            with csv_path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                need = {"instance", "value"}
                if not need <= set(reader.fieldnames or []):
                    raise BenchError(f"{csv_path}:1: expected columns {sorted(need)}, "
                                     f"got {reader.fieldnames}")
                return {row["instance"]: row for row in reader}
    return {}


def _same_conventions(path: str, baseline: dict[str, Any], settings: dict[str, Any]) -> None:
    """A baseline scored under other file conventions cannot be compared with."""
    theirs = baseline.get("settings") or {}
    for key in ("weights", "forbidden"):
        if key in theirs and theirs[key] != settings[key]:
            raise BenchError(f"{path}: settings.{key}: the baseline was run with "
                             f"{theirs[key]!r}, this run with {settings[key]!r} (pass --{key} "
                             f"{theirs[key]})")


def _fmt(x: float | None, nd: int = 0) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def _verdict(problem: BerthProblem, res: SolveResult) -> str:
    """``ok``, ``infeasible`` (proven, with a diagnosis), or what is wrong with the result."""
    if res.status is Status.INFEASIBLE:
        return "infeasible" if res.diagnosis else "infeasible without a diagnosis"
    if not res.schedule:
        return "no schedule within the time limit"
    report = check_schedule(problem, res.schedule)
    if not report.ok:
        return report.violations[0]
    if report.objective is not None and res.objective is not None \
            and abs(report.objective - res.objective) > 1e-6 * max(1.0, abs(res.objective)):
        return f"objective mismatch: solver {res.objective}, checker {report.objective}"
    return "ok"


def run_one(path: Path, time_limit: float, seed: int, workers: int, plain: bool, *,
            forbidden: int = 99999, unit_weights: bool = False) -> dict[str, Any]:
    """Solve one instance file and return its result row."""
    problem = read_dbap(path, forbidden=forbidden, unit_weights=unit_weights)
    res = solve(problem, time_limit=time_limit, seed=seed, workers=workers,
                options=SolverOptions(plain=plain))
    verdict = _verdict(problem, res)
    known_row = _known_values(path).get(path.stem)
    known = float(known_row["value"]) if known_row else None
    obj, lb = res.objective, res.lower_bound
    return {
        "instance": path.stem,
        "file": str(path),
        "requests": len(problem.requests),
        "berths": len(problem.berths),
        "status": res.status.value,
        "objective": obj,
        "lower_bound": lb,
        "warm_start": res.warm_start_objective,
        "known": known,
        "known_status": known_row.get("status") if known_row else None,
        "gap_pct": None if obj is None or not known else 100.0 * (obj - known) / known,
        "ratio_to_known": None if obj is None or not known else obj / known,
        "proven_gap_pct": None if res.gap is None else 100.0 * res.gap,
        "wall_s": round(res.wall_time, 3),
        "check": verdict,
        "diagnosis": [{"requests": list(d.requests), "reason": d.reason} for d in res.diagnosis],
    }


def main(args: argparse.Namespace) -> int:
    """Run the benchmark; 0 = done, 1 = checker failure or baseline regression, 2 = bad input."""
    try:
        files = _instances(args.paths)
        if args.time_limit <= 0 or args.workers < 1:
            raise BenchError("--time-limit must be > 0 and --workers >= 1")
        baseline = load_results(args.baseline) if args.baseline else None
        settings = {"time_limit": args.time_limit, "seed": args.seed, "workers": args.workers,
                    "model": "plain" if args.plain else "strong", "weights": args.weights,
                    "forbidden": args.forbidden}
        if baseline is not None:
            _same_conventions(args.baseline, baseline, settings)
        rows = []
        head = (f"{'instance':<14}{'n×m':>8}{'status':>10}{'objective':>11}{'bound':>10}"
                f"{'known':>9}{'gap%':>8}{'ratio':>7}{'proven%':>9}{'time s':>8}  check")
        print(head)
        for f in files:
            row = run_one(f, args.time_limit, args.seed, args.workers, args.plain,
                          forbidden=args.forbidden, unit_weights=args.weights == "unit")
            rows.append(row)
            print(f"{row['instance']:<14}{row['requests']:>4}×{row['berths']:<3}{row['status']:>10}"
                  f"{_fmt(row['objective'], 1):>11}{_fmt(row['lower_bound'], 1):>10}"
                  f"{_fmt(row['known']):>9}{_fmt(row['gap_pct'], 2):>8}"
                  f"{_fmt(row['ratio_to_known'], 3):>7}{_fmt(row['proven_gap_pct'], 2):>9}"
                  f"{row['wall_s']:>8.1f}  {row['check']}", flush=True)
            for d in row["diagnosis"]:
                print(f"  {row['instance']}: {d['reason']}", flush=True)
    except (BenchError, InstanceFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bad = [r["instance"] for r in rows if r["check"] not in ("ok", "infeasible")]
    summary = {
        "instances": len(rows),
        "optimal": sum(r["status"] == "optimal" for r in rows),
        "infeasible": [r["instance"] for r in rows if r["check"] == "infeasible"],
        "checker_failures": bad,
    }
    if args.json:
        out = write_results(args.json, "berths", rows, settings, summary)
        print(f"wrote {out}")
    code = 1 if bad else 0
    if bad:
        print(f"no valid schedule (checker, solver or time limit): {', '.join(bad)}", file=sys.stderr)
    if baseline is not None:
        cmp = compare_to_baseline(rows, baseline["rows"], "gap_pct", kind="difference",
                                  noise=args.noise)
        print(cmp.message)
        if not cmp.ok:
            code = 1
    return code
