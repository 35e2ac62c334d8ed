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
    """Both downsizing scenarios (full scale and the one-tenth district) keep today's fleet (65,200
    / 6,520) in 'before' and the cut fleet (50,200 / 5,020) in every other policy, which is
    the reported 23 % cut; the six policies come in order, the last two with docks
    reallocated; and the file cites its source ([000]) and the reported turnover 1.7."""
    for name, before, after in (("bikes_suzhou_downsizing.toml", 65200, 50200),
                                ("bikes_suzhou_district.toml", 6520, 5020)):
        sc = simcity.load_scenario(SCENARIOS / name)
        city = sc.city  # type: ignore[attr-defined]
        assert isinstance(city, City)
        assert build_network(city).fleet == before
        pols = sc.policy_list
        assert [p.name for p in pols][:4] == ["before", "after-cut", "after-cut-dissatisfaction",
                                              "after-cut-dynamic"]
        # dock reallocation after the cut, with and without dynamic vans (issue 16)
        assert [p.name for p in pols][4:] == ["after-cut-reallocated", "after-cut-reallocated-dynamic"]
        assert [p.docks for p in pols] == ["as_today"] * 4 + ["reallocated"] * 2  # type: ignore[attr-defined]
        assert pols[0].fleet_size is None  # type: ignore[attr-defined]
        assert {p.fleet_size for p in pols[1:]} == {after}  # type: ignore[attr-defined]
        # the cut is the reported 23 % [000]
        assert 1 - after / before == pytest.approx(0.23, abs=0.005)
        text = (SCENARIOS / name).read_text()
        assert "[000]" in text and "1.7" in text


def test_gusu_scenario_reads_the_station_file_and_has_26_designated_points() -> None:
    """The Gusu old-city scenario reads its 14 stations from the station data file and has the 26
    designated parking points the Suzhou report gives for the old city; after projection
    every position is within 5 km of the origin (the old city is a few km across), so the
    coordinates were projected to metres, not used as degrees."""
    sc = simcity.load_scenario(SCENARIOS / "bikes_gusu_oldcity.toml")
    city = sc.city  # type: ignore[attr-defined]
    assert len(city.stations) == 14
    assert sum(len(z.points) for z in city.zones) == 26
    net = build_network(city)
    # projected positions: the old city is a few km across
    assert float(abs(net.xy).max()) < 5000.0


def test_bad_station_is_reported_with_line_and_key(tmp_path: Path) -> None:
    """A negative mean_capacity is refused with the file, its line and the key
    city.synthetic.mean_capacity; an unknown overnight rule is refused naming overnight."""
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


def test_sweep_and_select_examples_are_the_gusu_city_with_an_experiment_table() -> None:
    """The shipped [sweep] and [selection] examples (docs/experiments.md) run the city and
    policies of bikes_gusu_oldcity.toml, so what they find is about that scenario."""
    from simcity.scenario import check_specs

    base = simcity.load_scenario(SCENARIOS / "bikes_gusu_oldcity.toml").model_dump(mode="json")
    for name, table in (("bikes_gusu_sweep.toml", "sweep"), ("bikes_gusu_select.toml", "selection")):
        sc = simcity.load_scenario(SCENARIOS / name)
        check_specs(sc)
        data = sc.model_dump(mode="json")
        assert data["city"] == base["city"] and data["policies"] == base["policies"], name
        assert data[table] is not None and data["seed"] == base["seed"]


def test_shipped_sweep_and_select_examples_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Both run from the command line as docs/experiments.md shows (the sweep with 2 replications
    instead of 5 to keep the test short) and write a results folder whose saved scenario runs again."""
    from simcity import cli

    out = tmp_path / "sweep"
    assert cli.main(["sweep", str(SCENARIOS / "bikes_gusu_sweep.toml"), "--set", "replications=2", "--out", str(out),
                     "--work-dir", str(tmp_path / "w")]) == 0
    assert "9 design points x 3 policies x 2 replications" in capsys.readouterr().out
    assert (out / "effects.csv").is_file() and (out / "data" / "suzhou_gusu_bike_stations.csv").is_file()
    assert simcity.load_scenario(out / "scenario.toml").sweep is not None
    sel = tmp_path / "select"
    assert cli.main(["select", str(SCENARIOS / "bikes_gusu_select.toml"), "--out", str(sel),
                     "--work-dir", str(tmp_path / "w")]) == 0
    text = capsys.readouterr().out
    assert "Best policy for Failed rentals / requests (lowest is better): dynamic." in text
