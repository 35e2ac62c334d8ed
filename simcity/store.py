"""Never lose work: every finished replication is persisted the moment it finishes.

A :class:`TaskStore` is a work folder ``<root>/<scenario-name>-<key>/`` holding one small JSON
file per finished task ``p<policy>-r<replication>.json`` (written atomically by
:mod:`simcity.fileio`, so a killed process leaves either the whole file or none).  The key is a
hash of everything in the resolved scenario that can change a task's output (the city, the
policies, the seed, the horizon, the simcity version), and *not* of what only changes which
tasks run or how they are summarised (replication count, confidence level, reported metrics,
description, sweep and selection settings).  Hence:

* ``--resume`` after Ctrl-C or ``kill -9`` reloads exactly the tasks that finished and runs the
  rest; a task is never run twice and never lost;
* asking for more replications on resume reuses the ones already there;
* a sweep stores each design point under its own key, and a later sweep or comparison that
  hits the same point reuses its replications.

Outputs round-trip exactly (JSON floats are written with ``repr`` precision), so a resumed
run's tables equal an uninterrupted run's.  The work folder is removed once the results
folder has been written.  :func:`atomic_folder` writes a results folder all-or-nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simcity import __version__
from simcity.domain import RunOutput
from simcity.fileio import atomic_write_json, slug
from simcity.scenario import ScenarioBase
from simcity.tasks import Task, TaskResult

#: Default work root, relative to the working directory (beside the default results folders).
DEFAULT_WORK_ROOT = Path("results") / ".partial"

#: Scenario keys that do not influence any single task's output.
_NOT_IN_KEY = ("name", "description", "replications", "confidence", "metrics", "sweep", "selection")


def scenario_key(scenario: ScenarioBase) -> str:
    """Hash (16 hex digits) of everything in ``scenario`` that can change a task's output."""
    data = scenario.model_dump(mode="json")
    for k in _NOT_IN_KEY:
        data.pop(k, None)
    data["simcity_version"] = __version__
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _encode(result: TaskResult) -> dict[str, Any]:
    out = result.output
    return {
        "policy_index": result.task.policy_index,
        "replication": result.task.replication,
        "seconds": result.seconds,
        "metrics": out.metrics,
        "by_entity": [list(r) for r in out.by_entity],
        "by_time": [list(r) for r in out.by_time],
    }


def _decode(doc: dict[str, Any]) -> TaskResult:
    out = RunOutput(
        metrics={str(k): float(v) for k, v in doc["metrics"].items()},
        by_entity=[(str(e), str(m), float(v)) for e, m, v in doc["by_entity"]],
        by_time=[(str(e), float(t), str(m), float(v)) for e, t, m, v in doc["by_time"]],
    )
    return TaskResult(Task(int(doc["policy_index"]), int(doc["replication"])), out, float(doc["seconds"]))


def task_file(folder: Path, task: Task) -> Path:
    """The file of ``task`` in the work folder ``folder``."""
    return folder / f"p{task.policy_index:03d}-r{task.replication:06d}.json"


def write_result(folder: Path, result: TaskResult) -> None:
    """Persist one finished task in the work folder ``folder`` (atomically; also called by
    local worker processes the moment a task finishes)."""
    atomic_write_json(task_file(folder, result.task), _encode(result))


class TaskStore:
    """The work folder of one (resolved) scenario; see the module docstring.

    Parameters
    ----------
    scenario:
        The scenario whose tasks are stored.
    root:
        Folder holding the work folders of all scenarios.
    """

    def __init__(self, scenario: ScenarioBase, root: str | os.PathLike[str] = DEFAULT_WORK_ROOT) -> None:
        self.key = scenario_key(scenario)
        self.path = Path(root) / f"{slug(scenario.name, 40)}-{self.key}"
        self._policies = scenario.policy_names

    def save(self, result: TaskResult) -> None:
        """Persist one finished task (atomically)."""
        write_result(self.path, result)

    def load(self, tasks: Iterable[Task] | None = None) -> dict[Task, TaskResult]:
        """The finished tasks found in the folder (restricted to ``tasks`` when given).

        Files that cannot be read (impossible with atomic writes, but a disk can fill up)
        are ignored: their task simply runs again.
        """
        if not self.path.is_dir():
            return {}
        wanted = None if tasks is None else set(tasks)
        found: dict[Task, TaskResult] = {}
        for f in sorted(self.path.glob("p*-r*.json")):
            try:
                r = _decode(json.loads(f.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if r.task.policy_index >= len(self._policies):
                continue
            if wanted is None or r.task in wanted:
                found[r.task] = r
        return found

    def write_manifest(self, scenario: ScenarioBase) -> None:
        """Record the resolved scenario beside the task files (for humans inspecting the folder)."""
        manifest = self.path / "scenario.json"
        if not manifest.exists():
            atomic_write_json(manifest, json.loads(scenario.to_json()))

    def discard(self) -> None:
        """Remove the work folder (after the results folder has been written)."""
        shutil.rmtree(self.path, ignore_errors=True)
        try:
            self.path.parent.rmdir()  # only when no other work folder remains
        except OSError:
            pass
