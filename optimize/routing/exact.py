"""Proven optima of small problems: every feasible route, then set partitioning.

A problem with a handful of stops (a van's rebalancing round, a district's bins on one
day) does not need a heuristic.  :func:`enumerate_routes` lists, per vehicle type, every
feasible visiting order of every set of stops — a depth-first search that extends an
order only while the stops so far can be reached within their windows and the load fits
— and keeps the cheapest order of each set.  Route feasibility and cost are PyVRP's own
(``pyvrp.Route``), so they match the search backends exactly.  Choosing the routes is then
the set-partitioning problem of :mod:`optimize.routing.recombine` over *all* routes, which
HiGHS solves to optimality: the answer is a proven optimum (status ``"optimal"``) of the
problem as PyVRP models it — and of the problem itself when the cost coefficients scale to
integers exactly (:func:`optimize.routing._assemble.costs_scale_exactly`).

The number of orders grows factorially.  With distance-only costs a dominance rule (see
``_enumerate_type``) keeps it near the dynamic programme's size: 8 stops without windows
took 0.08 s here, 10 stops 0.9 s.  With time costs or duration limits there is no such rule
and 400 000 partial orders (about 4 s) are reached at 9 free stops.  Enumeration stops (and
the caller falls back to the search) beyond ``max_orders`` partial orders or past its
deadline.  Problems with facilities are not handled (a route with reloads is not a single
trip).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyvrp

from optimize.routing.recombine import Column, best_partition, route_cost

#: Largest number of stops tried by default; beyond it enumeration is rarely complete.
MAX_STOPS = 10
#: Partial orders explored before giving up.
MAX_ORDERS = 400_000
#: PyVRP's "no limit" for durations is the largest int64; anything this large is none.
_UNLIMITED = 2**62


class _Exhausted(Exception):
    """The enumeration ran past its order budget or deadline."""


def enumerate_routes(data: pyvrp.ProblemData, deadline: float,
                     max_orders: int = MAX_ORDERS) -> list[Column] | None:
    """The cheapest feasible route of every (vehicle type, set of clients), or ``None``
    when the enumeration cannot finish within ``max_orders`` partial orders or by
    ``deadline`` (a ``time.perf_counter()`` reading).

    A partial order is extended only while every client in it can be started within its
    window when the vehicle leaves as early as it may, and while the summed pickups and
    deliveries fit the capacity: both are necessary for any route that starts with it,
    so no feasible route is missed.  Each candidate is then judged by PyVRP in full
    (return to the depot, shift duration, flexible start).
    """
    best: dict[tuple[int, int], Column] = {}
    budget = [max_orders]
    try:
        for t in range(data.num_vehicle_types):
            _enumerate_type(data, t, best, budget, deadline)
    except _Exhausted:
        return None
    return list(best.values())


def _enumerate_type(data: pyvrp.ProblemData, t: int, best: dict[tuple[int, int], Column],
                    budget: list[int], deadline: float) -> None:
    clients = data.clients()
    n = len(clients)
    vt = data.vehicle_type(t)
    dur = np.asarray(data.duration_matrix(vt.profile)).tolist()
    dist = np.asarray(data.distance_matrix(vt.profile)).tolist()
    cap = tuple(vt.capacity)
    pickup = [tuple(c.pickup) for c in clients]
    delivery = [tuple(c.delivery) for c in clients]
    # Dominance (the labels of dynamic programming): when a route's cost and feasibility
    # depend on time only through the windows, an order that reaches the same stops,
    # ending at the same one, no earlier and with no less distance than another cannot
    # lead to a cheaper route, and is not extended.  Not with duration costs or limits:
    # a later start may then be better.
    prune = (vt.unit_duration_cost == 0 and vt.shift_duration >= _UNLIMITED
             and vt.max_duration >= _UNLIMITED and vt.max_overtime == 0)
    labels: dict[tuple[int, int], list[tuple[int, int]]] = {}
    order: list[int] = []

    def extend(mask: int, loc: int, ready: int, length: int, picked: tuple[int, ...],
               dropped: tuple[int, ...]) -> None:
        for j in range(n):
            if mask >> j & 1:
                continue
            c = clients[j]
            start = max(ready + dur[loc][c.location], c.tw_early, c.release_time)
            if start > c.tw_late:
                continue
            p = tuple(a + b for a, b in zip(picked, pickup[j], strict=True))
            d = tuple(a + b for a, b in zip(dropped, delivery[j], strict=True))
            if any(x > k for x, k in zip(p, cap, strict=True)) or \
                    any(x > k for x, k in zip(d, cap, strict=True)):
                continue
            new_mask = mask | 1 << j
            ready_j = start + c.service_duration
            length_j = length + dist[loc][c.location]
            if prune:
                seen = labels.setdefault((new_mask, j), [])
                if any(r <= ready_j and g <= length_j for r, g in seen):
                    continue
                seen.append((ready_j, length_j))
            budget[0] -= 1
            if budget[0] < 0 or (budget[0] & 1023 == 0 and time.perf_counter() > deadline):
                raise _Exhausted
            order.append(j)
            route = pyvrp.Route(data, order, t)
            if route.is_feasible():
                key = (t, new_mask)
                cost = route_cost(route)
                old = best.get(key)
                if old is None or cost < old.cost:
                    best[key] = Column(t, tuple(order), cost)
            extend(new_mask, c.location, ready_j, length_j, p, d)
            order.pop()

    zero = (0,) * len(cap)
    extend(0, int(data.depot(vt.start_depot).location), vt.tw_early, 0, zero, zero)


def solve_exact(data: pyvrp.ProblemData, time_limit: float | None,
                max_orders: int = MAX_ORDERS) -> list[Column] | None:
    """The routes of a proven optimal solution (none when no route can visit any stop and
    every stop is optional), or ``None`` when it cannot be proven within the limits (too many
    orders, out of time) or no solution exists (the caller's search then finds one or
    diagnoses the problem).

    ``time_limit=None`` sets no deadline, only the ``max_orders`` budget, so that the
    outcome does not depend on machine speed (for reproducible runs).
    """
    t0 = time.perf_counter()
    if data.num_clients == 0:
        return None
    deadline = math.inf if time_limit is None else t0 + time_limit
    columns = enumerate_routes(data, deadline, max_orders)
    if columns is None:
        return None
    if not columns and not any(c.required for c in data.clients()):
        return []  # no route can visit any stop and none is required: visiting none is optimal
    # a few thousand columns at most: HiGHS solves it in milliseconds
    left = 60.0 if time_limit is None else max(0.05, deadline - time.perf_counter())
    chosen, proven = best_partition(data, columns, (), left, hard_limit=False)
    return chosen if chosen is not None and proven else None
