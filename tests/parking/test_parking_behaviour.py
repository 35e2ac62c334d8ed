"""Drivers who respond to price and enforcement (issue 15): an outside option with a price
elasticity, stays that respond to the marginal hourly rate, pavement parking deterred by
enforcement.  Each is checked against the law it implements, and each switched off must give
exactly the model without it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

import simcity
from simcity.domain import RunContext
from simcity.parking import DOMAIN, City, Policy
from simcity.parking.config import Pavement
from simcity.parking.domain import summarise
from simcity.parking.layout import TariffCalc, responsive_stay
from simcity.parking.sim import simulate
from simcity.rng import Streams

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((Path(__file__).parent / "data" / "golden_pre_issue15.json").read_text(encoding="utf-8"))
_spec = importlib.util.spec_from_file_location("make_golden", Path(__file__).parent / "data" / "make_golden_pre_issue15.py")
assert _spec is not None and _spec.loader is not None
MAKE_GOLDEN = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(MAKE_GOLDEN)


#: per-facility and per-zone rows the model wrote before issue 15 (the golden digests cover these)
OLD_ROWS = {"occupancy", "band_share", "turnover", "sessions", "revenue", "exit_wait_s", "tickets",
            "zone_lost_share", "zone_search_min"}


class RecordingStreams(Streams):
    """Streams that remember which sources were asked for."""

    __slots__ = ("asked",)

    def __init__(self, seed: int, replication: int) -> None:
        super().__init__(seed, replication)
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> np.random.Generator:
        self.asked.add(name)
        return super().__getitem__(name)


def without_new_behaviour(city: City) -> City:
    """The city with every issue-15 option switched off (elasticities 0, no pavement parking)."""
    purposes = [p.model_copy(update={"price_elasticity": 0.0, "stay_elasticity": 0.0}) for p in city.demand.purposes]
    return city.model_copy(update={
        "demand": city.demand.model_copy(update={"purposes": purposes}),
        "pavement": Pavement.model_validate({}),
    })


def test_switched_off_is_byte_identical_to_the_model_before_the_options():
    """With the issue-15 behaviours off, the model must draw none of their streams and reproduce the
    metrics and a digest of the rows saved from main before issue 15 (tests/parking/data): the
    options cannot change the old model unasked.  Both sides are rounded to 12 significant
    digits (make_golden_pre_issue15.py says why: numpy's summation order moves the last bit
    between numpy versions; a model change moves a metric far more)."""
    # the digests were computed by the code of main before issue 15 (tests/parking/data)
    sc = simcity.load_scenario(ROOT / "scenarios" / "parking_liangxi.toml")
    city = without_new_behaviour(sc.city)
    old = set(GOLDEN["metrics"]["reported_2023h1"])
    for pol in sc.policy_list:
        if pol.name not in GOLDEN["runs"]:
            continue
        streams = RecordingStreams(sc.seed, 0)
        out = DOMAIN.run(city, pol, RunContext(sc.horizon_hours, sc.warmup_hours, streams, 0))
        assert not streams.asked & {"outside", "illegal", "pavement"}, streams.asked
        keep = {k: v for k, v in out.metrics.items() if k in old}
        assert MAKE_GOLDEN.rounded(keep) == GOLDEN["metrics"][pol.name], pol.name
        rows = [r for r in out.by_entity if r[1] in OLD_ROWS]
        series = [r for r in out.by_time if r[2] in MAKE_GOLDEN.SERIES]
        assert MAKE_GOLDEN.digest(keep, rows, series) == GOLDEN["runs"][pol.name], pol.name


def isolated_car_park(elasticity: float = 0.0, stay_elasticity: float = 0.0, *, per_day: float = 2000.0,
                      berths: int = 100_000, mean_hours: float = 1.0, kind: str = "fixed",
                      pavement: dict[str, Any] | None = None, kerb: bool = False) -> City:
    """One facility beside one zone: its cost is the price alone (no walk, no search while there
    is room) and there is no other option."""
    fac = {"id": "P", "x": 0.0, "y": 0.0, "berths": berths, "tariff": "t"}
    return City.model_validate({
        "tariffs": {"t": {"tiers": [{"rate_per_hour": 4.0}], "billing_minutes": 1.0}},
        "car_parks": [] if kerb else [{**fac, "payment": "leave_first", "entry_gates": 0}],
        "kerb_segments": [{**fac, "max_stay_hours": 24.0}] if kerb else [],
        "zones": [{"id": "Z", "x": 0.0, "y": 0.0, "arrivals_per_day": per_day}],
        "demand": {"purposes": [{
            "name": "all", "share": 1.0, "value_of_time_per_hour": 30.0,
            "duration": {"kind": kind, "mean_hours": mean_hours, "cv": 1.0},
            "price_elasticity": elasticity, "stay_elasticity": stay_elasticity}]},
        "pavement": pavement or {},
    })


def flat(rate: float) -> dict[str, Any]:
    return {"t": {"tiers": [{"rate_per_hour": rate}], "billing_minutes": 1.0}}


@pytest.mark.parametrize("e", [-0.4, -1.0])
def test_ten_percent_price_rise_changes_parked_arrivals_by_the_elasticity(e):
    """In an isolated car park the price is the whole cost, so a 10 % rise under constant elasticity
    e must change parked arrivals by 1.1 ** e - 1 (about e x 10 %), inside a 99 % interval of 12
    paired replications, and the change must be clearly negative."""
    city = isolated_car_park(e)
    base, dearer = Policy(name="base"), Policy.model_validate({"name": "dearer", "tariffs": flat(4.4)})
    change = []
    for r in range(12):
        m0 = DOMAIN.run(city, base, RunContext(24.0, 0.0, Streams(5, r), r)).metrics
        m1 = DOMAIN.run(city, dearer, RunContext(24.0, 0.0, Streams(5, r), r)).metrics
        assert m0["drivers_lost"] == m1["drivers_lost"] == 0
        change.append(m1["sessions"] / m0["sessions"] - 1.0)
    mean, sem = np.mean(change), stats.sem(change)
    half = stats.t.ppf(0.995, len(change) - 1) * sem
    # constant elasticity: parked arrivals x 1.1 ** e, i.e. about e x 10 %
    expected = 1.1**e - 1.0
    assert abs(expected - e * 0.1) < 0.1 * abs(e) * 0.1
    assert mean - half <= expected <= mean + half, (mean, half, expected)
    assert mean + half < 0


def test_without_elasticity_a_price_rise_keeps_every_driver():
    """With elasticity 0 the outside option is never taken: doubling the rate keeps the same
    sessions and no driver stays away."""
    city = isolated_car_park(0.0)
    m0 = DOMAIN.run(city, Policy(name="b"), RunContext(24.0, 0.0, Streams(5, 0), 0)).metrics
    m1 = DOMAIN.run(city, Policy.model_validate({"name": "d", "tariffs": flat(8.0)}),
                    RunContext(24.0, 0.0, Streams(5, 0), 0)).metrics
    assert m0["sessions"] == m1["sessions"] and m1["drivers_not_come"] == 0


def test_a_cheaper_price_attracts_drivers_beyond_the_reference_demand():
    """Halving the price at elasticity -0.5 must scale demand by 0.5 ** -0.5 = 1.41, so about 2828
    sessions from the 2000 a day of reference demand."""
    city = isolated_car_park(-0.5)
    m = DOMAIN.run(city, Policy.model_validate({"name": "c", "tariffs": flat(2.0)}),
                   RunContext(24.0, 0.0, Streams(5, 0), 0)).metrics
    # 2 ** 0.5 = 1.41 times the reference demand (2000 a day)
    assert m["drivers_attracted"] > 0 and m["drivers_not_come"] == 0
    assert m["sessions"] == pytest.approx(2000 * 2**0.5, rel=0.1)


def stays(city: City, policy: Policy, rep: int = 0) -> dict[int, float]:
    res = simulate(city, policy, RunContext(48.0, 0.0, Streams(9, rep), rep), trace=True)
    assert res.trace is not None
    start = {i: t for k, i, t, _ in res.trace if k == "park"}
    return {i: t - start[i] for k, i, t, _ in res.trace if k == "leave"}


def test_doubling_the_rate_after_the_second_hour_shortens_longer_stays():
    """Hours beyond the second cost twice the reference, so with stay elasticity s they pass 2 ** -s
    times as fast: each longer stay becomes exactly 2 + (d - 2) x 2 ** s, and stays within two hours
    are unchanged."""
    s = -0.5
    city = isolated_car_park(stay_elasticity=s, per_day=300.0, mean_hours=2.5, kind="lognormal")
    doubled = Policy.model_validate({"name": "x2", "tariffs": {"t": {
        "tiers": [{"up_to_hours": 2.0, "rate_per_hour": 4.0}, {"rate_per_hour": 8.0}], "billing_minutes": 1.0}}})
    before, after = stays(city, Policy(name="b")), stays(city, doubled)
    both = sorted(set(before) & set(after))
    longer = [i for i in both if before[i] > 2.0]
    shorter = [i for i in both if before[i] <= 2.0]
    assert len(longer) > 50 and len(shorter) > 50
    # the hours after the second cost twice the reference: they are spent 2 ** -s times as fast
    for i in longer:
        assert after[i] == pytest.approx(2.0 + (before[i] - 2.0) * 2.0**s, abs=1e-9)
    assert all(after[i] == pytest.approx(before[i], abs=1e-12) for i in shorter)
    assert np.mean([after[i] for i in longer]) < np.mean([before[i] for i in longer]) - 0.2


def test_responsive_stay_reduces_to_the_intention_under_the_reference_tariff():
    """Under its own reference tariff a stay is the intended one; a flat 5/h against the tiered
    4/8/12 is dearer in the first hour (shorter short stays) and cheaper later (longer long stays).
    """
    sc = simcity.load_scenario(ROOT / "scenarios" / "parking_liangxi.toml")
    kerb = TariffCalc.of(sc.city.tariffs["kerb_tiered"])
    for d in (0.2, 1.0, 1.7, 3.0, 9.0):
        assert responsive_stay(d, kerb, 0.0, kerb, -0.3) == pytest.approx(d)
    # a flat 5 yuan/h against the tiered 4/8/12: dearer first hour, cheaper later hours
    five = TariffCalc.of(sc.city.tariffs["kerb"])
    assert responsive_stay(0.5, five, 0.0, kerb, -0.3) < 0.5
    assert responsive_stay(3.0, five, 0.0, kerb, -0.3) > 3.0


@pytest.mark.parametrize("s", [0.0, -0.5])
def test_tiered_against_flat_kerb_changes_turnover_only_when_stays_respond(s):
    """With stay elasticity 0 stays ignore the rate, so tiered and flat kerb tariffs give exactly
    equal turnover; with -0.5 the dearer later hours shorten stays and turnover must rise in every
    replication."""
    city = isolated_car_park(stay_elasticity=s, per_day=400.0, berths=20, mean_hours=3.0,
                             kind="lognormal", kerb=True)
    tiered = Policy.model_validate({"name": "tiered", "tariffs": {"t": {"tiers": [
        {"up_to_hours": 1.0, "rate_per_hour": 4.0}, {"up_to_hours": 2.0, "rate_per_hour": 8.0},
        {"rate_per_hour": 12.0}], "billing_minutes": 1.0}}})
    flat4 = Policy(name="flat")
    diff = []
    for r in range(4):
        m_t = DOMAIN.run(city, tiered, RunContext(36.0, 12.0, Streams(3, r), r)).metrics
        m_f = DOMAIN.run(city, flat4, RunContext(36.0, 12.0, Streams(3, r), r)).metrics
        diff.append(m_t["turnover"] - m_f["turnover"])
    if s == 0.0:
        assert diff == [0.0] * 4
    else:
        assert min(diff) > 0, diff


def pavement_city(give_up: float = 1000.0, disutility: float = 10.0) -> City:
    return isolated_car_park(per_day=600.0, berths=10, mean_hours=2.0, kind="lognormal",
                             pavement={"disutility": disutility, "checks_per_hour": 1.0, "fine": 200.0,
                                       "give_up_cost": give_up})


def test_failed_searchers_park_on_the_pavement_and_get_pavement_tickets():
    """When giving up costs more than the pavement, failed searchers park illegally (none lost),
    pavement tickets are counted apart from kerb tickets and are fewer than the illegal parkers;
    with giving up free, drivers are lost instead."""
    city = pavement_city()
    res = simulate(city, Policy(name="b"), RunContext(24.0, 0.0, Streams(2, 0), 0), trace=True)
    out = summarise(res)
    assert res.lost == 0 and res.illegal > 0
    assert out.metrics["illegal_per_day"] == res.illegal
    # pavement tickets are their own count, kerbside overstay tickets another (no kerb here)
    assert out.metrics["tickets"] == 0 and 0 < out.metrics["pavement_tickets_per_day"] < res.illegal
    # with giving up cheaper than the pavement, a failed search loses the driver instead
    res2 = simulate(pavement_city(give_up=0.0), Policy(name="b"), RunContext(24.0, 0.0, Streams(2, 0), 0))
    assert res2.lost > 0 and res2.illegal < res.illegal


def test_enforcement_deters_pavement_parking():
    """Stricter pavement patrols raise the expected fine above the cost of giving up, so paired over
    three replications fewer drivers park on the pavement and more are lost."""
    city = pavement_city(give_up=60.0, disutility=5.0)
    lax = Policy.model_validate({"name": "lax", "pavement_enforcement": 0.2})
    strict = Policy.model_validate({"name": "strict", "pavement_enforcement": 3.0})
    d_ill, d_lost = [], []
    for r in range(3):
        a = DOMAIN.run(city, lax, RunContext(24.0, 0.0, Streams(4, r), r)).metrics
        b = DOMAIN.run(city, strict, RunContext(24.0, 0.0, Streams(4, r), r)).metrics
        d_ill.append(b["illegal_per_day"] - a["illegal_per_day"])
        d_lost.append(b["drivers_lost"] - a["drivers_lost"])
    assert max(d_ill) < 0 and min(d_lost) > 0
