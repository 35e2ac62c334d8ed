"""Problems found across the rows of a data file (a repeated id) name the data file, the row and
the column, not the scenario key that names the file (issue 22: "data-file errors naming file,
row and column"); `simcity validate` exits 2 with that line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simcity.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]


def _copy(tmp_path: Path, scenario: str) -> Path:
    shutil.copy(ROOT / "scenarios" / scenario, tmp_path / scenario)
    shutil.copytree(ROOT / "scenarios" / "data", tmp_path / "data")
    return tmp_path / scenario


def test_repeated_car_park_id_is_located_at_its_csv_row(tmp_path: Path) -> None:
    """The first car park's row appended again: the duplicate is the file's last line (header
    + every row + 1), so that line and the 'id' column must be named, in the data file."""
    scen = _copy(tmp_path, "parking_liangxi_from_files.toml")
    csv = tmp_path / "data" / "wuxi_liangxi_car_parks.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    csv.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(scen)
    (problem,) = exc.value.problems
    assert Path(problem.file).resolve() == csv.resolve()
    assert problem.line == len(lines) + 1
    assert problem.path == "column 'id'"
    assert lines[1].split(",")[0] in problem.message


def test_repeated_drop_point_id_names_the_geojson_feature(tmp_path: Path) -> None:
    """GeoJSON has no row lines: the duplicate (the first feature appended after the N there
    are, so feature N counted from 0 as the reader numbers them, like the JSON array index) is
    named with its file and feature number at the scenario line of points_file."""
    scen = _copy(tmp_path, "garbage_gusu_from_files.toml")
    path = tmp_path / "data" / "suzhou_gusu_drop_points.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    n = len(doc["features"])
    doc["features"].append(doc["features"][0])
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(scen)
    (problem,) = exc.value.problems
    assert Path(problem.file).resolve() == scen.resolve()
    text = scen.read_text(encoding="utf-8").splitlines()
    assert text[problem.line - 1].startswith("points_file")
    assert problem.path == "city.points_file"
    assert f"suzhou_gusu_drop_points.geojson: feature {n}, column 'id': " in problem.message
    assert doc["features"][0]["id"] in problem.message


def test_validate_prints_the_data_file_row_and_exits_2(tmp_path: Path) -> None:
    """End to end through the command line: one line FILE:LINE: column: message, exit 2, no
    traceback."""
    scen = _copy(tmp_path, "parking_liangxi_from_files.toml")
    csv = tmp_path / "data" / "wuxi_liangxi_car_parks.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    csv.write_text("\n".join([*lines, lines[2]]) + "\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "simcity", "validate", str(scen)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    out = run.stdout + run.stderr
    assert f"data/wuxi_liangxi_car_parks.csv:{len(lines) + 1}: column 'id': " in out


def _car_parks(tmp_path: Path, n: int) -> tuple[Path, Path, list[str]]:
    """The Liangxi car-park file grown to ``n`` rows (the first row repeated under new ids)."""
    scen = _copy(tmp_path, "parking_liangxi_from_files.toml")
    csv = tmp_path / "data" / "wuxi_liangxi_car_parks.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")
    rows = [",".join([f"X{i}", *first[1:]]) for i in range(n)]
    return scen, csv, [lines[0], *rows]


def test_too_many_rows_is_located_at_the_first_row_over_the_limit(tmp_path: Path) -> None:
    """A car-park file one row over the schema's 20,000 (issue 22 item 4, "row-count limits"
    naming the data file): the problem is in the CSV, at the line of row 20,001 (header + 20,001
    = line 20,002), and says how many rows there are and how many are allowed."""
    scen, csv, lines = _car_parks(tmp_path, 20_001)
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(scen)
    (problem,) = exc.value.problems
    assert Path(problem.file).resolve() == csv.resolve()
    assert problem.line == 20_002
    assert "20001 rows, at most 20000 allowed in car_parks" in problem.message


def test_too_many_geojson_features_are_named_at_the_file_key(tmp_path: Path) -> None:
    """The same file as GeoJSON has no row lines: the problem stands at the scenario line of
    car_parks_file and names the file and the first feature over the limit (20000, counted
    from 0)."""
    scen, csv, lines = _car_parks(tmp_path, 20_001)
    header = lines[0].split(",")
    feats = []
    for row in lines[1:]:
        rec = dict(zip(header, row.split(","), strict=True))
        lon, lat = float(rec.pop("lon")), float(rec.pop("lat"))
        props = {k: v for k, v in rec.items() if v != ""}
        props["berths"] = int(props["berths"])
        props["entry_gates"], props["exit_gates"] = int(props["entry_gates"]), int(props["exit_gates"])
        props["shared"] = props["shared"] == "true"
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                      "properties": props})
    geo = csv.with_suffix(".geojson")
    geo.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    text = scen.read_text(encoding="utf-8").replace("wuxi_liangxi_car_parks.csv", "wuxi_liangxi_car_parks.geojson")
    scen.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(scen)
    (problem,) = exc.value.problems
    assert Path(problem.file).resolve() == scen.resolve()
    assert text.splitlines()[problem.line - 1].startswith("car_parks_file")
    assert problem.path == "city.car_parks_file"
    assert "wuxi_liangxi_car_parks.geojson: feature 20000: 20001 features, at most 20000 allowed" in problem.message


def test_a_file_at_the_limit_is_accepted(tmp_path: Path) -> None:
    """The limit itself is allowed: exactly 20,000 rows validate (so the check above is the
    limit, not any large file)."""
    scen, csv, lines = _car_parks(tmp_path, 20_000)
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(load_scenario(scen).city.car_parks) == 20_000  # type: ignore[attr-defined]
