"""Scenario files: validation, line-located errors, overrides, round trip, schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simcity.scenario import ScenarioError, load_scenario, parse_scenario_text
from tests.toydomain import TOY_TOML


def problems_of(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(text, source="s.toml")
    return [str(p) for p in info.value.problems]


def test_valid_file_loads(toy_file: Path) -> None:
    """The toy file as written: its three policies in file order, the first as baseline (no baseline
    key), all three declared metrics reported (no metrics key), and the source path kept for
    later located errors."""
    sc = load_scenario(toy_file)
    assert sc.policy_names == ["one", "two", "three"]
    assert sc.baseline == "one"
    assert sc.reported_metrics == ["blocking", "occupancy", "served"]
    assert sc.source == toy_file


def test_every_error_reported_at_once_with_line_and_path() -> None:
    """Three independent mistakes (replications 0, a negative rate, a misspelt key) are reported
    together, exactly three problems, each at the line of its edit and with its dotted path,
    saying what is wrong and what was found."""
    text = TOY_TOML.replace("arrival_rate = 4.0", "arrival_rate = -4.0").replace(
        "servers = 2", "servers = 2\nserverz = 3"
    ).replace("replications = 6", "replications = 0")
    probs = problems_of(text)
    lines = text.splitlines()
    want = {
        "replications": lines.index("replications = 0") + 1,
        "city.arrival_rate": lines.index("arrival_rate = -4.0") + 1,
        "policies.1.serverz": lines.index("serverz = 3") + 1,
    }
    assert len(probs) == 3, probs
    for path, line in want.items():
        match = [p for p in probs if f": {path}: " in p]
        assert match, (path, probs)
        assert match[0].startswith(f"s.toml:{line}: "), match
    assert any("unknown key" in p for p in probs)
    assert any("greater than 0" in p and "found -4.0" in p for p in probs)


def test_missing_key_points_at_its_table() -> None:
    """A required key that is absent has no line of its own, so the problem points at the [city]
    header of the table it belongs in."""
    text = TOY_TOML.replace("mean_service_h = 0.5\n", "")
    (prob,) = problems_of(text)
    line = text.splitlines().index("[city]") + 1
    assert prob == f"s.toml:{line}: city.mean_service_h: required key is missing"


def test_toml_syntax_error_is_located() -> None:
    """A TOML syntax error ('seed = = 7') is reported once, at the line of the broken assignment, as
    a TOML syntax error rather than a decoder exception."""
    text = TOY_TOML.replace("seed = 7", "seed = = 7")
    (prob,) = problems_of(text)
    line = text.splitlines().index("seed = = 7") + 1
    assert prob.startswith(f"s.toml:{line}: TOML syntax error")


def test_unknown_model_and_duplicate_policy_and_unknown_metric() -> None:
    """Whole-scenario checks: an unknown model is refused at line 1 listing the known ones, a
    duplicated policy name, an unknown metric name and a warm-up of 50 h against a 48 h horizon
    are each reported with their key."""
    assert problems_of(TOY_TOML.replace('model = "toy"', 'model = "trains"'))[0].startswith(
        "s.toml:1: model: expected one of"
    )
    dup = TOY_TOML.replace('name = "three"', 'name = "two"')
    assert any("unique" in p and "'two'" in p for p in problems_of(dup))
    bad_metric = TOY_TOML.replace("horizon_hours = 48.0", 'horizon_hours = 48.0\nmetrics = ["blocking", "fun"]')
    assert any("unknown metrics ['fun']" in p for p in problems_of(bad_metric))
    warm = TOY_TOML.replace("horizon_hours = 48.0", "horizon_hours = 48.0\nwarmup_hours = 50")
    assert any("warmup_hours" in p for p in problems_of(warm))


def test_overrides_revalidate_and_do_not_mutate(toy_file: Path) -> None:
    """with_overrides returns a new validated scenario (by position or policy name) and leaves the
    original at 4.0/h; an override out of bounds (servers 0) is refused with its key; a scenario
    is frozen, so assignment raises."""
    sc = load_scenario(toy_file)
    sc2 = sc.with_overrides({"city.arrival_rate": 9.0, "policies.two.servers": 5, "replications": 3})
    assert sc2.city.arrival_rate == 9.0  # type: ignore[attr-defined]
    assert sc2.policy_list[1].servers == 5  # type: ignore[attr-defined]
    assert sc.city.arrival_rate == 4.0  # type: ignore[attr-defined]
    with pytest.raises(ScenarioError, match="policies.0.servers"):
        sc.with_overrides({"policies.0.servers": 0})
    with pytest.raises(Exception):  # noqa: B017 - frozen: pydantic raises ValidationError
        sc.seed = 3  # type: ignore[misc]


def test_resolved_toml_round_trips(toy_file: Path) -> None:
    """The resolved TOML written with results parses back to an equal scenario, defaults included
    (confidence 0.95, no warm-up), so a saved run can be repeated from it."""
    sc = load_scenario(toy_file)
    again = parse_scenario_text(sc.to_toml(), "resolved.toml")
    assert again.model_dump() == sc.model_dump()
    assert again.confidence == 0.95 and again.warmup_hours == 0.0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    # run the real console entry in a subprocess with the toy domain registered
    code = ("import sys, tests.conftest; from simcity.cli import main; "
            f"sys.exit(main({list(args)!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=120)


def test_cli_validate_ok_and_errors(toy_file: Path, tmp_path: Path) -> None:
    """Through the real entry point: the toy file prints 'OK' and exits 0; a file with a string seed
    (line 4) and servers 0 (line 22) gives exactly those two located lines and exit 2; a missing
    file is a read error with exit 2, none with a traceback."""
    ok = _cli("validate", str(toy_file))
    assert ok.returncode == 0 and ok.stdout.strip() == f"{toy_file}: OK"
    bad = tmp_path / "bad.toml"
    bad.write_text(TOY_TOML.replace("seed = 7", 'seed = "seven"').replace("servers = 3", "servers = 0"))
    res = _cli("validate", str(bad))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    err_lines = res.stderr.strip().splitlines()
    assert len(err_lines) == 2
    assert err_lines[0].startswith(f"{bad}:4: seed: ")
    assert err_lines[1].startswith(f"{bad}:22: policies.2.servers: ")
    missing = _cli("validate", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "cannot read the file" in missing.stderr


def test_schema_is_json_schema_with_every_field_described() -> None:
    """`simcity schema` emits JSON Schema that selects the scenario class by 'model', forbids
    unknown keys, and has a description for every field of the toy scenario, city and policy
    (what editors show as help)."""
    res = _cli("schema")
    assert res.returncode == 0
    schema = json.loads(res.stdout)
    assert schema["discriminator"]["propertyName"] == "model"
    defs = schema["$defs"]
    toy = defs["ToyScenario"]
    assert toy["additionalProperties"] is False
    for cls in ("ToyScenario", "ToyCity", "ToyPolicy"):
        for name, prop in defs[cls]["properties"].items():
            assert prop.get("description"), f"{cls}.{name} has no description"


def test_domain_cross_checks_are_located(monkeypatch: pytest.MonkeyPatch) -> None:
    """A domain's own policy check (here planted: more than two servers is refused) is reported at
    the line of the field it names, policies.2.servers on line 22, like a schema error."""
    from tests.toydomain import DOMAIN

    def too_many(city: object, policy: object) -> list[str]:
        return ["servers: more servers than customers"] if getattr(policy, "servers", 0) > 2 else []

    monkeypatch.setattr(DOMAIN, "validate_policy", too_many)
    (prob,) = problems_of(TOY_TOML)
    line = TOY_TOML.splitlines().index("servers = 3") + 1
    assert prob == f"s.toml:{line}: policies.2.servers: more servers than customers"
