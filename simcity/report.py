"""The comparison report: headline and change tables, the self-contained HTML page, and the
results folder of ``compare`` (written by :func:`simcity.output.write_results`, all-or-nothing,
into a fresh folder)."""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from simcity import __version__
from simcity.experiment import Results
from simcity.maps import domain_figures
from simcity.output import OutputError, figure_html, fmt, page, table_html, write_results
from simcity.plots import Plot, heatmap_plot, metric_plot, time_plot

__all__ = ["OutputError", "Plot", "alerts", "change_table", "headline_table", "make_plots", "render_html",
           "save", "terminal_summary"]


def _num(frame: pd.DataFrame, row: str, col: str) -> float:
    return float(frame.at[row, col])  # type: ignore[arg-type]


def headline_table(results: Results) -> pd.DataFrame:
    """Policies as rows, metrics as columns, cells 'mean ± half-width' (text)."""
    s = results.summary
    cols = {}
    for metric in results.scenario.reported_metrics:
        m = s[s["metric"] == metric].set_index("policy")
        unit = results.scenario.domain.metric(metric).unit
        label = f"{metric} ({unit})" if unit else metric
        cols[label] = [
            f"{fmt(_num(m, p, 'mean'))} ± {fmt((_num(m, p, 'ci_high') - _num(m, p, 'ci_low')) / 2, 2)}"
            if p in m.index else "–"
            for p in results.scenario.policy_names
        ]
    return pd.DataFrame(cols, index=pd.Index(results.scenario.policy_names, name="policy"))


def alerts(results: Results) -> list[str]:
    """Warnings of the metrics that declare one (:attr:`simcity.domain.Metric.alert`), for
    each metric whose mean is above zero under some policy, naming those policies."""
    out = []
    s = results.summary
    for m in results.scenario.domain.metrics:
        if m.alert is None:
            continue
        rows = s[(s["metric"] == m.name) & (s["mean"] > 0)]
        if not rows.empty:
            names = ", ".join(str(p) for p in rows["policy"])
            out.append(f"Warning ({m.name} > 0 under {names}): {m.alert}.")
    return out


def terminal_summary(results: Results) -> str:
    """The summary as a plain-text table for the terminal."""
    s = results.summary
    level = int(round(results.scenario.confidence * 100))
    rows = []
    for _, r in s.iterrows():
        base = r["policy"] == results.scenario.baseline
        rows.append({
            "metric": r["metric"],
            "policy": r["policy"],
            "mean": fmt(r["mean"]),
            f"{level}% CI": f"[{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]",
            "diff vs baseline": "(baseline)" if base else fmt(r["diff"]),
            f"diff {level}% CI": "" if base else
            f"[{fmt(r['diff_ci_low'])}, {fmt(r['diff_ci_high'])}]" + (" *" if r["diff_significant"] else ""),
        })
    text = pd.DataFrame(rows).to_string(index=False)
    text += f"\n(* paired {level}% CI excludes 0; n = replications per policy)"
    return "\n".join([text, *alerts(results)])


def change_table(results: Results) -> pd.DataFrame:
    """Policies other than the baseline as rows, metrics as columns: the paired change.

    Cells read ``"-1.2 [-1.5, -0.9] better"``: the mean paired difference to the baseline, its
    confidence interval, and a verdict - ``better``/``worse`` when the interval excludes zero
    (by the metric's direction), ``changed`` for a metric without a direction, ``no clear
    change`` when the interval contains zero.
    """
    sc = results.scenario
    s = results.summary
    others = [p for p in sc.policy_names if p != sc.baseline]
    cols: dict[str, list[str]] = {}
    for metric in sc.reported_metrics:
        m = s[s["metric"] == metric].set_index("policy")
        better = sc.domain.metric(metric).better
        cells = []
        for p in others:
            if p not in m.index:
                cells.append("–")
                continue
            d, lo, hi = _num(m, p, "diff"), _num(m, p, "diff_ci_low"), _num(m, p, "diff_ci_high")
            cells.append(f"{fmt(d)} [{fmt(lo)}, {fmt(hi)}] {_verdict(d, bool(m.at[p, 'diff_significant']), better)}")
        cols[metric] = cells
    return pd.DataFrame(cols, index=pd.Index(others, name="policy"))


def _verdict(diff: float, significant: bool, better: str) -> str:
    if not significant:
        return "no clear change"
    if better == "none":
        return "changed"
    return "better" if (diff < 0) == (better == "lower") else "worse"


def _figures(results: Results) -> tuple[list[Plot], list[str]]:
    """Every plot of the report, in order, and notes on figures that could not be drawn."""
    sc = results.scenario
    plots = [metric_plot(results.summary, sc.domain.metric(m), sc.policy_names) for m in sc.reported_metrics]
    for metric in sc.domain.time_plots:
        p = time_plot(results.by_time, metric, sc.policy_names, sc.confidence)
        if p is not None:
            plots.append(p)
        h = heatmap_plot(results.by_time, metric, sc.policy_names)
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


def render_html(results: Results, plots: Sequence[Plot], notes: Sequence[str] = ()) -> str:
    """The self-contained report: headline metrics, pictures, then details.

    Every piece of text that comes from the scenario file (names, descriptions, policy and
    entity names) is HTML-escaped; images are embedded as data URIs, so the file works offline
    and can be mailed on its own.
    """
    sc = results.scenario
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
        [(m.name, m.unit, m.better, m.description) for m in sc.domain.metrics if m.name in sc.reported_metrics],
        columns=["metric", "unit", "better", "description"],
    )
    policy_rows = pd.DataFrame([(p.name, p.description) for p in sc.policy_list], columns=["policy", "description"])
    pictures = []
    for key, heading, intro in _SECTIONS:
        sec = [p for p in plots if p.section == key]
        if sec:
            pictures.append(f'<h3 id="{key}">{e(heading)}</h3>\n<p>{e(intro)}</p>\n'
                            + "\n".join(figure_html(p) for p in sec))
    pictures.extend(figure_html(p) for p in plots if p.section not in {k for k, _, _ in _SECTIONS})
    note_html = "\n".join(f'<p class="note">{e(n)}</p>' for n in notes)
    changes = change_table(results)
    change_html = (f"<h3>Change against the baseline</h3>\n<p>Paired difference (policy minus "
                   f"<b>{e(sc.baseline)}</b>) with its {level}% confidence interval; every policy sees the "
                   f"same random inputs (common random numbers).</p>\n{table_html(changes, 'changes')}"
                   if not changes.empty else "")
    entities = _entity_table(results)
    entity_html = (f"<details><summary>Per-entity results (mean over replications)</summary>\n"
                   f"{table_html(entities, 'entities')}</details>" if not entities.empty else "")
    source = f" · file {e(sc.source.name)}" if sc.source is not None else ""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return page(f"{sc.name} – simcity report", f"""<h1>{e(sc.name)}</h1>
<p class="meta" id="provenance">Scenario <b>{e(sc.name)}</b>{source} · model <b>{e(sc.domain.title)}</b> ·
seed {sc.seed} · {sc.replications} replications per policy · horizon {fmt(sc.horizon_hours)} h
(warm-up {fmt(sc.warmup_hours)} h) · {level}% confidence · simcity {e(__version__)} · generated {stamp}</p>
<p>{e(sc.description)}</p>
<nav><a href="#headline-metrics">Headline metrics</a><a href="#pictures">Pictures</a><a href="#details">Details</a></nav>
{note_html}
<h2 id="headline-metrics">Headline metrics</h2>
<p>Mean ± half-width of the {level}% confidence interval over {sc.replications} replications.
Baseline: <b>{e(sc.baseline)}</b>.</p>
{table_html(headline_table(results), "headline")}
{change_html}
<h2 id="pictures">Pictures</h2>
{"".join(pictures)}
<h2 id="details">Details</h2>
<h3>Policies</h3>
{table_html(policy_rows.set_index("policy"), "policies")}
<h3>Metrics</h3>
{table_html(metric_rows.set_index("metric"), "metrics")}
<h3>Differences against the baseline</h3>
{table_html(diff_view.set_index("policy"), "differences")}
{entity_html}
<details id="resolved"><summary>Resolved scenario (every default filled in; save it as a .toml file to run it again)</summary>
<pre>{e(sc.to_toml())}</pre></details>""")


def save(results: Results, out: str | Path, *, notes: Sequence[str] = (),
         texts: Mapping[str, str] = {}) -> Path:  # noqa: B006 - read only
    """Write the results folder (tables, plots, report) to the fresh folder ``out``, all-or-nothing.

    ``notes`` are shown at the top of the report (e.g. how many replications a precision needed);
    ``texts`` are extra files (name -> content) of the folder."""
    sc = results.scenario
    plots, fig_notes = _figures(results)
    tables = {"replications": results.table, "summary": results.summary}
    if not results.by_entity.empty:
        tables["by_entity"] = results.by_entity
    if not results.by_time.empty:
        tables["by_time"] = results.by_time
    files = {"timing.csv": results.timing.to_csv(index=False),
             "headline.csv": headline_table(results).reset_index().to_csv(index=False), **texts}
    return write_results(out, scenario_toml=sc.to_toml(), tables=tables, texts=files, plots=plots,
                         report_html=render_html(results, plots, [*notes, *alerts(results), *fig_notes]))
