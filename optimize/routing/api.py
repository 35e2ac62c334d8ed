"""The one entry point, :func:`solve`, and the registry of routing backends behind it.

Every backend speaks one interface, :class:`RoutingBackend`: a ``name``, ``supports(problem)``
(whether it models the problem exactly), its typed ``options`` class, and ``solve``.  A new
engine is added by registering one more :class:`RoutingBackend` in :data:`REGISTRY`; nothing
else dispatches on backend names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from optimize.budget import Budget
from optimize.routing import hgs_backend
from optimize.routing.hgs_backend import solve_hgs
from optimize.routing.initial import InitialRoute
from optimize.routing.model import Problem, Solution
from optimize.routing.ortools_backend import OrToolsOptions, solve_ortools
from optimize.routing.portfolio import solve_portfolio
from optimize.routing.pyvrp_backend import PyVRPOptions, solve_pyvrp

#: ``solve(problem, seed=..., options=..., budget=..., initial=...)`` of one backend
SolveFunction = Callable[..., Solution]


@dataclass(frozen=True)
class RoutingBackend:
    """One routing engine behind :func:`solve`.

    ``supports(problem)`` says whether the engine models ``problem`` exactly (not whether it
    would solve it well); ``options`` is its typed options class (``None``: it takes none);
    ``run`` solves with keyword arguments ``seed``, ``options``, ``budget``, ``initial``.
    """

    name: str
    supports: Callable[[Problem], bool]
    options: type | None
    run: SolveFunction
    description: str

    def solve(self, problem: Problem, *, seed: int, options: Any, budget: Budget,
              initial: Sequence[InitialRoute] | None) -> Solution:
        """Solve ``problem``; ``options`` must be an instance of :attr:`options` or ``None``."""
        if options is not None and (self.options is None or not isinstance(options, self.options)):
            expected = self.options.__name__ if self.options else "None"
            raise ValueError(f"the {self.name} backend takes options of type {expected}, "
                             f"not {type(options).__name__}")
        if not self.supports(problem):
            raise ValueError(f"the {self.name} backend cannot model this problem ({self.description}); "
                             "use 'ortools' or 'auto'")
        return self.run(problem, seed=seed, options=options, budget=budget, initial=initial)


def _pyvrp_fits(problem: Problem) -> bool:
    if any(vt.break_ is not None for vt in problem.vehicle_types):
        return False
    return all(f.time_window is None for f in problem.facilities)


def _ortools(problem: Problem, *, seed: int, options: Any, budget: Budget,
             initial: Sequence[InitialRoute] | None) -> Solution:
    return solve_ortools(problem, seed=seed, options=options, budget=budget, initial=initial)


def _pyvrp(problem: Problem, *, seed: int, options: Any, budget: Budget,
           initial: Sequence[InitialRoute] | None) -> Solution:
    return solve_pyvrp(problem, seed=seed, options=options, budget=budget, initial=initial)


def _hgs(problem: Problem, *, seed: int, options: Any, budget: Budget,
         initial: Sequence[InitialRoute] | None) -> Solution:
    return solve_hgs(problem, seed=seed, budget=budget)


def _auto(problem: Problem, *, seed: int, options: Any, budget: Budget,
          initial: Sequence[InitialRoute] | None) -> Solution:
    return solve_portfolio(problem, budget.seconds(), seed, suitable_backends(problem), budget=budget)


def _hgs_fits(problem: Problem) -> bool:
    return hgs_backend.available() and hgs_backend.fits(problem)


#: every backend :func:`solve` accepts, by name
REGISTRY: dict[str, RoutingBackend] = {b.name: b for b in (
    RoutingBackend("ortools", lambda p: True, OrToolsOptions, _ortools,
                   "OR-Tools routing: every feature of the model; repairs and improves initial routes"),
    RoutingBackend("pyvrp", _pyvrp_fits, PyVRPOptions, _pyvrp,
                   "no driver breaks, facility opening hours or unload-before-return"),
    RoutingBackend("hgs", _hgs_fits, None, _hgs,
                   "pure CVRP only, and the 'hygese' package installed"),
    RoutingBackend("auto", lambda p: True, None, _auto,
                   "the portfolio of the suitable backends (suitable_backends)"),
)}

#: Backend names accepted by :func:`solve`.
BACKENDS = tuple(REGISTRY)


def suitable_backends(problem: Problem) -> list[str]:
    """Backends able to model ``problem`` exactly, best-suited first.

    PyVRP has no driver breaks, and its reloads empty the vehicle at depots without
    requiring a last unload before the route ends, so it is left out when a break is
    needed, when facilities have opening hours, or when routes must unload before
    returning.  HGS-CVRP comes first for a pure CVRP (:func:`optimize.routing.hgs_backend.fits`)
    when the ``hygese`` package is installed.
    """
    order = ("hgs", "pyvrp", "ortools")  # best-suited first where they fit
    return [name for name in order if REGISTRY[name].supports(problem)]


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
        A name in :data:`REGISTRY`: ``"ortools"``, ``"pyvrp"``, ``"hgs"`` (pure CVRP only)
        or ``"auto"``.
    options
        The backend's typed options (:attr:`RoutingBackend.options`:
        :class:`~optimize.routing.ortools_backend.OrToolsOptions` or
        :class:`~optimize.routing.pyvrp_backend.PyVRPOptions`); ``None`` for defaults
        (``hgs`` and ``auto`` take none).
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
        Unknown backend, options of another backend, or a backend that cannot model this
        problem.
    """
    problem.validate()
    engine = REGISTRY.get(backend)
    if engine is None:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    return engine.solve(problem, seed=seed, options=options, budget=budget or Budget.wall(time_limit),
                        initial=initial)
