"""Never lose work: a killed comparison resumes with --resume, redoing nothing that finished."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Generator, Sequence
from pathlib import Path

import pandas as pd
import pytest

from simcity.backends import Backend, ProcessBackend, SerialBackend, Unit, make_units
from simcity.domain import RunOutput
from simcity.experiment import (
    Task,
    TaskResult,
    all_tasks,
    compare,
    count_finished,
    execute_many,
    run_persisted,
)
from simcity.fileio import atomic_folder
from simcity.scenario import ScenarioBase, parse_scenario_text
from simcity.store import TaskStore, scenario_key
from simcity.sweep import run_sweep
from tests.toydomain import TOY_TOML

ROOT = Path(__file__).resolve().parents[2]
# long enough per task (~10-40 ms) that the kill lands mid-run on any machine
SLOW_TOY = TOY_TOML.replace("horizon_hours = 48.0", "horizon_hours = 200.0")
REPS = 20


def _cli(args: Sequence[str], **kw: object) -> subprocess.Popen[str]:
    env = dict(os.environ, SIMCITY_PLUGINS="tests.toydomain:DOMAIN",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-m", "simcity.cli", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)  # type: ignore[call-overload]


def test_killed_compare_resumes_without_redoing_or_losing_work(tmp_path: Path) -> None:
    """SIGKILL of a two-worker compare (its whole process group) after 8 of 60 tasks leaves no
    results folder; --resume reports the finished tasks reused, keeps their recorded wall times
    exactly (so they were not run again), removes the work folder, and writes 60 x 3 rows without
    duplicates, equal to an uninterrupted serial run."""
    scen = tmp_path / "toy.toml"
    scen.write_text(SLOW_TOY, encoding="utf-8")
    work, out = tmp_path / "work", tmp_path / "out"
    cmd = ["compare", str(scen), "-n", str(REPS), "-j", "2", "--out", str(out), "--work-dir", str(work)]
    proc = _cli(cmd, start_new_session=True)
    total = 3 * REPS
    deadline = time.monotonic() + 120
    try:
        while len(list(work.glob("*/p*-r*.json"))) < 8:
            assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its pool workers, like a crash
        proc.communicate()
    assert not out.exists(), "a killed run must not leave a results folder"
    files = list(work.glob("*/p*-r*.json"))
    before = {}
    for f in files:
        doc = json.loads(f.read_text())
        before[(doc["policy_index"], doc["replication"])] = doc["seconds"]
    assert 8 <= len(before) < total

    done = _cli([*cmd, "--resume"])
    stdout, stderr = done.communicate(timeout=300)
    assert done.returncode == 0, stderr
    assert f"resuming: {len(before)} finished replications reused" in stderr
    assert not work.exists() or not any(work.iterdir()), "work folder is removed once results are written"

    table = pd.read_csv(out / "replications.csv")
    key = ["policy", "replication", "metric"]
    assert not table.duplicated(key).any()
    assert len(table) == total * 3
    # reused tasks keep the wall time recorded when they first ran: they were not run again
    timing = pd.read_csv(out / "timing.csv")
    names = ["one", "two", "three"]
    got = {(names.index(p), r): s for p, r, s in timing[["policy", "replication", "seconds"]].itertuples(index=False)}
    assert len(got) == total
    for task, seconds in before.items():
        assert got[task] == pytest.approx(seconds, rel=1e-12, abs=0)

    # identical to an uninterrupted run
    ref = compare(parse_scenario_text(SLOW_TOY).with_overrides({"replications": REPS})).table
    ref = ref.assign(policy=ref["policy"].astype(str))[["policy", "replication", "metric", "value"]]
    mine = table[["policy", "replication", "metric", "value"]].sort_values(key, kind="stable")
    ref = ref.sort_values(key, kind="stable")
    assert mine.reset_index(drop=True).equals(ref.reset_index(drop=True))


class StopAfter(Backend):
    """Runs serially and raises KeyboardInterrupt (as Ctrl-C would) after ``n`` results."""

    def __init__(self, n: int) -> None:
        self.n = n

    def run(self, scenarios: Sequence[ScenarioBase], units: Sequence[Unit],
            folders: Sequence[str | None] | None = None) -> Generator[tuple[int, list[TaskResult]], None, None]:
        for i, item in enumerate(SerialBackend().run(scenarios, units)):
            if i == self.n:
                raise KeyboardInterrupt
            yield item


def test_interrupted_sweep_resumes_point_by_point(tmp_path: Path) -> None:
    """A grid sweep of 3 points x 3 policies x 3 replications = 27 tasks interrupted (Ctrl-C) after
    11 has 11 task files; the resumed sweep runs exactly the other 16 and its table equals a
    fresh sweep's."""
    text = TOY_TOML + """
[sweep]
method = "grid"
[[sweep.parameters]]
path = "city.arrival_rate"
values = [2.0, 3.0, 5.0]
"""
    sc = parse_scenario_text(text).with_overrides({"replications": 3})
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sc, backend=StopAfter(11), work_root=tmp_path)
    assert len(list(tmp_path.glob("*/p*-r*.json"))) == 11
    ran: list[Task] = []

    class Counting(SerialBackend):
        def run(self, scenarios: Sequence[ScenarioBase], units: Sequence[Unit],
                folders: Sequence[str | None] | None = None) -> Generator[tuple[int, list[TaskResult]], None, None]:
            for g, res in super().run(scenarios, units):
                ran.extend(r.task for r in res)
                yield g, res

    resumed = run_sweep(sc, backend=Counting(), work_root=tmp_path, resume=True)
    assert len(ran) == 3 * 3 * 3 - 11
    fresh = run_sweep(sc, backend=SerialBackend())
    pd.testing.assert_frame_equal(resumed.table, fresh.table)


def test_pool_workers_persist_each_task_as_it_finishes(tmp_path: Path) -> None:
    """Pool units batch several tasks (more than one per unit here) and each worker writes every
    task's file itself as it finishes, so a unit killed half-way has still saved what it
    finished: the store holds all 3 x 6 = 18 tasks with the metrics the parent received."""
    sc = parse_scenario_text(TOY_TOML)
    store = TaskStore(sc, tmp_path)
    with ProcessBackend(2) as be:
        [res] = execute_many([sc], [all_tasks(sc)], backend=be, stores=[store])
    assert be.batch and max(len(u.tasks) for u in make_units([all_tasks(sc)], 2)) > 1
    loaded = store.load()
    assert set(loaded) == {r.task for r in res} and len(res) == 18
    assert all(loaded[r.task].output.metrics == r.output.metrics for r in res)


def test_store_round_trips_outputs_exactly(tmp_path: Path) -> None:
    """A saved task reads back bit for bit: 0.1 + 0.2 (0.30000000000000004), 1/3 and 2/7 would
    differ after any rounding writer, NaN stays NaN; the .tmp debris of a killed write is ignored
    rather than read or reported as a task."""
    sc = parse_scenario_text(TOY_TOML)
    store = TaskStore(sc, tmp_path)
    out = RunOutput(metrics={"blocking": 0.1 + 0.2, "occupancy": math.nan, "served": 3.0},
                    by_entity=[("a", "x", 1 / 3)], by_time=[("city", 0.5, "busy", 2 / 7)])
    store.save(TaskResult(Task(1, 4), out, 0.125))
    (store.path / ".p001-r000005.json.tmp").write_text("{half a fi")  # debris of a killed write
    loaded = store.load()
    assert list(loaded) == [Task(1, 4)]
    got = loaded[Task(1, 4)].output
    assert got.metrics["blocking"] == 0.1 + 0.2 and math.isnan(got.metrics["occupancy"])
    assert got.by_entity == out.by_entity and got.by_time == out.by_time


def test_key_ignores_what_does_not_change_a_task(tmp_path: Path) -> None:
    """The work-folder key changes with what changes a task's output (the seed, a policy) and not
    with the replication count, confidence level or name; so a resume asking for 9 replications
    reuses the 3 x 6 already finished."""
    sc = parse_scenario_text(TOY_TOML)
    assert scenario_key(sc) == scenario_key(sc.with_overrides({"replications": 50, "confidence": 0.9,
                                                               "name": "renamed"}))
    assert scenario_key(sc) != scenario_key(sc.with_overrides({"seed": 8}))
    assert scenario_key(sc) != scenario_key(sc.with_overrides({"policies.two.servers": 5}))
    # more replications on resume reuse the ones already there
    run_persisted([sc], [all_tasks(sc)], work_root=tmp_path)
    more = sc.with_overrides({"replications": 9})
    assert count_finished([more], [all_tasks(more)], tmp_path) == 3 * 6


def test_atomic_folder_leaves_nothing_on_failure(tmp_path: Path) -> None:
    """A writer that fails half-way (after one file) leaves no folder at all, partial or final; a
    successful write cannot be overwritten by a second one without being asked."""
    def broken(folder: Path) -> None:
        (folder / "a.csv").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_folder(tmp_path / "res", broken)
    assert list(tmp_path.iterdir()) == []
    atomic_folder(tmp_path / "res", lambda f: (f / "a.csv").write_text("x"))
    with pytest.raises(FileExistsError):
        atomic_folder(tmp_path / "res", lambda f: None)


@pytest.mark.parametrize("backend_kind", ["process", "parent"])
def test_each_finished_task_is_saved_exactly_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  backend_kind: str) -> None:
    """A task is written to the work folder once: by the pool worker that ran it (the parent
    writes nothing), or, for a backend whose workers do not persist, by the parent as it arrives.
    Counting the parent's writes tells the two apart; the files prove that nothing was lost."""
    sc = parse_scenario_text(TOY_TOML)
    parent_writes: list[object] = []
    original = TaskStore.save

    def counting(self: TaskStore, result: object) -> None:
        parent_writes.append(result)
        original(self, result)  # type: ignore[arg-type]

    monkeypatch.setattr(TaskStore, "save", counting)

    class Remote(SerialBackend):
        """Stands in for workers on other machines: runs the tasks but persists nothing."""

        persists = False

        def run(self, scenarios: Sequence[ScenarioBase], units: Sequence[Unit],
                folders: Sequence[str | None] | None = None) -> Generator[tuple[int, list[TaskResult]], None, None]:
            yield from super().run(scenarios, units, None)

    with (ProcessBackend(2) if backend_kind == "process" else Remote()) as be:
        [res] = run_persisted([sc], [all_tasks(sc)], work_root=tmp_path, backend=be)
    assert len(parent_writes) == (0 if backend_kind == "process" else len(res))
    assert set(TaskStore(sc, tmp_path).load()) == {r.task for r in res} and len(res) == 18
