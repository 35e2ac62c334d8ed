"""Hypothesis-generated scenario files, valid and invalid: never a traceback.

The toy-domain cases mutate parsed data; the hostile cases (issue 22) mutate the text of every
shipped scenario and its data files (values replaced by non-finite, out-of-range, mistyped or
dirty ones, lines dropped or repeated, files truncated, junk and byte-order marks inserted, CSV
cells and GeoJSON tokens corrupted).  Default tier: 300 validations and 6 short runs; the
``slow`` tier (``pytest -m slow``): 2,500 validations and 200 short runs.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import shutil
import tempfile
import tomllib
from functools import cache
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simcity.cli import main
from simcity.experiment import compare
from simcity.scenario import ScenarioBase, ScenarioError, load_scenario, parse_scenario_text
from tests.toydomain import TOY_TOML

BASE = tomllib.loads(TOY_TOML)
ROOT = Path(__file__).resolve().parents[2]

scalars = st.one_of(
    st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.booleans(), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=2),
)
keys = st.sampled_from(["seed", "replications", "horizon_hours", "warmup_hours", "name", "model",
                        "metrics", "confidence", "city", "policies", "bogus"])
city_keys = st.sampled_from(["arrival_rate", "mean_service_h", "typo"])


@st.composite
def mutated(draw: st.DrawFn) -> tuple[dict, bool]:
    data = tomllib.loads(TOY_TOML)
    mutated_any = False
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.sampled_from(["top", "city", "policy", "drop"]))
        if where == "top":
            data[draw(keys)] = draw(scalars)
        elif where == "city" and isinstance(data.get("city"), dict):
            data["city"][draw(city_keys)] = draw(scalars)
        elif where == "policy" and isinstance(data.get("policies"), list) and data["policies"]:
            i = draw(st.integers(0, len(data["policies"]) - 1))
            if isinstance(data["policies"][i], dict):
                data["policies"][i][draw(st.sampled_from(["servers", "name", "x"]))] = draw(scalars)
        elif data:
            data.pop(draw(st.sampled_from(sorted(data))), None)
        mutated_any = True
    return data, mutated_any


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_generated_files_validate_or_fail_cleanly(case: tuple[dict, bool]) -> None:
    """Up to four random edits of the toy scenario (any key set to any TOML value, keys dropped)
    either validate or raise ScenarioError whose every problem names the file, has a message and
    a line inside the text; an unedited file keeps the toy city exactly."""
    data, changed = case
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError):
        return  # not representable in TOML (e.g. nan keys); nothing to parse
    try:
        sc = parse_scenario_text(text, "gen.toml")
    except ScenarioError as exc:
        assert exc.problems, "an error must carry at least one problem"
        for p in exc.problems:
            assert str(p).startswith("gen.toml")
            assert p.message
            assert p.line is None or 1 <= p.line <= text.count("\n") + 1
    else:
        assert sc.name and sc.policy_list
        if not changed:
            assert sc.model_dump()["city"] == BASE["city"]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_anything_but_scenario_error(text: str) -> None:
    """Any text at all, most of it not TOML, is either a scenario or a ScenarioError naming the
    file: any other exception fails the test (it would reach the user as a traceback)."""
    try:
        parse_scenario_text(text, "junk.toml")
    except ScenarioError as exc:
        assert all(str(p).startswith("junk.toml") for p in exc.problems)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(TOY_TOML)), st.text(alphabet="=[]{}\"'#.,\n 0123456789abc", min_size=1, max_size=5))
def test_corrupted_files_fail_cleanly(pos: int, junk: str) -> None:
    """TOML punctuation inserted anywhere in a valid file either still parses or fails as a
    ScenarioError with at least one problem, never another exception."""
    text = TOY_TOML[:pos] + junk + TOY_TOML[pos:]
    try:
        parse_scenario_text(text, "c.toml")
    except ScenarioError as exc:
        assert exc.problems


# ---------------------------------------------------------------------------------------
# the shipped scenarios and data files, mutated as a hostile user would (issue 22)

SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
DATA = ROOT / "scenarios" / "data"
_ASSIGN = re.compile(r"^(\s*[A-Za-z0-9_.\"-]+\s*=\s*)(.+?)(\s*#.*)?$")
_LOCATED = re.compile(r"^.+?:\d+: ")
VALUES = ["nan", "-nan", "inf", "-inf", "1e999", "1e308", "-1e308", "-1", "0", "0.0", "1", "3.5",
          "99999999999999999999", "true", "false", '"nan"', '"1e999"', '"12"', '" 5 "', '"1_000"', '""',
          '"a\\u0000b"', '"\\ufeffx"', '"\\u202ex"', '"a\\nb"', "[]", "[nan]", "[1, 2]", "{}", "{ a = 1 }",
          "1979-05-27", '"x"', "[" * 80 + "]" * 80]
CELLS = ["nan", "inf", "-inf", "1e999", "", " ", "-1", "0", "true", "12", "x", "\x00", "\ufeffa", "[1,", "[]",
         "999999", "1e308", "abc\u202e", "Shuangta"]


def _editable_lines(lines: list[str]) -> list[int]:
    return [i for i, ln in enumerate(lines) if _ASSIGN.match(ln) and not ln.lstrip().startswith("#")]


@st.composite
def hostile_scenario(draw: st.DrawFn) -> tuple[Path, str, dict[str, str]]:
    """(scenario path, mutated text, mutated data files by name) of one shipped scenario."""
    path = draw(st.sampled_from(SCENARIOS))
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["value", "value", "value", "drop", "repeat", "truncate", "junk", "bom"]))
        editable = _editable_lines(lines)
        i = draw(st.sampled_from(editable)) if editable else None
        if kind == "value" and i is not None:
            m = _ASSIGN.match(lines[i])
            assert m
            lines[i] = m.group(1) + draw(st.sampled_from(VALUES)) + (m.group(3) or "")
        elif kind == "drop" and i is not None:
            del lines[i]
        elif kind == "repeat" and i is not None:
            lines.insert(i, lines[i])
        elif kind == "truncate":
            joined = "\n".join(lines)
            lines = joined[:draw(st.integers(0, len(joined)))].split("\n")
        elif kind == "junk":
            pos = draw(st.integers(0, len(lines)))
            lines.insert(pos, draw(st.text(alphabet="=[]{}\"'#.,\\ \t0123456789abcé\x00\u2028", max_size=8)))
        elif kind == "bom" and lines:
            lines[0] = "\ufeff" + lines[0]
    files: dict[str, str] = {}
    # text data files only (the OSM extracts in data/osm/ are binary and read by libosmium)
    used = [f for f in sorted(DATA.iterdir()) if f.name in text and f.suffix in (".csv", ".geojson")]
    if used and draw(st.booleans()):
        f = draw(st.sampled_from(used))
        rows = f.read_text(encoding="utf-8").splitlines()
        if f.suffix == ".csv" and len(rows) > 1:
            r = draw(st.integers(0, len(rows) - 1))
            cells = rows[r].split(",")
            c = draw(st.integers(0, len(cells) - 1))
            action = draw(st.sampled_from(["cell", "cell", "cell", "dup", "drop_col"]))
            if action == "cell":
                cells[c] = draw(st.sampled_from(CELLS))
                rows[r] = ",".join(cells)
            elif action == "dup":
                rows.append(rows[r])
            else:
                rows = [",".join(x for k, x in enumerate(row.split(",")) if k != c) for row in rows]
        else:  # GeoJSON: corrupt one token
            doc = "\n".join(rows)
            pos = draw(st.integers(0, len(doc)))
            rows = [doc[:pos] + draw(st.sampled_from(["nan", "\"x\"", "null", "1e999", "]", ",", "{"])) + doc[pos:]]
        files[f.name] = "\n".join(rows) + "\n"
    return path, "\n".join(lines) + "\n", files


def _write_case(folder: Path, case: tuple[Path, str, dict[str, str]]) -> Path:
    path, text, files = case
    shutil.copytree(DATA, folder / "data")
    for name, content in files.items():
        (folder / "data" / name).write_text(content, encoding="utf-8")
    target = folder / path.name
    target.write_text(text, encoding="utf-8")
    return target


def _check_validate(case: tuple[Path, str, dict[str, str]]) -> None:
    """``simcity validate`` on the case, in this process: exit 0 or 2, never an exception,
    every error line located."""
    with tempfile.TemporaryDirectory() as tmp:
        f = _write_case(Path(tmp), case)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["validate", str(f)])  # any exception fails the test: a traceback
        lines = [ln for ln in err.getvalue().splitlines() if ln]
        assert code in (0, 2)
        assert (code == 0) == (not lines), lines
        for ln in lines:
            # the scenario's line, or a row of one of its data files (a repeated id)
            assert ln.startswith((f"{f}:", f"{f.parent / 'data'}/")) and _LOCATED.match(ln), ln
            assert "Value error," not in ln and "Traceback" not in ln, ln


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_scenario())
def test_hostile_scenarios_and_data_files_validate_or_fail_located(case: tuple[Path, str, dict[str, str]]) -> None:
    """300 hostile edits of the shipped scenarios and their CSV/GeoJSON files: `simcity validate`
    exits 0 with no output or 2 with every line located at the scenario or a data file, without
    pydantic's 'Value error,' prefix or a traceback."""
    _check_validate(case)


@pytest.mark.slow
@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_scenario())
def test_hostile_scenarios_slow_tier(case: tuple[Path, str, dict[str, str]]) -> None:
    """The same check as the default tier over 2,500 cases (-m slow)."""
    _check_validate(case)


def _short_run(sc: ScenarioBase) -> dict[str, float]:
    """One replication of the baseline, one day after the warm-up (the run-level check)."""
    first = sc.model_dump(mode="python")["policies"][0]
    short = sc.with_overrides({"replications": 1, "horizon_hours": sc.warmup_hours + 24.0,
                               "policies": [first]})
    table = compare(short, progress=False).table
    return {str(m): float(v) for m, v in zip(table["metric"], table["value"], strict=True)}


@cache
def _reference_nans(name: str) -> frozenset[str]:
    """Metrics that are NaN (undefined, e.g. a mean over no events) in the unmutated short run."""
    return frozenset(m for m, v in _short_run(load_scenario(ROOT / "scenarios" / name)).items() if math.isnan(v))


def _check_run(case: tuple[Path, str, dict[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f = _write_case(Path(tmp), case)
        try:
            sc = load_scenario(f)
        except ScenarioError:
            return
        if case[0].name.startswith(("garbage_liangxi", "garbage_suzhou", "bikes_suzhou", "garbage_groningen")):
            return  # city-scale: minutes per day simulated; validated above, run in their own tests
        metrics = _short_run(sc)
    allowed = _reference_nans(case[0].name)
    bad = {m: v for m, v in metrics.items() if math.isinf(v) or (math.isnan(v) and m not in allowed)}
    assert not bad, f"accepted scenario gave non-finite metrics {bad}"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_scenario())
def test_accepted_hostile_scenarios_run_one_short_replication(case: tuple[Path, str, dict[str, str]]) -> None:
    """A hostile edit that validation accepts must also run: one day of the baseline gives no
    infinite metric and no NaN beyond those the unedited scenario has (a mean over no events);
    six cases in the default tier."""
    _check_run(case)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_scenario())
def test_accepted_hostile_scenarios_run_slow_tier(case: tuple[Path, str, dict[str, str]]) -> None:
    """The run-level check over 200 cases (-m slow)."""
    _check_run(case)
