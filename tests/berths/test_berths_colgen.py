"""The column-generation bound (optimize.berths.colgen) against independent references.

The references are the time-indexed LP built and solved directly by HiGHS
(``bounds.time_indexed_bound``, a different code path: one big sparse LP, no decomposition),
the brute-force optimum of ``test_berths_bounds.optimum`` (every berth and order) and, for
the pricing, a plain one-period-at-a-time dynamic program written here from its recurrence.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.berths import Berth, BerthProblem, Request, SolverOptions, check_schedule, solve
from optimize.berths._data import compile_problem
from optimize.berths.bounds import completion_horizon, time_indexed_bound
from optimize.berths.colgen import Pricing, column_generation
from optimize.berths.construct import warm_start
from optimize.berths.io import read_dbap
from tests.berths.test_berths_bounds import optimum, problems


@settings(max_examples=60, deadline=None)
@given(problems())
def test_column_generation_reaches_the_time_indexed_lp(p: BerthProblem) -> None:
    """Dantzig–Wolfe by berth does not change the LP value (each berth's capacity rows form an
    interval matrix, so its polytope's vertices are its pseudo-schedules): once converged, the
    bound must equal the directly solved time-indexed LP over the same horizon, and no
    Lagrangian value of any iteration may exceed that LP (weak duality) or the optimum."""
    opt = optimum(p)
    if opt is None:
        return
    data = compile_problem(p)
    lp = time_indexed_bound(data, opt, time_limit=10)
    cg = column_generation(data, opt, time_limit=60)
    assert lp is not None and cg is not None
    assert cg.converged
    assert cg.bound == pytest.approx(lp, rel=1e-6, abs=1e-6)
    assert max(cg.bounds) <= lp + 1e-6 * max(1.0, abs(lp))
    assert cg.bound <= opt + 1e-6


@settings(max_examples=40, deadline=None)
@given(problems(), st.data())
def test_pricing_matches_a_plain_dynamic_program(p: BerthProblem, extra: st.DataObject) -> None:
    """The vectorised pricing (blocks of min-h periods, all requests at once) must give, per berth,
    the value of the recurrence f(t) = min(f(t−1), minᵢ f(t−hᵢₖ) + costᵢ(t) − πᵢ), f(0) = 0,
    computed here one period and one request at a time, and a pseudo-schedule whose own
    cost minus duals equals that value and which respects releases, limits and non-overlap."""
    data = compile_problem(p)
    horizon = completion_horizon(data, None)
    pricing = Pricing.build(data, None)
    assert pricing is not None
    duals = np.array(extra.draw(st.lists(st.integers(-5, 40), min_size=data.n, max_size=data.n)),
                     dtype=float)
    values, paths = pricing.solve(duals)
    t_max = pricing.t_max
    for g, path in enumerate(paths):
        k = path.k
        f = [0.0] * (t_max + 1)
        for t in range(1, t_max + 1):
            f[t] = f[t - 1]
            for i in range(data.n):
                h = data.handling[i][k]
                if h is None or not data.fits(i, k):
                    continue
                lim = data.limit[i][k]
                cap = horizon[i] if lim is None else min(lim, horizon[i])
                if t - h >= data.release[i][k] and t <= cap:
                    f[t] = min(f[t], f[t - h] + data.cost(i, t) - duals[i])
        assert values[g] == pytest.approx(f[t_max], abs=1e-9)
        assert path.cost - sum(duals[i] for i, _ in path.jobs) == pytest.approx(f[t_max], abs=1e-9)
        assert path.cost == pytest.approx(sum(data.cost(i, c) for i, c in path.jobs))
        prev_end = -math.inf
        for i, c in path.jobs:
            h = data.handling[i][k]
            assert h is not None and c - h >= max(prev_end, data.release[i][k])
            prev_end = c


def test_bound_on_a_60x13_instance_equals_its_proven_optimum(instances_dir: Path) -> None:
    """On cordeau scenario03 (unit weights) the time-indexed LP equals the optimum 1129, proven by
    CP-SAT (known_values.csv beside the instances; benchmarks/berths/RESULTS.md): column
    generation, with no help from the direct LP, must reach it, and may never pass it."""
    p = read_dbap(instances_dir / "bap" / "cordeau60x13" / "scenario03.txt", forbidden=200,
                  unit_weights=True)
    data = compile_problem(p)
    hint = warm_start(data, 2.0)
    cg = column_generation(data, None, time_limit=120, initial=hint)
    assert cg is not None and cg.converged
    assert cg.bound == pytest.approx(1129.0, abs=1e-4)
    assert max(cg.bounds) <= 1129.0 + 1e-4


@settings(max_examples=25, deadline=None)
@given(problems())
def test_pipeline_with_column_generation_keeps_valid_schedules_and_bounds(p: BerthProblem) -> None:
    """With the direct LP switched off (time_indexed_max_nonzeros=0) the pipeline's bound comes
    from the mean-busy-time bound and column generation; the schedule must pass the independent
    checker and the bound may not exceed the brute-force optimum."""
    opt = optimum(p)
    res = solve(p, time_limit=5, seed=0, workers=1,
                options=SolverOptions(time_indexed_max_nonzeros=0, lagrangian_share=0.5))
    if opt is None:
        return
    assert check_schedule(p, res.schedule).ok
    assert res.objective is not None and res.lower_bound is not None
    assert res.lower_bound <= opt + 1e-6 <= res.objective + 2e-6


def test_column_generation_sees_a_single_berth_queue() -> None:
    """Three 10-unit requests allowed only on b0, all arriving at 0: by hand the optimum is
    10 + 20 + 30 = 60; the LP is exact here (one berth, no choice) and must give 60."""
    p = BerthProblem((Berth("b0"), Berth("b1")),
                     tuple(Request(f"r{i}", 0, {"b0": 10}) for i in range(3)))
    cg = column_generation(compile_problem(p), None, time_limit=30)
    assert cg is not None and cg.converged and cg.bound == pytest.approx(60.0, abs=1e-6)


def test_table_size_uses_the_berths_closing_not_the_loose_horizon() -> None:
    """A berth closing at 600 bounds every completion, however long the left-shift horizon
    (here 200 requests with 1000 units of handling on a berth where they cannot fit give a
    horizon of 200,000, and 200 pairs × 200,000 periods exceed MAX_CELLS): the pricing table
    must be built over 600 periods, not refused.
    (The kramer2019 f200x15-03/-04/-05 instances have such loose horizons.)"""
    reqs = tuple(Request(f"r{i}", i, {"b0": 2, "b1": 1000}) for i in range(200))
    p = BerthProblem((Berth("b0", 0, 600), Berth("b1", 0, 600)), reqs)
    pricing = Pricing.build(compile_problem(p), None)
    assert pricing is not None and pricing.t_max == 600
