"""The SimPy model of one replication: drops, daily planning, trucks, transfer stations.

Processes
---------
``drops``
    Every ``drop_step_minutes`` adds residents' waste to all bins at once (vectorised over
    points), only inside the policy's opening hours; what does not fit is overflow.  Each
    day's amount per bin is drawn at midnight from the ``generation`` stream, the same for
    every policy (common random numbers).
``planning``
    At the earliest shift start: the policy selects points, :class:`Planner` routes them,
    optionally ``optimize.berths`` schedules the tipping bays, and one truck process starts
    per route.
``truck``
    Drives its route with stochastic travel (``travel`` stream) and service (``service``
    stream) times; handles what the plan did not foresee: a full truck unloads at the
    nearest station and comes back, a truck running past its overtime limit drops its
    remaining stops, a station over its daily limit diverts the truck.

Mass balance: ``generated = in bins + overflow + on trucks + tipped`` at every instant.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from optimize.berths import Berth, BerthProblem, Request, SolverOptions
from optimize.berths import solve as solve_berths
from optimize.budget import Budget
from simcity.domain import RunContext
from simcity.garbage.config import City, Policy
from simcity.garbage.layout import FloatArray, Layout
from simcity.garbage.planning import DayPlan, Planner, Timer, TruckPlan
from simcity.garbage.policies import select
from simcity.garbage.stations import Booking, StationQueue, Unload, book_slots

Proc = Generator[simpy.Event, Any, None]


def step_shares(city: City, policy: Policy) -> FloatArray:
    """Share of a day's drops falling in each drop step, from the hourly pattern and opening hours."""
    minutes = np.arange(1440)
    open_ = np.zeros(1440, dtype=bool)
    for a, b in policy.opening_hours:
        open_ |= (minutes >= a * 60) & (minutes < b * 60)
    if not open_.any():
        raise ValueError(f"policy {policy.name!r}: opening_hours leave no minute open")
    w = np.asarray(city.pattern.hourly)[minutes // 60] * open_
    if w.sum() <= 0:
        # the pattern puts no drops in the open hours: spread them evenly over the open time
        w = open_.astype(float)
    n_steps = int(round(1440 / city.drop_step_minutes))
    edges = np.linspace(0, 1440, n_steps + 1).round().astype(int)
    cum = np.concatenate([[0.0], np.cumsum(w)])
    return np.diff(cum[edges]) / cum[-1]


@dataclass
class Tally:
    """Counters of the measured days (after warm-up)."""

    km: float = 0.0
    truck_hours: float = 0.0
    overtime_h: float = 0.0
    routes: int = 0
    late_returns: int = 0
    cost: float = 0.0
    co2_kg: float = 0.0
    unplanned_unloads: int = 0
    dropped_stops: int = 0
    planned_skips: int = 0
    #: required points left out while the routing search stopped at its effort limit
    skips_effort: int = 0
    routing_calls: int = 0
    #: routing problems equal to one planned earlier in the run (solved once)
    routing_repeats: int = 0
    #: routing calls whose search stopped at its effort limit, not at a local optimum
    routing_limit_hits: int = 0
    visits: int = 0
    diversions: int = 0
    overlimit_t: float = 0.0
    waits_h: list[float] = field(default_factory=list)
    fills: list[float] = field(default_factory=list)
    #: category index of each entry of ``fills``
    fill_cats: list[int] = field(default_factory=list)
    complaints: int = 0
    overflow_point_days: int = 0
    point_days: int = 0


class GarbageSim:
    """One replication of one policy; call :meth:`run` once."""

    def __init__(self, city: City, policy: Policy, ctx: RunContext, layout: Layout,
                 timer: Timer | None = None) -> None:
        self.city, self.policy, self.ctx, self.lay = city, policy, ctx, layout
        self.days = int(ctx.horizon_hours // 24 + 1e-9)
        if self.days < 1:
            raise ValueError("garbage model: horizon_hours must cover at least one day (24 h)")
        self.first_day = int(math.ceil(ctx.warmup_hours / 24 - 1e-9))
        if self.first_day >= self.days:
            raise ValueError("garbage model: warmup_hours leaves no day to measure")
        self.env = ctx.environment()
        self.timer = timer if timer is not None else Timer()
        self.planner = Planner(city, policy, layout, self.timer)
        C, n = layout.mean.shape
        self.C, self.n = C, n
        self.share = step_shares(city, policy)
        self.cum_share = np.concatenate([[0.0], np.cumsum(self.share)])
        wk = np.asarray(city.pattern.weekly)
        self.weekly = wk / wk.mean()
        self.cv = np.array([w.day_cv for w in city.waste])
        self.gen = ctx.streams["generation"]
        self.travel = ctx.streams["travel"]
        self.service = ctx.streams["service"]
        self.complaint_rng = ctx.streams["complaints"]
        # start part full so that the warm-up days reach a steady state quickly
        d0 = city.initial_days
        if city.initial_random:
            days0 = ctx.streams["initial"].random((C, n)) * 2 * d0
        else:
            days0 = np.full((C, n), d0)
        self.content = np.minimum(days0 * layout.mean, layout.cap)
        self.generated = self.content.sum(axis=1)
        self.overflow = np.zeros(C)
        self.on_trucks = np.zeros(C)
        self.tipped = np.zeros(C)
        self.tipped_by_station = np.zeros((len(city.stations), C))
        self.measured_tipped = np.zeros(C)
        self.measured_overflow = np.zeros(C)
        self.overflow_today = np.zeros((C, n), dtype=bool)
        self.today = np.zeros((C, n))
        self.station_today = np.zeros(len(city.stations))
        self.bays = [simpy.Resource(self.env, capacity=s.bays) for s in city.stations]
        self.bay_slots = [[simpy.PriorityResource(self.env, capacity=1) for _ in range(s.bays)]
                          for s in city.stations]
        self.bay_plan: dict[tuple[int, int], tuple[int, int]] = {}
        # stations with heterogeneous tipping bays queue by their own rules (stations.py)
        rule = "fcfs" if policy.bay_rule == "fcfs" else "slots"
        self.queues: list[StationQueue | None] = [
            StationQueue(self.env, st, rule, self.service_time) if st.tipping_bays is not None else None
            for st in city.stations]
        #: today's slot book per station with tipping bays (``None``: legacy station)
        self.bookings: list[Booking | None] = [None] * len(city.stations)
        #: unloads that asked for a slot on the measured days, and those that got none
        self.slot_requests = [0] * len(city.stations)
        self.slot_unbooked = [0] * len(city.stations)
        #: every final slot book: (station, day, its unloads, the booking), for checks
        self.slot_books: list[tuple[int, int, list[Unload], Booking]] = []
        self.station_waits: list[list[float]] = [[] for _ in city.stations]
        self.tally = Tally()
        self.active_trucks = 0
        self.hour_fill = np.zeros(24)
        self.hour_trucks = np.zeros(24)
        self.hour_samples = np.zeros(24)
        #: measured days on which each point overflowed (any category), for the map
        self.point_overflow_days = np.zeros(n, dtype=np.int64)
        #: (truck, clock h, location) of every arrival on the first measured day, for the map
        self.route_trace: list[tuple[str, float, int]] = []
        self.plan_h = min(f.shift_start_h for f in city.fleets)
        self.half_shift_h = float(np.mean([f.shift_hours for f in city.fleets])) / 2
        self.round_h = max(f.shift_start_h + f.shift_hours for f in city.fleets) - self.plan_h
        self._truck_serial = 0
        #: the plan of every day (routing health per day, for the results)
        self.day_plans: list[DayPlan] = []

    # ------------------------------------------------------------------ helpers
    def measured(self, day: int) -> bool:
        return day >= self.first_day

    def expected_fraction(self, t0: float, t1: float) -> float:
        """Expected drops between absolute times ``t0`` and ``t1`` (h), in days of mean generation."""
        total = 0.0
        steps = len(self.share)
        d0, d1 = int(t0 // 24), int(math.ceil(t1 / 24))
        for d in range(d0, d1):
            a = min(max(t0 - 24 * d, 0.0), 24.0)
            b = min(max(t1 - 24 * d, 0.0), 24.0)
            ka, kb = a / 24 * steps, b / 24 * steps
            frac = np.interp([ka, kb], np.arange(steps + 1), self.cum_share)
            total += self.weekly[d % 7] * float(frac[1] - frac[0])
        return total

    def nearest_station(self, loc: int, cats: tuple[int, ...]) -> int:
        names = {self.lay.categories[c] for c in cats}
        best, best_km = -1, math.inf
        for s, st in enumerate(self.city.stations):
            if names <= set(st.categories):
                km = self.lay.km(loc, self.lay.station_loc[s], self.env.now)
                if km < best_km:
                    best, best_km = s, km
        return best

    def balance(self) -> tuple[float, float]:
        """(generated, in bins + overflow + on trucks + tipped), in tonnes; equal up to rounding."""
        return float(self.generated.sum()), float(
            self.content.sum() + self.overflow.sum() + self.on_trucks.sum() + self.tipped.sum())

    # ------------------------------------------------------------------ processes
    def drops(self) -> Proc:
        env, lay = self.env, self.lay
        steps = len(self.share)
        shape = np.where(self.cv > 0, 1.0 / np.maximum(self.cv, 1e-12) ** 2, 0.0)
        for d in range(self.days):
            mean = lay.mean * self.weekly[d % 7]
            amount = mean.copy()
            for c in range(self.C):
                if self.cv[c] > 0:
                    amount[c] = self.gen.gamma(shape[c], mean[c] / shape[c])
            self.overflow_today[:] = False
            self.station_today[:] = 0.0
            for k in range(steps):
                t = 24.0 * d + 24.0 * k / steps
                if t > env.now:
                    yield env.timeout(t - env.now)
                if self.share[k] > 0:
                    add = amount * self.share[k]
                    self.generated += add.sum(axis=1)
                    c2 = self.content + add
                    over = c2 - lay.cap
                    # below a milligram is rounding noise of a bin filled exactly to the brim
                    spill = over > 1e-9
                    over = np.where(spill, over, 0.0)
                    self.content = c2 - over
                    self.overflow_today |= spill
                    o = over.sum(axis=1)
                    self.overflow += o
                    if self.measured(d):
                        self.measured_overflow += o
                hour = int(24 * k / steps)
                if self.measured(d) and 24 * k % steps == 0:
                    with np.errstate(invalid="ignore", divide="ignore"):
                        fill = self.content[lay.has_bin] / lay.cap[lay.has_bin]
                    self.hour_fill[hour] += float(fill.mean())
                    self.hour_trucks[hour] += self.active_trucks
                    self.hour_samples[hour] += 1
            # overflow only changes at drop steps: the day's tally can close after its last step
            if self.measured(d):
                self.point_overflow_days += (self.overflow_today & lay.has_bin).any(axis=0)
                k = int((self.overflow_today & lay.has_bin).sum())
                self.tally.overflow_point_days += k
                self.tally.point_days += int(lay.has_bin.sum())
                self.tally.complaints += int(self.complaint_rng.binomial(k, self.city.complaint_probability))

    def planning(self) -> Proc:
        env = self.env
        for d in range(self.days):
            t = 24.0 * d + self.plan_h
            if t > env.now:
                yield env.timeout(t - env.now)
            now = env.now
            to_visit = self.lay.mean * self.expected_fraction(now, now + self.half_shift_h)
            # a point not visited today may be reached as late as the end of tomorrow's shift
            next_round = self.lay.mean * self.expected_fraction(now, now + 24.0 + self.round_h)
            sel = select(self.city, self.policy, self.lay, d, self.content.copy(), to_visit, next_round)
            plan = self.planner.plan_day(d, sel)
            if self.policy.bay_rule != "fcfs":
                plan = self.book_day(d, sel, plan)
            self.day_plans.append(plan)
            if self.measured(d):
                self.tally.planned_skips += plan.planned_skips
                self.tally.skips_effort += plan.skips_effort
                self.tally.routing_calls += plan.calls
                self.tally.routing_repeats += plan.repeats
                self.tally.routing_limit_hits += plan.limit_hit
            for tp in plan.trucks:
                self._truck_serial += 1
                env.process(self.truck(d, tp, self._truck_serial))

    def _unloads(self, day: int, plan: DayPlan) -> dict[int, list[Unload]]:
        """The day's planned unloads at stations with tipping bays, by station."""
        serial0 = self._truck_serial
        out: dict[int, list[Unload]] = {}
        self._break_late: dict[tuple[int, int], float] = {}
        for i, tp in enumerate(plan.trucks):
            fleet = self.city.fleets[tp.fleet].id
            cats = tuple(self.lay.categories[c] for c in self.planner.groups[tp.group].cats)
            fl = self.city.fleets[tp.fleet]
            # routes planned without the break (plan_breaks = false) reach the station a
            # break later once the truck has taken it (before the first leg after break_at)
            brk_at = fl.shift_start_h + fl.break_window_h[0] if tp.break_h is None else math.inf
            for j, leg in enumerate(tp.legs):
                if leg.kind == "unload" and self.queues[leg.target] is not None:
                    late = fl.break_minutes / 60 if leg.planned_h > brk_at else 0.0
                    arrival = int(round((24 * day + leg.planned_h + late) * 60))
                    self._break_late[(serial0 + i + 1, j)] = late * 60
                    out.setdefault(leg.target, []).append(Unload((serial0 + i + 1, j), fleet, cats, arrival))
        return out

    def _book(self, day: int, plan: DayPlan, final: bool = True) -> None:
        """Appointment slots for the planned unloads at every station with tipping bays
        (``final``: the book the trucks keep, counted on measured days)."""
        unloads = self._unloads(day, plan)
        for s, q in enumerate(self.queues):
            if q is None:
                continue
            t0 = time.perf_counter()
            booking = book_slots(self.city.stations[s], unloads.get(s, []), day, seed=self.city.routing.seed)
            self.bookings[s] = booking
            self.timer.berths_s += time.perf_counter() - t0
            self.timer.berth_calls += 1
            if final:
                self.slot_books.append((s, day, unloads.get(s, []), booking))
            if final and self.measured(day):
                self.slot_requests[s] += len(unloads.get(s, []))
                self.slot_unbooked[s] += len(booking.unbooked)

    def book_day(self, day: int, sel: Any, plan: DayPlan) -> DayPlan:
        """Plan the bays of the day (policies ``planned`` and ``routed``); returns the plan the
        trucks drive.  ``routed``: the slots booked on the first plan become station time
        windows of a second routing (:meth:`Planner.replan_with_slots`), and the slots are
        booked again on its arrivals."""
        routed = self.policy.bay_rule == "routed"
        self._book(day, plan, final=not routed)
        if routed:
            windows = self._slot_windows(day, plan)
            plan = self.planner.replan_with_slots(day, sel, plan, windows)
            self._book(day, plan)
        if any(st.tipping_bays is None for st in self.city.stations):
            self.plan_bays(day, plan)
        return plan

    def _slot_windows(self, day: int, plan: DayPlan) -> dict[int, dict[int, list[tuple[int, int]]]]:
        """For each planned truck (index in ``plan.trucks``), per station, the time windows
        (seconds from midnight of ``day``) its routing must reach the station in: each slot
        start minus the weighing time, ± ``appointments.window_minutes``."""
        out: dict[int, dict[int, list[tuple[int, int]]]] = {}
        serial0 = self._truck_serial
        for s, b in enumerate(self.bookings):
            if b is None:
                continue
            st = self.city.stations[s]
            w = st.appointments.window_minutes
            weigh = 0.0 if st.weighbridge is None else st.weighbridge.minutes
            for key, slot in b.slots.items():
                truck = key[0]
                # back to the plan's clock (the routing knows neither weighing nor the break)
                at = (slot.start_min - 1440 * day - weigh - self._break_late.get(key, 0.0)) * 60
                out.setdefault(truck - serial0 - 1, {}).setdefault(s, []).append(
                    (max(0, int(at - w * 60)), int(at + w * 60)))
        return out

    def plan_bays(self, day: int, plan: DayPlan) -> None:
        """Schedule the planned unloads of the day on the bays with ``optimize.berths``
        (stations without ``tipping_bays``: identical bays, one priority queue each)."""
        self.bay_plan = {}
        serial0 = self._truck_serial
        by_station: dict[int, list[tuple[int, int, int]]] = {}
        for i, tp in enumerate(plan.trucks):
            for j, leg in enumerate(tp.legs):
                if leg.kind == "unload" and self.city.stations[leg.target].tipping_bays is None:
                    arrival = int(round((24 * day + leg.planned_h) * 60))
                    by_station.setdefault(leg.target, []).append((serial0 + i + 1, j, arrival))
        for s, reqs in by_station.items():
            st = self.city.stations[s]
            tip = max(1, int(round(st.tip_minutes)))
            berths = tuple(Berth(id=f"bay{k}") for k in range(st.bays))
            problem = BerthProblem(berths=berths, requests=tuple(
                Request(id=f"{t}:{j}", arrival=a, handling={b.id: tip for b in berths})
                for t, j, a in reqs))
            t0 = time.perf_counter()
            # a work budget (deterministic seconds, one worker; 0 = the warm start alone):
            # the schedule, and so the run, does not depend on the machine
            effort = self.city.routing.bay_effort
            res = solve_berths(problem, seed=self.city.routing.seed,
                               budget=Budget.work(effort if effort > 0 else 1.0),
                               options=SolverOptions(final_search=effort > 0))
            self.timer.berths_s += time.perf_counter() - t0
            self.timer.berth_calls += 1
            for a in res.schedule:
                truck_id, leg_no = (int(x) for x in a.request.split(":"))
                self.bay_plan[(truck_id, leg_no)] = (int((a.berth or "bay0")[3:]), a.start)

    def drive(self, a: int, b: int, speed: float, trace: str | None = None) -> Generator[simpy.Event, Any, float]:
        """Drive from location ``a`` to ``b``; returns the km driven.  On the street network
        the trip takes the distance and time of the period of the hour it starts."""
        lay, now = self.lay, self.env.now
        km = lay.km(a, b, now)
        if km > 0:
            f = self._travel_factor()
            if lay.road_h is None:
                yield self.env.timeout(km / speed * f)
            else:
                yield self.env.timeout(lay.drive_h(a, b, now, speed) * f)
        if trace is not None:
            self.route_trace.append((trace, self.env.now, b))
        return km

    def _travel_factor(self) -> float:
        """A leg's multiplier of its driving time: lognormal, mean 1, ``roads.travel_cv``."""
        cv = self.city.roads.travel_cv
        f = 1.0
        if cv > 0:
            s2 = math.log1p(cv * cv)
            f = float(self.travel.lognormal(-s2 / 2, math.sqrt(s2)))
        return f

    def service_time(self, mean_h: float) -> float:
        cv = self.city.roads.service_cv
        if cv <= 0 or mean_h <= 0:
            return mean_h
        k = 1.0 / (cv * cv)
        return float(self.service.gamma(k, mean_h / k))

    def tip(self, s: int, cats: tuple[int, ...], load: FloatArray, day: int, key: tuple[int, int] | None,
            loc: int, speed: float, fleet: str = "") -> Generator[simpy.Event, Any, tuple[int, float]]:
        """Unload at station ``s`` (or a diversion); returns (station used, km driven to divert)."""
        city, env = self.city, self.env
        total = float(load.sum())
        km = 0.0
        st = city.stations[s]
        if self.station_today[s] + total > st.daily_limit_t:
            names = {self.lay.categories[c] for c in cats}
            alts = [a for a, x in enumerate(city.stations) if a != s and names <= set(x.categories)
                    and self.station_today[a] + total <= x.daily_limit_t]
            if alts:
                a = min(alts, key=lambda a: self.lay.km(loc, self.lay.station_loc[a], env.now))
                km = yield from self.drive(loc, self.lay.station_loc[a], speed)
                s, st, key = a, city.stations[a], None
                if self.measured(day):
                    self.tally.diversions += 1
            elif self.measured(day):
                self.tally.overlimit_t += total
        arrived = env.now
        q = self.queues[s]
        if q is not None:
            booking = self.bookings[s]
            slot = booking.slots.get(key) if booking is not None and key is not None else None
            wait, _ = yield from q.visit(fleet, [self.lay.categories[c] for c in cats], slot, self.measured(day))
            self._account_tip(s, wait, cats, load, day)
        elif self.policy.bay_rule != "fcfs":
            if key is not None and key in self.bay_plan:
                bay, prio = self.bay_plan[key]
            else:
                slots = self.bay_slots[s]
                bay = min(range(len(slots)), key=lambda k: len(slots[k].queue) + slots[k].count)
                prio = int(env.now * 60)
            with self.bay_slots[s][bay].request(priority=prio) as req:
                yield req
                yield from self._tip_service(s, st.tip_minutes, arrived, cats, load, day)
        else:
            with self.bays[s].request() as req:
                yield req
                yield from self._tip_service(s, st.tip_minutes, arrived, cats, load, day)
        return s, km

    def _tip_service(self, s: int, tip_minutes: float, arrived: float, cats: tuple[int, ...],
                     load: FloatArray, day: int) -> Proc:
        wait = self.env.now - arrived
        yield self.env.timeout(self.service_time(tip_minutes / 60))
        self._account_tip(s, wait, cats, load, day)

    def _account_tip(self, s: int, wait: float, cats: tuple[int, ...], load: FloatArray, day: int) -> None:
        """Move a tipped load from the truck to station ``s`` and record the wait (h)."""
        for j, c in enumerate(cats):
            self.on_trucks[c] -= load[j]
            self.tipped[c] += load[j]
            self.tipped_by_station[s, c] += load[j]
            if self.measured(day):
                self.measured_tipped[c] += load[j]
        self.station_today[s] += float(load.sum())
        if self.measured(day):
            self.tally.waits_h.append(wait)
            self.station_waits[s].append(wait)
        load[:] = 0.0

    def truck(self, day: int, tp: TruckPlan, serial: int) -> Proc:
        env, lay, city = self.env, self.lay, self.city
        fl = city.fleets[tp.fleet]
        cats = self.planner.groups[tp.group].cats
        cap = np.array([fl.capacity_t[fl.categories.index(lay.categories[c])] for c in cats])
        speed = city.roads.speed_kmh
        load = np.zeros(len(cats))
        depot = lay.depot_loc[self.planner.depot_index[fl.depot]]
        start = 24.0 * day + tp.start_h
        if start > env.now:
            yield env.timeout(start - env.now)
        t_start = env.now
        self.active_trucks += 1
        shift_end = 24.0 * day + fl.shift_start_h + fl.shift_hours
        hard_end = shift_end + fl.max_overtime_h
        brk_h = fl.break_minutes / 60
        break_at = None
        if brk_h > 0:
            break_at = 24.0 * day + (tp.break_h if tp.break_h is not None
                                     else fl.shift_start_h + fl.break_window_h[0])
        loc, km = depot, 0.0
        tr = f"{fl.id}-{serial}" if day == self.first_day else None
        if tr is not None:
            self.route_trace.append((tr, env.now, depot))
        svc_h = np.array([city.waste[c].service_minutes / 60 for c in cats])
        tally = self.tally if self.measured(day) else Tally()
        for j, leg in enumerate(tp.legs):
            if break_at is not None and env.now >= break_at:
                yield env.timeout(brk_h)
                break_at = None
            if leg.kind == "unload":
                if load.sum() <= 0:
                    continue
                st_loc = lay.station_loc[leg.target]
                km += yield from self.drive(loc, st_loc, speed, trace=tr)
                s, extra = yield from self.tip(leg.target, cats, load, day, (serial, j), st_loc, speed, fl.id)
                km += extra
                loc = lay.station_loc[s]
                continue
            p = leg.target
            # late: if finishing this stop would push the return past the overtime limit, drop it
            s_near = self.nearest_station(p, cats)
            st_near = lay.station_loc[s_near]
            if lay.road_h is None:
                back_h = (lay.km(loc, p) + lay.km(p, st_near) + lay.km(st_near, depot)) / speed
            else:
                now = env.now
                back_h = (lay.drive_h(loc, p, now, speed) + lay.drive_h(p, st_near, now, speed)
                          + lay.drive_h(st_near, depot, now, speed))
            if env.now + back_h + city.stations[s_near].tip_minutes / 60 > hard_end:
                tally.dropped_stops += 1
                continue
            km += yield from self.drive(loc, p, speed, trace=tr)
            loc = p
            has = lay.has_bin[list(cats), p]
            yield env.timeout(self.service_time(float((svc_h * has).sum())))
            for jj, c in enumerate(cats):
                if has[jj]:
                    tally.fills.append(float(self.content[c, p] / lay.cap[c, p]))
                    tally.fill_cats.append(c)
            tally.visits += 1
            while True:
                take = np.minimum(self.content[list(cats), p], cap - load)
                load += take
                for jj, c in enumerate(cats):
                    self.content[c, p] -= take[jj]
                    self.on_trucks[c] += take[jj]
                if not (self.content[list(cats), p] > 1e-9).any():
                    break
                # the truck is full before the bins are empty: unload now and come back
                tally.unplanned_unloads += 1
                s = self.nearest_station(p, cats)
                km += yield from self.drive(loc, lay.station_loc[s], speed, trace=tr)
                s, extra = yield from self.tip(s, cats, load, day, None, lay.station_loc[s], speed, fl.id)
                km += extra
                km += yield from self.drive(lay.station_loc[s], p, speed, trace=tr)
        if load.sum() > 0:
            s = tp.end_station if tp.end_station is not None else self.nearest_station(loc, cats)
            km += yield from self.drive(loc, lay.station_loc[s], speed, trace=tr)
            s, extra = yield from self.tip(s, cats, load, day, None, lay.station_loc[s], speed, fl.id)
            km += extra
            loc = lay.station_loc[s]
        km += yield from self.drive(loc, depot, speed, trace=tr)
        if break_at is not None and env.now >= break_at:
            yield env.timeout(brk_h)
        self.active_trucks -= 1
        hours = env.now - t_start
        over = max(0.0, env.now - shift_end)
        tally.km += km
        tally.truck_hours += hours
        tally.overtime_h += over
        tally.routes += 1
        tally.late_returns += int(over > 1e-9)
        tally.cost += fl.cost_per_day + fl.cost_per_km * km + fl.cost_per_hour * hours
        tally.co2_kg += fl.co2_kg_per_km * km

    def run(self) -> None:
        self.env.process(self.drops())
        self.env.process(self.planning())
        self.env.run(until=24.0 * self.days)
