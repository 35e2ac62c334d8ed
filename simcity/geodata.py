"""The planners' own data: point files with longitude/latitude, projected to metres.

A scenario may name CSV or GeoJSON files (paths relative to the scenario file) that hold car
parks, bike stations or drop points.  This module reads them, checks every value, and turns
longitude/latitude into planar metres so the models can keep working in x/y:

* :func:`read_points` - the rows of a CSV file (``lon``/``lat`` columns) or the Point features
  of a GeoJSON file, each with its location (``line 7`` / ``feature 3``) for error messages;
* :class:`Projection` - an azimuthal equidistant projection around an origin (exact distances
  from the origin, well under 0.1 % error between points within ~50 km of it);
* :func:`load_points` - rows validated by the domain's own pydantic component class (a
  ``CarPark``, a ``Station``...), with projected coordinates filled in, so a file row becomes
  exactly what a ``[[city.car_parks]]`` table would have been;
* :func:`load_point_files` - several files of one scenario projected around one common origin;
* :data:`DataPath` - a pydantic field type for "a file path relative to the scenario file";
* :func:`straight_line_matrix` and :func:`load_matrix` - travel distances: straight lines times
  a detour factor, or a distance/duration matrix file the user supplies.

Every problem raises :class:`DataFileError` naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
)

from simcity.domain import repeated

#: mean Earth radius (IUGG), metres; a sphere is accurate to ~0.3 % for city-scale distances
EARTH_RADIUS_M = 6_371_008.8
#: farthest a point may lie from the projection origin before the local projection is refused
MAX_SPAN_M = 500_000.0
#: how many problems one error lists before it stops
MAX_PROBLEMS = 20

#: descriptive columns a file may carry for people; dropped unless the model has the field
INFO_COLUMNS = ("name", "address", "note", "notes", "comment", "district", "名称", "地址", "备注")

LON_NAMES = ("lon", "lng", "long", "longitude")
LAT_NAMES = ("lat", "latitude")

M = TypeVar("M", bound=BaseModel)
ArrayLike = float | Sequence[float] | NDArray[np.float64]


# ---------------------------------------------------------------------------------------
# errors


@dataclass(frozen=True)
class DataProblem:
    """One problem in a data file: where (``line 7`` or ``feature 3``), which column, what."""

    where: str
    column: str | None
    message: str

    def __str__(self) -> str:
        col = f", column {self.column!r}" if self.column else ""
        return f"{self.where}{col}: {self.message}" if self.where else self.message


class DataFileError(ValueError):
    """A data file that cannot be used; :attr:`problems` lists what was found (up to 20)."""

    def __init__(self, file: str | Path, problems: Sequence[DataProblem]) -> None:
        self.file = str(file)
        self.problems = list(problems)
        shown = "; ".join(str(p) for p in self.problems[:MAX_PROBLEMS])
        more = len(self.problems) - MAX_PROBLEMS
        super().__init__(f"{self.file}: {shown}" + (f"; ... and {more} more" if more > 0 else ""))


# ---------------------------------------------------------------------------------------
# reading


@dataclass(frozen=True)
class PointRow:
    """One point read from a file: its location in the file, lon/lat, the other columns."""

    where: str
    lon: float
    lat: float
    fields: dict[str, Any] = field(default_factory=dict)


def _number(text: Any) -> float | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text)
    try:
        return float(str(text).strip())
    except ValueError:
        return None


def _found(raw: Any) -> str:
    return "an empty cell" if raw is None or (isinstance(raw, str) and not raw.strip()) else repr(raw)


def _check_lonlat(where: str, lon_col: str, lat_col: str, lon_raw: Any, lat_raw: Any,
                  problems: list[DataProblem]) -> tuple[float, float] | None:
    lon, lat = _number(lon_raw), _number(lat_raw)
    ok = True
    if lon is None or not math.isfinite(lon) or not -180 <= lon <= 180:
        problems.append(DataProblem(where, lon_col, f"expected a longitude in degrees between -180 and "
                                                    f"180, found {_found(lon_raw)}"))
        ok = False
    if lat is None or not math.isfinite(lat) or not -90 <= lat <= 90:
        hint = ""
        if lat is not None and lon is not None and -90 <= lon <= 90 and -180 <= lat <= 180:
            hint = " (are the longitude and latitude columns swapped?)"
        problems.append(DataProblem(where, lat_col, f"expected a latitude in degrees between -90 and "
                                                    f"90, found {_found(lat_raw)}{hint}"))
        ok = False
    return (lon, lat) if ok and lon is not None and lat is not None else None


def _cell(text: str) -> Any:
    """A CSV cell: JSON for list/table values (``[[7, 22]]``), else the stripped text."""
    t = text.strip()
    if t[:1] in "[{":
        try:
            return json.loads(t)
        except json.JSONDecodeError:
            return t  # the component's validation names the column
    return t


def _find_column(header: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {h.strip().lower(): h for h in header}
    return next((lower[n] for n in names if n in lower), None)


def _read_csv(path: Path, text: str) -> list[PointRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise DataFileError(path, [DataProblem("line 1", None, "the file is empty; expected a header row "
                                                               "with lon and lat columns")])
    dup = sorted(repeated(header))
    if dup:
        raise DataFileError(path, [DataProblem("line 1", None, f"repeated column names {dup}")])
    reader.fieldnames = header
    lon_col, lat_col = _find_column(header, LON_NAMES), _find_column(header, LAT_NAMES)
    missing = [f"{kind} (one of {list(names)})" for kind, names, col in
               (("longitude", LON_NAMES, lon_col), ("latitude", LAT_NAMES, lat_col)) if col is None]
    if missing or lon_col is None or lat_col is None:
        raise DataFileError(path, [DataProblem("line 1", None, f"missing column for {' and '.join(missing)}; "
                                                               f"the header has {header}")])
    rows: list[PointRow] = []
    problems: list[DataProblem] = []
    for rec in reader:
        where = f"line {reader.line_num}"
        if None in rec:  # more cells than header columns
            problems.append(DataProblem(where, None, f"{len(header) + len(rec[None])} cells but the header "
                                                     f"has {len(header)} columns"))
            continue
        if all(v is None or not str(v).strip() for v in rec.values()):
            continue  # a blank line (e.g. at the end of a spreadsheet export)
        ll = _check_lonlat(where, lon_col, lat_col, rec.get(lon_col), rec.get(lat_col), problems)
        # empty cells are absent values: the component's default applies
        fields = {k: _cell(v) for k, v in rec.items()
                  if k not in (lon_col, lat_col) and v is not None and v.strip() != ""}
        if ll is not None:
            rows.append(PointRow(where, ll[0], ll[1], fields))
    if problems:
        raise DataFileError(path, problems)
    return rows


def _read_geojson(path: Path, text: str) -> list[PointRow]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(path, [DataProblem(f"line {exc.lineno}", None, f"not valid JSON: {exc.msg}")]) from None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif isinstance(doc, dict) and doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
        features = doc["features"]
    else:
        raise DataFileError(path, [DataProblem("", None, "expected a GeoJSON FeatureCollection of Point features")])
    rows: list[PointRow] = []
    problems: list[DataProblem] = []
    for i, feat in enumerate(features):
        where = f"feature {i}"
        geom = feat.get("geometry") if isinstance(feat, dict) else None
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            kind = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
            problems.append(DataProblem(where, "geometry", f"expected a Point geometry, found {kind!r}"))
            continue
        coords = geom.get("coordinates")
        if not isinstance(coords, list) or len(coords) < 2:
            problems.append(DataProblem(where, "geometry.coordinates",
                                        f"expected [longitude, latitude], found {coords!r}"))
            continue
        props = feat.get("properties") or {}
        if not isinstance(props, dict):
            problems.append(DataProblem(where, "properties", "expected an object"))
            continue
        ll = _check_lonlat(where, "geometry.coordinates[0]", "geometry.coordinates[1]", coords[0], coords[1],
                           problems)
        fields = {k: v for k, v in props.items() if v is not None}
        if "id" in feat and "id" not in fields:
            fields["id"] = feat["id"]
        if ll is not None:
            rows.append(PointRow(where, ll[0], ll[1], fields))
    if problems:
        raise DataFileError(path, problems)
    return rows


def read_points(path: str | Path) -> list[PointRow]:
    """Read the points of a CSV (``.csv``) or GeoJSON (``.geojson``/``.json``) file.

    CSV: a header row with a longitude column (``lon``, ``lng``, ``long`` or ``longitude``)
    and a latitude column (``lat``/``latitude``), case-insensitive; other columns are kept as
    text in :attr:`PointRow.fields` (empty cells are left out).  A UTF-8 byte-order mark (as
    written by spreadsheet programs) is accepted.  GeoJSON: Point features; ``properties``
    become the fields and a feature's ``id`` is used when the properties have none.

    Raises
    ------
    DataFileError
        Naming the file, the line (CSV) or feature (GeoJSON) and the column.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise DataFileError(p, [DataProblem("", None, "file not found")]) from None
    except OSError as exc:
        raise DataFileError(p, [DataProblem("", None, f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(p, [DataProblem("", None, f"not UTF-8 text (byte {exc.start}); save the file "
                                                      "as UTF-8 CSV")]) from None
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return _read_csv(p, text)
    if suffix in (".geojson", ".json"):
        return _read_geojson(p, text)
    raise DataFileError(p, [DataProblem("", None, f"unknown file type {suffix!r}; expected .csv or .geojson")])


# ---------------------------------------------------------------------------------------
# projection


@dataclass(frozen=True)
class Projection:
    """Spherical azimuthal equidistant projection centred on ``(lon0, lat0)``; x east, y north, metres.

    Distances and bearings from the origin are exact on the sphere; between two points
    within ~50 km of the origin the planar distance is within 0.1 % of the great-circle one,
    far below the uncertainty of a detour factor.  No external projection library is needed.
    """

    lon0: float
    lat0: float

    @classmethod
    def centred_on(cls, rows: Iterable[PointRow]) -> Projection:
        """The projection centred on the median longitude and latitude of ``rows``.

        The median rather than the mean so that one stray point (a typo, a point in the
        wrong city) does not move the centre: it is then the only one reported as too far.
        """
        pts = [(r.lon, r.lat) for r in rows]
        if not pts:
            raise ValueError("no points to centre a projection on")
        lon, lat = np.median(np.asarray(pts, dtype=float), axis=0)
        return cls(float(lon), float(lat))

    def forward(self, lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Longitude/latitude (degrees) to x/y (metres)."""
        lam = np.radians(np.asarray(lon, dtype=float) - self.lon0)
        phi = np.radians(np.asarray(lat, dtype=float))
        phi0 = math.radians(self.lat0)
        cos_c = np.clip(math.sin(phi0) * np.sin(phi) + math.cos(phi0) * np.cos(phi) * np.cos(lam), -1.0, 1.0)
        c = np.arccos(cos_c)
        with np.errstate(invalid="ignore", divide="ignore"):
            k = np.where(c < 1e-12, 1.0, c / np.sin(c))
        x = EARTH_RADIUS_M * k * np.cos(phi) * np.sin(lam)
        y = EARTH_RADIUS_M * k * (math.cos(phi0) * np.sin(phi) - math.sin(phi0) * np.cos(phi) * np.cos(lam))
        return x, y

    def inverse(self, x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """x/y (metres) back to longitude/latitude (degrees)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        rho = np.hypot(x, y)
        c = rho / EARTH_RADIUS_M
        phi0 = math.radians(self.lat0)
        with np.errstate(invalid="ignore", divide="ignore"):
            sin_phi = np.cos(c) * math.sin(phi0) + np.where(rho > 0, y * np.sin(c) * math.cos(phi0) / rho, 0.0)
        phi = np.arcsin(np.clip(sin_phi, -1.0, 1.0))
        lam = np.arctan2(x * np.sin(c), rho * math.cos(phi0) * np.cos(c) - y * math.sin(phi0) * np.sin(c))
        return np.degrees(lam) + self.lon0, np.degrees(phi)


def great_circle_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine formula, same sphere as :class:`Projection`)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


# ---------------------------------------------------------------------------------------
# rows -> the domain's component objects


def to_models(path: str | Path, rows: Sequence[PointRow], model: type[M], projection: Projection, *,
              x_field: str = "x", y_field: str = "y", metres_per_unit: float = 1.0,
              defaults: Mapping[str, Any] | None = None,
              ignore: Collection[str] = INFO_COLUMNS) -> list[M]:
    """Validate each row as ``model`` with its projected position in ``x_field``/``y_field``.

    ``metres_per_unit`` converts metres into the model's unit (1000 for fields in km).
    ``defaults`` fill fields the file does not have.  Columns in ``ignore`` (descriptive ones
    such as ``name`` or ``address``) are dropped unless the model has such a field; any other
    column the model does not know is an error (models forbid extra keys), reported like every
    other problem with its row.
    """
    problems: list[DataProblem] = []
    unknown: set[str] = set()  # an unknown column is reported once, at its first row
    # spreadsheet headers are often capitalised: 'Capacity' fills the field 'capacity'
    fold = {f.lower(): f for f in model.model_fields}
    out: list[M] = []
    xs, ys = projection.forward([r.lon for r in rows], [r.lat for r in rows])
    for r, x, y in zip(rows, xs, ys, strict=True):
        dist = math.hypot(float(x), float(y))
        if dist > MAX_SPAN_M:
            problems.append(DataProblem(r.where, None, f"the point lies {dist / 1000:,.0f} km from the "
                                                       f"centre of the data (limit {MAX_SPAN_M / 1000:,.0f} km); "
                                                       "is it in the right city?"))
            continue
        for clash in (x_field, y_field):
            if clash in r.fields:
                problems.append(DataProblem(r.where, clash, "positions come from lon/lat; remove this column"))
        kept = {fold.get(k.lower(), k): v for k, v in r.fields.items()
                if k in model.model_fields or k not in ignore}
        data = {**(defaults or {}), **kept, x_field: float(x) / metres_per_unit,
                y_field: float(y) / metres_per_unit}
        try:
            # cells are text: lax types here (a "12" cell is 12), still finite and clean
            out.append(model.model_validate(data, strict=False))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                col = ".".join(str(p) for p in err["loc"]) or None
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    if col in unknown:
                        continue
                    unknown.add(str(col))
                    msg = f"unknown column; expected some of {sorted(model.model_fields)}"
                elif err["type"] == "missing":
                    msg = "required column is missing or empty"
                elif "input" in err and not isinstance(err["input"], dict | list):
                    msg += f", found {err['input']!r}"
                problems.append(DataProblem(r.where, col, msg))
    if problems:
        raise DataFileError(path, problems)
    return out


def resolve(path: str | Path, base_dir: str | Path | None) -> Path:
    """``path`` relative to ``base_dir`` (the scenario file's folder) unless absolute."""
    p = Path(path).expanduser()
    return p if p.is_absolute() or base_dir is None else Path(base_dir) / p


def load_points(path: str | Path, model: type[M], *, base_dir: str | Path | None = None,
                projection: Projection | None = None, x_field: str = "x", y_field: str = "y",
                metres_per_unit: float = 1.0, defaults: Mapping[str, Any] | None = None,
                ignore: Collection[str] = INFO_COLUMNS) -> list[M]:
    """Read a point file and return one validated ``model`` per row, positions projected.

    Parameters
    ----------
    path:
        CSV or GeoJSON file; relative paths are taken from ``base_dir``.
    model:
        The domain's component class (e.g. ``CarPark``); the file's columns are its fields.
    projection:
        Default: centred on this file's points.  Use :func:`load_point_files` when a scenario
        has several files that must share one origin.
    x_field, y_field, metres_per_unit:
        Where the model wants the position and in which unit (``"x_km"``, ``"y_km"``, 1000).
    defaults, ignore:
        See :func:`to_models`.
    """
    p = resolve(path, base_dir)
    rows = read_points(p)
    if not rows:
        raise DataFileError(p, [DataProblem("", None, "the file has no points")])
    proj = projection or Projection.centred_on(rows)
    return to_models(p, rows, model, proj, x_field=x_field, y_field=y_field,
                     metres_per_unit=metres_per_unit, defaults=defaults, ignore=ignore)


@dataclass(frozen=True)
class PointFileSpec:
    """One point file of a scenario and the component class its rows become."""

    path: str | Path
    model: type[BaseModel]
    x_field: str = "x"
    y_field: str = "y"
    metres_per_unit: float = 1.0


def load_point_files(specs: Sequence[PointFileSpec], *, base_dir: str | Path | None = None,
                     origin: tuple[float, float] | None = None) -> tuple[Projection, list[list[BaseModel]]]:
    """Load several point files projected around one origin (given, or the median of all points).

    Returns the projection used (store its origin in the scenario so that a resolved scenario
    reproduces the same coordinates) and the models of each file, in order.
    """
    proj, models, _ = _load_point_files(specs, base_dir, origin)
    return proj, models


def _load_point_files(specs: Sequence[PointFileSpec], base_dir: str | Path | None,
                      origin: tuple[float, float] | None
                      ) -> tuple[Projection, list[list[BaseModel]], list[tuple[Path, list[str]]]]:
    """:func:`load_point_files`, also returning each file's path and where each of its rows
    stands (``line 7``, ``feature 3``), in the order of its models."""
    all_rows: list[tuple[Path, list[PointRow]]] = []
    for spec in specs:
        p = resolve(spec.path, base_dir)
        rows = read_points(p)
        if not rows:
            raise DataFileError(p, [DataProblem("", None, "the file has no points")])
        all_rows.append((p, rows))
    if origin is not None:
        proj = Projection(*origin)
    else:
        proj = Projection.centred_on([r for _, rows in all_rows for r in rows])
    models = [to_models(p, rows, spec.model, proj, x_field=spec.x_field, y_field=spec.y_field,
                        metres_per_unit=spec.metres_per_unit)
              for spec, (p, rows) in zip(specs, all_rows, strict=True)]
    return proj, models, [(p, [r.where for r in rows]) for p, rows in all_rows]


@dataclass(frozen=True)
class RowOrigin:
    """Where the entries of a list filled from a data file came from: the file, the ``[city]``
    key that names it, and where each entry's row stands in it (``line 7``, ``feature 3``).
    :func:`expand_point_files` records one per list in the validation context's
    ``"data_rows"`` (keyed by the list's key), so that a problem found later across rows
    (a repeated id) can name the file and row."""

    file: Path
    file_key: str
    rows: tuple[str, ...]


def expand_point_files(data: Any, info: ValidationInfo, files: Mapping[str, tuple[str, PointFileSpec]],
                       origin_key: str = "origin") -> Any:
    """For a ``model_validator(mode="before")`` of a domain's ``City``: fill lists from point files.

    ``files`` maps a file key of the ``[city]`` table to ``(list key, spec)``, e.g.
    ``{"car_parks_file": ("car_parks", PointFileSpec("", CarPark))}`` (the spec's path is
    ignored; the file key's value is used).  Every given file is read and projected around one
    common origin: ``data[origin_key]`` (``[lon, lat]``) when given, else the centre (median) of all
    points, which is then written back to ``data[origin_key]`` so the resolved scenario
    reproduces the same coordinates.  Relative paths are taken from the validation context's
    ``base_dir`` (the scenario file's folder).

    A list given inline as well must be the resolved form of the file (same ids in the same
    order, as in a resolved scenario written with the results); it is then kept as is, so
    overrides such as ``city.car_parks.0.berths`` apply.  Otherwise both is an error.
    """
    if not isinstance(data, dict):
        return data
    given = [(fk, lk, spec) for fk, (lk, spec) in files.items() if data.get(fk) is not None]
    if not given:
        return data
    base = info.context.get("base_dir") if isinstance(info.context, dict) else None
    origin = data.get(origin_key)
    if origin is not None and not (isinstance(origin, list | tuple) and len(origin) == 2
                                   and all(_number(v) is not None for v in origin)):
        raise ValueError(f"{origin_key}: expected [longitude, latitude], found {origin!r}")
    if origin is not None and not (-180 <= float(origin[0]) <= 180 and -90 <= float(origin[1]) <= 90):
        swapped = " (longitude and latitude swapped?)" if abs(float(origin[0])) <= 90 < abs(float(origin[1])) else ""
        raise ValueError(f"{origin_key}: expected [longitude in -180..180, latitude in -90..90], "
                         f"found {list(origin)!r}{swapped}")
    specs = [PointFileSpec(str(data[fk]), spec.model, spec.x_field, spec.y_field, spec.metres_per_unit)
             for fk, _, spec in given]
    try:
        proj, loaded, origins = _load_point_files(
            specs, base, None if origin is None else (float(origin[0]), float(origin[1])))
    except DataFileError as exc:
        # name the [city] key whose file failed, so the scenario error points at that line
        for fk, _, _ in given:
            if Path(str(data[fk])).name == Path(exc.file).name:
                raise ValueError(f"{fk}: {exc}") from exc
        raise
    out = dict(data)
    out[origin_key] = [proj.lon0, proj.lat0]
    data_rows = info.context.setdefault("data_rows", {}) if isinstance(info.context, dict) else {}
    for (fk, lk, _), models, (path, wheres) in zip(given, loaded, origins, strict=True):
        inline = data.get(lk) or []
        if inline:
            ids = [m.get("id") if isinstance(m, dict) else getattr(m, "id", None) for m in inline]
            if ids != [getattr(m, "id", None) for m in models]:
                raise ValueError(f"give {lk} inline or {fk}, not both")
        else:
            out[lk] = models
        data_rows[lk] = RowOrigin(path, fk, tuple(wheres))
    return out


def read_table_file(data: Any, info: ValidationInfo, file_key: str, list_key: str,
                    model: type[BaseModel]) -> Any:
    """For a ``model_validator(mode="before")``: fill ``data[list_key]`` from the CSV table (no
    coordinates) named by ``data[file_key]``, one ``model`` entry per row.

    Cells are given to ``model`` as text-typed values (validated laxly, as point-file rows are);
    where each row stands (``line 7``) is recorded as a :class:`RowOrigin` in the validation
    context's ``"data_rows"``, so every problem of an entry - its own fields, or a cross-row
    check such as an unknown id - is reported at the file's line and column.  A list given
    inline as well must be the resolved form of the file (as many entries as rows).
    """
    if not isinstance(data, dict) or data.get(file_key) is None:
        return data
    base = info.context.get("base_dir") if isinstance(info.context, dict) else None
    path = resolve(str(data[file_key]), base)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{file_key}: {DataFileError(path, [DataProblem('', None, f'cannot read: {exc}')])}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    rows: list[dict[str, Any]] = []
    wheres: list[str] = []
    for rec in reader:
        if all(v is None or not str(v).strip() for v in rec.values()):
            continue
        entry = {k: _cell(v) for k, v in rec.items() if k is not None and v is not None and v.strip() != ""}
        if None in rec:
            entry["<extra cells>"] = rec[None]
        rows.append(entry)
        wheres.append(f"line {reader.line_num}")
    inline = data.get(list_key) or []
    if inline and len(inline) != len(rows):
        raise ValueError(f"give {list_key} inline or {file_key}, not both")
    out = dict(data)
    if not inline:
        # lax types for text cells: "12" fills an integer field; the model still bounds it
        out[list_key] = [_lax(model, r) for r in rows]
    data_rows = info.context.setdefault("data_rows", {}) if isinstance(info.context, dict) else {}
    data_rows[list_key] = RowOrigin(path.resolve(), file_key, tuple(wheres))
    return out


def _lax(model: type[BaseModel], row: dict[str, Any]) -> Any:
    """``row`` as a ``model`` when its text cells validate laxly; else the row itself, so that
    the strict validation of the list reports each problem at its key (and so at its line)."""
    try:
        return model.model_validate(row, strict=False)
    except ValidationError:
        return {k: _typed(v) for k, v in row.items()}


def _typed(v: Any) -> Any:
    """A text cell as the number it spells (``"12"`` -> 12, ``"1.5"`` -> 1.5), else as is."""
    if not isinstance(v, str):
        return v
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


# ---------------------------------------------------------------------------------------
# a pydantic field type: a data file path relative to the scenario file


def _path_from_text(value: Any) -> Any:
    # a path is written as a string (strict validation wants a Path); anything else is rejected
    # by the field
    if isinstance(value, str):
        if not value.strip() or "\x00" in value:
            raise ValueError(f"expected the path of a data file, found {value!r}")
        return Path(value)
    return value


def _resolve_in_context(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir") if isinstance(info.context, dict) else None
    p = resolve(value, base).resolve()
    if not p.is_file():
        where = f" (relative to {base})" if base is not None and not Path(value).is_absolute() else ""
        raise ValueError(f"data file {str(value)!r} not found{where}")
    return p


#: A field holding the path of an existing data file.  Relative paths are taken from the
#: scenario file's folder (``load_scenario`` passes it as the validation context ``base_dir``)
#: and stored absolute, so a resolved scenario written elsewhere still finds the file.
DataPath = Annotated[Path, BeforeValidator(_path_from_text), AfterValidator(_resolve_in_context),
                     PlainSerializer(str, return_type=str)]


# ---------------------------------------------------------------------------------------
# travel distances


def straight_line_matrix(x: ArrayLike, y: ArrayLike, detour: float = 1.0) -> NDArray[np.float64]:
    """Road distances approximated as ``detour`` times the straight line (same unit as x/y)."""
    if not detour >= 1.0:
        raise ValueError(f"detour factor must be >= 1 (roads are never shorter than the straight line), "
                         f"got {detour}")
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    return detour * np.hypot(xa[:, None] - xa[None, :], ya[:, None] - ya[None, :])


@dataclass(frozen=True)
class TravelMatrix:
    """Distances (metres) and optionally durations (seconds) between ``ids``, in that order."""

    ids: tuple[str, ...]
    distance_m: NDArray[np.float64]
    duration_s: NDArray[np.float64] | None


def load_matrix(path: str | Path, ids: Sequence[str], *, base_dir: str | Path | None = None,
                symmetric: bool = False) -> TravelMatrix:
    """Read a user-supplied travel matrix in long CSV form.

    Columns ``from``, ``to``, ``distance_m`` and optionally ``duration_s``; one row per ordered
    pair of distinct ids (the diagonal is zero).  With ``symmetric=True`` a pair may be given in
    one direction only.  Every pair among ``ids`` must be present; ids that are not in ``ids``
    are errors (a typo would otherwise silently drop a road).
    """
    p = resolve(path, base_dir)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise DataFileError(p, [DataProblem("", None, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(p, [DataProblem("", None, f"cannot read the file as UTF-8 text: {exc}")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    need = ["from", "to", "distance_m"]
    missing = [c for c in need if c not in header]
    if missing:
        raise DataFileError(p, [DataProblem("line 1", None, f"missing columns {missing}; the header has {header}")])
    has_dur = "duration_s" in header
    index = {k: i for i, k in enumerate(ids)}
    n = len(ids)
    dist = np.full((n, n), np.nan)
    dur = np.full((n, n), np.nan) if has_dur else None
    np.fill_diagonal(dist, 0.0)
    if dur is not None:
        np.fill_diagonal(dur, 0.0)
    problems: list[DataProblem] = []
    for rec in reader:
        where = f"line {reader.line_num}"
        a, b = (rec.get("from") or "").strip(), (rec.get("to") or "").strip()
        ok = True
        for col, v in (("from", a), ("to", b)):
            if v not in index:
                problems.append(DataProblem(where, col, f"unknown id {v!r}"))
                ok = False
        cols = [("distance_m", dist)] + ([("duration_s", dur)] if dur is not None else [])
        vals: list[float] = []
        for col, _ in cols:
            v = _number(rec.get(col))
            if v is None or not math.isfinite(v) or v < 0:
                problems.append(DataProblem(where, col, f"expected a number >= 0, found {rec.get(col)!r}"))
                ok = False
            else:
                vals.append(v)
        if not ok or a == b:
            continue
        i, j = index[a], index[b]
        for (_, arr), v in zip(cols, vals, strict=True):
            assert arr is not None
            arr[i, j] = v
            if symmetric and np.isnan(arr[j, i]):
                arr[j, i] = v
    if problems:
        raise DataFileError(p, problems)
    gaps = np.argwhere(np.isnan(dist))
    if gaps.size:
        pairs = [f"{ids[i]}->{ids[j]}" for i, j in gaps[:5]]
        raise DataFileError(p, [DataProblem("", "distance_m", f"{len(gaps)} pairs have no distance, e.g. {pairs}")])
    if dur is not None and np.isnan(dur).any():
        raise DataFileError(p, [DataProblem("", "duration_s", "some pairs have a distance but no duration")])
    return TravelMatrix(tuple(ids), dist, dur)
