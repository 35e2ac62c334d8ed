"""Results folders and the self-contained HTML report.

:func:`save` writes a comparison's results to a *fresh* folder, atomically: everything is
written into a hidden sibling folder that is renamed into place only when complete, so an
interrupted run never leaves a half-written results folder and never touches an existing one.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from simcity import __version__
from simcity.experiment import Results
from simcity.fileio import atomic_write_bytes, atomic_write_text
from simcity.plots import Plot, metric_plot, time_plot


class OutputError(Exception):
    """The results folder cannot be written (exists, not writable...)."""


def fmt(x: float, digits: int = 4) -> str:
    """Format a number for tables: significant digits, thousands separators, '-' for nan."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    ax = abs(x)
    if ax != 0 and (ax >= 1e7 or ax < 1e-3):
        return f"{x:.{digits - 1}e}"
    if ax >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def headline_table(results: Results) -> pd.DataFrame:
    """Policies as rows, metrics as columns, cells 'mean ± half-width' (text)."""
    s = results.summary
    cols = {}
    for metric in results.scenario.reported_metrics:
        m = s[s["metric"] == metric].set_index("policy")
        unit = results.scenario.domain.metric(metric).unit
        label = f"{metric} ({unit})" if unit else metric
        cols[label] = [
            f"{fmt(m.at[p, 'mean'])} ± {fmt((m.at[p, 'ci_high'] - m.at[p, 'ci_low']) / 2, 2)}"
            if p in m.index else "–"
            for p in results.scenario.policy_names
        ]
    return pd.DataFrame(cols, index=pd.Index(results.scenario.policy_names, name="policy"))


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
    return text + f"\n(* paired {level}% CI excludes 0; n = replications per policy)"


def make_plots(results: Results) -> list[Plot]:
    """Every plot of the report, in order."""
    sc = results.scenario
    plots = [metric_plot(results.summary, sc.domain.metric(m), sc.policy_names) for m in sc.reported_metrics]
    for metric in sc.domain.time_plots:
        p = time_plot(results.by_time, metric, sc.policy_names, sc.confidence)
        if p is not None:
            plots.append(p)
    return plots


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem} h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0} th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
.meta{color:#555} figure{margin:1rem 0} img{max-width:100%} pre{background:#f6f6f6;padding:.75rem;overflow-x:auto;font-size:.8rem}
"""


def _table_html(df: pd.DataFrame, table_id: str) -> str:
    # DataFrame.to_html escapes cell text and labels (escape=True is the default)
    return df.to_html(table_id=table_id, border=0, escape=True, na_rep="–")


def render_html(results: Results, plots: Sequence[Plot]) -> str:
    """The self-contained report: headline table, differences, plots, details."""
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
    figs = "\n".join(
        f'<figure id="{e(p.name)}"><img alt="{e(p.title)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.png).decode("ascii")}"><figcaption>{e(p.title)}</figcaption></figure>'
        for p in plots
    )
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(sc.name)} – simcity report</title>
<style>{_CSS}</style></head><body>
<h1>{e(sc.name)}</h1>
<p class="meta">Model <b>{e(sc.domain.title)}</b> · seed {sc.seed} · {sc.replications} replications per policy ·
horizon {fmt(sc.horizon_hours)} h (warm-up {fmt(sc.warmup_hours)} h) · {level}% confidence ·
simcity {e(__version__)} · generated {stamp}</p>
<p>{e(sc.description)}</p>
<h2>Headline metrics</h2>
<p>Mean ± half-width of the {level}% confidence interval over replications. Baseline: <b>{e(sc.baseline)}</b>.</p>
{_table_html(headline_table(results), "headline")}
<h2>Differences against the baseline</h2>
<p>Paired by replication (every policy sees the same random inputs: common random numbers).</p>
{_table_html(diff_view.set_index("policy"), "differences")}
<h2>Plots</h2>
{figs}
<h2>Details</h2>
<h3>Policies</h3>
{_table_html(policy_rows.set_index("policy"), "policies")}
<h3>Metrics</h3>
{_table_html(metric_rows.set_index("metric"), "metrics")}
<h3>Resolved scenario</h3>
<pre>{e(sc.to_toml())}</pre>
</body></html>
"""


def default_out_dir(results: Results, root: str | Path = "results") -> Path:
    """``results/<scenario-name>-<UTC timestamp>``."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in results.scenario.name)[:60]
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{safe}-{stamp}"


def check_out_dir(out: Path) -> None:
    """Refuse an existing non-empty folder before any work starts."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"{out}: results folder already exists and is not empty; choose a fresh --out")


def save(results: Results, out: str | Path) -> Path:
    """Write the results folder (tables, plots, report) to the fresh folder ``out``."""
    out = Path(out)
    check_out_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        _write_all(results, tmp)
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_frame(df: pd.DataFrame, folder: Path, stem: str) -> None:
    atomic_write_text(folder / f"{stem}.csv", df.to_csv(index=False))
    flat = df.copy()
    if "policy" in flat:
        flat["policy"] = flat["policy"].astype(str)
    flat.to_parquet(folder / f"{stem}.parquet", index=False)


def _write_all(results: Results, folder: Path) -> None:
    sc = results.scenario
    atomic_write_text(folder / "scenario.toml", sc.to_toml())
    _write_frame(results.table, folder, "replications")
    _write_frame(results.summary, folder, "summary")
    if not results.by_entity.empty:
        _write_frame(results.by_entity, folder, "by_entity")
    if not results.by_time.empty:
        _write_frame(results.by_time, folder, "by_time")
    atomic_write_text(folder / "timing.csv", results.timing.to_csv(index=False))
    plots = make_plots(results)
    (folder / "plots").mkdir()
    for p in plots:
        atomic_write_bytes(folder / "plots" / f"{p.name}.png", p.png)
    atomic_write_text(folder / "report.html", render_html(results, plots))
