"""Rebalancing policies as SimPy processes: targets, van territories and calls to the optimiser.

* **overnight** (night shift, once per day): targets for the coming day, either
  ``proportional`` (every station filled to the system's average fill) or ``dissatisfaction``
  (Raviv & Kolka: the stocks minimising the expected failed rentals and returns from the end of
  the night shift to midnight, under the number of bikes available);
* **dynamic** (day shift): every ``replan_interval_min`` the idle vans get new routes towards
  the minimisers of the dissatisfaction function of the next ``lookahead_h`` hours, starting
  from the current stock - the function folds in the forecast demand of the window.

Each van works a territory (recursive coordinate bisection of the stations into as many
balanced parts as there are vans) and its routes come from :func:`optimize.rebalancing.solve`
on that territory's most valuable stations.  Planning wall time (targets and routes) is
accumulated in ``sim.planning_s`` (reported by the benchmark, never a metric: it is not
reproducible).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from optimize.budget import Budget
from optimize.rebalancing import RebalancingProblem, RoadLegs, SolveParams, Van, solve
from simcity.bikes.config import City, Policy
from simcity.bikes.dissatisfaction import allocate, cached_dissatisfaction
from simcity.bikes.network import Network, apportion
from simcity.bikes.sim import BikeSim, VanState


def territories(xy: NDArray[np.float64], parts: int) -> list[NDArray[np.int64]]:
    """Split points into ``parts`` groups of near-equal size by recursive coordinate bisection."""
    out: list[NDArray[np.int64]] = []

    def split(idx: NDArray[np.int64], k: int) -> None:
        if k == 1 or len(idx) <= 1:
            out.append(idx)
            for _ in range(k - 1):
                out.append(np.zeros(0, dtype=np.int64))
            return
        pts = xy[idx]
        axis = int(np.argmax(pts.max(axis=0) - pts.min(axis=0)))
        order = idx[np.argsort(pts[:, axis], kind="stable")]
        k1 = k // 2
        cut = int(round(len(idx) * k1 / k))
        split(order[:cut], k1)
        split(order[cut:], k - k1)

    split(np.arange(len(xy), dtype=np.int64), parts)
    return out


class Rebalancer:
    """The rebalancing policy of one run (see the module docstring)."""

    def __init__(self, sim: BikeSim, city: City, policy: Policy,
                 lam: NDArray[np.float64], mu: NDArray[np.float64]) -> None:
        self.sim = sim
        self.policy = policy
        self.net: Network = sim.net
        self.lam = lam
        self.mu = mu
        self.van_cap = city.vans.capacity
        self.van_speed_m_s = city.vans.speed_kmh / 3.6
        self.handling_s = city.vans.handling_s_per_bike
        self.zones = territories(self.net.xy, policy.vans)
        self.vans: list[VanState] = []
        for z in self.zones:
            # a van is stationed at the station nearest its territory's centroid
            at = -1
            if len(z):
                c = self.net.xy[z].mean(axis=0)
                home = z[int(np.argmin(np.hypot(*(self.net.xy[z] - c).T)))]
                x, y = self.net.xy[home]
                at = int(home)
            else:
                x, y = self.net.xy.mean(axis=0)
            self.vans.append(sim.add_van(self.van_cap, float(x), float(y), at=at))
        # the stations of each van's last plan (warm start of its next one)
        self._last: list[tuple[int, ...]] = [() for _ in self.vans]
        self._F_cache: dict[tuple[float, float], NDArray[np.float64]] = {}
        env = sim.env
        if policy.overnight != "none":
            env.process(self._overnight())
        if policy.daytime == "dynamic":
            env.process(self._dynamic())

    # ---- targets ------------------------------------------------------------------------
    def _F(self, start_h: float, end_h: float) -> NDArray[np.float64]:
        # rates repeat every day, so a window's function is the same on every day of the run
        key = (round(start_h % 24.0, 9), round(end_h - start_h, 9))
        F = self._F_cache.get(key)
        if F is None:
            # shared by the runs of a process: the same rates and docks give the same function
            F = cached_dissatisfaction(self.lam, self.mu, self.net.capacity, start_h, end_h,
                                       self.policy.failed_return_weight)
            self._F_cache[key] = F
        return F

    def _available(self) -> int:
        return sum(self.sim.stock) + sum(v.load for v in self.vans)

    def _targets_overnight(self) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        stock = np.asarray(self.sim.stock, dtype=np.int64)
        cap = self.net.capacity
        bikes = min(self._available(), int(cap.sum()))
        if self.policy.overnight == "proportional":
            return apportion(cap.astype(float), bikes, cap), np.ones(self.net.n)
        p = self.policy
        # the coming day: from the end of this night shift to the start of the next
        F = self._F(p.night_end_h, 24.0 + p.night_start_h)
        target = allocate(F, cap, bikes)
        return target, self._values(F, stock, target)

    def _values(self, F: NDArray[np.float64], stock: NDArray[np.int64], target: NDArray[np.int64]
                ) -> NDArray[np.float64]:
        """Expected failures avoided per bike moved from ``stock`` to ``target``."""
        rows = np.arange(len(stock))
        s = np.minimum(stock, self.net.capacity)
        gain = F[rows, s] - F[rows, target]
        moved = np.maximum(np.abs(stock - target), 1)
        return np.maximum(gain, 0.0) / moved

    # ---- planning -----------------------------------------------------------------------
    def _plan(self, target: NDArray[np.int64], values: NDArray[np.float64], budget_h: float,
              vans: list[int], last_of_shift: bool) -> None:
        sim = self.sim
        stock = np.asarray(sim.stock, dtype=np.int64)
        # dockless points may hold more than their designated spaces
        cap = np.maximum(self.net.capacity, target)
        for v in vans:
            zone = self.zones[v]
            if len(zone) == 0:
                continue
            van = self.vans[v]
            vals = values[zone]
            problem = RebalancingProblem(
                stock=stock[zone], target=target[zone], capacity=cap[zone],
                positions=self.net.xy[zone],
                vans=(Van(capacity=van.capacity, x=van.x, y=van.y, load=van.load,
                          time_budget_s=budget_h * 3600.0, speed_m_s=self.van_speed_m_s,
                          handling_s_per_bike=self.handling_s,
                          end_load_value=float(vals.max()) * 1.01 if last_of_shift else 0.0),),
                value_per_bike=vals,
                metres_per_value=self.policy.bike_value_m,
                detour=self.net.road_detour,
                roads=self._road_legs(zone, van, budget_h),
            )
            initial = None
            if self.policy.warm_start and self._last[v]:
                local = {int(st): k for k, st in enumerate(zone)}
                initial = (tuple(local[st] for st in self._last[v] if st in local),)
            plan = solve(problem, SolveParams(max_candidates=self.policy.candidates_per_van,
                                              chunk=max(1, van.capacity // 2),
                                              budget=Budget.work(self.policy.plan_effort),
                                              initial_routes=initial))
            stops = [(int(zone[s.station]), s.quantity) for s in plan.routes[0].stops]
            self._last[v] = tuple(st for st, _ in stops)
            sim.c.plans += 1
            if stops or (last_of_shift and van.load > 0):
                sim.drive(van, stops, unload=last_of_shift)

    def _road_legs(self, zone: NDArray[np.int64], van: VanState, budget_h: float) -> RoadLegs | None:
        """The street-network legs of a plan starting now for ``budget_h`` hours: the matrices
        of the hours it covers (:meth:`simcity.roads.RoadMatrices.over`), between the
        territory's stations and from the van's station; ``None`` on straight lines."""
        roads = self.net.roads
        if roads is None or van.at < 0:
            return None
        now = self.sim.env.now
        tm = roads.over(now, now + budget_h)
        assert tm.duration_s is not None
        return RoadLegs(tm.distance_m[np.ix_(zone, zone)], tm.duration_s[np.ix_(zone, zone)],
                        tm.distance_m[van.at, zone][None, :], tm.duration_s[van.at, zone][None, :])

    def _overnight(self) -> Generator[simpy.Event, Any, None]:
        p = self.policy
        env = self.sim.env
        day = 0
        while True:
            start = 24.0 * day + p.night_start_h
            if start >= self.sim.horizon_h:
                return
            if start > env.now:
                yield env.timeout(start - env.now)
            t0 = time.perf_counter()
            target, values = self._targets_overnight()
            idle = [v for v, van in enumerate(self.vans) if not van.busy]
            self._plan(target, values, p.night_end_h - p.night_start_h, idle, last_of_shift=True)
            self.sim.planning_s += time.perf_counter() - t0
            day += 1

    def _dynamic(self) -> Generator[simpy.Event, Any, None]:
        p = self.policy
        env = self.sim.env
        step = p.replan_interval_min / 60.0
        day = 0
        while 24.0 * day < self.sim.horizon_h:
            t = 24.0 * day + p.day_start_h
            end = 24.0 * day + p.day_end_h
            while t < end - 1e-9 and t < self.sim.horizon_h:
                if t > env.now:
                    yield env.timeout(t - env.now)
                t0 = time.perf_counter()
                hod = t - 24.0 * day
                F = self._F(hod, hod + p.lookahead_h)
                stock = np.asarray(self.sim.stock, dtype=np.int64)
                Fs = np.where(np.isfinite(F), F, np.inf)
                target = np.argmin(Fs, axis=1).astype(np.int64)
                values = self._values(F, stock, target)
                budget = min(step, end - t)
                idle = [v for v, van in enumerate(self.vans) if not van.busy]
                self._plan(target, values, budget, idle, last_of_shift=t + step >= end - 1e-9)
                self.sim.planning_s += time.perf_counter() - t0
                t += step
            day += 1
