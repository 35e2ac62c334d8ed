"""``--set dotted.key=VALUE`` on compare, sweep and select (issue 21 item 6).

An override is validated exactly as the file is (strict types, bounds, unknown keys), an error
names the ``--set`` that caused it and exits 2, and the saved scenario records the override, so
running the saved scenario without options gives the same tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simcity import cli
from simcity.scenario import (
    ScenarioError,
    apply_sets,
    load_scenario,
    parse_scenario_text,
    parse_set,
)
from tests.toydomain import TOY_TOML


def _run(argv: list[str], tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    assert cli.main([*argv, "--out", str(out), "--work-dir", str(tmp_path / f"w-{name}")]) == 0
    return out


def test_parse_set_reads_toml_values_and_plain_text() -> None:
    """The value after '=' is read as TOML (integer, float, boolean, quoted string, array) and, when
    it is not valid TOML, as plain text (flat); a missing '=', an empty key or an empty key part
    is refused with the expected form named."""
    assert parse_set("replications=5") == ("replications", 5)
    assert parse_set("policies.0.fleet_scale=0.9") == ("policies.0.fleet_scale", 0.9)
    assert parse_set("a.b=true") == ("a.b", True)
    assert parse_set('name="a b"') == ("name", "a b")
    assert parse_set("policies.0.tariff=flat") == ("policies.0.tariff", "flat")
    assert parse_set("x=[1, 2]") == ("x", [1, 2])
    for bad in ("replications", "=5", "a..b=1"):
        with pytest.raises(ValueError, match="dotted.key=VALUE"):
            parse_set(bad)


def test_compare_with_sets_equals_the_edited_file_and_records_them(toy_file: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """--set by position and by policy name, and a top-level key: the run equals the one of a
    file edited the same way, byte for byte, and the saved scenario carries the values."""
    out = _run(["compare", str(toy_file), "--set", "policies.0.servers=4", "--set", "policies.three.servers=5",
                "--set", "replications=3", "--set", "city.arrival_rate=6"], tmp_path, "set")
    edited = tmp_path / "edited.toml"
    edited.write_text(TOY_TOML.replace("servers = 1", "servers = 4").replace("servers = 3", "servers = 5")
                      .replace("replications = 6", "replications = 3").replace("arrival_rate = 4.0", "arrival_rate = 6.0"),
                      encoding="utf-8")
    ref = _run(["compare", str(edited)], tmp_path, "edited")
    for table in ("replications.csv", "summary.csv", "by_time.csv"):
        assert (out / table).read_bytes() == (ref / table).read_bytes()
    saved = parse_scenario_text((out / "scenario.toml").read_text(encoding="utf-8"))
    assert [p.servers for p in saved.policy_list] == [4, 2, 5]  # type: ignore[attr-defined]
    assert saved.replications == 3
    capsys.readouterr()


@pytest.mark.parametrize(("option", "message"), [
    ("policies.0.servers=0", "--set policies.0.servers=0: policies.0.servers: Input should be greater than or equal to 1"),
    ("policies.0.servers=1.5", "--set policies.0.servers=1.5: policies.0.servers: Input should be a valid integer"),
    ("policies.one.servers=true", "--set policies.one.servers=true: policies.0.servers: Input should be a valid integer"),
    ("city.nope=1", "--set city.nope=1: city.nope: unknown key"),
    ("policies.nine.servers=2", "--set policies.nine.servers=2: policies.nine.servers: no list entry 'nine'"),
    ("replications=many", "--set replications=many: replications: Input should be a valid integer"),
    ("warmup_hours=100", "--set warmup_hours=100: warmup_hours: must be smaller than horizon_hours"),
])
def test_a_bad_set_is_a_located_error_naming_it(toy_file: Path, option: str, message: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Each override is validated as the file is: a bound (servers >= 1), strict integers (1.5 and
    true refused), unknown keys, unknown policy names and cross-field checks (warm-up 100 h >=
    horizon 48 h) give exit 2 with the --set named as the location and the resolved key
    (policies.one -> policies.0), never a traceback."""
    assert cli.main(["compare", str(toy_file), "--set", option]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message), err
    assert "Traceback" not in err


def test_a_malformed_set_is_a_usage_error(toy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An option without '=' cannot be a key and value at all, so argparse refuses it as a usage
    error (SystemExit 2) before any scenario is read."""
    with pytest.raises(SystemExit) as exc:
        cli.main(["compare", str(toy_file), "--set", "replications"])
    assert exc.value.code == 2
    assert "argument --set: expected dotted.key=VALUE" in capsys.readouterr().err


def test_apply_sets_keeps_the_file_for_later_located_errors(toy_file: Path) -> None:
    """Applying overrides keeps the scenario's source file, so later checks can still point into it;
    an override that fails validation (seed -1) is blamed on its own --set, not on the file, and
    a valid one alongside it is not blamed."""
    sc = apply_sets(load_scenario(toy_file), [("replications", 2)], ["replications=2"])
    assert sc.replications == 2 and sc.source == toy_file  # later checks still locate lines in the file
    with pytest.raises(ScenarioError) as exc:
        apply_sets(sc, [("seed", -1), ("replications", 2)], ["seed=-1", "replications=2"])
    assert [p.file for p in exc.value.problems] == ["--set seed=-1"]


SWEEP = TOY_TOML + """
[sweep]
method = "grid"
[[sweep.parameters]]
path = "city.arrival_rate"
values = [2.0, 4.0]
"""


def test_sweep_takes_sets_including_its_own_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--set reaches the sweep table too: three values for the one parameter give 3 design points x
    3 policies x 2 replications, the saved scenario keeps the values, and a path naming no
    scenario value is refused with its key."""
    f = tmp_path / "s.toml"
    f.write_text(SWEEP, encoding="utf-8")
    out = _run(["sweep", str(f), "--set", "replications=2", "--set", "sweep.parameters.0.values=[1.0, 3.0, 5.0]"],
               tmp_path, "sweep")
    assert "3 design points x 3 policies x 2 replications" in capsys.readouterr().out
    saved = parse_scenario_text((out / "scenario.toml").read_text(encoding="utf-8"))
    assert saved.sweep is not None and saved.sweep.parameters[0].values == [1.0, 3.0, 5.0]
    assert cli.main(["sweep", str(f), "--set", "sweep.parameters.0.path=city.nope"]) == 2
    assert "sweep.parameters.0.path" in capsys.readouterr().err


def test_select_takes_sets(toy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Overrides of the selection table and a policy are used and saved; with 6 servers for policy
    'one' at an offered load of 4/h x 0.5 h = 2 Erlang it blocks least (Erlang B about 1% against
    21% for 3 servers), so it is the selected best; a negative delta is refused at its --set."""
    out = _run(["select", str(toy_file), "--set", "selection.metric=blocking", "--set", "selection.delta=0.02",
                "--set", "policies.0.servers=6"], tmp_path, "select")
    decision = json.loads((out / "selection.json").read_text())
    saved = parse_scenario_text((out / "scenario.toml").read_text(encoding="utf-8"))
    assert saved.selection is not None and saved.selection.metric == "blocking"
    assert saved.policy_list[0].servers == 6  # type: ignore[attr-defined]
    assert decision["best"] == "one"  # six servers block least
    assert cli.main(["select", str(toy_file), "--set", "selection.delta=-1", "--set", "selection.metric=blocking"]) == 2
    assert capsys.readouterr().err.startswith("--set selection.delta=-1: selection.delta:")
