"""Continuous (kerbside) berth allocation on CP-SAT, on one kerb segment or several.

A kerb segment of ``L`` metres is one continuous berth: each vehicle occupies the rectangle
``[position, position + length) × [start, start + handling)`` and no two rectangles on one
segment may overlap — CP-SAT's ``NoOverlap2D``, one per segment, over *optional* intervals
(one per request and segment it may use; exactly one is present, or none for a request left
off the kerb).  Times outside a segment's loading windows are fixed rectangles spanning the
whole segment.  A redundant cumulative per segment on the time axis (demand = length,
capacity = ``L``) adds the energy reasoning NoOverlap2D alone propagates weakly.  Positions
live on a grid of ``resolution`` metres; lengths are rounded up and segment lengths down, so
every placement is valid for the real lengths.

A :class:`~optimize.berths.model.KerbProblem` is solved as the one-segment
:class:`~optimize.berths.model.KerbAllocationProblem` (:meth:`KerbProblem.as_allocation`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from optimize.berths.bounds import fast_machine_bound
from optimize.berths.cpsat import _scale
from optimize.berths.model import (
    Assignment,
    Diagnosis,
    KerbAllocationProblem,
    KerbProblem,
    KerbRequest,
    KerbSegment,
    SolveResult,
    Status,
)

_SOFT_HINT = "make its latest_completion soft by giving it a lateness_penalty"


def kerb_cost(r: KerbRequest, completion: int) -> float:
    """Objective contribution of kerb request ``r`` completing at ``completion``."""
    c = r.weight * (completion - r.arrival)
    if r.lateness_penalty is not None and r.latest_completion is not None:
        c += r.lateness_penalty * max(0, completion - r.latest_completion)
    return float(c)


@dataclass(frozen=True)
class _Grid:
    """The problem on the position grid: segment and vehicle lengths in grid units, and for
    every request the segments (by index) and start range on which it can be placed alone."""

    seg_units: tuple[int, ...]
    lens: tuple[int, ...]
    #: per request: (segment index, earliest start, latest start) where it fits alone
    options: tuple[tuple[tuple[int, int, int], ...], ...]
    horizon: int


def _limit(r: KerbRequest) -> int | None:
    return r.hard_deadline


def _start_range(g: KerbSegment, r: KerbRequest, horizon: int) -> tuple[int, int] | None:
    """Earliest and latest start of ``r`` on ``g`` when alone (``None``: it never fits)."""
    lim = _limit(r)
    lo_best, hi_best = None, None
    for a, b in g.windows:
        lo = max(r.arrival, a)
        end = min(x for x in (b, lim, horizon + r.handling) if x is not None)
        hi = end - r.handling
        if lo <= hi:
            lo_best = lo if lo_best is None else lo_best
            hi_best = hi
    return None if lo_best is None or hi_best is None else (lo_best, hi_best)


def _grid(problem: KerbAllocationProblem) -> _Grid:
    q = problem.resolution
    reqs = problem.requests
    seg_units = tuple(math.floor(g.length / q + 1e-9) for g in problem.segments)
    lens = tuple(math.ceil(r.length / q - 1e-9) for r in reqs)
    # some optimal schedule has every start at a release, a window start or another's end
    opening = max((a for g in problem.segments for a, _ in g.windows), default=0)
    horizon = max([r.arrival for r in reqs] + [opening]) + sum(r.handling for r in reqs)
    index = {g.id: k for k, g in enumerate(problem.segments)}
    options = []
    for r, ln in zip(reqs, lens, strict=True):
        opts = []
        for g in problem.allowed(r):
            k = index[g.id]
            rng = _start_range(g, r, horizon)
            if ln <= seg_units[k] and rng is not None:
                opts.append((k, rng[0], rng[1]))
        options.append(tuple(opts))
    return _Grid(seg_units, lens, tuple(options), horizon)


def _diagnose_single(problem: KerbAllocationProblem, grid: _Grid, one: bool) -> list[Diagnosis]:
    """Mandatory requests that fit on none of their segments even alone."""
    out = []
    index = {g.id: k for k, g in enumerate(problem.segments)}
    for i, (r, opts) in enumerate(zip(problem.requests, grid.options, strict=True)):
        if opts or r.skip_penalty is not None:
            continue
        allowed = problem.allowed(r)
        longest = max(g.length for g in allowed)
        if all(grid.lens[i] > grid.seg_units[index[g.id]] for g in allowed):
            where = f"the kerb is {longest} m long" if one else (
                f"the longest segment it may use is {longest} m long")
            out.append(Diagnosis((r.id,), f"kerb request {r.id!r} needs {r.length} m but {where}"))
            continue
        lim = _limit(r)
        if one:
            (g,) = allowed
            release = max(r.arrival, g.windows[0][0])
            ends = [x for x in (g.windows[-1][1], lim) if x is not None]
            end = min(ends) if ends else release + r.handling
            what = "its latest completion" if lim is not None and lim == end else "the kerb closing"
            out.append(Diagnosis((r.id,), (
                f"kerb request {r.id!r} can start at {release} at the earliest and needs "
                f"{r.handling}, ending {release + r.handling} > {end} ({what}) — {_SOFT_HINT}")))
        else:
            out.append(Diagnosis((r.id,), (
                f"kerb request {r.id!r} (arrival {r.arrival}, handling {r.handling}, latest completion "
                f"{lim}) fits in no loading window of its segments {[g.id for g in allowed]} — "
                f"{_SOFT_HINT}, or give it a skip_penalty")))
    return out


def _greedy(problem: KerbAllocationProblem, grid: _Grid) -> list[tuple[int, int, int] | None] | None:
    """First fit in time, then segment, then position, requests in arrival order.

    Returns per request ``(segment index, start, position units)`` or ``None`` for a request
    left off the kerb; ``None`` overall when a mandatory request finds no place.
    """
    reqs = problem.requests
    placed: list[list[tuple[int, int, int, int]]] = [[] for _ in problem.segments]  # t0, t1, x0, x1
    for k, g in enumerate(problem.segments):
        for t0, t1 in _closed_periods(g, grid.horizon):
            placed[k].append((t0, t1, 0, grid.seg_units[k]))
    out: list[tuple[int, int, int] | None] = [None] * len(reqs)
    order = sorted(range(len(reqs)), key=lambda i: (reqs[i].arrival, i))
    for i in order:
        r, ln = reqs[i], grid.lens[i]
        found = None
        cands = sorted({lo for _, lo, _ in grid.options[i]}
                       | {t1 for k, _, _ in grid.options[i] for _, t1, _, _ in placed[k]})
        for t in cands:
            for k, lo, hi in grid.options[i]:
                if not lo <= t <= hi or not problem.segments[k].fits(t, t + r.handling):
                    continue
                busy = sorted((x0, x1) for t0, t1, x0, x1 in placed[k] if t0 < t + r.handling and t < t1)
                x = 0
                for x0, x1 in busy:
                    if x + ln <= x0:
                        break
                    x = max(x, x1)
                if x + ln <= grid.seg_units[k]:
                    found = (k, t, x)
                    break
            if found is not None:
                break
        if found is None:
            if r.skip_penalty is None:
                return None
            continue
        out[i] = found
        k, t, x = found
        placed[k].append((t, t + r.handling, x, x + ln))
    return out


def _closed_periods(g: KerbSegment, horizon: int) -> list[tuple[int, int]]:
    """``[start, end)`` periods before ``horizon`` outside the segment's loading windows."""
    out = []
    t = min(0, g.windows[0][0])
    for a, b in g.windows:
        if a > t:
            out.append((t, a))
        t = horizon if b is None else b
    if t < horizon:
        out.append((t, horizon))
    return [(a, b) for a, b in out if a < b]


def plan_cost(problem: KerbAllocationProblem, plan: list[tuple[int, int, int] | None]) -> float:
    """Objective of a plan: service cost of the placed requests, skip penalty of the others."""
    return sum(kerb_cost(r, p[1] + r.handling) if p is not None else float(r.skip_penalty or 0.0)
               for r, p in zip(problem.requests, plan, strict=True))


class _Model:
    """The CP-SAT model of a kerb allocation problem and the handles to read a plan back."""

    def __init__(self, problem: KerbAllocationProblem, grid: _Grid) -> None:
        reqs = problem.requests
        weights = [r.weight for r in reqs] + [r.lateness_penalty or 0.0 for r in reqs] + [
            r.skip_penalty or 0.0 for r in reqs]
        self.scale, self.exact = _scale(weights, 4)
        scale = self.scale
        m = self.model = cp_model.CpModel()
        self.start: list[cp_model.IntVar] = []
        self.pos: list[dict[int, cp_model.IntVar]] = []
        self.present: list[dict[int, cp_model.IntVar]] = []
        self.skip: list[cp_model.IntVar | None] = []
        per_seg: list[tuple[list[cp_model.IntervalVar], list[cp_model.IntervalVar], list[int]]] = [
            ([], [], []) for _ in problem.segments]
        obj: list[cp_model.LinearExprT] = []
        const = 0
        for i, r in enumerate(reqs):
            opts = grid.options[i]
            lo = min((o[1] for o in opts), default=r.arrival)
            hi = max((o[2] for o in opts), default=r.arrival)
            s = m.new_int_var(lo, hi, f"s_{i}")
            self.start.append(s)
            lits: list[cp_model.IntVar] = []
            pos: dict[int, cp_model.IntVar] = {}
            pres: dict[int, cp_model.IntVar] = {}
            for k, _, _ in opts:
                p = m.new_bool_var(f"p_{i}_{k}")
                x = m.new_int_var(0, grid.seg_units[k] - grid.lens[i], f"x_{i}_{k}")
                xs, ts, ds = per_seg[k]
                ts.append(m.new_optional_fixed_size_interval_var(s, r.handling, p, f"t_{i}_{k}"))
                xs.append(m.new_optional_fixed_size_interval_var(x, grid.lens[i], p, f"x_{i}_{k}"))
                ds.append(grid.lens[i])
                # inside one window of segment k
                wins = [(a, b) for a, b in problem.segments[k].windows]
                if len(wins) > 1:
                    ws = [m.new_bool_var(f"w_{i}_{k}_{j}") for j in range(len(wins))]
                    m.add(sum(ws) == 1).only_enforce_if(p)
                    for wl, (a, b) in zip(ws, wins, strict=True):
                        m.add(s >= a).only_enforce_if(wl)
                        if b is not None:
                            m.add(s + r.handling <= b).only_enforce_if(wl)
                else:
                    a, b = wins[0]
                    m.add(s >= a).only_enforce_if(p)
                    if b is not None:
                        m.add(s + r.handling <= b).only_enforce_if(p)
                lits.append(p)
                pos[k], pres[k] = x, p
            self.pos.append(pos)
            self.present.append(pres)
            w = round(r.weight * scale)
            if r.skip_penalty is None:
                m.add_exactly_one(lits)
                self.skip.append(None)
                obj.append(w * (s + r.handling))
                const += w * r.arrival
                skipped: cp_model.IntVar | None = None
            else:
                u = m.new_bool_var(f"skip_{i}")
                m.add_exactly_one([*lits, u])
                self.skip.append(u)
                # a request left off the kerb costs its skip penalty; its free start then sits
                # at lo, so subtracting the service cost it would have there is exact
                obj.append(w * (s + r.handling))
                const += w * r.arrival
                obj.append((round(r.skip_penalty * scale) - w * (lo + r.handling - r.arrival)) * u)
                m.add(s == lo).only_enforce_if(u)
                skipped = u
            if r.lateness_penalty is not None and r.latest_completion is not None and r.lateness_penalty > 0:
                late = m.new_int_var(0, max(0, hi + r.handling - r.latest_completion), f"late_{i}")
                ct = m.add(late >= s + r.handling - r.latest_completion)
                if skipped is not None:
                    ct.only_enforce_if(~skipped)
                obj.append(round(r.lateness_penalty * scale) * late)
        for k, g in enumerate(problem.segments):
            xs, ts, ds = per_seg[k]
            if not ts:
                continue
            for t0, t1 in _closed_periods(g, grid.horizon + 1):
                ts.append(m.new_fixed_size_interval_var(t0, t1 - t0, f"closed_{k}_{t0}"))
                xs.append(m.new_fixed_size_interval_var(0, grid.seg_units[k], f"closedx_{k}_{t0}"))
                ds.append(grid.seg_units[k])
            m.add_no_overlap_2d(xs, ts)
            m.add_cumulative(ts, ds, grid.seg_units[k])
        self.objective = sum(obj) - const

    def hint(self, plan: list[tuple[int, int, int] | None], problem: KerbAllocationProblem,
             grid: _Grid) -> None:
        for i, p in enumerate(plan):
            lo = min((o[1] for o in grid.options[i]), default=problem.requests[i].arrival)
            self.model.add_hint(self.start[i], lo if p is None else p[1])
            for k, lit in self.present[i].items():
                on = p is not None and p[0] == k
                self.model.add_hint(lit, on)
                self.model.add_hint(self.pos[i][k], p[2] if on and p is not None else 0)
            u = self.skip[i]
            if u is not None:
                self.model.add_hint(u, p is None)

    def read(self, solver: cp_model.CpSolver) -> list[tuple[int, int, int] | None]:
        plan: list[tuple[int, int, int] | None] = []
        for i in range(len(self.start)):
            got = None
            for k, lit in self.present[i].items():
                if solver.boolean_value(lit):
                    got = (k, int(solver.value(self.start[i])), int(solver.value(self.pos[i][k])))
            plan.append(got)
        return plan


def _bound(problem: KerbAllocationProblem, grid: _Grid) -> float | None:
    """The fast-machine bound when every request must be served: all segments merged into one
    machine of speed Σ L (a vehicle is work length × handling done at rate length).  Real
    lengths, so it bounds the continuous problem as well as the grid one."""
    reqs = problem.requests
    if any(r.skip_penalty is not None for r in reqs):
        return None
    releases = [float(min(o[1] for o in opts)) for opts in grid.options]
    speed = sum(g.length for g in problem.segments)
    b = fast_machine_bound(releases, [r.length * r.handling for r in reqs],
                           [float(r.handling) for r in reqs], [r.weight for r in reqs],
                           [r.arrival for r in reqs], float(speed))
    return b - 1e-6 * max(1.0, abs(b))


def solve_kerb_allocation(
    problem: KerbAllocationProblem, time_limit: float = 10.0, seed: int = 0, workers: int = 2,
    log: bool = False, deterministic_time: float | None = None,
) -> SolveResult:
    """Solve a :class:`KerbAllocationProblem`; see :func:`optimize.berths.solve`.

    ``deterministic_time`` (CP-SAT deterministic seconds) is the work limit; with
    ``workers=1`` and no finite ``time_limit`` the answer does not depend on the clock.
    """
    return _solve(problem, time_limit, seed, workers, log, deterministic_time, one=False)


def solve_kerb(
    problem: KerbProblem, time_limit: float = 10.0, seed: int = 0, workers: int = 2,
    log: bool = False, deterministic_time: float | None = None,
) -> SolveResult:
    """Solve a :class:`KerbProblem` (one segment); see :func:`optimize.berths.solve`."""
    res = _solve(problem.as_allocation(), time_limit, seed, workers, log, deterministic_time, one=True)
    sched = tuple(Assignment(a.request, a.start, a.end, position=a.position) for a in res.schedule)
    return SolveResult(res.status, sched, res.objective, res.lower_bound, res.wall_time,
                       res.warm_start_objective, res.diagnosis, res.unserved)


def _solve(problem: KerbAllocationProblem, time_limit: float, seed: int, workers: int, log: bool,
           deterministic_time: float | None, one: bool) -> SolveResult:
    t0 = time.perf_counter()
    reqs = problem.requests
    if not reqs:
        return SolveResult(Status.OPTIMAL, (), 0.0, 0.0, time.perf_counter() - t0)
    grid = _grid(problem)
    single = _diagnose_single(problem, grid, one)
    if single:
        return SolveResult(Status.INFEASIBLE, (), None, None, time.perf_counter() - t0,
                           diagnosis=tuple(single))
    built = _Model(problem, grid)
    relaxed = _bound(problem, grid)
    if relaxed is not None and built.exact:
        relaxed = math.ceil(relaxed * built.scale) / built.scale
        built.model.add(built.objective >= round(relaxed * built.scale))
    built.model.minimize(built.objective)
    hint = _greedy(problem, grid)
    if hint is not None:
        built.hint(hint, problem, grid)

    solver = cp_model.CpSolver()
    prm = solver.parameters
    if math.isfinite(time_limit):
        prm.max_time_in_seconds = max(0.01, time_limit - (time.perf_counter() - t0))
    if deterministic_time is not None:
        prm.max_deterministic_time = deterministic_time
    prm.random_seed = seed
    prm.num_workers = max(1, workers)
    prm.log_search_progress = log
    code = solver.solve(built.model)
    wall = time.perf_counter() - t0
    if code == cp_model.INFEASIBLE:
        return SolveResult(Status.INFEASIBLE, (), None, None, wall, diagnosis=(Diagnosis(
            tuple(r.id for r in reqs if r.hard_deadline is not None and r.skip_penalty is None),
            "the kerb cannot hold all vehicles within their hard latest completions together "
            f"— for one of them, {_SOFT_HINT}"),))
    bound = solver.best_objective_bound
    lb = float(math.ceil(bound - 1e-6)) / built.scale if math.isfinite(bound) else None
    if relaxed is not None:
        lb = relaxed if lb is None else max(lb, relaxed)
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        plan = built.read(solver)
    elif hint is not None:
        plan = hint
    else:
        return SolveResult(Status.UNKNOWN, (), None, lb, wall)
    q = problem.resolution
    sched = tuple(Assignment(r.id, p[1], p[1] + r.handling, berth=problem.segments[p[0]].id,
                             position=round(p[2] * q, 9))
                  for r, p in zip(reqs, plan, strict=True) if p is not None)
    unserved = tuple(r.id for r, p in zip(reqs, plan, strict=True) if p is None)
    objective = plan_cost(problem, plan)
    status = Status.OPTIMAL if code == cp_model.OPTIMAL else Status.FEASIBLE
    return SolveResult(status, sched, objective, objective if status is Status.OPTIMAL else lb, wall,
                       warm_start_objective=None if hint is None else plan_cost(problem, hint),
                       diagnosis=(), unserved=unserved)
