"""Maps: the positions and values drawn are those of the city setting and of the results."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import simcity
from simcity import maps, report
from simcity.domain import RunOutput
from simcity.experiment import Results, collect
from simcity.scenario import ScenarioBase
from simcity.tasks import Task, TaskResult

ROOT = Path(__file__).resolve().parents[2]
SCEN = ROOT / "scenarios"


def _load(name: str) -> ScenarioBase:
    path = SCEN / name
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout")
    return simcity.load_scenario(path)


@pytest.fixture(scope="module")
def parking_results() -> Results:
    sc = _load("parking_liangxi.toml")
    pols = sc.model_dump(mode="python")["policies"][:2]
    # a short day keeps the test fast; the map only needs per-facility daytime occupancy
    return simcity.compare(sc.with_overrides({"policies": pols, "replications": 2, "horizon_hours": 20.0,
                                              "warmup_hours": 6.0, "metrics": ["occupancy_day", "lost_share"]}))


@pytest.fixture(scope="module")
def bikes_results() -> Results:
    sc = _load("bikes_suzhou_district.toml")
    base = sc.model_dump(mode="python")["policies"][0]
    pols = [base, dict(base, name="more vans", vans=base["vans"] + 4)]
    return simcity.compare(sc.with_overrides({
        "policies": pols, "replications": 2, "horizon_hours": 24.0, "warmup_hours": 0.0,
        "city.synthetic.stations": 60, "city.synthetic.fleet": 1500, "city.demand.daily_trips": 2500.0}))


def test_parking_map_colours_each_car_park_by_its_daytime_occupancy_band(parking_results: Results) -> None:
    """The parking map places every placed car park and kerb segment at its scenario position and
    colours it by its daytime occupancy band, the occupancy recomputed independently from the
    tidy by_time table (below / within / above BAND, 'no data' without samples)."""
    from simcity.parking.domain import BAND, DAY_HOURS

    (p,) = maps.domain_figures(parking_results)
    assert p.section == "map" and p.png.startswith(b"\x89PNG")
    city = getattr(parking_results.scenario, "city")  # noqa: B009
    placed = {f.id: (f.x, f.y) for f in [*city.car_parks, *city.kerb_segments] if f.x is not None}
    assert set(p.data["entity"]) == set(placed)
    # independent recomputation from the tidy by_time table
    bt = parking_results.by_time
    day = bt[(bt["metric"] == "occupancy") & (bt["entity"] != "city")]
    day = day[(day["time_h"] % 24 >= DAY_HOURS[0]) & (day["time_h"] % 24 < DAY_HOURS[1])]
    expect = day.groupby([day["policy"].astype(str), "entity"])["value"].mean()
    checked = 0
    for row in p.data.itertuples():
        assert (row.x, row.y) == placed[row.entity]
        if (row.policy, row.entity) in expect.index:
            occ = float(expect[(row.policy, row.entity)])
            assert row.occupancy == pytest.approx(occ)
            want = "below" if occ < BAND[0] else "above" if occ > BAND[1] else "within"
            assert row.band == want
            checked += 1
        else:
            assert math.isnan(row.occupancy) and row.band == "no data"
    assert checked > len(placed)  # most facilities of both policies have data
    assert {"below", "within", "above"} & set(p.data["band"])


def test_bike_map_sizes_by_docks_and_colours_by_empty_or_full(bikes_results: Results) -> None:
    """The bike map draws every station of both policies at its network position and dock count,
    coloured by empty + full share recomputed from by_entity; every value is a share in [0, 1]."""
    from simcity.bikes.network import build_network

    (p,) = maps.domain_figures(bikes_results)
    net = build_network(getattr(bikes_results.scenario, "city"))  # noqa: B009
    assert len(p.data) == 2 * net.n
    be = bikes_results.by_entity
    share = be.groupby([be["policy"].astype(str), "entity", "metric"])["value"].mean()
    for row in p.data.sample(20, random_state=1).itertuples():
        k = net.ids.index(row.entity)
        assert (row.x, row.y, row.capacity) == (net.xy[k, 0], net.xy[k, 1], net.capacity[k])
        e = share[(row.policy, row.entity, "empty_share")]
        f = share[(row.policy, row.entity, "full_share")]
        assert row.empty_or_full == pytest.approx(e + f)
    assert p.data["empty_or_full"].between(0, 1).all()


def _garbage_results(with_routes: bool) -> Results:
    sc = _load("garbage_quick.toml")
    from simcity.garbage.layout import build_layout

    lay = build_layout(getattr(sc, "city"))  # noqa: B009
    n = lay.n_points
    outs = []
    for pi in range(len(sc.policy_list)):
        for rep in range(2):
            by_entity = [(f"pt{i}", maps.OVERFLOW_METRIC, float(i % 5 == 0 and pi == 0)) for i in range(n)]
            by_time = []
            if with_routes:
                depot, station = lay.depot_loc[0], lay.station_loc[0]
                for truck, stops in (("truck 1", [0, 1, 2]), ("truck 2", [3, 4])):
                    locs = [depot, *stops, station, depot]
                    # day 1 (hours 30..), replication-specific so replication 0 can be told apart
                    by_time += [(truck, 24.0 + 6 + j * 0.5, maps.ROUTE_METRIC, float(loc if rep == 0 else depot))
                                for j, loc in enumerate(locs)]
            outs.append(TaskResult(Task(pi, rep), RunOutput({m: 0.0 for m in sc.reported_metrics}, by_entity,
                                                            by_time), 0.0))
    return collect(sc, outs)


def test_garbage_map_draws_routes_of_the_day_and_marks_overflowing_points() -> None:
    """The garbage map draws the first day's routes stop by stop at the layout's coordinates (truck
    2 at 30.0-32.0 h), marks exactly the points that overflowed (every fifth in the fixture), one
    station and one depot, and says which day it shows."""
    res = _garbage_results(with_routes=True)
    (p,) = maps.domain_figures(res)
    d = p.data[p.data["policy"] == res.scenario.baseline]
    stops = d[d["kind"] == "stop"]
    assert list(stops[stops["entity"] == "truck 2"]["time_h"]) == [30.0, 30.5, 31.0, 31.5, 32.0]
    from simcity.garbage.layout import build_layout

    lay = build_layout(getattr(res.scenario, "city"))  # noqa: B009
    first = stops[stops["entity"] == "truck 1"].iloc[1]  # the first drop point of truck 1: point 0
    assert (first["x_km"], first["y_km"]) == tuple(lay.xy[0])
    pts = d[d["kind"] == "point"]
    assert set(pts.loc[pts["overflow_days"] > 0, "entity"]) == {f"pt{i}" for i in range(lay.n_points) if i % 5 == 0}
    assert len(d[d["kind"] == "station"]) == 1 and len(d[d["kind"] == "depot"]) == 1
    assert "routes of day 1" in p.title


def test_garbage_map_says_what_the_model_did_not_report() -> None:
    """Without routes or per-point overflow in the results the garbage map still draws all 80 points
    per policy and its title says what the model did not report."""
    res = _garbage_results(with_routes=False)
    res.by_entity = res.by_entity.iloc[0:0]
    (p,) = maps.domain_figures(res)
    assert "routes not reported by the model" in p.title and "overflowing points not reported" in p.title
    assert (p.data["kind"] == "point").sum() == 80 * len(res.scenario.policy_names)


def test_maps_are_in_the_report_after_the_time_of_day_plots(parking_results: Results, tmp_path: Path) -> None:
    """The parking map is saved under plots/ and placed after the time-of-day section and before
    Details; the headline table has the two policies as columns and headline.csv one row per
    summary row."""
    out = simcity.save(parking_results, tmp_path / "park")
    assert (out / "plots" / "map-parking-occupancy.png").exists()
    text = (out / "report.html").read_text(encoding="utf-8")
    assert text.index('id="time"') < text.index('id="map"') < text.index('id="fig-map-parking-occupancy"')
    assert text.index('id="fig-map-parking-occupancy"') < text.index('id="details"')
    assert report.headline_table(parking_results).shape[1] == 2  # policies as columns
    csv = pd.read_csv(out / "headline.csv", encoding="utf-8-sig")
    assert csv["policy"].nunique() == 2 and len(csv) == len(parking_results.summary)


@pytest.mark.parametrize("which", ["parking", "bikes", "garbage"])
def test_maps_are_drawn_again_from_a_saved_folder_without_the_model(
        which: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The positions travel with the results (``positions.parquet``, from the domain's
    ``positions`` hook): read back with no domain registered, the maps draw the same data."""
    from simcity import domains

    res = _garbage_results(with_routes=True) if which == "garbage" else request.getfixturevalue(f"{which}_results")
    out = simcity.save(res, tmp_path / which)
    (before,) = maps.domain_figures(res)
    monkeypatch.setattr(domains, "available", lambda: {})
    back = report.load(out)
    (after,) = maps.domain_figures(back)
    assert after.title == before.title
    pd.testing.assert_frame_equal(after.data.reset_index(drop=True), before.data.reset_index(drop=True))
