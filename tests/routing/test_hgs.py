"""The HGS-CVRP backend: what it accepts, that its answers are checked, and its place in auto."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from optimize.routing import (
    Facility,
    InfeasibleProblemError,
    Problem,
    Stop,
    VehicleType,
    check,
    solve,
    suitable_backends,
)
from optimize.routing.hgs_backend import fits, solve_hgs
from optimize.routing.portfolio import members


def cvrp(n: int = 14, seed: int = 3, capacity: int = 4, count: int = 5,
         coordinates: bool = True) -> Problem:
    rng = np.random.default_rng(seed)
    pts = rng.integers(0, 100, size=(n + 1, 2)).astype(float)
    d = np.rint(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))).astype(int)
    return Problem(d, d, [Stop(i, (1,)) for i in range(1, n + 1)],
                   [VehicleType(capacity=(capacity,), count=count, cost_per_km=1000.0)],
                   coordinates=pts if coordinates else None)


def test_only_a_pure_cvrp_fits() -> None:
    """HGS-CVRP models only distance, one capacity and identical vehicles: each variant adds one
    thing it cannot model (window, optional stop, fixed or time cost, shift, second vehicle type,
    facility), so each must be refused by fits(), left out of auto and refused by name."""
    p = cvrp()
    assert fits(p)
    vt = p.vehicle_types[0]
    not_cvrp = [
        dataclasses.replace(p, stops=(dataclasses.replace(p.stops[0], time_window=(0, 50)),)
                            + p.stops[1:]),
        dataclasses.replace(p, stops=(dataclasses.replace(p.stops[0], required=False,
                                                          penalty=5.0),) + p.stops[1:]),
        dataclasses.replace(p, vehicle_types=(dataclasses.replace(vt, fixed_cost=10.0),)),
        dataclasses.replace(p, vehicle_types=(dataclasses.replace(vt, cost_per_hour=30.0),)),
        dataclasses.replace(p, vehicle_types=(dataclasses.replace(vt, shift=(0, 500)),)),
        dataclasses.replace(p, vehicle_types=(vt, dataclasses.replace(vt, capacity=(8,)))),
        dataclasses.replace(p, facilities=(Facility(1),), unload_before_return=False),
    ]
    for q in not_cvrp:
        assert not fits(q)
        assert "hgs" not in suitable_backends(q)
        with pytest.raises(ValueError, match="pure CVRP"):
            solve(q, time_limit=0.5, backend="hgs")
    assert suitable_backends(p) == ["hgs", "pyvrp", "ortools"]


@pytest.mark.parametrize("coordinates", [True, False])
def test_hgs_answer_passes_the_checker_and_is_never_below_the_optimum(coordinates: bool) -> None:
    """Nine stops are within the exact enumeration, so PyVRP returns the proven optimum; a checked
    HGS answer can equal it but never be cheaper (that would mean the optimum or the cost is wrong),
    with or without coordinates given."""
    # 9 stops: small enough for the exact enumeration to give the optimum to compare with
    p = cvrp(n=9, seed=5, coordinates=coordinates)
    best = solve(p, time_limit=10.0, backend="pyvrp")
    assert best.status == "optimal"
    sol = solve_hgs(p, time_limit=0.5, seed=1)
    assert sol.backend == "hgs" and check(p, sol).ok
    assert sol.cost.total >= best.cost.total - 1e-9
    assert len(sol.routes) <= p.vehicle_types[0].count


def test_hgs_routes_start_at_a_depot_that_is_not_location_zero() -> None:
    """HGS numbers its depot 0: with the depot at location 5 the translation must map it back, so
    the checker passes and every stop is served exactly once."""
    p = cvrp(n=12, seed=7)
    vt = dataclasses.replace(p.vehicle_types[0], start_depot=5, end_depot=5)
    p = dataclasses.replace(p, stops=tuple(s for s in p.stops if s.location != 5),
                            vehicle_types=(vt,))
    sol = solve_hgs(p, time_limit=0.5, seed=1)
    report = check(p, sol)
    assert report.ok, report.violations
    assert sorted(v.index for r in sol.routes for v in r.visits) == list(range(len(p.stops)))


def test_an_unpackable_fleet_is_not_returned_as_a_solution() -> None:
    """Demands 6, 6, 6 in two trucks of 10: total capacity 20 >= 18 but no two of the bins share a
    truck, so any answer overloads one; HGS must raise rather than return it."""
    # demands 6, 6, 6 in vehicles of 10: enough capacity in total (20), but no packing
    xs = np.array([0, 10, 20, 30])
    d = np.abs(xs[:, None] - xs[None, :])
    p = Problem(d, d, [Stop(i, (6,)) for i in (1, 2, 3)],
                [VehicleType(capacity=(10,), count=2, cost_per_km=1000.0)])
    with pytest.raises(InfeasibleProblemError):
        solve_hgs(p, time_limit=0.3, seed=0)


def test_auto_leads_with_hgs_on_a_cvrp_and_fills_the_cores_with_its_seeds() -> None:
    """members(): the leader takes seeds 7, 8, ... for every core the other backends do not take,
    but at least two when cores allow; the others run once with seed 7 in order while cores remain
    (hence the four expected lists); on a 14-stop CVRP auto's answer comes from HGS."""
    assert members(["hgs", "pyvrp", "ortools"], 7, 1) == [("hgs", 7)]
    assert members(["hgs", "pyvrp", "ortools"], 7, 2) == [("hgs", 7), ("hgs", 8)]
    assert members(["hgs", "pyvrp", "ortools"], 7, 3) == [("hgs", 7), ("hgs", 8), ("pyvrp", 7)]
    assert members(["hgs", "pyvrp", "ortools"], 7, 5) == [
        ("hgs", 7), ("hgs", 8), ("hgs", 9), ("pyvrp", 7), ("ortools", 7)]
    p = cvrp(n=14)
    sol = solve(p, time_limit=1.0, seed=0, backend="auto")
    assert sol.backend == "auto:hgs" and check(p, sol).ok
