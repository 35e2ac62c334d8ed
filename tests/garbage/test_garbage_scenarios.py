"""The shipped garbage scenarios load, the CLI benchmark runs, and bad input reads clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import simcity
from simcity.cli import main as cli_main
from simcity.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("garbage_*.toml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenarios_validate(path: Path) -> None:
    """Each shipped garbage scenario must load as a garbage model with at least two policies to
    compare and at least ten collection points."""
    sc = simcity.load_scenario(path)
    assert sc.model == "garbage" and len(sc.policy_list) >= 2
    city = sc.city  # type: ignore[attr-defined]
    n = sum(z.points for z in city.zones)
    assert n >= 10


def test_liangxi_is_calibrated_to_the_reported_figures() -> None:
    """The Liangxi scenario must carry the reported figures, recomputed here from the report's
    totals: about 1400 points, 190 800 t of other waste and 29 800 t of perishable waste over 181
    days as tonnes a day, and a 28-day measured horizon."""
    sc = simcity.load_scenario(ROOT / "scenarios" / "garbage_liangxi.toml")
    city = sc.city  # type: ignore[attr-defined]
    assert sum(z.points for z in city.zones) == 1400                    # FIGURES: ~1,400 points
    assert city.stream("other").tonnes_per_day == pytest.approx(190_800 / 181, rel=0.01)
    assert city.stream("perishable").tonnes_per_day == pytest.approx(29_800 / 181, rel=0.01)
    assert len(sc.policy_list) >= 4 and sc.horizon_hours - sc.warmup_hours == 28 * 24


def test_unknown_depot_is_reported_with_file_and_line(tmp_path: Path) -> None:
    """A truck naming a depot that does not exist must be refused with the file name, the bad depot
    id and the key."""
    text = (ROOT / "scenarios" / "garbage_quick.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('depot = "depot"\ncategories = ["perishable"]',
                                'depot = "nowhere"\ncategories = ["perishable"]'), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        simcity.load_scenario(bad)
    msg = str(err.value)
    assert "bad.toml" in msg and "nowhere" in msg and "depot" in msg


def test_bench_cli_writes_split_and_routing_health(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One day of the quick scenario for two policies: one row per policy with the routing effort
    given, routing timed and the timed parts inside the wall time, routing calls made, and the full
    protocol run rather than extrapolated."""
    out = tmp_path / "garbage.json"
    rc = cli_main(["bench", "garbage", str(ROOT / "scenarios" / "garbage_quick.toml"), "--days", "1",
                   "--policies", "2", "--jobs", "1", "--effort", "50", "--out", str(out),
                   "--baseline", str(tmp_path / "none.json")])
    assert rc == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [r["instance"] for r in doc["rows"]] == ["garbage-quick:fixed-daily", "garbage-quick:threshold-80"]
    for r in doc["rows"]:
        # the simulation share is the wall time left after the timed parts (by construction),
        # so what can go wrong is timers that overlap or count twice: they must fit in the wall
        assert 0 < r["routing_s_per_day"]
        assert r["routing_s_per_day"] + r["berths_s_per_day"] <= r["wall_s_per_day"] + 1e-3
        assert r["ratio"] > 0 and r["simulated_days"] == 2
        assert r["routing_calls_per_day"] > 0 and 0 <= r["cache_hit_share"] <= 1
    assert doc["settings"]["routing_effort"] == 50
    # the full protocol is run, not extrapolated
    assert "extrapolated" not in capsys.readouterr().out


def test_bench_rejects_a_scenario_of_another_domain(tmp_path: Path) -> None:
    """A parking scenario given to the garbage benchmark is bad input: exit status 2."""
    other = sorted((ROOT / "scenarios").glob("parking_*.toml"))
    if not other:
        pytest.skip("no parking scenario shipped to test the domain check with")
    assert cli_main(["bench", "garbage", str(other[0]), "--days", "1", "--out", str(tmp_path / "x.json")]) == 2
