"""The time-indexed LP bound by column generation over berth pseudo-schedules.

The time-indexed formulation (``x[i,k,s] = 1`` iff request ``i`` starts at ``s`` on berth
``k``; each request once; each berth busy with at most one request per unit period) has
the strongest classical LP bound for the DBAP, but on 200 × 15 instances its matrix has
17 M non-zeros.  Dantzig–Wolfe decomposition by berth makes it small (van den Akker,
Hurkens & Savelsbergh 2000):

* a *pseudo-schedule* of berth ``k`` is a sequence of non-overlapping (request, start)
  pairs within the berth's windows, in which a request may appear more than once.  The
  capacity rows of one berth form an interval matrix (each column covers consecutive
  periods), so that berth's polytope is integral: its vertices are exactly the
  pseudo-schedules, and the master below has the same LP value as the time-indexed LP;
* **master**: choose for each berth a convex combination of its pseudo-schedules
  (``Σ_{s∈Sₖ} xₛ ≤ 1``, the empty schedule being the slack) covering each request exactly
  once (``Σₛ aᵢₛ xₛ = 1``, ``aᵢₛ`` = times ``i`` appears in ``s``), at least cost.  Only a
  few columns are kept (the restricted master, an LP of ``n + m`` rows solved by HiGHS);
* **pricing** with request duals ``π``: per berth, the pseudo-schedule of least
  ``Σ (costᵢ(Cᵢ) − πᵢ)`` is a shortest path over time, ``f(t) = min(f(t−1),
  minᵢ f(t − hᵢₖ) + costᵢ(t) − πᵢ)`` — dynamic programming in ``O(pairs · T)``, here
  vectorised over requests and over blocks of ``min h`` periods (no path can start and
  end inside one block);
* for *every* ``π`` the Lagrangian value ``L(π) = Σᵢ πᵢ + Σₖ minₛ (cₛ − Σᵢ aᵢₛ πᵢ)``
  (the ``min`` includes the empty schedule) is a lower bound on the optimum, so a valid
  bound exists whenever time runs out; at convergence it equals the LP value;
* **stabilisation** (Wentges smoothing): pricing at ``α π_centre + (1 − α) π_master``,
  the centre being the duals of the best bound so far, damps the oscillation of the
  master's duals that makes plain column generation slow.

:func:`column_generation` returns the best bound, the master's last value (an upper bound
on the LP value) and the per-iteration bounds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csc_matrix

from optimize.berths._data import Compiled
from optimize.berths.bounds import completion_horizon
from optimize.berths.sequence import IndexSchedule

#: Largest (time steps × request–berth pairs) cost table the pricing will build.
MAX_CELLS = 12_000_000


@dataclass(frozen=True)
class PseudoSchedule:
    """One column: berth ``k`` serving ``jobs`` (request, completion) in time order."""

    k: int
    jobs: tuple[tuple[int, int], ...]
    cost: float


class Pricing:
    """The per-berth shortest-path DP over time of the time-indexed relaxation.

    Built once per problem (the cost of every request–berth pair at every completion time
    is tabulated); :meth:`solve` prices one dual vector.  ``None`` from :meth:`build` when
    the relaxation does not apply (periods already blocked on a berth, no request) or its
    table would exceed :data:`MAX_CELLS`.
    """

    def __init__(self, data: Compiled, horizon: list[int]) -> None:
        pairs = [(k, i) for k in range(data.m) for i in range(data.n) if data.fits(i, k)]
        self.n, self.m = data.n, data.m
        self.berth = np.array([k for k, _ in pairs], dtype=np.int64)
        self.req = np.array([i for _, i in pairs], dtype=np.int64)
        self.dur = np.array([data.handling[i][k] for k, i in pairs], dtype=np.int64)
        rel = np.array([data.release[i][k] for k, i in pairs], dtype=np.int64)
        lim = np.array([horizon[i] if (cap := data.limit[i][k]) is None else min(horizon[i], cap)
                        for k, i in pairs], dtype=np.int64)
        self.t_max = int(max(1, lim.max(initial=1)))
        ts = np.arange(self.t_max + 1, dtype=float)[:, None]
        weight = np.array([data.weight[i] for i in self.req])
        arrival = np.array([data.arrival[i] for i in self.req], dtype=float)
        soft = np.array([np.inf if data.soft_deadline[i] is None else data.soft_deadline[i]
                         for i in self.req])
        pen = np.array([data.penalty[i] for i in self.req])
        # cost of pair j completing at t, +inf where it cannot complete at t
        cost = weight * (ts - arrival) + pen * np.maximum(0.0, ts - soft)
        ok = (ts >= (rel + self.dur)[None, :]) & (ts <= lim[None, :])
        self.cost = np.where(ok, cost, np.inf)
        self.first = np.flatnonzero(np.r_[True, self.berth[1:] != self.berth[:-1]])
        self.last = np.r_[self.first[1:], len(pairs)]
        self.berths = self.berth[self.first]
        # local berth index of every pair, for gathering f
        self.local = np.repeat(np.arange(len(self.first)), self.last - self.first)
        self.block = int(self.dur.min())
        self.table = np.empty_like(self.cost)
        self.f = np.zeros((len(self.first), self.t_max + 1))

    @staticmethod
    def build(data: Compiled, upper_bound: float | None) -> Pricing | None:
        """The pricing tables for ``data``, or ``None`` (see the class docstring)."""
        if data.n == 0 or any(data.blocked):
            return None
        horizon = completion_horizon(data, upper_bound)
        # completion limits of the pairs (berth closing and hard deadlines included)
        lims = [horizon[i] if (cap := data.limit[i][k]) is None else min(horizon[i], cap)
                for i in range(data.n) for k in range(data.m) if data.fits(i, k)]
        if not lims or (max(lims) + 2) * len(lims) > MAX_CELLS:
            return None
        return Pricing(data, horizon)

    def solve(self, duals: np.ndarray) -> tuple[np.ndarray, list[PseudoSchedule]]:
        """Per used berth, the least ``Σ (cost − π)`` over its pseudo-schedules (≤ 0: the
        empty one counts) and one pseudo-schedule attaining it."""
        f, table, cost = self.f, self.table, self.cost
        adj = -duals[self.req]
        f[:, 0] = 0.0
        table[0] = np.inf
        t_max, block = self.t_max, self.block
        for t0 in range(1, t_max + 1, block):
            t1 = min(t0 + block, t_max + 1)
            ts = np.arange(t0, t1)
            starts = ts[:, None] - self.dur[None, :]  # every start precedes the block
            vals = f[self.local[None, :], np.maximum(starts, 0)] + cost[t0:t1] + adj
            table[t0:t1] = vals
            best = np.minimum.reduceat(vals, self.first, axis=1).T  # (berths, block)
            best[:, 0] = np.minimum(best[:, 0], f[:, t0 - 1])
            f[:, t0:t1] = np.minimum.accumulate(best, axis=1)
        values = f[:, t_max].copy()
        return values, [self._path(g) for g in range(len(self.first))]

    def _path(self, g: int) -> PseudoSchedule:
        """Backtrack berth ``g``'s optimal path from the last :meth:`solve`."""
        f, table = self.f[g], self.table
        lo, hi = int(self.first[g]), int(self.last[g])
        # last period at or before t where f dropped: jumps over the idle stretches
        drops = np.flatnonzero(f[1:] < f[:-1]) + 1
        jobs: list[tuple[int, int]] = []
        total = 0.0
        t = self.t_max
        while True:
            pos = int(np.searchsorted(drops, t, side="right")) - 1
            if pos < 0:
                break
            t = int(drops[pos])
            j = lo + int(np.argmin(table[t, lo:hi]))
            jobs.append((int(self.req[j]), t))
            total += float(self.cost[t, j])
            t -= int(self.dur[j])
        return PseudoSchedule(int(self.berths[g]), tuple(reversed(jobs)), total)


def schedule_columns(data: Compiled, sched: IndexSchedule) -> list[PseudoSchedule]:
    """The berth schedules of a (feasible) schedule as master columns."""
    per: dict[int, list[tuple[int, int]]] = {}
    for i, (k, s) in enumerate(sched):
        h = data.handling[i][k]
        assert h is not None
        per.setdefault(k, []).append((i, s + h))
    return [PseudoSchedule(k, tuple(sorted(jobs, key=lambda x: x[1])),
                           sum(data.cost(i, c) for i, c in jobs)) for k, jobs in per.items()]


@dataclass(frozen=True)
class ColumnGenerationResult:
    """What :func:`column_generation` found.

    Attributes
    ----------
    bound
        Best Lagrangian bound over the iterations: a proven lower bound on the optimum.
    master_value
        The restricted master's last LP value: the time-indexed LP value lies in
        ``[bound, master_value]`` (``None`` if the master was never solved).
    converged
        Whether ``master_value − bound`` fell within the tolerance (then ``bound`` is the LP
        value up to it).
    bounds
        The Lagrangian bound of every pricing round, in order.
    duals
        The request duals of the best bound.
    columns
        Number of master columns at the end.
    """

    bound: float
    master_value: float | None
    converged: bool
    bounds: tuple[float, ...]
    duals: np.ndarray
    columns: int


def column_generation(
    data: Compiled, upper_bound: float | None, time_limit: float, *,
    initial: IndexSchedule | None = None, smoothing: float = 0.8, tolerance: float = 1e-6,
    target: float | None = None, max_iterations: int = 100_000, warmup: float = 0.8,
    min_step: float = 1e-5, max_pool: int = 2000,
) -> ColumnGenerationResult | None:
    """Lower bound from the time-indexed LP by column generation (module docstring).

    Two phases share one pricing DP.  First subgradient steps on ``L(λ)`` (for at most
    ``warmup`` × ``time_limit`` seconds, or until the step falls below ``min_step``):
    plain column generation starts slowly from the master's first, meaningless duals,
    while these steps bring the multipliers near the optimum fast.  Then stabilised
    column generation from the best multipliers, seeded with the last ``max_pool``
    pseudo-schedules the steps priced and with ``initial`` (a feasible schedule, typically
    the incumbent of cost ``upper_bound``); requests without a column have an artificial
    one of large cost.  It stops when the master value and the bound agree within
    ``tolerance`` (relative: the LP is solved), when the bound reaches ``target``, or
    after ``time_limit`` seconds; the bound is valid whenever it stops.  ``smoothing`` is
    Wentges' ``α`` (0 = plain column generation).  Measured on kramer2019 f200x15-01 (one
    run, loaded machine): the subgradient phase alone reaches 12291 in 24 s, 12428 in
    60 s; column generation alone, 12572 in 60 s with the master at 12605 (the LP lies
    between).  ``None`` when the relaxation does not apply (see :class:`Pricing`).
    """
    t_start = time.perf_counter()
    pricing = Pricing.build(data, upper_bound)
    if pricing is None:
        return None
    n, m = data.n, data.m
    # artificial columns keep the master feasible: each costs more than every request at
    # its latest completion together, so the LP optimum does not use them
    big = float(np.where(np.isfinite(pricing.cost), pricing.cost, 0.0).max(axis=0).sum()) + 1.0
    master = _Master(n, m, big)
    for c in schedule_columns(data, initial) if initial is not None else []:
        master.add(c)
    bounds: list[float] = []
    best, best_duals, pool = _subgradient(pricing, upper_bound, t_start + warmup * time_limit,
                                          bounds, min_step=min_step, target=target)
    for c in pool[-max_pool:]:  # the latest, priced nearest the best multipliers
        master.add(c)
    centre: np.ndarray | None = best_duals.copy() if math.isfinite(best) else None
    master_value: float | None = None
    converged = False
    alpha = smoothing
    for _ in range(max_iterations):
        left = time_limit - (time.perf_counter() - t_start)
        if left <= 0:
            break
        solved = master.solve(left)
        if solved is None:
            break
        master_value, pi, mu = solved
        if best >= master_value - tolerance * max(1.0, abs(master_value)):
            converged = True
            break
        if time.perf_counter() - t_start > time_limit:
            break
        sep = pi if centre is None else alpha * centre + (1.0 - alpha) * pi
        values, paths = pricing.solve(sep)
        lag = float(sep.sum() + values.sum())
        bounds.append(lag)
        if lag > best:
            best, best_duals, centre = lag, sep.copy(), sep.copy()
        if target is not None and best >= target:
            break
        added = sum(master.add(p) for p in paths
                    if p.cost - sum(pi[i] for i, _ in p.jobs) - mu[p.k] < -1e-9)
        if added == 0:
            if alpha == 0.0 or centre is None:
                # no column prices out at the master's own duals: the master is optimal
                # (and then L(π) equals its value, by LP duality)
                converged = True
                break
            centre = sep.copy()  # a mis-price: move the centre and price nearer the master
            alpha = 0.0
        else:
            alpha = smoothing
    if not math.isfinite(best):
        return None
    return ColumnGenerationResult(best, master_value, converged, tuple(bounds), best_duals,
                                  master.size)


class _Master:
    """The restricted master LP of :func:`column_generation`: one column per pseudo-schedule
    (how often it serves each request, and its berth), plus one artificial column of cost
    ``big`` per request that keeps the LP feasible."""

    def __init__(self, n: int, m: int, big: float) -> None:
        self.n, self.m = n, m
        self.rows: list[int] = list(range(n))
        self.cols: list[int] = list(range(n))
        self.vals: list[float] = [1.0] * n
        self.costs: list[float] = [big] * n
        self.seen: set[tuple[int, tuple[tuple[int, int], ...]]] = set()

    @property
    def size(self) -> int:
        """Columns in the master, artificial ones included."""
        return len(self.costs)

    def add(self, c: PseudoSchedule) -> bool:
        """Add ``c`` unless the master has it already; whether it was added."""
        if (c.k, c.jobs) in self.seen:
            return False
        self.seen.add((c.k, c.jobs))
        j = len(self.costs)
        counts: dict[int, int] = {}
        for i, _ in c.jobs:
            counts[i] = counts.get(i, 0) + 1
        for i, a in counts.items():
            self.rows.append(i)
            self.cols.append(j)
            self.vals.append(float(a))
        self.rows.append(self.n + c.k)
        self.cols.append(j)
        self.vals.append(1.0)
        self.costs.append(c.cost)
        return True

    def solve(self, seconds: float) -> tuple[float, np.ndarray, np.ndarray] | None:
        """The master's optimum value and duals (requests, berths) by HiGHS, or ``None``
        when HiGHS stops without an optimum (e.g. at the time limit)."""
        n = self.n
        a = csc_matrix((self.vals, (self.rows, self.cols)), shape=(n + self.m, len(self.costs)))
        res = linprog(np.asarray(self.costs), A_eq=a[:n], b_eq=np.ones(n), A_ub=a[n:],
                      b_ub=np.ones(self.m), bounds=(0, None), method="highs",
                      options={"time_limit": max(0.05, seconds)})
        if res.status != 0:
            return None
        return (float(res.fun), np.asarray(res.eqlin.marginals, dtype=float),
                np.asarray(res.ineqlin.marginals, dtype=float))


def _subgradient(pricing: Pricing, upper_bound: float | None, deadline: float,
                 bounds: list[float], patience: int = 20, min_step: float = 1e-5,
                 target: float | None = None,
                 ) -> tuple[float, np.ndarray, list[PseudoSchedule]]:
    """Subgradient ascent on ``L(λ)`` until ``deadline``: the best bound, its multipliers
    and the pseudo-schedules priced on the way (columns for the master).

    Starts from each request's cheapest cost alone (``L`` is then the trivial bound);
    Polyak steps towards ``upper_bound``, halved after ``patience`` steps without a better
    bound.
    """
    n = pricing.n
    lam = np.full(n, np.inf)
    np.minimum.at(lam, pricing.req, pricing.cost.min(axis=0))
    target = upper_bound if upper_bound is not None else 1.05 * float(lam.sum()) + 1.0
    best, best_lam = -math.inf, lam.copy()
    pool: dict[tuple[int, tuple[tuple[int, int], ...]], PseudoSchedule] = {}
    step, stall = 1.0, 0
    while time.perf_counter() < deadline and step > min_step:
        values, paths = pricing.solve(lam)
        value = float(lam.sum() + values.sum())
        bounds.append(value)
        if value > best + 1e-9:
            best, best_lam, stall = value, lam.copy(), 0
        else:
            stall += 1
            if stall >= patience:
                step, stall = step / 2, 0
        served = np.zeros(n)
        for p in paths:
            pool.setdefault((p.k, p.jobs), p)
            for i, _ in p.jobs:
                served[i] += 1
        grad = 1.0 - served
        norm = float(grad @ grad)
        if norm == 0.0 or (upper_bound is not None and best >= upper_bound - 1e-9):
            break
        if target is not None and best >= target:
            break
        lam = lam + step * max(target - value, 1e-3 * abs(target)) / norm * grad
    return best, best_lam, list(pool.values())
