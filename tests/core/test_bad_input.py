"""Hostile input is refused at validation, located as FILE:LINE: key: message (issue 22).

Each case edits a shipped scenario the way a user could and checks the message names the key
and line; nothing here runs a simulation.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from simcity.domain import repeated
from simcity.scenario import ScenarioError, load_scenario, parse_scenario_text

ROOT = Path(__file__).resolve().parents[2]
GARBAGE = (ROOT / "scenarios" / "garbage_quick.toml").read_text(encoding="utf-8")
BIKES = ROOT / "scenarios" / "bikes_gusu_oldcity.toml"
LOCATED = re.compile(r"^[^:\n]+\.toml:\d+: ")


def problems(text: str, name: str = "s.toml", base_dir: Path | None = None) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        parse_scenario_text(text, name, base_dir=base_dir)
    out = [str(p) for p in err.value.problems]
    assert all(LOCATED.match(p) for p in out), out
    assert not any("Value error," in p for p in out), out
    return out


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith(needle))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", '"nan"', '"1e999"', "1e999", '"8.0"', "true"])
def test_non_finite_or_non_numeric_floats_are_refused_with_the_key(value: str) -> None:
    """NaN, infinities, numbers that overflow to inf, numeric strings and booleans are not finite
    floats: each must give exactly one problem, at the edited capacity_t line and the key
    city.fleets.0.capacity_t.0, saying a number is expected."""
    text = GARBAGE.replace("capacity_t = [8.0]", f"capacity_t = [{value}]", 1)
    found = problems(text)
    assert found == [f"s.toml:{line_of(text, 'capacity_t = [' + value)}: city.fleets.0.capacity_t.0: "
                     + found[0].split(": ", 2)[2]]
    assert "number" in found[0]


def test_nan_in_the_drop_off_pattern_is_refused() -> None:
    """A NaN in the hourly drop-off pattern used to run to exit 0 with 0 t/day collected; it must
    now be refused at validation as not a finite number, naming the pattern's first element."""
    # was: ran to exit 0 reporting 0 t/day collected and service level 1.0
    text = GARBAGE.replace("[city]\n", "[city]\npattern = { hourly = [nan" + ", 1.0" * 23 + "] }\n", 1)
    assert any("city.pattern.hourly.0: Input should be a finite number" in p for p in problems(text))


@pytest.mark.parametrize("value, found", [("true", "True"), ('"12"', "'12'"), ('" 5 "', "' 5 '"),
                                          ('"1_000"', "'1_000'"), ("3.0", "3.0")])
def test_no_coercion_into_integers(value: str, found: str) -> None:
    """Integer fields take only TOML integers: a boolean, digit strings (also padded or with
    underscores) and a float 3.0 are each refused at the edited line (the second fleet's count,
    line 68 of garbage_quick.toml) with the value found quoted as the user wrote it."""
    text = GARBAGE.replace("count = 1\n", f"count = {value}\n", 1)
    assert problems(text) == [f"s.toml:{line_of(text, 'count = ' + value)}: city.fleets.1.count: "
                              f"Input should be a valid integer; found {found}"]


def test_a_float_field_takes_an_integer() -> None:
    """The reverse direction is harmless and allowed: capacity_t = [8] is read as the float 8.0."""
    sc = parse_scenario_text(GARBAGE.replace("capacity_t = [8.0]", "capacity_t = [8]", 1), "s.toml")
    assert getattr(sc, "city").fleets[0].capacity_t == [8.0]  # noqa: B009 - a domain field


@pytest.mark.parametrize("bad", ["\\u0000", "\\u001b", "\\ufeff", "\\u200f", "\\u202e", "\\n", "\\r", "\\u2028"])
def test_names_and_ids_must_be_clean_text(bad: str) -> None:
    """Control, bidi, byte-order-mark and line-break characters in a policy name or a fleet id would
    corrupt tables and terminal output; each must be refused as not plain one-line text at the
    key that holds it."""
    text = GARBAGE.replace('name = "fixed-daily"', f'name = "fixed{bad}daily"', 1)
    [p] = problems(text)
    assert p.startswith(f"s.toml:{line_of(text, 'name = ' + chr(34) + 'fixed')}: policies.0.name: "
                        "names and ids must be plain one-line text")
    text = GARBAGE.replace('id = "grey"', f'id = "gr{bad}ey"', 1)
    assert any(": city.fleets.0.id: names and ids" in p for p in problems(text))


def test_descriptions_may_span_lines_but_not_hold_control_characters() -> None:
    """Descriptions are prose: a multi-line string parses, but a NUL inside one is refused with the
    key policies.0.description."""
    old = 'description = "Every point every day (日产日清)."'
    ok = GARBAGE.replace(old, 'description = """two\nlines"""', 1)
    parse_scenario_text(ok, "s.toml")
    bad = GARBAGE.replace(old, 'description = "a\\u0000b"', 1)
    assert any("policies.0.description: text must not contain control" in p for p in problems(bad))


def test_a_scenario_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    """Windows editors prepend a UTF-8 byte order mark; the file must still load (its name is the
    shipped garbage-quick), not fail as invalid TOML."""
    f = tmp_path / "bom.toml"
    f.write_bytes(b"\xef\xbb\xbf" + GARBAGE.encode("utf-8"))
    assert load_scenario(f).name == "garbage-quick"


def test_deep_nesting_is_a_located_error_not_a_traceback(tmp_path: Path) -> None:
    """The TOML parser recurses once per nesting level, so a hostile file must be stopped before it:
    500 nested arrays are refused at their line (the text ends with a newline, so that line
    number is the newline count) for nesting deeper than 64, and the CLI exits 2 without a
    traceback."""
    text = GARBAGE + "\nx = " + "[" * 500 + "]" * 500 + "\n"
    assert problems(text) == [f"s.toml:{text.count(chr(10))}: values nested more than 64 arrays or "
                              "inline tables deep"]
    f = tmp_path / "deep.toml"
    f.write_text(text, encoding="utf-8")
    cli = subprocess.run([sys.executable, "-m", "simcity", "validate", str(f)], capture_output=True, text=True)
    assert cli.returncode == 2 and "Traceback" not in cli.stderr and f"{f}:" in cli.stderr


def test_scenario_level_checks_are_located() -> None:
    """Checks that look at several keys still point at one line: a duplicated policy name at its
    second use, warm-up longer than the horizon at warmup_hours, an unknown metric at its list
    element, and a missing seed at line 1 (there is no line to point at)."""
    dup = GARBAGE.replace('name = "threshold-80"', 'name = "fixed-daily"', 1)
    second = [i for i, ln in enumerate(dup.splitlines(), 1) if ln == 'name = "fixed-daily"'][1]
    assert problems(dup) == [f"s.toml:{second}: policies.1.name: policy names must be unique; "
                             "'fixed-daily' is used twice"]
    warm = GARBAGE.replace("warmup_hours = 24.0", "warmup_hours = 1000.0", 1)
    [p] = problems(warm)
    assert p.startswith(f"s.toml:{line_of(warm, 'warmup_hours')}: warmup_hours: must be smaller than horizon_hours")
    met = GARBAGE.replace("horizon_hours", 'metrics = ["km_per_day", "bogus"]\nhorizon_hours', 1)
    [p] = problems(met)
    assert p.startswith(f"s.toml:{line_of(met, 'metrics')}: metrics.1: unknown metrics ['bogus']")
    missing = re.sub(r"(?m)^seed = .*\n", "", GARBAGE)
    assert problems(missing) == ["s.toml:1: seed: required key is missing"]


def test_the_depot_error_points_at_the_depot_line() -> None:
    """A depot name that is not one of the map's depots is reported at the edited depot line and
    key, not at the top of the file or the city table."""
    text = GARBAGE.replace('depot = "depot"', 'depot = "nowhere"', 1)
    [p] = problems(text)
    assert p.startswith(f"s.toml:{line_of(text, 'depot = ' + chr(34) + 'nowhere')}: city.fleets.0.depot: ")


def test_repeated_is_linear_and_ordered() -> None:
    """repeated() lists values in the order of their second occurrence (a at index 2, b at index 4;
    a's third occurrence adds nothing), and returns nothing for 100,000 distinct values, which a
    pairwise comparison would take minutes over."""
    assert repeated(["a", "b", "a", "c", "b", "a"]) == ["a", "b"]
    assert repeated(range(100_000)) == []


def test_a_renamed_key_says_its_new_name() -> None:
    """The bikes detour factor was called ``circuity`` before it took the name the other domains
    use (``road_detour``, issue 17): a scenario written for the old schema is told the new name
    at the key's line, not just "check the spelling"."""
    text = BIKES.read_text(encoding="utf-8")
    old = text.replace("\nroad_detour = ", "\ncircuity = ", 1)
    assert old != text
    line = old.splitlines().index(next(x for x in old.splitlines() if x.startswith("circuity = "))) + 1
    (msg,) = problems(old, base_dir=BIKES.parent)
    assert msg.startswith(f"s.toml:{line}: city.circuity: unknown key: renamed to 'road_detour'"), msg
