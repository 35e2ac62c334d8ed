"""Shared bikes: docked stations, dockless zones, riders and rebalancing vans (SimPy).

``DOMAIN`` plugs the model into the scenario runner (see :mod:`simcity.domain`).
"""

from simcity.bikes.config import City, Policy
from simcity.bikes.domain import DOMAIN, BikesDomain, simulate

__all__ = ["DOMAIN", "BikesDomain", "City", "Policy", "simulate"]
