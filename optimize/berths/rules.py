"""Dominance rules and symmetry classes that the strong model adds, and a hint repair.

CP-SAT rejects a solution hint that violates a constraint, and the warm start's local
search knows nothing of the dominance rules or the symmetry breaking.  :func:`conform_to_rules`
applies the same exchanges the rules are proven with, so the repaired hint is at least as
good and satisfies every added constraint.
"""

from __future__ import annotations

from optimize.berths._data import Compiled
from optimize.berths.warmstart import IndexSchedule, sequences, timed


def dominance_pairs(data: Compiled, k: int) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` such that some optimal schedule has ``i`` before ``j`` if both use ``k``.

    Exchange argument: if ``j`` precedes ``i`` on berth ``k``, put ``i`` at ``j``'s start
    and ``j`` so that it ends where ``i`` ended.  This is feasible when ``aᵢ ≤ aⱼ`` and
    ``hᵢₖ ≤ hⱼₖ`` (both fit in the old occupied time), and it does not raise the cost when
    ``j``'s cost grows no faster than ``i``'s at every time (slope condition on
    ``w + p·[t > d]``) and ``j``'s hard deadline, if any, is no earlier than ``i``'s.  The
    exchange strictly increases ``Σ position·rank`` for any linear extension of the order, so
    repeating it ends in an optimal schedule respecting every pair at once.  Ties are broken
    by index, which keeps the relation acyclic.
    """
    cand = [i for i in range(data.n) if data.fits(i, k)]
    out: list[tuple[int, int]] = []

    def slope_ok(i: int, j: int) -> bool:
        wi, wj = data.weight[i], data.weight[j]
        if wj > wi:
            return False
        dj = data.soft_deadline[j]
        if dj is None:
            return True
        di = data.soft_deadline[i]
        late_i = data.penalty[i] if di is not None and di <= dj else 0.0
        return wj + data.penalty[j] <= wi + late_i

    def hard_ok(i: int, j: int) -> bool:
        dj = data.hard_deadline[j]
        if dj is None:
            return True
        di = data.hard_deadline[i]
        return di is not None and di <= dj

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


def identical_berth_classes(data: Compiled) -> list[list[int]]:
    """Groups of berths that no request can tell apart (same handling, release and limit)."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for k in range(data.m):
        key = tuple((data.handling[i][k], data.release[i][k], data.limit[i][k]) for i in range(data.n))
        groups.setdefault(key, []).append(k)
    return [g for g in groups.values() if len(g) > 1]


def conform_to_rules(
    data: Compiled, sched: IndexSchedule, pairs: list[set[tuple[int, int]]] | None,
    groups: list[list[int]] | None,
) -> IndexSchedule:
    """Rearrange ``sched`` so it satisfies the dominance pairs and the symmetry breaking.

    Within a berth, an inverted dominated pair is swapped (the exchange in
    :func:`dominance_pairs`, which never costs more and strictly increases a potential, so
    this ends); identical berths are then renumbered so their lowest request indices
    increase along the group.
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
        for group in groups:
            contents = sorted((seqs[k] for k in group), key=lambda s: min(s) if s else data.n)
            for k, seq in zip(group, contents, strict=True):
                seqs[k] = seq
    return timed(data, seqs)
