"""Garbage collection: drop points, waste generation, routed trucks and transfer stations.

The domain plugs into :mod:`simcity.domain` through :data:`DOMAIN`; see ``docs/garbage.md``.
"""

from simcity.garbage.config import City, Policy
from simcity.garbage.domain import DOMAIN, GarbageDomain, simulate

__all__ = ["DOMAIN", "City", "GarbageDomain", "Policy", "simulate"]
