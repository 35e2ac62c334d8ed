"""The shipped data files work with the real domain components, through a scenario file.

The domain ``City`` models do not (yet) have ``*_file`` keys; these tests add them exactly as
docs/data-files.md tells the domain owners to (a subclass with the fields and one
``model_validator``), register the result as a test domain that runs the real model, and go
scenario file -> compare -> report on the planners' own points.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from pydantic import Field, ValidationInfo, model_validator

import simcity
from simcity import domains, maps
from simcity.domain import Domain, Position, RunContext, RunOutput
from simcity.geodata import DataPath, PointFileSpec, expand_point_files, great_circle_m
from simcity.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "scenarios" / "data"
LonLat = tuple[float, float]


def _domain(name: str) -> Domain:
    try:
        return domains.get(name)
    except KeyError:
        pytest.skip(f"the {name} model is not installed in this checkout")


def _with_files(base: Domain, files: dict[str, tuple[str, PointFileSpec]], name: str) -> Domain:
    """``base`` with a City that accepts the point-file keys in ``files`` (the documented recipe)."""
    fields: dict[str, Any] = {
        "origin": (LonLat | None, Field(None, description="Longitude, latitude of x = y = 0.")),
        **{k: (DataPath | None, Field(None, description="CSV/GeoJSON point file.")) for k in files},
    }

    def _point_files(cls: type, data: Any, info: ValidationInfo) -> Any:
        return expand_point_files(data, info, files)

    from pydantic import create_model

    city = create_model(f"{name}City", __base__=base.City, **fields,
                        __validators__={"_point_files": model_validator(mode="before")(classmethod(_point_files))})

    class FileDomain(Domain):
        City = city
        Policy = base.Policy
        metrics = base.metrics
        time_plots = base.time_plots
        map_unit = base.map_unit
        map_settings = base.map_settings

        def run(self, c: Any, policy: Any, ctx: RunContext) -> RunOutput:
            return base.run(c, policy, ctx)

        def positions(self, c: Any) -> list[Position]:
            return base.positions(c)

    FileDomain.name = name  # type: ignore[misc]
    FileDomain.title = f"{base.title} (points from files)"  # type: ignore[misc]
    dom = FileDomain()
    domains.register(dom)
    maps.BUILDERS.setdefault(name, maps.BUILDERS[base.name])
    return dom


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
    from simcity.parking.config import CarPark, Zone

    base = _domain("parking")
    _with_files(base, {"car_parks_file": ("car_parks", PointFileSpec("", CarPark)),
                       "zones_file": ("zones", PointFileSpec("", Zone))}, "parking_files")
    ref = simcity.load_scenario(ROOT / "scenarios" / "parking_liangxi.toml").model_dump(mode="json")
    city = {k: v for k, v in ref["city"].items() if k not in ("car_parks", "kerb_segments", "zones", "walking_links")}
    city |= {"car_parks_file": "data/wuxi_liangxi_car_parks.csv", "zones_file": "data/wuxi_liangxi_zones.csv"}
    doc = {**{k: ref[k] for k in ("seed", "confidence")}, "model": "parking_files", "name": "liangxi-from-files",
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
    # the bikes model accepts `stations_file` itself (the recipe is in simcity/bikes/config.py)
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
    from simcity.garbage.config import Depot, TransferStation

    base = _domain("garbage")
    km = {"x_field": "x_km", "y_field": "y_km", "metres_per_unit": 1000.0}
    _with_files(base, {"stations_file": ("stations", PointFileSpec("", TransferStation, **km)),  # type: ignore[arg-type]
                       "depots_file": ("depots", PointFileSpec("", Depot, **km))}, "garbage_files")  # type: ignore[arg-type]
    ref = simcity.load_scenario(ROOT / "scenarios" / "garbage_quick.toml").model_dump(mode="json")
    city = {k: v for k, v in ref["city"].items() if k not in ("stations", "depots")}
    city |= {"stations_file": "data/suzhou_gusu_transfer_stations.csv", "depots_file": "data/suzhou_gusu_depots.csv"}
    city["fleets"] = [dict(f, depot="DEP1") for f in city["fleets"]]
    doc = {**{k: v for k, v in ref.items() if k not in ("city", "model", "metrics")},
           "model": "garbage_files", "city": city}
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
