"""Agreement with theory: the birth-death law of one station, and the dissatisfaction function.

The test city is one station A next to a big reservoir station R that never runs empty or
full.  Rentals at A go to R and rentals at R go to A, so A sees Poisson rental requests and
Poisson returns (delayed by a one-minute ride), and no rider walks (max walk 0): A is exactly
the birth-death chain of Raviv & Kolka, with failures counted by the simulation.
"""

from __future__ import annotations

import numpy as np
import pytest

from simcity.bikes import City, Policy, simulate
from simcity.bikes.dissatisfaction import (
    FUNCTION_CACHE,
    allocate,
    cached_dissatisfaction,
    dissatisfaction,
    dissatisfaction_expm,
    poisson_terms,
)
from simcity.domain import RunContext
from simcity.rng import Streams


def _city(cap: int, stock: int, lam: list[float], mu: list[float]) -> City:
    return City.model_validate({
        "stations": [
            {"id": "A", "x": 0.0, "y": 0.0, "capacity": cap, "bikes": stock},
            {"id": "R", "x": 150.0, "y": 0.0, "capacity": 1000, "bikes": 500},
        ],
        "demand": {"od": [
            {"origin": "A", "destination": "R", "per_hour": lam},
            {"origin": "R", "destination": "A", "per_hour": mu},
        ]},
        "riders": {"max_walk_m": 0.0, "speed_kmh": 12.0},
    })


def test_one_station_occupancy_matches_birth_death_stationary_law() -> None:
    """Station A (8 docks, rentals 3/h, returns 2/h) is a birth-death chain whose stationary law is
    pi_n proportional to (mu / lambda) ** n. The simulated share of time at each level, over
    12 replications of 280 measured hours, lies within 4.5 standard errors (+0.001) of pi_n
    at all 9 levels (9 simultaneous comparisons at a tiny false-alarm rate), and the law with
    the rates swapped lies more than 10 standard errors away at some level, so the test can
    fail."""
    cap, lam, mu = 8, 3.0, 2.0
    city = _city(cap, 4, [lam], [mu])
    # pi_n proportional to (mu/lam)^n: returns push the stock up, rentals pull it down
    rho = mu / lam
    pi = rho ** np.arange(cap + 1)
    pi /= pi.sum()
    shares = []
    for rep in range(12):
        ctx = RunContext(horizon_hours=300.0, warmup_hours=20.0, streams=Streams(7, rep), replication=rep)
        lv = simulate(city, Policy.model_validate(dict(name="none")), ctx).result.level_time[0]
        shares.append(lv / lv.sum())
    s = np.array(shares)
    mean = s.mean(axis=0)
    se = s.std(axis=0, ddof=1) / np.sqrt(len(s))
    # 4.5 standard errors per level: 9 simultaneous comparisons at a tiny false-alarm rate
    assert np.all(np.abs(mean - pi) <= 4.5 * se + 1e-3), (mean, pi, se)
    # and the test has power: the law with the rates swapped is far outside the band
    wrong = (1 / rho) ** np.arange(cap + 1)
    wrong /= wrong.sum()
    assert np.any(np.abs(mean - wrong) > 10 * se)


def test_uniformisation_agrees_with_matrix_exponential() -> None:
    """The dissatisfaction function by uniformisation (the fast path) equals the one from the matrix
    exponential of the birth-death generator (the direct definition) within 1e-8 relative, on
    6 random stations with 24 hourly rates including zero rates, and is infinite for every
    stock above capacity."""
    rng = np.random.default_rng(5)
    n = 6
    lam = rng.random((24, n)) * 4.0
    mu = rng.random((24, n)) * 4.0
    lam[3, 0] = 0.0  # zero rates are allowed
    mu[3, 0] = 0.0
    cap = rng.integers(1, 25, n)
    F = dissatisfaction(lam, mu, cap, 5.5, 27.25, return_weight=1.7)
    for i in range(n):
        ref = dissatisfaction_expm(lam[:, i], mu[:, i], int(cap[i]), 5.5, 27.25, return_weight=1.7)
        assert np.allclose(F[i, : cap[i] + 1], ref, rtol=1e-8, atol=1e-9)
        assert np.all(np.isinf(F[i, cap[i] + 1:]))


def _city_rates(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hourly rates of ``n`` stations spread over several rate blocks (peaks ~0.5 to ~60 an
    hour, some hours without demand), capacities 0..80 (a few dockless sites with none)."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.2, 25.0, n)
    lam = rng.gamma(1.0, 1.0, (24, n)) * scale * (rng.random((24, n)) > 0.05)
    mu = rng.gamma(1.0, 1.0, (24, n)) * scale * (rng.random((24, n)) > 0.05)
    cap = rng.integers(0, 81, n)
    cap[:3] = 0
    return lam, mu, cap


def test_city_scale_blocks_agree_with_matrix_exponential() -> None:
    """At city scale the computation runs per rate block and, within a block, per capacity group
    (600 stations: several blocks, the larger ones split in groups).  Each sampled station - one of every
    block, the dockless ones included - must still equal its matrix-exponential reference
    within 1e-8 relative, so the grouping keeps every station in its own chain."""
    lam, mu, cap = _city_rates(11, 600)
    F = dissatisfaction(lam, mu, cap, 6.0, 24.0, return_weight=1.3)
    peak = np.max(lam + mu, axis=0)
    block = np.floor(np.log(peak + 1.0) / np.log(1.5)).astype(int)
    assert len(np.unique(block)) >= 5 and np.bincount(block).max() >= 96  # grouped (_capacity_groups)
    sample = sorted({0, 1, *(int(np.flatnonzero(block == b)[-1]) for b in np.unique(block))})
    for i in sample:
        ref = dissatisfaction_expm(lam[:, i], mu[:, i], int(cap[i]), 6.0, 24.0, return_weight=1.3)
        assert np.allclose(F[i, : cap[i] + 1], ref, rtol=1e-8, atol=1e-9), i


def test_given_terms_make_a_station_independent_of_the_others() -> None:
    """With the Poisson terms of a whole city (poisson_terms), any subset of its stations, in any
    order and with other stations' capacities changed, gives each station the very row (to the
    bit) it has in the city-wide call: what lets a cost oracle be asked in batches."""
    lam, mu, cap = _city_rates(12, 300)
    terms = poisson_terms(lam, mu, 7.5, 10.25)
    whole = dissatisfaction(lam, mu, cap, 7.5, 10.25, 2.0)
    rng = np.random.default_rng(1)
    for _ in range(4):
        pick = rng.permutation(300)[: int(rng.integers(1, 120))]
        sub = dissatisfaction(lam[:, pick], mu[:, pick], cap[pick], 7.5, 10.25, 2.0, terms=terms)
        for row, i in enumerate(pick.tolist()):
            assert sub[row, : cap[i] + 1].tobytes() == whole[i, : cap[i] + 1].tobytes()


def test_function_cache_hit_is_the_computed_function() -> None:
    """A hit of the process-wide function cache returns exactly (to the bit) what a new
    computation gives, read-only so no caller can change what later runs read; a change of the
    capacities, rates or window is a different key (a different function)."""
    lam, mu, cap = _city_rates(13, 150)
    FUNCTION_CACHE.clear()
    first = cached_dissatisfaction(lam, mu, cap, 8.0, 11.0, 2.0)
    assert not first.flags.writeable
    again = cached_dissatisfaction(lam.copy(), mu.copy(), cap.copy(), 8.0, 11.0, 2.0)
    assert FUNCTION_CACHE.hits == 1 and FUNCTION_CACHE.misses == 1
    assert again.tobytes() == dissatisfaction(lam, mu, cap, 8.0, 11.0, 2.0).tobytes()
    with pytest.raises(ValueError):
        again[0, 0] = 1.0
    cap2 = cap.copy()
    cap2[5] += 1
    lam2 = lam.copy()
    lam2[9, 7] += 0.5
    for args in ((lam, mu, cap2, 8.0, 11.0), (lam2, mu, cap, 8.0, 11.0), (lam, mu, cap, 8.0, 11.5)):
        assert cached_dissatisfaction(*args, 2.0).tobytes() == dissatisfaction(*args, 2.0).tobytes()
    assert FUNCTION_CACHE.hits == 1 and FUNCTION_CACHE.misses == 4
    FUNCTION_CACHE.clear()


@pytest.mark.parametrize("start", [0, 3, 6])
def test_dissatisfaction_agrees_with_simulated_shortages(start: int) -> None:
    """For a 6-dock station with a morning rental peak and an evening return peak, the day's
    expected failures from the dissatisfaction function, starting from 0, 3 or 6 bikes, equal
    the mean failed rentals + returns of 150 simulated days within 4 standard errors + 0.05:
    the function is the simulation's own expectation."""
    cap = 6
    hours = np.arange(24)
    lam = list(1.0 + 2.0 * ((hours >= 7) & (hours < 10)))  # morning rental peak
    mu = list(1.0 + 2.5 * ((hours >= 16) & (hours < 19)))  # evening return peak
    city = _city(cap, start, lam, mu)
    F = dissatisfaction(np.tile(np.array(lam)[:, None], (1, 1)), np.tile(np.array(mu)[:, None], (1, 1)),
                        np.array([cap]), 0.0, 24.0)[0, start]
    fails = []
    for rep in range(150):
        ctx = RunContext(horizon_hours=24.0, warmup_hours=0.0, streams=Streams(11, rep), replication=rep)
        c = simulate(city, Policy.model_validate(dict(name="none")), ctx).result.counts
        fails.append(c.failed_rentals + c.failed_returns)
    f = np.array(fails, dtype=float)
    se = f.std(ddof=1) / np.sqrt(len(f))
    assert abs(f.mean() - F) <= 4.0 * se + 0.05, (f.mean(), F, se)


def test_allocation_minimises_total_dissatisfaction() -> None:
    """allocate() places 0, 3, 7 and 12 bikes on three stations at the minimum total
    dissatisfaction, checked against every feasible split; given the sum of each station's
    own best stock it returns exactly those stocks."""
    rng = np.random.default_rng(2)
    lam = rng.random((24, 3)) * 3.0
    mu = rng.random((24, 3)) * 3.0
    cap = np.array([4, 5, 3])
    F = dissatisfaction(lam, mu, cap, 6.0, 24.0)
    for bikes in (0, 3, 7, 12):
        got = allocate(F, cap, bikes)
        assert got.sum() == bikes and np.all(got <= cap)
        best = min(
            F[0, a] + F[1, b] + F[2, bikes - a - b]
            for a in range(cap[0] + 1) for b in range(cap[1] + 1) if 0 <= bikes - a - b <= cap[2]
        )
        assert F[np.arange(3), got].sum() == pytest.approx(best, rel=1e-9)
    argmin = np.array([np.argmin(F[i, : cap[i] + 1]) for i in range(3)])
    assert np.array_equal(allocate(F, cap, int(argmin.sum())), argmin)
