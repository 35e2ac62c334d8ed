"""The small city of the golden test (``test_bikes_response.py``) and how its tables are summarised.

``python tests/bikes/golden_city.py`` wrote ``data/golden_response_off.json`` on main at commit
4782552, before the availability response existed; the test checks that with the response off
today's code still produces exactly these tables.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from simcity.bikes import DOMAIN, City, Policy
from simcity.domain import RunContext, RunOutput
from simcity.rng import Streams

GOLDEN = Path(__file__).resolve().parent / "data" / "golden_response_off.json"

CITY: dict[str, Any] = {
    "synthetic": {"stations": 40, "radius_m": 2500.0, "mean_capacity": 14, "capacity_spread": 3,
                  "fleet": 300, "layout_seed": 7},
    "demand": {"daily_trips": 1400.0, "commute_share": 0.5, "distance_decay_m": 1200.0, "neighbours": 30,
               "hourly_share": [0.4, 0.2, 0.15, 0.1, 0.2, 0.8, 3.0, 8.0, 9.0, 5.0, 4.0, 4.5,
                                5.0, 4.5, 4.5, 5.0, 6.5, 9.0, 8.0, 5.0, 3.5, 2.5, 1.5, 0.8]},
    "riders": {"max_walk_m": 300.0},
}
POLICIES: list[dict[str, Any]] = [
    {"name": "none"},
    {"name": "proportional", "overnight": "proportional", "vans": 2},
    {"name": "dissatisfaction", "overnight": "dissatisfaction", "vans": 2, "fleet_size": 240},
]
SEED, REPLICATIONS, HORIZON_H, WARMUP_H = 11, 2, 48.0, 24.0


def summary(out: RunOutput) -> dict[str, Any]:
    """Every value of the run's tables, exactly (floats by ``repr``; the long tables by hash)."""
    rows = repr(out.by_entity) + repr(out.by_time)
    return {"metrics": {k: repr(v) for k, v in out.metrics.items()},
            "tables_sha256": hashlib.sha256(rows.encode()).hexdigest()}


def run_all(city_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{policy: [summary per replication]}`` of the golden city (``city_extra`` merged into the city)."""
    city = City.model_validate({**CITY, **(city_extra or {})})
    res: dict[str, Any] = {}
    for p in POLICIES:
        pol = Policy.model_validate(p)
        res[pol.name] = [
            summary(DOMAIN.run(city, pol, RunContext(HORIZON_H, WARMUP_H, Streams(SEED, r), r)))
            for r in range(REPLICATIONS)
        ]
    return res


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(run_all(), indent=1, sort_keys=True) + "\n")
    sys.stdout.write(f"wrote {GOLDEN}\n")
