"""Improve a solution by set partitioning over a pool of columns (HiGHS via SciPy).

The routing optimiser uses this matheuristic (``optimize.routing.recombine``): its local
searches pass through many good solutions, each made of independent parts (a vehicle's
route; a berth's sequence would do as well, though the berth solver does not use it today),
and a better solution is often a combination of parts seen in different ones.  Each part is a
*column*: the rows it covers (clients, requests, and the vehicle or berth it uses) and its
cost.  :func:`improve_partition` solves

    min Σ cⱼ xⱼ   s.t.   lo ≤ A x ≤ hi,   x ∈ {0, 1}

over the pool, returning a strictly cheaper selection than the incumbent, if any, and
whether the answer is proven optimal over the pool (:func:`improve_partition`, with a hard
time limit; :func:`solve_partition` does the work).
The LP relaxation is solved first; columns whose reduced cost exceeds the gap between the
incumbent and the LP bound (less the smallest possible improvement, ``step``) cannot be in
a cheaper solution and are dropped before the integer programme, which keeps it small.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_matrix, vstack

from optimize.pool import can_start_processes, context


@dataclass(frozen=True)
class Partition:
    """What a set-partitioning solve found."""

    #: indices of a selection cheaper than the incumbent by at least ``step``, or ``None``
    chosen: list[int] | None
    #: no selection in the pool is cheaper than the answer (``chosen``, or else the
    #: incumbent; with no incumbent and nothing chosen: the pool has no feasible selection)
    proven: bool


_UNKNOWN = Partition(None, False)


def improve_partition(
    costs: Sequence[float], columns: Sequence[Sequence[int]], lo: Sequence[float],
    hi: Sequence[float], incumbent: Sequence[int], time_limit: float, step: float = 1.0,
    incumbent_cost: float | None = None, hard_limit: bool = True,
) -> Partition:
    """:func:`solve_partition` with (when ``hard_limit``) a hard wall-clock limit: HiGHS checks its time limit only
    now and then (a 3 s limit was once overrun by 13 s at the root of a 60 000-column
    problem), so on Linux the work runs in a forked child process that is stopped at
    ``time_limit`` (plus 0.1 s); the answer is then nothing chosen, nothing proven.  Elsewhere, or inside a
    daemonic process that may not fork children, it runs here, without the hard limit.
    """
    args = (costs, columns, lo, hi, incumbent, time_limit, step, incumbent_cost)
    if not hard_limit or not sys.platform.startswith("linux") or not can_start_processes():
        return solve_partition(*args)
    ctx = context()
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(sender, args))
    child.start()
    sender.close()
    try:
        if receiver.poll(time_limit + 0.1):
            answer: Partition = receiver.recv()
            return answer
        return _UNKNOWN
    except EOFError:  # the child died without answering
        return _UNKNOWN
    finally:
        child.kill()
        child.join()
        receiver.close()


def _child(sender: Connection, args: tuple[Any, ...]) -> None:
    try:
        sender.send(solve_partition(*args))
    finally:
        sender.close()


def solve_partition(
    costs: Sequence[float], columns: Sequence[Sequence[int]], lo: Sequence[float],
    hi: Sequence[float], incumbent: Sequence[int], time_limit: float, step: float = 1.0,
    incumbent_cost: float | None = None,
) -> Partition:
    """A column selection cheaper than ``incumbent`` by at least ``step``, if there is one.

    Parameters
    ----------
    costs, columns
        Cost and covered row indices of each column.
    lo, hi
        Bounds on each row's coverage (``lo == hi`` for "exactly").
    incumbent
        Indices of a feasible selection covering the incumbent's parts; may be empty
        (with ``incumbent_cost`` left out): then any feasible selection is an improvement
        and the answer is the pool's optimum.
    incumbent_cost
        The incumbent's true cost, the reference to beat; defaults to the sum of its
        columns' costs.  Give it when the pool keeps only the cheapest variant of a column
        (the cheapest order of the same stops), so that the incumbent's columns may cost
        less than the incumbent itself.
    time_limit
        Seconds for the LP and the integer programme together (roughly).
    step
        Smallest meaningful improvement: 1 for integer costs; a small positive number
        otherwise (reduced-cost fixing is then weaker but still exact).

    Nothing is chosen when no cheaper selection exists in the pool or none was found in
    time; ``proven`` tells the two apart.  The integer programme runs with a zero
    relative gap, so an answer HiGHS reports as optimal is the pool's optimum.
    """
    if not columns:
        return _UNKNOWN
    c = np.asarray(costs, dtype=float)
    lo_a, hi_a = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    rows = np.fromiter((r for col in columns for r in col), dtype=np.int64)
    idx = np.repeat(np.arange(len(columns)), [len(col) for col in columns])
    a = coo_matrix((np.ones(rows.size), (rows, idx)), shape=(lo_a.size, len(columns))).tocsr()
    if incumbent_cost is not None:
        inc_cost = incumbent_cost
    else:
        inc_cost = float(c[list(incumbent)].sum()) if len(incumbent) else math.inf
    eq = np.flatnonzero(lo_a == hi_a)
    ub = np.flatnonzero((lo_a != hi_a) & np.isfinite(hi_a))
    lb = np.flatnonzero((lo_a != hi_a) & (lo_a > 0))  # written as -A x <= -lo
    a_ub = vstack([a[ub], -a[lb]]).tocsr()
    b_ub = np.concatenate([hi_a[ub], -lo_a[lb]])
    lp = linprog(c, A_ub=a_ub if b_ub.size else None, b_ub=b_ub if b_ub.size else None,
                 A_eq=a[eq] if eq.size else None, b_eq=lo_a[eq] if eq.size else None,
                 bounds=(0, 1), method="highs",
                 options={"time_limit": max(0.05, time_limit / 2)})
    if lp.status == 2:
        return Partition(None, True)  # infeasible: no selection at all
    if lp.status != 0:
        return _UNKNOWN
    if lp.fun > inc_cost - step + 1e-6:
        return Partition(None, True)  # the LP bound proves the incumbent optimal
    # reduced costs c - y^T A from the row duals (SciPy's marginals)
    reduced = c.copy()
    if eq.size:
        reduced -= a[eq].T @ lp.eqlin.marginals
    if b_ub.size:
        reduced -= a_ub.T @ lp.ineqlin.marginals
    keep = np.flatnonzero(reduced <= inc_cost - step - lp.fun + 1e-6)
    if keep.size == 0:
        return Partition(None, True)
    sub = a[:, keep]
    covered = np.asarray(sub.sum(axis=1)).ravel()
    if np.any(covered < lo_a - 1e-9):
        # some row that must be covered is in no column that could improve
        return Partition(None, True)
    res = milp(c[keep], constraints=LinearConstraint(sub, lo_a, hi_a),
               integrality=np.ones(keep.size), bounds=Bounds(0, 1),
               options={"time_limit": max(0.05, time_limit), "disp": False,
                        "mip_rel_gap": 0.0})
    proven = res.status in (0, 2)  # optimal, or no selection beats the incumbent
    if res.x is None or res.fun > inc_cost - step + 1e-6:
        return Partition(None, proven)
    return Partition([int(keep[j]) for j in np.flatnonzero(res.x > 0.5)], res.status == 0)
