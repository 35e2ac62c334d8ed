"""Garbage plan quality: the daily routing effort against a reference given more effort.

Runs one policy of a garbage scenario for a few days, keeps the daily routing problems it
met (one per collection group, sector and day, after the plan cache), samples ``--samples``
of them evenly, and solves each twice, both with a work budget (reproducible):

* as the simulation does (the scenario's ``routing`` settings: effort, metaheuristic,
  start);
* the reference: ``--factor`` times the effort with guided local search, which keeps
  improving until its effort is spent (greedy descent would stop at the same local optimum).

It reports per sector-day planned km, the solver objective (cost plus skip penalties),
required points left out, wall seconds of both solves, and the mean gaps.  Speed must not
come from worse plans: the gate fails when the mean km gap exceeds ``--max-gap`` percent.

Run it as ``python -m simcity.bench.garbage_plans [SCENARIO] [options]``; it is not yet a
``simcity bench`` command because every registered benchmark needs a CI quick tier and
baseline, and its reference solves (guided local search, ~14 ms per solution on district
sectors) take minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from optimize.budget import Budget
from optimize.pool import process_pool
from optimize.routing import solve
from optimize.routing.ortools_backend import OrToolsOptions
from simcity.bench.common import result_file, shipped_scenario, write_results
from simcity.bench.garbage import load_garbage_scenario
from simcity.domain import RunContext
from simcity.garbage import Policy, simulate
from simcity.garbage.planning import Timer
from simcity.rng import Streams

SCENARIO = shipped_scenario("garbage_liangxi.toml")
DEFAULT_OUT = result_file("garbage_plans")


def _objective(sol: Any) -> float:
    c = sol.cost
    return float(c.fixed + c.distance + c.time + c.penalty)


def solve_pair(problem: Any, effort: int, options: Any, factor: int, seed: int) -> dict[str, Any]:
    """Solve ``problem`` at ``effort`` with ``options`` and at the reference (worker)."""
    out: dict[str, Any] = {"instance": problem.name, "stops": len(problem.stops)}
    ref_opts = replace(options, metaheuristic="GUIDED_LOCAL_SEARCH")
    for label, eff, opts in (("daily", effort, options), ("reference", effort * factor, ref_opts)):
        t0 = time.perf_counter()
        sol = solve(problem, seed=seed, backend="ortools", budget=Budget.work(eff), options=opts)
        out[f"{label}_s"] = round(time.perf_counter() - t0, 3)
        out[f"{label}_km"] = round(sol.total_distance / 1000.0, 3)
        out[f"{label}_objective"] = round(_objective(sol), 2)
        out[f"{label}_skipped"] = len(sol.skipped)
        out[f"{label}_limit_reached"] = sol.limit_reached
    out["km_gap_pct"] = round(100.0 * (out["daily_km"] / out["reference_km"] - 1.0), 3)
    out["objective_gap_pct"] = round(100.0 * (out["daily_objective"] / out["reference_objective"] - 1.0), 3)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", nargs="?", type=Path, default=SCENARIO,
                        help="garbage scenario (default scenarios/garbage_liangxi.toml)")
    parser.add_argument("--policy", default="threshold-90",
                        help="policy whose daily problems are sampled (default threshold-90)")
    parser.add_argument("--days", type=int, default=3, help="simulated days after warm-up (default 3)")
    parser.add_argument("--samples", type=int, default=20, help="sector-days sampled (default 20)")
    parser.add_argument("--factor", type=int, default=10, help="reference effort multiple (default 10)")
    parser.add_argument("--max-gap", type=float, default=2.0,
                        help="gate: largest mean planned-km gap in percent (default 2)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON")


def main(args: argparse.Namespace) -> int:
    """Collect, sample, solve both ways, print the table, write JSON, apply the gate."""
    if min(args.days, args.samples, args.factor, args.jobs) < 1:
        print("error: --days, --samples, --factor and --jobs must be positive", file=sys.stderr)
        return 2
    sc = load_garbage_scenario(args.scenario)
    if sc is None:
        return 2
    names = [p.name for p in sc.policy_list]
    if args.policy not in names:
        print(f"error: no policy {args.policy!r} in {args.scenario}; it has {', '.join(names)}",
              file=sys.stderr)
        return 2
    sc = sc.with_overrides({"horizon_hours": sc.warmup_hours + 24.0 * args.days})
    pol = cast(Policy, sc.policy_list[names.index(args.policy)])
    city: Any = sc.city  # type: ignore[attr-defined]
    timer = Timer(record=[])
    simulate(city, pol, RunContext(sc.horizon_hours, sc.warmup_hours, Streams(sc.seed, 0), 0), timer)
    assert timer.record is not None
    daily = [p for p in timer.record if not p.name.startswith("day -1")]  # masters are not daily
    if not daily:
        print("error: the policy planned no routes in these days", file=sys.stderr)
        return 2
    pick = np.unique(np.linspace(0, len(daily) - 1, min(args.samples, len(daily))).round().astype(int))
    r = city.routing

    opts = OrToolsOptions(first_solution=r.first_solution, metaheuristic=r.metaheuristic)
    with process_pool(args.jobs) as ex:
        rows = list(ex.map(solve_pair, [daily[i] for i in pick], [r.effort] * len(pick),
                           [opts] * len(pick), [args.factor] * len(pick), [r.seed] * len(pick)))
    print(f"{'sector-day':24s} {'stops':>5s} {'km':>8s} {'ref km':>8s} {'gap%':>6s} {'obj gap%':>8s} "
          f"{'skip':>4s} {'ref skip':>8s} {'s':>6s} {'ref s':>7s}")
    for row in rows:
        print(f"{row['instance']:24s} {row['stops']:5d} {row['daily_km']:8.1f} {row['reference_km']:8.1f} "
              f"{row['km_gap_pct']:6.2f} {row['objective_gap_pct']:8.2f} {row['daily_skipped']:4d} "
              f"{row['reference_skipped']:8d} {row['daily_s']:6.2f} {row['reference_s']:7.2f}")
    summary = {
        "mean_km_gap_pct": round(float(np.mean([x["km_gap_pct"] for x in rows])), 3),
        "mean_objective_gap_pct": round(float(np.mean([x["objective_gap_pct"] for x in rows])), 3),
        "daily_s_mean": round(float(np.mean([x["daily_s"] for x in rows])), 3),
        "reference_s_mean": round(float(np.mean([x["reference_s"] for x in rows])), 3),
        "samples": len(rows), "problems_met": len(daily),
    }
    print(f"mean gap over {len(rows)} sector-days: km {summary['mean_km_gap_pct']:+.2f} %, objective "
          f"{summary['mean_objective_gap_pct']:+.2f} % (reference: {args.factor}x effort, guided local "
          f"search); mean solve {summary['daily_s_mean']:.2f} s vs {summary['reference_s_mean']:.2f} s")
    settings = {"scenario": str(args.scenario), "policy": args.policy, "days": args.days,
                "factor": args.factor, "effort": r.effort, "metaheuristic": r.metaheuristic,
                "warm_start": r.warm_start}
    write_results(args.out, "garbage_plans", rows, settings, summary=summary)
    print(f"results written to {args.out}")
    if summary["mean_km_gap_pct"] > args.max_gap:
        print(f"FAIL: mean km gap {summary['mean_km_gap_pct']:.2f} % > {args.max_gap} %")
        return 1
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m simcity.bench.garbage_plans",
                                      description=__doc__,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
