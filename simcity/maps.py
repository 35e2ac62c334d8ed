"""Maps of a city setting drawn offline with matplotlib (no web tiles, no network).

Each domain that has positions gets a map builder here, keyed by domain name; the report
calls :func:`domain_figures`.  Domains never import this module: the report sits on top of
the models and reads their validated ``City`` and their tidy results.
"""

from __future__ import annotations

from collections.abc import Callable

from simcity.experiment import Results
from simcity.plots import Plot

MapBuilder = Callable[[Results], list[Plot]]

#: domain name -> function drawing that domain's maps from a comparison's results
BUILDERS: dict[str, MapBuilder] = {}


def register(domain: str) -> Callable[[MapBuilder], MapBuilder]:
    """Decorator registering the map builder of ``domain``."""

    def deco(fn: MapBuilder) -> MapBuilder:
        BUILDERS[domain] = fn
        return fn

    return deco


def domain_figures(results: Results) -> list[Plot]:
    """The maps of the scenario's domain (none when the domain has no map builder)."""
    builder = BUILDERS.get(results.scenario.model)
    return builder(results) if builder is not None else []
