"""Streets on the report's maps: the network's segments as map positions.

A domain whose ``[city.roads]`` names an extract adds these rows to its
:meth:`~simcity.domain.Domain.positions`, so the streets are saved with the results
(``positions.csv``) and a report drawn again from the folder needs neither the extract nor
the model: each segment is two rows of kind :data:`simcity.domain.STREET` sharing the entity
``street<k>``, in the domain's map unit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from simcity.domain import STREET, Position
from simcity.roads.config import StreetNetwork


def street_positions(roads: StreetNetwork, origin: tuple[float, float] | None,
                     around_m: NDArray[np.float64], unit: str) -> list[Position]:
    """The streets around the places ``around_m`` (metres) as positions in ``unit`` ("m" or
    "km"); none without an extract or an origin."""
    if not roads.enabled or origin is None or np.asarray(around_m).size == 0:
        return []
    seg = roads.segments(origin, around_m) / (1000.0 if unit == "km" else 1.0)
    return [Position(f"street{k}", STREET, float(x), float(y))
            for k, (x0, y0, x1, y1) in enumerate(seg.tolist()) for x, y in ((x0, y0), (x1, y1))]
