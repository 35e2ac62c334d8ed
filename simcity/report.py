"""The comparison report: headline and change tables, the self-contained HTML page, and the
results folder of ``compare`` (written by :func:`simcity.output.write_results`, all-or-nothing,
into a fresh folder)."""

from __future__ import annotations

import datetime as _dt
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from simcity import __version__
from simcity.domain import Metric
from simcity.experiment import (
    ENTITY_COLUMNS,
    POSITION_COLUMNS,
    TABLE_COLUMNS,
    TIME_COLUMNS,
    Results,
)
from simcity.fileio import atomic_write_text
from simcity.maps import domain_figures
from simcity.meta import MetaError, ResultsMeta
from simcity.output import (
    OutputError,
    classed_table_html,
    figure_html,
    fmt,
    fmt_interval,
    is_share,
    metric_label,
    metric_title,
    page,
    shown,
    shown_unit,
    table_html,
    write_results,
)
from simcity.plots import Plot, heatmap_plot, metric_plot, time_plot, tradeoff_plot
from simcity.scenario import ScenarioError
from simcity.selection_report import load_selection, selection_page
from simcity.sweep_report import load_sweep, sweep_page

__all__ = ["FolderError", "OutputError", "Plot", "alerts", "change_table", "constant_metrics", "decision_lines",
           "decision_table", "headline_csv", "headline_metrics", "headline_table", "impossible_ends",
           "load", "make_plots", "render_html", "rerender", "sample_warnings", "save", "terminal_summary",
           "tradeoff_plots", "value_bounds", "clipped_intervals", "verdict"]


#: fewer replications than this and the report and terminal say the intervals mean little
MIN_REPLICATIONS = 5

#: cell classes (and colours) of a verdict
VERDICT_CLASS = {"better": "better", "worse": "worse", "no clear change": "same", "changed": "changed",
                 "no interval": "same"}


def _num(frame: pd.DataFrame, row: str, col: str) -> float:
    return float(frame.at[row, col])  # type: ignore[arg-type]


def verdict(low: float, high: float, better: str) -> str:
    """The verdict on a paired interval ``[low, high]`` of policy minus baseline.

    ``no clear change`` when it contains 0, ``better``/``worse`` by the metric's direction when
    it excludes 0, ``changed`` for a metric without a direction, ``no interval`` when it is
    undefined (fewer than two replications).
    """
    if math.isnan(low) or math.isnan(high):
        return "no interval"
    if low <= 0 <= high:
        return "no clear change"
    if better == "none":
        return "changed"
    return "better" if (high < 0) == (better == "lower") else "worse"


def _verdict(diff: float, significant: bool, better: str) -> str:
    if not significant:
        return "no clear change"
    if better == "none":
        return "changed"
    return "better" if (diff < 0) == (better == "lower") else "worse"


def constant_metrics(results: Results) -> list[str]:
    """Reported metrics whose value is the same under every policy in every replication
    (e.g. all zero): nothing to compare, so they are listed in one line, not tabled or drawn."""
    t = results.table
    out = []
    for metric in results.meta.reported_metrics:
        sub = t[t["metric"] == metric]
        if sub.empty:
            continue
        wide = sub.pivot_table(index="replication", columns="policy", values="value", aggfunc="first",
                               observed=True, dropna=False)
        vals = wide.to_numpy(dtype=float)
        first = vals[:, :1]
        same = (vals == first) | (np.isnan(vals) & np.isnan(first))
        if bool(same.all()):
            out.append(metric)
    return out


def headline_metrics(results: Results) -> list[str]:
    """The metrics the verdict weighs: the scenario's ``headline`` list, else every reported
    metric with a direction; metrics equal under every policy are left out."""
    sc = results.meta
    explicit = sc.headline
    chosen = list(explicit) if explicit else [
        m for m in sc.reported_metrics if sc.metric(m).better != "none"]
    flat = set(constant_metrics(results))
    return [m for m in chosen if m not in flat]


def decision_table(results: Results) -> pd.DataFrame:
    """One row per (policy other than the baseline, headline metric): the paired difference,
    its interval (identifiers and raw numbers) and the verdict (:func:`verdict`)."""
    sc = results.meta
    s = results.summary.set_index(["policy", "metric"])
    rows = []
    for p in sc.policy_names[1:]:
        for metric in headline_metrics(results):
            if (p, metric) not in s.index:
                continue
            lo, hi = (float(s.at[(p, metric), c]) for c in ("diff_ci_low", "diff_ci_high"))  # type: ignore[arg-type]
            d = float(s.at[(p, metric), "diff"])  # type: ignore[arg-type]
            rows.append((p, metric, d, lo, hi, verdict(lo, hi, sc.metric(metric).better)))
    return pd.DataFrame(rows, columns=["policy", "metric", "diff", "diff_ci_low", "diff_ci_high", "verdict"])


def _diff_text(m: Metric, d: float, lo: float, hi: float, with_unit: bool = True) -> str:
    unit = shown_unit(m, difference=True) if with_unit else ""
    a, b, c = (shown(m, x) for x in (d, lo, hi))
    dec = fmt_interval(a, b, c)[0]
    digits = dec.split(".")[1] if "." in dec else ""
    k = len(digits)
    sign = "+" if a > 0 and fmt(a, decimals=k) != fmt(0.0, decimals=k) else ""
    return (f"{sign}{fmt(a, decimals=k)}{' ' + unit if unit else ''} "
            f"[{fmt(b, decimals=k)}, {fmt(c, decimals=k)}]")


def decision_lines(results: Results) -> list[str]:
    """The verdict in words, one line per policy other than the baseline."""
    sc = results.meta
    dec = decision_table(results)
    lines = []
    for p in sc.policy_names[1:]:
        d = dec[dec["policy"] == p]
        parts = []
        for word in ("better", "worse", "changed"):
            rows = d[d["verdict"] == word]
            if not rows.empty:
                items = []
                for r in rows.itertuples():
                    dm = sc.metric(str(r.metric))
                    items.append(f"{metric_title(dm)} {_diff_text(dm, float(r.diff), float(r.diff_ci_low), float(r.diff_ci_high))}")  # type: ignore[arg-type]
                parts.append(f"{word} on " + "; ".join(items))
        rest = d[d["verdict"].isin(["no clear change", "no interval"])]
        if not rest.empty:
            names = ", ".join(metric_title(sc.metric(m)) for m in rest["metric"])
            parts.append(f"no clear change on {names}")
        lines.append(f"{p}: " + (" | ".join(parts) if parts else "no headline metric to compare") + ".")
    return lines


def sample_warnings(results: Results) -> list[str]:
    """A warning when the replications are too few for the intervals to mean much."""
    n = results.meta.replications
    if n >= MIN_REPLICATIONS:
        return []
    if n < 2:
        return [f"Too few replications: {n} per policy gives no confidence interval at all; "
                f"run at least {MIN_REPLICATIONS} (--replications) before deciding."]
    return [f"Too few replications: {n} per policy; the intervals are wide and rest on an "
            f"assumption of normality that {n} values cannot check. Run at least {MIN_REPLICATIONS} "
            "(--replications) before deciding."]


def value_bounds(results: Results, metric: str) -> tuple[float | None, float | None]:
    """The range ``metric`` can take, as far as the run shows: from 0 for a quantity with a unit
    whose every replication is >= 0 (a count, a time, a cost), up to 1 (100 %) for a share
    whose every replication is <= 1; ``None`` = unbounded on that side."""
    m = results.meta.metric(metric)
    t = results.table
    vals = t[t["metric"] == metric]["value"].to_numpy(dtype=float)
    vals = vals[~np.isnan(vals)]
    if vals.size == 0 or not m.unit:
        return None, None
    return (0.0 if vals.min() >= 0 else None), (1.0 if is_share(m) and vals.max() <= 1 else None)


def clipped_intervals(results: Results) -> dict[tuple[str, str], tuple[float, float, bool, bool]]:
    """(policy, metric) -> (low, high, low clipped, high clipped) for every interval that reaches
    beyond :func:`value_bounds`, its ends clipped to the bounds."""
    out: dict[tuple[str, str], tuple[float, float, bool, bool]] = {}
    bounds = {m: value_bounds(results, m) for m in results.summary["metric"].unique()}
    for r in results.summary.itertuples():
        lo_b, hi_b = bounds[str(r.metric)]
        low, high = float(r.ci_low), float(r.ci_high)  # type: ignore[arg-type]
        cut_low = lo_b is not None and low < lo_b
        cut_high = hi_b is not None and high > hi_b
        if cut_low or cut_high:
            out[(str(r.policy), str(r.metric))] = (max(low, lo_b) if lo_b is not None else low,
                                                   min(high, hi_b) if hi_b is not None else high, cut_low, cut_high)
    return out


def impossible_ends(results: Results) -> list[tuple[str, str]]:
    """(policy, metric) whose interval reaches where no replication went and the quantity
    cannot go: below 0 for a quantity whose every value is >= 0, above 100 % for a share
    (:func:`clipped_intervals`)."""
    return list(clipped_intervals(results))


IMPOSSIBLE_NOTE = ("† interval end clipped: the t interval reached below 0 (or above 100 %), where this "
                   "quantity cannot be; it is symmetric and, with few replications, wide. The cell shows "
                   "the interval [low, high] cut at the bound; add replications for a tighter one.")


def headline_table(results: Results) -> pd.DataFrame:
    """Metrics as rows (title and unit), policies as columns, cells 'mean ± half-width' in the
    shown unit (shares as %); metrics equal under every policy are left out
    (:func:`constant_metrics`).  An interval that reaches where the quantity cannot be is shown
    as ``mean [low, high]`` cut at the bound, the cut end marked ``†`` (:func:`clipped_intervals`)."""
    sc = results.meta
    s = results.summary
    flat = set(constant_metrics(results))
    odd = clipped_intervals(results)
    rows = {}
    for metric in sc.reported_metrics:
        if metric in flat:
            continue
        dm = sc.metric(metric)
        m = s[s["metric"] == metric].set_index("policy")
        cells = []
        for p in sc.policy_names:
            if p not in m.index:
                cells.append("–")
                continue
            mean, hw = fmt_interval(shown(dm, _num(m, p, "mean")), shown(dm, _num(m, p, "ci_low")),
                                    shown(dm, _num(m, p, "ci_high")))
            if (p, metric) not in odd:
                cells.append(f"{mean} ± {hw}")
                continue
            low, high, cut_low, cut_high = odd[(p, metric)]
            k = len(mean.split(".")[1]) if "." in mean else 0
            ends = [fmt(shown(dm, v), decimals=k) + ("†" if cut else "")
                    for v, cut in ((low, cut_low), (high, cut_high))]
            cells.append(f"{mean} [{ends[0]}, {ends[1]}]")
        rows[metric_label(dm)] = cells
    return pd.DataFrame.from_dict(rows, orient="index", columns=pd.Index(sc.policy_names, name="policy")
                                  ).rename_axis("metric")


def headline_csv(results: Results) -> pd.DataFrame:
    """The headline table for spreadsheets: identifiers, words and numbers in their own columns."""
    sc = results.meta
    s = results.summary
    rows = []
    for _, r in s.iterrows():
        dm = sc.metric(str(r["metric"]))
        base = r["policy"] == sc.baseline
        rows.append({
            "metric": dm.name, "title": metric_title(dm), "unit": dm.unit, "better": dm.better,
            "policy": str(r["policy"]), "n": int(r["n"]), "mean": r["mean"], "ci_low": r["ci_low"],
            "ci_high": r["ci_high"], "diff": None if base else r["diff"],
            "diff_ci_low": None if base else r["diff_ci_low"], "diff_ci_high": None if base else r["diff_ci_high"],
            "verdict": "baseline" if base else verdict(float(r["diff_ci_low"]), float(r["diff_ci_high"]), dm.better),
        })
    return pd.DataFrame(rows)


def change_table(results: Results) -> pd.DataFrame:
    """Metrics as rows, policies other than the baseline as columns: the paired change.

    Cells read ``"-1.2 [-1.5, -0.9] better"``: the mean paired difference to the baseline in
    the shown unit (named once, in the row label: percentage points for shares), its confidence
    interval, and the :func:`verdict`.
    """
    sc = results.meta
    s = results.summary
    others = [p for p in sc.policy_names if p != sc.baseline]
    flat = set(constant_metrics(results))
    rows: dict[str, list[str]] = {}
    for metric in sc.reported_metrics:
        if metric in flat:
            continue
        dm = sc.metric(metric)
        m = s[s["metric"] == metric].set_index("policy")
        cells = []
        for p in others:
            if p not in m.index:
                cells.append("–")
                continue
            d, lo, hi = _num(m, p, "diff"), _num(m, p, "diff_ci_low"), _num(m, p, "diff_ci_high")
            cells.append(f"{_diff_text(dm, d, lo, hi, with_unit=False)} {verdict(lo, hi, dm.better)}")
        rows[metric_label(dm, difference=True)] = cells
    return pd.DataFrame.from_dict(rows, orient="index", columns=pd.Index(others, name="policy")
                                  ).rename_axis("metric")


def constant_line(results: Results) -> str:
    """The metrics equal under every policy, in one line ('' when there are none)."""
    sc = results.meta
    flat = constant_metrics(results)
    if not flat:
        return ""
    s = results.summary
    items = []
    for metric in flat:
        dm = sc.metric(metric)
        r = s[(s["metric"] == metric) & (s["policy"] == sc.baseline)].iloc[0]
        mean, hw = fmt_interval(shown(dm, float(r["mean"])), shown(dm, float(r["ci_low"])),
                                shown(dm, float(r["ci_high"])))
        unit = shown_unit(dm)
        value = mean if hw in ("0", "–") else f"{mean} ± {hw}"
        items.append(f"{metric_title(dm)} {value}{' ' + unit if unit else ''}")
    return "The same under every policy in every replication: " + "; ".join(items) + "."


def alerts(results: Results) -> list[str]:
    """Warnings of the metrics that declare one (:attr:`simcity.domain.Metric.alert`), for
    each metric whose mean is above zero under some policy, naming those policies."""
    out = []
    s = results.summary
    for m in results.meta.metrics:
        if m.alert is None:
            continue
        rows = s[(s["metric"] == m.name) & (s["mean"] > 0)]
        if not rows.empty:
            names = ", ".join(str(p) for p in rows["policy"])
            out.append(f"Warning ({m.name} > 0 under {names}): {m.alert}.")
    return out


def _verdict_heading(results: Results) -> str:
    sc = results.meta
    level = int(round(sc.confidence * 100))
    return (f"Verdict against the baseline {sc.baseline} (paired {level}% intervals over "
            f"{sc.replications} replications; 'no clear change' when the interval contains 0)")


def terminal_summary(results: Results) -> str:
    """The verdict, then the headline and change tables, as plain text for the terminal."""
    sc = results.meta
    parts = [_verdict_heading(results) + ":"]
    parts += [f"  {line}" for line in decision_lines(results)] or ["  (only one policy: nothing to compare)"]
    parts += sample_warnings(results)
    head = headline_table(results)
    level = int(round(sc.confidence * 100))
    parts += ["", f"Mean ± half-width of the {level}% interval:", head.to_string()]
    if impossible_ends(results):
        parts.append(IMPOSSIBLE_NOTE)
    changes = change_table(results)
    if not changes.empty and len(changes.columns):
        parts += ["", f"Paired change against {sc.baseline} [{level}% interval]:", changes.to_string()]
    line = constant_line(results)
    if line:
        parts += ["", line]
    return "\n".join([*parts, *alerts(results)])


def tradeoff_plots(results: Results) -> list[Plot]:
    """The verdict's trade-off charts: one per metric pair the model declares
    (:attr:`simcity.domain.Domain.tradeoffs`, kept in ``meta.json``) whose two metrics are
    reported and differ between policies; none with a single policy."""
    sc = results.meta
    if len(sc.policy_names) < 2:
        return []
    flat = set(constant_metrics(results))
    reported = set(sc.reported_metrics) - flat
    return [tradeoff_plot(results.summary, sc.metric(x), sc.metric(y), sc.policy_names,
                          value_bounds(results, x), value_bounds(results, y))
            for x, y in sc.tradeoffs if x in reported and y in reported]


def _figures(results: Results) -> tuple[list[Plot], list[str]]:
    """Every plot of the report, in order, and notes on figures that could not be drawn."""
    sc = results.meta
    flat = set(constant_metrics(results))
    plots = tradeoff_plots(results)
    plots += [metric_plot(results.summary, sc.metric(m), sc.policy_names, value_bounds(results, m))
              for m in sc.reported_metrics if m not in flat]
    for metric in sc.time_plots:
        series = sc.series_metric(metric)
        p = time_plot(results.by_time, metric, sc.policy_names, sc.confidence, series=series)
        if p is not None:
            plots.append(p)
        h = heatmap_plot(results.by_time, metric, sc.policy_names, series=series)
        if h is not None:
            plots.append(h)
    notes: list[str] = []
    try:
        plots.extend(domain_figures(results))
    except Exception as exc:  # noqa: BLE001 - a broken map must not cost the user the results folder
        notes.append(f"The maps could not be drawn ({type(exc).__name__}: {exc}).")
    return plots, notes


def make_plots(results: Results) -> list[Plot]:
    """Every plot of the report, in order: comparison charts, time of day, maps."""
    return _figures(results)[0]


_SECTIONS = (
    ("comparison", "Comparison of policies",
     "Left: mean with its confidence interval. Right: paired difference to the baseline."),
    ("time", "Time of day", "Means over replications (and days) per hour."),
    ("map", "Maps", "Positions from the scenario's city setting; colours from the results."),
)


def _entity_table(results: Results) -> pd.DataFrame:
    """Per-entity results: mean over replications, one column per policy."""
    be = results.by_entity
    if be.empty:
        return pd.DataFrame()
    wide = be.pivot_table(index=["entity", "metric"], columns="policy", values="value", aggfunc="mean",
                          observed=True, sort=True)
    wide.columns = [str(c) for c in wide.columns]
    return wide.map(fmt)


def _verdict_html(results: Results) -> str:
    """The decision summary: per policy, each headline metric as a span with its verdict
    (``data-policy``, ``data-metric``, ``data-verdict`` let a test read it back)."""
    sc = results.meta
    e = html.escape
    dec = decision_table(results)
    if len(sc.policy_names) < 2:
        return "<p>Only one policy: nothing to compare.</p>"
    items = []
    for p in sc.policy_names[1:]:
        d = dec[dec["policy"] == p]
        groups = []
        for word in ("better", "worse", "changed", "no clear change", "no interval"):
            rows = d[d["verdict"] == word]
            if rows.empty:
                continue
            spans = []
            for r in rows.itertuples():
                dm = sc.metric(str(r.metric))
                detail = ("" if word in ("no clear change", "no interval")
                          else f" {_diff_text(dm, float(r.diff), float(r.diff_ci_low), float(r.diff_ci_high))}")  # type: ignore[arg-type]
                spans.append(f'<span class="{VERDICT_CLASS[word]}" data-policy="{e(p)}" data-metric="{e(dm.name)}" '
                             f'data-verdict="{e(word)}">{e(metric_title(dm))}{e(detail)}</span>')
            groups.append(f"{e(word)} on " + "; ".join(spans))
        body = " · ".join(groups) if groups else "no headline metric to compare"
        items.append(f"<li><b>{e(p)}</b>: {body}.</li>")
    return "<ul>" + "\n".join(items) + "</ul>"


def render_html(results: Results, plots: Sequence[Plot], notes: Sequence[str] = ()) -> str:
    """The self-contained report: the verdict, headline metrics, pictures, then details.

    Every piece of text that comes from the scenario file (names, descriptions, policy and
    entity names) is HTML-escaped; images are embedded as data URIs, so the file works offline
    and can be mailed on its own.
    """
    sc = results.meta
    e = html.escape
    level = int(round(sc.confidence * 100))
    diffs = results.summary[results.summary["policy"] != sc.baseline].copy()
    diff_view = pd.DataFrame({
        "policy": diffs["policy"].astype(str),
        "metric": diffs["metric"],
        "difference": diffs["diff"].map(fmt),
        f"{level}% CI low": diffs["diff_ci_low"].map(fmt),
        f"{level}% CI high": diffs["diff_ci_high"].map(fmt),
        "significant": diffs["diff_significant"].map(lambda b: "yes" if b else "no"),
    })
    metric_rows = pd.DataFrame(
        [(m.name, metric_title(m), sc.metric(m.name).unit, m.better) for m in sc.metrics
         if m.name in sc.reported_metrics],
        columns=["metric", "title", "unit", "better"],
    )
    policy_rows = pd.DataFrame([(p.name, p.description) for p in sc.policies], columns=["policy", "description"])
    tradeoff_html = "\n".join(figure_html(p) for p in plots if p.section == "verdict")
    if tradeoff_html:
        tradeoff_html = ("<h3>Trade-off</h3>\n<p>Each policy at its means, with the confidence intervals of "
                         "both metrics as bars.</p>\n" + tradeoff_html)
    pictures = []
    for key, heading, intro in _SECTIONS:
        sec = [p for p in plots if p.section == key]
        if sec:
            pictures.append(f'<h3 id="{key}">{e(heading)}</h3>\n<p>{e(intro)}</p>\n'
                            + "\n".join(figure_html(p) for p in sec))
    pictures.extend(figure_html(p) for p in plots if p.section not in {k for k, _, _ in _SECTIONS} | {"verdict"})
    note_html = "\n".join(f'<p class="note">{e(n)}</p>' for n in [*sample_warnings(results), *notes])
    dec = decision_table(results)
    classes = {}
    for r in dec.itertuples():
        classes[(str(r.policy), str(r.metric))] = VERDICT_CLASS[str(r.verdict)]
    flat = set(constant_metrics(results))
    shown_metrics = [m for m in sc.reported_metrics if m not in flat]
    head = headline_table(results)
    head_cls = pd.DataFrame([[classes.get((p, m), "") for p in head.columns] for m in shown_metrics],
                            index=head.index, columns=head.columns)
    changes = change_table(results)
    change_cls = pd.DataFrame([[classes.get((p, m), "same" if "no clear change" in str(changes.at[lab, p])
                                            else "changed") for p in changes.columns]
                               for m, lab in zip(shown_metrics, changes.index, strict=True)],
                              index=changes.index, columns=changes.columns)
    change_html = (f"<h3>Change against the baseline</h3>\n<p>Paired difference (policy minus "
                   f"<b>{e(sc.baseline)}</b>) with its {level}% confidence interval; shares in percentage "
                   f"points (pp); every policy sees the same random inputs (common random numbers). "
                   f"Green: better, red: worse (by each metric's direction), grey: no clear change, "
                   f"blue: changed (a metric without a direction).</p>\n"
                   f"{classed_table_html(changes, 'changes', change_cls)}"
                   if len(changes.columns) and not changes.empty else "")
    odd_html = f'<p class="meta">{e(IMPOSSIBLE_NOTE)}</p>' if impossible_ends(results) else ""
    line = constant_line(results)
    flat_html = f'<p class="meta" id="constant-metrics">{e(line)}</p>' if line else ""
    entities = _entity_table(results)
    entity_html = (f"<details><summary>Per-entity results (mean over replications)</summary>\n"
                   f'<div class="wide">{table_html(entities, "entities")}</div></details>' if not entities.empty else "")
    source = f" · file {e(sc.source_name)}" if sc.source_name is not None else ""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return page(f"{sc.name} – simcity report", f"""<h1>{e(sc.name)}</h1>
<p class="meta" id="provenance">Scenario <b>{e(sc.name)}</b>{source} · model <b>{e(sc.model_title)}</b> ·
seed {sc.seed} · {sc.replications} replications per policy · horizon {fmt(sc.horizon_hours)} h
(warm-up {fmt(sc.warmup_hours)} h) · {level}% confidence · simcity {e(__version__)} · generated {stamp}</p>
<p>{e(sc.description)}</p>
<nav><a href="#verdict">Verdict</a><a href="#headline-metrics">Headline metrics</a><a href="#pictures">Pictures</a><a href="#details">Details</a></nav>
{note_html}
<section id="verdict"><h2>Verdict</h2>
<p>{e(_verdict_heading(results))}.</p>
{_verdict_html(results)}
{tradeoff_html}</section>
<h2 id="headline-metrics">Headline metrics</h2>
<p>Mean ± half-width of the {level}% confidence interval over {sc.replications} replications; shares in %.
Baseline: <b>{e(sc.baseline)}</b>.</p>
{classed_table_html(head, "headline", head_cls)}
{odd_html}
{flat_html}
{change_html}
<h2 id="pictures">Pictures</h2>
{"".join(pictures)}
<h2 id="details">Details</h2>
<h3>Policies</h3>
{table_html(policy_rows.set_index("policy"), "policies")}
<h3>Metrics</h3>
{table_html(metric_rows.set_index("metric"), "metrics")}
<h3>Differences against the baseline</h3>
<div class="wide">{table_html(diff_view.set_index("policy"), "differences")}</div>
{entity_html}
<details id="resolved"><summary>Resolved scenario (every default filled in; save it as a .toml file to run it again)</summary>
<pre>{e(sc.resolved_toml)}</pre></details>""")


def save(results: Results, out: str | Path, *, notes: Sequence[str] = (),
         texts: Mapping[str, str] = {}, overwrite: bool = False) -> Path:  # noqa: B006 - read only
    """Write the results folder (tables, plots, report) to the fresh folder ``out``, all-or-nothing
    (``overwrite=True`` replaces a previous results folder there, once the new one is complete).

    ``notes`` are shown at the top of the report (e.g. how many replications a precision needed);
    ``texts`` are extra files (name -> content) of the folder.  The folder carries its own
    metadata (``meta.json``, ``positions.csv``), so :func:`rerender` draws the report again
    from it without the model."""
    meta = results.meta.with_notes(notes)
    plots, fig_notes = _figures(results)
    tables = {"replications": results.table, "summary": results.summary}
    if not results.by_entity.empty:
        tables["by_entity"] = results.by_entity
    if not results.by_time.empty:
        tables["by_time"] = results.by_time
    if not results.positions.empty:
        tables["positions"] = results.positions
    files = {"timing.csv": results.timing.to_csv(index=False),
             "headline.csv": "\ufeff" + headline_csv(results).to_csv(index=False),
             "meta.json": meta.to_json(), **texts}
    return write_results(out, scenario=results.scenario, tables=tables, texts=files, plots=plots,
                         overwrite=overwrite, report_html=render_html(results, plots, [*notes, *alerts(results), *fig_notes]))


class FolderError(Exception):
    """A folder that is not a readable ``compare`` results folder."""


def _read_table(folder: Path, stem: str, columns: Sequence[str], policies: Sequence[str]) -> pd.DataFrame:
    path = folder / f"{stem}.parquet"
    if not path.exists():
        df = pd.DataFrame(columns=list(columns))
    else:
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds; name the file
            raise FolderError(f"{path}: cannot read the table ({type(exc).__name__}: {exc})") from None
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise FolderError(f"{path}: columns {missing} are missing")
    if "policy" in df.columns:
        df["policy"] = df["policy"].astype(str).astype(pd.CategoricalDtype(list(policies), ordered=True))
    return df


def load(folder: str | Path) -> Results:
    """The results of a ``compare`` results folder written by :func:`save`, read back with their
    metadata only: no scenario, no model, no domain registry (:attr:`Results.scenario` is not
    available; :attr:`Results.meta` is)."""
    folder = Path(folder)
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        what = ("a sweep, selection or warm-up folder, or one written by an older simcity"
                if (folder / "scenario.toml").is_file() else "not a results folder")
        raise FolderError(f"{folder}: no meta.json ({what}); 'simcity report' re-renders compare results")
    try:
        meta = ResultsMeta.from_json(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, MetaError) as exc:
        raise FolderError(f"{meta_path}: {exc}") from None
    pols = meta.policy_names
    timing_path = folder / "timing.csv"
    timing = (pd.read_csv(timing_path) if timing_path.is_file()
              else pd.DataFrame(columns=["policy", "replication", "seconds"]))
    timing["policy"] = timing["policy"].astype(str).astype(pd.CategoricalDtype(pols, ordered=True))
    return Results(None, _read_table(folder, "replications", TABLE_COLUMNS, pols),
                   _read_table(folder, "by_entity", ENTITY_COLUMNS, pols),
                   _read_table(folder, "by_time", TIME_COLUMNS, pols), timing, meta=meta,
                   positions=_read_table(folder, "positions", POSITION_COLUMNS, pols))


def rerender(folder: str | Path, out: str | Path | None = None) -> Path:
    """Draw the report of a saved ``compare`` folder again from the folder alone (:func:`load`)
    and write it to ``out`` (default: the folder's ``report.html``, replaced atomically)."""
    target = Path(out) if out is not None else Path(folder) / "report.html"
    kind = _experiment_kind(Path(folder))
    if kind is not None:
        return atomic_write_text(target, _experiment_page(Path(folder), kind))
    results = load(folder)
    plots, fig_notes = _figures(results)
    html_text = render_html(results, plots, [*results.meta.notes, *alerts(results), *fig_notes])
    return atomic_write_text(target, html_text)


def _experiment_kind(folder: Path) -> str | None:
    """``"select"`` or ``"sweep"`` for the folders those commands write, else ``None``."""
    if not (folder / "scenario.toml").is_file() or (folder / "meta.json").is_file():
        return None
    if (folder / "selection.json").is_file():
        return "select"
    return "sweep" if (folder / "design.parquet").is_file() else None


def _experiment_page(folder: Path, kind: str) -> str:
    """The report page of a sweep or selection folder, drawn again from its resolved scenario
    (the model's plug-in must be installed) and tables."""
    try:
        if kind == "select":
            return selection_page(load_selection(folder))[0]
        return sweep_page(load_sweep(folder))[0]
    except ScenarioError as exc:
        raise FolderError(f"{folder / 'scenario.toml'}: {exc}") from None
    except (OSError, KeyError, ValueError) as exc:
        raise FolderError(f"{folder}: cannot read the {kind} results ({exc})") from None
