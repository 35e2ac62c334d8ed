"""Runs on real streets repeat whatever the number of processes (issue 19 with the toolkit's
reproducibility promise): the garbage, bikes and parking Helsinki demonstrations give byte-identical
tables with one process and with two, each starting from an empty matrix cache and no matrices
held in memory, so that in the pool both workers build and write the cache at the same time."""

from __future__ import annotations

from pathlib import Path

import pytest

import simcity
import simcity.roads.config as roads_config
from simcity.backends import ProcessBackend
from simcity.experiment import Results, compare

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _tables(res: Results) -> tuple[str, str, str]:
    return (res.table.to_csv(index=False), res.by_time.to_csv(index=False),
            res.summary.to_csv(index=False))


@pytest.mark.parametrize("name", ["garbage_helsinki_streets.toml", "bikes_helsinki_streets.toml",
                                  "parking_helsinki_streets.toml"])
def test_street_runs_identical_for_jobs_1_and_2(name: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Two replications of every policy, first in this process with a fresh cache, then in a
    two-process pool with another fresh cache: the replication, time and summary tables are the
    same text. The plans use work budgets and the matrices depend only on the file, the profile
    and the points, so the number of processes and who wrote the cache first cannot matter; the
    second assertion checks that each run did fill its own cache (the pool really built the
    matrices, rather than reading the first run's)."""
    overrides = {"replications": 2, "horizon_hours": 48.0}
    sc = simcity.load_scenario(SCENARIOS / name).with_overrides(overrides)
    runs = []
    for k, jobs in enumerate((1, 2)):
        cache = tmp_path / f"cache{k}"
        monkeypatch.setenv("SIMCITY_CACHE_DIR", str(cache))
        # forget the matrices this process holds (forked workers would inherit them)
        monkeypatch.setattr(roads_config, "_MEMO", type(roads_config._MEMO)())
        with ProcessBackend(jobs, start_method="fork") as backend:
            runs.append(_tables(compare(sc, backend=backend)))
        assert any((cache / "roads").iterdir()), f"{name}: run {k} wrote no matrix cache"
    assert runs[0] == runs[1], name
