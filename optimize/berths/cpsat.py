"""CP-SAT model and :func:`solve` for the discrete berth allocation problem.

The *plain* model (``SolverOptions(plain=True)``) is the textbook one: per allowed berth an
optional interval with its own start variable, a NoOverlap per berth, exactly one berth per
request.  The default pipeline of :func:`solve_berths` adds what makes it strong:

* a warm start (:mod:`optimize.berths.construct`) given as a complete solution hint;
* lower bounds CP-SAT's LP does not find (:mod:`optimize.berths.bounds`): the
  mean-busy-time bound and, when small enough, the time-indexed LP solved by HiGHS; the
  best is a constraint on the objective, so meeting it proves optimality;
* ruin-and-recreate improvement of the warm start before the full model runs;
* in the model: one start variable per request shared by its optional berth intervals (so
  ``Cᵢ = Sᵢ + Σₖ hᵢₖ·xᵢₖ`` is linear), dominance rules ordering requests on a berth,
  symmetry breaking among berths that differ only in closing time (both in
  :mod:`optimize.berths.rules`, with their exchange proofs), a redundant cumulative over
  all berths, and a search on earliest start.
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
from optimize.berths.bounds import (
    completion_horizon,
    mean_busy_time_bound,
    time_indexed_bound,
    time_indexed_size,
)
from optimize.berths.colgen import column_generation
from optimize.berths.construct import warm_start
from optimize.berths.diagnosis import diagnose, per_request_diagnosis
from optimize.berths.localsearch import local_search
from optimize.berths.model import (
    Assignment,
    BerthProblem,
    Diagnosis,
    SolveResult,
    Status,
)
from optimize.berths.ruin import parallel_ruin_recreate
from optimize.berths.rules import berth_chains, conform_to_rules, dominance_pairs
from optimize.berths.sequence import IndexSchedule, schedule_cost


class SolverOptions(BaseModel):
    """Switches of the CP-SAT model; the defaults are the strong model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plain: bool = Field(
        default=False, description="Build the plain model only (for before/after measurement).",
    )
    warm_start: bool = Field(default=True, description="Hint CP-SAT with the greedy schedule.")
    warm_start_fraction: float = Field(
        default=0.2, ge=0.0, le=1.0,
        description="Share of the time limit the warm start's local search may use at most.",
    )
    improve_fraction: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="Share of the time left after the warm start and bounds spent improving "
        "the warm start (ruin-and-recreate, optionally the CP-SAT-driven LNS); the full model "
        "gets the rest, to prove optimality. Improvement stops early once it meets the lower "
        "bound. None = 0.75 when the time-indexed LP bound was computed (the full model can "
        "then close the gap), else 0.95 (it cannot on such sizes, measured on kramer2019).",
    )
    lns_share: float = Field(
        default=0.0, ge=0.0, le=1.0,
        description="Part of the improvement time given to the CP-SAT-driven LNS "
        "(optimize.berths.lns) instead of ruin-and-recreate.",
    )
    relaxation_bound: bool = Field(
        default=True,
        description="Compute the mean-busy-time and (when small enough) the time-indexed LP "
        "lower bounds and give the better one to CP-SAT.",
    )
    lagrangian_share: float = Field(
        default=0.2, ge=0.0, le=1.0,
        description="Share of the time limit spent, after the improvement stage, on the "
        "time-indexed LP bound by column generation (optimize.berths.colgen, Lagrangian "
        "bounds valid at every step) when the LP is too large for HiGHS; 0 disables it.",
    )
    time_indexed_max_nonzeros: int = Field(
        default=2_000_000, ge=0,
        description="Skip the time-indexed LP bound when its matrix would have more non-zeros.",
    )
    dominance: bool = Field(default=True, description="Order dominated request pairs on each berth.")
    symmetry_breaking: bool = Field(default=True, description="Break symmetry among berths differing only in closing time.")
    redundant_cumulative: bool = Field(default=True, description="Add a cumulative over all berths.")
    weight_decimals: int = Field(
        default=4, ge=0, le=6,
        description="Weights and penalties are scaled to integers with at most this many decimals.",
    )
    cpsat_parameters: str = Field(
        default="",
        description="Extra CP-SAT parameters in protobuf text format, applied last "
        "(e.g. 'subsolvers: \"max_lp\"').",
    )
    log: bool = Field(default=False, description="Print the CP-SAT search log.")
    final_search: bool = Field(
        default=True,
        description="Run the full CP-SAT model after the warm start.  False returns the warm "
        "start (constructions and local search), proven optimal when it meets the bound: "
        "for repeated small problems inside a simulation, where building the CP-SAT model "
        "costs seconds and the warm start is usually optimal already (docs/garbage.md).",
    )


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
        self.objective: cp_model.LinearExprT = 0


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
    """The strong model (module docstring); ``pairs``/``groups`` = dominance and berth chains."""
    b = _Built()
    per_berth: list[list[cp_model.IntervalVar]] = [[] for _ in range(data.m)]
    master: list[cp_model.IntervalVar] = []
    completion = [_add_request(data, b, i, horizon, per_berth,
                               master if opts.redundant_cumulative else None)
                  for i in range(data.n)]
    _add_berth_capacity(data, b, per_berth, master, opts.redundant_cumulative)
    if pairs is not None:
        _add_dominance(data, b, pairs)
    if groups is not None:
        _add_berth_chains(data, b, groups, horizon)
    b.objective = _objective_terms(data, b, completion, horizon, scale)
    b.model.minimize(b.objective)
    b.model.add_decision_strategy(b.start, cp_model.CHOOSE_LOWEST_MIN, cp_model.SELECT_MIN_VALUE)
    if hint is not None:
        _add_hint(data, b, hint)
    return b


def _add_request(
    data: Compiled, b: _Built, i: int, horizon: int,
    per_berth: list[list[cp_model.IntervalVar]], master: list[cp_model.IntervalVar] | None,
) -> cp_model.LinearExprT:
    """Request ``i``'s start variable and berth intervals; returns its completion time.

    One start ``Sᵢ`` is shared by the optional intervals of its berths, so
    ``Cᵢ = Sᵢ + Σₖ hᵢₖ·xᵢₖ`` is linear; a berth's own release and limit are enforced by
    its literal.  ``master`` (the redundant cumulative) gets an interval of the fastest
    handling.
    """
    m = b.model
    feas = _feasible_berths(data, i)
    lo = min(data.release[i][k] for k in feas)
    hi = max((horizon if data.limit[i][k] is None else data.limit[i][k]) - data.handling[i][k]  # type: ignore[operator]
             for k in feas)
    s = m.new_int_var(lo, hi, f"S_{i}")
    b.start.append(s)
    hs = {k: data.handling[i][k] for k in feas}
    completion: cp_model.LinearExprT
    if len(feas) == 1:
        (k,) = feas
        h = hs[k]
        assert h is not None
        per_berth[k].append(m.new_fixed_size_interval_var(s, h, f"iv_{i}_{k}"))
        b.presence[i, k] = True
        completion = s + h
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
        completion = sum(expr)  # type: ignore[assignment]
    if master is not None:
        hmin = min(h for h in hs.values() if h is not None)
        master.append(m.new_fixed_size_interval_var(s, hmin, f"master_{i}"))
    return completion


def _add_berth_capacity(
    data: Compiled, b: _Built, per_berth: list[list[cp_model.IntervalVar]],
    master: list[cp_model.IntervalVar], redundant_cumulative: bool,
) -> None:
    """Blocked periods, one NoOverlap per berth, and the redundant cumulative over all."""
    m = b.model
    for k, periods in enumerate(data.blocked):
        for a, e in periods:
            iv = m.new_fixed_size_interval_var(a, e - a, f"blocked_{k}_{a}")
            per_berth[k].append(iv)
            master.append(iv)
    for ivs in per_berth:
        m.add_no_overlap(ivs)
    if redundant_cumulative and data.n > data.m:
        m.add_cumulative(master, [1] * len(master), data.m)


def _add_dominance(data: Compiled, b: _Built, pairs: list[set[tuple[int, int]]]) -> None:
    """``i`` before ``j`` whenever both use berth ``k`` (:func:`rules.dominance_pairs`)."""
    for k in range(data.m):
        for i, j in sorted(pairs[k]):
            xi, xj = b.presence.get((i, k)), b.presence.get((j, k))
            if xi is None or xj is None:
                continue
            h = data.handling[i][k]
            assert h is not None
            enf = [x for x in (xi, xj) if not isinstance(x, bool)]
            ct = b.model.add(b.start[i] + h <= b.start[j])
            if enf:
                ct.only_enforce_if(enf)


def _add_berth_chains(data: Compiled, b: _Built, groups: list[list[int]], horizon: int) -> None:
    """Last completion non-increasing along each chain (:func:`rules.berth_chains`)."""
    m = b.model
    for chain in groups:
        last = []
        for k in chain:
            ends = []
            for i in range(data.n):
                lit = b.presence.get((i, k))
                if lit is None:
                    continue
                hik = data.handling[i][k]
                assert hik is not None
                end = m.new_int_var(0, horizon, f"end_{i}_{k}")
                if isinstance(lit, bool):
                    m.add(end == b.start[i] + hik)
                else:
                    m.add(end == b.start[i] + hik).only_enforce_if(lit)
                    m.add(end == 0).only_enforce_if(~lit)
                ends.append(end)
            lk = m.new_int_var(0, horizon, f"last_{k}")
            m.add_max_equality(lk, ends or [m.new_constant(0)])
            last.append(lk)
        for prev, nxt in zip(last, last[1:], strict=False):
            m.add(nxt <= prev)


def _add_hint(data: Compiled, b: _Built, hint: IndexSchedule) -> None:
    """A complete solution hint: every start and every berth literal."""
    for i, (k, t) in enumerate(hint):
        b.model.add_hint(b.start[i], t)
        for kk in _feasible_berths(data, i):
            xh = b.presence[i, kk]
            if not isinstance(xh, bool):
                b.model.add_hint(xh, kk == k)


def _solver(time_limit: float, seed: int, workers: int, log: bool,
            deterministic_time: float | None = None) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    prm = solver.parameters
    if math.isfinite(time_limit):
        prm.max_time_in_seconds = max(0.01, time_limit)
    if deterministic_time is not None:
        prm.max_deterministic_time = deterministic_time
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
    deterministic_time: float | None = None,
) -> SolveResult:
    """Solve a :class:`BerthProblem`; see :func:`optimize.berths.solve`.

    ``deterministic_time`` (CP-SAT's deterministic seconds, a work limit) stops the final
    CP-SAT search besides ``time_limit``.  With ``time_limit = inf`` the solve runs in *work
    mode* and the answer depends only on the problem, seed and ``workers`` (one worker:
    reproducible; :func:`optimize.berths.solve` with a work budget): the stages whose
    length is set by the clock are left out (ruin-and-recreate, the CP-SAT-driven LNS, the
    time-indexed LP and Lagrangian bounds), while the warm start's constructions and local
    search run to their local optimum, the mean-busy-time bound is kept and the strong model
    starts from the hint.  The answer is never worse than the hint.

    Stages: warm start (constructions + local search), lower bounds (mean busy time, and
    the time-indexed LP when small enough), improvement (ruin-and-recreate, optionally the
    CP-SAT-driven LNS), then the full CP-SAT model with the hint and the bound.  A schedule
    whose cost meets the bound is proven optimal at any stage.
    """
    run = _Run(problem, compile_problem(problem), options or SolverOptions(), time_limit,
               time.perf_counter(), work=deterministic_time is not None and not math.isfinite(time_limit))
    data, opts = run.data, run.opts
    early = _trivial_result(run)
    if early is not None:
        return early
    hint = _warm_stage(run)
    hint_obj = run.warm_obj = None if hint is None else schedule_cost(data, hint)
    lp_used = _bound_stage(run, hint_obj)
    improve_fraction = opts.improve_fraction
    if improve_fraction is None:
        improve_fraction = 0.75 if lp_used else 0.95
    # time kept for the Lagrangian bound, computed after the improvement stage (it then
    # aims at the improved schedule's cost)
    lagrangian_time = 0.0
    if not opts.plain and opts.relaxation_bound and not lp_used and not run.work:
        lagrangian_time = opts.lagrangian_share * time_limit

    if hint is not None and hint_obj is not None:
        if run.proven(hint_obj):
            return run.result(Status.OPTIMAL, hint, hint_obj, run.relaxed)
        if improve_fraction > 0 and data.n > 1 and not run.work:
            budget = improve_fraction * max(0.0, run.left() - lagrangian_time)
            hint = _improve_stage(run, hint, budget, seed, workers)
            hint_obj = schedule_cost(data, hint)
            if run.proven(hint_obj):
                return run.result(Status.OPTIMAL, hint, hint_obj, run.relaxed)

    if lagrangian_time > 0 and run.left() > 0.5:
        cg = column_generation(data, hint_obj, min(lagrangian_time, run.left() - 0.5),
                               initial=hint, target=_proving_level(hint_obj, run.scale, run.exact))
        if cg is not None:
            run.relaxed = _best(run.relaxed, _safe_bound(cg.bound, run.scale, run.exact))
            if hint is not None and hint_obj is not None and run.proven(hint_obj):
                return run.result(Status.OPTIMAL, hint, hint_obj, run.relaxed)

    if hint is not None and hint_obj is not None and (not opts.final_search or run.left() < 0.5):
        # returning the warm start was asked for, or no time for CP-SAT to load the model
        return run.result(Status.FEASIBLE, hint, hint_obj, run.relaxed)
    return _final_search(run, hint, hint_obj, seed, workers, deterministic_time)


class _Run:
    """One :func:`solve_berths` call: the problem, its settings and what the stages found."""

    def __init__(self, problem: BerthProblem, data: Compiled, opts: SolverOptions,
                 time_limit: float, t0: float, *, work: bool) -> None:
        self.problem, self.data, self.opts = problem, data, opts
        self.time_limit, self.t0 = time_limit, t0
        #: work mode (see solve_berths): nothing may depend on the clock
        self.work = work
        self.scale, self.exact = _scale(list(data.weight) + list(data.penalty), opts.weight_decimals)
        self.pairs: list[set[tuple[int, int]]] | None = None
        self.groups: list[list[int]] | None = None
        #: best proven lower bound so far (None = none yet)
        self.relaxed: float | None = None
        self.warm_obj: float | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float:
        return self.time_limit - self.elapsed()

    def proven(self, cost: float | None) -> bool:
        """Whether a schedule of ``cost`` meets the bound (so is optimal)."""
        return cost is not None and self.relaxed is not None and cost <= self.relaxed + 1e-9

    def result(self, status: Status, sched: IndexSchedule, cost: float, lb: float | None) -> SolveResult:
        if self.proven(cost):
            status, lb = Status.OPTIMAL, cost
        return SolveResult(status, to_assignments(self.problem, self.data, sched), cost, lb,
                           self.elapsed(), warm_start_objective=self.warm_obj)


def _trivial_result(run: _Run) -> SolveResult | None:
    """The answer without search: no requests, or a request that fits on no berth."""
    if run.data.n == 0:
        return SolveResult(Status.OPTIMAL, (), 0.0, 0.0, run.elapsed())
    per_req = per_request_diagnosis(run.problem, run.data)
    if per_req:
        return SolveResult(Status.INFEASIBLE, (), None, None, run.elapsed(),
                           diagnosis=tuple(per_req))
    return None


def _warm_stage(run: _Run) -> IndexSchedule | None:
    """The rules of the strong model, and the warm start repaired to satisfy them."""
    data, opts = run.data, run.opts
    if opts.plain:
        return None
    run.pairs = [set(dominance_pairs(data, k)) for k in range(data.m)] if opts.dominance else None
    run.groups = berth_chains(data) if opts.symmetry_breaking else None
    hint = None
    if opts.warm_start:
        # work mode: an infinite share runs every local search to its local optimum
        hint = warm_start(data, math.inf if run.work else opts.warm_start_fraction * run.time_limit)
    if hint is not None:
        hint = conform_to_rules(data, hint, run.pairs, run.groups)
    return hint


def _bound_stage(run: _Run, upper: float | None) -> bool:
    """Set the relaxation bound; whether the time-indexed LP contributed."""
    opts = run.opts
    if opts.plain or not opts.relaxation_bound:
        return False
    if run.work:
        run.relaxed = _safe_bound(mean_busy_time_bound(run.data), run.scale, run.exact)
        return False
    run.relaxed, lp_used = _relaxation_bound(run.data, upper, 0.5 * run.left(), opts,
                                             run.scale, run.exact)
    return lp_used


def _improve_stage(run: _Run, hint: IndexSchedule, budget: float, seed: int,
                   workers: int) -> IndexSchedule:
    """Ruin-and-recreate, a polish, optionally the CP-SAT-driven LNS; rules re-applied."""
    data, opts = run.data, run.opts
    rr_budget = (1.0 - opts.lns_share) * budget
    hint = parallel_ruin_recreate(data, hint, 0.7 * rr_budget, seed, workers, target=run.relaxed)
    hint = local_search(data, hint, 0.3 * rr_budget)
    if opts.lns_share > 0 and not run.proven(schedule_cost(data, hint)):
        hint = conform_to_rules(data, hint, run.pairs, run.groups)
        hint, _moves = lns.improve(data, hint, _sub_solver(opts, run.scale, workers),
                                   opts.lns_share * budget, seed, target=run.relaxed)
    return conform_to_rules(data, hint, run.pairs, run.groups)


def _final_search(run: _Run, hint: IndexSchedule | None, hint_obj: float | None, seed: int,
                  workers: int, deterministic_time: float | None) -> SolveResult:
    """The full CP-SAT model from the hint, with the bound as a constraint."""
    data, opts = run.data, run.opts
    horizon = data.horizon()
    built = _build_plain(data, horizon, run.scale) if opts.plain else \
        _build_strong(data, horizon, run.scale, opts, run.pairs, run.groups, hint)
    if run.relaxed is not None and run.exact:
        # CP-SAT prunes with the bound and stops as soon as a schedule meets it.
        built.model.add(built.objective >= round(run.relaxed * run.scale))
    solver = _solver(run.left(), seed, workers, opts.log, deterministic_time)
    if opts.plain:
        solver.parameters.linearization_level = 1  # CP-SAT's default
    if opts.cpsat_parameters:
        solver.parameters.merge_text_format(opts.cpsat_parameters)
    code = solver.solve(built.model)
    lb = _best(_bound(solver, run.scale), run.relaxed)

    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        sched = _read_schedule(data, built, solver)
        status = Status.OPTIMAL if code == cp_model.OPTIMAL else Status.FEASIBLE
        cost = schedule_cost(data, sched)
        if hint is not None and hint_obj is not None and hint_obj < cost - 1e-9:
            # a search stopped by its limit before it got back to the hint's cost
            return run.result(Status.FEASIBLE, hint, hint_obj, lb)
        return run.result(status, sched, cost, cost if status is Status.OPTIMAL else lb)
    if hint is not None and hint_obj is not None:
        # CP-SAT ran out of time (or, infeasible with a feasible hint, only the objective bound
        # can have cut it: the hint meets the bound up to its floating-point margin).
        return run.result(Status.FEASIBLE, hint, hint_obj,
                          run.relaxed if code == cp_model.INFEASIBLE else lb)
    if code == cp_model.INFEASIBLE:
        diag: tuple[Diagnosis, ...] = tuple(diagnose(run.problem,
                                                     time_limit=max(1.0, run.time_limit / 2)))
        return SolveResult(Status.INFEASIBLE, (), None, None, run.elapsed(), diagnosis=diag)
    return SolveResult(Status.UNKNOWN, (), None, lb, run.elapsed())


#: build + HiGHS solve rate of the time-indexed LP, measured on a loaded 2-core machine
#: (1.7 M non-zeros in 3.4 s); the LP is skipped when it would not fit in its time share.
_LP_NONZEROS_PER_SECOND = 500_000


def _relaxation_bound(
    data: Compiled, upper: float | None, budget: float, opts: SolverOptions, scale: int,
    exact: bool,
) -> tuple[float, bool]:
    """Best of the relaxation bounds, made safe for floating point and rounded up when the
    (scaled) objective is integral; and whether the time-indexed LP contributed."""
    bound = mean_busy_time_bound(data)
    lp_used = False
    nnz = time_indexed_size(data, completion_horizon(data, upper))
    if nnz <= min(opts.time_indexed_max_nonzeros, budget * _LP_NONZEROS_PER_SECOND):
        lp = time_indexed_bound(data, upper, budget)
        if lp is not None:
            bound = max(bound, lp)
            lp_used = True
    return _safe_bound(bound, scale, exact), lp_used


def _safe_bound(bound: float, scale: int, exact: bool) -> float:
    """``bound`` less a margin for solver tolerances, rounded up to the objective's grid
    when the (scaled) objective is integral."""
    bound -= 1e-6 * max(1.0, abs(bound))
    if exact:
        bound = math.ceil(bound * scale) / scale
    return bound


def _proving_level(cost: float | None, scale: int, exact: bool) -> float | None:
    """A raw bound at which :func:`_safe_bound` proves a schedule of ``cost`` optimal."""
    if cost is None:
        return None
    step = 1.0 / scale if exact else 0.0
    return cost - step + 2e-6 * max(1.0, abs(cost))


def _best(a: float | None, b: float | None) -> float | None:
    vals = [x for x in (a, b) if x is not None]
    return max(vals) if vals else None


def _bound(solver: cp_model.CpSolver, scale: int) -> float | None:
    bound = solver.best_objective_bound
    if not math.isfinite(bound):
        return None
    # the scaled objective is integral, so its bound rounds up
    return float(Fraction(math.ceil(bound - 1e-6), scale))
