"""Trip requests: hourly origin-destination rates and their sampling.

Two sources of rates, one representation:

* **generated** (gravity model): hour ``h`` has ``daily_trips * hourly_share[h]`` requests; a
  ``commute_share`` of them are commutes (home -> job before noon, job -> home after), leaving
  from stations in proportion to ``attractiveness * residential`` (or ``* (1 - residential)``)
  and going to one of the origin's ``neighbours`` nearest stations with weight
  ``attractiveness * (job or home share) * exp(-distance / distance_decay_m)``; the rest are
  other trips weighted by attractiveness alone;
* **explicit** rates per origin-destination pair and hour.

Requests of a day are drawn up front from one random stream (Poisson counts per hour and
origin or pair, uniform times within the hour), so every policy sees the same requests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from simcity.bikes.config import City
from simcity.bikes.network import Network

#: shortest trip duration (hours); a trip back to its own station still takes a ride
MIN_TRIP_H = 1.0 / 60.0


@dataclass(frozen=True, eq=False)
class Trips:
    """Trip requests of one replication, sorted by time.

    Attributes
    ----------
    t_h:
        Request time, hours from the start of the run.
    origin, dest:
        Station indices.
    ride_h:
        Riding time from origin to destination, hours.
    """

    t_h: NDArray[np.float64]
    origin: NDArray[np.int64]
    dest: NDArray[np.int64]
    ride_h: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.t_h)


@dataclass(frozen=True, eq=False)
class _Purpose:
    rates: NDArray[np.float64]  # (24, n) requests per hour by origin
    cand: NDArray[np.int64]  # (n, k) destination candidates
    cum: NDArray[np.float64]  # (n, k) cumulative destination probabilities (last = 1)


@dataclass(frozen=True, eq=False)
class DemandModel:
    """Hourly request rates of a city and a sampler of trip requests."""

    net: Network
    speed_m_h: float
    purposes: tuple[_Purpose, ...] = ()
    pair_origin: NDArray[np.int64] | None = None
    pair_dest: NDArray[np.int64] | None = None
    pair_rates: NDArray[np.float64] | None = None  # (24, m)

    # ---- rates ------------------------------------------------------------------------
    def rental_rates(self) -> NDArray[np.float64]:
        """``(24, n)`` expected rental requests per hour at each station."""
        n = self.net.n
        out = np.zeros((24, n))
        for p in self.purposes:
            out += p.rates
        if self.pair_rates is not None and self.pair_origin is not None:
            for h in range(24):
                out[h] += np.bincount(self.pair_origin, self.pair_rates[h], minlength=n)
        return out

    def _arrivals_and_ride(self) -> tuple[NDArray[np.float64], float]:
        """``(24, n)`` returns per hour by destination (by request hour) and the mean ride (h)."""
        n = self.net.n
        out = np.zeros((24, n))
        ride_sum = 0.0
        total = 0.0
        for p in self.purposes:
            prob = np.diff(p.cum, axis=1, prepend=0.0)
            rows = np.repeat(np.arange(n), p.cand.shape[1])
            mat = sp.csr_matrix((prob.ravel(), (rows, p.cand.ravel())), shape=(n, n))
            out += np.asarray(mat.T @ p.rates.T).T
            ride = np.maximum(self.net.road_distance(rows, p.cand.ravel()) / self.speed_m_h, MIN_TRIP_H)
            per_origin = np.bincount(rows, prob.ravel() * ride, minlength=n)
            ride_sum += float((p.rates.sum(axis=0) * per_origin).sum())
            total += float(p.rates.sum())
        if self.pair_rates is not None and self.pair_origin is not None and self.pair_dest is not None:
            ride = np.maximum(
                self.net.road_distance(self.pair_origin, self.pair_dest) / self.speed_m_h, MIN_TRIP_H
            )
            for h in range(24):
                out[h] += np.bincount(self.pair_dest, self.pair_rates[h], minlength=n)
            ride_sum += float((self.pair_rates.sum(axis=0) * ride).sum())
            total += float(self.pair_rates.sum())
        return out, (ride_sum / total if total > 0 else 0.0)

    def return_rates(self) -> NDArray[np.float64]:
        """``(24, n)`` expected bike returns per hour at each station.

        Returns arrive one mean ride after the request: a share ``mean ride / 1 h`` of hour
        ``h``'s returns is moved into hour ``h + 1`` (cyclically).
        """
        arr, ride = self._arrivals_and_ride()
        f = min(ride, 1.0)
        return (1.0 - f) * arr + f * np.roll(arr, 1, axis=0)

    # ---- sampling ---------------------------------------------------------------------
    def sample(self, gen: np.random.Generator, horizon_h: float) -> Trips:
        """Draw the requests of ``[0, horizon_h)`` (hour-of-day rates repeat every 24 h)."""
        n = self.net.n
        ts: list[NDArray[np.float64]] = []
        os_: list[NDArray[np.int64]] = []
        ds: list[NDArray[np.int64]] = []
        hours = int(np.ceil(horizon_h))
        # row o of the cumulative table shifted to (o, o + 1]: one searchsorted serves all origins
        flats = [(p.cum + np.arange(n)[:, None]).ravel() for p in self.purposes]
        for h in range(hours):
            for p, flat in zip(self.purposes, flats, strict=True):
                counts = gen.poisson(p.rates[h % 24])
                o = np.repeat(np.arange(n), counts)
                u = gen.random(len(o))
                pos = np.searchsorted(flat, o + u, side="right")
                pos = np.minimum(pos, (o + 1) * p.cum.shape[1] - 1)
                ds.append(p.cand.ravel()[pos])
                os_.append(o)
                ts.append(h + gen.random(len(o)))
            if self.pair_rates is not None and self.pair_origin is not None and self.pair_dest is not None:
                counts = gen.poisson(self.pair_rates[h % 24])
                os_.append(np.repeat(self.pair_origin, counts))
                ds.append(np.repeat(self.pair_dest, counts))
                ts.append(h + gen.random(int(counts.sum())))
        t = np.concatenate(ts) if ts else np.zeros(0)
        o_all = np.concatenate(os_).astype(np.int64) if os_ else np.zeros(0, dtype=np.int64)
        d_all = np.concatenate(ds).astype(np.int64) if ds else np.zeros(0, dtype=np.int64)
        order = np.argsort(t, kind="stable")
        t, o_all, d_all = t[order], o_all[order], d_all[order]
        keep = t < horizon_h
        t, o_all, d_all = t[keep], o_all[keep], d_all[keep]
        ride = np.maximum(self.net.road_distance(o_all, d_all) / self.speed_m_h, MIN_TRIP_H)
        return Trips(t, o_all, d_all, ride)


def _nearest(net: Network, k: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Each station's ``k`` nearest other stations and road distances (one k-d tree query)."""
    n = net.n
    if n == 1:
        return np.zeros((1, 1), dtype=np.int64), np.zeros((1, 1))
    k = min(k, n - 1)
    _, idx = cKDTree(net.xy).query(net.xy, k=k + 1)
    idx = idx.reshape(n, k + 1)
    not_self = idx != np.arange(n)[:, None]
    not_self[not_self.all(axis=1), -1] = False
    cand = idx[not_self].reshape(n, k).astype(np.int64)
    return cand, net.road_distance(np.repeat(np.arange(n), k).reshape(n, k), cand)


def _destinations(cand: NDArray[np.int64], dist: NDArray[np.float64], weights: NDArray[np.float64],
                  decay_m: float) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    decay = np.exp(-dist / decay_m)
    w = weights[cand] * decay
    # an origin whose candidates all have zero weight falls back to distance alone
    empty = w.sum(axis=1) <= 0
    w[empty] = decay[empty]
    w[w.sum(axis=1) <= 0] = 1.0
    cum = np.cumsum(w, axis=1)
    cum /= cum[:, -1:]
    cum[:, -1] = 1.0
    return cand, cum


def build_demand(city: City, net: Network) -> DemandModel:
    """The demand model of ``city`` on ``net``."""
    dm = city.demand
    speed = city.riders.speed_kmh * 1000.0
    index = {sid: k for k, sid in enumerate(net.ids)}
    if dm.od:
        m = len(dm.od)
        rates = np.zeros((24, m))
        for j, od in enumerate(dm.od):
            rates[:, j] = od.per_hour if len(od.per_hour) == 24 else od.per_hour[0]
        return DemandModel(
            net, speed,
            pair_origin=np.array([index[od.origin] for od in dm.od], dtype=np.int64),
            pair_dest=np.array([index[od.destination] for od in dm.od], dtype=np.int64),
            pair_rates=rates,
        )
    share = np.asarray(dm.hourly_share, dtype=float)
    per_hour = dm.daily_trips * share / share.sum()
    attr = net.attractiveness
    home = attr * net.residential
    job = attr * (1.0 - net.residential)

    def norm(w: NDArray[np.float64]) -> NDArray[np.float64]:
        s = w.sum()
        return w / s if s > 0 else np.full(len(w), 1.0 / len(w))

    am = (np.arange(24) < 12).astype(float)[:, None]
    c = dm.commute_share
    purposes = []
    near, dist = _nearest(net, dm.neighbours)
    decay = dm.distance_decay_m
    if c > 0:
        cand, cum = _destinations(near, dist, job, decay)
        purposes.append(_Purpose(c * per_hour[:, None] * am * norm(home)[None, :], cand, cum))
        cand, cum = _destinations(near, dist, home, decay)
        purposes.append(_Purpose(c * per_hour[:, None] * (1.0 - am) * norm(job)[None, :], cand, cum))
    if c < 1:
        cand, cum = _destinations(near, dist, attr, decay)
        purposes.append(_Purpose((1.0 - c) * per_hour[:, None] * norm(attr)[None, :], cand, cum))
    return DemandModel(net, speed, purposes=tuple(purposes))
