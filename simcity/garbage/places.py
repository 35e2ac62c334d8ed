"""Where the district's places are: drop points (placed at random in their zones, or given),
transfer stations and depots, in km.

Shared by :func:`simcity.garbage.layout.build_layout` (which goes on to size the bins from the
same random generator) and by the ``City`` validator, which puts the places on the street
network when ``[city.roads] osm_file`` is given (:meth:`simcity.roads.StreetNetwork.check_places`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from simcity.roads import Place

FloatArray = NDArray[np.float64]


class City(Protocol):
    """What placing needs of a :class:`simcity.garbage.config.City` (which calls these
    functions from its validator, so this module cannot import it)."""

    @property
    def layout_seed(self) -> int: ...
    @property
    def zones(self) -> Sequence[Any]: ...
    @property
    def points(self) -> Sequence[Any] | None: ...
    @property
    def stations(self) -> Sequence[Any]: ...
    @property
    def depots(self) -> Sequence[Any]: ...


def layout_rng(city: City) -> np.random.Generator:
    """The generator of the layout (positions first, then bins), from ``city.layout_seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(city.layout_seed)))


def place_points(city: City, rng: np.random.Generator) -> tuple[FloatArray, list[int], list[float], list[int]]:
    """Drop points grouped by zone in zone order: positions (km, ``(n, 2)``), zone index,
    generation factor, and the index in ``city.points`` of each (-1: placed at random).

    Points given by the planner keep their positions; otherwise each zone's points are drawn
    uniformly in its disc from ``rng`` (consuming it exactly as the layout always has).
    """
    xs: list[FloatArray] = []
    zone_of: list[int] = []
    factor: list[float] = []
    source: list[int] = []
    if city.points is not None:
        # the planner's own points: positions given, grouped by zone in zone order
        index = {z.id: k for k, z in enumerate(city.zones)}
        for z, zone in enumerate(city.zones):
            mine = [(k, p) for k, p in enumerate(city.points) if index[p.zone] == z]
            xs.append(np.array([[p.x_km, p.y_km] for _, p in mine], dtype=float).reshape(-1, 2))
            zone_of += [z] * len(mine)
            factor += [zone.generation_factor * p.generation_factor for _, p in mine]
            source += [k for k, _ in mine]
    else:
        for z, zone in enumerate(city.zones):
            # uniform in a disc: radius ~ sqrt(U) so density is even
            r = zone.radius_km * np.sqrt(rng.random(zone.points))
            a = 2 * np.pi * rng.random(zone.points)
            xs.append(np.column_stack([zone.x_km + r * np.cos(a), zone.y_km + r * np.sin(a)]))
            zone_of += [z] * zone.points
            factor += [zone.generation_factor] * zone.points
            source += [-1] * zone.points
    return np.vstack(xs), zone_of, factor, source


def street_places(city: City) -> list[Place]:
    """Every location of the layout in its order (drop points, stations, depots) as a
    :class:`~simcity.roads.Place` in metres, with the ``[city]`` key an error about it is
    located at: ``points.<k>`` for a given point (its row, when read from a file),
    ``zones.<z>`` for a point placed at random in zone ``z``, ``stations.<s>``, ``depots.<d>``."""
    pts, zone_of, _, source = place_points(city, layout_rng(city))
    out = []
    for i, ((x, y), z, k) in enumerate(zip(pts.tolist(), zone_of, source, strict=True)):
        if k >= 0:
            assert city.points is not None
            out.append(Place(f"points.{k}", f"drop point {city.points[k].id!r}", x * 1000.0, y * 1000.0))
        else:
            out.append(Place(f"zones.{z}", f"drop point pt{i} of zone {city.zones[z].id!r}", x * 1000.0, y * 1000.0))
    out += [Place(f"stations.{s}", f"station {st.id!r}", st.x_km * 1000.0, st.y_km * 1000.0)
            for s, st in enumerate(city.stations)]
    out += [Place(f"depots.{d}", f"depot {dp.id!r}", dp.x_km * 1000.0, dp.y_km * 1000.0)
            for d, dp in enumerate(city.depots)]
    return out
