"""Set-partitioning recombination of the routes PyVRP's search passes through.

PyVRP's iterated local search visits many good solutions whose routes, taken together,
often contain a better solution than any single one it kept: it ends in a local optimum
that differs from the global one by an exchange between routes it did not find.  The
classical remedy (route pool + set partitioning, e.g. Subramanian, Uchoa & Ochi 2013) is
done here:

1. :class:`RouteCollector` watches the search (a PyVRP callback) and keeps every feasible
   route of every candidate within ``slack`` of the best cost, and every new best's routes.
2. :func:`recombine` chooses, among the pooled routes (several searches' pools may be
   merged), a set that serves every required client exactly once and every optional client
   at most once, uses at most the available vehicles of each type, and minimises route
   costs plus the prizes of the clients it leaves out — PyVRP's own objective.  It is an
   integer programme solved by HiGHS (``scipy.optimize.milp``); columns whose LP reduced
   cost exceeds the gap between the incumbent and the LP bound cannot be in a strictly
   better solution and are dropped first (exact, because costs are integers).

Only single-trip routes are pooled: a route that reloads at a facility is a sequence of
trips whose cost is not the sum of independent parts, so such routes are skipped (the
search result itself still counts).  The recombined solution is never worse than the
incumbent: it is returned only when strictly cheaper.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyvrp
from pyvrp.IteratedLocalSearch import IteratedLocalSearchCallbacks

from optimize.setpartition import improve_partition


@dataclass(frozen=True)
class Column:
    """One route as a set-partitioning column.

    ``clients`` are PyVRP client indices (0-based among clients, as in ``pyvrp.Route``)
    in visiting order;
    ``cost`` is the route's distance, duration and fixed cost minus the prizes it collects,
    in PyVRP's integer units.
    """

    vehicle_type: int
    clients: tuple[int, ...]
    cost: int


def route_cost(route: pyvrp.Route) -> int:
    """The column cost of a PyVRP route (see :class:`Column`)."""
    return int(route.distance_cost() + route.duration_cost() + route.fixed_vehicle_cost()
               - route.prizes())


def columns_of(solution: pyvrp.Solution) -> list[Column] | None:
    """The routes of ``solution`` as columns; ``None`` if one reloads (not poolable)."""
    out = []
    for r in solution.routes():
        col = _parse(r.vehicle_type(), str(r), route_cost(r))
        if col is None:
            return None
        out.append(col)
    return out


def _parse(vehicle_type: int, text: str, cost: int) -> Column | None:
    # PyVRP prints a route as its visits, clients as "C<client index>"; anything else (a
    # reload depot between trips) makes the route unpoolable.
    tokens = text.split()
    if not tokens or any(t[0] != "C" or not t[1:].isdigit() for t in tokens):
        return None
    return Column(vehicle_type, tuple(int(t[1:]) for t in tokens), cost)


class RouteCollector(IteratedLocalSearchCallbacks):  # type: ignore[misc]
    """PyVRP search callback pooling the feasible routes of near-best candidates.

    Parameters
    ----------
    slack
        A candidate's routes are pooled when its penalised cost is within this fraction
        of the best cost so far (the best solution's routes always are).
    max_routes
        Pool size cap, bounding memory and the size of the set-partitioning problem.
    """

    def __init__(self, slack: float = 0.01, max_routes: int = 60_000) -> None:
        self.slack = slack
        self.max_routes = max_routes
        # str(route) is PyVRP's C++ rendering: by far the cheapest key per route
        self._seen: dict[tuple[int, str], int] = {}

    def _add(self, solution: pyvrp.Solution) -> None:
        seen = self._seen
        for r in solution.routes():
            if len(seen) >= self.max_routes:
                return
            if not r.is_feasible():
                continue
            key = (r.vehicle_type(), str(r))
            if key not in seen:
                seen[key] = route_cost(r)

    def on_iteration(self, current: pyvrp.Solution, candidate: pyvrp.Solution,
                     best: pyvrp.Solution, cost_evaluator: pyvrp.CostEvaluator) -> None:
        if cost_evaluator.penalised_cost(candidate) <= (1.0 + self.slack) * \
                cost_evaluator.cost(best):
            self._add(candidate)

    def on_best(self, best: pyvrp.Solution) -> None:
        self._add(best)

    def columns(self) -> list[Column]:
        """The pooled routes (single-trip ones) as columns."""
        out = []
        for (vt, text), cost in self._seen.items():
            col = _parse(vt, text, cost)
            if col is not None:
                out.append(col)
        return out


def _unique(columns: Iterable[Column]) -> list[Column]:
    """The cheapest column per (vehicle type, set of clients)."""
    best: dict[tuple[int, frozenset[int]], Column] = {}
    for c in columns:
        key = (c.vehicle_type, frozenset(c.clients))
        old = best.get(key)
        if old is None or c.cost < old.cost:
            best[key] = c
    return list(best.values())


def recombine(data: pyvrp.ProblemData, columns: Iterable[Column],
              incumbent: Sequence[Column], time_limit: float,
              hard_limit: bool = True) -> list[Column] | None:
    """A strictly cheaper combination of pooled routes than ``incumbent``, or ``None``.

    ``incumbent`` (a feasible solution's columns) is added to the pool, so the problem is
    always feasible; ``None`` means no better combination was found within ``time_limit``
    seconds (or none exists); ``hard_limit`` as in
    :func:`optimize.setpartition.improve_partition`.  See :func:`best_partition`.
    """
    return best_partition(data, columns, incumbent, time_limit, hard_limit)[0]


def best_partition(data: pyvrp.ProblemData, columns: Iterable[Column],
                   incumbent: Sequence[Column], time_limit: float,
                   hard_limit: bool = True) -> tuple[list[Column] | None, bool]:
    """:func:`recombine`, also telling whether the answer is optimal over the pool.

    Rows: each client (required: exactly once; optional: at most once), each vehicle type
    (at most its available vehicles).  With an empty ``incumbent`` any feasible
    combination counts as an improvement, so the answer is the pool's optimum (``None``
    with ``True``: the pool holds no feasible combination).
    """
    cols = _unique(list(incumbent) + list(columns))
    if not cols:
        return None, False
    n_clients = data.num_clients
    position = {(c.vehicle_type, frozenset(c.clients)): j for j, c in enumerate(cols)}
    inc = [position[(c.vehicle_type, frozenset(c.clients))] for c in incumbent]
    lo = [1.0 if c.required else 0.0 for c in data.clients()] + \
        [0.0] * data.num_vehicle_types
    hi = [1.0] * n_clients + [float(data.vehicle_type(t).num_available)
                              for t in range(data.num_vehicle_types)]
    found = improve_partition([c.cost for c in cols],
                              [list(c.clients) + [n_clients + c.vehicle_type] for c in cols],
                              lo, hi, inc, time_limit, step=1.0,
                              incumbent_cost=sum(c.cost for c in incumbent) if incumbent
                              else None,
                              hard_limit=hard_limit)
    chosen = None if found.chosen is None else [cols[j] for j in found.chosen]
    return chosen, found.proven


def to_solution(data: pyvrp.ProblemData, columns: Sequence[Column]) -> pyvrp.Solution:
    """A PyVRP solution made of ``columns``."""
    return pyvrp.Solution(data, [pyvrp.Route(data, list(c.clients), c.vehicle_type)
                                 for c in columns])
