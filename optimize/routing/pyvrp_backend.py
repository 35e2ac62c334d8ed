"""PyVRP backend (iterated local search, then route recombination): CVRP, VRPTW, optional stops, reloads, fleets.

Problems with at most ``PyVRPOptions.exact_max_stops`` stops (and no facilities) are first
solved exactly — every feasible route enumerated, then set partitioning
(:mod:`optimize.routing.exact`) — and the search runs only when that cannot finish.

Mapping: every problem location is a PyVRP location (the full matrices are passed);
each fleet depot and each facility becomes a PyVRP depot; facilities are the vehicle
types' ``reload_depots`` with the unload time as the depot's service duration.  Demands
are *pickups*, so the load grows along a trip and empties at a reload.  An optional stop's
penalty is its prize.  Costs are scaled to integers like the OR-Tools backend.

Not modelled (callers must use OR-Tools, see :func:`optimize.routing.suitable_backends`):
breaks, facility opening hours, and the rule that a route unloads before returning.

PyVRP is deterministic for a given seed and *iteration count*; with a time limit the
number of iterations depends on machine speed and load, so results vary across runs.  A
work budget (:class:`~optimize.budget.Budget` ``effort`` = iterations, no time limit) is
reproducible; it then skips the time-boxed recombination.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyvrp
from pyvrp import IteratedLocalSearchParams, SolveParams
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

from optimize.budget import Budget
from optimize.routing._assemble import (
    RawRoute,
    assemble,
    costs_scale_exactly,
    integer_cost_scale,
)
from optimize.routing.diagnose import (
    Infeasibility,
    NoSolutionFoundError,
    require_solvable_input,
)
from optimize.routing.exact import MAX_STOPS, solve_exact
from optimize.routing.model import HORIZON_MAX, Problem, Solution, Status
from optimize.routing.recombine import Column, RouteCollector, columns_of, recombine, to_solution

_MAX = np.iinfo(np.int64).max


def to_pyvrp(problem: Problem) -> tuple[pyvrp.ProblemData, list[tuple[str, int]]]:
    """Build PyVRP data; also return what each PyVRP depot is (``("depot"|"facility", i)``)."""
    scale = integer_cost_scale(problem)
    n_loc = problem.num_locations
    coords = problem.coordinates
    locations = [pyvrp.Location(float(coords[i][0]) if coords is not None else 0.0,
                                float(coords[i][1]) if coords is not None else 0.0)
                 for i in range(n_loc)]
    fleet_depots = sorted({vt.start_depot for vt in problem.vehicle_types}
                          | {vt.end_depot for vt in problem.vehicle_types})
    depots = [pyvrp.Depot(d, name=f"depot {d}") for d in fleet_depots]
    what: list[tuple[str, int]] = [("depot", d) for d in fleet_depots]
    for f, fac in enumerate(problem.facilities):
        a, b = problem.facility_window(f)
        depots.append(pyvrp.Depot(fac.location, tw_early=a,
                                  tw_late=b if b < HORIZON_MAX else _MAX,
                                  service_duration=fac.unload_time,
                                  name=problem.facility_name(f)))
        what.append(("facility", f))
    k = problem.num_compartments
    clients = []
    for i, s in enumerate(problem.stops):
        a, b = problem.stop_window(i)
        clients.append(pyvrp.Client(
            s.location, delivery=[0] * k, pickup=list(s.demand), service_duration=s.service_time,
            tw_early=a, tw_late=b if b < HORIZON_MAX else _MAX,
            prize=0 if s.required else round(s.penalty * scale), required=s.required,
            name=problem.stop_name(i)))
    pos = {d: j for j, d in enumerate(fleet_depots)}
    reloads = list(range(len(fleet_depots), len(depots)))
    vtypes = []
    for t, vt in enumerate(problem.vehicle_types):
        s0, s1 = problem.shift_of(t)
        vtypes.append(pyvrp.VehicleType(
            num_available=vt.count, capacity=list(vt.capacity),
            start_depot=pos[vt.start_depot], end_depot=pos[vt.end_depot],
            fixed_cost=round(vt.fixed_cost * scale), tw_early=s0,
            tw_late=s1 if s1 < HORIZON_MAX else _MAX,
            shift_duration=vt.max_duration if vt.max_duration is not None else _MAX,
            unit_distance_cost=round(vt.cost_per_km / 1000.0 * scale),
            unit_duration_cost=round(vt.cost_per_hour / 3600.0 * scale),
            reload_depots=reloads, name=vt.name or f"type {t}"))
    matrices: list[Any] = [np.asarray(problem.distance), np.asarray(problem.duration)]
    data = pyvrp.ProblemData(locations, clients, depots, vtypes, matrices[:1], matrices[1:])
    return data, what


@dataclass(frozen=True)
class PyVRPOptions:
    """Settings of the PyVRP backend.

    Parameters
    ----------
    max_iterations
        Stop after this many search iterations, besides the time limit.  With a fixed
        seed, an iteration limit that binds before the time limit makes the run
        reproducible regardless of machine speed and load.
    restart_after
        Iterations without improvement after which the search restarts from its best
        solution (PyVRP's ``num_iters_no_improvement``); ``None`` = ``max(2000, 50 ×
        clients)``.  PyVRP's default (150 000) never triggers within seconds; restarting
        often measured better on the A set at 5 s.
    recombine
        Pool the routes the search visits and, in the last part of the budget, look for a
        cheaper combination of them by set partitioning (:mod:`optimize.routing.recombine`).
        Only for problems without facilities (single-trip routes).
    exact_max_stops
        Problems with at most this many stops (and no facilities) are first solved to a
        proven optimum by enumerating every route (:mod:`optimize.routing.exact`), in up
        to :data:`EXACT_SHARE` of the time limit; the search runs only if that cannot
        finish.  0 turns it off.
    """

    max_iterations: int | None = None
    restart_after: int | None = None
    recombine: bool = True
    exact_max_stops: int = MAX_STOPS


#: Share of the time limit the exact attempt on small problems may use.
EXACT_SHARE = 0.3


@dataclass(frozen=True)
class SearchOutcome:
    """What one PyVRP search returns: its best solution and, if pooled, its routes."""

    solution: Solution
    #: pooled routes (empty when not pooled)
    columns: tuple[Column, ...]
    #: the best solution's routes as columns (``None`` when not poolable)
    incumbent: tuple[Column, ...] | None


def poolable(problem: Problem) -> bool:
    """Whether routes are single trips, so that pooled routes can be recombined."""
    return not problem.facilities


def recombination_reserve(time_limit: float) -> float:
    """Seconds of a ``time_limit`` budget kept for recombination: ~20 % of short runs,
    about 1 s + 5 % of long ones."""
    return min(0.2 * time_limit, 1.0 + 0.05 * time_limit)


def _convert(problem: Problem, what: list[tuple[str, int]], best: pyvrp.Solution,
             wall_time: float, notes: tuple[str, ...] = (), status: Status = "feasible",
             backend: str = "pyvrp") -> Solution:
    offsets = np.cumsum([0] + [vt.count for vt in problem.vehicle_types])
    used = [0] * len(problem.vehicle_types)
    raw = []
    for route in best.routes():
        t = route.vehicle_type()
        visits: list[tuple[str, int, int]] = []
        sched = list(route.schedule())
        for act in sched[1:-1]:
            if act.is_client():
                visits.append(("stop", act.idx, act.start_time))
            else:
                kind, idx = what[act.idx]
                visits.append((kind, idx, act.start_time))
        raw.append(RawRoute(int(offsets[t]) + used[t], t, route.start_time(), route.end_time(),
                            visits))
        used[t] += 1
    return assemble(problem, raw, backend=backend, wall_time=wall_time, notes=notes,
                    status=status)


def solve_small(problem: Problem, time_limit: float | None, t0: float,
                max_stops: int = MAX_STOPS) -> Solution | None:
    """A proven optimal solution of a small problem, or ``None`` (too many stops, has
    facilities, or the enumeration could not finish in ``time_limit`` seconds; ``None``:
    no deadline, see :func:`~optimize.routing.exact.solve_exact`).

    The status is ``"optimal"`` when the costs scale to integers exactly
    (:func:`~optimize.routing._assemble.costs_scale_exactly`), else ``"feasible"``
    (optimal for the rounded costs).  ``t0`` is when the whole solve started.

    Raises
    ------
    InfeasibleProblemError
        From the pre-checks.
    """
    if not 0 < len(problem.stops) <= max_stops or not poolable(problem):
        return None
    require_solvable_input(problem)
    data, what = to_pyvrp(problem)
    chosen = solve_exact(data, time_limit)
    if chosen is None:
        return None
    best = to_solution(data, chosen)
    if not best.is_feasible():  # cannot happen: every enumerated route is feasible
        return None
    exact = costs_scale_exactly(problem)
    return _convert(problem, what, best, time.perf_counter() - t0, status=(
        "optimal" if exact else "feasible"), backend="exact", notes=(
        "every feasible route enumerated and the best combination found by set "
        "partitioning" + ("" if exact else " (optimal for costs rounded to the integer "
                          "scale, not proven for the exact costs)"),))


def search(problem: Problem, time_limit: float | None, seed: int = 0,
           options: PyVRPOptions | None = None, *, pool: bool = False,
           iterations: int | None = None) -> SearchOutcome:
    """Run PyVRP's search for ``time_limit`` seconds (``None``: no clock) and/or
    ``iterations``; pool its routes when ``pool``.

    Raises
    ------
    InfeasibleProblemError
        From the pre-checks, or when PyVRP ends without a feasible solution.
    """
    t0 = time.perf_counter()
    opts = options or PyVRPOptions()
    require_solvable_input(problem)
    data, what = to_pyvrp(problem)
    criteria: list[Any] = []
    if time_limit is not None:
        criteria.append(MaxRuntime(max(0.01, time_limit - (time.perf_counter() - t0))))
    limits = [x for x in (opts.max_iterations, iterations) if x is not None]
    if limits:
        criteria.append(MaxIterations(int(min(limits))))
    if not criteria:
        raise ValueError("PyVRP search needs a time limit or an iteration limit")
    stop: Any = criteria[0] if len(criteria) == 1 else MultipleCriteria(criteria)
    pool = pool and poolable(problem)
    collector = RouteCollector() if pool else None
    restart = opts.restart_after or max(2000, 50 * data.num_clients)
    ils = IteratedLocalSearchParams(num_iters_no_improvement=restart)
    if collector is not None:
        ils.callbacks = collector
    result = pyvrp.solve(data, stop, seed=seed, collect_stats=False, display=False,
                         params=SolveParams(ils=ils))
    best = result.best
    if not best.is_feasible():
        raise NoSolutionFoundError(problem, [Infeasibility(
            (), "PyVRP found no feasible solution within the time limit; infeasibility is "
                "not proven (the ortools backend names conflicting stops)")])
    solution = _convert(problem, what, best, time.perf_counter() - t0)
    if collector is None:
        return SearchOutcome(solution, (), None)
    incumbent = columns_of(best)
    return SearchOutcome(solution, tuple(collector.columns()),
                         tuple(incumbent) if incumbent is not None else None)


def improve(problem: Problem, outcomes: Sequence[SearchOutcome], time_limit: float,
            t0: float, hard_limit: bool = True) -> Solution | None:
    """Recombine the pooled routes of ``outcomes``: a strictly cheaper solution, or ``None``.

    ``t0`` (a ``time.perf_counter()`` reading) is when the whole solve started, for the
    reported wall time.
    """
    pooled = [o for o in outcomes if o.incumbent is not None]
    if not pooled:
        return None
    start = min(pooled, key=lambda o: sum(c.cost for c in o.incumbent or ()))
    assert start.incumbent is not None
    data, what = to_pyvrp(problem)
    chosen = recombine(data, (c for o in pooled for c in o.columns), start.incumbent,
                       time_limit, hard_limit)
    if chosen is None:
        return None
    sol = to_solution(data, chosen)
    if not sol.is_feasible():  # cannot happen: every pooled route is feasible on its own
        return None
    before = sum(c.cost for c in start.incumbent)
    after = sum(c.cost for c in chosen)
    n_cols = sum(len(o.columns) for o in pooled)
    return _convert(problem, what, sol, time.perf_counter() - t0, notes=(
        f"recombined {n_cols} pooled routes by set partitioning: "
        f"objective {before} -> {after} (PyVRP units)",))


def solve_pyvrp(problem: Problem, time_limit: float = 10.0, seed: int = 0,
                options: PyVRPOptions | None = None, *, budget: Budget | None = None) -> Solution:
    """Solve with PyVRP's iterated local search for ``time_limit`` seconds (or within
    ``budget``: ``effort`` = iterations), then (when ``options.recombine`` and the problem
    has no facilities) recombine the visited routes; small problems are first tried
    exactly (:func:`solve_small`).  Raises what :func:`search` raises."""
    t0 = time.perf_counter()
    opts = options or PyVRPOptions()
    if budget is not None:
        if budget.reproducible:
            return _solve_pyvrp_work(problem, int(budget.effort or 1), seed, opts, t0)
        time_limit = budget.seconds()
        if budget.effort is not None:
            opts = replace(opts, max_iterations=int(budget.effort) if opts.max_iterations is None
                           else min(opts.max_iterations, int(budget.effort)))
    # reproducible runs (an iteration limit) give the exact attempt no deadline either
    small = solve_small(problem, EXACT_SHARE * time_limit if opts.max_iterations is None
                        else None, t0, opts.exact_max_stops)
    if small is not None:
        return small
    pool = opts.recombine and poolable(problem)
    reserve = recombination_reserve(time_limit) if pool else 0.0
    out = search(problem, time_limit - reserve - (time.perf_counter() - t0), seed, opts,
                 pool=pool)
    better = None
    if pool:
        # with an iteration limit the run must be reproducible: the recombination then
        # runs to completion (up to the time left) rather than being cut at a hard limit
        better = improve(problem, [out], max(0.05, time_limit - (time.perf_counter() - t0)),
                         t0, hard_limit=opts.max_iterations is None)
    sol = better or out.solution
    return replace(sol, wall_time=time.perf_counter() - t0)


def _solve_pyvrp_work(problem: Problem, iterations: int, seed: int, opts: PyVRPOptions,
                      t0: float) -> Solution:
    """The reproducible path: exact attempt without deadline, then ``iterations`` of the
    search; no recombination (it is time-boxed)."""
    small = solve_small(problem, None, t0, opts.exact_max_stops)
    if small is not None:
        return small
    out = search(problem, None, seed, opts, iterations=iterations)
    return replace(out.solution, wall_time=time.perf_counter() - t0, limit_reached=True)
