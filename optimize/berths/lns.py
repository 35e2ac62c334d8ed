"""Large neighbourhood search with exact CP-SAT re-optimisation of sub-problems.

On 200+ requests the full CP-SAT model, even hinted, improves slowly on two cores: its
LNS workers get little time next to the full-problem worker.  Here Python drives the LNS
and CP-SAT solves each neighbourhood to optimality (or to a short limit):

* **berth neighbourhood** — all requests on a few berths, free to be reassigned among them
  and resequenced;
* **time neighbourhood** — a block of requests consecutive in start time, free on every
  berth, with the fixed requests' periods blocked.

A neighbourhood is accepted when strictly cheaper.  Its size adapts: grows while
sub-problems are proven optimal quickly, shrinks when they time out.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from optimize.berths._data import Compiled, restrict
from optimize.berths.sequence import IndexSchedule, schedule_cost

#: ``(sub-problem, hint, time limit, seed) -> optimised sub-schedule or None``
SubSolver = Callable[[Compiled, IndexSchedule, float, int], IndexSchedule | None]


def _subproblem(
    data: Compiled, sched: IndexSchedule, free: list[int], berths: list[int]
) -> tuple[Compiled, IndexSchedule]:
    free_set = set(free)
    pos = {k: kk for kk, k in enumerate(berths)}
    blocked: list[list[tuple[int, int]]] = [[] for _ in berths]
    for i, (k, t) in enumerate(sched):
        if i in free_set or k not in pos:
            continue
        h = data.handling[i][k]
        assert h is not None
        blocked[pos[k]].append((t, t + h))
    sub = restrict(data, free, berths, blocked)
    hint = [(pos[sched[i][0]], sched[i][1]) for i in free]
    return sub, hint


def improve(
    data: Compiled,
    sched: IndexSchedule,
    solve_sub: SubSolver,
    time_budget: float,
    seed: int,
    stall_limit: int = 40,
    target: float | None = None,
) -> tuple[IndexSchedule, int]:
    """Run the LNS for at most ``time_budget`` seconds; return the best schedule and #moves.

    Parameters
    ----------
    data
        The problem.
    sched
        A feasible starting schedule.
    solve_sub
        ``solve_sub(sub, hint, time_limit, seed)`` returns an optimised sub-schedule or ``None``.
    time_budget
        Seconds.
    seed
        Seeds the neighbourhood choice (one numpy Generator) and the sub-solves.
    stall_limit
        Stop after this many neighbourhoods in a row without improvement.
    target
        Stop once the cost reaches this (a proven lower bound).
    """
    rng = np.random.default_rng(seed)
    deadline = time.perf_counter() + time_budget
    cur = list(sched)
    cur_cost = schedule_cost(data, cur)
    size = min(data.n, 30)
    stall = 0
    accepted = 0
    it = 0
    while stall < stall_limit and (target is None or cur_cost > target + 1e-9):
        left = deadline - time.perf_counter()
        if left < 0.2:
            break
        it += 1
        if data.m > 1 and rng.random() < 0.5:
            per_berth = max(1.0, data.n / data.m)
            nb = int(min(data.m, max(2, round(size / per_berth))))
            berths = sorted(int(k) for k in rng.choice(data.m, size=nb, replace=False))
            chosen = set(berths)
            free = [i for i in range(data.n) if cur[i][0] in chosen]
        else:
            berths = list(range(data.m))
            order = sorted(range(data.n), key=lambda i: (cur[i][1], i))
            first = int(rng.integers(0, max(1, data.n - size + 1)))
            free = sorted(order[first:first + size])
        if not free:
            stall += 1
            continue
        sub, hint = _subproblem(data, cur, free, berths)
        limit = min(left, 2.0)
        t0 = time.perf_counter()
        new = solve_sub(sub, hint, limit, int(rng.integers(0, 2**31 - 1)))
        took = time.perf_counter() - t0
        if took < 0.5 * limit:
            size = min(data.n, size + 4)
        elif took >= 0.95 * limit:
            size = max(10, size - 4)
        if new is None:
            stall += 1
            continue
        cand = list(cur)
        for kk, i in enumerate(free):
            k_sub, t = new[kk]
            cand[i] = (berths[k_sub], t)
        cost = schedule_cost(data, cand)
        if cost < cur_cost - 1e-9:
            cur, cur_cost = cand, cost
            accepted += 1
            stall = 0
        else:
            stall += 1
    return cur, accepted
