"""Garbage-collection simulation speed: the district benchmark and its time split.

Runs the first ``--policies`` policies of a garbage scenario (default: the Liangxi-size
district, ``scenarios/garbage_liangxi.toml``) for ``--replications`` replications of
``--days`` measured days, on ``--jobs`` worker processes, and reports per policy:

* wall time per replication and per simulated day;
* the split between route optimisation (``optimize.routing``), bay scheduling
  (``optimize.berths``) and the simulation itself (everything else: SimPy, selection,
  building the routing problems);
* routing calls per day and the share answered by the process's plan cache;
* the headline metrics of each policy, so a speed change that alters results is visible.

Routing runs for its configured work budget (``city.routing.effort`` per call;
``--effort`` overrides it).  The full protocol is not extrapolated here: run it with
``simcity compare scenarios/garbage_liangxi.toml --jobs 2`` and read its wall time.  The
baseline gate compares the *simulation* speed only, as in ``simcity bench city``: SimPy
events counted while the model runs, events per second of simulation time (optimiser time
excluded) divided by the events per second of a bare SimPy loop of the same size run right
after in the same process.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, cast

import numpy as np

import simcity
from optimize.pool import process_pool
from simcity.bench.common import (
    EventCounter,
    add_speed_gate_arguments,
    bare_loop,
    finish,
    shipped_scenario,
)
from simcity.domain import RunContext
from simcity.garbage import Policy, simulate
from simcity.garbage.planning import Timer
from simcity.rng import Streams
from simcity.scenario import ScenarioError

SCENARIO = shipped_scenario("garbage_liangxi.toml")


def load_garbage_scenario(path: Path | None) -> Any:
    """The garbage scenario at ``path``, or ``None`` after printing why it cannot be used."""
    if path is None:
        print("error: no scenario: outside a source checkout give the garbage scenario file as "
              "the first argument", file=sys.stderr)
        return None
    try:
        sc = simcity.load_scenario(path)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if sc.model != "garbage":
        print(f"error: {path}: model is {sc.model!r}, expected 'garbage'", file=sys.stderr)
        return None
    return sc


def _city(scenario: Any) -> Any:
    """The ``[city]`` of a loaded garbage scenario (the domain's scenario class adds it)."""
    return scenario.city


def run_one(path: str, overrides: dict[str, Any], policy_index: int, replication: int) -> dict[str, Any]:
    """One replication of one policy, timed (runs in a worker process)."""
    sc = simcity.load_scenario(path).with_overrides(overrides)
    pol = cast(Policy, sc.policy_list[policy_index])
    city = _city(sc)
    timer = Timer()
    counter = EventCounter()
    ctx = RunContext(sc.horizon_hours, sc.warmup_hours, Streams(sc.seed, replication), replication,
                     environment=counter.environment)
    t0 = time.perf_counter()
    out, sim = simulate(city, pol, ctx, timer)
    wall = time.perf_counter() - t0
    events = counter.events
    # a bare loop right after, counted the same way (simcity bench city); at least
    # 200,000 events, because the model's few thousand events a day (drops are
    # vectorised) would time a bare loop in milliseconds, at the mercy of one context switch
    t0 = time.perf_counter()
    bare_loop(max(events, 200_000), environment=counter.environment)
    bare_s = time.perf_counter() - t0
    bare_events = counter.events - events
    sim_s = max(wall - timer.routing_s - timer.berths_s, 1e-9)
    return {
        "policy": pol.name, "replication": replication, "wall_s": wall,
        "routing_s": timer.routing_s, "berths_s": timer.berths_s, "sim_s": sim_s,
        "routing_calls": timer.routing_calls, "cache_hits": timer.cache_hits, "days": sim.days,
        "events": events, "ratio": (events / sim_s) / (bare_events / bare_s),
        "metrics": out.metrics,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``simcity bench garbage``."""
    parser.add_argument("scenario", nargs="?", type=Path, default=SCENARIO,
                        help="garbage scenario file (default: the checkout's scenarios/garbage_liangxi.toml)")
    parser.add_argument("--policies", type=int, default=4, help="first N policies of the scenario (default 4)")
    parser.add_argument("--replications", type=int, default=1, help="replications per policy (default 1)")
    parser.add_argument("--days", type=int, default=None,
                        help="measured days (default: the scenario's horizon minus warm-up)")
    parser.add_argument("--effort", type=int, default=None,
                        help="override city.routing.effort (work budget of one routing call)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    add_speed_gate_arguments(parser, "garbage", noise=0.4)


def _summary_row(instance: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    days = sum(r["days"] for r in runs)
    wall = sum(r["wall_s"] for r in runs)
    routing = sum(r["routing_s"] for r in runs)
    berths = sum(r["berths_s"] for r in runs)
    sim_s = sum(r["sim_s"] for r in runs)
    keys = ("km_per_day", "truck_hours_per_day", "trucks_used", "service_level", "overflow_t_per_day",
            "fill_at_emptying", "bay_wait_min", "cost_per_day", "planned_skips_per_day")
    row: dict[str, Any] = {
        "instance": instance,
        "replications": len(runs),
        "simulated_days": days,
        "wall_s_per_replication": round(wall / len(runs), 3),
        "wall_s_per_day": round(wall / days, 4),
        "routing_s_per_day": round(routing / days, 4),
        "berths_s_per_day": round(berths / days, 4),
        "sim_s_per_day": round(sim_s / days, 4),
        "routing_share": round(routing / wall, 4) if wall > 0 else None,
        "routing_calls_per_day": round(sum(r["routing_calls"] for r in runs) / days, 2),
        "cache_hit_share": round(sum(r["cache_hits"] for r in runs)
                                 / max(1, sum(r["routing_calls"] for r in runs)), 4),
        "events_per_day": round(sum(r["events"] for r in runs) / days),
        # geometric mean over replications of (model events/s) / (bare-loop events/s)
        "ratio": round(float(np.exp(np.mean([np.log(r["ratio"]) for r in runs]))), 4),
    }
    for k in keys:
        row[k] = round(float(np.mean([r["metrics"][k] for r in runs])), 4)
    return row


def main(args: argparse.Namespace) -> int:
    """Run the benchmark, print the table, write JSON, apply the gate."""

    if args.policies < 1 or args.replications < 1 or args.jobs < 1 or (args.days is not None and args.days < 1):
        print("error: --policies, --replications, --days and --jobs must be positive", file=sys.stderr)
        return 2
    sc = load_garbage_scenario(args.scenario)
    if sc is None:
        return 2
    overrides: dict[str, Any] = {}
    if args.days is not None:
        overrides["horizon_hours"] = sc.warmup_hours + 24.0 * args.days
    if args.effort is not None:
        overrides["city.routing.effort"] = args.effort
    n_pol = min(args.policies, len(sc.policy_list))
    tasks = [(str(args.scenario), overrides, p, r) for p in range(n_pol) for r in range(args.replications)]
    t0 = time.perf_counter()
    if args.jobs == 1:
        runs = [run_one(*t) for t in tasks]
    else:
        with process_pool(args.jobs) as ex:
            runs = list(ex.map(run_one, *zip(*tasks, strict=True)))
    total_wall = time.perf_counter() - t0
    rows = []
    for p in range(n_pol):
        name = sc.policy_list[p].name
        rows.append(_summary_row(f"{sc.name}:{name}", [r for r in runs if r["policy"] == name]))
    days_total = sum(r["days"] for r in runs)
    per_day = sum(r["wall_s"] for r in runs) / days_total
    sim_day = sum(r["sim_s"] for r in runs) / days_total
    route_day = sum(r["routing_s"] for r in runs) / days_total
    print(f"{'policy':34s} {'s/rep':>8s} {'s/day':>7s} {'route%':>7s} {'sim s/d':>8s} {'km/day':>8s} "
          f"{'service':>8s} {'fill':>6s} {'skips/d':>8s}")
    for r in rows:
        print(f"{r['instance']:34s} {r['wall_s_per_replication']:8.1f} {r['wall_s_per_day']:7.2f} "
              f"{100 * (r['routing_share'] or 0):6.1f}% {r['sim_s_per_day']:8.3f} {r['km_per_day']:8.1f} "
              f"{r['service_level']:8.4f} {r['fill_at_emptying']:6.3f} {r['planned_skips_per_day']:8.1f}")
    print(f"measured: {len(runs)} runs, {days_total} simulated days, {total_wall:.1f} s wall on "
          f"{args.jobs} process(es); per simulated day {per_day:.2f} s "
          f"(routing {route_day:.2f} s, simulation {sim_day:.3f} s)")
    settings = {"scenario": str(args.scenario), "policies": n_pol, "replications": args.replications,
                "days": args.days, "jobs": args.jobs,
                "routing_effort": _city(sc.with_overrides(overrides)).routing.effort}
    summary = {"total_wall_s": round(total_wall, 2), "wall_s_per_day": round(per_day, 4),
               "routing_s_per_day": round(route_day, 4), "sim_s_per_day": round(sim_day, 4)}
    return finish("garbage", rows, settings, out=args.out, baseline=args.baseline,
                  save_baseline=args.save_baseline, metric="ratio", kind="ratio", noise=args.noise,
                  higher_is_better=True, summary=summary)
