"""Shared-bike simulation speed at city scale: a Suzhou-scale day against a bare SimPy loop.

The city is the one of ``scenarios/bikes_suzhou_downsizing.toml`` (2,600 stations, 65,200 bikes
before the cut, ~112,000 trip requests a day; FIGURES.md [000]).  For each benchmarked policy,
one replication of ``--horizon`` hours (default one day, no warm-up) is timed in three parts:
set-up (network, neighbour lists, demand tables, the day's requests), simulation (the SimPy
event loop without route planning) and van-route planning (targets and OR-Tools solves).

The reference: a bare SimPy loop that processes the *same* trip events - a timeout to each
request time and a return timeout with a callback per trip, no stations, no statistics - timed
in the same process right before the model.  The reported ratio is bare time / simulation time
(the model's event throughput as a fraction of the bare loop's); it is what the baseline gate
compares, since absolute seconds depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import simpy

import simcity
from simcity.bench.common import (
    add_speed_gate_arguments,
    finish,
    median_ratio_row,
    shipped_scenario,
)
from simcity.bikes import DOMAIN, City, Policy, simulate
from simcity.bikes.demand import Trips, build_demand
from simcity.bikes.dissatisfaction import FUNCTION_CACHE
from simcity.bikes.network import build_network
from simcity.domain import RunContext
from simcity.rng import Streams

SCENARIO = shipped_scenario("bikes_suzhou_downsizing.toml")


def bare_loop(trips: Trips) -> int:
    """Process the request and return events of ``trips`` with the plainest SimPy loop.

    Returns the number of returns processed (every trip, so the loop does all the work)."""
    env = simpy.Environment()
    done = [0]

    def back(_ev: simpy.Event) -> None:
        done[0] += 1

    def source() -> Any:
        for t, ride in zip(trips.t_h.tolist(), trips.ride_h.tolist(), strict=True):
            if t > env.now:
                yield env.timeout(t - env.now)
            ev = env.timeout(ride)
            ev.callbacks.append(back)

    env.process(source())
    env.run()
    return done[0]


def measure(city: City, policy: Policy, horizon: float, seed: int) -> dict[str, float]:
    """Time one replication of ``policy`` and the bare loop on the same requests."""
    net = build_network(city, policy.fleet_size)
    trips = build_demand(city, net).sample(Streams(seed, 0)["demand"], horizon)
    t0 = time.perf_counter()
    bare_loop(trips)
    bare_s = time.perf_counter() - t0
    timings: dict[str, float] = {}
    # cold planning: no window function from an earlier repeat or policy of this process
    FUNCTION_CACHE.clear()
    ctx = RunContext(horizon_hours=horizon, warmup_hours=0.0, streams=Streams(seed, 0), replication=0)
    run = simulate(city, policy, ctx, timings=timings)
    res = run.result
    sim_s = timings["run"] - res.planning_s
    c = res.counts
    days = horizon / 24.0
    return {
        "stations": float(len(res.level_time)),
        "fleet": float(res.fleet),
        "requests": float(c.requests),
        "trips_served": float(c.served),
        "turnover": c.served / res.fleet / days if res.fleet else 0.0,
        "failed_rentals": float(c.failed_rentals),
        "plans": float(c.plans),
        "setup_s": timings["setup"],
        "sim_s": sim_s,
        "planning_s": res.planning_s,
        "replication_s": timings["setup"] + timings["run"],
        "bare_s": bare_s,
        "ratio": bare_s / sim_s,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``simcity bench bikes``."""
    parser.add_argument("--scenario", type=Path, default=SCENARIO,
                        help="scenario whose city and policies are timed "
                             "(default: the checkout's scenarios/bikes_suzhou_downsizing.toml)")
    parser.add_argument("--policies", nargs="+", metavar="NAME", default=["before", "after-cut-dynamic"],
                        help="policies of the scenario to time (default: before after-cut-dynamic)")
    parser.add_argument("--horizon", type=float, default=24.0, help="simulated hours (default 24)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the trip requests")
    parser.add_argument("--repeats", type=int, default=1, help="timed repetitions; the median ratio is kept")
    add_speed_gate_arguments(parser, "bikes", noise=0.3)


def main(args: argparse.Namespace) -> int:
    """Run the benchmark, print the figures, write JSON, apply the baseline gate."""
    if args.repeats < 1 or not 0 < args.horizon <= 240:
        print("error: --repeats must be positive and --horizon in (0, 240]", file=sys.stderr)
        return 2
    if args.scenario is None:
        print("error: no scenario: outside a source checkout give one with --scenario FILE", file=sys.stderr)
        return 2
    try:
        sc = simcity.load_scenario(args.scenario)
    except (OSError, simcity.ScenarioError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if sc.model != DOMAIN.name:
        print(f"error: {args.scenario}: model is {sc.model!r}, expected 'bikes'", file=sys.stderr)
        return 2
    policies = {p.name: p for p in sc.policy_list}
    unknown = [n for n in args.policies if n not in policies]
    if unknown:
        print(f"error: {args.scenario}: no policy {unknown[0]!r}; it has {', '.join(policies)}",
              file=sys.stderr)
        return 2
    city = sc.city  # type: ignore[attr-defined]  # the domain's City, built by the loader
    rows = []
    for name in args.policies:
        runs = [measure(city, policies[name], args.horizon, args.seed)  # type: ignore[arg-type]
                for _ in range(args.repeats)]
        rows.append(median_ratio_row(f"{sc.name}/{name}", runs))
    print(f"{'instance':44s} {'trips':>7s} {'setup s':>8s} {'sim s':>6s} {'plan s':>7s} {'bare s':>7s} "
          f"{'ratio':>6s} {'turnover':>8s}")
    for r in rows:
        print(f"{r['instance']:44s} {r['trips_served']:7.0f} {r['setup_s']:8.2f} {r['sim_s']:6.2f} "
              f"{r['planning_s']:7.2f} {r['bare_s']:7.2f} {r['ratio']:6.3f} {r['turnover']:8.3f}")
    settings = {"scenario": str(args.scenario.name), "policies": args.policies, "horizon": args.horizon,
                "seed": args.seed, "repeats": args.repeats}
    return finish("bikes", rows, settings, out=args.out, baseline=args.baseline,
                  save_baseline=args.save_baseline, metric="ratio", kind="ratio", noise=args.noise,
                  higher_is_better=True, summary={"sim_goal_s": 10.0})


if __name__ == "__main__":  # pragma: no cover
    p = argparse.ArgumentParser()
    add_arguments(p)
    sys.exit(main(p.parse_args()))
