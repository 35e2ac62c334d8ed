"""The ``auto`` backend: suitable backends in parallel processes, best checked solution.

Every backend gets the same wall-clock deadline, measured from the call, so ``auto``
costs no more wall time than one backend (plus process start-up: milliseconds with
``fork`` on Linux).  Each answer is validated with the independent checker; the
cheapest valid one wins, ties going to the backend listed first.  If every backend
reports infeasibility, the first diagnosis (OR-Tools names stops) is raised.

Determinism: the choice is deterministic given the backends' answers, and PyVRP is
seeded; but both backends stop on a time limit, so their answers depend on machine speed
and load.  OR-Tools' time-limited search in particular is not bit-reproducible across
machines.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace

from optimize.routing.checker import check
from optimize.routing.diagnose import InfeasibleProblemError, NoSolutionFoundError, precheck
from optimize.routing.model import Problem, Solution

#: Seconds kept back from the budget for process start-up and returning the answer.
_MARGIN = 0.25


def _run(problem: Problem, backend: str, deadline: float, seed: int) -> Solution:
    """Worker: solve with one backend until ``deadline`` (epoch seconds)."""
    budget = max(0.05, deadline - time.time())
    if backend == "ortools":
        from optimize.routing.ortools_backend import solve_ortools

        return solve_ortools(problem, budget, seed)
    from optimize.routing.pyvrp_backend import solve_pyvrp

    return solve_pyvrp(problem, budget, seed)


def _context() -> mp.context.BaseContext:
    # fork: starts in milliseconds and, unlike spawn/forkserver, does not re-import the
    # caller's __main__ (scripts without an ``if __name__ == "__main__"`` guard work).
    # The parent holds no solver threads, so forking is safe here.
    if sys.platform.startswith("linux"):
        return mp.get_context("fork")
    return mp.get_context("spawn")


def solve_portfolio(
    problem: Problem, time_limit: float, seed: int, backends: Sequence[str]
) -> Solution:
    """Run ``backends`` in parallel for ``time_limit`` seconds; return the best valid solution."""
    t0 = time.perf_counter()
    issues = precheck(problem)  # the same for every backend: no need to start processes
    if issues:
        raise InfeasibleProblemError(problem, issues)
    deadline = time.time() + max(0.1, time_limit - min(_MARGIN, 0.1 * time_limit))
    notes: list[str] = []
    if len(backends) > 1 and mp.current_process().daemon:
        # Pool workers (e.g. a parallel experiment runner) may not start processes:
        # run the best-suited backend alone rather than fail.
        notes.append(f"auto: inside a daemon process, ran {backends[0]} only")
        backends = backends[:1]
    if len(backends) == 1:
        sol = _run(problem, backends[0], deadline, seed)
        return replace(sol, backend=f"auto:{sol.backend}", wall_time=time.perf_counter() - t0,
                       notes=tuple(notes))
    with ProcessPoolExecutor(max_workers=len(backends), mp_context=_context()) as pool:
        futures: list[Future[Solution]] = [
            pool.submit(_run, problem, b, deadline, seed) for b in backends]
        outcomes: list[Solution | BaseException] = []
        for fut in futures:
            try:
                outcomes.append(fut.result())
            except BaseException as exc:  # a backend failing must not sink the others
                outcomes.append(exc)
    best: Solution | None = None
    for name, out in zip(backends, outcomes, strict=True):
        if isinstance(out, BaseException):
            notes.append(f"{name}: {type(out).__name__}: {out}")
            continue
        report = check(problem, out)
        if not report.ok:
            notes.append(f"{name}: rejected by checker: {report.violations[0]}")
            continue
        notes.append(f"{name}: cost {out.cost.total:.6g}")
        if best is None or out.cost.total < best.cost.total - 1e-9:
            best = out
    if best is None:
        # Prefer a proven infeasibility that names stops (OR-Tools' relaxed re-solve) over
        # a mere time-out.
        diagnoses = [o for o in outcomes if isinstance(o, InfeasibleProblemError)]
        if diagnoses:
            raise min(diagnoses, key=lambda e: (isinstance(e, NoSolutionFoundError),
                                                not e.stops))
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        if errors:
            raise RuntimeError("auto: no backend returned a valid solution; "
                               + "; ".join(notes)) from errors[0]
        raise RuntimeError("auto: no backend returned a valid solution; " + "; ".join(notes))
    return replace(best, backend=f"auto:{best.backend}", wall_time=time.perf_counter() - t0,
                   notes=tuple(notes))
