"""The fixed geography of a city setting: drop points, bins, stations, depots as arrays.

Built once per run from :class:`~simcity.garbage.config.City`.  Point positions and bin sizes
come from the city's ``layout_seed`` (not from the replication streams), so every policy and
every replication sees the same district; only waste generation and travel vary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from simcity.garbage.config import Category, City

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Layout:
    """Arrays describing the district.

    Locations are numbered points first (``0..n-1``), then stations, then depots; ``xy``
    holds their coordinates in km.  Per-category arrays have shape ``(C, n)`` with the
    categories in the order of ``city.waste``.
    """

    categories: tuple[Category, ...]
    n_points: int
    xy: FloatArray
    zone_of: NDArray[np.int64]
    #: mean generation per point per day (t), 0 where the point has no bin of the category
    mean: FloatArray
    #: bin capacity (t), 0 where there is no bin
    cap: FloatArray
    has_bin: BoolArray
    station_loc: tuple[int, ...]
    depot_loc: tuple[int, ...]
    detour: float

    def km(self, a: int, b: int) -> float:
        """Road distance between locations ``a`` and ``b`` (km)."""
        xa, ya = self.xy[a]
        xb, yb = self.xy[b]
        return self.detour * math.hypot(xa - xb, ya - yb)


def build_layout(city: City) -> Layout:
    """Place the drop points and size their bins (deterministic in ``city.layout_seed``)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(city.layout_seed)))
    xs: list[FloatArray] = []
    zone_of: list[int] = []
    factor: list[float] = []
    if city.points is not None:
        # the planner's own points: positions given, grouped by zone in zone order
        index = {z.id: k for k, z in enumerate(city.zones)}
        for z, zone in enumerate(city.zones):
            mine = [p for p in city.points if index[p.zone] == z]
            xs.append(np.array([[p.x_km, p.y_km] for p in mine], dtype=float).reshape(-1, 2))
            zone_of += [z] * len(mine)
            factor += [zone.generation_factor * p.generation_factor for p in mine]
    else:
        for z, zone in enumerate(city.zones):
            # uniform in a disc: radius ~ sqrt(U) so density is even
            r = zone.radius_km * np.sqrt(rng.random(zone.points))
            a = 2 * np.pi * rng.random(zone.points)
            xs.append(np.column_stack([zone.x_km + r * np.cos(a), zone.y_km + r * np.sin(a)]))
            zone_of += [z] * zone.points
            factor += [zone.generation_factor] * zone.points
    pts = np.vstack(xs)
    n = pts.shape[0]
    C = len(city.waste)
    mean = np.zeros((C, n))
    cap = np.zeros((C, n))
    has = np.zeros((C, n), dtype=bool)
    f = np.asarray(factor)
    for c, w in enumerate(city.waste):
        has_c: BoolArray = np.ones(n, dtype=bool)
        if w.share_of_points < 1:
            has_c = np.asarray(rng.random(n) < w.share_of_points)
        if not has_c.any():
            has_c[int(rng.integers(n))] = True
        # lognormal with mean 1 and the requested coefficient of variation
        s2 = math.log1p(w.point_cv**2)
        weight = f * rng.lognormal(-s2 / 2, math.sqrt(s2), n) * has_c
        mean[c] = w.tonnes_per_day * weight / weight.sum()
        cap[c] = np.where(has_c, np.maximum(w.capacity_days * mean[c], w.min_capacity_t), 0.0)
        has[c] = has_c
    st = np.array([[s.x_km, s.y_km] for s in city.stations])
    dp = np.array([[d.x_km, d.y_km] for d in city.depots])
    xy = np.vstack([pts, st, dp])
    S = len(city.stations)
    return Layout(
        categories=tuple(w.category for w in city.waste),
        n_points=n,
        xy=xy,
        zone_of=np.asarray(zone_of, dtype=np.int64),
        mean=mean,
        cap=cap,
        has_bin=has,
        station_loc=tuple(range(n, n + S)),
        depot_loc=tuple(range(n + S, n + S + len(city.depots))),
        detour=city.roads.detour,
    )
