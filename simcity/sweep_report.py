"""The output of a parameter sweep: response plots, the terminal summary and the results folder."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from simcity.output import figure_html, fmt, page, table_html, write_results
from simcity.plots import Plot, plt, safe_text, to_png
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


def _indices_of(sweep: SweepResults, metric: str, policy: str) -> pd.DataFrame:
    ix = sweep.indices
    return ix[(ix["metric"] == metric) & (ix["policy"] == policy)].drop(columns=["metric", "policy"])


def tornado_plot(sweep: SweepResults, metric: str, policy: str) -> Plot:
    """Sobol' indices of one response under one policy: total (ST) and first-order (S1) index per
    parameter as horizontal bars with their bootstrap intervals, largest total effect on top."""
    data = _indices_of(sweep, metric, policy).sort_values("ST", ascending=False, na_position="last")
    data = data.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(data) + 1.6))
    y = np.arange(len(data))
    for col, off, color in (("ST", -0.18, "#4C72B0"), ("S1", 0.18, "#DD8452")):
        err = np.vstack([data[col] - data[f"{col}_low"], data[f"{col}_high"] - data[col]])
        ax.barh(y + off, data[col], height=0.36, color=color, label=col,
                xerr=np.nan_to_num(np.abs(err)), capsize=3)
    ax.set_yticks(y, [safe_text(p) for p in data["parameter"]])
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    level = int(round(sweep.scenario.confidence * 100))
    ax.set_xlabel(f"Sobol' index (share of the variance of {metric}; {level}% bootstrap interval)")
    ax.set_title(safe_text(f"{metric} under {policy}: total (ST) and first-order (S1) indices"))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize="small")
    name = f"tornado-{metric}-{policy}"
    return Plot(name, f"Sobol' indices of {metric} under {policy}", to_png(fig), data)


def morris_plot(sweep: SweepResults, metric: str, policy: str) -> Plot:
    """Morris screening of one response under one policy: mu* (mean absolute elementary effect,
    with its bootstrap interval) against sigma (their spread) per parameter."""
    data = _indices_of(sweep, metric, policy).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 5))
    err = np.vstack([data["mu_star"] - data["mu_star_low"], data["mu_star_high"] - data["mu_star"]])
    ax.errorbar(data["mu_star"], data["sigma"], xerr=np.nan_to_num(np.abs(err)), fmt="o", capsize=3)
    for _, r in data.iterrows():
        ax.annotate(safe_text(str(r["parameter"])), (r["mu_star"], r["sigma"]), textcoords="offset points",
                    xytext=(5, 4), fontsize="small")
    top = float(np.nanmax(np.r_[data["mu_star_high"].to_numpy(), data["sigma"].to_numpy(), 0.0])) or 1.0
    ax.plot([0, top], [0, top], color="#999999", lw=0.8, ls="--")  # sigma = mu*: strongly non-linear
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"mu* (mean |elementary effect| of {metric} over the parameter's range)")
    ax.set_ylabel("sigma (spread of the elementary effects)")
    ax.set_title(safe_text(f"Morris screening of {metric} under {policy}"))
    ax.grid(alpha=0.3)
    return Plot(f"morris-{metric}-{policy}", f"Morris mu*-sigma plot of {metric} under {policy}", to_png(fig), data)


def sweep_plots(sweep: SweepResults) -> list[Plot]:
    """Sobol': a tornado per (response, policy); Morris: a mu*-sigma plot per (response, policy)
    and the main effects; grid and Latin hypercube: one plot per (response, parameter)."""
    method = spec_of(sweep.scenario).method
    pols = sweep.scenario.policy_names
    if method == "sobol":
        return [tornado_plot(sweep, m, p) for m in sweep.responses for p in pols]
    out = [morris_plot(sweep, m, p) for m in sweep.responses for p in pols] if method == "morris" else []
    return out + [effect_plot(sweep, m, p) for m in sweep.responses for p in sweep.parameters]


def _indices_view(sweep: SweepResults) -> pd.DataFrame:
    ix = sweep.indices
    view = pd.DataFrame({"metric": ix["metric"], "policy": ix["policy"].astype(str), "parameter": ix["parameter"]})
    if "ST" in ix:
        for c in ("S1", "ST"):
            view[c] = ix[c].map(fmt)
            view[f"{c} interval"] = [f"[{fmt(a)}, {fmt(b)}]" for a, b in zip(ix[f"{c}_low"], ix[f"{c}_high"], strict=True)]
    else:
        view["mu*"] = ix["mu_star"].map(fmt)
        view["mu* interval"] = [f"[{fmt(a)}, {fmt(b)}]" for a, b in
                                zip(ix["mu_star_low"], ix["mu_star_high"], strict=True)]
        view["sigma"] = ix["sigma"].map(fmt)
        view["mu"] = ix["mu"].map(fmt)
    return view


def _indices_html(sweep: SweepResults) -> str:
    if sweep.indices.empty:
        return ""
    level = int(round(sweep.scenario.confidence * 100))
    if spec_of(sweep.scenario).method == "sobol":
        head = ("<h2>Sobol' indices</h2><p>S1: share of the response variance due to the parameter alone; "
                "ST: including its interactions; " f"{level}% bootstrap intervals (SALib). The response at "
                "each point is the mean over replications, with the same random inputs at every point.</p>")
    else:
        head = ("<h2>Morris elementary effects</h2><p>mu*: mean absolute elementary effect over the "
                "parameter's range (ranks the parameters); sigma: their spread (non-linearity or "
                f"interaction); {level}% bootstrap interval of mu* (SALib).</p>")
    return head + table_html(_indices_view(sweep), "indices", index=False)


def save_sweep(sweep: SweepResults, out: str | Path) -> Path:
    """Write the sweep's results folder to the fresh folder ``out``, all-or-nothing."""
    plots = sweep_plots(sweep)
    sc = sweep.scenario
    e = html.escape
    body = f"""<h1>{e(sc.name)}: parameter sweep</h1>
<p>{len(sweep.points)} design points ({e(spec_of(sc).method)}) × {len(sc.policy_names)} policies ×
{sc.replications} replications, common random numbers across points, seed {sc.seed}.</p>
{_indices_html(sweep)}
<h2>Sensitivity (standardised regression coefficients)</h2>
{table_html(sweep.sensitivity, "sensitivity", index=False)}
<h2>Responses against parameters</h2>{"".join(figure_html(p) for p in plots)}
<h2>Design</h2>{table_html(sweep.points, "design")}
<h2>Resolved scenario</h2><pre>{e(sc.portable_toml()[0])}</pre>"""
    tables = {"design": sweep.points.reset_index(), "replications": sweep.tidy, "points": sweep.point_summary,
              "effects": sweep.effects, "sensitivity": sweep.sensitivity}
    if not sweep.indices.empty:
        tables["indices"] = sweep.indices
    return write_results(out, scenario=sc, command="sweep", tables=tables, plots=plots,
                         report_html=page(f"{sc.name} – sweep", body))


def terminal_summary(sweep: SweepResults, max_rows: int = 40) -> str:
    """Sensitivity table and (for small designs) the main effects, as text."""
    level = int(round(sweep.scenario.confidence * 100))
    parts = [f"{len(sweep.points)} design points x {len(sweep.scenario.policy_names)} policies x "
             f"{sweep.scenario.replications} replications"]
    if not sweep.indices.empty:
        title = ("Sobol' indices (bootstrap intervals)" if "ST" in sweep.indices
                 else "Morris elementary effects (bootstrap interval of mu*)")
        parts.append(f"{title}:\n" + _indices_view(sweep).to_string(index=False))
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
    if eff.empty:
        pass
    elif len(eff) <= max_rows:
        view = pd.DataFrame({
            "metric": eff["metric"], "policy": eff["policy"].astype(str), "parameter": eff["parameter"],
            "value": eff["value"].map(fmt), "mean": eff["mean"].map(fmt),
            f"{level}% CI": [f"[{fmt(a)}, {fmt(b)}]" for a, b in zip(eff["ci_low"], eff["ci_high"], strict=True)],
        })
        parts.append("Main effects:\n" + view.to_string(index=False))
    else:
        parts.append(f"({len(eff)} main-effect rows: see effects.csv and the plots)")
    return "\n\n".join(parts)

