"""Steepest descent over dock moves (Freund, Henderson & Shmoys's local search).

The search starts from today's docks with the best bikes for them and repeatedly makes the
dock move that lowers the total cost most.  A move takes one dock from station ``i`` to station
``j`` in one of three ways: empty (no bike moves), full (the dock's bike goes with it), or
crossed (a bike goes from ``j`` to ``i``); after each move the bikes are re-placed by bike
moves (one bike from a station to another, free: the night shift places the bikes anyway)
until none lowers the cost.  A move only changes the two stations it touches, so the best move
of each kind is the best "give" station plus the best "take" station: ``O(n)`` per move.

Stations whose docks today lie outside their bounds (a closed station) are served first: their
docks must move, to the best station that may take them.

Why a local search is enough: the cost of a birth-death station is multimodular in (empty
docks, docks with a bike) (Freund, Henderson & Shmoys, IPCO 2017 / Operations Research 2022),
so the allocation problem is a discrete convex (M-convex, after Shioura's reformulation,
Mathematics of Operations Research 2022) minimisation, where a point no exchange improves is a
global minimum; ``tests/docks`` compares with exhaustive enumeration on small instances.

Budget: work only, one unit = one dock move (forced ones included); no clock is read unless
the budget has a ``time_limit``, so the same problem and budget always give the same plan.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from optimize.budget import Budget
from optimize.docks.problem import DockPlan, DockProblem, ProblemError

_INF = float("inf")
#: improvements smaller than this are ties (no move); costs are expected counts per day
_TOL = 1e-9
#: bike changes at the two stations of a dock move that are evaluated exactly
_SHIFTS = (-2, -1, 0, 1, 2)
#: bikes a dock move may take from, or send to, other stations
_MAX_OUTSIDE = 2

#: how the search batches its requests to the cost oracle (:meth:`_Search.wanted`)
Fetching = Literal["near", "band"]


class _Search:
    """State of one descent: docks, bikes, cached station costs and each station's move values."""

    def __init__(self, problem: DockProblem, fetching: Fetching = "near") -> None:
        self.p = problem
        self.fetching = fetching
        self.depth: dict[int, int] = {}  # counts fetched at a station's last miss ("near")
        self.lo = np.asarray(problem.lower, dtype=np.int64)
        self.hi = np.asarray(problem.upper, dtype=np.int64)
        self.today = np.asarray(problem.docks, dtype=np.int64)
        self.C = self.today.copy()
        n = problem.n
        self.s = np.zeros(n, dtype=np.int64)
        self.cache: dict[tuple[int, int], NDArray[np.float64]] = {}
        self.cost_calls = 0
        self.cur = np.zeros(n)
        # move values, inf where a move is not allowed: rem[t][i] / add[t][i] = change of station
        # i's cost when it gives / takes one dock and its bikes change by t; b_out / b_in = change
        # when one bike leaves / arrives (docks unchanged)
        self.rem = {k: np.full(n, _INF) for k in _SHIFTS}
        self.add = {k: np.full(n, _INF) for k in _SHIFTS}
        self.b_out = np.full(n, _INF)
        self.b_in = np.full(n, _INF)

    # ---- costs ------------------------------------------------------------------------
    def fetch(self, pairs: list[tuple[int, int]]) -> None:
        """Ask the oracle, in one batch, for the pairs not cached yet."""
        need = sorted({pc for pc in pairs if pc not in self.cache and pc[1] >= 0})
        if not need:
            return
        st = np.array([i for i, _ in need], dtype=np.int64)
        dk = np.array([c for _, c in need], dtype=np.int64)
        arrays = self.p.cost(st, dk)
        self.cost_calls += 1
        if len(arrays) != len(need):
            raise ProblemError(f"the cost oracle returned {len(arrays)} arrays for {len(need)} requests")
        for (i, c), a in zip(need, arrays, strict=True):
            a = np.asarray(a, dtype=float)
            if a.shape != (c + 1,):
                raise ProblemError(f"station {i} with {c} docks: cost array of shape {a.shape}, "
                                   f"expected ({c + 1},)")
            self.cache[(i, c)] = a

    def F(self, i: int, c: int) -> NDArray[np.float64]:
        """Station ``i``'s cost by bikes with ``c`` docks, fetched with :meth:`wanted` on a miss."""
        a = self.cache.get((i, c))
        if a is None:
            self.fetch(self.wanted(i, c))
            a = self.cache[(i, c)]
        return a

    def wanted(self, i: int, c: int) -> list[tuple[int, int]]:
        """The pairs asked for when ``(i, c)`` is missing (never changes the plan: the oracle's
        answer depends on the pair only).

        ``"near"``: ``(i, c)`` and the next counts of ``i`` in the same direction from its
        current docks, ``4, 8, 16, ...`` of them as ``i`` keeps missing (a station that moves
        tends to keep moving): only counts a move can reach, so a descent of ``k`` moves asks
        for ``O(k)`` arrays beyond the first ``3 n``.
        ``"band"`` (the former strategy, kept as a reference): every count ``lower..upper`` of
        ``n / 10 + 32`` stations of each kind.
        """
        if self.fetching == "band":
            pairs = [(i, c)]
            for j in self.in_play(i, self.p.n // 10 + 32):
                pairs += [(j, q) for q in range(int(self.lo[j]), int(self.hi[j]) + 1)]
            return pairs
        # the counts station i can reach: its bounds, and today's count if outside them
        low = min(int(self.lo[i]), int(self.today[i]))
        high = max(int(self.hi[i]), int(self.today[i]))
        depth = min(self.depth.get(i, 2) * 2, high - low + 1)
        self.depth[i] = depth
        if c < self.C[i]:
            return [(i, q) for q in range(c, max(c - depth, low - 1), -1)]
        return [(i, q) for q in range(c, min(c + depth, high + 1))]

    def in_play(self, i: int, m: int) -> list[int]:
        """Station ``i`` and the ``m`` stations with the best values of giving a dock now and
        the ``m`` best of taking one, in index order."""
        give = np.min(np.vstack([self.rem[t] for t in _SHIFTS]), axis=0)
        take = np.min(np.vstack([self.add[t] for t in _SHIFTS]), axis=0)
        m = min(m, self.p.n)
        pick = set(np.argsort(give, kind="stable")[:m].tolist()) | set(np.argsort(take, kind="stable")[:m].tolist())
        pick.add(i)
        return sorted(pick)

    # ---- move values --------------------------------------------------------------------
    def refresh(self, i: int) -> None:
        """Recompute station ``i``'s current cost and the value of every move touching it."""
        c, s = int(self.C[i]), int(self.s[i])
        f0 = self.F(i, c)
        cur = float(f0[s])
        self.cur[i] = cur
        self.b_out[i] = f0[s - 1] - cur if s >= 1 else _INF
        self.b_in[i] = f0[s + 1] - cur if s + 1 <= c else _INF
        fm = self.F(i, c - 1) if c - 1 >= self.lo[i] else None
        fp = self.F(i, c + 1) if c + 1 <= self.hi[i] else None
        for t in _SHIFTS:
            k = s + t
            self.rem[t][i] = fm[k] - cur if fm is not None and 0 <= k <= c - 1 else _INF
            self.add[t][i] = fp[k] - cur if fp is not None and 0 <= k <= c + 1 else _INF

    def refresh_all(self) -> None:
        """Fetch docks ``C - 1, C, C + 1`` of every station in one batch, then refresh all."""
        pairs = []
        for i, c in enumerate(self.C.tolist()):
            pairs += [(i, k) for k in (c - 1, c, c + 1)
                      if k == c or self.lo[i] <= k <= self.hi[i]]
        self.fetch(pairs)
        for i in range(self.p.n):
            self.refresh(i)

    # ---- bikes --------------------------------------------------------------------------
    def place_bikes(self) -> None:
        """Best bikes for the current docks: the smallest convexified marginal costs, then a
        bike-move descent (exact if each station's cost is convex in its bikes)."""
        n = self.p.n
        self.refresh_all()  # fetches docks C - 1, C, C + 1 of every station in one batch
        width = int(self.C.max()) + 1 if n else 1
        marg = np.full((n, max(width - 1, 1)), _INF)
        for i, c in enumerate(self.C.tolist()):
            if c > 0:
                m = np.diff(self.F(i, c))
                marg[i, :c] = np.maximum.accumulate(m)
        bikes = self.p.bikes
        self.s = np.zeros(n, dtype=np.int64)
        if bikes > 0:
            flat = marg.ravel()
            # stable order: equal marginals are taken by station index, then stock
            chosen = np.argsort(flat, kind="stable")[:bikes]
            self.s = np.bincount(chosen // marg.shape[1], minlength=n).astype(np.int64)
        self.refresh_all()
        self.bike_descent()

    def bike_descent(self) -> None:
        """Move single bikes while a move lowers the cost (at most one pass per bike)."""
        for _ in range(self.p.bikes + 1):
            d, i, j = best_pair(self.b_out, self.b_in)
            if not d < -_TOL:
                return
            self.s[i] -= 1
            self.s[j] += 1
            self.refresh(i)
            self.refresh(j)

    # ---- dock moves ---------------------------------------------------------------------
    def cheapest(self) -> tuple[list[int], list[int]]:
        """The stations where a bike leaves (arrives) most cheaply, best first: enough of them
        to skip the two stations of a dock move and still bring (send) ``_MAX_OUTSIDE`` bikes."""
        k = _MAX_OUTSIDE + 2
        out = []
        for vals in (self.b_out, self.b_in):
            part = np.argpartition(vals, min(k, len(vals) - 1))[:k] if len(vals) > k else np.arange(len(vals))
            out.append(sorted(part.tolist(), key=lambda q: (vals[q], q)))
        return out[0], out[1]

    def outside(self, u: int, i: int, j: int, best: tuple[list[int], list[int]] | None = None
                ) -> tuple[float, list[int]]:
        """Cheapest way to bring ``u`` bikes (``u < 0``: to send ``-u``) from (to) stations other
        than ``i`` and ``j``, one bike per station, and those stations."""
        if u == 0:
            return 0.0, []
        give, take = best if best is not None else self.cheapest()
        vals = self.b_out if u > 0 else self.b_in
        order = [q for q in (give if u > 0 else take) if q != i and q != j][: abs(u)]
        if len(order) < abs(u):
            return _INF, []
        return float(sum(vals[q] for q in order)), order

    def best_move(self, give: NDArray[np.bool_] | None, take: NDArray[np.bool_] | None
                  ) -> tuple[float, int, int, int, int]:
        """The dock move that lowers the cost most: ``(change, i, j, t_i, t_j)``, the dock going
        from ``i`` to ``j`` while their bikes change by ``t_i`` and ``t_j`` (the difference coming
        from, or going to, the cheapest other stations); optionally limited to give/take stations."""
        best: tuple[float, int, int, int, int] = (_INF, -1, -1, 0, 0)
        cheap = self.cheapest()
        for ti in _SHIFTS:
            rem = self.rem[ti] if give is None else np.where(give, self.rem[ti], _INF)
            for tj in _SHIFTS:
                u = ti + tj
                if abs(u) > _MAX_OUTSIDE:
                    continue
                add = self.add[tj] if take is None else np.where(take, self.add[tj], _INF)
                d, i, j = best_pair(rem, add)
                if i < 0 or not d < _INF:
                    continue
                extra, _ = self.outside(u, i, j, cheap)
                if d + extra < best[0] - _TOL:
                    best = (d + extra, i, j, ti, tj)
        return best

    def apply(self, i: int, j: int, ti: int, tj: int) -> None:
        """Move one dock from ``i`` to ``j``, their bikes changing by ``ti`` and ``tj`` (the
        difference from or to the cheapest other stations)."""
        _, others = self.outside(ti + tj, i, j)
        step = 1 if ti + tj > 0 else -1  # a bike out of (into) each other station
        self.C[i] -= 1
        self.C[j] += 1
        self.s[i] += ti
        self.s[j] += tj
        for k in others:
            self.s[k] -= step
        for k in (i, j, *others):
            self.refresh(k)

    def objective(self) -> float:
        """Sum of the stations' current costs."""
        return float(self.cur.sum())


def best_pair(give: NDArray[np.float64], take: NDArray[np.float64]) -> tuple[float, int, int]:
    """``min give[i] + take[j]`` over ``i != j`` (lowest indices on ties); ``inf`` if none."""
    if len(give) < 2:
        return _INF, -1, -1
    i = int(np.argmin(give))
    j = int(np.argmin(take))
    if i != j:
        return float(give[i] + take[j]), i, j
    g2 = give.copy()
    g2[i] = _INF
    t2 = take.copy()
    t2[j] = _INF
    i2 = int(np.argmin(g2))
    j2 = int(np.argmin(t2))
    a = float(give[i] + take[j2])
    b = float(give[i2] + take[j])
    if a <= b:
        return a, i, j2
    return b, i2, j


def solve(problem: DockProblem, budget: Budget | None = None, *, fetching: Fetching = "near") -> DockPlan:
    """Reallocate docks by steepest descent from today's allocation (module docstring).

    Parameters
    ----------
    problem:
        The stations, bounds, bikes and cost oracle.
    budget:
        ``effort`` = dock moves the search may make (forced moves included; fewer than the
        forced moves is a :class:`ProblemError`); ``None`` descends to a local optimum.
    fetching:
        How the cost oracle is asked (:meth:`_Search.wanted`): the plan is the same either
        way; ``"near"`` asks for far fewer arrays at city scale.
    """
    limit = None if budget is None or budget.effort is None else int(budget.effort)
    deadline = (None if budget is None or budget.time_limit is None
                else time.monotonic() + budget.time_limit)
    forced = problem.forced_moves
    if limit is not None and forced > limit:
        raise ProblemError(f"{forced} docks must move (stations outside their bounds) but the "
                           f"budget allows {limit} moves")
    search = _Search(problem, fetching)
    search.place_bikes()
    inside = bool(((search.C >= search.lo) & (search.C <= search.hi)).all())
    initial = search.objective() if inside else float("nan")
    steps = 0
    # forced moves: docks out of stations above their upper bound, into those below their lower
    while True:
        over = search.C > search.hi
        under = search.C < search.lo
        if over.any():
            d, i, j, ti, tj = search.best_move(over, None)
        elif under.any():
            d, i, j, ti, tj = search.best_move(None, under)
        else:
            break
        if i < 0:
            raise ProblemError("docks of stations outside their bounds have nowhere to go")
        search.apply(i, j, ti, tj)
        search.bike_descent()
        steps += 1
    stopped = "optimum"
    while True:
        if limit is not None and steps >= limit:
            stopped = "budget"
            break
        if deadline is not None and time.monotonic() > deadline:
            stopped = "budget"
            break
        d, i, j, ti, tj = search.best_move(None, None)
        if not d < -_TOL:
            break
        search.apply(i, j, ti, tj)
        search.bike_descent()
        steps += 1
    today = np.asarray(problem.docks, dtype=np.int64)
    return DockPlan(
        docks=search.C.copy(),
        bikes=search.s.copy(),
        objective=search.objective(),
        initial_objective=initial,
        moves=int(np.maximum(today - search.C, 0).sum()),
        steps=steps,
        stopped=stopped,  # type: ignore[arg-type]
    )
