"""Validated configuration of the parking model: the ``[city]`` table and each ``[[policies]]`` entry.

One pydantic class per component.  Every field has bounds and a description, so this module is
at the same time the scenario schema, the validation and the reference documentation
(``docs/parking.md`` walks through it with the sources of the shipped values).

Units: distances in metres, times in hours unless the field name says otherwise (``_minutes``,
``_s``), money in yuan (any currency works as long as it is used consistently).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from simcity.domain import CleanText, PolicyBase, StrictModel, repeated, second_occurrence
from simcity.geodata import DataPath, PointFileSpec, expand_point_files, read_table_file
from simcity.roads import Place, ProfileName, StreetNetwork

HOURS_PER_DAY = 24


def _check_windows(windows: list[tuple[float, float]], where: str) -> None:
    for start, end in windows:
        if not 0.0 <= start < end <= 24.0:
            raise ValueError(
                f"{where}: window [{start}, {end}] must satisfy 0 <= start < end <= 24 (hours of day)"
            )
    spans = sorted(windows)
    for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        if s2 < e1:
            raise ValueError(f"{where}: windows {spans} overlap")


def _check_profile(values: list[float] | None) -> list[float] | None:
    if values is not None and (not all(math.isfinite(v) and v >= 0 for v in values) or sum(values) <= 0):
        raise ValueError("needs 24 finite non-negative values, not all zero")
    return values


class TariffTier(StrictModel):
    """One band of a time-based tariff: ``rate_per_hour`` applies until ``up_to_hours`` of stay."""

    up_to_hours: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        description="End of this band in hours of stay since arrival; omit (null) for the last, "
        "open-ended band.",
    )
    rate_per_hour: float = Field(ge=0, le=1000, description="Price per hour within this band (yuan/h).")


class Tariff(StrictModel):
    """A time-based tariff: flat (one band) or tiered (级差式: later hours cost more)."""

    tiers: list[TariffTier] = Field(
        min_length=1,
        max_length=12,
        description="Bands in order of stay; only the last band may (and must) be open-ended.",
    )
    free_minutes: float = Field(
        default=0.0, ge=0, le=240, description="Grace period: stays up to this long are free (minutes)."
    )
    billing_minutes: float = Field(
        default=30.0, gt=0, le=240, description="Billing unit: a started unit is charged in full (minutes)."
    )
    daily_cap: float | None = Field(
        default=None, gt=0, le=10000, description="Maximum charge for one stay (yuan); omit for no cap."
    )

    @model_validator(mode="after")
    def _bands(self) -> Tariff:
        last = len(self.tiers) - 1
        prev = 0.0
        for k, tier in enumerate(self.tiers):
            if (tier.up_to_hours is None) != (k == last):
                raise ValueError(
                    f"tiers.{k}.up_to_hours: only the last band is open-ended (omit up_to_hours "
                    "there, give it everywhere else)"
                )
            if tier.up_to_hours is not None:
                if tier.up_to_hours <= prev:
                    raise ValueError(
                        f"tiers.{k}.up_to_hours: bands must end in increasing order, "
                        f"found {tier.up_to_hours} after {prev}"
                    )
                prev = tier.up_to_hours
        return self


class Facility(StrictModel):
    """Fields every parking facility has (the base of car parks and kerb segments)."""

    id: CleanText = Field(min_length=1, max_length=80, description="Unique facility id (car parks and kerb segments).")
    x: float | None = Field(default=None, ge=-1e6, le=1e6, description="Easting in metres (omit when linked by walking_links).")
    y: float | None = Field(default=None, ge=-1e6, le=1e6, description="Northing in metres.")
    berths: int = Field(ge=0, le=100_000, description="Number of berths open to the public.")
    tariff: CleanText = Field(min_length=1, description="Name of the tariff in city.tariffs.")
    public_hours: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0.0, 24.0)],
        min_length=1,
        max_length=6,
        description="Windows [start, end] (hours of day) when the public may park; drivers must "
        "leave by the end of the window (a window ending at 24 continues into one starting at 0).",
    )

    @model_validator(mode="after")
    def _windows(self) -> Facility:
        _check_windows(self.public_hours, "public_hours")
        return self


class CarPark(Facility):
    """An off-street car park (public, commercial, or an institution's lot shared with the public)."""

    payment: Literal["pay_at_exit", "leave_first"] = Field(
        default="pay_at_exit",
        description="pay_at_exit: every car stops at an exit gate to pay (a queue can form); "
        "leave_first: plate recognition, leave first and pay later (no exit stop).",
    )
    entry_gates: int = Field(default=1, ge=0, le=50, description="Entry lanes (0 = no entry control).")
    entry_service_s: float = Field(
        default=4.0, ge=0, le=600, description="Time one car occupies an entry lane (seconds)."
    )
    exit_gates: int = Field(default=1, ge=1, le=50, description="Exit lanes with a pay stop (pay_at_exit).")
    exit_service_s: float = Field(
        default=25.0, ge=0, le=600, description="Time one car occupies an exit lane when paying there (seconds)."
    )
    shared: bool = Field(
        default=False,
        description="An institution's lot (机关、事业单位): open to the public only when the policy "
        "opens shared berths, and then only within public_hours.",
    )


class KerbSegment(Facility):
    """A kerbside (on-street) parking segment with a maximum stay."""

    max_stay_hours: float = Field(
        default=2.0, gt=0, le=24, description="Maximum stay; a longer stay is an overstay that risks a ticket."
    )
    berth_length_m: float = Field(
        default=6.0, ge=3, le=20,
        description="Kerb length one parked car takes (m); the segment is berths x berth_length_m long. "
        "Kerb taken by loading (kerb_taken, kerb_loading) removes ceil(metres / berth_length_m) berths.",
    )

    @property
    def length_m(self) -> float:
        """Kerb length of the segment (metres)."""
        return self.berths * self.berth_length_m


class KerbTaken(StrictModel):
    """One row of the kerb-taken table: ``taken_m`` metres of a kerb segment are not available to
    parkers from ``start_min`` to ``end_min`` (minutes of the day, every day of the run)."""

    segment: CleanText = Field(min_length=1, max_length=80, description="Kerb segment id.")
    start_min: int = Field(ge=0, le=1439, description="Start of the slot (minute of the day).")
    end_min: int = Field(ge=1, le=1440, description="End of the slot (minute of the day, exclusive).")
    taken_m: float = Field(ge=0, le=10_000, description="Kerb length taken from parkers in the slot (m).")

    @model_validator(mode="after")
    def _slot(self) -> KerbTaken:
        if self.end_min <= self.start_min:
            raise ValueError(f"end_min: slot ends at {self.end_min}, not after its start {self.start_min}")
        return self


class LoadingStop(StrictModel):
    """A refuse-truck or delivery stop that needs kerb: a vehicle length, a time window and a dwell;
    ``count`` > 1 makes a series of stops ``every_minutes`` apart (ids ``<id>-1``, ``<id>-2``, ...)."""

    id: CleanText = Field(min_length=1, max_length=80, description="Stop id (unique).")
    kind: Literal["refuse", "delivery"] = Field(description="Refuse truck or delivery vehicle.")
    window: tuple[float, float] = Field(
        description="[earliest start, latest end] (hours of day) of the stop; the vehicle arrives at the "
        "earliest start and may wait for kerb until its dwell would end after the latest end."
    )
    dwell_minutes: int = Field(ge=1, le=600, description="Time the vehicle stands at the kerb (minutes).")
    length_m: float = Field(gt=0, le=30, description="Kerb length the vehicle needs, manoeuvring included (m).")
    segments: list[CleanText] = Field(
        default_factory=list, max_length=50,
        description="Kerb segments near enough to serve the stop; empty = any loading zone.",
    )
    count: int = Field(default=1, ge=1, le=500, description="Number of stops in the series.")
    every_minutes: int = Field(default=60, ge=1, le=1440, description="Spacing of the series (minutes).")

    @model_validator(mode="after")
    def _window(self) -> LoadingStop:
        a, b = self.window
        if not 0.0 <= a < b <= 24.0:
            raise ValueError(f"window: [{a}, {b}] must satisfy 0 <= start < end <= 24 (hours of day)")
        span = round(b * 60) - round(a * 60)
        if span < self.dwell_minutes:
            raise ValueError(f"window: [{a}, {b}] is {span} minutes long and cannot hold a "
                             f"{self.dwell_minutes}-minute stop (dwell_minutes)")
        last = round(b * 60) + (self.count - 1) * self.every_minutes
        if last > 24 * 60:
            raise ValueError(f"count: the last of {self.count} stops every {self.every_minutes} minutes "
                             f"ends after midnight (minute {last})")
        return self


class KerbLoading(StrictModel):
    """Vehicles that load and unload at the kerb: the demand the kerb planner allocates
    (:mod:`simcity.parking.loading`) before the parking run, under each policy's ``loading``."""

    stops: list[LoadingStop] = Field(min_length=1, max_length=2000, description="Loading stops of the day.")
    double_park_delay_minutes: float = Field(
        default=10.0, ge=0, le=240,
        description="Delay a stop that finds no kerb causes by double-parking (minutes, the cost the "
        "planner weighs against waiting for kerb).",
    )
    slot_minutes: Literal[5, 10, 15, 20, 30, 60] = Field(
        default=15, description="Time slot of the kerb-taken table the planner writes."
    )
    plan_effort: float = Field(
        default=2.0, gt=0, le=600,
        description="Work budget of the kerb allocation (CP-SAT deterministic seconds, one worker): the "
        "plan is the same on any machine.",
    )

    @model_validator(mode="after")
    def _ids(self) -> KerbLoading:
        ids = [s.id for s in self.stops]
        dup = repeated(ids)
        if dup:
            k = second_occurrence(ids, dup[0])
            raise ValueError(f"stops.{k}.id: duplicate stop ids {dup[:10]}")
        return self


class Duration(StrictModel):
    """Distribution of the intended parking duration."""

    kind: Literal["exponential", "lognormal", "fixed"] = Field(
        default="lognormal", description="Distribution family."
    )
    mean_hours: float = Field(gt=0, le=72, description="Mean duration (hours).")
    cv: float = Field(
        default=1.0, gt=0, le=10, description="Coefficient of variation (lognormal only; exponential has 1)."
    )


class Purpose(StrictModel):
    """A trip purpose: its share of arrivals, daily profile, stay and value of time."""

    name: CleanText = Field(min_length=1, max_length=40, description="Purpose name (unique).")
    share: float = Field(gt=0, le=1000, description="Relative share of a zone's arrivals.")
    hourly_profile: list[float] | None = Field(
        default=None,
        min_length=24,
        max_length=24,
        description="Relative arrival intensity for hours 0..23 (any scale); omit to use "
        "demand.hourly_profile.",
    )
    duration: Duration = Field(description="Intended parking duration.")
    value_of_time_per_hour: float = Field(
        gt=0, le=10_000, description="Money value of one hour of walking or searching (yuan/h)."
    )
    price_elasticity: float = Field(
        default=0.0,
        description="Elasticity of the number of drivers who come by car with respect to the "
        "generalized cost of their best option, against the city's reference cost (-3..0; 0 = "
        "demand does not respond, the model of arrivals_per_day exactly; SFpark measured about "
        "-0.4).",
    )
    stay_elasticity: float = Field(
        default=0.0,
        description="Elasticity of the stay with respect to the marginal hourly rate, against the "
        "city's own tariff at the same hour of the stay (-2..0; 0 = stays do not respond).",
    )

    _profile = field_validator("hourly_profile")(_check_profile)

    @field_validator("price_elasticity")
    @classmethod
    def _price_e(cls, v: float) -> float:
        if not math.isfinite(v) or v > 0:
            raise ValueError(f"must be <= 0 (a dearer trip cannot bring more drivers), found {v}")
        if v < -3:
            raise ValueError(f"must be within -3..0 (measured parking elasticities are -0.1..-1), found {v}")
        return v

    @field_validator("stay_elasticity")
    @classmethod
    def _stay_e(cls, v: float) -> float:
        if not math.isfinite(v) or v > 0:
            raise ValueError(f"must be <= 0 (a dearer hour cannot lengthen the stay), found {v}")
        if v < -2:
            raise ValueError(f"must be within -2..0, found {v}")
        return v


class Zone(StrictModel):
    """A destination zone where drivers want to go."""

    id: CleanText = Field(min_length=1, max_length=80, description="Unique zone id.")
    x: float | None = Field(default=None, ge=-1e6, le=1e6, description="Easting in metres (omit when linked by walking_links).")
    y: float | None = Field(default=None, ge=-1e6, le=1e6, description="Northing in metres.")
    arrivals_per_day: float = Field(
        ge=0, le=1e7, description="Expected drivers per day wanting to park for this zone."
    )


class WalkLink(StrictModel):
    """An explicit walking distance from a zone to a facility (overrides coordinates)."""

    zone: CleanText = Field(min_length=1, description="Zone id.")
    facility: CleanText = Field(min_length=1, description="Car park or kerb segment id.")
    metres: float = Field(ge=0, le=20_000, description="Walking distance (metres).")


class Demand(StrictModel):
    """Time-varying Poisson demand: hourly profile and trip purposes."""

    hourly_profile: list[float] = Field(
        default_factory=lambda: [1.0] * HOURS_PER_DAY,
        min_length=24,
        max_length=24,
        description="Relative arrival intensity for hours 0..23 (any scale; normalised to sum 1).",
    )
    purposes: list[Purpose] = Field(min_length=1, max_length=20, description="Trip purposes.")
    max_demand_factor: float = Field(
        default=2.0,
        ge=1,
        le=10,
        description="Largest multiple of arrivals_per_day that a cost below the reference can "
        "attract (purposes with a price_elasticity draw this many potential drivers per reference "
        "driver).",
    )

    _profile = field_validator("hourly_profile")(_check_profile)

    @model_validator(mode="after")
    def _check(self) -> Demand:
        names = [p.name for p in self.purposes]
        dup = repeated(names)
        if dup:
            k = second_occurrence(names, dup[0])
            raise ValueError(f"purposes.{k}.name: duplicate names {dup}")
        return self


class Behaviour(StrictModel):
    """How drivers choose, walk and search."""

    logit_scale: float = Field(
        default=0.5,
        gt=0,
        le=1e6,
        description="Logit scale (1/yuan): larger = drivers follow the generalized cost more strictly.",
    )
    choice_set_size: int = Field(default=6, ge=1, le=30, description="Nearest options a driver considers.")
    max_walk_m: float = Field(
        default=800.0, gt=0, le=10_000, description="Options farther than this walk are not considered (m)."
    )
    walk_detour: float = Field(
        default=1.3, ge=1, le=3, description="Walking distance / straight-line distance (coordinates only)."
    )
    walk_speed_kmh: float = Field(default=4.5, gt=0, le=10, description="Walking speed (km/h).")
    walk_weight: float = Field(
        default=2.0, gt=0, le=10, description="Weight of walking time relative to in-vehicle time."
    )
    search_weight: float = Field(
        default=2.0, gt=0, le=10, description="Weight of expected search time relative to in-vehicle time."
    )
    cruise_speed_kmh: float = Field(default=15.0, gt=0, le=60, description="Speed while cruising for parking (km/h).")
    road_detour: float = Field(
        default=1.4, ge=1, le=3, description="Driving distance / straight-line distance between options."
    )
    min_cruise_m: float = Field(
        default=150.0, ge=0, le=5000, description="Least distance driven from one option to the next (m)."
    )
    max_search_minutes: float = Field(
        default=15.0, ge=0, le=240, description="A driver gives up (lost demand) when cruising would exceed this."
    )
    update_minutes: Literal[5, 10, 15, 20, 30, 60] = Field(
        default=60,
        description="How often drivers' information (prices, recent occupancy) is refreshed; "
        "also the statistics step.",
    )


class Enforcement(StrictModel):
    """Kerbside enforcement of the maximum stay."""

    checks_per_hour: float = Field(
        default=0.5, ge=0, le=100, description="Rate of patrol checks an overstaying car is exposed to (1/h)."
    )
    fine: float = Field(default=200.0, ge=0, le=10_000, description="Ticket amount (yuan).")


class Pavement(StrictModel):
    """Illegal (pavement) parking: an outcome a driver chooses when legal parking costs too much
    or its search fails, deterred by enforcement as an expected fine."""

    disutility: float | None = Field(
        default=None,
        ge=0,
        le=10_000,
        description="Cost a driver feels, besides the expected fine, of parking on the pavement "
        "(yuan); omit (null) to rule pavement parking out (drivers who fail are lost).",
    )
    spread: float = Field(
        default=30.0,
        gt=0,
        le=10_000,
        description="Scale of the Gumbel spread of that cost across drivers (yuan): some drivers mind "
        "pavement parking and fines far less than others.",
    )
    checks_per_hour: float = Field(
        default=0.5, ge=0, le=100, description="Rate of patrol checks a pavement parker is exposed to (1/h)."
    )
    fine: float = Field(default=200.0, ge=0, le=10_000, description="Pavement-parking ticket (yuan).")
    give_up_cost: float = Field(
        default=50.0,
        ge=0,
        le=10_000,
        description="Cost of giving up (going elsewhere) for a driver whose search failed (yuan): it "
        "parks on the pavement when that costs it less.",
    )


class Roads(StreetNetwork):
    """The streets drivers cruise and parkers walk (``osm_file`` given, docs/roads.md): cruising
    legs between a zone's options are driving distances on the ``profile`` network (one-way
    streets obeyed), walking distances from a zone to its facilities are shortest paths on the
    ``walk`` network, and a zone's choice set is its nearest facilities by that walk.  Without
    ``osm_file``: straight lines times ``behaviour.road_detour`` / ``walk_detour``."""

    profile: ProfileName = Field(
        default="car",
        description="Vehicle profile of cruising drivers (simcity/roads/profiles.py); walking always "
        "uses the walk profile.",
    )

    @model_validator(mode="after")
    def _no_speed_factors(self) -> Roads:
        # parking uses distances only: a cruising driver searches at behaviour.cruise_speed_kmh
        if self.speed_factors:
            raise ValueError("speed_factors: not used by parking (cruising drivers search at "
                             "behaviour.cruise_speed_kmh, so only street distances are taken); remove it")
        if self.speeds_kmh:
            raise ValueError("speeds_kmh: not used by parking (only street distances are taken; cruising "
                             "runs at behaviour.cruise_speed_kmh); remove it")
        return self

    def walking(self) -> StreetNetwork:
        """The same extract under the ``walk`` profile (footways, both directions of every street)."""
        return StreetNetwork.model_validate({"osm_file": self.osm_file, "profile": "walk",
                                             "max_snap_m": self.max_snap_m,
                                             "largest_component": self.largest_component})


#: Longitude and latitude in degrees (WGS-84), in that order.
LonLat = tuple[Annotated[float, Field(ge=-180, le=180)], Annotated[float, Field(ge=-90, le=90)]]


class City(StrictModel):
    """The parking setting of a district: supply, demand, behaviour and enforcement."""

    origin: LonLat | None = Field(
        default=None,
        description="[longitude, latitude] (degrees) of x = y = 0 when positions come from point files "
        "(car_parks_file, kerb_segments_file, zones_file); default: the centre (median) of all their "
        "points.  Inline x/y of the same scenario are metres from this origin.",
    )
    car_parks_file: DataPath | None = Field(
        default=None,
        description="CSV or GeoJSON of off-street car parks (lon/lat plus the CarPark fields as columns), "
        "relative to the scenario file; its rows become car_parks, projected to metres around origin.",
    )
    kerb_segments_file: DataPath | None = Field(
        default=None,
        description="CSV or GeoJSON of kerbside segments (lon/lat plus the KerbSegment fields), relative "
        "to the scenario file; its rows become kerb_segments.",
    )
    zones_file: DataPath | None = Field(
        default=None,
        description="CSV or GeoJSON of destination zones (lon/lat plus the Zone fields), relative to the "
        "scenario file; its rows become zones.",
    )
    tariffs: dict[CleanText, Tariff] = Field(min_length=1, description="Named tariffs that facilities use.")
    car_parks: list[CarPark] = Field(default_factory=list, max_length=20_000, description="Off-street car parks.")
    kerb_segments: list[KerbSegment] = Field(
        default_factory=list, max_length=20_000, description="Kerbside segments."
    )
    zones: list[Zone] = Field(min_length=1, max_length=20_000, description="Destination zones.")
    walking_links: list[WalkLink] = Field(
        default_factory=list,
        max_length=200_000,
        description="Explicit zone-to-facility walking distances; a zone with links considers only "
        "its linked facilities.",
    )
    demand: Demand = Field(description="Arrival profile and purposes.")
    behaviour: Behaviour = Field(default_factory=lambda: Behaviour.model_validate({}), description="Driver behaviour.")
    enforcement: Enforcement = Field(default_factory=lambda: Enforcement.model_validate({}), description="Kerbside enforcement.")
    pavement: Pavement = Field(
        default_factory=lambda: Pavement.model_validate({}), description="Illegal (pavement) parking and its enforcement."
    )
    kerb_taken_file: DataPath | None = Field(
        default=None,
        description="CSV table of kerb taken from parkers (columns segment, start_min, end_min, taken_m), "
        "e.g. written by another model's kerb plan (simcity.parking.loading.write_kerb_table); its rows "
        "become kerb_taken.",
    )
    kerb_taken: list[KerbTaken] = Field(
        default_factory=list, max_length=200_000,
        description="Kerb taken from parkers by other uses, per segment and slot of the day (the table "
        "another model writes), under every policy; what a policy's loading plan takes is added.",
    )
    kerb_loading: KerbLoading | None = Field(
        default=None,
        description="Loading stops that need kerb; each policy's loading says where they may stand, the "
        "kerb planner allocates them and what they take is removed from parkers' kerb capacity.",
    )
    roads: Roads = Field(
        default_factory=lambda: Roads.model_validate({}),
        description="The street network from an OpenStreetMap extract (docs/roads.md): cruising and "
        "walking distances on real streets; without it straight lines times the detour factors.",
    )

    @model_validator(mode="before")
    @classmethod
    def _kerb_taken_file(cls, data: Any, info: ValidationInfo) -> Any:
        return read_table_file(data, info, "kerb_taken_file", "kerb_taken", KerbTaken)

    @model_validator(mode="before")
    @classmethod
    def _point_files(cls, data: Any, info: ValidationInfo) -> Any:
        # the shared mechanism of simcity.geodata: every file is projected around one origin, so
        # car parks, kerbs and zones from different files line up (docs/data-files.md)
        return expand_point_files(data, info, {
            "car_parks_file": ("car_parks", PointFileSpec("", CarPark)),
            "kerb_segments_file": ("kerb_segments", PointFileSpec("", KerbSegment)),
            "zones_file": ("zones", PointFileSpec("", Zone)),
        })

    @model_validator(mode="after")
    def _references(self) -> City:
        ids = [f.id for f in self.car_parks] + [f.id for f in self.kerb_segments]
        dup = repeated(ids)  # linear time
        if dup:
            k = second_occurrence(ids, dup[0])
            key = f"car_parks.{k}" if k < len(self.car_parks) else f"kerb_segments.{k - len(self.car_parks)}"
            raise ValueError(f"{key}.id: facility ids must be unique across car_parks and kerb_segments: "
                             f"{dup[:10]}")
        if not ids:
            raise ValueError("car_parks, kerb_segments: at least one facility is needed")
        zone_ids = [z.id for z in self.zones]
        zdup = repeated(zone_ids)
        if zdup:
            k = [i for i, v in enumerate(zone_ids) if v == zdup[0]][1]
            raise ValueError(f"zones.{k}.id: duplicate ids {zdup[:10]}")
        groups: tuple[tuple[str, Sequence[Facility]], ...] = (
            ("car_parks", self.car_parks),
            ("kerb_segments", self.kerb_segments),
        )
        for kind, facs in groups:
            for k, f in enumerate(facs):
                if f.tariff not in self.tariffs:
                    raise ValueError(
                        f"{kind}.{k}.tariff: unknown tariff {f.tariff!r}; defined: {sorted(self.tariffs)}"
                    )
        idset, zset = set(ids), set(zone_ids)
        linked: set[str] = set()
        for k, link in enumerate(self.walking_links):
            if link.zone not in zset:
                raise ValueError(f"walking_links.{k}.zone: unknown zone {link.zone!r}")
            if link.facility not in idset:
                raise ValueError(f"walking_links.{k}.facility: unknown facility {link.facility!r}")
            linked.add(link.zone)
        self._check_kerb_taken()
        self._check_loading()
        everything: list[Facility] = [*self.car_parks, *self.kerb_segments]
        placed = all(f.x is not None and f.y is not None for f in everything)
        for k, z in enumerate(self.zones):
            if z.id in linked:
                continue
            if z.x is None or z.y is None:
                raise ValueError(f"zones.{k}: zone {z.id!r} has neither coordinates nor walking_links")
            if not placed:
                raise ValueError(
                    f"zones.{k}: zone {z.id!r} is placed by coordinates, so every facility needs x and y"
                )
        return self

    @model_validator(mode="after")
    def _on_streets(self) -> City:
        # every facility near a street cars may use and every facility and placed zone near a
        # path walkers may use, each pair joined (the matrices are computed here once and
        # disk-cached for the runs)
        if not self.roads.enabled:
            return self
        if not all(f.x is not None and f.y is not None for f in [*self.car_parks, *self.kerb_segments]):
            raise ValueError("roads.osm_file: every car park and kerb segment needs x and y (or a point "
                             "file) to be placed on the street network")
        origin = None if self.origin is None else (float(self.origin[0]), float(self.origin[1]))
        self.roads.check_places(self.facility_places(), origin)
        self.roads.walking().check_places(self.walking_places(), origin)
        return self

    def facility_places(self) -> list[Place]:
        """Car parks then kerb segments (the layout's facility order) as street-network places in
        metres, each with the ``[city]`` key it comes from."""
        out = [Place(f"car_parks.{k}", f"car park {f.id!r}", float(f.x), float(f.y))  # type: ignore[arg-type]
               for k, f in enumerate(self.car_parks)]
        out += [Place(f"kerb_segments.{k}", f"kerb segment {f.id!r}", float(f.x), float(f.y))  # type: ignore[arg-type]
                for k, f in enumerate(self.kerb_segments)]
        return out

    def placed_zones(self) -> list[int]:
        """Indices of the zones placed by coordinates (the others have walking_links)."""
        linked = {link.zone for link in self.walking_links}
        return [k for k, z in enumerate(self.zones) if z.id not in linked]

    def walking_places(self) -> list[Place]:
        """The facilities, then the zones placed by coordinates, as places of the walk network."""
        zones = [Place(f"zones.{k}", f"zone {self.zones[k].id!r}", float(self.zones[k].x),  # type: ignore[arg-type]
                       float(self.zones[k].y)) for k in self.placed_zones()]  # type: ignore[arg-type]
        return [*self.facility_places(), *zones]


    def _check_kerb_taken(self) -> None:
        kerbs = {f.id: f for f in self.kerb_segments}
        spans: dict[str, list[tuple[int, int, int]]] = {}
        for k, row in enumerate(self.kerb_taken):
            seg = kerbs.get(row.segment)
            if seg is None:
                raise ValueError(f"kerb_taken.{k}.segment: unknown kerb segment {row.segment!r}; "
                                 f"kerb segments: {sorted(kerbs)[:10]}")
            if row.taken_m > seg.length_m + 1e-9:
                raise ValueError(f"kerb_taken.{k}.taken_m: {row.taken_m} m is more than segment "
                                 f"{row.segment!r} is long ({seg.length_m} m = berths x berth_length_m)")
            for a, b, j in spans.setdefault(row.segment, []):
                if row.start_min < b and a < row.end_min:
                    raise ValueError(f"kerb_taken.{k}.start_min: slot [{row.start_min}, {row.end_min}) of "
                                     f"{row.segment!r} overlaps row {j}'s [{a}, {b})")
            spans[row.segment].append((row.start_min, row.end_min, k))

    def _check_loading(self) -> None:
        if self.kerb_loading is None:
            return
        kerbs = {f.id for f in self.kerb_segments}
        for k, stop in enumerate(self.kerb_loading.stops):
            for j, sid in enumerate(stop.segments):
                if sid not in kerbs:
                    raise ValueError(f"kerb_loading.stops.{k}.segments.{j}: unknown kerb segment {sid!r}")


RepricedGroup = Literal["car_parks", "kerb_segments", "shared"]


def _default_applies() -> list[RepricedGroup]:
    return ["car_parks", "kerb_segments"]


class ResponsivePricing(StrictModel):
    """SFpark-style demand-responsive pricing: adjust each facility's rate to an occupancy band."""

    period_hours: float = Field(
        default=1.0, gt=0, le=24, description="Review period; a multiple of behaviour.update_minutes."
    )
    step_per_hour: float = Field(
        default=0.5, gt=0, le=100, description="Change of every band's hourly rate per review (yuan/h)."
    )
    low: float = Field(default=0.6, ge=0, le=1, description="Below this mean occupancy the rate is lowered.")
    high: float = Field(default=0.8, ge=0, le=1, description="Above this mean occupancy the rate is raised.")
    max_increase: float = Field(
        default=6.0, ge=0, le=1000, description="Largest total increase over the base rate (yuan/h)."
    )
    max_decrease: float = Field(
        default=2.0, ge=0, le=1000, description="Largest total decrease below the base rate (yuan/h); "
        "rates never go below zero."
    )
    applies_to: list[RepricedGroup] = Field(
        default_factory=_default_applies,
        min_length=1,
        description="Which facilities are repriced (shared = institutions' lots).",
    )

    learning_days: int = Field(
        default=0,
        ge=0,
        le=365,
        description="SFpark as run: simulated days of a learning phase before the evaluated run, in "
        "periods of period_days; after each period every facility's price in each time band moves "
        "one step towards the band, then prices are frozen for the evaluation.  0 = review "
        "within the run every period_hours instead.",
    )
    period_days: int = Field(
        default=1, ge=1, le=365, description="Simulated days of one learning period (learning_days > 0)."
    )
    bands: list[tuple[int, int]] | None = Field(
        default=None,
        min_length=1,
        max_length=24,
        description="Time-of-day price bands [start, end) in whole hours that together cover 0-24 "
        "exactly once (learning_days > 0); omit for one band per hour.",
    )

    @model_validator(mode="after")
    def _band(self) -> ResponsivePricing:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        if self.learning_days and self.period_days > self.learning_days:
            raise ValueError(
                f"period_days: a learning period of {self.period_days} days is longer than the "
                f"learning phase (learning_days = {self.learning_days})"
            )
        if self.learning_days and self.learning_days % self.period_days:
            raise ValueError(
                f"learning_days: {self.learning_days} days is not a whole number of learning periods "
                f"of period_days = {self.period_days}"
            )
        if self.bands is not None:
            if not self.learning_days:
                raise ValueError("bands: time-of-day bands are used by the learning phase only; set learning_days")
            hours = [0] * 24
            for s, e in self.bands:
                if not 0 <= s < e <= 24:
                    raise ValueError(f"bands: band [{s}, {e}] must satisfy 0 <= start < end <= 24")
                for h in range(s, e):
                    hours[h] += 1
            over = [h for h in range(24) if hours[h] > 1]
            gap = [h for h in range(24) if hours[h] == 0]
            if over:
                raise ValueError(f"bands: bands overlap in hours {over}")
            if gap:
                raise ValueError(f"bands: hours {gap} are in no band (bands must cover 0-24)")
        return self

    def band_of_hour(self) -> list[int]:
        """Index of the price band of every hour of the day (one band per hour when unset)."""
        if self.bands is None:
            return list(range(24))
        out = [0] * 24
        for b, (s, e) in enumerate(self.bands):
            for h in range(s, e):
                out[h] = b
        return out


class LoadingZone(StrictModel):
    """A stretch of a kerb segment that the policy gives to loading."""

    segment: CleanText = Field(min_length=1, max_length=80, description="Kerb segment id.")
    length_m: float | None = Field(
        default=None, gt=0, le=10_000,
        description="Length of the zone (m), from the start of the segment; omit for the whole segment.",
    )


class Loading(StrictModel):
    """Where and when loading vehicles (city.kerb_loading) may use the kerb.

    * ``none``: no kerb for loading; every stop double-parks, parkers keep all kerb.
    * ``dedicated``: the zones are loading zones all day; parkers lose them all day.
    * ``windowed``: the zones are loading zones in ``hours`` only and parking otherwise; stops
      outside those hours double-park.
    * ``booked``: the zones take bookings all day, and parkers lose only the kerb the plan books,
      slot by slot (the extent from the start of the zone to the farthest booked vehicle).
    """

    mode: Literal["none", "dedicated", "windowed", "booked"] = Field(
        default="none", description="Kerb policy for loading (see the class description)."
    )
    zones: list[LoadingZone] = Field(default_factory=list, max_length=500, description="Loading zones.")
    hours: list[tuple[float, float]] = Field(
        default_factory=list, max_length=6,
        description="Windows [start, end] (hours of day) when the zones are for loading (mode windowed).",
    )

    @model_validator(mode="after")
    def _mode(self) -> Loading:
        if self.mode != "none" and not self.zones:
            raise ValueError(f"zones: mode {self.mode!r} needs at least one loading zone")
        if self.mode == "windowed":
            if not self.hours:
                raise ValueError("hours: mode 'windowed' needs the loading hours")
            _check_windows(self.hours, "hours")
        elif self.hours:
            raise ValueError(f"hours: loading hours are for mode 'windowed', not {self.mode!r}")
        for h in self.hours:
            for v in h:
                if abs(v * 60 - round(v * 60)) > 1e-9:
                    raise ValueError(f"hours: {v} is not a whole minute")
        segs = [z.segment for z in self.zones]
        dup = repeated(segs)
        if dup:
            k = second_occurrence(segs, dup[0])
            raise ValueError(f"zones.{k}.segment: a segment holds one loading zone, found {dup[0]!r} twice")
        return self


class Policy(PolicyBase):
    """The parking levers a scenario compares."""

    loading: Loading = Field(
        default_factory=lambda: Loading.model_validate({}),
        description="Kerb for loading vehicles (city.kerb_loading): none, dedicated, windowed or booked zones.",
    )

    tariffs: dict[CleanText, Tariff] = Field(
        default_factory=dict,
        description="Replace named city tariffs (e.g. flat instead of tiered kerbside pricing).",
    )
    responsive_pricing: ResponsivePricing | None = Field(
        default=None, description="Demand-responsive pricing; omit for fixed tariffs."
    )
    add_berths: dict[CleanText, int] = Field(
        default_factory=dict, description="Extra berths by facility id (new public berths)."
    )
    open_shared_berths: bool = Field(
        default=False, description="Open institutions' lots (shared = true) to the public in their public_hours."
    )
    payment: Literal["as_city", "pay_at_exit", "leave_first"] = Field(
        default="as_city",
        description="Override every car park's payment mode: pay at an exit gate, or leave first "
        "and pay later (plate recognition, no exit stop).",
    )
    enforcement_factor: float = Field(
        default=1.0, ge=0, le=100, description="Multiplies the kerbside patrol check rate."
    )
    pavement_enforcement: float = Field(
        default=1.0, ge=0, le=100, description="Multiplies the pavement-parking patrol check rate."
    )

    @model_validator(mode="after")
    def _berths(self) -> Policy:
        for fid, n in self.add_berths.items():
            if not 0 <= n <= 100_000:
                raise ValueError(f"add_berths.{fid}: expected 0..100000 extra berths, found {n}")
        return self


def check_policy(city: City, policy: Policy) -> list[str]:
    """Cross-check a policy against the city it is applied to; an empty list when consistent.

    Returns messages of the form ``policies.<name>.<key>: problem``.
    """
    errors: list[str] = []
    ids = {f.id for f in city.car_parks} | {f.id for f in city.kerb_segments}
    for fid in policy.add_berths:
        if fid not in ids:
            errors.append(f"add_berths.{fid}: unknown facility id {fid!r}")
    for name in policy.tariffs:
        if name not in city.tariffs:
            errors.append(f"tariffs.{name}: no city tariff of that name; defined: {sorted(city.tariffs)}")
    errors += _check_loading(city, policy)
    rp = policy.responsive_pricing
    if rp is not None:
        ratio = rp.period_hours * 60.0 / city.behaviour.update_minutes
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            errors.append(
                f"responsive_pricing.period_hours: {rp.period_hours} h is not a multiple of "
                f"city.behaviour.update_minutes ({city.behaviour.update_minutes} min)"
            )
    return errors


def _check_loading(city: City, policy: Policy) -> list[str]:
    """Loading zones on known kerb segments, no longer than them, and long enough for a vehicle."""
    errors: list[str] = []
    lo = policy.loading
    if lo.mode == "none":
        return errors
    if city.kerb_loading is None:
        return [f"loading.mode: {lo.mode!r} plans loading stops, but the city has no [city.kerb_loading]"]
    kerbs = {f.id: f for f in city.kerb_segments}
    shortest = min(s.length_m for s in city.kerb_loading.stops)
    for k, z in enumerate(lo.zones):
        seg = kerbs.get(z.segment)
        if seg is None:
            errors.append(f"loading.zones.{k}.segment: unknown kerb segment {z.segment!r}")
            continue
        length = seg.length_m if z.length_m is None else z.length_m
        if length > seg.length_m + 1e-9:
            errors.append(f"loading.zones.{k}.length_m: {length} m is longer than segment {z.segment!r} "
                          f"({seg.length_m} m = berths x berth_length_m)")
        elif length < shortest - 1e-9:
            errors.append(f"loading.zones.{k}.length_m: a {length} m zone is shorter than any loading "
                          f"vehicle (the shortest is {shortest} m)")
    return errors
