"""Hypothesis-generated scenario files, valid and invalid: never a traceback."""

from __future__ import annotations

import tomllib

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simcity.scenario import ScenarioError, parse_scenario_text
from tests.toydomain import TOY_TOML

BASE = tomllib.loads(TOY_TOML)

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
    try:
        parse_scenario_text(text, "junk.toml")
    except ScenarioError as exc:
        assert all(str(p).startswith("junk.toml") for p in exc.problems)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(TOY_TOML)), st.text(alphabet="=[]{}\"'#.,\n 0123456789abc", min_size=1, max_size=5))
def test_corrupted_files_fail_cleanly(pos: int, junk: str) -> None:
    text = TOY_TOML[:pos] + junk + TOY_TOML[pos:]
    try:
        parse_scenario_text(text, "c.toml")
    except ScenarioError as exc:
        assert exc.problems
