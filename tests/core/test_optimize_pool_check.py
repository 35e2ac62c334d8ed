"""The shared parts of ``optimize``: one process-pool helper and one check-report type."""

from __future__ import annotations

import multiprocessing as mp
import os

import pytest

from optimize import CheckReport, InvalidSolutionError
from optimize.berths import ScheduleCheck
from optimize.pool import can_start_processes, map_processes
from optimize.rebalancing import PlanCheck
from optimize.routing import RouteCheck


def _pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def test_map_processes_keeps_order_and_uses_other_processes() -> None:
    """Results come back in the jobs' order (callers break ties by position), computed in
    worker processes when more than one worker is allowed and in this process when only one
    is."""
    jobs = list(range(12))
    par = map_processes(_pid_and_square, jobs, workers=2)
    assert [sq for _, sq in par] == [x * x for x in jobs]
    assert all(pid != os.getpid() for pid, _ in par)
    seq = map_processes(_pid_and_square, jobs, workers=1)
    assert [sq for _, sq in seq] == [x * x for x in jobs] and {pid for pid, _ in seq} == {os.getpid()}


def _inside_daemon(q: mp.Queue) -> None:  # type: ignore[type-arg]
    q.put((can_start_processes(), {pid for pid, _ in map_processes(_pid_and_square, [1, 2, 3], 2)},
           os.getpid()))


def test_map_processes_runs_in_place_inside_a_daemon() -> None:
    """A daemonic worker may not start children: the jobs then run in that worker."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_inside_daemon, args=(q,), daemon=True)
    p.start()
    allowed, pids, pid = q.get(timeout=60)
    p.join()
    assert allowed is False and pids == {pid}


def test_every_checker_reports_with_the_one_type() -> None:
    """The three checkers' verdicts share ``violations``/``ok``/``raise_if_invalid``."""
    for cls in (RouteCheck, ScheduleCheck, PlanCheck):
        assert issubclass(cls, CheckReport)
    good, bad = CheckReport(()), CheckReport(("a", "b", "c", "d"))
    assert good.ok and not bad.ok
    good.raise_if_invalid()
    with pytest.raises(InvalidSolutionError, match=r"plan rejected by the checker: a; b; c \(and 1 more\)"):
        bad.raise_if_invalid("plan")
