"""``simcity bench parking`` on a small city: JSON rows, the baseline gate, clear errors.

Speed itself is never asserted here (the machine is shared); only that the figures exist and
the gate compares them.
"""

from __future__ import annotations

import json
from pathlib import Path

from simcity.bench.common import load_results
from simcity.cli import main


def _run(tmp_path: Path, *extra: str) -> int:
    return main(["bench", "parking", "--parks", "40", "--sessions", "3000", "--no-liangxi",
                 "--out", str(tmp_path / "r.json"), *extra])


def test_bench_writes_rows_and_gates_against_its_own_baseline(tmp_path: Path, capsys) -> None:
    """A run compared with the baseline it just saved passes (same rows); most of the 3000-session
    city's drivers park, and a baseline whose ratio is 1000 times ours is beyond any noise band, so
    the gate must exit 1 with REGRESSION."""
    base = tmp_path / "base.json"
    assert _run(tmp_path, "--baseline", str(base), "--save-baseline") == 0
    doc = load_results(tmp_path / "r.json")
    (row,) = doc["rows"]
    assert row["instance"] == "suzhou-day"
    # same drivers in the bare loop and the model; most of them park in this roomy city
    assert row["drivers"] > 2000 and 0.8 * row["drivers"] <= row["sessions"] <= row["drivers"]
    assert row["ratio"] > 0 and row["sessions_per_s"] > 0
    assert load_results(base)["rows"] == doc["rows"]
    # a baseline with a ratio a thousand times ours is a regression beyond any noise band
    # (and beyond what CPU-time noise on a loaded machine can make up)
    fast = json.loads(base.read_text())
    fast["rows"][0]["ratio"] = row["ratio"] * 1000
    base.write_text(json.dumps(fast))
    assert _run(tmp_path, "--baseline", str(base)) == 1
    assert "REGRESSION" in capsys.readouterr().out


def test_bench_reports_a_broken_baseline_without_traceback(tmp_path: Path, capsys) -> None:
    """A baseline that is not JSON and a city with zero car parks are bad input: exit 2 with the
    file and line named, no traceback."""
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    assert _run(tmp_path, "--baseline", str(bad)) == 2
    assert "bad.json:1: not valid JSON" in capsys.readouterr().err
    assert main(["bench", "parking", "--parks", "0"]) == 2
