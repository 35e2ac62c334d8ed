"""The planners' own data: reading point files, projecting them, and clear errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field, ValidationInfo, model_validator

from simcity import domains
from simcity.domain import Domain, Metric, PolicyBase, RunContext, RunOutput, StrictModel
from simcity.geodata import (
    DataFileError,
    DataPath,
    PointFileSpec,
    Projection,
    expand_point_files,
    load_matrix,
    load_points,
    read_points,
    straight_line_matrix,
)
from simcity.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "scenarios" / "data"
R = 6_371_008.8


def cosine_law_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance, Vincenty's atan2 form on the sphere (independent of the module's code)."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    num = math.hypot(math.cos(p2) * math.sin(dl),
                     math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl))
    den = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return R * math.atan2(num, den)


class Dock(StrictModel):
    id: str = Field(min_length=1, description="Station id.")
    x: float = Field(ge=-1e6, le=1e6, description="East, m.")
    y: float = Field(ge=-1e6, le=1e6, description="North, m.")
    capacity: int = Field(ge=1, le=500, description="Docks.")
    hours: list[tuple[float, float]] = Field(default_factory=lambda: [(0.0, 24.0)], description="Open.")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# -- projection ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(lon=st.floats(119.5, 121.5), lat=st.floats(30.5, 32.5), dlon=st.floats(-0.4, 0.4),
       dlat=st.floats(-0.4, 0.4))
def test_distance_from_origin_is_exact_and_round_trip(lon: float, lat: float, dlon: float, dlat: float) -> None:
    """The projection is azimuthal equidistant: for any point within 0.4 degrees of an origin around
    Suzhou its planar distance from the origin equals the great-circle distance computed
    independently (Vincenty's atan2 form, rel. 1e-9), and inverse undoes forward to 1e-9 degrees."""
    proj = Projection(lon, lat)
    x, y = proj.forward(lon + dlon, lat + dlat)
    assert math.hypot(float(x), float(y)) == pytest.approx(cosine_law_m(lon, lat, lon + dlon, lat + dlat),
                                                           rel=1e-9, abs=1e-6)
    lo, la = proj.inverse(x, y)
    assert float(lo) == pytest.approx(lon + dlon, abs=1e-9) and float(la) == pytest.approx(lat + dlat, abs=1e-9)


def test_pairwise_distances_within_a_city_agree_with_great_circle() -> None:
    """Between two points (not the origin) the projection distorts, but for 40 points up to ~25 km
    from the centre of Suzhou every one of the 780 pairwise planar distances is within 0.1% of
    the great-circle one, the bound the Projection docstring promises within ~50 km."""
    rng = np.random.default_rng(3)
    lon = 120.62 + rng.uniform(-0.25, 0.25, 40)
    lat = 31.31 + rng.uniform(-0.2, 0.2, 40)
    proj = Projection(120.62, 31.31)
    x, y = proj.forward(lon, lat)
    worst = 0.0
    for i in range(40):
        for j in range(i + 1, 40):
            d = cosine_law_m(lon[i], lat[i], lon[j], lat[j])
            worst = max(worst, abs(math.hypot(x[i] - x[j], y[i] - y[j]) / d - 1))
    assert worst < 1e-3


def test_centre_of_symmetric_points(tmp_path: Path) -> None:
    """The default centre is the median longitude and latitude: for four points symmetric about
    (120.5, 31.0) that is the centre itself."""
    pts = [(120.0, 31.0), (121.0, 31.0), (120.5, 30.5), (120.5, 31.5)]
    rows = read_points(_write(tmp_path, "p.csv", "id,lon,lat\n"
                              + "".join(f"p{i},{a},{b}\n" for i, (a, b) in enumerate(pts))))
    p = Projection.centred_on(rows)
    assert p.lon0 == pytest.approx(120.5) and p.lat0 == pytest.approx(31.0, abs=0.01)


def test_straight_line_matrix_scales_by_the_detour() -> None:
    """A 3-4-5 triangle: the straight line of 5 m times the detour factor 1.3 is 6.5 m both ways and
    0 on the diagonal; a detour below 1 (shorter than a straight line) is refused."""
    d = straight_line_matrix([0.0, 3.0, 0.0], [0.0, 4.0, 1.0], detour=1.3)
    assert d[0, 1] == pytest.approx(6.5) and d[1, 0] == pytest.approx(6.5) and d[2, 2] == 0
    with pytest.raises(ValueError, match="detour factor must be >= 1"):
        straight_line_matrix([0.0], [0.0], detour=0.9)


# -- reading -------------------------------------------------------------------------------


def test_shipped_files_load_with_positions_in_metres() -> None:
    """The shipped Gusu bike stations load as 14 docks (GS01 holds 40); GS01 (railway station,
    31.3297 N) is north of GS06 (Guanqian Street, 31.3096 N) by the meridian arc between those
    latitudes (~2.2 km) and west of it (120.6105 < 120.6263 E); the 36 GeoJSON drop points all
    lie in the Suzhou box."""
    docks = load_points(DATA / "suzhou_gusu_bike_stations.csv", Dock,
                        ignore=("name", "bikes", "attractiveness", "residential"))
    assert len(docks) == 14 and docks[0].id == "GS01" and docks[0].capacity == 40
    by = {d.id: d for d in docks}
    assert by["GS01"].y - by["GS06"].y == pytest.approx(cosine_law_m(120.6263, 31.3096, 120.6263, 31.3297), rel=0.01)
    assert by["GS01"].x < by["GS06"].x  # and west of it
    pts = read_points(DATA / "suzhou_gusu_drop_points.geojson")
    assert len(pts) == 36 and pts[0].fields["id"] == "D01"
    assert all(31.2 < p.lat < 31.4 and 120.5 < p.lon < 120.7 for p in pts)


def test_csv_accepts_bom_blank_lines_aliases_and_json_cells(tmp_path: Path) -> None:
    """What spreadsheets write is accepted: a byte order mark, capitalised aliases (ID, Longitude,
    LAT), a JSON list in a cell and a trailing blank line; a file of one point is centred on it,
    so its x is 0."""
    p = _write(tmp_path, "d.csv", "\ufeffID,Longitude,LAT,capacity,hours,name\n"
                                  's1,120.6,31.3,5,"[[7, 22]]",Old gate\n\n')
    rows = read_points(p)
    assert len(rows) == 1 and rows[0].fields["hours"] == [[7, 22]]
    (d,) = load_points(p, Dock)
    assert d.hours == [(7.0, 22.0)] and d.x == pytest.approx(0.0, abs=1e-6)  # a single point is the centre


@pytest.mark.parametrize(("text", "expected"), [
    ("id,lon,capacity\ns1,120.6,5\n", r"line 1: missing column for latitude \(one of \['lat', 'latitude'\]\)"),
    ("id,lon,lat,capacity\ns1,120.6,31.3,5\ns2,120.6,95.5,5\n",
     r"line 3, column 'lat': expected a latitude in degrees between -90 and 90, found '95.5'"),
    ("id,lon,lat,capacity\ns1,31.3,120.6,5\n", r"line 2, column 'lat': .* \(are the longitude and latitude "
                                               r"columns swapped\?\)"),
    ("id,lon,lat,capacity\ns1,east,31.3,5\n", r"line 2, column 'lon': expected a longitude .* found 'east'"),
    ("id,lon,lat,capacity\ns1,120.6,,5\n", r"line 2, column 'lat': expected a latitude .* found an empty cell"),
    ("id,lon,lat,capacity\ns1,120.6,31.3,0\n", r"line 2, column 'capacity': Input should be greater than or "
                                               r"equal to 1, found '0'"),
    ("id,lon,lat\ns1,120.6,31.3\n", r"line 2, column 'capacity': required column is missing or empty"),
    ("id,lon,lat,capacity,colour\ns1,120.6,31.3,4,red\n",
     r"line 2, column 'colour': unknown column; expected some of \['capacity', 'hours', 'id', 'x', 'y'\]"),
    ("id,lon,lat,capacity\ns1,120.6,31.3,4,9\n", r"line 2: 5 cells but the header has 4 columns"),
    ("id,lon,lat,capacity,x\ns1,120.6,31.3,4,9\n", r"line 2, column 'x': positions come from lon/lat"),
    ("id,lon,lat,capacity\ns1,120.6,31.3,4\ns2,120.7,31.4,4\ns3,-70.0,-33.4,4\n",
     r"docks\.csv: line 4: the point lies [\d,]+ km from the centre of the data \(limit 500 km\); is it in the "
     r"right city\?$"),
    ("", r"line 1: the file is empty"),
])
def test_csv_errors_name_file_line_and_column(tmp_path: Path, text: str, expected: str) -> None:
    """Each kind of bad CSV (missing column, latitude out of range, swapped coordinates, text or
    empty cells, a value out of the model's bounds, unknown or extra columns, x given besides
    lon/lat, a point 10,000+ km away in Chile, an empty file) is a DataFileError naming the file,
    line and column with the cause."""
    p = _write(tmp_path, "docks.csv", text)
    with pytest.raises(DataFileError, match=expected) as info:
        load_points(p, Dock)
    assert str(info.value).startswith(f"{p}: ")


def test_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    """Rows 2 (latitude 91) and 4 (longitude 200) are both reported, in order, and the good row 3 is
    not: the user fixes everything in one pass."""
    p = _write(tmp_path, "d.csv", "id,lon,lat,capacity\na,120.6,91,4\nb,120.6,31.3,4\nc,200,31.3,4\n")
    with pytest.raises(DataFileError) as info:
        read_points(p)
    assert [(q.where, q.column) for q in info.value.problems] == [("line 2", "lat"), ("line 4", "lon")]


def test_missing_unreadable_and_unknown_files(tmp_path: Path) -> None:
    """A missing file, an unsupported extension and a GBK-encoded CSV (common for Chinese
    spreadsheets) are each refused with the reason, not a Python exception."""
    with pytest.raises(DataFileError, match=r"nope\.csv: file not found"):
        read_points(tmp_path / "nope.csv")
    with pytest.raises(DataFileError, match=r"unknown file type '\.xlsx'; expected \.csv or \.geojson"):
        read_points(_write(tmp_path, "d.xlsx", "x"))
    (tmp_path / "gbk.csv").write_bytes("id,lon,lat\n垃圾站,120,31\n".encode("gbk"))
    with pytest.raises(DataFileError, match="not UTF-8 text"):
        read_points(tmp_path / "gbk.csv")


def test_geojson_errors_name_the_feature(tmp_path: Path) -> None:
    """In GeoJSON the location is the feature index: feature 1 is a LineString, feature 2 has
    latitude -95; both are reported, invalid JSON is located at line 1, and the good first
    feature alone loads with its id and properties."""
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "a", "geometry": {"type": "Point", "coordinates": [120.6, 31.3]},
         "properties": {"capacity": 3}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "properties": {}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.6, -95]}, "properties": {}},
    ]}
    p = _write(tmp_path, "d.geojson", json.dumps(doc))
    with pytest.raises(DataFileError) as info:
        read_points(p)
    msg = str(info.value)
    assert "feature 1, column 'geometry': expected a Point geometry, found 'LineString'" in msg
    assert "feature 2, column 'geometry.coordinates[1]': expected a latitude" in msg
    with pytest.raises(DataFileError, match=r"line 1: not valid JSON"):
        read_points(_write(tmp_path, "bad.geojson", "{nope"))
    doc["features"] = doc["features"][:1]
    (dock,) = load_points(_write(tmp_path, "ok.geojson", json.dumps(doc)), Dock)
    assert dock.id == "a" and dock.capacity == 3


# -- travel matrices -----------------------------------------------------------------------


def test_shipped_matrix_loads_in_the_requested_order() -> None:
    """The shipped travel matrix is indexed in the order asked for, not the file's: with (TS2, DEP1,
    TS1) entry [1, 2] is the file's DEP1->TS1 row (2710 m), [2, 1] TS1->DEP1 (2840 m,
    asymmetric), and the TS2->DEP1 duration is 1420 s."""
    m = load_matrix(DATA / "suzhou_gusu_travel.csv", ["TS2", "DEP1", "TS1"])
    assert m.distance_m[1, 2] == 2710 and m.distance_m[2, 1] == 2840 and m.distance_m[0, 0] == 0
    assert m.duration_s is not None and m.duration_s[0, 1] == 1420


def test_matrix_errors(tmp_path: Path) -> None:
    """A negative distance (line 3) and an unknown id (line 4) are both reported; a missing reverse
    pair is an error unless the matrix is declared symmetric, when b->a takes a->b's 10 m; a file
    without distance_m is refused."""
    p = _write(tmp_path, "m.csv", "from,to,distance_m\na,b,10\nb,c,-1\nx,a,3\n")
    with pytest.raises(DataFileError) as info:
        load_matrix(p, ["a", "b", "c"])
    assert [(q.where, q.column) for q in info.value.problems] == [("line 3", "distance_m"), ("line 4", "from")]
    p = _write(tmp_path, "m2.csv", "from,to,distance_m\na,b,10\n")
    with pytest.raises(DataFileError, match=r"pairs have no distance, e\.g\. \['b->a'\]"):
        load_matrix(p, ["a", "b"])
    assert load_matrix(p, ["a", "b"], symmetric=True).distance_m[1, 0] == 10
    with pytest.raises(DataFileError, match=r"missing columns \['distance_m'\]"):
        load_matrix(_write(tmp_path, "m3.csv", "from,to,km\n"), ["a"])


# -- through a scenario file ---------------------------------------------------------------


class GeoCity(StrictModel):
    origin: tuple[float, float] | None = Field(None, description="Projection origin [lon, lat].")
    docks_file: DataPath | None = Field(None, description="CSV/GeoJSON of docks.")
    docks: list[Dock] = Field(default_factory=list, description="Docks.")

    @model_validator(mode="before")
    @classmethod
    def _files(cls, data: Any, info: ValidationInfo) -> Any:
        return expand_point_files(data, info, {"docks_file": ("docks", PointFileSpec("", Dock))})


class GeoDomain(Domain):
    name: ClassVar[str] = "geotoy"
    title: ClassVar[str] = "Docks from a file"
    City = GeoCity
    Policy = PolicyBase
    metrics: ClassVar[tuple[Metric, ...]] = (Metric("docks", "Docks", "docks"),)

    def run(self, city: GeoCity, policy: PolicyBase, ctx: RunContext) -> RunOutput:  # type: ignore[override]
        return RunOutput({"docks": float(sum(d.capacity for d in city.docks))})


domains.register(GeoDomain())

SCENARIO = """\
model = "geotoy"
name = "docks"
seed = 1
replications = 2
horizon_hours = 1.0

[city]
docks_file = "{path}"

[[policies]]
name = "base"
"""


def test_scenario_reads_points_relative_to_its_own_folder(tmp_path: Path) -> None:
    """docks_file is read relative to the scenario's folder; two docks 0.02 degrees of longitude
    apart are as far apart as the great circle says, centred on the median longitude 120.61; an
    override re-validates, and the resolved scenario (points inlined) loads from another folder
    to the same city."""
    (tmp_path / "data").mkdir()
    _write(tmp_path / "data", "docks.csv", "id,lon,lat,capacity\na,120.60,31.30,4\nb,120.62,31.30,6\n")
    sc = load_scenario(_write(tmp_path, "s.toml", SCENARIO.format(path="data/docks.csv")))
    city: GeoCity = getattr(sc, "city")  # noqa: B009
    assert [d.id for d in city.docks] == ["a", "b"]
    assert city.docks[1].x - city.docks[0].x == pytest.approx(cosine_law_m(120.60, 31.30, 120.62, 31.30), rel=1e-4)
    assert city.origin is not None and city.origin[0] == pytest.approx(120.61)
    # an override survives re-validation, and the resolved scenario loads back from elsewhere
    sc2 = sc.with_overrides({"city.docks.0.capacity": 9})
    assert [d.capacity for d in getattr(sc2, "city").docks] == [9, 6]  # noqa: B009
    (tmp_path / "elsewhere").mkdir()
    sc3 = load_scenario(_write(tmp_path / "elsewhere", "resolved.toml", sc.to_toml()))
    assert getattr(sc3, "city") == city  # noqa: B009


def test_scenario_errors_name_scenario_line_data_file_row_and_column(tmp_path: Path) -> None:
    """A bad row is reported with both locations: the scenario line of the docks_file key (line 8)
    and its dotted path, then the data file, its line 3 and column 'lat'; a missing file is named
    as not found."""
    _write(tmp_path, "docks.csv", "id,lon,lat,capacity\na,120.60,31.30,4\nb,120.62,131.30,6\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, "s.toml", SCENARIO.format(path="docks.csv")))
    msg = str(info.value)
    assert f"s.toml:8: city.docks_file: {tmp_path / 'docks.csv'}: line 3, column 'lat': expected a latitude" in msg
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, "t.toml", SCENARIO.format(path="missing.csv")))
    assert "missing.csv: file not found" in str(info.value)


def test_origin_out_of_range_is_named_before_projecting(tmp_path: Path) -> None:
    """An origin given as [lat, lon] (latitude 120.6 is impossible) is refused at its line as likely
    swapped, before any point is projected around it."""
    _write(tmp_path, "docks.csv", "id,lon,lat,capacity\na,120.60,31.30,4\n")
    text = SCENARIO.format(path="docks.csv").replace("[city]\n", "[city]\norigin = [31.30, 120.60]\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, "s.toml", text))
    (prob,) = info.value.problems
    assert str(prob).endswith("s.toml:8: city.origin: expected [longitude in -180..180, latitude in -90..90], "
                              "found [31.3, 120.6] (longitude and latitude swapped?)")
