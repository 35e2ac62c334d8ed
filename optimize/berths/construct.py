"""Constructions of a first berth schedule, and the warm start CP-SAT is hinted with.

CP-SAT finds good schedules much sooner when it is handed a complete one as a hint; on the
200–250 request instances the plain model without one was still at 1.5–2.8× these
heuristics' cost after a minute (see ``benchmarks/berths/RESULTS.md``).

* :func:`greedy` — list scheduling in arrival order into the earliest idle gap of the
  cheapest berth, plus reinsertion passes;
* :func:`dispatch` — event-driven shortest-completion dispatch (the rule congested berths
  need; FIFO is far from optimal for a sum of completion times);
* :func:`warm_start` — the best of the constructions after local search
  (:func:`optimize.berths.localsearch.local_search`).
"""

from __future__ import annotations

import bisect
import math
import time

from optimize.berths._data import Compiled
from optimize.berths.localsearch import local_search
from optimize.berths.sequence import (
    IndexSchedule,
    schedule_cost,
    timed,
)


def _earliest_gap(busy: list[tuple[int, int]], release: int, h: int, limit: int | None) -> int | None:
    """Earliest start >= ``release`` of a length-``h`` slot free in sorted ``busy``."""
    t = release
    # skip intervals that end before we could start
    idx = bisect.bisect_right(busy, (t, 1 << 62))
    if idx > 0 and busy[idx - 1][1] > t:
        t = busy[idx - 1][1]
    for s, e in busy[idx:]:
        if t + h <= s:
            break
        t = max(t, e)
    if limit is not None and t + h > limit:
        return None
    return t


def _best_insertion(
    data: Compiled, i: int, busy: list[list[tuple[int, int]]]
) -> tuple[int, int] | None:
    best: tuple[float, int, int, int] | None = None
    for k in range(data.m):
        h = data.handling[i][k]
        if h is None:
            continue
        t = _earliest_gap(busy[k], data.release[i][k], h, data.limit[i][k])
        if t is None:
            continue
        key = (data.cost(i, t + h), h, k, t)
        if best is None or key < best:
            best = key
    return None if best is None else (best[2], best[3])


def _left_shift(data: Compiled, busy: list[tuple[int, int]], owners: list[int],
                sched: IndexSchedule, k: int) -> None:
    """Re-time berth ``k`` semi-actively, keeping its sequence; updates ``busy`` in place."""
    t = -(1 << 62)
    for pos, i in enumerate(owners):
        h = data.handling[i][k]
        assert h is not None
        s = max(data.release[i][k], t)
        busy[pos] = (s, s + h)
        sched[i] = (k, s)
        t = s + h


def greedy(data: Compiled, improve_passes: int = 20) -> IndexSchedule | None:
    """A feasible schedule by list scheduling plus reinsertion, or ``None`` if greedy fails.

    Parameters
    ----------
    data
        The compiled problem.
    improve_passes
        Maximum number of reinsertion sweeps over all requests.
    """
    order = sorted(
        range(data.n),
        key=lambda i: (
            data.arrival[i],
            -data.weight[i] / min(h for h in data.handling[i] if h is not None),
            i,
        ),
    )
    busy: list[list[tuple[int, int]]] = [[] for _ in range(data.m)]
    sched: IndexSchedule = [(-1, -1)] * data.n
    for i in order:
        ins = _best_insertion(data, i, busy)
        if ins is None:
            return None
        k, t = ins
        h = data.handling[i][k]
        assert h is not None
        bisect.insort(busy[k], (t, t + h))
        sched[i] = (k, t)

    for _ in range(improve_passes):
        improved = False
        for i in order:
            k, t = sched[i]
            h = data.handling[i][k]
            assert h is not None
            old_cost = data.cost(i, t + h)
            # Take i out; its own slot stays free, so reinsertion never gets worse.
            busy[k].remove((t, t + h))
            ins = _best_insertion(data, i, busy)
            assert ins is not None
            nk, nt = ins
            nh = data.handling[i][nk]
            assert nh is not None
            bisect.insort(busy[nk], (nt, nt + nh))
            sched[i] = (nk, nt)
            if data.cost(i, nt + nh) < old_cost - 1e-9:
                improved = True
                # Left-shifting a berth's sequence only makes completions earlier, which
                # never costs more and keeps every limit; the freed time helps later moves.
                for kk in {k, nk}:
                    owners = sorted((j for j in range(data.n) if sched[j][0] == kk),
                                    key=lambda j: sched[j][1])
                    _left_shift(data, busy[kk], owners, sched, kk)
        if not improved:
            break
    return sched


def dispatch(data: Compiled, alpha: float = 0.0, lookahead: int = 0) -> IndexSchedule | None:
    """Event-driven list scheduling with a shortest-completion rule.

    At the earliest time ``T`` a berth can start something, among pairs (free berth,
    request released by ``T + lookahead``) pick the smallest
    ``start + h + alpha·(h − fastest h of the request)``: shortest jobs first, which is what
    a congested berth needs for a small sum of completion times (FIFO is far from it), and
    ``alpha`` keeps a request off berths where it is slow.  Returns ``None`` if a hard limit
    is missed.
    """
    n, m = data.n, data.m
    free = [-(1 << 62)] * m
    done = [False] * n
    seqs: list[list[int]] = [[] for _ in range(m)]
    pairs = [[(i, h) for i in range(n) if (h := data.handling[i][k]) is not None and data.fits(i, k)]
             for k in range(m)]
    fastest = [min((h for h in row if h is not None), default=0) for row in data.handling]
    for _ in range(n):
        now = min(
            (max(free[k], data.release[i][k]) for k in range(m) for i, _h in pairs[k] if not done[i]),
            default=None,
        )
        if now is None:
            return None
        best: tuple[float, int, int, int] | None = None
        for k in range(m):
            if free[k] > now:
                continue
            for i, h in pairs[k]:
                if done[i] or data.release[i][k] > now + lookahead:
                    continue
                start = max(free[k], data.release[i][k])
                key = (start + h + alpha * (h - fastest[i]), h, k, i)
                if best is None or key < best:
                    best = key
        if best is None:
            return None
        _, h, k, i = best
        start = max(free[k], data.release[i][k])
        lim = data.limit[i][k]
        if lim is not None and start + h > lim:
            return None
        seqs[k].append(i)
        done[i] = True
        free[k] = start + h
    return timed(data, seqs)


def warm_start(data: Compiled, time_budget: float) -> IndexSchedule | None:
    """The best of several constructions, each improved by :func:`local_search`."""
    deadline = time.perf_counter() + time_budget
    built = [s for s in (greedy(data), dispatch(data, 0.0), dispatch(data, 3.0, 0),
                         dispatch(data, 1.0, 5)) if s is not None]
    best: IndexSchedule | None = None
    best_cost = math.inf
    for idx, s in enumerate(built):
        share = (deadline - time.perf_counter()) / (len(built) - idx)
        s = local_search(data, s, max(0.0, share))
        c = schedule_cost(data, s)
        if c < best_cost:
            best, best_cost = s, c
    return best
