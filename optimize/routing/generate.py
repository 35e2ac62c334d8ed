"""Synthetic waste-collection instances (for tests, benchmarks and examples).

A square city with a depot in the middle, transfer stations near the edge and bins
scattered uniformly.  Distances are straight-line times a detour factor (metres), driving
times use a constant speed (seconds).  Bins hold residual waste or recycling (two
compartments); bins less than half full are optional and may be skipped at a penalty.
"""

from __future__ import annotations

import numpy as np

from optimize.routing.model import (
    Break,
    Facility,
    Problem,
    Stop,
    VehicleType,
    matrices_from_coordinates,
)

#: Default lunch: 30 minutes starting between 10:00 and 11:30.
LUNCH = Break(10 * 3600, 11 * 3600 + 1800, 1800)


def waste_instance(
    n_bins: int = 300,
    n_facilities: int = 2,
    n_trucks: int = 6,
    seed: int = 0,
    *,
    city_m: float = 12_000.0,
    speed_m_per_s: float = 7.0,
    shift: tuple[int, int] = (6 * 3600, 14 * 3600),
    lunch: Break | None = LUNCH,
    truck_capacity_kg: tuple[int, int] = (6000, 3000),
) -> Problem:
    """A waste-collection problem with transfer stations, shifts and a lunch break.

    Parameters
    ----------
    n_bins
        Number of bins (stops).
    n_facilities
        Number of transfer stations (unload 15 minutes each).
    n_trucks
        Trucks available (one vehicle type, two compartments).
    seed
        Seed of the instance's own random generator.
    city_m, speed_m_per_s
        Side of the square city and average driving speed.
    shift, lunch
        Shift window (seconds since midnight; 8 hours by default) and lunch break.
    truck_capacity_kg
        Capacity of the residual and recycling compartments.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_bins, n_facilities]))
    depot = np.array([[city_m / 2, city_m / 2]])
    angles = 2 * np.pi * (np.arange(n_facilities) / max(n_facilities, 1) + rng.uniform(0, 1))
    facs = city_m / 2 + 0.4 * city_m * np.column_stack([np.cos(angles), np.sin(angles)])
    bins = rng.uniform(0, city_m, size=(n_bins, 2))
    xy = np.vstack([depot, facs, bins])
    dist, dur = matrices_from_coordinates(xy, speed_m_per_s, detour=1.3)
    fill = rng.uniform(0.2, 1.0, size=n_bins)
    recycling = rng.uniform(size=n_bins) < 0.3
    weight = np.floor(fill * rng.choice([120.0, 240.0, 660.0], size=n_bins, p=[0.5, 0.35, 0.15]))
    stops = []
    for i in range(n_bins):
        w = int(weight[i])
        demand = (0, w) if recycling[i] else (w, 0)
        optional = fill[i] < 0.5
        stops.append(Stop(
            location=1 + n_facilities + i,
            demand=demand,
            service_time=int(rng.integers(45, 120)),
            required=not optional,
            penalty=20.0 if optional else 0.0,
            name=f"bin {i}",
        ))
    facilities = [Facility(1 + f, unload_time=900, name=f"transfer station {f}")
                  for f in range(n_facilities)]
    truck = VehicleType(
        capacity=truck_capacity_kg,
        count=n_trucks,
        start_depot=0,
        end_depot=0,
        fixed_cost=150.0,
        cost_per_km=1.2,
        cost_per_hour=45.0,
        shift=shift,
        break_=lunch,
        name="collection truck",
    )
    return Problem(dist, dur, stops, [truck], facilities, unload_before_return=True,
                   name=f"waste-{n_bins}-s{seed}", coordinates=xy)
