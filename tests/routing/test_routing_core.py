"""Hand-checked routing cases, checker mutations and infeasibility diagnoses."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from optimize.budget import Budget
from optimize.routing import (
    Break,
    Facility,
    InfeasibleProblemError,
    NoSolutionFoundError,
    Problem,
    ProblemError,
    Stop,
    VehicleType,
    check,
    solve,
    suitable_backends,
)
from optimize.routing.generate import waste_instance
from optimize.routing.pyvrp_backend import PyVRPOptions


def line_problem(**vt_kwargs: object) -> Problem:
    """Depot at 0, stops at 10, 20, 30 on a line (1 m = 1 s)."""
    xs = np.array([0, 10, 20, 30])
    d = np.abs(xs[:, None] - xs[None, :])
    stops = [Stop(i, (1,), name=f"s{i}") for i in (1, 2, 3)]
    vt = VehicleType(capacity=(10,), count=2, cost_per_km=1000.0, **vt_kwargs)  # type: ignore[arg-type]
    return Problem(d, d, stops, [vt])


def test_line_instance_has_the_obvious_optimum() -> None:
    """Stops at 10, 20, 30 on a line: any route must reach 30 and come back, 60, and visiting in
    order (arrivals 10, 20, 30) or reverse (30, 40, 50) achieves it."""
    p = line_problem()
    sol = solve(p, time_limit=0.5)
    assert sol.cost.total == 60.0  # out to 30 and back
    assert [r.stops for r in sol.routes] in ([[0, 1, 2]], [[2, 1, 0]])
    r = sol.routes[0]
    assert [v.arrival - r.start_time for v in r.visits] in ([10, 20, 30], [30, 40, 50])
    assert check(p, sol).ok


def test_fixed_cost_and_capacity_force_two_routes() -> None:
    """Capacity 2 needs two routes; of the three splits {10,20}+{30} = 40+60, {10,30}+{20} = 60+40
    and {20,30}+{10} = 60+20, the last is cheapest: 80 plus two fixed costs of 5 is 90."""
    p = line_problem(fixed_cost=5.0)
    p = dataclasses.replace(p, vehicle_types=(dataclasses.replace(p.vehicle_types[0],
                                                                   capacity=(2,)),))
    sol = solve(p, time_limit=0.5)
    # Best split: {20, 30} (60) and {10} (20), plus two fixed costs of 5.
    assert sol.cost.total == pytest.approx(90.0)
    assert sorted(sorted(r.stops) for r in sol.routes) == [[0], [1, 2]]
    assert check(p, sol).ok


def test_optional_stop_skipped_when_penalty_is_low() -> None:
    """Serving the optional stop at 30 adds 20 to the 40 of the route to 20 and back; its penalty is
    15 < 20, so it is skipped and the cost is 40 + 15 = 55."""
    p = line_problem()
    stops = list(p.stops)
    stops[2] = dataclasses.replace(stops[2], required=False, penalty=15.0)
    p = dataclasses.replace(p, stops=tuple(stops))
    sol = solve(p, time_limit=0.5)
    assert sol.skipped == (2,)  # 20 extra distance > 15 penalty
    assert sol.cost.penalty == 15.0 and sol.cost.total == 55.0
    assert check(p, sol).ok


def facility_problem(**kwargs: object) -> Problem:
    """Depot 0, transfer station at location 1, four bins of load 6 with capacity 10."""
    xy = np.array([[0, 0], [0, 100], [50, 0], [60, 0], [50, 10], [60, 10]], dtype=float)
    d = np.floor(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) + 0.5).astype(int)
    stops = [Stop(2 + i, (6,), service_time=5, name=f"bin{i}") for i in range(4)]
    vt = VehicleType(capacity=(10,), count=1, cost_per_km=1000.0, **kwargs)  # type: ignore[arg-type]
    return Problem(d, d, stops, [vt], [Facility(1, unload_time=20, name="TS")])


def test_reloads_reset_the_load_and_routes_unload_before_returning() -> None:
    """Four bins of 6 with one truck of 10: at most one bin per trip, so the route needs at least
    two facility visits, the last one before returning, and load never exceeds 10 and is 0 after
    each unload."""
    p = facility_problem()
    sol = solve(p, time_limit=1.0)
    assert check(p, sol).ok
    (route,) = sol.routes
    kinds = [v.kind for v in route.visits]
    assert kinds[-1] == "facility"
    assert kinds.count("facility") >= 2  # 24 units, capacity 10, one truck
    for v in route.visits:
        assert v.load[0] <= 10
        if v.kind == "facility":
            assert v.load == (0,)


def test_break_is_taken_inside_a_route_spanning_its_window() -> None:
    """About 1000 s of work in an 1100 s shift cannot finish before the 200-300 s break window, so
    the route spans it and must place the break inside; removing the break must make the checker
    complain, which shows the checker looks."""
    # About 1000 s of work in a 1100 s shift: the route must span the break window.
    p = facility_problem(break_=Break(200, 300, 30), shift=(0, 1100))
    sol = solve(p, time_limit=1.0)
    (route,) = sol.routes
    assert route.start_time < 200 and route.end_time > 330
    assert route.break_start is not None and 200 <= route.break_start <= 300
    assert check(p, sol).ok
    # The checker refuses the same solution without its break.
    broken = dataclasses.replace(sol, routes=(dataclasses.replace(route, break_start=None),))
    assert any("break" in v for v in check(p, broken).violations)


def test_checker_catches_mutations() -> None:
    """Each hand-made fault in a valid solution (no final unload, a stop dropped, service before
    arrival, a truck smaller than a bin, a cost off by one) must be reported by its own message."""
    p = facility_problem()
    sol = solve(p, time_limit=1.0)
    (route,) = sol.routes
    # Drop the final unload: returns loaded, and cost no longer matches.
    no_unload = dataclasses.replace(route, visits=route.visits[:-1])
    bad = check(p, dataclasses.replace(sol, routes=(no_unload,))).violations
    assert any("must unload" in v for v in bad)
    # Drop a stop: a required stop is missing.
    first_stop = next(k for k, v in enumerate(route.visits) if v.kind == "stop")
    missing = dataclasses.replace(route, visits=route.visits[:first_stop]
                                  + route.visits[first_stop + 1:])
    bad = check(p, dataclasses.replace(sol, routes=(missing,))).violations
    assert any("not served" in v for v in bad)
    # Service too early: cannot be reached.
    v0 = route.visits[0]
    early = dataclasses.replace(route, visits=(dataclasses.replace(v0, start=0),)
                                + route.visits[1:])
    bad = check(p, dataclasses.replace(sol, routes=(early,))).violations
    assert any("cannot be reached" in v for v in bad)
    # The same routes with a truck smaller than one bin (6): overloaded.
    small = dataclasses.replace(p, vehicle_types=(dataclasses.replace(p.vehicle_types[0],
                                                                       capacity=(5,)),))
    assert any("exceeds capacity 5" in v for v in check(small, sol).violations)
    # Wrong cost.
    cost = dataclasses.replace(sol.cost, distance=sol.cost.distance - 1)
    assert any("reported cost" in v for v in check(p, dataclasses.replace(sol, cost=cost)).violations)


def test_compartments_are_separate_capacities() -> None:
    """Paper 5 and glass 5 fit one truck with 5 + 5 compartments: one route 10 + 1 + 10 = 21; with a
    glass compartment of 4 the 5 of glass fits no truck, and the diagnosis names it."""
    d = np.array([[0, 10, 10], [10, 0, 1], [10, 1, 0]])
    stops = [Stop(1, (5, 0), name="paper"), Stop(2, (0, 5), name="glass")]
    p = Problem(d, d, stops, [VehicleType(capacity=(5, 5), count=2, cost_per_km=1000.0)])
    sol = solve(p, time_limit=0.5)
    assert sol.num_routes == 1 and sol.cost.total == 21.0
    small = dataclasses.replace(p, vehicle_types=(VehicleType(capacity=(5, 4), count=2),))
    with pytest.raises(InfeasibleProblemError, match="'glass'.*compartment 1 exceeds capacity 4"):
        solve(small, time_limit=0.5)


def test_unreachable_window_is_diagnosed() -> None:
    """Stop s3 is 30 s from the depot but its window closes at 20: no route can serve it, and the
    diagnosis must name s3 and say why."""
    p = line_problem(shift=(0, 1000))
    stops = list(p.stops)
    stops[2] = dataclasses.replace(stops[2], time_window=(0, 20))  # 30 s away
    with pytest.raises(InfeasibleProblemError, match="'s3'.*after the window closes"):
        solve(dataclasses.replace(p, stops=tuple(stops)), time_limit=0.5)


def test_shift_too_short_to_reach_a_facility_is_diagnosed() -> None:
    """Routes must unload at the facility 100 away: out to a bin and on to it exceeds 150, so the
    shift alone makes the problem infeasible and the diagnosis says so."""
    p = facility_problem(shift=(0, 150))  # facility is 100 away: 200 + unload > 150
    with pytest.raises(InfeasibleProblemError, match="too short to reach any facility"):
        solve(p, time_limit=0.5)


def east_west_windows() -> Problem:
    """Two stops 200 apart with the same 10-unit window: each alone is fine, one vehicle
    cannot serve both (infeasible only jointly, found after the search)."""
    xs = np.array([0, 100, -100])
    d = np.abs(xs[:, None] - xs[None, :])
    stops = [Stop(1, (1,), time_window=(100, 110), name="east"),
             Stop(2, (1,), time_window=(100, 110), name="west")]
    p = Problem(d, d, stops, [VehicleType(capacity=(5,), count=1, shift=(0, 400))])
    return p


def test_jointly_infeasible_stops_are_named_after_the_search() -> None:
    """East and west are 200 apart with the same 100-110 window: each alone is feasible, so no
    per-stop check finds it; the relaxed solve after the search must name exactly one of them."""
    # Each stop alone is fine, but one vehicle cannot serve both windows.
    p = east_west_windows()
    with pytest.raises(InfeasibleProblemError) as err:
        solve(p, time_limit=0.5)
    assert len(err.value.stops) == 1 and "relaxed solve could not fit" in str(err.value)


def test_malformed_problem_is_rejected() -> None:
    """A non-square matrix and a stop at a location outside the matrix are input errors
    (ProblemError naming the fault), not infeasibility."""
    with pytest.raises(ProblemError, match="square"):
        Problem(np.zeros((2, 3)), np.zeros((2, 3)), [], [VehicleType(capacity=(1,))])
    p = line_problem()
    bad = dataclasses.replace(p, stops=(Stop(9, (1,), name="ghost"),))
    with pytest.raises(ProblemError, match="ghost: location 9"):
        solve(bad, time_limit=0.1)


def test_waste_instance_small_is_feasible_and_checked() -> None:
    """A generated 40-bin waste instance under a work budget must give a checked solution whose
    every route ends at a facility (routes must unload before returning)."""
    p = waste_instance(n_bins=40, n_facilities=2, n_trucks=2, seed=3,
                       truck_capacity_kg=(1500, 800))
    sol = solve(p, budget=Budget.work(200))  # work, not the clock: stable on a busy machine
    report = check(p, sol)
    assert report.ok, report.violations
    for r in sol.routes:
        assert r.visits[-1].kind == "facility"


def test_pyvrp_reloads_when_routes_may_return_loaded() -> None:
    """Without the final-unload rule PyVRP can model reloads: 24 units with capacity 10 still need
    at least two unloads, and the load is 0 at each."""
    p = dataclasses.replace(facility_problem(), unload_before_return=False)
    sol = solve(p, time_limit=1.0, seed=2, backend="pyvrp")
    assert check(p, sol).ok
    (route,) = sol.routes
    # 24 units with capacity 10: at least two unloads, loads reset at each.
    assert sum(v.kind == "facility" for v in route.visits) >= 2
    assert all(v.load == (0,) for v in route.visits if v.kind == "facility")


def test_pyvrp_unloads_before_returning_at_the_optimum() -> None:
    """PyVRP models the last unload by ending routes at a virtual depot priced as the cheapest
    detour through a station.  Four bins of 6 and a truck of 10: one bin per trip, so the optimal
    route is depot -> first bin -> TS, then TS -> bin -> TS three times, then TS -> depot.  Its
    length, enumerated here over the first bin (the other three are out-and-back trips), is
    what PyVRP must reach on this tiny problem; the checker must accept the route, which ends
    with an unload at 0 load and has four unloads."""
    p = facility_problem()
    d = p.distance
    bins = [s.location for s in p.stops]
    best = min(int(d[0, a]) + int(d[a, 1]) + sum(2 * int(d[1, b]) for b in bins if b != a) + int(d[1, 0])
               for a in bins)
    sol = solve(p, seed=0, backend="pyvrp", budget=Budget.work(200),
                options=PyVRPOptions(exact_max_stops=0))
    report = check(p, sol)
    assert report.ok, report.violations
    (route,) = sol.routes
    assert route.visits[-1].kind == "facility" and route.visits[-1].load == (0,)
    assert sum(v.kind == "facility" for v in route.visits) == 4
    assert sol.total_distance == best


def test_pyvrp_short_runs_start_from_the_construction_and_repeat() -> None:
    """With the short-run settings PyVRP starts from OR-Tools' construction (feasible) and runs a
    fixed number of iterations: on the small waste instance (reloads, must unload) two runs give
    the same routes, the checker accepts them, and no required bin is left out (the instance
    has 40 bins for 3 trucks of 8-hour shifts; OR-Tools serves all of them too)."""
    p = waste_instance(n_bins=40, n_trucks=3, seed=3, lunch=None)
    opts = PyVRPOptions.short_runs()
    a = solve(p, seed=1, backend="pyvrp", budget=Budget.work(100), options=opts)
    b = solve(p, seed=1, backend="pyvrp", budget=Budget.work(100), options=opts)
    assert check(p, a).ok, check(p, a).violations
    assert [r.visits for r in a.routes] == [r.visits for r in b.routes]
    assert not [i for i in a.skipped if p.stops[i].required]


def test_pyvrp_refuses_what_it_cannot_model() -> None:
    """PyVRP has no break model, so it must refuse a problem with breaks by name rather than
    return routes without the break."""
    with pytest.raises(ValueError, match="cannot model"):
        solve(facility_problem(break_=Break(200, 300, 30), shift=(0, 1100)), time_limit=0.5,
              backend="pyvrp")


def test_auto_returns_a_checked_solution_from_one_of_its_backends() -> None:
    """Three stops are enumerated exactly by auto (the 60 of the line case, proven optimal); breaks
    are modelled by OR-Tools only, so auto must run OR-Tools alone there."""
    p = line_problem()
    sol = solve(p, time_limit=1.0, seed=1, backend="auto")
    # three stops: solved exactly by enumeration, before any search is started
    assert sol.backend == "auto:exact" and sol.status == "optimal"
    assert sol.cost.total == 60.0 and check(p, sol).ok
    # Breaks are OR-Tools only: auto then runs OR-Tools alone.
    brk = facility_problem(break_=Break(200, 300, 30), shift=(0, 1100))
    assert solve(brk, time_limit=1.0, backend="auto").backend == "auto:ortools"


def test_unknown_backend_is_rejected() -> None:
    """A backend name not in the registry is an error naming it, not a silent fallback."""
    with pytest.raises(ValueError, match="unknown backend"):
        solve(line_problem(), backend="gurobi")


def test_every_backend_is_one_registry_entry_with_typed_options() -> None:
    """solve() dispatches only through the registry: each backend says what it supports and
    which options class it takes, and options of another backend are refused by name
    (before, PyVRP options given to OR-Tools failed deep inside the search, or not at all)."""
    from optimize.routing.api import REGISTRY, RoutingBackend
    from optimize.routing.ortools_backend import OrToolsOptions
    from optimize.routing.pyvrp_backend import PyVRPOptions

    assert set(REGISTRY) == {"ortools", "pyvrp", "hgs", "auto"}
    assert all(isinstance(b, RoutingBackend) and b.name == n for n, b in REGISTRY.items())
    assert REGISTRY["ortools"].options is OrToolsOptions and REGISTRY["pyvrp"].options is PyVRPOptions
    with pytest.raises(ValueError, match="takes options of type OrToolsOptions, not PyVRPOptions"):
        solve(line_problem(), time_limit=0.5, backend="ortools", options=PyVRPOptions())
    with pytest.raises(ValueError, match="takes options of type None"):
        solve(line_problem(), time_limit=0.5, backend="auto", options=OrToolsOptions())
    brk = facility_problem(break_=Break(200, 300, 30), shift=(0, 1100))
    assert suitable_backends(brk) == ["ortools"]
    assert not REGISTRY["pyvrp"].supports(brk) and REGISTRY["pyvrp"].supports(line_problem())


def test_time_out_before_a_first_solution_is_not_called_infeasible() -> None:
    """300 bins in 0.01 s gives no first solution; that proves nothing about feasibility, so the
    error must say infeasibility is not proven."""
    p = waste_instance(n_bins=300, seed=1)
    with pytest.raises(NoSolutionFoundError, match="not proven"):
        solve(p, time_limit=0.01)


def test_load_independent_stop_criteria_give_identical_runs() -> None:
    """Iteration and solution limits are work, not time: two runs with the same seed and limit must
    give the same routes, for PyVRP and OR-Tools, whatever the machine's load."""
    from optimize.routing.ortools_backend import OrToolsOptions
    from optimize.routing.pyvrp_backend import PyVRPOptions

    p = waste_instance(n_bins=30, n_facilities=1, n_trucks=2, seed=5, lunch=None,
                       truck_capacity_kg=(1500, 800))
    p = dataclasses.replace(p, unload_before_return=False)  # so that PyVRP can model it

    def routes(backend: str, options: object) -> list[list[tuple[str, int]]]:
        sol = solve(p, time_limit=60.0, seed=3, backend=backend, options=options)
        assert check(p, sol).ok
        return [[(v.kind, v.index) for v in r.visits] for r in sol.routes]

    assert routes("pyvrp", PyVRPOptions(max_iterations=150)) == \
        routes("pyvrp", PyVRPOptions(max_iterations=150))
    assert routes("ortools", OrToolsOptions(solution_limit=50)) == \
        routes("ortools", OrToolsOptions(solution_limit=50))


def test_auto_reports_the_diagnosis_that_names_stops() -> None:
    """The east/west windows are infeasible for both backends; auto must pass on OR-Tools' diagnosis
    naming one stop rather than a vaguer one."""
    # Two stops with windows one vehicle cannot both meet (see the test above); both
    # backends can model it, and the OR-Tools diagnosis naming a stop must win.
    p = east_west_windows()
    with pytest.raises(InfeasibleProblemError) as err:
        solve(p, time_limit=1.0, backend="auto")
    assert len(err.value.stops) == 1
