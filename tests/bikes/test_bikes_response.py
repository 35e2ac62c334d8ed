"""Demand that responds to availability: off reproduces the model before it existed exactly, on
deters riders where bikes or docks were missing, and its range is checked at load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import simcity
from simcity.bikes import City
from simcity.bikes.demand import Trips
from simcity.bikes.network import build_network
from simcity.bikes.sim import BikeSim
from tests.bikes.golden_city import GOLDEN, run_all

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_response_off_gives_the_tables_of_main_before_the_response() -> None:
    """Without [city.response] the golden cities (tests/bikes/golden_city.py) give the table hashes
    and metrics recorded on main before the availability response existed, and the two new
    metrics are 0: switched off, the response reproduces the old model exactly, as issue 16
    requires."""
    golden = json.loads(GOLDEN.read_text())
    now = run_all()
    assert set(now) == set(golden)
    for name, reps in golden.items():
        for old, new in zip(reps, now[name], strict=True):
            assert new["tables_sha256"] == old["tables_sha256"], name
            for k, v in old["metrics"].items():
                assert new["metrics"][k] == v, (name, k)
            assert new["metrics"]["deterred_requests"] == "0.0"
            assert new["metrics"]["ebike_trips"] == "0.0"


def test_zero_elasticity_tries_every_request_and_keeps_the_other_tables() -> None:
    """Elasticity 0 switches the response on without effect: availability to the power 0 is 1, which
    no uniform draw exceeds, so no request is deterred; the response's draws come from their
    own stream, so every table hash and metric equals the run with the response off."""
    off = run_all()
    zero = run_all({"response": {"elasticity": 0.0}})
    for name in off:
        for a, b in zip(off[name], zero[name], strict=True):
            assert a["tables_sha256"] == b["tables_sha256"]
            assert {k: v for k, v in a["metrics"].items()} == b["metrics"]


def test_response_deters_riders_and_lowers_requests() -> None:
    """With elasticity 1.22 (Kabra, Belavina & Girotra: +10 % availability -> +12.2 % ridership) and
    a 10 h memory, some riders are deterred in every golden run, and requests tried +
    deterred equal the requests tried without the response: the latent requests are the same
    draws, the response only decides which are tried."""
    off = run_all()
    on = run_all({"response": {"elasticity": 1.22, "memory": 10.0}})
    for name in off:
        for a, b in zip(off[name], on[name], strict=True):
            tried_off = float(a["metrics"]["trip_requests"])
            tried_on = float(b["metrics"]["trip_requests"])
            deterred = float(b["metrics"]["deterred_requests"])
            assert deterred > 0
            # every latent request is either tried or deterred; the latent ones are the same draws
            assert tried_on + deterred == pytest.approx(tried_off)


def _one_station_trace(elasticity: float, u: float) -> tuple[int, int, int]:
    city = City.model_validate({
        "stations": [{"id": "A", "x": 0.0, "y": 0.0, "capacity": 2, "bikes": 0},
                     {"id": "B", "x": 5000.0, "y": 0.0, "capacity": 5, "bikes": 0}],
        "road_detour": 1.0,
        "demand": {"od": [{"origin": "A", "destination": "B", "per_hour": [0.0]}]},
    })
    net = build_network(city)
    t = np.array([1.0, 2.0, 3.0])
    trips = Trips(t, np.zeros(3, dtype=np.int64), np.ones(3, dtype=np.int64), np.full(3, 0.5))
    sim = BikeSim(net, trips, np.ones(3), speed_m_h=12000.0, walk_m_max=0.0, horizon_h=4.0, warmup_h=0.0,
                  response=(elasticity, 2.0, 0.0, np.full(3, u)))
    c = sim.run().counts
    return c.requests, c.failed_rentals, c.deterred


def test_hand_checked_deterrence() -> None:
    """Station A never has a bike. With a 2 h memory the perceived availability is 1, 0.5 and 0.25
    at the three requests, and a rider tries when availability ** elasticity exceeds the draw
    u. u = 0.6: the first tries and fails, 0.5 and 0.25 deter the others -> (1 request, 1
    failed, 2 deterred). u = 0.4: 1 and 0.5 try, 0.25 deters -> (2, 2, 1). Elasticity 2 with
    u = 0.4: 0.5 ** 2 = 0.25 < 0.4 deters the second already -> (1, 1, 2)."""
    assert _one_station_trace(1.0, 0.6) == (1, 1, 2)
    assert _one_station_trace(1.0, 0.4) == (2, 2, 1)
    assert _one_station_trace(2.0, 0.4) == (1, 1, 2)


@pytest.mark.parametrize("text, key", [
    ("elasticity = -0.5", "city.response.elasticity"),
    ("elasticity = 9.0", "city.response.elasticity"),
    ("memory = 0.5", "city.response.memory"),
    ("ebike_share = 1.5", "city.response.ebike_share"),
])
def test_response_out_of_range_is_located(tmp_path: Path, text: str, key: str) -> None:
    """A negative or too-large elasticity, a memory below one hour and an e-bike share above 1, each
    written in a [city.response] table of the district scenario, are refused when it loads
    with the file, the line of the bad value (the line after the inserted header) and the
    dotted key."""
    base = (SCENARIOS / "bikes_suzhou_district.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(base.replace("[city.riders]", f"[city.response]\n{text}\n\n[city.riders]"))
    with pytest.raises(simcity.ScenarioError) as err:
        simcity.load_scenario(bad)
    line = base[: base.index("[city.riders]")].count("\n") + 2
    assert f"bad.toml:{line}:" in str(err.value) and key in str(err.value)
