"""Ruin and recreate for berth schedules: remove a cluster of requests and reinsert them
cheapest-first, keeping the best; run with several seeds in worker processes."""

from __future__ import annotations

import time

import numpy as np

from optimize.berths._data import Compiled
from optimize.berths.sequence import (
    IndexSchedule,
    insertion_costs,
    schedule_cost,
    sequence_cost,
    sequences,
    timed,
)
from optimize.pool import map_processes


def _cheapest_insertion(
    data: Compiled, i: int, seqs: list[list[int]], costs: list[float]
) -> tuple[float, int, int, float] | None:
    """(added cost, berth, position, new berth cost) of the cheapest place for ``i``."""
    best: tuple[float, int, int, float] | None = None
    for k in range(data.m):
        if data.handling[i][k] is None or not data.fits(i, k):
            continue
        for q, c in enumerate(insertion_costs(data, k, seqs[k], i)):
            if c is None:
                continue
            add = c - costs[k]
            if best is None or add < best[0]:
                best = (add, k, q, c)
    return best


def ruin_recreate(
    data: Compiled, sched: IndexSchedule, time_budget: float, seed: int,
    target: float | None = None, stall_limit: int | None = None,
) -> IndexSchedule:
    """Iterated ruin-and-recreate around ``sched`` (record-to-record acceptance).

    Each step removes the requests starting nearest a random time (or all requests of two
    random berths), reinserts them one by one at their cheapest place in the berth
    sequences, then relocates each of them once more.  A step is kept when it is within
    0.2 % of the best schedule seen; the best is returned.  The local search alone stops
    in a local optimum; removing a cluster of interacting requests at once is what lets the
    sequence on several berths change together.
    """
    rng = np.random.default_rng(seed)
    deadline = time.perf_counter() + time_budget
    seqs = sequences(data, sched)
    costs = [sequence_cost(data, k, seqs[k]) or 0.0 for k in range(data.m)]
    cur_total = sum(costs)
    best_total, best_seqs = cur_total, [list(s) for s in seqs]
    starts = timed(data, seqs)
    stall, limit = 0, stall_limit if stall_limit is not None else 50 * data.n
    while time.perf_counter() < deadline and (target is None or best_total > target + 1e-9):
        stall += 1
        if stall > limit:
            break
        size = int(rng.integers(min(4, data.n), min(data.n, 16) + 1))
        if rng.random() < 0.7 or data.m < 2:
            t = int(rng.integers(min(s for _, s in starts), max(s for _, s in starts) + 1))
            removed = sorted(range(data.n), key=lambda i: (abs(starts[i][1] - t), i))[:size]
        else:
            ks = set(int(k) for k in rng.choice(data.m, size=2, replace=False))
            removed = [i for k in ks for i in seqs[k]]
        new_seqs = [list(s) for s in seqs]
        gone = set(removed)
        new_costs = list(costs)
        for k in range(data.m):
            if any(i in gone for i in new_seqs[k]):
                new_seqs[k] = [i for i in new_seqs[k] if i not in gone]
                new_costs[k] = sequence_cost(data, k, new_seqs[k]) or 0.0
        order = list(removed)
        rng.shuffle(order)
        if rng.random() < 0.5:
            order.sort(key=lambda i: data.arrival[i])
        ok = True
        for i in order:
            ins = _cheapest_insertion(data, i, new_seqs, new_costs)
            if ins is None:
                ok = False
                break
            _, k, q, c = ins
            new_seqs[k].insert(q, i)
            new_costs[k] = c
        if not ok:
            continue
        total = sum(new_costs)
        if total < best_total * (1.0 + 0.002) or total < cur_total:
            seqs, costs, cur_total = new_seqs, new_costs, total
            starts = timed(data, seqs)
            if total < best_total - 1e-9:
                best_total, best_seqs = total, [list(s) for s in seqs]
                stall = 0
    return timed(data, best_seqs)


def _ruin_recreate_job(args: tuple[Compiled, IndexSchedule, float, int, float | None]) -> IndexSchedule:
    data, sched, budget, seed, target = args
    return ruin_recreate(data, sched, budget, seed, target)


def parallel_ruin_recreate(
    data: Compiled, sched: IndexSchedule, time_budget: float, seed: int, workers: int,
    target: float | None = None,
) -> IndexSchedule:
    """:func:`ruin_recreate` in ``workers`` processes with seeds ``seed, seed+1, …``; the best.

    The heuristics are pure Python and hold the GIL, so threads would not help; separate
    processes use the cores CP-SAT would otherwise use.  With ``workers == 1`` (or if a
    process pool cannot be started) it runs in this process.
    """
    if workers <= 1 or time_budget < 1.0:
        return ruin_recreate(data, sched, time_budget, seed, target)
    jobs = [(data, sched, time_budget, seed + w, target) for w in range(workers)]
    results = map_processes(_ruin_recreate_job, jobs, workers)
    # ties go to the lowest seed, so the choice is reproducible
    return min(results, key=lambda r: schedule_cost(data, r))
