"""Parking simulation speed at city scale: a Suzhou-like day against a bare SimPy loop.

The city: ``--parks`` car parks (default 3,236, the car parks on Suzhou's one parking platform
in 2024 H1) scattered over a 30 km x 30 km plane, with demand zones on a 500 m grid sized for
about ``--sessions`` parking sessions a day (default 177,000: 32 million platform uses in H1,
FIGURES.md).  Half the car parks have pay-at-exit booths, all have an entry barrier, so gate
queues are simulated as SimPy resources.

The reference: a bare SimPy loop that generates the *same* arrivals (the same sampling code,
same seed) and serves each driver with one process that waits for its stay - no choice, no
gates, no statistics.  Both are timed in the same process, back to back; the reported ratio is
bare time / model time (the model's throughput as a fraction of the bare loop's).  Absolute
seconds depend on the machine and its load; the ratio is what the baseline gate compares.
A second row does the same for five replications of the shipped Liangxi scenario's baseline.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import simpy
from scipy.spatial import cKDTree

import simcity
from simcity.bench.common import (
    add_speed_gate_arguments,
    finish,
    median_ratio_row,
    shipped_scenario,
)
from simcity.domain import RunContext
from simcity.parking import DOMAIN, City, Policy
from simcity.parking.demand import Arrivals, draw_arrivals
from simcity.parking.domain import summarise
from simcity.parking.sim import simulate
from simcity.rng import Streams

SCENARIO = shipped_scenario("parking_liangxi.toml")

#: purposes of the synthetic city: (name, share, mean stay h, cv, value of time yuan/h, profile)
_PURPOSES = (
    ("commute", 0.3, 8.5, 0.3, 40.0, [0, 0, 0, 0, 0, 1, 6, 20, 24, 10, 3, 2, 2, 2, 1, 1, 1, 1, 0.5, 0.5, 0, 0, 0, 0]),
    ("business", 0.35, 1.0, 1.0, 60.0, [0, 0, 0, 0, 0, 0, 0, 2, 6, 10, 10, 9, 6, 8, 10, 10, 8, 5, 2, 1, 0, 0, 0, 0]),
    ("leisure", 0.35, 2.0, 0.8, 30.0, [0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 6, 8, 8, 8, 8, 8, 8, 9, 10, 10, 8, 5, 2, 1]),
)


def suzhou_city(parks: int, sessions: int, seed: int) -> City:
    """A synthetic city of ``parks`` car parks and demand for about ``sessions`` sessions a day."""
    rng = np.random.default_rng(seed)
    side = 30_000.0
    xy = rng.uniform(0.0, side, size=(parks, 2)).round(0)
    berths = np.clip(rng.lognormal(math.log(40.0), 0.6, parks), 10, 1500).astype(int)
    car_parks = [
        {"id": f"P{k:04d}", "x": float(xy[k, 0]), "y": float(xy[k, 1]), "berths": int(berths[k]),
         "tariff": "std", "payment": "pay_at_exit" if k % 2 else "leave_first",
         "entry_gates": 1, "entry_service_s": 4.0, "exit_gates": 1, "exit_service_s": 20.0}
        for k in range(parks)
    ]
    # demand zones on a 500 m grid, only where a car park is within walking range
    g = np.arange(250.0, side, 500.0)
    gx, gy = np.meshgrid(g, g)
    pts = np.column_stack([gx.ravel(), gy.ravel()])

    near = cKDTree(xy).query(pts, k=1)[0] < 600.0
    pts = pts[near]
    weight = rng.gamma(2.0, 1.0, len(pts))
    per_day = weight / weight.sum() * sessions
    zones = [{"id": f"Z{k}", "x": float(p[0]), "y": float(p[1]), "arrivals_per_day": float(round(v, 3))}
             for k, (p, v) in enumerate(zip(pts, per_day, strict=True))]
    purposes = [
        {"name": n, "share": s, "hourly_profile": prof, "value_of_time_per_hour": vot,
         "duration": {"kind": "lognormal", "mean_hours": m, "cv": cv}}
        for n, s, m, cv, vot, prof in _PURPOSES
    ]
    return City.model_validate({
        "tariffs": {"std": {"free_minutes": 15, "daily_cap": 40,
                            "tiers": [{"up_to_hours": 1.0, "rate_per_hour": 5.0}, {"rate_per_hour": 3.0}]}},
        "car_parks": car_parks, "zones": zones, "demand": {"purposes": purposes},
        "behaviour": {"update_minutes": 60, "choice_set_size": 6},
    })


def bare_loop(arr: Arrivals, horizon: float) -> int:
    """Serve the arrivals with the plainest SimPy model: one process per driver that parks for
    its stay, simulated to the same horizon as the model.  Returns the number of drivers."""
    env = simpy.Environment()
    served = [0]

    def driver(stay: float) -> Any:
        yield env.timeout(stay)
        served[0] += 1

    def source() -> Any:
        for t, d in zip(arr.time.tolist(), arr.duration.tolist(), strict=True):
            if t > env.now:
                yield env.timeout(t - env.now)
            env.process(driver(d))

    env.process(source())
    env.run(until=horizon)
    return len(arr)


def _measure(city: City, policy: Policy, horizon: float, warmup: float, seed: int,
             replications: int = 1) -> dict[str, float]:
    """Time the bare loop and the model on the same arrivals, back to back, summed over
    ``replications`` (several short runs average out the noise of a shared machine).

    CPU time of this process is the primary clock: on a shared machine the wall clock also
    counts time spent waiting for a core.  Wall-clock seconds are reported alongside.
    """
    k = min(city.behaviour.choice_set_size, len(city.car_parks) + len(city.kerb_segments))
    drivers = sessions = 0.0
    bare_s = bare_wall = model_s = model_wall = 0.0
    for rep in range(replications):
        c0, w0 = time.process_time(), time.perf_counter()
        arr = draw_arrivals(city, horizon, Streams(seed, rep), k)
        drivers += bare_loop(arr, horizon)
        bare_s += time.process_time() - c0
        bare_wall += time.perf_counter() - w0
        del arr
        c0, w0 = time.process_time(), time.perf_counter()
        out = DOMAIN.check_output(summarise(simulate(city, policy, RunContext(horizon, warmup, Streams(seed, rep), rep))))
        model_s += time.process_time() - c0
        model_wall += time.perf_counter() - w0
        sessions += out.metrics["sessions"]
    return {
        "drivers": drivers,
        "sessions": sessions,
        "model_s": model_s,
        "bare_s": bare_s,
        "model_wall_s": model_wall,
        "bare_wall_s": bare_wall,
        "sessions_per_s": sessions / model_s,
        "bare_drivers_per_s": drivers / bare_s,
        "ratio": bare_s / model_s,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``simcity bench parking``."""
    parser.add_argument("--parks", type=int, default=3236, help="car parks in the city (default 3236)")
    parser.add_argument("--sessions", type=int, default=177_000, help="target sessions a day (default 177000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the city layout and the arrivals")
    parser.add_argument("--repeats", type=int, default=1, help="timed repetitions; the median ratio is kept")
    parser.add_argument("--no-liangxi", action="store_true", help="skip the shipped-scenario row")
    parser.add_argument("--liangxi", type=Path, default=SCENARIO, metavar="FILE",
                        help="the Liangxi parking scenario of the second row "
                             "(default: the checkout's scenarios/parking_liangxi.toml)")
    add_speed_gate_arguments(parser, "parking", noise=0.3)


def main(args: argparse.Namespace) -> int:
    """Run the benchmark, print the figures, write JSON, apply the baseline gate."""
    if args.parks < 1 or args.sessions < 1 or args.repeats < 1:
        print("error: --parks, --sessions and --repeats must be positive", file=sys.stderr)
        return 2
    rows = []
    city = suzhou_city(args.parks, args.sessions, args.seed)
    base = Policy.model_validate({"name": "baseline"})
    runs = [_measure(city, base, 24.0, 0.0, args.seed) for _ in range(args.repeats)]
    rows.append(median_ratio_row("suzhou-day", runs))
    if not args.no_liangxi and args.liangxi is None:
        print("liangxi row skipped: no source checkout; give the scenario with --liangxi FILE")
    elif not args.no_liangxi:
        sc = simcity.load_scenario(args.liangxi)
        city_lx: City = sc.city  # type: ignore[attr-defined]  # declared by the domain's scenario class
        pol_lx = cast(Policy, sc.policy_list[0])
        runs = [_measure(city_lx, pol_lx, sc.horizon_hours, sc.warmup_hours, sc.seed, replications=5)
                for _ in range(args.repeats)]
        rows.append(median_ratio_row("liangxi-5-replications", runs))
    print("CPU seconds of this process (wall clock in brackets); ratio = bare / model CPU time")
    print(f"{'instance':22s} {'drivers':>9s} {'sessions':>9s} {'model s':>16s} {'bare s':>16s} "
          f"{'sessions/s':>11s} {'ratio':>6s}")
    for r in rows:
        print(f"{r['instance']:22s} {r['drivers']:9.0f} {r['sessions']:9.0f} "
              f"{r['model_s']:7.2f} ({r['model_wall_s']:6.2f}) {r['bare_s']:7.2f} ({r['bare_wall_s']:6.2f}) "
              f"{r['sessions_per_s']:11.0f} {r['ratio']:6.3f}")
    settings = {"parks": args.parks, "sessions": args.sessions, "seed": args.seed, "repeats": args.repeats}
    return finish("parking", rows, settings, out=args.out, baseline=args.baseline,
                  save_baseline=args.save_baseline, metric="ratio", kind="ratio", noise=args.noise,
                  higher_is_better=True, summary={"ratio_goal": 0.4, "city_day_goal_s": 10.0})


if __name__ == "__main__":  # pragma: no cover
    p = argparse.ArgumentParser()
    add_arguments(p)
    sys.exit(main(p.parse_args()))
