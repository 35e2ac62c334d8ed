"""Set-partitioning recombination of pooled routes, and the portfolio's members."""

from __future__ import annotations

import itertools

import numpy as np
import pyvrp

from optimize.routing import Facility, Problem, Stop, VehicleType, check
from optimize.routing.portfolio import members, solve_portfolio
from optimize.routing.pyvrp_backend import PyVRPOptions, poolable, search, to_pyvrp
from optimize.routing.recombine import Column, columns_of, recombine, to_solution


def grid_problem(optional: tuple[int, ...] = (), penalty: float = 0.0) -> Problem:
    """Depot in the middle of six stops on two rays; capacity 3 forces two routes."""
    pts = np.array([[0, 0], [10, 0], [20, 0], [30, 0], [-10, 0], [-20, 0], [-30, 0]])
    d = np.rint(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))).astype(int)
    stops = [Stop(i, (1,), required=(i - 1) not in optional,
                  penalty=penalty if (i - 1) in optional else 0.0) for i in range(1, 7)]
    return Problem(d, d, stops, [VehicleType(capacity=(3,), count=3, cost_per_km=1000.0)])


def column(data: pyvrp.ProblemData, clients: list[int]) -> Column:
    cols = columns_of(pyvrp.Solution(data, [pyvrp.Route(data, clients, 0)]))
    assert cols is not None
    return cols[0]


def test_recombination_finds_the_cheaper_partition_hidden_in_the_pool() -> None:
    """Stops at x = 10, 20, 30 and -10, -20, -30: the mixed incumbent costs 60 + 120 = 180 by hand,
    while the two one-ray routes in the pool cost 60 each; the set partition must pick them (120).
    """
    p = grid_problem()
    data, _ = to_pyvrp(p)
    # the incumbent mixes the rays: 60 + 120 ...
    incumbent = [column(data, [0, 1, 3]), column(data, [2, 4, 5])]
    # ... the pool holds the one-ray routes (60 each) among distractors
    pool = [column(data, [0, 1, 2]), column(data, [3, 4, 5]), column(data, [0, 3]),
            column(data, [1, 4, 5]), column(data, [2])]
    chosen = recombine(data, pool, incumbent, time_limit=5.0)
    assert chosen is not None
    assert sorted(sorted(c.clients) for c in chosen) == [[0, 1, 2], [3, 4, 5]]
    assert sum(c.cost for c in incumbent) == 180
    assert sum(c.cost for c in chosen) == 120
    sol = to_solution(data, chosen)
    assert sol.is_feasible() and sol.distance() == 120


def test_recombination_returns_none_when_the_incumbent_is_best_in_the_pool() -> None:
    """The incumbent's one-ray routes (120) are the optimum; no partition of the pool's routes is
    strictly cheaper, so recombine returns None instead of an equal or worse answer."""
    data, _ = to_pyvrp(grid_problem())
    incumbent = [column(data, [0, 1, 2]), column(data, [3, 4, 5])]
    pool = [column(data, [0, 3]), column(data, [1, 2, 4]), column(data, [5])]
    assert recombine(data, pool, incumbent, time_limit=5.0) is None


def test_recombination_prices_skipped_optional_clients_by_their_prize() -> None:
    """Leaving the optional stop at -30 out of the west route saves 60 - 40 = 20 of distance and
    loses its prize of 15, so the pooled route without it gives the strictly cheaper partition."""
    # Stop 6 (client 5, at x=-30) is optional.  Serving it in the west route costs 60
    # against 40 without it; a prize of 15 < 20 makes skipping it the better choice.
    p = grid_problem(optional=(5,), penalty=15.0)
    data, _ = to_pyvrp(p)
    incumbent = [column(data, [0, 1, 2]), column(data, [3, 4, 5])]
    pool = [column(data, [3, 4])]
    chosen = recombine(data, pool, incumbent, time_limit=5.0)
    assert chosen is not None
    assert sorted(sorted(c.clients) for c in chosen) == [[0, 1, 2], [3, 4]]


def test_recombination_respects_the_fleet_size() -> None:
    """A single truck: the pool's two one-ray routes (120) beat the zigzag incumbent (240) but need
    two vehicles, so they must not be chosen; with two trucks the same pool must give 120, which
    shows it is the fleet limit, not the costs, that blocks it."""
    p = grid_problem()

    def fleet(count: int) -> pyvrp.ProblemData:
        return to_pyvrp(Problem(p.distance, p.duration, p.stops,
                                [VehicleType(capacity=(6,), count=count,
                                             cost_per_km=1000.0)]))[0]

    # one truck zigzagging 10, -10, 20, -20, 30, -30: 10 + 20 + 30 + 40 + 50 + 60 + 30 = 240
    one = fleet(1)
    incumbent = [column(one, [0, 3, 1, 4, 2, 5])]
    assert incumbent[0].cost == 240
    # the one-ray routes (60 each) are cheaper together but need two trucks
    pool = [column(one, [0, 1, 2]), column(one, [3, 4, 5])]
    assert recombine(one, pool, incumbent, time_limit=5.0) is None
    two = fleet(2)
    chosen = recombine(two, [column(two, [0, 1, 2]), column(two, [3, 4, 5])],
                       [column(two, [0, 3, 1, 4, 2, 5])], time_limit=5.0)
    assert chosen is not None and sum(c.cost for c in chosen) == 120


def test_search_pools_feasible_single_trip_routes_whose_costs_are_right() -> None:
    """Every pooled column's cost is recomputed from the distance matrix along its visiting order
    (depot, clients, depot) and must equal it; capacity 3 with unit demands bounds every feasible
    pooled route to three clients."""
    p = grid_problem()
    out = search(p, 1.0, seed=3, options=PyVRPOptions(max_iterations=200), pool=True)
    assert out.incumbent is not None and out.columns
    d = p.distance
    for c in out.columns:
        locs = [0] + [p.stops[i].location for i in c.clients] + [0]
        assert c.cost == sum(d[a, b] for a, b in itertools.pairwise(locs))
        assert len(c.clients) <= 3  # capacity: every pooled route is feasible alone


def test_problems_with_facilities_are_not_pooled() -> None:
    """A reload at a facility makes a route several trips whose cost is not a column's: such
    problems are refused by poolable() and search() returns no columns."""
    p = grid_problem()
    p = Problem(p.distance, p.duration, p.stops, p.vehicle_types,
                facilities=[Facility(location=4, unload_time=0)])
    assert not poolable(p)
    out = search(p, 1.0, seed=0, options=PyVRPOptions(max_iterations=100), pool=True)
    assert out.columns == () and out.incumbent is None


def test_members_fill_the_cores_with_pyvrp_seeds_before_ortools() -> None:
    """With PyVRP leading, extra cores go to PyVRP seeds 7, 8, 9 and OR-Tools runs once (seed 7)
    only on the fourth core; OR-Tools alone is never repeated with other seeds."""
    both = ["pyvrp", "ortools"]
    assert members(both, 7, 1) == [("pyvrp", 7)]
    assert members(both, 7, 2) == [("pyvrp", 7), ("pyvrp", 8)]
    assert members(both, 7, 4) == [("pyvrp", 7), ("pyvrp", 8), ("pyvrp", 9), ("ortools", 7)]
    assert members(["ortools"], 7, 4) == [("ortools", 7)]


def test_portfolio_answer_passes_the_checker_and_notes_every_member() -> None:
    """Fourteen stops exceed the exact enumeration, so both PyVRP seeds (0 and 1 on two cores)
    search; the answer must pass the checker and the notes must name each member."""
    # 14 stops: beyond the exact enumeration, so the searches run
    rng = np.random.default_rng(3)
    pts = rng.integers(0, 100, size=(15, 2)).astype(float)
    d = np.rint(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))).astype(int)
    p = Problem(d, d, [Stop(i, (1,)) for i in range(1, 15)],
                [VehicleType(capacity=(4,), count=5, cost_per_km=1000.0)])
    sol = solve_portfolio(p, 2.0, seed=0, backends=["pyvrp", "ortools"], cores=2)
    assert check(p, sol).ok
    assert sol.backend.startswith("auto:pyvrp") and sol.status == "feasible"
    assert any("pyvrp(seed 0)" in n for n in sol.notes)
    assert any("pyvrp(seed 1)" in n for n in sol.notes)


def test_portfolio_solves_a_small_problem_exactly_without_searching() -> None:
    """Six stops are enumerated exactly before any search: the optimum is out and back along each
    ray (2 x 30 + 2 x 30 = 120, since each ray's far stop must be reached), with no seeded member
    noted."""
    p = grid_problem()
    sol = solve_portfolio(p, 2.0, seed=0, backends=["pyvrp", "ortools"], cores=2)
    assert check(p, sol).ok
    assert sol.cost.total == 120.0  # out and back along each ray
    assert sol.backend == "auto:exact" and sol.status == "optimal"
    assert not any("seed" in n for n in sol.notes)


def test_recombination_finds_a_cheaper_order_of_the_same_route() -> None:
    """A column is a set of clients: 10 -> 20 -> 10 -> 30 costs 80 by hand, 10 -> 20 -> 30 costs 60,
    so the same client set in the cheaper order must replace it."""
    data, _ = to_pyvrp(grid_problem())
    zigzag = [column(data, [1, 0, 2]), column(data, [3, 4, 5])]  # 10->20->10->30: 80
    assert zigzag[0].cost == 80
    chosen = recombine(data, [column(data, [0, 1, 2])], zigzag, time_limit=5.0)
    assert chosen is not None and chosen[0].clients == (0, 1, 2) and chosen[0].cost == 60


def test_single_core_portfolio_still_names_the_stops_of_an_infeasible_problem() -> None:
    """On one core the portfolio runs one member, but the east/west windows (jointly infeasible for
    one vehicle) must still end in the diagnosis naming one stop, as the multi-core path does."""
    import pytest
    from test_routing_core import east_west_windows  # type: ignore[import-not-found]

    from optimize.routing import InfeasibleProblemError

    with pytest.raises(InfeasibleProblemError) as err:
        solve_portfolio(east_west_windows(), 1.0, seed=0, backends=["pyvrp", "ortools"], cores=1)
    assert len(err.value.stops) == 1
