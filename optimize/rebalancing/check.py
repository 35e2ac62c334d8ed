"""Independent checker of a rebalancing plan: recomputes loads, times and imbalance.

It shares no code with the solver beyond the problem definition (:mod:`.problem`), so a bug
in the solver's model shows up here as a violation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from optimize.check import CheckReport
from optimize.rebalancing.problem import Plan, RebalancingProblem


@dataclass(frozen=True)
class PlanCheck(CheckReport):
    """What :func:`check_plan` found: ``ok`` iff ``violations`` is empty.

    Attributes
    ----------
    distance_m, duration_s:
        Per van, driving distance and driving + handling time.
    max_load, end_load:
        Per van, the largest load on board and the load when the route ends.
    stock_after:
        Station stocks once every route has been executed.
    imbalance_before, imbalance_after:
        Total absolute deviation from target before and after.
    """

    distance_m: tuple[float, ...]
    duration_s: tuple[float, ...]
    max_load: tuple[int, ...]
    end_load: tuple[int, ...]
    stock_after: NDArray[np.int64]
    imbalance_before: int
    imbalance_after: int

    @property
    def imbalance_reduced(self) -> int:
        """Bikes of imbalance removed by the plan."""
        return self.imbalance_before - self.imbalance_after


def check_plan(problem: RebalancingProblem, plan: Plan, *, time_tolerance_s: float = 1.0) -> PlanCheck:
    """Verify ``plan`` against ``problem``.

    Checks, per van: the load never leaves ``[0, capacity]``; driving plus handling fits the
    time budget (within ``time_tolerance_s``, for floating-point noise: the solver rounds each
    leg up to whole seconds).  Per station, over all vans: bikes are only picked up where the
    stock exceeds the target and only dropped where it is below, without overshooting the
    target, and never both.
    """
    errors: list[str] = []
    distance_m: list[float] = []
    duration_s: list[float] = []
    max_loads: list[int] = []
    end_loads: list[int] = []
    stock = np.asarray(problem.stock, dtype=np.int64).copy()
    picked = np.zeros(problem.n, dtype=np.int64)
    dropped = np.zeros(problem.n, dtype=np.int64)
    seen_vans: set[int] = set()
    for route in plan.routes:
        if not 0 <= route.van < len(problem.vans):
            errors.append(f"route for unknown van {route.van}")
            continue
        if route.van in seen_vans:
            errors.append(f"van {route.van} has two routes")
        seen_vans.add(route.van)
        van = problem.vans[route.van]
        load = van.load
        max_load = load
        pos = np.array([van.x, van.y])
        prev = -1  # the van's start
        dist = 0.0
        drive_s = 0.0
        handling = 0.0
        for k, stop in enumerate(route.stops):
            if not 0 <= stop.station < problem.n:
                errors.append(f"van {route.van} stop {k}: unknown station {stop.station}")
                continue
            if stop.quantity == 0:
                errors.append(f"van {route.van} stop {k}: zero quantity")
            here = np.asarray(problem.positions[stop.station], dtype=float)
            if problem.roads is None:
                d = float(problem.detour * np.hypot(*(here - pos)))
            else:
                r = problem.roads
                d = float(r.from_van_m[route.van, stop.station] if prev < 0 else r.distance_m[prev, stop.station])
                drive_s += float(r.from_van_s[route.van, stop.station] if prev < 0
                                 else r.duration_s[prev, stop.station])
            dist += d
            pos = here
            prev = stop.station
            handling += abs(stop.quantity) * van.handling_s_per_bike
            load += stop.quantity
            max_load = max(max_load, load)
            if load < 0 or load > van.capacity:
                errors.append(
                    f"van {route.van} stop {k} (station {stop.station}): load {load} outside "
                    f"[0, {van.capacity}]"
                )
            if stop.quantity > 0:
                picked[stop.station] += stop.quantity
            else:
                dropped[stop.station] -= stop.quantity
        duration = (dist / van.speed_m_s if problem.roads is None else drive_s) + handling
        if duration > van.time_budget_s + time_tolerance_s:
            errors.append(
                f"van {route.van}: route takes {duration:.0f} s, budget {van.time_budget_s:.0f} s"
            )
        distance_m.append(dist)
        duration_s.append(duration)
        max_loads.append(max_load)
        end_loads.append(load)
    surplus = stock - problem.target
    for i in np.flatnonzero((picked > 0) | (dropped > 0)):
        if picked[i] and dropped[i]:
            errors.append(f"station {i}: bikes both picked up ({picked[i]}) and dropped ({dropped[i]})")
        if picked[i] > max(surplus[i], 0):
            errors.append(f"station {i}: {picked[i]} picked up but surplus is {surplus[i]}")
        if dropped[i] > max(-surplus[i], 0):
            errors.append(f"station {i}: {dropped[i]} dropped but deficit is {-surplus[i]}")
    stock += dropped - picked
    return PlanCheck(tuple(errors), tuple(distance_m), tuple(duration_s), tuple(max_loads),
                     tuple(end_loads), stock, problem.imbalance(), problem.imbalance(stock))
