"""The output of a Kim–Nelson selection: the SMORE plot, the terminal summary and the results folder."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from simcity import output as words  # numbers, titles and units as a planner reads them
from simcity.domain import Metric
from simcity.output import figure_html, page, table_html, write_results
from simcity.plots import Plot, number_axis, plt, safe_text, to_png
from simcity.scenario import load_scenario
from simcity.selection import Selection, resolve_spec


def _metric(sel: Selection) -> Metric:
    return sel.scenario.domain.metric(sel.spec.metric)


def summary_view(sel: Selection) -> pd.DataFrame:
    """The per-policy table as a planner reads it: replications, mean and interval and the
    difference to the best in the metric's shown unit (shares in %, differences in pp), status."""
    m = _metric(sel)
    level = f"{1 - sel.spec.alpha:.0%}"
    s = sel.summary
    cells = [words.interval_text(m, float(a), float(b), float(c)) for a, b, c in zip(s["mean"], s["ci_low"], s["ci_high"],
                                                                              strict=True)]
    unit, dunit = words.shown_unit(m), words.shown_unit(m, difference=True)
    return pd.DataFrame({
        "policy": s["policy"].astype(str), "replications": s["n"],
        f"mean ({unit})" if unit else "mean": [c[0] for c in cells],
        f"{level} interval": [c[1] for c in cells],
        f"difference to the best ({dunit})" if dunit else "difference to the best":
            [words.fmt(words.shown(m, float(d))) for d in s["diff_to_best"]],
        "status": s["status"],
    })


def statement(sel: Selection) -> str:
    """:meth:`Selection.statement` with the metric's title for its identifier and delta in the
    shown unit (a share's delta in percentage points)."""
    m, d = _metric(sel), sel.spec.delta
    unit = words.shown_unit(m, difference=True)
    delta = f"{words.fmt(words.shown(m, d))}{' ' + unit if unit else ''}"
    return (sel.statement().replace(f"delta = {d:g}", f"delta = {delta}").replace(f"within {d:g} of", f"within {delta} of")
            .replace(f"mean {m.name} ", f"mean {words.metric_title(m)} ").replace(f"for {m.name} (", f"for {words.metric_title(m)} ("))


def smore_plot(sel: Selection) -> Plot:
    """SMORE plot per policy: mean with its CI (thick bar), 25-75% quantile box with the median,
    5-95% whiskers (Eckman, Plumlee & Nelson, "Plotting formalism and SMORE plots")."""
    data = sel.summary[["policy", "n", "mean", "ci_low", "ci_high", "q05", "q25", "q50", "q75", "q95",
                        "status"]].copy()
    m = _metric(sel)
    if words.is_share(m):  # drawn in %
        for c in ("mean", "ci_low", "ci_high", "q05", "q25", "q50", "q75", "q95"):
            data[c] = 100.0 * data[c]
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
    ax.set_yticks(y, [safe_text(f"{p} (n={n})") for p, n in zip(data["policy"], data["n"], strict=True)])
    ax.invert_yaxis()
    ax.set_xlabel(safe_text(words.metric_label(m)))
    number_axis(ax.xaxis)
    level = f"{1 - sel.spec.alpha:.0%}"
    ax.set_title(safe_text(f"{words.metric_title(m)}: mean with {level} CI (bar), quartile box with median, "
                           "5-95% whiskers"), fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    return Plot(f"smore-{sel.spec.metric}", f"SMORE plot of {words.metric_title(m)}", to_png(fig), data)


def save_selection(sel: Selection, out: str | Path) -> Path:
    """Write the selection's results folder to the fresh folder ``out``, all-or-nothing."""
    report_html, plot = selection_page(sel)
    return write_results(out, scenario=sel.scenario, command="select", plots=[plot],
                         tables={"summary": sel.summary, "replications": sel.table},
                         texts={"selection.json": json.dumps(sel.to_json(), indent=2) + "\n"},
                         report_html=report_html)


def load_selection(folder: str | Path) -> Selection:
    """The selection of a results folder written by :func:`save_selection`: its resolved
    scenario (the model's plug-in must be installed), the decision (``selection.json``) and
    the observations it was made on."""
    folder = Path(folder)
    sc = load_scenario(folder / "scenario.toml")
    d = json.loads((folder / "selection.json").read_text(encoding="utf-8"))
    spec = resolve_spec(sc, **{k: d[k] for k in ("metric", "goal", "delta", "alpha", "initial_replications",
                                                   "max_replications", "policies")})
    table = pd.read_parquet(folder / "replications.parquet")
    return Selection(sc, spec, list(d["policies"]), d["best"], list(d["survivors"]),
                     {str(k): int(v) for k, v in d["eliminated_at"].items()}, table, int(d["runs"]),
                     float(d["h2"]))


def selection_page(sel: Selection) -> tuple[str, Plot]:
    """The report page of a selection and its chart."""
    plot = smore_plot(sel)
    sc = sel.scenario
    e = html.escape
    body = f"""<h1>{e(sc.name)}: selecting the best policy</h1>
<p>{e(statement(sel)).replace(chr(10), "<br>")}</p>
{table_html(summary_view(sel), "selection", index=False)}
{figure_html(plot)}
<h2>Resolved scenario</h2><pre>{e(sc.portable_toml()[0])}</pre>"""
    return page(f"{sc.name} – selecting the best", body), plot


def terminal_summary(sel: Selection) -> str:
    """The decision and the per-policy table, as text."""
    return f"{summary_view(sel).to_string(index=False)}\n\n{statement(sel)}\n({sel.runs} replications simulated)"
