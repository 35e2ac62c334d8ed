"""Daily route planning: turn today's selection into truck routes with ``optimize.routing``.

A *collection group* is a set of categories collected by the same trucks: one category for
colour-coded dedicated fleets, several for multi-compartment co-collection.  Each day, for
each group, the selected points become optional stops (a large skip penalty for points that
must be visited, the overflow-risk penalty for optional ones), the stations that accept the
whole group become intermediate facilities (reloads), and the group's fleets become vehicle
types with shifts and a lunch break.  With ``routing.partition = "zone"`` each zone is
planned on its own with a share of the trucks (fixed crews per sector), which keeps every
call small enough for a daily budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

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
from optimize.routing.ortools_backend import OrToolsOptions
from simcity.garbage.config import City, Policy
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


@dataclass
class DayPlan:
    """All routes of one day, with what the planner dropped."""

    trucks: list[TruckPlan] = field(default_factory=list)
    planned_skips: int = 0
    calls: int = 0
    limit_hit: int = 0


@dataclass
class Timer:
    """Wall-clock seconds spent in the optimisers (for the speed benchmark; not a metric)."""

    routing_s: float = 0.0
    berths_s: float = 0.0
    routing_calls: int = 0
    berth_calls: int = 0


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


class Planner:
    """Builds and solves the routing problems of one run (one policy, one replication)."""

    def __init__(self, city: City, policy: Policy, layout: Layout, timer: Timer | None = None) -> None:
        self.city = city
        self.policy = policy
        self.layout = layout
        self.groups = collection_groups(city, policy, layout)
        self.counts = truck_counts(city, policy)
        self.timer = timer if timer is not None else Timer()
        self.depot_index = {d.id: i for i, d in enumerate(city.depots)}
        self.options = OrToolsOptions(
            first_solution=city.routing.first_solution, metaheuristic=city.routing.metaheuristic)

    def plan_day(self, day: int, sel: Selection, seed: int) -> DayPlan:
        """Routes for ``day`` given the selection; time origin of the plan is midnight of ``day``."""
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
            n_all = max(chosen.size, 1)
            for z, pts in enumerate(parts):
                if pts.size == 0:
                    continue
                fleets = [(f, per_fleet[f][z]) for f in g.fleets if per_fleet[f][z] > 0]
                if not fleets:
                    plan.planned_skips += int(req[pts].sum())
                    continue
                budget = max(self.city.routing.min_call_s,
                             self.city.routing.time_limit_s * pts.size / n_all)
                self._solve_part(plan, day, gi, g, pts, req, sel, fleets, budget, seed + 7919 * z)
        return plan

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

    def _solve_part(self, plan: DayPlan, day: int, gi: int, g: Group, pts: NDArray[np.int64],
                    req: NDArray[np.bool_], sel: Selection, fleets: list[tuple[int, int]],
                    budget: float, seed: int) -> None:
        city, lay = self.city, self.layout
        cats = list(g.cats)
        st_locs = [lay.station_loc[s] for s in g.stations]
        dep_ids = sorted({self.depot_index[city.fleets[f].depot] for f, _ in fleets})
        dep_locs = [lay.depot_loc[d] for d in dep_ids]
        locs = np.concatenate([pts, st_locs, dep_locs]).astype(int)
        dist, dur = matrices_from_coordinates(
            lay.xy[locs] * 1000.0, city.roads.speed_kmh / 3.6, detour=city.roads.detour)
        n = pts.size
        service = np.zeros(n)
        for c in cats:
            w = city.waste[c]
            service += np.where(lay.has_bin[c, pts], w.service_minutes * 60.0, 0.0)
        stops = []
        for i, p in enumerate(pts):
            demand = tuple(int(math.ceil(sel.expected_load[c, p] * 1000.0)) for c in cats)
            penalty = (city.routing.skip_penalty if req[p]
                       else max(float(sel.penalty[c, p]) for c in cats))
            stops.append(Stop(location=i, demand=demand, service_time=int(round(service[i])),
                              required=False, penalty=round(penalty, 2), name=f"point {p}"))
        facilities = [Facility(location=n + k, unload_time=int(round(city.stations[s].tip_minutes * 60)),
                               name=city.stations[s].id) for k, s in enumerate(g.stations)]
        vts = []
        end_station: list[int | None] = []
        speed = city.roads.speed_kmh
        for f, count in fleets:
            fl = city.fleets[f]
            keep = 1.0 - city.routing.load_margin
            cap = tuple(int(fl.capacity_t[fl.categories.index(lay.categories[c])] * 1000 * keep)
                        for c in cats)
            # a stop's predicted load above a compartment is clipped: the truck will reload mid-stop
            dep = n + len(st_locs) + dep_ids.index(self.depot_index[fl.depot])
            s0 = int(round(fl.shift_start_h * 3600))
            s1 = int(round((fl.shift_start_h + fl.shift_hours) * 3600))
            end = dep
            end_station.append(None)
            if city.routing.end_at == "station":
                home = lay.depot_loc[self.depot_index[fl.depot]]
                k = min(range(len(st_locs)), key=lambda k: lay.km(home, st_locs[k]))
                end = n + k
                end_station[-1] = g.stations[k]
                # the last tip and the drive home happen after the planned route
                tail_h = city.stations[g.stations[k]].tip_minutes / 60 + lay.km(st_locs[k], home) / speed
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
        caps = np.array([vt.capacity for vt in vts]).max(axis=0)
        stops = [Stop(location=s.location, demand=tuple(min(d, int(c)) for d, c in zip(s.demand, caps, strict=True)),
                      service_time=s.service_time, required=False, penalty=s.penalty, name=s.name)
                 for s in stops]
        # routes ending at a station tip their last load there (in the simulation)
        problem = Problem(dist, dur, stops, vts, facilities,
                          unload_before_return=city.routing.end_at == "depot",
                          name=f"day {day} group {gi}", coordinates=lay.xy[locs] * 1000.0)
        t0 = time.perf_counter()
        try:
            sol: Solution | None = solve(problem, time_limit=budget, seed=seed,
                                         backend=city.routing.backend, options=self.options
                                         if city.routing.backend == "ortools" else None)
        except InfeasibleProblemError:
            sol = None
        wall = time.perf_counter() - t0
        self.timer.routing_s += wall
        self.timer.routing_calls += 1
        plan.calls += 1
        if wall >= budget * 0.95:
            plan.limit_hit += 1
        if sol is None:
            # no route found in the budget: nothing is collected in this part today
            plan.planned_skips += int(req[pts].sum())
            return
        # optional stops the solver left out are its decision; count only must-visit points
        plan.planned_skips += sum(1 for i in sol.skipped if req[pts[i]])
        fleet_of_type = [f for f, _ in fleets]
        for r in sol.routes:
            legs = []
            for v in r.visits:
                if v.kind == "stop":
                    legs.append(Leg("stop", int(pts[v.index]), v.arrival / 3600.0))
                else:
                    legs.append(Leg("unload", g.stations[v.index], v.arrival / 3600.0))
            plan.trucks.append(TruckPlan(
                fleet=fleet_of_type[r.vehicle_type], group=gi, start_h=r.start_time / 3600.0,
                legs=tuple(legs), break_h=None if r.break_start is None else r.break_start / 3600.0,
                planned_km=r.distance / 1000.0, end_station=end_station[r.vehicle_type]))
