"""The shipped bike scenarios load, cite the figures they are calibrated on, and bad input is
reported with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

import simcity
from simcity.bikes import City
from simcity.bikes.network import build_network

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_downsizing_scenarios_encode_the_fleet_cut() -> None:
    for name, before, after in (("bikes_suzhou_downsizing.toml", 65200, 50200),
                                ("bikes_suzhou_district.toml", 6520, 5020)):
        sc = simcity.load_scenario(SCENARIOS / name)
        city = sc.city  # type: ignore[attr-defined]
        assert isinstance(city, City)
        assert build_network(city).fleet == before
        pols = sc.policy_list
        assert [p.name for p in pols] == ["before", "after-cut", "after-cut-dissatisfaction",
                                          "after-cut-dynamic"]
        assert pols[0].fleet_size is None  # type: ignore[attr-defined]
        assert {p.fleet_size for p in pols[1:]} == {after}  # type: ignore[attr-defined]
        # the cut is the reported 23 % [000]
        assert 1 - after / before == pytest.approx(0.23, abs=0.005)
        text = (SCENARIOS / name).read_text()
        assert "[000]" in text and "1.7" in text


def test_gusu_scenario_reads_the_station_file_and_has_26_designated_points() -> None:
    sc = simcity.load_scenario(SCENARIOS / "bikes_gusu_oldcity.toml")
    city = sc.city  # type: ignore[attr-defined]
    assert len(city.stations) == 14
    assert sum(len(z.points) for z in city.zones) == 26
    net = build_network(city)
    # projected positions: the old city is a few km across
    assert float(abs(net.xy).max()) < 5000.0


def test_bad_station_is_reported_with_line_and_key(tmp_path: Path) -> None:
    text = (SCENARIOS / "bikes_suzhou_district.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("mean_capacity = 60", "mean_capacity = -60"))
    with pytest.raises(simcity.ScenarioError) as err:
        simcity.load_scenario(bad)
    msg = str(err.value)
    assert "bad.toml:" in msg and "city.synthetic.mean_capacity" in msg
    bad.write_text(text.replace('overnight = "dissatisfaction"', 'overnight = "sometimes"', 1))
    with pytest.raises(simcity.ScenarioError, match="overnight"):
        simcity.load_scenario(bad)
