"""The kerb planner: refuse-truck and delivery stops (``[city.kerb_loading]``) allocated to the
loading zones of a policy (``policy.loading``) with :mod:`optimize.berths`, and the kerb-taken
table it writes for the parking model.

The coupling is one way and explicit: this module writes a table of kerb taken per segment and
time slot (rows of :class:`~simcity.parking.config.KerbTaken`); the parking simulation
(:mod:`simcity.parking.sim`) reads only that table, as a time-varying kerb capacity, and never
calls the planner.  The same table can be written to CSV (:func:`write_kerb_table`) and read
back by any parking scenario as ``city.kerb_taken_file``.

The plan is made before the simulation, with a work budget (CP-SAT deterministic time, one
worker), so it is the same for every replication, machine and ``--jobs``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from optimize.berths import (
    KerbAllocationProblem,
    KerbRequest,
    KerbSegment,
    check_schedule,
    solve,
)
from optimize.budget import Budget
from simcity.parking.config import City, KerbTaken, LoadingStop, Policy
from simcity.parking.layout import removed_berths

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class StopOutcome:
    """What happened to one loading stop: where and when it stood, or that it double-parked."""

    id: str
    kind: str
    arrival_min: int
    dwell_min: int
    segment: str | None  # None: double-parked
    start_min: int | None

    @property
    def wait_min(self) -> int:
        """Minutes the vehicle waited for kerb (0 when it double-parked at once)."""
        return 0 if self.start_min is None else self.start_min - self.arrival_min


@dataclass(frozen=True)
class LoadingPlan:
    """The planner's output: the kerb-taken table and the outcome of every stop."""

    table: tuple[KerbTaken, ...]
    stops: tuple[StopOutcome, ...]
    status: str

    @property
    def wait_min(self) -> float:
        """Total minutes loading vehicles waited for kerb in the day."""
        return float(sum(s.wait_min for s in self.stops))

    @property
    def double_parked(self) -> int:
        """Stops that found no kerb and double-parked."""
        return sum(1 for s in self.stops if s.segment is None)


def expand_stops(stops: Sequence[LoadingStop]) -> list[tuple[str, LoadingStop, int, int]]:
    """Every stop of the day as ``(id, stop, earliest start, latest end)`` in minutes; a series
    (``count`` > 1) becomes ``<id>-1``, ``<id>-2``, ... ``every_minutes`` apart."""
    out = []
    for s in stops:
        a, b = round(s.window[0] * 60), round(s.window[1] * 60)
        for n in range(s.count):
            sid = s.id if s.count == 1 else f"{s.id}-{n + 1}"
            out.append((sid, s, a + n * s.every_minutes, b + n * s.every_minutes))
    return out


def _segments(city: City, policy: Policy) -> list[KerbSegment]:
    """The policy's loading zones as kerb segments open to loading in its hours."""
    lo = policy.loading
    lengths = {f.id: f.length_m for f in city.kerb_segments}
    if lo.mode == "windowed":
        windows: tuple[tuple[int, int | None], ...] = tuple(
            (round(a * 60), round(b * 60)) for a, b in sorted(lo.hours))
    else:
        windows = ((0, MINUTES_PER_DAY),)
    return [KerbSegment(z.segment, lengths[z.segment] if z.length_m is None else z.length_m, windows)
            for z in lo.zones]


def plan_loading(city: City, policy: Policy) -> LoadingPlan:
    """Allocate the city's loading stops to the policy's loading zones and write the table.

    Each stop arrives at the start of its window and is placed on one of its segments (those
    that are loading zones under the policy) within the window, or double-parks; the objective
    is the vehicle minutes (waiting + dwell) of the stops at the kerb plus, for each stop that
    double-parks, its dwell and ``double_park_delay_minutes``: a stop waits for kerb only while
    waiting costs less than double-parking.  The table: ``dedicated`` zones are taken all day,
    ``windowed`` zones in their hours, ``booked`` zones per slot as far as the plan books them
    (from the zone's start to the farthest vehicle standing in the slot), ``none`` takes nothing.
    """
    kl = city.kerb_loading
    if kl is None:
        return LoadingPlan((), (), "no loading stops")
    stops = expand_stops(kl.stops)
    lo = policy.loading
    segs = _segments(city, policy) if lo.mode != "none" else []
    zone_ids = {g.id for g in segs}
    reqs = []
    for sid, s, a, b in stops:
        allowed = [g for g in s.segments if g in zone_ids] if s.segments else sorted(zone_ids)
        if allowed:
            reqs.append(KerbRequest(sid, a, s.dwell_minutes, s.length_m, latest_completion=b,
                                    segments=tuple(allowed),
                                    skip_penalty=s.dwell_minutes + kl.double_park_delay_minutes))
    placed: dict[str, tuple[str, int, float]] = {}
    status = "no loading zones"
    if reqs:
        problem = KerbAllocationProblem(tuple(segs), tuple(reqs))
        res = solve(problem, budget=Budget.work(kl.plan_effort))
        schedule = res.require_schedule()
        check_schedule(problem, schedule, res.unserved).raise_if_invalid("kerb loading plan")
        placed = {x.request: (str(x.berth), x.start, float(x.position or 0.0)) for x in schedule}
        status = res.status.value
    outcomes = tuple(
        StopOutcome(sid, s.kind, a, s.dwell_minutes, placed[sid][0] if sid in placed else None,
                    placed[sid][1] if sid in placed else None)
        for sid, s, a, _ in stops)
    length = {sid: s.length_m for sid, s, _, _ in stops}
    return LoadingPlan(_table(policy, segs, outcomes, placed, length, kl.slot_minutes), outcomes, status)


def _table(policy: Policy, segs: list[KerbSegment], outcomes: Sequence[StopOutcome],
           placed: dict[str, tuple[str, int, float]], length: dict[str, float],
           slot: int) -> tuple[KerbTaken, ...]:
    mode = policy.loading.mode
    rows: list[KerbTaken] = []
    if mode in ("dedicated", "windowed"):
        for g in segs:
            for a, b in g.windows:
                rows.append(KerbTaken(segment=g.id, start_min=a, end_min=int(b or MINUTES_PER_DAY),
                                      taken_m=g.length))
    elif mode == "booked":
        for g in segs:
            for t0 in range(0, MINUTES_PER_DAY, slot):
                t1 = t0 + slot
                extent = max((placed[o.id][2] + length[o.id] for o in outcomes
                              if o.segment == g.id and o.start_min is not None
                              and o.start_min < t1 and t0 < o.start_min + o.dwell_min), default=0.0)
                if extent > 0:
                    rows.append(KerbTaken(segment=g.id, start_min=t0, end_min=t1,
                                          taken_m=min(g.length, round(extent, 3))))
    return tuple(rows)


def write_kerb_table(rows: Sequence[KerbTaken], path: str | Path | None = None) -> str:
    """The table as CSV text (columns segment, start_min, end_min, taken_m), written to ``path``
    when given; ``city.kerb_taken_file`` reads it back."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["segment", "start_min", "end_min", "taken_m"])
    for r in rows:
        w.writerow([r.segment, r.start_min, r.end_min, repr(float(r.taken_m))])
    text = buf.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def taken_berth_hours(city: City, rows: Sequence[KerbTaken]) -> float:
    """Berth-hours a day the table takes from parkers (berths removed x hours)."""
    return float(sum((b - a) * n for pieces in removed_berths(city, rows, 1).values() for a, b, n in pieces))
