"""Vehicle-routing solution quality: solve benchmark instances, check, compare to best known.

Each instance (a VRPLIB ``.vrp`` CVRP file or a Solomon ``.txt`` VRPTW file; a folder means
every such file in it) is solved with the chosen backend, the solution is validated by
the independent checker, and cost, best-known value (from the nearest ``bks.csv``), gap,
feasibility and wall time are reported as a table and, with ``--json``, as a result file.
With ``--baseline`` the mean gap is compared instance by instance with a stored result
and the command exits with status 1 if it worsened by more than ``--noise`` percentage
points.

Conventions: CVRP distances are rounded to the nearest integer (TSPLIB nint); Solomon
uses the DIMACS convention (distances truncated to one decimal, distance-only objective).
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from optimize.routing import BACKENDS, InfeasibleProblemError, check, solve
from optimize.routing.io import Instance, InstanceError, find_bks, read_instance, write_sol
from simcity.bench.common import BenchError, compare_to_baseline, load_results, write_results
from simcity.bench.common import collect_instances as common_collect

_SUFFIXES = (".vrp", ".txt")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``simcity bench routing`` options."""
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="instance files (.vrp, Solomon .txt) or folders holding them")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="solver backend (default: auto, the parallel portfolio)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--time-limit", type=float, metavar="S",
                        help="seconds per instance (default 5)")
    budget.add_argument("--time-per-100", type=float, metavar="S",
                        help="seconds per 100 customers of each instance")
    parser.add_argument("--seed", type=int, default=1, help="solver seed (default 1)")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT")
    parser.add_argument("--sol-dir", metavar="DIR", help="write each solution as DIR/<name>.sol")
    parser.add_argument("--baseline", metavar="FILE",
                        help="compare the gaps with this stored result; exit 1 on regression")
    parser.add_argument("--noise", type=float, default=0.5, metavar="PCT",
                        help="allowed worsening of the mean paired gap, in percentage "
                             "points (default 0.5)")


def collect_instances(paths: list[str]) -> list[Path]:
    """Instance files named by ``paths`` (folders expanded, sorted); errors name the path."""
    return common_collect(paths, sorted(_SUFFIXES), ".vrp or .txt instance")


def _cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (the portfolio workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _budget(args: argparse.Namespace, inst: Instance) -> float:
    if args.time_per_100 is not None:
        return args.time_per_100 * inst.num_customers / 100.0
    return 5.0 if args.time_limit is None else float(args.time_limit)


def run_instance(inst: Instance, args: argparse.Namespace) -> dict[str, Any]:
    """Solve and check one instance; return its result row."""
    bks_table = find_bks(inst.path)
    bks = bks_table.get(inst.name)
    limit = _budget(args, inst)
    row: dict[str, Any] = {
        "instance": inst.name, "kind": inst.kind, "customers": inst.num_customers,
        "time_limit": round(limit, 3), "bks": bks[0] if bks else None,
        "bks_column": bks[1] if bks else None,
    }
    t0, c0 = time.perf_counter(), _cpu_seconds()
    try:
        sol = solve(inst.problem, time_limit=limit, seed=args.seed, backend=args.backend)
    except InfeasibleProblemError as exc:
        row.update(feasible=False, error=str(exc), wall_time=time.perf_counter() - t0,
                   cost=None, gap_pct=None)
        return row
    wall = time.perf_counter() - t0
    # CPU seconds actually received: on a shared machine this shows how much of the
    # nominal budget (time limit x backends) the solvers really got.
    cpu = _cpu_seconds() - c0
    report = check(inst.problem, sol)
    cost = report.cost.total / inst.unit
    row.update(
        backend=sol.backend, cost=round(cost, 4), routes=report.num_routes,
        feasible=report.ok, violations=list(report.violations[:3]),
        gap_pct=round(100.0 * (cost - bks[0]) / bks[0], 4) if bks and report.ok else None,
        wall_time=round(wall, 3), cpu_time=round(cpu, 3),
    )
    if args.sol_dir:
        write_sol(Path(args.sol_dir) / f"{inst.name}.sol", inst.problem, sol, cost)
    return row


def _table(rows: list[dict[str, Any]]) -> str:
    head = f"{'instance':<16}{'n':>5}{'backend':>14}{'cost':>12}{'bks':>12}{'gap%':>8}" \
           f"{'ok':>4}{'time s':>8}{'cpu s':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        gap = "" if r.get("gap_pct") is None else f"{r['gap_pct']:.2f}"
        cost = "" if r.get("cost") is None else f"{r['cost']:.1f}"
        bks = "" if r.get("bks") is None else f"{r['bks']:.1f}"
        lines.append(f"{r['instance']:<16}{r['customers']:>5}{r.get('backend', '-'):>14}"
                     f"{cost:>12}{bks:>12}{gap:>8}{'yes' if r['feasible'] else 'NO':>4}"
                     f"{r['wall_time']:>8.1f}{r.get('cpu_time', 0.0):>8.1f}")
    return "\n".join(lines)


def family(name: str) -> str:
    """Instance family: ``X`` for ``X-n101-k25``, ``RC1`` for Solomon ``RC105``."""
    if "-" in name:
        return name.split("-")[0]
    m = re.match(r"([A-Za-z]+\d)", name)
    return m.group(1) if m else name


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean gap overall and per instance family (see :func:`family`)."""
    gaps = [r["gap_pct"] for r in rows if r.get("gap_pct") is not None]
    fams: dict[str, list[float]] = {}
    for r in rows:
        if r.get("gap_pct") is not None:
            fams.setdefault(family(r["instance"]), []).append(r["gap_pct"])
    return {
        "instances": len(rows),
        "feasible": sum(1 for r in rows if r["feasible"]),
        "mean_gap_pct": round(statistics.fmean(gaps), 4) if gaps else None,
        "max_gap_pct": round(max(gaps), 4) if gaps else None,
        "at_bks": sum(1 for g in gaps if g <= 1e-9),
        "mean_gap_pct_by_family": {k: round(statistics.fmean(v), 4) for k, v in fams.items()},
        "wall_time_total": round(sum(r["wall_time"] for r in rows), 2),
        "cpu_time_total": round(sum(r.get("cpu_time", 0.0) for r in rows), 2),
    }


def main(args: argparse.Namespace) -> int:
    """Run the benchmark; 0 on success, 1 on infeasible/regression, 2 on bad input."""
    try:
        for flag, value in (("--time-limit", args.time_limit), ("--time-per-100", args.time_per_100),
                            ("--noise", args.noise)):
            if value is not None and not (value > 0 or flag == "--noise" and value == 0):
                raise BenchError(f"{flag} must be positive, got {value}")
        files = collect_instances(args.paths)
        instances = [read_instance(f) for f in files]
        baseline = load_results(args.baseline) if args.baseline else None
    except (BenchError, InstanceError) as exc:
        print(f"simcity bench routing: error: {exc}", file=sys.stderr)
        return 2
    rows = []
    for inst in instances:
        row = run_instance(inst, args)
        rows.append(row)
        print(_table([row]).splitlines()[-1] if rows[1:] else _table([row]), flush=True)
    summary = summarize(rows)
    print(f"mean gap {summary['mean_gap_pct']}% over {len(rows)} instances "
          f"({summary['feasible']} feasible, {summary['at_bks']} at best known); "
          f"by family {summary['mean_gap_pct_by_family']}")
    print("conventions: " + "; ".join(sorted({i.convention for i in instances})))
    status = 0 if summary["feasible"] == len(rows) else 1
    if args.json:
        settings = {"backend": args.backend, "time_limit": args.time_limit,
                    "time_per_100": args.time_per_100, "seed": args.seed,
                    "conventions": sorted({i.convention for i in instances})}
        write_results(args.json, "routing", rows, settings, summary)
    if baseline is not None:
        comp = compare_to_baseline(rows, baseline["rows"], "gap_pct", kind="difference",
                                   noise=args.noise)
        print(comp.message)
        if not comp.ok:
            status = 1
    return status
