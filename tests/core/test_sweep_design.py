"""Sweeps: the design, located errors, agreement with Erlang-B theory, the results folder."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simcity import cli
from simcity.backends import SerialBackend
from simcity.scenario import ScenarioError, load_scenario, parse_scenario_text
from simcity.sweep import check, design, point_scenarios, run_sweep
from simcity.sweep_report import effect_plot
from tests.toydomain import TOY_TOML

LHS = TOY_TOML + """
[sweep]
method = "lhs"
samples = 7
[[sweep.parameters]]
path = "city.arrival_rate"
low = 1.0
high = 8.0
[[sweep.parameters]]
path = "policies.two.servers"
low = 1
high = 6
integer = true
"""


def erlang_b(c: int, load: float) -> float:
    b = 1.0
    for k in range(1, c + 1):
        b = load * b / (k + load * b)
    return b


def test_latin_hypercube_stratifies_every_parameter_and_is_seeded() -> None:
    """A Latin hypercube of 7 samples puts exactly one arrival rate in each of the 7 unit-wide
    strata of [1, 8] and integer server counts in 1..6; the design repeats for the same seed and
    changes with another; each point scenario carries its values and the scenario's seed, so all
    points share common random numbers."""
    sc = parse_scenario_text(LHS)
    pts = design(sc)
    assert list(pts.columns) == ["city.arrival_rate", "policies.two.servers"]
    assert len(pts) == 7
    # one point in each of the 7 equal strata of the continuous parameter
    strata = np.floor((pts["city.arrival_rate"] - 1.0) / 7.0 * 7).astype(int)
    assert sorted(strata) == list(range(7))
    assert set(pts["policies.two.servers"]) <= set(range(1, 7))
    pd.testing.assert_frame_equal(design(sc), pts)  # reproducible
    assert not design(sc.with_overrides({"seed": 8})).equals(pts)
    # each point is the scenario with its values applied; the seed (CRN) is the same everywhere
    scs = point_scenarios(sc, pts)
    assert [s.city.arrival_rate for s in scs] == list(pts["city.arrival_rate"])  # type: ignore[attr-defined]
    assert [s.policy_list[1].servers for s in scs] == [int(v) for v in pts["policies.two.servers"]]  # type: ignore[attr-defined]
    assert {s.seed for s in scs} == {sc.seed}


def test_grid_is_the_full_product() -> None:
    """A grid of 2 listed values times 4 levels spaced evenly on [0.25, 1.0] has 2 x 4 = 8 points,
    the levels being 0.25, 0.5, 0.75 and 1.0."""
    sc = parse_scenario_text(TOY_TOML + """
[sweep]
[[sweep.parameters]]
path = "city.arrival_rate"
values = [1.0, 2.0]
[[sweep.parameters]]
path = "city.mean_service_h"
low = 0.25
high = 1.0
levels = 4
""")
    pts = design(sc)
    assert len(pts) == 8
    assert sorted(set(pts["city.mean_service_h"])) == [0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize(("block", "message"), [
    ('path = "city.arrival_rte"\nvalues = [1.0]', "does not name a scenario value"),
    ('path = "policies.0.name"\nvalues = [1.0]', "is not a number"),
])
def test_bad_paths_are_located_in_the_file(tmp_path: Path, block: str, message: str) -> None:
    """A misspelt path and a path to a text field (a policy name cannot be swept numerically) are
    each one problem located at the line of the path key with the dotted key
    sweep.parameters.0.path."""
    f = tmp_path / "s.toml"
    text = TOY_TOML + "\n[sweep]\n[[sweep.parameters]]\n" + block + "\n"
    f.write_text(text, encoding="utf-8")
    line = text.splitlines().index(block.splitlines()[0]) + 1
    with pytest.raises(ScenarioError) as err:
        check(load_scenario(f))
    [prob] = err.value.problems
    assert (prob.line, prob.path) == (line, "sweep.parameters.0.path")
    assert message in prob.message


def test_spec_errors_come_from_the_loader(tmp_path: Path) -> None:
    """Inconsistent sweep settings (an LHS without a sample count) are refused when the file is
    loaded, not later when the sweep starts."""
    f = tmp_path / "s.toml"
    f.write_text(TOY_TOML + '\n[sweep]\nmethod = "lhs"\n[[sweep.parameters]]\npath = "city.arrival_rate"\n'
                 "values = [1.0]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="needs 'samples'"):
        load_scenario(f)


def test_invalid_design_point_names_the_point() -> None:
    """A design value that the schema refuses (0 servers, below the bound 1) is reported with the
    point's index and its values, so the user knows which point of the design to change."""
    sc = parse_scenario_text(TOY_TOML + """
[sweep]
[[sweep.parameters]]
path = "policies.two.servers"
values = [2, 0]
integer = true
""")
    with pytest.raises(ScenarioError, match=r"design point 1 \(policies.two.servers=0\)"):
        point_scenarios(sc, design(sc))


def test_main_effect_of_arrival_rate_agrees_with_erlang_b() -> None:
    """Blocking of the M/M/c/c toy is Erlang B(c, rate x 0.5 h) whatever the service distribution's
    shape: at rates 1, 3, 6 per hour and 1-3 servers (9 effects), every 99% interval of 8
    replications of 400 h contains the theory (fixed seed, so deterministic); blocking rises with
    the rate, so every sensitivity coefficient and its lower bound are positive; the effect plot
    draws those numbers."""
    sc = parse_scenario_text(TOY_TOML.replace("horizon_hours = 48.0", "horizon_hours = 400.0")
                             .replace("replications = 6", "replications = 8") + """
[sweep]
responses = ["blocking"]
[[sweep.parameters]]
path = "city.arrival_rate"
values = [1.0, 3.0, 6.0]
""").with_overrides({"confidence": 0.99})
    res = run_sweep(sc, backend=SerialBackend())
    eff = res.effects
    assert len(eff) == 3 * 3  # 3 levels x 3 policies x 1 response
    for row in eff.itertuples():
        c = {"one": 1, "two": 2, "three": 3}[str(row.policy)]
        theory = erlang_b(c, row.value * 0.5)
        assert row.ci_low <= theory <= row.ci_high, (row, theory)
    # blocking rises with the arrival rate for every policy (the sensitivity says so too)
    sens = res.sensitivity
    assert (sens["src"] > 0).all() and (sens["ci_low"] > 0).all()
    plot = effect_plot(res, "blocking", "city.arrival_rate")
    drawn = plot.data[plot.data["policy"] == "two"]
    expect = eff[eff["policy"] == "two"].sort_values("value")
    # blocking is a share: drawn in %
    assert np.allclose(drawn["mean"], 100 * expect["mean"]) and np.allclose(drawn["ci_high"], 100 * expect["ci_high"])


def test_sweep_command_writes_a_complete_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`simcity sweep` on a 4-point LHS prints the design size (4 x 3 x 3), writes 4 x 3 policies x
    3 replications x 3 metrics = 108 rows with the swept values as columns, one effect plot per
    parameter, effects equal to each point's mean over its replications (with LHS every level is
    its own point), and removes its work folder."""
    f = tmp_path / "s.toml"
    f.write_text(LHS.replace("replications = 6", "replications = 3")
                 .replace("samples = 7", 'samples = 4\nresponses = ["blocking"]'), encoding="utf-8")
    out = tmp_path / "out"
    status = cli.main(["sweep", str(f), "--out", str(out), "--work-dir", str(tmp_path / "work")])
    assert status == 0
    text = capsys.readouterr().out
    assert "Sensitivity" in text and "4 design points x 3 policies x 3 replications" in text
    table = pd.read_csv(out / "replications.csv")
    assert len(table) == 4 * 3 * 3 * 3
    assert {"city.arrival_rate", "policies.two.servers"} <= set(table.columns)
    assert sorted(p.name for p in (out / "plots").glob("*.png")) == [
        "sweep-blocking-city_arrival_rate.png", "sweep-blocking-policies_two_servers.png"]
    effects = pd.read_csv(out / "effects.csv")
    one = effects[(effects["parameter"] == "city.arrival_rate") & (effects["policy"] == "one")
                  & (effects["metric"] == "blocking")]
    for r in one.itertuples():
        vals = table[(table["city.arrival_rate"] == r.value) & (table["policy"] == "one")
                     & (table["metric"] == "blocking")]["value"]
        assert math.isclose(r.mean, vals.mean(), rel_tol=1e-12)
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())


def test_sweep_command_without_sweep_table_is_a_clear_error(toy_file: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario with no [sweep] table has nothing to sweep: exit 2 with that said, instead of an
    empty run."""
    assert cli.main(["sweep", str(toy_file)]) == 2
    assert "has no [sweep] table" in capsys.readouterr().err
