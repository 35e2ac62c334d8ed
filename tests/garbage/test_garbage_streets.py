"""Garbage collection on a real street network (``[city.roads] osm_file``, issue 19): the shipped
Helsinki demonstration end to end, time-of-day travel in the trucks' driving and in the plans,
located errors for bad extracts and far places, and the matrices following a changed file."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simpy

import simcity
from simcity.cli import main as cli_main
from simcity.domain import RunContext
from simcity.garbage.domain import simulate
from simcity.garbage.layout import build_layout
from simcity.garbage.planning import Planner, road_matrices
from simcity.garbage.sim import GarbageSim
from simcity.geodata import Projection, great_circle_m
from simcity.rng import Streams
from simcity.roads.matrices import default_cache_dir
from tests.roads.test_roads_paths import NODES, WAYS, osm_xml

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "garbage_helsinki_streets.toml"
OSM = ROOT / "scenarios" / "data" / "osm" / "helsinki_centre.osm.pbf"


def _city(overrides: dict[str, Any] | None = None) -> tuple[Any, Any]:
    sc = simcity.load_scenario(SCENARIO)
    if overrides:
        sc = sc.with_overrides(overrides)
    return sc, getattr(sc, "city")  # noqa: B009


def test_helsinki_demonstration_runs_end_to_end() -> None:
    """One replication of both policies over two days on the real extract: every fixed-daily
    point-day is served (50 drop points with bins of both streams, each stream its own trucks:
    100 visits a day, none left out by the plan), the threshold policy visits fewer (its
    perishable round stays daily: more than 50), and trucks are on the road.  The street network is in use: the layout's
    distances are the network's, each at least the great-circle distance between the two
    places (no path is shorter than the straight line) and longer on average."""
    sc, city = _city({"replications": 1, "horizon_hours": 48.0})
    res = simcity.compare(sc, jobs=1)
    wide = res.wide().set_index("policy")
    assert wide.loc["fixed-daily", "points_visited_per_day"] == 100
    assert wide.loc["fixed-daily", "planned_skips_per_day"] == 0
    assert 50 < wide.loc["threshold-80", "points_visited_per_day"] < 100
    assert (wide["km_per_day"] > 0).all() and (wide["trucks_used"] > 0).all()
    lay = build_layout(city)
    assert lay.roads is not None and lay.road_km is not None
    proj = Projection(*city.origin)
    lon, lat = proj.inverse(lay.xy[:, 0] * 1000, lay.xy[:, 1] * 1000)
    n = lay.xy.shape[0]
    straight = np.array([[great_circle_m(lon[i], lat[i], lon[j], lat[j]) for j in range(n)] for i in range(n)])
    assert np.all(lay.roads.distance_m >= straight[None] - 0.5)
    off = ~np.eye(n, dtype=bool)
    assert float((lay.roads.distance_m[0][off] / straight[off]).mean()) > 1.1


def test_kilometres_are_the_network_lengths_of_the_legs_driven() -> None:
    """With one period (no speed factors) the kilometres a replication tallies on its measured
    day equal the sum, over every leg of every truck's traced route (depot, stops, stations,
    depot), of the network distance between the leg's ends — rebuilt here from the trace and
    the layout's matrix, not from the model's tally.  Waste is conserved on the network as on
    straight lines."""
    sc, city = _city({"horizon_hours": 48.0, "city.roads.speed_factors": {}})
    ctx = RunContext(48.0, 24.0, Streams(sc.seed, 0), 0)
    _, sim = simulate(city, sc.policy_list[0], ctx)
    lay = sim.lay
    assert lay.road_km is not None and lay.road_km.shape[0] == 1
    legs: dict[str, list[int]] = defaultdict(list)
    for truck, _, loc in sim.route_trace:
        legs[truck].append(loc)
    assert legs and all(locs[0] == locs[-1] == lay.depot_loc[0] for locs in legs.values())
    rebuilt = sum(float(lay.road_km[0, a, b]) for locs in legs.values() for a, b in zip(locs, locs[1:], strict=False))
    assert sim.tally.km == pytest.approx(rebuilt, rel=1e-12)
    generated, accounted = sim.balance()
    assert accounted == pytest.approx(generated, rel=1e-9)


def test_a_trip_takes_the_travel_time_of_the_hour_it_starts() -> None:
    """The shipped factors slow every road at 07:00-09:00: a truck leaving the depot for the
    station at 03:00 takes the free-flow time of the network, one leaving at 08:00 the peak
    time (longer), and one leaving at 06:59 the free-flow time although it arrives in the peak
    — each exactly the duration of the matrix of its start hour's period (travel noise off)."""
    sc, city = _city({"city.roads.travel_cv": 0.0})
    lay = build_layout(city)
    assert lay.roads is not None
    sim = GarbageSim(city, sc.policy_list[0], RunContext(24.0, 0.0, Streams(sc.seed, 0), 0), lay)
    a, b = lay.depot_loc[0], lay.station_loc[0]
    took: dict[float, float] = {}

    def trip(t0: float) -> Generator[simpy.Event, Any, None]:
        yield sim.env.timeout(t0)
        yield from sim.drive(a, b, city.roads.speed_kmh)
        took[t0] = sim.env.now - t0

    for t0 in (3.0, 8.0, 6.99):
        sim.env.process(trip(t0))
    sim.env.run()
    free, peak = (float(lay.roads.duration_s[lay.roads.period(h), a, b]) / 3600 for h in (3, 8))
    assert lay.roads.period(3) != lay.roads.period(8) and peak > free * 1.2
    assert took[3.0] == pytest.approx(free, rel=1e-9)
    assert took[8.0] == pytest.approx(peak, rel=1e-9)
    assert took[6.99] == pytest.approx(free, rel=1e-9)


def test_the_planner_uses_the_matrices_of_the_hours_it_plans_for() -> None:
    """A plan inside the morning peak (07:00-09:00) gets exactly the peak period's matrix; the
    trucks' 06:00-14:00 shift touches 8 hours of which 2 are peak hours, so its times are
    (6 x free + 2 x peak) / 8, rounded to seconds as the straight-line matrices are (within a
    second: the mean is summed in another order here); the planner picks the window of the
    fleets of the problem it builds."""
    sc, city = _city()
    lay = build_layout(city)
    assert lay.roads is not None
    free = lay.roads.duration_s[lay.roads.period(3)]
    peak = lay.roads.duration_s[lay.roads.period(8)]
    _, t_peak = road_matrices(lay, 7.0, 9.0)
    np.testing.assert_array_equal(t_peak, np.floor(peak + 0.5).astype(np.int64))
    d_shift, t_shift = road_matrices(lay, 6.0, 14.0)
    np.testing.assert_allclose(t_shift, (6 * free + 2 * peak) / 8, atol=1.0)
    assert np.abs(t_shift - np.floor(free + 0.5)).max() > 10  # the peak weighs in
    assert city.fleets[0].shift_start_h == 6.0 and city.fleets[0].shift_hours == 8.0
    planner = Planner(city, sc.policy_list[0], lay)
    got_d, got_t = planner._matrices([(0, 3)])
    np.testing.assert_array_equal(got_t, t_shift)
    np.testing.assert_array_equal(got_d, d_shift)


# ------------------------------------------------------------------------ bad input

def _line_of(text: str, needle: str, nth: int = 0) -> int:
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip() == needle]
    return lines[nth]


def _scenario(tmp_path: Path, *edits: tuple[str, str]) -> tuple[Path, str]:
    text = SCENARIO.read_text(encoding="utf-8").replace('"data/osm/helsinki_centre.osm.pbf"', f'"{OSM.as_posix()}"')
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path, text


def _validate(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert cli_main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    return out.out + out.err


def test_a_depot_far_from_any_road_is_located_and_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Moving the depot 3 km west of the centre puts it outside the extract: the error is at the
    scenario line of that depot's table, names the depot, its longitude/latitude, the OSM file
    and max_snap_m; exit status 2."""
    path, text = _scenario(tmp_path, ("x_km = -0.3", "x_km = -3.0"))
    out = _validate(path, capsys)
    line = _line_of(text, "[[city.depots]]")
    assert re.search(rf"{re.escape(str(path))}:{line}: city\.depots\.0: depot 'depot' \(24\.\d+, 60\.\d+\) lies "
                     rf"[\d,]+ m from the nearest road the 'truck' profile may use in .*helsinki_centre\.osm\.pbf "
                     r".*max_snap_m = 150", out), out


def test_random_points_far_from_roads_name_their_zone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A zone moved 2 km east (off the extract) has all 30 of its points too far: the error is at
    the zone's table, names its first point and lists further ones, and counts the rest."""
    path, text = _scenario(tmp_path, ("x_km = -0.05", "x_km = 2.05"))
    out = _validate(path, capsys)
    line = _line_of(text, "[[city.zones]]", 1)
    assert f"{path}:{line}: city.zones.1: drop point pt20 of zone 'kamppi'" in out, out
    assert "also too far: drop point pt21 of zone 'kamppi'" in out and "and 24 more" in out


def test_a_point_from_a_file_far_from_roads_is_located_at_its_row(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Drop points read from a CSV: point C, in the harbour basin 1.3 km south of the extract,
    is reported at its own line of the CSV (line 4: header, A, B, C), by id and position."""
    (tmp_path / "points.csv").write_text("id,zone,lon,lat\nA,kluuvi,24.9450,60.1720\nB,kluuvi,24.9440,60.1700\n"
                                         "C,kluuvi,24.9450,60.1520\nD,kamppi,24.9420,60.1680\n", encoding="utf-8")
    path, _ = _scenario(tmp_path, ("layout_seed = 19", 'layout_seed = 19\npoints_file = "points.csv"'),
                        ("points = 20", "points = 3"), ("points = 30", "points = 1"))
    out = _validate(path, capsys)
    assert re.search(r"points\.csv:4: .*drop point 'C' \(24\.94500, 60\.15200\) lies [\d,]+ m from the nearest "
                     r"road .*helsinki_centre\.osm\.pbf", out), out


@pytest.mark.parametrize("case", ["missing", "corrupt", "no usable roads", "no origin"])
def test_bad_extracts_are_located_errors(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing extract, one that is not an OSM file, one whose streets the truck may not use
    (footways only) and a network without the origin the km coordinates are measured from: each
    is an error at the scenario line of city.roads.osm_file naming the file, exit status 2."""
    if case == "missing":
        osm, expect = tmp_path / "none.osm.pbf", "data file .*none.osm.pbf.* not found"
    elif case == "corrupt":
        osm = tmp_path / "bad.osm.pbf"
        osm.write_bytes(b"\x00\x01 not a pbf")
        expect = r"bad\.osm\.pbf: not a readable OpenStreetMap file"
    elif case == "no usable roads":
        osm = tmp_path / "paths.osm"
        osm.write_text(osm_xml(ways=[(15, [7, 1], {"highway": "footway"})]), encoding="utf-8")
        expect = r"paths\.osm: no road in the file may be used by the 'truck' profile"
    else:
        osm, expect = OSM, "needs the scenario's origin"
    edits = [(f'"{OSM.as_posix()}"', f'"{osm.as_posix()}"')]
    if case == "no origin":
        edits = [("origin = [24.944, 60.1715]", "")]
    path, text = _scenario(tmp_path)
    for old, new in edits:
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    out = _validate(path, capsys)
    line = next(i + 1 for i, s in enumerate(text.splitlines()) if s.startswith("osm_file ="))
    assert re.search(rf"{re.escape(str(path))}:{line}: city\.roads\.osm_file: .*{expect}", out), out


# ------------------------------------------------------------------------ the file changes

MINI = """
model = "garbage"
name = "mini"
seed = 1
replications = 1
horizon_hours = 24.0
[city]
origin = [10.0, 50.0]
[city.roads]
osm_file = "square.osm"
max_snap_m = 20.0
[[city.zones]]
id = "z"
x_km = 0.0
y_km = 0.0
radius_km = 1.0
points = 2
{points}
[[city.waste]]
category = "other"
tonnes_per_day = 1.0
[[city.depots]]
id = "d"
{depot}
[[city.stations]]
id = "s"
{station}
bays = 1
daily_limit_t = 100.0
[[city.fleets]]
id = "f"
depot = "d"
categories = ["other"]
capacity_t = [5.0]
count = 1
[[policies]]
name = "p"
"""


def _at(node: int) -> str:
    x, y = Projection(10.0, 50.0).forward(*NODES[node])
    return f"x_km = {float(x) / 1000!r}\ny_km = {float(y) / 1000!r}"


def test_matrices_follow_a_changed_extract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the hand-checked square of tests/roads (B->C one way), drop points at B and C: C->B
    goes round C-D-A-B.  Rewriting the extract with the street open both ways (same path, new
    content) and loading the scenario again gives the direct C->B length — neither the process's
    memory of matrices nor the disk cache hands back the old network — and the cache holds an
    entry for each version of the file."""
    monkeypatch.setenv("SIMCITY_CACHE_DIR", str(tmp_path / "cache"))
    osm = tmp_path / "square.osm"
    osm.write_text(osm_xml(), encoding="utf-8")
    points = "\n".join(f'[[city.points]]\nid = "{n}"\nzone = "z"\n{_at(k)}' for n, k in (("b", 2), ("c", 3)))
    scen = tmp_path / "mini.toml"
    scen.write_text(MINI.format(points=points, depot=_at(1), station=_at(4)), encoding="utf-8")
    first = build_layout(getattr(simcity.load_scenario(scen), "city"))  # noqa: B009
    assert first.road_km is not None
    leg = [great_circle_m(*NODES[a], *NODES[b]) / 1000 for a, b in ((2, 3), (3, 4), (4, 1), (1, 2))]
    assert first.road_km[0, 0, 1] == pytest.approx(leg[0], abs=1e-3)
    assert first.road_km[0, 1, 0] == pytest.approx(leg[1] + leg[2] + leg[3], abs=1e-3)
    osm.write_text(osm_xml(ways=[(w, r, {k: v for k, v in t.items() if k != "oneway"}) for w, r, t in WAYS]),
                   encoding="utf-8")
    again = build_layout(getattr(simcity.load_scenario(scen), "city"))  # noqa: B009
    assert again.road_km is not None
    assert again.road_km[0, 1, 0] == pytest.approx(leg[0], abs=1e-3)
    assert math.isclose(first.road_km[0, 0, 1], again.road_km[0, 0, 1], abs_tol=1e-9)
    assert len(list(default_cache_dir().glob("*.npz"))) == 2
