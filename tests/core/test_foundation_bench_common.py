"""The shared benchmark baseline gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from simcity.bench.common import BenchError, compare_to_baseline, load_results, write_results


def test_difference_gate_is_paired_and_respects_noise() -> None:
    """The difference gate pairs rows by instance: gaps 0.2 worse on both matched instances (z has
    no partner) are a mean difference of 0.2, inside the 0.25 noise, so it passes; 0.5 worse is a
    regression; no matching instance at all is a failure, not a vacuous pass."""
    base = [{"instance": "a", "gap": 1.0}, {"instance": "b", "gap": 2.0}, {"instance": "z", "gap": 9.0}]
    same = compare_to_baseline([{"instance": "a", "gap": 1.2}, {"instance": "b", "gap": 2.2}], base,
                               "gap", noise=0.25)
    assert same.ok and same.matched == 2 and same.statistic == pytest.approx(0.2)
    worse = compare_to_baseline([{"instance": "a", "gap": 1.5}, {"instance": "b", "gap": 2.5}], base,
                                "gap", noise=0.25)
    assert not worse.ok and "REGRESSION" in worse.message
    none = compare_to_baseline([{"instance": "q", "gap": 0.0}], base, "gap", noise=1.0)
    assert not none.ok and none.matched == 0


def test_ratio_gate_for_higher_is_better() -> None:
    """For a higher-is-better ratio with 10% noise, 0.46/0.50 = 0.92 passes and 0.40/0.50 = 0.80
    fails with that ratio as the statistic."""
    base = [{"instance": "day", "ratio": 0.50}]
    assert compare_to_baseline([{"instance": "day", "ratio": 0.46}], base, "ratio", kind="ratio",
                               noise=0.10, higher_is_better=True).ok
    bad = compare_to_baseline([{"instance": "day", "ratio": 0.40}], base, "ratio", kind="ratio",
                              noise=0.10, higher_is_better=True)
    assert not bad.ok and bad.statistic == pytest.approx(0.8)


def test_results_round_trip_and_clear_errors(tmp_path: Path) -> None:
    """A results file reads back as written; a broken file is reported at its line (the JSON breaks
    on line 2) and a missing one as not found, both as BenchError rather than a traceback."""
    p = write_results(tmp_path / "r.json", "demo", [{"instance": "a", "x": 1.0}], {"seed": 1})
    doc = load_results(p)
    assert doc["benchmark"] == "demo" and doc["rows"] == [{"instance": "a", "x": 1.0}]
    (tmp_path / "bad.json").write_text("{\n  oops")
    with pytest.raises(BenchError, match=r"bad.json:2: not valid JSON"):
        load_results(tmp_path / "bad.json")
    with pytest.raises(BenchError, match="not found"):
        load_results(tmp_path / "missing.json")
