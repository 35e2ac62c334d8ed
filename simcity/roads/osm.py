"""Reading an OpenStreetMap extract (``.osm.pbf`` or ``.osm`` XML) offline with pyosmium.

Only what routing needs is kept: every way with a ``highway`` tag (its node sequence and the
tags that decide access, direction and speed) and the locations of its nodes.  Nodes outside
the extract (a way cut at the border) are left out, and the way is split there.

pyosmium (the Python binding of libosmium, maintained by the OSM developers) reads both file
formats in C++ and applies the ``highway`` filter before Python sees an object, so a city
file of several hundred thousand nodes reads in about a second.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
from numpy.typing import NDArray

from simcity.geodata import DataFileError, DataProblem

#: the tags a profile reads; the others are dropped while reading
KEPT_TAGS = ("highway", "oneway", "oneway:bicycle", "junction", "maxspeed", "access", "vehicle",
             "motor_vehicle", "motorcar", "hgv", "goods", "bicycle", "foot", "area", "cycleway",
             "cycleway:left", "cycleway:right", "cycleway:both", "name")
SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")


@dataclass(frozen=True, eq=False)
class OsmWay:
    """One way: its OSM id, node indices into :class:`OsmData` (-1: not in the extract), tags."""

    id: int
    nodes: NDArray[np.int64]
    tags: dict[str, str]


@dataclass(frozen=True, eq=False)
class OsmData:
    """The highway ways of an extract and their nodes' locations."""

    path: Path
    #: SHA-256 of the file's bytes (caches are keyed by it)
    digest: str
    node_ids: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    ways: tuple[OsmWay, ...]


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _problem(path: Path, message: str) -> DataFileError:
    return DataFileError(path, [DataProblem("", None, message)])


def read_osm(path: str | Path) -> OsmData:
    """Read the highway ways of an OSM extract.

    Raises
    ------
    DataFileError
        The file is missing, unreadable, not an OSM file, or has no highway ways.
    """
    p = Path(path)
    if not p.is_file():
        raise _problem(p, "file not found")
    if not p.name.lower().endswith(SUFFIXES):
        raise _problem(p, f"unknown file type; expected an OpenStreetMap extract ({', '.join(SUFFIXES)})")
    try:
        digest = file_digest(p)
    except OSError as exc:
        raise _problem(p, f"cannot read the file: {exc.strerror or exc}") from None
    index: dict[int, int] = {}
    lon: list[float] = []
    lat: list[float] = []
    ways: list[OsmWay] = []
    try:
        fp = (osmium.FileProcessor(str(p), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations().with_filter(osmium.filter.KeyFilter("highway")))
        for obj in fp:
            if not isinstance(obj, osmium.osm.Way):
                continue
            refs = []
            for nd in obj.nodes:
                loc = nd.location
                if not loc.valid():
                    refs.append(-1)
                    continue
                k = index.get(nd.ref)
                if k is None:
                    k = index[nd.ref] = len(lon)
                    lon.append(loc.lon)
                    lat.append(loc.lat)
                refs.append(k)
            tags = {t.k: t.v for t in obj.tags if t.k in KEPT_TAGS}
            ways.append(OsmWay(int(obj.id), np.asarray(refs, dtype=np.int64), tags))
    except RuntimeError as exc:  # libosmium's parse errors
        raise _problem(p, f"not a readable OpenStreetMap file: {exc}") from None
    if not ways:
        raise _problem(p, "the file has no ways tagged 'highway' (no streets to route on); is it an "
                          "OpenStreetMap extract of the city?")
    return OsmData(p, digest, np.fromiter(index.keys(), dtype=np.int64, count=len(index)),
                   np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), tuple(ways))


_LOADED: OrderedDict[tuple[str, int, int], OsmData] = OrderedDict()


def load_osm(path: str | Path) -> OsmData:
    """:func:`read_osm`, remembered per process while the file's size and time stamp stay the
    same (a scenario's validation and its runs read the file once)."""
    p = Path(path).resolve()
    try:
        st = p.stat()
    except OSError:
        return read_osm(p)
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _LOADED:
        _LOADED[key] = read_osm(p)
        while len(_LOADED) > 2:
            _LOADED.popitem(last=False)
    _LOADED.move_to_end(key)
    return _LOADED[key]


def forget_files() -> None:
    """Drop the files remembered by :func:`load_osm`."""
    _LOADED.clear()
