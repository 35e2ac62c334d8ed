"""City-day benchmark: one simulated day of parking, garbage collection and shared bikes at
Suzhou scale, in one process, in simulated events per second.

Each domain simulates the same day, one after another, at the scale of its benchmark:

* parking - the synthetic Suzhou city of ``simcity bench parking`` (3,236 car parks,
  ~177,000 sessions a day);
* garbage - ``scenarios/garbage_suzhou.toml`` (3,000 collection points, ~6,000 t a day), one
  day without warm-up; the routing work budget per call is ``--routing-effort``
  (optimiser time is reported apart, column "excl. s", and not counted as simulation time);
* bikes - ``scenarios/bikes_suzhou_downsizing.toml`` (2,600 stations, ~112,000 requests a day),
  its first policy; van-route planning and the model's set-up (network, demand tables) are
  likewise reported apart.

Events are the SimPy events each model processes (``Environment.step`` calls of the
:class:`~simcity.bench.common.CountingEnvironment` the model is given through its run
context; a ``run()`` without ``until`` adds one last call that finds the schedule empty).
Right after each domain, a bare SimPy loop processes the same number of plain timeouts *in
the same counting environment*, so the ratio

    model events per second / bare-loop events per second

compares like with like in the same run and does not depend on the machine's speed or load;
that ratio is what the baseline gate compares.  A domain that is not installed yet is skipped
with a message.  ``--quick`` runs small versions of the three days (the CI tier).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import simcity
from simcity.bench.common import (
    BenchError,
    EventCounter,
    add_speed_gate_arguments,
    bare_loop,
    finish,
    require,
    shipped_scenario,
)
from simcity.bench.parking import suzhou_city
from simcity.bikes import simulate as simulate_bikes
from simcity.domain import RunContext
from simcity.garbage.domain import simulate as simulate_garbage
from simcity.garbage.planning import Timer
from simcity.parking import DOMAIN as PARKING
from simcity.parking import Policy as ParkingPolicy
from simcity.rng import Streams
from simcity.scenario import ScenarioError


@dataclass(frozen=True)
class DomainDay:
    """How to simulate one domain's day: ``run()`` returns the seconds to exclude from
    simulation time (optimiser calls, and model set-up where the model times it)."""

    name: str
    instance: str
    run: Callable[[EventCounter], float]


def _ctx(horizon: float, seed: int, counter: EventCounter) -> RunContext:
    return RunContext(horizon_hours=horizon, warmup_hours=0.0, streams=Streams(seed, 0), replication=0,
                      environment=counter.environment)


def _scenario(name: str, given: Path | None) -> Path:
    return given if given is not None else require(shipped_scenario(name), f"scenario {name}", "--scenarios DIR")


def parking_day(quick: bool, seed: int) -> DomainDay:
    """The parking day of ``simcity bench parking`` (its synthetic Suzhou city)."""
    parks, sessions = (300, 20_000) if quick else (3236, 177_000)
    city = suzhou_city(parks, sessions, seed)
    policy = ParkingPolicy.model_validate({"name": "baseline"})

    def run(counter: EventCounter) -> float:
        PARKING.run(city, policy, _ctx(24.0, seed, counter))
        return 0.0

    return DomainDay("parking", f"parking-{parks}-parks", run)


def garbage_day(quick: bool, seed: int, effort: int | None, scenarios: Path | None = None) -> DomainDay:
    """One day of the Suzhou garbage scenario (quick: four days of the small demo district)."""
    name = "garbage_quick.toml" if quick else "garbage_suzhou.toml"
    path = scenarios / name if scenarios is not None else _scenario(name, None)
    sc = simcity.load_scenario(path)
    if effort is not None:
        sc = sc.with_overrides({"city.routing.effort": effort})
    city, policy = getattr(sc, "city"), sc.policy_list[0]  # noqa: B009
    pol: Any = policy

    def run(counter: EventCounter) -> float:
        timer = Timer()
        simulate_garbage(city, pol, _ctx(96.0 if quick else 24.0, seed, counter), timer)
        return float(timer.routing_s + timer.berths_s)

    return DomainDay("garbage", sc.name, run)


def bikes_day(quick: bool, seed: int, scenarios: Path | None = None) -> DomainDay:
    """The bike day of ``simcity bench bikes`` (quick: the first 12 hours)."""
    name = "bikes_suzhou_downsizing.toml"
    sc = simcity.load_scenario(scenarios / name if scenarios is not None else _scenario(name, None))
    city, policy = getattr(sc, "city"), sc.policy_list[0]  # noqa: B009
    horizon = 12.0 if quick else 24.0
    pol: Any = policy

    def run(counter: EventCounter) -> float:
        timings: dict[str, float] = {}
        result = simulate_bikes(city, pol, _ctx(horizon, seed, counter), timings=timings)
        return float(timings.get("setup", 0.0) + result.result.planning_s)

    return DomainDay("bikes", f"{sc.name}-{horizon:g}h", run)


def measure(day: DomainDay) -> dict[str, float]:
    """Simulate the day once and the bare loop of the same size right after, both counted."""
    counter = EventCounter()
    t0 = time.perf_counter()
    excluded_s = day.run(counter)
    wall = time.perf_counter() - t0
    events = counter.events
    t0 = time.perf_counter()
    bare_loop(events, environment=counter.environment)
    bare_s = time.perf_counter() - t0
    bare_events = counter.events - events  # counted the same way as the model's
    sim_s = max(wall - excluded_s, 1e-9)
    model_rate, bare_rate = events / sim_s, bare_events / bare_s
    return {"events": float(events), "wall_s": wall, "excluded_s": excluded_s, "sim_s": sim_s,
            "events_per_s": model_rate, "bare_events": float(bare_events), "bare_s": bare_s,
            "bare_events_per_s": bare_rate, "ratio": model_rate / bare_rate}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``simcity bench city``."""
    parser.add_argument("--quick", action="store_true", help="small versions of the three days (CI tier)")
    parser.add_argument("--domains", nargs="+", choices=["parking", "garbage", "bikes"],
                        default=["parking", "garbage", "bikes"], help="domains to include (default all)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the day's random inputs (default 1)")
    parser.add_argument("--repeats", type=int, default=1, help="timed repetitions; the median ratio is kept")
    parser.add_argument("--routing-effort", type=int, default=None, metavar="N",
                        help="garbage routing work budget per call (default: the scenario's; "
                             "solver time is excluded from simulation time)")
    parser.add_argument("--scenarios", type=Path, default=None, metavar="DIR",
                        help="folder holding garbage_suzhou.toml (or garbage_quick.toml) and "
                             "bikes_suzhou_downsizing.toml (default: the checkout's scenarios/)")
    add_speed_gate_arguments(parser, "city", noise=0.3)


def _days(args: argparse.Namespace) -> list[DomainDay]:
    makers: dict[str, Callable[[], DomainDay]] = {
        "parking": lambda: parking_day(args.quick, args.seed),
        "garbage": lambda: garbage_day(args.quick, args.seed, args.routing_effort, args.scenarios),
        "bikes": lambda: bikes_day(args.quick, args.seed, args.scenarios),
    }
    days = []
    for name in args.domains:
        try:
            days.append(makers[name]())
        except (ImportError, FileNotFoundError) as exc:
            print(f"{name}: skipped - the model or its scenario has not landed ({exc})")
        except ScenarioError as exc:
            print(f"{name}: skipped - its scenario does not load: {str(exc).splitlines()[0]}")
        except BenchError as exc:
            print(f"{name}: skipped - {exc}")
    return days


def main(args: argparse.Namespace) -> int:
    """Run the city day, print events per second and ratios, write JSON, apply the gate."""
    if args.repeats < 1 or (args.routing_effort is not None and args.routing_effort <= 0):
        print("error: --repeats and --routing-effort must be positive", file=sys.stderr)
        return 2
    days = _days(args)
    if not days:
        print("error: no domain could be run", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    for day in days:
        runs = [measure(day) for _ in range(args.repeats)]
        best = sorted(runs, key=lambda r: r["ratio"])[len(runs) // 2]  # the median-ratio repetition
        rows.append({"instance": day.instance, "domain": day.name, **{k: round(v, 4) for k, v in best.items()},
                     "ratios": [round(r["ratio"], 4) for r in runs]})
    events = sum(r["events"] for r in rows)
    sim_s = sum(r["sim_s"] for r in rows)
    bare_rate = sum(r["bare_events"] for r in rows) / sum(r["bare_s"] for r in rows)
    total = {"instance": "city-day", "domain": "+".join(r["domain"] for r in rows), "events": events,
             "sim_s": round(sim_s, 4), "excluded_s": round(sum(r["excluded_s"] for r in rows), 4),
             "events_per_s": round(events / sim_s, 1), "bare_events_per_s": round(bare_rate, 1),
             "ratio": round(events / sim_s / bare_rate, 4)}
    rows.append(total)
    print(f"{'instance':34s} {'events':>10s} {'sim s':>8s} {'excl. s':>8s} {'events/s':>10s} "
          f"{'bare ev/s':>10s} {'ratio':>6s}")
    for r in rows:
        print(f"{r['instance']:34s} {r['events']:10.0f} {r['sim_s']:8.2f} {r['excluded_s']:8.2f} "
              f"{r['events_per_s']:10.0f} {r['bare_events_per_s']:10.0f} {r['ratio']:6.3f}")
    settings = {"quick": args.quick, "domains": args.domains, "seed": args.seed, "repeats": args.repeats,
                "routing_effort": args.routing_effort}
    return finish("city", rows, settings, out=args.out, baseline=args.baseline,
                  save_baseline=args.save_baseline, metric="ratio", kind="ratio", noise=args.noise,
                  higher_is_better=True, summary={"events_per_s": total["events_per_s"], "ratio": total["ratio"]})
