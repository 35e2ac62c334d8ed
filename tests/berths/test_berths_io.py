"""DBAP file format, problem validation, the checker on hand-made schedules, the bench CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optimize.berths import (
    Assignment,
    Berth,
    BerthDataError,
    BerthProblem,
    InstanceFormatError,
    Request,
    check_schedule,
    read_dbap,
    write_dbap,
)
from simcity.cli import main as cli_main

TINY = """2
2
0 3
1 0
4 99999
5 6
50 60
20 30
1 2.5
"""


def test_read_tiny_file_with_crlf(tmp_path: Path) -> None:
    """The expected berths, handling times (99999 = forbidden), deadlines and weights are those
    written in the tiny file; CRLF line ends must not change them, --unit weights sets every weight
    to 1, and the Cordeau sentinel 5 forbids the handling of 5."""
    f = tmp_path / "tiny.txt"
    f.write_bytes(TINY.replace("\n", "\r\n").encode())
    p = read_dbap(f)
    assert [b.id for b in p.berths] == ["b1", "b2"]
    assert (p.berths[0].open, p.berths[0].close, p.berths[1].close) == (1, 50, 60)
    v1, v2 = p.requests
    assert dict(v1.handling) == {"b1": 4}  # 99999 = forbidden
    assert dict(v2.handling) == {"b1": 5, "b2": 6}
    assert (v1.latest_completion, v1.lateness_penalty, v2.weight) == (20, None, 2.5)
    assert read_dbap(f, unit_weights=True).requests[1].weight == 1.0
    # the cordeau sentinel
    assert dict(read_dbap(f, forbidden=5).requests[1].handling) == {"b2": 6}


def test_write_read_roundtrip(tmp_path: Path) -> None:
    """A problem written and read back keeps handling times and weights (berths renamed b1, b2 by
    the format), and 'no closing time' / 'no deadline' come back as the format's 99999."""
    p = BerthProblem(
        (Berth("x", 0, 100), Berth("y", 2, None)),
        (Request("a", 1, {"x": 3}, weight=2.0, latest_completion=50),
         Request("b", 0, {"x": 4, "y": 7}, weight=0.5)),
    )
    f = write_dbap(p, tmp_path / "p.txt", crlf=True)
    q = read_dbap(f)
    assert [dict(r.handling) for r in q.requests] == [{"b1": 3}, {"b1": 4, "b2": 7}]
    assert [r.weight for r in q.requests] == [2.0, 0.5]
    assert q.berths[1].close == 99999 and q.requests[1].latest_completion == 99999


def test_soft_deadline_cannot_be_written(tmp_path: Path) -> None:
    """The DBAP format has no lateness penalty, so a soft deadline cannot be written without losing
    it: refused."""
    p = BerthProblem((Berth("x"),), (Request("a", 0, {"x": 1}, latest_completion=3,
                                              lateness_penalty=1.0),))
    with pytest.raises(BerthDataError, match="soft"):
        write_dbap(p, tmp_path / "p.txt")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("2\n2\n0 3\n1 0\n4 x\n", r"tiny.txt:5: expected handling time of vessel 1 at berth 2"),
        ("2\n2\n0 3\n1 0\n", r"tiny.txt:4: file ends early, expected handling time"),
        ("2\n2\n0 3.5\n", r"tiny.txt:3: expected arrival time of vessel 2 as an integer"),
        (TINY + "7\n", r"tiny.txt:10: unexpected extra value '7'"),
        ("1\n1\n0\n0\n99999\n10\n10\n1\n", r"no allowed berth"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path: Path, text: str, match: str) -> None:
    """Each malformed file (a non-number, an early end, a non-integer arrival, an extra value, a
    vessel with no allowed berth) must give an error naming the file, the line counted in the text
    and what was expected."""
    f = tmp_path / "tiny.txt"
    f.write_text(text)
    with pytest.raises(InstanceFormatError, match=match):
        read_dbap(f)


def test_validation_messages() -> None:
    """Unknown berth, zero handling time, a penalty without a deadline and a berth closing before it
    opens are each refused with a message naming the fault."""
    with pytest.raises(BerthDataError, match="unknown berth"):
        BerthProblem((Berth("x"),), (Request("a", 0, {"y": 1}),))
    with pytest.raises(BerthDataError, match="handling"):
        Request("a", 0, {"x": 0})
    with pytest.raises(BerthDataError, match="without a latest_completion"):
        Request("a", 0, {"x": 1}, lateness_penalty=1.0)
    with pytest.raises(BerthDataError, match="close 3 before open 5"):
        Berth("x", 5, 3)


def test_checker_catches_each_violation() -> None:
    """The good schedule's objective is (7 - 0) + (11 - 1) = 17 by hand; each mutation (overlap,
    before opening, past the hard deadline, forbidden berth, missing request, wrong handling time,
    before arrival) must be reported by its own message."""
    p = BerthProblem(
        (Berth("x", 2, 20), Berth("y")),
        (Request("a", 0, {"x": 5}, latest_completion=12), Request("b", 1, {"x": 4, "y": 4})),
    )
    good = (Assignment("a", 2, 7, berth="x"), Assignment("b", 7, 11, berth="x"))
    rep = check_schedule(p, good)
    assert rep.ok and rep.objective == (7 - 0) + (11 - 1)
    cases = {
        "overlaps": (Assignment("a", 2, 7, berth="x"), Assignment("b", 5, 9, berth="x")),
        "before berth x opens": (Assignment("a", 1, 6, berth="x"), Assignment("b", 1, 5, berth="y")),
        "hard latest completion": (Assignment("a", 8, 13, berth="x"), Assignment("b", 1, 5, berth="y")),
        "not allowed": (Assignment("a", 2, 7, berth="y"), Assignment("b", 1, 5, berth="y")),
        "not scheduled": (Assignment("a", 2, 7, berth="x"),),
        "handling there is 4": (Assignment("a", 2, 7, berth="x"), Assignment("b", 1, 4, berth="y")),
        "before its arrival": (Assignment("a", 2, 7, berth="x"), Assignment("b", 0, 4, berth="y")),
    }
    for needle, sched in cases.items():
        rep = check_schedule(p, sched)
        assert not rep.ok and any(needle in v for v in rep.violations), (needle, rep.violations)


def test_bench_cli_writes_json_and_gates_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The tiny optimum is 20 by hand (v1 on b1 1-5 costs 5, v2 on b2 3-9 costs 6 x 2.5 = 15): the
    row must be optimal at 20 with gap 0 and bound 20, and a baseline 5 % better must be flagged as
    a regression."""
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "tiny.txt").write_text(TINY)
    # tiny optimum by hand: v1 on b1 [1,5) = 5, v2 on b2 [3,9) = 6*2.5 = 15 → 20
    (tmp_path / "known_values.csv").write_text("instance,file,value,status\ntiny,set/tiny.txt,20,optimal\n")
    out = tmp_path / "res.json"
    assert cli_main(["bench", "berths", str(folder), "--time-limit", "5", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    (row,) = doc["rows"]
    assert row["status"] == "optimal" and row["objective"] == 20 and row["known"] == 20
    assert row["gap_pct"] == 0 and row["check"] == "ok" and row["lower_bound"] == 20
    # a baseline that was better by more than the noise band is a regression
    base = json.loads(out.read_text())
    base["rows"][0]["gap_pct"] = -5.0
    bfile = tmp_path / "base.json"
    bfile.write_text(json.dumps(base))
    assert cli_main(["bench", "berths", str(folder), "--time-limit", "5",
                     "--baseline", str(bfile), "--noise", "1"]) == 1
    assert "REGRESSION" in capsys.readouterr().out


def test_bench_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file and a malformed one give exit 2 and one line naming the file (and line), never
    a traceback."""
    assert cli_main(["bench", "berths", str(tmp_path / "missing.txt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err
    bad = tmp_path / "bad.txt"
    bad.write_text("2\n2\n0 zz\n")
    assert cli_main(["bench", "berths", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.txt:3" in err and "Traceback" not in err


def test_bench_reports_an_infeasible_instance_with_its_diagnosis(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Vessel 2 arrives at 3, needs 5 on b1 only, and must finish by 6: it fits nowhere, so the
    bench must report the instance infeasible with v2 named, not count it as a checker failure."""
    # vessel 2 arrives at 3 and needs 5 on b1 (b2 forbidden) but must leave by 6: it fits
    # nowhere, so the instance is infeasible and the diagnosis names it
    f = tmp_path / "late.txt"
    f.write_text("2\n2\n0 3\n1 0\n4 99999\n5 99999\n50 60\n20 6\n1 1\n")
    out = tmp_path / "res.json"
    assert cli_main(["bench", "berths", str(f), "--time-limit", "5", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "infeasible" in text and "'v2'" in text and "lateness_penalty" in text
    doc = json.loads(out.read_text())
    (row,) = doc["rows"]
    assert row["status"] == "infeasible" and row["check"] == "infeasible"
    assert row["diagnosis"][0]["requests"] == ["v2"]
    assert doc["summary"]["infeasible"] == ["late"] and doc["summary"]["checker_failures"] == []


def test_bench_weight_convention_is_a_flag(tmp_path: Path) -> None:
    """By hand v1 costs 5 and v2 costs 6 x its weight: 20 with the file's weight 2.5, 11 with unit
    weights; the sentinel 5 leaves v2 on b2, so the objective stays 20."""
    f = tmp_path / "tiny.txt"
    f.write_text(TINY)
    runs = {}
    for weights in ("file", "unit"):
        out = tmp_path / f"{weights}.json"
        assert cli_main(["bench", "berths", str(f), "--time-limit", "5", "--weights", weights,
                         "--json", str(out)]) == 0
        doc = json.loads(out.read_text())
        assert doc["settings"]["weights"] == weights and doc["settings"]["forbidden"] == 99999
        runs[weights] = doc["rows"][0]["objective"]
    # by hand: v1 on b1 [1,5) costs 5; v2 on b2 [3,9) costs 6 x weight (2.5 or 1)
    assert runs == {"file": 20.0, "unit": 11.0}
    # the sentinel flag: with 5 forbidden, v2 must use b2 as before, v1 keeps b1
    out = tmp_path / "sentinel.json"
    assert cli_main(["bench", "berths", str(f), "--time-limit", "5", "--forbidden", "5",
                     "--json", str(out)]) == 0
    assert json.loads(out.read_text())["rows"][0]["objective"] == 20.0


def test_bench_refuses_a_baseline_run_under_other_conventions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A baseline measured with unit weights is not comparable with a file-weights run: exit 2 with
    one line naming settings.weights and the flag to use."""
    f = tmp_path / "tiny.txt"
    f.write_text(TINY)
    out = tmp_path / "unit.json"
    assert cli_main(["bench", "berths", str(f), "--time-limit", "5", "--weights", "unit",
                     "--json", str(out)]) == 0
    assert cli_main(["bench", "berths", str(f), "--time-limit", "5", "--baseline", str(out)]) == 2
    err = capsys.readouterr().err
    assert "settings.weights" in err and "--weights unit" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("2\n2\n0 3\n1 0\n4 99999\n5 6\n50 60\n20 30\n1 -2.5\n",
         r"tiny.txt:9: weight of vessel 2: expected a number >= 0.*got -2.5"),
        ("2\n2\n0 3\n1 0\n4 99999\n0 6\n50 60\n20 30\n1 2\n",
         r"tiny.txt:6: handling time of vessel 2 at berth 1: expected an integer >= 1"),
        ("2\n2\n0 3\n1 0\n4 99999\n5 6\n50 -1\n20 30\n1 2\n",
         r"tiny.txt:7: closing time of berth 2: expected a time >= its opening 0, got -1"),
    ],
)
def test_bad_values_name_file_line_and_key(tmp_path: Path, text: str, match: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A negative weight, a zero handling time and a closing before the opening must each name the
    file, the line and the value, from read_dbap and as one line from the bench (exit 2)."""
    f = tmp_path / "tiny.txt"
    f.write_text(text)
    with pytest.raises(InstanceFormatError, match=match):
        read_dbap(f)
    assert cli_main(["bench", "berths", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tiny.txt:" in err and "Traceback" not in err


def test_weights_of_the_wrong_sign_name_the_request() -> None:
    """A negative weight or lateness penalty must be refused naming the request and the field."""
    with pytest.raises(BerthDataError, match=r"request 'a'.weight: expected a number >= 0, got -1"):
        Request("a", 0, {"x": 1}, weight=-1.0)
    with pytest.raises(BerthDataError, match=r"request 'a'.lateness_penalty: expected a number >= 0"):
        Request("a", 0, {"x": 1}, latest_completion=5, lateness_penalty=-2.0)
