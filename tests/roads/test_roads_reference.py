"""Matrices on the shipped real extract (central Helsinki, ODbL) against networkx's Dijkstra."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from simcity.roads import compute_matrices, load_graph, profile

HELSINKI = Path(__file__).resolve().parents[2] / "scenarios" / "data" / "osm" / "helsinki_centre.osm.pbf"


@pytest.mark.parametrize("name", ["truck", "bike", "walk"])
def test_matrices_equal_networkx_dijkstra(name: str) -> None:
    """On the real Helsinki extract, for 25 random nodes of the main component and two hours (free
    flow; 17:00 with all classes x 0.55 and residential x 0.9 instead), every travel time from 8
    of them equals networkx's Dijkstra on the same edge times (keeping the fastest of parallel
    edges) to 0.05 s, and every distance is that fastest path's length to 0.5 m; the graph is the
    module's own, so this checks the search, not the OSM parsing."""
    g = load_graph(HELSINKI, profile(name))
    rng = np.random.default_rng(7)
    nodes = rng.choice(np.flatnonzero(g.component == g.main), 25, replace=False)
    slow = [1.0] * 24
    slow[17] = 0.55
    factors = {"all": slow, "residential": [0.9] * 24}
    m = compute_matrices(g, [f"n{k}" for k in nodes], g.lon[nodes], g.lat[nodes], factors, max_snap_m=1.0)
    assert np.all(m.snap_m < 0.01)
    for hour in (3, 17):
        fac = np.array([factors["residential"][hour] if c == "residential" else slow[hour] for c in g.classes])
        sec = g.edge_seconds(fac)
        ref = nx.DiGraph()
        for a, b, t, d in zip(g.u.tolist(), g.v.tolist(), sec.tolist(), g.length_m.tolist(), strict=True):
            if not ref.has_edge(a, b) or ref[a][b]["t"] > t:
                ref.add_edge(a, b, t=t, d=d)
        got = m.at_hour(hour)
        assert got.duration_s is not None
        for i, s in enumerate(nodes[:8]):
            times, paths = nx.single_source_dijkstra(ref, int(s), weight="t")
            for j, e in enumerate(nodes):
                if i == j:
                    continue
                assert got.duration_s[i, j] == pytest.approx(times[int(e)], abs=0.05)
                path = paths[int(e)]
                length = sum(ref[a][b]["d"] for a, b in zip(path, path[1:], strict=False))
                assert got.distance_m[i, j] == pytest.approx(length, abs=0.5)


def test_one_way_streets_of_the_real_extract_make_the_matrix_asymmetric() -> None:
    """Between more than 30 nodes the truck and the walker share, the truck's distances differ from
    their reverse by over 100 m somewhere (central Helsinki has many one-way streets), while the
    walker's matrix is symmetric to 0.5 m (walkers ignore one-way tags)."""
    truck, walk = load_graph(HELSINKI, profile("truck")), load_graph(HELSINKI, profile("walk"))
    rng = np.random.default_rng(3)
    nodes = rng.choice(np.flatnonzero(truck.component == truck.main), 60, replace=False)
    lon, lat = truck.lon[nodes], truck.lat[nodes]
    on_foot = walk.snap(lon, lat)[1] < 0.01  # the truck's nodes on the walkers' network
    nodes, lon, lat = nodes[on_foot], lon[on_foot], lat[on_foot]
    assert nodes.size > 30
    t = compute_matrices(truck, [str(k) for k in nodes], lon, lat, {}, max_snap_m=1.0).distance_m[0]
    w = compute_matrices(walk, [str(k) for k in nodes], lon, lat, {}, max_snap_m=1.0).distance_m[0]
    assert np.abs(t - t.T).max() > 100  # central Helsinki has many one-way streets
    np.testing.assert_allclose(w, w.T, atol=0.5)  # walkers ignore them
