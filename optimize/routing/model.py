"""Problem and solution data for collection-vehicle routing.

Units
-----
The simulation-facing API works in **metres** (distance matrix) and **seconds** (duration
matrix, service times, time windows, shifts, breaks).  Both matrices are non-negative
integers indexed by *location*: stops, facilities and depots refer to locations by index,
so several of them may share one place.  Costs are in a currency unit of your choice:
``cost_per_km`` is charged per 1000 distance units and ``cost_per_hour`` per 3600 time
units of route duration (from leaving the start depot to arriving at the end depot,
waiting and breaks included).

Benchmark instances keep their own units: :mod:`optimize.routing.io` builds problems
whose matrix entries are the instance's rounded distances and sets ``cost_per_km=1000``
so that one distance unit costs exactly one; see that module for the rounding rules.

Load
----
Demands are *collected* (waste is picked up): the load grows along the route, resets to
zero at an intermediate facility (transfer station, dump), and must be zero again when
the vehicle reaches its end depot if ``Problem.unload_before_return`` is set.  A demand
has one entry per compartment (waste category); a vehicle type has one capacity per
compartment.

All classes are frozen; build a problem once, validate it with :meth:`Problem.validate`
(``solve`` does this for you) and hand it to any backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

#: Latest representable time (seconds), used when a window is open-ended.
HORIZON_MAX = 10**9

IntMatrix = NDArray[np.int64]


class ProblemError(ValueError):
    """The problem data are malformed (wrong shapes, negative values, bad indices)."""


@dataclass(frozen=True)
class Stop:
    """A place that a vehicle may or must visit to collect a demand.

    Parameters
    ----------
    location
        Index into the problem's matrices.
    demand
        Amount collected, one non-negative integer per compartment.
    service_time
        Seconds spent at the stop (emptying a bin).
    time_window
        ``(earliest, latest)`` start of service in seconds; ``None`` means always open.
    required
        Whether the stop must be served.  An optional stop may be skipped at ``penalty``.
    penalty
        Cost charged when an optional stop is skipped (prize-collecting).
    name
        Label used in solutions and diagnoses; defaults to ``"stop <index>"``.
    """

    location: int
    demand: tuple[int, ...] = (0,)
    service_time: int = 0
    time_window: tuple[int, int] | None = None
    required: bool = True
    penalty: float = 0.0
    name: str = ""


@dataclass(frozen=True)
class Facility:
    """An intermediate facility (transfer station, dump) where a vehicle unloads.

    Parameters
    ----------
    location
        Index into the problem's matrices.
    unload_time
        Seconds spent per unload.
    time_window
        Opening hours ``(open, close)``: an unload must start inside them.
    name
        Label used in solutions and diagnoses.
    """

    location: int
    unload_time: int = 0
    time_window: tuple[int, int] | None = None
    name: str = ""


@dataclass(frozen=True)
class Break:
    """A break (lunch) every used vehicle of a type takes once during its route.

    The break starts in ``[earliest_start, latest_start]``, lasts ``duration`` seconds
    and is taken between two visits (never during a service), possibly in the middle of a
    drive: the leg then lasts its travel time plus the break.
    """

    earliest_start: int
    latest_start: int
    duration: int


@dataclass(frozen=True)
class VehicleType:
    """A group of identical vehicles.

    Parameters
    ----------
    capacity
        One non-negative capacity per compartment (same length as stop demands).
    count
        Number of vehicles of this type available.
    start_depot, end_depot
        Locations where routes start and end.
    fixed_cost
        Cost of using one vehicle (charged when its route visits anything).
    cost_per_km
        Cost per 1000 distance units travelled.
    cost_per_hour
        Cost per 3600 time units of route duration.
    shift
        ``(start, end)``: a route leaves its depot no earlier than ``start`` and is back
        no later than ``end``.  ``None`` means unconstrained.
    max_duration
        Longest route duration in seconds (``None``: only the shift bounds it).
    break_
        A break every used vehicle of this type must take, or ``None``.
    name
        Label used in solutions.
    """

    capacity: tuple[int, ...]
    count: int = 1
    start_depot: int = 0
    end_depot: int = 0
    fixed_cost: float = 0.0
    cost_per_km: float = 1.0
    cost_per_hour: float = 0.0
    shift: tuple[int, int] | None = None
    max_duration: int | None = None
    break_: Break | None = None
    name: str = ""


def _as_matrix(m: object, what: str) -> IntMatrix:
    arr = np.asarray(m)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ProblemError(f"{what} must be a square matrix, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ProblemError(f"{what} must hold integers (round explicitly before building)")
    out = arr.astype(np.int64)
    if out.size and out.min() < 0:
        raise ProblemError(f"{what} has negative entries")
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Problem:
    """A routing problem: where to go, what to collect, with which fleet.

    Sequences are stored as tuples and matrices as read-only ``int64`` arrays.

    Parameters
    ----------
    distance
        ``(L, L)`` integer matrix of distances between locations (metres).
    duration
        ``(L, L)`` integer matrix of driving times between locations (seconds).
    stops
        The stops to serve.
    vehicle_types
        The fleet.
    facilities
        Intermediate facilities where loads are emptied; may be empty.
    unload_before_return
        Require every route to unload at a facility after its last collection
        (defaults to ``True`` when there are facilities, ``False`` otherwise).
    name
        Instance label.
    """

    distance: NDArray[Any]
    duration: NDArray[Any]
    stops: Sequence[Stop]
    vehicle_types: Sequence[VehicleType]
    facilities: Sequence[Facility] = ()
    unload_before_return: bool | None = None
    name: str = ""
    coordinates: NDArray[np.float64] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "distance", _as_matrix(self.distance, "distance"))
        object.__setattr__(self, "duration", _as_matrix(self.duration, "duration"))
        object.__setattr__(self, "stops", tuple(self.stops))
        object.__setattr__(self, "vehicle_types", tuple(self.vehicle_types))
        object.__setattr__(self, "facilities", tuple(self.facilities))
        if self.unload_before_return is None:
            object.__setattr__(self, "unload_before_return", bool(self.facilities))

    # ------------------------------------------------------------------ helpers
    @property
    def num_locations(self) -> int:
        """Number of rows of the matrices."""
        return int(self.distance.shape[0])

    @property
    def num_compartments(self) -> int:
        """Number of load dimensions."""
        return len(self.vehicle_types[0].capacity) if self.vehicle_types else 0

    @property
    def must_unload(self) -> bool:
        """Whether routes must end empty (``unload_before_return`` resolved)."""
        return bool(self.unload_before_return)

    def stop_name(self, i: int) -> str:
        """Label of stop ``i``."""
        return self.stops[i].name or f"stop {i}"

    def facility_name(self, f: int) -> str:
        """Label of facility ``f``."""
        return self.facilities[f].name or f"facility {f}"

    def stop_window(self, i: int) -> tuple[int, int]:
        """Time window of stop ``i`` with open ends filled in."""
        tw = self.stops[i].time_window
        return (0, HORIZON_MAX) if tw is None else tw

    def facility_window(self, f: int) -> tuple[int, int]:
        """Opening hours of facility ``f`` with open ends filled in."""
        tw = self.facilities[f].time_window
        return (0, HORIZON_MAX) if tw is None else tw

    def shift_of(self, t: int) -> tuple[int, int]:
        """Shift of vehicle type ``t`` with open ends filled in."""
        sh = self.vehicle_types[t].shift
        return (0, HORIZON_MAX) if sh is None else sh

    def validate(self) -> None:
        """Check shapes, indices and signs; raise :class:`ProblemError` naming the culprit."""
        n = self.num_locations
        if self.duration.shape != self.distance.shape:
            raise ProblemError(
                f"duration matrix shape {self.duration.shape} differs from distance "
                f"matrix shape {self.distance.shape}")
        if not self.vehicle_types:
            raise ProblemError("the problem has no vehicle type")
        k = self.num_compartments
        if k == 0:
            raise ProblemError("vehicle capacity must have at least one compartment")

        def check_loc(loc: int, what: str) -> None:
            if not 0 <= loc < n:
                raise ProblemError(f"{what}: location {loc} outside 0..{n - 1}")

        def check_tw(tw: tuple[int, int] | None, what: str) -> None:
            if tw is not None and not (0 <= tw[0] <= tw[1]):
                raise ProblemError(f"{what}: window {tw} must satisfy 0 <= start <= end")

        for i, s in enumerate(self.stops):
            what = self.stop_name(i)
            check_loc(s.location, what)
            check_tw(s.time_window, what)
            if len(s.demand) != k:
                raise ProblemError(
                    f"{what}: demand has {len(s.demand)} compartments, fleet has {k}")
            if min(s.demand) < 0 or s.service_time < 0 or s.penalty < 0:
                raise ProblemError(f"{what}: demand, service time and penalty must be >= 0")
        for f, fac in enumerate(self.facilities):
            check_loc(fac.location, self.facility_name(f))
            check_tw(fac.time_window, self.facility_name(f))
            if fac.unload_time < 0:
                raise ProblemError(f"{self.facility_name(f)}: unload_time must be >= 0")
        for t, vt in enumerate(self.vehicle_types):
            what = vt.name or f"vehicle type {t}"
            check_loc(vt.start_depot, what + " start depot")
            check_loc(vt.end_depot, what + " end depot")
            check_tw(vt.shift, what + " shift")
            if len(vt.capacity) != k or min(vt.capacity) < 0:
                raise ProblemError(f"{what}: capacity must have {k} non-negative entries")
            if vt.count < 0:
                raise ProblemError(f"{what}: count must be >= 0")
            if vt.fixed_cost < 0 or vt.cost_per_km < 0 or vt.cost_per_hour < 0:
                raise ProblemError(f"{what}: costs must be >= 0")
            if vt.max_duration is not None and vt.max_duration < 0:
                raise ProblemError(f"{what}: max_duration must be >= 0")
            b = vt.break_
            if b is not None and not (0 <= b.earliest_start <= b.latest_start and b.duration >= 0):
                raise ProblemError(f"{what}: break needs 0 <= earliest_start <= latest_start")

    def vehicles(self) -> list[int]:
        """Vehicle type of every individual vehicle, in fleet order."""
        return [t for t, vt in enumerate(self.vehicle_types) for _ in range(vt.count)]


def matrices_from_coordinates(
    xy: Sequence[Sequence[float]] | NDArray[np.float64],
    speed_m_per_s: float,
    *,
    detour: float = 1.0,
) -> tuple[IntMatrix, IntMatrix]:
    """Euclidean distance (m, rounded) and driving time (s, rounded) between points.

    ``detour`` multiplies straight-line distances to approximate a street network.
    """
    pts = np.asarray(xy, dtype=float)
    d = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2)) * detour
    dist = np.floor(d + 0.5).astype(np.int64)
    dur = np.floor(d / speed_m_per_s + 0.5).astype(np.int64)
    return dist, dur


# ---------------------------------------------------------------------- solutions

VisitKind = Literal["stop", "facility"]


@dataclass(frozen=True)
class Visit:
    """One visit of a route.

    ``arrival`` is when the vehicle reaches the place, ``start`` when service (or the
    unload) starts — later than ``arrival`` when the vehicle waits for a window to open.
    ``load`` is the load on board after the visit, per compartment.
    """

    kind: VisitKind
    index: int
    location: int
    arrival: int
    start: int
    departure: int
    load: tuple[int, ...]


@dataclass(frozen=True)
class Route:
    """The route of one vehicle.  Times in seconds, distance in metres."""

    vehicle: int
    vehicle_type: int
    start_time: int
    end_time: int
    visits: tuple[Visit, ...]
    distance: int
    break_start: int | None = None

    @property
    def duration(self) -> int:
        """Seconds from leaving the start depot to reaching the end depot."""
        return self.end_time - self.start_time

    @property
    def stops(self) -> list[int]:
        """Indices of the stops served, in order."""
        return [v.index for v in self.visits if v.kind == "stop"]


@dataclass(frozen=True)
class CostBreakdown:
    """Cost of a solution split by origin.  ``total`` is the objective."""

    fixed: float
    distance: float
    time: float
    penalty: float

    @property
    def total(self) -> float:
        """Sum of the parts."""
        return self.fixed + self.distance + self.time + self.penalty


Status = Literal["optimal", "feasible"]


@dataclass(frozen=True)
class Solution:
    """A solution returned by :func:`optimize.routing.solve`.

    ``status`` is ``"optimal"`` only when the backend proved optimality (OR-Tools and
    PyVRP heuristics never do, so in practice ``"feasible"``).  ``routes`` lists used
    vehicles only.  ``skipped`` lists optional stops not served.  ``limit_reached`` says
    that the search was stopped by its budget rather than by itself (OR-Tools: a local
    optimum not reached; PyVRP's iterated local search always runs to its limit), so more
    effort might have served more stops.
    """

    routes: tuple[Route, ...]
    skipped: tuple[int, ...]
    cost: CostBreakdown
    status: Status
    backend: str
    wall_time: float
    total_distance: int = 0
    notes: tuple[str, ...] = ()
    limit_reached: bool = False

    @property
    def num_routes(self) -> int:
        """Number of vehicles used."""
        return len(self.routes)
