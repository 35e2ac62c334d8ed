"""Street-network matrix speed: N points on a city-size network, first time and from the cache.

Two networks, each timed end to end through :func:`simcity.roads.travel_matrices` (read the
file, build the profile's graph, snap, remove through-nodes, one Dijkstra per point and period
over ``--jobs`` processes, write the cache), then again from the cache (hash the file, read
the ``.npz``):

* ``real``: the largest real extract available offline, the shipped central-Helsinki file
  (``scenarios/data/osm/helsinki_centre.osm.pbf``, walking profile: 6,088 nodes), or the
  file given with ``--osm``;
* ``synthetic``: a generated ``.osm.pbf`` grid city of ``--nodes`` road nodes (default
  100,000; **synthetic**, not a real city): streets 100 m apart, two shape nodes between
  intersections (a fifth of the nodes are intersections, about as in OSM city networks),
  every fifth street a two-way primary road, every third of the others one-way, in
  alternating directions.

The points are drawn uniformly in the network's bounding box (seeded), snapped with a wide
``max_snap_m``.  Time on a shared machine is noisy: the figures are for a person to read, not
a gate.  Targets of issue 19: <= 30 s the first time, <= 1 s from the cache, 3,000 points,
>= 100,000 road nodes, 2 cores.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import osmium

from simcity.bench.common import result_file, shipped_scenario, write_results
from simcity.roads import load_graph, profile, travel_matrices
from simcity.roads.graph import forget, reduce_graph

HELSINKI = "data/osm/helsinki_centre.osm.pbf"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--points", type=int, default=3_000, help="points (default 3000)")
    parser.add_argument("--nodes", type=int, default=100_000, help="road nodes of the synthetic city (default 100000)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for the shortest paths (default 2)")
    parser.add_argument("--osm", type=Path, default=None, help="a real extract to time instead of the shipped one")
    parser.add_argument("--profile", default=None, help="profile for the real extract (default walk for the "
                                                        "shipped one, car for --osm)")
    parser.add_argument("--skip-synthetic", action="store_true", help="time the real extract only")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--out", type=Path, default=None, help="result JSON (default benchmarks/results/roads.json)")


def synthetic_city(path: Path, nodes: int) -> dict[str, Any]:
    """Write a grid city of about ``nodes`` road nodes as ``.osm.pbf`` (see the module docstring)."""
    g = max(2, math.ceil(math.sqrt(nodes / 5)))  # g*g intersections + 4*g*(g-1) shape nodes
    lon0, lat0 = 120.5, 31.2
    dlat = 100.0 / 111_195.0
    dlon = dlat / math.cos(math.radians(lat0))
    nid = 0
    grid = np.zeros((g, g), dtype=np.int64)
    ways = 0
    with osmium.SimpleWriter(str(path)) as w:
        for i in range(g):
            for j in range(g):
                nid += 1
                grid[i, j] = nid
                w.add_node(osmium.osm.mutable.Node(id=nid, location=(lon0 + j * dlon, lat0 + i * dlat)))

        def street(k: int, ends: list[tuple[int, int]], horizontal: bool) -> None:
            nonlocal nid, ways
            refs: list[int] = []
            for (i, j), (i2, j2) in zip(ends, ends[1:], strict=False):
                refs.append(int(grid[i, j]))
                for s in (1, 2):  # two shape nodes between intersections
                    nid += 1
                    f = s / 3
                    w.add_node(osmium.osm.mutable.Node(id=nid, location=(
                        lon0 + (j + f * (j2 - j)) * dlon, lat0 + (i + f * (i2 - i)) * dlat)))
                    refs.append(nid)
            refs.append(int(grid[ends[-1]]))
            tags = {"highway": "primary" if k % 5 == 0 else "residential"}
            if k % 5 != 0 and k % 3 == 0:
                tags["oneway"] = "yes" if (k // 3) % 2 else "-1"
            ways += 1
            w.add_way(osmium.osm.mutable.Way(id=ways, nodes=refs, tags=tags))

        for i in range(g):
            street(i, [(i, j) for j in range(g)], True)
        for j in range(g):
            street(j + g, [(i, j) for i in range(g)], False)
    return {"intersections": g * g, "nodes": nid, "ways": ways, "spacing_m": 100}


def time_one(label: str, osm: Path, prof_name: str, points: int, jobs: int, seed: int,
             cache: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    graph = load_graph(osm, profile(prof_name))
    read_s = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    lon = rng.uniform(graph.lon.min(), graph.lon.max(), points)
    lat = rng.uniform(graph.lat.min(), graph.lat.max(), points)
    ids = [f"p{k}" for k in range(points)]
    reduced = reduce_graph(graph, graph.snap(lon, lat)[0])
    # the timed runs start from nothing in this process: the graph and file caches are cleared
    forget()
    t0 = time.perf_counter()
    first = travel_matrices(osm, profile(prof_name), ids, lon, lat, max_snap_m=5_000.0, cache_dir=cache, jobs=jobs)
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = travel_matrices(osm, profile(prof_name), ids, lon, lat, max_snap_m=5_000.0, cache_dir=cache, jobs=jobs)
    cached_s = time.perf_counter() - t0
    assert not first.from_cache and again.from_cache
    assert np.array_equal(first.duration_s, again.duration_s)
    row = {"network": label, "file": str(osm), "file_mb": round(osm.stat().st_size / 1e6, 2),
           "profile": prof_name, "road_nodes": graph.n_nodes, "edges": graph.n_edges,
           "nodes_after_reduction": int(reduced.node.size), "points": points, "jobs": jobs,
           "read_and_build_s": round(read_s, 3), "first_s": round(first_s, 3), "cached_s": round(cached_s, 3),
           "median_snap_m": round(float(np.median(first.snap_m)), 1)}
    print(f"{label:9s} {graph.n_nodes:>8,d} nodes ({reduced.node.size:,d} after reduction), {points:,d} points, "
          f"{jobs} jobs: first {first_s:6.2f} s (read+build {read_s:.2f} s), from cache {cached_s:5.2f} s")
    return row


def main(args: argparse.Namespace) -> int:
    rows = []
    settings: dict[str, Any] = {"points": args.points, "jobs": args.jobs, "seed": args.seed}
    with tempfile.TemporaryDirectory(prefix="simcity-roads-") as tmp:
        cache = Path(tmp) / "cache"
        osm = args.osm
        prof = args.profile or ("car" if osm is not None else "walk")
        if osm is None:
            base = shipped_scenario(HELSINKI)
            osm = base if base is not None and base.is_file() else None
        if osm is not None:
            rows.append(time_one("real", osm, prof, args.points, args.jobs, args.seed, cache))
        if not args.skip_synthetic:
            path = Path(tmp) / "synthetic.osm.pbf"
            settings["synthetic"] = synthetic_city(path, args.nodes)
            rows.append(time_one("synthetic", path, "car", args.points, args.jobs, args.seed, cache))
    out = write_results(args.out or result_file("roads"), "roads", rows, settings)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":  # runs as python -m until it has a CI tier and baseline (as garbage_plans)
    _parser = argparse.ArgumentParser(prog="python -m simcity.bench.roads", description=__doc__)
    add_arguments(_parser)
    raise SystemExit(main(_parser.parse_args()))
