"""Dock decisions as a policy lever: reallocate docks between stations, close stations.

``Policy.docks = "reallocated"`` moves at most ``max_moves`` docks (the docks of
``close_stations`` included) so as to minimise the expected dissatisfaction of the coming day
(:func:`~simcity.bikes.dissatisfaction.dissatisfaction`, Raviv & Kolka: failed rentals plus
``failed_return_weight`` x failed returns, from the end of the night shift to the start of the
next) with the fleet's bikes placed at their best - the method Freund, Henderson & Shmoys used
for Citi Bike, Boston and Chicago.  The optimisation is :mod:`optimize.docks` (pure, no SimPy);
this module builds its problem from the network and the demand rates and turns its plan into
a network with the new docks and starting bikes.

Bounds: a closed station ends with 0 docks; any other docked station may gain or lose at most
``max_dock_change`` docks and keeps at least ``min_docks`` (or what it has, if fewer today).
Dockless parking points are not touched.

The plan depends on the city and the policy only (not on the replication), so it is memoised
per process: replications of one policy share one optimisation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from optimize.budget import Budget
from optimize.docks import DockPlan, DockProblem, check_allocation, solve
from simcity.bikes.config import Policy
from simcity.bikes.dissatisfaction import dissatisfaction, poisson_terms
from simcity.bikes.network import Network, apportion

#: a station's docks are at most this (the schema's bound on Station.capacity)
MAX_DOCKS = 1000

_MEMO: dict[str, DockPlan] = {}
_MEMO_SIZE = 8


class DissatisfactionCost:
    """Raviv-Kolka expected failures of docked stations over one window (an
    :class:`optimize.docks.StationCost`): every (station, docks) pair of a request is one
    column of a single vectorised :func:`dissatisfaction` call.

    The uniformisation's Poisson terms are those of all the stations (:func:`poisson_terms`,
    fixed here), not of the stations of a request, so a pair's cost is a function of the pair
    alone - what the solver's cache assumes - and equals what one call for every station
    would give: the search may ask for pairs in any batches without changing its plan.
    """

    def __init__(self, lam: NDArray[np.float64], mu: NDArray[np.float64], start_h: float,
                 end_h: float, return_weight: float) -> None:
        self.lam = lam
        self.mu = mu
        self.start_h = start_h
        self.end_h = end_h
        self.return_weight = return_weight
        self.terms = poisson_terms(lam, mu, start_h, end_h)

    def __call__(self, stations: NDArray[np.int64], docks: NDArray[np.int64]) -> Sequence[NDArray[np.float64]]:
        """Cost by starting bikes for each (station, docks) pair."""
        st = np.asarray(stations, dtype=np.int64)
        dk = np.asarray(docks, dtype=np.int64)
        F = dissatisfaction(self.lam[:, st], self.mu[:, st], dk, self.start_h, self.end_h,
                            self.return_weight, terms=self.terms)
        return [F[k, : int(c) + 1] for k, c in enumerate(dk.tolist())]


def dock_bounds(capacity: NDArray[np.int64], closed: NDArray[np.bool_], policy: Policy
                ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``(lower, upper)`` docks per docked station under ``policy`` (module docstring)."""
    cap = np.asarray(capacity, dtype=np.int64)
    lower = np.minimum(cap, np.maximum(policy.min_docks, cap - policy.max_dock_change))
    upper = np.minimum(cap + policy.max_dock_change, MAX_DOCKS)
    upper = np.maximum(upper, cap)  # never forced down unless closed
    lower = np.where(closed, 0, lower)
    upper = np.where(closed, 0, upper)
    return lower.astype(np.int64), upper.astype(np.int64)


def reallocate(net: Network, lam: NDArray[np.float64], mu: NDArray[np.float64], policy: Policy
               ) -> tuple[Network, DockPlan]:
    """The network with ``policy``'s dock reallocation and the plan (checked independently).

    ``net`` carries today's docks and the run's starting stocks (fleet already scaled); the
    docked stations' starting bikes follow :func:`start_stock`, dockless points keep theirs.
    The plan's bikes are what the objective assumed the night shift achieves each morning.
    """
    docked = np.flatnonzero(net.docked)
    ids = [net.ids[k] for k in docked.tolist()]
    closed = np.isin(np.array(ids, dtype=object), np.array(list(policy.close_stations), dtype=object))
    cap = net.capacity[docked]
    lower, upper = dock_bounds(cap, closed, policy)
    bikes = int(net.stock[docked].sum())
    start, end = policy.night_end_h, 24.0 + policy.night_start_h
    key = _digest(cap, lower, upper, bikes, lam[:, docked], mu[:, docked],
                  (start, end, policy.failed_return_weight, policy.max_moves))
    plan = _MEMO.get(key)
    if plan is None:
        cost = DissatisfactionCost(np.ascontiguousarray(lam[:, docked]), np.ascontiguousarray(mu[:, docked]),
                                   start, end, policy.failed_return_weight)
        problem = DockProblem(docks=cap, lower=lower, upper=upper, bikes=bikes, cost=cost)
        plan = solve(problem, Budget.work(policy.max_moves))
        check_allocation(problem, plan, policy.max_moves).raise_if_invalid("dock reallocation")
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = plan
    capacity = net.capacity.copy()
    stock = net.stock.copy()
    capacity[docked] = plan.docks
    stock[docked] = start_stock(cap, net.stock[docked], plan.docks)
    return Network(**{**net.__dict__, "capacity": capacity, "stock": stock}), plan


def start_stock(today: NDArray[np.int64], stock: NDArray[np.int64], docks: NDArray[np.int64]
                ) -> NDArray[np.int64]:
    """Starting bikes on the new docks: each station keeps today's bikes per dock (a station with
    no docks today gets the system's average), apportioned to the same total.

    Not the plan's own bikes: a run that starts from the optimiser's ideal stocks carries that
    head start through the warm-up (vans cannot restore it every night), which would credit the
    reallocation with what is really a better start; docks-as-today runs start from today's
    fills, and so does this.
    """
    total = int(stock.sum())
    avg = total / max(int(today.sum()), 1)
    fill = np.where(today > 0, stock / np.maximum(today, 1), avg)
    weights = docks * fill
    if weights.sum() <= 0:
        weights = docks.astype(float)
    return apportion(weights.astype(float), total, np.asarray(docks, dtype=np.int64))


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(str(p.dtype).encode() + str(p.shape).encode())
            h.update(np.ascontiguousarray(p).tobytes())
        else:
            h.update(repr(p).encode())
    return h.hexdigest()
