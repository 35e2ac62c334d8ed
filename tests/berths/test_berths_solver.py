"""optimize.berths.solve on small instances: checker-valid, equal to a brute-force optimum,
infeasibility diagnosed; kerbside variant against the equivalent discrete problem."""

from __future__ import annotations

import itertools
import math
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimize.berths import (
    Berth,
    BerthInfeasibleError,
    BerthProblem,
    KerbProblem,
    KerbRequest,
    Request,
    SolverOptions,
    Status,
    check_schedule,
    diagnose,
    solve,
)

# The brute force and the cost below are written from the problem statement only; they
# share no code with the solver.


def _cost(r: Request, end: int) -> float:
    c = r.weight * (end - r.arrival)
    if r.lateness_penalty is not None and r.latest_completion is not None:
        c += r.lateness_penalty * max(0, end - r.latest_completion)
    return c


def brute_force(p: BerthProblem) -> float | None:
    """Minimum over every berth assignment and every order per berth, each request started as
    early as its order allows (an optimal schedule can be left-shifted to that form)."""
    berths = {b.id: b for b in p.berths}

    @cache
    def best_on(bid: str, members: frozenset[int]) -> float | None:
        b = berths[bid]
        best = None
        for perm in itertools.permutations(sorted(members)):
            t, total, ok = b.open, 0.0, True
            for i in perm:
                r = p.requests[i]
                s = max(t, r.arrival)
                t = s + r.handling[bid]
                hard = [x for x in (b.close, r.latest_completion if r.lateness_penalty is None else None)
                        if x is not None]
                if hard and t > min(hard):
                    ok = False
                    break
                total += _cost(r, t)
            if ok and (best is None or total < best):
                best = total
        return best

    best_total = None
    choices = [sorted(r.handling) for r in p.requests]
    for assign in itertools.product(*choices):
        total = 0.0
        for bid in berths:
            members = frozenset(i for i, a in enumerate(assign) if a == bid)
            if not members:
                continue
            c = best_on(bid, members)
            if c is None:
                total = math.inf
                break
            total += c
        if total < math.inf and (best_total is None or total < best_total):
            best_total = total
    return best_total


@st.composite
def berth_problems(draw: st.DrawFn, max_requests: int = 6) -> BerthProblem:
    m = draw(st.integers(1, 3))
    berths = []
    for k in range(m):
        opening = draw(st.integers(0, 5))
        close = draw(st.one_of(st.none(), st.integers(opening + 10, opening + 60)))
        berths.append(Berth(f"b{k}", opening, close))
    n = draw(st.integers(1, max_requests))
    reqs = []
    for i in range(n):
        allowed = draw(st.lists(st.sampled_from([b.id for b in berths]), min_size=1, unique=True))
        handling = {b: draw(st.integers(1, 12)) for b in allowed}
        arrival = draw(st.integers(0, 20))
        kind = draw(st.sampled_from(["none", "hard", "soft"]))
        latest = None if kind == "none" else arrival + draw(st.integers(1, 40))
        penalty = draw(st.integers(0, 5)) * 1.0 if kind == "soft" else None
        reqs.append(Request(f"r{i}", arrival, handling, weight=float(draw(st.integers(0, 3))),
                            latest_completion=latest, lateness_penalty=penalty))
    return BerthProblem(tuple(berths), tuple(reqs))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(berth_problems(max_requests=7))
def test_small_instances_match_brute_force(p: BerthProblem) -> None:
    """The brute force tries every berth and order (no solver code), so on instances of up to seven
    requests the solver must be proven optimal at that value with a matching bound and a schedule
    the checker accepts, or, when none exists, infeasible with a diagnosis naming requests."""
    expected = brute_force(p)
    res = solve(p, time_limit=20, seed=1, workers=1)
    if expected is None:
        assert res.status is Status.INFEASIBLE
        assert res.diagnosis, "an infeasible problem must come with a diagnosis"
        text = " ".join(str(d) for d in res.diagnosis)
        assert "lateness_penalty" in text
        assert any(rid in text for d in res.diagnosis for rid in d.requests)
        with pytest.raises(BerthInfeasibleError):
            res.require_schedule()
        return
    assert res.status is Status.OPTIMAL
    report = check_schedule(p, res.schedule)
    assert report.ok, report.violations
    assert res.objective == pytest.approx(expected)
    assert report.objective == pytest.approx(expected)
    assert res.lower_bound == pytest.approx(expected)


def assert_cpsat_alone_is_optimal(p: BerthProblem, seed: int) -> None:
    """CP-SAT without the LP bound and improvement phase proves the brute-force optimum
    (or infeasibility), and its schedule passes the independent checker."""
    expected = brute_force(p)
    opts = SolverOptions(relaxation_bound=False, improve_fraction=0.0)
    res = solve(p, time_limit=20, seed=seed, workers=1, options=opts)
    if expected is None:
        assert res.status is Status.INFEASIBLE
        return
    assert res.status is Status.OPTIMAL
    assert check_schedule(p, res.schedule).ok
    assert res.objective == pytest.approx(expected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(berth_problems(max_requests=7))
def test_cpsat_model_alone_matches_brute_force(p: BerthProblem) -> None:
    """Without the LP bound and LNS, CP-SAT itself must prove the optimum: this is what
    checks the dominance rules and the berth-chain symmetry breaking."""
    assert_cpsat_alone_is_optimal(p, seed=2)


@settings(max_examples=15, deadline=None)
@given(berth_problems(max_requests=6))
def test_plain_model_agrees(p: BerthProblem) -> None:
    """The before/after comparison is only fair if both models solve the same problem."""
    strong = solve(p, time_limit=20, seed=0, workers=1)
    plain = solve(p, time_limit=20, seed=0, workers=1, options=SolverOptions(plain=True))
    assert strong.status == plain.status
    if strong.status is Status.OPTIMAL:
        assert strong.objective == pytest.approx(plain.objective)
        assert check_schedule(p, plain.schedule).ok


def test_hand_checked_two_trucks() -> None:
    """t1 on bay2 at 0-7 and t2 on bay1 at 1-6 cost 7 + 5 = 12, against 5 + 9 = 14 with both on
    bay1: the solver must find the 12 and that assignment."""
    p = BerthProblem(
        (Berth("bay1"), Berth("bay2")),
        (Request("t1", 0, {"bay1": 5, "bay2": 7}), Request("t2", 1, {"bay1": 5})),
    )
    res = solve(p, time_limit=5, seed=0, workers=1)
    # t1 on bay2 [0,7), t2 on bay1 [1,6): 7 + 5 = 12; both on bay1 would cost 5 + 9 = 14
    assert res.status is Status.OPTIMAL and res.objective == 12
    by = res.by_request
    assert (by["t1"].berth, by["t1"].start, by["t2"].berth, by["t2"].start) == ("bay2", 0, "bay1", 1)


def test_hard_deadline_unreachable_names_the_request() -> None:
    """The berth opens at 10 and 'late' needs 8, so it finishes at 18 > 15: infeasible, with the
    diagnosis naming it and the numbers; made soft, the problem must solve to the brute-force
    optimum."""
    p = BerthProblem(
        (Berth("b1", open=10, close=100),),
        (Request("late", 5, {"b1": 8}, latest_completion=15), Request("ok", 0, {"b1": 3})),
    )
    res = solve(p, time_limit=5)
    assert res.status is Status.INFEASIBLE
    (d,) = res.diagnosis
    assert d.requests == ("late",)
    assert "opens 10" in d.reason and "18 > 15" in d.reason and "lateness_penalty" in d.reason
    # making the deadline soft is the advertised way out
    soft = BerthProblem(p.berths, (Request("late", 5, {"b1": 8}, latest_completion=15,
                                           lateness_penalty=2.0), p.requests[1]))
    res2 = solve(soft, time_limit=5)
    assert res2.status is Status.OPTIMAL
    assert res2.objective == pytest.approx(brute_force(soft))


def test_joint_conflict_gives_a_core() -> None:
    """Each 10-long job alone ends by 20 but three cannot on one berth: the diagnosis must be one
    conflict of at least two of them and must not blame the free request."""
    # each request fits alone, but three 10-long jobs cannot all end by 20 on one berth
    reqs = tuple(Request(f"r{i}", 0, {"b": 10}, latest_completion=20) for i in range(3))
    p = BerthProblem((Berth("b"),), reqs + (Request("free", 0, {"b": 1}),))
    diag = diagnose(p)
    assert len(diag) == 1
    assert set(diag[0].requests) <= {"r0", "r1", "r2"} and len(diag[0].requests) >= 2
    res = solve(p, time_limit=5)
    assert res.status is Status.INFEASIBLE and res.diagnosis


def test_identical_berths_and_dominance_keep_the_optimum() -> None:
    """Berths differing only in closing time make the chain and dominance rules apply; CP-SAT alone
    (no LP bound, no improvement) must still reach the brute-force optimum."""
    # near-identical requests on berths differing only in closing time: chains and dominance
    reqs = tuple(Request(f"r{i}", i % 3, {"a": 4, "b": 4, "c": 4}, latest_completion=9 + 2 * i)
                 for i in range(7))
    p = BerthProblem((Berth("a", 0, 30), Berth("b", 0, 12), Berth("c", 0, 20)), reqs)
    opts = SolverOptions(relaxation_bound=False, improve_fraction=0.0)
    res = solve(p, time_limit=10, seed=0, workers=1, options=opts)
    assert res.status is Status.OPTIMAL
    assert res.objective == pytest.approx(brute_force(p))
    assert check_schedule(p, res.schedule).ok


def test_same_seed_same_schedule() -> None:
    """Two solves with the same seed on one worker must give the same schedule and objective."""
    reqs = tuple(Request(f"r{i}", (7 * i) % 11, {"a": 3 + i % 4, "b": 5}) for i in range(9))
    p = BerthProblem((Berth("a"), Berth("b")), reqs)
    a = solve(p, time_limit=10, seed=3, workers=1)
    b = solve(p, time_limit=10, seed=3, workers=1)
    assert a.schedule == b.schedule and a.objective == b.objective


# --- kerbside ---------------------------------------------------------------------------


def test_kerb_mixed_lengths_hand_checked() -> None:
    """On a 10 m kerb the 6 m lorry and a 4 m van fit side by side from 0 to 10, the second van
    waits until 10 and leaves at 20: 10 + 10 + 20 = 40 by hand."""
    # 10 m kerb: a 6 m lorry and a 4 m van fit side by side; the second van waits
    p = KerbProblem(10.0, (KerbRequest("lorry", 0, 10, 6.0), KerbRequest("van1", 0, 10, 4.0),
                           KerbRequest("van2", 0, 10, 4.0)))
    res = solve(p, time_limit=5, workers=1)
    assert res.status is Status.OPTIMAL and res.objective == 40
    assert check_schedule(p, res.schedule).ok


def test_kerb_too_long_vehicle_is_diagnosed() -> None:
    """A 12 m bus can never fit a 5 m kerb: infeasible, with the diagnosis naming the bus and its
    length."""
    p = KerbProblem(5.0, (KerbRequest("bus", 0, 10, 12.0),))
    res = solve(p, time_limit=5)
    assert res.status is Status.INFEASIBLE
    assert res.diagnosis[0].requests == ("bus",) and "12.0 m" in str(res.diagnosis[0])


def test_kerb_checker_catches_overlap() -> None:
    """Two 6 m vehicles at 0 m and 3.5 m share kerb, so overlapping in time is a violation, while
    one after the other is accepted: the checker must tell the two apart."""
    from optimize.berths import Assignment

    p = KerbProblem(10.0, (KerbRequest("a", 0, 5, 6.0), KerbRequest("b", 0, 5, 6.0)))
    bad = (Assignment("a", 0, 5, position=0.0), Assignment("b", 2, 7, position=3.5))
    assert not check_schedule(p, bad).ok
    good = (Assignment("a", 0, 5, position=0.0), Assignment("b", 5, 10, position=3.5))
    assert check_schedule(p, good).ok


@st.composite
def equal_length_kerbs(draw: st.DrawFn) -> tuple[KerbProblem, BerthProblem]:
    """A kerb holding exactly ``c`` vehicles of length L/c is ``c`` identical berths: time
    intervals overlapping pairwise at most ``c`` at a time can be given ``c`` colours."""
    c = draw(st.integers(1, 3))
    length = 5.5
    n = draw(st.integers(1, 6))
    kreqs, breqs = [], []
    for i in range(n):
        a, h, w = draw(st.integers(0, 15)), draw(st.integers(1, 9)), float(draw(st.integers(1, 3)))
        kreqs.append(KerbRequest(f"v{i}", a, h, length, weight=w))
        breqs.append(Request(f"v{i}", a, {f"s{k}": h for k in range(c)}, weight=w))
    kerb = KerbProblem(length * c, tuple(kreqs), resolution=0.5)
    berth = BerthProblem(tuple(Berth(f"s{k}") for k in range(c)), tuple(breqs))
    return kerb, berth


@settings(max_examples=25, deadline=None)
@given(equal_length_kerbs())
def test_kerb_equals_identical_berths(pair: tuple[KerbProblem, BerthProblem]) -> None:
    """A kerb holding exactly c vehicles of equal length is c identical berths, so its optimum must
    equal the berth brute force of the same requests; the fast-machine bound given to CP-SAT must
    not exceed that optimum."""
    kerb, berth = pair
    res = solve(kerb, time_limit=20, seed=0, workers=1)
    assert res.status is Status.OPTIMAL
    report = check_schedule(kerb, res.schedule)
    assert report.ok, report.violations
    best = brute_force(berth)
    assert res.objective == pytest.approx(best)
    # the kerb's fast-machine bound (given to CP-SAT) must not cut the optimum off
    from optimize.berths.bounds import fast_machine_bound

    reqs = kerb.requests
    lb = fast_machine_bound([float(r.arrival) for r in reqs], [r.length * r.handling for r in reqs],
                            [float(r.handling) for r in reqs], [r.weight for r in reqs],
                            [r.arrival for r in reqs], kerb.length)
    assert best is not None and lb <= best + 1e-6


# --- quick tier on a published instance ----------------------------------------------------


def test_cordeau_instance_quick(instances_dir: Path) -> None:
    """Cordeau scenario01 with unit weights has the proven optimum 1409 (known_values.csv): a
    checked schedule whose bound and objective bracket it, and equal to it when the solver says
    optimal."""
    from optimize.berths import read_dbap

    f = instances_dir / "bap" / "cordeau60x13" / "scenario01.txt"
    known = 1409  # known_values.csv: proven optimum with unit weights
    p = read_dbap(f, forbidden=200, unit_weights=True)
    res = solve(p, time_limit=10, seed=0, workers=2)
    report = check_schedule(p, res.schedule)
    assert report.ok, report.violations[:3]
    assert res.objective is not None and res.lower_bound is not None
    assert res.lower_bound <= known + 1e-6 <= res.objective + 1e-6
    if res.status is Status.OPTIMAL:
        assert res.objective == pytest.approx(known)


def test_cpsat_lns_path_keeps_schedules_valid() -> None:
    """The CP-SAT-driven LNS path (lns_share 1) on a problem with soft and hard deadlines must still
    give a checked schedule at the brute-force optimum."""
    # the optional CP-SAT-driven LNS (lns_share=1) on a problem the warm start does not solve
    reqs = tuple(Request(f"r{i}", (5 * i) % 13, {"a": 2 + i % 5, "b": 3 + (i * 7) % 4},
                         latest_completion=60 + i, lateness_penalty=1.0 if i % 2 else None)
                 for i in range(7))
    p = BerthProblem((Berth("a", 1, None), Berth("b", 0, 80)), reqs)
    opts = SolverOptions(relaxation_bound=False, lns_share=1.0, improve_fraction=0.5)
    res = solve(p, time_limit=6, seed=0, workers=1, options=opts)
    assert res.status is Status.OPTIMAL
    assert check_schedule(p, res.schedule).ok
    assert res.objective == pytest.approx(brute_force(p))


@st.composite
def chained_berths(draw: st.DrawFn) -> BerthProblem:
    """Berths alike but for their closing time, so berth chains and dominance both apply."""
    m = draw(st.integers(2, 3))
    berths = tuple(Berth(f"b{k}", 0, draw(st.one_of(st.none(), st.integers(12, 45))))
                   for k in range(m))
    reqs = []
    for i in range(draw(st.integers(2, 7))):
        h = draw(st.integers(1, 8))
        latest = draw(st.one_of(st.none(), st.integers(8, 40)))
        reqs.append(Request(f"r{i}", draw(st.integers(0, 10)), {b.id: h for b in berths},
                            weight=float(draw(st.integers(1, 3))), latest_completion=latest))
    return BerthProblem(berths, tuple(reqs))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chained_berths())
def test_symmetry_breaking_on_chained_berths_keeps_the_optimum(p: BerthProblem) -> None:
    """On berths alike but for their closing time, the berth-chain symmetry breaking must not cut
    off the optimum: CP-SAT alone must prove the brute-force value."""
    assert_cpsat_alone_is_optimal(p, seed=0)


# --- work budgets (simulation use) ----------------------------------------------------


@given(berth_problems(max_requests=6))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_work_budget_finds_the_brute_force_optimum(p: BerthProblem) -> None:
    """A work budget leaves out the clock-driven stages but keeps the model correct: on
    small instances a generous deterministic budget reaches the brute-force optimum."""
    from optimize.budget import Budget

    expected = brute_force(p)
    res = solve(p, seed=0, budget=Budget.work(5.0))
    if expected is None:
        assert res.status is Status.INFEASIBLE
        return
    assert check_schedule(p, res.schedule).ok
    assert res.objective == pytest.approx(expected)


def _fcfs_identical_bays(p: BerthProblem) -> float:
    """First come, first served on identical bays, written from the problem statement: each
    truck in arrival order takes the bay that frees first (the rule the simulation uses
    without planning); total time in the system."""
    free = [0] * len(p.berths)
    total = 0.0
    for r in sorted(p.requests, key=lambda r: r.arrival):
        k = min(range(len(free)), key=lambda k: free[k])
        start = max(free[k], r.arrival)
        free[k] = start + next(iter(r.handling.values()))
        total += free[k] - r.arrival
    return total


def test_work_budget_on_a_congested_station_day_is_no_worse_than_first_come() -> None:
    """A Liangxi-like station-day (6 identical bays, 8-minute tips, 160 trucks in two waves):
    a tiny deterministic budget must still give a schedule at least as good as first come,
    first served, and the same schedule on every call.  (Before the work mode kept the warm
    start, a 2-second budget on the plain model returned ~50x the first-come cost.)"""
    from optimize.budget import Budget

    bays = tuple(Berth(f"bay{k}") for k in range(6))
    arrivals = [(37 * i) % 90 for i in range(80)] + [200 + (53 * i) % 120 for i in range(80)]
    p = BerthProblem(bays, tuple(Request(f"t{i}", a, {b.id: 8 for b in bays})
                                 for i, a in enumerate(arrivals)))
    fcfs = _fcfs_identical_bays(p)
    for options in (None, SolverOptions(final_search=False)):
        a = solve(p, seed=0, budget=Budget.work(0.01), options=options)
        b = solve(p, seed=0, budget=Budget.work(0.01), options=options)
        assert check_schedule(p, a.schedule).ok
        assert a.objective is not None and a.objective <= fcfs + 1e-9
        assert a.schedule == b.schedule


def test_dominance_keeps_the_optimum_when_a_late_arrival_sits_between() -> None:
    """Hand-checked: on one berth closing at 10, the only optimum serves the long request r0
    first (0-7), then r1 (arrives at 3; 7-8), then r2 (8-9): cost 1 x (8 - 3) = 5.  The
    old dominance rule "r2 before r0" (same arrival, shorter, same weight and closing) holds
    for adjacent requests only; with r1 between them it removed that optimum, and the hint
    repaired to it ran past the closing time."""
    p = BerthProblem((Berth("b0", open=0, close=10),), (
        Request("r0", 0, {"b0": 7}, weight=0.0), Request("r1", 3, {"b0": 1}, weight=1.0),
        Request("r2", 0, {"b0": 1}, weight=0.0)))
    assert brute_force(p) == pytest.approx(5.0)
    for opts in (SolverOptions(relaxation_bound=False, improve_fraction=0.0), SolverOptions()):
        res = solve(p, time_limit=20, seed=2, workers=1, options=opts)
        assert res.status is Status.OPTIMAL and res.objective == pytest.approx(5.0)
        assert check_schedule(p, res.schedule).ok
