"""Configuration errors in parking scenario files: every problem reported with key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from simcity.scenario import ScenarioError, parse_scenario_text

TEXT = (Path(__file__).resolve().parents[2] / "scenarios" / "parking_liangxi.toml").read_text(encoding="utf-8")


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        parse_scenario_text(text, source="lx.toml")
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('hourly_profile = [1, 1, 1, 1, 1, 2,', 'hourly_profile = [inf, 1, 1, 1, 1, 2,',
         "city.demand.hourly_profile: needs 24 finite non-negative values"),
        ('tariff = "kerb_tiered"', 'tariff = "kerb_tierd"', "unknown tariff 'kerb_tierd'"),
        ("public_hours = [[0.0, 8.0], [18.0, 24.0]]", "public_hours = [[0.0, 8.0], [6.0, 24.0]]", "overlap"),
        ("{ up_to_hours = 2.0, rate_per_hour = 8.0 }", "{ up_to_hours = 0.5, rate_per_hour = 8.0 }",
         "bands must end in increasing order"),
        ("max_walk_m = 800.0", "max_walk_metres = 800.0", "city.behaviour.max_walk_metres"),
        ("period_hours = 1.0", "period_hours = 0.1", "not a multiple of city.behaviour.update_minutes"),
        ("low = 0.6", "low = 0.9", "must not exceed high"),
    ],
)
def test_bad_values_are_reported_with_location(old: str, new: str, expected: str) -> None:
    assert old in TEXT
    found = problems(TEXT.replace(old, new, 1))
    assert any(expected in p for p in found), found
    assert all(p.startswith("lx.toml:") for p in found)
