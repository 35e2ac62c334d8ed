"""Continuous (kerbside) berth allocation on CP-SAT.

A kerb segment of ``L`` metres is one continuous berth: each vehicle occupies the rectangle
``[position, position + length) × [start, start + handling)`` and no two rectangles may
overlap — CP-SAT's ``NoOverlap2D``.  A redundant cumulative on the time axis (demand =
length, capacity = ``L``) adds the energy reasoning NoOverlap2D alone propagates weakly.
Positions live on a grid of ``problem.resolution`` metres; lengths are rounded up and the
kerb length down, so every placement is valid for the real lengths.
"""

from __future__ import annotations

import math
import time

from ortools.sat.python import cp_model

from optimize.berths.bounds import fast_machine_bound
from optimize.berths.cpsat import _scale
from optimize.berths.model import (
    Assignment,
    Diagnosis,
    KerbProblem,
    KerbRequest,
    SolveResult,
    Status,
)

_SOFT_HINT = "make its latest_completion soft by giving it a lateness_penalty"


def _units(problem: KerbProblem) -> tuple[int, list[int]]:
    q = problem.resolution
    total = math.floor(problem.length / q + 1e-9)
    return total, [math.ceil(r.length / q - 1e-9) for r in problem.requests]


def _window(problem: KerbProblem, r: KerbRequest) -> tuple[int, int | None]:
    release = max(r.arrival, problem.open)
    lims = [x for x in (problem.close, r.hard_deadline) if x is not None]
    return release, (min(lims) if lims else None)


def kerb_cost(r: KerbRequest, completion: int) -> float:
    """Objective contribution of kerb request ``r`` completing at ``completion``."""
    c = r.weight * (completion - r.arrival)
    if r.lateness_penalty is not None and r.latest_completion is not None:
        c += r.lateness_penalty * max(0, completion - r.latest_completion)
    return float(c)


def _diagnose_single(problem: KerbProblem, total: int, lens: list[int]) -> list[Diagnosis]:
    out = []
    for r, ln in zip(problem.requests, lens, strict=True):
        release, lim = _window(problem, r)
        if ln > total:
            out.append(Diagnosis((r.id,), f"kerb request {r.id!r} needs {r.length} m but the kerb "
                                          f"is {problem.length} m long"))
        elif lim is not None and release + r.handling > lim:
            what = "its latest completion" if r.hard_deadline == lim else "the kerb closing"
            out.append(Diagnosis((r.id,), (
                f"kerb request {r.id!r} can start at {release} at the earliest and needs "
                f"{r.handling}, ending {release + r.handling} > {lim} ({what}) — {_SOFT_HINT}")))
    return out


def _greedy(problem: KerbProblem, total: int, lens: list[int]) -> list[tuple[int, int]] | None:
    """First-fit in time then position, requests in arrival order: (start, position units)."""
    placed: list[tuple[int, int, int, int]] = []  # t0, t1, x0, x1
    out: list[tuple[int, int]] = [(0, 0)] * len(problem.requests)
    order = sorted(range(len(problem.requests)), key=lambda i: (problem.requests[i].arrival, i))
    for i in order:
        r, ln = problem.requests[i], lens[i]
        release, lim = _window(problem, r)
        times = sorted({release} | {t1 for _, t1, _, _ in placed if t1 > release})
        found = None
        for t in times:
            if lim is not None and t + r.handling > lim:
                break
            busy = sorted((x0, x1) for t0, t1, x0, x1 in placed if t0 < t + r.handling and t < t1)
            x = 0
            for x0, x1 in busy:
                if x + ln <= x0:
                    break
                x = max(x, x1)
            if x + ln <= total:
                found = (t, x)
                break
        if found is None:
            return None
        out[i] = found
        placed.append((found[0], found[0] + r.handling, found[1], found[1] + ln))
    return out


def solve_kerb(
    problem: KerbProblem, time_limit: float = 10.0, seed: int = 0, workers: int = 2,
    log: bool = False,
) -> SolveResult:
    """Solve a :class:`KerbProblem`; see :func:`optimize.berths.solve`."""
    t0 = time.perf_counter()
    reqs = problem.requests
    if not reqs:
        return SolveResult(Status.OPTIMAL, (), 0.0, 0.0, time.perf_counter() - t0)
    total, lens = _units(problem)
    single = _diagnose_single(problem, total, lens)
    if single:
        return SolveResult(Status.INFEASIBLE, (), None, None, time.perf_counter() - t0,
                           diagnosis=tuple(single))
    weights = [r.weight for r in reqs] + [r.lateness_penalty or 0.0 for r in reqs]
    scale, exact = _scale(weights, 4)
    horizon = max(_window(problem, r)[0] for r in reqs) + sum(r.handling for r in reqs)

    m = cp_model.CpModel()
    xs, ss, xiv, tiv = [], [], [], []
    obj: list[cp_model.LinearExprT] = []
    const = 0
    for i, r in enumerate(reqs):
        release, lim = _window(problem, r)
        hi = (horizon if lim is None else lim) - r.handling
        s = m.new_int_var(release, hi, f"s_{i}")
        x = m.new_int_var(0, total - lens[i], f"x_{i}")
        ss.append(s)
        xs.append(x)
        tiv.append(m.new_fixed_size_interval_var(s, r.handling, f"t_{i}"))
        xiv.append(m.new_fixed_size_interval_var(x, lens[i], f"p_{i}"))
        w = round(r.weight * scale)
        obj.append(w * (s + r.handling))
        const += w * r.arrival
        if r.lateness_penalty is not None and r.latest_completion is not None and r.lateness_penalty > 0:
            late = m.new_int_var(0, max(0, horizon - r.latest_completion), f"late_{i}")
            m.add(late >= s + r.handling - r.latest_completion)
            obj.append(round(r.lateness_penalty * scale) * late)
    # The fast-machine bound: the kerb as one machine of speed L; a vehicle is "work"
    # length × handling done at rate length.  CP-SAT's own bound ignores waiting.  Real
    # lengths, so it bounds the continuous problem as well as the grid one.
    relaxed = fast_machine_bound(
        [float(_window(problem, r)[0]) for r in reqs],
        [r.length * r.handling for r in reqs],
        [float(r.handling) for r in reqs], [r.weight for r in reqs],
        [r.arrival for r in reqs], float(problem.length))
    relaxed -= 1e-6 * max(1.0, abs(relaxed))
    if exact:
        relaxed = math.ceil(relaxed * scale) / scale
        m.add(sum(obj) - const >= round(relaxed * scale))
    m.add_no_overlap_2d(xiv, tiv)
    m.add_cumulative(tiv, lens, total)
    m.minimize(sum(obj) - const)
    hint = _greedy(problem, total, lens)
    if hint is not None:
        for i, (t_hint, x_hint) in enumerate(hint):
            m.add_hint(ss[i], t_hint)
            m.add_hint(xs[i], x_hint)

    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.max_time_in_seconds = max(0.01, time_limit - (time.perf_counter() - t0))
    prm.random_seed = seed
    prm.num_workers = max(1, workers)
    prm.log_search_progress = log
    code = solver.solve(m)
    wall = time.perf_counter() - t0
    if code == cp_model.INFEASIBLE:
        return SolveResult(Status.INFEASIBLE, (), None, None, wall, diagnosis=(Diagnosis(
            tuple(r.id for r in reqs if r.hard_deadline is not None),
            "the kerb cannot hold all vehicles within their hard latest completions together "
            f"— for one of them, {_SOFT_HINT}"),))
    bound = solver.best_objective_bound
    lb = float(math.ceil(bound - 1e-6)) / scale if math.isfinite(bound) else None
    if relaxed is not None:
        lb = relaxed if lb is None else max(lb, relaxed)
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        plan = [(int(solver.value(ss[i])), int(solver.value(xs[i]))) for i in range(len(reqs))]
    elif hint is not None:
        plan = hint
    else:
        return SolveResult(Status.UNKNOWN, (), None, lb, wall)
    q = problem.resolution
    sched = tuple(Assignment(r.id, t, t + r.handling, position=round(x * q, 9))
                  for r, (t, x) in zip(reqs, plan, strict=True))
    objective = sum(kerb_cost(r, t + r.handling) for r, (t, _) in zip(reqs, plan, strict=True))
    status = Status.OPTIMAL if code == cp_model.OPTIMAL else Status.FEASIBLE
    return SolveResult(status, sched, objective, objective if status is Status.OPTIMAL else lb, wall,
                       warm_start_objective=None if hint is None else sum(
                           kerb_cost(r, t + r.handling) for r, (t, _) in zip(reqs, hint, strict=True)))
