"""The ``auto`` backend: a portfolio of searches in parallel processes, best checked solution.

A small problem (PyVRP-suitable, at most :data:`~optimize.routing.exact.MAX_STOPS` stops) is
first solved to a proven optimum by enumeration (:func:`~optimize.routing.pyvrp_backend.solve_small`,
up to 30 % of the budget); the portfolio runs only when that does not finish.

Members, one process per available core (:func:`members`).  The best-suited backend leads:

* HGS-CVRP for a pure CVRP (:mod:`optimize.routing.hgs_backend`), else PyVRP when it can
  model the problem; the lead's searches with seeds ``seed, seed + 1, …`` take at least the
  first two cores, and the other suitable backends join from the third core on, in order.  On the
  benchmarks OR-Tools never returned the cheaper solution of an OR-Tools/PyVRP pair, and
  PyVRP found the optimum of the hardest A instances in 8 of 20 runs where HGS found it in
  20, so on a 2-core machine a second search of the leader is the better use of the core;
* otherwise OR-Tools alone (it models every feature).

Every member gets the same wall-clock deadline, measured from the call, so ``auto`` costs
no more wall time than one backend (plus process start-up: milliseconds with ``fork`` on
Linux); HGS-CVRP members are the exception on a loaded machine, as they count their budget
in processor seconds (:mod:`optimize.routing.hgs_backend`).  PyVRP members pool the routes
they visit; in the last part of the budget the parent recombines the pooled routes of all of
them by set partitioning (:mod:`optimize.routing.recombine`).  Each answer is validated with the independent
checker; the cheapest valid one wins, ties going to the member listed first.  If every
member reports infeasibility, the first diagnosis (OR-Tools names stops) is raised; when
only PyVRP or HGS searches ran and none found a solution, OR-Tools is run afterwards (up to the
same budget again) so that the answer is a solution or a diagnosis naming stops.

Determinism: the choice is deterministic given the backends' answers, and PyVRP is
seeded; but both backends stop on a time limit, so their answers depend on machine speed
and load.  OR-Tools' time-limited search in particular is not bit-reproducible across
machines.  With a work budget (:class:`~optimize.budget.Budget` with ``effort`` and no
time limit) ``auto`` is reproducible instead: the team would depend on the machine's cores,
so only the best-suited backend runs (in this process, to its work limit), with the exact
attempt first and OR-Tools after it when it finds nothing; no recombination.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import replace

from optimize.budget import Budget
from optimize.pool import available_cores, can_start_processes, process_pool
from optimize.routing.checker import check
from optimize.routing.diagnose import InfeasibleProblemError, NoSolutionFoundError, precheck
from optimize.routing.hgs_backend import solve_hgs
from optimize.routing.model import Problem, Solution
from optimize.routing.ortools_backend import solve_ortools
from optimize.routing.pyvrp_backend import (
    EXACT_SHARE,
    SearchOutcome,
    improve,
    poolable,
    recombination_reserve,
    search,
    solve_pyvrp,
    solve_small,
)

#: Seconds kept back from the budget for process start-up and returning the answer.
_MARGIN = 0.25


def members(backends: Sequence[str], seed: int, cores: int) -> list[tuple[str, int]]:
    """The portfolio's ``(backend, seed)`` searches for ``cores`` cores (see module doc);
    ``backends`` lists the suitable ones, best-suited first."""
    cores = max(1, cores)
    lead, others = backends[0], list(backends[1:])
    if lead not in ("hgs", "pyvrp"):
        return [(lead, seed)]
    n_lead = min(cores, max(2, cores - len(others)))
    out = [(lead, seed + j) for j in range(n_lead)]
    return out + [(b, seed) for b in others][: cores - n_lead]


def _run(problem: Problem, backend: str, deadline: float, seed: int,
         pool: bool) -> Solution | SearchOutcome:
    """Worker: solve with one backend until ``deadline`` (epoch seconds)."""
    budget = max(0.05, deadline - time.time())
    if backend == "ortools":
        return solve_ortools(problem, budget, seed)
    if backend == "hgs":
        return solve_hgs(problem, budget, seed)
    return search(problem, budget, seed, pool=pool)


def _solve_work(problem: Problem, budget: Budget, seed: int, backends: Sequence[str],
                t0: float) -> Solution:
    """The reproducible portfolio (module doc): the best-suited backend to its work limit."""
    lead = backends[0]
    try:
        if lead == "hgs":
            sol = solve_hgs(problem, seed=seed, budget=budget)
        elif lead == "pyvrp":
            sol = solve_pyvrp(problem, seed=seed, budget=budget)
        else:
            sol = solve_ortools(problem, seed=seed, budget=budget)
    except NoSolutionFoundError:
        if lead == "ortools" or "ortools" not in backends:
            raise
        sol = solve_ortools(problem, seed=seed, budget=budget)
    return replace(sol, backend=f"auto:{sol.backend}", wall_time=time.perf_counter() - t0)


def solve_portfolio(
    problem: Problem, time_limit: float, seed: int, backends: Sequence[str],
    cores: int | None = None, *, budget: Budget | None = None,
) -> Solution:
    """Run the portfolio for ``time_limit`` seconds; return the best valid solution.

    ``cores`` defaults to the cores this process may use (:func:`available_cores`).
    A reproducible ``budget`` (work, no clock) runs :func:`_solve_work` instead.
    """
    t0 = time.perf_counter()
    issues = precheck(problem)  # the same for every backend: no need to start processes
    if issues:
        raise InfeasibleProblemError(problem, issues)
    if budget is not None and budget.reproducible:
        return _solve_work(problem, budget, seed, backends, t0)
    if budget is not None:
        time_limit = budget.seconds()
    if "pyvrp" in backends:
        small = solve_small(problem, EXACT_SHARE * time_limit, t0)
        if small is not None and check(problem, small).ok:
            return replace(small, backend=f"auto:{small.backend}",
                           wall_time=time.perf_counter() - t0)
    # the deadline counts from the call: a failed exact attempt's time is not added
    end = time.time() + max(0.1, time_limit - (time.perf_counter() - t0)
                            - min(_MARGIN, 0.1 * time_limit))
    notes: list[str] = []
    team = members(backends, seed, available_cores() if cores is None else cores)
    if len(team) > 1 and not can_start_processes():
        # Pool workers (e.g. a parallel experiment runner) may not start processes:
        # run the best-suited member alone rather than fail.
        notes.append(f"auto: inside a daemon process, ran {team[0][0]} only")
        team = team[:1]
    pool = any(b == "pyvrp" for b, _ in team) and poolable(problem)
    deadline = end - (recombination_reserve(time_limit) if pool else 0.0)
    outcomes: list[Solution | SearchOutcome | BaseException] = []
    if len(team) == 1:
        try:
            outcomes.append(_run(problem, team[0][0], deadline, team[0][1], pool))
        except InfeasibleProblemError as exc:  # may still get OR-Tools' diagnosis below
            outcomes.append(exc)
    else:
        with process_pool(len(team)) as executor:
            futures: list[Future[Solution | SearchOutcome]] = [
                executor.submit(_run, problem, b, deadline, s, pool) for b, s in team]
            for fut in futures:
                try:
                    outcomes.append(fut.result())
                except BaseException as exc:  # a member failing must not sink the others
                    outcomes.append(exc)
    names = [f"{b}(seed {s})" if b in ("pyvrp", "hgs") else b for b, s in team]
    searches = [o for o in outcomes if isinstance(o, SearchOutcome)]
    if searches:
        try:
            better = improve(problem, searches, max(0.05, end - time.time()), t0)
        except Exception as exc:  # recombination is a bonus; never lose the searches' answers
            better = None
            notes.append(f"recombination failed: {type(exc).__name__}: {exc}")
        if better is not None:
            names.append("recombined")
            outcomes.append(better)
    if "ortools" in backends and all(b != "ortools" for b, _ in team) \
            and all(isinstance(o, NoSolutionFoundError) for o in outcomes):
        # No PyVRP or HGS search found a solution, none proves why: OR-Tools finds one or,
        # by its relaxed re-solve, names the stops.  This path may take twice the budget.
        names.append("ortools (after every other search failed)")
        try:
            outcomes.append(solve_ortools(problem, time_limit, seed))
        except BaseException as exc:
            outcomes.append(exc)
    best: Solution | None = None
    for name, out in zip(names, outcomes, strict=True):
        if isinstance(out, BaseException):
            notes.append(f"{name}: {type(out).__name__}: {out}")
            continue
        sol = out.solution if isinstance(out, SearchOutcome) else out
        report = check(problem, sol)
        if not report.ok:
            notes.append(f"{name}: rejected by checker: {report.violations[0]}")
            continue
        notes.append(f"{name}: cost {sol.cost.total:.6g}")
        notes.extend(sol.notes)
        if best is None or sol.cost.total < best.cost.total - 1e-9:
            best = sol
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
