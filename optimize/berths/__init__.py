"""Berth allocation on OR-Tools CP-SAT: tipping bays, loading zones, port berths.

Public API
----------
* data: :class:`Berth`, :class:`Request`, :class:`BerthProblem` (discrete berths),
  :class:`KerbRequest`, :class:`KerbProblem` (a continuous kerb segment) and
  :class:`KerbSegment`, :class:`KerbAllocationProblem` (several segments with loading
  windows; requests may be left off the kerb at a cost);
* :func:`solve` → :class:`SolveResult` (schedule, status, objective, lower bound, diagnosis);
* :func:`check_schedule` — the independent checker;
* :func:`diagnose` — why a problem is infeasible;
* :func:`read_dbap` / :func:`write_dbap` — the standard DBAP instance format.

Example
-------
>>> from optimize.berths import Berth, BerthProblem, Request, solve
>>> p = BerthProblem((Berth("bay1"), Berth("bay2")),
...                  (Request("truck1", 0, {"bay1": 5, "bay2": 7}),
...                   Request("truck2", 1, {"bay1": 5})))
>>> res = solve(p, time_limit=5)
>>> res.status.value, res.objective
('optimal', 12.0)
"""

from __future__ import annotations

from optimize.berths.checker import ScheduleCheck, check_schedule
from optimize.berths.cpsat import SolverOptions, solve_berths
from optimize.berths.diagnosis import diagnose
from optimize.berths.io import InstanceFormatError, read_dbap, write_dbap
from optimize.berths.kerb import solve_kerb, solve_kerb_allocation
from optimize.berths.model import (
    Assignment,
    Berth,
    BerthDataError,
    BerthInfeasibleError,
    BerthProblem,
    Diagnosis,
    KerbAllocationProblem,
    KerbProblem,
    KerbRequest,
    KerbSegment,
    Request,
    SolveResult,
    Status,
)
from optimize.budget import Budget

__all__ = [
    "Assignment", "Berth", "BerthDataError", "BerthInfeasibleError", "BerthProblem",
    "ScheduleCheck", "Diagnosis", "InstanceFormatError", "KerbAllocationProblem", "KerbProblem",
    "KerbRequest", "KerbSegment", "Request", "SolveResult", "SolverOptions", "Status",
    "check_schedule", "diagnose", "read_dbap", "solve", "solve_berths", "solve_kerb",
    "solve_kerb_allocation", "write_dbap",
]


def solve(
    problem: BerthProblem | KerbProblem | KerbAllocationProblem,
    time_limit: float = 10.0,
    seed: int = 0,
    workers: int = 2,
    options: SolverOptions | None = None,
    *,
    budget: Budget | None = None,
) -> SolveResult:
    """Solve a berth or kerb allocation problem with CP-SAT.

    Parameters
    ----------
    problem
        A :class:`BerthProblem` (discrete berths), :class:`KerbProblem` (kerb segment) or
        :class:`KerbAllocationProblem` (kerb segments).
    time_limit
        Wall-clock budget in seconds, warm start included.
    seed
        CP-SAT random seed; same problem, seed and ``workers`` give the same result as long
        as the time limit is not what stops the search (CP-SAT's parallel search is
        deterministic only up to timing).
    workers
        CP-SAT search workers (threads).
    options
        Model switches for a :class:`BerthProblem` (the defaults are the strong model).
    budget
        Replaces ``time_limit`` when given.  A work budget (:class:`optimize.budget.Budget`
        ``effort`` = CP-SAT deterministic seconds, no ``time_limit``) makes the answer
        reproducible on any machine: one worker, and only the stages whose length does
        not depend on the clock (warm-start constructions and local search to a local
        optimum, the mean-busy-time bound, CP-SAT from the hint; see
        :func:`optimize.berths.cpsat.solve_berths`).  For the kerb problems: one worker and
        CP-SAT from the greedy first-fit hint for ``effort`` deterministic seconds.

    Returns
    -------
    SolveResult
        ``status`` is ``infeasible`` with a ``diagnosis`` naming the requests that cannot be
        served within their hard limits; ``result.require_schedule()`` returns the schedule
        or raises :class:`BerthInfeasibleError` carrying that diagnosis.
    """
    log = options.log if options is not None else False
    if budget is not None:
        if budget.effort is not None:
            w = 1 if budget.reproducible else workers
            if isinstance(problem, KerbAllocationProblem):
                return solve_kerb_allocation(problem, budget.seconds(), seed, w, log, budget.effort)
            if isinstance(problem, KerbProblem):
                return solve_kerb(problem, budget.seconds(), seed, w, log, budget.effort)
            return solve_berths(problem, budget.seconds(), seed, w, options, deterministic_time=budget.effort)
        time_limit = budget.seconds()
    if isinstance(problem, KerbAllocationProblem):
        return solve_kerb_allocation(problem, time_limit, seed, workers, log)
    if isinstance(problem, KerbProblem):
        return solve_kerb(problem, time_limit, seed, workers, log)
    return solve_berths(problem, time_limit, seed, workers, options)
