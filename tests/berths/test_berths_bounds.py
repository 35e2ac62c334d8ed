"""Validity of the lower bounds and of the heuristics' bookkeeping on random small problems.

The optimum comes from an exhaustive search written here from the problem statement; a
bound above it, or a heuristic whose cost disagrees with the checker, is a bug.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.berths import Berth, BerthProblem, Request, check_schedule
from optimize.berths._data import compile_problem
from optimize.berths.bounds import mean_busy_time_bound, time_indexed_bound
from optimize.berths.colgen import column_generation
from optimize.berths.construct import dispatch, greedy
from optimize.berths.cpsat import to_assignments
from optimize.berths.localsearch import local_search
from optimize.berths.ruin import ruin_recreate
from optimize.berths.rules import berth_chains, conform_to_rules, dominance_pairs
from optimize.berths.sequence import insertion_costs, schedule_cost, sequence_cost


@st.composite
def problems(draw: st.DrawFn) -> BerthProblem:
    m = draw(st.integers(1, 3))
    berths = tuple(Berth(f"b{k}", draw(st.integers(0, 4)),
                         draw(st.one_of(st.none(), st.integers(40, 80)))) for k in range(m))
    reqs = []
    for i in range(draw(st.integers(1, 6))):
        allowed = draw(st.lists(st.sampled_from([b.id for b in berths]), min_size=1, unique=True))
        soft = draw(st.booleans())
        latest = draw(st.one_of(st.none(), st.integers(15, 60)))
        reqs.append(Request(
            f"r{i}", draw(st.integers(0, 15)), {b: draw(st.integers(1, 10)) for b in allowed},
            weight=float(draw(st.integers(0, 3))), latest_completion=latest,
            lateness_penalty=float(draw(st.integers(0, 4))) if soft and latest is not None else None))
    return BerthProblem(berths, tuple(reqs))


def optimum(p: BerthProblem) -> float | None:
    """Exhaustive: every berth assignment, every order per berth, earliest start times."""
    data = compile_problem(p)
    best = None
    choices = [[k for k in range(data.m) if data.handling[i][k] is not None] for i in range(data.n)]
    for assign in itertools.product(*choices):
        total = 0.0
        for k in range(data.m):
            members = [i for i, a in enumerate(assign) if a == k]
            costs = []
            for perm in itertools.permutations(members):
                t, c = p.berths[k].open, 0.0
                for i in perm:
                    r = p.requests[i]
                    t = max(t, r.arrival) + r.handling[p.berths[k].id]
                    close = p.berths[k].close
                    if (close is not None and t > close) or (r.hard_deadline is not None
                                                             and t > r.hard_deadline):
                        c = float("inf")
                        break
                    c += r.weight * (t - r.arrival)
                    if r.lateness_penalty is not None and r.latest_completion is not None:
                        c += r.lateness_penalty * max(0, t - r.latest_completion)
                costs.append(c)
            total += min(costs) if costs else 0.0
        if total < float("inf") and (best is None or total < best):
            best = total
    return best


@settings(max_examples=60, deadline=None)
@given(problems())
def test_bounds_never_exceed_the_optimum(p: BerthProblem) -> None:
    """The optimum comes from brute force over every berth and order (no solver code), and a lower
    bound above it would be wrong: the mean-busy-time and time-indexed LP bounds must not exceed it,
    and the Lagrangian value must not exceed the LP it relaxes (weak duality)."""
    opt = optimum(p)
    data = compile_problem(p)
    mbt = mean_busy_time_bound(data)
    lp = time_indexed_bound(data, opt, time_limit=10)
    if opt is None:
        return
    cg = column_generation(data, opt, time_limit=60)
    assert mbt <= opt + 1e-6
    assert lp is not None and lp <= opt + 1e-6
    # every Lagrangian value is at most the LP optimum it relaxes (weak duality)
    assert cg is not None and cg.bound <= lp + 1e-6


def test_lagrangian_bound_sees_berth_eligibility_that_mean_busy_time_ignores() -> None:
    """Three 10-minute requests allowed only at b0 finish at 10, 20 and 30, so the optimum is 60 by
    hand; the mean-busy-time bound pools the idle b1 and stays below 50, while the Lagrangian bound
    must price the queue at b0 exactly (60)."""
    # Three identical requests that may only use b0, while b1 stands idle: the optimum
    # serves them one after another (completions 10, 20, 30).  The mean-busy-time bound
    # pools both berths; the Lagrangian bound prices the queue at b0 exactly.
    p = BerthProblem((Berth("b0", 0, None), Berth("b1", 0, None)),
                     tuple(Request(f"r{i}", 0, {"b0": 10}) for i in range(3)))
    data = compile_problem(p)
    assert optimum(p) == 60.0
    assert mean_busy_time_bound(data) < 50.0
    cg = column_generation(data, 60.0, time_limit=60)
    assert cg is not None and cg.bound == pytest.approx(60.0, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_heuristics_give_valid_schedules_with_their_claimed_cost(p: BerthProblem) -> None:
    """Every heuristic schedule (greedy, dispatch, local search, ruin and recreate) must pass the
    independent checker with the cost the heuristic claims, and the rule exchanges must keep it
    valid and never make it worse."""
    data = compile_problem(p)
    pairs = [set(dominance_pairs(data, k)) for k in range(data.m)]
    chains = berth_chains(data)
    for start in (greedy(data), dispatch(data, 0.0), dispatch(data, 3.0, 5)):
        if start is None:
            continue
        for sched in (start, local_search(data, start, 1.0), ruin_recreate(data, start, 0.2, 0)):
            rep = check_schedule(p, to_assignments(p, data, sched))
            assert rep.ok, rep.violations
            assert rep.objective == pytest.approx(schedule_cost(data, sched))
            fixed = conform_to_rules(data, sched, pairs, chains)
            rep2 = check_schedule(p, to_assignments(p, data, fixed))
            assert rep2.ok, rep2.violations
            # the rule exchanges never make a schedule worse
            assert rep2.objective is not None and rep2.objective <= rep.objective + 1e-9


@settings(max_examples=80, deadline=None)
@given(problems(), st.data())
def test_incremental_insertion_cost_matches_full_evaluation(p: BerthProblem, extra: st.DataObject) -> None:
    """The fast insertion costs of request i at every position of a berth's sequence must equal the
    full sequence cost evaluated afresh at each position (None where the insertion is infeasible).
    """
    data = compile_problem(p)
    k = extra.draw(st.integers(0, data.m - 1))
    members = [i for i in range(data.n) if data.handling[i][k] is not None]
    if not members:
        return
    i = extra.draw(st.sampled_from(members))
    seq = extra.draw(st.permutations([j for j in members if j != i]))
    fast = insertion_costs(data, k, list(seq), i)
    slow = [sequence_cost(data, k, list(seq[:q]) + [i] + list(seq[q:])) for q in range(len(seq) + 1)]
    assert fast == pytest.approx(slow) if None not in slow else fast == slow
