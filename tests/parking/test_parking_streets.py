"""Parking on a real street network (``[city.roads] osm_file``, issue 19 deliverable 3, parking
part): drivers cruise between their zone's options on the car network and walk on the walk
network; the shipped Helsinki demonstration end to end; located errors for far places and for
keys parking does not use."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import simcity
from simcity.geodata import Projection, great_circle_m
from simcity.parking.layout import build_layout, street_distances
from tests.garbage.test_garbage_streets import _validate  # validate exits 2; stdout + stderr

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "parking_helsinki_streets.toml"
OSM = ROOT / "scenarios" / "data" / "osm" / "helsinki_centre.osm.pbf"


def _straight_m(city: object, xy_a: np.ndarray, xy_b: np.ndarray) -> np.ndarray:
    proj = Projection(*city.origin)  # type: ignore[attr-defined]
    lon_a, lat_a = proj.inverse(xy_a[:, 0], xy_a[:, 1])
    lon_b, lat_b = proj.inverse(xy_b[:, 0], xy_b[:, 1])
    return np.array([[great_circle_m(a, b, c, d) for c, d in zip(lon_b, lat_b, strict=True)]
                     for a, b in zip(lon_a, lat_a, strict=True)])


def test_choice_sets_and_distances_come_from_the_streets() -> None:
    """Each zone's options are exactly its nearest facilities by the walk on the streets (up to
    choice_set_size, within max_walk_m, nearest first), its walking distances are those walks,
    and the cruising leg from option a to option b is the car network's a -> b distance. Every
    walk and drive is at least the great-circle distance between the two places (no path is
    shorter than the straight line), the walks are longer on average, and one-way streets
    make some cruising legs differ by direction."""
    sc = simcity.load_scenario(SCENARIO)
    city = sc.city  # type: ignore[attr-defined]
    lay = build_layout(city, sc.policy_list[0], sc.horizon_hours)
    drive, walk = street_distances(city)
    facs = [*city.car_parks, *city.kerb_segments]
    F, K = len(facs), lay.opts.shape[1]
    zone_walk = walk[F:, :F]
    for z in range(len(city.zones)):
        d = zone_walk[z]
        expected = [int(f) for f in np.argsort(d, kind="stable")[:K] if d[f] <= city.behaviour.max_walk_m]
        got = [int(f) for f in lay.opts[z] if f >= 0]
        assert got == expected, z
        assert lay.walk_m[z, : len(got)].tolist() == pytest.approx(d[got].tolist())
        for a, fa in enumerate(got):
            for b, fb in enumerate(got):
                assert lay.cruise_m[z, a, b] == pytest.approx(max(drive[fa, fb], city.behaviour.min_cruise_m))
    fxy = np.array([[f.x, f.y] for f in facs])
    zxy = np.array([[zn.x, zn.y] for zn in city.zones])
    straight = _straight_m(city, zxy, fxy)
    assert np.all(zone_walk >= straight - 0.5)
    assert float((zone_walk / straight).mean()) > 1.1
    off = ~np.eye(F, dtype=bool)
    assert np.all(drive[off] >= _straight_m(city, fxy, fxy)[off] - 0.5)
    assert np.abs(drive - drive.T).max() > 10.0


def test_helsinki_demonstration_runs_end_to_end() -> None:
    """One replication of both policies on the real extract: drivers park, cruise and walk
    (every distance metric positive), and the tables carry both policies."""
    sc = simcity.load_scenario(SCENARIO).with_overrides({"replications": 1})
    wide = simcity.compare(sc, jobs=1).wide().set_index("policy")
    assert list(wide.index) == ["tiered_kerb", "flat_kerb"]
    assert (wide["sessions"] > 500).all()
    assert (wide["walk_m"] > 0).all() and (wide["cruise_m"] > 0).all()


def _scenario(tmp_path: Path, *edits: tuple[str, str]) -> tuple[Path, str]:
    text = SCENARIO.read_text(encoding="utf-8").replace('"data/osm/helsinki_centre.osm.pbf"', f'"{OSM.as_posix()}"')
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path, text


def _line(text: str, needle: str, nth: int = 0) -> int:
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    return text[:at].count("\n") + 1


def test_a_car_park_off_the_extract_is_located_and_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Car park P3 moved 3 km east lies off the extract: the error is at the line of its table,
    names the car park, its position, the car profile and the file; exit status 2."""
    path, text = _scenario(tmp_path, ("x = 300.0\ny = 300.0", "x = 3300.0\ny = 300.0"))
    out = _validate(path, capsys)
    line = _line(text, "[[city.car_parks]]", 2)
    assert re.search(rf"{re.escape(str(path))}:{line}: city\.car_parks\.2: car park 'P3' \(\d+\.\d+, 60\.\d+\) "
                     r"lies [\d,]+ m from the nearest road the 'car' profile may use in .*helsinki_centre\.osm\.pbf",
                     out), out


def test_a_zone_off_the_walk_network_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Zone Z8 moved 2 km north is off the walk network: the error names the zone under its
    key city.zones.7 and the walk profile; exit status 2."""
    path, _ = _scenario(tmp_path, ("x = 350.0\ny = 500.0", "x = 350.0\ny = 2500.0"))
    out = _validate(path, capsys)
    assert re.search(r"city\.zones\.7: zone 'Z8' .* lies [\d,]+ m from the nearest road the 'walk' profile", out), out


@pytest.mark.parametrize("key", ["speed_factors", "speeds_kmh"])
def test_keys_parking_does_not_use_are_refused(key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Parking takes only street distances (cruising runs at behaviour.cruise_speed_kmh), so
    speed factors or speeds in its roads table would be silently ignored; they are refused at
    the line of the key, naming it and the reason."""
    value = "{ all = " + str([1.0] * 24) + " }" if key == "speed_factors" else "{ primary = 30.0 }"
    path, text = _scenario(tmp_path, ("max_snap_m = 150.0", f"max_snap_m = 150.0\n{key} = {value}"))
    out = _validate(path, capsys)
    assert f"p.toml:{_line(text, key + ' = ')}: city.roads.{key}: not used by parking" in out, out
