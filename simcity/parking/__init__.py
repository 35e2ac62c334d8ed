"""Parking turnover: off-street car parks and kerbside segments, drivers who choose, cruise and pay.

``DOMAIN`` is the :class:`~simcity.domain.Domain` the experiment runner uses; the configuration
models are in :mod:`simcity.parking.config`, the SimPy model in :mod:`simcity.parking.model`.
"""

from simcity.parking.config import City, Policy, check_policy
from simcity.parking.domain import METRICS, ParkingDomain

DOMAIN = ParkingDomain()

__all__ = ["DOMAIN", "METRICS", "City", "ParkingDomain", "Policy", "check_policy"]
