"""The garbage-collection domain: metrics and :meth:`GarbageDomain.run`."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from simcity.domain import Domain, Metric, Position, RunContext, RunOutput
from simcity.garbage.config import CATEGORIES, City, Policy
from simcity.garbage.layout import build_layout
from simcity.garbage.planning import Timer
from simcity.garbage.sim import GarbageSim
from simcity.roads.draw import street_positions

METRICS: tuple[Metric, ...] = (
    Metric("km_per_day", "Kilometres driven by all trucks per day", "km/day", "lower"),
    Metric("truck_hours_per_day", "Truck hours (depot to depot) per day", "h/day", "lower"),
    Metric("trucks_used", "Trucks on the road per day (mean)", "trucks", "lower"),
    Metric("service_level", "Share of point-days (per category bin) without overflow", "share", "higher"),
    Metric("overflow_t_per_day", "Waste that did not fit in the bins", "t/day", "lower"),
    Metric("overflow_m3_per_day", "Overflow volume (at bin density)", "m³/day", "lower"),
    Metric("complaints_per_day", "Complaints raised about overflowing points", "1/day", "lower"),
    Metric("fill_at_emptying", "Mean fill share of a bin when a truck empties it", "share", "higher"),
    Metric("bay_wait_min", "Mean wait for a tipping bay at transfer stations", "min", "lower"),
    *(Metric(f"tonnes_{c}_per_day", f"Tonnes of {c} waste delivered to transfer stations", "t/day", "none")
      for c in CATEGORIES),
    Metric("cost_per_day", "Fleet cost: per truck-day, per km and per hour", "CNY/day", "lower"),
    Metric("cost_per_tonne", "Fleet cost per tonne delivered", "CNY/t", "lower"),
    Metric("co2_t_per_day", "CO₂ from driving", "t/day", "lower"),
    Metric("points_visited_per_day", "Point visits per day", "1/day", "none"),
    Metric("unplanned_unloads_per_day", "Trips to a station because a truck filled up mid-stop", "1/day", "lower"),
    Metric("late_returns_per_day", "Trucks back after their shift end", "1/day", "lower"),
    Metric("overtime_h_per_day", "Truck hours beyond shift ends", "h/day", "lower"),
    Metric("dropped_stops_per_day", "Planned stops dropped because the truck ran out of time", "1/day", "lower"),
    Metric("planned_skips_per_day", "Selected points the route plan left out", "1/day", "lower"),
    Metric("effort_skips_per_day", "Selected points left out while the routing search stopped at "
           "its effort limit (raise routing.effort)", "1/day", "lower",
           alert="route plans left selected points out because the routing search stopped at "
           "its work budget; raise city.routing.effort until effort_skips_per_day is 0"),
    Metric("routing_calls_per_day", "Routing problems solved per day", "1/day", "none"),
    Metric("routing_repeat_share", "Share of routing problems equal to one already solved in the "
           "run (answered from the plan cache)", "share", "none"),
    Metric("routing_limit_share", "Share of routing calls stopped by the effort limit before a "
           "local optimum", "share", "lower"),
    Metric("diversions_per_day", "Trucks diverted because a station reached its daily limit", "1/day", "lower"),
)


class GarbageDomain(Domain):
    """Waste collection: drop points, stochastic generation, routed trucks, transfer stations."""

    name: ClassVar[str] = "garbage"
    title: ClassVar[str] = "Garbage collection"
    City: ClassVar[type[City]] = City
    Policy: ClassVar[type[Policy]] = Policy
    metrics: ClassVar[tuple[Metric, ...]] = METRICS
    time_plots: ClassVar[tuple[str, ...]] = ("mean_fill", "trucks_on_road")
    series: ClassVar[tuple[Metric, ...]] = (
        Metric("mean_fill", "Mean fill share of the bins", "share"),
        Metric("trucks_on_road", "Trucks on the road", "trucks"),
    )
    tradeoffs: ClassVar[tuple[tuple[str, str], ...]] = (("cost_per_day", "service_level"),)
    map_unit: ClassVar[str] = "km"

    def validate_policy(self, city: Any, policy: Any) -> list[str]:
        """``bay_rule = "routed"`` needs a station with tipping bays (slots to route by)."""
        if policy.bay_rule == "routed" and all(st.tipping_bays is None for st in city.stations):
            return ["bay_rule: 'routed' feeds appointment slots into routing, but no station has "
                    "tipping_bays (slots are booked only at such stations); use 'planned' or give "
                    "a station [[city.stations.tipping_bays]]"]
        return []

    def positions(self, city: Any) -> list[Position]:
        """Drop points ``pt<index>`` (the layout's order, which route stops index), then transfer
        stations and depots, in km."""
        lay = build_layout(city)
        xy = np.asarray(lay.xy, dtype=float)
        out = [Position(f"pt{i}", "point", float(xy[i, 0]), float(xy[i, 1])) for i in range(lay.n_points)]
        out += [Position(st.id, "station", float(xy[loc, 0]), float(xy[loc, 1]))
                for st, loc in zip(city.stations, lay.station_loc, strict=True)]
        out += [Position(dep.id, "depot", float(xy[loc, 0]), float(xy[loc, 1]))
                for dep, loc in zip(city.depots, lay.depot_loc, strict=True)]
        # streets last: rows 0.. stay the layout's locations, which route stops index
        return out + street_positions(city.roads, city.origin, xy * 1000.0, "km")

    def run(self, city: Any, policy: Any, ctx: RunContext) -> RunOutput:
        """Simulate one replication of ``policy``; see :mod:`simcity.garbage.sim`."""
        return self.check_output(simulate(city, policy, ctx)[0])


def simulate(city: City, policy: Policy, ctx: RunContext,
             timer: Timer | None = None) -> tuple[RunOutput, GarbageSim]:
    """Run one replication and return its output and the finished simulation (for tests and
    the speed benchmark, which reads the time spent in the optimisers from ``timer``)."""
    layout = build_layout(city)
    sim = GarbageSim(city, policy, ctx, layout, timer)
    sim.run()
    return summarise(sim), sim


def _mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else math.nan


def summarise(sim: GarbageSim) -> RunOutput:
    """Turn the tallies of a finished run into metrics and tidy rows."""
    t = sim.tally
    city, lay = sim.city, sim.lay
    D = sim.days - sim.first_day
    tonnes: dict[str, float] = {c: 0.0 for c in CATEGORIES}
    for c, name in enumerate(lay.categories):
        tonnes[name] = float(sim.measured_tipped[c]) / D
    delivered = sum(tonnes.values())
    density = np.array([w.density_t_per_m3 for w in city.waste])
    m: dict[str, float] = {
        "km_per_day": t.km / D,
        "truck_hours_per_day": t.truck_hours / D,
        "trucks_used": t.routes / D,
        "service_level": 1.0 - t.overflow_point_days / t.point_days if t.point_days else math.nan,
        "overflow_t_per_day": float(sim.measured_overflow.sum()) / D,
        "overflow_m3_per_day": float((sim.measured_overflow / density).sum()) / D,
        "complaints_per_day": t.complaints / D,
        "fill_at_emptying": _mean(t.fills),
        "bay_wait_min": _mean(t.waits_h) * 60,
        **{f"tonnes_{c}_per_day": v for c, v in tonnes.items()},
        "cost_per_day": t.cost / D,
        "cost_per_tonne": t.cost / (delivered * D) if delivered > 0 else math.nan,
        "co2_t_per_day": t.co2_kg / 1000 / D,
        "points_visited_per_day": t.visits / D,
        "unplanned_unloads_per_day": t.unplanned_unloads / D,
        "late_returns_per_day": t.late_returns / D,
        "overtime_h_per_day": t.overtime_h / D,
        "dropped_stops_per_day": t.dropped_stops / D,
        "planned_skips_per_day": t.planned_skips / D,
        "effort_skips_per_day": t.skips_effort / D,
        "routing_calls_per_day": t.routing_calls / D,
        "routing_repeat_share": t.routing_repeats / t.routing_calls if t.routing_calls else 0.0,
        "routing_limit_share": t.routing_limit_hits / t.routing_calls if t.routing_calls else 0.0,
        "diversions_per_day": t.diversions / D,
    }
    by_entity: list[tuple[str, str, float]] = []
    for s, st in enumerate(city.stations):
        by_entity.append((st.id, "bay_wait_min", _mean(sim.station_waits[s]) * 60))
        by_entity.append((st.id, "tonnes_total", float(sim.tipped_by_station[s].sum())))
        q = sim.queues[s]
        if q is not None:
            # stations with tipping bays: weighbridge, time inside, appointments kept
            log = q.log
            by_entity += [(st.id, "weigh_wait_min", _mean(log.weigh_waits_h) * 60),
                          (st.id, "time_in_station_min", _mean(log.in_station_h) * 60),
                          (st.id, "truck_visits_per_day", len(log.in_station_h) / D),
                          (st.id, "slot_requests_per_day", sim.slot_requests[s] / D),
                          (st.id, "unbooked_per_day", sim.slot_unbooked[s] / D),
                          (st.id, "slot_holders_per_day", log.slot_holders / D),
                          (st.id, "missed_slots_per_day", log.missed_slots / D),
                          (st.id, "walk_ins_per_day", log.walk_ins / D)]
    if sim.policy.bay_rule == "routed":
        measured = sim.day_plans[sim.first_day:]
        by_entity += [("routing", "slot_replans_per_day", sum(p.slot_replans for p in measured) / D),
                      ("routing", "slot_replans_kept_per_day", sum(p.slot_replans_kept for p in measured) / D)]
    onward: dict[str, float] = {}
    for c, w in enumerate(city.waste):
        by_entity.append((w.category, "overflow_t_per_day", float(sim.measured_overflow[c]) / D))
        by_entity.append((w.category, "fill_at_emptying",
                          _mean([f for f, k in zip(t.fills, t.fill_cats, strict=True) if k == c])))
        onward[w.destination] = onward.get(w.destination, 0.0) + float(sim.measured_tipped[c]) / D
    for dest, v in sorted(onward.items()):
        by_entity.append((dest, "onward_t_per_day", v))
    # for the report's map: overflow days per point, and the routes of the first measured day
    by_entity += [(f"pt{i}", "overflow_days", float(v)) for i, v in enumerate(sim.point_overflow_days)]
    by_time: list[tuple[str, float, str, float]] = [
        (truck, t_h, "route_stop", float(loc)) for truck, t_h, loc in sim.route_trace]
    # routing health per measured day (at the day's start), for the report's details
    for d, plan in enumerate(sim.day_plans):
        if d >= sim.first_day:
            by_time += [("routing", 24.0 * d, "routing_calls", float(plan.calls)),
                        ("routing", 24.0 * d, "routing_repeats", float(plan.repeats)),
                        ("routing", 24.0 * d, "routing_limit_hits", float(plan.limit_hit)),
                        ("routing", 24.0 * d, "skips_effort", float(plan.skips_effort)),
                        ("routing", 24.0 * d, "skips_capacity", float(plan.skips_capacity))]
    for h in range(24):
        if sim.hour_samples[h] > 0:
            by_time.append(("city", float(h), "mean_fill", float(sim.hour_fill[h] / sim.hour_samples[h])))
            by_time.append(("city", float(h), "trucks_on_road", float(sim.hour_trucks[h] / sim.hour_samples[h])))
    return RunOutput(metrics=m, by_entity=by_entity, by_time=by_time)


DOMAIN = GarbageDomain()
