"""The street network of one vehicle profile as a directed scipy sparse graph.

Nodes are the OSM nodes of the ways the profile may use; an edge joins consecutive nodes of a
way in each direction the profile may travel, with its great-circle length, its road class and
its free-flow speed.  :meth:`StreetGraph.snap` puts points on the network (nearest node of the
largest strongly connected part, a KD-tree in metres); :mod:`simcity.roads.matrices` runs the
shortest paths.

Time of day: ``speed_factors`` multiply the free-flow speed of a road class in each hour
0..23 (0.6 = 40 % slower, as in a peak).  Hours whose factors are all equal share one
*period*; each period has its own fastest paths.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from simcity.geodata import EARTH_RADIUS_M, DataFileError, DataProblem, Projection
from simcity.roads.osm import OsmData, forget_files, load_osm
from simcity.roads.profiles import Profile

#: the key of ``speed_factors`` that applies to every class not listed on its own
ALL_CLASSES = "all"


def haversine_m(lon1: NDArray[np.float64], lat1: NDArray[np.float64], lon2: NDArray[np.float64],
                lat2: NDArray[np.float64]) -> NDArray[np.float64]:
    """Great-circle distances (m), elementwise, on the sphere of :class:`~simcity.geodata.Projection`."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def hour_periods(classes: Sequence[str], factors: Mapping[str, Sequence[float]]
                 ) -> tuple[tuple[int, ...], NDArray[np.float64]]:
    """Group the 24 hours into periods of equal speed factors.

    Returns ``period_of_hour`` (24 indices, periods numbered by their first hour) and the
    ``(P, len(classes))`` factors of each period.  ``factors`` maps a road class (or ``"all"``)
    to 24 multipliers of the free-flow speed; a class not listed keeps ``"all"``'s, else 1.
    """
    base = factors.get(ALL_CLASSES, [1.0] * 24)
    table = np.array([[float(factors.get(c, base)[h]) for c in classes] for h in range(24)]).reshape(24, -1)
    periods: list[NDArray[np.float64]] = []
    of_hour: list[int] = []
    for h in range(24):
        for k, row in enumerate(periods):
            if np.array_equal(row, table[h]):
                of_hour.append(k)
                break
        else:
            of_hour.append(len(periods))
            periods.append(table[h])
    return tuple(of_hour), np.array(periods).reshape(len(periods), len(classes))


@dataclass(frozen=True, eq=False)
class StreetGraph:
    """One profile's directed street network.

    Attributes
    ----------
    source:
        The OSM file it was built from, and :attr:`digest` its SHA-256.
    lon, lat, xy:
        Node positions (degrees; metres in :attr:`projection`, centred on the network).
    u, v, length_m, cls, speed_kmh:
        Directed edges: tail, head, length (m), road class (index into :attr:`classes`),
        free-flow speed (km/h).
    component:
        Strongly connected component of each node; :attr:`main` is the largest one.
    """

    source: str
    digest: str
    profile: Profile
    classes: tuple[str, ...]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    projection: Projection
    xy: NDArray[np.float64]
    u: NDArray[np.int64]
    v: NDArray[np.int64]
    length_m: NDArray[np.float64]
    cls: NDArray[np.int64]
    speed_kmh: NDArray[np.float64]
    component: NDArray[np.int64]
    main: int

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.lon.size)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.u.size)

    def edge_seconds(self, factors: NDArray[np.float64]) -> NDArray[np.float64]:
        """Travel time of every edge (s) with the per-class speed ``factors`` of one period."""
        return self.length_m / (self.speed_kmh * factors[self.cls] / 3.6)

    def snap(self, lon: Sequence[float] | NDArray[np.float64], lat: Sequence[float] | NDArray[np.float64], *,
             largest: bool = True) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """The nearest node of each point and its distance (m).

        ``largest``: only nodes of the largest strongly connected part (points are then
        never cut off by a fragment at the extract's border or a private island of roads).
        """
        x, y = self.projection.forward(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        cand = np.flatnonzero(self.component == self.main) if largest else np.arange(self.n_nodes)
        tree = cKDTree(self.xy[cand])
        d, k = tree.query(np.column_stack([x, y]).reshape(-1, 2))
        return cand[np.asarray(k, dtype=np.int64)], np.asarray(d, dtype=float)

    def csr(self, weight: NDArray[np.float64]) -> sp.csr_matrix:
        """The graph as a CSR matrix with ``weight`` per edge (the least of parallel edges)."""
        order = np.lexsort((weight, self.v, self.u))
        u, v, w = self.u[order], self.v[order], weight[order]
        first = np.ones(u.size, dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        n = self.n_nodes
        return sp.csr_matrix((w[first], (u[first], v[first])), shape=(n, n))


def build_graph(data: OsmData, prof: Profile) -> StreetGraph:
    """The directed graph of the ways of ``data`` that ``prof`` may use.

    Raises
    ------
    DataFileError
        When the profile may use none of the file's ways.
    """
    us: list[NDArray[np.int64]] = []
    vs: list[NDArray[np.int64]] = []
    cl: list[NDArray[np.int64]] = []
    sp_: list[NDArray[np.float64]] = []
    classes = tuple(prof.speeds_kmh)
    cindex = {c: i for i, c in enumerate(classes)}
    for way in data.ways:
        c = prof.road_class(way.tags)
        if c is None or way.nodes.size < 2:
            continue
        fwd, bwd = prof.directions(way.tags, c)
        a, b = way.nodes[:-1], way.nodes[1:]
        ok = (a >= 0) & (b >= 0) & (a != b)
        a, b = a[ok], b[ok]
        if a.size == 0:
            continue
        speed = prof.speed(way.tags, c)
        for on, s, t in ((fwd, a, b), (bwd, b, a)):
            if on:
                us.append(s)
                vs.append(t)
                cl.append(np.full(s.size, cindex[c], dtype=np.int64))
                sp_.append(np.full(s.size, speed))
    if not us:
        raise DataFileError(data.path, [DataProblem("", None, f"no road in the file may be used by the "
                                                              f"{prof.name!r} profile (it uses "
                                                              f"{', '.join(classes)} ways)")])
    u_all, v_all = np.concatenate(us), np.concatenate(vs)
    used, inv = np.unique(np.concatenate([u_all, v_all]), return_inverse=True)
    u, v = inv[:u_all.size].astype(np.int64), inv[u_all.size:].astype(np.int64)
    lon, lat = data.lon[used], data.lat[used]
    length = haversine_m(lon[u], lat[u], lon[v], lat[v])
    proj = Projection(float(np.median(lon)), float(np.median(lat)))
    x, y = proj.forward(lon, lat)
    n = used.size
    adj = sp.csr_matrix((np.ones(u.size), (u, v)), shape=(n, n))
    _, comp = connected_components(adj, directed=True, connection="strong")
    main = int(np.bincount(comp).argmax())
    return StreetGraph(str(data.path), data.digest, prof, classes, lon, lat, proj, np.column_stack([x, y]),
                       u, v, length, np.concatenate(cl), np.concatenate(sp_), comp.astype(np.int64), main)


def describe_point(name: str, lon: float, lat: float) -> str:
    """``"point 'p7' (120.61234, 31.30012)"`` for messages."""
    return f"{name} ({lon:.5f}, {lat:.5f})"


def snap_problems(graph: StreetGraph, names: Sequence[str], lon: NDArray[np.float64], lat: NDArray[np.float64],
                  max_snap_m: float, *, largest: bool = True) -> list[tuple[int, str]]:
    """``(index, message)`` for every point farther than ``max_snap_m`` from the network."""
    _, d = graph.snap(lon, lat, largest=largest)
    out = []
    for i in np.flatnonzero(~(d <= max_snap_m)):
        where = "outside the extract or far from any road" if d[i] > 2_000 else "far from any road"
        out.append((int(i), f"{describe_point(names[int(i)], float(lon[i]), float(lat[i]))} lies "
                            f"{d[i]:,.0f} m from the nearest road the {graph.profile.name!r} profile "
                            f"may use in {graph.source} ({where}; max_snap_m = {max_snap_m:g})"))
    return out


def composite_weights(graph: StreetGraph, seconds: NDArray[np.float64]
                      ) -> tuple[NDArray[np.float64], float, float, float]:
    """Edge weights for exact lexicographic (time, distance) shortest paths in one float64.

    Each edge weighs ``round(t / tq) * M + round(d / dq)``: integers below 2**53 add exactly
    in float64, so one Dijkstra finds the fastest path (ties: the shorter) and its length is
    ``weight mod M``.  ``M`` exceeds the total length of the network in ``dq`` = 1 cm units,
    so no path's length can carry into its time; ``tq`` (>= 1 ms) is the finest that keeps
    every path below 2**53.  Returns ``(weights, dq, tq, M)``.
    """
    dq = 0.01
    dist_q = np.maximum(1.0, np.rint(graph.length_m / dq))
    m = float(2 ** math.ceil(math.log2(float(dist_q.sum()) + 2)))
    tq = max(1e-3, float(seconds.sum()) * m / 2.0**52)
    while True:
        time_q = np.rint(seconds / tq)
        if (float(time_q.sum()) + 1.0) * m < 2.0**53:
            return time_q * m + dist_q, dq, tq, m
        tq *= 2.0


_GRAPHS: dict[tuple[str, str, str], StreetGraph] = {}


def load_graph(path: str | Path, prof: Profile) -> StreetGraph:
    """:func:`build_graph` of :func:`~simcity.roads.osm.load_osm`, remembered per process
    (keyed by the file, its digest and the profile)."""
    data = load_osm(path)
    key = (str(data.path), data.digest, repr(prof))
    if key not in _GRAPHS:
        if len(_GRAPHS) >= 4:
            _GRAPHS.pop(next(iter(_GRAPHS)))
        _GRAPHS[key] = build_graph(data, prof)
    return _GRAPHS[key]


@dataclass(frozen=True, eq=False)
class Reduced:
    """The network with its through-nodes removed: chains of nodes that join exactly two
    neighbours (a street's shape points) become single edges.

    ``node`` maps each node of the reduced graph to the full graph; ``chain`` is a sparse
    ``(reduced edges, edges)`` 0/1 matrix, so ``chain @ w`` is the weight of every reduced
    edge for any additive per-edge weight ``w`` (exact for integer-valued weights).
    """

    node: NDArray[np.int64]
    u: NDArray[np.int64]
    v: NDArray[np.int64]
    chain: sp.csr_matrix

    def csr(self, weight: NDArray[np.float64]) -> sp.csr_matrix:
        """The reduced graph with the full graph's per-edge ``weight`` summed along chains."""
        w = np.asarray(self.chain @ weight, dtype=float)
        order = np.lexsort((w, self.v, self.u))
        u, v, w = self.u[order], self.v[order], w[order]
        first = np.ones(u.size, dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        n = self.node.size
        return sp.csr_matrix((w[first], (u[first], v[first])), shape=(n, n))


def reduce_graph(graph: StreetGraph, keep: NDArray[np.int64]) -> Reduced:
    """Remove the through-nodes of ``graph`` except ``keep`` (the snapped points).

    A node is a through-node when it has exactly two distinct neighbours and is not kept.
    Every path between two other nodes passes a through-node by entering from one neighbour
    and leaving to the other, so replacing each chain ``s -> x1 -> ... -> t`` by one edge
    ``s -> t`` with the summed weight keeps every shortest path between the remaining nodes.
    """
    n, u, v = graph.n_nodes, graph.u, graph.v
    und = np.unique(np.concatenate([np.column_stack([u, v]), np.column_stack([v, u])]), axis=0)
    und = und[und[:, 0] != und[:, 1]]
    degree = np.bincount(und[:, 0], minlength=n)
    # parallel out-edges (two ways between the same nodes) would need the lighter per period:
    # such a node stays
    pairs = np.unique(np.column_stack([u, v]), axis=0)
    simple = np.bincount(u, minlength=n) == np.bincount(pairs[:, 0], minlength=n)
    through = (degree == 2) & simple
    through[keep] = False
    # out-edges per node (CSR order) to walk the chains
    order = np.argsort(u, kind="stable")
    start = np.searchsorted(u[order], np.arange(n + 1))
    if not through.any():
        chain = sp.identity(u.size, format="csr")
        return Reduced(np.arange(n, dtype=np.int64), u, v, chain)
    out_edges = [order[start[i]:start[i + 1]] for i in range(n)]
    rows: list[int] = []
    cols: list[int] = []
    new_u: list[int] = []
    new_v: list[int] = []
    vl = v.tolist()
    for s in np.flatnonzero(~through).tolist():
        for e in out_edges[s].tolist():
            path = [e]
            prev, x = s, vl[e]
            ok = True
            while through[x]:
                nxt = [f for f in out_edges[x].tolist() if vl[f] != prev]
                if not nxt or len(path) > n:
                    ok = False  # a one-way chain that turns back, or a loop of through-nodes
                    break
                f = nxt[0]
                path.append(f)
                prev, x = x, vl[f]
            if ok and x != s:
                k = len(new_u)
                new_u.append(s)
                new_v.append(x)
                rows += [k] * len(path)
                cols += path
    kept = np.flatnonzero(~through)
    index = np.full(n, -1, dtype=np.int64)
    index[kept] = np.arange(kept.size)
    chain = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(new_u), u.size))
    return Reduced(kept.astype(np.int64), index[np.asarray(new_u, dtype=np.int64)],
                   index[np.asarray(new_v, dtype=np.int64)], chain)


def forget() -> None:
    """Drop the files and graphs remembered in this process (a benchmark's cold start)."""
    _GRAPHS.clear()
    forget_files()
