"""Lower bounds on the optimal objective that CP-SAT's LP relaxation does not see.

CP-SAT's bound on the DBAP stays at the trivial "everyone served on arrival on the fastest
berth" value: the disjunctive (NoOverlap) constraints do not enter its LP in a way that
prices waiting.  The classical *mean busy time* relaxation does:

Merge the ``m`` berths into one machine of speed ``m`` and let request ``j`` need
``pⱼ = minₖ hⱼₖ`` units of work, released at ``rⱼ = minₖ max(aⱼ, openₖ)`` over its allowed
berths.  In any schedule, ``j`` is processed at rate 1 on ``[Sⱼ, Cⱼ)``, so its mean busy time
is ``Mⱼ = Cⱼ − pⱼ/2`` (at least, when its berth is slower), and the work profile of all
requests together is a valid preemptive schedule on the fast machine.  Over such schedules
``Σ wⱼ Mⱼ`` is minimised by preemptive WSPT (Goemans 1996: the mean-busy-time LP is solved
by that greedy order), hence

    OPT ≥ Σ wⱼ (M*ⱼ + pⱼ/2 − aⱼ)

with ``M*`` the mean busy times of preemptive WSPT on the fast machine.  It ignores which
berths a request may use and lateness penalties (both only raise the optimum), so it is
valid for every problem; it is strong when berths are congested, exactly where CP-SAT's
own bound is weakest.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from optimize.berths._data import Compiled


def mean_busy_time_bound(data: Compiled) -> float:
    """The fast-single-machine mean-busy-time lower bound described in the module docstring."""
    releases, works, weights = [], [], []
    for j in range(data.n):
        ks = [k for k in range(data.m) if data.fits(j, k)]
        if not ks:
            ks = [k for k in range(data.m) if data.handling[j][k] is not None]
        works.append(float(min(h for k in ks if (h := data.handling[j][k]) is not None)))
        releases.append(float(min(data.release[j][k] for k in ks)))
        weights.append(data.weight[j])
    return fast_machine_bound(releases, works, works, weights, data.arrival, float(data.m))


def fast_machine_bound(
    releases: Sequence[float], works: Sequence[float], durations: Sequence[float],
    weights: Sequence[float], arrivals: Sequence[int], speed: float,
) -> float:
    """``Σ wⱼ (M*ⱼ + durationⱼ/2 − aⱼ)`` with ``M*`` the mean busy times (over work units) of
    preemptive WSPT on one machine of the given ``speed``.

    Valid whenever job ``j`` is really processed at a constant rate ``worksⱼ/durationsⱼ``
    over ``[Sⱼ, Cⱼ)`` (so ``Cⱼ = Mⱼ + durationⱼ/2``) and the total rate never exceeds
    ``speed``: berths (rate 1, speed = number of berths, work = fastest handling) and the
    kerb (rate = vehicle length, speed = kerb length, work = length × handling).
    """
    n = len(works)
    if n == 0:
        return 0.0
    jobs = sorted((releases[j], works[j], j) for j in range(n))
    # preemptive WSPT: highest w/p first among released, ties by index (any order is optimal)
    busy = [0.0] * n  # integral of t over j's work, divided at the end by the work
    left = {j: p for _, p, j in jobs}
    heap: list[tuple[float, int]] = []
    t = 0.0
    idx = 0
    while idx < n or heap:
        if not heap:
            t = max(t, jobs[idx][0])
        while idx < n and jobs[idx][0] <= t:
            _, p, j = jobs[idx]
            heapq.heappush(heap, (-weights[j] / p, j))
            idx += 1
        _, j = heap[0]
        next_release = jobs[idx][0] if idx < n else float("inf")
        run = min(left[j] / speed, next_release - t)
        # j's work in [t, t+run) at rate `speed`: ∫ t dw = speed·(t·run + run²/2)
        busy[j] += speed * (t * run + run * run / 2.0)
        left[j] -= run * speed
        t += run
        if left[j] <= 1e-12:
            heapq.heappop(heap)
    return sum(weights[j] * (busy[j] / works[j] + durations[j] / 2.0 - arrivals[j])
               for j in range(n))


def completion_horizon(data: Compiled, upper_bound: float | None) -> list[int]:
    """Per request, a completion time no optimal schedule exceeds.

    With a schedule of cost ``UB`` known, request ``i`` with weight ``wᵢ > 0`` cannot end
    after ``aᵢ + (UB − Σⱼ≠ᵢ minimal cost of j) / wᵢ``; otherwise the left-shift bound of
    :meth:`Compiled.horizon` applies.
    """
    base = data.horizon()
    floor = []
    for i in range(data.n):
        ends = [data.release[i][k] + h for k in range(data.m)
                if (h := data.handling[i][k]) is not None and data.fits(i, k)]
        floor.append(data.cost(i, min(ends)) if ends else 0.0)
    total_floor = sum(floor)
    out = []
    for i in range(data.n):
        lim = base
        if upper_bound is not None and data.weight[i] > 0:
            slack = upper_bound - (total_floor - floor[i])
            lim = min(base, data.arrival[i] + int(math.floor(slack / data.weight[i] + 1e-9)))
        out.append(lim)
    return out


def _start_windows(data: Compiled, horizon: list[int]) -> Iterator[tuple[int, int, int, int, int]]:
    """``(i, k, h, first, last)``: the start times of request ``i`` on berth ``k``."""
    for i in range(data.n):
        for k in range(data.m):
            h = data.handling[i][k]
            if h is None or not data.fits(i, k):
                continue
            lim = data.limit[i][k]
            last = min(horizon[i] if lim is None else lim, horizon[i]) - h
            yield i, k, h, data.release[i][k], last


def time_indexed_size(data: Compiled, horizon: list[int]) -> int:
    """Non-zeros of the time-indexed model (a start variable covers ``h`` capacity rows)."""
    return sum(max(0, last - first + 1) * (h + 1)
               for _, _, h, first, last in _start_windows(data, horizon))


def time_indexed_bound(
    data: Compiled, upper_bound: float | None, time_limit: float, integral: bool = False
) -> float | None:
    """Lower bound from the time-indexed formulation, solved by HiGHS (``scipy.optimize.milp``).

    ``x[i,k,s] = 1`` iff request ``i`` starts at ``s`` on berth ``k``; each request starts
    once, and each berth runs at most one request in every unit period.  Its LP relaxation is
    the strongest classical bound for this problem (far above CP-SAT's own on congested
    berths); with ``integral=True`` HiGHS branches too and its dual bound is returned.
    ``None`` when HiGHS hits ``time_limit`` without a bound.
    """
    horizon = completion_horizon(data, upper_bound)
    # capacity rows are (k, t) for t in [0, T); assignment rows come first
    t_max = max(horizon) + 1
    costs: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    col = 0
    for i, k, h, first, last in _start_windows(data, horizon):
        starts = np.arange(first, last + 1)
        for a_, e_ in data.blocked[k] if data.blocked else ():
            starts = starts[(starts + h <= a_) | (starts >= e_)]
        if starts.size == 0:
            continue
        ends = starts + h
        c = data.weight[i] * (ends - data.arrival[i])
        d = data.soft_deadline[i]
        if d is not None:
            c = c + data.penalty[i] * np.maximum(0, ends - d)
        ids = np.arange(col, col + starts.size)
        costs.append(np.asarray(c, dtype=float))
        # one assignment entry and h capacity entries per column
        rows.append(np.full(starts.size, i))
        cols.append(ids)
        rows.append((data.n + k * t_max + starts[:, None] + np.arange(h)[None, :]).ravel())
        cols.append(np.repeat(ids, h))
        col += starts.size
    if col == 0:
        return None
    cols_cost = np.concatenate(costs)
    rows_all, cols_all = np.concatenate(rows), np.concatenate(cols)
    n_rows = data.n + data.m * t_max
    a = coo_matrix((np.ones(rows_all.size), (rows_all, cols_all)), shape=(n_rows, col)).tocsr()
    lo = [1.0] * data.n + [0.0] * (data.m * t_max)
    hi = [1.0] * data.n + [1.0] * (data.m * t_max)
    res = milp(
        c=cols_cost,
        constraints=LinearConstraint(a, lo, hi),
        integrality=[1] * col if integral else None,
        bounds=Bounds(0, 1),
        options={"time_limit": max(0.1, time_limit), "disp": False},
    )
    if integral:
        bound = getattr(res, "mip_dual_bound", None)
        if bound is None or not math.isfinite(bound):
            return None
        return float(bound)
    if res.status != 0 or res.fun is None:
        return None
    return float(res.fun)
