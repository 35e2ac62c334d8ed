"""Transfer stations with heterogeneous tipping bays, a weighbridge and appointment slots
(issue 18 deliverable 1): a hand-checked station day, the slot-book checker, the queueing
rules in exact SimPy traces, located configuration errors, and a short run of the shipped
scenario whose every slot book passes the checker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import simpy

from optimize.berths import check_schedule
from simcity.cli import main as cli_main
from simcity.domain import RunContext
from simcity.garbage import City, Policy, simulate
from simcity.garbage.config import TransferStation
from simcity.garbage.stations import (
    Slot,
    StationQueue,
    Unload,
    book_slots,
    check_slots,
    expand_bays,
    slot_problem,
)
from simcity.rng import Streams
from simcity.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "garbage_station_appointments.toml"


def station(**over: Any) -> TransferStation:
    """Bays pit (other only, 7 min), old (everything, 16 min), kitchen (perishable, 9 min,
    06:00-12:00) and a 2-minute weighbridge; slot margin 0, so slots equal tip times."""
    data: dict[str, Any] = {
        "id": "hub", "x_km": 0.0, "y_km": 0.0, "bays": 3, "daily_limit_t": 1000.0,
        "categories": ["other", "perishable"],
        "tipping_bays": [{"id": "pit", "categories": ["other"], "tip_minutes": 7.0},
                         {"id": "old", "tip_minutes": 16.0},
                         {"id": "kitchen", "categories": ["perishable"], "tip_minutes": 9.0,
                          "open_h": [6.0, 12.0]}],
        "weighbridge": {"minutes": 2.0},
        "appointments": {"slot_margin_minutes": 0.0, "grace_minutes": 5.0},
    }
    data.update(over)
    return TransferStation.model_validate(data)


PIT, OLD, KITCHEN = 0, 1, 2
#: a (0-based day 0) morning: two grey trucks a minute apart and a green one
UNLOADS = [Unload((1, 0), "grey", ("other",), 400), Unload((2, 0), "grey", ("other",), 401),
           Unload((3, 0), "green", ("perishable",), 401)]


def test_hand_checked_station_day_waits_for_the_fast_bay() -> None:
    """Ready times (arrival + 2 min weighing) 402, 403, 403.  By hand: truck 1 on the pit
    402-409 (7), the green truck on the kitchen bay 403-412 (9), truck 2 waits for the pit
    409-416 (13) rather than taking the free old bay 403-419 (16): 29 truck-minutes, the
    optimum (each truck's own best bay gives 7 + 9 + 7 = 23 but trucks 1 and 2 cannot both
    have the pit at once, and the old bay costs truck 2 or 1 at least 16).  FCFS, which
    sends truck 2 to the free old bay, costs 7 + 9 + 16 = 32."""
    st = station()
    book = book_slots(st, UNLOADS, day=0)
    assert book.unbooked == []
    assert book.slots == {(1, 0): Slot(PIT, 402), (2, 0): Slot(PIT, 409), (3, 0): Slot(KITCHEN, 403)}
    assert book.objective == 29.0
    problem, left = slot_problem(st, UNLOADS, day=0)
    assert left == []
    # the berth solver's own independent checker agrees, and so does the station checker
    from optimize.berths import solve
    res = solve(problem, time_limit=5, workers=1)
    assert res.objective == 29.0 and check_schedule(problem, res.schedule).ok
    assert check_slots(st, UNLOADS, book.slots, day=0) == []


def test_checker_rejects_each_broken_slot_book() -> None:
    """Each edit of the valid book above breaks one rule the checker states: perishable on
    the other-only pit, a slot before the truck is off the weighbridge, the kitchen bay after
    its 12:00 closing, two slots overlapping on the pit; the message names the rule."""
    st = station()
    good = {(1, 0): Slot(PIT, 402), (2, 0): Slot(PIT, 409), (3, 0): Slot(KITCHEN, 403)}
    cases = [
        ({(3, 0): Slot(PIT, 420)}, "does not take fleet green"),
        ({(1, 0): Slot(PIT, 401)}, "before the truck is ready at 402"),
        ({(3, 0): Slot(KITCHEN, 715)}, "outside bay kitchen's window [360, 720)"),
        ({(2, 0): Slot(PIT, 405)}, "overlap on bay pit"),
    ]
    for edit, message in cases:
        problems = check_slots(st, UNLOADS, {**good, **edit}, day=0)
        assert len(problems) == 1 and message in problems[0], (edit, problems)


def test_unloads_no_open_bay_can_take_get_no_slot() -> None:
    """A green truck ready at 11:55 (arrival 713 + 2) cannot finish a 9-minute kitchen slot
    before 12:00 but may use the old bay (open all day); one ready at 23:50 cannot finish
    any slot before midnight and is left unbooked (it walks in)."""
    st = station()
    late = [Unload((1, 0), "green", ("perishable",), 713), Unload((2, 0), "green", ("perishable",), 1428)]
    book = book_slots(st, late, day=0)
    assert book.slots == {(1, 0): Slot(OLD, 715)} and book.unbooked == [(2, 0)]


def trace(st: TransferStation, rule: str, visits: list[tuple[float, str, str, Slot | None]]) -> dict[int, tuple[float, float, int]]:
    """Run the station queue with deterministic service times; returns, per visit index,
    (gate arrival min, tip start min, bay)."""
    env = simpy.Environment()
    q = StationQueue(env, st, rule, lambda h: h)
    out: dict[int, tuple[float, float, int]] = {}

    def truck(i: int, at: float, fleet: str, cat: str, slot: Slot | None) -> Any:
        yield env.timeout(at / 60)
        wait, tip_h = yield from q.visit(fleet, [cat], slot, measured=True)
        start = round(env.now * 60 - tip_h * 60, 6)
        bay = next(b for b, bb in enumerate(q.bays) if abs(bb.tip_minutes - tip_h * 60) < 1e-9)
        out[i] = (at, start, bay)

    for i, (at, fleet, cat, slot) in enumerate(visits):
        env.process(truck(i, at, fleet, cat, slot))
    env.run()
    return out


def test_fcfs_takes_the_fastest_free_bay_and_slots_keep_their_bay() -> None:
    """The hand-checked day in SimPy with exact service times.  FCFS: truck 2 is off the
    scale at 405 (the scale serves one truck at a time: 400-402, 402-404, 404-406 in
    gate order 400, 401 grey, 401 green), finds the pit busy until 409 and takes the free old
    bay at 404.  With the slots of the book it waits for the pit and starts at 409; the green
    truck, whose kitchen slot is 403, is off the scale at 406 and starts at once."""
    st = station()
    visits = [(400.0, "grey", "other"), (401.0, "grey", "other"), (401.0, "green", "perishable")]
    fcfs = trace(st, "fcfs", [(a, f, c, None) for a, f, c in visits])
    assert fcfs == {0: (400.0, 402.0, PIT), 1: (401.0, 404.0, OLD), 2: (401.0, 406.0, KITCHEN)}
    slots = [Slot(PIT, 402), Slot(PIT, 409), Slot(KITCHEN, 403)]
    booked = trace(st, "slots", [(a, f, c, s) for (a, f, c), s in zip(visits, slots, strict=True)])
    assert booked == {0: (400.0, 402.0, PIT), 1: (401.0, 409.0, PIT), 2: (401.0, 406.0, KITCHEN)}


def test_a_truck_past_its_grace_walks_in_behind_slot_holders() -> None:
    """Grace 5 min, one 2-minute scale.  D (gate 410, ready 412) holds the old bay 412-428; C
    (gate 413, ready 415) holds the pit slot 416 and, the pit being idle, tips a minute early,
    415-422.  A reaches the gate at 416, ready 418, 16 min past its pit slot 402: it has missed
    it and walks in.  B (gate 418, ready 420) holds the pit slot 423.  When the pit frees at
    422 both wait for it and B, the slot holder, gets it although A waited longer; A, who may
    use every bay that takes it, starts on the old bay when it frees at 428."""
    st = station()
    t = trace(st, "slots", [(410.0, "grey", "other", Slot(OLD, 412)),
                            (413.0, "grey", "other", Slot(PIT, 416)),
                            (416.0, "grey", "other", Slot(PIT, 402)),
                            (418.0, "grey", "other", Slot(PIT, 423))])
    assert t == {0: (410.0, 412.0, OLD), 1: (413.0, 415.0, PIT), 2: (416.0, 428.0, OLD), 3: (418.0, 422.0, PIT)}


def test_a_slot_on_a_bay_that_has_closed_turns_into_a_walk_in() -> None:
    """A green truck holds a kitchen slot at 11:50 (710) and is on time, but the kitchen bay
    is blocked by another green truck until 12:00 (its own slot 700, 9 min, started at 705
    after it was weighed: busy 705-714).  At 714 a 9-min tip would end after the 12:00 closing:
    the slot is lost and the truck takes the old bay at once instead of waiting until 06:00."""
    st = station()
    t = trace(st, "slots", [(703.0, "green", "perishable", Slot(KITCHEN, 705)),
                            (706.0, "green", "perishable", Slot(KITCHEN, 714))])
    assert t[0] == (703.0, 705.0, KITCHEN)
    assert t[1] == (706.0, 714.0, OLD)


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(("old", "new", "key", "message"), [
    ('  open_h = [6.0, 12.0]\n', '  open_h = [6.0, 6.1]\n', "tipping_bays.2.open_h",
     "cannot hold one"),
    ('  open_h = [6.0, 12.0]\n', '  open_h = [6.0, 6.15]\n', "tipping_bays.2.open_h",
     "cannot hold one appointment slot of 10 min"),
    ('bays = 3\n', 'bays = 4\n', "bays", "its tipping_bays count 3"),
    ('  id = "old"                    # the old bay: slow, takes everything\n',
     '  id = "old"\n  fleets = ["red"]\n', "tipping_bays.1.fleets", "fleets ['red'] are not among"),
    ('  id = "old"                    # the old bay: slow, takes everything\n',
     '  id = "old"\n  fleets = ["grey"]\n', "tipping_bays", "fleet 'green' (perishable) may unload"),
    ('  id = "pit"                    # the new push-pit bay: fast, other waste only\n  categories = ["other"]\n',
     '  id = "pit"\n  categories = ["hazardous"]\n', "tipping_bays.0.categories", "does not accept"),
    ('  tip_minutes = 16.0\n', '  tip_minutes = -1.0\n', "tipping_bays.1.tip_minutes", "greater than 0"),
])
def test_bad_station_settings_are_located(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          old: str, new: str, key: str, message: str) -> None:
    """Each case edits one line of the shipped appointment scenario into bad input (a bay
    window or an appointment slot that cannot hold a truck, bay counts that do not add up, an
    unknown fleet, a fleet no bay takes, a category the station refuses, a negative tip
    time): validate exits 2 with 'FILE:LINE: key: message' and no traceback, the line being
    the one of that key's station table or of the key itself."""
    text = SCENARIO.read_text(encoding="utf-8")
    assert old in text, old
    text = text.replace(old, new, 1)
    if "fleets = [\"grey\"]" in new:
        # the kitchen bay would still take the green trucks: keep it for grey trucks too
        text = text.replace('  categories = ["perishable"]\n', '  categories = ["perishable"]\n  fleets = ["grey"]\n', 1)
    bad = write(tmp_path, text)
    assert cli_main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert key in err and message in err, err
    assert "bad.toml:" in err and any(f"bad.toml:{n}:" in err for n in range(1, 400)), err


def test_routed_policy_needs_a_station_with_bays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """bay_rule = 'routed' on a city whose stations have no tipping_bays has no slots to
    route by: validate refuses it at the policy's bay_rule, exit 2; a weighbridge without
    tipping bays is refused the same way."""
    text = (ROOT / "scenarios" / "garbage_quick.toml").read_text(encoding="utf-8")
    bad = write(tmp_path, text.replace('selection = "risk"\n', 'selection = "risk"\nbay_rule = "routed"\n'))
    assert cli_main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bay_rule" in err and "no station has tipping_bays" in err and "Traceback" not in err
    bad = write(tmp_path, text.replace("daily_limit_t = 500.0\n",
                                       "daily_limit_t = 500.0\nweighbridge = { minutes = 1.0 }\n"))
    assert cli_main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "weighbridge" in err and "needs tipping_bays" in err


def short_city() -> City:
    """The shipped appointment scenario's city with a quarter of the points and trucks."""
    sc = load_scenario(SCENARIO)
    data = sc.city.model_dump()
    for z in data["zones"]:
        z["points"] = 30
    data["waste"][0]["tonnes_per_day"] = 45.0
    data["waste"][1]["tonnes_per_day"] = 6.0
    data["fleets"][0]["count"] = 3
    data["fleets"][1]["count"] = 1
    return City.model_validate(data)


@pytest.mark.parametrize("rule", ["planned", "routed"])
def test_every_slot_book_of_a_run_passes_the_checker(rule: str) -> None:
    """Two days of the (shrunk) appointment scenario: every day's final slot book is valid
    for the station's own rules, every planned unload got a slot or is listed as unbooked,
    and waste is conserved (generated = bins + overflow + trucks + tipped)."""
    city = short_city()
    out, sim = simulate(city, Policy.model_validate({"name": "p", "bay_rule": rule}),
                        RunContext(48.0, 24.0, Streams(5, 0), 0))
    assert sim.slot_books and all(s == 0 for s, *_ in sim.slot_books)
    for s, day, unloads, book in sim.slot_books:
        assert check_slots(city.stations[s], unloads, book.slots, day) == []
        assert set(book.slots) | set(book.unbooked) == {u.key for u in unloads}
    gen, rest = sim.balance()
    assert gen == pytest.approx(rest, rel=1e-9)
    assert out.metrics["bay_wait_min"] >= 0


def test_same_seed_same_appointment_run() -> None:
    """Slots are booked under a work budget (deterministic seconds, one worker), so two runs
    with one seed give identical metrics and slot books."""
    city = short_city()
    pol = Policy.model_validate({"name": "p", "bay_rule": "planned"})
    a = simulate(city, pol, RunContext(48.0, 24.0, Streams(9, 1), 1))
    b = simulate(city, pol, RunContext(48.0, 24.0, Streams(9, 1), 1))
    assert a[0].metrics == b[0].metrics
    assert [bk.slots for *_, bk in a[1].slot_books] == [bk.slots for *_, bk in b[1].slot_books]


def test_bays_expand_by_count() -> None:
    """A kind with count 2 becomes two bays named id#1, id#2 with the kind's window in minutes."""
    st = station(bays=3, tipping_bays=[{"id": "pit", "count": 2, "tip_minutes": 7.0, "open_h": [6, 18]},
                                       {"id": "old", "tip_minutes": 16.0}])
    bays = expand_bays(st)
    assert [b.name for b in bays] == ["pit#1", "pit#2", "old"]
    assert (bays[0].open_min, bays[0].close_min, bays[0].slot_minutes) == (360, 1080, 7)
