"""Dock (re)allocation: move a fixed number of docks between stations (pure optimisation).

Freund, Henderson & Shmoys (2017/2022, "Minimizing multimodular functions and allocating
capacity in bike-sharing systems", IPCO 2017, LNCS 10328; Operations Research 70(5)) allocate
the docks of Citi Bike, Boston and Chicago by minimising the stations' expected dissatisfaction
(Raviv & Kolka's expected failed rentals and returns) over docks *and* the bikes placed at the
start of the day.  The per-station cost is multimodular in (empty docks, docks with a bike),
which makes the problem a discrete convex one: local optimality under single-dock exchanges
is global, and a steepest descent from today's docks that stops after ``k`` moves stays near the
best allocation within ``k`` moves (Shioura 2022, "M-convex function minimization under
L1-distance constraint and its application to dock reallocation in bike-sharing system",
Mathematics of Operations Research 47(2)).

:class:`DockProblem` (today's docks, bounds, the fleet, a per-station cost oracle) ->
:func:`solve` (steepest descent, budget in dock moves) -> :class:`DockPlan`, verified by
:func:`check_allocation` (dock total, bounds, bikes, moves, the objective recomputed).
"""

from optimize.docks.check import DockCheck, check_allocation
from optimize.docks.problem import DockPlan, DockProblem, ProblemError, StationCost, TabulatedCost
from optimize.docks.solve import solve

__all__ = [
    "DockCheck",
    "DockPlan",
    "DockProblem",
    "ProblemError",
    "StationCost",
    "TabulatedCost",
    "check_allocation",
    "solve",
]
