"""Streets on the report's maps (issue 19 deliverable 4): the segments a domain saves with its
positions come from the extract's network, stay inside the drawn area, and are drawn by the
maps from the saved positions alone."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

import simcity  # noqa: E402
from simcity.domain import STREET  # noqa: E402
from simcity.geodata import Projection  # noqa: E402
from simcity.maps import _draw_streets  # noqa: E402

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
STREET_SCENARIOS = ["garbage_helsinki_streets.toml", "bikes_helsinki_streets.toml",
                    "parking_helsinki_streets.toml"]


def _city(name: str) -> object:
    return getattr(simcity.load_scenario(SCENARIOS / name), "city")  # noqa: B009


def test_segments_are_network_edges_inside_the_box_minor_roads_dropped_first() -> None:
    """Every segment joins two nodes of the profile's graph that an edge joins (in either
    direction), projected around the origin; no pair appears twice (one segment per street
    piece, whatever its directions); both ends lie within the margin of the places' box; and
    a cap keeps the most important road classes: capped at 50, every segment of a class more
    important than the least important class kept is among the 50."""
    city = _city("garbage_helsinki_streets.toml")
    roads, origin = city.roads, city.origin  # type: ignore[attr-defined]
    g = roads.graph()
    x, y = Projection(*origin).forward(g.lon, g.lat)
    node = {(round(a, 6), round(b, 6)): k for k, (a, b) in enumerate(zip(x.tolist(), y.tolist(), strict=True))}
    edges = {(min(u, v), max(u, v)) for u, v in zip(g.u.tolist(), g.v.tolist(), strict=True)}
    around = np.array([[-400.0, -600.0], [300.0, 500.0]])
    seg = roads.segments(origin, around, margin_m=100.0)
    assert len(seg) > 100
    pairs = [tuple(sorted((node[(round(a, 6), round(b, 6))], node[(round(c, 6), round(d, 6))])))
             for a, b, c, d in seg.tolist()]
    assert set(pairs) <= edges and len(set(pairs)) == len(pairs)
    assert (seg[:, [0, 2]] >= -500.0 - 1e-6).all() and (seg[:, [0, 2]] <= 400.0 + 1e-6).all()
    assert (seg[:, [1, 3]] >= -700.0 - 1e-6).all() and (seg[:, [1, 3]] <= 600.0 + 1e-6).all()
    cls_of = {}
    for u, v, c in zip(g.u.tolist(), g.v.tolist(), g.cls.tolist(), strict=True):
        cls_of[(min(u, v), max(u, v))] = min(c, cls_of.get((min(u, v), max(u, v)), c))
    capped = roads.segments(origin, around, margin_m=100.0, max_segments=50)
    kept = [tuple(sorted((node[(round(a, 6), round(b, 6))], node[(round(c, 6), round(d, 6))])))
            for a, b, c, d in capped.tolist()]
    assert len(kept) == 50
    worst = max(cls_of[p] for p in kept)
    assert all(p in kept for p in pairs if cls_of[p] < worst)


@pytest.mark.parametrize("name", STREET_SCENARIOS)
def test_street_rows_come_after_the_entities_in_pairs(name: str) -> None:
    """On streets a domain's positions are its entities exactly as without streets (the garbage
    map indexes locations by row), then street rows in pairs of one entity each; a scenario
    without an extract has no street rows."""
    sc = simcity.load_scenario(SCENARIOS / name)
    pos = sc.domain.positions(getattr(sc, "city"))  # noqa: B009
    kinds = [p.kind for p in pos]
    first = kinds.index(STREET)
    assert first > 0 and all(k == STREET for k in kinds[first:])
    streets = pos[first:]
    assert len(streets) % 2 == 0 and len(streets) >= 200
    assert all(a.entity == b.entity for a, b in zip(streets[::2], streets[1::2], strict=True))
    assert len({p.entity for p in streets}) == len(streets) // 2
    plain = simcity.load_scenario(SCENARIOS / "garbage_quick.toml")
    assert STREET not in {p.kind for p in plain.domain.positions(getattr(plain, "city"))}  # noqa: B009


def test_map_draws_every_saved_segment_from_the_positions_table() -> None:
    """The maps draw the street rows of a positions table (as a results folder holds it) as one
    line collection with one line per segment, under the entities; a table without street
    rows draws none."""
    import pandas as pd

    rows = [("a", "point", 0.0, 0.0), ("street0", STREET, 0.0, 0.0), ("street0", STREET, 1.0, 0.5),
            ("street1", STREET, 1.0, 0.5), ("street1", STREET, 2.0, 0.0)]
    table = pd.DataFrame(rows, columns=["entity", "kind", "x", "y"])
    fig, ax = plt.subplots()
    assert _draw_streets(ax, table)
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [p.vertices.tolist() for p in lines.get_paths()] == [[[0.0, 0.0], [1.0, 0.5]], [[1.0, 0.5], [2.0, 0.0]]]
    assert lines.get_zorder() < 1
    fig2, ax2 = plt.subplots()
    assert not _draw_streets(ax2, table[table["kind"] != STREET])
    assert not ax2.collections
    plt.close(fig)
    plt.close(fig2)


def test_legs_follow_the_saved_streets_or_go_straight_without_a_path() -> None:
    """Route legs on a map follow the shortest path along the saved segments: on an L-shaped
    street with a long diagonal detour the leg from one end to the other takes the L (length
    2 against 1 + 3), passing its corner; a stop beyond the streets joins its nearest street
    end with a straight connector; two stops on unconnected streets are joined straight."""
    import pandas as pd

    from simcity.maps import StreetPaths

    seg = [((0.0, 0.0), (1.0, 0.0)), ((1.0, 0.0), (1.0, 1.0)),             # the L
           ((0.0, 0.0), (-1.0, 2.0)), ((-1.0, 2.0), (1.0, 1.0)),           # the detour
           ((5.0, 5.0), (6.0, 5.0))]                                       # elsewhere
    rows = [(f"street{k}", STREET, x, y) for k, (a, b) in enumerate(seg) for x, y in (a, b)]
    paths = StreetPaths(pd.DataFrame(rows, columns=["entity", "kind", "x", "y"]))
    line = paths.polyline(np.array([[0.0, -0.1], [1.1, 1.0]]))
    assert line.tolist() == [[0.0, -0.1], [0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.1, 1.0]]
    straight = paths.polyline(np.array([[0.0, 0.0], [6.0, 5.0]]))
    assert straight.tolist() == [[0.0, 0.0], [6.0, 5.0]]
