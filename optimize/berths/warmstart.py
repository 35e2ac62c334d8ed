"""Warm start and improvement heuristics for the discrete berth allocation problem.

CP-SAT finds good schedules much sooner when it is handed a complete one as a hint; on the
200–250 request instances the plain model without one was still at 1.5–2.8× these
heuristics' cost after a minute (see ``benchmarks/berths/RESULTS.md``).

* :func:`greedy` — list scheduling in arrival order into the earliest idle gap of the
  cheapest berth, plus reinsertion passes;
* :func:`dispatch` — event-driven shortest-completion dispatch (the rule congested berths
  need; FIFO is far from optimal for a sum of completion times);
* :func:`local_search` — relocate, swap and tail-exchange moves on berth *sequences*, each
  timed as early as possible;
* :func:`ruin_recreate` — removes a cluster of requests and reinserts them cheapest-first;
* :func:`warm_start` — the best of the constructions after local search.

Schedules here are by index: ``(berth, start)`` per request.
"""

from __future__ import annotations

import bisect
import math
import time

import numpy as np

from optimize.berths._data import Compiled
from optimize.pool import map_processes

#: a schedule by index: (berth, start) per request
IndexSchedule = list[tuple[int, int]]


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


def _sequence_cost(data: Compiled, k: int, seq: list[int]) -> float | None:
    """Cost of serving ``seq`` on berth ``k`` in that order, as early as possible (or ``None``)."""
    t = -(1 << 62)
    total = 0.0
    handling, release, limit = data.handling, data.release, data.limit
    for i in seq:
        h = handling[i][k]
        s = release[i][k]
        if s < t:
            s = t
        t = s + h  # type: ignore[operator]
        lim = limit[i][k]
        if lim is not None and t > lim:
            return None
        total += data.cost(i, t)
    return total


def _insertion_costs(data: Compiled, k: int, seq: list[int], i: int) -> list[float | None]:
    """Cost of berth ``k`` with ``i`` inserted at each position ``q`` of ``seq`` (``None`` =
    infeasible).

    The prefix before ``q`` is timed once; behind ``i`` the walk stops as soon as a request
    starts where it did before, since everything after it is then unchanged — on berths
    with idle gaps this is most of the sequence.
    """
    handling, release, limit = data.handling, data.release, data.limit
    n_seq = len(seq)
    ends = [-(1 << 62)] * (n_seq + 1)
    pcost = [0.0] * (n_seq + 1)
    starts = [0] * n_seq
    feasible_prefix = n_seq
    t = -(1 << 62)
    for p, j in enumerate(seq):
        st = max(release[j][k], t)
        starts[p] = st
        t = st + handling[j][k]  # type: ignore[operator]
        lim = limit[j][k]
        if lim is not None and t > lim and feasible_prefix == n_seq:
            feasible_prefix = p
        ends[p + 1] = t
        pcost[p + 1] = pcost[p] + data.cost(j, t)
    if feasible_prefix < n_seq:
        # inserting only delays the others, so an infeasible sequence stays infeasible
        return [None] * (n_seq + 1)
    scost = [0.0] * (n_seq + 1)
    for p in range(n_seq - 1, -1, -1):
        scost[p] = scost[p + 1] + (pcost[p + 1] - pcost[p])
    hi = handling[i][k]
    assert hi is not None
    lim_i = limit[i][k]
    out: list[float | None] = []
    for q in range(n_seq + 1):
        t = max(release[i][k], ends[q]) + hi
        if lim_i is not None and t > lim_i:
            out.append(None)
            continue
        c = pcost[q] + data.cost(i, t)
        ok = True
        for p in range(q, n_seq):
            j = seq[p]
            st = max(release[j][k], t)
            if st == starts[p]:
                c += scost[p]
                break
            t = st + handling[j][k]  # type: ignore[operator]
            lim = limit[j][k]
            if lim is not None and t > lim:
                ok = False
                break
            c += data.cost(j, t)
        out.append(c if ok else None)
    return out


def sequences(data: Compiled, sched: IndexSchedule) -> list[list[int]]:
    """Per berth, its requests in order of start."""
    seqs: list[list[int]] = [[] for _ in range(data.m)]
    for i in sorted(range(data.n), key=lambda i: (sched[i][1], i)):
        seqs[sched[i][0]].append(i)
    return seqs


def timed(data: Compiled, seqs: list[list[int]]) -> IndexSchedule:
    """Semi-active timing of per-berth sequences: each request as early as possible."""
    sched: IndexSchedule = [(-1, -1)] * data.n
    for k, seq in enumerate(seqs):
        t = -(1 << 62)
        for i in seq:
            h = data.handling[i][k]
            assert h is not None
            s = max(data.release[i][k], t)
            sched[i] = (k, s)
            t = s + h
    return sched


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
        c = _sequence_cost(data, k, seqs[k])
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
            rest_cost = _sequence_cost(data, k, rest)
            assert rest_cost is not None  # removing a request only helps the others
            base = costs[k]
            best: tuple[float, int, int, float] | None = None
            for kk in allowed[i]:
                seq = rest if kk == k else seqs[kk]
                other = rest_cost if kk == k else costs[kk]
                for q, c in enumerate(_insertion_costs(data, kk, seq, i)):
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
            st1 = [t for _, t in _timed_one(data, k1, s1)]
            st2 = [t for _, t in _timed_one(data, k2, s2)]
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
                    c1 = _sequence_cost(data, k1, n1)
                    if c1 is None:
                        continue
                    c2 = _sequence_cost(data, k2, n2)
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


def _timed_one(data: Compiled, k: int, seq: list[int]) -> list[tuple[int, int]]:
    t = -(1 << 62)
    out = []
    for i in seq:
        s = max(data.release[i][k], t)
        out.append((i, s))
        t = s + data.handling[i][k]  # type: ignore[operator]
    return out


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
                c = _sequence_cost(data, ki, seq)
                if c is not None and c < costs[ki] - 1e-9:
                    seqs[ki], costs[ki] = seq, c
                    improved = True
                continue
            si, sj = list(seqs[ki]), list(seqs[kj])
            si[pi], sj[pj] = j, i
            ci = _sequence_cost(data, ki, si)
            if ci is None:
                continue
            cj = _sequence_cost(data, kj, sj)
            if cj is not None and ci + cj < costs[ki] + costs[kj] - 1e-9:
                seqs[ki], seqs[kj], costs[ki], costs[kj] = si, sj, ci, cj
                where[i], where[j] = kj, ki
                improved = True
        if time.perf_counter() > deadline:
            break
    return improved


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


def schedule_cost(data: Compiled, sched: IndexSchedule) -> float:
    """Objective of an index schedule."""
    total = 0.0
    for i, (k, t) in enumerate(sched):
        h = data.handling[i][k]
        assert h is not None
        total += data.cost(i, t + h)
    return total


def _cheapest_insertion(
    data: Compiled, i: int, seqs: list[list[int]], costs: list[float]
) -> tuple[float, int, int, float] | None:
    """(added cost, berth, position, new berth cost) of the cheapest place for ``i``."""
    best: tuple[float, int, int, float] | None = None
    for k in range(data.m):
        if data.handling[i][k] is None or not data.fits(i, k):
            continue
        for q, c in enumerate(_insertion_costs(data, k, seqs[k], i)):
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
    costs = [_sequence_cost(data, k, seqs[k]) or 0.0 for k in range(data.m)]
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
                new_costs[k] = _sequence_cost(data, k, new_seqs[k]) or 0.0
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
