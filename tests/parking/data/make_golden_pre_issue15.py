"""Make ``golden_pre_issue15.json``: replication 0 of every policy of parking_liangxi.toml, run by
the parking model as it was before issue 15 (main at 4782552).

Run it against that code, not the current one::

    git worktree add /tmp/pre15 4782552
    PYTHONPATH=/tmp/pre15 python tests/parking/data/make_golden_pre_issue15.py /tmp/pre15

Values are rounded to 12 significant digits before they are stored and digested: the model's
reductions are numpy sums whose last bit depends on numpy's summation kernels (numpy 2.4 moved
``occupancy_day`` by one ulp), and the test asks whether the model is the same, not whether numpy
is.  Any change of the model moves a metric far more than 1e-12.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

SERIES = {"occupancy", "arrivals", "lost", "price_shift"}


def rounded(v: Any) -> Any:
    """``v`` with every float rounded to 12 significant digits (in dicts, tuples and lists)."""
    if isinstance(v, float):
        return float(f"{v:.12g}")
    if isinstance(v, dict):
        return {k: rounded(x) for k, x in v.items()}
    if isinstance(v, tuple | list):
        return type(v)(rounded(x) for x in v)
    return v


def digest(metrics: dict[str, float], rows: list[Any], series: list[Any]) -> str:
    """The sha256 the test compares: of the rounded, sorted metrics, per-entity rows and series."""
    return hashlib.sha256(repr((sorted(rounded(metrics).items()), rounded(rows), rounded(series))).encode()).hexdigest()


def main(code: Path) -> None:
    import simcity
    from simcity.domain import RunContext
    from simcity.parking import DOMAIN
    from simcity.rng import Streams

    assert Path(simcity.__file__).resolve().is_relative_to(code.resolve()), simcity.__file__
    sc = simcity.load_scenario(code / "scenarios" / "parking_liangxi.toml")
    runs, metrics = {}, {}
    for pol in sc.policy_list:
        out = DOMAIN.run(sc.city, pol, RunContext(sc.horizon_hours, sc.warmup_hours, Streams(sc.seed, 0), 0))
        series = [r for r in out.by_time if r[2] in SERIES]
        metrics[pol.name] = rounded(dict(out.metrics))
        runs[pol.name] = digest(out.metrics, list(out.by_entity), series)
    head = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    doc = {"made_with": f"main at {head} (before issue 15), tests/parking/data/make_golden_pre_issue15.py: "
                        "replication 0 of every policy of parking_liangxi.toml; values rounded to 12 "
                        "significant digits; sha256 of repr((sorted metrics, by_entity, by_time))",
           "runs": runs, "metrics": metrics}
    out_file = Path(__file__).with_name("golden_pre_issue15.json")
    out_file.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
