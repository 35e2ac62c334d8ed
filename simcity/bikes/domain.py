"""The shared-bike domain: metrics, one run, and the plumbing between config and simulation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from simcity.bikes.config import City, Policy
from simcity.bikes.demand import build_demand
from simcity.bikes.docks import dock_bounds, reallocate
from simcity.bikes.network import Network, build_network
from simcity.bikes.rebalancing import Rebalancer
from simcity.bikes.sim import BikeSim, SimResult
from simcity.domain import Domain, Metric, Position, RunContext, RunOutput
from simcity.roads.draw import street_positions


@dataclass(frozen=True)
class Run:
    """A finished run: the simulation result and what the report needs to label it."""

    result: SimResult
    station_ids: tuple[str, ...]
    capacity: np.ndarray


def simulate(city: City, policy: Policy, ctx: RunContext, *, check_every_h: float | None = None,
             timings: dict[str, float] | None = None) -> Run:
    """Simulate one replication and return the raw :class:`SimResult` (used by ``run`` and the benchmark).

    Random sources: ``"demand"`` (trip requests), ``"parking"`` (improper-parking draws) and,
    with the availability response on, ``"response"`` (one uniform per request: tried or
    deterred); none is touched by the policy, so policies are compared on the same requests.
    ``check_every_h`` records bike counts for invariant checks; ``timings``, if given, receives
    wall-clock seconds of ``setup`` (network, demand, requests) and ``run`` (the event loop,
    route planning included; ``result.planning_s`` says how much of it was planning).
    """
    t0 = time.perf_counter()
    net = build_network(city, policy.fleet_size)
    demand = build_demand(city, net)
    if policy.docks == "reallocated":
        # demand does not depend on docks: rates from today's network, docks and bikes re-placed
        net, _plan = reallocate(net, demand.rental_rates(), demand.return_rates(), policy)
    trips = demand.sample(ctx.streams["demand"], ctx.horizon_hours)
    park_u = ctx.streams["parking"].random(len(trips))
    rsp = city.response
    # the "response" stream is drawn only when the response is on: without it nothing changes
    response = (None if rsp is None else
                (rsp.elasticity, rsp.memory, rsp.ebike_share, ctx.streams["response"].random(len(trips))))
    sim = BikeSim(
        net, trips, park_u,
        speed_m_h=city.riders.speed_kmh * 1000.0,
        walk_m_max=city.riders.max_walk_m,
        horizon_h=ctx.horizon_hours,
        warmup_h=ctx.warmup_hours,
        van_speed_m_h=city.vans.speed_kmh * 1000.0,
        van_handling_h=city.vans.handling_s_per_bike / 3600.0,
        check_every_h=check_every_h,
        response=response,
        environment=ctx.environment,
    )
    if policy.vans > 0 and (policy.overnight != "none" or policy.daytime != "none"):
        Rebalancer(sim, city, policy, demand.rental_rates(), demand.return_rates())
    t1 = time.perf_counter()
    result = sim.run()
    if timings is not None:
        timings["setup"] = t1 - t0
        timings["run"] = time.perf_counter() - t1
    return Run(result, net.ids, net.capacity)


class BikesDomain(Domain):
    """Docked and dockless shared bikes with rebalancing vans."""

    name: ClassVar[str] = "bikes"
    title: ClassVar[str] = "Shared bikes: stations, riders and rebalancing"
    City: ClassVar[type[City]] = City
    Policy: ClassVar[type[Policy]] = Policy
    metrics: ClassVar[tuple[Metric, ...]] = (
        Metric("trips_served", "Rentals made (at the origin or after a walk), per day", "trips/day", "higher"),
        Metric("trip_requests", "Riders wanting a bike, per day", "trips/day", "none"),
        Metric("failed_rentals", "Riders who found no bike within the maximum walk (lost trips), per day",
               "trips/day", "lower"),
        Metric("lost_trip_share", "Failed rentals / requests", "share", "lower"),
        Metric("walked_rentals", "Rentals after walking to another station, per day", "trips/day", "lower"),
        Metric("failed_returns", "Arrivals at a full station (rider rides on), per day", "events/day", "lower"),
        Metric("extra_ride_min", "Extra riding after failed returns, minutes per day", "min/day", "lower"),
        Metric("turnover", "Trips served per bike per day", "trips/bike/day", "higher"),
        Metric("empty_share", "Share of station time with no bike", "share", "lower"),
        Metric("full_share", "Share of station time with no free dock (dockless: designated area full)",
               "share", "lower"),
        Metric("improper_parking", "Bikes left outside a designated dockless point, per day", "bikes/day", "lower"),
        Metric("bikes_moved", "Bikes moved by rebalancing vans, per day", "bikes/day", "none"),
        Metric("van_km", "Kilometres driven by rebalancing vans, per day", "km/day", "lower"),
        Metric("fleet", "Bikes in the system", "bikes", "none"),
        Metric("deterred_requests", "Riders who did not try because of the availability they had seen "
               "(availability response), per day", "riders/day", "lower"),
        Metric("ebike_trips", "Deterred or failed riders who took a shared e-bike instead, per day",
               "trips/day", "none"),
    )
    time_plots: ClassVar[tuple[str, ...]] = ("empty_share", "full_share", "bikes_riding")
    series: ClassVar[tuple[Metric, ...]] = (Metric("bikes_riding", "Bikes being ridden", "bikes"),)
    #: van effort against service: kilometres driven to rebalance and the trips still lost
    tradeoffs: ClassVar[tuple[tuple[str, str], ...]] = (("van_km", "lost_trip_share"),)

    def positions(self, city: Any) -> list[Position]:
        """Stations (``station``: docked, ``dockless``: a designated parking point), size: docks."""
        net = build_network(city)
        origin = None if city.origin is None else (float(city.origin[0]), float(city.origin[1]))
        return [Position(sid, "station" if bool(net.docked[k]) else "dockless", float(net.xy[k, 0]),
                         float(net.xy[k, 1]), float(net.capacity[k])) for k, sid in enumerate(net.ids)] \
            + street_positions(city.roads, origin, np.asarray(net.xy, dtype=float), "m")

    def validate_policy(self, city: Any, policy: Any) -> list[str]:
        """Problems of ``policy`` that only show against ``city`` (``"key: message"`` strings).

        A hook for the scenario loader: a fleet larger than the city's docks cannot be placed.
        """
        net = build_network(city)
        docks = int(net.capacity.sum())
        # dockless points take any number of bikes (the surplus is parked improperly)
        if policy.fleet_size is not None and policy.fleet_size > docks and net.docked.all():
            return [f"fleet_size: {policy.fleet_size} bikes do not fit in the city's {docks} docks"]
        if policy.docks == "reallocated":
            return _dock_problems(net, policy)
        return []

    def run(self, city: Any, policy: Any, ctx: RunContext) -> RunOutput:
        """One replication of ``policy`` on ``city``; per-day rates over the measured period."""
        r = simulate(city, policy, ctx)
        res = r.result
        c = res.counts
        days = res.measured_h / 24.0 if res.measured_h > 0 else float("nan")
        # a station without docks (closed, or a site with none) is no station: not in the shares
        open_ = [lv for lv, c in zip(res.level_time, r.capacity.tolist(), strict=True) if c > 0]
        n = len(open_)
        empty = sum(float(lv[0]) for lv in open_)
        full = sum(float(lv[-1]) for lv in open_)
        station_h = n * res.measured_h
        metrics = {
            "trips_served": c.served / days,
            "trip_requests": c.requests / days,
            "failed_rentals": c.failed_rentals / days,
            "lost_trip_share": c.failed_rentals / c.requests if c.requests else float("nan"),
            "walked_rentals": c.walked / days,
            "failed_returns": c.failed_returns / days,
            "extra_ride_min": c.extra_ride_h * 60.0 / days,
            "turnover": c.served / res.fleet / days if res.fleet else float("nan"),
            "empty_share": empty / station_h if station_h else float("nan"),
            "full_share": full / station_h if station_h else float("nan"),
            "improper_parking": c.improper / days,
            "bikes_moved": c.bikes_moved / days,
            "van_km": c.van_m / 1000.0 / days,
            "fleet": float(res.fleet),
            "deterred_requests": c.deterred / days,
            "ebike_trips": c.ebike / days,
        }
        by_entity: list[tuple[str, str, float]] = []
        if n <= 5000:  # per-station rows feed the report's station map; skipped for huge cities
            for sid, lv, cap in zip(r.station_ids, res.level_time, r.capacity.tolist(), strict=True):
                if cap == 0:
                    continue
                tot = float(lv.sum()) or 1.0
                by_entity.append((sid, "empty_share", float(lv[0]) / tot))
                by_entity.append((sid, "full_share", float(lv[-1]) / tot))
        by_time: list[tuple[str, float, str, float]] = []
        for t, e, f, riding, _on_vans in res.hourly:
            by_time.append(("city", t, "empty_share", e))
            by_time.append(("city", t, "full_share", f))
            by_time.append(("city", t, "bikes_riding", float(riding)))
        return RunOutput(metrics=metrics, by_entity=by_entity, by_time=by_time)


def _dock_problems(net: Network, policy: Policy) -> list[str]:
    """Problems of a dock reallocation against the city (``"key: message"``)."""
    out: list[str] = []
    docked = np.flatnonzero(net.docked)
    if len(docked) == 0:
        return ["docks: the city has no docked stations to reallocate"]
    ids = {net.ids[k]: k for k in docked.tolist()}
    dockless = set(net.ids) - set(ids)
    for k, sid in enumerate(policy.close_stations):
        if sid in dockless:
            out.append(f"close_stations.{k}: {sid!r} is a dockless parking point, not a docked station")
        elif sid not in ids:
            out.append(f"close_stations.{k}: unknown station {sid!r}")
    if out:
        return out
    cap = net.capacity[docked]
    total = int(cap.sum())
    if policy.max_moves > total:
        out.append(f"max_moves: {policy.max_moves} dock moves exceed the {total} docks of the city")
    closed = np.isin(np.array([net.ids[k] for k in docked.tolist()], dtype=object),
                     np.array(list(policy.close_stations), dtype=object))
    if closed.all():
        return [*out, "close_stations: every docked station would close; the docks need somewhere to go"]
    freed = int(cap[closed].sum())
    if freed > policy.max_moves:
        out.append(f"close_stations: closing these stations frees {freed} docks, more than max_moves = "
                   f"{policy.max_moves} (each freed dock is one move)")
    lower, upper = dock_bounds(cap, closed, policy)
    room = int((upper - cap)[~closed].sum())
    if freed > room:
        out.append(f"close_stations: the {freed} docks of the closed stations do not fit in the open "
                   f"ones ({room} docks of room with max_dock_change = {policy.max_dock_change})")
    fleet = policy.fleet_size if policy.fleet_size is not None else int(net.stock[docked].sum())
    if net.docked.all() and fleet > total:
        out.append(f"fleet_size: {fleet} bikes do not fit in the {total} docks")
    return out


DOMAIN = BikesDomain()
