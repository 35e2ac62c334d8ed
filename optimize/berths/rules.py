"""Dominance rules and symmetry classes that the strong model adds, and a hint repair.

CP-SAT rejects a solution hint that violates a constraint, and the warm start's local
search knows nothing of the dominance rules or the symmetry breaking.  :func:`conform_to_rules`
applies the same exchanges the rules are proven with, so the repaired hint is at least as
good and satisfies every added constraint.
"""

from __future__ import annotations

from optimize.berths._data import Compiled
from optimize.berths.sequence import IndexSchedule, sequences, timed


def dominance_pairs(data: Compiled, k: int) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` such that some optimal schedule has ``i`` before ``j`` if both use ``k``.

    Exchange argument: if ``j`` precedes ``i`` on berth ``k``, with requests ``M`` between
    them, serve ``i`` first (at ``j``'s old start ``sⱼ``, allowed since ``aᵢ ≤ aⱼ``), then
    ``M`` as early as possible (none later than before, since ``hᵢₖ ≤ hⱼₖ``), then ``j``.
    ``i`` ends ``D = sᵢ - sⱼ`` earlier; ``j`` ends at most ``D`` later than before, at
    ``sᵢ + hⱼₖ`` at the latest, i.e. up to ``δ = hⱼₖ - hᵢₖ`` after ``i`` used to end.  So the
    exchange is feasible when ``j``'s hard limit on ``k`` (deadline or berth closing) is at
    least ``i``'s plus ``δ``, and it does not raise the cost when ``j``'s cost slope at any
    time ``t`` is no more than ``i``'s at ``t - δ`` (the cost ``w + p·[t > d]``: ``wⱼ ≤ wᵢ``,
    and ``j``'s lateness penalty is matched by ``i``'s only when ``dᵢ + δ ≤ dⱼ``).  An
    earlier version required the limits and deadlines to hold with ``δ = 0``, which is right
    for adjacent requests only: with a request between them that arrives late, it cut off
    the only optimum (found by tests/berths/test_berths_solver.py: three requests, one
    closing berth).  The exchange strictly increases ``Σ position·rank`` for any linear
    extension of the order, so repeating it ends in an optimal schedule respecting every
    pair at once.  Ties are broken by index, which keeps the relation acyclic.
    """
    cand = [i for i in range(data.n) if data.fits(i, k)]
    out: list[tuple[int, int]] = []

    def delta(i: int, j: int) -> int:
        hi, hj = data.handling[i][k], data.handling[j][k]
        assert hi is not None and hj is not None
        return hj - hi

    def slope_ok(i: int, j: int) -> bool:
        wi, wj = data.weight[i], data.weight[j]
        if wj > wi:
            return False
        dj = data.soft_deadline[j]
        if dj is None:
            return True
        di = data.soft_deadline[i]
        late_i = data.penalty[i] if di is not None and di + delta(i, j) <= dj else 0.0
        return wj + data.penalty[j] <= wi + late_i

    def hard_ok(i: int, j: int) -> bool:
        # j ends at most delta after i used to end, which met i's limit on this berth
        lj, li = data.limit[j][k], data.limit[i][k]
        return lj is None or (li is not None and li + delta(i, j) <= lj)

    for i in cand:
        hi = data.handling[i][k]
        assert hi is not None
        for j in cand:
            if i == j:
                continue
            hj = data.handling[j][k]
            assert hj is not None
            if data.arrival[i] > data.arrival[j] or hi > hj:
                continue
            if not (slope_ok(i, j) and hard_ok(i, j)):
                continue
            # mutual dominance (identical requests): keep only the index order
            if slope_ok(j, i) and hard_ok(j, i) and data.arrival[i] == data.arrival[j] and hi == hj \
                    and j < i:
                continue
            out.append((i, j))
    return out


def berth_chains(data: Compiled) -> list[list[int]]:
    """Chains of interchangeable-but-for-closing berths, latest closing first.

    Two berths with the same opening, the same handling time for every request (forbidden
    included) and no blocked periods differ only in when they close.  If ``k1`` closes no
    earlier than ``k2`` but the last request on ``k2`` ends after the last on ``k1``, swapping
    the two berths' whole contents is feasible (``k2``'s requests fit the longer window of
    ``k1``; ``k1``'s end before ``k2``'s last end, which met ``k2``'s closing) and costs the
    same.  Sorting by such swaps, some optimal schedule has the *last completion
    non-increasing along each chain* — the symmetry-breaking constraint the model adds.
    It covers plain identical berths (equal closing) as a special case.
    """
    groups: dict[tuple[object, ...], list[int]] = {}
    for k in range(data.m):
        if data.blocked and data.blocked[k]:
            continue
        key = tuple((data.handling[i][k], data.release[i][k]) for i in range(data.n))
        groups.setdefault(key, []).append(k)
    def latest_first(k: int) -> tuple[float, int]:
        close = data.close[k]
        return (-float("inf") if close is None else -float(close), k)

    return [sorted(g, key=latest_first) for g in groups.values() if len(g) > 1]


def conform_to_rules(
    data: Compiled, sched: IndexSchedule, pairs: list[set[tuple[int, int]]] | None,
    groups: list[list[int]] | None,
) -> IndexSchedule:
    """Rearrange ``sched`` so it satisfies the dominance pairs and the symmetry breaking.

    Within a berth, an inverted dominated pair is swapped (the exchange in
    :func:`dominance_pairs`, which never costs more and strictly increases a potential, so
    this ends); then along each chain of :func:`berth_chains` the berths' contents are
    reassigned by last completion, latest to the latest-closing berth (feasible by the
    argument there).
    """
    seqs = sequences(data, sched)
    if pairs is not None:
        for k, seq in enumerate(seqs):
            dom = pairs[k]
            changed = True
            while changed:
                changed = False
                for p in range(len(seq)):
                    for q in range(p + 1, len(seq)):
                        if (seq[q], seq[p]) in dom:
                            seq[p], seq[q] = seq[q], seq[p]
                            changed = True
    if groups is not None:
        sched = timed(data, seqs)

        def last_end(seq: list[int], k: int) -> int:
            if not seq:
                return -(1 << 62)
            i = seq[-1]
            return sched[i][1] + data.handling[i][k]  # type: ignore[operator]

        for chain in groups:
            contents = sorted((seqs[k] for k in chain), key=lambda q: -last_end(q, chain[0]))
            for k, seq in zip(chain, contents, strict=True):
                seqs[k] = seq
    return timed(data, seqs)
