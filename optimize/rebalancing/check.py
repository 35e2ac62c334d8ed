"""Independent checker of a rebalancing plan: recomputes loads, times and imbalance.

It shares no code with the solver beyond the problem definition (:mod:`.problem`), so a bug
in the solver's model shows up here as a violation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from optimize.rebalancing.problem import Plan, RebalancingProblem


@dataclass
class CheckResult:
    """What :func:`check_plan` found.

    Attributes
    ----------
    errors:
        Human-readable violations; empty when the plan is feasible.
    distance_m, duration_s:
        Per van, driving distance and driving + handling time.
    max_load, end_load:
        Per van, the largest load on board and the load when the route ends.
    stock_after:
        Station stocks once every route has been executed.
    imbalance_before, imbalance_after:
        Total absolute deviation from target before and after.
    """

    errors: list[str] = field(default_factory=list)
    distance_m: list[float] = field(default_factory=list)
    duration_s: list[float] = field(default_factory=list)
    max_load: list[int] = field(default_factory=list)
    end_load: list[int] = field(default_factory=list)
    stock_after: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    imbalance_before: int = 0
    imbalance_after: int = 0

    @property
    def ok(self) -> bool:
        """True when no constraint is violated."""
        return not self.errors

    @property
    def imbalance_reduced(self) -> int:
        """Bikes of imbalance removed by the plan."""
        return self.imbalance_before - self.imbalance_after


def check_plan(problem: RebalancingProblem, plan: Plan, *, time_tolerance_s: float = 1.0) -> CheckResult:
    """Verify ``plan`` against ``problem``.

    Checks, per van: the load never leaves ``[0, capacity]``; driving plus handling fits the
    time budget (within ``time_tolerance_s``, for floating-point noise: the solver rounds each
    leg up to whole seconds).  Per station, over all vans: bikes are only picked up where the
    stock exceeds the target and only dropped where it is below, without overshooting the
    target, and never both.
    """
    res = CheckResult(imbalance_before=problem.imbalance())
    stock = np.asarray(problem.stock, dtype=np.int64).copy()
    picked = np.zeros(problem.n, dtype=np.int64)
    dropped = np.zeros(problem.n, dtype=np.int64)
    seen_vans: set[int] = set()
    for route in plan.routes:
        if not 0 <= route.van < len(problem.vans):
            res.errors.append(f"route for unknown van {route.van}")
            continue
        if route.van in seen_vans:
            res.errors.append(f"van {route.van} has two routes")
        seen_vans.add(route.van)
        van = problem.vans[route.van]
        load = van.load
        max_load = load
        pos = np.array([van.x, van.y])
        dist = 0.0
        handling = 0.0
        for k, stop in enumerate(route.stops):
            if not 0 <= stop.station < problem.n:
                res.errors.append(f"van {route.van} stop {k}: unknown station {stop.station}")
                continue
            if stop.quantity == 0:
                res.errors.append(f"van {route.van} stop {k}: zero quantity")
            here = np.asarray(problem.positions[stop.station], dtype=float)
            d = float(problem.circuity * np.hypot(*(here - pos)))
            dist += d
            pos = here
            handling += abs(stop.quantity) * van.handling_s_per_bike
            load += stop.quantity
            max_load = max(max_load, load)
            if load < 0 or load > van.capacity:
                res.errors.append(
                    f"van {route.van} stop {k} (station {stop.station}): load {load} outside "
                    f"[0, {van.capacity}]"
                )
            if stop.quantity > 0:
                picked[stop.station] += stop.quantity
            else:
                dropped[stop.station] -= stop.quantity
        duration = dist / van.speed_m_s + handling
        if duration > van.time_budget_s + time_tolerance_s:
            res.errors.append(
                f"van {route.van}: route takes {duration:.0f} s, budget {van.time_budget_s:.0f} s"
            )
        res.distance_m.append(dist)
        res.duration_s.append(duration)
        res.max_load.append(max_load)
        res.end_load.append(load)
    surplus = stock - problem.target
    for i in np.flatnonzero((picked > 0) | (dropped > 0)):
        if picked[i] and dropped[i]:
            res.errors.append(f"station {i}: bikes both picked up ({picked[i]}) and dropped ({dropped[i]})")
        if picked[i] > max(surplus[i], 0):
            res.errors.append(f"station {i}: {picked[i]} picked up but surplus is {surplus[i]}")
        if dropped[i] > max(-surplus[i], 0):
            res.errors.append(f"station {i}: {dropped[i]} dropped but deficit is {-surplus[i]}")
    stock += dropped - picked
    res.stock_after = stock
    res.imbalance_after = problem.imbalance(stock)
    return res
