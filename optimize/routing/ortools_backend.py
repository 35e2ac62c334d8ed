"""OR-Tools routing backend: supports every feature of :class:`~optimize.routing.model.Problem`.

Model
-----
* Nodes: one per depot location used by the fleet, one per stop, and ``copies`` optional
  nodes per facility (the standard *reload* pattern: a route may unload at most once per
  copy, so ``copies`` bounds the unloads per facility).
* Costs are integers inside OR-Tools: every cost coefficient is multiplied by the
  smallest power of ten (up to 10**6) that makes all of them integral, so the objective
  is exact whenever the inputs have at most six decimals.
* Time: one dimension whose transit is ``service(i) + duration(i, j)``; waiting is slack.
  Windows bound the cumul (service start).  Route duration is the span; its cost
  ``cost_per_hour`` is a span cost coefficient.  Breaks are OR-Tools vehicle breaks.
* Load: one dimension per compartment.  A facility copy has demand ``-C`` (``C`` the
  largest capacity) and slack in ``[0, C]``, so the load after it can be set to zero;
  every other node has zero slack.  ``unload_before_return`` pins the load at the end
  node to zero.

Search: first-solution strategy and metaheuristic are options; the default is
path-cheapest-arc for plain capacitated problems and parallel cheapest insertion
otherwise, followed by guided local search.  A search may start from given routes
(:mod:`optimize.routing.initial`) instead of a first-solution heuristic.

Budget: OR-Tools has no seed and is single-threaded, so a search stopped by a work limit
(:class:`~optimize.budget.Budget` ``effort``: local-search solutions, OR-Tools'
``solution_limit``) gives the same routes on any machine.  A time-limited search is
deterministic on one machine only as far as the time limit cuts it at the same point,
which it does not reliably across machines or under load.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from optimize.budget import Budget
from optimize.routing._assemble import RawRoute, assemble
from optimize.routing._assemble import integer_cost_scale as cost_scale
from optimize.routing.diagnose import (
    Infeasibility,
    InfeasibleProblemError,
    NoSolutionFoundError,
    require_solvable_input,
)
from optimize.routing.initial import InitialRoute, repair
from optimize.routing.model import HORIZON_MAX, Problem, Solution


@dataclass(frozen=True)
class OrToolsOptions:
    """Search settings of the OR-Tools backend.

    Parameters
    ----------
    first_solution
        Name of a ``FirstSolutionStrategy`` (``"SAVINGS"``, ``"PATH_CHEAPEST_ARC"``,
        ``"PARALLEL_CHEAPEST_INSERTION"``, ...) or ``"AUTO"`` to choose by problem shape.
    metaheuristic
        Name of a ``LocalSearchMetaheuristic`` (``"GUIDED_LOCAL_SEARCH"``, ...).
    facility_copies
        Unload slots per facility; ``None`` estimates it from demand and fleet size.
    log_search
        Print OR-Tools' search log.
    solution_limit
        Stop after this many solutions of the local search (per search round), besides
        the time limit.  Unlike a time limit this does not depend on machine speed or
        load, so set it (and a generous time limit) for reproducible runs.
    """

    first_solution: str = "AUTO"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    facility_copies: int | None = None
    log_search: bool = False
    solution_limit: int | None = None


#: Search statuses meaning "stopped by a limit before a local optimum".
_STOPPED_BY_LIMIT = (
    routing_enums_pb2.RoutingSearchStatus.ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED,
    routing_enums_pb2.RoutingSearchStatus.ROUTING_FAIL_TIMEOUT,
)

#: The "time limit" of a search stopped by work only (module doc): 100 days.
_NO_CLOCK_MS = 100 * 24 * 3600 * 1000


def _horizon(problem: Problem) -> int:
    """An upper bound on every time in a sensible solution."""
    ends = [problem.shift_of(t)[1] for t in range(len(problem.vehicle_types))]
    if all(e < HORIZON_MAX for e in ends):
        return max(ends)
    finite = [e for e in ends if e < HORIZON_MAX]
    finite += [w[1] for w in (s.time_window for s in problem.stops) if w is not None]
    base = max(finite, default=0)
    # Serving everything by one vehicle, one stop after another, fits in this bound.
    work = sum(s.service_time for s in problem.stops) + sum(
        f.unload_time for f in problem.facilities) * (len(problem.stops) + 1)
    drive = int(problem.duration.max(initial=0)) * (2 * len(problem.stops) + 2)
    return int(min(HORIZON_MAX, base + work + drive + 1))


def facility_copies(problem: Problem) -> int:
    """Default number of unload slots per facility."""
    if not problem.facilities:
        return 0
    n_vehicles = sum(vt.count for vt in problem.vehicle_types)
    trips = 0
    for c in range(problem.num_compartments):
        total = sum(s.demand[c] for s in problem.stops)
        cap = min((vt.capacity[c] for vt in problem.vehicle_types if vt.count > 0), default=1)
        trips = max(trips, math.ceil(total / max(cap, 1)))
    return max(1, trips + (n_vehicles if problem.must_unload else 0))


class _Built:
    """The OR-Tools model for one problem, with the maps needed to read a solution."""

    def __init__(self, problem: Problem, options: OrToolsOptions, relax: int | None) -> None:
        self.problem = problem
        self.scale = cost_scale(problem)
        vehicles = problem.vehicles()
        self.vehicle_type = vehicles
        depots = sorted({vt.start_depot for vt in problem.vehicle_types}
                        | {vt.end_depot for vt in problem.vehicle_types})
        # node -> (kind, index, location)
        nodes: list[tuple[str, int, int]] = [("depot", d, d) for d in depots]
        self.stop_node0 = len(nodes)
        nodes += [("stop", i, s.location) for i, s in enumerate(problem.stops)]
        copies = options.facility_copies if options.facility_copies is not None \
            else facility_copies(problem)
        self.fac_node0 = len(nodes)
        for f, fac in enumerate(problem.facilities):
            nodes += [("facility", f, fac.location)] * copies
        self.nodes = nodes
        dpos = {d: k for k, d in enumerate(depots)}
        starts = [dpos[problem.vehicle_types[t].start_depot] for t in vehicles]
        ends = [dpos[problem.vehicle_types[t].end_depot] for t in vehicles]
        self.manager = pywrapcp.RoutingIndexManager(len(nodes), len(vehicles), starts, ends)
        self.routing = pywrapcp.RoutingModel(self.manager)
        self.timed_out = False
        self.warm_started = False
        self.limit_reached = False
        self._build_costs(relax)
        self._build_load()
        self._build_time()

    # ------------------------------------------------------------------ pieces
    def _node_matrix(self, loc_matrix: NDArray[np.int64]) -> NDArray[np.int64]:
        """A location matrix re-indexed by OR-Tools node."""
        locs = np.array([n[2] for n in self.nodes], dtype=np.int64)
        return np.asarray(loc_matrix, dtype=np.int64)[np.ix_(locs, locs)]

    def _build_costs(self, relax: int | None) -> None:
        p, r, m, scale = self.problem, self.routing, self.manager, self.scale
        dist = p.distance
        by_coef: dict[int, int] = {}
        for v, t in enumerate(self.vehicle_type):
            vt = p.vehicle_types[t]
            coef = round(vt.cost_per_km / 1000.0 * scale)
            if coef not in by_coef:
                # Matrices registered in C++: no Python call per arc evaluation.
                by_coef[coef] = r.RegisterTransitMatrix((coef * self._node_matrix(dist)).tolist())
            r.SetArcCostEvaluatorOfVehicle(by_coef[coef], v)
            r.SetFixedCostOfVehicle(round(vt.fixed_cost * scale), v)
        for i, s in enumerate(p.stops):
            idx = m.NodeToIndex(self.stop_node0 + i)
            if not s.required:
                r.AddDisjunction([idx], round(s.penalty * scale))
            elif relax is not None:
                r.AddDisjunction([idx], relax)
        for node in range(self.fac_node0, len(self.nodes)):
            r.AddDisjunction([m.NodeToIndex(node)], 0)

    def _build_load(self) -> None:
        p, r, m = self.problem, self.routing, self.manager
        has_fac = bool(p.facilities)
        self.load_dims = []
        for c in range(p.num_compartments):
            cmax = max(vt.capacity[c] for vt in p.vehicle_types)
            demand = [0] * len(self.nodes)
            for k, (kind, idx, _) in enumerate(self.nodes):
                if kind == "stop":
                    demand[k] = p.stops[idx].demand[c]
                elif kind == "facility":
                    demand[k] = -cmax
            cbi = r.RegisterUnaryTransitVector(demand)
            caps = [p.vehicle_types[t].capacity[c] for t in self.vehicle_type]
            name = f"load{c}"
            r.AddDimensionWithVehicleCapacity(cbi, cmax if has_fac else 0, caps, True, name)
            dim = r.GetDimensionOrDie(name)
            if has_fac:
                for k, (kind, _, _) in enumerate(self.nodes):
                    if kind != "facility" and k >= self.stop_node0:
                        dim.SlackVar(m.NodeToIndex(k)).SetValue(0)
                for v in range(len(self.vehicle_type)):
                    dim.SlackVar(r.Start(v)).SetValue(0)
            if p.must_unload:
                for v in range(len(self.vehicle_type)):
                    dim.CumulVar(r.End(v)).SetMax(0)
            self.load_dims.append(dim)

    def _build_time(self) -> None:
        p, r, m = self.problem, self.routing, self.manager
        dur = p.duration
        service = [0] * len(self.nodes)
        for k, (kind, idx, _) in enumerate(self.nodes):
            if kind == "stop":
                service[k] = p.stops[idx].service_time
            elif kind == "facility":
                service[k] = p.facilities[idx].unload_time
        transit = self._node_matrix(dur) + np.asarray(service, dtype=np.int64)[:, None]
        cbi = r.RegisterTransitMatrix(transit.tolist())
        horizon = _horizon(p)
        r.AddDimension(cbi, horizon, horizon, False, "time")
        td = r.GetDimensionOrDie("time")
        self.time_dim = td
        for i in range(len(p.stops)):
            a, b = p.stop_window(i)
            td.CumulVar(m.NodeToIndex(self.stop_node0 + i)).SetRange(a, min(b, horizon))
        for k in range(self.fac_node0, len(self.nodes)):
            a, b = p.facility_window(self.nodes[k][1])
            td.CumulVar(m.NodeToIndex(k)).SetRange(a, min(b, horizon))
        solver = r.solver()
        visit_transits = [service[m.IndexToNode(i)] for i in range(r.Size())]
        self.breaks: dict[int, object] = {}
        for v, t in enumerate(self.vehicle_type):
            vt = p.vehicle_types[t]
            s0, s1 = p.shift_of(t)
            s1 = min(s1, horizon)
            td.CumulVar(r.Start(v)).SetRange(s0, s1)
            td.CumulVar(r.End(v)).SetRange(s0, s1)
            if vt.max_duration is not None:
                td.SetSpanUpperBoundForVehicle(vt.max_duration, v)
            coef = round(vt.cost_per_hour / 3600.0 * self.scale)
            if coef:
                td.SetSpanCostCoefficientForVehicle(coef, v)
            # Tight schedules: return as early as possible, then leave as late as that allows.
            r.AddVariableMinimizedByFinalizer(td.CumulVar(r.End(v)))
            r.AddVariableMaximizedByFinalizer(td.CumulVar(r.Start(v)))
            if vt.break_ is not None:
                lunch = vt.break_
                iv = solver.FixedDurationIntervalVar(
                    lunch.earliest_start, lunch.latest_start, lunch.duration, False, f"break{v}")
                td.SetBreakIntervalsOfVehicle([iv], v, visit_transits)
                self.breaks[v] = iv

    # ------------------------------------------------------------------ search
    def _params(self, time_limit: float | None, options: OrToolsOptions,
                first_only: bool = False, solutions: int | None = None) -> object:
        """Search parameters; ``time_limit`` ``None`` = no clock, ``solutions`` a work limit."""
        params = pywrapcp.DefaultRoutingSearchParameters()
        fs = options.first_solution.upper()
        if fs == "AUTO":
            plain = (not self.problem.facilities
                     and all(s.time_window is None for s in self.problem.stops)
                     and all(vt.break_ is None and vt.shift is None
                             for vt in self.problem.vehicle_types))
            # Measured on X-n101/n139/n186 (20 s): path-cheapest-arc beat savings by
            # 0-7.5 %; with windows or facilities parallel insertion is the robust choice
            # (path-cheapest-arc found no first solution on the 300-bin waste instance).
            fs = "PATH_CHEAPEST_ARC" if plain else "PARALLEL_CHEAPEST_INSERTION"
        try:
            params.first_solution_strategy = getattr(
                routing_enums_pb2.FirstSolutionStrategy, fs)
            params.local_search_metaheuristic = getattr(
                routing_enums_pb2.LocalSearchMetaheuristic, options.metaheuristic.upper())
        except AttributeError as exc:
            raise ValueError(f"unknown OR-Tools strategy: {exc}") from exc
        # Without a clock OR-Tools warns that guided local search "may run forever": a work
        # limit stops it, and a limit of 100 days only silences the warning.
        params.time_limit.FromMilliseconds(
            _NO_CLOCK_MS if time_limit is None else max(1, int(time_limit * 1000)))
        params.log_search = options.log_search
        limits = [x for x in (solutions, options.solution_limit) if x is not None]
        if first_only:
            params.solution_limit = 1
        elif limits:
            params.solution_limit = max(1, int(min(limits)))
        return params

    def initial_assignment(self, routes: Sequence[InitialRoute],
                           options: OrToolsOptions) -> pywrapcp.Assignment | None:
        """An assignment for repaired initial routes (:func:`~optimize.routing.initial.repair`),
        or ``None`` when OR-Tools cannot read them (too few facility copies, a break)."""
        r, m = self.routing, self.manager
        free_vehicles: dict[int, list[int]] = {}
        for v, t in enumerate(self.vehicle_type):
            free_vehicles.setdefault(t, []).append(v)
        copies: dict[int, list[int]] = {}
        for node in range(self.fac_node0, len(self.nodes)):
            copies.setdefault(self.nodes[node][1], []).append(node)
        per_vehicle: list[list[int]] = [[] for _ in self.vehicle_type]
        for route in routes:
            vs = free_vehicles.get(route.vehicle_type)
            if not vs:
                continue
            seq = []
            for kind, i in route.visits:
                if kind == "stop":
                    seq.append(m.NodeToIndex(self.stop_node0 + i))
                elif copies.get(i):
                    seq.append(m.NodeToIndex(copies[i].pop()))
                else:
                    return None
            per_vehicle[vs.pop(0)] = seq
        r.CloseModelWithParameters(self._params(None, options))
        return r.ReadAssignmentFromRoutes(per_vehicle, True)

    def search(self, budget: Budget, options: OrToolsOptions,
               initial: Sequence[InitialRoute] | None = None) -> pywrapcp.Assignment | None:
        """Search within ``budget``; with facilities, in rounds with clean-ups.

        Guided local search rarely deactivates a surplus facility copy once a route holds
        it (measured: one route of a 300-bin instance kept 17 unloads), so with facilities
        the budget is split into rounds; between rounds :meth:`_without_idle_unloads`
        removes unloads that capacity does not need and the search restarts from there.
        A work budget (``budget.effort`` local-search solutions) is split the same way as
        a time budget.  ``initial`` routes, when OR-Tools can read them, replace the first
        solution.  ``self.timed_out`` records whether a failure was a time-out (not a proof).
        """
        clock = budget.time_limit
        effort = budget.effort
        # With facilities, 5 % of the budget is kept for the final clean-up.
        reserve = 0.05 if self.problem.facilities else 0.0
        t_end = None if clock is None else time.perf_counter() + clock * (1 - reserve)
        sol = self.initial_assignment(initial, options) if initial else None
        self.warm_started = sol is not None
        if sol is None:
            # The first solution gets the whole budget: on a loaded machine a fixed share of
            # it may not suffice, and without a first solution there is nothing to improve.
            t_first = time.perf_counter()
            sol = self.routing.SolveWithParameters(self._params(clock, options, True))
            # OR-Tools does not always say FAIL_TIMEOUT when the clock stopped its
            # first-solution heuristic (seen as plain FAIL on a loaded CI machine); a failure
            # that used up the budget is a time-out too, never a proof of infeasibility.
            self.timed_out = self.routing.status() == \
                routing_enums_pb2.RoutingSearchStatus.ROUTING_FAIL_TIMEOUT or (
                    clock is not None and time.perf_counter() - t_first >= 0.9 * clock)
            if sol is None:
                return None
        shares = (0.5, 1.0) if self.problem.facilities else (1.0,)
        spent = 0.0
        for share in shares:
            start = sol
            if self.problem.facilities:
                cleaned = self.routing.ReadAssignmentFromRoutes(self._without_idle_unloads(sol),
                                                                True)
                if cleaned is not None:  # None: the cleaned routes violate something
                    start = cleaned
            left = None if t_end is None else share * (t_end - time.perf_counter())
            if left is not None and left <= 0.01:
                break
            work = None
            if effort is not None:
                work = int(round(share * effort * (1 - reserve) - spent))
                spent += max(work, 0)
                if work < 1:
                    continue
            better = self.routing.SolveFromAssignmentWithParameters(
                start, self._params(left, options, solutions=work))
            self.limit_reached = self.routing.status() in _STOPPED_BY_LIMIT
            if better is not None:
                sol = better
        if self.problem.facilities:
            # A last clean-up without search (one solution: the restored routes, timed).
            cleaned = self.routing.ReadAssignmentFromRoutes(self._without_idle_unloads(sol), True)
            if cleaned is not None:
                final = self.routing.SolveFromAssignmentWithParameters(
                    cleaned, self._params(None if clock is None else max(0.05, reserve * clock),
                                          options, True))
                if final is not None and final.ObjectiveValue() < sol.ObjectiveValue():
                    sol = final
        return sol

    def _without_idle_unloads(self, sol: pywrapcp.Assignment) -> list[list[int]]:
        """Routes (as indices) without unloads that capacity and the final unload do not need."""
        p, r, m = self.problem, self.routing, self.manager
        out: list[list[int]] = []
        for v, t in enumerate(self.vehicle_type):
            cap = p.vehicle_types[t].capacity
            seq = []
            idx = sol.Value(r.NextVar(r.Start(v)))
            while not r.IsEnd(idx):
                seq.append(idx)
                idx = sol.Value(r.NextVar(idx))
            # Split into segments of stops separated by unloads.
            segments: list[list[int]] = [[]]
            unloads: list[int] = []
            for i in seq:
                if self.nodes[m.IndexToNode(i)][0] == "facility":
                    unloads.append(i)
                    segments.append([])
                else:
                    segments[-1].append(i)

            def load(seg: list[int], cap: tuple[int, ...] = cap) -> list[int]:
                tot = [0] * len(cap)
                for i in seg:
                    d = p.stops[self.nodes[m.IndexToNode(i)][1]].demand
                    tot = [a + b for a, b in zip(tot, d, strict=True)]
                return tot
            kept_segments = [segments[0]]
            kept_unloads: list[int] = []
            for u, seg in zip(unloads, segments[1:], strict=True):
                merged = kept_segments[-1] + seg
                last = u == unloads[-1]
                needed_at_end = last and p.must_unload and any(load(merged))
                if not needed_at_end and all(a <= c for a, c in zip(load(merged), cap,
                                                                    strict=True)) \
                        and not (last and not seg and p.must_unload):
                    kept_segments[-1] = merged
                else:
                    kept_unloads.append(u)
                    kept_segments.append(seg)
            route: list[int] = list(kept_segments[0])
            for u, seg in zip(kept_unloads, kept_segments[1:], strict=True):
                route += [u, *seg]
            out.append(route)
        return out

    def read(self, sol: pywrapcp.Assignment) -> list[RawRoute]:
        r, m, td = self.routing, self.manager, self.time_dim
        out: list[RawRoute] = []
        for v, t in enumerate(self.vehicle_type):
            idx = sol.Value(r.NextVar(r.Start(v)))
            if r.IsEnd(idx):
                continue
            visits = []
            while not r.IsEnd(idx):
                kind, i, _ = self.nodes[m.IndexToNode(idx)]
                visits.append((kind, i, sol.Value(td.CumulVar(idx))))
                idx = sol.Value(r.NextVar(idx))
            start = sol.Value(td.CumulVar(r.Start(v)))
            end = sol.Value(td.CumulVar(r.End(v)))
            bstart = None
            brk = self.problem.vehicle_types[t].break_
            if v in self.breaks and brk is not None:
                b = sol.StartValue(self.breaks[v])
                if start <= b and b + brk.duration <= end:
                    bstart = b
            out.append(RawRoute(v, t, start, end, visits, bstart))
        return out


def solve_ortools(
    problem: Problem,
    time_limit: float = 10.0,
    seed: int = 0,
    options: OrToolsOptions | None = None,
    *,
    budget: Budget | None = None,
    initial: Sequence[InitialRoute] | None = None,
) -> Solution:
    """Solve ``problem`` with OR-Tools routing within ``budget`` (default: ``time_limit``
    seconds of wall time).

    ``seed`` is accepted for a uniform interface; OR-Tools routing has no seed.  With a
    work budget (:class:`~optimize.budget.Budget` ``effort`` = local-search solutions and no
    time limit) the answer does not depend on the machine.  ``initial`` routes are repaired
    (:func:`~optimize.routing.initial.repair`) and replace the first solution.

    Raises
    ------
    InfeasibleProblemError
        When pre-checks find an impossibility, or when the search finds no solution;
        in the latter case a relaxed re-solve names the stops that could not be placed.
    """
    del seed
    t0 = time.perf_counter()
    opts = options or OrToolsOptions()
    budget = budget or Budget.wall(time_limit)
    require_solvable_input(problem)
    built = _Built(problem, opts, relax=None)
    # A clock budget is wall time for the whole call, model building included.
    if budget.time_limit is not None:
        budget = dataclasses.replace(
            budget, time_limit=max(0.05, budget.time_limit - (time.perf_counter() - t0)))
    start = repair(problem, initial) if initial else None
    sol = built.search(budget, opts, start)
    if sol is None and built.timed_out:
        raise NoSolutionFoundError(problem, [Infeasibility(
            (), f"OR-Tools found no first solution within {budget.seconds():g} s; "
                f"infeasibility is not proven (pre-checks passed): raise the time limit")])
    if sol is None:
        raise InfeasibleProblemError(problem, _diagnose_by_relaxing(problem, opts, budget))
    raw = built.read(sol)
    notes = ("started from the given routes",) if built.warm_started else ()
    return assemble(problem, raw, backend="ortools", wall_time=time.perf_counter() - t0,
                    notes=notes, limit_reached=built.limit_reached)


def _diagnose_by_relaxing(
    problem: Problem, opts: OrToolsOptions, budget: Budget
) -> list[Infeasibility]:
    """Re-solve with required stops droppable at a high penalty; name the dropped ones."""
    scale = cost_scale(problem)
    big = int(min(2**40, 1 + int(problem.distance.max(initial=0)) * scale * 1000
                  * (len(problem.stops) + 1)))
    # Insertion heuristics handle droppable nodes well; path-building ones often do not.
    relaxed_opts = dataclasses.replace(opts, first_solution="PARALLEL_CHEAPEST_INSERTION")
    built = _Built(problem, relaxed_opts, relax=big)
    relaxed_budget = budget if budget.time_limit is None else dataclasses.replace(
        budget, time_limit=max(2.0, budget.time_limit))
    sol = built.search(relaxed_budget, relaxed_opts)
    if sol is None:
        return [Infeasibility((), "no solution found even with every stop optional: "
                                  "check shifts, facility hours and breaks")]
    served = {i for rr in built.read(sol) for k, i, _ in rr.visits if k == "stop"}
    dropped = tuple(i for i, s in enumerate(problem.stops) if s.required and i not in served)
    if not dropped:
        return [Infeasibility((), "the solver found no solution within the time limit, "
                                  "but a relaxed model serves every stop: raise the time limit")]
    return [Infeasibility(dropped, "no feasible solution was found; a relaxed solve could not "
                                   "fit these stops into the fleet's capacity, shifts, breaks "
                                   "and time windows")]
