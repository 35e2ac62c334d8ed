"""Golden tables: without ``[city.roads] osm_file`` the garbage model is the straight-line model
it was before the street network was wired in (issue 19), byte for byte.

``golden_tables.json`` holds the SHA-256 of every table (the CSV text the results folder
holds) of two shipped scenarios, short runs, computed from main at commit a7dd06a before any
change for the street network.  A change that is meant to alter the straight-line model (a
routing improvement, say) regenerates them with ``SIMCITY_REGEN_GOLDEN=1 pytest
tests/garbage/test_garbage_golden.py`` and says so in its commit.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

import simcity

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden_tables.json")
#: short runs of the shipped scenarios (one replication; garbage_quick: 1 warm-up + 1 measured day)
OVERRIDES: dict[str, dict[str, float | int]] = {
    "garbage_quick.toml": {"replications": 1, "horizon_hours": 48.0},
    "garbage_gusu_from_files.toml": {"replications": 1, "horizon_hours": 48.0},
}


def table_digests(name: str) -> dict[str, str]:
    """SHA-256 of the CSV text of each table of the short run of scenario ``name``."""
    sc = simcity.load_scenario(ROOT / "scenarios" / name).with_overrides(OVERRIDES[name])
    res = simcity.compare(sc, jobs=1)
    tables = {"replications": res.table, "summary": res.summary, "by_entity": res.by_entity,
              "by_time": res.by_time, "positions": res.positions}
    return {stem: hashlib.sha256(df.to_csv(index=False).encode()).hexdigest() for stem, df in tables.items()}


@pytest.mark.parametrize("name", sorted(OVERRIDES))
def test_straight_line_tables_are_unchanged(name: str) -> None:
    """Every table of the short run equals, byte for byte, the one main produced before the
    street network was wired into the domain: the expected digests were not computed by this
    code but recorded from a7dd06a (the roads layer present, no domain using it), so any change
    to placement, planning matrices, driving times or the random draws of the default model
    shows here."""
    assert simcity.load_scenario(ROOT / "scenarios" / name).city.roads.osm_file is None  # type: ignore[attr-defined]
    got = table_digests(name)
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    if os.environ.get("SIMCITY_REGEN_GOLDEN"):
        data["tables"][name] = got
        GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    changed = sorted(stem for stem, digest in data["tables"][name].items() if got.get(stem) != digest)
    assert not changed, (f"{name}: tables {changed} differ from the golden run (straight-line model); if the "
                         "change is intended, regenerate with SIMCITY_REGEN_GOLDEN=1 pytest "
                         "tests/garbage/test_garbage_golden.py")
