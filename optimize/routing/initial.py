"""Initial routes (warm starts): start a search from routes that already exist.

A daily collection plan is rarely new: yesterday's routes, or the crews' master rounds,
already visit most of today's points in a good order.  :func:`repair` turns such routes —
possibly planned for other stops, loads or fleet sizes — into routes that are feasible for
*this* problem: stops it does not know are gone, unloads are re-placed where the load
needs them, stops that no longer fit the shift or their window are left out (the search
inserts them again), and each vehicle type keeps at most its ``count`` routes.  Backends
that can start from routes (OR-Tools) then improve the repaired routes; the others ignore
them.

Routes are given as :class:`InitialRoute`: a vehicle type and a sequence of visits
``("stop", i)`` / ``("facility", f)`` in the problem's own indices.  :func:`from_solution`
reads them off a :class:`~optimize.routing.model.Solution`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from optimize.routing._assemble import RawRoute, assemble
from optimize.routing.model import Problem, Solution

Visit = tuple[str, int]


@dataclass(frozen=True)
class InitialRoute:
    """One route to start from: its vehicle type and its visits in order."""

    vehicle_type: int
    visits: tuple[Visit, ...]

    @property
    def stops(self) -> list[int]:
        """The stops of the route, in order."""
        return [i for kind, i in self.visits if kind == "stop"]


def from_solution(solution: Solution) -> list[InitialRoute]:
    """The routes of ``solution`` as initial routes (same problem indices)."""
    return [InitialRoute(r.vehicle_type, tuple((v.kind, v.index) for v in r.visits))
            for r in solution.routes]


def repair(problem: Problem, routes: Iterable[InitialRoute]) -> list[InitialRoute]:
    """Feasible routes for ``problem`` built from ``routes`` (module doc).

    Each route is re-timed from its shift start: a stop is kept when it can be reached
    within its window (after an unload at the facility that costs the least detour when
    the load would exceed a compartment) and the vehicle can still get back in its shift —
    having unloaded first when ``problem.must_unload``.  Facility visits of the input are
    ignored and re-placed.  Stops served twice, unknown stops and routes beyond a vehicle
    type's count are dropped.  Breaks are not planned here (a backend may still fail to
    read the routes; it then starts from scratch).
    """
    seen: set[int] = set()
    used = [0] * len(problem.vehicle_types)
    out: list[InitialRoute] = []
    n = len(problem.stops)
    for route in routes:
        t = route.vehicle_type
        if not 0 <= t < len(problem.vehicle_types) or used[t] >= problem.vehicle_types[t].count:
            continue
        builder = _RouteBuilder(problem, t)
        for i in route.stops:
            if 0 <= i < n and i not in seen:
                builder.add(i)
        if builder.stops:
            used[t] += 1
            seen.update(builder.stops)
            out.append(builder.finish())
    return out


def split(problem: Problem, order: Sequence[int]) -> list[InitialRoute]:
    """Routes that serve the stops of ``order`` in that order, vehicle after vehicle.

    A *giant tour* (e.g. a master round's routes joined) is cut greedily: stops are added
    to the current vehicle (with unloads where the load needs them, as :func:`repair`)
    until the next one no longer fits its shift, then the next vehicle (in
    :meth:`Problem.vehicles` order) takes over.  Stops no vehicle can take are left out.
    """
    n = len(problem.stops)
    fleet = problem.vehicles()
    out: list[InitialRoute] = []
    v = 0
    builder = _RouteBuilder(problem, fleet[0]) if fleet else None
    seen: set[int] = set()
    for i in order:
        if builder is None or not 0 <= i < n or i in seen:
            continue
        if builder.add(i):
            seen.add(i)
            continue
        if not builder.stops:
            continue  # this vehicle cannot take the stop even alone: leave it out
        out.append(builder.finish())
        v += 1
        builder = _RouteBuilder(problem, fleet[v]) if v < len(fleet) else None
        if builder is not None and builder.add(i):
            seen.add(i)
    if builder is not None and builder.stops:
        out.append(builder.finish())
    return out


def warm_start(problem: Problem, routes: Sequence[InitialRoute],
               order: Sequence[int] = ()) -> list[InitialRoute]:
    """:func:`repair` ``routes``, then give the stops of ``order`` they do not serve to the
    vehicles left, as :func:`split` does.  For a plan that starts from a master round:
    the master's routes keep their shape where today's loads and fleet allow, and what
    they cannot take goes to the spare trucks (or to the search, if none is left)."""
    kept = repair(problem, routes)
    served = {i for r in kept for i in r.stops}
    used = [0] * len(problem.vehicle_types)
    for r in kept:
        used[r.vehicle_type] += 1
    spare = [replace(vt, count=vt.count - u) for vt, u in zip(problem.vehicle_types, used, strict=True)]
    rest = [i for i in order if i not in served]
    if not rest or not any(vt.count for vt in spare):
        return kept
    return kept + split(replace(problem, vehicle_types=tuple(spare)), rest)


def to_solution(problem: Problem, routes: Sequence[InitialRoute]) -> Solution:
    """The routes as a :class:`Solution`, timed as :func:`repair` times them (each route
    leaves at its shift start; waiting only for windows).  The routes must come from
    :func:`repair` or :func:`split`, which make them feasible."""
    fleet = problem.vehicles()
    free = {t: [v for v, tt in enumerate(fleet) if tt == t] for t in set(fleet)}
    raw = []
    for r in routes:
        builder = _RouteBuilder(problem, r.vehicle_type)
        visits = builder.replay(r.visits)
        raw.append(RawRoute(free[r.vehicle_type].pop(0), r.vehicle_type, builder.s0,
                            builder.end_time(), visits))
    return assemble(problem, raw, backend="initial", wall_time=0.0,
                    notes=("routes as given, repaired; no search",))


class _RouteBuilder:
    """Grows one route of vehicle type ``t`` stop by stop, keeping it feasible."""

    def __init__(self, problem: Problem, t: int) -> None:
        self.p = problem
        self.vt = vt = problem.vehicle_types[t]
        self.t = t
        self.s0, s1 = problem.shift_of(t)
        self.s1 = s1 if vt.max_duration is None else min(s1, self.s0 + vt.max_duration)
        self.loc, self.clock = vt.start_depot, self.s0
        self.load = [0] * len(vt.capacity)
        self.visits: list[Visit] = []
        self.stops: list[int] = []

    def _unload_end(self, f: int, loc: int, clock: int) -> int | None:
        """When the unload at ``f`` ends, leaving ``loc`` at ``clock``; ``None``: closed."""
        fac = self.p.facilities[f]
        a, b = self.p.facility_window(f)
        start = max(clock + int(self.p.duration[loc, fac.location]), a)
        return None if start > b else start + fac.unload_time

    def _best_facility(self, loc: int, clock: int, then: int) -> tuple[int, int] | None:
        """The facility that gets the vehicle soonest from ``loc`` to location ``then``, and
        when it arrives there."""
        best: tuple[int, int] | None = None
        for f in range(len(self.p.facilities)):
            end = self._unload_end(f, loc, clock)
            if end is not None:
                arrive = end + int(self.p.duration[self.p.facilities[f].location, then])
                if best is None or arrive < best[1]:
                    best = (f, arrive)
        return best

    def _home(self, loc: int, clock: int, loaded: bool) -> int | None:
        if not (loaded and self.p.must_unload):
            return clock + int(self.p.duration[loc, self.vt.end_depot])
        best = self._best_facility(loc, clock, self.vt.end_depot)
        return None if best is None else best[1]

    def add(self, i: int) -> bool:
        """Append stop ``i`` (after an unload if the load needs one) if the route stays
        feasible; return whether it was added."""
        stop = self.p.stops[i]
        cap = self.vt.capacity
        if any(x > c for x, c in zip(stop.demand, cap, strict=True)):
            return False
        pre: list[Visit] = []
        at, when = self.loc, self.clock
        load = [a + b for a, b in zip(self.load, stop.demand, strict=True)]
        if any(x > c for x, c in zip(load, cap, strict=True)):
            best = self._best_facility(self.loc, self.clock, stop.location)
            if best is None:
                return False
            end = self._unload_end(best[0], self.loc, self.clock)
            assert end is not None
            pre = [("facility", best[0])]
            at, when, load = self.p.facilities[best[0]].location, end, list(stop.demand)
        a, b = self.p.stop_window(i)
        start = max(when + int(self.p.duration[at, stop.location]), a)
        if start > b:
            return False
        finish = start + stop.service_time
        back = self._home(stop.location, finish, any(load))
        if back is None or back > self.s1:
            return False
        self.visits += pre + [("stop", i)]
        self.stops.append(i)
        self.loc, self.clock, self.load = stop.location, finish, load
        return True

    def finish(self) -> InitialRoute:
        """The route, with its last unload when the vehicle must end empty."""
        visits = list(self.visits)
        if self.p.must_unload and any(self.load):
            best = self._best_facility(self.loc, self.clock, self.vt.end_depot)
            assert best is not None  # every added stop checked a way home
            visits.append(("facility", best[0]))
        return InitialRoute(self.t, tuple(visits))

    def replay(self, visits: Sequence[Visit]) -> list[tuple[str, int, int]]:
        """Service start times of ``visits`` (a finished route), leaving at the shift start;
        leaves the builder at the route's end."""
        out = []
        loc, clock = self.vt.start_depot, self.s0
        dur = self.p.duration
        for kind, i in visits:
            if kind == "stop":
                stop = self.p.stops[i]
                start = max(clock + int(dur[loc, stop.location]), self.p.stop_window(i)[0])
                loc, clock = stop.location, start + stop.service_time
            else:
                fac = self.p.facilities[i]
                start = max(clock + int(dur[loc, fac.location]), self.p.facility_window(i)[0])
                loc, clock = fac.location, start + fac.unload_time
            out.append((kind, i, start))
        self.loc, self.clock = loc, clock
        return out

    def end_time(self) -> int:
        """Arrival at the end depot after :meth:`replay`."""
        return self.clock + int(self.p.duration[self.loc, self.vt.end_depot])
