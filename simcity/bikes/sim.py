"""The SimPy model of a bike-sharing day: riders, docks and rebalancing vans.

Processes
---------
* ``riders``: one process walks through the day's trip requests (drawn up front, sorted) and
  handles each rental at its request time: take a bike at the origin, or walk to the nearest
  station with a bike within the maximum walk, or give up (failed rental).  A rented bike's
  return is a SimPy timeout whose callback docks it: at a full docked station the rider rides
  on to the nearest station with a free dock (failed return, extra riding time counted); at a
  dockless point the bike is always left, improperly if the point is full or the rider ignores
  the rule.
* ``van`` processes drive a planned route and move bikes (quantities adapted to the stock
  found on arrival: never more than there is, never over capacity).
* the rebalancing policy (:mod:`simcity.bikes.rebalancing`) is another process that plans
  routes and starts van processes.
* ``sampler``: hourly snapshots for the time plots.

Per-event work is a few list look-ups: stocks, capacities and neighbour lists are plain
Python lists precomputed from numpy arrays, and a trip carries only its index.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from simcity.bikes.demand import MIN_TRIP_H, Trips
from simcity.bikes.network import Network


@dataclass
class VanState:
    """A rebalancing van during the run."""

    capacity: int
    x: float
    y: float
    load: int = 0
    busy: bool = False
    #: the station the van stands at (-1: none), for driving on the street network
    at: int = -1


@dataclass
class Counters:
    """Event counts (cumulative since the start of the run)."""

    requests: int = 0
    served: int = 0
    walked: int = 0
    failed_rentals: int = 0
    failed_returns: int = 0
    improper: int = 0
    extra_ride_h: float = 0.0
    bikes_moved: int = 0
    van_m: float = 0.0
    plans: int = 0
    deterred: int = 0
    ebike: int = 0

    def minus(self, other: Counters) -> Counters:
        """Counts accumulated since ``other`` was taken."""
        return Counters(**{k: getattr(self, k) - getattr(other, k) for k in self.__dict__})


@dataclass
class SimResult:
    """What one simulated run measured (after warm-up)."""

    counts: Counters
    fleet: int
    measured_h: float
    level_time: list[NDArray[np.float64]]  # per station: hours spent at each stock level
    hourly: list[tuple[float, float, float, int, int]]  # (t, empty share, full share, riding, on vans)
    bike_checks: list[tuple[float, int, int, int, int]] = field(default_factory=list)
    planning_s: float = 0.0


class BikeSim:
    """State and processes of one run; see the module docstring.

    Parameters
    ----------
    net:
        The stations.
    trips:
        Trip requests of the run.
    park_u:
        One uniform number per trip (improper-parking decision at dockless points).
    speed_m_h, walk_m_max:
        Riding speed (metres per hour) and maximum walk (metres).
    horizon_h, warmup_h:
        Run length and the statistics cut-off.
    van_speed_m_h, van_handling_h:
        Van driving speed and handling time per bike.
    response:
        The availability response ``(elasticity, memory, ebike_share, u)`` with ``u`` one uniform
        number per trip, or ``None``: every request is tried (the model without the response).
    """

    def __init__(
        self,
        net: Network,
        trips: Trips,
        park_u: NDArray[np.float64],
        *,
        speed_m_h: float,
        walk_m_max: float,
        horizon_h: float,
        warmup_h: float,
        van_speed_m_h: float = 20000.0,
        van_handling_h: float = 30.0 / 3600.0,
        check_every_h: float | None = None,
        response: tuple[float, float, float, NDArray[np.float64]] | None = None,
        environment: Callable[[], simpy.Environment] = simpy.Environment,
    ) -> None:
        self.env = environment()
        self.net = net
        self.trips = trips
        self.horizon_h = horizon_h
        self.warmup_h = warmup_h
        self.speed_m_h = speed_m_h
        self.van_speed_m_h = van_speed_m_h
        self.van_handling_h = van_handling_h
        n = net.n
        self.stock: list[int] = net.stock.tolist()
        self.cap: list[int] = net.capacity.tolist()
        self.docked: list[bool] = net.docked.tolist()
        self.improper_share: list[float] = net.improper_share.tolist()
        self.xs: list[float] = net.xy[:, 0].tolist()
        self.ys: list[float] = net.xy[:, 1].tolist()
        near_i = net.near_idx.tolist()
        near_d = net.near_dist.tolist()
        self.near: list[list[tuple[int, float]]] = [
            list(zip(i, d, strict=True)) for i, d in zip(near_i, near_d, strict=True)
        ]
        self.walk_near: list[list[int]] = [
            [j for j, d in row if d <= walk_m_max] for row in self.near
        ]
        self.last: list[float] = [0.0] * n
        self.level: list[list[float]] = [[0.0] * (c + 1) for c in self.cap]
        self.dest: list[int] = trips.dest.tolist()
        self.ride: list[float] = trips.ride_h.tolist()
        self.park_u: list[float] = park_u.tolist()
        self.riding = 0
        self.vans: list[VanState] = []
        self.c = Counters()
        self._warm = Counters()
        self.fleet = int(net.stock.sum())
        self.hourly: list[tuple[float, float, float, int, int]] = []
        self.bike_checks: list[tuple[float, int, int, int, int]] = []
        self.planning_s = 0.0
        self.response = response
        # perceived availability of a bike / a free dock at each station (the response's memory)
        self.seen_bike: list[float] = [1.0] * n
        self.seen_dock: list[float] = [1.0] * n
        self.env.process(self._riders())
        self.env.process(self._sampler())
        if warmup_h > 0:
            self.env.process(self._warmup())
        if check_every_h:
            self.env.process(self._checker(check_every_h))

    # ---- riders -----------------------------------------------------------------------
    def _riders(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        timeout = env.timeout
        arrive = self._arrive
        stock, last, level, walk_near = self.stock, self.last, self.level, self.walk_near
        c = self.c
        t_req = self.trips.t_h.tolist()
        origin = self.trips.origin.tolist()
        ride = self.ride
        dest, cap, docked = self.dest, self.cap, self.docked
        resp = self.response is not None
        elasticity, alpha, ebike, resp_u = (
            (self.response[0], 1.0 / self.response[1], self.response[2], self.response[3].tolist())
            if self.response is not None else (0.0, 0.0, 0.0, []))
        seen_bike, seen_dock = self.seen_bike, self.seen_dock
        for k, t in enumerate(t_req):
            if t > env.now:
                yield timeout(t - env.now)
            s = origin[k]
            st = stock[s]
            if resp:
                # decide on what was perceived so far, then remember what is seen now (the app)
                d0 = dest[k]
                p = (seen_bike[s] * seen_dock[d0]) ** elasticity
                seen_bike[s] += ((1.0 if st > 0 else 0.0) - seen_bike[s]) * alpha
                free = 1.0 if stock[d0] < cap[d0] or not docked[d0] else 0.0
                seen_dock[d0] += (free - seen_dock[d0]) * alpha
                u = resp_u[k]
                if u >= p:
                    c.deterred += 1
                    # conditionally on being deterred, (u - p) / (1 - p) is uniform
                    if u - p < ebike * (1.0 - p):
                        c.ebike += 1
                    continue
                if st == 0 and u < ebike * p and not any(stock[j] > 0 for j in walk_near[s]):
                    c.ebike += 1  # a failed rental (below) whose rider takes an e-bike
            c.requests += 1
            if st == 0:
                for j in walk_near[s]:
                    if stock[j] > 0:
                        s = j
                        st = stock[j]
                        break
                else:
                    c.failed_rentals += 1
                    continue
                c.walked += 1
                d = self.dest[k]
                ride[k] = max(self.net.road_detour * math.hypot(self.xs[d] - self.xs[s], self.ys[d] - self.ys[s])
                              / self.speed_m_h, MIN_TRIP_H)
            lv = level[s]
            lv[st if st < len(lv) else -1] += t - last[s]
            last[s] = t
            stock[s] = st - 1
            self.riding += 1
            c.served += 1
            ev = timeout(ride[k], k)
            ev.callbacks.append(arrive)

    def _arrive(self, ev: simpy.Event) -> None:
        k: int = ev._value  # noqa: SLF001 - the trip index travels as the timeout's value
        s = self.dest[k]
        st = self.stock[s]
        now = self.env.now
        if self.response is not None:
            free = 1.0 if st < self.cap[s] or not self.docked[s] else 0.0
            self.seen_dock[s] += (free - self.seen_dock[s]) / self.response[1]
        if st >= self.cap[s] and self.docked[s]:
            self.c.failed_returns += 1
            j, d = self._free_dock_near(s)
            dt = d / self.speed_m_h
            self.c.extra_ride_h += dt
            self.dest[k] = j
            ev2 = self.env.timeout(dt, k)
            ev2.callbacks.append(self._arrive)
            return
        lv = self.level[s]
        lv[st if st < len(lv) else -1] += now - self.last[s]
        self.last[s] = now
        self.stock[s] = st + 1
        self.riding -= 1
        if not self.docked[s] and (st >= self.cap[s] or self.park_u[k] < self.improper_share[s]):
            self.c.improper += 1

    def _free_dock_near(self, s: int) -> tuple[int, float]:
        """Nearest station to ``s`` that accepts a bike, and its road distance (metres)."""
        stock, cap, docked = self.stock, self.cap, self.docked
        for j, d in self.near[s]:
            if stock[j] < cap[j] or not docked[j]:
                return j, d
        # every listed neighbour is full: search the whole city (rare)
        ok = (np.asarray(stock) < np.asarray(cap)) | ~self.net.docked
        ok[s] = False
        cand = np.flatnonzero(ok)
        if len(cand) == 0:
            raise RuntimeError("no free dock anywhere: the fleet exceeds the docks")
        dist = self.net.road_distance(np.full(len(cand), s), cand)
        best = int(np.argmin(dist))
        return int(cand[best]), float(dist[best])

    # ---- vans -------------------------------------------------------------------------
    def add_van(self, capacity: int, x: float, y: float, load: int = 0, at: int = -1) -> VanState:
        """Put a van into service; its ``load`` bikes are part of the fleet; ``at``: the
        station it stands at (needed on the street network)."""
        van = VanState(capacity, x, y, load, at=at)
        self.vans.append(van)
        self.fleet += load
        return van

    def drive(self, van: VanState, stops: list[tuple[int, int]], unload: bool = False) -> simpy.Process:
        """Start a van process that drives ``stops`` (station, +pickup / -drop-off quantity).

        ``unload``: at the end of the route, leave any bikes still on board at the nearest
        stations with room (the end of a shift: bikes on a parked van are out of service).
        """
        van.busy = True
        return self.env.process(self._van(van, stops, unload))

    def _nearest_room(self, x: float, y: float) -> int:
        """The station nearest to ``(x, y)`` that can take a bike (-1 if none)."""
        ok = (np.asarray(self.stock) < self.net.capacity) | ~self.net.docked
        cand = np.flatnonzero(ok)
        if len(cand) == 0:
            return -1
        d = np.hypot(self.net.xy[cand, 0] - x, self.net.xy[cand, 1] - y)
        return int(cand[int(np.argmin(d))])

    def _van(self, van: VanState, stops: list[tuple[int, int]], unload: bool
             ) -> Generator[simpy.Event, Any, None]:
        yield from self._visit(van, stops)
        while unload and van.load > 0:
            s = self._nearest_room(van.x, van.y)
            if s < 0:
                break
            yield from self._visit(van, [(s, -van.load)])
        van.busy = False

    def _visit(self, van: VanState, stops: list[tuple[int, int]]) -> Generator[simpy.Event, Any, None]:
        env, c = self.env, self.c
        roads = self.net.roads
        for s, qty in stops:
            if roads is None or van.at < 0:
                d = self.net.road_detour * math.hypot(self.xs[s] - van.x, self.ys[s] - van.y)
                if d > 0:
                    yield env.timeout(d / self.van_speed_m_h)
            else:
                # on the street network a leg takes the length and time of its start hour's period
                p = roads.period(env.now)
                d = float(roads.distance_m[p, van.at, s])
                if d > 0:
                    yield env.timeout(float(roads.duration_s[p, van.at, s]) / 3600.0)
            c.van_m += d
            van.x, van.y = self.xs[s], self.ys[s]
            van.at = s
            st = self.stock[s]
            if qty > 0:
                q = min(qty, st, van.capacity - van.load)
            else:
                room = self.cap[s] - st if self.docked[s] else -qty
                q = -min(-qty, room, van.load)
            if q == 0:
                continue
            lv = self.level[s]
            lv[st if st < len(lv) else -1] += env.now - self.last[s]
            self.last[s] = env.now
            self.stock[s] = st - q
            van.load += q
            c.bikes_moved += abs(q)
            yield env.timeout(abs(q) * self.van_handling_h)

    # ---- statistics ---------------------------------------------------------------------
    def _warmup(self) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(self.warmup_h)
        now = self.env.now
        for s in range(len(self.level)):
            self.level[s] = [0.0] * len(self.level[s])
            self.last[s] = now
        self._warm = Counters(**self.c.__dict__)

    def _sampler(self) -> Generator[simpy.Event, Any, None]:
        cap = self.net.capacity
        # a station without docks (closed) is no station: left out of the empty and full shares
        open_ = cap > 0
        n = max(int(open_.sum()), 1)
        while True:
            st = np.asarray(self.stock)
            self.hourly.append((
                self.env.now,
                float(((st == 0) & open_).sum()) / n,
                float(((st >= cap) & open_).sum()) / n,
                self.riding,
                sum(v.load for v in self.vans),
            ))
            yield self.env.timeout(1.0)

    def _checker(self, every_h: float) -> Generator[simpy.Event, Any, None]:
        while True:
            self.bike_checks.append(self.bike_count())
            yield self.env.timeout(every_h)

    def bike_count(self) -> tuple[float, int, int, int, int]:
        """``(time, bikes at stations, being ridden, on vans, docked stations over capacity)``."""
        over = sum(1 for s, c, d in zip(self.stock, self.cap, self.docked, strict=True) if d and s > c)
        return (self.env.now, sum(self.stock), self.riding, sum(v.load for v in self.vans), over)

    # ---- run ----------------------------------------------------------------------------
    def run(self, on_end: Callable[[], None] | None = None) -> SimResult:
        """Simulate to the horizon and collect the results."""
        self.env.run(until=self.horizon_h)
        end = self.horizon_h
        for s in range(len(self.level)):
            st = self.stock[s]
            lv = self.level[s]
            lv[st if st < len(lv) else -1] += end - self.last[s]
            self.last[s] = end
        if on_end is not None:
            on_end()
        self.bike_checks.append(self.bike_count())
        return SimResult(
            counts=self.c.minus(self._warm),
            fleet=self.fleet,
            measured_h=self.horizon_h - self.warmup_h,
            level_time=[np.asarray(lv) for lv in self.level],
            hourly=[h for h in self.hourly if h[0] >= self.warmup_h],
            bike_checks=self.bike_checks,
            planning_s=self.planning_s,
        )
