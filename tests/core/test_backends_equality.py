"""Results are identical whichever backend runs the tasks: this process, a fork or spawn
process pool, or a Dask local cluster (whose fresh worker processes must rebuild the scenario
and its plug-in domain from a pickle)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from simcity.backends import ProcessBackend, SerialBackend, ShippedScenario, make_backend
from simcity.experiment import Results, all_tasks, compare, execute_many
from simcity.scenario import ScenarioBase, parse_scenario_text
from tests.toydomain import TOY_TOML


@pytest.fixture(scope="module")
def toy() -> ScenarioBase:
    return parse_scenario_text(TOY_TOML).with_overrides({"replications": 5})


@pytest.fixture(scope="module")
def reference(toy: ScenarioBase) -> Results:
    return compare(toy, backend=SerialBackend())


def assert_same(a: Results, b: Results) -> None:
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.by_time, b.by_time)
    pd.testing.assert_frame_equal(a.summary, b.summary)


def test_shipped_scenario_round_trips(toy: ScenarioBase) -> None:
    """A scenario sent to a worker process is pickled inside ShippedScenario: unpickling must give
    back an equal scenario of the same (domain-specific) class, or workers would run a different
    model than the parent validated."""
    back = pickle.loads(pickle.dumps(ShippedScenario(toy))).scenario
    assert back == toy and type(back) is type(toy)


# spawn-started workers import everything afresh (seconds on a busy machine); the Dask test
# covers fresh worker processes in the default tier, this one runs with -m slow
@pytest.mark.parametrize("start", ["fork", pytest.param("spawn", marks=pytest.mark.slow)])
def test_process_pool_matches_serial(toy: ScenarioBase, reference: Results, start: str) -> None:
    """Every task draws from streams seeded by (scenario seed, replication, stream name) only, so a
    two-process pool started by fork (and by spawn under -m slow) must give frame-for-frame the
    same replication, time and summary tables as the serial run."""
    with ProcessBackend(2, start_method=start) as be:
        assert_same(compare(toy, backend=be), reference)


def test_many_scenarios_in_one_pool(toy: ScenarioBase) -> None:
    """Two scenarios sharing one pool (as a sweep does) get each task's result routed back to its
    own scenario in task order with the serial metrics; the last assertion proves the two
    scenarios really differ (arrival rate 4 vs 1 per hour), so a mix-up could not pass unnoticed."""
    other = toy.with_overrides({"city.arrival_rate": 1.0})
    tasks = [all_tasks(toy), all_tasks(other)]
    serial = execute_many([toy, other], tasks)
    with make_backend(jobs=2) as be:
        pooled = execute_many([toy, other], tasks, backend=be)
    for s, p in zip(serial, pooled, strict=True):
        assert [r.task for r in s] == [r.task for r in p]
        assert [r.output.metrics for r in s] == [r.output.metrics for r in p]
    assert serial[0][0].output.metrics != serial[1][0].output.metrics


@pytest.fixture(scope="module")
def dask_backend() -> Iterator[object]:
    pytest.importorskip("dask.distributed", reason="Dask is optional: pip install 'dask[distributed]'")
    from simcity.backends import DaskBackend

    with DaskBackend("local", jobs=2) as be:
        yield be


def test_dask_local_cluster_matches_serial(toy: ScenarioBase, reference: Results, dask_backend: object) -> None:
    """Dask's fresh worker processes rebuild the scenario and the plug-in toy domain from a pickle;
    their tables must equal the serial ones exactly, as for the process pool."""
    assert_same(compare(toy, backend=dask_backend), reference)  # type: ignore[arg-type]


def test_dask_unreachable_scheduler_is_a_clear_error() -> None:
    """Nothing listens on 127.0.0.1:9 (the discard port), so connecting must fail within the 1 s
    timeout as a BackendError that names the scheduler, not a hang or a Dask traceback."""
    pytest.importorskip("dask.distributed", reason="Dask is optional: pip install 'dask[distributed]'")
    from simcity.backends import BackendError, DaskBackend

    with pytest.raises(BackendError, match="cannot connect to the Dask scheduler"):
        DaskBackend("tcp://127.0.0.1:9", jobs=1, timeout=1.0)


@pytest.mark.slow
def test_compare_command_on_dask_matches_serial(toy_file: Path, tmp_path: Path) -> None:
    """End to end through the CLI: `compare --dask local --jobs 2` writes the same replications.csv
    as the serial command (same seed, so the same streams)."""
    pytest.importorskip("dask.distributed", reason="Dask is optional: pip install 'dask[distributed]'")
    from simcity import cli

    for name, extra in (("serial", []), ("dask", ["--dask", "local", "--jobs", "2"])):
        assert cli.main(["compare", str(toy_file), "--out", str(tmp_path / name),
                         "--work-dir", str(tmp_path / "work"), *extra]) == 0
    a = pd.read_csv(tmp_path / "serial" / "replications.csv")
    b = pd.read_csv(tmp_path / "dask" / "replications.csv")
    pd.testing.assert_frame_equal(a, b)


def test_validate_checks_sweep_paths(toy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sweep parameter naming a field the scenario does not have (city.nope) is a validation error
    (exit 2) located at the file and the key sweep.parameters.0.path, found before any run."""
    from simcity import cli

    toy_file.write_text(toy_file.read_text() + '\n[sweep]\n[[sweep.parameters]]\npath = "city.nope"\n'
                        "values = [1.0]\n", encoding="utf-8")
    assert cli.main(["validate", str(toy_file)]) == 2
    err = capsys.readouterr().err
    assert f"{toy_file}:" in err and "sweep.parameters.0.path" in err and "does not name a scenario value" in err


@pytest.mark.parametrize(("ref", "message"), [
    ("no_such_plugin_mod:DOMAIN", "cannot import plug-in module 'no_such_plugin_mod'"),
    ("tests.toydomain:NOPE", "has no attribute 'NOPE'"),
    ("tests.toydomain:TOY_TOML", "expected a simcity.domain.Domain instance, found str"),
])
def test_bad_plugin_is_a_clear_error(toy_file: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str], ref: str, message: str) -> None:
    """Each way a SIMCITY_PLUGINS entry can be wrong (module missing, attribute missing, attribute
    not a Domain) is refused with exit 2 and a message naming the variable and the exact cause."""
    from simcity import cli

    monkeypatch.setenv("SIMCITY_PLUGINS", ref)
    assert cli.main(["validate", str(toy_file)]) == 2
    err = capsys.readouterr().err
    assert "SIMCITY_PLUGINS" in err and message in err
