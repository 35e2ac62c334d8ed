"""Hypothesis properties: checker acceptance, brute-force optimality, diagnoses."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
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


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(small_problems(max_stops=8))
def test_small_instances_reach_the_brute_force_optimum(problem: Problem) -> None:
    """PyVRP, stopped by an iteration count (not the clock), finds the exact optimum.

    OR-Tools' guided local search is held to the weaker property that it is never below
    the optimum: measured on 150 random instances it missed the optimum on 2-4 % of them
    with a 200-1000 solution limit, so equality would make this test flaky.
    """
    best = brute_force_cost(problem)
    if best is None:
        for backend in ("pyvrp", "ortools"):
            with pytest.raises(InfeasibleProblemError):
                solve(problem, time_limit=1.0, seed=0, backend=backend)
        return
    sol = solve(problem, time_limit=30.0, seed=0, backend="pyvrp",
                options=PyVRPOptions(max_iterations=300))
    assert check(problem, sol).ok
    assert sol.cost.total == pytest.approx(best, abs=1e-6)
    ort = solve(problem, time_limit=5.0, seed=0, options=OrToolsOptions(solution_limit=100))
    assert check(problem, ort).ok
    assert ort.cost.total >= best - 1e-6


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 6), st.integers(0, 5), st.data())
def test_oversized_demand_is_diagnosed(n: int, bad: int, data: st.DataObject) -> None:
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
