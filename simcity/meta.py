"""What a results folder says about itself: the metadata a report needs besides the tables.

A :class:`ResultsMeta` is plain data - scenario name and settings, the policies, every metric's
title, unit and direction, the model's time plots and map settings - saved as ``meta.json`` in
the results folder (with the entity positions of the maps as ``positions.csv``/``.parquet``), so
``simcity report DIR`` re-renders a report from the folder alone: no model, no domain registry,
no simulation.  It is built from a validated scenario by
:func:`simcity.experiment.meta_of`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from simcity.domain import Metric

#: version of the ``meta.json`` layout; a reader refuses a newer one
META_VERSION = 1


class MetaError(Exception):
    """A ``meta.json`` that cannot be read (missing keys, newer layout)."""


@dataclass(frozen=True)
class PolicyInfo:
    """A policy as the report shows it."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class ResultsMeta:
    """Everything a report reads about a run besides its tables (see the module docstring)."""

    name: str
    description: str
    model: str
    model_title: str
    seed: int
    replications: int
    horizon_hours: float
    warmup_hours: float
    confidence: float
    policies: tuple[PolicyInfo, ...]
    #: every metric the model declares (the reported ones are :attr:`reported_metrics`)
    metrics: tuple[Metric, ...]
    reported_metrics: list[str]
    headline: list[str] | None
    time_plots: tuple[str, ...] = ()
    #: words of the time-plot series that are not metrics (:attr:`simcity.domain.Domain.series`)
    series: tuple[Metric, ...] = ()
    #: metric pairs the verdict draws against each other (:attr:`simcity.domain.Domain.tradeoffs`)
    tradeoffs: tuple[tuple[str, str], ...] = ()
    #: metrics that total over the statistics window (:attr:`simcity.domain.Domain.window_totals`)
    window_totals: tuple[str, ...] = ()
    #: unit of the map positions ("m", "km") and the model's map settings (e.g. a target band)
    map_unit: str = "m"
    map_settings: Mapping[str, Any] = field(default_factory=dict)
    #: the resolved scenario as written to ``scenario.toml``
    resolved_toml: str = ""
    #: file name of the scenario the run was loaded from (``None``: built in code)
    source_name: str | None = None
    #: notes shown at the top of the report (precision reached, warm-up check, ...)
    notes: tuple[str, ...] = ()

    @property
    def policy_names(self) -> list[str]:
        """Policy names, baseline first."""
        return [p.name for p in self.policies]

    @property
    def baseline(self) -> str:
        """The baseline policy (the first)."""
        return self.policies[0].name

    def metric(self, name: str) -> Metric:
        """The declared metric called ``name`` (``KeyError`` if there is none), its unit naming
        the statistics window when it is a total over it (:meth:`window_unit`)."""
        for m in self.metrics:
            if m.name == name:
                return replace(m, unit=self.window_unit(m.unit)) if name in self.window_totals else m
        raise KeyError(name)

    def window_unit(self, unit: str) -> str:
        """``unit`` of a total over the statistics window, with that window: ``drivers/day`` for
        a 24-hour window, ``drivers/2 days`` for 48 hours, ``drivers/12 h`` otherwise."""
        hours = self.horizon_hours - self.warmup_hours
        days = hours / 24.0
        if days == 1:
            return f"{unit}/day"
        if days == int(days):
            return f"{unit}/{int(days)} days"
        return f"{unit}/{hours:g} h"

    def series_metric(self, name: str) -> Metric:
        """Title and unit of the ``by_time`` series ``name``: its declared series, else the metric
        of that name, else the name itself (no unit)."""
        for m in self.series:
            if m.name == name:
                return m
        try:
            return self.metric(name)
        except KeyError:
            return Metric(name, name, "")

    def with_notes(self, notes: Sequence[str]) -> ResultsMeta:
        """The same metadata with report ``notes``."""
        return replace(self, notes=tuple(notes))

    def to_json(self) -> str:
        """``meta.json`` text (read back by :meth:`from_json`)."""
        data = {
            "meta_version": META_VERSION, "name": self.name, "description": self.description,
            "model": self.model, "model_title": self.model_title, "seed": self.seed,
            "replications": self.replications, "horizon_hours": self.horizon_hours,
            "warmup_hours": self.warmup_hours, "confidence": self.confidence,
            "policies": [{"name": p.name, "description": p.description} for p in self.policies],
            "metrics": [_metric_json(m) for m in self.metrics],
            "series": [_metric_json(m) for m in self.series],
            "tradeoffs": [list(t) for t in self.tradeoffs], "window_totals": list(self.window_totals),
            "reported_metrics": list(self.reported_metrics), "headline": self.headline,
            "time_plots": list(self.time_plots), "map_unit": self.map_unit,
            "map_settings": dict(self.map_settings), "source_name": self.source_name,
            "notes": list(self.notes), "resolved_toml": self.resolved_toml,
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ResultsMeta:
        """Read ``meta.json`` text; :class:`MetaError` naming what is missing or unreadable."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MetaError(f"not JSON ({exc})") from None
        if not isinstance(d, dict):
            raise MetaError("expected a JSON object")
        version = d.get("meta_version")
        if not isinstance(version, int) or version > META_VERSION:
            raise MetaError(f"meta_version {version!r} is not one this simcity reads (<= {META_VERSION}); "
                            "a newer simcity wrote it")
        try:
            return cls(
                name=str(d["name"]), description=str(d["description"]), model=str(d["model"]),
                model_title=str(d["model_title"]), seed=int(d["seed"]), replications=int(d["replications"]),
                horizon_hours=float(d["horizon_hours"]), warmup_hours=float(d["warmup_hours"]),
                confidence=float(d["confidence"]),
                policies=tuple(PolicyInfo(str(p["name"]), str(p.get("description", ""))) for p in d["policies"]),
                metrics=tuple(_metric_of(m) for m in d["metrics"]),
                series=tuple(_metric_of(m) for m in d.get("series", ())),
                tradeoffs=tuple((str(x), str(y)) for x, y in d.get("tradeoffs", ())),
                window_totals=tuple(str(m) for m in d.get("window_totals", ())),
                reported_metrics=[str(m) for m in d["reported_metrics"]],
                headline=None if d.get("headline") is None else [str(m) for m in d["headline"]],
                time_plots=tuple(str(t) for t in d.get("time_plots", ())), map_unit=str(d.get("map_unit", "m")),
                map_settings=dict(d.get("map_settings") or {}), resolved_toml=str(d.get("resolved_toml", "")),
                source_name=d.get("source_name"), notes=tuple(str(n) for n in d.get("notes", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MetaError(f"missing or malformed entry {exc}") from None



def _metric_json(m: Metric) -> dict[str, Any]:
    return {"name": m.name, "title": m.description, "unit": m.unit, "better": m.better, "alert": m.alert}


def _metric_of(d: Mapping[str, Any]) -> Metric:
    return Metric(str(d["name"]), str(d["title"]), str(d["unit"]), d["better"], d.get("alert"))
