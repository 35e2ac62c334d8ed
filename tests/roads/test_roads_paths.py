"""simcity.roads on a hand-written OSM network: shortest paths checked by hand, one-way streets,
unreachable pairs and far points as errors naming the points, time-of-day factors, the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simcity.geodata import DataFileError, great_circle_m
from simcity.roads import compute_matrices, load_graph, profile, read_osm, travel_matrices
from simcity.roads.graph import hour_periods

# A square A-B-C-D (B->C one way), an island E-F (service road, no link to the square) and a
# footway G-A that no motor vehicle may use.
NODES = {1: (10.000, 50.000), 2: (10.002, 50.000), 3: (10.002, 50.001), 4: (10.000, 50.001),
         5: (10.010, 50.010), 6: (10.011, 50.010), 7: (9.999, 49.999)}
WAYS = [
    (10, [1, 2], {"highway": "residential"}),
    (11, [2, 3], {"highway": "residential", "oneway": "yes"}),
    (12, [3, 4], {"highway": "residential"}),
    (13, [4, 1], {"highway": "primary", "maxspeed": "30"}),
    (14, [5, 6], {"highway": "service"}),
    (15, [7, 1], {"highway": "footway"}),
]


def osm_xml(nodes: dict[int, tuple[float, float]] = NODES, ways: list = WAYS) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="hand">']
    for i, (lon, lat) in nodes.items():
        lines.append(f'  <node id="{i}" version="1" lat="{lat}" lon="{lon}"/>')
    for wid, refs, tags in ways:
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


@pytest.fixture
def square(tmp_path: Path) -> Path:
    p = tmp_path / "square.osm"
    p.write_text(osm_xml(), encoding="utf-8")
    return p


def leg(a: int, b: int) -> float:
    return great_circle_m(*NODES[a], *NODES[b])


def at(*ids: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    return [f"n{i}" for i in ids], np.array([NODES[i][0] for i in ids]), np.array([NODES[i][1] for i in ids])


def test_truck_paths_respect_one_way_and_speeds(square: Path) -> None:
    """On the hand-made square the truck has 6 nodes (the footway's end G is not one); B->C is the
    one-way leg itself, C->B must go round C-D-A-B, so the distances are those great-circle legs;
    times are residential legs at the truck's 25 km/h and the primary D-A at its maxspeed 30
    (below the truck's 45); the diagonal is 0 and every point sits on a node (no snap)."""
    g = load_graph(square, profile("truck"))
    assert g.n_nodes == 6  # the footway's end G is not a truck node
    names, lon, lat = at(2, 3, 1)
    m = compute_matrices(g, names, lon, lat, {}, max_snap_m=50, largest=False)
    d, t = m.distance_m[0], m.duration_s[0]
    assert d[0, 1] == pytest.approx(leg(2, 3), abs=0.5)
    assert d[1, 0] == pytest.approx(leg(3, 4) + leg(4, 1) + leg(1, 2), abs=0.5)
    assert t[0, 1] == pytest.approx(leg(2, 3) / (25 / 3.6), abs=0.01)
    assert t[1, 0] == pytest.approx((leg(3, 4) + leg(1, 2)) / (25 / 3.6) + leg(4, 1) / (30 / 3.6), abs=0.01)
    assert np.all(np.diag(d) == 0) and np.all(m.snap_m < 1e-6)


def test_walking_ignores_one_way_and_uses_footways(square: Path) -> None:
    """A walker goes C->B directly against the one-way sign, reaches B from G by the footway G-A
    then A-B, and walks at 4.5 km/h, so each value is the sum of the great-circle legs (divided
    by 4.5/3.6 m/s for the time)."""
    g = load_graph(square, profile("walk"))
    names, lon, lat = at(3, 2, 7)
    m = compute_matrices(g, names, lon, lat, {}, max_snap_m=50, largest=False)
    assert m.distance_m[0, 0, 1] == pytest.approx(leg(3, 2), abs=0.5)
    assert m.distance_m[0, 2, 1] == pytest.approx(leg(7, 1) + leg(1, 2), abs=0.5)
    assert m.duration_s[0, 0, 1] == pytest.approx(leg(3, 2) / (4.5 / 3.6), abs=0.01)


def test_unreachable_pair_is_an_error_naming_both_points(square: Path) -> None:
    """The island E-F has no link to the square, so with every component kept (largest=False) A and
    E have no route: an error naming the OSM file, 'no route' and both points, not an infinite
    entry in the matrix."""
    g = load_graph(square, profile("truck"))
    names, lon, lat = at(1, 5)
    with pytest.raises(DataFileError) as exc:
        compute_matrices(g, names, lon, lat, {}, max_snap_m=50, largest=False)
    msg = str(exc.value)
    assert str(square) in msg and "no route" in msg and "n1" in msg and "n5" in msg


def test_largest_component_keeps_points_on_the_connected_network(square: Path) -> None:
    """By default points snap to the largest strongly connected part; E on the island is then over a
    kilometre from it (C is ~1.15 km away), beyond max_snap_m = 200, and the error names the point,
    its coordinates and its distance to the nearest road."""
    g = load_graph(square, profile("truck"))
    names, lon, lat = at(1, 5)
    with pytest.raises(DataFileError, match=r"n5 \(10.01000, 50.01000\) lies .* m from the nearest road"):
        compute_matrices(g, names, lon, lat, {}, max_snap_m=200)


def test_point_beyond_max_snap_is_named(square: Path) -> None:
    """A point 0.3 degrees east (~21 km) of any road is refused by name with its coordinates and the
    max_snap_m limit; the point that snaps fine is not mentioned."""
    g = load_graph(square, profile("truck"))
    with pytest.raises(DataFileError) as exc:
        compute_matrices(g, ["depot", "far"], np.array([10.0, 10.3]), np.array([50.0, 50.0]), {}, max_snap_m=100)
    msg = str(exc.value)
    assert "far (10.30000, 50.00000)" in msg and "max_snap_m = 100" in msg and "depot" not in msg


def test_snapping_distance_is_reported_and_added_as_access_legs(square: Path) -> None:
    """A point 0.0002 degrees (~22 m) south of A snaps to A at that great-circle distance; the
    access leg is added to its distances and driven at the profile's access speed (10 km/h for
    the truck), the A-B leg at 25 km/h."""
    g = load_graph(square, profile("truck"))
    lon = np.array([10.0, 10.002])
    lat = np.array([50.0 - 0.0002, 50.0])  # 22 m south of A
    m = compute_matrices(g, ["a", "b"], lon, lat, {}, max_snap_m=50)
    off = great_circle_m(10.0, 50.0 - 0.0002, 10.0, 50.0)
    assert m.snap_m[0] == pytest.approx(off, rel=1e-3) and m.snap_m[1] < 1e-6
    assert m.distance_m[0, 0, 1] == pytest.approx(off + leg(1, 2), abs=0.5)
    assert m.duration_s[0, 0, 1] == pytest.approx(off / (10 / 3.6) + leg(1, 2) / (25 / 3.6), abs=0.01)


def test_time_of_day_factors_change_travel_times_as_specified(square: Path) -> None:
    """Residential streets at half speed 07:00-09:00 make two periods (7.5 and 8.99 h in the peak; 6
    and 9 h not); B->C, all residential, takes exactly twice as long at 08:00; C->B gains exactly
    its residential legs' free time (the primary is unchanged); hour 32 is 08:00 of day 2;
    distances do not change."""
    g = load_graph(square, profile("truck"))
    names, lon, lat = at(2, 3, 1)
    slow = [1.0] * 24
    slow[7] = slow[8] = 0.5  # residential streets at half speed 07:00-09:00
    factors = {"residential": slow}
    m = compute_matrices(g, names, lon, lat, factors, max_snap_m=50)
    assert m.periods == 2 and m.period(7.5) == m.period(8.99) != m.period(9.0) == m.period(6.0)
    free, peak = m.at_hour(3).duration_s, m.at_hour(8).duration_s
    assert peak[0, 1] == pytest.approx(2 * free[0, 1], rel=1e-6)  # all residential
    res = (leg(3, 4) + leg(1, 2)) / (25 / 3.6)
    assert peak[1, 0] == pytest.approx(free[1, 0] + res, abs=0.01)
    assert m.at_hour(32).duration_s[0, 1] == peak[0, 1]  # day 2, 08:00
    np.testing.assert_allclose(m.at_hour(8).distance_m, m.at_hour(3).distance_m)


def test_peak_factors_can_change_the_fastest_path(tmp_path: Path) -> None:
    """Two routes from A to C: 286 m via B on residential streets (41 s at 25 km/h) or 2 x 264 m via
    D on a primary road (42 s at 45 km/h). Off peak the short one is faster; at 08:00,
    residential speed x 0.3 (137 s), the truck takes the primary road, whose distance and 45 km/h
    time the matrix must then give."""
    nodes = {1: (10.0, 50.0), 2: (10.002, 50.0), 3: (10.004, 50.0), 4: (10.002, 50.002)}
    ways = [(1, [1, 2, 3], {"highway": "residential"}), (2, [1, 4, 3], {"highway": "primary"})]
    p = tmp_path / "two.osm"
    p.write_text(osm_xml(nodes, ways), encoding="utf-8")
    g = load_graph(p, profile("truck"))
    slow = [1.0] * 24
    slow[8] = 0.3
    m = compute_matrices(g, ["a", "c"], np.array([10.0, 10.004]), np.array([50.0, 50.0]),
                         {"residential": slow}, max_snap_m=10)
    short = great_circle_m(10.0, 50.0, 10.004, 50.0)
    long_ = 2 * great_circle_m(10.0, 50.0, 10.002, 50.002)
    assert m.at_hour(3).distance_m[0, 1] == pytest.approx(short, abs=0.5)
    assert m.at_hour(8).distance_m[0, 1] == pytest.approx(long_, abs=0.5)
    assert m.at_hour(8).duration_s[0, 1] == pytest.approx(long_ / (45 / 3.6), abs=0.01)


def test_hour_periods_group_equal_hours() -> None:
    """Hours with the same factors for every class share a period: 'all' slows every class to 0.7 in
    hours 7-9, but residential has its own all-1.0 list that overrides 'all', so there are two
    periods, with factors (1, 1) and (0.7, 1) for (primary, residential)."""
    of_hour, table = hour_periods(("primary", "residential"),
                                  {"all": [1.0] * 7 + [0.7] * 3 + [1.0] * 14, "residential": [1.0] * 24})
    assert of_hour == (0,) * 7 + (1,) * 3 + (0,) * 14
    np.testing.assert_array_equal(table, [[1.0, 1.0], [0.7, 1.0]])


def test_profile_with_no_usable_roads_is_an_error(tmp_path: Path) -> None:
    """A file with only a footway has no road a truck may use: refused saying so for the 'truck'
    profile, while a walker gets the footway in both directions (2 edges)."""
    p = tmp_path / "paths.osm"
    p.write_text(osm_xml(ways=[(15, [7, 1], {"highway": "footway"})]), encoding="utf-8")
    with pytest.raises(DataFileError, match="no road in the file may be used by the 'truck' profile"):
        load_graph(p, profile("truck"))
    assert load_graph(p, profile("walk")).n_edges == 2


@pytest.mark.parametrize("content", [b"\x00\x01 not a pbf", b"<osm><node id='1' lat='x'</osm>"])
def test_corrupt_file_is_an_error_naming_it(tmp_path: Path, content: bytes) -> None:
    """A binary file that is not PBF and a broken XML file are each refused as not a readable
    OpenStreetMap file, naming it, rather than libosmium's exception."""
    p = tmp_path / ("bad.osm.pbf" if content.startswith(b"\x00") else "bad.osm")
    p.write_bytes(content)
    with pytest.raises(DataFileError, match=r"bad\.osm(\.pbf)?: not a readable OpenStreetMap file"):
        read_osm(p)


def test_missing_file_and_file_without_streets(tmp_path: Path) -> None:
    """A missing file is 'file not found'; a file whose only way is a building has no highway-tagged
    way, and says so."""
    with pytest.raises(DataFileError, match="file not found"):
        read_osm(tmp_path / "none.osm.pbf")
    p = tmp_path / "empty.osm"
    p.write_text(osm_xml(ways=[(1, [1, 2], {"building": "yes"})]), encoding="utf-8")
    with pytest.raises(DataFileError, match="no ways tagged 'highway'"):
        read_osm(p)


def test_cache_is_used_and_invalidated_when_the_file_changes(square: Path, tmp_path: Path) -> None:
    """The second identical request is served from the cache with the same arrays; another profile
    is another entry; rewriting the file with the one-way tag removed makes a new entry in which
    C->B is the direct 111 m leg (the cached first answer went round, over twice as far); three
    entries in all."""
    cache = tmp_path / "cache"
    names, lon, lat = at(2, 3)
    first = travel_matrices(square, profile("truck"), names, lon, lat, cache_dir=cache, max_snap_m=50)
    again = travel_matrices(square, profile("truck"), names, lon, lat, cache_dir=cache, max_snap_m=50)
    assert not first.from_cache and again.from_cache
    np.testing.assert_array_equal(first.duration_s, again.duration_s)
    np.testing.assert_array_equal(first.distance_m, again.distance_m)
    # a different profile is another entry
    assert not travel_matrices(square, profile("car"), names, lon, lat, cache_dir=cache, max_snap_m=50).from_cache
    # the one-way street is opened both ways in a new version of the file
    ways = [(w, r, {k: v for k, v in t.items() if k != "oneway"}) for w, r, t in WAYS]
    square.write_text(osm_xml(ways=ways), encoding="utf-8")
    changed = travel_matrices(square, profile("truck"), names, lon, lat, cache_dir=cache, max_snap_m=50)
    assert not changed.from_cache
    assert changed.distance_m[0, 1, 0] == pytest.approx(leg(3, 2), abs=0.5)
    assert first.distance_m[0, 1, 0] > 2 * changed.distance_m[0, 1, 0]
    assert len(list(cache.glob("*.npz"))) == 3


def test_street_network_config_errors_name_the_key(square: Path, tmp_path: Path) -> None:
    """A valid [street_network] table loads its graph (6 truck nodes) and an empty one is disabled;
    each bad value (unreadable or missing file, 23 factors, factor 0, unknown class, speed 400
    km/h, unknown profile, max_snap_m 0) is a validation error naming its key."""
    from pydantic import ValidationError

    from simcity.roads import StreetNetwork

    ok = StreetNetwork.model_validate({"osm_file": str(square), "speed_factors": {"all": [1.0] * 24}})
    assert ok.enabled and ok.graph().n_nodes == 6
    assert not StreetNetwork.model_validate({}).enabled
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"garbage")
    cases = [({"osm_file": str(bad)}, "osm_file: " + str(bad) + ": not a readable OpenStreetMap file"),
             ({"osm_file": str(tmp_path / "none.osm")}, "data file"),
             ({"speed_factors": {"residential": [1.0] * 23}}, "residential: expected 24 factors"),
             ({"speed_factors": {"residential": [0.0] * 24}}, "factors must lie in 0.05..3"),
             ({"speed_factors": {"motorways": [1.0] * 24}}, "speed_factors.motorways"),
             ({"speeds_kmh": {"primary": 400.0}}, "primary: expected a speed in 1..150"),
             ({"profile": "tank"}, "profile"),
             ({"osm_file": str(square), "profile": "truck", "speeds_kmh": {}, "max_snap_m": 0.0}, "max_snap_m")]
    for data, expected in cases:
        with pytest.raises(ValidationError) as exc:
            StreetNetwork.model_validate(data)
        text = str(exc.value)
        assert expected in text, text
