"""Kim-Nelson selection: picks the truly best of synthetic policies at the stated rate.

The synthetic domain draws each replication's metric as Normal(mean_p, sigma) with a common
component shared by all policies (common random numbers, correlation ``rho``) and an own
component per policy, so the true means are known exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from pydantic import Field
from scipy import stats

from simcity import cli, domains
from simcity.backends import SerialBackend
from simcity.domain import Domain, Metric, PolicyBase, RunContext, RunOutput, StrictModel
from simcity.scenario import parse_scenario_text
from simcity.selection import (
    KimNelson,
    SelectionError,
    kn_h2,
    resolve_spec,
    select,
)
from simcity.selection_report import smore_plot
from simcity.specs import SelectionSpec


class NormalCity(StrictModel):
    sigma: float = Field(gt=0, description="Standard deviation of one replication's metric.")
    rho: float = Field(ge=0, lt=1, description="Correlation between policies induced by common random numbers.")


class NormalPolicy(PolicyBase):
    mean: float = Field(description="True mean of the metric under this policy.")


class NormalDomain(Domain):
    name: ClassVar[str] = "normaltoy"
    title: ClassVar[str] = "Normal outputs with known means"
    City = NormalCity
    Policy = NormalPolicy
    metrics: ClassVar[tuple[Metric, ...]] = (Metric("cost", "Synthetic cost", "EUR", "lower"),)

    def run(self, city: NormalCity, policy: NormalPolicy, ctx: RunContext) -> RunOutput:  # type: ignore[override]
        common = ctx.streams["common"].standard_normal()
        own = ctx.streams[f"own-{policy.name}"].standard_normal()
        z = math.sqrt(city.rho) * common + math.sqrt(1 - city.rho) * own
        return RunOutput(metrics={"cost": policy.mean + city.sigma * z})


DOMAIN = NormalDomain()
domains.register(DOMAIN)


def scenario_text(means: list[float], *, sigma: float = 1.0, rho: float = 0.5, delta: float = 0.5,
                  alpha: float = 0.05, max_reps: int = 2000, seed: int = 1) -> str:
    pols = "\n".join(f'[[policies]]\nname = "p{i}"\nmean = {m}\n' for i, m in enumerate(means))
    return f"""
model = "normaltoy"
name = "known means"
seed = {seed}
replications = 2
horizon_hours = 1.0

[city]
sigma = {sigma}
rho = {rho}

[selection]
metric = "cost"
delta = {delta}
alpha = {alpha}
initial_replications = 10
max_replications = {max_reps}

{pols}
"""


def test_picks_true_best_at_stated_rate_in_slippage_configuration() -> None:
    """In the least favourable configuration (every other policy exactly delta = 0.5 worse than the
    best p1) KN guarantees a correct selection with probability >= 1 - alpha = 0.95; over 200
    independent selections the count of correct ones must not fall below the binomial(200, 0.95)
    1% quantile, the level at which 'the rate is at least 0.95' would be rejected."""
    base = parse_scenario_text(scenario_text([0.5, 0.0, 0.5, 0.5]))
    macro = 200
    correct = 0
    backend = SerialBackend()
    for m in range(macro):
        sel = select(base.with_overrides({"seed": 1000 + m}), backend=backend, batch=5)
        assert sel.decided
        correct += sel.best == "p1"
    floor = stats.binom.ppf(0.01, macro, 0.95)
    assert correct >= floor, f"correct {correct}/{macro} < {floor}"


def test_clear_winner_found_quickly_and_eliminations_recorded() -> None:
    """Means 3, 2, 0, 1 with sigma 1 and delta 0.5: p2 (lowest cost) is selected, the other three
    are eliminated, each has exactly as many replications in the table as the stage it was
    eliminated at, and p0's difference to the best is about its true 3 (> 2)."""
    sc = parse_scenario_text(scenario_text([3.0, 2.0, 0.0, 1.0], delta=0.5))
    sel = select(sc, backend=SerialBackend())
    assert sel.best == "p2"
    assert set(sel.eliminated_at) == {"p0", "p1", "p3"}
    # each eliminated policy only contributes the replications it was run up to its elimination
    n = sel.table.groupby("policy", observed=True).size()
    for pol, r in sel.eliminated_at.items():
        assert n[pol] == r
    summary = sel.summary.set_index("policy")
    assert summary.loc["p2", "status"] == "selected"
    assert summary.loc["p0", "diff_to_best"] > 2.0


def test_decision_independent_of_batch_size() -> None:
    """Replication r of a policy is the same draw whatever the batch, and elimination uses the first
    r observations only, so batches of 1 and 13 give the same winner, elimination stages and
    table; larger batches may only simulate more replications."""
    sc = parse_scenario_text(scenario_text([0.0, 0.3, 0.6], delta=0.4, seed=5))
    a = select(sc, backend=SerialBackend(), batch=1)
    b = select(sc, backend=SerialBackend(), batch=13)
    assert (a.best, a.eliminated_at) == (b.best, b.eliminated_at)
    assert a.table.equals(b.table)
    assert b.runs >= a.runs  # bigger batches may simulate replications the decision did not need


def test_budget_exhausted_reports_set_not_separated() -> None:
    """Two policies with the same mean (0) cannot be separated, so with a budget of 30 replications
    the selection is undecided with both as survivors (p2, 5 worse, is eliminated), says so, and
    names one of them as the leader by sample mean."""
    sc = parse_scenario_text(scenario_text([0.0, 0.0, 5.0], delta=0.05, max_reps=30))
    sel = select(sc, backend=SerialBackend())
    assert not sel.decided
    assert sorted(sel.survivors) == ["p0", "p1"]
    assert "Could not separate" in sel.statement()
    assert sel.leader in {"p0", "p1"}


def test_kn_state_eliminates_by_hand_computed_rule() -> None:
    """Kim & Nelson by hand for k = 2, n0 = 3, delta 1, alpha 0.05: h^2 = (n0 - 1)((2 alpha / (k -
    1))^(-2/(n0 - 1)) - 1) = 2 (10 - 1) = 18; the first-stage differences 1, 2, 2 have S^2 = 1/3;
    W = (delta / 2r)(h^2 S^2 / delta^2 - r) = (1/6)(6 - 3) = 0.5; the mean difference 2 - 1/3 =
    5/3 > W (larger is better inside KimNelson), so system 1 is eliminated at r = 3 and the
    procedure is done."""
    kn = KimNelson(2, delta=1.0, alpha=0.05, n0=3)
    for a, b in [(1.0, 0.0), (2.0, 0.0), (3.0, 1.0)]:
        kn.add(0, a)
        kn.add(1, b)
    h2 = (3 - 1) * ((2 * 0.05 / 1) ** (-2 / 2) - 1)  # = 18
    assert kn.h2 == pytest.approx(h2)
    s2 = float(np.var([1.0, 2.0, 2.0], ddof=1))
    w = max(0.0, 1.0 / (2 * 3) * (h2 * s2 / 1.0 - 3))
    assert w == pytest.approx(0.5)
    # mean difference 2 - 1/3 = 5/3 exceeds W = 0.5: system 1 goes at r = n0
    assert kn.screen() == [0]
    assert kn.eliminated_at == {1: 3} and kn.done
    assert kn.h2 == pytest.approx(kn_h2(2, 3, 0.05))


def test_spec_resolution_errors_are_clear() -> None:
    """An unknown metric, unknown policies and a budget below the first stage (5 < 10 initial
    replications) are refused by name; with no goal given the direction comes from the metric's
    declaration ('lower' -> min)."""
    sc = parse_scenario_text(scenario_text([0.0, 1.0]))
    with pytest.raises(SelectionError, match="unknown metric 'nope'"):
        resolve_spec(sc, metric="nope")
    with pytest.raises(SelectionError, match="unknown policies"):
        resolve_spec(sc, SelectionSpec(metric="cost", delta=1, policies=["p0", "zz"]))
    with pytest.raises(SelectionError) as exc:
        resolve_spec(sc, max_replications=5)
    # keyed and worded as in a scenario file, naming the option that set it (issue 22 item 4: no
    # pydantic "Value error," prefix, no dangling "selection.")
    assert str(exc.value) == ("selection.max_replications: must be at least initial_replications (10); "
                              "found 5 (--max-replications)")
    assert resolve_spec(sc).goal == "min"  # from the metric's declared direction


def test_smore_plot_draws_the_summary() -> None:
    """The SMORE plot's numbers are the replications': each policy's mean and lower quartile equal
    NumPy's on the selection table, and the mean lies inside its interval."""
    sc = parse_scenario_text(scenario_text([1.0, 0.0], delta=0.3))
    sel = select(sc, backend=SerialBackend())
    plot = smore_plot(sel)
    assert plot.png.startswith(b"\x89PNG")
    drawn = plot.data.set_index("policy")
    for pol in sel.policies:
        v = sel.table.loc[sel.table["policy"] == pol, "value"].to_numpy()
        assert drawn.loc[pol, "mean"] == pytest.approx(v.mean())
        assert drawn.loc[pol, "q25"] == pytest.approx(np.quantile(v, 0.25))
        assert drawn.loc[pol, "ci_low"] < drawn.loc[pol, "mean"] < drawn.loc[pol, "ci_high"]


def test_select_command_writes_decision_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`simcity select --policies p0 p1` on means 2, 0 (p2 excluded) prints p1 as best with the 95%
    guarantee, and saves the decision, the SMORE plot and a summary of exactly the two policies
    chosen."""
    f = tmp_path / "s.toml"
    f.write_text(scenario_text([2.0, 0.0, 1.0], delta=0.5), encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["select", str(f), "--out", str(out), "--work-dir", str(tmp_path / "w"),
                     "--policies", "p0", "p1"]) == 0
    text = capsys.readouterr().out
    assert "Best policy for Synthetic cost (lowest is better): p1." in text and "at least 95%" in text
    assert "delta = 0.5 EUR better" in text
    decision = json.loads((out / "selection.json").read_text())
    assert decision["best"] == "p1" and decision["policies"] == ["p0", "p1"]
    assert (out / "plots" / "smore-cost.png").read_bytes().startswith(b"\x89PNG")
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["policy"]) == ["p0", "p1"]


def test_select_command_reports_missing_settings(toy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Selecting on the toy file, which has no [selection] table, with only --metric: the
    indifference zone delta is missing, so exit 2 naming it."""
    assert cli.main(["select", str(toy_file), "--metric", "blocking"]) == 2
    assert "selection needs delta" in capsys.readouterr().err


def test_select_options_are_recorded_in_the_saved_scenario(toy_file: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """--metric, --delta, --alpha, --policies shape the selection: the saved scenario carries them
    in its [selection] table, and selecting again from it (no options) decides the same."""
    out = tmp_path / "out"
    assert cli.main(["select", str(toy_file), "--metric", "blocking", "--delta", "0.02", "--alpha", "0.1",
                     "--policies", "one", "two", "--max-replications", "40", "--out", str(out),
                     "--work-dir", str(tmp_path / "w")]) == 0
    saved = parse_scenario_text((out / "scenario.toml").read_text(encoding="utf-8"))
    spec = saved.selection
    assert spec is not None
    assert (spec.metric, spec.delta, spec.alpha, spec.policies, spec.max_replications, spec.goal) == (
        "blocking", 0.02, 0.1, ["one", "two"], 40, "min")
    again = tmp_path / "again"
    assert cli.main(["select", str(out / "scenario.toml"), "--out", str(again),
                     "--work-dir", str(tmp_path / "w2")]) == 0
    first, second = (json.loads((d / "selection.json").read_text()) for d in (out, again))
    assert first == second
    assert (again / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()
