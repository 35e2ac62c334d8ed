"""Hypothesis properties: checker acceptance, brute-force optimality, diagnoses."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from optimize.routing import (
    Break,
    Facility,
    InfeasibleProblemError,
    Problem,
    Stop,
    VehicleType,
    check,
    matrices_from_coordinates,
    solve,
)

sys.path.insert(0, str(Path(__file__).parent))
from routing_bruteforce import brute_force_cost  # noqa: E402

from optimize.routing.ortools_backend import OrToolsOptions  # noqa: E402
from optimize.routing.pyvrp_backend import PyVRPOptions  # noqa: E402

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def small_problems(draw: st.DrawFn, max_stops: int = 8, rich: bool = False) -> Problem:
    """Small random problems; ``rich`` adds facilities, breaks, two compartments, time cost."""
    n = draw(st.integers(1, max_stops))
    k = 2 if rich and draw(st.booleans()) else 1
    pts = draw(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)),
                        min_size=n + 3, max_size=n + 3))
    dist, dur = matrices_from_coordinates(np.array(pts, dtype=float), 1.0)
    windows = draw(st.booleans())
    stops = []
    for i in range(n):
        demand = tuple(draw(st.integers(0, 6)) for _ in range(k))
        tw = None
        if windows:
            a = draw(st.integers(0, 150))
            tw = (a, a + draw(st.integers(20, 200)))
        required = draw(st.booleans()) or not rich and draw(st.booleans())
        stops.append(Stop(3 + i, demand, service_time=draw(st.integers(0, 10)), time_window=tw,
                          required=required, penalty=0.0 if required else
                          float(draw(st.integers(0, 80))), name=f"s{i}"))
    facilities: list[Facility] = []
    brk = None
    if rich:
        facilities = [Facility(1, unload_time=draw(st.integers(0, 15)), name="F1")]
        if draw(st.booleans()):
            facilities.append(Facility(2, unload_time=5, name="F2"))
        if draw(st.booleans()):
            e = draw(st.integers(0, 150))
            brk = Break(e, e + draw(st.integers(0, 60)), draw(st.integers(1, 20)))
    vt = VehicleType(capacity=tuple(draw(st.integers(6, 14)) for _ in range(k)),
                     count=draw(st.integers(1, 3)), fixed_cost=float(draw(st.integers(0, 40))),
                     cost_per_km=1000.0, cost_per_hour=3600.0 * draw(st.sampled_from([0, 0, 1])) if rich else 0.0,
                     shift=(0, 600), break_=brk)
    return Problem(dist, dur, stops, [vt], facilities)


@SETTINGS
@given(small_problems(rich=True))
def test_every_solution_passes_the_checker(problem: Problem) -> None:
    """On random rich problems (facilities, breaks, compartments, time cost) every answer passes the
    independent checker with the cost it reports, routes end empty when they must unload, and an
    infeasibility verdict always names a reason."""
    try:
        sol = solve(problem, time_limit=0.3, seed=0)
    except InfeasibleProblemError as exc:
        # A diagnosis must name stops or a fleet-level reason, never be empty.
        assert exc.issues and str(exc)
        return
    report = check(problem, sol)
    assert report.ok, report.violations
    assert sol.cost.total == pytest.approx(report.cost.total)
    for r in sol.routes:
        if problem.must_unload:  # back home empty, whatever happened before
            assert not any(r.visits[-1].load)


def _found_by_hypothesis() -> Problem:
    """An instance on which PyVRP's search stays at 194 (optimum 193) for any seed and
    iteration count tried: the optimum needs a third route holding one stop alone."""
    pts_d = [[0, 31, 31, 20, 31, 26, 33, 31, 27, 23, 31], [31, 0, 0, 37, 0, 5, 38, 0, 10, 11, 0],
             [31, 0, 0, 37, 0, 5, 38, 0, 10, 11, 0], [20, 37, 37, 0, 37, 34, 53, 37, 38, 26, 37],
             [31, 0, 0, 37, 0, 5, 38, 0, 10, 11, 0], [26, 5, 5, 34, 5, 0, 34, 5, 7, 9, 5],
             [33, 38, 38, 53, 38, 34, 0, 38, 28, 40, 38], [31, 0, 0, 37, 0, 5, 38, 0, 10, 11, 0],
             [27, 10, 10, 38, 10, 7, 28, 10, 0, 15, 10], [23, 11, 11, 26, 11, 9, 40, 11, 15, 0, 11],
             [31, 0, 0, 37, 0, 5, 38, 0, 10, 11, 0]]
    d = np.array(pts_d)
    spec = [((0,), (0, 49), True, 0.0), ((0,), (37, 57), False, 1.0),
            ((0,), (0, 20), False, 0.0), ((0,), (58, 78), True, 0.0),
            ((0,), (133, 155), True, 0.0), ((0,), (7, 27), True, 0.0),
            ((5,), (0, 23), False, 30.0), ((0,), (0, 37), False, 0.0)]
    stops = [Stop(3 + i, dem, time_window=tw, required=req, penalty=pen, name=f"s{i}")
             for i, (dem, tw, req, pen) in enumerate(spec)]
    return Problem(d, d, stops, [VehicleType(capacity=(6,), count=3, cost_per_km=1000.0,
                                             shift=(0, 600))])


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(small_problems(max_stops=8))
@example(_found_by_hypothesis())
def test_small_instances_reach_the_brute_force_optimum(problem: Problem) -> None:
    """PyVRP-suitable problems this small are solved exactly (every route enumerated, then
    set partitioning): the cost is the brute-force optimum and the status says so.

    PyVRP's search alone (``exact_max_stops=0``) is held to the weaker property that it is
    never below the optimum: it found the optimum on 150 of 150 random instances, but
    Hypothesis found one it never solves (the ``@example``).  OR-Tools' guided local search
    likewise: measured on 150 random instances it missed the optimum on 2-4 % of them with
    a 200-1000 solution limit.
    """
    best = brute_force_cost(problem)
    if best is None:
        for backend in ("pyvrp", "ortools"):
            with pytest.raises(InfeasibleProblemError):
                solve(problem, time_limit=1.0, seed=0, backend=backend)
        return
    sol = solve(problem, time_limit=30.0, seed=0, backend="pyvrp")
    assert check(problem, sol).ok
    assert sol.cost.total == pytest.approx(best, abs=1e-6)
    assert sol.status == "optimal" and sol.backend == "exact"
    searched = solve(problem, time_limit=30.0, seed=0, backend="pyvrp",
                     options=PyVRPOptions(max_iterations=300, exact_max_stops=0))
    assert check(problem, searched).ok and searched.status == "feasible"
    assert searched.cost.total >= best - 1e-6
    ort = solve(problem, time_limit=5.0, seed=0, options=OrToolsOptions(solution_limit=100))
    assert check(problem, ort).ok
    assert ort.cost.total >= best - 1e-6


def _unreachable_optional_stop() -> Problem:
    """Found by hypothesis: the only stop is optional and its window closes (20) before a
    truck can reach it (39), so no route exists and the empty plan is the proven optimum; the
    enumeration used to give up on an empty route pool and leave it to the search."""
    d = np.array([[0, 39, 39, 39], [39, 0, 0, 0], [39, 0, 0, 0], [39, 0, 0, 0]])
    return Problem(d, d, [Stop(3, (0, 0), time_window=(0, 20), required=False, penalty=0.0, name="s0")],
                   [VehicleType(capacity=(6, 6), count=1, cost_per_km=1000.0, shift=(0, 600))])


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(small_problems(max_stops=7, rich=True))
@example(_unreachable_optional_stop())
def test_exact_solutions_are_never_beaten_where_the_brute_force_cannot_judge(
        problem: Problem) -> None:
    """Time costs, several compartments, optional stops: beyond the brute force, so the
    enumeration (which then runs without its dominance rule) is cross-checked against both
    searches, which must never find anything cheaper than its proven optimum."""
    problem = replace(problem, facilities=(), unload_before_return=False, vehicle_types=tuple(
        replace(vt, break_=None) for vt in problem.vehicle_types))
    try:
        sol = solve(problem, time_limit=30.0, seed=0, backend="pyvrp")
    except InfeasibleProblemError:
        return
    assert check(problem, sol).ok
    assert sol.status == "optimal", sol.notes
    for backend, options in (("pyvrp", PyVRPOptions(max_iterations=300, exact_max_stops=0)),
                             ("ortools", OrToolsOptions(solution_limit=100))):
        other = solve(problem, time_limit=5.0, seed=0, backend=backend, options=options)
        assert check(problem, other).ok
        assert other.cost.total >= sol.cost.total - 1e-6, backend


def test_enumeration_gives_up_beyond_its_budget_and_the_search_takes_over() -> None:
    """Ten free stops have 10! orders per route, far beyond a 1000-order budget, so the enumeration
    must give up (None) instead of running on, and solve() must fall back to the search."""
    from optimize.routing.exact import enumerate_routes
    from optimize.routing.pyvrp_backend import to_pyvrp

    rng = np.random.default_rng(0)
    dist, dur = matrices_from_coordinates(rng.integers(0, 60, (11, 2)).astype(float), 1.0)
    p = Problem(dist, dur, [Stop(1 + i, (1,)) for i in range(10)],
                [VehicleType(capacity=(20,), count=2, cost_per_km=1000.0,
                             cost_per_hour=3600.0)])  # time cost: no dominance rule
    data, _ = to_pyvrp(p)
    assert enumerate_routes(data, time.perf_counter() + 60, max_orders=1000) is None
    # Through solve, with the default 10-stop limit: ten free stops have millions of
    # orders, so the attempt runs out of its order budget or its 30 % of the time limit,
    # whichever comes first, and the search answers.
    sol = solve(p, time_limit=2.0, seed=0, backend="pyvrp")
    assert sol.backend == "pyvrp" and sol.status == "feasible" and check(p, sol).ok


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 6), st.integers(0, 5), st.data())
def test_oversized_demand_is_diagnosed(n: int, bad: int, data: st.DataObject) -> None:
    """One bin of 30 in trucks of 20 can never be served whatever the other bins are; the diagnosis
    must name exactly that bin and the capacity it exceeds."""
    bad = bad % n
    pts = data.draw(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)),
                             min_size=n + 1, max_size=n + 1))
    dist, dur = matrices_from_coordinates(np.array(pts, dtype=float), 1.0)
    stops = [Stop(1 + i, (30 if i == bad else 3,), name=f"bin{i}") for i in range(n)]
    p = Problem(dist, dur, stops, [VehicleType(capacity=(20,), count=2)])
    with pytest.raises(InfeasibleProblemError) as err:
        solve(p, time_limit=0.2)
    assert err.value.stops == (bad,)
    assert f"'bin{bad}'" in str(err.value) and "exceeds capacity 20" in str(err.value)
