"""Hypothesis properties on small random cities, checked from the event trace by an independent
checker: conservation of drivers (each ends parked-and-left, still parked, parked on the
pavement, lost, not come by car, or - only in the last minutes - still cruising at the horizon) and no facility ever above its capacity at
that time of day."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simcity.domain import RunContext
from simcity.parking import DOMAIN, City, Policy
from simcity.parking.demand import draw_arrivals
from simcity.parking.domain import summarise
from simcity.parking.sim import simulate
from simcity.rng import Streams

coord = st.floats(0.0, 1200.0, allow_nan=False).map(lambda v: round(v, 1))


@st.composite
def windows(draw: st.DrawFn) -> list[tuple[float, float]]:
    kind = draw(st.sampled_from(["all", "night", "day", "random"]))
    if kind == "all":
        return [(0.0, 24.0)]
    if kind == "night":
        return [(0.0, 8.0), (18.0, 24.0)]
    if kind == "day":
        return [(7.0, 21.0)]
    a = draw(st.integers(0, 22))
    b = draw(st.integers(a + 1, 24))
    return [(float(a), float(b))]


@st.composite
def cities(draw: st.DrawFn) -> tuple[City, Policy, float, float]:
    n_cp = draw(st.integers(0, 3))
    n_kerb = draw(st.integers(0 if n_cp else 1, 2))
    car_parks = [
        {
            "id": f"C{k}", "x": draw(coord), "y": draw(coord), "berths": draw(st.integers(0, 4)),
            "tariff": "t", "payment": draw(st.sampled_from(["pay_at_exit", "leave_first"])),
            "entry_gates": draw(st.integers(0, 2)), "entry_service_s": draw(st.sampled_from([0.0, 5.0, 120.0])),
            "exit_service_s": draw(st.sampled_from([0.0, 30.0, 600.0])),
            "shared": draw(st.booleans()), "public_hours": draw(windows()),
        }
        for k in range(n_cp)
    ]
    kerbs = [
        {"id": f"K{k}", "x": draw(coord), "y": draw(coord), "berths": draw(st.integers(0, 4)),
         "tariff": "t", "max_stay_hours": draw(st.sampled_from([0.5, 2.0])), "public_hours": draw(windows())}
        for k in range(n_kerb)
    ]
    zones = [
        {"id": f"Z{k}", "x": draw(coord), "y": draw(coord), "arrivals_per_day": draw(st.sampled_from([0.0, 20.0, 120.0]))}
        for k in range(draw(st.integers(1, 3)))
    ]
    kind = st.sampled_from(["exponential", "lognormal", "fixed"])
    purposes = [
        {"name": f"p{k}", "share": 1.0, "value_of_time_per_hour": 30.0,
         "duration": {"kind": draw(kind), "mean_hours": draw(st.sampled_from([0.3, 1.5, 6.0])), "cv": 1.2},
         "hourly_profile": draw(st.sampled_from([None, [0.0] * 6 + [1.0] * 18])),
         "price_elasticity": draw(st.sampled_from([0.0, 0.0, -0.4, -2.0])),
         "stay_elasticity": draw(st.sampled_from([0.0, -0.3]))}
        for k in range(draw(st.integers(1, 2)))
    ]
    pavement = draw(st.sampled_from([{}, {"disutility": 0.0}, {"disutility": 20.0, "give_up_cost": 0.0},
                                     {"disutility": 5.0, "checks_per_hour": 3.0}]))
    city = City.model_validate({
        "tariffs": {"t": {"tiers": [{"up_to_hours": 1.0, "rate_per_hour": 2.0}, {"rate_per_hour": 6.0}]}},
        "car_parks": car_parks, "kerb_segments": kerbs, "zones": zones,
        "demand": {"purposes": purposes}, "pavement": pavement,
        "behaviour": {"max_walk_m": 1500.0, "update_minutes": draw(st.sampled_from([15, 60])),
                      "choice_set_size": draw(st.integers(1, 4)),
                      "max_search_minutes": draw(st.sampled_from([0.0, 5.0, 30.0]))},
    })
    ids = [c["id"] for c in car_parks] + [k["id"] for k in kerbs]
    pol: dict[str, Any] = {
        "name": "p", "open_shared_berths": draw(st.booleans()),
        "payment": draw(st.sampled_from(["as_city", "pay_at_exit", "leave_first"])),
        "add_berths": {i: 1 for i in ids if draw(st.booleans())},
        "pavement_enforcement": draw(st.sampled_from([0.0, 1.0, 5.0])),
    }
    if draw(st.booleans()):
        pol["tariffs"] = {"t": {"tiers": [{"rate_per_hour": draw(st.sampled_from([0.0, 3.0, 9.0]))}]}}
    if draw(st.booleans()):
        pol["responsive_pricing"] = {"period_hours": 1.0, "step_per_hour": 1.0}
    horizon = float(draw(st.sampled_from([6.0, 20.0, 30.0])))
    warmup = float(draw(st.sampled_from([0.0, 2.0])))
    return city, Policy.model_validate(pol), horizon, warmup


def capacity_at(city: City, policy: Policy, fid: str, t: float) -> int:
    """Berths open to the public at time ``t``, straight from the configuration."""
    for f in city.car_parks:
        if f.id == fid:
            if f.shared and not policy.open_shared_berths:
                return 0
            hours, berths = f.public_hours, f.berths
            break
    else:
        f2 = next(k for k in city.kerb_segments if k.id == fid)
        hours, berths = f2.public_hours, f2.berths
    h = t % 24.0
    is_open = any(s <= h < e for s, e in hours)
    return berths + policy.add_berths.get(fid, 0) if is_open else 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cities(), st.integers(0, 3))
def test_conservation_and_capacity(case, rep):
    """On random cities and policies, read from the trace alone: every driver drawn arrives once and
    ends one way (left, parked, lost, still cruising near the horizon, pavement, stayed away), the
    metrics count the same drivers, and occupancy never exceeds the capacity the test recomputes
    from opening hours and added berths."""
    city, policy, horizon, warmup = case
    streams = Streams(17, rep)
    res = simulate(city, policy, RunContext(horizon, warmup, streams, streams.replication), trace=True)
    assert res.trace is not None
    ids = res.layout.ids

    # conservation: every driver drawn arrives once and then ends exactly one way
    n_drawn = len(draw_arrivals(city, horizon, Streams(17, rep), res.layout.opts.shape[1]))
    kinds: dict[int, list[str]] = {}
    for kind, i, _, _ in res.trace:
        kinds.setdefault(i, []).append(kind)
    assert len(kinds) == n_drawn
    fates = Counter(tuple(v) for v in kinds.values())
    assert set(fates) <= {("arrive", "park", "leave"), ("arrive", "park"), ("arrive", "lost"), ("arrive",),
                          ("arrive", "illegal"), ("arrive", "outside")}
    left, parked, lost, searching, illegal, outside = (
        fates[("arrive", "park", "leave")], fates[("arrive", "park")], fates[("arrive", "lost")],
        fates[("arrive",)], fates[("arrive", "illegal")], fates[("arrive", "outside")])
    assert left + parked + lost + searching + illegal + outside == n_drawn
    if city.pavement.disutility is None:
        assert illegal == 0
    if all(p.price_elasticity == 0 for p in city.demand.purposes):
        assert outside == 0
    # a driver with no outcome yet must still be cruising: it arrived within its search budget
    # of the horizon
    arrive_t = {i: t for k, i, t, _ in res.trace if k == "arrive"}
    budget = city.behaviour.max_search_minutes / 60.0
    assert all(arrive_t[i] >= horizon - budget - 1e-9 for i, v in kinds.items() if v == ["arrive"])

    # the metrics agree with the trace on drivers counted after warm-up
    counted = {i for i, t in arrive_t.items() if t >= warmup}
    out = DOMAIN.check_output(summarise(res))
    assert out.metrics["drivers_lost"] == sum(1 for k, i, _, _ in res.trace if k == "lost" and i in counted)
    assert out.metrics["sessions"] == sum(1 for k, i, _, _ in res.trace if k == "park" and i in counted)
    days = (horizon - warmup) / 24.0
    assert out.metrics["illegal_per_day"] * days == pytest.approx(
        sum(1 for k, i, _, _ in res.trace if k == "illegal" and i in counted))
    # drivers who came by car (the denominator of lost_share) are those who did not stay away
    not_coming = {i for k, i, _, _ in res.trace if k == "outside"}
    assert res.counted == len(counted - not_coming)
    zone_lost = sum(v * res.zone_counted[n] for n, (e, m, v) in enumerate(
        r for r in out.by_entity if r[1] == "zone_lost_share") if res.zone_counted[n] > 0)
    assert zone_lost == pytest.approx(out.metrics["drivers_lost"])

    # capacity: sweep events and window boundaries in time order (times rounded to absorb the
    # floating-point residue of t + (close - t)); after everything at an instant, occupancy
    # must not exceed the capacity in force at that instant
    events = sorted((round(t, 9), +1 if k == "park" else -1, f) for k, _, t, f in res.trace if k in ("park", "leave"))
    bounds = [float(b) for b in range(0, int(horizon) + 1)]
    # (events due exactly at the horizon are not processed, so the horizon itself is excluded)
    instants = sorted(t for t in {t for t, _, _ in events} | set(bounds) if t < horizon)
    occ = [0] * len(ids)
    j = 0
    for t in instants:
        while j < len(events) and events[j][0] <= t:
            occ[events[j][2]] += events[j][1]
            j += 1
        for f, fid in enumerate(ids):
            assert 0 <= occ[f] <= capacity_at(city, policy, fid, t), (fid, t, occ[f])

