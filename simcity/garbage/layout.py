"""The fixed geography of a city setting: drop points, bins, stations, depots as arrays.

Built once per run from :class:`~simcity.garbage.config.City`.  Point positions and bin sizes
come from the city's ``layout_seed`` (not from the replication streams), so every policy and
every replication sees the same district; only waste generation and travel vary.

Travel between locations is a straight line times ``roads.detour`` at ``roads.speed_kmh``, or,
with ``[city.roads] osm_file``, the shortest paths of the street network by period of the day
(:attr:`Layout.road_km`, :attr:`Layout.road_h`): a trip takes the travel time of the hour it
starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from simcity.garbage.config import Category, City
from simcity.garbage.places import layout_rng, place_points, street_places
from simcity.roads import RoadMatrices

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
    #: the street network's matrices between the locations (``None``: straight lines)
    roads: RoadMatrices | None = None
    #: ``roads`` in km and hours, ``(periods, L, L)``
    road_km: FloatArray | None = None
    road_h: FloatArray | None = None

    def km(self, a: int, b: int, hour: float = 0.0) -> float:
        """Road distance between locations ``a`` and ``b`` (km), for a trip starting at clock
        time ``hour`` (only the street network depends on it)."""
        if self.road_km is None or self.roads is None:
            xa, ya = self.xy[a]
            xb, yb = self.xy[b]
            return self.detour * math.hypot(xa - xb, ya - yb)
        return float(self.road_km[self.roads.period(hour), a, b])

    def drive_h(self, a: int, b: int, hour: float, speed_kmh: float) -> float:
        """Driving time from ``a`` to ``b`` (h) starting at clock time ``hour``: the network's,
        or the straight-line distance at ``speed_kmh``."""
        if self.road_h is None or self.roads is None:
            return self.km(a, b) / speed_kmh
        return float(self.road_h[self.roads.period(hour), a, b])


def build_layout(city: City) -> Layout:
    """Place the drop points and size their bins (deterministic in ``city.layout_seed``)."""
    rng = layout_rng(city)
    pts, zone_of, factor, _ = place_points(city, rng)
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
    roads = road_km = road_h = None
    if city.roads.enabled:
        assert city.origin is not None  # the City validator checked it
        roads = city.roads.place_matrices(street_places(city), city.origin)
        road_km, road_h = roads.distance_m / 1000.0, roads.duration_s / 3600.0
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
        roads=roads,
        road_km=road_km,
        road_h=road_h,
    )
