"""Turn a backend's raw answer (visit sequences and service start times) into a Solution.

Shared by the backends so that every backend reports arrivals, loads and costs the
same way.  The checker does **not** use this module: it recomputes everything itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optimize.routing.model import CostBreakdown, Problem, Route, Solution, Status, Visit


def integer_cost_scale(problem: Problem) -> int:
    """Smallest power of ten making every cost coefficient an integer (capped at 10**6).

    Both backends optimise integers: per-distance-unit cost ``cost_per_km / 1000``,
    per-second cost ``cost_per_hour / 3600``, fixed costs and penalties are multiplied by
    this scale and rounded, which is exact when the inputs have few enough decimals
    (:func:`costs_scale_exactly`).
    """
    return _cost_scale(problem)[0]


def costs_scale_exactly(problem: Problem) -> bool:
    """Whether :func:`integer_cost_scale` makes every cost coefficient an integer, so that
    the backends' integer objective is the problem's cost times the scale."""
    return _cost_scale(problem)[1]


def _cost_scale(problem: Problem) -> tuple[int, bool]:
    values: list[float] = []
    for vt in problem.vehicle_types:
        values += [vt.fixed_cost, vt.cost_per_km / 1000.0, vt.cost_per_hour / 3600.0]
    values += [s.penalty for s in problem.stops if not s.required]
    for e in range(7):
        s = 10**e
        if all(abs(v * s - round(v * s)) <= 1e-9 * max(1.0, abs(v * s)) for v in values):
            return s, True
    return 10**6, False


@dataclass(frozen=True)
class RawRoute:
    """What a backend knows about one route.

    ``visits`` are ``(kind, index, service_start)`` triples, ``start``/``end`` the depot
    departure and arrival times, ``break_start`` the break start if taken inside the route.
    """

    vehicle: int
    vehicle_type: int
    start: int
    end: int
    visits: Sequence[tuple[str, int, int]]
    break_start: int | None = None


def assemble(
    problem: Problem,
    raw_routes: Sequence[RawRoute],
    *,
    backend: str,
    wall_time: float,
    status: Status = "feasible",
    notes: Sequence[str] = (),
    limit_reached: bool = False,
) -> Solution:
    """Build the :class:`Solution` for ``raw_routes``: arrivals, loads, distances, costs."""
    dist, dur = problem.distance, problem.duration
    k = problem.num_compartments
    routes: list[Route] = []
    served: set[int] = set()
    fixed = dcost = tcost = 0.0
    total_distance = 0
    for rr in raw_routes:
        if not rr.visits:
            continue
        vt = problem.vehicle_types[rr.vehicle_type]
        brk = vt.break_
        prev_loc, prev_dep = vt.start_depot, rr.start
        load = [0] * k
        visits: list[Visit] = []
        distance = 0
        for kind, idx, start in rr.visits:
            if kind == "stop":
                stop = problem.stops[idx]
                loc, service = stop.location, stop.service_time
                load = [a + b for a, b in zip(load, stop.demand, strict=True)]
                served.add(idx)
            else:
                fac = problem.facilities[idx]
                loc, service = fac.location, fac.unload_time
                load = [0] * k
            travel = int(dur[prev_loc, loc])
            arrival = prev_dep + travel
            # A break started before the vehicle would have arrived delays the arrival.
            if (brk is not None and rr.break_start is not None
                    and prev_dep <= rr.break_start < prev_dep + travel):
                arrival += brk.duration
            arrival = min(arrival, start)
            distance += int(dist[prev_loc, loc])
            visits.append(Visit(kind, idx, loc, arrival, start, start + service, tuple(load)))  # type: ignore[arg-type]
            prev_loc, prev_dep = loc, start + service
        distance += int(dist[prev_loc, vt.end_depot])
        total_distance += distance
        routes.append(Route(rr.vehicle, rr.vehicle_type, rr.start, rr.end, tuple(visits),
                            distance, rr.break_start))
        fixed += vt.fixed_cost
        dcost += vt.cost_per_km * distance / 1000.0
        tcost += vt.cost_per_hour * (rr.end - rr.start) / 3600.0
    skipped = tuple(i for i in range(len(problem.stops)) if i not in served)
    penalty = sum(problem.stops[i].penalty for i in skipped)
    return Solution(
        routes=tuple(routes),
        skipped=skipped,
        cost=CostBreakdown(fixed, dcost, tcost, penalty),
        status=status,
        backend=backend,
        wall_time=wall_time,
        total_distance=total_distance,
        notes=tuple(notes),
        limit_reached=limit_reached,
    )
