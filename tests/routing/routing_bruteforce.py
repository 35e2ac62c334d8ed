"""Brute-force optimum of tiny routing problems, written without any solver code.

Supports: one vehicle type (``count`` vehicles, one or more compartments), fixed cost,
distance cost, time windows with waiting, service times, a shift, and optional stops with
penalties.  No facilities, breaks or time costs: those are covered by the checker
properties instead.  Every visiting order of every subset of stops is enumerated by
depth-first search (pruned by capacity and windows), then subsets are combined into at
most ``count`` disjoint routes by dynamic programming over bit masks.
"""

from __future__ import annotations

import math

from optimize.routing.model import Problem


def brute_force_cost(problem: Problem) -> float | None:
    """Optimal total cost, or ``None`` when no feasible solution exists."""
    assert len(problem.vehicle_types) == 1 and not problem.facilities
    vt = problem.vehicle_types[0]
    assert vt.cost_per_hour == 0 and vt.break_ is None
    stops = problem.stops
    n = len(stops)
    dist, dur = problem.distance, problem.duration
    s0, s1 = vt.shift if vt.shift is not None else (0, 10**9)
    depot_out, depot_in = vt.start_depot, vt.end_depot
    route_best = [math.inf] * (1 << n)  # distance of the shortest feasible route per subset

    def dfs(mask: int, loc: int, time: int, load: list[int], length: int) -> None:
        back = time + int(dur[loc, depot_in])
        if mask and back <= s1:
            total = length + int(dist[loc, depot_in])
            if total < route_best[mask]:
                route_best[mask] = total
        for j in range(n):
            if mask >> j & 1:
                continue
            st = stops[j]
            new_load = [a + b for a, b in zip(load, st.demand, strict=True)]
            if any(x > c for x, c in zip(new_load, vt.capacity, strict=True)):
                continue
            a, b = st.time_window if st.time_window is not None else (0, 10**9)
            start = max(time + int(dur[loc, st.location]), a)
            if start > b:
                continue
            dfs(mask | 1 << j, st.location, start + st.service_time, new_load,
                length + int(dist[loc, st.location]))

    dfs(0, depot_out, s0, [0] * len(vt.capacity), 0)
    route_cost = [vt.fixed_cost + vt.cost_per_km * d / 1000.0 if d < math.inf else math.inf
                  for d in route_best]
    # best[m] for r routes: cost of serving exactly the stops in m with <= r routes.
    full = (1 << n) - 1
    best = [math.inf] * (1 << n)
    best[0] = 0.0
    for _ in range(vt.count):
        nxt = best[:]
        for m in range(1, 1 << n):
            # Enumerate the route containing the lowest stop of m, to count each split once.
            low = m & -m
            sub = m
            while sub:
                if sub & low and route_cost[sub] < math.inf and best[m ^ sub] < math.inf:
                    c = best[m ^ sub] + route_cost[sub]
                    if c < nxt[m]:
                        nxt[m] = c
                sub = (sub - 1) & m
        best = nxt
    required = sum(1 << i for i, s in enumerate(stops) if s.required)
    answer = math.inf
    for m in range(1 << n):
        if m & required != required or best[m] == math.inf:
            continue
        skipped = full ^ m
        pen = sum(stops[i].penalty for i in range(n) if skipped >> i & 1)
        answer = min(answer, best[m] + pen)
    return None if answer == math.inf else answer
