"""Parking turnover: off-street car parks and kerbside segments, drivers who choose, cruise and pay.

``DOMAIN`` is the :class:`~simcity.domain.Domain` the experiment runner uses; the configuration
models are in :mod:`simcity.parking.config`; the city as arrays in :mod:`simcity.parking.layout`, the
drivers and their costs in :mod:`simcity.parking.demand`, the SimPy model in :mod:`simcity.parking.sim`.
"""

from simcity.parking.config import City, Policy, check_policy
from simcity.parking.domain import METRICS, ParkingDomain

DOMAIN = ParkingDomain()

__all__ = ["DOMAIN", "METRICS", "City", "ParkingDomain", "Policy", "check_policy"]
