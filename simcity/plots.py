"""Plots of comparison results (matplotlib, Agg backend, PNG bytes).

Every plot function returns a :class:`Plot`: the PNG and the exact data that was drawn, so
that tests (and the report) can check the numbers rather than the pixels.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from simcity.domain import Metric  # noqa: E402
from simcity.stats import mean_ci  # noqa: E402


@dataclass(frozen=True)
class Plot:
    """A rendered plot and the data drawn in it.

    ``name`` is a file-name-safe identifier (the PNG is saved as ``plots/<name>.png``);
    ``section`` groups plots in the report: ``"comparison"``, ``"time"`` or ``"map"``.
    """

    name: str
    title: str
    png: bytes
    data: pd.DataFrame
    section: str = "comparison"


def safe_text(text: str) -> str:
    """``text`` for matplotlib labels: a literal ``$`` must not switch on mathtext.

    Policy, entity and scenario names come from the user's files; ``cost $5`` would otherwise
    be parsed as a formula (and ``$x`` alone raises a parse error when the figure is drawn).
    """
    return text.replace("$", r"\$")


def to_png(fig: plt.Figure) -> bytes:
    """Render ``fig`` to PNG bytes (no timestamp metadata, so equal figures give equal bytes) and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def metric_plot(summary: pd.DataFrame, metric: Metric, policies: list[str]) -> Plot:
    """Mean with CI per policy (left) and paired difference to the baseline with CI (right)."""
    data = summary[summary["metric"] == metric.name].set_index("policy").reindex(policies).reset_index()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 0.45 * len(policies) + 1.6), sharey=True)
    y = np.arange(len(policies))
    err = np.vstack([data["mean"] - data["ci_low"], data["ci_high"] - data["mean"]])
    ax1.barh(y, data["mean"], xerr=np.nan_to_num(err), color="#4C72B0", capsize=4)
    ax1.set_yticks(y, [safe_text(p) for p in policies])
    ax1.invert_yaxis()
    unit = f" ({metric.unit})" if metric.unit else ""
    ax1.set_xlabel(safe_text(f"mean{unit}"))
    ax1.set_title(safe_text(metric.description or metric.name), fontsize="medium", loc="left")
    derr = np.vstack([data["diff"] - data["diff_ci_low"], data["diff_ci_high"] - data["diff"]])

    def colour(i: int, sig: bool, d: float) -> str:
        # by the metric's direction: green better, red worse, blue changed (no direction), grey unclear
        if i == 0 or not sig:
            return "#999999" if i == 0 else "#8C8C8C"
        if metric.better == "none":
            return "#4C72B0"
        return "#55A868" if (d < 0) == (metric.better == "lower") else "#C44E52"

    colors = [colour(i, bool(s), float(d)) for i, (s, d) in enumerate(zip(data["diff_significant"], data["diff"],
                                                                           strict=True))]
    ax2.barh(y, data["diff"], xerr=np.nan_to_num(derr), color=colors, capsize=4)
    ax2.axvline(0, color="black", lw=0.8)
    ax2.set_xlabel(safe_text(f"paired difference to {policies[0]}{unit}"))
    ax2.set_title("vs baseline (green: better, red: worse, grey: no clear change)", fontsize="small")
    for ax in (ax1, ax2):
        ax.grid(axis="x", alpha=0.3)
    drawn = data[["policy", "mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high"]].copy()
    return Plot(f"metric-{metric.name}", metric.description or metric.name, to_png(fig), drawn)


def time_plot(by_time: pd.DataFrame, metric: str, policies: list[str], level: float = 0.95,
              entity: str = "city") -> Plot | None:
    """Mean over replications of a time series, per policy, with a CI band."""
    sub = by_time[(by_time["metric"] == metric) & (by_time["entity"] == entity)]
    if sub.empty:
        return None
    rows = []
    for pol in policies:
        ps = sub[sub["policy"] == pol]
        for t, g in ps.groupby("time_h", sort=True):
            ci = mean_ci(g["value"].to_numpy(), level)
            rows.append((pol, float(t), ci.mean, ci.low, ci.high))  # type: ignore[arg-type]
    data = pd.DataFrame(rows, columns=["policy", "time_h", "mean", "ci_low", "ci_high"])
    fig, ax = plt.subplots(figsize=(10, 4))
    for pol in policies:
        d = data[data["policy"] == pol]
        ax.plot(d["time_h"], d["mean"], label=safe_text(pol), drawstyle="steps-post")
        if d["ci_low"].notna().any():
            ax.fill_between(d["time_h"], d["ci_low"], d["ci_high"], alpha=0.15, step="post")
    ax.set_xlabel("time (h)")
    ax.set_ylabel(safe_text(metric))
    ax.set_title(safe_text(f"{metric} over time ({entity})"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return Plot(f"time-{metric}", f"{metric} over time", to_png(fig), data, "time")


def hour_of_day_profile(by_time: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean of a ``by_time`` metric per (policy, entity, hour of day 0..23).

    Samples at ``time_h`` fall in hour ``floor(time_h) mod 24``, so a multi-day horizon folds
    onto one day; the mean runs over replications and days.
    """
    sub = by_time[by_time["metric"] == metric]
    if sub.empty:
        return pd.DataFrame(columns=["policy", "entity", "hour", "mean"])
    hour = np.floor(sub["time_h"].to_numpy(dtype=float)).astype(int) % 24
    out = (sub.assign(hour=hour, policy=sub["policy"].astype(str))
           .groupby(["policy", "entity", "hour"], sort=True)["value"].mean()
           .rename("mean").reset_index())
    return out


def heatmap_plot(by_time: pd.DataFrame, metric: str, policies: list[str],
                 max_entities: int = 25) -> Plot | None:
    """Time-of-day heatmap of a ``by_time`` metric.

    With per-entity series (car parks, stations, drop points...): one panel per policy, rows
    are entities (the ``max_entities`` with the highest mean over all policies; ``city`` is
    left out), columns hours of the day, one colour scale shared by all panels so policies
    compare at a glance.  With only the city-wide series: one panel, rows are policies.
    """
    prof = hour_of_day_profile(by_time, metric)
    if prof.empty:
        return None
    local = prof[prof["entity"] != "city"]
    if not local.empty:
        order = (local.groupby("entity")["mean"].mean().sort_values(ascending=False, kind="stable")
                 .index[:max_entities].tolist())
        data = local[local["entity"].isin(order)]
        panels = [(pol, data[data["policy"] == pol], "entity", order) for pol in policies]
    else:
        data = prof
        panels = [("", prof, "policy", policies)]
    data = data[["policy", "entity", "hour", "mean"]].reset_index(drop=True)
    vmin, vmax = float(data["mean"].min()), float(data["mean"].max())
    # panels in a grid (two columns beyond two policies) so that many policies stay readable
    cols = 1 if len(panels) <= 2 else 2
    rows_n = math.ceil(len(panels) / cols)
    panel_h = 0.22 * max(len(r) for _, _, _, r in panels) + 0.9
    fig, axes = plt.subplots(rows_n, cols, figsize=(10 if cols == 1 else 13, rows_n * panel_h + 0.6),
                             squeeze=False, sharex=True)
    flat = list(axes.ravel())
    for ax in flat[len(panels):]:
        ax.set_visible(False)
    image = None
    for ax, (pol, d, row_key, rows) in zip(flat, panels, strict=False):
        grid = (d.pivot_table(index=row_key, columns="hour", values="mean", aggfunc="first", observed=True)
                .reindex(index=rows, columns=range(24)))
        image = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap="viridis", vmin=vmin, vmax=vmax,
                          interpolation="nearest")
        ax.set_yticks(range(len(rows)), [safe_text(str(r)) for r in rows], fontsize="x-small" if cols > 1 else "small")
        ax.set_xticks(range(0, 24, 2))
        ax.set_title(safe_text(pol) if pol else safe_text(f"{metric} by hour of day"), fontsize="medium")
    for ax in flat[len(panels) - cols:len(panels)]:
        ax.set_xlabel("hour of day")
    if image is not None:
        fig.colorbar(image, ax=flat[:len(panels)], label=safe_text(metric), shrink=0.8)
    if panels[0][0]:
        fig.suptitle(safe_text(f"{metric} by hour of day (mean over replications and days; white: no data)"),
                     fontsize="medium")
    return Plot(f"heatmap-{metric}", f"{metric} by hour of day", to_png(fig), data, "time")
