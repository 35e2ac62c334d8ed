"""The parking simulation: drivers choose, cruise, queue at gates, park, pay and leave (SimPy).

Structure of one run (:func:`simulate`):

1. :func:`build_layout` turns the validated :class:`~simcity.parking.config.City` and
   :class:`~simcity.parking.config.Policy` into flat arrays (facilities, choice sets, walking and
   cruising distances, opening intervals).  Choice sets depend on geometry only, never on the
   policy, so that random draws line up across policies.
2. :func:`draw_arrivals` draws every driver of the day up front from the named random streams:
   arrival times of the time-varying Poisson process (exact for a piecewise-constant hourly rate:
   a Poisson count per hour and zone, uniform times within the hour), intended durations (inverse
   CDF of one uniform per driver), Gumbel taste shocks for the logit choice, and the uniform that
   decides a kerbside ticket.  Nothing a policy does changes these draws (common random numbers).
3. The SimPy run: one arrival process walks through the day period by period (period =
   ``behaviour.update_minutes``).  At each period start it refreshes what drivers know (prices,
   last period's share of refused arrivals per facility) into a cost matrix and ranks the options
   of every driver arriving in the period in one vectorised step; then it starts one driver
   process per arrival.  A driver tries its options in order of preference, cruising between
   them, and is lost when its options are exhausted or cruising would exceed the maximum search
   time.  Entry and pay-at-exit gates are SimPy resources (they model queues); berths are plain
   counters (a full facility refuses, nobody queues for a berth).
4. Statistics are time integrals of occupancy per facility, binned by hour, and per-session sums.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import simpy
from scipy.spatial import cKDTree
from scipy.special import ndtr, ndtri

from simcity.parking.config import City, Duration, Policy, Tariff, check_policy
from simcity.rng import Streams

INF = math.inf

#: trace record kinds (see :class:`SimResult.trace`)
ARRIVE, PARK, LEAVE, LOST = "arrive", "park", "leave", "lost"
#: a driver who parks on the pavement (illegally), and one who does not come by car
ILLEGAL, OUTSIDE = "illegal", "outside"
#: money amounts below this (yuan, yuan/h) count as this in the cost and rate ratios of the
#: elasticities (the ratio to a free option is undefined)
RATIO_FLOOR = 1.0


# --------------------------------------------------------------------------- tariffs
#: billing units per tariff whose base charge is tabulated (longer stays are computed)
_TABLE_UNITS = 200


@dataclass(frozen=True)
class TariffCalc:
    """A tariff compiled for fast evaluation; ``shift`` is added to every band's hourly rate."""

    free_h: float
    unit_h: float
    bands: tuple[tuple[float, float, float], ...]  # (from_h, to_h, rate)
    cap: float
    min_rate: float
    #: uncapped, unshifted charge for 0, 1, 2, ... billing units (a lookup per session)
    table: tuple[float, ...] = ()

    @classmethod
    def of(cls, t: Tariff) -> TariffCalc:
        bands = []
        lo = 0.0
        for tier in t.tiers:
            hi = INF if tier.up_to_hours is None else tier.up_to_hours
            bands.append((lo, hi, tier.rate_per_hour))
            lo = hi
        calc = cls(
            free_h=t.free_minutes / 60.0,
            unit_h=t.billing_minutes / 60.0,
            bands=tuple(bands),
            cap=INF if t.daily_cap is None else t.daily_cap,
            min_rate=min(b[2] for b in bands),
        )
        table = tuple(calc._banded(n * calc.unit_h) for n in range(_TABLE_UNITS))
        return cls(calc.free_h, calc.unit_h, calc.bands, calc.cap, calc.min_rate, table)

    def _banded(self, billed_h: float) -> float:
        total = 0.0
        for lo, hi, rate in self.bands:
            if billed_h <= lo:
                break
            total += rate * (min(billed_h, hi) - lo)
        return total

    def units(self, stay_h: float) -> int:
        """Billing units charged: started units count in full, none within the grace period."""
        if stay_h <= self.free_h:
            return 0
        return math.ceil(stay_h / self.unit_h - 1e-9)

    def billable(self, stay_h: float) -> float:
        """Billed hours."""
        return self.units(stay_h) * self.unit_h

    def charge(self, stay_h: float, shift: float = 0.0) -> float:
        """Charge for a stay of ``stay_h`` hours with every band's rate raised by ``shift``."""
        n = self.units(stay_h)
        if n == 0:
            return 0.0
        base = self.table[n] if n < len(self.table) else self._banded(n * self.unit_h)
        return min(base + shift * n * self.unit_h, self.cap)

    def rate_at(self, t_h: float) -> float:
        """Hourly rate of the band in force ``t_h`` hours into a stay (unshifted)."""
        for _lo, hi, rate in self.bands:
            if t_h < hi:
                return rate
        return self.bands[-1][2]


def responsive_stay(d: float, tariff: TariffCalc, shift: float, ref: TariffCalc, elasticity: float) -> float:
    """Stay of a driver who intended ``d`` hours under the reference tariff ``ref`` when
    ``tariff`` (every band raised by ``shift``) is in force.

    The intention is spent at the rate w(t) = (r(t) / r_ref(t)) ** -elasticity per hour of stay,
    where r and r_ref are the marginal hourly rates t hours into the stay (at least
    :data:`RATIO_FLOOR`): a dearer hour than the reference shortens the rest of the stay by the
    elasticity, a cheaper one lengthens it, equal rates leave it as intended.  The stay T solves
    the integral of w over [0, T] = d.  Grace periods, billing units and caps are ignored here.
    """
    cuts = sorted({lo for lo, _, _ in tariff.bands} | {lo for lo, _, _ in ref.bands})
    spent = 0.0
    for a, b in zip(cuts, [*cuts[1:], INF], strict=True):
        w = (max(tariff.rate_at(a) + shift, RATIO_FLOOR) / max(ref.rate_at(a), RATIO_FLOOR)) ** -elasticity
        if spent + w * (b - a) >= d:
            return a + (d - spent) / w
        spent += w * (b - a)
    return d  # not reached: the last segment is open-ended


# --------------------------------------------------------------------------- durations
def duration_quantile(dist: Duration, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of the duration distribution at uniforms ``u`` (hours)."""
    if dist.kind == "exponential":
        return -dist.mean_hours * np.log1p(-u)
    if dist.kind == "fixed":
        return np.full_like(u, dist.mean_hours)
    s2 = math.log1p(dist.cv**2)
    mu = math.log(dist.mean_hours) - s2 / 2.0
    return np.exp(mu + math.sqrt(s2) * ndtri(u))


def expected_excess(dist: Duration, m: float) -> float:
    """E[(D - m)+]: expected overstay beyond a maximum stay ``m`` (hours)."""
    mean = dist.mean_hours
    if dist.kind == "exponential":
        return mean * math.exp(-m / mean)
    if dist.kind == "fixed":
        return max(0.0, mean - m)
    s = math.sqrt(math.log1p(dist.cv**2))
    mu = math.log(mean) - s * s / 2.0
    d1 = (mu + s * s - math.log(m)) / s
    return float(mean * ndtr(d1) - m * ndtr(d1 - s))


# --------------------------------------------------------------------------- layout
@dataclass
class Layout:
    """Flat, index-based view of the city under one policy (built once per run)."""

    ids: list[str]
    is_kerb: np.ndarray  # bool (F,)
    is_shared: np.ndarray  # bool (F,)
    berths: np.ndarray  # int (F,) including the policy's added berths
    tariff_of: list[TariffCalc]  # per facility, after policy overrides
    pay_at_exit: np.ndarray  # bool (F,)
    max_stay: np.ndarray  # float (F,), inf for car parks
    intervals: list[list[tuple[float, float]]]  # absolute open intervals per facility
    opts: np.ndarray  # int (Z, K) facility index per option, -1 = padding
    walk_m: np.ndarray  # float (Z, K), inf for padding
    cruise_m: np.ndarray  # float (Z, K, K) driving distance between options
    reprice: np.ndarray  # bool (F,) facilities under responsive pricing
    #: per facility, the city's own tariff (the reference of the elasticities)
    ref_tariff_of: list[TariffCalc] = field(default_factory=list)


def _open_intervals(windows: list[tuple[float, float]], days: int) -> list[tuple[float, float]]:
    """Absolute open intervals over ``days`` days, merged across midnight; the last is open-ended
    when it runs to the end of the generated range (the pattern repeats every day)."""
    spans = sorted((24.0 * d + s, 24.0 * d + e) for d in range(days) for s, e in windows)
    merged: list[list[float]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1] + 1e-12:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    end = 24.0 * days
    return [(s, INF if e >= end - 1e-12 else e) for s, e in merged]


def build_layout(city: City, policy: Policy, horizon_hours: float) -> Layout:
    """Index the facilities and choice sets of ``city`` under ``policy``."""
    errors = check_policy(city, policy)
    if errors:
        raise ValueError(f"policy {policy.name!r}: " + "; ".join(errors))
    facs: list[Any] = [*city.car_parks, *city.kerb_segments]
    n_cp = len(city.car_parks)
    ids = [f.id for f in facs]
    is_kerb = np.array([k >= n_cp for k in range(len(facs))], dtype=bool)
    is_shared = np.array([k < n_cp and f.shared for k, f in enumerate(facs)], dtype=bool)
    berths = np.array([f.berths + policy.add_berths.get(f.id, 0) for f in facs], dtype=np.int64)
    city_tariffs = {name: TariffCalc.of(t) for name, t in city.tariffs.items()}
    tariffs = {name: TariffCalc.of(policy.tariffs[name]) if name in policy.tariffs else city_tariffs[name]
               for name in city.tariffs}
    tariff_of = [tariffs[f.tariff] for f in facs]
    if policy.payment == "as_city":
        pay = [k < n_cp and f.payment == "pay_at_exit" for k, f in enumerate(facs)]
    else:
        pay = [k < n_cp and policy.payment == "pay_at_exit" for k in range(len(facs))]
    pay_at_exit = np.array(pay, dtype=bool)
    max_stay = np.array([f.max_stay_hours if k >= n_cp else INF for k, f in enumerate(facs)])
    days = int(math.ceil(horizon_hours / 24.0)) + 2
    intervals = [
        [] if (is_shared[k] and not policy.open_shared_berths) else _open_intervals(f.public_hours, days)
        for k, f in enumerate(facs)
    ]
    rp = policy.responsive_pricing
    applies = set(rp.applies_to) if rp is not None else set()
    reprice = np.array(
        [
            (("kerb_segments" in applies) if is_kerb[k] else
             ("shared" in applies) if is_shared[k] else ("car_parks" in applies))
            for k in range(len(facs))
        ],
        dtype=bool,
    )
    opts, walk_m, cruise_m = _choice_sets(city, facs)
    return Layout(ids, is_kerb, is_shared, berths, tariff_of, pay_at_exit, max_stay, intervals,
                  opts, walk_m, cruise_m, reprice, [city_tariffs[f.tariff] for f in facs])


def _choice_sets(city: City, facs: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest ``choice_set_size`` facilities within walking range of every zone, with walking
    distances and the driving distance between any two options of a zone."""
    beh = city.behaviour
    K = min(beh.choice_set_size, len(facs))
    Z = len(city.zones)
    opts = np.full((Z, K), -1, dtype=np.int64)
    walk = np.full((Z, K), INF)
    index = {f.id: k for k, f in enumerate(facs)}
    links: dict[str, list[tuple[float, int]]] = {}
    for link in city.walking_links:
        links.setdefault(link.zone, []).append((link.metres, index[link.facility]))
    placed = all(f.x is not None and f.y is not None for f in facs)
    xy = np.array([[f.x, f.y] for f in facs], dtype=float) if placed else np.zeros((len(facs), 2))
    coord_zones = [i for i, z in enumerate(city.zones) if z.id not in links]
    if coord_zones:
        tree = cKDTree(xy)
        zxy = np.array([[city.zones[i].x, city.zones[i].y] for i in coord_zones], dtype=float)
        dist, idx = tree.query(zxy, k=K, distance_upper_bound=beh.max_walk_m / beh.walk_detour)
        dist = np.asarray(dist, dtype=float).reshape(len(coord_zones), K)
        idx = np.asarray(idx).reshape(len(coord_zones), K)
        ok = np.isfinite(dist)
        rows = np.asarray(coord_zones)
        opts[rows] = np.where(ok, idx, -1)
        walk[rows] = np.where(ok, dist * beh.walk_detour, INF)
    for i, z in enumerate(city.zones):
        if z.id in links:
            near = sorted(m for m in links[z.id] if m[0] <= beh.max_walk_m)[:K]
            for k, (m, f) in enumerate(near):
                opts[i, k] = f
                walk[i, k] = m
    # Driving distance between two options of a zone: straight line x road detour when placed,
    # otherwise via the zone (walk distances are the only geometry given); never below one block.
    valid = opts >= 0
    safe = np.where(valid, opts, 0)
    if placed:
        p = xy[safe]  # (Z, K, 2)
        d = np.sqrt(((p[:, :, None, :] - p[:, None, :, :]) ** 2).sum(-1)) * beh.road_detour
    else:
        w = np.where(valid, walk, 0.0)
        d = w[:, :, None] + w[:, None, :]
    cruise = np.maximum(d, beh.min_cruise_m)
    return opts, walk, cruise


# --------------------------------------------------------------------------- arrivals
@dataclass
class Arrivals:
    """Every driver of one run, sorted by arrival time."""

    time: np.ndarray  # float (N,) hours
    zone: np.ndarray  # int (N,)
    purpose: np.ndarray  # int (N,)
    duration: np.ndarray  # float (N,) intended stay, hours
    gumbel: np.ndarray  # float (N, K) taste shocks
    ticket_u: np.ndarray  # float (N,) uniform deciding a kerbside ticket
    #: uniform deciding whether a potential driver comes by car (only when demand is elastic)
    outside_u: np.ndarray | None = None
    #: Gumbel taste shock of the pavement option and the uniform deciding a pavement ticket
    #: (only when pavement parking is possible)
    illegal_g: np.ndarray | None = None
    pavement_u: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.time)


def arrival_rates(city: City, horizon_hours: float) -> np.ndarray:
    """Expected arrivals per hour, shape (Z, P, H) for hours 0..ceil(horizon)-1."""
    dem = city.demand
    base = np.asarray(dem.hourly_profile, dtype=float)
    shares = np.array([p.share for p in dem.purposes], dtype=float)
    shares /= shares.sum()
    prof = np.array(
        [np.asarray(p.hourly_profile if p.hourly_profile is not None else base, dtype=float)
         for p in dem.purposes]
    )
    prof /= prof.sum(axis=1, keepdims=True)  # (P, 24) share of the day per hour
    H = int(math.ceil(horizon_hours - 1e-9))
    hod = np.arange(H) % 24
    per_day = np.array([z.arrivals_per_day for z in city.zones], dtype=float)
    rates = per_day[:, None, None] * shares[None, :, None] * prof[None, :, hod]
    # the last hour may be partial
    frac = np.ones(H)
    if H > 0:
        frac[-1] = horizon_hours - (H - 1)
    return rates * frac[None, None, :]


def demand_factors(city: City) -> np.ndarray:
    """Potential drivers drawn per reference driver, by purpose: ``max_demand_factor`` for a
    purpose whose demand responds to cost, 1 otherwise."""
    dem = city.demand
    return np.array([dem.max_demand_factor if p.price_elasticity != 0 else 1.0 for p in dem.purposes])


def draw_arrivals(city: City, horizon_hours: float, streams: Streams, K: int) -> Arrivals:
    """Draw all drivers of the run from the ``arrivals``, ``durations``, ``choice`` and
    ``enforcement`` streams, plus ``outside`` when demand responds to cost and ``illegal`` and
    ``pavement`` when pavement parking is possible (all independent of the policy).  A stream
    that a city does not need is never consulted, so switching an option off reproduces the
    model without it exactly."""
    rates = arrival_rates(city, horizon_hours)
    factors = demand_factors(city)
    elastic = bool((factors != 1.0).any())
    if elastic:
        rates = rates * factors[None, :, None]
    Z, P, H = rates.shape
    rng = streams["arrivals"]
    counts = rng.poisson(rates).ravel()  # order (zone, purpose, hour)
    n = int(counts.sum())
    cell = np.repeat(np.arange(counts.size), counts)
    hour = cell % H
    frac = np.ones(H)
    if H > 0:
        frac[-1] = horizon_hours - (H - 1)
    t = hour + rng.random(n) * frac[hour]
    order = np.argsort(t, kind="stable")
    t = t[order]
    cell = cell[order]
    zone = cell // (P * H)
    purpose = (cell // H) % P
    u = streams["durations"].random(n)
    dur = np.empty(n)
    for k, p in enumerate(city.demand.purposes):
        m = purpose == k
        dur[m] = duration_quantile(p.duration, u[m])
    g = -np.log(-np.log(streams["choice"].random((n, K))))
    tu = streams["enforcement"].random(n)
    out_u = streams["outside"].random(n) if elastic else None
    ill_g = pav_u = None
    if city.pavement.disutility is not None:
        ill_g = -np.log(-np.log(streams["illegal"].random(n)))
        pav_u = streams["pavement"].random(n)
    return Arrivals(t, zone.astype(np.int64), purpose.astype(np.int64), dur, g, tu, out_u, ill_g, pav_u)


# --------------------------------------------------------------------------- simulation
@dataclass
class SimResult:
    """Raw outcome of one run; :mod:`simcity.parking.metrics` turns it into metrics."""

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


def open_berth_hours(layout: Layout, edges: np.ndarray) -> np.ndarray:
    """Open berth-hours of every facility in each bin ``[edges[j], edges[j+1])``, shape (F, J)."""
    lo, hi = edges[:-1], edges[1:]
    out = np.zeros((len(layout.ids), len(lo)))
    for k, ivs in enumerate(layout.intervals):
        for s, e in ivs:
            out[k] += np.clip(np.minimum(e, hi) - np.maximum(s, lo), 0.0, None)
    return out * layout.berths[:, None]


def _gates(
    env: simpy.Environment, city: City, lay: Layout
) -> tuple[list[simpy.Resource | None], list[float], list[simpy.Resource | None], list[float]]:
    """Entry gates and pay-at-exit booths as SimPy resources (None where there is none), with
    their service times in hours."""
    entry: list[simpy.Resource | None] = []
    entry_h: list[float] = []
    exit_: list[simpy.Resource | None] = []
    exit_h: list[float] = []
    for k in range(len(lay.ids)):
        cp = city.car_parks[k] if not lay.is_kerb[k] else None
        has_in = cp is not None and cp.entry_gates > 0 and cp.entry_service_s > 0
        has_out = cp is not None and bool(lay.pay_at_exit[k]) and cp.exit_service_s > 0
        entry.append(simpy.Resource(env, capacity=cp.entry_gates) if has_in and cp else None)
        entry_h.append(cp.entry_service_s / 3600.0 if has_in and cp else 0.0)
        exit_.append(simpy.Resource(env, capacity=cp.exit_gates) if has_out and cp else None)
        exit_h.append(cp.exit_service_s / 3600.0 if has_out and cp else 0.0)
    return entry, entry_h, exit_, exit_h


def _capacity_changes(lay: Layout) -> list[tuple[float, int, int, float]]:
    """``(time, facility, capacity, open until)`` at every opening and closing, in time order
    (closings before openings at the same instant)."""
    changes: list[tuple[float, int, int, float]] = []
    for k, ivs in enumerate(lay.intervals):
        for s, e in ivs:
            changes.append((s, k, int(lay.berths[k]), e))
            if e < INF:
                changes.append((e, k, 0, 0.0))
    changes.sort(key=lambda c: (c[0], c[2]))
    return changes


class CostModel:
    """Generalized cost of every option of every zone for every purpose (see docs/parking.md):
    price for the purpose's mean stay + valued walking time + valued expected search + the
    expected kerbside fine.  Built once per run; :meth:`matrix` is called every information
    period with the current price shifts and refusal shares."""

    def __init__(self, city: City, lay: Layout, check_rate: float) -> None:
        beh = city.behaviour
        purposes = city.demand.purposes
        F, P = len(lay.ids), len(purposes)
        K = lay.opts.shape[1]
        self.search_weight = beh.search_weight
        self.valid = lay.opts >= 0
        self.safe_opts = np.where(self.valid, lay.opts, 0)
        # mean driving time from one option of a zone to another: the cost of one refusal
        pair = self.valid[:, :, None] & self.valid[:, None, :] & ~np.eye(K, dtype=bool)[None, :, :]
        n_pairs = pair.sum(axis=(1, 2))
        mean_cruise_m = np.where(
            n_pairs > 0, (lay.cruise_m * pair).sum(axis=(1, 2)) / np.maximum(n_pairs, 1), beh.min_cruise_m
        )
        self.mean_cruise_h = mean_cruise_m / (beh.cruise_speed_kmh * 1000.0)  # (Z,)
        self.vot = np.array([p.value_of_time_per_hour for p in purposes])
        mean_stay = [p.duration.mean_hours for p in purposes]
        # expected kerbside fine per facility and purpose (policy-dependent via enforcement)
        self.fine_exp = np.zeros((F, P))
        fine = city.enforcement.fine
        for k in np.flatnonzero(lay.is_kerb):
            for j, p in enumerate(purposes):
                excess = expected_excess(p.duration, float(lay.max_stay[k]))
                self.fine_exp[k, j] = fine * -math.expm1(-check_rate * excess)
        # prices: per distinct tariff and purpose, then shifted per facility (charge is linear in
        # the shift: base + shift x billed hours, capped)
        uniq = list({id(t): t for t in lay.tariff_of}.values())
        key = {id(t): i for i, t in enumerate(uniq)}
        idx = np.array([key[id(t)] for t in lay.tariff_of], dtype=np.int64)
        self.base_price = np.array([[t.charge(m, 0.0) for m in mean_stay] for t in uniq])[idx]  # (F, P)
        self.billable = np.array([[t.billable(m) for m in mean_stay] for t in uniq])[idx]  # (F, P)
        self.cap_price = np.array([t.cap for t in uniq])[idx]  # (F,)
        self.min_rate = np.array([t.min_rate for t in lay.tariff_of])  # (F,)
        walk_h = np.where(np.isfinite(lay.walk_m), lay.walk_m, 0.0) / (beh.walk_speed_kmh * 1000.0)
        self.walk_term = (beh.walk_weight * walk_h)[:, None, :] * self.vot[None, :, None]  # (Z, P, K)

    def reference(self, is_open: np.ndarray) -> np.ndarray:
        """Cost of the cheapest option of every zone and purpose, shape (Z, P), with no price
        shift and no expected search, floored at :data:`RATIO_FLOOR` (``inf`` where no option is
        open): built on the reference layout, the cost at which ``arrivals_per_day`` come."""
        zero = np.zeros(len(is_open))
        return np.maximum(self.matrix(zero, zero, is_open).min(axis=2), RATIO_FLOOR)

    def matrix(self, shift: np.ndarray, refuse_share: np.ndarray, is_open: np.ndarray) -> np.ndarray:
        """Cost (Z, P, K); ``inf`` for padding and facilities closed in the coming period."""
        price = np.minimum(self.base_price + shift[:, None] * self.billable, self.cap_price[:, None])
        price = np.where(self.billable > 0, price, 0.0)  # (F, P)
        r = np.minimum(refuse_share, 0.9)
        search_h = (r / (1.0 - r))[self.safe_opts] * self.mean_cruise_h[:, None]  # (Z, K)
        c = (price + self.fine_exp)[self.safe_opts].transpose(0, 2, 1)  # (Z, P, K)
        c = c + self.walk_term + (self.search_weight * search_h)[:, None, :] * self.vot[None, :, None]
        usable = self.valid & is_open[self.safe_opts]
        return np.where(usable[:, None, :], c, INF)


class _PrefixedStreams(Streams):
    """The streams of a replication under a name prefix: fresh days of the same replication
    (the learning phase of responsive pricing), independent of the evaluated day's streams."""

    __slots__ = ("prefix",)

    def __init__(self, base: Streams, prefix: str) -> None:
        super().__init__(base.seed, base.replication)
        self.prefix = prefix

    def __getitem__(self, name: str) -> np.random.Generator:
        return super().__getitem__(f"{self.prefix}/{name}")


def learn_band_prices(
    city: City,
    policy: Policy,
    horizon_hours: float,
    warmup_hours: float,
    streams: Streams,
    environment: Callable[[], simpy.Environment] = simpy.Environment,
) -> np.ndarray:
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
            res = simulate(city, policy, horizon_hours, warmup_hours, _PrefixedStreams(streams, f"sfpark-day{day}"),
                           band_shift=prices[:, band], environment=environment)
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


def pavement_costs(city: City, check_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Cost of pavement parking for each purpose, and its expected fine: the disutility plus
    fine x E[1 - exp(-check_rate x D)] over the purpose's stay D (patrols as a Poisson process)."""
    pav = city.pavement
    u = (np.arange(256) + 0.5) / 256.0  # midpoint quantiles of the stay distribution
    p_ticket = np.array([float(np.mean(-np.expm1(-check_rate * duration_quantile(p.duration, u))))
                         for p in city.demand.purposes])
    fine = pav.fine * p_ticket
    return (pav.disutility or 0.0) + fine, fine


def simulate(
    city: City,
    policy: Policy,
    horizon_hours: float,
    warmup_hours: float,
    streams: Streams,
    *,
    arrivals: Arrivals | None = None,
    trace: bool = False,
    environment: Callable[[], simpy.Environment] = simpy.Environment,
    band_shift: np.ndarray | None = None,
) -> SimResult:
    """Run the parking model once.

    Parameters
    ----------
    city, policy:
        Validated configuration.
    horizon_hours, warmup_hours:
        Simulated time from midnight, and the part of it excluded from statistics.
    streams:
        The replication's random streams.
    arrivals:
        Drivers to simulate instead of drawing them (for hand-checked traces).
    trace:
        Record every arrival, parking, departure and loss as ``(kind, driver, time, facility)``
        (facility -1 for arrivals and losses) in :attr:`SimResult.trace`.
    band_shift:
        Price shift of every facility in every hour of the day, shape (F, 24), fixed for the run.
        A policy whose responsive pricing has a learning phase gets it from
        :func:`learn_band_prices` when it is not given.
    """
    rp = policy.responsive_pricing
    if band_shift is None and rp is not None and rp.learning_days:
        band_shift = learn_band_prices(city, policy, horizon_hours, warmup_hours, streams, environment)
    lay = build_layout(city, policy, horizon_hours)
    beh = city.behaviour
    F = len(lay.ids)
    Z, K = lay.opts.shape
    arr = arrivals if arrivals is not None else draw_arrivals(city, horizon_hours, streams, K)
    N = len(arr)
    H = int(math.ceil(horizon_hours - 1e-9))
    warm = warmup_hours
    env = environment()
    log: list[tuple[Any, ...]] | None = [] if trace else None

    # --- mutable per-facility state (plain lists: cheapest per-event access)
    occ = [0] * F
    cap_now = [0] * F
    close_at = [0.0] * F
    area = [0.0] * F
    full = [0.0] * F  # time with every open berth taken
    last = [0.0] * F
    attempts = [0] * F
    refused = [0] * F
    shift = [0.0] * F
    sessions = [0] * F
    revenue = [0.0] * F
    tickets = [0] * F
    stay_sum = [0.0] * F
    walk_sum = [0.0] * F
    entry_wait = [0.0] * F
    exit_wait = [0.0] * F
    exits = [0] * F
    acc = {"lost": 0, "search": 0.0, "cruise": 0.0, "illegal": 0, "ptickets": 0, "not_come": 0, "attracted": 0}
    zone_lost = [0] * Z
    zone_search = [0.0] * Z
    lost_by_hour = np.zeros(max(H, 1), dtype=np.int64)

    charge_fn: list[Callable[[float, float], float]] = [t.charge for t in lay.tariff_of]
    max_stay = lay.max_stay.tolist()
    check_rate = city.enforcement.checks_per_hour * policy.enforcement_factor

    entry_gate, entry_h, exit_gate, exit_h = _gates(env, city, lay)

    # --- opening and closing: capacity varies by time of day
    changes = _capacity_changes(lay)
    ci = 0
    while ci < len(changes) and changes[ci][0] <= 0.0:
        _, k, c, e = changes[ci]
        cap_now[k], close_at[k] = c, e
        ci += 1

    def capacity_changes(pending: list[tuple[float, int, int, float]]) -> Any:
        for t, k, c, e in pending:
            if t >= horizon_hours:
                return
            yield env.timeout(t - env.now)
            now = env.now
            area[k] += occ[k] * (now - last[k])
            if occ[k] >= cap_now[k] > 0:
                full[k] += now - last[k]
            last[k] = now
            cap_now[k] = c
            close_at[k] = e

    env.process(capacity_changes(changes[ci:]))

    # --- choice
    opts_l = lay.opts.tolist()
    walk_l = lay.walk_m.tolist()
    cruise_l = lay.cruise_m.tolist()
    cruise_speed = beh.cruise_speed_kmh * 1000.0  # m/h
    max_search = beh.max_search_minutes / 60.0
    costs = CostModel(city, lay, check_rate)
    theta = beh.logit_scale

    # --- statistics bins
    hour_area = np.zeros((F, max(H, 1)))
    hour_full = np.zeros((F, max(H, 1)))
    hour_shift = np.zeros((F, max(H, 1)))
    hour_edges = np.minimum(np.arange(max(H, 1) + 1, dtype=float), horizon_hours)
    cap_area = open_berth_hours(lay, hour_edges)
    period = beh.update_minutes / 60.0
    n_periods = int(math.ceil(horizon_hours / period - 1e-9))
    period_caps = open_berth_hours(lay, np.minimum(np.arange(n_periods + 1) * period, horizon_hours))
    # reviews within the run (without a learning phase); with one, prices follow band_shift
    review_every = int(round(rp.period_hours / period)) if rp is not None and band_shift is None else 0
    band_shift_l = band_shift.T.tolist() if band_shift is not None else None
    review_area = np.zeros(F)
    review_cap = np.zeros(F)
    reprice = lay.reprice
    shift_arr = np.zeros(F)
    prev_area = np.zeros(F)
    prev_full = np.zeros(F)

    # --- demand that responds to cost (an outside option), stays that respond to the marginal
    # rate, pavement parking: each only when the city asks for it (otherwise nothing is drawn or
    # computed for it and the run is exactly the model without it)
    purposes = city.demand.purposes
    factors = demand_factors(city)
    elastic = bool((factors != 1.0).any())
    came = np.ones(N, dtype=bool)
    if elastic:
        if arr.outside_u is None:
            raise ValueError("arrivals: demand responds to cost, so outside_u is needed")
        # the reference: the city as configured (its tariffs, its kerbside enforcement, every
        # facility open in its public hours, institutions' lots included), no price shift
        ref_lay = build_layout(city, Policy.model_validate({"name": "reference", "open_shared_berths": True}),
                               horizon_hours)
        ref_costs = CostModel(city, ref_lay, city.enforcement.checks_per_hour)
        ref_caps = open_berth_hours(ref_lay, np.minimum(np.arange(n_periods + 1) * period, horizon_hours))
        price_e = np.array([p.price_elasticity for p in purposes])
    stay_e = [p.stay_elasticity for p in purposes]
    stay_any = any(stay_e)
    own_tariff = [lay.tariff_of[k] is lay.ref_tariff_of[k] for k in range(F)]
    tariff_l = lay.tariff_of
    ref_tariff_l = lay.ref_tariff_of
    purpose_l = arr.purpose.tolist()
    pavement = city.pavement.disutility is not None
    Kc = K + 1 if pavement else K  # the pavement is option K
    ill_util: list[float] = []
    pav_l: list[float] = []
    pav_rate = city.pavement.checks_per_hour * policy.pavement_enforcement
    give_up = city.pavement.give_up_cost
    if pavement:
        if arr.illegal_g is None or arr.pavement_u is None:
            raise ValueError("arrivals: pavement parking is possible, so illegal_g and pavement_u are needed")
        ill_cost, _ = pavement_costs(city, pav_rate)
        # a driver for whom the pavement is worse than giving up never parks there
        ill_util_a = ill_cost[arr.purpose] - arr.illegal_g * city.pavement.spread
        ill_ok_a = ill_util_a < give_up
        ill_util_a = np.where(ill_ok_a, ill_util_a, INF)
        ill_util = ill_util_a.tolist()
        pav_l = arr.pavement_u.tolist()

    def flush_period(t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Bring every occupancy integral to ``t1`` and return the berth-hours and the full
        hours of [t0, t1]."""
        for k in range(F):
            area[k] += occ[k] * (t1 - last[k])
            if occ[k] >= cap_now[k] > 0:
                full[k] += t1 - last[k]
            last[k] = t1
        a = np.asarray(area)
        got = a - prev_area
        prev_area[:] = a
        fu = np.asarray(full)
        got_full = fu - prev_full
        prev_full[:] = fu
        return got, got_full

    def lane_return(g: simpy.Resource) -> Callable[[simpy.Event], None]:
        """Timer callback that hands a gate lane back; the timer's value is the lane request."""

        def cb(ev: simpy.Event) -> None:
            g.release(cast(simpy.resources.resource.Request, ev.value))

        return cb

    timeout = env.timeout  # bound once: it is called for nearly every event
    entry_back = [lane_return(g) if g is not None else None for g in entry_gate]
    exit_back = [lane_return(g) if g is not None else None for g in exit_gate]

    # --- the driver
    def driver(i: int, t_arr: float, z: int, order: list[int], at: int, nok: int, d: float) -> Any:
        counted = t_arr >= warm
        options = opts_l[z]
        cruise_row = cruise_l[z]
        searched = 0.0
        cruised = 0.0
        prev = -1
        for j in range(at, at + nok):
            k = order[j]
            if k == K:  # the pavement ranks above the remaining legal options
                yield from pavement_parker(i, t_arr, z, d, searched, cruised)
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
            # park: reserve a berth (the occupancy integral is updated on every change)
            area[f] += occ[f] * (now - last[f])
            last[f] = now
            occ[f] += 1
            closes = close_at[f]
            if stay_any and (shift[f] or not own_tariff[f]):
                se = stay_e[purpose_l[i]]
                if se:
                    d = responsive_stay(d, tariff_l[f], shift[f], ref_tariff_l[f], se)
            if log is not None:
                log.append((PARK, i, now, f))
            if counted:
                # a session counts from the moment its berth is reserved
                sessions[f] += 1
                walk_sum[f] += walk_l[z][k]
                if searched:
                    acc["search"] += searched
                    acc["cruise"] += cruised
                    zone_search[z] += searched
            # Gates are SimPy resources (they hold queues).  To keep per-event work small a
            # driver only suspends on a lane request when it is not granted at once, and the
            # lane is handed back by a timer callback after the service time instead of by
            # resuming the driver: same queueing, two generator resumptions fewer per gate.
            g = entry_gate[f]
            if g is not None:
                req = g.request()
                if not req.triggered:
                    yield req
                    if counted:
                        entry_wait[f] += env.now - now
                timeout(entry_h[f], req).callbacks.append(entry_back[f])  # type: ignore[arg-type]
                # the berth is held from the gate to departure, which must not pass closing time
                hold = max(0.0, min(entry_h[f] + d, closes - env.now))
                stay = max(0.0, hold - entry_h[f])
            else:
                stay = min(d, closes - now)
                hold = stay
            if counted:
                # the charge is known at entry: the tariff (and price shift) in force then applies
                revenue[f] += charge_fn[f](stay, shift[f])
                stay_sum[f] += stay
                if stay > max_stay[f] and ticket_l[i] < -math.expm1(-check_rate * (stay - max_stay[f])):
                    tickets[f] += 1
            yield timeout(hold)
            now = env.now
            area[f] += occ[f] * (now - last[f])
            if occ[f] >= cap_now[f] > 0:
                full[f] += now - last[f]
            last[f] = now
            occ[f] -= 1
            if log is not None:
                log.append((LEAVE, i, now, f))
            g = exit_gate[f]
            if g is not None:
                req = g.request()
                if not req.triggered:
                    yield req
                    if counted:
                        exit_wait[f] += env.now - now
                timeout(exit_h[f], req).callbacks.append(exit_back[f])  # type: ignore[arg-type]
                if counted:
                    exits[f] += 1
            return
        # search failed: options exhausted, none usable, or the search budget spent
        if pavement and ill_util[i] < INF:
            yield from pavement_parker(i, t_arr, z, d, searched, cruised)
            return
        if log is not None:
            log.append((LOST, i, env.now, -1))
        if counted:
            acc["lost"] += 1
            acc["search"] += searched
            acc["cruise"] += cruised
            lost_by_hour[int(t_arr)] += 1
            zone_lost[z] += 1
            zone_search[z] += searched

    def pavement_parker(i: int, t_arr: float, z: int, d: float, searched: float, cruised: float) -> Any:
        """A driver parks on the pavement (no berth) for its intended stay, risking a ticket."""
        if log is not None:
            log.append((ILLEGAL, i, env.now, -1))
        if t_arr >= warm:
            acc["illegal"] += 1
            acc["search"] += searched
            acc["cruise"] += cruised
            zone_search[z] += searched
            if pav_l[i] < -math.expm1(-pav_rate * d):
                acc["ptickets"] += 1
        return
        yield  # a generator, so that drivers can delegate to it

    # --- the arrival process, which also refreshes information every period
    times = arr.time.tolist()
    zones_l = arr.zone.tolist()
    dur_l = arr.duration.tolist()
    ticket_l = arr.ticket_u.tolist()
    bounds = np.searchsorted(arr.time, np.arange(n_periods + 1) * period, side="left")
    bounds[-1] = N

    def refresh(q: int, t0: float) -> np.ndarray:
        nonlocal review_area, review_cap
        if q > 0:
            tp = (q - 1) * period
            got, got_full = flush_period(tp, t0)
            hour_area[:, min(int(tp + 1e-9), H - 1)] += got
            hour_full[:, min(int(tp + 1e-9), H - 1)] += got_full
            review_area = review_area + got
            review_cap = review_cap + period_caps[:, q - 1]
            if rp is not None and review_every and q % review_every == 0:
                with np.errstate(invalid="ignore", divide="ignore"):
                    o = np.where(review_cap > 0, review_area / np.maximum(review_cap, 1e-300), np.nan)
                step = np.where(o > rp.high, rp.step_per_hour, np.where(o < rp.low, -rp.step_per_hour, 0.0))
                new = np.clip(shift_arr + step, -np.minimum(rp.max_decrease, costs.min_rate), rp.max_increase)
                shift_arr[:] = np.where(reprice, new, shift_arr)
                shift[:] = shift_arr.tolist()
                review_area = np.zeros(F)
                review_cap = np.zeros(F)
        att = np.asarray(attempts, dtype=float)
        share = np.where(att > 0, np.asarray(refused, dtype=float) / np.maximum(att, 1.0), 0.0)
        attempts[:] = [0] * F
        refused[:] = [0] * F
        if band_shift_l is not None:
            row = band_shift_l[int(t0 + 1e-9) % 24]
            shift[:] = row
            shift_arr[:] = row
        if int(t0) < H and abs(t0 - round(t0)) < 1e-9:
            hour_shift[:, int(round(t0))] = shift_arr
        # open at some time in the coming period (a driver arriving while it is closed skips it)
        return costs.matrix(shift_arr, share, period_caps[:, min(q, n_periods - 1)] > 0)

    def arrival_process() -> Any:
        for q in range(n_periods):
            t0 = q * period
            if t0 > env.now:
                yield env.timeout(t0 - env.now)
            cost = refresh(q, t0)
            a, b = int(bounds[q]), int(bounds[q + 1])
            if b <= a:
                continue
            zi = arr.zone[a:b]
            pi = arr.purpose[a:b]
            rows = cost[zi, pi]  # (n, K)
            util = rows - arr.gumbel[a:b] / theta
            n_ok = np.isfinite(rows).sum(axis=1)
            if pavement:
                util = np.concatenate([util, ill_util_a[a:b, None]], axis=1)
                n_ok = n_ok + ill_ok_a[a:b]
            # one flat list per period (small ints are shared objects): a list per driver would
            # add 180,000 long-lived containers a day for the cyclic garbage collector to scan
            order = np.argsort(util, axis=1, kind="stable").ravel().tolist()
            nok = n_ok.tolist()
            if elastic:
                ref_cost = ref_costs.reference(ref_caps[:, q] > 0)
                come_l = decide_coming(a, b, ref_cost[zi, pi], pi, rows).tolist()
            for j in range(a, b):
                t = times[j]
                if elastic and not come_l[j - a]:
                    if log is not None:
                        log.append((ARRIVE, j, t, -1))
                        log.append((OUTSIDE, j, t, -1))
                    continue
                if t > env.now:
                    yield timeout(t - env.now)
                if log is not None:
                    log.append((ARRIVE, j, t, -1))
                env.process(driver(j, t, zones_l[j], order, (j - a) * Kc, nok[j - a], dur_l[j]))

    def decide_coming(a: int, b: int, ref: np.ndarray, pi: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Who of the potential drivers a..b-1 comes by car: the share (C / C_ref) ** e of the
        reference demand, where C is the cost of the driver's best option now (a driver with no
        usable option, or whose zone has no public option at all, comes as in the reference)."""
        assert arr.outside_u is not None
        best = rows.min(axis=1)
        fin = np.isfinite(best) & np.isfinite(ref)  # a zone with no public option has no reference
        ratio = np.where(fin, np.maximum(best, RATIO_FLOOR), 1.0) / np.where(fin, ref, 1.0)
        share = ratio ** price_e[pi]
        u = arr.outside_u[a:b] * factors[pi]
        come = u < share
        member = u < 1.0
        late = arr.time[a:b] >= warm
        acc["not_come"] += int((member & ~come & late).sum())
        acc["attracted"] += int((come & ~member & late).sum())
        came[a:b] = come
        return come

    env.process(arrival_process())
    env.run(until=horizon_hours)
    # close the last statistics period
    tp = (n_periods - 1) * period if n_periods > 0 else 0.0
    got, got_full = flush_period(tp, horizon_hours)
    if H > 0:
        hour_area[:, min(int(tp + 1e-9), H - 1)] += got
        hour_full[:, min(int(tp + 1e-9), H - 1)] += got_full

    t_came = arr.time[came]
    arrivals_by_hour = np.bincount(t_came.astype(np.int64).clip(0, max(H, 1) - 1), minlength=max(H, 1))
    late = (arr.time >= warm) & came
    counted = int(late.sum())
    return SimResult(
        layout=lay,
        horizon=horizon_hours,
        warmup=warm,
        n_arrivals=N,
        hour_area=hour_area,
        hour_full=hour_full,
        hour_cap=cap_area,
        hour_shift=hour_shift,
        arrivals_by_hour=arrivals_by_hour,
        lost_by_hour=lost_by_hour,
        sessions=np.asarray(sessions, dtype=float),
        revenue=np.asarray(revenue),
        tickets=np.asarray(tickets, dtype=float),
        stay_sum=np.asarray(stay_sum),
        walk_sum=np.asarray(walk_sum),
        entry_wait_sum=np.asarray(entry_wait),
        exit_wait_sum=np.asarray(exit_wait),
        exits=np.asarray(exits, dtype=float),
        counted=counted,
        lost=int(acc["lost"]),
        search_h=float(acc["search"]),
        cruise_m=float(acc["cruise"]),
        zone_ids=[zz.id for zz in city.zones],
        zone_counted=np.bincount(arr.zone[late], minlength=Z).astype(float),
        zone_lost=np.asarray(zone_lost, dtype=float),
        zone_search_h=np.asarray(zone_search),
        trace=log,
        not_come=int(acc["not_come"]),
        attracted=int(acc["attracted"]),
        illegal=int(acc["illegal"]),
        pavement_tickets=int(acc["ptickets"]),
    )
