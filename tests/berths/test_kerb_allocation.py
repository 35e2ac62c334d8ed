"""Kerb allocation over several segments (optimize.berths.KerbAllocationProblem): hand-checked
plans, the independent checker's verdicts, a brute-force optimum, diagnosis of bad requests and
reproducibility under a work budget."""

from __future__ import annotations

import itertools
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.berths import (
    Assignment,
    KerbAllocationProblem,
    KerbRequest,
    KerbSegment,
    Status,
    check_schedule,
    solve,
)
from optimize.budget import Budget


def test_two_segments_hand_checked() -> None:
    """A 12 m segment A (always open) and an 8 m segment B open only in [60, 120).  The 10 m
    truck must end by 60, so it goes on A (B is closed then); van1 (6 m) cannot share A's 12 m
    with the truck (16 m), so one waits: van1 0-20 then the truck 20-50 costs 20 + 50 = 70, the
    truck first costs 30 + 50 = 80, and van1 on B (60-80, 80) or double-parked (50) is dearer
    than 20 + its 30 minutes of delay to the truck: 70 for these two.  van2 may use only B, earliest 60: served 60-80 it
    costs 80 - 10 = 70 > its skip penalty 50, so it double-parks.  Total 70 + 50 = 120."""
    segs = (KerbSegment("A", 12.0), KerbSegment("B", 8.0, ((60, 120),)))
    reqs = (KerbRequest("truck", 0, 30, 10.0, latest_completion=60, skip_penalty=100.0),
            KerbRequest("van1", 0, 20, 6.0, skip_penalty=50.0),
            KerbRequest("van2", 10, 20, 6.0, segments=("B",), skip_penalty=50.0))
    p = KerbAllocationProblem(segs, reqs)
    res = solve(p, budget=Budget.work(5.0))
    assert res.status is Status.OPTIMAL and res.objective == 120.0
    assert res.unserved == ("van2",)
    assert {a.request: a.berth for a in res.schedule} == {"truck": "A", "van1": "A"}
    report = check_schedule(p, res.schedule, res.unserved)
    assert report.ok, report.violations
    assert report.objective == 120.0


def test_checker_rejects_overlap_window_and_skip_errors() -> None:
    """Two 6 m vans at 0 m and 3 m of one 10 m segment at overlapping times share 3 m of kerb:
    rejected; the same times on two segments are fine; a stay crossing the end of a loading
    window, a stay on a segment the request may not use, and a mandatory request listed as
    unserved are each rejected by name."""
    segs = (KerbSegment("A", 10.0), KerbSegment("B", 10.0, ((0, 30),)))
    reqs = (KerbRequest("a", 0, 20, 6.0), KerbRequest("b", 0, 20, 6.0, segments=("A", "B")),
            KerbRequest("c", 0, 20, 6.0, segments=("A",), skip_penalty=5.0))
    p = KerbAllocationProblem(segs, reqs)
    overlap = check_schedule(p, (Assignment("a", 0, 20, "A", 0.0), Assignment("b", 10, 30, "A", 3.0)), ["c"])
    assert not overlap.ok and any("overlap" in v and "'A'" in v for v in overlap.violations)
    apart = check_schedule(p, (Assignment("a", 0, 20, "A", 0.0), Assignment("b", 10, 30, "B", 3.0)), ["c"])
    assert apart.ok, apart.violations
    assert apart.objective == 20 + 30 + 5.0  # a: 20, b: 30 (ends 30, arrived 0), c skipped: 5
    late = check_schedule(p, (Assignment("a", 0, 20, "A", 0.0), Assignment("b", 20, 40, "B", 0.0)), ["c"])
    assert not late.ok and any("loading window" in v for v in late.violations)
    wrong = check_schedule(p, (Assignment("a", 0, 20, "A", 0.0), Assignment("b", 20, 40, "A", 0.0),
                               Assignment("c", 0, 20, "B", 4.0)))
    assert not wrong.ok and any("'c'" in v and "may not use" in v for v in wrong.violations)
    missing = check_schedule(p, (Assignment("b", 0, 20, "A", 0.0),), ["a", "c"])
    assert not missing.ok and any("no skip_penalty" in v for v in missing.violations)


def test_too_long_and_unholdable_window_are_diagnosed() -> None:
    """A 12 m lorry on segments of at most 10 m, and a van whose 30-minute stay cannot fit
    between its arrival 0 and latest completion 20, are infeasible alone; each diagnosis names
    its request and the reason (its length, or its window)."""
    segs = (KerbSegment("A", 10.0), KerbSegment("B", 8.0))
    long = KerbAllocationProblem(segs, (KerbRequest("lorry", 0, 10, 12.0),))
    res = solve(long, time_limit=5)
    assert res.status is Status.INFEASIBLE
    assert res.diagnosis[0].requests == ("lorry",) and "12.0 m" in str(res.diagnosis[0])
    tight = KerbAllocationProblem(segs, (KerbRequest("van", 0, 30, 5.0, latest_completion=20),))
    res = solve(tight, time_limit=5)
    assert res.status is Status.INFEASIBLE and res.diagnosis[0].requests == ("van",)
    assert "loading window" in str(res.diagnosis[0])


# The brute force is written from the problem statement: segments that hold one vehicle at a
# time (vehicle longer than half of each segment), one loading window per segment; every
# request is placed on an allowed segment or skipped, and on each segment every order is tried
# with each vehicle started as early as the order allows (a left-shifted optimum exists).
def brute_force(p: KerbAllocationProblem) -> float | None:
    """Optimal objective of a problem whose segments hold one vehicle at a time."""
    segs = {g.id: g for g in p.segments}

    @cache
    def best_on(gid: str, members: frozenset[int]) -> float | None:
        g = segs[gid]
        (w0, w1), = g.windows
        best = None
        for perm in itertools.permutations(sorted(members)):
            t, total, ok = w0, 0.0, True
            for i in perm:
                r = p.requests[i]
                s = max(t, r.arrival)
                t = s + r.handling
                limits = [x for x in (w1, r.latest_completion) if x is not None]
                if r.length > g.length or (limits and t > min(limits)):
                    ok = False
                    break
                total += r.weight * (t - r.arrival)
            if ok and (best is None or total < best):
                best = total
        return best

    best_total = None
    choices = [[*(r.segments or tuple(segs)), None] if r.skip_penalty is not None else list(r.segments or segs)
               for r in p.requests]
    for assign in itertools.product(*choices):
        total = sum(float(p.requests[i].skip_penalty or 0.0) for i, a in enumerate(assign) if a is None)
        for gid in segs:
            members = frozenset(i for i, a in enumerate(assign) if a == gid)
            if members:
                got = best_on(gid, members)
                if got is None:
                    break
                total += got
        else:
            if best_total is None or total < best_total:
                best_total = total
    return best_total


@st.composite
def one_at_a_time(draw: st.DrawFn) -> KerbAllocationProblem:
    """Two or three segments of 10 m (one window each) and up to five 6-9 m vehicles (so one at
    a time per segment), some restricted to segments, some skippable, some with a hard end."""
    m = draw(st.integers(2, 3))
    segs = []
    for k in range(m):
        a = draw(st.integers(0, 10))
        b = draw(st.one_of(st.none(), st.integers(a + 15, a + 60)))
        segs.append(KerbSegment(f"g{k}", 10.0, ((a, b),)))
    reqs = []
    for i in range(draw(st.integers(1, 5))):
        arr, h = draw(st.integers(0, 20)), draw(st.integers(1, 12))
        allowed = draw(st.one_of(st.none(), st.sets(st.sampled_from([g.id for g in segs]), min_size=1)))
        reqs.append(KerbRequest(
            f"v{i}", arr, h, float(draw(st.integers(6, 9))), weight=float(draw(st.integers(1, 3))),
            latest_completion=draw(st.one_of(st.none(), st.integers(arr + h, arr + h + 30))),
            segments=None if allowed is None else tuple(sorted(allowed)),
            skip_penalty=draw(st.one_of(st.none(), st.integers(0, 40).map(float)))))
    return KerbAllocationProblem(tuple(segs), tuple(reqs), resolution=0.5)


@settings(max_examples=30, deadline=None)
@given(one_at_a_time())
def test_optimum_equals_brute_force(p: KerbAllocationProblem) -> None:
    """On segments holding one vehicle at a time the solver's proven optimum must equal the
    brute force over segment choices and orders, and the independent checker must accept the
    plan and recompute the same objective; infeasibility must agree as well."""
    best = brute_force(p)
    res = solve(p, budget=Budget.work(10.0))
    if best is None:
        assert res.status is Status.INFEASIBLE
        return
    assert res.status is Status.OPTIMAL
    report = check_schedule(p, res.schedule, res.unserved)
    assert report.ok, report.violations
    assert report.objective == pytest.approx(best) and res.objective == pytest.approx(best)


def test_work_budget_is_reproducible() -> None:
    """A work budget (deterministic seconds, one worker) must give the same plan twice on a
    problem too large to be proven optimal within it (so the limit, not a proof, ends the
    search)."""
    segs = tuple(KerbSegment(f"g{k}", 14.0 + k, ((0, 600),)) for k in range(4))
    reqs = tuple(KerbRequest(f"r{i}", (37 * i) % 480, 10 + (13 * i) % 40, 5.5 + (i % 4) * 1.5,
                             skip_penalty=60.0) for i in range(60))
    p = KerbAllocationProblem(segs, reqs)
    a = solve(p, budget=Budget.work(0.5))
    b = solve(p, budget=Budget.work(0.5))
    assert a.schedule == b.schedule and a.unserved == b.unserved and a.objective == b.objective
    assert check_schedule(p, a.schedule, a.unserved).ok
