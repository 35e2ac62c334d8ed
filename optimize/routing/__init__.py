"""Vehicle routing for collection fleets (garbage trucks, bike-rebalancing vans).

Public API
----------
Build a :class:`Problem` (distances in metres, times in seconds; see
:mod:`optimize.routing.model`), call :func:`solve`, and inspect the :class:`Solution`::

    from optimize.routing import Problem, Stop, VehicleType, solve, check
    sol = solve(problem, time_limit=5.0, seed=1)          # OR-Tools by default
    assert check(problem, sol).ok                          # independent checker

Backends: ``"ortools"`` (every feature), ``"pyvrp"`` (no breaks; reloads only when routes
need not unload before returning) and ``"auto"`` (both in parallel processes, best
checked solution).  Infeasible problems raise :class:`InfeasibleProblemError` naming the
stops and the reason.
"""

from optimize.routing.api import BACKENDS, REGISTRY, RoutingBackend, solve, suitable_backends
from optimize.routing.checker import RouteCheck, check
from optimize.routing.diagnose import (
    Infeasibility,
    InfeasibleProblemError,
    NoSolutionFoundError,
    precheck,
)
from optimize.routing.model import (
    Break,
    CostBreakdown,
    Facility,
    Problem,
    ProblemError,
    Route,
    Solution,
    Stop,
    VehicleType,
    Visit,
    matrices_from_coordinates,
)
from optimize.routing.ortools_backend import OrToolsOptions
from optimize.routing.pyvrp_backend import PyVRPOptions

__all__ = [
    "BACKENDS",
    "REGISTRY",
    "OrToolsOptions",
    "PyVRPOptions",
    "RoutingBackend",
    "Break",
    "RouteCheck",
    "CostBreakdown",
    "Facility",
    "Infeasibility",
    "InfeasibleProblemError",
    "Problem",
    "ProblemError",
    "Route",
    "Solution",
    "Stop",
    "VehicleType",
    "Visit",
    "check",
    "NoSolutionFoundError",
    "matrices_from_coordinates",
    "precheck",
    "solve",
    "suitable_backends",
]
