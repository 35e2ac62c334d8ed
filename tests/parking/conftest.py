"""Builders of small parking cities shared by the parking tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from simcity.parking import City


def one_car_park_city(
    berths: int, per_hour: float, duration: dict[str, Any], *, gates: bool = False
) -> City:
    """One car park, one zone beside it, constant Poisson arrivals: an Erlang loss system
    (no choice: the only option is refused when full and the driver is lost at once)."""
    return City.model_validate(
        {
            "tariffs": {"flat": {"tiers": [{"rate_per_hour": 4.0}], "billing_minutes": 1.0}},
            "car_parks": [
                {
                    "id": "P",
                    "x": 0.0,
                    "y": 0.0,
                    "berths": berths,
                    "tariff": "flat",
                    "payment": "leave_first",
                    "entry_gates": 1 if gates else 0,
                }
            ],
            "zones": [{"id": "Z", "x": 0.0, "y": 0.0, "arrivals_per_day": 24.0 * per_hour}],
            "demand": {
                "purposes": [
                    {"name": "all", "share": 1.0, "duration": duration, "value_of_time_per_hour": 30.0}
                ]
            },
        }
    )


@pytest.fixture
def erlang_city() -> Callable[..., City]:
    """Factory of one-car-park loss systems (see :func:`one_car_park_city`)."""
    return one_car_park_city
