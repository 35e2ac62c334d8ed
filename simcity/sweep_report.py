"""The output of a parameter sweep: response plots, the terminal summary and the results folder."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from simcity import output as words  # numbers, titles and units as a planner reads them
from simcity.domain import Metric
from simcity.output import figure_html, page, table_html, write_results
from simcity.plots import Plot, number_axis, plt, safe_text, to_png
from simcity.scenario import load_scenario
from simcity.sweep import SweepResults, spec_of

#: an index or coefficient without a unit, shown with the decimals its interval supports
_PLAIN = Metric("index", "index", "")


def _metric(sweep: SweepResults, name: str) -> Metric:
    return sweep.scenario.domain.metric(name)


def _per_metric(sweep: SweepResults, frame: pd.DataFrame,
                view: Callable[[Metric, pd.DataFrame], pd.DataFrame]) -> list[tuple[Metric, pd.DataFrame]]:
    """``frame`` split by its ``metric`` column (in the sweep's response order), each part as
    ``view(metric, part)``: tables a planner reads carry the metric as a heading, not a column."""
    out = []
    for name in [m for m in sweep.responses if m in set(frame["metric"])]:
        m = _metric(sweep, name)
        out.append((m, view(m, frame[frame["metric"] == name]).reset_index(drop=True)))
    return out


def _text_tables(parts: list[tuple[Metric, pd.DataFrame]]) -> str:
    return "\n\n".join(f"{words.metric_label(m)}:\n{df.to_string(index=False)}" for m, df in parts)


def _html_tables(parts: list[tuple[Metric, pd.DataFrame]], table_id: str) -> str:
    return "\n".join(f"<h3>{html.escape(words.metric_label(m))}</h3>\n{table_html(df, f'{table_id}-{m.name}', index=False)}"
                      for m, df in parts)


def _sensitivity_view(sweep: SweepResults, m: Metric, sens: pd.DataFrame) -> pd.DataFrame:
    level = int(round(sweep.scenario.confidence * 100))
    cells = [words.interval_text(_PLAIN, float(a), float(b), float(c))
             for a, b, c in zip(sens["src"], sens["ci_low"], sens["ci_high"], strict=True)]
    return pd.DataFrame({
        "policy": sens["policy"].astype(str).to_numpy(), "parameter": sens["parameter"].map(words.parameter_label).to_numpy(),
        "SRC": [c[0] for c in cells], f"{level}% interval": [c[1] for c in cells],
        "R²": [words.fmt(float(r), decimals=2) for r in sens["r2"]],
    })


def _effects_view(sweep: SweepResults, m: Metric, eff: pd.DataFrame) -> pd.DataFrame:
    level = int(round(sweep.scenario.confidence * 100))
    cells = [words.interval_text(m, float(a), float(b), float(c))
             for a, b, c in zip(eff["mean"], eff["ci_low"], eff["ci_high"], strict=True)]
    unit = words.shown_unit(m)
    return pd.DataFrame({
        "policy": eff["policy"].astype(str).to_numpy(), "parameter": eff["parameter"].map(words.parameter_label).to_numpy(),
        "value": eff["value"].map(words.fmt).to_numpy(), f"mean ({unit})" if unit else "mean": [c[0] for c in cells],
        f"{level}% interval": [c[1] for c in cells],
    })


def design_view(sweep: SweepResults) -> pd.DataFrame:
    """The design points with parameters in words and numbers as a planner reads them."""
    pts = sweep.points
    view = pd.DataFrame({words.parameter_label(str(c)): pts[c].map(words.fmt) for c in pts.columns})
    view.index = pts.index
    return view


def effect_plot(sweep: SweepResults, metric: str, parameter: str) -> Plot:
    """Response against one parameter: mean per policy with its confidence band."""
    data = sweep.effects[(sweep.effects["metric"] == metric) & (sweep.effects["parameter"] == parameter)]
    data = data[["policy", "value", "points", "n", "mean", "ci_low", "ci_high"]].sort_values(
        ["policy", "value"]).reset_index(drop=True)
    m = _metric(sweep, metric)
    if words.is_share(m):  # drawn in %
        data = data.assign(**{c: 100.0 * data[c] for c in ("mean", "ci_low", "ci_high")})
    dense = spec_of(sweep.scenario).method == "grid"
    fig, ax = plt.subplots(figsize=(7, 4))
    for pol in sweep.scenario.policy_names:
        d = data[data["policy"] == pol]
        if dense:
            (line,) = ax.plot(d["value"], d["mean"], marker="o", label=safe_text(pol))
            ax.fill_between(d["value"], d["ci_low"], d["ci_high"], alpha=0.2, color=line.get_color())
        else:  # scattered Latin-hypercube points: intervals per point, no band across points
            err = np.vstack([d["mean"] - d["ci_low"], d["ci_high"] - d["mean"]])
            ax.errorbar(d["value"], d["mean"], yerr=np.nan_to_num(err), fmt="o", capsize=3, label=safe_text(pol),
                        alpha=0.8)
    label = words.parameter_label(parameter)
    ax.set_xlabel(safe_text(label))
    ax.set_ylabel(safe_text(words.shown_unit(m) or words.metric_title(m)))
    number_axis(ax.xaxis)
    number_axis(ax.yaxis)
    level = int(round(sweep.scenario.confidence * 100))
    title = f"{words.metric_title(m)} against {label}"
    ax.set_title(safe_text(f"{title} ({level}% CI)"), fontsize="medium")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    safe = parameter.replace(".", "_")
    return Plot(f"sweep-{metric}-{safe}", title, to_png(fig), data)


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
    ax.set_yticks(y, [safe_text(words.parameter_label(str(p))) for p in data["parameter"]])
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    level = int(round(sweep.scenario.confidence * 100))
    title = words.metric_title(_metric(sweep, metric))
    ax.set_xlabel(f"Sobol' index (share of the response's variance; {level}% bootstrap interval)")
    ax.set_title(safe_text(f"{title} under {policy}: total (ST) and first-order (S1) indices"), fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize="small")
    name = f"tornado-{metric}-{policy}"
    return Plot(name, f"Sobol' indices of {title} under {policy}", to_png(fig), data)


def morris_plot(sweep: SweepResults, metric: str, policy: str) -> Plot:
    """Morris screening of one response under one policy: mu* (mean absolute elementary effect,
    with its bootstrap interval) against sigma (their spread) per parameter."""
    data = _indices_of(sweep, metric, policy).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 5))
    err = np.vstack([data["mu_star"] - data["mu_star_low"], data["mu_star_high"] - data["mu_star"]])
    ax.errorbar(data["mu_star"], data["sigma"], xerr=np.nan_to_num(np.abs(err)), fmt="o", capsize=3)
    for _, r in data.iterrows():
        ax.annotate(safe_text(words.parameter_label(str(r["parameter"]))), (r["mu_star"], r["sigma"]), textcoords="offset points",
                    xytext=(5, 4), fontsize="small")
    top = float(np.nanmax(np.r_[data["mu_star_high"].to_numpy(), data["sigma"].to_numpy(), 0.0])) or 1.0
    ax.plot([0, top], [0, top], color="#999999", lw=0.8, ls="--")  # sigma = mu*: strongly non-linear
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    m = _metric(sweep, metric)
    ax.set_xlabel(safe_text(f"mu* (mean |elementary effect| over the parameter's range, {m.unit or 'no unit'})"))
    ax.set_ylabel("sigma (spread of the elementary effects)")
    number_axis(ax.xaxis)
    number_axis(ax.yaxis)
    ax.set_title(safe_text(f"Morris screening of {words.metric_title(m)} under {policy}"), fontsize="medium")
    ax.grid(alpha=0.3)
    return Plot(f"morris-{metric}-{policy}", f"Morris mu*-sigma plot of {words.metric_title(m)} under {policy}",
                to_png(fig), data)


def sweep_plots(sweep: SweepResults) -> list[Plot]:
    """Sobol': a tornado per (response, policy); Morris: a mu*-sigma plot per (response, policy)
    and the main effects; grid and Latin hypercube: one plot per (response, parameter)."""
    method = spec_of(sweep.scenario).method
    pols = sweep.scenario.policy_names
    if method == "sobol":
        return [tornado_plot(sweep, m, p) for m in sweep.responses for p in pols]
    out = [morris_plot(sweep, m, p) for m in sweep.responses for p in pols] if method == "morris" else []
    return out + [effect_plot(sweep, m, p) for m in sweep.responses for p in sweep.parameters]


def _indices_view(m: Metric, ix: pd.DataFrame) -> pd.DataFrame:
    view = pd.DataFrame({"policy": ix["policy"].astype(str).to_numpy(),
                         "parameter": ix["parameter"].map(words.parameter_label).to_numpy()})
    cols = [("S1", "S1"), ("ST", "ST")] if "ST" in ix else [("mu*", "mu_star")]
    for label, c in cols:
        cells = [words.interval_text(_PLAIN, float(a), float(b), float(d))
                 for a, b, d in zip(ix[c], ix[f"{c}_low"], ix[f"{c}_high"], strict=True)]
        view[label] = [x[0] for x in cells]
        view[f"{label} interval"] = [x[1] for x in cells]
    if "ST" not in ix:
        view["sigma"] = ix["sigma"].map(words.fmt).to_numpy()
        view["mu"] = ix["mu"].map(words.fmt).to_numpy()
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
    return head + _html_tables(_per_metric(sweep, sweep.indices, _indices_view), "indices")


def save_sweep(sweep: SweepResults, out: str | Path) -> Path:
    """Write the sweep's results folder to the fresh folder ``out``, all-or-nothing."""
    report_html, plots = sweep_page(sweep)
    tables = {"design": sweep.points.reset_index(), "replications": sweep.tidy, "points": sweep.point_summary,
              "effects": sweep.effects, "sensitivity": sweep.sensitivity}
    if not sweep.indices.empty:
        tables["indices"] = sweep.indices
    return write_results(out, scenario=sweep.scenario, command="sweep", tables=tables, plots=plots,
                         report_html=report_html)


def load_sweep(folder: str | Path) -> SweepResults:
    """The sweep of a results folder written by :func:`save_sweep`: its resolved scenario (the
    model's plug-in must be installed), design and replication table."""
    folder = Path(folder)
    sc = load_scenario(folder / "scenario.toml")
    points = pd.read_parquet(folder / "design.parquet").set_index("point")
    table = pd.read_parquet(folder / "replications.parquet")[["point", "policy", "replication", "metric", "value"]]
    return SweepResults(sc, points, table.reset_index(drop=True))


def sweep_page(sweep: SweepResults) -> tuple[str, list[Plot]]:
    """The report page of a sweep and its plots."""
    plots = sweep_plots(sweep)
    sc = sweep.scenario
    e = html.escape
    body = f"""<h1>{e(sc.name)}: parameter sweep</h1>
<p>{len(sweep.points)} design points ({e(spec_of(sc).method)}) × {len(sc.policy_names)} policies ×
{sc.replications} replications, common random numbers across points, seed {sc.seed}.</p>
{_indices_html(sweep)}
<h2>Sensitivity (standardised regression coefficients)</h2>
{_html_tables(_per_metric(sweep, sweep.sensitivity, lambda m, d: _sensitivity_view(sweep, m, d)), "sensitivity")}
<h2>Responses against parameters</h2>{"".join(figure_html(p) for p in plots)}
<h2>Design</h2>{table_html(design_view(sweep), "design")}
<h2>Resolved scenario</h2><pre>{e(sc.portable_toml()[0])}</pre>"""
    return page(f"{sc.name} – sweep", body), plots


def terminal_summary(sweep: SweepResults, max_rows: int = 40) -> str:
    """Sensitivity table and (for small designs) the main effects, as text."""
    parts = [f"{len(sweep.points)} design points x {len(sweep.scenario.policy_names)} policies x "
             f"{sweep.scenario.replications} replications"]
    if not sweep.indices.empty:
        title = ("Sobol' indices (bootstrap intervals)" if "ST" in sweep.indices
                 else "Morris elementary effects (bootstrap interval of mu*)")
        parts.append(f"{title}:\n\n" + _text_tables(_per_metric(sweep, sweep.indices, _indices_view)))
    if not sweep.sensitivity.empty:
        parts.append("Sensitivity (standardised regression coefficient of the response on each parameter):\n\n"
                     + _text_tables(_per_metric(sweep, sweep.sensitivity,
                                                lambda m, d: _sensitivity_view(sweep, m, d))))
    eff = sweep.effects
    if eff.empty:
        pass
    elif len(eff) <= max_rows:
        parts.append("Main effects:\n\n" + _text_tables(_per_metric(sweep, eff, lambda m, d: _effects_view(sweep, m, d))))
    else:
        parts.append(f"({len(eff)} main-effect rows: see effects.csv and the plots)")
    return "\n\n".join(parts)
