"""Daily plans that start from yesterday's (``routing.warm_start = "yesterday"``).

A sector's plan starts from its previous plan in the run and searches ``warm_effort``
iterations; a problem planned before in the run keeps its plan.  These tests check what
the start contains, that the effort of each call is the one the settings name, and that
the plans depend only on the run itself (never on the process-wide plan cache)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from simcity.domain import RunContext
from simcity.garbage import City, Policy, simulate
from simcity.garbage.config import Routing
from simcity.garbage.planning import PlanCache, Planner, Timer
from simcity.rng import Streams
from tests.garbage.test_garbage_model import city_data, policy


def warm_city(**routing: Any) -> City:
    """The small two-category district, one routing call per group, starting from yesterday."""
    return City.model_validate(city_data(routing={"partition": "none", "warm_start": "yesterday",
                                                  "effort": 120, "warm_effort": 40, **routing}))


def run(city: City, pol: Policy, days: int = 5, rep: int = 0,
        cache: PlanCache | None = None) -> tuple[dict[str, float], Timer]:
    """Metrics and the recorded routing calls of one replication, with its own plan cache
    (a fresh one unless given)."""
    timer = Timer(record=[])
    original = Planner.__init__

    def init(self: Planner, *a: Any, **kw: Any) -> None:
        original(self, *a, **{**kw, "cache": cache if cache is not None else PlanCache()})

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Planner, "__init__", init)
        out, _ = simulate(city, pol, RunContext(24.0 * days, 0.0, Streams(7, rep), rep), timer)
    return out.metrics, timer


def test_warm_calls_start_from_every_point_and_use_warm_effort() -> None:
    """After a group's first plan, every call under the threshold policy starts from routes
    that already visit all of today's points (yesterday's tour with the new points put
    next to their nearest kept point, cut into today's trucks: the small district's trucks
    can take everything) and searches warm_effort (40), not effort (120); first calls
    start cold with effort.  Nothing required is left out, as with cold starts."""
    city = warm_city()
    metrics, timer = run(city, policy(name="t", selection="threshold", theta=0.5))
    assert timer.record is not None
    seen: set[str] = set()
    warm = 0
    for call in timer.record:
        group = call.problem.name.split()[-1]
        if group not in seen:
            seen.add(group)
            assert call.initial is None and call.effort == 120
            continue
        assert call.initial is not None and call.effort == 40
        started = sorted(i for r in call.initial for i in r.stops)
        assert started == list(range(len(call.problem.stops)))
        warm += 1
    assert warm >= 4
    assert metrics["planned_skips_per_day"] == 0.0


def test_plans_depend_on_the_run_only_not_on_the_cache() -> None:
    """Replication 1 gives the same metrics and the same routing calls (problem names,
    starts, efforts) with a fresh plan cache and with a cache warmed by replication 0 and
    another policy: the start comes from the run's own previous plan, never from what the
    process solved before."""
    city = warm_city()
    pol = policy(name="t", selection="threshold", theta=0.5, daily_categories=["perishable"])
    fresh_metrics, fresh = run(city, pol, rep=1)
    shared = PlanCache()
    run(city, pol, rep=0, cache=shared)
    run(city, policy(name="f", selection="fixed", every_k_days=1), rep=1, cache=shared)
    warm_metrics, warmed = run(city, pol, rep=1, cache=shared)
    assert warmed.cache_hits > 0  # the shared cache did answer some calls (perishable)
    assert warm_metrics == fresh_metrics
    assert [(c.problem.name, c.initial, c.effort) for c in warmed.record or []] == \
        [(c.problem.name, c.initial, c.effort) for c in fresh.record or []]


def test_a_problem_planned_before_keeps_its_plan() -> None:
    """Fixed daily collection plans at mean loads, so every day's problem of a group is the
    first day's: with warm starts from yesterday the solver runs once per group (2 calls
    in 5 days) and the metrics equal those of cold daily plans, whose repeats the plan
    cache answers with the same solution."""
    pol = policy(name="f", selection="fixed", every_k_days=1)
    warm_metrics, warm = run(warm_city(), pol)
    cold_metrics, _ = run(City.model_validate(city_data(routing={"partition": "none", "effort": 120})), pol)
    assert len(warm.record or []) == 2
    assert warm_metrics == cold_metrics


def test_warm_effort_out_of_range_names_the_key() -> None:
    """warm_effort is work like effort: 0 is refused with the key's name."""
    with pytest.raises(ValidationError, match="warm_effort"):
        Routing.model_validate({"warm_effort": 0})


def test_neighbourhood_setting_reaches_pyvrp_and_is_bounded() -> None:
    """routing.neighbours is the granular neighbourhood PyVRP's daily search uses (the short-run
    settings otherwise unchanged), and values below 2 are refused by key."""
    from simcity.garbage.planning import solver_options

    opts = solver_options(Routing.model_validate({"neighbours": 10}))
    default = solver_options(Routing.model_validate({}))
    assert getattr(opts, "num_neighbours") == 10 and getattr(default, "num_neighbours") == 20  # noqa: B009
    assert {k: v for k, v in vars(opts).items() if k != "num_neighbours"} == \
        {k: v for k, v in vars(default).items() if k != "num_neighbours"}
    with pytest.raises(ValidationError, match="neighbours"):
        Routing.model_validate({"neighbours": 1})
