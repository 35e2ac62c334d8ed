"""What a planner reads: number formatting, the verdict, small samples, flat metrics.

The results here are built by hand (a tidy replication table with chosen values), so every
expected figure is computed on paper in the comments.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from simcity import report
from simcity.domain import Metric
from simcity.experiment import Results
from simcity.output import fmt, fmt_interval
from simcity.scenario import parse_scenario_text
from simcity.stats import summarize
from tests.toydomain import TOY_TOML


@pytest.mark.parametrize(("x", "kw", "text"), [
    (11596.3, {}, "11,596"),
    (1234567.0, {}, "1,234,567"),
    (-0.000206, {}, "-0.000206"),       # was -2.060e-04
    (0.46912, {}, "0.4691"),
    (24.0, {}, "24"),                   # trailing zeros carry nothing
    (3.0e-9, {}, "0"),                  # below the sixth decimal: no scientific notation
    (float("nan"), {}, "–"),
    (2.0, {"decimals": 2}, "2.00"),     # fixed decimals keep their zeros
    (-0.004, {"decimals": 2}, "0.00"),  # no '-0.00'
])
def test_fmt(x: float, kw: dict[str, int], text: str) -> None:
    """fmt prints numbers as a planner reads them: thousands separators, significant digits without
    trailing zeros, no scientific notation (tiny values read 0), '–' for nan, fixed decimals when
    asked and no '-0.00'."""
    assert fmt(x, **kw) == text


def test_fmt_interval_shares_decimals_of_the_half_width() -> None:
    """fmt_interval gives the half-width two significant digits and the mean the same decimals
    (11,596 ± 880, was 11,596 ± 8.8e+02); a zero half-width reads 0, an undefined one '–'."""
    # 11,596 ± 880 (was '11,596 ± 8.8e+02'): two significant digits of the half-width
    assert fmt_interval(11596.0, 10716.0, 12476.0) == ("11,596", "880")
    # half-width 0.0123 -> 0.012 (3 decimals); the mean gets the same 3 decimals
    assert fmt_interval(46.91234, 46.9, 46.9246) == ("46.912", "0.012")
    assert fmt_interval(5.0, 5.0, 5.0) == ("5", "0")
    assert fmt_interval(5.0, float("nan"), float("nan")) == ("5", "–")


def _results(values: dict[str, dict[str, list[float]]], reps: int, headline: str = "") -> Results:
    """Toy-domain results whose replication table holds exactly ``values[policy][metric]``."""
    text = TOY_TOML.replace("replications = 6", f"replications = {reps}\n{headline}")
    sc = parse_scenario_text(text)
    rows = [(p, r, m, v) for p, per in values.items() for m, vs in per.items() for r, v in enumerate(vs)]
    table = pd.DataFrame(rows, columns=["policy", "replication", "metric", "value"])
    table["policy"] = pd.Categorical(table["policy"], categories=sc.policy_names, ordered=True)
    summary = summarize(table, sc.policy_names, sc.reported_metrics, sc.confidence)
    res = Results(sc, table, pd.DataFrame(columns=["policy", "replication", "entity", "metric", "value"]),
                  pd.DataFrame(columns=["policy", "replication", "entity", "time_h", "metric", "value"]),
                  pd.DataFrame())
    res.summary = summary  # type: ignore[misc]
    return res


# blocking (share, lower is better), occupancy (no direction), served (higher is better)
HAND = {
    # paired blocking differences two-one: -0.10, -0.12, -0.08 -> mean -0.10, sd 0.02,
    # half-width t(0.975, 2) * 0.02 / sqrt 3 = 4.3027 * 0.011547 = 0.04968 -> [-0.1497, -0.0503]
    # served differences two-one: +1, -1, +3 -> mean 1, sd 2, hw 4.3027*2/sqrt3 = 4.968: contains 0
    "one": {"blocking": [0.30, 0.32, 0.28], "occupancy": [1.0, 1.0, 1.0], "served": [10.0, 12.0, 8.0]},
    "two": {"blocking": [0.20, 0.20, 0.20], "occupancy": [1.0, 1.0, 1.0], "served": [11.0, 11.0, 11.0]},
    # three is worse on blocking: +0.05 in every replication (sd 0: interval [0.05, 0.05])
    "three": {"blocking": [0.35, 0.37, 0.33], "occupancy": [1.0, 1.0, 1.0], "served": [10.0, 12.0, 8.0]},
}


def test_verdict_on_hand_computed_intervals() -> None:
    """On hand-computed paired intervals (two: -0.10 [-0.14968, -0.05032] on blocking) the decision
    table and its words say better / worse / no clear change as the intervals and directions do;
    the flat, directionless occupancy is not a headline metric."""
    res = _results(HAND, 3)
    dec = report.decision_table(res).set_index(["policy", "metric"])
    # occupancy has no direction and is the same everywhere: not a headline metric
    assert set(dec.index.get_level_values("metric")) == {"blocking", "served"}
    two = dec.loc[("two", "blocking")]
    assert two["diff"] == pytest.approx(-0.10)
    assert two["diff_ci_low"] == pytest.approx(-0.14968, abs=1e-4)
    assert two["diff_ci_high"] == pytest.approx(-0.05032, abs=1e-4)
    assert two["verdict"] == "better"
    assert dec.loc[("two", "served"), "verdict"] == "no clear change"
    assert dec.loc[("three", "blocking"), "verdict"] == "worse"
    assert dec.loc[("three", "served"), "verdict"] == "no clear change"  # identical: diff 0
    lines = report.decision_lines(res)
    assert lines[0] == ("two: better on Share of arrivals lost -10.0 pp [-15.0, -5.0] | "
                        "no clear change on Customers served.")
    assert lines[1].startswith("three: worse on Share of arrivals lost +5 pp [5, 5]")


def test_terminal_opens_with_the_verdict_and_warns_on_few_replications() -> None:
    """The terminal output opens with the verdict lines, warns with 3 replications but not with 5,
    and names the metric equal under every policy in one line instead of a table row."""
    text = report.terminal_summary(_results(HAND, 3))
    first, second = text.splitlines()[:2]
    assert first.startswith("Verdict against the baseline one")
    assert second.strip().startswith("two: better on Share of arrivals lost")
    assert "Too few replications: 3 per policy" in text
    # the flat metric is named once, in one line, not tabled
    assert "The same under every policy in every replication: Time-average busy servers 1 servers." in text
    assert "Time-average busy servers (servers)" not in text
    five = {p: {m: v + v[:2] for m, v in per.items()} for p, per in HAND.items()}
    assert "Too few replications" not in report.terminal_summary(_results(five, 5))


def test_headline_list_of_the_scenario_chooses_the_verdict_metrics() -> None:
    """A scenario's headline list chooses the verdict's metrics (only 'served'), and a headline
    naming no metric is refused by the scenario loader."""
    res = _results(HAND, 3, headline='headline = ["served"]\n')
    assert set(report.decision_table(res)["metric"]) == {"served"}
    with pytest.raises(Exception, match="headline"):
        parse_scenario_text(TOY_TOML.replace("replications = 6", 'replications = 6\nheadline = ["nope"]'))


def test_impossible_interval_ends_are_marked() -> None:
    """An interval reaching below 0 for a count that no replication took below 0 (served 0, 0, 9:
    mean 3, half-width 12.9) is listed, shown clipped as '3 [0†, 16]' with the footnote in the
    terminal; a policy within [0, inf) keeps 'mean ± half-width'."""
    # served of 'one': 0, 0, 9 -> mean 3, sd 5.196, hw 4.3027 * 3 = 12.9: low end -9.9 < 0
    # although no replication was negative; 'two' stays within [0, inf)
    vals = {p: {m: list(v) for m, v in per.items()} for p, per in HAND.items()}
    vals["one"]["served"] = [0.0, 0.0, 9.0]
    res = _results(vals, 3)
    assert ("one", "served") in report.impossible_ends(res)
    assert ("two", "served") not in report.impossible_ends(res)
    head = report.headline_table(res)
    # the low end is clipped at 0 and marked; the high end 3 + 12.9 = 15.9 shown at the
    # half-width's precision (2 significant digits of 12.9: no decimals)
    assert head.at["Customers served (customers)", "one"] == "3 [0†, 16]"
    assert " ± " in head.at["Customers served (customers)", "two"]
    assert "†" not in head.at["Customers served (customers)", "two"]
    assert report.IMPOSSIBLE_NOTE in report.terminal_summary(res)


@pytest.mark.parametrize("model", ["parking", "garbage", "bikes"])
def test_every_domain_declares_a_tradeoff_and_titles_for_its_time_plots(model: str) -> None:
    """Each shipped domain has a verdict trade-off chart whose two metrics exist and at least
    one of which has a direction (parking's charges have none), and every time-plot series has a title and unit (declared series or metric), so no
    chart falls back to an identifier."""
    from simcity import domains

    dom = domains.get(model)
    names = {m.name for m in dom.metrics}
    assert dom.tradeoffs
    for x, y in dom.tradeoffs:
        assert {x, y} <= names
        assert (dom.metric(x).better, dom.metric(y).better) != ("none", "none")
    declared = {m.name: m for m in (*dom.series, *dom.metrics)}
    for series in dom.time_plots:
        m = declared[series]
        assert m.description and m.description != m.name and m.unit


def test_totals_over_the_window_name_their_period() -> None:
    """A metric the domain declares a total over the statistics window gets the window in its
    unit: parking's drivers lost over 36 h minus 12 h warm-up are 'drivers/day', over 48 h
    'drivers/2 days', over 30 h '/30 h'; a rate (drivers/day already) is left alone."""
    from simcity.meta import ResultsMeta

    m = ResultsMeta(name="x", description="", model="parking", model_title="Parking", seed=1,
                    replications=2, horizon_hours=36.0, warmup_hours=12.0, confidence=0.95, policies=(),
                    metrics=(Metric("drivers_lost", "Drivers who gave up", "drivers", "lower"),
                             Metric("illegal_per_day", "Pavement parkers", "drivers/day", "lower")),
                    reported_metrics=["drivers_lost", "illegal_per_day"], headline=None,
                    window_totals=("drivers_lost",))
    assert m.metric("drivers_lost").unit == "drivers/day"
    assert m.metric("illegal_per_day").unit == "drivers/day"
    assert m.window_unit("drivers") == "drivers/day"
    assert replace(m, horizon_hours=60.0).metric("drivers_lost").unit == "drivers/2 days"
    assert replace(m, horizon_hours=42.0).metric("drivers_lost").unit == "drivers/30 h"
    again = ResultsMeta.from_json(m.to_json())
    assert again.metric("drivers_lost").unit == "drivers/day" and again.window_totals == ("drivers_lost",)


def test_sweep_tables_read_in_words_and_rounded_numbers() -> None:
    """The sweep's terminal tables (sensitivity, main effects) and report tables name the
    response by its title and unit and the swept key in words, print the toy's blocking share
    in % with the decimals its interval supports, and never the raw six decimals or the dotted
    key the sweep table printed before (issue 21)."""
    import re

    from simcity.backends import SerialBackend
    from simcity.sweep import run_sweep
    from simcity.sweep_report import design_view, terminal_summary

    sc = parse_scenario_text(TOY_TOML.replace("replications = 6", "replications = 3") + """
[sweep]
responses = ["blocking", "served"]
[[sweep.parameters]]
path = "city.arrival_rate"
values = [1.0, 3.0]
""")
    res = run_sweep(sc, backend=SerialBackend())
    text = terminal_summary(res)
    assert "Share of arrivals lost (%):" in text and "Customers served (customers):" in text
    assert "arrival rate – city" in text and "city.arrival_rate" not in text
    assert "blocking" not in text.replace("blocking share", "")
    assert not re.search(r"\d\.\d{5,}", text), text  # no raw six-decimal numbers
    eff = res.effects[(res.effects["metric"] == "blocking") & (res.effects["policy"] == "one")]
    top = eff.sort_values("value")["mean"].iloc[-1]
    assert fmt(100 * top, digits=3).split(".")[0] in text  # the share is printed in %
    design = design_view(res)
    assert list(design.columns) == ["arrival rate – city"] and list(design.iloc[:, 0]) == ["1", "3"]


def test_selection_table_and_statement_in_the_metrics_words(tmp_path: Path) -> None:
    """The selection's table and statement name the metric by its title, give shares in % and
    delta in percentage points, with no raw six-decimal numbers."""
    import re

    from simcity.backends import SerialBackend
    from simcity.selection import select
    from simcity.selection_report import statement, summary_view

    sc = parse_scenario_text(TOY_TOML.replace("replications = 6", "replications = 3") + """
[selection]
metric = "blocking"
goal = "min"
delta = 0.01
initial_replications = 3
max_replications = 6
""")
    sel = select(sc, backend=SerialBackend(), work_root=tmp_path)
    words = statement(sel)
    assert "Share of arrivals lost" in words and "blocking" not in words and "delta = 1 pp" in words
    view = summary_view(sel)
    assert list(view.columns) == ["policy", "replications", "mean (%)", "95% interval",
                                  "difference to the best (pp)", "status"]
    best = sel.summary.set_index("policy").loc[sel.summary["policy"].iloc[0], "mean"]
    assert view["mean (%)"].iloc[0].startswith(fmt(100 * best, digits=2)[:3])
    assert not re.search(r"\d\.\d{5,}", view.to_string())
