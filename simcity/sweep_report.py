"""The output of a parameter sweep: response plots, the terminal summary and the results folder."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from simcity.output import figure_html, fmt, page, table_html, write_results
from simcity.plots import Plot, plt, to_png
from simcity.sweep import SweepResults, spec_of


def effect_plot(sweep: SweepResults, metric: str, parameter: str) -> Plot:
    """Response against one parameter: mean per policy with its confidence band."""
    data = sweep.effects[(sweep.effects["metric"] == metric) & (sweep.effects["parameter"] == parameter)]
    data = data[["policy", "value", "points", "n", "mean", "ci_low", "ci_high"]].sort_values(
        ["policy", "value"]).reset_index(drop=True)
    dense = spec_of(sweep.scenario).method == "grid"
    fig, ax = plt.subplots(figsize=(7, 4))
    for pol in sweep.scenario.policy_names:
        d = data[data["policy"] == pol]
        if dense:
            ax.plot(d["value"], d["mean"], marker="o", label=pol)
            ax.fill_between(d["value"], d["ci_low"], d["ci_high"], alpha=0.2)
        else:  # scattered Latin-hypercube points: intervals per point, no band across points
            err = np.vstack([d["mean"] - d["ci_low"], d["ci_high"] - d["mean"]])
            ax.errorbar(d["value"], d["mean"], yerr=np.nan_to_num(err), fmt="o", capsize=3, label=pol, alpha=0.8)
    unit = sweep.scenario.domain.metric(metric).unit
    ax.set_xlabel(parameter)
    ax.set_ylabel(f"{metric} ({unit})" if unit else metric)
    level = int(round(sweep.scenario.confidence * 100))
    ax.set_title(f"{metric} against {parameter} ({level}% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    safe = parameter.replace(".", "_")
    return Plot(f"sweep-{metric}-{safe}", f"{metric} against {parameter}", to_png(fig), data)


def sweep_plots(sweep: SweepResults) -> list[Plot]:
    """One plot per (response, parameter)."""
    return [effect_plot(sweep, m, p) for m in sweep.responses for p in sweep.parameters]


def save_sweep(sweep: SweepResults, out: str | Path) -> Path:
    """Write the sweep's results folder to the fresh folder ``out``, all-or-nothing."""
    plots = sweep_plots(sweep)
    sc = sweep.scenario
    e = html.escape
    body = f"""<h1>{e(sc.name)}: parameter sweep</h1>
<p>{len(sweep.points)} design points ({e(spec_of(sc).method)}) × {len(sc.policy_names)} policies ×
{sc.replications} replications, common random numbers across points, seed {sc.seed}.</p>
<h2>Sensitivity (standardised regression coefficients)</h2>
{table_html(sweep.sensitivity, "sensitivity", index=False)}
<h2>Responses against parameters</h2>{"".join(figure_html(p) for p in plots)}
<h2>Design</h2>{table_html(sweep.points, "design")}
<h2>Resolved scenario</h2><pre>{e(sc.to_toml())}</pre>"""
    tables = {"design": sweep.points.reset_index(), "replications": sweep.tidy, "points": sweep.point_summary,
              "effects": sweep.effects, "sensitivity": sweep.sensitivity}
    return write_results(out, scenario_toml=sc.to_toml(), tables=tables, plots=plots,
                         report_html=page(f"{sc.name} – sweep", body))


def terminal_summary(sweep: SweepResults, max_rows: int = 40) -> str:
    """Sensitivity table and (for small designs) the main effects, as text."""
    level = int(round(sweep.scenario.confidence * 100))
    parts = [f"{len(sweep.points)} design points x {len(sweep.scenario.policy_names)} policies x "
             f"{sweep.scenario.replications} replications"]
    sens = sweep.sensitivity
    if not sens.empty:
        view = pd.DataFrame({
            "metric": sens["metric"], "policy": sens["policy"].astype(str), "parameter": sens["parameter"],
            "SRC": sens["src"].map(fmt),
            f"{level}% CI": [f"[{fmt(a)}, {fmt(b)}]" for a, b in zip(sens["ci_low"], sens["ci_high"], strict=True)],
            "R²": sens["r2"].map(fmt),
        })
        parts.append("Sensitivity (standardised regression coefficient of the response on each parameter):\n"
                     + view.to_string(index=False))
    eff = sweep.effects
    if len(eff) <= max_rows:
        view = pd.DataFrame({
            "metric": eff["metric"], "policy": eff["policy"].astype(str), "parameter": eff["parameter"],
            "value": eff["value"].map(fmt), "mean": eff["mean"].map(fmt),
            f"{level}% CI": [f"[{fmt(a)}, {fmt(b)}]" for a, b in zip(eff["ci_low"], eff["ci_high"], strict=True)],
        })
        parts.append("Main effects:\n" + view.to_string(index=False))
    else:
        parts.append(f"({len(eff)} main-effect rows: see effects.csv and the plots)")
    return "\n\n".join(parts)

