"""Scenario files: TOML, validated by pydantic, immutable once loaded.

A scenario file describes one city setting (``[city]``, validated by the domain's ``City``
model), the policies to compare (``[[policies]]``, the first is the baseline), the number of
replications, the seed, the horizon and the metrics to report.  :func:`load_scenario` reads
and validates a file and raises :class:`ScenarioError` carrying *every* problem at once, each
located as ``FILE:LINE: dotted.key.path: what was expected, what was found``.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import tomli_w
from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from simcity import domains
from simcity.domain import CleanProse, CleanText, Domain, PolicyBase, StrictModel, repeated
from simcity.geodata import RowOrigin
from simcity.specs import SelectionSpec, SweepSpec
from simcity.tomlpos import MAX_NESTING, key_lines, line_of, nesting_too_deep

# ---------------------------------------------------------------------------------------
# errors


@dataclass(frozen=True)
class Problem:
    """One problem found in a scenario file."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        # one problem, one line: a value quoted in the message may hold a line break
        msg = self.message.replace("\r", "\\r").replace("\n", "\\n")
        return f"{where}: {self.path}: {msg}" if self.path else f"{where}: {msg}"


class ScenarioError(Exception):
    """A scenario file that cannot be used; :attr:`problems` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# ---------------------------------------------------------------------------------------
# the schema


class ScenarioBase(StrictModel):
    """Fields every scenario file has, whatever the domain."""

    model: str = Field(description="The simulation domain: 'parking', 'garbage' or 'bikes'.")
    name: CleanText = Field(
        min_length=1,
        max_length=120,
        description="Short name of the scenario, used in reports and result folder names.",
    )
    description: CleanProse = Field("", max_length=5000, description="What the scenario studies.")
    seed: int = Field(
        ge=0, le=2**63 - 1, description="Master seed; with the replication index it fixes every random input."
    )
    replications: int = Field(
        ge=1, le=100_000, description="Independent replications per policy (at least 2 for confidence intervals)."
    )
    horizon_hours: float = Field(
        gt=0, le=24 * 366, description="Simulated time per replication, in hours (warm-up included)."
    )
    warmup_hours: float = Field(
        0.0, ge=0, description="Initial hours excluded from statistics (the system fills up)."
    )
    confidence: float = Field(
        0.95, gt=0.5, lt=1.0, description="Confidence level of the intervals in the summary."
    )
    metrics: list[CleanText] | None = Field(
        None, description="The metrics to report, a subset of the domain's; all of them when omitted."
    )
    headline: list[CleanText] | None = Field(
        None, description="The metrics the report's verdict weighs, policy against baseline; when omitted, "
        "every reported metric with a direction (lower or higher is better)."
    )
    # -- experiments at scale (simcity.sweep, simcity.selection; owned by issue 7) --
    sweep: SweepSpec | None = Field(
        None, description="Parameters to vary for 'simcity sweep' (grid or Latin hypercube)."
    )
    selection: SelectionSpec | None = Field(
        None, description="Settings of 'simcity select': metric, goal, indifference zone, confidence."
    )

    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> ScenarioBase:
        # "key: message" locates the message at that key (see _problems_from_validation)
        if self.warmup_hours >= self.horizon_hours:
            raise ValueError(f"warmup_hours: must be smaller than horizon_hours ({self.horizon_hours}); "
                             f"found {self.warmup_hours}")
        policies: list[PolicyBase] = getattr(self, "policies", [])
        names = [p.name for p in policies]
        for dup in repeated(names):
            second = [i for i, n in enumerate(names) if n == dup][1]
            raise ValueError(f"policies.{second}.name: policy names must be unique; {dup!r} is used twice")
        return self

    @field_validator("metrics", "headline")
    @classmethod
    def _unique_metrics(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and repeated(v):
            raise ValueError(f"metrics must not repeat a name; repeated: {repeated(v)}")
        return v

    # -- convenience for researchers -----------------------------------------------------

    @property
    def domain(self) -> Domain:
        """The domain model this scenario runs."""
        return domains.get(self.model)

    @property
    def policy_list(self) -> list[PolicyBase]:
        """The policies, baseline first."""
        return list(getattr(self, "policies"))  # noqa: B009 - declared by the domain subclass

    @property
    def policy_names(self) -> list[str]:
        """Policy names, baseline first."""
        return [p.name for p in self.policy_list]

    @property
    def baseline(self) -> str:
        """Name of the baseline policy (the first one)."""
        return self.policy_names[0]

    @property
    def reported_metrics(self) -> list[str]:
        """The metrics to report, in the domain's order unless the scenario gives an order."""
        return list(self.metrics) if self.metrics else [m.name for m in self.domain.metrics]

    @property
    def source(self) -> Path | None:
        """The file the scenario was loaded from, if any."""
        return self._source

    def with_overrides(self, overrides: Mapping[str, Any]) -> ScenarioBase:
        """A new, re-validated scenario with dotted-path overrides applied.

        >>> from pathlib import Path
        >>> import simcity
        >>> s = simcity.load_scenario(Path(simcity.__file__).parents[1] / "scenarios" / "parking_liangxi.toml")
        >>> s2 = s.with_overrides({"replications": 5, "city.car_parks.0.berths": 300})
        >>> s2.replications, s2.city.car_parks[0].berths
        (5, 300)
        >>> s.replications == s2.replications  # the scenario itself is immutable
        False

        List items are addressed by index; a key ``policies.NAME.field`` also addresses a
        policy by name.  Raises :class:`ScenarioError` when the result is invalid.
        """
        data = self.model_dump(mode="python")
        for dotted, value in overrides.items():
            _set_path(data, dotted, value)
        text = None
        if self._source is not None:  # locate problems at the keys of the file overridden
            try:
                text = self._source.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError):
                text = None
        return validate_data(data, source=str(self._source or "<overrides>"), text=text,
                             base_dir=self._source.parent if self._source else None)

    def to_toml(self) -> str:
        """The resolved scenario (every default filled in) as TOML text that loads back."""
        return tomli_w.dumps(_strip_none(self.model_dump(mode="json")))

    def data_files(self) -> dict[str, Path]:
        """Every data file the scenario reads, by dotted key (``city.points_file``): the fields
        holding a path (:data:`simcity.geodata.DataPath`, stored absolute)."""
        found: dict[str, Path] = {}

        def walk(value: Any, where: str) -> None:
            if isinstance(value, Path):
                found[where] = value
            elif isinstance(value, BaseModel):
                for name in type(value).model_fields:
                    walk(getattr(value, name), f"{where}.{name}" if where else name)
            elif isinstance(value, list | tuple):
                for i, v in enumerate(value):
                    walk(v, f"{where}.{i}")

        walk(self, "")
        return found

    def portable_toml(self, data_dir: str = "data") -> tuple[str, dict[str, Path]]:
        """The resolved scenario for a results folder: :meth:`to_toml` with every data file
        named ``<data_dir>/<file name>`` relative to the folder, and ``{that relative name:
        the file to copy there}``.  Loaded from the folder (``simcity compare DIR/scenario.toml``)
        it reads the copies, so the folder runs again on another machine or in another directory."""
        data = _strip_none(self.model_dump(mode="json"))
        copies: dict[str, Path] = {}
        for dotted, path in self.data_files().items():
            rel = next((r for r, p in copies.items() if p == path), None)
            if rel is None:
                rel, k = f"{data_dir}/{path.name}", 1
                while rel in copies:
                    k += 1
                    rel = f"{data_dir}/{k}-{path.name}"
                copies[rel] = path
            _set_path(data, dotted, rel)
        return tomli_w.dumps(data), copies

    def to_json(self) -> str:
        """The resolved scenario as JSON text."""
        return json.dumps(self.model_dump(mode="json"), indent=2)


def _strip_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_strip_none(v) for v in obj]
    return obj


def _list_index(entries: list[Any], key: str) -> int:
    """Index of the list entry ``key`` names: a position, or the ``name``/``id`` of an entry
    (-1 when there is none) - how dotted paths address policies and list items."""
    if key.isdigit():
        return int(key)
    return next((j for j, e in enumerate(entries) if isinstance(e, dict) and key in (e.get("name"), e.get("id"))), -1)


def _walk(data: Any, dotted: str) -> tuple[list[str], Any]:
    """Follow the dotted path (as in :meth:`ScenarioBase.with_overrides`) into the plain scenario
    data: the keys with list entries as positions, and the value; ``KeyError(key)`` naming the
    first key that is not there."""
    cur = data
    keys: list[str] = []
    for key in dotted.split("."):
        if isinstance(cur, list):
            idx = _list_index(cur, key)
            if not 0 <= idx < len(cur):
                raise KeyError(key)
            cur = cur[idx]
            keys.append(str(idx))
        elif isinstance(cur, dict) and key in cur:
            cur = cur[key]
            keys.append(key)
        else:
            raise KeyError(key)
    return keys, cur


def lookup(data: Any, dotted: str) -> Any:
    """The value at the dotted path of the plain scenario data ``data``; ``KeyError(key)`` naming
    the first key that is not there."""
    return _walk(data, dotted)[1]


def positional_path(data: Any, dotted: str) -> str:
    """The dotted path with list entries named by ``name``/``id`` turned into positions, as far
    as it exists in ``data`` (``policies.flat-price.x`` -> ``policies.2.x``); the rest as written."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        try:
            keys, _ = _walk(data, ".".join(parts[:n]))
        except KeyError:
            continue
        return ".".join([*keys, *parts[n:]])
    return dotted


def parse_set(text: str) -> tuple[str, Any]:
    """A command-line override ``dotted.key=VALUE``: the key and the value read as a TOML value
    (``5``, ``0.9``, ``true``, ``"text"``, ``[1, 2]``, ``{a = 1}``), or as plain text when it is
    not one (``--set policies.0.tariff=flat``).  ``ValueError`` when there is no ``=`` or no key."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not k for k in key.split(".")):
        raise ValueError(f"expected dotted.key=VALUE (e.g. policies.0.fleet_scale=0.9), found {text!r}")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key, parsed


def apply_sets(scenario: ScenarioBase, sets: Sequence[tuple[str, Any]], texts: Sequence[str] | None = None) -> ScenarioBase:
    """``scenario`` with command-line overrides ``(dotted key, value)`` applied
    (:meth:`ScenarioBase.with_overrides`) and validated exactly as the file is; each problem is
    located at the ``--set`` that caused it (``--set policies.0.fleet_scale=9: policies.0.fleet_scale:
    ...``; ``texts`` are the options as typed).  Raises :class:`ScenarioError`."""
    if not sets:
        return scenario
    labels = [f"--set {t}" for t in texts] if texts is not None else [f"--set {k}={v!r}" for k, v in sets]
    data = scenario.model_dump(mode="python")
    where = [positional_path(data, k) for k, _ in sets]

    def owner(path: str) -> str:
        # the --set whose key is the problem's key, lies under it or above it; else all of them
        for label, key in zip(labels, where, strict=True):
            if path == key or path.startswith(key + ".") or key.startswith(path + ".") or not path:
                return label
        return " ".join(labels)

    for (key, value), label in zip(sets, labels, strict=True):
        try:
            _set_path(data, key, value)
        except ScenarioError as exc:
            raise ScenarioError([Problem(label, None, key, p.message) for p in exc.problems]) from None
    try:
        src = scenario.source
        return validate_data(data, source=str(src or "<--set>"), base_dir=src.parent if src else None)
    except ScenarioError as exc:
        raise ScenarioError([Problem(owner(p.path), None, p.path, p.message) for p in exc.problems]) from None


def _set_path(data: Any, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    cur = data
    for i, key in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(cur, list):
            idx = _list_index(cur, key)
            if not 0 <= idx < len(cur):
                raise ScenarioError([Problem("<overrides>", None, dotted, f"no list entry {key!r}")])
            if last:
                cur[idx] = value
            else:
                cur = cur[idx]
        elif isinstance(cur, dict):
            if last:
                cur[key] = copy.deepcopy(value)
            else:
                if key not in cur or cur[key] is None:
                    cur[key] = {}
                cur = cur[key]
        else:
            raise ScenarioError([Problem("<overrides>", None, dotted, f"{key!r} is not inside a table or list")])


@cache
def scenario_class(domain_name: str) -> type[ScenarioBase]:
    """The pydantic model of scenario files for one domain."""
    dom = domains.get(domain_name)
    # Types built at run time: typed as Any so every pydantic/mypy pairing accepts them.
    tag: Any = Literal[dom.name]  # type: ignore[valid-type]
    policies: Any = list[dom.Policy]  # type: ignore[name-defined]
    cls = create_model(
        f"{dom.name.capitalize()}Scenario",
        __base__=ScenarioBase,
        __doc__=f"A scenario file for the {dom.title} model.",
        model=(tag, Field(description="The simulation domain of this scenario.")),
        city=(dom.City, Field(description=f"The city setting ({dom.title}).")),
        policies=(policies, Field(min_length=1, description="Policies to compare; the first is the baseline.")),
    )

    @model_validator(mode="after")
    def _metrics_known(self: ScenarioBase) -> ScenarioBase:
        if self.metrics:
            known = [m.name for m in dom.metrics]
            bad = [m for m in self.metrics if m not in known]
            if bad:
                raise ValueError(f"metrics.{self.metrics.index(bad[0])}: unknown metrics {bad}; "
                                 f"the {dom.name} model reports {known}")
        if self.headline:
            reported = self.reported_metrics
            bad = [m for m in self.headline if m not in reported]
            if bad:
                raise ValueError(f"headline.{self.headline.index(bad[0])}: {bad} are not among the "
                                 f"reported metrics {reported}")
        return self

    final = create_model(cls.__name__, __base__=cls,
                         __validators__={"_metrics_known": _metrics_known})  # type: ignore[dict-item]
    # Make the class importable as simcity.scenario.<Name> so scenarios pickle by reference
    # (process pools, Dask); the module-level __getattr__ below rebuilds it in a fresh process.
    final.__module__ = __name__
    final.__qualname__ = final.__name__
    return final


def __getattr__(name: str) -> type[ScenarioBase]:
    # ``from simcity.scenario import X`` asks for ``__path__``: answer dunders without building
    # (and importing) every domain's scenario class
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for dom in domains.available():
        cls = scenario_class(dom)
        if cls.__name__ == name:
            return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files for every installed domain (for editor completion)."""
    classes = [scenario_class(n) for n in domains.available()]
    if not classes:
        raise RuntimeError("no simulation domain is installed")
    union: Any = Union[tuple(classes)]  # type: ignore[valid-type]  # noqa: UP007
    tagged: Any = Annotated[union, Field(discriminator="model")]
    adapter: TypeAdapter[Any] = TypeAdapter(tagged)
    schema = adapter.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "simcity scenario file"
    return schema


# ---------------------------------------------------------------------------------------
# loading


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
_KEY_PREFIX = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*): (.+)$", re.S)


def _describe_input(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


#: keys an earlier version of the schema had, and what they are called now (one name for one
#: quantity across domains, issue 17)
_RENAMED = {"circuity": "road_detour"}


def _key_path(dotted: str) -> list[str | int]:
    """``"fleets.0.depot"`` as a key path (list positions as integers, as :func:`key_lines` has them)."""
    return [int(k) if k.isdigit() else k for k in dotted.split(".")]


def validation_problems(exc: ValidationError, file: str = "") -> list[Problem]:
    """The problems of a validation outside a scenario file (settings given as options), keyed and
    worded as in a scenario file's messages (no pydantic prefixes; a validator's ``key: message``
    located at that key)."""
    return _problems_from_validation(exc, file, None)


def _problems_from_validation(exc: ValidationError, file: str, lines: dict[Any, int] | None,
                              data_rows: Mapping[str, RowOrigin] | None = None) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        # tagged-union and function validators insert non-key entries; keep real keys only
        path: list[str | int] = [p for p in loc if isinstance(p, int)
                                 or (isinstance(p, str) and not p.startswith("function-"))]
        kind = err["type"]
        too_many = _too_many_rows(err, path, data_rows, file, lines)
        if too_many is not None:
            problems.append(too_many)
            continue
        if kind == "extra_forbidden" and path and path[-1] in _RENAMED:
            msg = f"unknown key: renamed to {_RENAMED[str(path[-1])]!r}"
        elif kind == "extra_forbidden":
            msg = "unknown key (not part of the schema; check the spelling)"
        elif kind == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"]
            for prefix in ("Value error, ", "Assertion failed, "):
                msg = msg.removeprefix(prefix)
            # A validator may locate its message under a key of the table it checks by
            # starting it with "key: " (as Domain.validate_policy does); honour that when
            # the key is really there.
            m = _KEY_PREFIX.match(msg)
            inp = err.get("input")
            if kind == "value_error" and m and isinstance(inp, dict) and m.group(1).split(".")[0] in inp:
                path = [*path, *_key_path(m.group(1))]
                msg = m.group(2)
            elif "input" in err and not isinstance(err["input"], dict | list):
                msg += f"; found {_describe_input(err['input'])}"
        # a cross-row problem of entries read from a data file ("car_parks.8.id: ..." on a
        # [city] whose input named car_parks_file) is located in that file
        m = _KEY_PREFIX.match(msg) if data_rows else None
        in_file = _in_data_file([*path, *_key_path(m.group(1))], m.group(2), data_rows, file, lines) if m else None
        problems.append(in_file or _in_data_file(path, msg, data_rows, file, lines)
                        or Problem(file, _line(lines, path), ".".join(str(p) for p in path), msg))
    return problems


def _too_many_rows(err: Any, path: Sequence[str | int], data_rows: Mapping[str, RowOrigin] | None,
                   file: str, lines: dict[Any, int] | None) -> Problem | None:
    """A list filled from a data file that has more entries than the schema allows, located in
    that file at the first row over the limit (or, for a GeoJSON feature, named in the message
    at the scenario line of the key that names the file)."""
    if err["type"] != "too_long" or not path or not isinstance(path[-1], str):
        return None
    origin = (data_rows or {}).get(path[-1])
    limit = (err.get("ctx") or {}).get("max_length")
    if origin is None or not isinstance(limit, int) or not 0 <= limit < len(origin.rows):
        return None
    rows = "features" if origin.rows[limit].startswith("feature ") else "rows"
    msg = (f"{len(origin.rows)} {rows}, at most {limit} allowed in {path[-1]} "
           f"(split the city into districts, or merge entries)")
    return _in_data_file([*path, limit], msg, data_rows, file, lines)


def _in_data_file(path: Sequence[str | int], msg: str, data_rows: Mapping[str, RowOrigin] | None,
                  file: str, lines: dict[Any, int] | None) -> Problem | None:
    """A problem of an entry that came from a data file (``city.car_parks.8.id``), located
    at the file's row and column instead of the scenario key that names the file; a row with
    no line of its own (a GeoJSON feature) is named in the message at the scenario line of the
    key that names the file."""
    for j in range(len(path) - 1):
        key, index = path[j], path[j + 1]
        origin = (data_rows or {}).get(key) if isinstance(key, str) else None
        if origin is None or not isinstance(index, int) or not 0 <= index < len(origin.rows):
            continue
        try:
            shown = str(origin.file.relative_to(Path.cwd()))
        except ValueError:
            shown = str(origin.file)
        where = origin.rows[index]
        column = ".".join(str(p) for p in path[j + 2:])
        col = f"column {column!r}" if column else ""
        if where.startswith("line "):
            return Problem(shown, int(where.removeprefix("line ")), col, msg)
        file_key: list[str | int] = [*path[:j], origin.file_key]
        return Problem(file, _line(lines, file_key), ".".join(map(str, file_key)),
                       f"{shown}: {where}{', ' + col if col else ''}: {msg}")
    return None


def _line(lines: dict[Any, int] | None, path: Sequence[str | int]) -> int | None:
    """The line of ``path``, of its nearest recorded ancestor, else the first line (the
    top-level table); ``None`` when there is no text to locate in."""
    if lines is None:
        return None
    return line_of(lines, path) or 1


def validate_data(
    data: Mapping[str, Any],
    *,
    source: str = "<data>",
    text: str | None = None,
    base_dir: Path | None = None,
) -> ScenarioBase:
    """Validate already-parsed scenario data; raise :class:`ScenarioError` listing every problem."""
    lines = key_lines(text) if text is not None else None
    model = data.get("model")
    available = domains.available()
    if not isinstance(model, str) or model not in available:
        found = "nothing" if model is None else _describe_input(model)
        raise ScenarioError([Problem(source, _line(lines, ["model"]), "model",
                                     f"expected one of {sorted(available)}, found {found}")])
    cls = scenario_class(str(model))
    context: dict[str, Any] = {"base_dir": base_dir}
    try:
        scenario = cls.model_validate(dict(data), context=context)
    except ValidationError as exc:
        raise ScenarioError(_problems_from_validation(exc, source, lines, context.get("data_rows"))) from None
    dom = available[model]
    cross: list[Problem] = []
    for i, pol in enumerate(scenario.policy_list):
        for text_ in dom.validate_policy(getattr(scenario, "city"), pol):  # noqa: B009
            key, sep, msg = text_.partition(": ")
            path: list[str | int] = ["policies", i, *_key_path(key)] if sep else ["policies", i]
            cross.append(Problem(source, _line(lines, path), ".".join(map(str, path)),
                                 msg if sep else text_))
    if cross:
        raise ScenarioError(cross)
    if base_dir is not None:
        scenario._source = Path(source)
    return scenario


def parse_scenario_text(text: str, source: str = "<text>", base_dir: Path | None = None) -> ScenarioBase:
    """Parse and validate TOML text (a leading UTF-8 byte-order mark is ignored)."""
    text = text.removeprefix("\ufeff")
    deep = nesting_too_deep(text, MAX_NESTING)
    if deep is not None:
        raise ScenarioError([Problem(source, deep, "", f"values nested more than {MAX_NESTING} "
                                                       "arrays or inline tables deep")])
    try:
        data = tomllib.loads(text)
    except RecursionError:  # guarded above; kept in case the parser recurses elsewhere
        raise ScenarioError([Problem(source, 1, "", "values nested too deep")]) from None
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_POS.search(msg)
        line = int(m.group(1)) if m else None
        msg = _TOML_POS.sub("", msg).strip()
        if m:
            msg += f" (column {m.group(2)})"
        raise ScenarioError([Problem(source, line or 1, "", f"TOML syntax error: {msg}")]) from None
    return validate_data(data, source=source, text=text, base_dir=base_dir)


def load_scenario(path: str | Path) -> ScenarioBase:
    """Read and validate a scenario file.

    Raises
    ------
    ScenarioError
        Listing every problem, each with file, line and dotted key path.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ScenarioError([Problem(str(p), 1, "", f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (some editors write one) is not content
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ScenarioError([Problem(str(p), line, "", f"not UTF-8 text (byte {exc.start})")]) from None
    return parse_scenario_text(text, source=str(p), base_dir=p.resolve().parent)


def problem_at(scenario: ScenarioBase, path: str, message: str) -> ScenarioError:
    """A :class:`ScenarioError` located at the dotted ``path`` of the scenario's file."""
    src = scenario.source
    line = None
    if src is not None:
        try:
            line = line_of(key_lines(src.read_text(encoding="utf-8-sig")),
                           [int(p) if p.isdigit() else p for p in path.split(".")])
        except OSError:
            line = None
    return ScenarioError([Problem(str(src or "<scenario>"), line, path, message)])


def check_specs(scenario: ScenarioBase) -> None:
    """Checks of the ``[sweep]`` table that need the whole scenario: every parameter path names a
    numeric value and every response is a reported metric (located errors)."""
    spec = scenario.sweep
    if spec is None:
        return
    data = scenario.model_dump(mode="python")
    for i, p in enumerate(spec.parameters):
        where = f"sweep.parameters.{i}.path"
        try:
            value = lookup(data, p.path)
        except KeyError as exc:
            raise problem_at(scenario, where, f"{p.path!r} does not name a scenario value "
                                              f"(no key {exc.args[0]!r})") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise problem_at(scenario, where, f"{p.path!r} is not a number (found {type(value).__name__}); "
                                              "only numeric values can be swept")
    if spec.responses:
        bad = [m for m in spec.responses if m not in scenario.reported_metrics]
        if bad:
            raise problem_at(scenario, "sweep.responses",
                             f"unknown responses {bad}; the scenario reports {scenario.reported_metrics}")
