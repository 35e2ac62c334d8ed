"""Local search on berth sequences: relocate, swap and tail-exchange moves, each timed as
early as possible, until no move improves or the budget ends."""

from __future__ import annotations

import bisect
import time

from optimize.berths._data import Compiled
from optimize.berths.sequence import (
    IndexSchedule,
    insertion_costs,
    sequence_cost,
    sequences,
    timed,
    timed_one,
)


def local_search(data: Compiled, sched: IndexSchedule, time_budget: float = 2.0) -> IndexSchedule:
    """Improve ``sched`` by relocating requests between and within berth sequences.

    Each berth keeps a sequence and is timed as early as possible (semi-active), so moving
    a request to another position re-times everyone behind it — the move the gap-insertion
    of :func:`greedy` cannot make.  First-improvement relocation, swept until a local optimum
    or ``time_budget`` seconds.
    """
    deadline = time.perf_counter() + time_budget
    seqs = sequences(data, sched)
    costs: list[float] = []
    for k in range(data.m):
        c = sequence_cost(data, k, seqs[k])
        assert c is not None
        costs.append(c)
    where = {i: k for k in range(data.m) for i in seqs[k]}
    allowed = [[k for k in range(data.m) if data.fits(i, k)] for i in range(data.n)]
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for i in range(data.n):
            k = where[i]
            rest = [j for j in seqs[k] if j != i]
            rest_cost = sequence_cost(data, k, rest)
            assert rest_cost is not None  # removing a request only helps the others
            base = costs[k]
            best: tuple[float, int, int, float] | None = None
            for kk in allowed[i]:
                seq = rest if kk == k else seqs[kk]
                other = rest_cost if kk == k else costs[kk]
                for q, c in enumerate(insertion_costs(data, kk, seq, i)):
                    if c is None:
                        continue
                    gain = base - c if kk == k else base + other - c - rest_cost
                    if gain > 1e-9 and (best is None or gain > best[0]):
                        best = (gain, kk, q, c)
            if best is not None:
                _, kk, q, c = best
                if kk == k:
                    seqs[k] = rest[:q] + [i] + rest[q:]
                    costs[k] = c
                else:
                    seqs[k] = rest
                    costs[k] = rest_cost
                    seqs[kk] = seqs[kk][:q] + [i] + seqs[kk][q:]
                    costs[kk] = c
                    where[i] = kk
                improved = True
            if time.perf_counter() > deadline:
                break
        if not improved and time.perf_counter() < deadline:
            improved = _swap_sweep(data, seqs, costs, where, deadline)
        if not improved and time.perf_counter() < deadline:
            improved = _cross_sweep(data, seqs, costs, where, deadline)
    return timed(data, seqs)


def _cross_sweep(data: Compiled, seqs: list[list[int]], costs: list[float],
                 where: dict[int, int], deadline: float) -> bool:
    """Exchange the tails of two berth sequences cut at about the same time.

    Relocation and swaps move one or two requests; when one berth has fallen behind,
    handing its whole tail to another berth (and taking that berth's tail) rebalances both
    at once.  Cuts are tried where the two sequences' start times cross, ±1 position.
    """
    improved = False
    for k1 in range(data.m):
        for k2 in range(k1 + 1, data.m):
            s1, s2 = seqs[k1], seqs[k2]
            if not s1 and not s2:
                continue
            st1 = [t for _, t in timed_one(data, k1, s1)]
            st2 = [t for _, t in timed_one(data, k2, s2)]
            ok1 = _eligible_suffix(data, s1, k2)  # s1[p:] can all go to k2 for p >= ok1
            ok2 = _eligible_suffix(data, s2, k1)
            base = costs[k1] + costs[k2]
            best: tuple[float, list[int], list[int], float, float] | None = None
            for p1 in range(max(ok1, 0), len(s1) + 1):
                t = st1[p1] if p1 < len(s1) else (1 << 62)
                q = bisect.bisect_left(st2, t)
                for p2 in (q - 1, q, q + 1):
                    if p2 < ok2 or p2 > len(s2) or (p1 == len(s1) and p2 == len(s2)):
                        continue
                    n1, n2 = s1[:p1] + s2[p2:], s2[:p2] + s1[p1:]
                    c1 = sequence_cost(data, k1, n1)
                    if c1 is None:
                        continue
                    c2 = sequence_cost(data, k2, n2)
                    if c2 is not None and c1 + c2 < base - 1e-9 and (
                            best is None or c1 + c2 < best[0]):
                        best = (c1 + c2, n1, n2, c1, c2)
            if best is not None:
                _, n1, n2, c1, c2 = best
                seqs[k1], seqs[k2], costs[k1], costs[k2] = n1, n2, c1, c2
                for i in n1:
                    where[i] = k1
                for i in n2:
                    where[i] = k2
                improved = True
            if time.perf_counter() > deadline:
                return improved
    return improved


def _eligible_suffix(data: Compiled, seq: list[int], k: int) -> int:
    """Smallest ``p`` such that every request of ``seq[p:]`` may use berth ``k``."""
    p = len(seq)
    while p > 0 and data.handling[seq[p - 1]][k] is not None:
        p -= 1
    return p


def _swap_sweep(data: Compiled, seqs: list[list[int]], costs: list[float],
                where: dict[int, int], deadline: float) -> bool:
    """Exchange two requests' places (same or different berths); True if any swap helped."""
    improved = False
    for i in range(data.n):
        for j in range(i + 1, data.n):
            ki, kj = where[i], where[j]
            if data.handling[i][kj] is None or data.handling[j][ki] is None:
                continue
            pi, pj = seqs[ki].index(i), seqs[kj].index(j)
            if ki == kj:
                seq = list(seqs[ki])
                seq[pi], seq[pj] = j, i
                c = sequence_cost(data, ki, seq)
                if c is not None and c < costs[ki] - 1e-9:
                    seqs[ki], costs[ki] = seq, c
                    improved = True
                continue
            si, sj = list(seqs[ki]), list(seqs[kj])
            si[pi], sj[pj] = j, i
            ci = sequence_cost(data, ki, si)
            if ci is None:
                continue
            cj = sequence_cost(data, kj, sj)
            if cj is not None and ci + cj < costs[ki] + costs[kj] - 1e-9:
                seqs[ki], seqs[kj], costs[ki], costs[kj] = si, sj, ci, cj
                where[i], where[j] = kj, ki
                improved = True
        if time.perf_counter() > deadline:
            break
    return improved
