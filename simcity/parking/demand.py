"""What drivers want and what their options cost: the day's drivers drawn up front from named
random streams, the generalized cost of every option, and the cost of pavement parking.

:func:`draw_arrivals` draws every driver of the day: arrival times of the time-varying Poisson
process (exact for a piecewise-constant hourly rate: a Poisson count per hour and zone, uniform
times within the hour), intended durations (inverse CDF of one uniform per driver), Gumbel taste
shocks for the logit choice, and the uniform that decides a kerbside ticket.  Nothing a policy does
changes these draws (common random numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simcity.parking.config import City
from simcity.parking.layout import INF, RATIO_FLOOR, Layout, duration_quantile, expected_excess
from simcity.rng import Streams


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


def pavement_costs(city: City, check_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Cost of pavement parking for each purpose, and its expected fine: the disutility plus
    fine x E[1 - exp(-check_rate x D)] over the purpose's stay D (patrols as a Poisson process)."""
    pav = city.pavement
    u = (np.arange(256) + 0.5) / 256.0  # midpoint quantiles of the stay distribution
    p_ticket = np.array([float(np.mean(-np.expm1(-check_rate * duration_quantile(p.duration, u))))
                         for p in city.demand.purposes])
    fine = pav.fine * p_ticket
    return (pav.disutility or 0.0) + fine, fine
