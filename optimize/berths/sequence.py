"""Berth schedules as sequences: the representation the berth heuristics search in.

A schedule by index gives ``(berth, start)`` per request (:data:`IndexSchedule`); the same
schedule as *sequences* lists, per berth, the requests in service order.  A sequence is
timed as early as possible (:func:`timed`), and its cost (:func:`sequence_cost`) and the
cost of inserting one more request at each position (:func:`insertion_costs`) are what
every move of :mod:`.construct`, :mod:`.localsearch` and :mod:`.ruin` evaluates.
"""

from __future__ import annotations

from optimize.berths._data import Compiled

#: a schedule by index: (berth, start) per request
IndexSchedule = list[tuple[int, int]]


def sequence_cost(data: Compiled, k: int, seq: list[int]) -> float | None:
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


def insertion_costs(data: Compiled, k: int, seq: list[int], i: int) -> list[float | None]:
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


def timed_one(data: Compiled, k: int, seq: list[int]) -> list[tuple[int, int]]:
    t = -(1 << 62)
    out = []
    for i in seq:
        s = max(data.release[i][k], t)
        out.append((i, s))
        t = s + data.handling[i][k]  # type: ignore[operator]
    return out


def schedule_cost(data: Compiled, sched: IndexSchedule) -> float:
    """Objective of an index schedule."""
    total = 0.0
    for i, (k, t) in enumerate(sched):
        h = data.handling[i][k]
        assert h is not None
        total += data.cost(i, t + h)
    return total
