"""Dynamic van planning is reproducible: the router's budget is work (accepted solutions), so the
tables are byte-identical for --jobs 1 and 2 even with the wall-clock limit made tiny."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

import simcity
import simcity.bikes.rebalancing as rebalancing
from simcity.backends import ProcessBackend
from simcity.experiment import Results, compare

ROOT = Path(__file__).resolve().parents[2]
DISTRICT = ROOT / "scenarios" / "bikes_suzhou_district.toml"


def _tables(res: Results) -> tuple[str, str, str]:
    return (res.table.to_csv(index=False), res.by_time.to_csv(index=False),
            res.summary.to_csv(index=False))


def test_dynamic_planner_tables_identical_for_jobs_1_and_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """The district's dynamic-rebalancing policies give byte-identical replications, by-time and
    summary tables with one process and with two processes in which every solve has a
    1-microsecond clock limit: the router's budget is work (accepted solutions), so no clock
    cuts a plan."""
    sc = simcity.load_scenario(DISTRICT).with_overrides(
        {"horizon_hours": 30.0, "warmup_hours": 6.0, "replications": 2})
    assert any(p.daytime == "dynamic" for p in sc.policy_list)  # type: ignore[attr-defined]
    reference = _tables(compare(sc, backend=ProcessBackend(1, start_method="fork")))
    # a clock limit of 1 microsecond on every solve: ignored, since the budget is work only
    # (forked workers inherit the patch)
    monkeypatch.setattr(rebalancing, "SolveParams",
                        functools.partial(rebalancing.SolveParams, time_limit_s=1e-6))
    assert _tables(compare(sc, backend=ProcessBackend(2, start_method="fork"))) == reference
