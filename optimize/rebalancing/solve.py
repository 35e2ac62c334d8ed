"""Van routes for bike rebalancing on OR-Tools' routing solver.

Model
-----
* Each station away from its target becomes one or more *visit nodes* ("chunks" of at most
  ``chunk`` bikes, so a van can serve part of a large imbalance; with ``binary_split`` sized
  1, 2, 4, ... first so that any quantity is a sum of chunks).  A chunk's demand is ``+q`` at
  a surplus station (pickup) and ``-q`` at a deficit station (drop-off).
* A ``load`` dimension accumulates these signed demands; its cumul variables live in
  ``[0, van capacity]`` and the start cumul is fixed to the van's initial load, so the load
  stays feasible at every node of the route (the one-commodity pickup-and-delivery
  constraint).  No pairing of pickups with deliveries is needed: any bike serves any deficit.
* A ``time`` dimension adds driving time plus handling time of the bikes at each node and
  is capped by the van's time budget.
* Every chunk is optional (a disjunction) with a penalty proportional to the value of the
  bikes it moves; the objective is metres driven plus penalties of chunks left unserved.
* Vans end anywhere: the route ends at a dummy node reached at zero cost.

Search is deterministic by default (cheapest insertion, then greedy descent to a local
optimum) so that the same problem always gives the same plan; a time limit only guards
against pathological instances.  ``guided_local_search_s`` switches to guided local search
with a time limit for better plans at the price of run-to-run determinism.

``budget`` (an :class:`optimize.budget.Budget`) bounds the greedy descent instead: one unit of
effort is one solution accepted by the local search (OR-Tools' ``solution_limit``, the routing
``ortools`` unit), so a work-only budget is reproducible on any machine and under any load.
``initial_routes`` warm-starts the search (e.g. from the previous hour's plan): the stations
of each van's route, in order, each taking the next unused visit node of that station; stations
that are no longer candidates are skipped and a start the model refuses falls back to
cheapest insertion.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from optimize.budget import Budget
from optimize.rebalancing.problem import Plan, RebalancingProblem, Route, Stop


@dataclass(frozen=True)
class SolveParams:
    """Settings of :func:`solve`.

    Attributes
    ----------
    chunk:
        Largest number of bikes in one visit node; ``0`` means half the largest van capacity.
    min_move:
        Stations whose imbalance is below this are ignored.
    max_candidates:
        Keep only the stations with the largest value of imbalance (value x bikes); ``0`` keeps all.
    time_limit_s:
        Safety limit on the search.
    guided_local_search_s:
        If positive, run guided local search for this long (not reproducible run to run).
    binary_split:
        Split a station's imbalance into chunks 1, 2, 4, ... (then ``chunk``-sized ones) so any
        quantity can be served; ``False`` uses equal chunks only (fewer nodes, coarser).
    budget:
        Search budget (module doc); when given it replaces ``time_limit_s`` (greedy descent
        stops after ``effort`` accepted solutions or at its wall-clock limit, whichever first).
    initial_routes:
        Warm start: per van, the stations (problem indices) of a previous route, in order.
    """

    chunk: int = 0
    min_move: int = 1
    max_candidates: int = 0
    time_limit_s: float = 10.0
    guided_local_search_s: float = 0.0
    binary_split: bool = False
    budget: Budget | None = None
    initial_routes: tuple[tuple[int, ...], ...] | None = None


def _chunks(total: int, size: int, binary: bool) -> list[int]:
    """Split ``total`` bikes into visit quantities of at most ``size``.

    ``binary``: 1, 2, 4, ... first, so that *every* quantity 0..total is a subset sum (a van
    with 3 bikes left can still serve 3 of a deficit of 7); otherwise equal pieces and a rest.
    """
    out: list[int] = []
    done = 0
    if binary:
        piece = 1
        while piece <= size and done + piece <= total:
            out.append(piece)
            done += piece
            piece *= 2
    rest = total - done
    out += [size] * (rest // size)
    if rest % size:
        out.append(rest % size)
    return out


def _warm_start(routing: pywrapcp.RoutingModel, manager: pywrapcp.RoutingIndexManager,
                sp: object, node_station: list[int], nv: int,
                initial: tuple[tuple[int, ...], ...] | None) -> pywrapcp.Assignment | None:
    """The assignment of ``initial`` routes on this model's visit nodes, or ``None``."""
    if not initial:
        return None
    free: dict[int, list[int]] = {}
    for node in range(len(node_station) - 1, -1, -1):  # popped from the end: first node first
        free.setdefault(node_station[node], []).append(nv + 1 + node)
    routes: list[list[int]] = []
    for k in range(nv):
        stations = initial[k] if k < len(initial) else ()
        routes.append([manager.NodeToIndex(free[st].pop()) for st in stations if free.get(st)])
    if not any(routes):
        return None
    routing.CloseModelWithParameters(sp)
    start = routing.ReadAssignmentFromRoutes(routes, True)
    return start if start is not None else None


def _visit_nodes(problem: RebalancingProblem, p: SolveParams,
                 values: np.ndarray) -> tuple[list[int], list[int]]:
    """The visit nodes: for each candidate station (away from its target by at least
    ``min_move``, of positive value, the ``max_candidates`` most valuable), its chunks; returns
    each node's station and signed demand (+ pickup, - drop-off)."""
    diff = np.asarray(problem.stock, dtype=np.int64) - np.asarray(problem.target, dtype=np.int64)
    cand = np.flatnonzero((np.abs(diff) >= p.min_move) & (values > 0))
    if p.max_candidates and len(cand) > p.max_candidates:
        worth = values[cand] * np.abs(diff[cand])
        order = np.argsort(-worth, kind="stable")[: p.max_candidates]
        cand = np.sort(cand[order])
    chunk = p.chunk or max(1, max(v.capacity for v in problem.vans) // 2)
    node_station: list[int] = []
    node_demand: list[int] = []
    for i in cand:
        sign = 1 if diff[i] > 0 else -1
        for q in _chunks(int(abs(diff[i])), chunk, p.binary_split):
            node_station.append(int(i))
            node_demand.append(sign * q)
    return node_station, node_demand


def _road_legs(problem: RebalancingProblem, node_station: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Metres and seconds between the nodes [van starts] [dummy end] [chunks] from the
    problem's street-network legs (arcs into a van's start are never driven: 0)."""
    roads = problem.roads
    assert roads is not None
    nv = len(problem.vans)
    idx = np.asarray(node_station, dtype=np.int64)
    n_nodes = nv + 1 + idx.size
    out = []
    for between, from_van in ((roads.distance_m, roads.from_van_m), (roads.duration_s, roads.from_van_s)):
        m = np.zeros((n_nodes, n_nodes))
        m[nv + 1:, nv + 1:] = np.asarray(between, dtype=float)[np.ix_(idx, idx)]
        m[:nv, nv + 1:] = np.asarray(from_van, dtype=float)[:, idx]
        out.append(m)
    return out[0], out[1]


def _routing_model(problem: RebalancingProblem, values: np.ndarray, node_station: list[int],
                   demand: list[int]) -> tuple[pywrapcp.RoutingIndexManager, pywrapcp.RoutingModel]:
    """The OR-Tools model of the module doc on the node layout [van starts (nv)] [dummy end (1)]
    [chunks]: arc costs in whole metres, the load and time dimensions, the vans' start loads,
    time budgets and end-load penalties, and one disjunction per chunk."""
    nv = len(problem.vans)
    n_nodes = nv + 1 + len(node_station)
    end_node = nv
    pts = np.vstack(
        [np.array([[v.x, v.y] for v in problem.vans], dtype=float),
         np.zeros((1, 2)),
         np.asarray(problem.positions, dtype=float)[node_station]]
    )
    # street distance as the checker measures it; the cost uses whole metres
    seconds = None
    if problem.roads is None:
        metres = problem.detour * np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    else:
        metres, seconds = _road_legs(problem, node_station)
    metres[:, end_node] = 0.0
    metres[end_node, :] = 0.0
    dist = np.floor(metres + 0.5).astype(np.int64)

    manager = pywrapcp.RoutingIndexManager(n_nodes, nv, list(range(nv)), [end_node] * nv)
    routing = pywrapcp.RoutingModel(manager)
    dist_cb = routing.RegisterTransitMatrix(dist.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)

    demand_cb = routing.RegisterUnaryTransitVector(demand)
    routing.AddDimensionWithVehicleCapacity(
        demand_cb, 0, [v.capacity for v in problem.vans], False, "load"
    )
    load = routing.GetDimensionOrDie("load")

    time_cbs = []
    for v in problem.vans:
        handling = np.array([abs(d) * v.handling_s_per_bike for d in demand])
        # Each leg rounded *up* to whole seconds, so that a route within the budget in the
        # model is within it in continuous time too (rounding to nearest once let 21 legs
        # add up to 2649.5 s under a 2648 s budget).
        drive = metres / v.speed_m_s if seconds is None else seconds
        tmat = np.ceil(drive + handling[:, None])
        tmat[:, end_node] = np.ceil(handling)
        time_cbs.append(routing.RegisterTransitMatrix(tmat.astype(np.int64).tolist()))
    horizon = int(math.ceil(max(v.time_budget_s for v in problem.vans)))
    routing.AddDimensionWithVehicleTransits(time_cbs, 0, horizon, True, "time")
    tdim = routing.GetDimensionOrDie("time")

    for k, v in enumerate(problem.vans):
        load.CumulVar(routing.Start(k)).SetValue(v.load)
        tdim.CumulVar(routing.End(k)).SetMax(int(math.floor(v.time_budget_s)))
        if v.end_load_value > 0:
            # Bikes left on board are out of service: a soft bound cancels their pickup reward.
            coeff = int(round(v.end_load_value * problem.metres_per_value))
            load.SetCumulVarSoftUpperBound(routing.End(k), 0, max(coeff, 1))

    for node in range(nv + 1, n_nodes):
        st = node_station[node - nv - 1]
        q = abs(demand[node])
        penalty = int(round(values[st] * q * problem.metres_per_value))
        routing.AddDisjunction([manager.NodeToIndex(node)], max(penalty, 1))
    return manager, routing


def _search_parameters(p: SolveParams) -> object:
    """Cheapest insertion, then greedy descent bounded by the budget (or the safety time
    limit), or guided local search for ``guided_local_search_s``."""
    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    if p.guided_local_search_s > 0:
        sp.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        )
        sp.time_limit.FromMilliseconds(int(p.guided_local_search_s * 1000))
    else:
        sp.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
        if p.budget is None:
            sp.time_limit.FromMilliseconds(int(p.time_limit_s * 1000))
        else:
            if p.budget.effort is not None:
                sp.solution_limit = max(1, int(p.budget.effort))
            if p.budget.time_limit is not None:
                sp.time_limit.FromMilliseconds(max(1, int(p.budget.time_limit * 1000)))
    return sp


def _routes(routing: pywrapcp.RoutingModel, manager: pywrapcp.RoutingIndexManager, sol: pywrapcp.Assignment,
            node_station: list[int], demand: list[int], nv: int) -> tuple[Route, ...]:
    """Every van's route read from ``sol``, consecutive chunks of one station merged into one stop."""
    routes = []
    for k in range(nv):
        stops: list[Stop] = []
        idx = routing.Start(k)
        idx = sol.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            node = manager.IndexToNode(idx)
            st, q = node_station[node - nv - 1], demand[node]
            if stops and stops[-1].station == st:
                stops[-1] = Stop(st, stops[-1].quantity + q)
            else:
                stops.append(Stop(st, q))
            idx = sol.Value(routing.NextVar(idx))
        routes.append(Route(k, tuple(stops)))
    return tuple(routes)


def solve(problem: RebalancingProblem, params: SolveParams | None = None) -> Plan:
    """Plan van routes and pickup/drop-off quantities for ``problem``.

    Returns a :class:`Plan` whose routes list every van (empty routes included).
    """
    p = params or SolveParams()
    t0 = time.perf_counter()
    nv = len(problem.vans)
    values = problem.values()
    node_station, node_demand = _visit_nodes(problem, p, values)
    empty = Plan(tuple(Route(v, ()) for v in range(nv)), 0.0, time.perf_counter() - t0, "nothing to do")
    if not node_station:
        return empty
    demand = [0] * (nv + 1) + node_demand
    manager, routing = _routing_model(problem, values, node_station, demand)
    sp = _search_parameters(p)
    sol = None
    start = _warm_start(routing, manager, sp, node_station, nv, p.initial_routes)
    if start is not None:
        sol = routing.SolveFromAssignmentWithParameters(start, sp)
    if sol is None:
        sol = routing.SolveWithParameters(sp)
    if sol is None:
        # Always feasible (every route may stay empty), so this is a search failure.
        return Plan(empty.routes, math.nan, time.perf_counter() - t0, "no solution found")
    routes = _routes(routing, manager, sol, node_station, demand, nv)
    return Plan(routes, float(sol.ObjectiveValue()), time.perf_counter() - t0, "ok")
