"""Solve a generated waste-collection instance and verify it with the independent checker.

The instance (``optimize.routing.generate.waste_instance``): bins in a 12 km square city,
two transfer stations, 8-hour shifts (06:00-14:00), a 30-minute lunch starting between
10:00 and 11:30, two compartments (residual, recycling), half-empty bins optional.

Usage (from the repository root)::

    python benchmarks/routing/waste_instance.py --bins 300 --time-limit 120 --json OUT

Exit status 0 when the solution passes the checker and every truck unloads before it
returns, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time

from optimize.routing import check, solve
from optimize.routing.generate import waste_instance
from simcity.bench.common import write_results


def main(argv: list[str] | None = None) -> int:
    """Run the waste-instance check; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bins", type=int, default=300)
    ap.add_argument("--facilities", type=int, default=2)
    ap.add_argument("--trucks", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--backend", default="ortools")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args(argv)
    problem = waste_instance(args.bins, args.facilities, args.trucks, seed=args.seed)
    t0 = time.perf_counter()
    sol = solve(problem, time_limit=args.time_limit, seed=args.seed, backend=args.backend)
    wall = time.perf_counter() - t0
    report = check(problem, sol)
    unload_last = all(not any(r.visits[-1].load) and any(v.kind == "facility" for v in r.visits)
                      for r in sol.routes)
    rows = []
    for r in sol.routes:
        rows.append({
            "instance": f"{problem.name}/truck{r.vehicle}",
            "stops": len(r.stops),
            "unloads": sum(1 for v in r.visits if v.kind == "facility"),
            "start_h": round(r.start_time / 3600, 3), "end_h": round(r.end_time / 3600, 3),
            "break_start_h": None if r.break_start is None else round(r.break_start / 3600, 3),
            "distance_km": round(r.distance / 1000, 3),
            "last_visit": r.visits[-1].kind,
        })
        print(f"truck {r.vehicle}: {rows[-1]['stops']:3d} bins, {rows[-1]['unloads']:2d} unloads, "
              f"{rows[-1]['start_h']:.2f}h-{rows[-1]['end_h']:.2f}h, break "
              f"{rows[-1]['break_start_h']}, {rows[-1]['distance_km']:.1f} km, ends with "
              f"{rows[-1]['last_visit']}")
    summary = {
        "checker_ok": report.ok, "violations": list(report.violations[:5]),
        "cost": round(sol.cost.total, 3), "cost_breakdown": vars(sol.cost),
        "routes": sol.num_routes, "skipped_optional": len(sol.skipped),
        "optional_bins": sum(1 for s in problem.stops if not s.required),
        "every_truck_unloads_before_return": unload_last, "wall_time": round(wall, 2),
        "backend": sol.backend,
    }
    print(f"cost {summary['cost']}, {sol.num_routes} trucks, {len(sol.skipped)} of "
          f"{summary['optional_bins']} optional bins skipped, checker "
          f"{'OK' if report.ok else 'FAILED ' + str(report.violations[:3])}, "
          f"unload before return: {unload_last}, {wall:.1f} s")
    if args.json:
        write_results(args.json, "routing-waste", rows, vars(args), summary)
    return 0 if report.ok and unload_last else 1


if __name__ == "__main__":
    sys.exit(main())
