"""The output of ``simcity warmup``: the series plot, the terminal summary and the results folder."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from simcity.output import figure_html, fmt, page, table_html, write_results
from simcity.plots import Plot, plt, safe_text, to_png
from simcity.warmup import WarmupAnalysis


def warmup_plot(w: WarmupAnalysis) -> Plot:
    """Left: each policy's series averaged over replications, with its median MSER truncation (dashed)
    and the configured warm-up (grey).  Right: the per-replication truncations per policy."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2.2, 1]})
    avg = w.averaged.set_index("policy")
    policies = list(avg.index)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, pol in enumerate(policies):
        c = colors[i % len(colors)]
        s = w.series[w.series["policy"] == pol]
        ax1.plot(s["time_h"], s["value"], color=c, lw=1.2, label=safe_text(str(pol)))
        reps = w.replications[w.replications["policy"] == pol]["warmup_h"].to_numpy()
        t0 = float(s["time_h"].iloc[0]) if len(s) else 0.0
        if reps.size:
            ax1.axvline(t0 + float(np.median(reps)), color=c, ls="--", lw=1)
        jitter = np.linspace(-0.15, 0.15, reps.size) if reps.size > 1 else np.zeros(reps.size)
        ax2.plot(reps, i + jitter, "o", color=c, alpha=0.6, ms=4)
        ax2.plot([float(np.median(reps))] if reps.size else [], [i] if reps.size else [], "D",
                 color="black", ms=5)
    if w.configured_h > 0:
        ax1.axvline(w.configured_h, color="#888888", lw=2, alpha=0.6, label="configured warm-up")
        ax2.axvline(w.configured_h, color="#888888", lw=2, alpha=0.6)
    ax1.set_xlabel("time (h)")
    ax1.set_ylabel(w.metric)
    ax1.set_title(f"{w.metric}, mean over replications (dashed: median MSER-{w.batch} cut)", fontsize="medium")
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize="small")
    ax2.set_yticks(range(len(policies)), [safe_text(str(p)) for p in policies])
    ax2.invert_yaxis()
    ax2.set_xlabel("truncation (h)")
    ax2.set_title("cut per replication (dots), median (diamond)", fontsize="medium")
    ax2.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    data = w.replications[["policy", "replication", "warmup_h"]].copy()
    return Plot(f"warmup-{w.metric}", f"MSER-{w.batch} warm-up of {w.metric}", to_png(fig), data, section="time")


def _spread_view(w: WarmupAnalysis) -> pd.DataFrame:
    s = w.spread()
    return pd.DataFrame({
        "policy": s["policy"].astype(str),
        "replications": s["n"],
        "per replication: median (h)": s["median"].map(fmt),
        "min–max (h)": [f"{fmt(a)}–{fmt(b)}" for a, b in zip(s["min"], s["max"], strict=True)],
        "mean (h)": s["mean"].map(fmt),
        "averaged series (h)": s["averaged"].map(fmt),
        "at search limit": s["at_limit"],
    })


def terminal_summary(w: WarmupAnalysis) -> str:
    """The truncation per policy, the recommendation and its warnings, as text."""
    head = (f"MSER-{w.batch} on {w.metric} ({w.scenario.name}, run with no warm-up, "
            f"{int(w.replications['replication'].nunique())} replications per policy):")
    rec = (f"recommended warm-up: {fmt(w.recommended_h)} h (configured: {fmt(w.configured_h)} h)")
    return "\n".join([head, _spread_view(w).to_string(index=False), rec, *w.flags()])


def save_warmup(w: WarmupAnalysis, out: str | Path) -> Path:
    """Write the warm-up results folder to the fresh folder ``out``, all-or-nothing."""
    plot = warmup_plot(w)
    sc = w.scenario
    e = html.escape
    notes = "\n".join(f'<p class="note">{e(f)}</p>' for f in w.flags())
    body = f"""<h1>{e(sc.name)}: warm-up</h1>
<p>MSER-{w.batch} (White 1997; Franklin &amp; White 2008) on the <b>{e(w.metric)}</b> series of a run
with no warm-up, per replication and on each policy's average over replications. The recommended
warm-up is the largest over policies of the median per-replication truncation.</p>
<p><b>Recommended warm-up: {e(fmt(w.recommended_h))} h</b> (configured: {e(fmt(w.configured_h))} h).</p>
{notes}
{table_html(_spread_view(w), "warmup", index=False)}
{figure_html(plot)}
<h2>Resolved scenario</h2><pre>{e(sc.portable_toml()[0])}</pre>"""
    tables = {"warmup": w.replications, "averaged": w.averaged, "series": w.series}
    return write_results(out, scenario=sc, command="warmup", tables=tables, plots=[plot],
                         report_html=page(f"{sc.name} – warm-up", body))
