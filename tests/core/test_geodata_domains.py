"""The shipped data files work with the real domain components, through a scenario file.

Each domain's ``City`` takes ``*_file`` keys by the recipe in docs/data-files.md (fields plus one
``model_validator`` calling ``expand_point_files``); these tests go scenario file -> compare ->
report on the planners' own points.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import tomli_w

import simcity
from simcity import domains, maps
from simcity.domain import Domain
from simcity.geodata import great_circle_m
from simcity.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "scenarios" / "data"


def _domain(name: str) -> Domain:
    try:
        return domains.get(name)
    except KeyError:
        pytest.skip(f"the {name} model is not installed in this checkout")


def _toml(doc: Any) -> str:
    def strip(o: Any) -> Any:  # TOML has no null: a None is an omitted key
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if v is not None}
        return [strip(v) for v in o] if isinstance(o, list) else o

    return tomli_w.dumps(strip(doc))


def _scenario_dir(tmp_path: Path, files: list[str]) -> Path:
    """A scenario folder with its data in ``data/`` (paths in the file are relative)."""
    (tmp_path / "data").mkdir()
    for f in files:
        shutil.copy(DATA / f, tmp_path / "data" / f)
    return tmp_path


def test_parking_car_parks_and_zones_from_files(tmp_path: Path) -> None:
    """The Liangxi car parks and zones read from CSV by the parking model: the eight ids F01-F08 and
    five zones, F01-F02 as far apart on the projected plane as the great-circle distance of their
    lon/lat (~750 m, within 0.1%), F07's shared night hours parsed; a run gives walks of 50-1500
    m (car park to a zone a few hundred metres away) and a map of exactly those car parks."""
    _domain("parking")
    ref = simcity.load_scenario(ROOT / "scenarios" / "parking_liangxi.toml").model_dump(mode="json")
    city = {k: v for k, v in ref["city"].items() if k not in ("car_parks", "kerb_segments", "zones", "walking_links")}
    city |= {"car_parks_file": "data/wuxi_liangxi_car_parks.csv", "zones_file": "data/wuxi_liangxi_zones.csv"}
    doc = {**{k: ref[k] for k in ("seed", "confidence")}, "model": "parking", "name": "liangxi-from-files",
           "replications": 2, "horizon_hours": 14.0, "warmup_hours": 6.0,
           "metrics": ["occupancy_day", "lost_share", "walk_m"], "city": city, "policies": ref["policies"][:2]}
    folder = _scenario_dir(tmp_path, ["wuxi_liangxi_car_parks.csv", "wuxi_liangxi_zones.csv"])
    (folder / "s.toml").write_text(_toml(doc), encoding="utf-8")
    sc = simcity.load_scenario(folder / "s.toml")
    c = getattr(sc, "city")  # noqa: B009
    assert [p.id for p in c.car_parks] == [f"F0{i}" for i in range(1, 9)] and len(c.zones) == 5
    f1, f2 = c.car_parks[0], c.car_parks[1]  # Sanyang Plaza and Chong'an Temple, ~750 m apart
    assert ((f1.x - f2.x) ** 2 + (f1.y - f2.y) ** 2) ** 0.5 == pytest.approx(
        great_circle_m(120.3036, 31.5744, 120.3081, 31.5806), rel=1e-3)
    assert c.car_parks[6].shared and c.car_parks[6].public_hours == [(18.0, 24.0), (0.0, 8.0)]
    res = simcity.compare(sc)
    walk = res.summary.set_index(["policy", "metric"])["mean"]
    # drivers walk from a car park to a zone a few hundred metres away, as the map says
    assert 50 < walk[(sc.baseline, "walk_m")] < 1500
    (m,) = maps.domain_figures(res)
    assert set(m.data["entity"]) == {p.id for p in c.car_parks}


def test_bike_stations_from_a_file_run_the_bikes_model(tmp_path: Path) -> None:
    """The 14 Gusu stations read from CSV by the bikes model: GS01 (railway station) lies north of
    GS06 (Guanqian Street) by the great-circle distance of their latitudes (~2.2 km), every
    station appears in the run's per-entity results and the map has a value for each."""
    _domain("bikes")
    ref = simcity.load_scenario(ROOT / "scenarios" / "bikes_suzhou_district.toml").model_dump(mode="json")
    city = {k: v for k, v in ref["city"].items() if k not in ("stations", "synthetic")}
    city["stations_file"] = "data/suzhou_gusu_bike_stations.csv"
    city["demand"] = dict(city["demand"], daily_trips=600.0)
    pol = dict(ref["policies"][0], vans=1)
    doc = {"model": "bikes", "name": "gusu-stations", "seed": 5, "replications": 2, "horizon_hours": 24.0,
           "metrics": ["lost_trip_share"], "city": city, "policies": [pol, dict(pol, name="two vans", vans=2)]}
    folder = _scenario_dir(tmp_path, ["suzhou_gusu_bike_stations.csv"])
    (folder / "s.toml").write_text(_toml(doc), encoding="utf-8")
    sc = simcity.load_scenario(folder / "s.toml")
    stations = getattr(sc, "city").stations  # noqa: B009
    assert len(stations) == 14
    by = {s.id: s for s in stations}  # the railway station is ~2.2 km north of Guanqian Street
    assert by["GS01"].y - by["GS06"].y == pytest.approx(great_circle_m(120.6263, 31.3096, 120.6263, 31.3297),
                                                       rel=1e-3)
    res = simcity.compare(sc)
    assert {f"GS{i:02d}" for i in range(1, 15)} <= set(res.by_entity["entity"])
    (m,) = maps.domain_figures(res)
    assert m.data["empty_or_full"].notna().all()


def test_garbage_stations_and_depots_from_files_in_km(tmp_path: Path) -> None:
    """Garbage positions are in kilometres: TS1 and TS2 read from CSV are apart by the great-circle
    distance / 1000 (~6.5 km, not 6,500), their bays and categories columns are read; a latitude
    of 231.3 in the depots file is reported at the scenario line, the file, its line 2 and column
    'lat'."""
    _domain("garbage")
    ref = simcity.load_scenario(ROOT / "scenarios" / "garbage_quick.toml").model_dump(mode="json")
    city = {k: v for k, v in ref["city"].items() if k not in ("stations", "depots")}
    city |= {"stations_file": "data/suzhou_gusu_transfer_stations.csv", "depots_file": "data/suzhou_gusu_depots.csv"}
    city["fleets"] = [dict(f, depot="DEP1") for f in city["fleets"]]
    doc = {**{k: v for k, v in ref.items() if k not in ("city", "model", "metrics")},
           "model": "garbage", "city": city}
    folder = _scenario_dir(tmp_path, ["suzhou_gusu_transfer_stations.csv", "suzhou_gusu_depots.csv"])
    (folder / "s.toml").write_text(_toml(doc), encoding="utf-8")
    sc = simcity.load_scenario(folder / "s.toml")
    c = getattr(sc, "city")  # noqa: B009
    ts1, ts2 = c.stations
    assert ts2.categories == ["perishable"] and ts1.bays == 4
    # TS2 (Xiangcheng) lies ~6.5 km north of TS1 (Qiuyue Road): kilometres, not metres
    assert ((ts2.x_km - ts1.x_km) ** 2 + (ts2.y_km - ts1.y_km) ** 2) ** 0.5 == pytest.approx(
        great_circle_m(120.5812, 31.3112, 120.6050, 31.3690) / 1000, rel=1e-3)
    # a bad row in a file is reported with the scenario line, the file, its line and column
    bad = folder / "data" / "suzhou_gusu_depots.csv"
    bad.write_text("id,lon,lat\nDEP1,120.59,231.3\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"s\.toml:\d+: city\.depots_file: .*suzhou_gusu_depots\.csv: line 2, column 'lat'"):
        simcity.load_scenario(folder / "s.toml")
