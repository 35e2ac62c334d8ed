"""Vehicle profiles: which OpenStreetMap ways a vehicle may use, in which direction, how fast.

A way's ``highway`` tag gives its road class (``primary_link`` counts as ``primary``); a profile
lists the classes it drives on with a free-flow speed for each, the access tags it obeys
(the most specific one given decides: ``hgv`` over ``motor_vehicle`` over ``vehicle`` over
``access`` for a truck) and whether it obeys one-way streets (a bike does, unless the way lets
bikes ride against the flow; walking ignores them).  Motor-vehicle profiles drive no faster
than a way's ``maxspeed``.

The speeds are typical urban free-flow speeds, not measurements of any city: a scenario
overrides them per class (``speeds_kmh``) and slows them per hour of the day
(``speed_factors``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

#: road classes, from the OSM ``highway`` values (``*_link`` counts as its parent class)
RoadClass = Literal["motorway", "trunk", "primary", "secondary", "tertiary", "unclassified",
                    "residential", "living_street", "service", "track", "cycleway", "path",
                    "footway", "pedestrian", "steps"]
ROAD_CLASSES: tuple[RoadClass, ...] = (
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
    "living_street", "service", "track", "cycleway", "path", "footway", "pedestrian", "steps")
_ALIASES = {"road": "unclassified", "bridleway": "path", "motorway_link": "motorway",
            "trunk_link": "trunk", "primary_link": "primary", "secondary_link": "secondary",
            "tertiary_link": "tertiary"}

ProfileName = Literal["truck", "van", "car", "bike", "walk"]
PROFILES_ORDER: tuple[ProfileName, ...] = ("truck", "van", "car", "bike", "walk")

#: access values that let a vehicle in; a refuse truck or a bike van may enter
#: ``destination``/``delivery`` streets: its stops are there
_ALLOWED = frozenset({"yes", "designated", "permissive", "destination", "delivery", "official"})
_REFUSED = frozenset({"no", "private", "agricultural", "forestry", "dismount", "use_sidepath",
                      "discouraged", "customers"})
_ONEWAY_YES = frozenset({"yes", "true", "1"})
_ONEWAY_REVERSE = frozenset({"-1", "reverse"})
_CONTRAFLOW = frozenset({"opposite", "opposite_lane", "opposite_track", "opposite_share_busway"})


@dataclass(frozen=True)
class Profile:
    """How one kind of vehicle uses the street network.

    Attributes
    ----------
    name:
        ``truck``, ``van``, ``car``, ``bike`` or ``walk``.
    speeds_kmh:
        Free-flow speed per road class it may use (km/h); a class not listed is never used.
    access_keys:
        Access tags from the most general to the most specific; the most specific tag a way
        has decides.
    oneway:
        Obey one-way streets (``oneway``, ``junction=roundabout``, motorways).
    motor:
        Capped by the way's ``maxspeed``.
    tagged_only:
        Classes used only where the way's own access tag for this profile allows it (a
        footway signed for bikes).
    access_kmh:
        Speed of the short leg between a point and the network node it is snapped to (km/h).
    """

    name: ProfileName
    speeds_kmh: Mapping[str, float]
    access_keys: tuple[str, ...]
    oneway: bool
    motor: bool
    tagged_only: frozenset[str] = field(default_factory=frozenset)
    access_kmh: float = 10.0

    def with_speeds(self, speeds: Mapping[str, float]) -> Profile:
        """The profile with some classes' speeds replaced (a class added becomes usable)."""
        return Profile(self.name, {**self.speeds_kmh, **speeds}, self.access_keys, self.oneway,
                       self.motor, self.tagged_only - set(speeds), self.access_kmh)

    # ---------------------------------------------------------------- one way
    def road_class(self, tags: Mapping[str, str]) -> str | None:
        """The road class of a way with ``tags`` if this profile may use it, else ``None``."""
        hw = tags.get("highway")
        if hw is None:
            return None
        cls = _ALIASES.get(hw, hw)
        if cls not in self.speeds_kmh:
            return None
        if tags.get("area") == "yes" and cls not in ("pedestrian", "footway"):
            return None
        verdict = None
        for key in self.access_keys:
            v = tags.get(key)
            if v is None:
                continue
            v = v.split(";")[0].strip()
            if v in _ALLOWED:
                verdict = True
            elif v in _REFUSED:
                verdict = False
        if verdict is False or (cls in self.tagged_only and verdict is not True):
            return None
        return cls

    def directions(self, tags: Mapping[str, str], cls: str) -> tuple[bool, bool]:
        """May the profile travel (forward, backward) along the way's node order?"""
        if not self.oneway:
            return True, True
        ow = tags.get("oneway", "")
        if self.name == "bike":
            if tags.get("oneway:bicycle") == "no" or any(
                    tags.get(k) in _CONTRAFLOW for k in ("cycleway", "cycleway:left", "cycleway:right",
                                                          "cycleway:both")):
                return True, True
            ow = tags.get("oneway:bicycle", ow)
        if ow in _ONEWAY_REVERSE:
            return False, True
        if ow in _ONEWAY_YES:
            return True, False
        if ow == "no":
            return True, True
        if tags.get("junction") in ("roundabout", "circular") or (cls == "motorway" and self.motor):
            return True, False
        return True, True

    def speed(self, tags: Mapping[str, str], cls: str) -> float:
        """Free-flow speed on the way (km/h)."""
        v = float(self.speeds_kmh[cls])
        if self.motor:
            cap = parse_maxspeed(tags.get("maxspeed"))
            if cap is not None:
                v = min(v, cap)
        return v


_MAXSPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")


def parse_maxspeed(text: str | None) -> float | None:
    """A ``maxspeed`` value in km/h (``"50"``, ``"30 mph"``), ``None`` when not a number."""
    if not text:
        return None
    m = _MAXSPEED.match(text.split(";")[0])
    if not m:
        return None
    v = float(m.group(1)) * (1.609344 if m.group(2) == "mph" else 1.0)
    return v if math.isfinite(v) and v >= 5 else None


_MOTOR = ("access", "vehicle", "motor_vehicle")
_WALK: dict[str, float] = {str(c): 4.5 for c in ROAD_CLASSES if c not in ("motorway", "trunk")} | {"steps": 2.5}
#: default profiles; speeds are typical urban free-flow speeds (km/h), to be calibrated
PROFILES: dict[str, Profile] = {
    "truck": Profile("truck", {"motorway": 80, "trunk": 70, "primary": 45, "secondary": 40, "tertiary": 35,
                               "unclassified": 25, "residential": 25, "living_street": 10, "service": 15},
                     (*_MOTOR, "hgv"), oneway=True, motor=True),
    "van": Profile("van", {"motorway": 90, "trunk": 75, "primary": 50, "secondary": 45, "tertiary": 40,
                           "unclassified": 30, "residential": 30, "living_street": 10, "service": 15},
                   (*_MOTOR, "goods"), oneway=True, motor=True),
    "car": Profile("car", {"motorway": 100, "trunk": 80, "primary": 50, "secondary": 50, "tertiary": 40,
                           "unclassified": 30, "residential": 30, "living_street": 10, "service": 15},
                   (*_MOTOR, "motorcar"), oneway=True, motor=True),
    "bike": Profile("bike", {"primary": 16, "secondary": 16, "tertiary": 16, "unclassified": 15,
                             "residential": 15, "living_street": 12, "service": 14, "track": 12,
                             "cycleway": 17, "path": 12, "footway": 10, "pedestrian": 10},
                    ("access", "vehicle", "bicycle"), oneway=True, motor=False,
                    tagged_only=frozenset({"footway", "pedestrian"}), access_kmh=5.0),
    "walk": Profile("walk", _WALK,
                    ("access", "foot"), oneway=False, motor=False, access_kmh=4.5),
}


def profile(name: str, speeds: Mapping[str, float] | None = None) -> Profile:
    """The named default profile, with ``speeds`` (km/h per class) replacing its own."""
    base = PROFILES[name]
    return base.with_speeds(speeds) if speeds else base
