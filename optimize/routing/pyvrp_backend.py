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
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pyvrp
from numpy.typing import NDArray
from pyvrp import (
    IteratedLocalSearch,
    IteratedLocalSearchParams,
    PenaltyManager,
    PenaltyParams,
    RandomNumberGenerator,
)
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.search import (
    OPERATORS,
    LocalSearch,
    NeighbourhoodParams,
    PerturbationManager,
    PerturbationParams,
    compute_neighbours,
)
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
    InfeasibleProblemError,
    NoSolutionFoundError,
    require_solvable_input,
)
from optimize.routing.exact import MAX_STOPS, solve_exact
from optimize.routing.initial import InitialRoute, repair
from optimize.routing.initial import to_solution as initial_solution
from optimize.routing.model import HORIZON_MAX, Problem, Solution, Status
from optimize.routing.ortools_backend import OrToolsOptions, solve_ortools
from optimize.routing.recombine import Column, RouteCollector, columns_of, recombine, to_solution

_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Mapping:
    """What each PyVRP depot stands for, and how routes that must unload end.

    ``depots[j]`` is ``("depot", location)`` or ``("facility", f)``.  When the problem
    requires a last unload (:attr:`Problem.must_unload`), vehicle type ``t`` ends at a
    *virtual* depot whose distance from a location ``x`` is the cheapest detour
    ``x -> facility -> end depot`` (for type ``t``'s costs), so PyVRP prices the last
    unload exactly; ``last_unload[t][x]`` is that facility (``-1``: ``x`` is a facility,
    the route drives home directly).
    """

    depots: list[tuple[str, int]]
    last_unload: list[NDArray[np.int64]] | None = None


def _last_unload_rows(problem: Problem) -> tuple[list[NDArray[np.int64]], NDArray[np.int64],
                                                 NDArray[np.int64]]:
    """For every vehicle type, the facility of the cheapest last unload from every location
    (``-1`` at facility locations), and the distance / duration columns to the virtual end
    (to the end depot through that facility, its unload time included in the duration)."""
    dist, dur = np.asarray(problem.distance), np.asarray(problem.duration)
    fac_loc = np.array([f.location for f in problem.facilities])
    unload = np.array([f.unload_time for f in problem.facilities])
    is_fac = np.zeros(problem.num_locations, dtype=bool)
    is_fac[fac_loc] = True
    choice, dcol, tcol = [], [], []
    for vt in problem.vehicle_types:
        e = vt.end_depot
        via_d = dist[:, fac_loc] + dist[fac_loc, e][None, :]
        via_t = dur[:, fac_loc] + (unload + dur[fac_loc, e])[None, :]
        cost = vt.cost_per_km / 1000.0 * via_d + vt.cost_per_hour / 3600.0 * via_t
        best = np.argmin(cost + 1e-9 * via_d, axis=1)
        rows = np.arange(problem.num_locations)
        d_end = via_d[rows, best]
        t_end = via_t[rows, best]
        # from a facility (where PyVRP has just reloaded) the route drives straight home
        d_end = np.where(is_fac, dist[:, e], d_end)
        t_end = np.where(is_fac, dur[:, e], t_end)
        choice.append(np.where(is_fac, -1, best).astype(np.int64))
        dcol.append(d_end)
        tcol.append(t_end)
    return choice, np.array(dcol, dtype=np.int64), np.array(tcol, dtype=np.int64)


def to_pyvrp(problem: Problem) -> tuple[pyvrp.ProblemData, Mapping]:
    """Build PyVRP data; also return what each PyVRP depot is (:class:`Mapping`)."""
    scale = integer_cost_scale(problem)
    n_loc = problem.num_locations
    coords = problem.coordinates
    virtual_end = problem.must_unload and bool(problem.facilities)
    n_types = len(problem.vehicle_types)
    n_all = n_loc + (n_types if virtual_end else 0)

    def location(i: int) -> pyvrp.Location:
        j = i if i < n_loc else problem.vehicle_types[i - n_loc].end_depot
        return pyvrp.Location(float(coords[j][0]) if coords is not None else 0.0,
                              float(coords[j][1]) if coords is not None else 0.0)

    locations = [location(i) for i in range(n_all)]
    fleet_depots = sorted({vt.start_depot for vt in problem.vehicle_types}
                          | ({vt.end_depot for vt in problem.vehicle_types} if not virtual_end else set()))
    depots = [pyvrp.Depot(d, name=f"depot {d}") for d in fleet_depots]
    what: list[tuple[str, int]] = [("depot", d) for d in fleet_depots]
    for f, fac in enumerate(problem.facilities):
        a, b = problem.facility_window(f)
        depots.append(pyvrp.Depot(fac.location, tw_early=a,
                                  tw_late=b if b < HORIZON_MAX else _MAX,
                                  service_duration=fac.unload_time,
                                  name=problem.facility_name(f)))
        what.append(("facility", f))
    pos = {d: j for j, d in enumerate(fleet_depots)}
    reloads = list(range(len(fleet_depots), len(depots)))
    dist = np.asarray(problem.distance)
    dur = np.asarray(problem.duration)
    mapping = Mapping(what)
    end_of = [pos.get(vt.end_depot, -1) for vt in problem.vehicle_types]
    if virtual_end:
        choice, dcol, tcol = _last_unload_rows(problem)
        big_d = np.zeros((n_all, n_all), dtype=np.int64)
        big_t = np.zeros((n_all, n_all), dtype=np.int64)
        big_d[:n_loc, :n_loc] = dist
        big_t[:n_loc, :n_loc] = dur
        # a virtual end is never left: its outgoing row only has to be valid
        big_d[:n_loc, n_loc:] = dcol.T
        big_t[:n_loc, n_loc:] = tcol.T
        big_d[n_loc:, :n_loc] = dist[[vt.end_depot for vt in problem.vehicle_types], :]
        big_t[n_loc:, :n_loc] = dur[[vt.end_depot for vt in problem.vehicle_types], :]
        dist, dur = big_d, big_t
        for t, vt in enumerate(problem.vehicle_types):
            end_of[t] = len(depots)
            depots.append(pyvrp.Depot(n_loc + t, name=f"{vt.name or f'type {t}'} home after unloading"))
            what.append(("end", t))
        mapping = Mapping(what, choice)
    k = problem.num_compartments
    clients = []
    for i, s in enumerate(problem.stops):
        a, b = problem.stop_window(i)
        clients.append(pyvrp.Client(
            s.location, delivery=[0] * k, pickup=list(s.demand), service_duration=s.service_time,
            tw_early=a, tw_late=b if b < HORIZON_MAX else _MAX,
            prize=0 if s.required else round(s.penalty * scale), required=s.required,
            name=problem.stop_name(i)))
    vtypes = []
    for t, vt in enumerate(problem.vehicle_types):
        s0, s1 = problem.shift_of(t)
        vtypes.append(pyvrp.VehicleType(
            num_available=vt.count, capacity=list(vt.capacity),
            start_depot=pos[vt.start_depot], end_depot=end_of[t],
            fixed_cost=round(vt.fixed_cost * scale), tw_early=s0,
            tw_late=s1 if s1 < HORIZON_MAX else _MAX,
            shift_duration=vt.max_duration if vt.max_duration is not None else _MAX,
            unit_distance_cost=round(vt.cost_per_km / 1000.0 * scale),
            unit_duration_cost=round(vt.cost_per_hour / 3600.0 * scale),
            reload_depots=reloads, name=vt.name or f"type {t}"))
    matrices: list[Any] = [dist, dur]
    data = pyvrp.ProblemData(locations, clients, depots, vtypes, matrices[:1], matrices[1:])
    return data, mapping


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
    start
        Where the search starts: ``"random"`` (PyVRP's own: a random solution improved
        by an exhaustive local search) or ``"construction"`` (OR-Tools' first-solution
        heuristic, deterministic and feasible whenever one exists, improved by an
        exhaustive local search if that stays feasible).  Given initial routes replace
        either.  From a random start, short runs on tight problems (reload trips filling
        the shift) often end without a feasible solution.
    num_neighbours
        Size of the granular neighbourhood (PyVRP's ``NeighbourhoodParams``).
    history_length
        History of the late-acceptance criterion (PyVRP's ``history_length``).
    max_perturbations
        Largest number of moves of one perturbation (PyVRP's ``PerturbationParams``).
    penalty_updates
        Solutions between two updates of the infeasibility penalties (PyVRP's
        ``solutions_between_updates``).  PyVRP's defaults (50, 300, 25, 500) suit long
        runs; a run of a few hundred iterations never updates its penalties at 500 and
        then rarely returns to feasibility.
    """

    max_iterations: int | None = None
    restart_after: int | None = None
    recombine: bool = True
    exact_max_stops: int = MAX_STOPS
    start: Literal["random", "construction"] = "random"
    num_neighbours: int = 50
    history_length: int = 300
    max_perturbations: int = 25
    penalty_updates: int = 500

    def __post_init__(self) -> None:
        for name in ("num_neighbours", "history_length", "max_perturbations", "penalty_updates"):
            if getattr(self, name) < 1:
                raise ValueError(f"PyVRPOptions.{name} must be >= 1, got {getattr(self, name)}")

    @classmethod
    def short_runs(cls) -> PyVRPOptions:
        """Settings for searches of a few hundred iterations (daily plans inside a
        simulation): start from the construction, a neighbourhood of 20, late acceptance
        over 30 iterations, perturbations of at most 10 moves, penalties updated every 25
        solutions.  Measured on Liangxi sector-days (docs/garbage.md: plan quality)."""
        return cls(recombine=False, start="construction", num_neighbours=20, history_length=30,
                   max_perturbations=10, penalty_updates=25)


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


def _convert(problem: Problem, mapping: Mapping, best: pyvrp.Solution,
             wall_time: float, notes: tuple[str, ...] = (), status: Status = "feasible",
             backend: str = "pyvrp") -> Solution:
    offsets = np.cumsum([0] + [vt.count for vt in problem.vehicle_types])
    used = [0] * len(problem.vehicle_types)
    raw = []
    for route in best.routes():
        t = route.vehicle_type()
        visits: list[tuple[str, int, int]] = []
        sched = list(route.schedule())
        last_loc, last_departure = -1, 0
        for act in sched[1:-1]:
            if act.is_client():
                visits.append(("stop", act.idx, act.start_time))
                last_loc = problem.stops[act.idx].location
            else:
                kind, idx = mapping.depots[act.idx]
                visits.append((kind, idx, act.start_time))
                last_loc = -1
            last_departure = act.end_time
        if mapping.last_unload is not None and last_loc >= 0:
            # the virtual end priced this unload: put it in the route
            f = int(mapping.last_unload[t][last_loc])
            arrival = last_departure + int(problem.duration[last_loc, problem.facilities[f].location])
            visits.append(("facility", f, arrival))
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
    data, mapping = to_pyvrp(problem)
    chosen = solve_exact(data, time_limit)
    if chosen is None:
        return None
    best = to_solution(data, chosen)
    if not best.is_feasible():  # cannot happen: every enumerated route is feasible
        return None
    exact = costs_scale_exactly(problem)
    return _convert(problem, mapping, best, time.perf_counter() - t0, status=(
        "optimal" if exact else "feasible"), backend="exact", notes=(
        "every feasible route enumerated and the best combination found by set "
        "partitioning" + ("" if exact else " (optimal for costs rounded to the integer "
                          "scale, not proven for the exact costs)"),))


def _start(problem: Problem, data: pyvrp.ProblemData, mapping: Mapping,
           initial: Sequence[InitialRoute] | None) -> pyvrp.Solution:
    """The construction (or the given routes, repaired) as a PyVRP solution."""
    if initial:
        sol = initial_solution(problem, repair(problem, initial))
    else:
        sol = solve_ortools(problem, options=OrToolsOptions(), budget=Budget.work(1))
    return from_solution(problem, data, mapping, sol)


def search(problem: Problem, time_limit: float | None, seed: int = 0,
           options: PyVRPOptions | None = None, *, pool: bool = False,
           iterations: int | None = None,
           initial: Sequence[InitialRoute] | None = None) -> SearchOutcome:
    """Run PyVRP's search for ``time_limit`` seconds (``None``: no clock) and/or
    ``iterations``; pool its routes when ``pool``; start from ``initial`` routes (repaired,
    :func:`optimize.routing.initial.repair`) or where ``options.start`` says.

    This is :func:`pyvrp.solve` with the start made explicit: a start given or built
    here is first improved by an exhaustive local search (kept only if it stays
    feasible), then the iterated local search runs from it.

    Raises
    ------
    InfeasibleProblemError
        From the pre-checks, or when PyVRP ends without a feasible solution.
    """
    t0 = time.perf_counter()
    opts = options or PyVRPOptions()
    require_solvable_input(problem)
    data, mapping = to_pyvrp(problem)
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
    ils = IteratedLocalSearchParams(num_iters_no_improvement=restart,
                                    history_length=opts.history_length)
    if collector is not None:
        ils.callbacks = collector
    rng = RandomNumberGenerator(seed=seed)
    neighbours = compute_neighbours(data, NeighbourhoodParams(num_neighbours=opts.num_neighbours))
    ls = LocalSearch(data, rng, neighbours,
                     PerturbationManager(PerturbationParams(1, opts.max_perturbations)))
    for op in OPERATORS:
        if op.supports(data):
            ls.add_operator(op(data))
    penalty = PenaltyParams(solutions_between_updates=opts.penalty_updates)
    pm = PenaltyManager(penalty.midpoint_penalties(data), penalty)
    init = None
    if initial or opts.start == "construction":
        try:
            init = _start(problem, data, mapping, initial)
        except InfeasibleProblemError:
            init = None  # OR-Tools' construction found nothing: start as PyVRP does
    if init is not None:
        better = ls(init, pm.cost_evaluator(), exhaustive=True)
        if better.is_feasible() or not init.is_feasible():
            init = better
    else:
        init = ls(pyvrp.Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True)
    with warnings.catch_warnings():
        # PyVRP warns when a penalty reaches its cap; the answer is the best feasible
        # solution found either way (or the error below), so the warning says nothing more
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        best = IteratedLocalSearch(data, pm, ls, init, ils).run(stop, collect_stats=False).best
    if not best.is_feasible():
        raise NoSolutionFoundError(problem, [Infeasibility(
            (), "PyVRP found no feasible solution within the time limit; infeasibility is "
                "not proven (the ortools backend names conflicting stops)")])
    solution = _convert(problem, mapping, best, time.perf_counter() - t0)
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
    data, mapping = to_pyvrp(problem)
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
    return _convert(problem, mapping, sol, time.perf_counter() - t0, notes=(
        f"recombined {n_cols} pooled routes by set partitioning: "
        f"objective {before} -> {after} (PyVRP units)",))


def solve_pyvrp(problem: Problem, time_limit: float = 10.0, seed: int = 0,
                options: PyVRPOptions | None = None, *, budget: Budget | None = None,
                initial: Sequence[InitialRoute] | None = None) -> Solution:
    """Solve with PyVRP's iterated local search for ``time_limit`` seconds (or within
    ``budget``: ``effort`` = iterations), from ``initial`` routes if given (see
    :func:`search`), then (when ``options.recombine`` and the problem has no facilities)
    recombine the visited routes; small problems are first tried exactly
    (:func:`solve_small`).  Raises what :func:`search` raises."""
    t0 = time.perf_counter()
    opts = options or PyVRPOptions()
    if budget is not None:
        if budget.reproducible:
            return _solve_pyvrp_work(problem, int(budget.effort or 1), seed, opts, t0, initial)
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
                 pool=pool, initial=initial)
    better = None
    if pool:
        # with an iteration limit the run must be reproducible: the recombination then
        # runs to completion (up to the time left) rather than being cut at a hard limit
        better = improve(problem, [out], max(0.05, time_limit - (time.perf_counter() - t0)),
                         t0, hard_limit=opts.max_iterations is None)
    sol = better or out.solution
    return replace(sol, wall_time=time.perf_counter() - t0)


def _solve_pyvrp_work(problem: Problem, iterations: int, seed: int, opts: PyVRPOptions,
                      t0: float, initial: Sequence[InitialRoute] | None = None) -> Solution:
    """The reproducible path: exact attempt without deadline, then ``iterations`` of the
    search; no recombination (it is time-boxed)."""
    small = solve_small(problem, None, t0, opts.exact_max_stops)
    if small is not None:
        return small
    out = search(problem, None, seed, opts, iterations=iterations, initial=initial)
    return replace(out.solution, wall_time=time.perf_counter() - t0, limit_reached=True)


def from_solution(problem: Problem, data: pyvrp.ProblemData, mapping: Mapping,
                  solution: Solution) -> pyvrp.Solution:
    """``solution`` (of any backend) as a PyVRP solution of ``data``, to start a search from.

    Facility visits become reload depots; with a virtual end (:class:`Mapping`), the last
    unload of a route is left to the end depot, which prices it.
    """
    depot_of = {what: j for j, what in enumerate(mapping.depots)}
    routes = []
    for route in solution.routes:
        acts: list[pyvrp.Activity] = []
        for v in route.visits:
            if v.kind == "stop":
                acts.append(pyvrp.Activity(pyvrp.ActivityType.CLIENT, v.index))
            else:
                acts.append(pyvrp.Activity(pyvrp.ActivityType.DEPOT, depot_of[("facility", v.index)]))
        while mapping.last_unload is not None and acts and acts[-1].is_depot():
            acts.pop()
        # reloads twice in a row are one reload
        acts = [a for k, a in enumerate(acts) if not (a.is_depot() and k + 1 < len(acts)
                                                       and acts[k + 1].is_depot())]
        if acts:
            routes.append(pyvrp.Route(data, acts, route.vehicle_type))
    return pyvrp.Solution(data, routes)
