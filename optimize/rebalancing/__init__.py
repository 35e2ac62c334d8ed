"""Bike rebalancing: van routes with pickup and drop-off quantities (pure optimisation).

A one-commodity pickup-and-delivery problem: :class:`RebalancingProblem` (stations with stock,
target, capacity; vans with capacity, start, load and time budget) -> :func:`solve`
(OR-Tools routing) -> :class:`Plan`, verified independently by :func:`check_plan`.
"""

from optimize.rebalancing.check import PlanCheck, check_plan
from optimize.rebalancing.problem import (
    Plan,
    ProblemError,
    RebalancingProblem,
    RoadLegs,
    Route,
    Stop,
    Van,
)
from optimize.rebalancing.solve import SolveParams, solve

__all__ = [
    "PlanCheck",
    "Plan",
    "ProblemError",
    "RebalancingProblem",
    "RoadLegs",
    "Route",
    "SolveParams",
    "Stop",
    "Van",
    "check_plan",
    "solve",
]
