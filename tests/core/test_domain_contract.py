"""Every domain keeps the contract the runner relies on (simcity.testing.check_domain), and
the check itself catches each way of breaking it (planted faults in the toy domain)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simcity
from simcity import domains
from simcity.domain import RunContext, RunOutput
from simcity.testing import check_domain
from tests.toydomain import ToyCity, ToyDomain, ToyPolicy

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

#: (domain, scenario, policies checked, horizon, warm-up): small enough for seconds a run
CASES = [
    ("parking", "parking_liangxi.toml", 2, 8.0, 2.0),
    ("garbage", "garbage_quick.toml", 2, 48.0, 24.0),
    ("bikes", "bikes_gusu_oldcity.toml", 2, 8.0, 2.0),
]


@pytest.mark.parametrize(("name", "scenario", "n_policies", "horizon", "warmup"), CASES,
                         ids=[c[0] for c in CASES])
def test_each_city_domain_keeps_the_contract(name: str, scenario: str, n_policies: int,
                                             horizon: float, warmup: float) -> None:
    """Each shipped city domain, on its shipped scenario cut to a short horizon and two policies,
    passes every check of check_domain (declared metrics reported, same seed same output, streams
    independent of the policy, pickle round trip, no global random state): an empty problem list."""
    sc = simcity.load_scenario(SCENARIOS / scenario)
    assert sc.model == name
    city: Any = sc.city  # type: ignore[attr-defined]  # added by the domain's scenario class
    problems = check_domain(domains.get(name), city, sc.policy_list[:n_policies],
                            horizon_hours=horizon, warmup_hours=warmup, seed=sc.seed)
    assert problems == []


CITY = ToyCity(arrival_rate=4.0, mean_service_h=0.5)
POLICIES = [ToyPolicy(name="one", servers=1), ToyPolicy(name="two", servers=2)]


def test_the_toy_domain_keeps_the_contract() -> None:
    """The toy domain is the control for the planted-fault test below: unmodified it passes, so each
    finding there is caused by its fault alone."""
    assert check_domain(ToyDomain(), CITY, POLICIES, horizon_hours=24.0) == []


class GlobalRandom(ToyDomain):
    """Draws a number from NumPy's global generator besides its streams."""

    def run(self, city: Any, policy: Any, ctx: RunContext) -> RunOutput:
        np.random.random()  # noqa: NPY002 - the planted fault
        return super().run(city, policy, ctx)


class KeyedByPolicy(ToyDomain):
    """Names its arrival stream after the policy: policies no longer share arrivals."""

    def run(self, city: Any, policy: Any, ctx: RunContext) -> RunOutput:
        ctx.streams[f"arrivals-{policy.name}"].random()
        return super().run(city, policy, ctx)


class Undeclared(ToyDomain):
    """Reports a metric it does not declare."""

    def run(self, city: Any, policy: Any, ctx: RunContext) -> RunOutput:
        out = super().run(city, policy, ctx)
        out.metrics["extra"] = 1.0
        return out


class Unseeded(ToyDomain):
    """Ignores its streams: a fresh entropy-seeded generator each run."""

    def run(self, city: Any, policy: Any, ctx: RunContext) -> RunOutput:
        out = super().run(city, policy, ctx)
        out.metrics["served"] += float(np.random.default_rng().integers(1, 10**9))
        return out


@pytest.mark.parametrize(("domain", "finding"), [
    (GlobalRandom(), "NumPy's global random state"),
    (KeyedByPolicy(), "named after the policy"),
    (Undeclared(), "inconsistently with its declaration"),
    (Unseeded(), "same seed and replication gave different output"),
], ids=["global-random", "keyed-by-policy", "undeclared-metric", "unseeded"])
def test_the_check_finds_each_planted_fault(domain: ToyDomain, finding: str) -> None:
    """Each subclass breaks exactly one rule of the contract (global NumPy draws, a stream named
    after the policy, an undeclared metric, an entropy-seeded generator); the check must report
    that rule by name."""
    problems = check_domain(domain, CITY, POLICIES, horizon_hours=24.0)
    assert any(finding in p for p in problems), problems
