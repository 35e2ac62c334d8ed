"""Global sensitivity (Sobol', Morris through SALib) on analytic responses with known indices;
common random numbers; 1 and 2 jobs; resume; the sweep command's tables and plots."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simcity import cli
from simcity.experiment import count_finished
from simcity.scenario import ScenarioError, parse_scenario_text
from simcity.sweep import design, point_scenarios, run_sweep
from simcity.sweep_report import morris_plot, tornado_plot
from simcity.tasks import all_tasks
from tests.toydomain import ISHIGAMI_TOML, TOY_TOML, ishigami_indices


def test_sobol_indices_of_ishigami_match_theory_within_the_bootstrap_interval() -> None:
    """The Ishigami function's Sobol' indices are known in closed form (Ishigami & Homma 1990;
    ishigami_indices): with 1024 x (3 + 2) Saltelli points each analytic S1 and ST lies in its
    bootstrap interval and within 0.05 of the estimate; for y = x1 + 2 x2 on equal ranges S1 =
    c_i^2 / sum c^2 = 0.2, 0.8, 0 and ST = S1 (no interaction)."""
    sc = parse_scenario_text(ISHIGAMI_TOML)
    assert len(design(sc)) == 1024 * (3 + 2)
    res = run_sweep(sc, progress=False)
    ix = res.indices[res.indices["policy"] == "ishigami"].set_index("parameter")
    s1, st = ishigami_indices()
    for j, p in enumerate(["city.x1", "city.x2", "city.x3"]):
        assert ix.at[p, "S1_low"] <= s1[j] <= ix.at[p, "S1_high"], (p, "S1")
        assert ix.at[p, "ST_low"] <= st[j] <= ix.at[p, "ST_high"], (p, "ST")
        assert abs(ix.at[p, "S1"] - s1[j]) < 0.05 and abs(ix.at[p, "ST"] - st[j]) < 0.05
    # the linear policy y = x1 + 2 x2: S1 = c_i^2 / sum c^2 = 0.2, 0.8, 0 and no interaction
    lin = res.indices[res.indices["policy"] == "linear"].set_index("parameter")
    np.testing.assert_allclose(lin["S1"], [0.2, 0.8, 0.0], atol=0.03)
    np.testing.assert_allclose(lin["ST"], lin["S1"], atol=0.03)


def test_common_random_numbers_keep_the_noise_out_of_the_indices() -> None:
    """Noise drawn from the same stream at every point is one offset per replication: the
    indices with noise equal those without (SALib standardises the response)."""
    quiet = run_sweep(parse_scenario_text(ISHIGAMI_TOML.replace("samples = 1024", "samples = 128")), progress=False)
    noisy = run_sweep(parse_scenario_text(ISHIGAMI_TOML.replace("samples = 1024", "samples = 128")
                                          .replace("noise = 0.0", "noise = 2.0")), progress=False)
    assert not np.allclose(noisy.table["value"], quiet.table["value"])  # the noise is there
    cols = ["S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"]
    np.testing.assert_allclose(noisy.indices[cols], quiet.indices[cols], atol=1e-9)


MORRIS = ISHIGAMI_TOML.replace('method = "sobol"\nsamples = 1024', 'method = "morris"\nsamples = 20')


def test_morris_elementary_effects_of_a_linear_response() -> None:
    """y = x1 + 2 x2 on [-pi, pi]: every elementary effect is c_i times the range (SALib scales
    the step to the unit cube), so mu* = 2 pi c_i exactly and sigma = 0."""
    sc = parse_scenario_text(MORRIS)
    assert len(design(sc)) == 20 * (3 + 1)
    res = run_sweep(sc, progress=False)
    lin = res.indices[res.indices["policy"] == "linear"].set_index("parameter")
    np.testing.assert_allclose(lin["mu_star"], [2 * math.pi, 4 * math.pi, 0.0], atol=1e-9)
    np.testing.assert_allclose(lin["sigma"], 0.0, atol=1e-9)
    ish = res.indices[res.indices["policy"] == "ishigami"].set_index("parameter")
    # x3 acts only through its interaction with x1: a large spread relative to its mean effect
    assert ish.at["city.x3", "sigma"] > ish.at["city.x3", "mu_star"] > 0
    assert (ish["mu_star_low"] <= ish["mu_star"]).all() and (ish["mu_star"] <= ish["mu_star_high"]).all()
    p = morris_plot(res, "y", "linear")
    np.testing.assert_allclose(p.data.set_index("parameter").loc[lin.index, "mu_star"], lin["mu_star"])


TOY_SOBOL = TOY_TOML + """
[sweep]
method = "sobol"
samples = 8
responses = ["blocking"]
bootstrap = 100

[[sweep.parameters]]
path = "city.arrival_rate"
low = 1.0
high = 8.0

[[sweep.parameters]]
path = "policies.two.servers"
low = 1
high = 4
integer = true
"""


def test_indices_are_identical_for_one_and_two_jobs_and_after_resume(tmp_path: Path) -> None:
    """On the toy model (a sampled arrival rate and an integer server count) the indices are the
    same frame for one and two jobs, and after half the finished task files are deleted a resumed
    sweep redoes only those and gives the same indices again."""
    sc = parse_scenario_text(TOY_SOBOL.replace("replications = 6", "replications = 2"))
    one = run_sweep(sc, progress=False)
    two = run_sweep(sc, jobs=2, progress=False)
    pd.testing.assert_frame_equal(one.indices, two.indices)
    assert not one.indices["ST"].isna().all()
    # a killed sweep (here: work files removed) resumes without redoing finished points
    work = tmp_path / "work"
    run_sweep(sc, work_root=work, progress=False)
    pts = point_scenarios(sc, design(sc))
    tasks = [all_tasks(s) for s in pts]
    total = sum(len(t) for t in tasks)
    assert count_finished(pts, tasks, work) == total
    files = sorted(work.rglob("*.json"))
    task_files = [f for f in files if f.name != "manifest.json"]
    for f in task_files[: len(task_files) // 2]:
        f.unlink()
    assert count_finished(pts, tasks, work) < total
    again = run_sweep(sc, work_root=work, resume=True, progress=False)
    pd.testing.assert_frame_equal(again.indices, one.indices)


@pytest.mark.parametrize(("block", "message"), [
    ('method = "sobol"\nsamples = 100', "power of 2"),
    ('method = "sobol"', "needs 'samples'"),
    ('method = "morris"\nsamples = 4\nmorris_levels = 3', "must be even"),
    ('method = "sobol"\nsamples = 4096', "at most 10000"),
])
def test_bad_designs_are_located_errors(block: str, message: str) -> None:
    """Designs SALib cannot build or that are too big are refused at validation with the file
    located: Sobol' samples not a power of 2 (100) or missing, an odd Morris level count (3), and
    4096 x (1 + 2) = 12,288 points over the 10,000 limit."""
    text = TOY_TOML + f"""
[sweep]
{block}
[[sweep.parameters]]
path = "city.arrival_rate"
low = 1.0
high = 8.0
"""
    with pytest.raises(ScenarioError, match=message) as exc:
        parse_scenario_text(text, source="s.toml")
    assert str(exc.value.problems[0]).startswith("s.toml:")


def test_sweep_command_writes_indices_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`simcity sweep` prints the Sobol' table and writes indices.csv with one row per parameter and
    policy (3 x 2 = 6) and a tornado plot per response and policy; the plotted ST values are the
    sweep's indices, matched parameter by parameter."""
    f = tmp_path / "s.toml"
    f.write_text(ISHIGAMI_TOML.replace("samples = 1024", "samples = 64"))
    out = tmp_path / "out"
    assert cli.main(["sweep", str(f), "--out", str(out), "--work-dir", str(tmp_path / "w")]) == 0
    text = capsys.readouterr().out
    assert "Sobol' indices" in text
    tab = pd.read_csv(out / "indices.csv")
    assert len(tab) == 6 and {"S1", "ST", "ST_low"} <= set(tab.columns)
    assert (out / "plots" / "tornado-y-ishigami.png").is_file()
    res = run_sweep(parse_scenario_text(f.read_text()), progress=False)
    p = tornado_plot(res, "y", "ishigami")
    np.testing.assert_allclose(p.data["ST"].to_numpy(),
                               res.indices[res.indices["policy"] == "ishigami"].set_index("parameter")
                               .loc[p.data["parameter"], "ST"].to_numpy())
