"""Registry of the simulation domains a scenario file may name in its ``model`` key."""

from __future__ import annotations

import importlib
from functools import cache

from simcity.domain import Domain

#: domain name -> "module:attribute" of its :class:`~simcity.domain.Domain` instance
REGISTRY: dict[str, str] = {
    "parking": "simcity.parking:DOMAIN",
    "garbage": "simcity.garbage:DOMAIN",
    "bikes": "simcity.bikes:DOMAIN",
}


_REGISTERED: dict[str, Domain] = {}


def register(domain: Domain) -> None:
    """Make an extra domain (a plug-in, or a toy model in tests) available to scenario files."""
    _REGISTERED[domain.name] = domain
    available.cache_clear()


@cache
def available() -> dict[str, Domain]:
    """The domains that are installed, by name (a domain still under construction is skipped)."""
    out: dict[str, Domain] = dict(_REGISTERED)
    for name, target in REGISTRY.items():
        module, _, attr = target.partition(":")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        if hasattr(mod, attr):
            out[name] = getattr(mod, attr)
    return out


def get(name: str) -> Domain:
    """The domain called ``name``; ``KeyError`` if none is installed under that name."""
    return available()[name]
