"""Garbage plans depend only on their inputs: the same scenario and seed give byte-identical
tables whatever runs the tasks and however busy the machine is; wall-clock routing keys and
unknown solver names are refused when the scenario loads, with the file, line and key."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import simcity
from simcity.backends import ProcessBackend, SerialBackend
from simcity.cli import main as cli_main
from simcity.experiment import Results, compare
from simcity.garbage.planning import PLAN_CACHE
from simcity.scenario import ScenarioBase

ROOT = Path(__file__).resolve().parents[2]
QUICK = ROOT / "scenarios" / "garbage_quick.toml"


def tables(res: Results) -> tuple[str, str, str]:
    """The tables exactly as they are written (CSV text)."""
    return (res.table.to_csv(index=False), res.by_time.to_csv(index=False),
            res.summary.to_csv(index=False))


@pytest.fixture(scope="module")
def quick() -> ScenarioBase:
    # three days (one warm-up), two replications, every shipped policy of the demo district;
    # a small effort so that the search *does* stop at its limit in some calls (the
    # reproducibility must not rely on every search converging)
    return simcity.load_scenario(QUICK).with_overrides(
        {"horizon_hours": 72.0, "replications": 2, "city.routing.effort": 40,
         "city.routing.metaheuristic": "GUIDED_LOCAL_SEARCH"})


@pytest.fixture(scope="module")
def reference(quick: ScenarioBase) -> tuple[str, str, str]:
    PLAN_CACHE.clear()
    return tables(compare(quick, backend=SerialBackend()))


@pytest.fixture
def busy_cpu() -> Iterator[None]:
    """Two processes spinning on the CPU (as many as CI has cores) while the test runs."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_limit_binds_in_the_reference_run(quick: ScenarioBase, reference: tuple[str, str, str]) -> None:
    """Guards the premise of the equality tests below: with effort 40 some routing searches must
    stop at their work limit, otherwise equal tables would prove nothing about stopping by work
    rather than by convergence."""
    # guards the premise of the tests below: with this effort some searches were cut by work
    res = compare(quick, backend=SerialBackend())
    assert (res.table.query("metric == 'routing_limit_share'")["value"] > 0).any()


def test_process_pool_gives_identical_tables(quick: ScenarioBase, reference: tuple[str, str, str]) -> None:
    """Routing budgets are work, not time, so two forked worker processes must write tables
    byte-identical to the serial reference run."""
    with ProcessBackend(2, start_method="fork") as be:
        assert tables(compare(quick, backend=be)) == reference


def test_busy_machine_and_empty_cache_give_identical_tables(
        quick: ScenarioBase, reference: tuple[str, str, str], busy_cpu: None) -> None:
    """With the plan cache emptied and two processes taking the CPU, every plan is solved again
    under load; a work budget makes the tables byte-identical to the serial reference, where a time
    limit would not."""
    PLAN_CACHE.clear()  # every plan solved again, now with the CPU taken by other processes
    assert tables(compare(quick, backend=SerialBackend())) == reference


def test_dask_gives_identical_tables(quick: ScenarioBase, reference: tuple[str, str, str]) -> None:
    """The Dask backend must write tables byte-identical to the serial reference run (skipped when
    Dask is not installed)."""
    pytest.importorskip("dask.distributed", reason="Dask is optional: pip install 'dask[distributed]'")
    from simcity.backends import DaskBackend

    with DaskBackend("local", jobs=2) as be:
        assert tables(compare(quick, backend=be)) == reference


@pytest.mark.parametrize(("line", "key", "message"), [
    ("time_limit_s = 5.0", "time_limit_s", "routing.effort"),
    ("bay_time_limit_s = 1.0", "bay_time_limit_s", "routing.bay_effort"),
    ('metaheuristic = "GUIDED_LOCAL"', "metaheuristic", "unknown OR-Tools name"),
    ('first_solution = "CHEAPEST"', "first_solution", "unknown OR-Tools name"),
    ("effort = 0", "effort", "greater than or equal to 1"),
    ("plan_breaks = true", "backend", "cannot plan breaks"),
])
def test_bad_routing_settings_are_refused_at_validate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, key: str, message: str) -> None:
    """Each case adds one bad line to [city.routing] (wall-clock limits now named by their effort
    replacement, unknown OR-Tools names, effort 0, planned breaks with the default pyvrp backend,
    which has no break model): validate
    must exit 2 naming the key and the reason, at the line the test counted in the file it wrote."""
    text = QUICK.read_text(encoding="utf-8")
    assert "[city.routing]\n" in text
    text = text.replace('metaheuristic = "GREEDY_DESCENT"\n', "") if key == "metaheuristic" else text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("[city.routing]\n", f"[city.routing]\n{line}\n"), encoding="utf-8")
    lineno = bad.read_text(encoding="utf-8").splitlines().index(line) + 1
    assert cli_main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and key in err and message in err
    if key != "backend":  # a model-level check points at the table, not a line of a key
        assert f"bad.toml:{lineno}" in err


def test_plans_cut_by_the_effort_budget_are_warned_about(quick: ScenarioBase) -> None:
    """The terminal summary (and the report, from the same list) warns when a policy's plans
    left selected points out because of the effort budget, and names that policy; a run
    without such skips carries no warning.  The skips are set in the run's own table, so the
    test exercises the alert path on a real garbage result."""
    from simcity.report import alerts, terminal_summary

    res = compare(quick.with_overrides({"replications": 1, "horizon_hours": 48.0}),
                  backend=SerialBackend())
    table = res.table.copy()
    skips = table["metric"] == "effort_skips_per_day"
    table.loc[skips, "value"] = 0.0
    clean = Results(res.scenario, table, res.by_entity, res.by_time, res.timing)
    assert alerts(clean) == []
    assert "Warning" not in terminal_summary(clean)
    victim = res.scenario.policy_names[-1]
    table.loc[skips & (table["policy"] == victim), "value"] = 3.0
    cut = Results(res.scenario, table, res.by_entity, res.by_time, res.timing)
    (warning,) = alerts(cut)
    assert victim in warning and "city.routing.effort" in warning
    assert warning in terminal_summary(cut)
