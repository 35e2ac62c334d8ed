"""Execution backends: where tasks run.

A backend receives *work units* - a few tasks of one scenario, so the scenario is shipped once
per unit rather than once per task - and yields their results as they complete, in any
order.  The results never depend on the backend: a task's random inputs depend only on the
scenario seed and its replication (:mod:`simcity.rng`), and the runner sorts what comes back.

* :class:`SerialBackend` - this process (one job);
* :class:`ProcessBackend` - a local process pool (the default for ``--jobs`` > 1);
* :class:`DaskBackend` - a Dask ``LocalCluster`` (``--dask local``) or an existing scheduler
  (``--dask tcp://host:8786``).  Dask is an optional extra: ``pip install "dask[distributed]"``.

Scenarios are pydantic models of classes created per domain at run time.  They pickle by
reference (``simcity.scenario.<Name>Scenario``), which a fresh worker resolves through the
module ``__getattr__`` of :mod:`simcity.scenario`.  A fresh worker only knows the built-in
domains and the plug-ins of :mod:`simcity.plugins`, so each unit carries a
:class:`ShippedScenario` that first re-registers a non-built-in domain by module reference.
"""

from __future__ import annotations

import ctypes
import logging
import math
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from simcity.plugins import domain_reference, ensure_domain
from simcity.scenario import ScenarioBase
from simcity.store import write_result
from simcity.tasks import Task, TaskResult, run_task


class BackendError(Exception):
    """A backend cannot be started (Dask missing, scheduler unreachable...)."""


@dataclass(frozen=True)
class Unit:
    """Tasks of one scenario run together; ``group`` indexes the scenario list."""

    group: int
    tasks: tuple[Task, ...]


def _rebuild(name: str, domain_ref: str | None, payload: bytes) -> ScenarioBase:
    ensure_domain(name, domain_ref)
    scenario: ScenarioBase = pickle.loads(payload)
    return scenario


class ShippedScenario:
    """A scenario that can be unpickled in a fresh process, whatever its domain."""

    def __init__(self, scenario: ScenarioBase) -> None:
        self.scenario = scenario
        self._state: tuple[str, str | None, bytes] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        if self._state is None:  # pickled once however many units carry it
            dom = self.scenario.domain
            self._state = (dom.name, domain_reference(dom), pickle.dumps(self.scenario))
        return (_unwrap, self._state)


def _unwrap(name: str, domain_ref: str | None, payload: bytes) -> ShippedScenario:
    return ShippedScenario(_rebuild(name, domain_ref, payload))


def run_unit(shipped: ShippedScenario, group: int, tasks: Sequence[Task],
             folder: str | None = None) -> tuple[int, list[TaskResult]]:
    """Run one work unit (executed in the worker).  With ``folder`` (a work folder of
    :mod:`simcity.store` on this machine), each task is persisted the moment it finishes, so a
    killed run loses no finished task even when its unit had not completed."""
    out = []
    for t in tasks:
        r = run_task(shipped.scenario, t)
        if folder is not None:
            write_result(Path(folder), r)
        out.append(r)
    return group, out


def make_units(task_lists: Sequence[Sequence[Task]], workers: int, batch: bool = True) -> list[Unit]:
    """Split every scenario's tasks into units: about four per worker overall, so the load
    balances and progress stays lively while the scenario is not shipped per task
    (``batch=False``: one task per unit)."""
    total = sum(len(t) for t in task_lists)
    size = max(1, math.ceil(total / (max(1, workers) * 4))) if batch else 1
    units = []
    for g, tasks in enumerate(task_lists):
        for i in range(0, len(tasks), size):
            units.append(Unit(g, tuple(tasks[i:i + size])))
    return units


class Backend(ABC):
    """Runs work units; use as a context manager to release workers."""

    #: how many tasks run at once (for sizing units)
    workers: int = 1
    #: whether several tasks may share a unit: only when the workers can persist each task
    #: as it finishes (they share this machine's file system)
    batch: bool = True
    #: whether ``run`` persists each task in the work folder it is given (its workers share this
    #: machine's file system); otherwise the caller persists the results as they arrive
    persists: bool = False

    @abstractmethod
    def run(self, scenarios: Sequence[ScenarioBase], units: Sequence[Unit],
            folders: Sequence[str | None] | None = None) -> Generator[tuple[int, list[TaskResult]], None, None]:
        """Yield ``(group, results)`` per unit as units complete; ``folders[g]`` is the work
        folder where a worker on this machine may persist the tasks of ``scenarios[g]``."""

    def close(self) -> None:
        """Release workers (nothing by default)."""
        return None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def describe(self) -> str:
        """One line for the terminal."""
        return type(self).__name__


class SerialBackend(Backend):
    """Run in this process, one task after another."""

    persists = True

    def run(self, scenarios: Sequence[ScenarioBase], units: Sequence[Unit],
            folders: Sequence[str | None] | None = None) -> Generator[tuple[int, list[TaskResult]], None, None]:
        where = list(folders) if folders is not None else [None] * len(scenarios)
        for u in units:
            for t in u.tasks:  # one task at a time, so each is persisted as soon as it finishes
                r = run_task(scenarios[u.group], t)
                folder = where[u.group]
                if folder is not None:
                    write_result(Path(folder), r)
                yield u.group, [r]

    def describe(self) -> str:
        return "this process"


#: how often a pool worker checks that the process that started it is still there (seconds)
PARENT_POLL_S = 0.25
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _exit_with_parent(parent_pid: int, direct: bool) -> None:
    """Initializer of pool workers: end the worker when the CLI process that started it dies.

    A ``kill -9`` of the parent gives the pool no chance to stop its workers: they would run
    the queued units to the end, or sit forever waiting for work.  Two guards:

    * Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the worker the moment its
      parent dies, even while the worker is busy inside a solver that holds the GIL.  Only
      set when the worker is a direct child forked from the parent's main thread
      (``direct``): the signal follows the *thread* that forked, and a pool started from a
      thread that later ends would lose its workers with it;
    * everywhere, a daemon thread that polls ``os.getppid()`` every :data:`PARENT_POLL_S`
      seconds and exits when it changes (the worker was re-parented: its parent is gone).

    A killed worker loses only the task it was running: finished ones are already in the work
    folder (written atomically), so ``--resume`` finishes the run.
    """
    ppid = os.getppid()
    if direct and ppid == parent_pid and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no usable libc: the polling thread still guards
            pass
    if os.getppid() != ppid:  # the parent died before the guard was in place
        os._exit(1)

    def watch() -> None:
        while os.getppid() == ppid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="simcity-parent-watch", daemon=True).start()


class ProcessBackend(Backend):
    """A local process pool whose workers end when this process dies (:func:`_exit_with_parent`).

    Parameters
    ----------
    jobs:
        Worker processes.
    start_method:
        ``"fork"``, ``"spawn"`` or ``"forkserver"``; the platform default when ``None``.
    """

    persists = True  # each worker writes a task's file the moment it finishes (run_unit)

    def __init__(self, jobs: int, start_method: str | None = None) -> None:
        self.workers = jobs
        ctx = multiprocessing.get_context(start_method) if start_method else multiprocessing.get_context()
        direct = ctx.get_start_method() != "forkserver" and threading.current_thread() is threading.main_thread()
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_exit_with_parent,
                                         initargs=(os.getpid(), direct))

    def run(self, scenarios: Sequence[ScenarioBase], units: Sequence[Unit],
            folders: Sequence[str | None] | None = None) -> Generator[tuple[int, list[TaskResult]], None, None]:
        shipped = [ShippedScenario(s) for s in scenarios]
        where = list(folders) if folders is not None else [None] * len(scenarios)
        pending: set[Future[tuple[int, list[TaskResult]]]] = {
            self._pool.submit(run_unit, shipped[u.group], u.group, u.tasks, where[u.group]) for u in units
        }
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        finally:
            for fut in pending:  # interrupted: do not start what has not started
                fut.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def describe(self) -> str:
        return f"{self.workers} local processes"


class DaskBackend(Backend):
    """Dask distributed: ``address="local"`` starts a ``LocalCluster`` of ``jobs`` single-threaded
    worker processes; any other address connects to a running scheduler (waiting at most
    ``timeout`` seconds for it)."""

    batch = False  # workers may run on other machines: one task per unit, persisted by the caller

    def __init__(self, address: str = "local", jobs: int = 1, timeout: float = 10.0) -> None:
        try:
            # dask is an optional extra: imported only when this backend is asked for
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise BackendError(
                "the Dask backend needs the optional dependency: pip install \"dask[distributed]\""
            ) from None
        self._cluster: Any = None
        try:
            if address == "local":
                self._cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                             dashboard_address=None)
                self._client = Client(self._cluster)
            else:
                self._client = Client(address, timeout=f"{timeout}s")
        except (OSError, TimeoutError) as exc:
            self.close()
            raise BackendError(f"cannot connect to the Dask scheduler at {address!r}: {exc}") from None
        self.address = address
        info = self._client.scheduler_info()
        self.workers = max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))

    def run(self, scenarios: Sequence[ScenarioBase], units: Sequence[Unit],
            folders: Sequence[str | None] | None = None) -> Generator[tuple[int, list[TaskResult]], None, None]:
        # workers may be on other machines: each unit is one task, persisted by the caller
        from dask.distributed import as_completed  # optional extra, as above

        shipped = [ShippedScenario(s) for s in scenarios]
        futures = [self._client.submit(run_unit, shipped[u.group], u.group, u.tasks, pure=False) for u in units]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            self._client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        # A busy machine makes workers slow to exit; the nanny then kills them and logs a
        # warning that would only alarm the user at the end of a successful run.
        nanny = logging.getLogger("distributed.nanny")
        level = nanny.level
        nanny.setLevel(logging.ERROR)
        try:
            client = getattr(self, "_client", None)
            if client is not None:
                client.close()
            if self._cluster is not None:
                self._cluster.close()
        finally:
            nanny.setLevel(level)

    def describe(self) -> str:
        where = "a local Dask cluster" if self.address == "local" else f"the Dask scheduler {self.address}"
        return f"{self.workers} workers of {where}"


def make_backend(jobs: int = 1, dask: str | None = None) -> Backend:
    """The backend the CLI options ask for: Dask when ``dask`` is given, else processes
    (``jobs`` > 1) or this process."""
    if dask is not None:
        return DaskBackend(dask, jobs)
    if jobs > 1:
        return ProcessBackend(jobs)
    return SerialBackend()
