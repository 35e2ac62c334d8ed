"""Configuration of the garbage-collection model: the ``[city]`` table and the policy levers.

One typed parameter class per component (waste stream, zone of drop points, depot, transfer
station, fleet, road network, routing budget); every field has bounds and a description, so
the classes are at once the scenario schema, its validation and its documentation.

Units: kilometres and km/h for geography, tonnes for waste, hours of the day for clocks,
minutes for short durations, yuan (CNY) for money.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from optimize.routing.names import FIRST_SOLUTION_STRATEGIES, METAHEURISTICS
from simcity.domain import CleanText, PolicyBase, StrictModel, repeated, second_occurrence
from simcity.garbage.places import street_places
from simcity.geodata import DataPath, PointFileSpec, expand_point_files
from simcity.roads import StreetNetwork

#: waste categories of the Chinese four-way sorting rule (其他 / 易腐 / 可回收 / 有害)
Category = Literal["other", "perishable", "recyclable", "hazardous"]
CATEGORIES: tuple[Category, ...] = ("other", "perishable", "recyclable", "hazardous")

Destination = Literal["incineration", "landfill", "recycling", "composting", "hazardous_treatment"]


class WasteStream(StrictModel):
    """Generation and bins of one waste category over the whole city setting."""

    category: Category = Field(description="Waste category.")
    tonnes_per_day: float = Field(
        gt=0, le=100_000, description="Mean waste generated per day over all drop points (t/day)."
    )
    share_of_points: float = Field(
        default=1.0, gt=0, le=1, description="Share of drop points that have bins for this category."
    )
    capacity_days: float = Field(
        default=2.0, gt=0, le=30,
        description="Bin capacity at a point, in days of that point's mean generation "
        "(bins are sized to the point: a busy point has more bins).",
    )
    min_capacity_t: float = Field(
        default=0.05, gt=0, le=100, description="Smallest bin capacity at a point (t), e.g. one 240 l bin."
    )
    day_cv: float = Field(
        default=0.3, ge=0, le=3,
        description="Coefficient of variation of a point's daily generation (gamma distributed).",
    )
    point_cv: float = Field(
        default=0.4, ge=0, le=3,
        description="Spread of mean generation between points (lognormal coefficient of variation).",
    )
    density_t_per_m3: float = Field(
        default=0.25, gt=0, le=2, description="Bulk density in the bin, to report overflow volume (t/m³)."
    )
    service_minutes: float = Field(
        default=3.0, gt=0, le=120, description="Mean time to empty the bins of this category at one point (min)."
    )
    destination: Destination = Field(
        default="incineration", description="Where the transfer stations send this category onward."
    )


class Zone(StrictModel):
    """A cluster of drop points (a residential area); points are placed uniformly in a disc."""

    id: CleanText = Field(min_length=1, max_length=60, description="Zone identifier.")
    x_km: float = Field(ge=-500, le=500, description="Centre, east coordinate (km).")
    y_km: float = Field(ge=-500, le=500, description="Centre, north coordinate (km).")
    radius_km: float = Field(gt=0, le=100, description="Radius of the disc holding the points (km).")
    points: int = Field(ge=1, le=50_000, description="Number of drop points (投放点位) in the zone.")
    generation_factor: float = Field(
        default=1.0, gt=0, le=20, description="Relative waste generation per point in this zone."
    )


class DropPoint(StrictModel):
    """One drop point at a known place (from the planner's own data), instead of random placement."""

    id: CleanText = Field(min_length=1, max_length=60, description="Drop-point identifier.")
    x_km: float = Field(ge=-500, le=500, description="East coordinate (km).")
    y_km: float = Field(ge=-500, le=500, description="North coordinate (km).")
    zone: CleanText = Field(min_length=1, max_length=60, description="Id of the zone the point belongs to.")
    generation_factor: float = Field(
        default=1.0, gt=0, le=20,
        description="Relative waste generation of this point (multiplies its zone's factor).",
    )


class Pattern(StrictModel):
    """When residents bring waste: shape over the day and over the week."""

    hourly: list[float] = Field(
        default_factory=lambda: [0, 0, 0, 0, 0, 0, 1, 3, 3, 1, 0.5, 0.5,
                                 0.5, 0.5, 0.5, 0.5, 0.5, 1, 3, 3, 2, 1, 0, 0],
        min_length=24, max_length=24,
        description="Relative drop-off intensity per hour 0..23 (restricted to opening hours).",
    )
    weekly: list[float] = Field(
        default_factory=lambda: [1.0, 0.97, 0.97, 0.98, 1.0, 1.04, 1.04],
        min_length=7, max_length=7,
        description="Relative generation per weekday, Monday first (normalised to mean 1).",
    )

    @model_validator(mode="after")
    def _positive(self) -> Pattern:
        if min(self.hourly) < 0 or sum(self.hourly) <= 0:
            raise ValueError("pattern.hourly: values must be >= 0 with a positive sum")
        if min(self.weekly) <= 0:
            raise ValueError("pattern.weekly: values must be > 0")
        return self


class Depot(StrictModel):
    """Where trucks park overnight."""

    id: CleanText = Field(min_length=1, max_length=60, description="Depot identifier.")
    x_km: float = Field(ge=-500, le=500, description="East coordinate (km).")
    y_km: float = Field(ge=-500, le=500, description="North coordinate (km).")


class TippingBay(StrictModel):
    """A kind of tipping bay at a transfer station: which trucks and waste it takes, how long a
    truck occupies it, and when it is open.  ``count`` identical bays of this kind."""

    id: CleanText = Field(min_length=1, max_length=60, description="Bay (kind) identifier, unique in the station.")
    count: int = Field(default=1, ge=1, le=200, description="Number of identical bays of this kind.")
    categories: list[Category] | None = Field(
        default=None, min_length=1,
        description="Categories the bay takes (a truck may tip here only if it carries nothing "
        "else); default: every category the station accepts.",
    )
    fleets: list[CleanText] | None = Field(
        default=None, min_length=1,
        description="Truck types (fleet ids) the bay takes, e.g. a side-loader bay; default: every fleet.",
    )
    tip_minutes: float = Field(gt=0, le=240, description="Mean time a truck occupies this bay (min).")
    open_h: tuple[float, float] = Field(
        default=(0.0, 24.0),
        description="Daily opening window [start, end) in hours of the day: a tip starts no "
        "earlier than start and is planned to end by end.",
    )

    @model_validator(mode="after")
    def _window(self) -> TippingBay:
        a, b = self.open_h
        if not 0 <= a < b <= 24:
            raise ValueError(f"open_h: window ({a}, {b}) must satisfy 0 <= start < end <= 24")
        if (b - a) * 60 < self.tip_minutes:
            raise ValueError(f"open_h: the window ({a}, {b}) of {(b - a) * 60:g} min cannot hold one "
                             f"tip of {self.tip_minutes:g} min (tip_minutes)")
        return self


class Weighbridge(StrictModel):
    """The weighbridge every truck crosses before it tips (one queue, ``lanes`` scales)."""

    lanes: int = Field(default=1, ge=1, le=20, description="Scales in parallel.")
    minutes: float = Field(gt=0, le=60, description="Mean time a truck spends on the scale (min).")


class Appointments(StrictModel):
    """How appointment slots at a station's bays are planned and kept (policy ``bay_rule =
    "planned"`` or ``"routed"`` on a station with ``tipping_bays``)."""

    grace_minutes: float = Field(
        default=10.0, ge=0, le=240,
        description="A truck arriving later than its slot start plus this has missed its slot "
        "and queues as a walk-in (behind every slot holder present at the bays it may use, "
        "first come first served among walk-ins).",
    )
    slot_margin_minutes: float = Field(
        default=0.0, ge=0, le=120,
        description="Minutes added to a bay's tip time in the plan (slot length = tip_minutes "
        "+ margin, rounded up to whole minutes), a buffer against tips running long.",
    )
    window_minutes: float = Field(
        default=15.0, gt=0, le=240,
        description="Policy 'routed': the routing plan must reach the station within this "
        "many minutes either side of each slot's arrival time (station time windows).",
    )
    effort: float = Field(
        default=2.0, gt=0, le=10_000,
        description="Work budget of one station-day's slot schedule: CP-SAT deterministic "
        "seconds on one worker after the optimize.berths warm start (never wall clock).",
    )


class TransferStation(StrictModel):
    """A transfer station (转运站 / 集运中心): trucks tip into bays, waste goes on aggregated.

    Without ``tipping_bays`` the station has ``bays`` identical bays open all day (one FCFS
    queue); with them, bays differ by category, truck type, tip time and opening window, an
    optional weighbridge comes first, and the policy's ``bay_rule`` may book appointment slots
    (docs/garbage.md: transfer-station appointments).
    """

    id: CleanText = Field(min_length=1, max_length=60, description="Station identifier.")
    x_km: float = Field(ge=-500, le=500, description="East coordinate (km).")
    y_km: float = Field(ge=-500, le=500, description="North coordinate (km).")
    bays: int = Field(ge=1, le=200, description="Number of tipping bays (trucks queue for them).")
    tip_minutes: float = Field(default=8.0, gt=0, le=240, description="Mean time a truck occupies a bay (min).")
    daily_limit_t: float = Field(
        gt=0, le=1_000_000,
        description="Daily throughput limit (t/day); trucks are diverted when it is reached.",
    )
    categories: list[Category] = Field(
        default_factory=lambda: list(CATEGORIES), min_length=1,
        description="Categories the station accepts.",
    )
    tipping_bays: list[TippingBay] | None = Field(
        default=None, min_length=1, max_length=50,
        description="Heterogeneous tipping bays (their counts must add up to 'bays'); default: "
        "'bays' identical bays taking everything, tip_minutes each, always open.",
    )
    weighbridge: Weighbridge | None = Field(
        default=None, description="A weighbridge every truck crosses before tipping (needs tipping_bays).")
    appointments: Appointments = Field(
        default_factory=lambda: Appointments.model_validate({}),
        description="Appointment slots at the bays (policies 'planned' and 'routed' on stations with tipping_bays).",
    )

    @model_validator(mode="after")
    def _bays(self) -> TransferStation:
        if self.tipping_bays is None:
            if self.weighbridge is not None:
                raise ValueError("weighbridge: a weighbridge needs tipping_bays (list the bays it feeds)")
            return self
        ids = [b.id for b in self.tipping_bays]
        dup = repeated(ids)
        if dup:
            raise ValueError(f"tipping_bays.{second_occurrence(ids, dup[0])}.id: bay ids must be unique "
                             f"in a station, repeated: {dup[:10]}")
        total = sum(b.count for b in self.tipping_bays)
        if total != self.bays:
            raise ValueError(f"bays: station {self.id!r} has {self.bays} bays but its tipping_bays "
                             f"count {total}")
        for k, b in enumerate(self.tipping_bays):
            extra = sorted(set(b.categories or ()) - set(self.categories))
            if extra:
                raise ValueError(f"tipping_bays.{k}.categories: bay {b.id!r} takes {extra}, which station "
                                 f"{self.id!r} does not accept ({self.categories})")
            slot = math.ceil(b.tip_minutes + self.appointments.slot_margin_minutes - 1e-9)
            if (b.open_h[1] - b.open_h[0]) * 60 < slot:
                raise ValueError(f"tipping_bays.{k}.open_h: the window {b.open_h} cannot hold one appointment "
                                 f"slot of {slot} min (tip_minutes {b.tip_minutes:g} + "
                                 f"appointments.slot_margin_minutes {self.appointments.slot_margin_minutes:g})")
        return self


class Fleet(StrictModel):
    """A group of identical trucks (colour-coded per category, or multi-compartment)."""

    id: CleanText = Field(min_length=1, max_length=60, description="Fleet identifier.")
    depot: CleanText = Field(min_length=1, description="Depot id where the trucks start and end.")
    categories: list[Category] = Field(
        min_length=1, max_length=4,
        description="Categories it carries, one compartment each; one category = a dedicated "
        "colour-coded truck, several = co-collection.",
    )
    capacity_t: list[float] = Field(
        min_length=1, max_length=4, description="Payload per compartment (t), same order as categories."
    )
    count: int = Field(ge=0, le=5_000, description="Number of trucks.")
    shift_start_h: float = Field(default=6.0, ge=0, le=23, description="Shift start (hour of day).")
    shift_hours: float = Field(default=8.0, gt=0, le=16, description="Shift length (h).")
    break_minutes: float = Field(default=30.0, ge=0, le=120, description="Lunch break length (min); 0 = none.")
    break_window_h: tuple[float, float] = Field(
        default=(3.5, 5.0), description="Earliest and latest break start, hours after shift start."
    )
    max_overtime_h: float = Field(
        default=1.0, ge=0, le=8, description="Overtime a truck may work before dropping remaining stops (h)."
    )
    cost_per_km: float = Field(default=4.0, ge=0, le=1000, description="Running cost (CNY/km).")
    cost_per_hour: float = Field(default=120.0, ge=0, le=10_000, description="Crew and truck time cost (CNY/h).")
    cost_per_day: float = Field(default=600.0, ge=0, le=100_000, description="Fixed cost per truck used per day (CNY).")
    co2_kg_per_km: float = Field(
        default=1.5, ge=0, le=20,
        description="CO₂ per km (kg); a diesel compactor burns about 55 l/100 km at 2.68 kg CO₂/l.",
    )

    @model_validator(mode="after")
    def _shape(self) -> Fleet:
        if len(self.capacity_t) != len(self.categories):
            raise ValueError(f"fleet {self.id!r}: capacity_t needs one entry per category")
        if len(set(self.categories)) != len(self.categories):
            raise ValueError(f"fleet {self.id!r}: categories repeat")
        if min(self.capacity_t) <= 0:
            raise ValueError(f"fleet {self.id!r}: capacity_t entries must be > 0")
        if self.break_minutes > 0 and not 0 <= self.break_window_h[0] <= self.break_window_h[1] <= self.shift_hours:
            raise ValueError(f"fleet {self.id!r}: break_window_h must lie within the shift")
        if self.shift_start_h + self.shift_hours + self.max_overtime_h > 24:
            raise ValueError(f"fleet {self.id!r}: shift plus overtime must end before midnight")
        return self


class Roads(StreetNetwork):
    """The road network: straight lines times a detour factor at one speed, or (with
    ``osm_file``) the shortest paths of an OpenStreetMap extract for the ``truck`` profile,
    by hour of the day (docs/roads.md)."""

    detour: float = Field(default=1.35, ge=1, le=3, description="Road distance / straight-line distance "
                          "(not used with osm_file).")
    speed_kmh: float = Field(default=20.0, gt=1, le=120, description="Mean urban driving speed of a truck "
                             "(km/h; not used with osm_file, where the profile's speeds_kmh apply).")
    travel_cv: float = Field(
        default=0.15, ge=0, le=2, description="Coefficient of variation of a leg's driving time (lognormal)."
    )
    service_cv: float = Field(
        default=0.3, ge=0, le=2, description="Coefficient of variation of service and tipping times (gamma)."
    )


#: Names OR-Tools accepts, checked when the scenario loads (not inside a worker).
FIRST_SOLUTION_NAMES = ("AUTO", *FIRST_SOLUTION_STRATEGIES)
METAHEURISTIC_NAMES = METAHEURISTICS


class Routing(StrictModel):
    """How ``optimize.routing`` is called each day.

    Budgets are **work**, never wall-clock seconds: a plan stopped by the clock would differ
    on a busy machine, and the same scenario and seed would give different tables.
    """

    effort: int = Field(
        default=600, ge=1, le=1_000_000,
        description="Work budget of one daily routing call: iterations of PyVRP's iterated "
        "local search after its construction (local-search solutions for ortools, whose "
        "greedy descent reaches its local optimum within ~400 on 140-point district sectors).  "
        "600 iterations take about a second on a district sector (docs/garbage.md: plan "
        "quality).",
    )
    master_effort: int = Field(
        default=5_000, ge=1, le=10_000_000,
        description="Work budget of a sector's master route (every point of the sector at its "
        "mean daily load), solved once per sector and fleet and reused as the start of every "
        "daily plan.",
    )
    master_metaheuristic: str = Field(
        default="GREEDY_DESCENT", min_length=1,
        description="OR-Tools metaheuristic of the master routes (GREEDY_DESCENT: to a local "
        "optimum; daily plans improve on the master anyway).",
    )
    warm_start: Literal["master", "none", "yesterday"] = Field(
        default="none",
        description="'none': every daily plan from OR-Tools' first-solution heuristic; "
        "'master': daily plans start from the sector's master route (points not selected "
        "dropped, unloads re-placed, new points inserted by the search).  Measured on "
        "Liangxi sector-days the cold start ended 0-7 % shorter in 4 of 5 (docs/garbage.md).  "
        "'yesterday': a sector's plan starts from its previous plan in the run (points not "
        "selected today dropped, unloads re-placed, new points inserted by the search) and "
        "searches for warm_effort iterations; a sector whose previous plan serves fewer than "
        "half of today's points starts cold with effort, and a problem already planned in "
        "the run keeps its plan (crews drive the same round).",
    )
    neighbours: int = Field(
        default=20, ge=2, le=100,
        description="Granular neighbourhood of PyVRP's local search (nearest stops each stop is "
        "tried next to).  Measured on 20 Liangxi sector-days (docs/garbage.md): 10 with "
        "effort 900 ended 1.61 % above a 10x reference in km against 1.79 % for 20 with "
        "effort 600, at 0.64 instead of 0.92 CPU s per solve.",
    )
    warm_effort: int = Field(
        default=300, ge=1, le=1_000_000,
        description="Work budget of a plan that starts from yesterday's (warm_start = "
        "'yesterday'), in the units of effort.",
    )
    seed: int = Field(
        default=0, ge=0, le=2**31 - 1,
        description="Seed of the randomised routing backends (pyvrp).  Plans depend only on "
        "their inputs and this seed, never on the replication, so equal problems are solved "
        "once and shared (cache).",
    )
    partition: Literal["none", "zone"] = Field(
        default="zone",
        description="'zone': plan each zone with its share of the trucks (fixed crews per sector); "
        "'none': one routing call per collection group for the whole city.",
    )
    backend: Literal["ortools", "pyvrp", "auto"] = Field(
        default="pyvrp",
        description="optimize.routing backend: 'pyvrp' (iterated local search from a "
        "construction; no planned breaks) came within 2 % of a 10x-effort reference in "
        "planned km on Liangxi sector-days where OR-Tools' greedy descent was 3.6 % above it "
        "(docs/garbage.md: plan quality); 'ortools' models everything (planned breaks); "
        "'auto' takes the best-suited one.",
    )
    first_solution: str = Field(
        default="AUTO", min_length=1, description="OR-Tools first-solution strategy name."
    )
    metaheuristic: str = Field(
        default="GREEDY_DESCENT", min_length=1,
        description="OR-Tools metaheuristic of the daily plans; GREEDY_DESCENT improves the "
        "warm start to a local optimum, GUIDED_LOCAL_SEARCH keeps searching until the effort "
        "is spent.",
    )
    load_margin: float = Field(
        default=0.1, ge=0, le=0.9,
        description="Share of each compartment kept free when planning, for loads above the "
        "forecast (fewer unplanned trips to a station).",
    )
    end_at: Literal["depot", "station"] = Field(
        default="depot",
        description="Where planned routes end: at the depot (after a last unload), or at the "
        "station nearest to the depot, tipping the last load on the way home (the drive home "
        "is then left out of the plan and its time taken off the shift).",
    )
    plan_breaks: bool = Field(
        default=False,
        description="Plan the lunch break inside the routes (OR-Tools only; it slows the search "
        "several-fold).  Otherwise routes are planned on a shift shortened by the break and the "
        "trucks take the break in the simulation.",
    )
    bay_effort: float = Field(
        default=0.0, ge=0, le=10_000,
        description="Work budget of the tipping-bay schedule per station and day when the policy "
        "plans bays: 0 = the warm start of optimize.berths only (list-scheduling constructions "
        "and local search to a local optimum; it matched CP-SAT on every Liangxi station-day "
        "measured, docs/garbage.md); > 0 = then CP-SAT from it for this many deterministic "
        "seconds (one worker), which costs seconds of model building per call.",
    )
    skip_penalty: float = Field(
        default=2_000.0, ge=0, le=1e7,
        description="Cost (CNY) of leaving a selected point unvisited; large so that the solver "
        "skips only when the fleet cannot serve everything.",
    )
    time_limit_s: float | None = Field(
        default=None,
        description="Refused: wall-clock routing budgets make plans depend on machine load. "
        "Use 'effort'.",
    )
    min_call_s: float | None = Field(default=None, description="Refused, as time_limit_s.")
    bay_time_limit_s: float | None = Field(
        default=None, description="Refused: wall-clock bay planning. Use 'bay_effort'.")

    @field_validator("time_limit_s", "min_call_s", "bay_time_limit_s")
    @classmethod
    def _no_wall_clock(cls, v: float | None, info: ValidationInfo) -> float | None:
        if v is not None:
            use = "bay_effort" if info.field_name == "bay_time_limit_s" else "effort"
            raise ValueError(
                "wall-clock budgets are refused inside simulations: a plan stopped by the "
                "clock differs on a busy machine, so the same seed would give different "
                f"tables; state the work instead with routing.{use} (docs/garbage.md)")
        return v

    @field_validator("first_solution", "metaheuristic", "master_metaheuristic")
    @classmethod
    def _ortools_name(cls, v: str, info: ValidationInfo) -> str:
        names = FIRST_SOLUTION_NAMES if info.field_name == "first_solution" else METAHEURISTIC_NAMES
        if v.upper() not in names:
            raise ValueError(f"unknown OR-Tools name {v!r}; expected one of {', '.join(names)}")
        return v.upper()

    @model_validator(mode="after")
    def _backend_fits(self) -> Routing:
        if self.backend == "pyvrp" and self.plan_breaks:
            raise ValueError(
                "backend: 'pyvrp' cannot plan breaks (plan_breaks = true); use 'ortools' or "
                "'auto', or plan_breaks = false (the trucks then take the break in the "
                "simulation)")
        return self


class City(StrictModel):
    """A city setting for waste collection: drop points, waste, fleets, transfer stations."""

    layout_seed: int = Field(
        default=1, ge=0, le=2**32 - 1,
        description="Seed of the drop-point layout (positions, bin sizes); fixed across replications.",
    )
    zones: list[Zone] = Field(min_length=1, description="Clusters of drop points.")
    points: list[DropPoint] | None = Field(
        default=None,
        description="Drop points at known places; when given, each zone holds exactly the points "
        "that name it (its 'points' count must match) and no point is placed at random.",
    )
    origin: tuple[float, float] | None = Field(
        default=None, description="[longitude, latitude] the point files are projected around "
        "(default: the median of their points; filled in when files are read), and that x_km/y_km "
        "are measured from on the street network of roads.osm_file.",
    )
    points_file: DataPath | None = Field(
        default=None, description="CSV or GeoJSON of drop points (lon, lat, id, zone, "
        "generation_factor), relative to the scenario file; fills 'points'.",
    )
    stations_file: DataPath | None = Field(
        default=None, description="CSV or GeoJSON of transfer stations (lon, lat and the "
        "TransferStation fields); fills 'stations'.",
    )
    depots_file: DataPath | None = Field(
        default=None, description="CSV or GeoJSON of depots (lon, lat, id, name); fills 'depots'.",
    )
    waste: list[WasteStream] = Field(min_length=1, max_length=4, description="Waste streams.")
    pattern: Pattern = Field(default_factory=lambda: Pattern.model_validate({}), description="Daily and weekly drop-off pattern.")
    depots: list[Depot] = Field(min_length=1, description="Truck depots.")
    stations: list[TransferStation] = Field(min_length=1, description="Transfer stations.")
    fleets: list[Fleet] = Field(min_length=1, description="Truck fleets.")
    roads: Roads = Field(default_factory=lambda: Roads.model_validate({}),
                         description="Road network: straight lines, or an OpenStreetMap extract.")
    routing: Routing = Field(default_factory=lambda: Routing.model_validate({}), description="Daily route planning settings.")
    drop_step_minutes: float = Field(
        default=30.0, ge=5, le=60, description="Time step at which residents' drops are added to bins (min)."
    )
    initial_days: float = Field(
        default=0.5, ge=0, le=30,
        description="Mean content of the bins at the start of the run, in days of each point's "
        "mean generation (capped at the bin size); about half a day is the morning state under "
        "daily collection.",
    )
    initial_random: bool = Field(
        default=True, description="Draw each bin's initial content uniformly in [0, 2 x "
        "initial_days] instead of starting every bin at initial_days.",
    )
    complaint_probability: float = Field(
        default=0.3, ge=0, le=1, description="Probability that an overflowing point-day raises a complaint."
    )

    @model_validator(mode="before")
    @classmethod
    def _point_files(cls, data: Any, info: ValidationInfo) -> Any:
        km = {"x_field": "x_km", "y_field": "y_km", "metres_per_unit": 1000.0}
        return expand_point_files(data, info, {
            "points_file": ("points", PointFileSpec("", DropPoint, **km)),  # type: ignore[arg-type]
            "stations_file": ("stations", PointFileSpec("", TransferStation, **km)),  # type: ignore[arg-type]
            "depots_file": ("depots", PointFileSpec("", Depot, **km)),  # type: ignore[arg-type]
        })

    @model_validator(mode="after")
    def _references(self) -> City:
        # linear time (a city-scale file has tens of thousands of points); every message
        # starts with the key it is about, so the scenario error points at that line
        def unique(key: str, ids: list[str]) -> None:
            dup = repeated(ids)
            if dup:
                k = second_occurrence(ids, dup[0])
                raise ValueError(f"{key}.{k}.id: {key} ids must be unique, repeated: {dup[:10]}")

        unique("zones", [z.id for z in self.zones])
        unique("depots", [d.id for d in self.depots])
        unique("stations", [s.id for s in self.stations])
        unique("fleets", [f.id for f in self.fleets])
        if self.points is not None:
            unique("points", [p.id for p in self.points])
            zones = {z.id: z for z in self.zones}
            for k, p in enumerate(self.points):
                if p.zone not in zones:
                    unknown = sorted({q.zone for q in self.points} - set(zones))
                    raise ValueError(f"points.{k}.zone: zones {unknown[:10]} are not among the zones "
                                     f"{sorted(zones)[:20]}")
            counts = Counter(p.zone for p in self.points)
            for k, z in enumerate(self.zones):
                if counts[z.id] != z.points:
                    raise ValueError(f"zones.{k}.points: zone {z.id!r} declares {z.points} points but "
                                     f"{counts[z.id]} points name it")
        cats = [w.category for w in self.waste]
        if repeated(cats):
            raise ValueError(f"waste: each category at most once, got {cats}")
        depots = {d.id for d in self.depots}
        for k, f in enumerate(self.fleets):
            if f.depot not in depots:
                raise ValueError(f"fleets.{k}.depot: fleet {f.id!r}: depot {f.depot!r} is not one of "
                                 f"{sorted(depots)[:20]}")
            unknown = [c for c in f.categories if c not in cats]
            if unknown:
                raise ValueError(f"fleets.{k}.categories: fleet {f.id!r}: categories {unknown} have no waste stream")
        for c in cats:
            if not any(c in s.categories for s in self.stations):
                raise ValueError(f"waste: category {c!r}: no transfer station accepts it")
        fleet_ids = [f.id for f in self.fleets]
        for i, st in enumerate(self.stations):
            for k, b in enumerate(st.tipping_bays or ()):
                unknown = [f for f in b.fleets or () if f not in fleet_ids]
                if unknown:
                    raise ValueError(f"stations.{i}.tipping_bays.{k}.fleets: fleets {unknown} are not among "
                                     f"the fleets {fleet_ids[:20]}")
            if st.tipping_bays is None:
                continue
            for f in self.fleets:
                # a truck tips at a station accepting all it carries; some bay must take it
                # (one category of a multi-compartment truck may be tipped alone, but the
                # simulation tips the whole load at once)
                if set(f.categories) <= set(st.categories) and not any(
                        bay_takes(b, st, f.id, f.categories) for b in st.tipping_bays):
                    raise ValueError(f"stations.{i}.tipping_bays: fleet {f.id!r} ({', '.join(f.categories)}) "
                                     f"may unload at station {st.id!r} but no bay takes it")
        return self

    @model_validator(mode="after")
    def _on_streets(self) -> City:
        # every drop point, station and depot near a road the trucks may use, every pair
        # joined (the matrices are computed here once and disk-cached for the runs)
        if self.roads.enabled:
            self.roads.check_places(street_places(self), self.origin)
        return self

    def stream(self, category: str) -> WasteStream:
        """The waste stream of ``category``."""
        for w in self.waste:
            if w.category == category:
                return w
        raise KeyError(category)


def bay_takes(bay: TippingBay, station: TransferStation, fleet: str, categories: list[Category] | tuple[str, ...]) -> bool:
    """Whether a truck of ``fleet`` carrying ``categories`` may tip at ``bay`` of ``station``."""
    takes = set(bay.categories if bay.categories is not None else station.categories)
    return set(categories) <= takes and (bay.fleets is None or fleet in bay.fleets)


Selection = Literal["fixed", "threshold", "risk", "soonest"]
BayRule = Literal["fcfs", "planned", "routed"]


class Policy(PolicyBase):
    """A collection policy: which points to visit each day, how, and when residents may drop."""

    selection: Selection = Field(
        default="fixed",
        description="'fixed': every point every k days; 'threshold': points whose sensor fill is "
        "predicted to pass theta before the next round; 'risk': points whose predicted overflow "
        "probability before the next round exceeds risk_threshold (with risk_optional = 0 every "
        "other point is an optional stop priced by its overflow risk: the integrated, "
        "prize-collecting policy); 'soonest': the visits_per_day points predicted to fill "
        "soonest (the Groningen municipality's rule), then routed.",
    )
    visits_per_day: int = Field(
        default=100, ge=1, le=1_000_000,
        description="'soonest' policy: points visited per day and category (the N that will be "
        "full first).",
    )
    plan: Literal["optimise", "master"] = Field(
        default="optimise",
        description="'optimise': each day's routes are optimised (from the master round); "
        "'master': trucks drive the sector's fixed master round, skipping points not selected "
        "and tipping when full, without daily optimisation (what crews with fixed rounds do).",
    )
    every_k_days: int = Field(default=1, ge=1, le=14, description="Fixed frequency: visit every k days.")
    theta: float = Field(default=0.8, gt=0, le=2, description="Threshold policy: fill share that triggers a visit.")
    risk_threshold: float = Field(
        default=0.05, gt=0, le=1, description="Risk policy: overflow probability that makes a visit required."
    )
    risk_optional: float = Field(
        default=0.005, ge=0, le=1,
        description="Risk policy: points above this (but below risk_threshold) are optional stops "
        "whose skip penalty is the probability times overflow_cost.",
    )
    overflow_cost: float = Field(
        default=3_000.0, ge=0, le=1e7, description="Risk policy: cost (CNY) the planner assigns to one overflow."
    )
    daily_categories: list[Category] = Field(
        default_factory=list,
        description="Categories collected at every point every day whatever the selection rule "
        "('collected the same day', 日产日清, e.g. perishable).",
    )
    co_collect: list[Category] = Field(
        default_factory=list,
        description="Categories collected together by multi-compartment trucks (needs a fleet "
        "carrying exactly these); the others are collected by their own colour-coded fleets.",
    )
    opening_hours: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0.0, 24.0)],
        min_length=1, max_length=6,
        description="Drop-off windows [start, end) in hours of the day ('fixed time, fixed place').",
    )
    bay_rule: BayRule = Field(
        default="fcfs",
        description="Tipping bays: 'fcfs' queue, or 'planned' bay schedule from optimize.berths "
        "(appointment slots at stations with tipping_bays), or 'routed': slots fed back into "
        "routing as station time windows (stations with tipping_bays; routes re-planned with "
        "OR-Tools, then slots booked on the new arrivals).",
    )
    fleet_scale: float = Field(
        default=1.0, gt=0, le=10, description="Multiplier on every fleet's truck count (rounded up)."
    )

    @model_validator(mode="after")
    def _check(self) -> Policy:
        for a, b in self.opening_hours:
            if not 0 <= a < b <= 24:
                raise ValueError(f"opening_hours: window ({a}, {b}) must satisfy 0 <= start < end <= 24")
        ws = sorted(self.opening_hours)
        for (_, e1), (s2, _) in zip(ws, ws[1:], strict=False):
            if s2 < e1:
                raise ValueError("opening_hours: windows overlap")
        if len(set(self.co_collect)) != len(self.co_collect) or len(self.co_collect) == 1:
            raise ValueError("co_collect: list two or more distinct categories, or none")
        return self
