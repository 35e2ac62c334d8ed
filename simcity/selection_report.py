"""The output of a Kim–Nelson selection: the SMORE plot, the terminal summary and the results folder."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from simcity.output import figure_html, fmt, page, table_html, write_results
from simcity.plots import Plot, plt, to_png
from simcity.selection import Selection


def smore_plot(sel: Selection) -> Plot:
    """SMORE plot per policy: mean with its CI (thick bar), 25-75% quantile box with the median,
    5-95% whiskers (Eckman, Plumlee & Nelson, "Plotting formalism and SMORE plots")."""
    data = sel.summary[["policy", "n", "mean", "ci_low", "ci_high", "q05", "q25", "q50", "q75", "q95",
                        "status"]].copy()
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(data) + 1.6))
    y = np.arange(len(data))
    for yi, (_, r) in zip(y.tolist(), data.iterrows(), strict=True):
        color = "#C44E52" if r["status"] == "selected" else ("#DD8452" if r["status"] == "not separated"
                                                               else "#4C72B0")
        ax.plot([r["q05"], r["q95"]], [yi, yi], color="#999999", lw=1)
        ax.add_patch(plt.Rectangle((float(r["q25"]), yi - 0.2), r["q75"] - r["q25"], 0.4, fill=False,
                                   edgecolor="#999999"))
        ax.plot([r["q50"], r["q50"]], [yi - 0.2, yi + 0.2], color="#999999", lw=1)
        ax.plot([r["ci_low"], r["ci_high"]], [yi, yi], color=color, lw=5, solid_capstyle="butt")
        ax.plot([r["mean"]], [yi], "o", color="black", ms=4)
    ax.set_yticks(y, [f"{p} (n={n})" for p, n in zip(data["policy"], data["n"], strict=True)])
    ax.invert_yaxis()
    unit = sel.scenario.domain.metric(sel.spec.metric).unit
    ax.set_xlabel(f"{sel.spec.metric} ({unit})" if unit else sel.spec.metric)
    level = f"{1 - sel.spec.alpha:.0%}"
    ax.set_title(f"{sel.spec.metric}: mean with {level} CI (bar), quartile box with median, 5-95% whiskers")
    ax.grid(axis="x", alpha=0.3)
    return Plot(f"smore-{sel.spec.metric}", f"SMORE plot of {sel.spec.metric}", to_png(fig), data)


def save_selection(sel: Selection, out: str | Path) -> Path:
    """Write the selection's results folder to the fresh folder ``out``, all-or-nothing."""
    plot = smore_plot(sel)
    sc = sel.scenario
    e = html.escape
    body = f"""<h1>{e(sc.name)}: selecting the best policy</h1>
<p>{e(sel.statement()).replace(chr(10), "<br>")}</p>
{table_html(sel.summary, "selection", index=False)}
{figure_html(plot)}
<h2>Resolved scenario</h2><pre>{e(sc.portable_toml()[0])}</pre>"""
    return write_results(out, scenario=sc, command="select", plots=[plot],
                         tables={"summary": sel.summary, "replications": sel.table},
                         texts={"selection.json": json.dumps(sel.to_json(), indent=2) + "\n"},
                         report_html=page(f"{sc.name} – selecting the best", body))


def terminal_summary(sel: Selection) -> str:
    """The decision and the per-policy table, as text."""
    level = f"{1 - sel.spec.alpha:.0%}"
    s = sel.summary
    view = pd.DataFrame({
        "policy": s["policy"], "n": s["n"], "mean": s["mean"].map(fmt),
        f"{level} CI": [f"[{fmt(a)}, {fmt(b)}]" for a, b in zip(s["ci_low"], s["ci_high"], strict=True)],
        "diff to best": s["diff_to_best"].map(fmt), "status": s["status"],
    })
    return f"{view.to_string(index=False)}\n\n{sel.statement()}\n({sel.runs} replications simulated)"
