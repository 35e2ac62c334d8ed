"""Domain plug-ins: simulation models that live outside simcity.

A scenario names its model (``model = "..."``); the built-in domains are listed in
:data:`simcity.domains.REGISTRY`.  Any other :class:`~simcity.domain.Domain` becomes available
to scenario files, the CLI and every worker process through one of two mechanisms:

* the environment variable ``SIMCITY_PLUGINS``: a comma-separated list of ``module:ATTRIBUTE``
  (a :class:`~simcity.domain.Domain` instance to register) or plain ``module`` entries
  (imported for the side effect of calling :func:`simcity.domains.register`);
* an installed package declaring an entry point in the group ``simcity.domains`` whose object
  is a :class:`~simcity.domain.Domain` instance::

      [project.entry-points."simcity.domains"]
      ferries = "cityferries:DOMAIN"

Worker processes started by the process pool (any start method) or by Dask inherit the
environment, so a plug-in named in ``SIMCITY_PLUGINS`` is found there too.  In addition, the
backends ship a reference ``module:ATTRIBUTE`` of a non-built-in domain with each scenario
(:func:`domain_reference`), so a domain registered programmatically in the parent (as the test
suite does) is re-registered in the worker as long as its module is importable there.
"""

from __future__ import annotations

import importlib
import os
from importlib import metadata

from simcity import domains
from simcity.domain import Domain

ENV_VAR = "SIMCITY_PLUGINS"
ENTRY_POINT_GROUP = "simcity.domains"


class PluginError(Exception):
    """A plug-in named by the user cannot be loaded."""


def _register_object(obj: object, where: str) -> None:
    if not isinstance(obj, Domain):
        raise PluginError(f"{where}: expected a simcity.domain.Domain instance, found {type(obj).__name__}")
    if domains.available().get(obj.name) is not obj:
        domains.register(obj)


def load_reference(ref: str, *, where: str = ENV_VAR) -> None:
    """Import ``module`` or register the domain ``module:ATTRIBUTE``."""
    module, _, attr = ref.strip().partition(":")
    if not module:
        raise PluginError(f"{where}: empty plug-in entry in {ref!r}")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise PluginError(f"{where}: cannot import plug-in module {module!r}: {exc}") from None
    if attr:
        if not hasattr(mod, attr):
            raise PluginError(f"{where}: module {module!r} has no attribute {attr!r}")
        _register_object(getattr(mod, attr), f"{where}: {ref}")


_loaded: set[str] = set()


def load_plugins() -> None:
    """Load the plug-ins named in ``SIMCITY_PLUGINS`` and the ``simcity.domains`` entry points.

    Idempotent and cheap after the first call.
    """
    refs = [r for r in os.environ.get(ENV_VAR, "").split(",") if r.strip()]
    for ref in refs:
        if ref not in _loaded:
            load_reference(ref)
            _loaded.add(ref)
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        key = f"entry-point:{ep.value}"
        if key in _loaded:
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # a broken third-party package must not hide the built-in domains
            raise PluginError(f"entry point {ep.name!r} ({ep.value}): cannot load: {exc}") from None
        _register_object(obj, f"entry point {ep.name!r}")
        _loaded.add(key)


def domain_reference(domain: Domain) -> str | None:
    """``module:ATTRIBUTE`` under which a non-built-in ``domain`` can be imported (``None`` for
    built-in domains, which every process finds through :data:`simcity.domains.REGISTRY`)."""
    if domain.name in domains.REGISTRY:
        return None
    module = type(domain).__module__
    mod = importlib.import_module(module)
    for attr, value in vars(mod).items():
        if value is domain:
            return f"{module}:{attr}"
    return None


def ensure_domain(name: str, ref: str | None) -> None:
    """In a worker: make sure the domain ``name`` is registered, importing ``ref`` (see
    :func:`domain_reference`) only when the worker does not know it already (a forked worker
    inherits the parent's registrations, including domains defined in ``__main__``)."""
    load_plugins()
    if ref is not None and name not in domains.available():
        load_reference(ref, where=f"domain {name!r}")
