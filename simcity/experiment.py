"""Experiments: run every policy x replication of a scenario and collect tidy results.

The unit of work is one *task* ``(policy, replication)``.  A task's random inputs depend only
on ``(scenario seed, replication, source name)`` (:mod:`simcity.rng`), never on which process
runs it or in what order, so a run with one job and a run with many give identical tables.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from simcity.backends import Backend, make_backend, make_units
from simcity.meta import PolicyInfo, ResultsMeta
from simcity.scenario import ScenarioBase
from simcity.stats import summarize
from simcity.store import TaskStore
from simcity.tasks import Task, TaskResult, all_tasks

__all__ = ["Results", "ResultsError", "Task", "TaskResult", "all_tasks", "collect", "compare", "count_finished",
           "discard_work", "execute_many", "meta_of", "run_persisted"]

TABLE_COLUMNS = ["scenario", "policy", "replication", "metric", "value"]
ENTITY_COLUMNS = ["policy", "replication", "entity", "metric", "value"]
TIME_COLUMNS = ["policy", "replication", "entity", "time_h", "metric", "value"]


ResultCallback = Callable[[TaskResult], None]
GroupCallback = Callable[[int, TaskResult], None]


def _noop(_: TaskResult) -> None:
    return None


def _noop_group(_g: int, _r: TaskResult) -> None:
    return None


def execute_many(
    scenarios: Sequence[ScenarioBase],
    task_lists: Sequence[Sequence[Task]],
    *,
    jobs: int = 1,
    backend: Backend | None = None,
    on_result: GroupCallback = _noop_group,
    progress: bool | None = None,
    desc: str = "",
    done: int = 0,
    stores: Sequence[TaskStore] | None = None,
) -> list[list[TaskResult]]:
    """Run the tasks of several scenarios (e.g. the design points of a sweep) together.

    ``task_lists[g]`` are the tasks of ``scenarios[g]``; ``on_result(g, result)`` is called in
    this process as each task finishes.  ``backend`` defaults to processes when ``jobs`` > 1.
    ``done`` counts tasks finished earlier (for the progress bar of a resumed run).
    With ``stores``, every finished task is persisted in ``stores[g]`` exactly once: by the
    worker that ran it when the backend's workers share this file system
    (:attr:`~simcity.backends.Backend.persists`), otherwise here as it arrives.
    Returns the results per scenario, sorted by (policy, replication).
    """
    show = sys.stderr.isatty() if progress is None else progress
    total = sum(len(t) for t in task_lists)
    out: list[list[TaskResult]] = [[] for _ in scenarios]
    if total == 0:
        return out
    bar = tqdm(total=total + done, initial=done, desc=desc, unit="run", disable=not show, leave=False)
    own = backend is None
    # one task gains nothing from a pool
    be = make_backend(jobs if total > 1 else 1) if backend is None else backend
    folders = [str(st.path) for st in stores] if stores is not None else None
    save_here = stores is not None and not be.persists
    stream = be.run(scenarios, make_units(task_lists, be.workers, be.batch), folders)
    try:
        for g, results in stream:
            for r in results:
                out[g].append(r)
                if save_here:
                    stores[g].save(r)  # type: ignore[index]
                on_result(g, r)
                bar.update(1)
    finally:
        stream.close()  # interrupted: the backend cancels what has not started
        bar.close()
        if own:
            be.close()
    for lst in out:
        lst.sort(key=lambda r: (r.task.policy_index, r.task.replication))
    return out


def run_persisted(
    scenarios: Sequence[ScenarioBase],
    task_lists: Sequence[Sequence[Task]],
    *,
    work_root: str | Path | None = None,
    resume: bool = False,
    jobs: int = 1,
    backend: Backend | None = None,
    progress: bool | None = None,
    on_result: GroupCallback = _noop_group,
    desc: str = "",
) -> list[list[TaskResult]]:
    """:func:`execute_many`, persisting every finished task under ``work_root``
    (:class:`simcity.store.TaskStore`) and, with ``resume``, reusing the tasks found there.

    Nothing is persisted when ``work_root`` is ``None``.  Reused tasks are not passed to
    ``on_result``.  The work folders stay in place; call :func:`discard_work` once the
    results are safely written.
    """
    if work_root is None:
        return execute_many(scenarios, task_lists, jobs=jobs, backend=backend, progress=progress,
                            on_result=on_result, desc=desc)
    stores = [TaskStore(s, work_root) for s in scenarios]
    found = [st.load(tl) if resume else {} for st, tl in zip(stores, task_lists, strict=True)]
    todo = [[t for t in tl if t not in f] for tl, f in zip(task_lists, found, strict=True)]
    for st, s in zip(stores, scenarios, strict=True):
        st.write_manifest(s)
    new = execute_many(scenarios, todo, jobs=jobs, backend=backend, progress=progress, on_result=on_result,
                       desc=desc, done=sum(len(f) for f in found), stores=stores)
    out = []
    for f, n in zip(found, new, strict=True):
        merged = list(f.values()) + n
        merged.sort(key=lambda r: (r.task.policy_index, r.task.replication))
        out.append(merged)
    return out


def count_finished(scenarios: Sequence[ScenarioBase], task_lists: Sequence[Sequence[Task]],
                   work_root: str | Path) -> int:
    """How many of the tasks are already persisted under ``work_root`` (what ``--resume`` reuses)."""
    return sum(len(TaskStore(s, work_root).load(tl)) for s, tl in zip(scenarios, task_lists, strict=True))


def discard_work(scenarios: Sequence[ScenarioBase], work_root: str | Path | None) -> None:
    """Remove the work folders of ``scenarios`` (after their results were written)."""
    if work_root is None:
        return
    for s in scenarios:
        TaskStore(s, work_root).discard()


POSITION_COLUMNS = ["entity", "kind", "x", "y", "size"]


def meta_of(scenario: ScenarioBase, notes: Sequence[str] = ()) -> ResultsMeta:
    """The metadata a report of ``scenario``'s results needs (saved as ``meta.json``)."""
    dom = scenario.domain
    return ResultsMeta(
        name=scenario.name, description=scenario.description, model=scenario.model, model_title=dom.title,
        seed=scenario.seed, replications=scenario.replications, horizon_hours=scenario.horizon_hours,
        warmup_hours=scenario.warmup_hours, confidence=scenario.confidence,
        policies=tuple(PolicyInfo(p.name, p.description) for p in scenario.policy_list),
        metrics=tuple(dom.metrics), reported_metrics=scenario.reported_metrics,
        headline=None if scenario.headline is None else list(scenario.headline),
        time_plots=tuple(dom.time_plots), series=tuple(dom.series), tradeoffs=tuple(dom.tradeoffs),
        window_totals=tuple(dom.window_totals),
        map_unit=dom.map_unit, map_settings=dict(dom.map_settings),
        resolved_toml=scenario.portable_toml()[0], source_name=None if scenario.source is None else scenario.source.name,
        notes=tuple(notes),
    )


class ResultsError(Exception):
    """Results that lack what was asked of them (e.g. the scenario of results read from a folder)."""


class Results:
    """Everything a comparison produced, as tidy pandas tables.

    Attributes
    ----------
    scenario:
        The validated scenario that was run (not available for results read back from a
        folder by :func:`simcity.output.load_results`: they carry :attr:`meta` instead).
    meta:
        What the report reads about the run besides the tables (:class:`simcity.meta.ResultsMeta`).
    table:
        One row per (policy, replication, metric): columns ``scenario, policy, replication,
        metric, value``.
    by_entity, by_time:
        Per-entity scalars and time series, tidy (see :class:`~simcity.domain.RunOutput`).
    timing:
        Wall seconds per task (informative; not part of the reproducible results).
    positions:
        Where the entities of the city are drawn on maps (``entity, kind, x, y, size``; from the
        domain's :meth:`~simcity.domain.Domain.positions`).
    """

    def __init__(self, scenario: ScenarioBase | None, table: pd.DataFrame, by_entity: pd.DataFrame,
                 by_time: pd.DataFrame, timing: pd.DataFrame, *, meta: ResultsMeta | None = None,
                 positions: pd.DataFrame | None = None) -> None:
        if meta is None and scenario is None:
            raise ValueError("Results need a scenario or its metadata")
        self._scenario = scenario
        self._meta = meta
        self.table = table
        self.by_entity = by_entity
        self.by_time = by_time
        self.timing = timing
        self._positions = positions

    @property
    def scenario(self) -> ScenarioBase:
        """The scenario that was run; :class:`ResultsError` for results read from a folder."""
        if self._scenario is None:
            raise ResultsError(f"results of {self.meta.name!r} were read from a folder: they carry their "
                               "metadata (.meta), not the scenario; load its scenario.toml to run it again")
        return self._scenario

    @property
    def meta(self) -> ResultsMeta:
        """The metadata of the run (built from the scenario on first use, or as read back)."""
        if self._meta is None:
            self._meta = meta_of(self.scenario)
        return self._meta

    @property
    def positions(self) -> pd.DataFrame:
        """Entity positions for maps (computed from the scenario's city once, or as saved)."""
        if self._positions is None:
            sc = self.scenario
            rows = [(p.entity, p.kind, p.x, p.y, p.size) for p in sc.domain.positions(getattr(sc, "city"))]  # noqa: B009
            self._positions = pd.DataFrame(rows, columns=POSITION_COLUMNS)
        return self._positions

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Mean, CI and paired difference against the baseline per (policy, metric)."""
        return summarize(self.table, self.meta.policy_names, self.meta.reported_metrics, self.meta.confidence)

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
    backend: Backend | None = None,
    work_root: str | Path | None = None,
    resume: bool = False,
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
    backend:
        Where tasks run (:mod:`simcity.backends`); default processes when ``jobs`` > 1.
        Results are identical for every backend.
    work_root:
        Persist every finished task under this folder (:mod:`simcity.store`).
    resume:
        Reuse the tasks already persisted under ``work_root`` instead of running them again.
    """
    if replications is not None:
        # through the scenario so the resolved scenario written with the results says so
        scenario = scenario.with_overrides({"replications": replications})
    tasks = all_tasks(scenario)
    [results] = run_persisted([scenario], [tasks], work_root=work_root, resume=resume, jobs=jobs,
                              backend=backend, progress=progress, on_result=lambda _g, r: on_result(r),
                              desc=scenario.name)
    return collect(scenario, results)
