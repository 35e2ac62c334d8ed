"""SFpark as it was run: prices per facility and time band learnt over fresh simulated days by
fixed steps towards the occupancy band, then frozen and evaluated with common random numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from simcity.domain import RunContext
from simcity.parking import City, Policy
from simcity.parking.sim import learn_band_prices, simulate
from simcity.rng import Streams


def two_car_parks() -> City:
    """A small car park beside the zone (overfull) and a large one a block away (underused)."""
    return City.model_validate({
        "tariffs": {"t": {"tiers": [{"rate_per_hour": 4.0}], "billing_minutes": 30.0}},
        "car_parks": [
            {"id": "near", "x": 0.0, "y": 0.0, "berths": 8, "tariff": "t", "payment": "leave_first", "entry_gates": 0},
            {"id": "far", "x": 300.0, "y": 0.0, "berths": 200, "tariff": "t", "payment": "leave_first", "entry_gates": 0},
        ],
        "zones": [{"id": "Z", "x": 0.0, "y": 0.0, "arrivals_per_day": 300.0}],
        "demand": {
            "hourly_profile": [0] * 7 + [1] * 12 + [0] * 5,
            "purposes": [{"name": "all", "share": 1.0, "value_of_time_per_hour": 30.0,
                          "duration": {"kind": "lognormal", "mean_hours": 2.0, "cv": 1.0}}]},
    })


def sfpark(**kw: Any) -> Policy:
    rp = {"learning_days": 6, "period_days": 2, "bands": [[0, 7], [7, 19], [19, 24]], "step_per_hour": 0.5,
          "max_increase": 3.0, "max_decrease": 1.5, **kw}
    return Policy.model_validate({"name": "sfpark", "responsive_pricing": rp})


def test_learning_moves_each_band_towards_the_target_by_fixed_steps():
    """Six learning days in periods of two give three reviews of 0.5 each: the overfull near car
    park must end 3 x 0.5 = 1.5 dearer and the underused far one 1.5 cheaper, one price per band, on
    the step grid, within the bounds, and the same for the same stream."""
    city = two_car_parks()
    prices = learn_band_prices(city, sfpark(), RunContext(24.0, 0.0, Streams(1, 0), 0))
    assert prices.shape == (2, 24)
    near, far = prices
    # three periods of fixed 0.5 steps: the full car park dearer, the empty one cheaper
    assert near[9] == pytest.approx(1.5) and far[9] == pytest.approx(-1.5)
    # one price per band: constant within a band
    assert len(set(near[7:19])) == 1 and len(set(near[19:])) == 1
    # steps are multiples of step_per_hour and within the bounds
    assert np.allclose(prices / 0.5, np.round(prices / 0.5))
    assert prices.max() <= 3.0 and prices.min() >= -1.5
    # reproducible, and a different replication learns on different days
    assert np.array_equal(prices, learn_band_prices(city, sfpark(), RunContext(24.0, 0.0, Streams(1, 0), 0)))


def test_prices_are_frozen_and_evaluated_on_the_days_every_policy_sees():
    """The evaluation days are the baseline's (same arrivals in the trace), the prices learnt
    separately are the ones in force on both days, and their purpose shows: more sessions in the far
    car park and none gained in the full one."""
    city = two_car_parks()
    pol = sfpark()
    base = simulate(city, Policy(name="base"), RunContext(48.0, 0.0, Streams(2, 3), 3), trace=True)
    run = simulate(city, pol, RunContext(48.0, 0.0, Streams(2, 3), 3), trace=True)
    assert base.trace is not None and run.trace is not None
    # common random numbers: the same drivers arrive at the same times
    arrive = [(i, t) for k, i, t, _ in base.trace if k == "arrive"]
    assert arrive == [(i, t) for k, i, t, _ in run.trace if k == "arrive"]
    # the learnt prices are in force all day long, the same on both days (frozen)
    learnt = learn_band_prices(city, pol, RunContext(48.0, 0.0, Streams(2, 3), 3))
    assert np.allclose(run.hour_shift[:, :24], learnt) and np.allclose(run.hour_shift[:, 24:], learnt)
    # ... and they did what they are for: drivers moved from the full car park to the empty one
    assert run.sessions[1] > base.sessions[1]
    assert run.sessions[0] <= base.sessions[0]


def test_without_a_learning_phase_prices_follow_the_within_day_reviews():
    """With hourly reviews and no learning phase, the near car park's price must change within the
    day rather than stay at one value."""
    city = two_car_parks()
    pol = Policy.model_validate({"name": "p", "responsive_pricing": {"period_hours": 1.0, "step_per_hour": 0.5}})
    run = simulate(city, pol, RunContext(24.0, 0.0, Streams(2, 0), 0))
    assert len(set(run.hour_shift[0, 7:19].tolist())) > 1  # moves during the day
