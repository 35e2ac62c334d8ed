"""Data of a dock-allocation problem and of its solution.

Station ``i`` has ``docks[i]`` docks today and may end with any number in
``[lower[i], upper[i]]`` (``upper[i] = 0`` closes it).  The dock total is fixed: docks are moved,
never bought.  ``bikes`` bikes are placed at the start of the period (the night shift's
rebalancing), at most one per dock.  The cost of station ``i`` with ``c`` docks and ``s`` bikes
is ``cost(i, c)[s]``, given by an oracle (:class:`StationCost`) so that a caller can compute it
lazily and in batches: at city scale only the dock counts the search reaches are ever needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray


class ProblemError(ValueError):
    """Inconsistent dock-allocation data."""


class StationCost(Protocol):
    """Cost of stations at given dock counts, by starting bikes.

    ``cost(stations, docks)`` returns, for each pair ``(stations[k], docks[k])``, an array of
    length ``docks[k] + 1``: the expected cost (e.g. failed rentals and returns over the day)
    when the station has that many docks and starts with ``0..docks[k]`` bikes.  The answer
    must depend on the pair only (the solver caches it).
    """

    def __call__(self, stations: NDArray[np.int64], docks: NDArray[np.int64]) -> Sequence[NDArray[np.float64]]:
        """Cost arrays for the (station, docks) pairs, one per pair."""
        ...


@dataclass(frozen=True, eq=False)
class TabulatedCost:
    """A :class:`StationCost` from explicit tables: ``table[i][c]`` is station ``i``'s cost array
    with ``c`` docks (length ``c + 1``).  For small instances and tests."""

    table: Sequence[Sequence[NDArray[np.float64]]]

    def __call__(self, stations: NDArray[np.int64], docks: NDArray[np.int64]) -> list[NDArray[np.float64]]:
        """Look the pairs up (a dock count outside a station's table is a :class:`ProblemError`)."""
        out = []
        for i, c in zip(np.asarray(stations).tolist(), np.asarray(docks).tolist(), strict=True):
            if not 0 <= c < len(self.table[i]):
                raise ProblemError(f"station {i}: no cost for {c} docks")
            out.append(np.asarray(self.table[i][c], dtype=float))
        return out


@dataclass(frozen=True, eq=False)
class DockProblem:
    """Today's docks, the bounds of each station, the bikes to place and the cost oracle.

    Attributes
    ----------
    docks:
        ``(n,)`` docks per station today (the allocation the moves start from).
    lower, upper:
        ``(n,)`` bounds on each station's docks after reallocation (``0 <= lower <= upper``);
        a station with ``docks`` outside its bounds *must* change (closing: ``upper = 0``).
    bikes:
        Bikes placed at the start of the period, in ``[0, sum of docks]``.
    cost:
        The per-station cost oracle.
    """

    docks: NDArray[np.int64]
    lower: NDArray[np.int64]
    upper: NDArray[np.int64]
    bikes: int
    cost: StationCost

    def __post_init__(self) -> None:
        d = np.asarray(self.docks)
        lo = np.asarray(self.lower)
        hi = np.asarray(self.upper)
        if d.ndim != 1 or lo.shape != d.shape or hi.shape != d.shape:
            raise ProblemError("docks, lower and upper need one entry per station")
        if (d < 0).any() or (lo < 0).any() or (lo > hi).any():
            raise ProblemError("docks must be >= 0 and 0 <= lower <= upper at every station")
        total = int(d.sum())
        if not int(lo.sum()) <= total <= int(hi.sum()):
            raise ProblemError(f"the {total} docks do not fit the bounds: lower adds up to "
                               f"{int(lo.sum())}, upper to {int(hi.sum())}")
        if not 0 <= self.bikes <= total:
            raise ProblemError(f"{self.bikes} bikes do not fit in {total} docks")

    @property
    def n(self) -> int:
        """Number of stations."""
        return len(self.docks)

    @property
    def total_docks(self) -> int:
        """Docks in the system (fixed)."""
        return int(np.asarray(self.docks).sum())

    @property
    def forced_moves(self) -> int:
        """Docks that must move because today's count is outside a station's bounds."""
        d = np.asarray(self.docks)
        return int(max(np.maximum(d - self.upper, 0).sum(), np.maximum(self.lower - d, 0).sum()))


@dataclass(frozen=True, eq=False)
class DockPlan:
    """A dock allocation and the bikes placed with it.

    Attributes
    ----------
    docks, bikes:
        ``(n,)`` docks and starting bikes per station.
    objective:
        Total cost of the plan.
    initial_objective:
        Total cost of today's docks with their best bikes (before any move; ``nan`` when today's
        docks are outside the bounds).
    moves:
        Docks relocated: ``sum(max(docks_today - docks, 0))``.
    steps:
        Dock moves the search made (work used; ``>= moves``).
    stopped:
        ``"optimum"`` (no improving move left) or ``"budget"`` (the work budget ran out).
    """

    docks: NDArray[np.int64]
    bikes: NDArray[np.int64]
    objective: float
    initial_objective: float
    moves: int
    steps: int
    stopped: Literal["optimum", "budget"]
