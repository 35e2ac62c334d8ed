"""Improve a solution by set partitioning over a pool of columns (HiGHS via SciPy).

Both optimisers use the same matheuristic: their local searches pass through many good
solutions, each made of independent parts (a vehicle's route, a berth's sequence), and a
better solution is often a combination of parts seen in different ones.  Each part is a
*column*: the rows it covers (clients, requests, and the vehicle or berth it uses) and its
cost.  :func:`improve_partition` solves

    min Σ cⱼ xⱼ   s.t.   lo ≤ A x ≤ hi,   x ∈ {0, 1}

over the pool, returning a strictly cheaper selection than the incumbent or ``None``
(:func:`improve_partition`, with a hard time limit; :func:`solve_partition` does the work).
The LP relaxation is solved first; columns whose reduced cost exceeds the gap between the
incumbent and the LP bound (less the smallest possible improvement, ``step``) cannot be in
a cheaper solution and are dropped before the integer programme, which keeps it small.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import numpy as np


def improve_partition(
    costs: Sequence[float], columns: Sequence[Sequence[int]], lo: Sequence[float],
    hi: Sequence[float], incumbent: Sequence[int], time_limit: float, step: float = 1.0,
    incumbent_cost: float | None = None, hard_limit: bool = True,
) -> list[int] | None:
    """Indices of a column selection cheaper than ``incumbent`` by at least ``step``.

    :func:`solve_partition` with (when ``hard_limit``) a hard wall-clock limit: HiGHS checks its time limit only
    now and then (a 3 s limit was once overrun by 13 s at the root of a 60 000-column
    problem), so on Linux the work runs in a forked child process that is stopped at
    ``time_limit`` (plus 0.1 s); the answer is then ``None``.  Elsewhere, or inside a
    daemonic process that may not fork children, it runs here, without the hard limit.
    """
    args = (costs, columns, lo, hi, incumbent, time_limit, step, incumbent_cost)
    if not hard_limit or not sys.platform.startswith("linux") or mp.current_process().daemon:
        return solve_partition(*args)
    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(sender, args))
    child.start()
    sender.close()
    try:
        if receiver.poll(time_limit + 0.1):
            answer: list[int] | None = receiver.recv()
            return answer
        return None
    except EOFError:  # the child died without answering
        return None
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
) -> list[int] | None:
    """Indices of a column selection cheaper than ``incumbent`` by at least ``step``.

    Parameters
    ----------
    costs, columns
        Cost and covered row indices of each column.
    lo, hi
        Bounds on each row's coverage (``lo == hi`` for "exactly").
    incumbent
        Indices of a feasible selection covering the incumbent's parts.
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

    Returns ``None`` when no cheaper selection exists in the pool or none was found in time.
    """
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp
    from scipy.sparse import coo_matrix, vstack

    if not columns:
        return None
    c = np.asarray(costs, dtype=float)
    lo_a, hi_a = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    rows = np.fromiter((r for col in columns for r in col), dtype=np.int64)
    idx = np.repeat(np.arange(len(columns)), [len(col) for col in columns])
    a = coo_matrix((np.ones(rows.size), (rows, idx)), shape=(lo_a.size, len(columns))).tocsr()
    inc_cost = float(c[list(incumbent)].sum()) if incumbent_cost is None else incumbent_cost
    eq = np.flatnonzero(lo_a == hi_a)
    ub = np.flatnonzero((lo_a != hi_a) & np.isfinite(hi_a))
    lb = np.flatnonzero((lo_a != hi_a) & (lo_a > 0))  # written as -A x <= -lo
    a_ub = vstack([a[ub], -a[lb]]).tocsr()
    b_ub = np.concatenate([hi_a[ub], -lo_a[lb]])
    lp = linprog(c, A_ub=a_ub if b_ub.size else None, b_ub=b_ub if b_ub.size else None,
                 A_eq=a[eq] if eq.size else None, b_eq=lo_a[eq] if eq.size else None,
                 bounds=(0, 1), method="highs",
                 options={"time_limit": max(0.05, time_limit / 2)})
    if lp.status != 0:
        return None
    if lp.fun > inc_cost - step + 1e-6:
        return None  # the LP bound proves the incumbent optimal over the pool
    # reduced costs c - y^T A from the row duals (SciPy's marginals)
    reduced = c.copy()
    if eq.size:
        reduced -= a[eq].T @ lp.eqlin.marginals
    if b_ub.size:
        reduced -= a_ub.T @ lp.ineqlin.marginals
    keep = np.flatnonzero(reduced <= inc_cost - step - lp.fun + 1e-6)
    if keep.size == 0:
        return None
    sub = a[:, keep]
    covered = np.asarray(sub.sum(axis=1)).ravel()
    if np.any(covered < lo_a - 1e-9):
        return None  # some row that must be covered is in no column that could improve
    res = milp(c[keep], constraints=LinearConstraint(sub, lo_a, hi_a),
               integrality=np.ones(keep.size), bounds=Bounds(0, 1),
               options={"time_limit": max(0.05, time_limit), "disp": False})
    if res.x is None or res.fun > inc_cost - step + 1e-6:
        return None
    return [int(keep[j]) for j in np.flatnonzero(res.x > 0.5)]
