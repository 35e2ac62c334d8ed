"""Worker processes for the optimisers: the one place that decides how they start.

Searches that hold the GIL (PyVRP's Python loop, the berth heuristics) use several cores only
through processes.  Every such use goes through this module, so they share one start method
and one set of guards:

* **fork on Linux.**  A forked worker starts in milliseconds and, unlike ``spawn`` or
  ``forkserver``, does not re-import the caller's ``__main__`` (a script without an
  ``if __name__ == "__main__"`` guard still works).  The optimisers fork before they start
  solver threads, so forking is safe.  Elsewhere ``spawn``, the only portable choice.
* **no processes inside a daemon.**  A pool worker (e.g. of simcity's experiment runner) may
  not start children: :func:`can_start_processes` is false there, and :func:`map_processes`
  then runs the jobs in the calling process.
* **a pool that cannot start is not an error**: :func:`map_processes` falls back to running
  the jobs here, with the same results (each job is deterministic in its arguments).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

J = TypeVar("J")
R = TypeVar("R")


def context() -> mp.context.ForkContext | mp.context.SpawnContext:
    """The start method of every optimiser worker (module doc)."""
    if sys.platform.startswith("linux"):
        return mp.get_context("fork")
    return mp.get_context("spawn")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity on Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_start_processes() -> bool:
    """Whether this process may start workers (a daemonic pool worker may not)."""
    return not mp.current_process().daemon


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes started by :func:`context`."""
    return ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context())


def map_processes(fn: Callable[[J], R], jobs: Sequence[J], workers: int) -> list[R]:
    """``[fn(job) for job in jobs]``, in up to ``workers`` processes when that is possible
    (more than one worker and job, not inside a daemon, the pool starts), else here.

    ``fn`` must be a module-level function and each job picklable; results keep the jobs'
    order, so callers that break ties by position stay reproducible."""
    if workers <= 1 or len(jobs) <= 1 or not can_start_processes():
        return [fn(job) for job in jobs]
    try:
        with process_pool(min(workers, len(jobs))) as pool:
            return list(pool.map(fn, jobs))
    except (OSError, ValueError, BrokenProcessPool):
        return [fn(job) for job in jobs]
