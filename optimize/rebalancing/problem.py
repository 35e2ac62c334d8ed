"""Data of a bike-rebalancing problem and of its solution (a plan of van routes).

The problem is a one-commodity pickup-and-delivery problem: stations hold more bikes than their
target (surplus, to be picked up) or fewer (deficit, to be filled); vans of limited capacity,
starting somewhere with some bikes on board, drive between stations within a time budget and
move bikes.  A van's load goes up and down along its route and must stay within
``[0, capacity]`` everywhere.  Serving a station is optional; each bike moved towards the
target is worth ``value_per_bike`` (in metres of driving it justifies, times
:attr:`RebalancingProblem.metres_per_value`).

Distances are straight-line distances between positions in metres times a detour factor,
the usual stand-in for a street network (road distances in cities run 1.2-1.4 times the
straight line).  Solver and checker share :meth:`RebalancingProblem.distance` as the one
definition of the problem's geometry.  With :attr:`RebalancingProblem.roads` (a
:class:`RoadLegs`) the lengths and driving times of a street network are used instead, as
given: from each van to each station and between stations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


class ProblemError(ValueError):
    """Inconsistent rebalancing-problem data."""


@dataclass(frozen=True)
class Van:
    """One rebalancing van.

    Attributes
    ----------
    capacity:
        Bikes the van carries at most (> 0).
    x, y:
        Where the van starts, metres.
    load:
        Bikes on board at the start, in ``[0, capacity]``.
    time_budget_s:
        Seconds available for driving and handling (> 0).
    speed_m_s:
        Driving speed, metres per second.
    handling_s_per_bike:
        Seconds to load or unload one bike.
    end_load_value:
        Cost (in value units, like ``value_per_bike``) of each bike still on board when the
        route ends; 0 lets the van keep what it picked up.
    """

    capacity: int
    x: float
    y: float
    load: int = 0
    time_budget_s: float = 3600.0
    speed_m_s: float = 20.0 / 3.6
    handling_s_per_bike: float = 30.0
    end_load_value: float = 0.0

    def __post_init__(self) -> None:
        if self.capacity <= 0:
            raise ProblemError(f"van capacity must be positive, got {self.capacity}")
        if not 0 <= self.load <= self.capacity:
            raise ProblemError(f"van load {self.load} outside [0, {self.capacity}]")
        if (self.time_budget_s <= 0 or self.speed_m_s <= 0 or self.handling_s_per_bike < 0
                or self.end_load_value < 0):
            raise ProblemError(
                "van time budget and speed must be positive, handling time and end-load value >= 0"
            )


@dataclass(frozen=True, eq=False)
class RoadLegs:
    """Travel on a street network: lengths (metres) and driving times (seconds) between the
    problem's stations (``(n, n)``, from row to column) and from each van's position to each
    station (``(vans, n)``).  Driving times replace distance / the van's speed."""

    distance_m: NDArray[np.float64]
    duration_s: NDArray[np.float64]
    from_van_m: NDArray[np.float64]
    from_van_s: NDArray[np.float64]

    def check(self, n: int, vans: int) -> None:
        """Raise :class:`ProblemError` unless the shapes fit ``n`` stations and ``vans`` vans
        and every entry is finite and >= 0."""
        for label, arr, shape in (("distance_m", self.distance_m, (n, n)), ("duration_s", self.duration_s, (n, n)),
                                  ("from_van_m", self.from_van_m, (vans, n)),
                                  ("from_van_s", self.from_van_s, (vans, n))):
            a = np.asarray(arr, dtype=float)
            if a.shape != shape:
                raise ProblemError(f"roads.{label} must have shape {shape}, got {a.shape}")
            if a.size and not (np.all(np.isfinite(a)) and a.min() >= 0):
                raise ProblemError(f"roads.{label}: entries must be finite and >= 0")


@dataclass(frozen=True, eq=False)
class RebalancingProblem:
    """Stations with stock, target and capacity, and the vans that may move bikes.

    Attributes
    ----------
    stock, target, capacity:
        Integer arrays of length ``n``: bikes now, bikes wanted, docks.  ``0 <= target <=
        capacity`` and ``0 <= stock``; dockless parking points may hold more than
        ``capacity`` (``stock > capacity``), which only makes them a pickup candidate.
    positions:
        ``(n, 2)`` station coordinates in metres.
    vans:
        The vans.
    value_per_bike:
        Worth of moving one bike towards the target at each station (dimensionless weight,
        default 1); the rebalancing planner sets it to the expected shortage avoided per bike.
    metres_per_value:
        Driving distance (metres) that one unit of value justifies.
    detour:
        Road distance / straight-line distance.
    roads:
        Street-network legs replacing straight lines times ``detour`` (``None``: straight lines).
    """

    stock: NDArray[np.int64]
    target: NDArray[np.int64]
    capacity: NDArray[np.int64]
    positions: NDArray[np.float64]
    vans: tuple[Van, ...]
    value_per_bike: NDArray[np.float64] | None = None
    metres_per_value: float = 3000.0
    detour: float = 1.3
    names: tuple[str, ...] = field(default=())
    roads: RoadLegs | None = None

    def __post_init__(self) -> None:
        n = len(self.stock)
        for label, arr in (("target", self.target), ("capacity", self.capacity)):
            if len(arr) != n:
                raise ProblemError(f"{label} has {len(arr)} entries, stock has {n}")
        if np.shape(self.positions) != (n, 2):
            raise ProblemError(f"positions must have shape ({n}, 2), got {np.shape(self.positions)}")
        if self.value_per_bike is not None and len(self.value_per_bike) != n:
            raise ProblemError(f"value_per_bike has {len(self.value_per_bike)} entries, expected {n}")
        if n and (np.min(self.stock) < 0 or np.min(self.target) < 0):
            raise ProblemError("stock and target must be non-negative")
        if n and np.any(self.target > self.capacity):
            i = int(np.argmax(self.target > self.capacity))
            raise ProblemError(f"station {i}: target {self.target[i]} exceeds capacity {self.capacity[i]}")
        if self.detour < 1.0 or self.metres_per_value <= 0:
            raise ProblemError("detour must be >= 1 and metres_per_value > 0")
        if not self.vans:
            raise ProblemError("at least one van is needed")
        if self.roads is not None:
            self.roads.check(n, len(self.vans))

    @property
    def n(self) -> int:
        """Number of stations."""
        return len(self.stock)

    def values(self) -> NDArray[np.float64]:
        """``value_per_bike`` with the default of 1 filled in."""
        if self.value_per_bike is None:
            return np.ones(self.n)
        return np.asarray(self.value_per_bike, dtype=float)

    def distance(self, a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        """Road distance in metres between points ``a`` (``(k, 2)``) and ``b`` (``(m, 2)``)."""
        a2 = np.atleast_2d(np.asarray(a, dtype=float))
        b2 = np.atleast_2d(np.asarray(b, dtype=float))
        diff = a2[:, None, :] - b2[None, :, :]
        return self.detour * np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))

    def imbalance(self, stock: NDArray[np.int64] | None = None) -> int:
        """Total absolute deviation from target, in bikes."""
        s = self.stock if stock is None else stock
        return int(np.abs(np.asarray(s) - self.target).sum())


@dataclass(frozen=True)
class Stop:
    """A van visit: ``quantity > 0`` bikes picked up, ``< 0`` dropped off."""

    station: int
    quantity: int


@dataclass(frozen=True)
class Route:
    """The stops of one van, in driving order."""

    van: int
    stops: tuple[Stop, ...]


@dataclass(frozen=True)
class Plan:
    """A solution: one route per van (possibly empty) and solver statistics."""

    routes: tuple[Route, ...]
    objective: float = float("nan")
    solve_time_s: float = 0.0
    status: str = ""

    @property
    def bikes_moved(self) -> int:
        """Bikes picked up (each is also dropped off, or stays on the van)."""
        return sum(s.quantity for r in self.routes for s in r.stops if s.quantity > 0)
