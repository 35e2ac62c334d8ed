"""Daily garbage routing settings compared on the same recorded sector-days.

Records the warm-started other-waste routing calls of a garbage scenario planned from
yesterday (``routing.warm_start = "yesterday"`` is set here), samples ``--samples`` of them per
policy evenly, solves each with a reference (PyVRP from a cold start at ``--reference``
iterations) and with every variant given on the command line, and prints the mean planned-km
and objective gaps to the reference and the mean CPU seconds per solve.

A variant is ``EFFORT:START[:KEY=VALUE,...]``: ``START`` is ``cold`` (the backend's own start,
OR-Tools' construction) or ``warm`` (the recorded start from yesterday's plan); the options
are fields of :class:`optimize.routing.pyvrp_backend.PyVRPOptions` applied to the short-run
settings, e.g. ``600:cold:num_neighbours=10`` or ``600:cold:max_perturbations=5``.

Work budgets only, so the plans (and gaps) do not depend on the machine's load; the CPU
seconds do.  Example (docs/garbage.md, warm starts)::

    python benchmarks/routing/garbage_variants.py 600:cold 400:cold 300:warm 600:warm \\
        600:cold:num_neighbours=10 600:cold:max_perturbations=5
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import simcity
from optimize.budget import Budget
from optimize.pool import process_pool
from optimize.routing import solve
from optimize.routing.pyvrp_backend import PyVRPOptions
from simcity.domain import RunContext
from simcity.garbage import simulate
from simcity.garbage.planning import Call, Timer
from simcity.rng import Streams

ROOT = Path(__file__).resolve().parents[2]


def recorded_calls(path: Path, policies: list[str], days: int, samples: int) -> list[Call]:
    """Warm-started other-waste calls (collection group 0) of each policy's first replication,
    ``samples`` per policy, evenly spread."""
    sc = simcity.load_scenario(path).with_overrides({
        "horizon_hours": 24.0 * (days + 1), "warmup_hours": 24.0, "city.routing.warm_start": "yesterday"})
    out: list[Call] = []
    for name in policies:
        pol = next(p for p in sc.policy_list if p.name == name)
        timer = Timer(record=[])
        simulate(sc.city, pol, RunContext(sc.horizon_hours, sc.warmup_hours, Streams(sc.seed, 0), 0),  # type: ignore[attr-defined]
                 timer)
        warm = [c for c in timer.record or [] if c.initial is not None and c.problem.name.endswith("group 0")]
        out += [warm[i] for i in np.unique(np.linspace(0, len(warm) - 1, samples).round().astype(int))]
    return out


def solve_one(call: Call, effort: int, warm: bool, opts: PyVRPOptions) -> tuple[float, float, int, float]:
    """Planned km, objective, points left out and CPU seconds of one solve (worker)."""
    t0 = time.process_time()
    sol = solve(call.problem, seed=0, backend="pyvrp", budget=Budget.work(effort), options=opts,
                initial=list(call.initial) if warm and call.initial is not None else None)
    c = sol.cost
    return (sol.total_distance / 1000.0, float(c.fixed + c.distance + c.time + c.penalty), len(sol.skipped),
            time.process_time() - t0)


def parse_variant(text: str) -> tuple[int, bool, PyVRPOptions]:
    """``EFFORT:START[:KEY=VALUE,...]`` (module doc)."""
    parts = text.split(":")
    if len(parts) < 2 or parts[1] not in ("cold", "warm"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected EFFORT:cold|warm[:KEY=VALUE,...]")
    opts = PyVRPOptions.short_runs()
    fields: dict[str, Any] = {}
    for kv in (parts[2].split(",") if len(parts) > 2 and parts[2] else []):
        key, _, value = kv.partition("=")
        if not hasattr(opts, key):
            raise argparse.ArgumentTypeError(f"{text!r}: PyVRPOptions has no field {key!r}")
        fields[key] = type(getattr(opts, key))(value)
    return int(parts[0]), parts[1] == "warm", replace(opts, **fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", help="EFFORT:cold|warm[:KEY=VALUE,...]")
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "garbage_liangxi.toml")
    parser.add_argument("--policies", default="threshold-90,risk-2pct")
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--samples", type=int, default=10, help="per policy (default 10)")
    parser.add_argument("--reference", type=int, default=6000, help="iterations of the cold reference")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    variants = [(v, *parse_variant(v)) for v in args.variants]
    calls = recorded_calls(args.scenario, args.policies.split(","), args.days, args.samples)
    base = PyVRPOptions.short_runs()
    with process_pool(args.jobs) as ex:
        n = len(calls)
        ref = list(ex.map(solve_one, calls, [args.reference] * n, [False] * n, [base] * n))
        print(f"{n} sector-days; reference: PyVRP cold at {args.reference} iterations "
              f"(required points left out: {sum(r[2] for r in ref)})")
        for name, effort, warm, opts in variants:
            res = list(ex.map(solve_one, calls, [effort] * n, [warm] * n, [opts] * n))
            km = np.mean([100 * (r[0] / f[0] - 1) for r, f in zip(res, ref, strict=True)])
            obj = np.mean([100 * (r[1] / f[1] - 1) for r, f in zip(res, ref, strict=True)])
            print(f"{name:40s} km {km:+.2f} %  objective {obj:+.2f} %  left out {sum(r[2] for r in res)}  "
                  f"CPU {np.mean([r[3] for r in res]):.2f} s per solve", flush=True)


if __name__ == "__main__":
    main()
