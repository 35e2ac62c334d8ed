"""Distance and travel-time matrices between points, from shortest paths on the street network.

The network's through-nodes (a street's shape points) are first removed
(:func:`~simcity.roads.graph.reduce_graph`).  For each period of equal speed factors
(:func:`~simcity.roads.graph.hour_periods`) one Dijkstra search per distinct source node (``scipy.sparse.csgraph.dijkstra``, in chunks, over
``jobs`` processes) finds the fastest path to every other point and, in the same search, its
length (:func:`~simcity.roads.graph.composite_weights`).  A point's distance to the node it is
snapped to is added at both ends as a straight access leg at the profile's ``access_kmh``.

Matrices are cached on disk (``.npz``) under a key made of the file's SHA-256, the profile,
the speed factors, the snapping settings and the points, so a second run with the same
inputs only reads them, and any change of the file gives a new key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra

from simcity.fileio import atomic_write_with
from simcity.geodata import DataFileError, DataProblem, TravelMatrix
from simcity.roads.graph import (
    StreetGraph,
    composite_weights,
    describe_point,
    hour_periods,
    load_graph,
    reduce_graph,
    snap_problems,
)
from simcity.roads.osm import file_digest
from simcity.roads.profiles import Profile

#: bump when the way matrices are computed changes (old cache entries are then never read)
CACHE_VERSION = 1
#: sources per Dijkstra call (bounds the memory of one call to CHUNK x nodes float64)
CHUNK = 64


@dataclass(frozen=True, eq=False)
class RoadMatrices:
    """Travel between points on the street network, per period of the day.

    ``distance_m[p, i, j]`` and ``duration_s[p, i, j]`` are the length and time of the fastest
    path from point ``i`` to ``j`` in period ``p``; ``period_of_hour[h]`` is the period of hour
    ``h`` (0..23).  ``snap_m`` is each point's distance to the network node it starts from,
    ``node`` that node.
    """

    ids: tuple[str, ...]
    period_of_hour: tuple[int, ...]
    distance_m: NDArray[np.float64]
    duration_s: NDArray[np.float64]
    snap_m: NDArray[np.float64]
    node: NDArray[np.int64]
    from_cache: bool = False

    @property
    def periods(self) -> int:
        """Number of periods."""
        return int(self.distance_m.shape[0])

    def period(self, hour: float) -> int:
        """The period of clock time ``hour`` (hours, any day: taken modulo 24)."""
        return self.period_of_hour[int(np.floor(hour)) % 24]

    def at_hour(self, hour: float) -> TravelMatrix:
        """The matrices of the period of ``hour`` as a :class:`~simcity.geodata.TravelMatrix`."""
        p = self.period(hour)
        return TravelMatrix(self.ids, self.distance_m[p], self.duration_s[p])

    def hours_between(self, start_h: float, end_h: float) -> list[int]:
        """The clock hours (0..23, repeated when the window is longer than a day) that the
        window ``[start_h, end_h)`` touches: one per started hour; ``[start]`` when empty."""
        first = int(np.floor(start_h))
        last = max(first + 1, int(np.ceil(end_h)))
        return [h % 24 for h in range(first, last)]

    def over(self, start_h: float, end_h: float) -> TravelMatrix:
        """The matrices a plan for the window ``[start_h, end_h)`` uses: the mean over the
        hours the window touches of each hour's period matrices (each hour weighs the same).

        When the window lies in one period (no speed factors, or a plan inside one peak) this
        is exactly that period's matrix; a shift across a peak plans with the travel times a
        trip starting at a uniform moment of the shift expects.
        """
        hours = self.hours_between(start_h, end_h)
        counts = np.bincount([self.period_of_hour[h] for h in hours], minlength=self.periods)
        if np.count_nonzero(counts) == 1:
            p = int(np.flatnonzero(counts)[0])
            return TravelMatrix(self.ids, self.distance_m[p], self.duration_s[p])
        w = counts / counts.sum()
        return TravelMatrix(self.ids, np.tensordot(w, self.distance_m, axes=1),
                            np.tensordot(w, self.duration_s, axes=1))


def default_cache_dir() -> Path:
    """``$SIMCITY_CACHE_DIR``, else ``$XDG_CACHE_HOME/simcity``, else ``~/.cache/simcity``; then ``roads``."""
    env = os.environ.get("SIMCITY_CACHE_DIR")
    if env:
        return Path(env) / "roads"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "simcity" / "roads"


def _profile_key(prof: Profile) -> dict[str, Any]:
    return {"name": prof.name, "speeds": sorted((k, float(v)) for k, v in prof.speeds_kmh.items()),
            "access": list(prof.access_keys), "oneway": prof.oneway, "motor": prof.motor,
            "tagged_only": sorted(prof.tagged_only), "access_kmh": prof.access_kmh}


def cache_key(digest: str, prof: Profile, factors: Mapping[str, Sequence[float]], ids: Sequence[str],
              lon: NDArray[np.float64], lat: NDArray[np.float64], max_snap_m: float, largest: bool) -> str:
    """The cache key of one matrix computation (hex)."""
    h = hashlib.sha256()
    meta = {"v": CACHE_VERSION, "file": digest, "profile": _profile_key(prof),
            "factors": sorted((k, [float(x) for x in v]) for k, v in factors.items()),
            "max_snap_m": float(max_snap_m), "largest": bool(largest), "ids": list(ids)}
    h.update(json.dumps(meta, sort_keys=True).encode())
    h.update(np.ascontiguousarray(lon, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(lat, dtype=np.float64).tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------
# shortest paths

_WORKER: dict[str, Any] = {}


def _init_worker(data: NDArray[np.float64], indices: NDArray[np.int32], indptr: NDArray[np.int32],
                 n: int, targets: NDArray[np.int64]) -> None:
    _WORKER["g"] = sp.csr_matrix((data, indices, indptr), shape=(n, n))
    _WORKER["t"] = targets


def _rows(g: sp.csr_matrix, sources: NDArray[np.int64], targets: NDArray[np.int64]) -> NDArray[np.float64]:
    return np.asarray(dijkstra(g, directed=True, indices=sources)[:, targets])


def _rows_in_worker(sources: NDArray[np.int64]) -> NDArray[np.float64]:
    return _rows(_WORKER["g"], sources, _WORKER["t"])


def node_costs(g: sp.csr_matrix, nodes: NDArray[np.int64], jobs: int = 1) -> NDArray[np.float64]:
    """Shortest-path costs between all pairs of ``nodes`` (rows: from, columns: to)."""
    chunks = [nodes[i:i + CHUNK] for i in range(0, nodes.size, CHUNK)]
    if jobs <= 1 or len(chunks) < 2:
        return np.vstack([_rows(g, c, nodes) for c in chunks]) if chunks else np.zeros((0, 0))
    # processes, not threads: scipy's Dijkstra holds the GIL.  fork shares the graph pages.
    ctx = get_context("fork") if "fork" in get_all_start_methods() else get_context()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                             initargs=(g.data, g.indices, g.indptr, g.shape[0], nodes)) as ex:
        return np.vstack(list(ex.map(_rows_in_worker, chunks)))


def compute_matrices(graph: StreetGraph, ids: Sequence[str], lon: NDArray[np.float64], lat: NDArray[np.float64],
                     factors: Mapping[str, Sequence[float]], *, max_snap_m: float, largest: bool = True,
                     jobs: int = 1) -> RoadMatrices:
    """Snap the points and compute their matrices (no cache); see the module docstring.

    Raises
    ------
    DataFileError
        Naming the OSM file and the points: points farther than ``max_snap_m`` from the
        network, pairs of points with no path between them.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    far = snap_problems(graph, ids, lon, lat, max_snap_m, largest=largest)
    if far:
        raise DataFileError(graph.source, [DataProblem("", None, m) for _, m in far])
    node, snap = graph.snap(lon, lat, largest=largest)
    of_hour, table = hour_periods(graph.classes, factors)
    uniq, pos = np.unique(node, return_inverse=True)
    red = reduce_graph(graph, uniq)
    sources = np.searchsorted(red.node, uniq).astype(np.int64)  # kept nodes are never removed
    n = len(ids)
    dist = np.zeros((len(table), n, n))
    dur = np.zeros((len(table), n, n))
    access_s = snap / (graph.profile.access_kmh / 3.6)
    for p, row in enumerate(table):
        w, dq, tq, m = composite_weights(graph, graph.edge_seconds(row))
        cost = node_costs(red.csr(w), sources, jobs)[np.ix_(pos, pos)]
        bad = ~np.isfinite(cost)
        if bad.any():
            raise DataFileError(graph.source, [_unreachable(ids, lon, lat, bad, graph.profile.name)])
        t_q, d_q = np.divmod(cost, m)
        dist[p] = d_q * dq + snap[:, None] + snap[None, :]
        dur[p] = t_q * tq + access_s[:, None] + access_s[None, :]
        np.fill_diagonal(dist[p], 0.0)
        np.fill_diagonal(dur[p], 0.0)
    return RoadMatrices(tuple(ids), of_hour, dist, dur, snap, node)


def _unreachable(ids: Sequence[str], lon: NDArray[np.float64], lat: NDArray[np.float64],
                 bad: NDArray[np.bool_], profile: str) -> DataProblem:
    pairs = np.argwhere(bad)
    shown = "; ".join(f"from {describe_point(ids[i], lon[i], lat[i])} to {describe_point(ids[j], lon[j], lat[j])}"
                      for i, j in pairs[:5])
    more = f" (and {len(pairs) - 5} more pairs)" if len(pairs) > 5 else ""
    return DataProblem("", None, f"no route for the {profile!r} profile {shown}{more}: the streets "
                                 "between them are cut (one-way streets, a road not allowed, or the "
                                 "edge of the extract)")


def travel_matrices(osm_file: str | Path, prof: Profile, ids: Sequence[str], lon: Sequence[float] | NDArray[np.float64],
                    lat: Sequence[float] | NDArray[np.float64], *, factors: Mapping[str, Sequence[float]] | None = None,
                    max_snap_m: float = 250.0, largest: bool = True, cache_dir: str | Path | None = None,
                    use_cache: bool = True, jobs: int = 1) -> RoadMatrices:
    """The matrices between named points on the network of ``osm_file``, from the disk cache
    when the same file, profile, factors and points were computed before.

    ``lon``/``lat`` in degrees; ``factors`` as in :func:`~simcity.roads.graph.hour_periods`.
    Raises :class:`~simcity.geodata.DataFileError` (see :func:`compute_matrices`).
    """
    path = Path(osm_file)
    fac = dict(factors or {})
    lo = np.asarray(lon, dtype=float)
    la = np.asarray(lat, dtype=float)
    target = None
    if use_cache and path.is_file():
        key = cache_key(file_digest(path), prof, fac, ids, lo, la, max_snap_m, largest)
        target = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        target = target / f"{key}.npz"
        if target.is_file():
            try:
                with np.load(target) as z:
                    return RoadMatrices(tuple(ids), tuple(int(h) for h in z["period_of_hour"]),
                                        z["distance_m"], z["duration_s"], z["snap_m"], z["node"],
                                        from_cache=True)
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache entry is computed again
    graph = load_graph(path, prof)
    out = compute_matrices(graph, ids, lo, la, fac, max_snap_m=max_snap_m, largest=largest, jobs=jobs)
    if target is not None:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, period_of_hour=np.asarray(out.period_of_hour), distance_m=out.distance_m,
                         duration_s=out.duration_s, snap_m=out.snap_m, node=out.node)
        try:
            atomic_write_with(target, write)
        except OSError:
            pass  # a cache that cannot be written only costs time
    return out
