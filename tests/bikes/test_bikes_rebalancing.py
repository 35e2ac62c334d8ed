"""The rebalancing optimiser: plans pass the independent checker, tiny instances are optimal,
and the checker itself catches each kind of violation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from optimize.rebalancing import (
    Plan,
    ProblemError,
    RebalancingProblem,
    Route,
    SolveParams,
    Stop,
    Van,
    check_plan,
    solve,
)


def _problem(seed: int, n: int, vans: int, load: int = 0, budget_s: float = 3600.0) -> RebalancingProblem:
    rng = np.random.default_rng(seed)
    cap = rng.integers(5, 30, n)
    stock = rng.integers(0, cap + 1)
    target = rng.integers(0, cap + 1)
    pos = rng.random((n, 2)) * 4000.0
    vs = tuple(Van(capacity=12, x=2000.0, y=2000.0, load=min(load, 12), time_budget_s=budget_s)
               for _ in range(vans))
    return RebalancingProblem(stock, target, cap, pos, vs, value_per_bike=rng.random(n) + 0.1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 25), vans=st.integers(1, 3),
       load=st.integers(0, 12), budget=st.floats(300.0, 7200.0))
# found by Hypothesis in CI: legs rounded to the nearest second added up to 2649.5 s > 2648 s
@example(seed=2, n=21, vans=2, load=0, budget=2648.0)
def test_every_plan_passes_the_checker(seed: int, n: int, vans: int, load: int, budget: float) -> None:
    problem = _problem(seed, n, vans, load, budget)
    plan = solve(problem, SolveParams(binary_split=seed % 2 == 0))
    res = check_plan(problem, plan)
    assert res.ok, res.violations
    assert res.imbalance_after <= res.imbalance_before
    assert all(0 <= m <= 12 for m in res.max_load)
    assert all(d <= budget + 1.0 for d in res.duration_s)


def test_plan_reduces_imbalance_when_it_pays() -> None:
    problem = _problem(3, 30, 2)
    res = check_plan(problem, solve(problem))
    assert res.ok
    # with an hour each and stations ~2 km apart the vans must move a good share of the surplus
    assert res.imbalance_reduced >= 40


def _brute_force(problem: RebalancingProblem) -> float:
    """Exact optimum of a one-van instance whose chunks are whole stations (small n only)."""
    van = problem.vans[0]
    diff = problem.stock - problem.target
    vals = problem.values()
    penalty = np.rint(vals * np.abs(diff) * problem.metres_per_value)
    cand = [i for i in range(problem.n) if diff[i] != 0]
    best = float(penalty[cand].sum())
    start = np.array([van.x, van.y])
    for r in range(1, len(cand) + 1):
        for seq in itertools.permutations(cand, r):
            load, pos, dist, t = van.load, start, 0.0, 0.0
            ok = True
            for i in seq:
                d = float(np.rint(problem.detour * np.hypot(*(problem.positions[i] - pos))))
                dist += d
                t += np.rint(d / van.speed_m_s + abs(diff[i]) * van.handling_s_per_bike)
                pos = problem.positions[i]
                load += int(diff[i])
                if not 0 <= load <= van.capacity:
                    ok = False
                    break
            if ok and t <= van.time_budget_s:
                unserved = float(penalty[[i for i in cand if i not in seq]].sum())
                best = min(best, dist + unserved)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_tiny_instances_are_solved_to_optimality(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = 5
    cap = np.full(n, 10)
    stock = rng.integers(0, 11, n)
    target = np.full(n, 5)
    pos = rng.random((n, 2)) * 3000.0
    van = Van(capacity=8, x=1500.0, y=1500.0, load=int(rng.integers(0, 5)), time_budget_s=1500.0)
    problem = RebalancingProblem(stock, target, cap, pos, (van,), value_per_bike=rng.random(n) + 0.2,
                                 metres_per_value=800.0)
    plan = solve(problem, SolveParams(chunk=10))
    assert check_plan(problem, plan).ok
    assert plan.objective == pytest.approx(_brute_force(problem), abs=1.0)


def test_van_starting_loaded_only_drops() -> None:
    # every station has a deficit: a loaded van can drop, an empty one can do nothing
    pos = np.array([[0.0, 0.0], [500.0, 0.0], [1000.0, 0.0]])
    problem = RebalancingProblem(np.array([0, 1, 2]), np.array([5, 5, 5]), np.array([10, 10, 10]), pos,
                                 (Van(capacity=10, x=0.0, y=0.0, load=6),))
    # binary chunks let the van split its 6 bikes over deficits of 5, 4 and 3
    res = check_plan(problem, solve(problem, SolveParams(binary_split=True)))
    assert res.ok
    assert res.imbalance_reduced == 6
    empty = RebalancingProblem(problem.stock, problem.target, problem.capacity, pos,
                               (Van(capacity=10, x=0.0, y=0.0, load=0),))
    assert solve(empty).bikes_moved == 0
    assert check_plan(empty, solve(empty)).imbalance_reduced == 0


def _line(load: int = 0, budget: float = 3600.0) -> RebalancingProblem:
    pos = np.array([[0.0, 0.0], [1000.0, 0.0]])
    return RebalancingProblem(np.array([9, 1]), np.array([5, 5]), np.array([10, 10]), pos,
                              (Van(capacity=3, x=0.0, y=0.0, load=load, time_budget_s=budget),))


@pytest.mark.parametrize(
    ("stops", "load", "budget", "fragment"),
    [
        (((0, 4),), 0, 3600.0, "load 4 outside"),  # van holds 3
        (((1, -2),), 0, 3600.0, "load -2 outside"),  # nothing on board to drop
        (((0, 3), (0, 2)), 0, 3600.0, "load 5 outside"),
        (((1, 3),), 0, 3600.0, "picked up but surplus"),  # station 1 has a deficit
        (((0, 3), (1, -3), (0, 1)), 0, 3600.0, ""),  # feasible: all 4 from station 0 in two trips
        (((0, 3), (1, -3), (0, 2)), 0, 3600.0, "5 picked up but surplus is 4"),
        (((0, 3), (1, -3)), 0, 100.0, "budget"),
        (((0, 2), (1, -2)), 0, 3600.0, ""),
        (((1, -3),), 3, 3600.0, ""),
        (((1, -3), (1, -2)), 3, 3600.0, "load -2 outside"),
    ],
)
def test_checker_catches_violations(stops: tuple[tuple[int, int], ...], load: int, budget: float,
                                    fragment: str) -> None:
    problem = _line(load, budget)
    plan = Plan((Route(0, tuple(Stop(s, q) for s, q in stops)),))
    res = check_plan(problem, plan)
    if fragment:
        assert any(fragment in e for e in res.violations), res.violations
    else:
        assert res.ok, res.violations


def test_checker_recomputes_distance_time_and_imbalance() -> None:
    problem = _line()
    plan = Plan((Route(0, (Stop(0, 3), Stop(1, -3))),))
    res = check_plan(problem, plan)
    assert res.distance_m == (pytest.approx(1.3 * 1000.0),)
    van = problem.vans[0]
    assert res.duration_s == (pytest.approx(1300.0 / van.speed_m_s + 6 * van.handling_s_per_bike),)
    assert (res.imbalance_before, res.imbalance_after) == (8, 2)
    assert res.stock_after.tolist() == [6, 4]


def test_overshooting_the_target_is_an_error() -> None:
    problem = _line(load=3)
    res = check_plan(problem, Plan((Route(0, (Stop(0, -1),)),)))  # station 0 is above target already
    assert any("dropped but deficit" in e for e in res.violations)


def test_bad_problem_data_is_rejected_with_a_message() -> None:
    pos = np.zeros((2, 2))
    with pytest.raises(ProblemError, match="target 11 exceeds capacity 10"):
        RebalancingProblem(np.array([1, 1]), np.array([11, 1]), np.array([10, 10]), pos, (Van(5, 0, 0),))
    with pytest.raises(ProblemError, match="van load"):
        Van(capacity=5, x=0, y=0, load=6)
    with pytest.raises(ProblemError, match="positions"):
        RebalancingProblem(np.array([1]), np.array([1]), np.array([1]), pos, (Van(5, 0, 0),))


def test_same_problem_same_plan() -> None:
    problem = _problem(11, 40, 3)
    a, b = solve(problem), solve(problem)
    assert a.routes == b.routes
    assert math.isclose(a.objective, b.objective)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 25), vans=st.integers(1, 3),
       effort=st.integers(1, 40))
def test_budgeted_warm_started_plans_pass_the_checker_and_repeat(seed: int, n: int, vans: int,
                                                                effort: int) -> None:
    """An effort budget (no clock) and a warm start from another plan: still checked-valid,
    and the same problem, start and budget give the same plan."""
    from optimize.budget import Budget

    problem = _problem(seed, n, vans)
    cold = solve(problem, SolveParams(budget=Budget.work(effort)))
    # warm start from a plan of a different problem (the previous hour's stations, reversed)
    previous = tuple(tuple(s.station for s in r.stops)[::-1] for r in solve(_problem(seed + 1, n, vans)).routes)
    params = SolveParams(budget=Budget.work(effort), initial_routes=previous)
    warm = solve(problem, params)
    for plan in (cold, warm):
        res = check_plan(problem, plan)
        assert res.ok, res.violations
        assert res.imbalance_after <= res.imbalance_before
    again = solve(problem, params)
    assert again.routes == warm.routes and again.objective == warm.objective
