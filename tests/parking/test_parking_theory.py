"""Agreement with queueing theory within confidence intervals.

One car park with ``c`` berths, Poisson arrivals at rate ``lam`` and no alternative option is an
Erlang loss system M/G/c/c: the share of drivers refused is the Erlang-B formula
``B(c, a)`` with offered load ``a = lam * E[stay]``, whatever the distribution of the stay
(insensitivity), and the mean number of cars parked is ``L = lam * (1 - B) * E[stay]``
(Little's law).  By PASTA the share of time with every berth taken is B too, so
``availability = 1 - B``.  Each check uses independent replications and a 99% t-interval.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simcity.domain import RunContext
from simcity.parking import DOMAIN, Policy
from simcity.rng import Streams

BERTHS = 10
LAM = 8.0  # arrivals per hour
MEAN_STAY = 1.0  # hours
HORIZON, WARMUP = 400.0, 10.0
REPS = 40


def erlang_b(c: int, a: float) -> float:
    """Erlang loss probability by the stable recursion B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def ci99(x: list[float]) -> tuple[float, float]:
    arr = np.asarray(x, dtype=float)
    half = stats.t.ppf(0.995, len(arr) - 1) * arr.std(ddof=1) / math.sqrt(len(arr))
    return float(arr.mean() - half), float(arr.mean() + half)


def _runs(city: object, seed: int) -> list[dict[str, float]]:
    pol = Policy(name="base")
    return [
        DOMAIN.run(city, pol, RunContext(HORIZON, WARMUP, Streams(seed, r), r)).metrics
        for r in range(REPS)
    ]


DURATIONS = {
    "exponential": {"kind": "exponential", "mean_hours": MEAN_STAY},
    "lognormal": {"kind": "lognormal", "mean_hours": MEAN_STAY, "cv": 2.0},
}


@pytest.mark.parametrize("dist", sorted(DURATIONS))
def test_blocking_matches_erlang_b_and_littles_law(erlang_city, dist):
    """One car park of 10 berths, 8 arrivals an hour, mean stay 1 h is M/G/10/10: the Erlang-B
    formula (computed here by its own recursion, no model code) must lie in the 99 % interval of the
    lost share and of the time full (PASTA), for exponential and lognormal stays alike
    (insensitivity); Little's law and L = a (1 - B) must hold too."""
    city = erlang_city(BERTHS, LAM, DURATIONS[dist])
    runs = _runs(city, seed=7 if dist == "exponential" else 11)
    a = LAM * MEAN_STAY
    b_theory = erlang_b(BERTHS, a)
    lo, hi = ci99([m["lost_share"] for m in runs])
    assert lo <= b_theory <= hi, f"{dist}: Erlang-B {b_theory:.4f} outside 99% CI [{lo:.4f}, {hi:.4f}]"
    # the interval is informative: narrow enough to tell a 10% relative error apart
    assert hi - lo < 0.2 * b_theory
    # time congestion equals call congestion (Poisson arrivals see time averages): the share of
    # time with every berth taken is B as well, so availability is 1 - B
    lo, hi = ci99([1.0 - m["availability"] for m in runs])
    assert lo <= b_theory <= hi, f"{dist}: time full {b_theory:.4f} outside 99% CI [{lo:.4f}, {hi:.4f}]"

    # Little's law on each replication: time-average cars parked vs accepted rate x mean stay
    span = HORIZON - WARMUP
    L = [m["occupancy"] * BERTHS for m in runs]
    lam_w = [m["sessions"] / span * m["mean_stay_h"] for m in runs]
    lo, hi = ci99([x - y for x, y in zip(L, lam_w, strict=True)])
    assert lo <= 0.0 <= hi, f"{dist}: L - lam_eff W has 99% CI [{lo:.4f}, {hi:.4f}]"
    # ... and the level agrees with theory: L = a (1 - B)
    lo, hi = ci99(L)
    assert lo <= a * (1 - b_theory) <= hi


def test_erlang_b_reference_values():
    """The recursion used as the reference must give the textbook values B(1, 1) = 1/2, B(2, 1) =
    1/5 and B(10, 8) = 0.1217 before it may judge the model."""
    # textbook values: B(1, 1) = 1/2; B(2, 1) = 1/5; B(10, 8) ~ 0.1217
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    assert erlang_b(10, 8.0) == pytest.approx(0.12166, abs=1e-4)


def test_lost_share_rises_with_load(erlang_city):
    """At twice the load the simulated blocking must match the much larger Erlang-B value and lie
    clearly above B at the base load, so the interval test above cannot pass because every interval
    is wide."""
    # a sanity check that the CI test above is not passing vacuously: at twice the load the
    # simulated blocking must move towards the (much larger) Erlang-B value
    city = erlang_city(BERTHS, 2 * LAM, DURATIONS["exponential"])
    pol = Policy(name="base")
    runs = [DOMAIN.run(city, pol, RunContext(100.0, 5.0, Streams(3, r), r)).metrics for r in range(8)]
    lo, hi = ci99([m["lost_share"] for m in runs])
    assert lo <= erlang_b(BERTHS, 2 * LAM) <= hi
    assert lo > erlang_b(BERTHS, LAM)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("berths", "lam", "duration"),
    [
        (50, 45.0, {"kind": "fixed", "mean_hours": 1.0}),
        (3, 2.0, {"kind": "lognormal", "mean_hours": 1.0, "cv": 3.0}),
        (20, 30.0, {"kind": "exponential", "mean_hours": 0.5}),
    ],
)
def test_erlang_b_other_loads_and_distributions(erlang_city, berths, lam, duration):
    """Erlang-B must hold for each case's own load and stay distribution (near saturation with fixed
    stays, a tiny lot with very variable stays, high turnover): insensitivity says the stay's shape
    must not matter."""
    # more of the same theory check: a large lot near saturation with deterministic stays, a
    # tiny lot with very variable stays, a short-stay lot at high turnover
    city = erlang_city(berths, lam, duration)
    pol = Policy(name="base")
    runs = [DOMAIN.run(city, pol, RunContext(600.0, 20.0, Streams(23, r), r)).metrics for r in range(30)]
    lo, hi = ci99([m["lost_share"] for m in runs])
    b = erlang_b(berths, lam * duration["mean_hours"])
    assert lo <= b <= hi, f"Erlang-B {b:.4f} outside 99% CI [{lo:.4f}, {hi:.4f}]"
