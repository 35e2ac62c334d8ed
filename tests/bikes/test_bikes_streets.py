"""Bike rebalancing vans on a real street network (``[city.roads] osm_file``, issue 19): the
optimiser on given road legs, the shipped Helsinki demonstration end to end, a van leg taking
the travel time of its start hour, and located errors for places off the network."""

from __future__ import annotations

import re
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simpy

import simcity
from optimize.rebalancing import (
    ProblemError,
    RebalancingProblem,
    RoadLegs,
    SolveParams,
    Van,
    check_plan,
    solve,
)
from simcity.bikes.demand import build_demand
from simcity.bikes.domain import simulate
from simcity.bikes.network import build_network
from simcity.bikes.sim import BikeSim
from simcity.cli import main as cli_main
from simcity.domain import RunContext
from simcity.rng import Streams

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "bikes_helsinki_streets.toml"
OSM = ROOT / "scenarios" / "data" / "osm" / "helsinki_centre.osm.pbf"


def _two_stations(roads: RoadLegs | None, budget_s: float) -> RebalancingProblem:
    # A has 5 bikes too many, B 5 too few, 10 km apart on the map; the van stands beside nothing
    return RebalancingProblem(
        stock=np.array([5, 0]), target=np.array([0, 5]), capacity=np.array([10, 10]),
        positions=np.array([[0.0, 0.0], [10_000.0, 0.0]]),
        vans=(Van(capacity=10, x=-10_000.0, y=0.0, time_budget_s=budget_s, speed_m_s=10.0,
                  handling_s_per_bike=0.0),),
        value_per_bike=np.array([1.0, 1.0]), metres_per_value=100_000.0, detour=1.0, roads=roads)


def test_the_optimiser_plans_on_the_given_road_legs() -> None:
    """On straight lines the van (10 km from A, A 10 km from B, 10 m/s) needs 2,000 s and a
    300 s budget lets it move nothing.  Given street legs of 100 m / 50 s to A and 200 m / 60 s
    from A to B, the same budget moves all 5 bikes A -> B, and the independent checker measures
    the route on those legs: 300 m, 110 s."""
    straight = _two_stations(None, 300.0)
    assert solve(straight, SolveParams()).bikes_moved == 0
    legs = RoadLegs(distance_m=np.array([[0.0, 200.0], [9_000.0, 0.0]]),
                    duration_s=np.array([[0.0, 60.0], [900.0, 0.0]]),
                    from_van_m=np.array([[100.0, 8_000.0]]), from_van_s=np.array([[50.0, 800.0]]))
    problem = _two_stations(legs, 300.0)
    plan = solve(problem, SolveParams())
    assert [(s.station, s.quantity) for s in plan.routes[0].stops] == [(0, 5), (1, -5)]
    chk = check_plan(problem, plan)
    assert chk.ok, chk.violations
    assert chk.distance_m[0] == pytest.approx(300.0) and chk.duration_s[0] == pytest.approx(110.0)


def test_road_legs_of_the_wrong_shape_are_refused() -> None:
    """Legs for 3 stations given to a 2-station problem, or a negative time, are a ProblemError
    naming the field."""
    bad = RoadLegs(np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((1, 3)), np.zeros((1, 3)))
    with pytest.raises(ProblemError, match=r"roads\.distance_m must have shape \(2, 2\)"):
        _two_stations(bad, 300.0)
    neg = RoadLegs(np.zeros((2, 2)), -np.ones((2, 2)), np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(ProblemError, match=r"roads\.duration_s: entries must be finite and >= 0"):
        _two_stations(neg, 300.0)


def test_helsinki_demonstration_runs_end_to_end() -> None:
    """One replication of the shipped demonstration: the dynamic policy's van moves bikes and
    drives, the policy without vans drives nothing, and the van network is in use (the
    matrices of the 16 stations have a free-flow and a peak period, and one-way streets make
    them asymmetric)."""
    sc = simcity.load_scenario(SCENARIO).with_overrides({"replications": 1})
    res = simcity.compare(sc, jobs=1)
    wide = res.wide().set_index("policy")
    assert wide.loc["dynamic", "bikes_moved"] > 0 and wide.loc["dynamic", "van_km"] > 0
    assert wide.loc["no-rebalancing", "van_km"] == 0
    net = build_network(getattr(sc, "city"))  # noqa: B009
    assert net.roads is not None and net.roads.periods == 2 and len(net.roads.ids) == 16
    d = net.roads.distance_m[0]
    assert np.abs(d - d.T).max() > 50


def test_a_van_leg_takes_the_travel_time_of_the_hour_it_starts() -> None:
    """A van driving from station H01 to H16 leaves at 03:00 (free flow) and at 08:00 (all roads
    at 60 %): each leg takes exactly the duration of its start hour's matrix, the peak one
    1/0.6 times as long (every road slowed alike; access legs at the fixed access speed make
    it a little less), and the kilometres counted are the matrix's length."""
    sc = simcity.load_scenario(SCENARIO)
    city = getattr(sc, "city")  # noqa: B009
    net = build_network(city)
    assert net.roads is not None
    ctx = RunContext(24.0, 0.0, Streams(sc.seed, 0), 0)
    demand = build_demand(city, net)
    trips = demand.sample(ctx.streams["demand"], 24.0)
    sim = BikeSim(net, trips, ctx.streams["parking"].random(len(trips)), speed_m_h=12_000.0, walk_m_max=300.0,
                  horizon_h=24.0, warmup_h=0.0)
    a, b = net.ids.index("H01"), net.ids.index("H16")
    took: dict[float, float] = {}

    def leg(t0: float) -> Generator[simpy.Event, Any, None]:
        van = sim.add_van(10, float(net.xy[a, 0]), float(net.xy[a, 1]), at=a)
        yield sim.env.timeout(t0)
        yield from sim._visit(van, [(b, 0)])
        took[t0] = sim.env.now - t0

    before = sim.c.van_m
    for t0 in (3.0, 8.0):
        sim.env.process(leg(t0))
    sim.env.run(until=12.0)
    free, peak = (float(net.roads.duration_s[net.roads.period(h), a, b]) / 3600 for h in (3, 8))
    assert took[3.0] == pytest.approx(free, rel=1e-9) and took[8.0] == pytest.approx(peak, rel=1e-9)
    assert 1.5 < peak / free <= 1 / 0.6 + 1e-9
    assert sim.c.van_m - before == pytest.approx(float(net.roads.distance_m[0, a, b] + net.roads.distance_m[1, a, b]))


def test_the_dynamic_run_is_reproducible_on_the_network() -> None:
    """Two runs of one replication of the dynamic policy give identical metrics (plans from a
    work budget and disk-cached matrices: nothing depends on the clock)."""
    sc = simcity.load_scenario(SCENARIO)
    city, pol = getattr(sc, "city"), sc.policy_list[1]  # noqa: B009
    runs = [simulate(city, pol, RunContext(48.0, 24.0, Streams(sc.seed, 0), 0)).result for _ in range(2)]
    assert runs[0].counts == runs[1].counts and runs[0].counts.bikes_moved > 0


def _write(tmp_path: Path, old: str, new: str) -> tuple[Path, str]:
    text = SCENARIO.read_text(encoding="utf-8").replace('"data/osm/helsinki_centre.osm.pbf"', f'"{OSM.as_posix()}"')
    assert old in text
    text = text.replace(old, new, 1)
    path = tmp_path / "b.toml"
    path.write_text(text, encoding="utf-8")
    return path, text


def test_a_station_far_from_the_van_network_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Station H13 moved 2 km west, off the extract: the error is at H13's line of the stations
    array, names it, its position and the OSM file; exit status 2."""
    path, text = _write(tmp_path, 'id = "H13", x = -150.0', 'id = "H13", x = -2150.0')
    assert cli_main(["validate", str(path)]) == 2
    out = capsys.readouterr().err
    line = next(i + 1 for i, s in enumerate(text.splitlines()) if '"H13"' in s)
    assert re.search(rf"{re.escape(str(path))}:{line}: city\.stations\.12: station 'H13' \(24\.\d+, 60\.\d+\) lies "
                     r"[\d,]+ m from the nearest road the 'van' profile may use in .*helsinki_centre\.osm\.pbf", out), out


def test_synthetic_stations_are_refused_on_the_network(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Generated (synthetic) stations are not placed on streets: a scenario asking for both is
    told so at city.roads.osm_file, exit status 2."""
    path, text = _write(tmp_path, "[city.demand]", "[city.synthetic]\nstations = 10\nradius_m = 500.0\nmean_capacity = 10\nfleet = 50\n\n[city.demand]")
    assert cli_main(["validate", str(path)]) == 2
    out = capsys.readouterr().err
    line = next(i + 1 for i, s in enumerate(text.splitlines()) if s.startswith("osm_file ="))
    assert f"{path}:{line}: city.roads.osm_file: synthetic stations are not placed on the street network" in out, out
