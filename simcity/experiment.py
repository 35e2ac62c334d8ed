"""Experiments: run every policy x replication of a scenario and collect tidy results.

The unit of work is one *task* ``(policy, replication)``.  A task's random inputs depend only
on ``(scenario seed, replication, source name)`` (:mod:`simcity.rng`), never on which process
runs it or in what order, so a run with one job and a run with many give identical tables.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pandas as pd

from simcity.domain import RunContext, RunOutput
from simcity.rng import Streams
from simcity.scenario import ScenarioBase
from simcity.stats import summarize

TABLE_COLUMNS = ["scenario", "policy", "replication", "metric", "value"]
ENTITY_COLUMNS = ["policy", "replication", "entity", "metric", "value"]
TIME_COLUMNS = ["policy", "replication", "entity", "time_h", "metric", "value"]


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


def _run_many(scenario: ScenarioBase, tasks: Sequence[Task]) -> list[TaskResult]:
    return [run_task(scenario, t) for t in tasks]


def all_tasks(scenario: ScenarioBase, replications: int | None = None) -> list[Task]:
    """Every (policy, replication) task of the scenario, replication-major."""
    n = scenario.replications if replications is None else replications
    return [Task(p, r) for r in range(n) for p in range(len(scenario.policy_list))]


ResultCallback = Callable[[TaskResult], None]


def _noop(_: TaskResult) -> None:
    return None


def execute(
    scenario: ScenarioBase,
    tasks: Sequence[Task],
    *,
    jobs: int = 1,
    on_result: ResultCallback = _noop,
    progress: bool | None = None,
) -> list[TaskResult]:
    """Run ``tasks`` on ``jobs`` processes; call ``on_result`` as each finishes.

    Results come back sorted by (policy, replication) whatever the completion order.
    ``progress=None`` shows a progress bar only when stderr is a terminal.
    """
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=len(tasks), desc=scenario.name, unit="run", disable=not show, leave=False)
    results: list[TaskResult] = []
    try:
        if jobs <= 1 or len(tasks) <= 1:
            for t in tasks:
                r = run_task(scenario, t)
                results.append(r)
                on_result(r)
                bar.update(1)
        else:
            # Small batches amortise pickling the scenario while keeping the bar lively.
            size = max(1, math.ceil(len(tasks) / (jobs * 4)))
            batches = [list(tasks[i:i + size]) for i in range(0, len(tasks), size)]
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                pending: set[Future[list[TaskResult]]] = {
                    pool.submit(_run_many, scenario, b) for b in batches
                }
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        for r in fut.result():
                            results.append(r)
                            on_result(r)
                            bar.update(1)
    finally:
        bar.close()
    results.sort(key=lambda r: (r.task.policy_index, r.task.replication))
    return results


@dataclass
class Results:
    """Everything a comparison produced, as tidy pandas tables.

    Attributes
    ----------
    scenario:
        The validated scenario that was run.
    table:
        One row per (policy, replication, metric): columns ``scenario, policy, replication,
        metric, value``.
    by_entity, by_time:
        Per-entity scalars and time series, tidy (see :class:`~simcity.domain.RunOutput`).
    timing:
        Wall seconds per task (informative; not part of the reproducible results).
    """

    scenario: ScenarioBase
    table: pd.DataFrame
    by_entity: pd.DataFrame
    by_time: pd.DataFrame
    timing: pd.DataFrame

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Mean, CI and paired difference against the baseline per (policy, metric)."""
        return summarize(self.table, self.scenario.policy_names, self.scenario.reported_metrics,
                         self.scenario.confidence)

    def wide(self) -> pd.DataFrame:
        """The replication table with one column per metric (handy for ad-hoc analysis)."""
        w = self.table.pivot_table(index=["policy", "replication"], columns="metric", values="value",
                                   aggfunc="first", sort=False)
        return w.reset_index()


def collect(scenario: ScenarioBase, results: Iterable[TaskResult]) -> Results:
    """Turn task results into the tidy :class:`Results` tables."""
    names = scenario.policy_names
    metrics = scenario.reported_metrics
    rows: list[tuple[Any, ...]] = []
    ent: list[tuple[Any, ...]] = []
    tim: list[tuple[Any, ...]] = []
    timing: list[tuple[Any, ...]] = []
    for r in results:
        pol, rep = names[r.task.policy_index], r.task.replication
        rows.extend((scenario.name, pol, rep, m, float(r.output.metrics[m])) for m in metrics)
        ent.extend((pol, rep, e, m, float(v)) for e, m, v in r.output.by_entity)
        tim.extend((pol, rep, e, float(t), m, float(v)) for e, t, m, v in r.output.by_time)
        timing.append((pol, rep, r.seconds))
    cat = pd.CategoricalDtype(names, ordered=True)

    def frame(data: list[tuple[Any, ...]], cols: list[str]) -> pd.DataFrame:
        df = pd.DataFrame(data, columns=cols)
        df["policy"] = df["policy"].astype(cat)
        return df

    return Results(
        scenario=scenario,
        table=frame(rows, TABLE_COLUMNS),
        by_entity=frame(ent, ENTITY_COLUMNS),
        by_time=frame(tim, TIME_COLUMNS),
        timing=frame(timing, ["policy", "replication", "seconds"]),
    )


def compare(
    scenario: ScenarioBase,
    *,
    replications: int | None = None,
    jobs: int = 1,
    progress: bool | None = None,
    on_result: ResultCallback = _noop,
) -> Results:
    """Run every policy x replication of ``scenario`` and return the tidy results.

    Parameters
    ----------
    scenario:
        A validated scenario (:func:`simcity.load_scenario`, possibly ``with_overrides``).
    replications:
        Overrides the scenario's replication count.
    jobs:
        Worker processes; results are identical for any value.
    progress:
        Show a progress bar (default: only when stderr is a terminal).
    on_result:
        Called in the parent process with each finished task (e.g. to persist it).
    """
    if replications is not None:
        # through the scenario so the resolved scenario written with the results says so
        scenario = scenario.with_overrides({"replications": replications})
    tasks = all_tasks(scenario)
    return collect(scenario, execute(scenario, tasks, jobs=jobs, on_result=on_result, progress=progress))
