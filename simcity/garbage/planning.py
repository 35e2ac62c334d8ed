"""Daily route planning: turn today's selection into truck routes with ``optimize.routing``.

A *collection group* is a set of categories collected by the same trucks: one category for
colour-coded dedicated fleets, several for multi-compartment co-collection.  Each day, for
each group, the selected points become optional stops (a large skip penalty for points that
must be visited, the overflow-risk penalty for optional ones), the stations that accept the
whole group become intermediate facilities (reloads), and the group's fleets become vehicle
types with shifts and a lunch break.  With ``routing.partition = "zone"`` each zone is
planned on its own with a share of the trucks (fixed crews per sector), which keeps every
call small.

Reproducible and fast by construction
-------------------------------------
* **Work budgets.**  Every call is stopped by work (``routing.effort`` local-search
  solutions), never by the clock, and its seed is ``routing.seed``: a plan depends only on
  its inputs, so the same scenario and seed give the same tables on any machine and with
  any number of jobs.
* **Solved once.**  Plans are cached by the content of their problem (:class:`PlanCache`):
  a problem met again — the same sector on day ``d`` and ``d + k`` of a fixed-``k``
  schedule, in another replication or under another policy with equal inputs — is not
  solved again.  The cache only saves time: a hit returns exactly what the solve would.
* **Master rounds.**  Each sector has a master round: all its points at their mean daily
  load, solved once with ``routing.master_effort`` and all the sector's trucks.  A daily
  plan may start from it (``routing.warm_start = "master"``; default ``"none"``): the master's visit order cut
  into today's trucks (:func:`optimize.routing.initial.split`: points not selected
  dropped, unloads placed where today's loads need them), then improved by the search,
  which also inserts what the cut left out.  Policies with ``plan = "master"`` drive the
  cut master rounds without search, as crews with fixed rounds do.
* **Yesterday's plan.**  With ``routing.warm_start = "yesterday"`` a sector's plan starts
  from the sector's previous plan in the run (points not selected today dropped, unloads
  re-placed; PyVRP's search inserts today's new points) and searches for
  ``routing.warm_effort`` iterations instead of ``routing.effort``; a problem already
  planned in the run keeps its plan.  Both depend only on the run's own history (same
  scenario, seed and replication: same plans), never on the cache or the process.
* **Matrices once.**  Distance and time matrices are computed once per layout and sliced.
  On the street network (``[city.roads] osm_file``) a sector's problem takes the matrices of
  the hours its trucks' shifts cover (:meth:`simcity.roads.RoadMatrices.over`: exactly the
  period's matrix when the shifts lie in one period, else the mean over the shift's hours).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from optimize.budget import Budget
from optimize.routing import (
    Break,
    Facility,
    InfeasibleProblemError,
    Problem,
    Solution,
    Stop,
    VehicleType,
    matrices_from_coordinates,
    solve,
)
from optimize.routing.initial import InitialRoute, to_solution, warm_start
from optimize.routing.ortools_backend import OrToolsOptions
from optimize.routing.pyvrp_backend import PyVRPOptions
from simcity.garbage.config import City, Policy, Routing
from simcity.garbage.layout import Layout
from simcity.garbage.policies import Selection


class PlanningError(ValueError):
    """The city setting and policy cannot be planned (e.g. no fleet for a collection group)."""


@dataclass(frozen=True)
class Group:
    """Categories collected together, by the fleets that carry exactly these categories."""

    cats: tuple[int, ...]
    fleets: tuple[int, ...]
    stations: tuple[int, ...]


@dataclass(frozen=True)
class Leg:
    """One planned action: ``("stop", point)`` or ``("unload", station)``, with planned time (h)."""

    kind: str
    target: int
    planned_h: float


@dataclass(frozen=True)
class TruckPlan:
    """The route of one truck for one day."""

    fleet: int
    group: int
    start_h: float
    legs: tuple[Leg, ...]
    break_h: float | None
    planned_km: float
    #: station where the plan ends (``routing.end_at = "station"``), else ``None``
    end_station: int | None = None
    #: index of the day's routing call (sector) that planned this route
    part: int = -1


@dataclass
class DayPlan:
    """All routes of one day, with what the planner dropped and why.

    ``calls`` counts the routing problems of the day and ``repeats`` those equal to one
    already planned earlier in the same run (both depend only on the inputs, so they are
    reproducible); ``limit_hit`` counts calls whose search stopped at its effort limit
    rather than at a local optimum.  Required points left out are split by cause:
    ``skips_effort`` when the search stopped at its limit, ``skips_capacity`` when it had
    converged (the fleet, shift or stations cannot take them).
    """

    trucks: list[TruckPlan] = field(default_factory=list)
    calls: int = 0
    repeats: int = 0
    limit_hit: int = 0
    skips_effort: int = 0
    skips_capacity: int = 0
    #: sectors re-planned with appointment windows (policy ``routed``) and how many of
    #: those kept the re-planned routes (the others left more required points out)
    slot_replans: int = 0
    slot_replans_kept: int = 0

    @property
    def planned_skips(self) -> int:
        """Required points the plan left out, whatever the cause."""
        return self.skips_effort + self.skips_capacity


@dataclass
class Timer:
    """Wall-clock seconds spent in the optimisers (for the speed benchmark; not a metric).

    ``cache_hits`` counts calls answered by the process-wide :class:`PlanCache`, which
    depends on what the process ran before: informative only.
    """

    routing_s: float = 0.0
    berths_s: float = 0.0
    routing_calls: int = 0
    berth_calls: int = 0
    cache_hits: int = 0
    #: when a list, every routing call the planner solves or looks up is appended
    #: (``python -m simcity.bench.garbage_plans`` samples daily problems from it)
    record: list[Call] | None = None


@dataclass(frozen=True)
class Call:
    """One routing call of the planner: the problem, the routes it started from and its effort."""

    problem: Problem
    initial: tuple[InitialRoute, ...] | None
    effort: int


@dataclass(frozen=True)
class MasterRound:
    """A sector's master round: ``routes`` as ``(fleet, point ids)``, and ``order``, every
    point of the sector in visiting order (points the master left out last)."""

    routes: list[tuple[int, list[int]]]
    order: list[int]


class PlanCache:
    """Solutions by the content of their problem and solver settings (an LRU of bounded size).

    Solves are deterministic in their inputs (work budgets, fixed seed), so a hit returns
    the very solution a new solve would; the cache is shared by every run of a process
    (replications, policies) and changes only how long a comparison takes.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._store: OrderedDict[bytes, Solution | None] = OrderedDict()

    @staticmethod
    def key(problem: Problem, settings: object) -> bytes:
        """A digest of everything the solution depends on."""
        h = hashlib.blake2b(digest_size=20)
        h.update(np.ascontiguousarray(problem.distance).tobytes())
        h.update(np.ascontiguousarray(problem.duration).tobytes())
        h.update(repr((problem.stops, problem.vehicle_types, problem.facilities,
                       problem.must_unload, settings)).encode())
        return h.digest()

    def get(self, key: bytes) -> tuple[bool, Solution | None]:
        """``(found, solution)``; ``None`` solution: the problem had no plan."""
        if key in self._store:
            self._store.move_to_end(key)
            return True, self._store[key]
        return False, None

    def put(self, key: bytes, sol: Solution | None) -> None:
        self._store[key] = sol
        if len(self._store) > self.max_entries:
            self._store.popitem(last=False)

    def clear(self) -> None:
        self._store.clear()


#: The process-wide plan cache (see :class:`PlanCache`).
PLAN_CACHE = PlanCache()
_MATRICES: OrderedDict[bytes, tuple[NDArray[np.int64], NDArray[np.int64]]] = OrderedDict()


def layout_matrices(layout: Layout, speed_kmh: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Distance (m) and driving time (s) between all locations of ``layout``, computed once
    per layout and speed in a process (the routing problems slice them)."""
    key = hashlib.blake2b(layout.xy.tobytes() + repr((layout.detour, speed_kmh)).encode(),
                          digest_size=20).digest()
    if key not in _MATRICES:
        _MATRICES[key] = matrices_from_coordinates(layout.xy * 1000.0, speed_kmh / 3.6,
                                                   detour=layout.detour)
        while len(_MATRICES) > 2:
            _MATRICES.popitem(last=False)
    return _MATRICES[key]


def road_matrices(layout: Layout, start_h: float, end_h: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Distance (m) and driving time (s) on the street network between all locations of
    ``layout`` for a plan covering the clock hours ``[start_h, end_h)``, rounded as
    :func:`optimize.routing.matrices_from_coordinates` rounds."""
    assert layout.roads is not None
    tm = layout.roads.over(start_h, end_h)
    assert tm.duration_s is not None
    return np.floor(tm.distance_m + 0.5).astype(np.int64), np.floor(tm.duration_s + 0.5).astype(np.int64)


def solver_options(routing: Routing, master: bool = False) -> OrToolsOptions | PyVRPOptions | None:
    """The backend options of the daily plans (``master``: of the master rounds).

    PyVRP runs its short-run settings (:meth:`~optimize.routing.pyvrp_backend.PyVRPOptions.short_runs`:
    a start from the construction heuristic, then a few hundred iterations of iterated
    local search); OR-Tools the scenario's strategy names; ``auto`` takes no options.
    """
    if routing.backend == "pyvrp":
        return replace(PyVRPOptions.short_runs(), num_neighbours=routing.neighbours)
    if routing.backend == "ortools":
        return OrToolsOptions(first_solution=routing.first_solution,
                              metaheuristic=routing.master_metaheuristic if master
                              else routing.metaheuristic)
    return None


def collection_groups(city: City, policy: Policy, layout: Layout) -> list[Group]:
    """The groups a policy collects with; :class:`PlanningError` when a group has no fleet."""
    cats = layout.categories
    co = tuple(sorted(cats.index(c) for c in policy.co_collect if c in cats))
    groups: list[tuple[int, ...]] = [co] if len(co) > 1 else []
    groups += [(c,) for c in range(len(cats)) if c not in co]
    out = []
    for g in groups:
        names = {cats[c] for c in g}
        fleets = tuple(i for i, f in enumerate(city.fleets) if set(f.categories) == names)
        if not fleets:
            raise PlanningError(
                f"policy {policy.name!r}: no fleet carries exactly {sorted(names)}; add a fleet "
                f"with categories = {sorted(names)} to [city] or change co_collect")
        stations = tuple(i for i, s in enumerate(city.stations) if names <= set(s.categories))
        if not stations:
            raise PlanningError(f"policy {policy.name!r}: no transfer station accepts all of {sorted(names)}")
        out.append(Group(cats=g, fleets=fleets, stations=stations))
    return out


def truck_counts(city: City, policy: Policy) -> list[int]:
    """Trucks available per fleet under the policy's ``fleet_scale``."""
    return [math.ceil(f.count * policy.fleet_scale - 1e-9) for f in city.fleets]


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` trucks over zones by weight (largest remainder, at least one per busy zone)."""
    busy = [i for i, w in enumerate(weights) if w > 0]
    out = [0] * len(weights)
    if not busy or total <= 0:
        return out
    if total <= len(busy):
        # fewer trucks than busy zones: the heaviest zones get one each
        for i in sorted(busy, key=lambda i: -weights[i])[:total]:
            out[i] = 1
        return out
    wsum = sum(weights[i] for i in busy)
    for i in busy:
        out[i] = 1
    rest = total - len(busy)
    quota = [rest * weights[i] / wsum for i in busy]
    base = [math.floor(q) for q in quota]
    for k, i in enumerate(busy):
        out[i] += base[k]
    left = rest - sum(base)
    order = sorted(range(len(busy)), key=lambda k: (-(quota[k] - base[k]), busy[k]))
    for k in order[:left]:
        out[busy[k]] += 1
    return out


def _merge(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching windows joined, in time order."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(windows):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


class Planner:
    """Builds and solves the routing problems of one run (one policy, one replication)."""

    def __init__(self, city: City, policy: Policy, layout: Layout, timer: Timer | None = None,
                 cache: PlanCache | None = None) -> None:
        self.city = city
        self.policy = policy
        self.layout = layout
        self.groups = collection_groups(city, policy, layout)
        self.counts = truck_counts(city, policy)
        self.timer = timer if timer is not None else Timer()
        self.cache = PLAN_CACHE if cache is None else cache
        self.depot_index = {d.id: i for i, d in enumerate(city.depots)}
        self.options = solver_options(city.routing)
        self.master_options = solver_options(city.routing, master=True)
        if layout.roads is None:
            self.dist, self.dur = layout_matrices(layout, city.roads.speed_kmh)
        #: street-network matrices by the shift window they are planned for
        self._windows: dict[tuple[float, float], tuple[NDArray[np.int64], NDArray[np.int64]]] = {}
        #: problems planned in this run (for DayPlan.repeats: reproducible, unlike cache hits)
        self._planned: set[bytes] = set()
        self._masters: dict[tuple[int, tuple[int, ...]], MasterRound] = {}
        #: warm_start = "yesterday": each sector's last routes as (fleet, point ids), and
        #: the solution of every problem planned in this run (by content)
        self._last: dict[tuple[int, tuple[int, ...]], list[tuple[int, list[int]]]] = {}
        self._kept: dict[bytes, Solution | None] = {}

    def replan_with_slots(self, day: int, sel: Selection, plan: DayPlan,
                          windows: dict[int, dict[int, list[tuple[int, int]]]]) -> DayPlan:
        """Plan ``day`` again with appointment slots as station time windows.

        ``windows`` maps a truck of ``plan`` (its index in ``plan.trucks``) to, per station,
        the windows (seconds from midnight) it should unload in.  Each sector whose trucks
        hold slots is routed again with OR-Tools (PyVRP has no facility windows), every
        station of the sector replaced by one copy per merged window of its trucks; the
        re-planned routes are kept unless they leave more required points out than the
        first plan, which is then kept for that sector.
        """
        by_part: dict[int, dict[int, list[tuple[int, int]]]] = {}
        for i, per_station in windows.items():
            part = plan.trucks[i].part
            for s, ws in per_station.items():
                by_part.setdefault(part, {}).setdefault(s, []).extend(ws)
        merged = {part: {s: _merge(ws) for s, ws in per.items()} for part, per in by_part.items()}
        return self.plan_day(day, sel, slot_windows=merged)

    def plan_day(self, day: int, sel: Selection,
                 slot_windows: dict[int, dict[int, list[tuple[int, int]]]] | None = None) -> DayPlan:
        """Routes for ``day`` given the selection; time origin of the plan is midnight of ``day``.
        ``slot_windows``: station time windows per sector (see :meth:`replan_with_slots`)."""
        plan = DayPlan()
        for gi, g in enumerate(self.groups):
            cats = list(g.cats)
            req: NDArray[np.bool_] = np.asarray(sel.required[cats].any(axis=0))
            opt = sel.optional[cats].any(axis=0) & ~req
            chosen = np.flatnonzero(req | opt)
            if chosen.size == 0:
                continue
            if self.city.routing.partition == "zone":
                parts = self._sectors(chosen, g)
            else:
                parts = [chosen]
            load = [float(sel.expected_load[cats][:, p].sum()) + 1e-6 * p.size for p in parts]
            serving = [self._serving_fleets(p, g) for p in parts]
            per_fleet = {f: _apportion(self.counts[f], [w if f in sv else 0.0
                                                        for w, sv in zip(load, serving, strict=True)])
                         for f in g.fleets}
            for z, pts in enumerate(parts):
                if pts.size == 0:
                    continue
                fleets = [(f, per_fleet[f][z]) for f in g.fleets if per_fleet[f][z] > 0]
                if not fleets:
                    plan.skips_capacity += int(req[pts].sum())
                    continue
                loads = np.asarray(sel.expected_load[cats][:, pts])
                penalty = np.where(req[pts], self.city.routing.skip_penalty,
                                   np.asarray(sel.penalty[cats][:, pts]).max(axis=0))
                problem, end_station = self._problem(day, gi, g, pts, loads, penalty, fleets)
                windows = (slot_windows or {}).get(plan.calls)
                if windows:
                    slotted, _ = self._problem(day, gi, g, pts, loads, penalty, fleets, windows)
                    self._plan_slotted(plan, gi, g, pts, req[pts], problem, slotted, end_station, fleets)
                else:
                    self._plan_part(plan, gi, g, pts, req[pts], problem, end_station, fleets)
        return plan

    # ------------------------------------------------------------------ sectors
    def _serving_fleets(self, pts: NDArray[np.int64], g: Group) -> tuple[int, ...]:
        """Fleets that serve a sector: those based at the depot nearest to its centre (crews
        work near home), or every fleet of the group when that depot has none."""
        if len(self.city.depots) == 1 or self.city.routing.partition == "none":
            return g.fleets
        lay = self.layout
        centre = lay.xy[pts].mean(axis=0)
        d = np.hypot(*(lay.xy[list(lay.depot_loc)] - centre).T)
        near = self.city.depots[int(np.argmin(d))].id
        own = tuple(f for f in g.fleets if self.city.fleets[f].depot == near)
        return own or g.fleets

    def _sectors(self, chosen: np.ndarray, g: Group) -> list[np.ndarray]:
        """Split the chosen points into sectors of whole zones: consecutive zones (in file
        order) are merged until there are no more sectors than the smallest fleet of the group
        has trucks, so that (with sectors served by their nearest depot's crews) a fleet is
        never spread over more sectors than it has trucks."""
        lay = self.layout
        zones = [z for z in range(len(self.city.zones)) if (lay.zone_of[chosen] == z).any()]
        k = max(1, min([len(zones)] + [self.counts[f] for f in g.fleets]))
        weight = np.array([float(lay.mean[list(g.cats)][:, lay.zone_of == z].sum()) for z in zones])
        # contiguous split of the zone list into k chunks of similar weight: a zone goes to the
        # chunk its weight midpoint falls in
        mid = (np.cumsum(weight) - weight / 2) / max(float(weight.sum()), 1e-12)
        chunk = np.minimum((mid * k).astype(int), k - 1)
        return [chosen[np.isin(lay.zone_of[chosen], np.asarray(zones)[chunk == i])]
                for i in range(k) if (chunk == i).any()]

    # ------------------------------------------------------------------ problems
    def _problem(self, day: int, gi: int, g: Group, pts: NDArray[np.int64], loads: NDArray[np.float64],
                 penalty: NDArray[np.float64], fleets: list[tuple[int, int]],
                 windows: dict[int, list[tuple[int, int]]] | None = None,
                 ) -> tuple[Problem, list[int | None]]:
        """The routing problem of one sector: ``pts`` with expected ``loads`` (t, one row per
        category of the group) and skip ``penalty`` (CNY) each, served by ``fleets``
        (``(fleet, trucks)``); also the station where each vehicle type's plan ends.
        ``windows``: per station, time windows (s); the station is then one facility per
        window (facilities keep the station's id as name)."""
        city, lay = self.city, self.layout
        cats = list(g.cats)
        st_locs = [lay.station_loc[s] for s in g.stations]
        dep_ids = sorted({self.depot_index[city.fleets[f].depot] for f, _ in fleets})
        dep_locs = [lay.depot_loc[d] for d in dep_ids]
        locs = np.concatenate([pts, st_locs, dep_locs]).astype(int)
        full_dist, full_dur = self._matrices(fleets)
        dist = full_dist[np.ix_(locs, locs)]
        dur = full_dur[np.ix_(locs, locs)]
        n = pts.size
        service = np.zeros(n)
        for c in cats:
            w = city.waste[c]
            service += np.where(lay.has_bin[c, pts], w.service_minutes * 60.0, 0.0)
        facilities = [Facility(location=n + k, unload_time=int(round(city.stations[s].tip_minutes * 60)),
                               name=city.stations[s].id, time_window=tw)
                      for k, s in enumerate(g.stations)
                      for tw in ((windows or {}).get(s) or [None])]  # type: ignore[list-item]
        vts = []
        end_station: list[int | None] = []
        speed = city.roads.speed_kmh
        for f, count in fleets:
            fl = city.fleets[f]
            keep = 1.0 - city.routing.load_margin
            cap = tuple(int(fl.capacity_t[fl.categories.index(lay.categories[c])] * 1000 * keep)
                        for c in cats)
            dep = n + len(st_locs) + dep_ids.index(self.depot_index[fl.depot])
            s0 = int(round(fl.shift_start_h * 3600))
            s1 = int(round((fl.shift_start_h + fl.shift_hours) * 3600))
            end = dep
            end_station.append(None)
            if city.routing.end_at == "station":
                home = lay.depot_loc[self.depot_index[fl.depot]]
                back = fl.shift_start_h + fl.shift_hours
                k = min(range(len(st_locs)), key=lambda k: lay.km(home, st_locs[k], back))
                end = n + k
                end_station[-1] = g.stations[k]
                # the last tip and the drive home happen after the planned route
                tail_h = city.stations[g.stations[k]].tip_minutes / 60 + lay.drive_h(st_locs[k], home, back, speed)
                s1 -= int(round(tail_h * 3600))
            brk = None
            if fl.break_minutes > 0 and city.routing.plan_breaks:
                brk = Break(s0 + int(fl.break_window_h[0] * 3600), s0 + int(fl.break_window_h[1] * 3600),
                            int(round(fl.break_minutes * 60)))
            elif fl.break_minutes > 0:
                # keep the break's time free without modelling it in the search
                s1 -= int(round(fl.break_minutes * 60))
            vts.append(VehicleType(capacity=cap, count=count, start_depot=dep, end_depot=end,
                                   fixed_cost=fl.cost_per_day, cost_per_km=fl.cost_per_km,
                                   cost_per_hour=fl.cost_per_hour, shift=(s0, s1), break_=brk,
                                   name=f"{fl.id}#{f}"))
        # a stop's predicted load above a compartment is clipped: the truck will reload mid-stop
        caps = np.array([vt.capacity for vt in vts]).max(axis=0)
        demand = np.minimum(np.ceil(loads * 1000.0).astype(np.int64), caps[:, None])
        stops = [Stop(location=i, demand=tuple(int(x) for x in demand[:, i]),
                      service_time=int(round(service[i])), required=False,
                      penalty=round(float(penalty[i]), 2), name=f"point {p}")
                 for i, p in enumerate(pts)]
        # routes ending at a station tip their last load there (in the simulation)
        problem = Problem(dist, dur, stops, vts, facilities,
                          unload_before_return=city.routing.end_at == "depot",
                          name=f"day {day} group {gi}", coordinates=lay.xy[locs] * 1000.0)
        return problem, end_station

    def _matrices(self, fleets: list[tuple[int, int]]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Distance and time matrices between all locations for a problem served by
        ``fleets``: straight lines, or the street network's for the hours of their shifts."""
        if self.layout.roads is None:
            return self.dist, self.dur
        shifts = [self.city.fleets[f] for f, _ in fleets]
        window = (min(fl.shift_start_h for fl in shifts),
                  max(fl.shift_start_h + fl.shift_hours for fl in shifts))
        if window not in self._windows:
            self._windows[window] = road_matrices(self.layout, *window)
        return self._windows[window]

    def _solve(self, problem: Problem, effort: int, options: OrToolsOptions | PyVRPOptions | None,
               initial: list[InitialRoute] | None) -> tuple[Solution | None, bool]:
        """Solve with a work budget through the plan cache; also whether this run had
        planned the same problem before (a repeat)."""
        r = self.city.routing
        budget = Budget.work(effort)
        key = self.cache.key(problem, (r.backend, budget, options, r.seed, initial))
        repeat = key in self._planned
        self._planned.add(key)
        self.timer.routing_calls += 1
        if self.timer.record is not None:
            self.timer.record.append(Call(problem, None if initial is None else tuple(initial), effort))
        found, sol = self.cache.get(key)
        if found:
            self.timer.cache_hits += 1
            return sol, repeat
        t0 = time.perf_counter()
        try:
            sol = solve(problem, seed=r.seed, backend=r.backend, budget=budget, options=options,
                        initial=initial)
        except InfeasibleProblemError:
            sol = None
        self.timer.routing_s += time.perf_counter() - t0
        self.cache.put(key, sol)
        return sol, repeat

    def master_round(self, gi: int, g: Group, zones: tuple[int, ...]) -> MasterRound:
        """The master round of the sector made of ``zones``: its routes (point ids, per
        fleet) and every point in the order they visit them, then the points left out.

        Every point of the zones with a bin of the group, at its mean daily load (capped at
        the bin), all required, served by all trucks of the fleets based nearest to the
        sector; solved from scratch with ``routing.master_effort``.  It depends on the
        sector only, never on the day, so it is computed once.
        """
        key = (gi, zones)
        if key not in self._masters:
            lay, cats = self.layout, list(g.cats)
            pts = np.flatnonzero(np.isin(lay.zone_of, zones) & lay.has_bin[cats].any(axis=0))
            loads = np.minimum(lay.mean[cats][:, pts], lay.cap[cats][:, pts])
            penalty = np.full(pts.size, self.city.routing.skip_penalty)
            fleets = [(f, self.counts[f]) for f in self._serving_fleets(pts, g) if self.counts[f] > 0]
            routes: list[tuple[int, list[int]]] = []
            if fleets:
                problem, _ = self._problem(-1, gi, g, pts, loads, penalty, fleets)
                sol, _ = self._solve(problem, self.city.routing.master_effort, self.master_options, None)
                if sol is not None:
                    routes = [(fleets[r.vehicle_type][0], [int(pts[i]) for i in r.stops])
                              for r in sol.routes]
            order = [p for _, stops in routes for p in stops]
            order += sorted(set(pts.tolist()) - set(order))
            self._masters[key] = MasterRound(routes, order)
        return self._masters[key]

    def _zones(self, pts: NDArray[np.int64]) -> tuple[int, ...]:
        """The zones of a sector's points (the sector's identity across days)."""
        return tuple(int(z) for z in np.unique(self.layout.zone_of[pts]))

    def _initial(self, gi: int, g: Group, pts: NDArray[np.int64], problem: Problem,
                 fleets: list[tuple[int, int]]) -> list[InitialRoute]:
        """Today's start: the master round of the sector, repaired for today's points,
        loads and trucks (:func:`optimize.routing.initial.warm_start`)."""
        master = self.master_round(gi, g, self._zones(pts))
        return self._cut(master.routes, master.order, pts, problem, fleets)

    @staticmethod
    def _cut(routes: list[tuple[int, list[int]]], order: list[int], pts: NDArray[np.int64],
             problem: Problem, fleets: list[tuple[int, int]]) -> list[InitialRoute]:
        """``routes`` (fleet, point ids) cut to today's points ``pts`` and trucks, repaired;
        the points of ``order`` they do not serve go to the spare trucks."""
        index = {int(p): i for i, p in enumerate(pts)}
        type_of = {f: t for t, (f, _) in enumerate(fleets)}
        cut = [InitialRoute(type_of[f], tuple(("stop", index[p]) for p in stops if p in index))
               for f, stops in routes if f in type_of]
        return warm_start(problem, cut, [index[p] for p in order if p in index])

    def _yesterday(self, gi: int, pts: NDArray[np.int64], problem: Problem,
                   fleets: list[tuple[int, int]]) -> list[InitialRoute] | None:
        """The start from the sector's previous plan (``warm_start = "yesterday"``), or
        ``None`` (start cold) when there is none or it shares no point with today.

        Yesterday's routes joined into one tour keep the order of today's points they
        visit; each point new today goes right after its nearest kept point (nearer ones
        first); the tour is then cut into today's trucks with unloads where the loads
        need them (:func:`optimize.routing.initial.split`).  Today's selection can differ
        from yesterday's (on the first sensor day of the Liangxi scenario yesterday's routes
        visited 85 of a sector's 136 points due), and PyVRP's search does not open an empty
        route for the new points, so yesterday's routes as they stand would leave trucks
        idle and points out."""
        last = self._last.get((gi, self._zones(pts)))
        if last is None:
            return None
        index = {int(p): i for i, p in enumerate(pts)}
        kept = [index[p] for _, stops in last for p in stops if p in index]
        if not kept:
            return None
        new = sorted(set(range(pts.size)) - set(kept))
        after: dict[int, list[int]] = {}
        if new:
            d = problem.distance[np.ix_(new, kept)]
            anchor = np.asarray(kept)[np.argmin(d, axis=1)]
            for i, a in sorted(zip(new, anchor.tolist(), strict=True),
                               key=lambda x: (x[1], problem.distance[x[1], x[0]], x[0])):
                after.setdefault(a, []).append(i)
        order = [j for i in kept for j in (i, *after.get(i, []))]
        return warm_start(problem, [], order)

    def _plan_part(self, plan: DayPlan, gi: int, g: Group, pts: NDArray[np.int64],
                   req: NDArray[np.bool_], problem: Problem, end_station: list[int | None],
                   fleets: list[tuple[int, int]]) -> None:
        """Plan one sector and add its routes and accounting to ``plan``."""
        r = self.city.routing
        initial = None
        effort = r.effort
        yesterday = r.warm_start == "yesterday" and self.policy.plan != "master"
        kept_key = self.cache.key(problem, ("kept",)) if yesterday else b""
        if r.warm_start == "master" or self.policy.plan == "master":
            initial = self._initial(gi, g, pts, problem, fleets)
        elif yesterday and kept_key not in self._kept:
            initial = self._yesterday(gi, pts, problem, fleets)
            if initial is not None:
                effort = r.warm_effort
        plan.calls += 1
        limit_hit = False
        if self.policy.plan == "master":
            sol: Solution | None = to_solution(problem, initial or [])
        elif yesterday and kept_key in self._kept:
            # planned before in this run: the crews drive the same round again
            sol = self._kept[kept_key]
            plan.repeats += 1
            limit_hit = sol is not None and sol.limit_reached
        else:
            sol, repeat = self._solve(problem, effort, self.options, initial)
            plan.repeats += int(repeat)
            limit_hit = sol is not None and sol.limit_reached
        if yesterday:
            self._kept[kept_key] = sol
            if sol is not None:
                self._last[(gi, self._zones(pts))] = [
                    (fleets[rt.vehicle_type][0], [int(pts[i]) for i in rt.stops]) for rt in sol.routes]
        plan.limit_hit += int(limit_hit)
        if sol is None:
            # no plan at all: nothing is collected in this sector today
            plan.skips_capacity += int(req.sum())
            return
        # optional stops the solver left out are its decision; count only must-visit points
        skipped = sum(1 for i in sol.skipped if req[i])
        if limit_hit:
            plan.skips_effort += skipped
        else:
            plan.skips_capacity += skipped
        self._add_routes(plan, gi, g, pts, problem, sol, end_station, fleets)

    def _add_routes(self, plan: DayPlan, gi: int, g: Group, pts: NDArray[np.int64], problem: Problem,
                    sol: Solution, end_station: list[int | None], fleets: list[tuple[int, int]]) -> None:
        """Turn a sector's solution into truck plans (facilities back to stations by name)."""
        fleet_of_type = [f for f, _ in fleets]
        station_of = {self.city.stations[s].id: s for s in g.stations}
        for route in sol.routes:
            legs = []
            for v in route.visits:
                if v.kind == "stop":
                    legs.append(Leg("stop", int(pts[v.index]), v.arrival / 3600.0))
                else:
                    legs.append(Leg("unload", station_of[problem.facilities[v.index].name], v.arrival / 3600.0))
            plan.trucks.append(TruckPlan(
                fleet=fleet_of_type[route.vehicle_type], group=gi, start_h=route.start_time / 3600.0,
                legs=tuple(legs), break_h=None if route.break_start is None else route.break_start / 3600.0,
                planned_km=route.distance / 1000.0, end_station=end_station[route.vehicle_type],
                part=plan.calls - 1))

    def _plan_slotted(self, plan: DayPlan, gi: int, g: Group, pts: NDArray[np.int64],
                      req: NDArray[np.bool_], problem: Problem, slotted: Problem,
                      end_station: list[int | None], fleets: list[tuple[int, int]]) -> None:
        """Plan one sector with its appointment windows (OR-Tools, ``routing.effort``
        solutions), keeping the unwindowed plan when the windowed one leaves more required
        points out (the first plan's solve is a plan-cache hit)."""
        r = self.city.routing
        first = DayPlan(calls=plan.calls)
        self._plan_part(first, gi, g, pts, req, problem, end_station, fleets)
        plan.calls += 1
        plan.slot_replans += 1
        options = OrToolsOptions(first_solution=r.first_solution, metaheuristic=r.metaheuristic)
        budget = Budget.work(r.effort)
        key = self.cache.key(slotted, ("ortools", budget, options, r.seed, None))
        self.timer.routing_calls += 1
        found, sol = self.cache.get(key)
        if found:
            self.timer.cache_hits += 1
        else:
            t0 = time.perf_counter()
            try:
                sol = solve(slotted, seed=r.seed, backend="ortools", budget=budget, options=options)
            except InfeasibleProblemError:
                sol = None
            self.timer.routing_s += time.perf_counter() - t0
            self.cache.put(key, sol)
        skipped = None if sol is None else sum(1 for i in sol.skipped if req[i])
        if sol is None or skipped is None or skipped > first.planned_skips:
            plan.trucks += first.trucks
            plan.repeats += first.repeats
            plan.limit_hit += first.limit_hit
            plan.skips_effort += first.skips_effort
            plan.skips_capacity += first.skips_capacity
            return
        plan.slot_replans_kept += 1
        limit = sol.limit_reached
        plan.limit_hit += int(limit)
        if limit:
            plan.skips_effort += skipped
        else:
            plan.skips_capacity += skipped
        self._add_routes(plan, gi, g, pts, slotted, sol, end_station, fleets)
