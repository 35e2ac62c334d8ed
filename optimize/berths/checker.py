"""Independent schedule checker for berth and kerb problems.

It imports only the problem data classes, never solver code, and recomputes the objective
from the problem's own fields, so a solver bug cannot hide behind shared helpers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from optimize.berths.model import KERB, Assignment, BerthProblem, KerbAllocationProblem, KerbProblem
from optimize.check import CheckReport

_EPS = 1e-9


@dataclass(frozen=True)
class ScheduleCheck(CheckReport):
    """Verdict on a schedule: ``ok`` iff ``violations`` is empty; ``objective`` recomputed
    from the problem's own fields (``None`` when the schedule is infeasible)."""

    objective: float | None


def _cost(arrival: int, weight: float, end: int, latest: int | None, penalty: float | None) -> float:
    c = weight * (end - arrival)
    if penalty is not None and latest is not None and end > latest:
        c += penalty * (end - latest)
    return float(c)


def _coverage(ids: list[str], schedule: Iterable[Assignment], errors: list[str]) -> dict[str, Assignment]:
    got: dict[str, Assignment] = {}
    for a in schedule:
        if a.request in got:
            errors.append(f"request {a.request!r} scheduled more than once")
        got[a.request] = a
    for rid in ids:
        if rid not in got:
            errors.append(f"request {rid!r} not scheduled")
    for rid in sorted(set(got) - set(ids)):
        errors.append(f"unknown request {rid!r} in the schedule")
    return got


def check_berth_schedule(problem: BerthProblem, schedule: Iterable[Assignment]) -> ScheduleCheck:
    """Check every constraint of a discrete berth schedule and recompute its objective."""
    errors: list[str] = []
    got = _coverage([r.id for r in problem.requests], schedule, errors)
    berths = {b.id: b for b in problem.berths}
    by_berth: dict[str, list[Assignment]] = {}
    total = 0.0
    for r in problem.requests:
        a = got.get(r.id)
        if a is None:
            continue
        tag = f"request {r.id!r}"
        if a.berth is None or a.berth not in r.handling:
            errors.append(f"{tag} on berth {a.berth!r}, which it is not allowed on")
            continue
        b = berths[a.berth]
        if a.end - a.start != r.handling[b.id]:
            errors.append(f"{tag}: served {a.end - a.start} on {b.id}, handling there is {r.handling[b.id]}")
        if a.start < r.arrival:
            errors.append(f"{tag} starts at {a.start} before its arrival {r.arrival}")
        if a.start < b.open:
            errors.append(f"{tag} starts at {a.start} before berth {b.id} opens at {b.open}")
        if b.close is not None and a.end > b.close:
            errors.append(f"{tag} ends at {a.end} after berth {b.id} closes at {b.close}")
        if r.lateness_penalty is None and r.latest_completion is not None and a.end > r.latest_completion:
            errors.append(f"{tag} ends at {a.end} after its hard latest completion {r.latest_completion}")
        by_berth.setdefault(b.id, []).append(a)
        total += _cost(r.arrival, r.weight, a.end, r.latest_completion, r.lateness_penalty)
    for bid, items in by_berth.items():
        items.sort(key=lambda a: (a.start, a.end))
        for prev, nxt in zip(items, items[1:], strict=False):
            if nxt.start < prev.end:
                errors.append(f"berth {bid}: {prev.request!r} [{prev.start},{prev.end}) overlaps "
                              f"{nxt.request!r} [{nxt.start},{nxt.end})")
    return ScheduleCheck(tuple(errors), None if errors else total)


def check_kerb_schedule(problem: KerbProblem, schedule: Iterable[Assignment]) -> ScheduleCheck:
    """Check a one-segment kerbside schedule (assignments without a ``berth``) with the real
    (unrounded) lengths; recompute the objective."""
    seg = KERB
    sched = [Assignment(a.request, a.start, a.end, seg if a.berth is None else a.berth, a.position)
             for a in schedule]
    return check_kerb_allocation(problem.as_allocation(), sched)


def check_kerb_allocation(problem: KerbAllocationProblem, schedule: Iterable[Assignment],
                          unserved: Iterable[str] = ()) -> ScheduleCheck:
    """Check a kerb allocation: each request placed once on a segment it may use, inside one
    loading window and its own time limits, within the segment's real length, and no two
    vehicles overlapping in length × time on one segment; or, for a request with a
    ``skip_penalty``, listed in ``unserved`` (left off the kerb).  Recomputes the objective."""
    errors: list[str] = []
    sched = list(schedule)
    skipped = list(unserved)
    got = _coverage([r.id for r in problem.requests if r.id not in set(skipped)], sched, errors)
    reqs = {r.id: r for r in problem.requests}
    for rid in skipped:
        r = reqs.get(rid)
        if r is None:
            errors.append(f"unknown request {rid!r} listed as unserved")
        elif r.skip_penalty is None:
            errors.append(f"kerb request {rid!r} left off the kerb but it has no skip_penalty")
        elif rid in got:
            errors.append(f"kerb request {rid!r} both scheduled and unserved")
    segments = {g.id: g for g in problem.segments}
    rects: dict[str, list[tuple[int, int, float, float, str]]] = {}
    total = 0.0
    for r in problem.requests:
        if r.id in skipped:
            total += float(r.skip_penalty or 0.0)
            continue
        a = got.get(r.id)
        if a is None:
            continue
        tag = f"kerb request {r.id!r}"
        if a.position is None:
            errors.append(f"{tag} has no kerb position")
            continue
        g = segments.get(a.berth or "")
        if g is None or (r.segments is not None and g.id not in r.segments):
            errors.append(f"{tag} on segment {a.berth!r}, which it may not use")
            continue
        if a.end - a.start != r.handling:
            errors.append(f"{tag}: served {a.end - a.start}, handling is {r.handling}")
        if a.start < r.arrival:
            errors.append(f"{tag} starts at {a.start} before its arrival {r.arrival}")
        if not any(w0 <= a.start and (w1 is None or a.end <= w1) for w0, w1 in g.windows):
            errors.append(f"{tag} [{a.start},{a.end}) is not inside one loading window of segment "
                          f"{g.id!r} {list(g.windows)}")
        if r.lateness_penalty is None and r.latest_completion is not None and a.end > r.latest_completion:
            errors.append(f"{tag} ends at {a.end} after its hard latest completion {r.latest_completion}")
        if a.position < -_EPS or a.position + r.length > g.length + _EPS:
            errors.append(f"{tag} at {a.position} m with length {r.length} m leaves the "
                          f"{g.length} m segment {g.id!r}")
        rects.setdefault(g.id, []).append((a.start, a.end, a.position, a.position + r.length, r.id))
        total += _cost(r.arrival, r.weight, a.end, r.latest_completion, r.lateness_penalty)
    for gid, items in rects.items():
        items.sort()
        for idx, (_t0, t1, x0, x1, rid) in enumerate(items):
            for u0, _u1, y0, y1, other in items[idx + 1:]:
                if u0 >= t1:
                    break
                if x0 < y1 - _EPS and y0 < x1 - _EPS:
                    errors.append(f"kerb requests {rid!r} and {other!r} overlap in time and position "
                                  f"on segment {gid!r}")
    return ScheduleCheck(tuple(errors), None if errors else total)


def check_schedule(problem: BerthProblem | KerbProblem | KerbAllocationProblem,
                   schedule: Iterable[Assignment], unserved: Iterable[str] = ()) -> ScheduleCheck:
    """Check ``schedule`` against ``problem`` (any kind); ``unserved`` lists the requests of a
    :class:`KerbAllocationProblem` left off the kerb (``SolveResult.unserved``)."""
    if isinstance(problem, KerbAllocationProblem):
        return check_kerb_allocation(problem, schedule, unserved)
    if isinstance(problem, KerbProblem):
        return check_kerb_schedule(problem, schedule)
    return check_berth_schedule(problem, schedule)
