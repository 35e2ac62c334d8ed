"""Tasks: one replication of one policy, the unit of work every backend runs.

The shared types of the running layer (:class:`Task`, :class:`TaskResult`) live here, below the
backends, the store and the orchestrator that all use them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from simcity.domain import RunContext, RunOutput
from simcity.rng import Streams
from simcity.scenario import ScenarioBase


@dataclass(frozen=True)
class Task:
    """One replication of one policy (indices into the scenario)."""

    policy_index: int
    replication: int


@dataclass(frozen=True)
class TaskResult:
    """The output of one task and how long it took (wall seconds, informative only)."""

    task: Task
    output: RunOutput
    seconds: float


def run_task(scenario: ScenarioBase, task: Task) -> TaskResult:
    """Run one task in this process."""
    policy = scenario.policy_list[task.policy_index]
    ctx = RunContext(
        horizon_hours=scenario.horizon_hours,
        warmup_hours=scenario.warmup_hours,
        streams=Streams(scenario.seed, task.replication),
        replication=task.replication,
    )
    dom = scenario.domain
    t0 = time.perf_counter()
    out = dom.check_output(dom.run(getattr(scenario, "city"), policy, ctx))  # noqa: B009
    return TaskResult(task, out, time.perf_counter() - t0)


def all_tasks(scenario: ScenarioBase, replications: int | None = None) -> list[Task]:
    """Every (policy, replication) task of the scenario, replication-major."""
    n = scenario.replications if replications is None else replications
    return [Task(p, r) for r in range(n) for p in range(len(scenario.policy_list))]
