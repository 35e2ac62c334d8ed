"""Transfer stations with heterogeneous tipping bays, a weighbridge and appointment slots.

A station with ``tipping_bays`` (:class:`~simcity.garbage.config.TippingBay`) has bays that
differ by the categories and truck types (fleets) they take, by tip time and by daily opening
window; an optional weighbridge is crossed by every truck before it queues for a bay.

Planning (pure, no SimPy): the day's planned unloads at a station become a
:class:`optimize.berths.BerthProblem` — one request per unload, arriving at its planned
arrival plus the weighing time, one berth per bay open over the bay's window that day,
handling = the bay's slot length (tip time + ``appointments.slot_margin_minutes``, whole
minutes) on the bays that take the truck, weight 1 (truck-minutes) — solved under a work
budget (CP-SAT deterministic seconds, one worker).  The answer is one :class:`Slot` per
unload; :func:`check_slots` checks a slot book against the station's own configuration,
independently of the berth model.

Queueing (SimPy, :class:`StationQueue`), the stated rules:

* ``fcfs``: a truck takes the free open bay that takes it with the shortest tip time; when
  none is free it waits, and a bay that frees (or opens) serves the earliest-arrived waiting
  truck it takes.
* slots (``planned`` / ``routed``): a truck that holds a slot and arrives no later than slot
  start + ``grace_minutes`` queues at its slot's bay only, ranked by slot start; it tips as
  soon as that bay is free and open and no waiting truck there has an earlier slot (it may
  tip early on an idle bay).  A truck later than that has **missed its slot**; it and every
  truck without a slot (unplanned unloads, diversions) is a *walk-in*: it may use every bay
  that takes it and ranks behind every waiting slot holder at that bay, first come first
  served among walk-ins.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import simpy

from optimize.berths import Berth, BerthProblem, Request, SolverOptions, Status
from optimize.berths import solve as solve_berths
from optimize.budget import Budget
from simcity.garbage.config import TransferStation, bay_takes


@dataclass(frozen=True)
class Bay:
    """One physical bay (a kind's ``count`` bays are expanded): minutes of the day for the window."""

    name: str
    kind: int
    tip_minutes: float
    slot_minutes: int
    open_min: int
    close_min: int


def expand_bays(st: TransferStation) -> list[Bay]:
    """The physical bays of a station with ``tipping_bays``, kind by kind, in file order."""
    assert st.tipping_bays is not None
    margin = st.appointments.slot_margin_minutes
    out = []
    for k, b in enumerate(st.tipping_bays):
        for j in range(b.count):
            name = b.id if b.count == 1 else f"{b.id}#{j + 1}"
            out.append(Bay(name, k, b.tip_minutes, math.ceil(b.tip_minutes + margin - 1e-9),
                           int(round(b.open_h[0] * 60)), int(round(b.open_h[1] * 60))))
    return out


def eligible(st: TransferStation, bays: Sequence[Bay], fleet: str, categories: Sequence[str]) -> list[int]:
    """Indices of the bays of ``st`` a truck of ``fleet`` carrying ``categories`` may tip at."""
    assert st.tipping_bays is not None
    return [i for i, b in enumerate(bays) if bay_takes(st.tipping_bays[b.kind], st, fleet, tuple(categories))]


@dataclass(frozen=True)
class Unload:
    """A planned unload: ``key`` (truck serial, leg), the truck's fleet and load, and its planned
    arrival at the station gate in minutes from the start of the run."""

    key: tuple[int, int]
    fleet: str
    categories: tuple[str, ...]
    arrival_min: int


@dataclass(frozen=True)
class Slot:
    """An appointment: bay index and start minute (from the start of the run)."""

    bay: int
    start_min: int


@dataclass
class Booking:
    """The slot book of one station-day and what the solver said."""

    slots: dict[tuple[int, int], Slot] = field(default_factory=dict)
    #: unloads that got no slot (no bay that takes them is open after their arrival that day)
    unbooked: list[tuple[int, int]] = field(default_factory=list)
    objective: float = 0.0
    status: str = ""


def weigh_minutes(st: TransferStation) -> int:
    """Whole minutes a truck is planned to spend on the weighbridge (0 without one)."""
    return 0 if st.weighbridge is None else math.ceil(st.weighbridge.minutes - 1e-9)


def slot_problem(st: TransferStation, unloads: Sequence[Unload], day: int) -> tuple[BerthProblem, list[Unload]]:
    """The berth problem of one station-day, and the unloads it leaves out (no bay that takes
    them can hold their slot between their ready time and the bay's closing that day)."""
    bays = expand_bays(st)
    t0 = 1440 * day
    berths = tuple(Berth(id=str(i), open=t0 + b.open_min, close=t0 + b.close_min) for i, b in enumerate(bays))
    w = weigh_minutes(st)
    reqs, left = [], []
    for u in unloads:
        ready = u.arrival_min + w
        ok = {str(i): bays[i].slot_minutes for i in eligible(st, bays, u.fleet, u.categories)
              if max(ready, t0 + bays[i].open_min) + bays[i].slot_minutes <= t0 + bays[i].close_min}
        if ok:
            reqs.append(Request(id=f"{u.key[0]}:{u.key[1]}", arrival=ready, handling=ok))
        else:
            left.append(u)
    return BerthProblem(berths=berths, requests=tuple(reqs)), left


def book_slots(st: TransferStation, unloads: Sequence[Unload], day: int, seed: int = 0) -> Booking:
    """Appointment slots for the planned ``unloads`` of one station-day (see the module doc)."""
    booking = Booking()
    problem, left = slot_problem(st, unloads, day)
    booking.unbooked = [u.key for u in left]
    if not problem.requests:
        booking.status = "empty"
        return booking
    res = solve_berths(problem, seed=seed, budget=Budget.work(st.appointments.effort),
                       options=SolverOptions(final_search=True))
    booking.status = res.status.value if isinstance(res.status, Status) else str(res.status)
    if not res.schedule:
        # bays closing before the day's unloads all fit: nobody gets a slot (all walk in)
        booking.unbooked += [tuple(int(x) for x in r.id.split(":")) for r in problem.requests]  # type: ignore[misc]
        return booking
    booking.objective = float(res.objective or 0.0)
    for a in res.schedule:
        truck, leg = (int(x) for x in a.request.split(":"))
        booking.slots[(truck, leg)] = Slot(int(a.berth or 0), int(a.start))
    return booking


def check_slots(st: TransferStation, unloads: Sequence[Unload], slots: dict[tuple[int, int], Slot],
                day: int) -> list[str]:
    """Problems of a slot book, checked against the station's configuration (not the berth
    model): every slot on a bay that takes the truck, inside that bay's window of the day, no
    earlier than the planned arrival plus weighing, and no two slots overlapping on a bay.
    Empty list: the book is valid."""
    bays = expand_bays(st)
    t0, w = 1440 * day, weigh_minutes(st)
    by_key = {u.key: u for u in unloads}
    out: list[str] = []
    per_bay: dict[int, list[tuple[int, int, tuple[int, int]]]] = {}
    for key, s in sorted(slots.items()):
        u = by_key.get(key)
        if u is None:
            out.append(f"slot {key}: no such unload")
            continue
        if not 0 <= s.bay < len(bays):
            out.append(f"slot {key}: bay {s.bay} does not exist")
            continue
        b = bays[s.bay]
        if s.bay not in eligible(st, bays, u.fleet, u.categories):
            out.append(f"slot {key}: bay {b.name} does not take fleet {u.fleet} with {list(u.categories)}")
        if s.start_min < u.arrival_min + w:
            out.append(f"slot {key}: starts at {s.start_min} before the truck is ready at {u.arrival_min + w}")
        if s.start_min < t0 + b.open_min or s.start_min + b.slot_minutes > t0 + b.close_min:
            out.append(f"slot {key}: [{s.start_min}, {s.start_min + b.slot_minutes}) outside bay {b.name}'s "
                       f"window [{t0 + b.open_min}, {t0 + b.close_min})")
        per_bay.setdefault(s.bay, []).append((s.start_min, s.start_min + b.slot_minutes, key))
    for bay, iv in per_bay.items():
        iv.sort()
        for (a0, a1, k0), (b0, _, k1) in zip(iv, iv[1:], strict=False):
            if b0 < a1:
                out.append(f"slots {k0} and {k1} overlap on bay {bays[bay].name} ({a0}-{a1} and {b0})")
    return out


# ---------------------------------------------------------------------------------- queueing
@dataclass(order=True)
class _Ticket:
    rank: tuple[int, float, int]
    allowed: tuple[int, ...] = field(compare=False)
    event: simpy.Event = field(compare=False)
    #: every bay the truck may use (a walk-in's ``allowed``), when it was ready, if measured
    eligible: tuple[int, ...] = field(compare=False, default=())
    ready: float = field(compare=False, default=0.0)
    measured: bool = field(compare=False, default=False)


@dataclass
class StationLog:
    """What one station's queue saw on the measured days."""

    waits_h: list[float] = field(default_factory=list)
    weigh_waits_h: list[float] = field(default_factory=list)
    in_station_h: list[float] = field(default_factory=list)
    slot_holders: int = 0
    missed_slots: int = 0
    walk_ins: int = 0
    #: minutes from slot start to the truck's arrival at the gate, trucks with a slot
    lateness_min: list[float] = field(default_factory=list)


class StationQueue:
    """The bays (and weighbridge) of one station with ``tipping_bays`` in a SimPy run."""

    def __init__(self, env: simpy.Environment, st: TransferStation, rule: str,
                 service_time: Callable[[float], float]) -> None:
        self.env, self.st, self.rule = env, st, rule
        self.bays = expand_bays(st)
        self.service_time = service_time
        self.busy = [False] * len(self.bays)
        self.waiting: list[_Ticket] = []
        self.weighbridge = (simpy.Resource(env, capacity=st.weighbridge.lanes)
                            if st.weighbridge is not None else None)
        self._wake: set[int] = set()
        self._seq = 0
        self.log = StationLog()
        # fastest bays first when several are free
        self._order = sorted(range(len(self.bays)), key=lambda i: (self.bays[i].tip_minutes, i))

    def _open_at(self, b: int, t_h: float) -> bool:
        bay = self.bays[b]
        m = (t_h * 60) % 1440
        return bay.open_min <= m + 1e-9 and m + bay.tip_minutes <= bay.close_min + 1e-9

    def _next_open_h(self, b: int, t_h: float) -> float:
        bay = self.bays[b]
        day = math.floor(t_h / 24 + 1e-12)
        start = 24 * day + bay.open_min / 60
        return start if start > t_h + 1e-12 else start + 24

    def _closed_today(self, b: int, t_h: float) -> bool:
        """Whether bay ``b`` can start no more tips today (past its last start)."""
        bay, m = self.bays[b], (t_h * 60) % 1440
        return m + bay.tip_minutes > bay.close_min + 1e-9

    def _dispatch(self) -> None:
        now = self.env.now
        for t in self.waiting:
            if t.rank[0] == 0 and self.rule != "fcfs" and self._closed_today(t.allowed[0], now):
                # the slot's bay has closed for the day: the slot is lost, walk in
                t.rank, t.allowed = (1, t.ready, t.rank[2]), t.eligible
                if t.measured:
                    self.log.slot_holders -= 1
                    self.log.walk_ins += 1
                    self.log.missed_slots += 1
        for b in self._order:
            if self.busy[b] or not self.waiting:
                continue
            mine = [t for t in self.waiting if b in t.allowed]
            if not mine:
                continue
            if not self._open_at(b, now):
                if b not in self._wake:
                    self._wake.add(b)
                    self.env.process(self._wake_up(b, self._next_open_h(b, now) - now))
                continue
            t = min(mine)
            self.waiting.remove(t)
            self.busy[b] = True
            t.event.succeed(b)

    def _wake_up(self, b: int, delay_h: float) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(delay_h)
        self._wake.discard(b)
        self._dispatch()

    def visit(self, fleet: str, categories: Sequence[str], slot: Slot | None,
              measured: bool) -> Generator[simpy.Event, Any, tuple[float, float]]:
        """A truck at the gate: weigh, queue, tip; returns (minutes queued, tip hours).
        The caller accounts the load when this returns."""
        env = self.env
        arrived = env.now
        weigh_wait = 0.0
        if self.weighbridge is not None:
            assert self.st.weighbridge is not None
            with self.weighbridge.request() as req:
                yield req
                weigh_wait = env.now - arrived
                yield env.timeout(self.service_time(self.st.weighbridge.minutes / 60))
        ready = env.now
        if measured and slot is not None:
            self.log.lateness_min.append(ready * 60 - slot.start_min)
        every = tuple(eligible(self.st, self.bays, fleet, categories))
        allowed = every
        self._seq += 1
        if self.rule == "fcfs":
            rank: tuple[int, float, int] = (0, ready, self._seq)
        elif slot is not None and env.now * 60 <= slot.start_min + self.st.appointments.grace_minutes + 1e-9:
            rank, allowed = (0, slot.start_min / 60, self._seq), (slot.bay,)
            if measured:
                self.log.slot_holders += 1
        else:
            rank = (1, ready, self._seq)
            if measured:
                self.log.walk_ins += 1
                self.log.missed_slots += int(slot is not None)
        ticket = _Ticket(rank, allowed, env.event(), every, ready, measured)
        self.waiting.append(ticket)
        self._dispatch()
        b = yield ticket.event
        wait = weigh_wait + env.now - ready
        tip_h = self.service_time(self.bays[b].tip_minutes / 60)
        yield env.timeout(tip_h)
        self.busy[b] = False
        self._dispatch()
        if measured:
            self.log.waits_h.append(wait)
            self.log.weigh_waits_h.append(weigh_wait)
            self.log.in_station_h.append(env.now - arrived)
        return wait, tip_h
