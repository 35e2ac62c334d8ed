"""Configuration errors in parking scenario files: every problem reported with key and line."""

from __future__ import annotations

import subprocess
import sys
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
         "city.demand.hourly_profile.0: Input should be a finite number; found inf"),
        ('tariff = "kerb_tiered"', 'tariff = "kerb_tierd"', "unknown tariff 'kerb_tierd'"),
        ("public_hours = [[0.0, 8.0], [18.0, 24.0]]", "public_hours = [[0.0, 8.0], [6.0, 24.0]]", "overlap"),
        ("{ up_to_hours = 2.0, rate_per_hour = 8.0 }", "{ up_to_hours = 0.5, rate_per_hour = 8.0 }",
         "bands must end in increasing order"),
        ("max_walk_m = 800.0", "max_walk_metres = 800.0", "city.behaviour.max_walk_metres"),
        ("period_hours = 1.0", "period_hours = 0.1", "not a multiple of city.behaviour.update_minutes"),
        ("low = 0.6", "low = 0.9", "must not exceed high"),
        # issue 15: elasticities of the wrong sign or out of range, price bands, learning phase
        ("price_elasticity = -0.4", "price_elasticity = 0.4", "price_elasticity: must be <= 0"),
        ("price_elasticity = -0.4", "price_elasticity = -7.0", "price_elasticity: must be within -3..0"),
        ("stay_elasticity = -0.3", "stay_elasticity = 0.3", "stay_elasticity: must be <= 0"),
        ("stay_elasticity = -0.3", "stay_elasticity = -2.5", "stay_elasticity: must be within -2..0"),
        ("bands = [[0, 8], [8, 12],", "bands = [[0, 9], [8, 12],", "bands: bands overlap in hours [8]"),
        ("bands = [[0, 8], [8, 12],", "bands = [[0, 7], [8, 12],", "bands: hours [7] are in no band"),
        ("learning_days = 8", "learning_days = 0", "bands: time-of-day bands are used by the learning phase only"),
        ("period_days = 1", "period_days = 10", "period_days: a learning period of 10 days is longer than"),
        ("period_days = 1", "period_days = 3", "learning_days: 8 days is not a whole number"),
        ("disutility = 20.0", "disutility = -5.0", "city.pavement.disutility"),
    ],
)
def test_bad_values_are_reported_with_location(old: str, new: str, expected: str) -> None:
    """Each case breaks one value of the shipped Liangxi scenario (the old text is asserted present,
    so the edit really happens); the validator must report that key's own message, and every problem
    must start with the file name."""
    assert old in TEXT
    found = problems(TEXT.replace(old, new, 1))
    assert any(expected in p for p in found), found
    assert all(p.startswith("lx.toml:") for p in found)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("price_elasticity = -0.4", "price_elasticity = 0.4", "city.demand.purposes.0.price_elasticity"),
        ("bands = [[0, 8], [8, 12],", "bands = [[0, 9], [8, 12],", "responsive_pricing.bands"),
        ("period_days = 1", "period_days = 10", "responsive_pricing.period_days"),
    ],
)
def test_issue15_errors_point_at_the_line_of_the_key(old: str, new: str, key: str) -> None:
    """The expected line is counted in the edited text itself (newlines before the new value), not
    taken from the parser, so the located error must point at the line where the bad key is written.
    """
    bad = TEXT.replace(old, new, 1)
    line = bad[: bad.index(new)].count("\n") + 1
    found = problems(bad)
    hit = [p for p in found if key in p]
    assert hit, found
    # bands and period_days sit on their own line; the purpose's elasticity on its line too
    assert any(p.startswith(f"lx.toml:{line}:") for p in hit), (line, hit)


def test_cli_validate_exits_2_without_traceback(tmp_path: Path) -> None:
    """simcity validate on a file with a positive price elasticity is bad input: exit status 2 and
    the key's message, never a traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text(TEXT.replace("price_elasticity = -0.4", "price_elasticity = 0.4", 1), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "simcity", "validate", str(bad)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "price_elasticity: must be <= 0" in proc.stderr + proc.stdout
