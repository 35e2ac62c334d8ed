"""Parking points from the planners' own files: the shipped scenario, and errors that name file, row, column.

``scenarios/parking_liangxi_from_files.toml`` reads its car parks, kerb segments and zones from
``scenarios/data/wuxi_liangxi_*.csv`` through the shared mechanism of :mod:`simcity.geodata`.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import simcity
from simcity import cli
from simcity.geodata import great_circle_m
from simcity.parking.config import City, Facility, Zone
from simcity.scenario import ScenarioBase, ScenarioError

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "parking_liangxi_from_files.toml"
DATA = ROOT / "scenarios" / "data"
CAR_PARKS = "wuxi_liangxi_car_parks.csv"
KERBS = "wuxi_liangxi_kerb_segments.csv"
ZONES = "wuxi_liangxi_zones.csv"


def _lonlat(file: str, row_id: str) -> tuple[float, float]:
    """Longitude and latitude of a row, read with plain text splitting (not with the code under test)."""
    lines = (DATA / file).read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    for line in lines[1:]:
        cells = line.split(",")
        if cells[0] == row_id:
            return float(cells[header.index("lon")]), float(cells[header.index("lat")])
    raise AssertionError(f"{row_id} not in {file}")


def _city(sc: ScenarioBase) -> City:
    city = getattr(sc, "city")  # noqa: B009 - ScenarioBase is domain-agnostic; the field is added per domain
    assert isinstance(city, City)
    return city


def test_shipped_scenario_reads_its_points_from_files() -> None:
    """The ids, columns and the 4420 arrivals a day are those written in the shipped CSV files;
    distances between points from different files, projected from one origin, must equal the
    great-circle distances of their lon/lat (computed independently) to 0.1 %."""
    city = _city(simcity.load_scenario(SCENARIO))
    assert [p.id for p in city.car_parks] == [f"F0{i}" for i in range(1, 9)]
    assert [k.id for k in city.kerb_segments] == ["K1", "K2", "K3", "K4"]
    assert [z.id for z in city.zones] == ["Z1", "Z2", "Z3", "Z4", "Z5"]
    assert city.origin == (120.3041, 31.5733)
    assert city.car_parks_file == (DATA / CAR_PARKS).resolve()
    # the file's columns became the fields: the shared lot and its opening hours, a tiered kerb
    f07 = city.car_parks[6]
    assert f07.shared and f07.tariff == "shared" and f07.public_hours == [(18.0, 24.0), (0.0, 8.0)]
    assert city.kerb_segments[0].tariff == "kerb_tiered" and city.kerb_segments[0].max_stay_hours == 2.0
    assert sum(z.arrivals_per_day for z in city.zones) == pytest.approx(4420.0)
    # one origin for all three files: distances between a car park, a kerb and a zone from different
    # files are the great-circle distances of their lon/lat (projection error well under 0.1 %)
    pts: dict[str, tuple[str, Facility | Zone]] = {
        "F01": (CAR_PARKS, city.car_parks[0]), "K3": (KERBS, city.kerb_segments[2]), "Z5": (ZONES, city.zones[4])}
    for a, b in (("F01", "K3"), ("K3", "Z5"), ("F01", "Z5")):
        (fa, pa), (fb, pb) = pts[a], pts[b]
        assert pa.x is not None and pa.y is not None and pb.x is not None and pb.y is not None
        planar = math.hypot(pa.x - pb.x, pa.y - pb.y)
        assert planar == pytest.approx(great_circle_m(*_lonlat(fa, a), *_lonlat(fb, b)), rel=1e-3)
    # x east and y north of the origin: the railway station (Z5) lies ~1.5 km north of it
    z5 = city.zones[4]
    assert z5.y is not None and z5.x is not None and 1300 < z5.y < 1600 and abs(z5.x) < 100


def test_shipped_scenario_runs_one_short_replication() -> None:
    """One short day of the file-based scenario gives plausible ranges (every zone lies within a few
    hundred metres of a car park, so walks are short but not zero), a row for every policy and
    per-facility rows named by the files' ids."""
    sc = simcity.load_scenario(SCENARIO).with_overrides(
        {"horizon_hours": 14.0, "warmup_hours": 6.0, "replications": 1})
    res = simcity.compare(sc)
    mean = res.summary.set_index(["policy", "metric"])["mean"]
    base = sc.baseline
    assert mean[(base, "sessions")] > 100
    assert 0.0 < mean[(base, "occupancy_day")] < 1.0
    assert 0.0 <= mean[(base, "lost_share")] < 0.5
    # every zone lies within a few hundred metres of a car park: walks are short but not zero
    assert 50.0 < mean[(base, "walk_m")] < 800.0
    assert set(res.table["policy"]) == set(sc.policy_names)
    # per-facility rows name the facilities of the files
    assert {"F01", "F08", "K1", "K4"} <= set(res.by_entity["entity"])


def _folder(tmp_path: Path) -> Path:
    """A copy of the shipped scenario and its data, to break one thing at a time."""
    (tmp_path / "data").mkdir(parents=True)
    for f in (CAR_PARKS, KERBS, ZONES):
        shutil.copy(DATA / f, tmp_path / "data" / f)
    shutil.copy(SCENARIO, tmp_path / "s.toml")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


LINE = re.compile(r"^(?P<file>[^:\n]+\.toml):(?P<line>\d+): (?P<key>[\w.]+): (?P<msg>.+)$")


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        # a missing data file
        (None, f'zones_file = "data/{ZONES}"', 'zones_file = "data/liangxi_zones.csv"',
         r"liangxi_zones\.csv: file not found"),
        # a misspelt column: every row is reported at its line, the unknown column once
        (CAR_PARKS, "id,name,lon,lat,berths,", "id,name,lon,lat,berth,",
         rf"{CAR_PARKS}: line 2, column 'berths': required column is missing or empty.*"
         r"line 2, column 'berth': unknown column"),
        # a latitude out of range (a stray digit) on the fourth line
        (CAR_PARKS, "F03,Nanchang Street,120.3062,31.5651", "F03,Nanchang Street,120.3062,315.651",
         rf"{CAR_PARKS}: line 4, column 'lat': expected a latitude in degrees between -90 and 90, "
         r"found '315\.651'"),
        # longitude and latitude swapped in the kerb file
        (KERBS, "K2,Xueqian Street,120.3012,31.5709", "K2,Xueqian Street,31.5709,120.3012",
         rf"{KERBS}: line 3, column 'lat': .*found '120\.3012' \(are the longitude and latitude columns swapped\?\)"),
        # a value the Zone component refuses, named by its column
        (ZONES, "Z4,Xueqian offices,120.2990,31.5712,728", "Z4,Xueqian offices,120.2990,31.5712,-5",
         rf"{ZONES}: line 5, column 'arrivals_per_day': Input should be greater than or equal to 0, found '-5'"),
    ],
    ids=["missing-file", "bad-column", "lat-out-of-range", "swapped", "bad-value"],
)
def test_data_file_errors_come_out_of_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               file: str | None, old: str, new: str, expected: str) -> None:
    """Each case breaks one thing in a copy of the data (missing file, misspelt column, latitude out
    of range, swapped columns, a negative value); validate must exit 2 with a FILE:LINE: key: line
    naming the data file's row and column."""
    folder = _folder(tmp_path)
    _edit(folder / "data" / file if file else folder / "s.toml", old, new)
    assert cli.main(["validate", str(folder / "s.toml")]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert lines, "no error printed"
    hits = [m for m in map(LINE.match, lines) if m and re.search(expected, m["msg"])]
    assert hits, lines
    m = hits[0]
    assert Path(m["file"]).name == "s.toml" and int(m["line"]) >= 1 and m["key"].startswith("city")


def test_validate_in_a_fresh_process_exits_2_without_a_traceback(tmp_path: Path) -> None:
    """Run as a user runs it (a new process), an empty latitude cell gives exit status 2 and the
    located message on the streams, not a traceback."""
    # the console entry as a user runs it: exit status and stream, not only cli.main's return value
    folder = _folder(tmp_path)
    _edit(folder / "data" / CAR_PARKS, "F03,Nanchang Street,120.3062,31.5651", "F03,Nanchang Street,120.3062,")
    code = f"import sys; from simcity.cli import main; sys.exit(main(['validate', {str(folder / 's.toml')!r}]))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr + run.stdout
    assert re.search(rf"s\.toml:\d+: city\.car_parks_file: .*{CAR_PARKS}: line 4, column 'lat': expected a latitude "
                     r"in degrees between -90 and 90, found an empty cell", run.stderr + run.stdout)


def test_inline_lists_and_files_together_must_agree(tmp_path: Path) -> None:
    """The resolved scenario carries both the file and its points and must load back to an equal
    city; a hand-written inline zone added beside zones_file is ambiguous and must be refused."""
    # the resolved scenario written with the results carries both the file and its points; it
    # loads back to the same city, while a hand-written inline list that differs is refused
    sc = simcity.load_scenario(SCENARIO)
    resolved = tmp_path / "scenario.toml"
    resolved.write_text(sc.to_toml(), encoding="utf-8")
    again = simcity.load_scenario(resolved)
    assert _city(again) == _city(sc)
    folder = _folder(tmp_path / "hand")
    _edit(folder / "s.toml", "[city.behaviour]",
          '[[city.zones]]\nid = "Q1"\nx = 0.0\ny = 0.0\narrivals_per_day = 10.0\n\n[city.behaviour]')
    with pytest.raises(ScenarioError) as err:
        simcity.load_scenario(folder / "s.toml")
    assert "give zones inline or zones_file, not both" in str(err.value)
