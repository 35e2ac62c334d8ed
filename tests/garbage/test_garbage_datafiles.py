"""Garbage drop points, transfer stations and depots read from the planner's own lon/lat files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import simcity
from simcity.domain import RunContext
from simcity.garbage.layout import build_layout
from simcity.geodata import great_circle_m
from simcity.rng import Streams
from simcity.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "garbage_gusu_from_files.toml"


def test_points_come_from_the_file_at_their_projected_places() -> None:
    """The 36 points, stations and depot are the rows of the shipped CSV files (D01's zone and
    factor as written there); two points' projected distance must equal the great-circle distance of
    their lon/lat to 0.1 %, and the layout must hold exactly the file's positions, none drawn at
    random."""
    sc = simcity.load_scenario(SCENARIO)
    city = getattr(sc, "city")  # noqa: B009
    assert city.points is not None and len(city.points) == 36
    assert [s.id for s in city.stations] == ["TS1", "TS2"] and city.depots[0].id == "DEP1"
    d01, d02 = city.points[0], city.points[1]
    assert (d01.id, d01.zone, d01.generation_factor) == ("D01", "Shuangta", 1.08)
    # D01 (120.64052, 31.29967) and D02 (120.63762, 31.3032): distance as on the sphere, in km
    km = ((d01.x_km - d02.x_km) ** 2 + (d01.y_km - d02.y_km) ** 2) ** 0.5
    assert km == pytest.approx(great_circle_m(120.64052, 31.29967, 120.63762, 31.3032) / 1000, rel=1e-3)
    layout = build_layout(city)
    assert layout.n_points == 36
    # the layout holds exactly the file's positions (grouped by zone), none placed at random
    got = sorted(map(tuple, layout.xy[:36].round(9).tolist()))
    assert got == sorted((round(p.x_km, 9), round(p.y_km, 9)) for p in city.points)


def test_one_replication_runs_on_file_points() -> None:
    """A two-day run on the file-based city must visit points and give a service level that is a
    share (0..1)."""
    sc = simcity.load_scenario(SCENARIO).with_overrides({"horizon_hours": 48.0})
    out = sc.domain.run(getattr(sc, "city"), sc.policy_list[0],  # noqa: B009
                        RunContext(48.0, 24.0, Streams(sc.seed, 0), 0))
    assert out.metrics["points_visited_per_day"] > 0
    assert 0 <= out.metrics["service_level"] <= 1


def test_zone_counts_must_match_and_file_errors_are_located(tmp_path: Path) -> None:
    """A zone declaring 8 points when 7 rows name it is refused with both counts; a latitude of
    231.3 in the depots file is reported at the line of depots_file in the scenario, with the file's
    row and column."""
    shutil.copytree(ROOT / "scenarios" / "data", tmp_path / "data")
    text = SCENARIO.read_text(encoding="utf-8")
    bad = tmp_path / "s.toml"
    bad.write_text(text.replace("points = 7", "points = 8", 1), encoding="utf-8")
    with pytest.raises(ScenarioError, match="zone 'Shuangta' declares 8 points but 7 points name it"):
        simcity.load_scenario(bad)
    depots = tmp_path / "data" / "suzhou_gusu_depots.csv"
    depots.write_text("id,name,lon,lat\nDEP1,x,120.59,231.3\n", encoding="utf-8")
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        simcity.load_scenario(bad)
    line = text.splitlines().index('depots_file = "data/suzhou_gusu_depots.csv"') + 1
    assert str(info.value).startswith(f"{bad}:{line}: city.depots_file: ")
    assert "line 2, column 'lat'" in str(info.value)
