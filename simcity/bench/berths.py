"""Berth-allocation (DBAP) solution quality: objective, proven lower bound, gap to known values.

Runs :func:`optimize.berths.solve` on DBAP instance files (or folders of them) with a fixed
time limit and seed, checks every schedule with the independent checker and prints a table;
``--json`` writes the rows, ``--baseline`` compares ``gap_pct`` paired by instance.

Conventions of ``../shared/instances/bap`` (see its README): a file in a folder whose name
starts with ``cordeau`` marks forbidden pairs with 200 and is scored with unit weights;
otherwise the sentinel is 99999 and the file's weights count.  Known values are read from
``known_values.csv`` in the file's folder or the one above.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from optimize.berths import (
    InstanceFormatError,
    SolverOptions,
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
    parser.add_argument("--plain", action="store_true",
                        help="use the plain CP-SAT model (the 'before' of the comparison)")
    parser.add_argument("--json", metavar="OUT", help="write the result rows to this JSON file")
    parser.add_argument("--baseline", metavar="FILE",
                        help="compare gap_pct with this result file; exit 1 on a regression")
    parser.add_argument("--noise", type=float, default=1.0, metavar="X",
                        help="allowed mean worsening of gap_pct in percentage points (default 1.0)")


def _instances(paths: list[str]) -> list[Path]:
    return collect_instances(paths, [".txt"], "*.txt DBAP instances")


def _conventions(path: Path) -> tuple[int, bool]:
    """(forbidden sentinel, unit weights) for a file of the shared instance sets."""
    if path.resolve().parent.name.lower().startswith("cordeau"):
        return 200, True
    return 99999, False


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


def _fmt(x: float | None, nd: int = 0) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def run_one(path: Path, time_limit: float, seed: int, workers: int, plain: bool) -> dict[str, Any]:
    """Solve one instance file and return its result row."""
    forbidden, unit = _conventions(path)
    problem = read_dbap(path, forbidden=forbidden, unit_weights=unit)
    res = solve(problem, time_limit=time_limit, seed=seed, workers=workers,
                options=SolverOptions(plain=plain))
    report = check_schedule(problem, res.schedule)
    if res.schedule and report.ok and report.objective is not None and res.objective is not None \
            and abs(report.objective - res.objective) > 1e-6 * max(1.0, abs(res.objective)):
        verdict = f"objective mismatch: solver {res.objective}, checker {report.objective}"
    elif not res.schedule:
        verdict = "no schedule"
    else:
        verdict = "ok" if report.ok else report.violations[0]
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
    }


def main(args: argparse.Namespace) -> int:
    """Run the benchmark; 0 = done, 1 = checker failure or baseline regression, 2 = bad input."""
    try:
        files = _instances(args.paths)
        if args.time_limit <= 0 or args.workers < 1:
            raise BenchError("--time-limit must be > 0 and --workers >= 1")
        baseline = load_results(args.baseline) if args.baseline else None
        rows = []
        head = (f"{'instance':<14}{'n×m':>8}{'status':>10}{'objective':>11}{'bound':>10}"
                f"{'known':>9}{'gap%':>8}{'ratio':>7}{'proven%':>9}{'time s':>8}  check")
        print(head)
        for f in files:
            row = run_one(f, args.time_limit, args.seed, args.workers, args.plain)
            rows.append(row)
            print(f"{row['instance']:<14}{row['requests']:>4}×{row['berths']:<3}{row['status']:>10}"
                  f"{_fmt(row['objective'], 1):>11}{_fmt(row['lower_bound'], 1):>10}"
                  f"{_fmt(row['known']):>9}{_fmt(row['gap_pct'], 2):>8}"
                  f"{_fmt(row['ratio_to_known'], 3):>7}{_fmt(row['proven_gap_pct'], 2):>9}"
                  f"{row['wall_s']:>8.1f}  {row['check']}", flush=True)
    except (BenchError, InstanceFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = {"time_limit": args.time_limit, "seed": args.seed, "workers": args.workers,
                "model": "plain" if args.plain else "strong"}
    bad = [r["instance"] for r in rows if r["check"] != "ok"]
    summary = {
        "instances": len(rows),
        "optimal": sum(r["status"] == "optimal" for r in rows),
        "checker_failures": bad,
    }
    if args.json:
        out = write_results(args.json, "berths", rows, settings, summary)
        print(f"wrote {out}")
    code = 1 if bad else 0
    if bad:
        print(f"checker rejected: {', '.join(bad)}", file=sys.stderr)
    if baseline is not None:
        cmp = compare_to_baseline(rows, baseline["rows"], "gap_pct", kind="difference",
                                  noise=args.noise)
        print(cmp.message)
        if not cmp.ok:
            code = 1
    return code
