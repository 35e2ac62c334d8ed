"""Exact event traces on a hand-checked model, tariffs, reproducibility and sample-path identities."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from simcity.domain import RunContext
from simcity.parking import DOMAIN, City, Policy, check_policy
from simcity.parking.config import Tariff
from simcity.parking.demand import Arrivals
from simcity.parking.layout import TariffCalc
from simcity.parking.sim import simulate
from simcity.rng import Streams

MIN = 1.0 / 60.0


def tiny_city(search_weight: float = 0.01) -> City:
    """Car park A (1 berth, pay at exit, 6-minute exit booth) at the zone; car park B (1 berth,
    leave first, pay later) 300 m away; 18 km/h cruising -> one minute from A to B.  By default
    drivers nearly ignore the expected search (recent refusals) so that A is always tried first."""
    return City.model_validate(
        {
            "tariffs": {"six": {"tiers": [{"rate_per_hour": 6.0}], "billing_minutes": 30.0}},
            "car_parks": [
                {"id": "A", "x": 0.0, "y": 0.0, "berths": 1, "tariff": "six", "payment": "pay_at_exit",
                 "entry_gates": 0, "exit_gates": 1, "exit_service_s": 360.0},
                {"id": "B", "x": 300.0, "y": 0.0, "berths": 1, "tariff": "six", "payment": "leave_first",
                 "entry_gates": 0},
            ],
            "zones": [{"id": "Z", "x": 0.0, "y": 0.0, "arrivals_per_day": 1.0}],
            "demand": {"purposes": [{"name": "all", "share": 1.0, "value_of_time_per_hour": 30.0,
                                     "duration": {"kind": "fixed", "mean_hours": 1.0}}]},
            # a huge logit scale makes the choice deterministic: A (no walk) before B
            "behaviour": {"logit_scale": 1e6, "walk_detour": 1.0, "road_detour": 1.0,
                          "min_cruise_m": 0.0, "cruise_speed_kmh": 18.0, "max_search_minutes": 10.0,
                          "search_weight": search_weight},
        }
    )


def hand_arrivals(times: list[float], durations: list[float]) -> Arrivals:
    n = len(times)
    return Arrivals(
        time=np.asarray(times), zone=np.zeros(n, dtype=np.int64), purpose=np.zeros(n, dtype=np.int64),
        duration=np.asarray(durations), gumbel=np.zeros((n, 2)), ticket_u=np.ones(n),
    )


def test_exact_trace_two_car_parks():
    """Four hand-placed drivers in a two-car-park city: every event time, the metrics (two 1-min
    cruises over 4 drivers, revenue 12 + 6 + 3 + 3 = 24 billed by started half hour at 6/h, one 108
    s booth wait) and the berth-hours per hour bin were worked out by hand, so the model must
    reproduce them exactly."""
    # driver 0: 1.00 parks at A for 2 h, leaves the berth at 3.00, pays at the booth 3.00-3.10
    # driver 1: 1.50 finds A full, cruises 1 min to B, parks 1.5167-2.5167
    # driver 2: 2.90 finds A full, cruises to B (free again), parks 2.9167-3.4167
    # driver 3: 3.02 finds A free, parks until 3.07, then queues at the booth until 3.10 (108 s)
    arr = hand_arrivals([1.0, 1.5, 2.9, 3.02], [2.0, 1.0, 0.5, 0.05])
    res = simulate(tiny_city(), Policy(name="p"), RunContext(4.0, 0.0, Streams(0, 0), 0), arrivals=arr, trace=True)
    assert res.trace is not None
    got = [(k, i, round(t, 9), f) for k, i, t, f in res.trace]
    want = [
        ("arrive", 0, 1.0, -1), ("park", 0, 1.0, 0),
        ("arrive", 1, 1.5, -1), ("park", 1, round(1.5 + MIN, 9), 1),
        ("leave", 1, round(2.5 + MIN, 9), 1),
        ("arrive", 2, 2.9, -1), ("park", 2, round(2.9 + MIN, 9), 1),
        ("leave", 0, 3.0, 0),
        ("arrive", 3, 3.02, -1), ("park", 3, 3.02, 0),
        ("leave", 3, 3.07, 0),
        ("leave", 2, round(3.4 + MIN, 9), 1),
    ]
    assert got == want
    out = DOMAIN.check_output(__import__("simcity.parking.domain", fromlist=["summarise"]).summarise(res))
    m = out.metrics
    assert m["sessions"] == 4 and m["drivers_lost"] == 0
    assert m["search_min"] == pytest.approx(2 * 1.0 / 4)  # two 1-minute cruises over 4 drivers
    assert m["cruise_m"] == pytest.approx(600.0 / 4)
    # 2 h, 1 h, 0.5 h, 0.05 h billed by started half hour at 6 yuan/h: 12 + 6 + 3 + 3
    assert m["revenue"] == pytest.approx(24.0)
    # only driver 3 waits at A's booth: 3.10 - 3.07 h = 108 s; per off-street session (4)
    assert m["exit_wait_s"] == pytest.approx(108.0 / 4)
    # berth-hours by hour bin, worked out by hand
    np.testing.assert_allclose(res.hour_area[0], [0, 1, 1, 0.05])
    np.testing.assert_allclose(res.hour_area[1], [0, 0.5 - MIN, 0.5 + MIN + 0.1 - MIN, 0.4 + MIN])
    ent = {(e, k): v for e, k, v in out.by_entity}
    assert ent[("A", "sessions")] == 2 and ent[("B", "sessions")] == 2
    assert ent[("A", "exit_wait_s")] == pytest.approx(54.0)  # 108 s over A's two exits
    assert ent[("Z", "zone_search_min")] == pytest.approx(0.5) and ent[("Z", "zone_lost_share")] == 0.0


def test_recent_refusals_steer_drivers_away():
    """A refused every attempt in the hour before driver 3, so its expected search costs 0.9 / 0.1 x
    1 min x 2 x 30/h = 9 against B's 300 m walk at 4: driver 3 tries B first, finds it taken and
    parks at A one cruise minute later."""
    # same arrivals, but drivers weigh the expected search: A refused every attempt in the hour
    # before driver 3 arrives, so its expected search (0.9 / 0.1 refusal odds x 1 min cruise,
    # x2 weight x 30 yuan/h = 9 yuan) outweighs B's 300 m walk (4 yuan): driver 3 tries B first,
    # finds it taken by driver 2 and cruises back to A
    arr = hand_arrivals([1.0, 1.5, 2.9, 3.02], [2.0, 1.0, 0.5, 0.05])
    res = simulate(tiny_city(search_weight=2.0), Policy(name="p"), RunContext(4.0, 0.0, Streams(0, 0), 0),
                   arrivals=arr, trace=True)
    assert res.trace is not None
    assert [(k, round(t, 9), f) for k, i, t, f in res.trace if i == 3][:2] == [
        ("arrive", 3.02, -1), ("park", round(3.02 + MIN, 9), 0)]


def test_lost_when_search_budget_spent():
    """Both berths are held for 5 h, so the third driver finds A full, cruises to B (1 min) and
    finds it full: lost, with two cruises in total; with a 0.5 min budget drivers are lost at the
    first full option without cruising."""
    # both berths taken; the third driver tries A, cruises to B (1 min), finds it full: lost
    city = tiny_city()
    arr = hand_arrivals([0.1, 0.2, 0.3], [5.0, 5.0, 1.0])
    res = simulate(city, Policy(name="p"), RunContext(2.0, 0.0, Streams(0, 0), 0), arrivals=arr, trace=True)
    assert res.trace is not None
    assert [r[0] for r in res.trace if r[1] == 2] == ["arrive", "lost"]
    assert res.lost == 1
    assert res.search_h == pytest.approx(2 * MIN)  # driver 1 cruised A->B, driver 2 too
    # with no search budget the driver is lost at the first full option, without cruising
    tight = city.model_copy(update={"behaviour": city.behaviour.model_copy(update={"max_search_minutes": 0.5})})
    res2 = simulate(tight, Policy(name="p"), RunContext(2.0, 0.0, Streams(0, 0), 0), arrivals=arr, trace=True)
    assert res2.lost == 2 and res2.search_h == 0.0


def test_tariff_tiers_free_minutes_and_cap():
    """Charges worked out by hand from the tariff: free within 15 min, started half hours at the
    tier's rate (4, 8, then 12 an hour), capped at 20 a day, and a responsive shift of 1 added to
    every band's rate."""
    t = TariffCalc.of(Tariff.model_validate({
        "free_minutes": 15, "billing_minutes": 30, "daily_cap": 20.0,
        "tiers": [{"up_to_hours": 1.0, "rate_per_hour": 4.0}, {"up_to_hours": 2.0, "rate_per_hour": 8.0},
                  {"rate_per_hour": 12.0}],
    }))
    assert t.charge(0.25) == 0.0  # within the grace period
    assert t.charge(0.3) == pytest.approx(2.0)  # one started half hour at 4/h
    assert t.charge(1.0) == pytest.approx(4.0)
    assert t.charge(1.2) == pytest.approx(4.0 + 0.5 * 8.0)
    assert t.charge(2.5) == pytest.approx(min(20.0, 4 + 8 + 0.5 * 12))  # 18, under the cap
    assert t.charge(3.0) == pytest.approx(20.0)  # 24 capped at 20
    assert t.charge(1.0, shift=1.0) == pytest.approx(5.0)  # responsive pricing shifts every band


def test_same_seed_same_output_and_seed_matters():
    """Same seed and replication must give identical metrics, entity rows and time rows; another
    seed must change the metrics, so the equality is not vacuous."""
    city = tiny_city().model_copy(update={"zones": [tiny_city().zones[0].model_copy(update={"arrivals_per_day": 40.0})]})
    pol = Policy(name="p", payment="pay_at_exit")
    a = DOMAIN.run(city, pol, RunContext(24.0, 2.0, Streams(5, 1), 1))
    b = DOMAIN.run(city, pol, RunContext(24.0, 2.0, Streams(5, 1), 1))
    c = DOMAIN.run(city, pol, RunContext(24.0, 2.0, Streams(6, 1), 1))
    assert a.metrics == b.metrics and a.by_entity == b.by_entity
    assert [r for r in a.by_time if not math.isnan(r[3])] == [r for r in b.by_time if not math.isnan(r[3])]
    assert a.metrics != c.metrics


def test_policies_share_the_random_inputs():
    """Common random numbers: a policy with other payment and more berths must see exactly the same
    arrivals (ids and times, more than 20 of them) as the base policy."""
    # common random numbers: the drivers (times, zones, durations) do not depend on the policy
    city = tiny_city().model_copy(update={"zones": [tiny_city().zones[0].model_copy(update={"arrivals_per_day": 40.0})]})
    r1 = simulate(city, Policy(name="a"), RunContext(24.0, 0.0, Streams(1, 0), 0), trace=True)
    r2 = simulate(city, Policy(name="b", payment="pay_at_exit", add_berths={"A": 3}), RunContext(24.0, 0.0, Streams(1, 0), 0), trace=True)
    assert r1.trace is not None and r2.trace is not None
    arrivals1 = [(i, t) for k, i, t, _ in r1.trace if k == "arrive"]
    arrivals2 = [(i, t) for k, i, t, _ in r2.trace if k == "arrive"]
    assert arrivals1 == arrivals2 and len(arrivals1) > 20


def test_occupancy_integral_equals_sum_of_parked_spans():
    """The berth-hours reported per car park must equal the sum of park-to-leave spans read from the
    trace (open sessions to the horizon), a sample-path identity computed without the statistics
    code."""
    # sample-path identity behind Little's law, checked against the trace (independent of the
    # statistics code): berth-hours in [0, H] = sum over sessions of their time on the berth
    city = tiny_city().model_copy(update={"zones": [tiny_city().zones[0].model_copy(update={"arrivals_per_day": 60.0})]})
    H = 30.0
    res = simulate(city, Policy(name="p"), RunContext(H, 0.0, Streams(9, 0), 0), trace=True)
    assert res.trace is not None
    start: dict[int, tuple[float, int]] = {}
    spans = np.zeros(2)
    for kind, i, t, f in res.trace:
        if kind == "park":
            start[i] = (t, f)
        elif kind == "leave":
            t0, f0 = start.pop(i)
            spans[f0] += t - t0
    for t0, f0 in start.values():  # still parked at the horizon
        spans[f0] += H - t0
    np.testing.assert_allclose(res.hour_area.sum(axis=1), spans, rtol=1e-9)
    assert spans.sum() > 5.0


def test_policy_cross_check_names_the_problem():
    """A policy naming an unknown car park, an unknown tariff and a review period shorter than the
    update interval must get one message per problem, each starting with its key, and refuse to run.
    """
    city = tiny_city()
    pol = Policy.model_validate({"name": "bad", "add_berths": {"NOPE": 3}, "tariffs": {"other": {"tiers": [{"rate_per_hour": 1}]}},
                                 "responsive_pricing": {"period_hours": 0.5}})
    errs = check_policy(city, pol)
    assert any(e.startswith("add_berths.NOPE") for e in errs)
    assert any(e.startswith("tariffs.other") for e in errs)
    assert any(e.startswith("responsive_pricing.period_hours") for e in errs)
    with pytest.raises(ValueError, match="add_berths.NOPE"):
        DOMAIN.run(city, pol, RunContext(2.0, 0.0, Streams(0, 0), 0))


def test_scenario_loader_reports_policy_problems_with_lines():
    """Renaming a car park id in the shipped scenario's policy must give exactly one problem, naming
    the key and the id, at the line where the edited text stands."""
    from simcity.scenario import ScenarioError, parse_scenario_text

    text = (Path(__file__).resolve().parents[2] / "scenarios" / "parking_liangxi.toml").read_text(encoding="utf-8")
    bad = text.replace("P08 = 130", "P99 = 130")
    with pytest.raises(ScenarioError) as err:
        parse_scenario_text(bad, source="lx.toml")
    (problem,) = err.value.problems
    assert problem.path.endswith("add_berths.P99") and "unknown facility id 'P99'" in problem.message
    assert problem.line is not None and "P99 = 130" in bad.splitlines()[problem.line - 1]


def test_walking_links_instead_of_coordinates():
    """With links of 600, 100 and 5000 m and no noise, the first driver takes B (nearer), the second
    cruises to A via the zone (700 m at 42 km/h = 1 min) and the third is lost since C is beyond the
    800 m walk limit."""
    # no coordinates at all: the zone reaches A at 600 m and B at 100 m; C is beyond max_walk
    city = City.model_validate({
        "tariffs": {"t": {"tiers": [{"rate_per_hour": 2.0}]}},
        "car_parks": [{"id": n, "berths": 1, "tariff": "t", "entry_gates": 0, "payment": "leave_first"}
                      for n in ("A", "B", "C")],
        "zones": [{"id": "Z", "arrivals_per_day": 1.0}],
        "walking_links": [{"zone": "Z", "facility": "A", "metres": 600.0},
                          {"zone": "Z", "facility": "B", "metres": 100.0},
                          {"zone": "Z", "facility": "C", "metres": 5000.0}],
        "demand": {"purposes": [{"name": "all", "share": 1.0, "value_of_time_per_hour": 30.0,
                                 "duration": {"kind": "fixed", "mean_hours": 1.0}}]},
        "behaviour": {"logit_scale": 1e6, "max_walk_m": 800.0, "cruise_speed_kmh": 42.0, "min_cruise_m": 0.0},
    })
    arr = hand_arrivals([1.0, 1.2, 1.4], [3.0, 3.0, 3.0])
    arr.gumbel = np.zeros((3, 3))
    res = simulate(city, Policy(name="p"), RunContext(5.0, 0.0, Streams(0, 0), 0), arrivals=arr, trace=True)
    assert res.trace is not None
    parks = [(i, f, round(t, 9)) for k, i, t, f in res.trace if k == "park"]
    # B first (nearer), then A after a cruise estimated via the zone (100 + 600 m at 42 km/h = 1 min)
    assert parks == [(0, 1, 1.0), (1, 0, round(1.2 + MIN, 9))]
    assert res.lost == 1  # C is out of walking range, so the third driver has nowhere to go
    assert res.walk_sum.tolist() == [600.0, 100.0, 0.0]
    with pytest.raises(ValueError, match="neither coordinates nor walking_links"):
        City.model_validate({**city.model_dump(), "walking_links": []})


def test_gates_queue_like_simpy_resources():
    """The entry gate and the exit booth are computed as FIFO queues (start of service = when the
    earliest lane falls free, or arrival), not simulated as SimPy resources.  An independent plain
    SimPy model of the same drivers - a ``simpy.Resource`` per gate, each driver holding a lane for
    the service time - must give the same departures, waits and exits.  One car park with ample
    berths at the zone (no choice, no cruising: a driver reaches the gate on arrival), two entry
    lanes at 150 s for 40 drivers/h (load 0.83: queues) and one 100 s booth (load 1.1: the queue
    grows, so drivers are still queueing at the horizon and are not counted)."""
    import simpy

    from simcity.parking.demand import draw_arrivals

    city = City.model_validate({
        "tariffs": {"t": {"tiers": [{"rate_per_hour": 2.0}]}},
        "car_parks": [{"id": "P", "x": 0.0, "y": 0.0, "berths": 1000, "tariff": "t", "payment": "pay_at_exit",
                       "entry_gates": 2, "entry_service_s": 150.0, "exit_gates": 1, "exit_service_s": 100.0}],
        "zones": [{"id": "Z", "x": 0.0, "y": 0.0, "arrivals_per_day": 24 * 40.0}],
        "demand": {"purposes": [{"name": "all", "share": 1.0, "value_of_time_per_hour": 30.0,
                                 "duration": {"kind": "exponential", "mean_hours": 0.5}}]},
    })
    horizon, warm = 8.0, 1.0
    res = simulate(city, Policy(name="p"), RunContext(horizon, warm, Streams(3, 0), 0), trace=True)
    assert res.trace is not None
    leave = {i: t for kind, i, t, _ in res.trace if kind == "leave"}

    arr = draw_arrivals(city, horizon, Streams(3, 0), 1)
    env = simpy.Environment()
    entry, booth = simpy.Resource(env, capacity=2), simpy.Resource(env, capacity=1)
    eh, xh = 150.0 / 3600.0, 100.0 / 3600.0
    ref_leave: dict[int, float] = {}
    waits = {"entry": 0.0, "exit": 0.0, "exits": 0, "queued_entry": 0}

    def driver(i: int, t: float, d: float):  # type: ignore[no-untyped-def]
        req = entry.request()
        yield req
        if t >= warm:
            waits["entry"] += env.now - t
        waits["queued_entry"] += env.now > t
        yield env.timeout(eh)
        entry.release(req)
        yield env.timeout(d)
        ref_leave[i] = env.now
        t1 = env.now
        req = booth.request()
        yield req
        if t >= warm:
            waits["exit"] += env.now - t1
            waits["exits"] += 1
        yield env.timeout(xh)
        booth.release(req)

    def source():  # type: ignore[no-untyped-def]
        for i, (t, d) in enumerate(zip(arr.time.tolist(), arr.duration.tolist(), strict=True)):
            yield env.timeout(t - env.now)
            env.process(driver(i, t, d))

    env.process(source())
    env.run(until=horizon)

    assert waits["queued_entry"] > 20  # the entry queue is exercised
    assert len(ref_leave) - waits["exits"] > 10  # and drivers still queue at the booth at the horizon
    assert leave.keys() == ref_leave.keys()
    for i, t in ref_leave.items():
        assert leave[i] == pytest.approx(t, rel=1e-12, abs=1e-12)
    assert res.entry_wait_sum[0] == pytest.approx(waits["entry"], rel=1e-12)
    assert res.exit_wait_sum[0] == pytest.approx(waits["exit"], rel=1e-12)
    assert res.exits[0] == waits["exits"]


def test_simultaneous_arrival_and_departure_keep_scheduling_order():
    """Events at the same time run in the order they were scheduled (SimPy's rule), and drivers
    started without a SimPy process keep it: the event a driver schedules on arrival comes after
    the arrival process's next timeout.  Case 1: driver 1's arrival at 1.5 was scheduled at 1.0,
    before driver 0 (arrived at 1.0 for 0.5 h) scheduled its departure, so at 1.5 car park A is
    still full and driver 1 cruises one minute to B.  Case 2: driver 2's arrival at 1.5 was
    scheduled at 1.25, after driver 0's departure, so A is free again when driver 2 arrives."""
    res = simulate(tiny_city(), Policy(name="p"), RunContext(4.0, 0.0, Streams(0, 0), 0),
                   arrivals=hand_arrivals([1.0, 1.5], [0.5, 1.0]), trace=True)
    assert res.trace == [("arrive", 0, 1.0, -1), ("park", 0, 1.0, 0), ("arrive", 1, 1.5, -1),
                         ("leave", 0, 1.5, 0), ("park", 1, 1.5 + MIN, 1), ("leave", 1, 2.5 + MIN, 1)]
    res = simulate(tiny_city(), Policy(name="p"), RunContext(4.0, 0.0, Streams(0, 0), 0),
                   arrivals=hand_arrivals([1.0, 1.25, 1.5], [0.5, 0.25, 1.0]), trace=True)
    assert res.trace is not None
    assert [r for r in res.trace if r[1] != 1] == [("arrive", 0, 1.0, -1), ("park", 0, 1.0, 0),
                                                   ("leave", 0, 1.5, 0), ("arrive", 2, 1.5, -1),
                                                   ("park", 2, 1.5, 0), ("leave", 2, 2.5, 0)]
