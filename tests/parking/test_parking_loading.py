"""Kerbside loading shared with parkers: the kerb planner's table (simcity.parking.loading) and
the parking model reading it as a time-varying kerb capacity (simcity.parking.layout/sim)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import simcity
from simcity import cli
from simcity.domain import RunContext
from simcity.parking import City, Policy
from simcity.parking.config import KerbTaken
from simcity.parking.domain import ParkingDomain
from simcity.parking.loading import plan_loading, write_kerb_table
from simcity.parking.sim import simulate
from simcity.rng import Streams

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ParkingDomain()
LOADING_METRICS = {"truck_wait_min", "double_parked", "kerb_taken_berth_h"}
LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<key>[^:]+): (?P<msg>.+)$")


def parking_numbers(metrics: dict[str, float]) -> dict[str, str]:
    """The parking metrics (loading ones aside) as exact text (repr: equal floats, nan = nan)."""
    return {k: repr(v) for k, v in metrics.items() if k not in LOADING_METRICS}


def kerb_city(**extra: Any) -> City:
    """One 10-berth kerb segment K (6 m a berth: 60 m) beside one zone, short fixed stays, heavy
    demand, and a second segment L elsewhere nobody uses."""
    return City.model_validate({
        "tariffs": {"t": {"tiers": [{"rate_per_hour": 1.0}], "billing_minutes": 1.0}},
        "kerb_segments": [{"id": "K", "x": 0.0, "y": 0.0, "berths": 10, "tariff": "t", "max_stay_hours": 24.0},
                          {"id": "L", "x": 5000.0, "y": 0.0, "berths": 4, "tariff": "t"}],
        "zones": [{"id": "Z", "x": 0.0, "y": 0.0, "arrivals_per_day": 2400.0}],
        "demand": {"purposes": [{"name": "all", "share": 1.0, "value_of_time_per_hour": 30.0,
                                 "duration": {"kind": "fixed", "mean_hours": 0.1}}]},
        **extra,
    })


def test_capacity_removed_equals_the_table() -> None:
    """A table taking 14 m of K from 08:00 to 09:00 removes ceil(14 / 6) = 3 berths for that hour,
    and 60 m from 12:00 to 12:30 removes all 10 for half an hour: the open berth-hours the run
    reports must be the untouched run's minus exactly 3 in hour 8 and 5 in hour 12 (nothing
    elsewhere), and in the taken periods no driver may park beyond the berths left once the
    cars parked before (0.1 h stays) have gone."""
    city = kerb_city()
    table = [KerbTaken(segment="K", start_min=480, end_min=540, taken_m=14.0),
             KerbTaken(segment="K", start_min=720, end_min=750, taken_m=60.0)]
    ctx = RunContext(24.0, 0.0, Streams(3, 0), 0)
    free = simulate(city, Policy(name="p"), ctx)
    taken = simulate(city, Policy(name="p"), ctx, kerb_taken=table, trace=True)
    diff = free.hour_cap - taken.hour_cap
    expected = [0.0] * 24
    expected[8], expected[12] = 3.0, 5.0
    assert diff[0].tolist() == pytest.approx(expected, abs=1e-9)
    assert diff[1].tolist() == [0.0] * 24
    # occupancy of K over the trace never exceeds the berths left (after the old stays end)
    occ, worst = 0, {}
    assert taken.trace is not None
    for kind, _, t, f in taken.trace:
        if f != 0:
            continue
        occ += 1 if kind == "park" else -1 if kind == "leave" else 0
        for name, lo, hi in (("morning", 8.1, 9.0), ("noon", 12.1, 12.5)):
            if lo <= t < hi:
                worst[name] = max(worst.get(name, 0), occ)
    assert worst["morning"] <= 7 and "noon" not in worst  # nobody parks on a fully taken kerb
    assert taken.lost > free.lost  # the demand is heavy: fewer berths turn drivers away


def loading_city(**kl: Any) -> City:
    """kerb_city with two 7.5 m vans due at 08:00 (window 08:00-08:30, 20 minutes each) at K."""
    return kerb_city(kerb_loading={
        "stops": [{"id": "van", "kind": "delivery", "window": [8.0, 8.5], "dwell_minutes": 20,
                   "length_m": 7.5, "segments": ["K"], "count": 2, "every_minutes": 1}], **kl})


def zone_policy(mode: str, **extra: Any) -> Policy:
    return Policy.model_validate({"name": mode, "loading": {"mode": mode, "zones": [{"segment": "K", "length_m": 12.0}],
                                                            **extra}})


def test_planner_hand_checked() -> None:
    """Two 7.5 m vans (08:00 and 08:01, 20 minutes, done by 08:30 and 08:31) and a 12 m zone: one
    van at a time (15 m > 12 m), and the second cannot wait the 19 minutes the first still
    stands (its window leaves it 10), so it double-parks, waiting 0.  Dedicated: the zone is
    taken all day (one row, 12 m, 0-1440).  Windowed 09:00-10:00: both vans come outside the
    hours and double-park; the zone is taken 540-600.  Booked: the first van stands 08:00-08:20,
    so the 15-minute slots 480-495 and 495-510 lose 7.5 m each and nothing else.  None: both
    double-park and nothing is taken."""
    city = loading_city()
    ded = plan_loading(city, zone_policy("dedicated"))
    assert ded.double_parked == 1 and ded.wait_min == 0
    assert [(r.segment, r.start_min, r.end_min, r.taken_m) for r in ded.table] == [("K", 0, 1440, 12.0)]
    win = plan_loading(city, zone_policy("windowed", hours=[[9.0, 10.0]]))
    assert win.double_parked == 2
    assert [(r.start_min, r.end_min, r.taken_m) for r in win.table] == [(540, 600, 12.0)]
    booked = plan_loading(city, zone_policy("booked"))
    assert booked.double_parked == 1
    assert [(r.start_min, r.end_min, r.taken_m) for r in booked.table] == [(480, 495, 7.5), (495, 510, 7.5)]
    none = plan_loading(city, Policy(name="none"))
    assert none.double_parked == 2 and none.table == ()


def test_loading_metrics_and_table_reach_the_parking_run() -> None:
    """Through ParkingDomain.run the dedicated zone's 12 m (ceil(12 / 6) = 2 berths, all day) is
    2 x 24 = 48 berth-hours a day taken from parkers, and the run reports the planner's one
    double-parked van and no waiting (test_planner_hand_checked)."""
    city = loading_city()
    out = DOMAIN.run(city, zone_policy("dedicated"), RunContext(24.0, 0.0, Streams(4, 0), 0))
    assert out.metrics["kerb_taken_berth_h"] == 48.0 and out.metrics["double_parked"] == 1.0
    assert out.metrics["truck_wait_min"] == 0.0


def test_table_file_reads_back_to_the_same_run(tmp_path: Path) -> None:
    """The planner's table written as CSV and read back as city.kerb_taken_file must give the
    parking run exactly the capacity of the in-memory plan: every parking metric equal."""
    city = loading_city()
    plan = plan_loading(city, zone_policy("booked"))
    write_kerb_table(plan.table, tmp_path / "taken.csv")
    data = city.model_dump(mode="json", exclude_none=True)
    data.pop("kerb_loading")
    from_file = City.model_validate({**data, "kerb_taken_file": "taken.csv"}, context={"base_dir": tmp_path})
    assert list(from_file.kerb_taken) == list(plan.table)
    a = DOMAIN.run(city, zone_policy("booked"), RunContext(24.0, 0.0, Streams(4, 0), 0)).metrics
    b = DOMAIN.run(from_file, Policy(name="none"), RunContext(24.0, 0.0, Streams(4, 0), 0)).metrics
    assert parking_numbers(a) == parking_numbers(b)
    assert a["kerb_taken_berth_h"] == b["kerb_taken_berth_h"] > 0


def test_no_loading_kerb_is_identical_to_the_existing_scenario() -> None:
    """The loading scenario's city is parking_liangxi.toml's plus [city.kerb_loading]; under its
    baseline 'none' (no loading kerb: the table is empty) every parking metric, facility row and
    hourly series must be equal to those of parking_liangxi's baseline run with the same seed -
    itself held to the pre-issue-15 golden (test_parking_behaviour) - so loading that takes no
    kerb changes no parking number; and its 81 stops are counted as double-parked."""
    base = simcity.load_scenario(ROOT / "scenarios" / "parking_liangxi.toml")
    load = simcity.load_scenario(ROOT / "scenarios" / "parking_liangxi_loading.toml")
    assert load.city.model_copy(update={"kerb_loading": None}) == base.city
    assert load.seed == base.seed
    b_pol, l_pol = base.policy_list[0], load.policy_list[0]
    assert l_pol.model_dump(exclude={"name", "description"}) == b_pol.model_dump(exclude={"name", "description"})
    a = DOMAIN.run(base.city, b_pol, RunContext(base.horizon_hours, base.warmup_hours, Streams(base.seed, 0), 0))
    b = DOMAIN.run(load.city, l_pol, RunContext(base.horizon_hours, base.warmup_hours, Streams(base.seed, 0), 0))
    assert parking_numbers(a.metrics) == parking_numbers(b.metrics)
    assert repr(a.by_entity) == repr(b.by_entity) and repr(a.by_time) == repr(b.by_time)
    assert a.metrics["double_parked"] == 0.0 and b.metrics["double_parked"] == 81.0


def _copy_scenario(tmp_path: Path) -> Path:
    dst = tmp_path / "s.toml"
    shutil.copy(ROOT / "scenarios" / "parking_liangxi_loading.toml", dst)
    return dst


def _errors(path: Path, capsys: pytest.CaptureFixture[str]) -> list[re.Match[str]]:
    assert cli.main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return [m for m in map(LINE.match, text.splitlines()) if m]


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ('zones = [{ segment = "K_xueshi_s", length_m = 12.0 }', 'zones = [{ segment = "K_xueshi_s", length_m = 5.0 }',
         "policies.1.loading.zones.0.length_m", r"a 5\.0 m zone is shorter than any loading vehicle \(the shortest is 6\.5 m\)"),
        ("window = [6.0, 6.5]", "window = [6.0, 6.1]",
         "city.kerb_loading.stops.0.window", r"6 minutes long and cannot hold a 12-minute stop"),
        ('segments = ["K02", "K03"]', 'segments = ["K02", "K33"]',
         "city.kerb_loading.stops.3.segments.1", r"unknown kerb segment 'K33'"),
    ],
    ids=["zone-shorter-than-any-vehicle", "window-cannot-hold-the-stop", "unknown-stop-segment"],
)
def test_bad_loading_input_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
                                      key: str, message: str) -> None:
    """A loading zone shorter than every vehicle, a stop window shorter than its dwell and a stop
    naming an unknown segment: validate exits 2 with FILE:LINE: key: message at the scenario
    line of the offending key (the line holds the edited text), no traceback."""
    path = _copy_scenario(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    hits = [m for m in _errors(path, capsys) if m["key"] == key and re.search(message, m["msg"])]
    assert hits
    line = path.read_text(encoding="utf-8").splitlines()[int(hits[0]["line"]) - 1]
    assert new.split("=")[0].strip() in line or new in line


def test_table_rows_naming_unknown_segments_are_located_in_the_csv(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A kerb-taken CSV whose third line names segment 'K99' (not in the city) and whose fourth
    takes more kerb than K02 has (20 berths x 6 m = 120 m): validate exits 2 and names the CSV
    file, its line and column for each."""
    path = _copy_scenario(tmp_path)
    (tmp_path / "taken.csv").write_text(
        "segment,start_min,end_min,taken_m\nK01,480,540,12\nK99,600,660,6\nK02,600,660,130\n", encoding="utf-8")
    text = path.read_text(encoding="utf-8").replace("[city.behaviour]", '[city]\nkerb_taken_file = "taken.csv"\n\n[city.behaviour]', 1)
    path.write_text(text, encoding="utf-8")
    first = _errors(path, capsys)
    assert any(Path(m["file"]).name == "taken.csv" and m["line"] == "3" and "'segment'" in m["key"]
               and "unknown kerb segment 'K99'" in m["msg"] for m in first), first
    (tmp_path / "taken.csv").write_text(
        "segment,start_min,end_min,taken_m\nK01,480,540,12\nK02,600,660,130\n", encoding="utf-8")
    second = _errors(path, capsys)
    assert any(Path(m["file"]).name == "taken.csv" and m["line"] == "3" and "'taken_m'" in m["key"]
               and "more than segment 'K02' is long (120.0 m" in m["msg"] for m in second), second
