"""Configuration of the shared-bike domain: the ``[city]`` table and the policy levers.

One typed parameter class per component; every field has bounds and a description, so these
classes are at once the scenario schema, its validation and its documentation.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, model_validator

from simcity.domain import CleanText, PolicyBase, StrictModel, repeated, second_occurrence
from simcity.geodata import DataPath, PointFileSpec, expand_point_files
from simcity.roads import Place, ProfileName, StreetNetwork

_COORD = 1.0e6  # metres: a city fits in +-1000 km


class Station(StrictModel):
    """A docked station: a fixed number of docks, each holds one bike."""

    id: CleanText = Field(min_length=1, max_length=80, description="Unique station id.")
    x: float = Field(ge=-_COORD, le=_COORD, description="East coordinate, metres.")
    y: float = Field(ge=-_COORD, le=_COORD, description="North coordinate, metres.")
    capacity: int = Field(
        ge=0, le=1000,
        description="Number of docks; 0 = a site without docks today (riders walk to the next station; "
        "a dock reallocation may give it docks).",
    )
    bikes: int = Field(ge=0, le=1000, description="Bikes docked at the start of the run.")
    attractiveness: float = Field(
        1.0, ge=0.0, le=1.0e6, description="Relative weight of the station as trip origin and destination."
    )
    residential: float = Field(
        0.5, ge=0.0, le=1.0,
        description="Share of the station's catchment that is homes (1) rather than jobs (0): "
        "morning commutes start at homes and end at jobs, evening ones the other way.",
    )

    @model_validator(mode="after")
    def _fits(self) -> Station:
        if self.bikes > self.capacity:
            raise ValueError(f"bikes: station {self.id!r}: {self.bikes} bikes exceed its {self.capacity} docks")
        return self


class ParkingPoint(StrictModel):
    """A designated parking point of a dockless zone (a painted area, no docks)."""

    id: CleanText = Field(min_length=1, max_length=80, description="Unique id (shared with station ids).")
    x: float = Field(ge=-_COORD, le=_COORD, description="East coordinate, metres.")
    y: float = Field(ge=-_COORD, le=_COORD, description="North coordinate, metres.")
    capacity: int = Field(ge=1, le=1000, description="Bikes the designated area holds; more are parked improperly.")
    bikes: int = Field(ge=0, le=5000, description="Bikes at the point at the start of the run.")
    attractiveness: float = Field(1.0, ge=0.0, le=1.0e6, description="Relative weight as origin and destination.")
    residential: float = Field(0.5, ge=0.0, le=1.0, description="Share of homes in the catchment (see Station).")


class DocklessZone(StrictModel):
    """A zone where bikes are left at designated points instead of docks.

    A return never fails in a dockless zone, but a bike left when the point is full, or by a
    rider who ignores the rule, counts as improperly parked.
    """

    id: CleanText = Field(min_length=1, max_length=80, description="Zone id.")
    improper_share: float = Field(
        0.1, ge=0.0, le=1.0,
        description="Probability that a rider parks outside the designated point although it has room.",
    )
    points: list[ParkingPoint] = Field(min_length=1, max_length=10000, description="Designated parking points.")


class SyntheticCity(StrictModel):
    """A generated city: stations scattered over a disc, denser and more job-heavy at the centre.

    Used when a city is too large to list station by station.  The layout is a deterministic
    function of ``layout_seed`` (it is configuration, not a random input of a replication).
    """

    stations: int = Field(ge=1, le=50000, description="Number of docked stations.")
    radius_m: float = Field(gt=0, le=200000, description="Radius of the served area, metres.")
    centre_concentration: float = Field(
        1.5, ge=1.0, le=5.0,
        description="Radial clustering: station radius = radius_m * u**(centre_concentration/2), u uniform; "
        "1 spreads stations evenly over the disc.",
    )
    mean_capacity: int = Field(ge=2, le=500, description="Mean docks per station.")
    capacity_spread: int = Field(0, ge=0, le=250, description="Docks vary uniformly by +- this much.")
    capacity_elasticity: float = Field(
        0.5, ge=0.0, le=1.0,
        description="Stations are sized to demand: docks scale with attractiveness**elasticity "
        "(normalised to mean_capacity); 0 sizes all stations alike.",
    )
    fleet: int = Field(ge=0, le=10_000_000, description="Bikes in the system, spread in proportion to docks.")
    layout_seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the layout generator.")
    id_prefix: CleanText = Field("s", min_length=1, max_length=20, description="Station ids are prefix + number.")


class ODRate(StrictModel):
    """An explicit origin-destination demand rate (replaces the generated demand when given)."""

    origin: CleanText = Field(min_length=1, description="Origin station or parking-point id.")
    destination: CleanText = Field(min_length=1, description="Destination station or parking-point id.")
    per_hour: list[float] = Field(
        min_length=1, max_length=24,
        description="Trip requests per hour: one value (constant) or 24 values (hour of day 0..23).",
    )

    @model_validator(mode="after")
    def _rates(self) -> ODRate:
        if len(self.per_hour) not in (1, 24):
            raise ValueError(f"per_hour needs 1 or 24 values, got {len(self.per_hour)}")
        if any(not 0.0 <= r <= 1.0e5 for r in self.per_hour):
            raise ValueError("per_hour rates must lie in [0, 100000]")
        return self


class Demand(StrictModel):
    """Trip requests: time-varying origin-destination rates.

    Generated from station attractiveness (gravity model with exponential distance decay over
    each origin's ``neighbours`` nearest stations; commute trips from homes to jobs before noon
    and back after) unless ``od`` lists explicit rates.
    """

    daily_trips: float = Field(
        0.0, ge=0.0, le=1.0e7, description="Expected trip requests per day (generated demand)."
    )
    hourly_share: list[float] = Field(
        default_factory=lambda: [1.0 / 24.0] * 24, min_length=24, max_length=24,
        description="Share of the day's requests in each hour 0..23 (normalised to sum 1).",
    )
    commute_share: float = Field(
        0.4, ge=0.0, le=1.0,
        description="Share of requests that are commutes (home->job before noon, job->home after).",
    )
    distance_decay_m: float = Field(
        2000.0, gt=0.0, le=100000.0,
        description="Destination choice weight falls as exp(-distance / distance_decay_m).",
    )
    neighbours: int = Field(
        200, ge=1, le=5000, description="Destinations considered per origin (the nearest ones)."
    )
    od: list[ODRate] = Field(default_factory=list, max_length=1_000_000, description="Explicit OD rates.")

    @model_validator(mode="after")
    def _shares(self) -> Demand:
        if any(s < 0 for s in self.hourly_share) or sum(self.hourly_share) <= 0:
            raise ValueError("hourly_share must be non-negative with a positive sum")
        return self


class Riders(StrictModel):
    """How riders move and react to empty or full stations."""

    speed_kmh: float = Field(12.0, gt=0.0, le=60.0, description="Riding speed, km/h.")
    walk_speed_kmh: float = Field(4.5, gt=0.0, le=10.0, description="Walking speed, km/h.")
    max_walk_m: float = Field(
        400.0, ge=0.0, le=5000.0,
        description="At an empty station a rider walks to the nearest station with a bike within this "
        "distance, otherwise gives up (failed rental).",
    )


class AvailabilityResponse(StrictModel):
    """Riders who find no bike (or no dock) become less likely to try again.

    Each station keeps the availability its riders perceive: ``bike`` (a bike was there when a
    rider came for one) and ``dock`` (a free dock was there when a rider checked or arrived),
    each an exponentially smoothed share over the last ``memory`` observations, starting at 1.
    A request from ``o`` to ``d`` goes ahead with probability
    ``(bike[o] * dock[d]) ** elasticity``, otherwise the rider is *deterred* (does not try).
    The default elasticity is Kabra, Belavina & Girotra (2020): +10 % availability gives
    +12.2 % ridership, e = 1.22.  Deterred riders still see the live state (the operator's app),
    so a station's reputation recovers once it has bikes again.
    """

    elasticity: float = Field(
        1.22, ge=0.0, le=5.0,
        description="Ridership elasticity to perceived availability (Kabra et al. 2020: 1.22); 0 = no response.",
    )
    memory: float = Field(
        20.0, ge=1.0, le=100000.0,
        description="Observations a station's perceived availability averages over (smoothing weight 1/memory).",
    )
    ebike_share: float = Field(
        0.0, ge=0.0, le=1.0,
        description="Share of deterred and failed riders who take a shared e-bike instead (the competing mode; "
        "Suzhou's 2024 pilot has 25,000 e-bikes [000]); counted as ebike_trips.",
    )


class VanSpec(StrictModel):
    """Rebalancing vans (their number and shifts are policy levers)."""

    capacity: int = Field(20, ge=1, le=500, description="Bikes a van carries.")
    speed_kmh: float = Field(20.0, gt=0.0, le=120.0, description="Average driving speed in town, km/h.")
    handling_s_per_bike: float = Field(30.0, ge=0.0, le=3600.0, description="Seconds to load or unload a bike.")


class VanRoads(StreetNetwork):
    """The vans' street network (``osm_file`` given): their planning and driving use the
    shortest paths of the ``van`` profile by hour of the day instead of straight lines times
    ``road_detour`` at ``vans.speed_kmh``; riders keep the straight-line model."""

    profile: ProfileName = Field(
        default="van",
        description="Vehicle profile of the vans (simcity/roads/profiles.py): which ways they may use, "
        "one-way streets, speeds per road class.",
    )


class City(StrictModel):
    """A shared-bike system: docked stations, dockless zones, demand, riders and vans."""

    stations: list[Station] = Field(default_factory=list, max_length=100000, description="Docked stations.")
    stations_file: DataPath | None = Field(
        None,
        description="CSV or GeoJSON of docked stations (lon/lat plus the Station fields), relative to the "
        "scenario file; its rows become `stations`, projected to metres around `origin`.",
    )
    origin: list[float] | None = Field(
        None, min_length=2, max_length=2,
        description="[longitude, latitude] that point files are projected around (x = y = 0); default "
        "the centre of the file's points. Inline x/y (dockless points) use the same origin.",
    )
    synthetic: SyntheticCity | None = Field(
        None, description="Generate docked stations instead of listing them (added to `stations`)."
    )
    zones: list[DocklessZone] = Field(default_factory=list, max_length=1000, description="Dockless zones.")
    demand: Demand = Field(default_factory=lambda: Demand.model_validate({}), description="Trip requests.")
    riders: Riders = Field(default_factory=lambda: Riders.model_validate({}), description="Rider behaviour.")
    vans: VanSpec = Field(default_factory=lambda: VanSpec.model_validate({}), description="Rebalancing vans.")
    response: AvailabilityResponse | None = Field(
        None,
        description="Demand that responds to availability; absent = every request is tried (the model "
        "before the response existed, reproduced exactly).",
    )
    road_detour: float = Field(
        1.3, ge=1.0, le=3.0, description="Road distance / straight-line distance (riders and vans)."
    )
    roads: VanRoads = Field(
        default_factory=lambda: VanRoads.model_validate({}),
        description="The vans' street network from an OpenStreetMap extract (docs/roads.md); without "
        "osm_file vans drive straight lines times road_detour.",
    )

    @model_validator(mode="before")
    @classmethod
    def _point_files(cls, data: Any, info: ValidationInfo) -> Any:
        return expand_point_files(data, info, {"stations_file": ("stations", PointFileSpec("", Station))})

    @model_validator(mode="after")
    def _consistent(self) -> City:
        ids = [s.id for s in self.stations] + [p.id for z in self.zones for p in z.points]
        if self.synthetic is not None:
            prefix = self.synthetic.id_prefix
            clash = [i for i in ids if i.startswith(prefix) and i[len(prefix):].isdigit()]
            if clash:
                raise ValueError(f"station id {clash[0]!r} clashes with synthetic ids '{prefix}<n>'")
        dup = repeated(ids)  # linear time
        if dup:
            k = second_occurrence(ids, dup[0])
            n = len(self.stations)
            if k < n:
                key = f"stations.{k}.id"
            else:  # the k-th id among the dockless points, zone by zone
                k -= n
                z = 0
                while k >= len(self.zones[z].points):
                    k -= len(self.zones[z].points)
                    z += 1
                key = f"zones.{z}.points.{k}.id"
            raise ValueError(f"{key}: station/parking-point id {dup[0]!r} is used twice")
        seen = set(ids)
        if not ids and self.synthetic is None:
            raise ValueError("the city needs stations, a synthetic layout or dockless zones")
        if self.synthetic is not None:
            s = self.synthetic
            if s.capacity_spread >= s.mean_capacity:
                raise ValueError("synthetic.capacity_spread must be smaller than mean_capacity")
            if s.fleet > s.stations * (s.mean_capacity - s.capacity_spread):
                raise ValueError(
                    f"synthetic.fleet {s.fleet} may exceed the docks "
                    f"({s.stations} stations x at least {s.mean_capacity - s.capacity_spread})"
                )
        for k, od in enumerate(self.demand.od):
            for end in (od.origin, od.destination):
                if end not in seen:
                    raise ValueError(f"demand.od.{k}: unknown station {end!r}")
        if self.demand.od and self.demand.daily_trips > 0:
            raise ValueError("give either demand.od (explicit rates) or demand.daily_trips, not both")
        return self

    @model_validator(mode="after")
    def _on_streets(self) -> City:
        # every station and parking point near a road the vans may use, every pair joined
        # (the matrices are computed here once and disk-cached for the runs)
        if self.roads.enabled:
            if self.synthetic is not None:
                raise ValueError("roads.osm_file: synthetic stations are not placed on the street network; "
                                 "list the stations (stations or stations_file) to use it")
            origin = None if self.origin is None else (float(self.origin[0]), float(self.origin[1]))
            self.roads.check_places(self.street_places(), origin)
        return self

    def street_places(self) -> list[Place]:
        """Docked stations, then dockless parking points zone by zone (the network's order), as
        street-network places in metres with the ``[city]`` key each comes from."""
        out = [Place(f"stations.{k}", f"station {st.id!r}", st.x, st.y) for k, st in enumerate(self.stations)]
        out += [Place(f"zones.{z}.points.{k}", f"parking point {p.id!r}", p.x, p.y)
                for z, zone in enumerate(self.zones) for k, p in enumerate(zone.points)]
        return out


class Policy(PolicyBase):
    """Levers of a shared-bike policy: fleet size, rebalancing strategy, vans and shifts."""

    fleet_size: int | None = Field(
        None, ge=0, le=10_000_000,
        description="Total bikes; initial stocks are scaled to this total (largest remainders). "
        "None keeps the city's stocks. The lever for a fleet cut.",
    )
    overnight: Literal["none", "proportional", "dissatisfaction"] = Field(
        "none",
        description="Night-shift rebalancing targets: none; 'proportional' (every station filled to the "
        "fleet's average fill); 'dissatisfaction' (Raviv-Kolka: minimise expected failed rentals and "
        "returns of the coming day under the fleet size).",
    )
    daytime: Literal["none", "dynamic"] = Field(
        "none",
        description="'dynamic': during the day shift, re-plan van routes every replan_interval_min on "
        "current stock against the dissatisfaction targets of the next lookahead_h hours.",
    )
    vans: int = Field(0, ge=0, le=5000, description="Rebalancing vans in service.")
    night_start_h: float = Field(0.0, ge=0.0, lt=24.0, description="Night shift start, hour of day.")
    night_end_h: float = Field(6.0, gt=0.0, le=24.0, description="Night shift end, hour of day.")
    day_start_h: float = Field(7.0, ge=0.0, lt=24.0, description="Day shift start, hour of day.")
    day_end_h: float = Field(21.0, gt=0.0, le=24.0, description="Day shift end, hour of day.")
    replan_interval_min: float = Field(
        60.0, ge=5.0, le=720.0, description="Dynamic rebalancing: minutes between re-plans."
    )
    lookahead_h: float = Field(
        3.0, gt=0.0, le=24.0, description="Dynamic rebalancing: hours of forecast demand the targets cover."
    )
    failed_return_weight: float = Field(
        1.0, ge=0.0, le=100.0,
        description="Weight of a failed return relative to a failed rental in the dissatisfaction function.",
    )
    candidates_per_van: int = Field(
        30, ge=1, le=1000, description="Stations per van territory offered to the route optimiser per plan."
    )
    bike_value_m: float = Field(
        3000.0, gt=0.0, le=1.0e6,
        description="Van metres worth driving to avoid one expected failed trip (router objective).",
    )
    plan_effort: int = Field(
        50, ge=1, le=10_000_000,
        description="Work budget of one van-route plan: solutions accepted by the router's greedy descent "
        "(reproducible: no wall-clock limit inside the simulation; a large value descends to a local optimum).",
    )
    warm_start: bool = Field(
        True, description="Dynamic rebalancing: start each van's route search from its previous plan's stations.",
    )
    docks: Literal["as_today", "reallocated"] = Field(
        "as_today",
        description="'reallocated': move up to max_moves docks between docked stations (closing "
        "close_stations) to minimise the coming day's Raviv-Kolka dissatisfaction with the fleet's bikes "
        "at their best (Freund, Henderson & Shmoys); the dock total stays the same.",
    )
    max_moves: int = Field(
        0, ge=0, le=10_000_000,
        description="Dock reallocation work budget: docks the optimiser may relocate, one greedy move each "
        "(the docks of closed stations included).",
    )
    close_stations: list[CleanText] = Field(
        default_factory=list, max_length=100000,
        description="Docked station ids to close (0 docks; their docks go to other stations).",
    )
    min_docks: int = Field(
        5, ge=0, le=1000,
        description="Dock reallocation: an open station keeps at least this many docks (or today's, if fewer).",
    )
    max_dock_change: int = Field(
        20, ge=1, le=1000,
        description="Dock reallocation: an open station gains or loses at most this many docks.",
    )

    @model_validator(mode="after")
    def _shifts(self) -> Policy:
        if self.night_end_h <= self.night_start_h:
            raise ValueError("night_end_h must be after night_start_h (a shift within one day)")
        if self.day_end_h <= self.day_start_h:
            raise ValueError("day_end_h must be after day_start_h")
        if (self.overnight != "none" or self.daytime != "none") and self.vans == 0:
            raise ValueError("rebalancing needs vans > 0")
        if self.docks == "as_today":
            if self.close_stations:
                raise ValueError("close_stations: closing stations needs docks = 'reallocated' "
                                 "(their docks are moved to other stations)")
            if self.max_moves:
                raise ValueError("max_moves: a dock budget needs docks = 'reallocated'")
        elif self.max_moves == 0:
            raise ValueError("docks: 'reallocated' needs max_moves > 0 (the budget of dock moves)")
        dup = repeated(list(self.close_stations))
        if dup:
            k = second_occurrence(list(self.close_stations), dup[0])
            raise ValueError(f"close_stations.{k}: station {dup[0]!r} is listed twice")
        return self
