"""The one entry point: :func:`solve`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from optimize.budget import Budget
from optimize.routing.initial import InitialRoute
from optimize.routing.model import Problem, Solution

#: Backend names accepted by :func:`solve`.
BACKENDS = ("ortools", "pyvrp", "hgs", "auto")


def suitable_backends(problem: Problem) -> list[str]:
    """Backends able to model ``problem`` exactly, best-suited first.

    PyVRP has no driver breaks, and its reloads empty the vehicle at depots without
    requiring a last unload before the route ends, so it is left out when a break is
    needed, when facilities have opening hours, or when routes must unload before
    returning.  HGS-CVRP comes first for a pure CVRP (:func:`optimize.routing.hgs_backend.fits`)
    when the ``hygese`` package is installed.
    """
    from optimize.routing import hgs_backend

    out = ["ortools"]
    if _pyvrp_fits(problem):
        out.insert(0, "pyvrp")
    if hgs_backend.available() and hgs_backend.fits(problem):
        out.insert(0, "hgs")
    return out


def _pyvrp_fits(problem: Problem) -> bool:
    if any(vt.break_ is not None for vt in problem.vehicle_types):
        return False
    if any(f.time_window is not None for f in problem.facilities):
        return False
    return not problem.must_unload


def solve(
    problem: Problem,
    time_limit: float = 10.0,
    seed: int = 0,
    backend: str = "ortools",
    options: Any = None,
    *,
    budget: Budget | None = None,
    initial: Sequence[InitialRoute] | None = None,
) -> Solution:
    """Solve ``problem`` within ``budget`` (default: ``time_limit`` seconds of wall time).

    Parameters
    ----------
    problem
        The routing problem (validated here).
    time_limit
        Wall-clock budget in seconds, used when ``budget`` is ``None``.
    seed
        Seed of the randomised backends (PyVRP); OR-Tools has none.
    backend
        ``"ortools"``, ``"pyvrp"``, ``"hgs"`` (pure CVRP only) or ``"auto"`` (see
        :data:`BACKENDS`).
    options
        Backend-specific options: :class:`~optimize.routing.ortools_backend.OrToolsOptions`
        or :class:`~optimize.routing.pyvrp_backend.PyVRPOptions`; ``None`` for defaults
        (the ``auto`` portfolio always uses defaults).
    budget
        Work and/or wall-clock limits (:class:`optimize.budget.Budget`).  A budget with
        an ``effort`` and no ``time_limit`` makes the answer depend only on the problem,
        the options and the seed — what simulations need.  With ``auto`` it runs every
        member to its work limit and skips the time-boxed route recombination.
    initial
        Routes to start from (:mod:`optimize.routing.initial`); OR-Tools repairs and
        improves them, the other backends ignore them.

    Returns
    -------
    Solution
        Routes with arrival times, loads and unloads, skipped stops and cost breakdown.

    Raises
    ------
    InfeasibleProblemError
        The problem has no solution; the message names the stops and the reason.
    ProblemError
        The data are malformed.
    ValueError
        Unknown backend, or a backend that cannot model this problem.
    """
    problem.validate()
    budget = budget or Budget.wall(time_limit)
    if backend == "ortools":
        from optimize.routing.ortools_backend import solve_ortools

        return solve_ortools(problem, seed=seed, options=options, budget=budget, initial=initial)
    if backend == "pyvrp":
        if not _pyvrp_fits(problem):
            raise ValueError("the pyvrp backend cannot model this problem (breaks, facility "
                             "hours, or unload-before-return); use 'ortools' or 'auto'")
        from optimize.routing.pyvrp_backend import solve_pyvrp

        return solve_pyvrp(problem, seed=seed, options=options, budget=budget)
    if backend == "hgs":
        from optimize.routing.hgs_backend import solve_hgs

        return solve_hgs(problem, seed=seed, budget=budget)
    if backend == "auto":
        from optimize.routing.portfolio import solve_portfolio

        return solve_portfolio(problem, budget.seconds(), seed, suitable_backends(problem),
                               budget=budget)
    raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
