"""Replications to a precision: the sequential rule on a metric of known variance, identity with a
fixed-count comparison, independence of the batch size, the budget, and ``compare --precision``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from simcity import cli
from simcity.experiment import compare
from simcity.precision import (
    PrecisionError,
    SequentialRule,
    compare_to_precision,
    look_ahead_length,
    relative_precision,
)
from simcity.scenario import parse_scenario_text
from tests.toydomain import TOY_TOML


def _run_rule(x: np.ndarray, d: float, initial: int = 3, k: int = 5) -> tuple[SequentialRule, list[float]]:
    rule = SequentialRule(d, initial, k, max_replications=x.size)
    ds: list[float] = [math.inf] * initial
    n = initial
    while not rule.done:
        dn = relative_precision(x[:n], None, 0.95)[2]
        ds.append(dn)
        rule.feed(n, dn)
        n += 1
    return rule, ds


def test_rule_stops_where_the_half_width_crosses_and_stays_below() -> None:
    """N(10, 2^2): the half-width 1.96 * 2 / sqrt(n) is 5% of the mean near n = 61.5."""
    rng = np.random.default_rng(5)
    needed = []
    for _ in range(200):
        rule, ds = _run_rule(rng.normal(10.0, 2.0, size=2000), 0.05)
        assert rule.reached and rule.needed is not None
        n0 = rule.needed
        assert rule.stop_at == n0 + 5
        # d_n crossed the threshold at N_sol and stayed within it through the look-ahead
        assert ds[n0 - 1] > 0.05 or n0 == 3
        assert all(ds[n] <= 0.05 for n in range(n0, n0 + 6))
        needed.append(n0)
    theory = (1.96 * 2.0 / (0.05 * 10.0)) ** 2
    assert abs(np.median(needed) / theory - 1) < 0.15


def test_a_relapse_during_the_look_ahead_restarts_the_count() -> None:
    """With threshold 0.1 and a look-ahead of 2: d = 0.09 at n = 4 is undone by 0.2 at n = 5, so
    N_sol restarts at 6 and the rule stops only after 7 and 8 stay below (stop_at = 6 + 2). Hoad
    et al.'s look-ahead is k replications up to n = 100 and k% of n beyond: 5 at n = 100, 20 at n
    = 400."""
    rule = SequentialRule(0.1, initial=3, look_ahead=2, max_replications=100)
    for n, d in [(3, 0.5), (4, 0.09), (5, 0.2), (6, 0.05), (7, 0.05)]:
        rule.feed(n, d)
        assert not rule.done
    rule.feed(8, 0.08)
    assert rule.done and rule.needed == 6 and rule.stop_at == 8
    assert look_ahead_length(100, 5) == 5 and look_ahead_length(400, 5) == 20


SCEN = TOY_TOML.replace("replications = 6", "replications = 2")


def test_run_to_precision_equals_a_fixed_count_run() -> None:
    """Running to 5% precision on blocking uses N_sol + 5 replications and gives byte-identical
    tables to a fixed-count compare with that many (the same tasks, seeded alike); the final
    half-widths are the summary's paired-difference ones and within 5%, at N_sol - 1 they were
    not, and launching in batches of 1 instead of 4 stops at the same place."""
    sc = parse_scenario_text(SCEN)
    run = compare_to_precision(sc, 0.05, metrics=["blocking"], batch=4)
    assert run.reached and run.needed is not None and run.used == run.needed + 5
    fixed = compare(sc, replications=run.used)
    assert run.results.table.to_csv(index=False) == fixed.table.to_csv(index=False)
    assert run.results.summary.to_csv(index=False) == fixed.summary.to_csv(index=False)
    assert run.results.by_time.to_csv(index=False) == fixed.by_time.to_csv(index=False)
    assert run.results.scenario.replications == run.used
    # the precision the rule saw is the one the summary reports
    fin = run.final().set_index("policy")
    s = fixed.summary[fixed.summary["metric"] == "blocking"].set_index("policy")
    for pol in ("two", "three"):
        half = (s.at[pol, "diff_ci_high"] - s.at[pol, "diff_ci_low"]) / 2
        assert fin.at[pol, "half_width"] == pytest.approx(half)
        assert fin.at[pol, "relative"] <= 0.05
    # one replication fewer than N_sol was not precise enough
    before = run.trace[(run.trace["n"] == run.needed - 1)]
    assert before["relative"].max() > 0.05
    # the batch size changes how replications are launched, not where the rule stops
    other = compare_to_precision(sc, 0.05, metrics=["blocking"], batch=1)
    assert (other.used, other.needed) == (run.used, run.needed)


def test_budget_stops_the_run_and_says_so() -> None:
    """0.1% precision cannot be reached in 6 replications: the run stops at the budget, reports no
    N_sol and says why; an unknown metric is refused before any run."""
    sc = parse_scenario_text(SCEN)
    run = compare_to_precision(sc, 0.001, max_replications=6)
    assert not run.reached and run.used == 6 and run.needed is None
    assert "budget of 6 replications" in run.reason
    with pytest.raises(PrecisionError, match="unknown metrics"):
        compare_to_precision(sc, 0.05, metrics=["nope"])


def test_relative_to_baseline_is_finite_for_a_policy_that_changes_nothing() -> None:
    """A policy identical to the baseline has a paired difference of 0 with half-width 0: relative
    to the difference's mean (0) the precision is undefined (inf), relative to the baseline's
    mean it is 0."""
    same = np.array([1.0, 2.0, 3.0, 4.0])
    assert relative_precision(same, same, 0.95)[2] == math.inf
    _, h, rel = relative_precision(same, same, 0.95, relative_to="baseline")
    assert h == 0 and rel == 0


def test_compare_precision_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`compare --precision 0.05 --metric blocking` saves precision.json (reached, used = needed +
    5), names the replication count in the terminal and HTML reports and writes it into the saved
    scenario, so a rerun of that file repeats the run; an unknown metric exits 2 without a
    traceback."""
    f = tmp_path / "toy.toml"
    f.write_text(SCEN)
    out = tmp_path / "out"
    status = cli.main(["compare", str(f), "--precision", "0.05", "--metric", "blocking", "--out", str(out),
                       "--work-dir", str(tmp_path / "w")])
    text = capsys.readouterr().out
    assert status == 0
    doc = json.loads((out / "precision.json").read_text())
    assert doc["reached"] and doc["used"] == doc["needed"] + 5
    assert f"Replications to a precision: {doc['used']} per policy" in text
    assert "Replications to a precision" in (out / "report.html").read_text()
    assert "replications = " + str(doc["used"]) in (out / "scenario.toml").read_text()
    status = cli.main(["compare", str(f), "--precision", "0.05", "--metric", "nope", "--out", str(tmp_path / "o2"),
                       "--work-dir", str(tmp_path / "w")])
    err = capsys.readouterr().err
    assert status == 2 and "unknown metrics ['nope']" in err and "Traceback" not in err
