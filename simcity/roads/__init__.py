"""Real streets: an OpenStreetMap extract as the road network of every domain.

Below the domains (layer 0): :mod:`~simcity.roads.osm` reads an ``.osm.pbf``/``.osm`` file with
pyosmium, :mod:`~simcity.roads.profiles` says which ways a truck, van, car, bike or walker may
use, :mod:`~simcity.roads.graph` builds the directed scipy sparse graph and snaps points onto
it, :mod:`~simcity.roads.matrices` computes (and caches on disk) distance and travel-time
matrices per period of the day, and :mod:`~simcity.roads.config` is the ``[city.roads]``
schema a domain's road table extends.
"""

from simcity.roads.config import Place, StreetNetwork, places_lonlat
from simcity.roads.graph import StreetGraph, build_graph, hour_periods, load_graph
from simcity.roads.matrices import RoadMatrices, compute_matrices, travel_matrices
from simcity.roads.osm import OsmData, load_osm, read_osm
from simcity.roads.profiles import PROFILES, ROAD_CLASSES, Profile, ProfileName, profile

__all__ = ["PROFILES", "ROAD_CLASSES", "OsmData", "Place", "Profile", "ProfileName", "RoadMatrices", "StreetGraph", "StreetNetwork",
           "build_graph", "compute_matrices", "hour_periods", "load_graph", "load_osm", "places_lonlat",
           "profile", "read_osm", "travel_matrices"]
