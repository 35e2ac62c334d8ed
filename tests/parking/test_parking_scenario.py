"""The shipped Liangxi-like scenario: it loads, hits its calibration target and its policies move
the metrics they act on in the expected direction (paired, common random numbers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simcity
from simcity.domain import RunContext
from simcity.parking import DOMAIN, check_policy
from simcity.rng import Streams

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "parking_liangxi.toml"
#: [003]: 62.87% for off-street public car parks, the calibration target of occupancy_day
TARGET = 0.6287
REPS = 2


@pytest.fixture(scope="module")
def liangxi():
    sc = simcity.load_scenario(SCENARIO)
    runs: dict[str, list[dict[str, float]]] = {}
    for pol in sc.policy_list:
        runs[pol.name] = [
            DOMAIN.run(sc.city, pol, RunContext(sc.horizon_hours, sc.warmup_hours, Streams(sc.seed, r), r)).metrics
            for r in range(REPS)
        ]
    return sc, runs


def test_scenario_figures_from_the_reports(liangxi):
    """The scenario file must carry the figures of the cited reports, checked against the numbers as
    the reports state them: 29 public leave-first car parks, 800 shared berths and 389 new berths
    [003], 41 tiered kerbside berths [004], and a year target of 1000 new berths, so 611 to add."""
    sc, _ = liangxi
    city = sc.city
    public = [c for c in city.car_parks if not c.shared]
    shared = [c for c in city.car_parks if c.shared]
    assert len(public) == 29 and all(c.payment == "leave_first" for c in public)  # [003]
    assert sum(c.berths for c in shared) == 800  # [003]
    assert sum(c.berths for c in public if c.id.startswith("N")) == 389  # [003] new berths
    tiered = [k for k in city.kerb_segments if len(city.tariffs[k.tariff].tiers) > 1]
    assert sum(k.berths for k in tiered) == 41  # [004]
    assert len(sc.policy_list) >= 4 and sc.replications == 20
    for pol in sc.policy_list:
        assert check_policy(city, pol) == []
    target = next(p for p in sc.policy_list if p.name == "year_target_berths")
    assert sum(target.add_berths.values()) == 1000 - 389  # the year's target [003]


def test_baseline_is_calibrated_to_reported_occupancy(liangxi):
    """The reported 62.87 % daytime occupancy of public car parks [003] is an outside figure, not a
    model output; two replications of the baseline must come within 3 points of it."""
    _, runs = liangxi
    occ = np.mean([m["occupancy_day"] for m in runs["reported_2023h1"]])
    assert abs(occ - TARGET) < 0.03, f"daytime car-park occupancy {occ:.3f} vs target {TARGET}"


def _paired(runs, metric: str, policy: str) -> float:
    """Mean paired difference policy - baseline."""
    return float(np.mean([p[metric] - b[metric] for p, b in zip(runs[policy], runs["reported_2023h1"], strict=True)]))


def test_policies_act_where_they_should(liangxi):
    """Each policy's mechanism fixes the sign of its paired effect: pay booths make an exit queue
    where leave-first has none, closing shared berths loses parkers, patrols cut pavement parking,
    more berths cut lost drivers and cruising, responsive pricing changes revenue."""
    _, runs = liangxi
    base = runs["reported_2023h1"]
    # leave-first-pay-later: no exit queue; pay booths make one
    assert all(m["exit_wait_s"] == 0.0 for m in base)
    assert all(m["exit_wait_s"] > 0.0 for m in runs["pay_at_exit"])
    # closing the 800 shared berths loses night-time parkers: fewer park, more stay away
    assert _paired(runs, "sessions", "no_shared_berths") < 0
    assert _paired(runs, "drivers_not_come", "no_shared_berths") > 0
    # more frequent pavement patrols: fewer drivers park on the pavement
    assert _paired(runs, "illegal_per_day", "pavement_enforcement") < 0
    # more berths in the busiest car parks: fewer drivers lost, less cruising
    assert _paired(runs, "drivers_lost", "year_target_berths") < 0
    assert _paired(runs, "search_min", "year_target_berths") < 0
    # a flat kerbside tariff makes long kerbside stays cheaper: more overstays ticketed
    assert _paired(runs, "tickets", "flat_kerb") >= 0
    # responsive pricing moves rates (revenue changes) and reports the rate shift
    assert _paired(runs, "revenue", "responsive_pricing") != 0


def test_common_random_numbers_make_paired_differences_tight(liangxi):
    """Every policy sees the same drivers, so the variance of paired differences in sessions must be
    far below the unpaired variance (measured 30-40 times below; a third is asserted to hold with
    two replications)."""
    # every policy sees the same drivers, so the replication-to-replication noise cancels in a
    # paired difference: its variance is far below that of an unpaired comparison.  (Measured
    # with 6 replications: drivers_lost 6-10x, sessions 30-40x; with REPS = 2 each variance has
    # one degree of freedom, so only the large margin of sessions makes a reliable test.)
    _, runs = liangxi
    base = [m["sessions"] for m in runs["reported_2023h1"]]
    for policy in ("no_shared_berths", "year_target_berths"):
        alt = [m["sessions"] for m in runs[policy]]
        paired = np.var(np.subtract(alt, base), ddof=1)
        unpaired = np.var(alt, ddof=1) + np.var(base, ddof=1)
        assert paired < unpaired / 3, (policy, paired, unpaired)
