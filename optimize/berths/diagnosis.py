"""Why a berth problem has no schedule.

Two levels:

1. :func:`per_request_diagnosis` — a request that cannot meet its hard limit on *any*
   allowed berth even with the berths to itself.  The message lists, per allowed berth,
   the earliest start, the handling time and the limit it misses.
2. :func:`diagnose` — otherwise requests conflict with each other.  Each request's hard
   limit is put under an assumption literal and CP-SAT returns a subset of assumptions that
   is already infeasible (an unsatisfiable core), which names requests that cannot all be
   served in time together.

Every message points at the way out: make the deadline soft by giving the request a
``lateness_penalty`` (or widen the berth windows / add berths).
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from optimize.berths._data import Compiled, compile_problem
from optimize.berths.model import BerthProblem, Diagnosis

_SOFT_HINT = ("make its latest_completion soft by giving it a lateness_penalty, "
              "or allow more berths / longer berth windows")


def per_request_diagnosis(problem: BerthProblem, data: Compiled | None = None) -> list[Diagnosis]:
    """Requests that fit on none of their allowed berths, each with the reason per berth."""
    data = data or compile_problem(problem)
    out = []
    for i, r in enumerate(problem.requests):
        if any(data.fits(i, k) for k in range(data.m)):
            continue
        why = []
        for k, b in enumerate(problem.berths):
            h = data.handling[i][k]
            if h is None:
                continue
            lim = data.limit[i][k]
            start = data.release[i][k]
            what = ("its latest completion" if r.hard_deadline is not None
                    and (b.close is None or r.hard_deadline <= b.close) else "the berth closing")
            why.append(f"on {b.id} it can start at {start} at the earliest (arrival {r.arrival}, "
                       f"berth opens {b.open}) and needs {h}, ending {start + h} > {lim} ({what})")
        out.append(Diagnosis(
            (r.id,),
            f"request {r.id!r} cannot be served on any allowed berth: " + "; ".join(why)
            + f" — {_SOFT_HINT}",
        ))
    return out


def diagnose(problem: BerthProblem, time_limit: float = 10.0, workers: int = 1) -> list[Diagnosis]:
    """Explain why ``problem`` is infeasible; empty if it is feasible (or the search timed out).

    Parameters
    ----------
    problem
        The berth problem.
    time_limit
        Seconds for the core extraction.
    workers
        CP-SAT workers (a core is only reported by a single sequential search).
    """
    data = compile_problem(problem)
    single = per_request_diagnosis(problem, data)
    if single:
        return single
    horizon = data.horizon()
    m = cp_model.CpModel()
    per_berth: list[list[cp_model.IntervalVar]] = [[] for _ in range(data.m)]
    meets: list[cp_model.IntVar] = []
    for i in range(data.n):
        meet = m.new_bool_var(f"meets_{i}")
        meets.append(meet)
        lits = []
        for k in range(data.m):
            h = data.handling[i][k]
            if h is None:
                continue
            s = m.new_int_var(data.release[i][k], horizon, f"s_{i}_{k}")
            x = m.new_bool_var(f"x_{i}_{k}")
            per_berth[k].append(m.new_optional_fixed_size_interval_var(s, h, x, f"iv_{i}_{k}"))
            lim = data.limit[i][k]
            if lim is not None:
                m.add(s + h <= lim).only_enforce_if([x, meet])
            lits.append(x)
        m.add_exactly_one(lits)
    for ivs in per_berth:
        m.add_no_overlap(ivs)
    m.add_assumptions(meets)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = max(1, workers)
    if solver.solve(m) != cp_model.INFEASIBLE:
        return []
    core_idx = {v for v in solver.sufficient_assumptions_for_infeasibility()}
    core = [i for i in range(data.n) if meets[i].index in core_idx]
    if not core:
        core = list(range(data.n))
    ids = tuple(problem.requests[i].id for i in core)
    detail = ", ".join(
        f"{problem.requests[i].id} (arrives {data.arrival[i]}, latest "
        f"{min((x for x in data.limit[i] if x is not None), default=None)})"
        for i in core[:8]
    )
    more = "" if len(core) <= 8 else f" and {len(core) - 8} more"
    return [Diagnosis(
        ids,
        f"requests {detail}{more} cannot all be served within their hard latest completions "
        f"on the berths they are allowed — for one of them, {_SOFT_HINT}",
    )]
