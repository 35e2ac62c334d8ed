"""HGS-CVRP backend (Vidal's hybrid genetic search, through the ``hygese`` package): pure CVRP.

HGS-CVRP is the reference heuristic for the capacitated VRP.  On the hardest Augerat A
instances at 4 s it reached the optimum in every one of 20 runs (five instances, four
seeds), where PyVRP's iterated local search reached it in 8 and OR-Tools rarely: so
``auto`` prefers it whenever the problem is a pure CVRP (:func:`fits`).

It models only that: one vehicle type with a fleet limit, one depot where routes start
and end, one load compartment, every stop required, no time windows, shifts, durations,
breaks or facilities, and a cost that is distance alone (no fixed or time cost).  The
problem is passed as its distance matrix restricted to the depot and the stops (node 0 the
depot, node ``i + 1`` stop ``i``), with the coordinates when the problem has them (HGS
uses their polar angles to prune its SWAP* moves).

HGS-CVRP measures its time limit in *processor* seconds of its own process, so on a loaded
machine its wall time exceeds the limit by the time it waited for a core.  Like PyVRP, it is
deterministic for a seed only when the limit does not bind; here it always does.
"""

from __future__ import annotations

import time

import numpy as np

from optimize.budget import Budget
from optimize.routing._assemble import RawRoute, assemble
from optimize.routing.checker import check
from optimize.routing.diagnose import Infeasibility, NoSolutionFoundError, require_solvable_input
from optimize.routing.model import Problem, Solution

try:  # an optional engine: without it, `auto` simply does not use it
    import hygese
except ImportError:  # pragma: no cover - hygese ships wheels for the platforms we run on
    hygese = None


def available() -> bool:
    """Whether the ``hygese`` package (HGS-CVRP) is installed."""
    return hygese is not None


def fits(problem: Problem) -> bool:
    """Whether ``problem`` is a pure CVRP that HGS-CVRP models exactly (module doc)."""
    if len(problem.vehicle_types) != 1 or problem.facilities or problem.num_compartments != 1:
        return False
    vt = problem.vehicle_types[0]
    if vt.start_depot != vt.end_depot or vt.break_ is not None or vt.shift is not None \
            or vt.max_duration is not None:
        return False
    if vt.fixed_cost != 0 or vt.cost_per_hour != 0 or vt.cost_per_km <= 0:
        return False
    if not problem.stops:
        return False
    return all(s.required and s.time_window is None for s in problem.stops)


def solve_hgs(problem: Problem, time_limit: float = 10.0, seed: int = 0, *,
              budget: Budget | None = None) -> Solution:
    """Solve a pure CVRP with HGS-CVRP for ``time_limit`` (processor) seconds, or within
    ``budget``: its ``effort`` is HGS-CVRP's ``nbIter`` (iterations without improvement
    before it stops), which with no time limit makes the run reproducible for a seed.

    Raises
    ------
    ValueError
        The problem is not a pure CVRP (:func:`fits`), or ``hygese`` is not installed.
    InfeasibleProblemError
        From the pre-checks, or (:class:`NoSolutionFoundError`) when HGS ends without a
        feasible solution.
    """
    t0 = time.perf_counter()
    if hygese is None:
        raise ValueError("the hgs backend needs the 'hygese' package (pip install hygese)")
    if not fits(problem):
        raise ValueError("the hgs backend models pure CVRP only (one vehicle type, no windows, "
                         "shifts, optional stops, facilities, fixed or time costs); use "
                         "'pyvrp', 'ortools' or 'auto'")
    require_solvable_input(problem)
    vt = problem.vehicle_types[0]
    nodes = [vt.start_depot] + [s.location for s in problem.stops]
    data: dict[str, object] = {
        "distance_matrix": np.asarray(problem.distance, dtype=float)[np.ix_(nodes, nodes)],
        "demands": np.array([0.0] + [float(s.demand[0]) for s in problem.stops]),
        "vehicle_capacity": float(vt.capacity[0]),
        "num_vehicles": vt.count,
        "depot": 0,
        "service_times": np.zeros(len(nodes)),
    }
    if problem.coordinates is not None:
        xy = np.asarray(problem.coordinates, dtype=float)[nodes]
        xy = xy - xy.min(axis=0)  # HGS wants non-negative coordinates; angles are unchanged
        data["x_coordinates"], data["y_coordinates"] = xy[:, 0], xy[:, 1]
    budget = budget or Budget.wall(time_limit)
    clock = 0.0  # HGS-CVRP: 0 = no time limit
    if budget.time_limit is not None:
        clock = max(0.01, budget.time_limit - (time.perf_counter() - t0))
    params = hygese.AlgorithmParameters(timeLimit=clock, seed=seed)
    if budget.effort is not None:
        params.nbIter = max(1, int(budget.effort))
    try:
        result = hygese.Solver(parameters=params, verbose=False).solve_cvrp(data)
    except TypeError:  # hygese's answer to a null solution pointer: nothing feasible found
        result = None
    if result is None or not result.routes:
        raise NoSolutionFoundError(problem, [Infeasibility(
            (), "HGS-CVRP found no feasible solution within the time limit; infeasibility "
                "is not proven (the ortools backend names conflicting stops)")])
    start0 = problem.shift_of(0)[0]
    dur = problem.duration
    raw = []
    for v, route in enumerate(r for r in result.routes if len(r)):
        visits: list[tuple[str, int, int]] = []
        loc, clock = vt.start_depot, start0
        for node in route:
            stop = problem.stops[node - 1]
            clock += int(dur[loc, stop.location])
            visits.append(("stop", node - 1, clock))
            clock += stop.service_time
            loc = stop.location
        raw.append(RawRoute(v, 0, start0, clock + int(dur[loc, vt.end_depot]), visits))
    sol = assemble(problem, raw, backend="hgs", wall_time=time.perf_counter() - t0)
    report = check(problem, sol)
    if not report.ok:  # e.g. more routes than vehicles: HGS treats the fleet as soft
        raise NoSolutionFoundError(problem, [Infeasibility(
            (), f"HGS-CVRP returned no valid solution ({report.violations[0]})")])
    return sol
