"""Independent solution checker.

Written against the problem data only: it imports no backend and no code that builds
solutions, walks every route itself, and recomputes the cost.  Every constraint of
:mod:`optimize.routing.model` is checked:

* each required stop served exactly once, optional stops at most once, ``skipped``
  exactly the unserved stops; vehicles exist and are used once;
* loads: collected per compartment, reset to zero at a facility, never above capacity,
  zero on return when ``unload_before_return``;
* times: service starts inside windows, after the vehicle could have arrived (travel,
  previous service, and a break on the leg); shift and maximum duration respected;
* breaks: inside ``[earliest_start, latest_start]``, between two visits in a leg long
  enough for travel plus break, or entirely outside the route (a route that does not
  span the break window needs none);
* cost: fixed + distance + time + penalties, compared with the reported breakdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from optimize.check import CheckReport
from optimize.routing.model import HORIZON_MAX, CostBreakdown, Problem, Route, Solution


@dataclass(frozen=True)
class RouteCheck(CheckReport):
    """Result of :func:`check`: ``ok`` iff the solution is feasible and its reported cost is
    right; with the cost, distance and route count the checker recomputed."""

    cost: CostBreakdown
    distance: int
    num_routes: int
    notes: tuple[str, ...] = field(default=())


def _window(tw: tuple[int, int] | None) -> tuple[int, int]:
    return (0, HORIZON_MAX) if tw is None else tw


def check(problem: Problem, solution: Solution, *, rel_tol: float = 1e-6) -> RouteCheck:
    """Validate ``solution`` against ``problem`` and recompute its cost."""
    bad: list[str] = []
    fleet = [t for t, vt in enumerate(problem.vehicle_types) for _ in range(vt.count)]
    seen_vehicle: set[int] = set()
    served: dict[int, int] = {}
    fixed = dcost = tcost = 0.0
    total_distance = 0
    for r_no, route in enumerate(solution.routes):
        tag = f"route {r_no} (vehicle {route.vehicle})"
        if not 0 <= route.vehicle < len(fleet) or fleet[route.vehicle] != route.vehicle_type:
            bad.append(f"{tag}: vehicle does not exist or has another type")
            continue
        if route.vehicle in seen_vehicle:
            bad.append(f"{tag}: vehicle used by two routes")
        seen_vehicle.add(route.vehicle)
        vt = problem.vehicle_types[route.vehicle_type]
        distance = _check_route(problem, route, tag, bad, served)
        total_distance += distance
        if route.distance != distance:
            bad.append(f"{tag}: reported distance {route.distance}, recomputed {distance}")
        if route.visits:
            fixed += vt.fixed_cost
        dcost += vt.cost_per_km * distance / 1000.0
        tcost += vt.cost_per_hour * (route.end_time - route.start_time) / 3600.0
    penalty = _check_coverage(problem, solution, served, bad)
    cost = CostBreakdown(fixed, dcost, tcost, penalty)
    reported = solution.cost.total
    if abs(reported - cost.total) > rel_tol * max(1.0, abs(cost.total)):
        bad.append(f"reported cost {reported:.6f} differs from recomputed {cost.total:.6f}")
    return RouteCheck(tuple(bad), cost, total_distance, sum(1 for r in solution.routes if r.visits))


def _check_route(problem: Problem, route: Route, tag: str, bad: list[str], served: dict[int, int]) -> int:
    """Walk one route leg by leg: shift, duration, break, reachability, windows, loads.
    Appends violations to ``bad``, counts visits in ``served``; returns the distance driven."""
    dist, dur = problem.distance, problem.duration
    k = len(problem.vehicle_types[0].capacity)
    vt = problem.vehicle_types[route.vehicle_type]
    s0, s1 = _window(vt.shift)
    if route.start_time < s0 or route.end_time > s1:
        bad.append(f"{tag}: route {route.start_time}-{route.end_time} outside shift {s0}-{s1}")
    if vt.max_duration is not None and route.end_time - route.start_time > vt.max_duration:
        bad.append(f"{tag}: duration {route.end_time - route.start_time} > "
                   f"max_duration {vt.max_duration}")
    # Legs: (from location, departure time, to location, service start at arrival)
    brk = vt.break_
    b = route.break_start
    break_placed = False
    if brk is not None and b is not None and not (brk.earliest_start <= b <= brk.latest_start):
        bad.append(f"{tag}: break at {b} outside [{brk.earliest_start}, {brk.latest_start}]")
    load = [0] * k
    loc, depart = vt.start_depot, route.start_time
    distance = 0
    targets: list[tuple[str, int, int]] = [(v.kind, v.index, v.start) for v in route.visits]
    targets.append(("end", -1, route.end_time))
    for kind, idx, start in targets:
        if kind == "stop":
            if not 0 <= idx < len(problem.stops):
                bad.append(f"{tag}: unknown stop {idx}")
                continue
            stop = problem.stops[idx]
            nxt, service, window = stop.location, stop.service_time, _window(stop.time_window)
            served[idx] = served.get(idx, 0) + 1
        elif kind == "facility":
            if not 0 <= idx < len(problem.facilities):
                bad.append(f"{tag}: unknown facility {idx}")
                continue
            fac = problem.facilities[idx]
            nxt, service, window = fac.location, fac.unload_time, _window(fac.time_window)
        else:
            nxt, service, window = vt.end_depot, 0, (0, HORIZON_MAX)
        need = depart + int(dur[loc, nxt])
        if brk is not None and b is not None and depart <= b and b + brk.duration <= start \
                and not break_placed:
            # The break fits in this leg if the leg also leaves time to drive.
            if start - depart >= int(dur[loc, nxt]) + brk.duration:
                need += brk.duration
                break_placed = True
        if start < need:
            bad.append(f"{tag}: {kind} {idx} starts at {start}, cannot be reached before {need}")
        if not window[0] <= start <= window[1]:
            bad.append(f"{tag}: {kind} {idx} starts at {start} outside window {window}")
        distance += int(dist[loc, nxt])
        if kind == "stop":
            load = [a + q for a, q in zip(load, problem.stops[idx].demand, strict=True)]
            for c in range(k):
                if load[c] > vt.capacity[c]:
                    bad.append(f"{tag}: load {load[c]} in compartment {c} exceeds "
                               f"capacity {vt.capacity[c]} after stop {idx}")
        elif kind == "facility":
            load = [0] * k
        elif problem.unload_before_return and any(load):
            bad.append(f"{tag}: returns to its depot with load {load} (must unload first)")
        loc, depart = nxt, start + service
    if brk is not None:
        if b is None:
            # No break inside the route: the window must allow one outside it.
            if not (brk.earliest_start + brk.duration <= route.start_time
                    or brk.latest_start >= route.end_time):
                bad.append(f"{tag}: route {route.start_time}-{route.end_time} spans the "
                           f"break window but takes no break")
        elif not break_placed:
            bad.append(f"{tag}: break at {b} does not fit between two visits")
    return distance


def _check_coverage(problem: Problem, solution: Solution, served: dict[int, int], bad: list[str]) -> float:
    """Every required stop served once, optional ones at most once, ``skipped`` exactly the
    unserved; returns the penalty of the unserved stops."""
    penalty = 0.0
    skipped = set(solution.skipped)
    for i, stop in enumerate(problem.stops):
        n = served.get(i, 0)
        if n > 1:
            bad.append(f"stop {i} ({problem.stop_name(i)}) served {n} times")
        if n == 0:
            if stop.required:
                bad.append(f"required stop {i} ({problem.stop_name(i)}) not served")
            penalty += stop.penalty
        if (n == 0) != (i in skipped):
            bad.append(f"stop {i}: 'skipped' list disagrees with the routes")
    return penalty
