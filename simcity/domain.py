"""The contract between the experiment runner and a domain model (parking, garbage, bikes).

A domain is a module-level :class:`Domain` instance that names

* ``City`` - the pydantic model of the city setting (the ``[city]`` table of a scenario);
* ``Policy`` - the pydantic model of one policy (each ``[[policies]]`` entry), a subclass of
  :class:`PolicyBase`;
* ``metrics`` - the scalar metrics one run reports, with unit and direction;
* ``run(city, policy, ctx)`` - one replication of one policy, returning a :class:`RunOutput`.

Data flows one way: validated, immutable configuration in, a :class:`RunOutput` out.  A domain
never reads files, prints, or touches global state; it draws every random number from
``ctx.streams[source_name]`` so that policies share random inputs (common random numbers).
"""

from __future__ import annotations

import math
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

import simpy
from pydantic import AfterValidator, AllowInfNan, BaseModel, ConfigDict, Field, model_validator

from simcity.rng import Streams


def _has_tuple(annotation: Any) -> bool:
    if get_origin(annotation) is tuple:
        return True
    return any(_has_tuple(a) for a in get_args(annotation))


def _arrays_to_tuples(annotation: Any, value: Any) -> Any:
    """``value`` with the lists that fill a ``tuple`` in ``annotation`` turned into tuples (TOML
    and JSON have arrays, not tuples; strict validation wants a tuple).  Items are left as they
    are, for the field to validate strictly."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _arrays_to_tuples(get_args(annotation)[0], value)
    if origin is tuple and isinstance(value, list):
        args = get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_arrays_to_tuples(args[0], v) for v in value)
        if len(args) == len(value):
            return tuple(_arrays_to_tuples(t, v) for t, v in zip(args, value, strict=True))
        return tuple(value)
    if origin is list and isinstance(value, list) and get_args(annotation):
        return [_arrays_to_tuples(get_args(annotation)[0], v) for v in value]
    if origin is dict and isinstance(value, dict) and len(get_args(annotation)) == 2:
        return {k: _arrays_to_tuples(get_args(annotation)[1], v) for k, v in value.items()}
    if origin in (Union, UnionType) and isinstance(value, list):
        for arg in get_args(annotation):
            if get_origin(arg) in (tuple, list, Annotated):
                return _arrays_to_tuples(arg, value)
    return value


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys are errors, instances are immutable,
    values are taken as they are typed.

    ``strict``: no coercion - ``vans = true`` is not 1 and ``"12"`` is not a number (a float
    field still takes an integer such as ``5``).  ``allow_inf_nan=False``: every float field
    rejects NaN and infinity (``nan``, ``inf``, ``1e999``), which every ``<``/``<=`` bound would
    otherwise let through.  An array fills a ``tuple`` field (TOML has no tuples); its items
    are validated strictly.  Data-file rows, whose cells are text, are validated with
    ``strict=False`` (still finite; :func:`simcity.geodata.to_models`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True,
                              allow_inf_nan=False)

    #: fields whose type holds a tuple (filled from arrays), per class
    __tuple_fields__: ClassVar[dict[str, Any]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.__tuple_fields__ = {name: f.annotation for name, f in cls.model_fields.items()
                                if _has_tuple(f.annotation)}

    @model_validator(mode="before")
    @classmethod
    def _arrays_fill_tuples(cls, data: Any) -> Any:
        fields = cls.__tuple_fields__
        if not fields or not isinstance(data, dict):
            return data
        return {k: _arrays_to_tuples(fields[k], v) if k in fields else v for k, v in data.items()}


#: A float that is never NaN or infinite, also outside :class:`StrictModel` (e.g. in a
#: ``TypeAdapter`` or a model of another base).
FiniteFloat = Annotated[float, AllowInfNan(False)]

#: characters that make a name or id look like another or break the files it is written to:
#: byte-order mark, zero-width characters, bidirectional marks and overrides
_INVISIBLE = frozenset("\ufeff\u200b\u200c\u200d\u2060\u200e\u200f\u061c"
                       "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def _bad_char(text: str, *, line_breaks: bool) -> str | None:
    for pos, c in enumerate(text):
        if c in _LINE_BREAKS:
            if line_breaks:
                continue
            what = "a line break"
        elif c in _INVISIBLE:
            what = "an invisible formatting character (byte-order mark, zero-width or right-to-left mark)"
        elif unicodedata.category(c) == "Cc" and not (line_breaks and c == "\t"):
            what = "a control character" if c != "\x00" else "a NUL character"
        else:
            continue
        return f"{what} (U+{ord(c):04X}) at position {pos}"
    return None


def _clean_text(text: str) -> str:
    bad = _bad_char(text, line_breaks=False)
    if bad:
        raise ValueError(f"names and ids must be plain one-line text; found {bad}")
    if text != text.strip():
        raise ValueError("names and ids must not start or end with spaces")
    return text


def _clean_prose(text: str) -> str:
    bad = _bad_char(text, line_breaks=True)
    if bad:
        raise ValueError(f"text must not contain control or invisible characters; found {bad}")
    return text


#: A name or id: one line of visible text, no NUL, control characters, byte-order mark,
#: zero-width or right-to-left marks, no leading or trailing spaces (names end up in CSV
#: tables, file names and HTML; two ids that print alike must be equal).
CleanText = Annotated[str, AfterValidator(_clean_text)]
#: Free text (descriptions): line breaks and tabs allowed, other control and invisible
#: characters not.
CleanProse = Annotated[str, AfterValidator(_clean_prose)]


def repeated(values: Iterable[Hashable]) -> list[Any]:
    """The values that occur more than once, in order of their second occurrence (linear time)."""
    seen: set[Hashable] = set()
    dup: dict[Hashable, None] = {}
    for v in values:
        if v in seen:
            dup[v] = None
        else:
            seen.add(v)
    return list(dup)


def second_occurrence(values: Sequence[Hashable], value: Hashable) -> int:
    """The position of ``value``'s second occurrence in ``values`` (where a repeated id is
    reported: the first one is the original)."""
    first = values.index(value)
    return values.index(value, first + 1)


class PolicyBase(StrictModel):
    """Fields every policy has; a domain's ``Policy`` adds its own levers."""

    name: CleanText = Field(
        min_length=1,
        max_length=80,
        description="Policy name, unique within the scenario. The first policy is the baseline.",
    )
    description: CleanProse = Field(default="", max_length=2000, description="What the policy does, for the report.")


@dataclass(frozen=True)
class Metric:
    """A scalar metric a domain reports per replication."""

    name: str
    description: str
    unit: str
    better: Literal["lower", "higher", "none"] = "none"
    #: a warning the terminal summary and the report show when any policy's mean of this
    #: metric is above zero (a run that is not to be trusted as it stands, e.g. a route plan
    #: cut short by its work budget); ``None`` = never
    alert: str | None = None


@dataclass(frozen=True)
class Position:
    """Where an entity of the city setting is drawn on the report's maps.

    ``kind`` tells the map how to draw it (e.g. ``"car park"``, ``"station"``); ``size`` is its
    capacity (berths, docks) where it has one; ``x``/``y`` are east/north in the domain's
    :attr:`Domain.map_unit`.  Saved with the results (``positions.csv``), so a report is drawn
    again from the folder without the model.
    """

    entity: str
    kind: str
    x: float
    y: float
    size: float = math.nan


#: the ``kind`` of street rows in a positions table: two rows (the ends) per segment,
#: sharing the entity ``street<k>`` (:mod:`simcity.roads.draw`)
STREET = "street"


@dataclass(frozen=True)
class RunContext:
    """What the runner gives one replication besides the configuration.

    ``environment`` makes the model's SimPy environment; a model calls it instead of
    ``simpy.Environment()`` so that a benchmark can pass a subclass that counts events
    (:class:`simcity.bench.common.CountingEnvironment`) without patching SimPy.
    """

    horizon_hours: float
    warmup_hours: float
    streams: Streams
    replication: int
    environment: Callable[[], simpy.Environment] = simpy.Environment


@dataclass
class RunOutput:
    """The result of one replication of one policy.

    Attributes
    ----------
    metrics:
        City-wide scalar metrics, keyed by :attr:`Metric.name`; every metric the domain
        declares must be present (``nan`` when undefined, e.g. a mean over no drivers).
    by_entity:
        Per-entity scalar results as tidy rows ``(entity, metric, value)``, e.g. the turnover
        of each car park.
    by_time:
        Time series as tidy rows ``(entity, time_h, metric, value)``, e.g. hourly occupancy;
        ``entity`` may be ``"city"`` for city-wide series.
    """

    metrics: dict[str, float]
    by_entity: list[tuple[str, str, float]] = field(default_factory=list)
    by_time: list[tuple[str, float, str, float]] = field(default_factory=list)


class Domain(ABC):
    """A simulation domain; see the module docstring."""

    name: ClassVar[str]
    title: ClassVar[str]
    City: ClassVar[type[StrictModel]]
    Policy: ClassVar[type[PolicyBase]]
    metrics: ClassVar[tuple[Metric, ...]]
    #: the ``by_time`` metrics the report plots as lines over the day, per policy
    time_plots: ClassVar[tuple[str, ...]] = ()
    #: title and unit of each ``by_time`` series in :attr:`time_plots` that is not one of
    #: :attr:`metrics` (a series named like a metric takes the metric's words)
    series: ClassVar[tuple[Metric, ...]] = ()
    #: pairs ``(x, y)`` of metrics the report's verdict draws against each other, one chart a
    #: pair, each policy a point with its intervals (e.g. cost against service level)
    tradeoffs: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: metrics that total a count (or sum) over the statistics window rather than a rate: the
    #: report names the window with their unit ("drivers/day" when it is 24 h long)
    window_totals: ClassVar[tuple[str, ...]] = ()
    #: unit of :meth:`positions` ("m" or "km") and settings the maps read (JSON values)
    map_unit: ClassVar[str] = "m"
    map_settings: ClassVar[dict[str, Any]] = {}

    @abstractmethod
    def run(self, city: Any, policy: Any, ctx: RunContext) -> RunOutput:
        """Simulate one replication of ``policy`` on ``city``."""

    def validate_policy(self, city: Any, policy: Any) -> list[str]:
        """Problems of ``policy`` that only show against ``city``, as ``"key: message"``.

        Called by the scenario loader after both validated on their own; the key is relative
        to the policy (e.g. ``"fleet_size: ... do not fit in the city's docks"``).  Default: none.
        """
        return []

    def positions(self, city: Any) -> list[Position]:
        """The entities of ``city`` the report draws on maps, at their positions (default: none)."""
        return []

    def check_output(self, out: RunOutput) -> RunOutput:
        """Verify the output declares exactly the domain's metrics (a programming error if not)."""
        declared = {m.name for m in self.metrics}
        got = set(out.metrics)
        if declared != got:
            raise RuntimeError(
                f"domain {self.name!r} returned metrics {sorted(got ^ declared)} inconsistently "
                "with its declaration"
            )
        for k, v in out.metrics.items():
            if not isinstance(v, float | int) or (isinstance(v, float) and math.isinf(v)):
                raise RuntimeError(f"domain {self.name!r}: metric {k!r} is not a finite number: {v!r}")
        return out

    def metric(self, name: str) -> Metric:
        """The declared metric called ``name``."""
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)
