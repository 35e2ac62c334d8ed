"""CP-SAT model and :func:`solve` for the discrete berth allocation problem.

The *plain* model (``SolverOptions(plain=True)``) is the textbook one: per allowed berth an
optional interval with its own start variable, a NoOverlap per berth, exactly one berth per
request.  The default model adds what makes CP-SAT strong on this problem:

* one start variable per request shared by its optional berth intervals, so the completion
  ``Cᵢ = Sᵢ + Σₖ hᵢₖ·xᵢₖ`` is linear and the LP relaxation sees it directly;
* a greedy warm start given as a complete solution hint (:mod:`optimize.berths.warmstart`);
* dominance rules: on one berth, request ``i`` goes before ``j`` whenever ``i`` arrives no
  later, is handled no slower there and costs at least as much per unit of time
  (see :func:`dominance_pairs` for the exchange argument);
* symmetry breaking among interchangeable berths (same window, same handling times);
* a redundant cumulative over all berths (capacity = number of berths), whose energy
  reasoning lifts the lower bound when many requests compete for few berths;
* per-request lower bounds on completion and a search that branches on the earliest start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from fractions import Fraction

from ortools.sat.python import cp_model
from pydantic import BaseModel, ConfigDict, Field

from optimize.berths import lns
from optimize.berths._data import Compiled, compile_problem
from optimize.berths.model import (
    Assignment,
    BerthProblem,
    Diagnosis,
    SolveResult,
    Status,
)
from optimize.berths.rules import conform_to_rules, dominance_pairs, identical_berth_classes
from optimize.berths.warmstart import IndexSchedule, greedy, local_search, schedule_cost


class SolverOptions(BaseModel):
    """Switches of the CP-SAT model; the defaults are the strong model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plain: bool = Field(default=False, description="Build the plain model only (for before/after measurement).")
    warm_start: bool = Field(default=True, description="Hint CP-SAT with the greedy schedule.")
    warm_start_fraction: float = Field(
        default=0.2, ge=0.0, le=1.0,
        description="Share of the time limit the warm start's local search may use at most.",
    )
    lns_fraction: float = Field(
        default=0.75, ge=0.0, le=1.0,
        description="Share of the time left after the warm start spent in the CP-SAT-driven LNS "
        "(it stops early when it stalls); the full model gets the rest, to prove a bound.",
    )
    dominance: bool = Field(default=True, description="Order dominated request pairs on each berth.")
    symmetry_breaking: bool = Field(default=True, description="Break symmetry among identical berths.")
    redundant_cumulative: bool = Field(default=True, description="Add a cumulative over all berths.")
    weight_decimals: int = Field(
        default=4, ge=0, le=6,
        description="Weights and penalties are scaled to integers with at most this many decimals.",
    )
    log: bool = Field(default=False, description="Print the CP-SAT search log.")


def _scale(values: Sequence[float], max_decimals: int) -> tuple[int, bool]:
    """Smallest power of ten turning every value into an integer (``exact`` flag if it did)."""
    for d in range(max_decimals + 1):
        f = 10**d
        if all(abs(v * f - round(v * f)) < 1e-9 * max(1.0, abs(v * f)) for v in values):
            return f, True
    return 10**max_decimals, False


class _Built:
    """The CP-SAT model and the handles needed to read a solution back."""

    def __init__(self) -> None:
        self.model = cp_model.CpModel()
        self.start: list[cp_model.IntVar] = []
        self.presence: dict[tuple[int, int], cp_model.IntVar | bool] = {}
        self.berth_start: dict[tuple[int, int], cp_model.IntVar] = {}
        self.scale = 1


def _feasible_berths(data: Compiled, i: int) -> list[int]:
    return [k for k in range(data.m) if data.fits(i, k)]


def _objective_terms(
    data: Compiled, b: _Built, completion: list[cp_model.LinearExprT], horizon: int, scale: int
) -> cp_model.LinearExprT:
    m = b.model
    terms: list[cp_model.LinearExprT] = []
    const = 0
    for i in range(data.n):
        w = round(data.weight[i] * scale)
        terms.append(w * completion[i])
        const += w * data.arrival[i]
        d = data.soft_deadline[i]
        if d is not None and data.penalty[i] > 0:
            late = m.new_int_var(0, max(0, horizon - d), f"late_{i}")
            m.add(late >= completion[i] - d)
            terms.append(round(data.penalty[i] * scale) * late)
    return sum(terms) - const  # type: ignore[return-value]


def _build_plain(data: Compiled, horizon: int, scale: int) -> _Built:
    b = _Built()
    m = b.model
    per_berth: list[list[cp_model.IntervalVar]] = [[] for _ in range(data.m)]
    completion: list[cp_model.LinearExprT] = []
    for i in range(data.n):
        feas = _feasible_berths(data, i)
        c = m.new_int_var(0, horizon, f"C_{i}")
        lits = []
        for k in feas:
            h = data.handling[i][k]
            assert h is not None
            lim = data.limit[i][k]
            s = m.new_int_var(data.release[i][k], (horizon if lim is None else lim) - h, f"s_{i}_{k}")
            x = m.new_bool_var(f"x_{i}_{k}")
            per_berth[k].append(m.new_optional_fixed_size_interval_var(s, h, x, f"iv_{i}_{k}"))
            m.add(c == s + h).only_enforce_if(x)
            b.presence[i, k] = x
            b.berth_start[i, k] = s
            lits.append(x)
        m.add_exactly_one(lits)
        completion.append(c)
    for ivs in per_berth:
        m.add_no_overlap(ivs)
    m.minimize(_objective_terms(data, b, completion, horizon, scale))
    return b


def _build_strong(
    data: Compiled, horizon: int, scale: int, opts: SolverOptions,
    pairs: list[set[tuple[int, int]]] | None, groups: list[list[int]] | None,
    hint: IndexSchedule | None,
) -> _Built:
    b = _Built()
    m = b.model
    per_berth: list[list[cp_model.IntervalVar]] = [[] for _ in range(data.m)]
    completion: list[cp_model.LinearExprT] = []
    master: list[cp_model.IntervalVar] = []
    for i in range(data.n):
        feas = _feasible_berths(data, i)
        lo = min(data.release[i][k] for k in feas)
        hi = max((horizon if data.limit[i][k] is None else data.limit[i][k]) - data.handling[i][k]  # type: ignore[operator]
                 for k in feas)
        s = m.new_int_var(lo, hi, f"S_{i}")
        b.start.append(s)
        hs = {k: data.handling[i][k] for k in feas}
        if len(feas) == 1:
            (k,) = feas
            h = hs[k]
            assert h is not None
            per_berth[k].append(m.new_fixed_size_interval_var(s, h, f"iv_{i}_{k}"))
            b.presence[i, k] = True
            completion.append(s + h)
        else:
            lits = []
            expr: list[cp_model.LinearExprT] = [s]
            for k in feas:
                h = hs[k]
                assert h is not None
                x = m.new_bool_var(f"x_{i}_{k}")
                per_berth[k].append(m.new_optional_fixed_size_interval_var(s, h, x, f"iv_{i}_{k}"))
                if data.release[i][k] > lo:
                    m.add(s >= data.release[i][k]).only_enforce_if(x)
                lim = data.limit[i][k]
                if lim is not None and lim - h < hi:
                    m.add(s <= lim - h).only_enforce_if(x)
                b.presence[i, k] = x
                lits.append(x)
                expr.append(h * x)
            m.add_exactly_one(lits)
            completion.append(sum(expr))  # type: ignore[arg-type]
        if opts.redundant_cumulative:
            hmin = min(h for h in hs.values() if h is not None)
            master.append(m.new_fixed_size_interval_var(s, hmin, f"master_{i}"))
    for k, periods in enumerate(data.blocked):
        for a, e in periods:
            iv = m.new_fixed_size_interval_var(a, e - a, f"blocked_{k}_{a}")
            per_berth[k].append(iv)
            master.append(iv)
    for ivs in per_berth:
        m.add_no_overlap(ivs)
    if opts.redundant_cumulative and data.n > data.m:
        m.add_cumulative(master, [1] * len(master), data.m)

    if pairs is not None:
        for k in range(data.m):
            hk = data.handling
            for i, j in sorted(pairs[k]):
                xi, xj = b.presence.get((i, k)), b.presence.get((j, k))
                if xi is None or xj is None:
                    continue
                h = hk[i][k]
                assert h is not None
                enf = [x for x in (xi, xj) if not isinstance(x, bool)]
                ct = m.add(b.start[i] + h <= b.start[j])
                if enf:
                    ct.only_enforce_if(enf)

    if groups is not None:
        for group in groups:
            # lexicographic leader: the lowest-index request on berth group[g] is below the
            # lowest on group[g+1]; with u[i] = "some request <= i is on the berth".
            prev_u: list[cp_model.IntVar] | None = None
            for k in group:
                u: list[cp_model.IntVar] = []
                for i in range(data.n):
                    ui = m.new_bool_var(f"u_{i}_{k}")
                    xp = b.presence.get((i, k))
                    parts = [] if xp is None or isinstance(xp, bool) else [xp]
                    if i > 0:
                        parts.append(u[-1])
                    if xp is True:
                        m.add(ui == 1)
                    elif parts:
                        m.add_max_equality(ui, parts)
                    else:
                        m.add(ui == 0)
                    u.append(ui)
                if prev_u is not None:
                    for i in range(data.n):
                        xq = b.presence.get((i, k))
                        if xq is None or isinstance(xq, bool):
                            continue
                        if i == 0:
                            m.add(xq == 0)
                        else:
                            m.add_implication(xq, prev_u[i - 1])
                prev_u = u

    m.minimize(_objective_terms(data, b, completion, horizon, scale))
    m.add_decision_strategy(b.start, cp_model.CHOOSE_LOWEST_MIN, cp_model.SELECT_MIN_VALUE)

    if hint is not None:
        for i, (k, t) in enumerate(hint):
            m.add_hint(b.start[i], t)
            for kk in _feasible_berths(data, i):
                xh = b.presence[i, kk]
                if not isinstance(xh, bool):
                    m.add_hint(xh, kk == k)
    return b


def _solver(time_limit: float, seed: int, workers: int, log: bool) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.max_time_in_seconds = max(0.01, time_limit)
    prm.random_seed = seed
    prm.num_workers = max(1, workers)
    prm.log_search_progress = log
    prm.linearization_level = 2
    return solver


def _sub_solver(opts: SolverOptions, scale: int, workers: int) -> lns.SubSolver:
    """CP-SAT on an LNS sub-problem, with the same strong model (minus berth symmetry)."""
    def run(sub: Compiled, hint: IndexSchedule, limit: float, seed: int) -> IndexSchedule | None:
        pairs = [set(dominance_pairs(sub, k)) for k in range(sub.m)] if opts.dominance else None
        built = _build_strong(sub, sub.horizon(), scale, opts, pairs, None, hint)
        solver = _solver(limit, seed, workers, False)
        code = solver.solve(built.model)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        return _read_schedule(sub, built, solver)
    return run


def _read_schedule(data: Compiled, b: _Built, solver: cp_model.CpSolver) -> IndexSchedule:
    out: IndexSchedule = []
    for i in range(data.n):
        chosen = [k for k in range(data.m) if (i, k) in b.presence
                  and (b.presence[i, k] is True or (not isinstance(b.presence[i, k], bool)
                                                     and solver.boolean_value(b.presence[i, k])))]
        (k,) = chosen
        if b.start:
            t = solver.value(b.start[i])
        else:
            t = solver.value(b.berth_start[i, k])
        out.append((k, int(t)))
    return out


def to_assignments(problem: BerthProblem, data: Compiled, sched: IndexSchedule) -> tuple[Assignment, ...]:
    """Turn an index schedule into public :class:`Assignment` records."""
    out = []
    for i, (k, t) in enumerate(sched):
        h = data.handling[i][k]
        assert h is not None
        out.append(Assignment(problem.requests[i].id, t, t + h, berth=problem.berths[k].id))
    return tuple(out)


def solve_berths(
    problem: BerthProblem,
    time_limit: float = 10.0,
    seed: int = 0,
    workers: int = 2,
    options: SolverOptions | None = None,
) -> SolveResult:
    """Solve a :class:`BerthProblem`; see :func:`optimize.berths.solve`."""
    from optimize.berths.diagnosis import diagnose, per_request_diagnosis

    t0 = time.perf_counter()
    opts = options or SolverOptions()
    data = compile_problem(problem)
    if data.n == 0:
        return SolveResult(Status.OPTIMAL, (), 0.0, 0.0, time.perf_counter() - t0)
    per_req = per_request_diagnosis(problem, data)
    if per_req:
        return SolveResult(Status.INFEASIBLE, (), None, None, time.perf_counter() - t0,
                           diagnosis=tuple(per_req))

    scale, _exact = _scale(list(data.weight) + list(data.penalty), opts.weight_decimals)
    horizon = data.horizon()
    hint = None if opts.plain or not opts.warm_start else greedy(data)
    if hint is not None:
        hint = local_search(data, hint, time_budget=opts.warm_start_fraction * time_limit)
    pairs = [set(dominance_pairs(data, k)) for k in range(data.m)] if opts.dominance else None
    groups = identical_berth_classes(data) if opts.symmetry_breaking else None
    if hint is not None:
        hint = conform_to_rules(data, hint, pairs, groups)
        if opts.lns_fraction > 0 and data.n > 1:
            budget = opts.lns_fraction * (time_limit - (time.perf_counter() - t0))
            hint, _moves = lns.improve(data, hint, _sub_solver(opts, scale, workers), budget, seed)
            hint = conform_to_rules(data, hint, pairs, groups)
    hint_obj = None if hint is None else schedule_cost(data, hint)
    built = _build_plain(data, horizon, scale) if opts.plain else \
        _build_strong(data, horizon, scale, opts, pairs, groups, hint)

    solver = _solver(time_limit - (time.perf_counter() - t0), seed, workers, opts.log)
    if opts.plain:
        solver.parameters.linearization_level = 1  # CP-SAT's default
    code = solver.solve(built.model)

    wall = time.perf_counter() - t0
    if code == cp_model.INFEASIBLE:
        diag: tuple[Diagnosis, ...] = tuple(diagnose(problem, time_limit=max(1.0, time_limit / 2)))
        return SolveResult(Status.INFEASIBLE, (), None, None, time.perf_counter() - t0,
                           warm_start_objective=hint_obj, diagnosis=diag)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if hint is not None:  # CP-SAT ran out of time, the greedy schedule still stands
            return SolveResult(Status.FEASIBLE, to_assignments(problem, data, hint), hint_obj,
                               _bound(solver, scale), wall, warm_start_objective=hint_obj)
        return SolveResult(Status.UNKNOWN, (), None, _bound(solver, scale), wall)
    sched = _read_schedule(data, built, solver)
    obj = schedule_cost(data, sched)
    status = Status.OPTIMAL if code == cp_model.OPTIMAL else Status.FEASIBLE
    lb = obj if status is Status.OPTIMAL else _bound(solver, scale)
    return SolveResult(status, to_assignments(problem, data, sched), obj, lb, wall,
                       warm_start_objective=hint_obj)


def _bound(solver: cp_model.CpSolver, scale: int) -> float | None:
    bound = solver.best_objective_bound
    if not math.isfinite(bound):
        return None
    # the scaled objective is integral, so its bound rounds up
    return float(Fraction(math.ceil(bound - 1e-6), scale))
