"""OR-Tools search strategy names, without importing OR-Tools.

Scenario files name strategies; they are checked when the scenario loads (a typo must not
surface as an error inside a worker process), and loading a scenario should not import the
solver.  ``tests/routing`` checks these lists against OR-Tools' own enums.
"""

from __future__ import annotations

#: ``FirstSolutionStrategy`` values usable without a custom evaluator (``UNSET`` and
#: ``EVALUATOR_STRATEGY`` left out).
FIRST_SOLUTION_STRATEGIES: tuple[str, ...] = (
    "AUTOMATIC", "PATH_CHEAPEST_ARC", "PATH_MOST_CONSTRAINED_ARC", "SAVINGS",
    "PARALLEL_SAVINGS", "SWEEP", "CHRISTOFIDES", "ALL_UNPERFORMED", "BEST_INSERTION",
    "PARALLEL_CHEAPEST_INSERTION", "SEQUENTIAL_CHEAPEST_INSERTION",
    "LOCAL_CHEAPEST_INSERTION", "LOCAL_CHEAPEST_COST_INSERTION", "GLOBAL_CHEAPEST_ARC",
    "LOCAL_CHEAPEST_ARC", "FIRST_UNBOUND_MIN_VALUE",
)

#: ``LocalSearchMetaheuristic`` values (``UNSET`` left out).
METAHEURISTICS: tuple[str, ...] = (
    "AUTOMATIC", "GREEDY_DESCENT", "GUIDED_LOCAL_SEARCH", "SIMULATED_ANNEALING",
    "TABU_SEARCH", "GENERIC_TABU_SEARCH",
)
