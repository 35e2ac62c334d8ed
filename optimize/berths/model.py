"""Problem data and results of the berth allocation problem.

Two problems share one result type:

* :class:`BerthProblem` — the *discrete* dynamic berth allocation problem (DBAP): requests
  (vessels, garbage trucks, vans) arrive over time and each is served on exactly one of the
  berths it is allowed on, one at a time per berth, with a handling time that may depend on
  the berth.
* :class:`KerbProblem` — the *continuous* variant for kerbside loading zones: one kerb segment
  of a given length in metres is shared by vehicles of different lengths; two vehicles may not
  overlap in time × position.
* :class:`KerbAllocationProblem` — the same over several kerb segments, each open for loading
  in its own windows: every request is placed on one segment it may use, at a start time and a
  position; a request with a ``skip_penalty`` may instead be left off the kerb (a delivery
  that double-parks) at that cost.  A :class:`KerbProblem` is the one-segment case.

Times are integers in any unit the caller chooses (minutes in the simulations, the published
instances use abstract time units).  The objective of both problems is

    Σ wᵢ·(Cᵢ − aᵢ) + Σ pᵢ·max(0, Cᵢ − dᵢ)          (second sum over soft deadlines only)

the weighted service time (waiting + handling) plus lateness penalties, where ``Cᵢ`` is the
completion time, ``aᵢ`` the arrival, ``dᵢ`` the latest completion and ``pᵢ`` the penalty per
time unit of lateness.  A hard deadline (``lateness_penalty is None``) must be met.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field


class BerthDataError(ValueError):
    """Problem data that cannot describe a berth allocation problem."""


def _check_int(name: str, value: object, minimum: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise BerthDataError(f"{name}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise BerthDataError(f"{name}: expected an integer >= {minimum}, got {value}")


def _check_weight(name: str, value: object, *, positive: bool) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise BerthDataError(f"{name}: expected a finite number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise BerthDataError(f"{name}: expected a number {'> 0' if positive else '>= 0'}, got {value}")


def _check_deadline(owner: str, latest: int | None, penalty: float | None) -> None:
    if latest is not None:
        _check_int(f"{owner}.latest_completion", latest)
    if penalty is not None:
        if latest is None:
            raise BerthDataError(f"{owner}: lateness_penalty given without a latest_completion")
        _check_weight(f"{owner}.lateness_penalty", penalty, positive=False)


@dataclass(frozen=True)
class Berth:
    """A berth (quay position, tipping bay, loading bay) available during ``[open, close)``.

    Parameters
    ----------
    id
        Unique name of the berth.
    open
        Earliest time a request may start on the berth.
    close
        Time by which every request served on the berth must be complete; ``None`` = never closes.
    """

    id: str
    open: int = 0
    close: int | None = None

    def __post_init__(self) -> None:
        _check_int(f"berth {self.id!r}.open", self.open)
        if self.close is not None:
            _check_int(f"berth {self.id!r}.close", self.close)
            if self.close < self.open:
                raise BerthDataError(f"berth {self.id!r}: close {self.close} before open {self.open}")


@dataclass(frozen=True)
class Request:
    """A vehicle asking for a berth.

    Parameters
    ----------
    id
        Unique name of the request.
    arrival
        Time the vehicle arrives; it cannot start before.
    handling
        Handling time per *allowed* berth id (a berth absent from the mapping is forbidden).
    weight
        Cost per time unit the vehicle spends in the system (waiting + handling).
    latest_completion
        Latest time the service should be complete; ``None`` = no deadline.
    lateness_penalty
        ``None`` makes ``latest_completion`` hard; a number makes it soft, with this cost per
        time unit of lateness.
    """

    id: str
    arrival: int
    handling: Mapping[str, int]
    weight: float = 1.0
    latest_completion: int | None = None
    lateness_penalty: float | None = None

    def __post_init__(self) -> None:
        owner = f"request {self.id!r}"
        _check_int(f"{owner}.arrival", self.arrival)
        _check_weight(f"{owner}.weight", self.weight, positive=False)
        if not self.handling:
            raise BerthDataError(f"{owner}: no allowed berth (handling is empty)")
        for berth, h in self.handling.items():
            _check_int(f"{owner}.handling[{berth!r}]", h, minimum=1)
        _check_deadline(owner, self.latest_completion, self.lateness_penalty)

    @property
    def hard_deadline(self) -> int | None:
        """The latest completion if it is hard, else ``None``."""
        return self.latest_completion if self.lateness_penalty is None else None


@dataclass(frozen=True)
class BerthProblem:
    """A discrete dynamic berth allocation problem: requests, berths and their compatibility."""

    berths: tuple[Berth, ...]
    requests: tuple[Request, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "berths", tuple(self.berths))
        object.__setattr__(self, "requests", tuple(self.requests))
        if not self.berths:
            raise BerthDataError("a berth problem needs at least one berth")
        ids = [b.id for b in self.berths]
        if len(set(ids)) != len(ids):
            raise BerthDataError(f"duplicate berth id among {sorted(ids)}")
        rids = [r.id for r in self.requests]
        if len(set(rids)) != len(rids):
            raise BerthDataError("duplicate request id")
        known = set(ids)
        for r in self.requests:
            unknown = sorted(set(r.handling) - known)
            if unknown:
                raise BerthDataError(f"request {r.id!r}: handling names unknown berth(s) {unknown}")

    @property
    def berth_index(self) -> dict[str, int]:
        """Position of each berth id in :attr:`berths`."""
        return {b.id: k for k, b in enumerate(self.berths)}


@dataclass(frozen=True)
class KerbRequest:
    """A vehicle asking for a stretch of kerb of its own length.

    Parameters
    ----------
    id, arrival, weight, latest_completion, lateness_penalty
        As in :class:`Request`.
    handling
        Time the vehicle occupies the kerb.
    length
        Kerb length the vehicle needs, in metres (including manoeuvring margin).
    """

    id: str
    arrival: int
    handling: int
    length: float
    weight: float = 1.0
    latest_completion: int | None = None
    lateness_penalty: float | None = None
    #: segments of a :class:`KerbAllocationProblem` the vehicle may use; ``None`` = any
    segments: tuple[str, ...] | None = None
    #: ``None``: the request must get kerb; a number: it may be left off the kerb (it
    #: double-parks) at this cost instead of its service cost
    skip_penalty: float | None = None

    def __post_init__(self) -> None:
        owner = f"kerb request {self.id!r}"
        _check_int(f"{owner}.arrival", self.arrival)
        _check_int(f"{owner}.handling", self.handling, minimum=1)
        _check_weight(f"{owner}.length", self.length, positive=True)
        _check_weight(f"{owner}.weight", self.weight, positive=False)
        _check_deadline(owner, self.latest_completion, self.lateness_penalty)
        if self.segments is not None:
            object.__setattr__(self, "segments", tuple(self.segments))
            if not self.segments:
                raise BerthDataError(f"{owner}: segments is empty (omit it to allow every segment)")
        if self.skip_penalty is not None:
            _check_weight(f"{owner}.skip_penalty", self.skip_penalty, positive=False)

    @property
    def hard_deadline(self) -> int | None:
        """The latest completion if it is hard, else ``None``."""
        return self.latest_completion if self.lateness_penalty is None else None


@dataclass(frozen=True)
class KerbProblem:
    """A kerbside loading zone of ``length`` metres open during ``[open, close)``.

    ``resolution`` is the grid in metres on which the solver places vehicles: lengths are
    rounded *up* to it and the kerb length *down*, so every solver placement is valid for
    the real lengths (the checker verifies with the real ones).
    """

    length: float
    requests: tuple[KerbRequest, ...]
    open: int = 0
    close: int | None = None
    resolution: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "requests", tuple(self.requests))
        _check_weight("kerb length", self.length, positive=True)
        _check_weight("kerb resolution", self.resolution, positive=True)
        _check_int("kerb open", self.open)
        if self.close is not None:
            _check_int("kerb close", self.close)
            if self.close < self.open:
                raise BerthDataError(f"kerb close {self.close} before open {self.open}")
        rids = [r.id for r in self.requests]
        if len(set(rids)) != len(rids):
            raise BerthDataError("duplicate kerb request id")

    def as_allocation(self) -> KerbAllocationProblem:
        """The same problem as a one-segment :class:`KerbAllocationProblem` (segment ``"kerb"``)."""
        seg = KerbSegment(KERB, self.length, ((self.open, self.close),))
        reqs = tuple(r if r.segments is None else KerbRequest(
            r.id, r.arrival, r.handling, r.length, r.weight, r.latest_completion, r.lateness_penalty,
            None, r.skip_penalty) for r in self.requests)
        return KerbAllocationProblem((seg,), reqs, self.resolution)


#: the segment id of a :class:`KerbProblem` seen as a :class:`KerbAllocationProblem`
KERB = "kerb"


@dataclass(frozen=True)
class KerbSegment:
    """A kerb segment of ``length`` metres, open to loading during ``windows``.

    ``windows`` are ``[start, end)`` periods in increasing, disjoint order; only the last may
    be open-ended (``end = None``).  A vehicle's whole stay must fall inside one window.
    """

    id: str
    length: float
    windows: tuple[tuple[int, int | None], ...] = ((0, None),)

    def __post_init__(self) -> None:
        owner = f"kerb segment {self.id!r}"
        _check_weight(f"{owner}.length", self.length, positive=True)
        object.__setattr__(self, "windows", tuple((int(a), b) for a, b in self.windows))
        prev: int | None = None
        for k, (a, b) in enumerate(self.windows):
            _check_int(f"{owner}.windows[{k}] start", a)
            if b is None:
                if k != len(self.windows) - 1:
                    raise BerthDataError(f"{owner}.windows[{k}]: only the last window may be open-ended")
            else:
                _check_int(f"{owner}.windows[{k}] end", b)
                if b <= a:
                    raise BerthDataError(f"{owner}.windows[{k}]: end {b} not after start {a}")
            if prev is not None and a < prev:
                raise BerthDataError(f"{owner}.windows[{k}]: starts at {a}, before the previous window ends")
            prev = b

    def fits(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` lies inside one loading window."""
        return any(a <= start and (b is None or end <= b) for a, b in self.windows)


@dataclass(frozen=True)
class KerbAllocationProblem:
    """Kerb requests to place on several segments (see the module docstring).

    ``resolution`` is the position grid in metres, as in :class:`KerbProblem`.
    """

    segments: tuple[KerbSegment, ...]
    requests: tuple[KerbRequest, ...]
    resolution: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(self.segments))
        object.__setattr__(self, "requests", tuple(self.requests))
        _check_weight("kerb resolution", self.resolution, positive=True)
        if not self.segments:
            raise BerthDataError("a kerb allocation problem needs at least one segment")
        ids = [g.id for g in self.segments]
        if len(set(ids)) != len(ids):
            raise BerthDataError(f"duplicate kerb segment id among {sorted(ids)}")
        rids = [r.id for r in self.requests]
        if len(set(rids)) != len(rids):
            raise BerthDataError("duplicate kerb request id")
        known = set(ids)
        for r in self.requests:
            unknown = sorted(set(r.segments or ()) - known)
            if unknown:
                raise BerthDataError(f"kerb request {r.id!r}: segments names unknown segment(s) {unknown}")

    def allowed(self, r: KerbRequest) -> tuple[KerbSegment, ...]:
        """The segments request ``r`` may use, in problem order."""
        if r.segments is None:
            return self.segments
        want = set(r.segments)
        return tuple(g for g in self.segments if g.id in want)


class Status(enum.StrEnum):
    """Outcome of a solve."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"  # time limit reached before any solution or proof


@dataclass(frozen=True)
class Assignment:
    """Where and when one request is served: ``[start, end)`` on ``berth`` or at ``position``.

    ``berth`` is set for a :class:`BerthProblem` (and names the segment in a
    :class:`KerbAllocationProblem`), ``position`` (metres from the start of the kerb segment to
    the vehicle's rear) for a :class:`KerbProblem` and a :class:`KerbAllocationProblem`.
    """

    request: str
    start: int
    end: int
    berth: str | None = None
    position: float | None = None


@dataclass(frozen=True)
class Diagnosis:
    """Why a set of requests cannot all be served within their hard limits."""

    requests: tuple[str, ...]
    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class SolveResult:
    """What :func:`optimize.berths.solve` found.

    Attributes
    ----------
    status
        ``optimal`` (proven), ``feasible`` (a schedule, optimality not proven), ``infeasible``
        (proven; see ``diagnosis``) or ``unknown`` (time limit hit with neither).
    schedule
        One :class:`Assignment` per request (empty unless a schedule was found).
    objective
        Objective of ``schedule`` (see the module docstring), ``None`` without a schedule.
    lower_bound
        Best proven lower bound on the optimal objective, ``None`` when infeasible.
    wall_time
        Seconds spent in :func:`solve`.
    warm_start_objective
        Objective of the greedy schedule given to CP-SAT as a hint (``None`` if it found none).
    diagnosis
        For an infeasible problem: which requests conflict and why.
    unserved
        Requests of a :class:`KerbAllocationProblem` left off the kerb (they carry a
        ``skip_penalty``); every other request is in ``schedule``.
    """

    status: Status
    schedule: tuple[Assignment, ...]
    objective: float | None
    lower_bound: float | None
    wall_time: float
    warm_start_objective: float | None = None
    diagnosis: tuple[Diagnosis, ...] = field(default_factory=tuple)
    unserved: tuple[str, ...] = ()

    @property
    def by_request(self) -> dict[str, Assignment]:
        """The schedule keyed by request id."""
        return {a.request: a for a in self.schedule}

    def require_schedule(self) -> tuple[Assignment, ...]:
        """The schedule; raises :class:`BerthInfeasibleError` (with the diagnosis) if there is none."""
        if not self.schedule and (self.status is Status.INFEASIBLE or self.status is Status.UNKNOWN):
            diag = self.diagnosis or (Diagnosis((), "no schedule found within the time limit"),)
            raise BerthInfeasibleError(diag)
        return self.schedule

    @property
    def gap(self) -> float | None:
        """Relative gap ``(objective − lower_bound) / objective`` (0 when proven optimal)."""
        if self.objective is None or self.lower_bound is None:
            return None
        if self.objective == 0:
            return 0.0
        return max(0.0, (self.objective - self.lower_bound) / abs(self.objective))


class BerthInfeasibleError(RuntimeError):
    """Raised by :meth:`SolveResult.require_schedule` when there is no schedule."""

    def __init__(self, diagnosis: tuple[Diagnosis, ...]) -> None:
        self.diagnosis = diagnosis
        super().__init__("; ".join(str(d) for d in diagnosis) or "infeasible")
