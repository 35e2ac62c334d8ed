"""The parking domain: metrics of a run and the :class:`ParkingDomain` the runner calls."""

from __future__ import annotations

import math
from itertools import repeat
from typing import Any, ClassVar

import numpy as np

from simcity.domain import Domain, Metric, Position, RunContext, RunOutput
from simcity.parking.config import City, Policy, check_policy
from simcity.parking.loading import LoadingPlan, plan_loading, taken_berth_hours
from simcity.parking.sim import SimResult, simulate
from simcity.roads.draw import street_positions

#: occupancy band that responsive pricing aims for and ``band_share`` measures (SFpark)
BAND = (0.6, 0.8)
#: daytime hours over which ``occupancy_day`` is measured (the live-occupancy figure's day)
DAY_HOURS = (8, 20)

METRICS: tuple[Metric, ...] = (
    Metric("occupancy", "Mean share of open berths occupied (berth-hour weighted, all facilities)", "share", "none"),
    Metric("occupancy_day", f"Mean occupancy of public off-street car parks, {DAY_HOURS[0]}:00-{DAY_HOURS[1]}:00", "share", "none"),
    Metric("band_share", f"Share of facility-hours with mean occupancy in the {BAND[0]:.0%}-{BAND[1]:.0%} band", "share", "higher"),
    Metric("availability", "Share of open facility-time with at least one free berth (Millard-Ball et al. 2014)", "share", "higher"),
    Metric("turnover", "Sessions per open berth per day", "sessions/berth/day", "higher"),
    Metric("sessions", "Parking sessions started", "sessions", "higher"),
    Metric("drivers_lost", "Drivers who gave up (no berth within the search limit)", "drivers", "lower"),
    Metric("lost_share", "Share of arriving drivers lost", "share", "lower"),
    Metric("search_min", "Cruising time per arriving driver", "min", "lower"),
    Metric("cruise_m", "Cruising distance per arriving driver", "m", "lower"),
    Metric("walk_m", "Walking distance per parked driver", "m", "lower"),
    Metric("revenue", "Parking charges of sessions started", "yuan", "none"),
    Metric("entry_wait_s", "Queueing time at entry gates per session", "s", "lower"),
    Metric("exit_wait_s", "Queueing time at pay-at-exit gates per off-street session", "s", "lower"),
    Metric("tickets", "Kerbside overstay tickets (not pavement parking)", "tickets", "none"),
    Metric("drivers_not_come", "Drivers of the reference demand who did not come by car (cost above the reference)", "drivers", "none"),
    Metric("drivers_attracted", "Drivers beyond the reference demand who came (cost below the reference)", "drivers", "none"),
    Metric("illegal_per_day", "Drivers who parked on the pavement (illegally), per day", "drivers/day", "lower"),
    Metric("pavement_tickets_per_day", "Pavement-parking tickets, per day", "tickets/day", "none"),
    Metric("mean_stay_h", "Mean parked duration", "h", "none"),
    Metric("truck_wait_min", "Minutes loading vehicles (refuse trucks, deliveries) waited for kerb, per day", "min/day", "lower"),
    Metric("double_parked", "Loading stops that found no kerb and double-parked, per day", "stops/day", "lower"),
    Metric("kerb_taken_berth_h", "Kerb berth-hours taken from parkers by loading, per day", "berth-h/day", "none"),
)


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b > 0 else math.nan


def summarise(res: SimResult, plan: LoadingPlan | None = None, taken_berth_h: float = 0.0) -> RunOutput:
    """Turn the raw outcome of a run into city-wide metrics, per-facility rows and hourly series;
    ``plan`` is the kerb planner's outcome for the loading stops (none: no stops)."""
    lay = res.layout
    H = res.hour_area.shape[1]
    hours = np.arange(H, dtype=float)
    stat = hours >= res.warmup - 1e-9  # hour bins inside the statistics window
    area = res.hour_area[:, stat]
    cap = res.hour_cap[:, stat]
    with np.errstate(invalid="ignore", divide="ignore"):
        occ_fh = np.where(cap > 0, area / np.where(cap > 0, cap, 1.0), np.nan)
    open_fh = cap > 0
    # open hours of each facility-hour (berth-hours / berths) and the part with no free berth
    open_h = cap / np.maximum(lay.berths, 1)[:, None]
    full_h = res.hour_full[:, stat]
    in_band = (occ_fh >= BAND[0] - 1e-12) & (occ_fh <= BAND[1] + 1e-12) & open_fh
    day = (hours[stat] % 24 >= DAY_HOURS[0]) & (hours[stat] % 24 < DAY_HOURS[1])
    public_cp = ~lay.is_kerb & ~lay.is_shared
    berth_days = cap.sum() / 24.0
    sessions = float(res.sessions.sum())
    offstreet = ~lay.is_kerb
    counted = res.counted
    metrics = {
        "occupancy": _ratio(float(area.sum()), float(cap.sum())),
        "occupancy_day": _ratio(float(area[public_cp][:, day].sum()), float(cap[public_cp][:, day].sum())),
        "band_share": _ratio(float(in_band.sum()), float(open_fh.sum())),
        "availability": 1.0 - _ratio(float(full_h.sum()), float(open_h.sum())),
        "turnover": _ratio(sessions, berth_days),
        "sessions": sessions,
        "drivers_lost": float(res.lost),
        "lost_share": _ratio(float(res.lost), float(counted)),
        "search_min": _ratio(res.search_h * 60.0, float(counted)),
        "cruise_m": _ratio(res.cruise_m, float(counted)),
        "walk_m": _ratio(float(res.walk_sum.sum()), sessions),
        "revenue": float(res.revenue.sum()),
        "entry_wait_s": _ratio(float(res.entry_wait_sum.sum()) * 3600.0, sessions),
        "exit_wait_s": _ratio(float(res.exit_wait_sum.sum()) * 3600.0, float(res.sessions[offstreet].sum())),
        "tickets": float(res.tickets.sum()),
        "mean_stay_h": _ratio(float(res.stay_sum.sum()), sessions),
        "drivers_not_come": float(res.not_come),
        "drivers_attracted": float(res.attracted),
        "illegal_per_day": _ratio(float(res.illegal) * 24.0, res.horizon - res.warmup),
        "pavement_tickets_per_day": _ratio(float(res.pavement_tickets) * 24.0, res.horizon - res.warmup),
        "truck_wait_min": plan.wait_min if plan is not None else 0.0,
        "double_parked": float(plan.double_parked) if plan is not None else 0.0,
        "kerb_taken_berth_h": taken_berth_h,
    }
    f_cap = cap.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        columns = {
            "occupancy": np.where(f_cap > 0, area.sum(axis=1) / f_cap, np.nan),
            "band_share": np.where(open_fh.any(axis=1), in_band.sum(axis=1) / open_fh.sum(axis=1), np.nan),
            "availability": np.where(f_cap > 0, 1.0 - full_h.sum(axis=1) / np.maximum(open_h.sum(axis=1), 1e-300), np.nan),
            "turnover": np.where(f_cap > 0, res.sessions / (f_cap / 24.0), np.nan),
            "sessions": res.sessions,
            "revenue": res.revenue,
            "exit_wait_s": np.where(res.exits > 0, res.exit_wait_sum * 3600.0 / res.exits, np.nan),
            "tickets": res.tickets,
            "mean_stay_h": np.where(res.sessions > 0, res.stay_sum / np.maximum(res.sessions, 1.0), np.nan),
        }
    # tidy rows built column-wise (a city has thousands of facilities)
    by_entity: list[tuple[str, str, float]] = []
    for name, col in columns.items():
        by_entity += zip(lay.ids, repeat(name), col.tolist(), strict=False)
    # per destination zone: where drivers give up and search (metric names say "zone_")
    with np.errstate(invalid="ignore", divide="ignore"):
        zone_columns = {
            "zone_lost_share": np.where(res.zone_counted > 0, res.zone_lost / res.zone_counted, np.nan),
            "zone_search_min": np.where(res.zone_counted > 0, res.zone_search_h * 60.0 / res.zone_counted, np.nan),
        }
    for name, col in zone_columns.items():
        by_entity += zip(res.zone_ids, repeat(name), col.tolist(), strict=False)
    city_area = res.hour_area.sum(axis=0)
    city_cap = res.hour_cap.sum(axis=0)
    shown = [h for h in range(H) if stat[h]]  # hours of the statistics window
    by_time: list[tuple[str, float, str, float]] = []
    for h in shown:
        by_time += [
            ("city", float(h), "occupancy", _ratio(float(city_area[h]), float(city_cap[h]))),
            ("city", float(h), "arrivals", float(res.arrivals_by_hour[h])),
            ("city", float(h), "lost", float(res.lost_by_hour[h])),
            ("city", float(h), "price_shift", float(res.hour_shift[:, h].mean())),
        ]
    open_cells = res.hour_cap[:, shown] > 0  # hours a facility is closed have no occupancy
    f_idx, h_idx = np.nonzero(open_cells)
    cells = res.hour_area[:, shown][f_idx, h_idx] / res.hour_cap[:, shown][f_idx, h_idx]
    hours_shown = np.asarray(shown, dtype=float)[h_idx]
    ids = np.asarray(lay.ids, dtype=object)[f_idx]
    by_time += zip(ids.tolist(), hours_shown.tolist(), repeat("occupancy"), cells.tolist(), strict=False)
    return RunOutput(metrics=metrics, by_entity=by_entity, by_time=by_time)


class ParkingDomain(Domain):
    """Parking turnover: car parks and kerbside segments under pricing, supply and payment policies."""

    name: ClassVar[str] = "parking"
    title: ClassVar[str] = "Parking turnover"
    City: ClassVar[type[City]] = City
    Policy: ClassVar[type[Policy]] = Policy
    metrics: ClassVar[tuple[Metric, ...]] = METRICS
    time_plots: ClassVar[tuple[str, ...]] = ("occupancy", "lost", "price_shift")
    series: ClassVar[tuple[Metric, ...]] = (
        Metric("lost", "Drivers who gave up (no berth within the search limit), per hour", "drivers/h", "lower"),
        Metric("price_shift", "Mean change of the hourly rate by responsive pricing (all facilities)", "yuan/h"),
    )
    #: charges against service: what a pricing or supply policy earns and how many drivers it turns away
    tradeoffs: ClassVar[tuple[tuple[str, str], ...]] = (("revenue", "lost_share"),)
    #: counted over the whole statistics window (the shipped scenarios' window is one day)
    window_totals: ClassVar[tuple[str, ...]] = ("sessions", "drivers_lost", "revenue", "tickets",
                                                "drivers_not_come", "drivers_attracted")
    map_settings: ClassVar[dict[str, Any]] = {"band": list(BAND), "day_hours": list(DAY_HOURS)}

    def positions(self, city: Any) -> list[Position]:
        """Car parks and kerb segments (size: berths) and destination zones that have a position."""
        out = [Position(f.id, kind, float(f.x), float(f.y), float(f.berths))
               for kind, facs in (("car park", city.car_parks), ("kerb", city.kerb_segments))
               for f in facs if f.x is not None and f.y is not None]
        out += [Position(z.id, "zone", float(z.x), float(z.y)) for z in city.zones
                if z.x is not None and z.y is not None]
        origin = None if city.origin is None else (float(city.origin[0]), float(city.origin[1]))
        return out + street_positions(city.roads, origin, np.array([[p.x, p.y] for p in out]), "m")

    def validate_policy(self, city: Any, policy: Any) -> list[str]:
        """Policy keys that do not fit the city (unknown facility or tariff, review period)."""
        return check_policy(city, policy)

    def run(self, city: Any, policy: Any, ctx: RunContext) -> RunOutput:
        """Simulate one replication of ``policy`` on ``city`` (see :mod:`simcity.parking.sim`)."""
        # the kerb planner writes the kerb-taken table; the parking run only reads it
        plan = _plan(city, policy)
        taken = [*city.kerb_taken, *plan.table] if plan is not None else None
        res = simulate(city, policy, ctx, kerb_taken=taken)
        return self.check_output(summarise(res, plan, taken_berth_hours(city, taken or city.kerb_taken)))


#: plans already made in this process, keyed by what a plan depends on (the plan is
#: deterministic, so replications of a policy share it)
_PLANS: dict[tuple[str, str, str], LoadingPlan] = {}


def _plan(city: City, policy: Policy) -> LoadingPlan | None:
    """The kerb planner's plan of ``city``'s loading stops under ``policy`` (None: no stops)."""
    if city.kerb_loading is None:
        return None
    key = (city.kerb_loading.model_dump_json(),
           "|".join(f"{f.id}:{f.berths}:{f.berth_length_m}" for f in city.kerb_segments),
           policy.loading.model_dump_json())
    if key not in _PLANS:
        _PLANS[key] = plan_loading(city, policy)
    return _PLANS[key]
