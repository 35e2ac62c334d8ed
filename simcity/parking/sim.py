"""The parking simulation: drivers choose, cruise, queue at gates, park, pay and leave (SimPy).

Structure of one run (:func:`simulate`):

1. :func:`~simcity.parking.layout.build_layout` turns the validated city and policy into flat
   arrays (:mod:`simcity.parking.layout`).
2. :func:`~simcity.parking.demand.draw_arrivals` draws every driver of the day up front from the
   named random streams (:mod:`simcity.parking.demand`); nothing a policy does changes these draws
   (common random numbers).
3. The SimPy run (:class:`_Run`): one arrival process walks through the day period by period
   (period = ``behaviour.update_minutes``).  At each period start it refreshes what drivers know
   (prices, last period's share of refused arrivals per facility) into a cost matrix and ranks the
   options of every driver arriving in the period in one vectorised step; then it starts one
   driver process per arrival.  A driver tries its options in order of preference, cruising
   between them, and is lost (or parks on the pavement) when its options are exhausted or cruising
   would exceed the maximum search time.  Entry and pay-at-exit gates are FIFO queues whose
   start of service is computed when a car joins them (fixed service times: no SimPy event is
   needed unless the car waits); berths are plain counters (a full facility refuses, nobody
   queues for a berth).
4. Statistics are time integrals of occupancy per facility, binned by hour, and per-session sums.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import simpy

from simcity.domain import RunContext
from simcity.parking.config import City, KerbTaken, Policy
from simcity.parking.demand import (
    RATIO_FLOOR,
    Arrivals,
    CostModel,
    demand_factors,
    draw_arrivals,
    pavement_costs,
)
from simcity.parking.layout import (
    INF,
    Layout,
    build_layout,
    capacity_changes,
    open_berth_hours,
    responsive_stay,
)
from simcity.rng import Streams

#: trace record kinds (see :class:`SimResult.trace`)
ARRIVE, PARK, LEAVE, LOST = "arrive", "park", "leave", "lost"
#: a driver who parks on the pavement (illegally), and one who does not come by car
ILLEGAL, OUTSIDE = "illegal", "outside"

Process = Generator[simpy.Event, Any, None]


@dataclass
class SimResult:
    """Raw outcome of one run; :mod:`simcity.parking.domain` turns it into metrics."""

    layout: Layout
    horizon: float
    warmup: float
    n_arrivals: int
    hour_area: np.ndarray  # (F, H) berth-hours occupied per hour bin
    hour_full: np.ndarray  # (F, H) hours with no free berth (while open) per hour bin
    hour_cap: np.ndarray  # (F, H) berth-hours open per hour bin
    hour_shift: np.ndarray  # (F, H) rate shift in force at the start of each hour
    arrivals_by_hour: np.ndarray  # (H,) drivers arriving per hour bin
    lost_by_hour: np.ndarray  # (H,)
    sessions: np.ndarray  # (F,) sessions of drivers arriving after warm-up
    revenue: np.ndarray  # (F,)
    tickets: np.ndarray  # (F,)
    stay_sum: np.ndarray  # (F,) hours
    walk_sum: np.ndarray  # (F,) metres
    entry_wait_sum: np.ndarray  # (F,) hours
    exit_wait_sum: np.ndarray  # (F,) hours
    exits: np.ndarray  # (F,) sessions that passed an exit gate
    counted: int  # drivers arriving after warm-up
    lost: int
    search_h: float  # summed over counted drivers
    cruise_m: float
    zone_ids: list[str]
    zone_counted: np.ndarray  # (Z,) drivers arriving after warm-up, by destination zone
    zone_lost: np.ndarray  # (Z,)
    zone_search_h: np.ndarray  # (Z,)
    trace: list[tuple[Any, ...]] | None = field(default=None)
    not_come: int = 0  # drivers of the reference demand who did not come by car (counted)
    attracted: int = 0  # drivers beyond the reference demand who came (counted)
    illegal: int = 0  # counted drivers who parked on the pavement
    pavement_tickets: int = 0


def _gates(city: City, lay: Layout) -> tuple[list[deque[float] | None], list[float], list[deque[float] | None],
                                              list[float]]:
    """Entry gates and pay-at-exit booths (None where there is none), with their service times in
    hours.  A gate is the times its lanes next fall free, earliest first (see :meth:`_Run.occupy`)."""
    entry: list[deque[float] | None] = []
    entry_h: list[float] = []
    exit_: list[deque[float] | None] = []
    exit_h: list[float] = []
    for k in range(len(lay.ids)):
        cp = city.car_parks[k] if not lay.is_kerb[k] else None
        has_in = cp is not None and cp.entry_gates > 0 and cp.entry_service_s > 0
        has_out = cp is not None and bool(lay.pay_at_exit[k]) and cp.exit_service_s > 0
        entry.append(_lanes(cp.entry_gates) if has_in and cp else None)
        entry_h.append(cp.entry_service_s / 3600.0 if has_in and cp else 0.0)
        exit_.append(_lanes(cp.exit_gates) if has_out and cp else None)
        exit_h.append(cp.exit_service_s / 3600.0 if has_out and cp else 0.0)
    return entry, entry_h, exit_, exit_h


def _lanes(n: int) -> deque[float]:
    """``n`` idle lanes: the times they fall free (all long past)."""
    return deque([-INF] * n, maxlen=n)


class _Driven:
    """Runs generator ``gen`` like a SimPy process: each event it yields resumes it (drivers only
    wait for timeouts, which always succeed).  A class, not a closure: a closure that appends
    itself would be a reference cycle, kept with its generator until the cyclic garbage collector
    runs (measured: 1,446 instead of 819 young collections in a Suzhou day, model time +60%)."""

    __slots__ = ("gen",)

    def __init__(self, gen: Process) -> None:
        self.gen = gen

    def __call__(self, _: simpy.Event | None = None) -> None:
        try:
            ev = self.gen.send(None)
        except StopIteration:
            return
        ev.callbacks.append(self)  # type: ignore[union-attr]


def _step_towards(now: float, t: float) -> float:
    """A delay ``d`` with ``now + d`` as close to ``t`` as possible but not beyond it.  ``now + (t -
    now)`` is ``t`` exactly when ``now >= t / 2`` (Sterbenz); otherwise it may miss ``t`` by an ulp,
    and a second step from just below ``t`` lands on it."""
    d = t - now
    while now + d > t:
        d = math.nextafter(d, -INF)
    return d


class _PrefixedStreams(Streams):
    """The streams of a replication under a name prefix: fresh days of the same replication
    (the learning phase of responsive pricing), independent of the evaluated day's streams."""

    __slots__ = ("prefix",)

    def __init__(self, base: Streams, prefix: str) -> None:
        super().__init__(base.seed, base.replication)
        self.prefix = prefix

    def __getitem__(self, name: str) -> np.random.Generator:
        return super().__getitem__(f"{self.prefix}/{name}")


def learn_band_prices(city: City, policy: Policy, ctx: RunContext,
                      kerb_taken: Sequence[KerbTaken] | None = None) -> np.ndarray:
    """SFpark as it was run: the learning phase of ``policy.responsive_pricing``.

    Prices start at the tariffs (shift 0).  In each learning period of ``period_days`` fresh
    simulated days (streams ``sfpark-day<n>/...``, each day a run of ``horizon_hours`` with its
    warm-up, prices fixed), the mean occupancy of every repriced facility in every time band is
    measured over the statistics window; then the band's shift moves one ``step_per_hour`` up
    (above ``high``), down (below ``low``) or stays, within [-max_decrease, +max_increase] and
    never below a zero rate.  Returns the final shifts per facility and hour of day, (F, 24).
    """
    rp = policy.responsive_pricing
    assert rp is not None and rp.learning_days > 0
    horizon_hours, warmup_hours = ctx.horizon_hours, ctx.warmup_hours
    band = np.asarray(rp.band_of_hour())
    B = int(band.max()) + 1
    lay = build_layout(city, policy, horizon_hours)
    F = len(lay.ids)
    min_rate = np.array([t.min_rate for t in lay.tariff_of])
    floor = -np.minimum(rp.max_decrease, min_rate)[:, None]
    prices = np.zeros((F, B))
    H = int(math.ceil(horizon_hours - 1e-9))
    hours = np.arange(H)
    stat = hours >= warmup_hours - 1e-9
    band_of_bin = band[hours % 24]
    day = 0
    for _ in range(rp.learning_days // rp.period_days):
        area = np.zeros((F, B))
        cap = np.zeros((F, B))
        for _ in range(rp.period_days):
            day_ctx = replace(ctx, streams=_PrefixedStreams(ctx.streams, f"sfpark-day{day}"))
            res = simulate(city, policy, day_ctx, band_shift=prices[:, band], kerb_taken=kerb_taken)
            day += 1
            for b in range(B):
                cols = stat & (band_of_bin == b)
                area[:, b] += res.hour_area[:, cols].sum(axis=1)
                cap[:, b] += res.hour_cap[:, cols].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            occ = np.where(cap > 0, area / np.maximum(cap, 1e-300), np.nan)
        step = np.where(occ > rp.high, rp.step_per_hour, np.where(occ < rp.low, -rp.step_per_hour, 0.0))
        new = np.clip(prices + step, floor, rp.max_increase)
        prices = np.where(lay.reprice[:, None], new, prices)
    return prices[:, band]


def simulate(
    city: City,
    policy: Policy,
    ctx: RunContext,
    *,
    arrivals: Arrivals | None = None,
    trace: bool = False,
    band_shift: np.ndarray | None = None,
    kerb_taken: Sequence[KerbTaken] | None = None,
) -> SimResult:
    """Run the parking model once.

    Parameters
    ----------
    city, policy:
        Validated configuration.
    ctx:
        The replication: simulated time from midnight (``horizon_hours``), the part of it
        excluded from statistics (``warmup_hours``), its random streams, and the factory of the
        SimPy environment (the benchmarks pass one that counts events); the same shape as
        every domain's ``simulate(city, policy, ctx)``.
    arrivals:
        Drivers to simulate instead of drawing them (for hand-checked traces).
    trace:
        Record every arrival, parking, departure and loss as ``(kind, driver, time, facility)``
        (facility -1 for arrivals and losses) in :attr:`SimResult.trace`.
    band_shift:
        Price shift of every facility in every hour of the day, shape (F, 24), fixed for the run.
        A policy whose responsive pricing has a learning phase gets it from
        :func:`learn_band_prices` when it is not given.
    kerb_taken:
        The kerb-taken table (rows of :class:`~simcity.parking.config.KerbTaken`: segment, slot of
        the day, metres) whose kerb parkers cannot use, every day of the run; default
        ``city.kerb_taken``.  The kerb planner (:mod:`simcity.parking.loading`) writes it; this
        model only reads it.  Cars already parked when a segment loses berths stay to the end
        of their stay; new arrivals are refused until the occupancy is below the berths left.
    """
    rp = policy.responsive_pricing
    if band_shift is None and rp is not None and rp.learning_days:
        band_shift = learn_band_prices(city, policy, ctx, kerb_taken)
    horizon_hours = ctx.horizon_hours
    lay = build_layout(city, policy, horizon_hours, kerb_taken)
    arr = arrivals if arrivals is not None else draw_arrivals(city, horizon_hours, ctx.streams, lay.opts.shape[1])
    return _Run(city, policy, lay, arr, horizon_hours, ctx.warmup_hours, ctx.environment(), trace, band_shift).run()


class _Run:
    """The state and the SimPy processes of one run.

    Per-facility state is kept in plain lists (cheapest per-event access); the hot processes
    (:meth:`driver`, :meth:`occupy`) bind what they use to locals once per driver.  Stages of the
    set-up: :meth:`_facility_state`, :meth:`_choice`, :meth:`_statistics`, :meth:`_responses`.
    """

    def __init__(self, city: City, policy: Policy, lay: Layout, arr: Arrivals, horizon_hours: float,
                 warmup_hours: float, env: simpy.Environment, trace: bool, band_shift: np.ndarray | None) -> None:
        self.city, self.policy, self.lay, self.arr = city, policy, lay, arr
        self.rp = policy.responsive_pricing
        self.horizon = horizon_hours
        self.warm = warmup_hours
        self.F = len(lay.ids)
        self.Z, self.K = lay.opts.shape
        self.N = len(arr)
        self.H = int(math.ceil(horizon_hours - 1e-9))
        self.env = env
        self.timeout = env.timeout  # bound once: it is called for nearly every event
        self.starting: list[Process] = []  # drivers that arrived in this step, not yet started
        self.log: list[tuple[Any, ...]] | None = [] if trace else None
        self._facility_state()
        self._choice()
        self._statistics(band_shift)
        self._responses()

    # ------------------------------------------------------------------ set-up stages
    def _facility_state(self) -> None:
        """Occupancy, capacity and the per-facility sums, gates, and the capacity in force at 0."""
        F, Z, H, lay = self.F, self.Z, self.H, self.lay
        self.occ = [0] * F
        self.cap_now = [0] * F
        self.close_at = [0.0] * F
        self.area = [0.0] * F
        self.full = [0.0] * F  # time with every open berth taken
        self.last = [0.0] * F
        self.attempts = [0] * F
        self.refused = [0] * F
        self.shift = [0.0] * F
        self.sessions = [0] * F
        self.revenue = [0.0] * F
        self.tickets = [0] * F
        self.stay_sum = [0.0] * F
        self.walk_sum = [0.0] * F
        self.entry_wait = [0.0] * F
        self.exit_wait = [0.0] * F
        self.exits = [0] * F
        self.acc = {"lost": 0, "search": 0.0, "cruise": 0.0, "illegal": 0, "ptickets": 0, "not_come": 0,
                    "attracted": 0}
        self.zone_lost = [0] * Z
        self.zone_search = [0.0] * Z
        self.lost_by_hour = np.zeros(max(H, 1), dtype=np.int64)
        self.charge_fn: list[Callable[[float, float], float]] = [t.charge for t in lay.tariff_of]
        self.max_stay = lay.max_stay.tolist()
        self.check_rate = self.city.enforcement.checks_per_hour * self.policy.enforcement_factor
        self.entry_gate, self.entry_h, self.exit_gate, self.exit_h = _gates(self.city, lay)
        # opening and closing: capacity varies by time of day
        changes = capacity_changes(lay)
        ci = 0
        while ci < len(changes) and changes[ci][0] <= 0.0:
            _, k, c, e = changes[ci]
            self.cap_now[k], self.close_at[k] = c, e
            ci += 1
        self.pending_changes = changes[ci:]

    def _choice(self) -> None:
        """What a driver's choice and search read: options, distances, the cost model."""
        beh, lay = self.city.behaviour, self.lay
        self.opts_l = lay.opts.tolist()
        self.walk_l = lay.walk_m.tolist()
        self.cruise_l = lay.cruise_m.tolist()
        self.cruise_speed = beh.cruise_speed_kmh * 1000.0  # m/h
        self.max_search = beh.max_search_minutes / 60.0
        self.costs = CostModel(self.city, lay, self.check_rate)
        self.theta = beh.logit_scale
        arr = self.arr
        self.times = arr.time.tolist()
        self.zones_l = arr.zone.tolist()
        self.dur_l = arr.duration.tolist()
        self.ticket_l = arr.ticket_u.tolist()
        self.purpose_l = arr.purpose.tolist()

    def _statistics(self, band_shift: np.ndarray | None) -> None:
        """Hour bins, information periods and the price reviews within the run."""
        F, H, lay, rp = self.F, self.H, self.lay, self.rp
        self.hour_area = np.zeros((F, max(H, 1)))
        self.hour_full = np.zeros((F, max(H, 1)))
        self.hour_shift = np.zeros((F, max(H, 1)))
        hour_edges = np.minimum(np.arange(max(H, 1) + 1, dtype=float), self.horizon)
        self.cap_area = open_berth_hours(lay, hour_edges)
        self.period = period = self.city.behaviour.update_minutes / 60.0
        self.n_periods = n_periods = int(math.ceil(self.horizon / period - 1e-9))
        self.period_edges = np.minimum(np.arange(n_periods + 1) * period, self.horizon)
        self.period_caps = open_berth_hours(lay, self.period_edges)
        self.bounds = np.searchsorted(self.arr.time, np.arange(n_periods + 1) * period, side="left")
        self.bounds[-1] = self.N
        # reviews within the run (without a learning phase); with one, prices follow band_shift
        self.review_every = int(round(rp.period_hours / period)) if rp is not None and band_shift is None else 0
        self.band_shift_l = band_shift.T.tolist() if band_shift is not None else None
        self.review_area = np.zeros(F)
        self.review_cap = np.zeros(F)
        self.shift_arr = np.zeros(F)
        self.prev_area = np.zeros(F)
        self.prev_full = np.zeros(F)

    def _responses(self) -> None:
        """Demand that responds to cost (an outside option), stays that respond to the marginal
        rate, pavement parking: each only when the city asks for it (otherwise nothing is drawn or
        computed for it and the run is exactly the model without it)."""
        city, arr, lay = self.city, self.arr, self.lay
        purposes = city.demand.purposes
        self.factors = demand_factors(city)
        self.elastic = bool((self.factors != 1.0).any())
        self.came = np.ones(self.N, dtype=bool)
        if self.elastic:
            if arr.outside_u is None:
                raise ValueError("arrivals: demand responds to cost, so outside_u is needed")
            # the reference: the city as configured (its tariffs, its kerbside enforcement, every
            # facility open in its public hours, institutions' lots included), no price shift
            ref_lay = build_layout(city, Policy.model_validate({"name": "reference", "open_shared_berths": True}),
                                   self.horizon)
            self.ref_costs = CostModel(city, ref_lay, city.enforcement.checks_per_hour)
            self.ref_caps = open_berth_hours(ref_lay, self.period_edges)
            self.price_e = np.array([p.price_elasticity for p in purposes])
        self.stay_e = [p.stay_elasticity for p in purposes]
        self.stay_any = any(self.stay_e)
        self.own_tariff = [lay.tariff_of[k] is lay.ref_tariff_of[k] for k in range(self.F)]
        self.pavement = city.pavement.disutility is not None
        self.Kc = self.K + 1 if self.pavement else self.K  # the pavement is option K
        self.ill_util: list[float] = []
        self.pav_l: list[float] = []
        self.pav_rate = city.pavement.checks_per_hour * self.policy.pavement_enforcement
        if self.pavement:
            if arr.illegal_g is None or arr.pavement_u is None:
                raise ValueError("arrivals: pavement parking is possible, so illegal_g and pavement_u are needed")
            ill_cost, _ = pavement_costs(city, self.pav_rate)
            # a driver for whom the pavement is worse than giving up never parks there
            ill_util_a = ill_cost[arr.purpose] - arr.illegal_g * city.pavement.spread
            self.ill_ok_a = ill_util_a < city.pavement.give_up_cost
            self.ill_util_a = np.where(self.ill_ok_a, ill_util_a, INF)
            self.ill_util = self.ill_util_a.tolist()
            self.pav_l = arr.pavement_u.tolist()

    # ------------------------------------------------------------------ the run
    def run(self) -> SimResult:
        self.env.process(self.capacity_process(self.pending_changes))
        self.env.process(self.arrival_process())
        self.env.run(until=self.horizon)
        self._close_last_period()
        return self._result()

    def _advance(self, k: int, now: float) -> None:
        """Bring facility ``k``'s occupancy integrals to ``now``."""
        self.area[k] += self.occ[k] * (now - self.last[k])
        if self.occ[k] >= self.cap_now[k] > 0:
            self.full[k] += now - self.last[k]
        self.last[k] = now

    def capacity_process(self, pending: list[tuple[float, int, int, float]]) -> Process:
        """Openings and closings: ``(time, facility, capacity, open until)`` in time order."""
        env = self.env
        for t, k, c, e in pending:
            if t >= self.horizon:
                return
            yield env.timeout(t - env.now)
            self._advance(k, env.now)
            self.cap_now[k] = c
            self.close_at[k] = e

    def flush_period(self, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Bring every occupancy integral to ``t1`` and return the berth-hours and the full
        hours since the last flush."""
        for k in range(self.F):
            self._advance(k, t1)
        a = np.asarray(self.area)
        got = a - self.prev_area
        self.prev_area[:] = a
        fu = np.asarray(self.full)
        got_full = fu - self.prev_full
        self.prev_full[:] = fu
        return got, got_full

    def _bin_period(self, tp: float, t1: float) -> np.ndarray:
        """Flush the period that started at ``tp`` into its hour bin; its berth-hours."""
        got, got_full = self.flush_period(t1)
        if self.H > 0:
            b = min(int(tp + 1e-9), self.H - 1)
            self.hour_area[:, b] += got
            self.hour_full[:, b] += got_full
        return got

    def _close_last_period(self) -> None:
        tp = (self.n_periods - 1) * self.period if self.n_periods > 0 else 0.0
        self._bin_period(tp, self.horizon)

    def refresh(self, q: int, t0: float) -> np.ndarray:
        """At the start of period ``q``: close period ``q - 1``'s statistics, review prices,
        and return the cost matrix drivers of period ``q`` see."""
        F, rp = self.F, self.rp
        shift_arr = self.shift_arr
        if q > 0:
            got = self._bin_period((q - 1) * self.period, t0)
            self.review_area = self.review_area + got
            self.review_cap = self.review_cap + self.period_caps[:, q - 1]
            if rp is not None and self.review_every and q % self.review_every == 0:
                with np.errstate(invalid="ignore", divide="ignore"):
                    o = np.where(self.review_cap > 0, self.review_area / np.maximum(self.review_cap, 1e-300), np.nan)
                step = np.where(o > rp.high, rp.step_per_hour, np.where(o < rp.low, -rp.step_per_hour, 0.0))
                new = np.clip(shift_arr + step, -np.minimum(rp.max_decrease, self.costs.min_rate), rp.max_increase)
                shift_arr[:] = np.where(self.lay.reprice, new, shift_arr)
                self.shift[:] = shift_arr.tolist()
                self.review_area = np.zeros(F)
                self.review_cap = np.zeros(F)
        att = np.asarray(self.attempts, dtype=float)
        share = np.where(att > 0, np.asarray(self.refused, dtype=float) / np.maximum(att, 1.0), 0.0)
        self.attempts[:] = [0] * F
        self.refused[:] = [0] * F
        if self.band_shift_l is not None:
            row = self.band_shift_l[int(t0 + 1e-9) % 24]
            self.shift[:] = row
            shift_arr[:] = row
        if int(t0) < self.H and abs(t0 - round(t0)) < 1e-9:
            self.hour_shift[:, int(round(t0))] = shift_arr
        # open at some time in the coming period (a driver arriving while it is closed skips it)
        return self.costs.matrix(shift_arr, share, self.period_caps[:, min(q, self.n_periods - 1)] > 0)

    def arrival_process(self) -> Process:
        """Walks through the day period by period: refreshes information, ranks the options of
        the period's drivers in one vectorised step and starts one driver each.

        A driver is a generator run by event callbacks (:meth:`_start_drivers`), not a SimPy
        process.  The drivers arriving in one step of this process are started when it next
        yields, just after it schedules its next event: where a SimPy process would be
        initialised (its first step runs after the step that started it, before any other event
        at that time), with the events the drivers schedule ordered after this process's next one.
        """
        env, arr, log, times = self.env, self.arr, self.log, self.times
        timeout = self.timeout
        starting = self.starting
        for q in range(self.n_periods):
            t0 = q * self.period
            if t0 > env.now:
                ev = env.timeout(t0 - env.now)
                if starting:
                    self._start_drivers()
                yield ev
            cost = self.refresh(q, t0)
            a, b = int(self.bounds[q]), int(self.bounds[q + 1])
            if b <= a:
                continue
            zi = arr.zone[a:b]
            pi = arr.purpose[a:b]
            rows = cost[zi, pi]  # (n, K)
            util = rows - arr.gumbel[a:b] / self.theta
            n_ok = np.isfinite(rows).sum(axis=1)
            if self.pavement:
                util = np.concatenate([util, self.ill_util_a[a:b, None]], axis=1)
                n_ok = n_ok + self.ill_ok_a[a:b]
            # one flat list per period (small ints are shared objects): a list per driver would
            # add 180,000 long-lived containers a day for the cyclic garbage collector to scan
            order = np.argsort(util, axis=1, kind="stable").ravel().tolist()
            nok = n_ok.tolist()
            if self.elastic:
                ref_cost = self.ref_costs.reference(self.ref_caps[:, q] > 0)
                come_l = self.decide_coming(a, b, ref_cost[zi, pi], pi, rows).tolist()
            for j in range(a, b):
                t = times[j]
                if self.elastic and not come_l[j - a]:
                    if log is not None:
                        log.append((ARRIVE, j, t, -1))
                        log.append((OUTSIDE, j, t, -1))
                    continue
                if t > env.now:
                    ev = timeout(t - env.now)
                    if starting:
                        self._start_drivers()
                    yield ev
                if log is not None:
                    log.append((ARRIVE, j, t, -1))
                starting.append(self.driver(j, t, self.zones_l[j], order, (j - a) * self.Kc, nok[j - a], self.dur_l[j]))
        self._start_drivers()

    def _start_drivers(self) -> None:
        """Run the first step of every driver waiting to start; each later step runs as the
        callback of the event the driver waits for.  This is what a SimPy process does, without
        the process's start and end events (two of a parked driver's four events)."""
        for gen in self.starting:
            _Driven(gen)()
        self.starting.clear()

    def decide_coming(self, a: int, b: int, ref: np.ndarray, pi: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Who of the potential drivers a..b-1 comes by car: the share (C / C_ref) ** e of the
        reference demand, where C is the cost of the driver's best option now (a driver with no
        usable option, or whose zone has no public option at all, comes as in the reference)."""
        arr, acc = self.arr, self.acc
        assert arr.outside_u is not None
        best = rows.min(axis=1)
        fin = np.isfinite(best) & np.isfinite(ref)  # a zone with no public option has no reference
        ratio = np.where(fin, np.maximum(best, RATIO_FLOOR), 1.0) / np.where(fin, ref, 1.0)
        share = ratio ** self.price_e[pi]
        u = arr.outside_u[a:b] * self.factors[pi]
        come = u < share
        member = u < 1.0
        late = arr.time[a:b] >= self.warm
        acc["not_come"] += int((member & ~come & late).sum())
        acc["attracted"] += int((come & ~member & late).sum())
        self.came[a:b] = come
        return come

    # ------------------------------------------------------------------ drivers
    def driver(self, i: int, t_arr: float, z: int, order: list[int], at: int, nok: int, d: float) -> Process:
        """Driver ``i`` tries its ``nok`` usable options ``order[at:at + nok]`` in turn, cruising
        between them, until one has a free berth; otherwise it parks on the pavement or is lost."""
        env, timeout, K = self.env, self.timeout, self.K
        close_at, occ, cap_now = self.close_at, self.occ, self.cap_now
        attempts, refused = self.attempts, self.refused
        cruise_speed, max_search = self.cruise_speed, self.max_search
        options = self.opts_l[z]
        cruise_row = self.cruise_l[z]
        searched = 0.0
        cruised = 0.0
        prev = -1
        for j in range(at, at + nok):
            k = order[j]
            if k == K:  # the pavement ranks above the remaining legal options
                self.pavement_parker(i, t_arr, z, d, searched, cruised)
                return
            f = options[k]
            now = env.now
            if now + d > close_at[f]:
                continue  # the driver knows the facility closes before it would leave
            if prev >= 0:
                leg = cruise_row[prev][k]
                dt = leg / cruise_speed
                if searched + dt > max_search:
                    break
                yield timeout(dt)
                searched += dt
                cruised += leg
                now = env.now
                if now + d > close_at[f]:  # it closed while the driver was on the way
                    prev = k
                    continue
            prev = k
            attempts[f] += 1
            if occ[f] >= cap_now[f]:
                refused[f] += 1
                continue
            yield from self.occupy(i, t_arr >= self.warm, z, k, f, now, d, searched, cruised)
            return
        # search failed: options exhausted, none usable, or the search budget spent
        if self.pavement and self.ill_util[i] < INF:
            self.pavement_parker(i, t_arr, z, d, searched, cruised)
        else:
            self.lost(i, t_arr, z, searched, cruised)

    def occupy(self, i: int, counted: bool, z: int, k: int, f: int, now: float, d: float, searched: float,
               cruised: float) -> Process:
        """Driver ``i`` reserves a berth of facility ``f`` (its option ``k``) at ``now``, passes the
        entry gate, stays, leaves and passes the pay-at-exit booth."""
        env, timeout, log = self.env, self.timeout, self.log
        area, last, occ, shift = self.area, self.last, self.occ, self.shift
        # park: reserve a berth (the occupancy integral is updated on every change)
        area[f] += occ[f] * (now - last[f])
        last[f] = now
        occ[f] += 1
        closes = self.close_at[f]
        if self.stay_any and (shift[f] or not self.own_tariff[f]):
            se = self.stay_e[self.purpose_l[i]]
            if se:
                d = responsive_stay(d, self.lay.tariff_of[f], shift[f], self.lay.ref_tariff_of[f], se)
        if log is not None:
            log.append((PARK, i, now, f))
        if counted:
            # a session counts from the moment its berth is reserved
            self.sessions[f] += 1
            self.walk_sum[f] += self.walk_l[z][k]
            if searched:
                self._add_search(z, searched, cruised)
        # Gates are FIFO queues of identical lanes with a fixed service time, so a car's start
        # of service is known when it joins the queue: the time the earliest lane falls free, or
        # now (the Lindley / Kiefer-Wolfowitz recursion).  Lanes free in the order they were
        # taken, so a gate is a deque of the times its lanes fall free, earliest first.  No SimPy
        # event is needed for a gate: a car waits (one timeout) only when every lane is busy, and
        # the exit booth is pure bookkeeping.  A car served at or after the horizon is never
        # served within the run (as a queued SimPy request would never be granted).
        g = self.entry_gate[f]
        if g is not None:
            entry_h = self.entry_h[f]
            free = g[0]
            start = free if free > now else now
            g.append(start + entry_h)
            if start >= self.horizon:
                return  # still queueing at the horizon: holds its berth, never enters
            if counted and start > now:
                self.entry_wait[f] += start - now
            # the berth is held from the gate to departure, which must not pass closing time
            hold = max(0.0, min(entry_h + d, closes - start))
            stay = max(0.0, hold - entry_h)
        else:
            start = now
            stay = min(d, closes - now)
            hold = stay
        if counted:
            # the charge is known at entry: the tariff (and price shift) in force then applies
            self.revenue[f] += self.charge_fn[f](stay, shift[f])
            self.stay_sum[f] += stay
            over = stay - self.max_stay[f]
            if over > 0 and self.ticket_l[i] < -math.expm1(-self.check_rate * over):
                self.tickets[f] += 1
        while env.now < start:  # wait at the entry gate until exactly ``start``
            yield timeout(_step_towards(env.now, start))
        yield timeout(hold)
        now = env.now
        self._advance(f, now)
        occ[f] -= 1
        if log is not None:
            log.append((LEAVE, i, now, f))
        g = self.exit_gate[f]
        if g is not None:
            free = g[0]
            start = free if free > now else now
            g.append(start + self.exit_h[f])
            if counted and start < self.horizon:
                if start > now:
                    self.exit_wait[f] += start - now
                self.exits[f] += 1

    def _add_search(self, z: int, searched: float, cruised: float) -> None:
        """Count a counted driver's search time and cruising distance (zone ``z``)."""
        self.acc["search"] += searched
        self.acc["cruise"] += cruised
        self.zone_search[z] += searched

    def pavement_parker(self, i: int, t_arr: float, z: int, d: float, searched: float, cruised: float) -> None:
        """Driver ``i`` parks on the pavement (no berth) for its intended stay, risking a ticket."""
        if self.log is not None:
            self.log.append((ILLEGAL, i, self.env.now, -1))
        if t_arr >= self.warm:
            acc = self.acc
            acc["illegal"] += 1
            self._add_search(z, searched, cruised)
            if self.pav_l[i] < -math.expm1(-self.pav_rate * d):
                acc["ptickets"] += 1

    def lost(self, i: int, t_arr: float, z: int, searched: float, cruised: float) -> None:
        """Driver ``i`` gives up: no usable option, options exhausted or the search budget spent."""
        if self.log is not None:
            self.log.append((LOST, i, self.env.now, -1))
        if t_arr >= self.warm:
            acc = self.acc
            acc["lost"] += 1
            self._add_search(z, searched, cruised)
            self.lost_by_hour[int(t_arr)] += 1
            self.zone_lost[z] += 1

    # ------------------------------------------------------------------ outcome
    def _result(self) -> SimResult:
        arr, H, Z, acc = self.arr, self.H, self.Z, self.acc
        t_came = arr.time[self.came]
        arrivals_by_hour = np.bincount(t_came.astype(np.int64).clip(0, max(H, 1) - 1), minlength=max(H, 1))
        late = (arr.time >= self.warm) & self.came
        return SimResult(
            layout=self.lay,
            horizon=self.horizon,
            warmup=self.warm,
            n_arrivals=self.N,
            hour_area=self.hour_area,
            hour_full=self.hour_full,
            hour_cap=self.cap_area,
            hour_shift=self.hour_shift,
            arrivals_by_hour=arrivals_by_hour,
            lost_by_hour=self.lost_by_hour,
            sessions=np.asarray(self.sessions, dtype=float),
            revenue=np.asarray(self.revenue),
            tickets=np.asarray(self.tickets, dtype=float),
            stay_sum=np.asarray(self.stay_sum),
            walk_sum=np.asarray(self.walk_sum),
            entry_wait_sum=np.asarray(self.entry_wait),
            exit_wait_sum=np.asarray(self.exit_wait),
            exits=np.asarray(self.exits, dtype=float),
            counted=int(late.sum()),
            lost=int(acc["lost"]),
            search_h=float(acc["search"]),
            cruise_m=float(acc["cruise"]),
            zone_ids=[zz.id for zz in self.city.zones],
            zone_counted=np.bincount(arr.zone[late], minlength=Z).astype(float),
            zone_lost=np.asarray(self.zone_lost, dtype=float),
            zone_search_h=np.asarray(self.zone_search),
            trace=self.log,
            not_come=int(acc["not_come"]),
            attracted=int(acc["attracted"]),
            illegal=int(acc["illegal"]),
            pavement_tickets=int(acc["ptickets"]),
        )
