"""Independent checker of a dock allocation: totals, bounds, moves and the objective recomputed.

It shares nothing with the solver beyond the problem definition: the objective is summed from
one fresh oracle call at the plan's docks and bikes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optimize.check import CheckReport
from optimize.docks.problem import DockPlan, DockProblem


@dataclass(frozen=True)
class DockCheck(CheckReport):
    """What :func:`check_allocation` found: ``ok`` iff ``violations`` is empty.

    Attributes
    ----------
    objective:
        Total cost of the plan's docks and bikes, recomputed from the oracle.
    moves:
        Docks relocated, recomputed: ``sum(max(today - docks, 0))``.
    """

    objective: float
    moves: int


def check_allocation(problem: DockProblem, plan: DockPlan, max_moves: int | None = None,
                     rel_tol: float = 1e-9) -> DockCheck:
    """Check ``plan`` against ``problem``: the dock total is today's, every station within its
    bounds, the bikes add up and fit their docks, at most ``max_moves`` docks relocated, and the
    plan's objective equals the recomputed one (within ``rel_tol``)."""
    bad: list[str] = []
    today = np.asarray(problem.docks, dtype=np.int64)
    d = np.asarray(plan.docks, dtype=np.int64)
    b = np.asarray(plan.bikes, dtype=np.int64)
    if d.shape != today.shape or b.shape != today.shape:
        return DockCheck((f"plan has {d.shape} docks / {b.shape} bikes for {today.shape} stations",),
                         math.nan, -1)
    if int(d.sum()) != int(today.sum()):
        bad.append(f"dock total {int(d.sum())} differs from today's {int(today.sum())}")
    for i in np.flatnonzero((d < problem.lower) | (d > problem.upper)).tolist():
        bad.append(f"station {i}: {d[i]} docks outside [{problem.lower[i]}, {problem.upper[i]}]")
    for i in np.flatnonzero((b < 0) | (b > d)).tolist():
        bad.append(f"station {i}: {b[i]} bikes for {d[i]} docks")
    if int(b.sum()) != problem.bikes:
        bad.append(f"{int(b.sum())} bikes placed, the fleet is {problem.bikes}")
    moves = int(np.maximum(today - d, 0).sum())
    if max_moves is not None and moves > max_moves:
        bad.append(f"{moves} docks relocated, at most {max_moves} allowed")
    if moves != plan.moves:
        bad.append(f"plan says {plan.moves} docks relocated, recomputed {moves}")
    total = math.nan
    if not bad:
        arrays = problem.cost(np.arange(problem.n, dtype=np.int64), d)
        total = float(sum(float(a[k]) for a, k in zip(arrays, b.tolist(), strict=True)))
        if not math.isclose(total, plan.objective, rel_tol=rel_tol, abs_tol=1e-9):
            bad.append(f"plan objective {plan.objective!r}, recomputed {total!r}")
    return DockCheck(tuple(bad), total, moves)
