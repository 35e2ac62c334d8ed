"""The ``[city.roads]`` keys that put a domain on a real street network.

A domain's road table subclasses :class:`StreetNetwork`: with no ``osm_file`` the domain keeps
its straight-line model; with one, its matrices come from shortest paths on the extract
(:func:`simcity.roads.matrices.travel_matrices`).  The file is read, and the profile's network
built, when the scenario is validated, so a missing or corrupt file or a profile with no usable
road is a located error of ``simcity validate``.

The part every domain shares: the domain lists its places (drop points, stations, depots, bike
stations...) in planar metres around the scenario's origin as :class:`Place` entries, each with
the ``[city]`` key it comes from; :meth:`StreetNetwork.check_places` (from the domain's
``City`` validator) turns a place too far from the network, or a pair with no route, into a
``key: message`` error naming the place and the file; :meth:`StreetNetwork.place_matrices`
gives the matrices (computed once per process, disk-cached across processes).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, field_validator, model_validator

from simcity.domain import StrictModel
from simcity.geodata import DataFileError, DataPath, Projection
from simcity.roads.graph import StreetGraph, load_graph, snap_problems
from simcity.roads.matrices import RoadMatrices, travel_matrices
from simcity.roads.profiles import ProfileName, RoadClass, profile

FactorKey = RoadClass | Literal["all"]

#: how many far places one error lists after the first
SHOWN_PLACES = 5


@dataclass(frozen=True)
class Place:
    """A place a domain's vehicles drive between, in the planar metres of the scenario.

    ``key`` is the ``[city]`` key it comes from (``points.7``, ``zones.2``, ``stations.0``),
    where an error about it is located; ``name`` names it in messages and in the matrices
    (unique among the places of one call).
    """

    key: str
    name: str
    x_m: float
    y_m: float


def places_lonlat(places: Sequence[Place], origin: tuple[float, float]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Longitude and latitude of ``places`` (metres around ``origin`` = ``(lon, lat)``, the
    projection of :mod:`simcity.geodata`)."""
    proj = Projection(float(origin[0]), float(origin[1]))
    lon, lat = proj.inverse([p.x_m for p in places], [p.y_m for p in places])
    return np.asarray(lon, dtype=float).reshape(-1), np.asarray(lat, dtype=float).reshape(-1)


#: most street segments a map draws (:meth:`StreetNetwork.segments`)
MAX_MAP_SEGMENTS = 20_000

#: matrices of this process by their inputs (a scenario's validation and its runs ask for the
#: same ones; the disk cache would answer too, but hashes the file again)
_MEMO: OrderedDict[tuple[Any, ...], RoadMatrices] = OrderedDict()


class StreetNetwork(StrictModel):
    """A street network from an OpenStreetMap extract (used when ``osm_file`` is given)."""

    osm_file: DataPath | None = Field(
        default=None,
        description="OpenStreetMap extract (.osm.pbf or .osm XML), relative to the scenario file; "
        "when given, distances and travel times are shortest paths on its streets instead of "
        "straight lines times a detour factor.",
    )
    profile: ProfileName = Field(
        default="truck",
        description="Vehicle profile: which ways it may use (access tags), whether it obeys "
        "one-way streets, its free-flow speed per road class (simcity/roads/profiles.py).",
    )
    speeds_kmh: dict[RoadClass, float] = Field(
        default_factory=dict,
        description="Free-flow speed per road class (km/h), replacing the profile's; a class the "
        "profile does not use becomes usable.",
    )
    speed_factors: dict[FactorKey, list[float]] = Field(
        default_factory=dict,
        description="Per road class (or 'all'), 24 multipliers of the free-flow speed for the "
        "hours 0..23 (e.g. 0.6 in the peak hours); classes not listed take 'all', else 1.  A "
        "trip takes the travel time of the hour it starts.",
    )
    max_snap_m: float = Field(
        default=250.0, gt=0, le=10_000,
        description="Farthest a point may lie from the nearest usable road (m); a point farther "
        "away is an error naming it.",
    )
    largest_component: bool = Field(
        default=True,
        description="Snap points only to the largest strongly connected part of the network (so "
        "every point reaches every other); false: to any road, and pairs with no route are errors.",
    )

    @field_validator("speeds_kmh")
    @classmethod
    def _speeds(cls, v: dict[str, float]) -> dict[str, float]:
        for k, s in v.items():
            if not 1.0 <= s <= 150.0:
                raise ValueError(f"{k}: expected a speed in 1..150 km/h, found {s!r}")
        return v

    @field_validator("speed_factors")
    @classmethod
    def _factors(cls, v: dict[str, list[float]]) -> dict[str, list[float]]:
        for k, f in v.items():
            if len(f) != 24:
                raise ValueError(f"{k}: expected 24 factors (hours 0..23), found {len(f)}")
            bad = [x for x in f if not 0.05 <= x <= 3.0]
            if bad:
                raise ValueError(f"{k}: factors must lie in 0.05..3 (multipliers of the free-flow "
                                 f"speed), found {bad[0]!r}")
        return v

    @model_validator(mode="after")
    def _readable(self) -> StreetNetwork:
        if self.osm_file is not None:
            try:
                self.graph()
            except DataFileError as exc:
                raise ValueError(f"osm_file: {exc}") from None
        return self

    # ------------------------------------------------------------------ use
    @property
    def enabled(self) -> bool:
        """True when an extract is given (the straight-line model is off)."""
        return self.osm_file is not None

    def _speeds_map(self) -> dict[str, float]:
        return {str(k): v for k, v in self.speeds_kmh.items()}

    def graph(self) -> StreetGraph:
        """The profile's network of ``osm_file`` (read once per process)."""
        assert self.osm_file is not None
        return load_graph(self.osm_file, profile(self.profile, self._speeds_map()))

    def snap_problems(self, names: Sequence[str], lon: NDArray[np.float64],
                      lat: NDArray[np.float64]) -> list[tuple[int, str]]:
        """``(index, message)`` of every point farther than ``max_snap_m`` from the network."""
        return snap_problems(self.graph(), names, lon, lat, self.max_snap_m, largest=self.largest_component)

    def check_places(self, places: Sequence[Place], origin: tuple[float, float] | None, *,
                     roads_key: str = "roads") -> None:
        """Raise ``ValueError("key: message")`` when a place lies farther than ``max_snap_m``
        from the network (at the first such place's key, naming it, the file and up to
        :data:`SHOWN_PLACES` more) or two places have no route between them (at
        ``<roads_key>.osm_file``); for a domain's ``City`` validator.  Computes the matrices
        (disk-cached), so a run finds them ready."""
        if origin is None:
            raise ValueError(f"{roads_key}.osm_file: the street network needs the scenario's origin, the "
                             "[longitude, latitude] its x/y coordinates are measured from: give "
                             "[city] origin, or read the places from point files (their centre is used)")
        lon, lat = places_lonlat(places, origin)
        far = self.snap_problems([p.name for p in places], lon, lat)
        if far:
            _, dist = self.graph().snap(lon, lat, largest=self.largest_component)
            others = [f"{places[i].name} ({dist[i]:,.0f} m)" for i, _ in far[1:1 + SHOWN_PLACES]]
            rest = len(far) - 1 - len(others)
            extra = (f"; also too far: {', '.join(others)}" if others else "") + \
                (f" and {rest} more" if rest > 0 else "")
            raise ValueError(f"{places[far[0][0]].key}: {far[0][1]}{extra}")
        try:
            self.place_matrices(places, origin)
        except DataFileError as exc:
            raise ValueError(f"{roads_key}.osm_file: {exc}") from None

    def place_matrices(self, places: Sequence[Place], origin: tuple[float, float], *,
                       cache_dir: str | Path | None = None) -> RoadMatrices:
        """The matrices between ``places`` (in their order, named by :attr:`Place.name`),
        remembered per process and disk-cached (:func:`~simcity.roads.matrices.travel_matrices`)."""
        assert self.osm_file is not None
        lon, lat = places_lonlat(places, origin)
        ids = tuple(p.name for p in places)
        try:
            st = Path(self.osm_file).stat()
            stamp: tuple[Any, ...] = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = ()
        key = (str(self.osm_file), stamp, self.model_dump_json(), ids, lon.tobytes(), lat.tobytes())
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return _MEMO[key]
        out = self.matrices(ids, lon, lat, cache_dir=cache_dir)
        _MEMO[key] = out
        while len(_MEMO) > 4:
            _MEMO.popitem(last=False)
        return out

    def segments(self, origin: tuple[float, float], around_m: NDArray[np.float64], *,
                 margin_m: float = 300.0, max_segments: int = MAX_MAP_SEGMENTS) -> NDArray[np.float64]:
        """The streets of the profile's network for a map: ``(k, 4)`` segments ``x0, y0, x1,
        y1`` in metres around ``origin`` (the scenario's planar frame), one per pair of
        nodes joined in either direction, both ends within ``margin_m`` of the bounding box
        of ``around_m`` (the places drawn, ``(n, 2)`` metres).  Past ``max_segments`` the
        minor roads go first (road classes in :data:`~simcity.roads.profiles.ROAD_CLASSES`
        order, then shorter segments), so a city-wide extract stays a readable map."""
        g = self.graph()
        x, y = Projection(float(origin[0]), float(origin[1])).forward(g.lon, g.lat)
        lo = np.asarray(around_m, dtype=float).reshape(-1, 2).min(axis=0) - margin_m
        hi = np.asarray(around_m, dtype=float).reshape(-1, 2).max(axis=0) + margin_m
        inside = (x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1])
        a, b = np.minimum(g.u, g.v), np.maximum(g.u, g.v)
        keep = inside[a] & inside[b] & (a != b)
        pairs, first = np.unique(np.column_stack([a[keep], b[keep]]), axis=0, return_index=True)
        cls = g.cls[keep][first]
        length = g.length_m[keep][first]
        order = np.lexsort((-length, cls))[:max_segments]
        pairs = pairs[np.sort(order)]
        return np.column_stack([x[pairs[:, 0]], y[pairs[:, 0]], x[pairs[:, 1]], y[pairs[:, 1]]])

    def matrices(self, ids: Sequence[str], lon: NDArray[np.float64], lat: NDArray[np.float64], *,
                 cache_dir: str | Path | None = None, jobs: int = 1) -> RoadMatrices:
        """Distance and time matrices between the points (disk-cached)."""
        assert self.osm_file is not None
        return travel_matrices(self.osm_file, profile(self.profile, self._speeds_map()), ids, lon, lat,
                               factors={str(k): v for k, v in self.speed_factors.items()}, max_snap_m=self.max_snap_m,
                               largest=self.largest_component, cache_dir=cache_dir, jobs=jobs)
