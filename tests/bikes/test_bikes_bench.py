"""``simcity bench bikes``: runs end to end on a short horizon, writes JSON, gates on a baseline."""

from __future__ import annotations

import json
from pathlib import Path

from simcity.cli import main

DISTRICT = Path(__file__).resolve().parents[2] / "scenarios" / "bikes_suzhou_district.toml"


def test_bench_writes_results_and_gates(tmp_path: Path) -> None:
    """simcity bench bikes on the district's after-cut policy for 2 h writes a JSON row with the
    instance name, the cut fleet of 5,020, 6 plans (the night shift plans one route per van
    at midnight), positive times and ratio, and requests >= trips served; saved as its own
    baseline it passes; against a baseline claiming a 100x faster model the gate fails with
    exit 1."""
    out = tmp_path / "bikes.json"
    base = tmp_path / "base.json"
    args = ["bench", "bikes", "--scenario", str(DISTRICT), "--policies", "after-cut",
            "--horizon", "2", "--out", str(out), "--baseline", str(base)]
    assert main([*args, "--save-baseline"]) == 0
    doc = json.loads(out.read_text())
    row = doc["rows"][0]
    assert row["instance"] == "suzhou-bike-downsizing-district/after-cut"
    assert row["trips_served"] > 0 and row["sim_s"] > 0 and row["bare_s"] > 0
    assert row["plans"] == 6  # the night shift plans one route per van at midnight
    assert row["fleet"] == 5020
    assert row["ratio"] > 0 and row["requests"] >= row["trips_served"]
    # a baseline claiming a 100x faster model makes the gate fail
    doc_b = json.loads(base.read_text())
    doc_b["rows"][0]["ratio"] = row["ratio"] * 100
    base.write_text(json.dumps(doc_b))
    assert main(args) == 1


def test_bench_rejects_unknown_policy(tmp_path: Path) -> None:
    """An unknown --policies name is bad input: exit 2, not a traceback."""
    assert main(["bench", "bikes", "--scenario", str(DISTRICT), "--policies", "nope",
                 "--out", str(tmp_path / "x.json")]) == 2
