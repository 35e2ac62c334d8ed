"""Plots of comparison results (matplotlib, Agg backend, PNG bytes).

Every plot function returns a :class:`Plot`: the PNG and the exact data that was drawn, so
that tests (and the report) can check the numbers rather than the pixels.
"""

from __future__ import annotations

import io
import math
import textwrap
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from simcity.domain import Metric  # noqa: E402
from simcity.output import Plot, fmt, is_share, metric_label, metric_title, shown_unit  # noqa: E402
from simcity.stats import mean_ci  # noqa: E402


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


def number_axis(axis: Any) -> None:
    """Tick labels of ``axis`` (``ax.xaxis``/``ax.yaxis``) as a planner reads numbers: thousands
    separators, no scientific notation, no offset (:func:`simcity.output.fmt`)."""
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt(v)))


def _better_hint(m: Metric) -> str:
    return {"lower": " – lower is better", "higher": " – higher is better"}.get(m.better, "")


def _clipped(values: np.ndarray, bounds: tuple[float | None, float | None]) -> np.ndarray:
    lo, hi = bounds
    out = values.astype(float)
    if lo is not None:
        out = np.maximum(out, lo)
    if hi is not None:
        out = np.minimum(out, hi)
    return out


def metric_plot(summary: pd.DataFrame, metric: Metric, policies: list[str],
                bounds: tuple[float | None, float | None] = (None, None)) -> Plot:
    """Mean with CI per policy (left) and paired difference to the baseline with CI (right), in
    the metric's shown unit (shares as %, differences of shares in percentage points).

    ``bounds`` is the range the quantity can take (e.g. ``(0, None)`` for a count); interval
    ends beyond it are drawn at the bound (the data drawn says so in ``ci_low``/``ci_high``)."""
    data = summary[summary["metric"] == metric.name].set_index("policy").reindex(policies).reset_index()
    k = 100.0 if is_share(metric) else 1.0
    data["ci_low"] = _clipped(data["ci_low"].to_numpy(dtype=float), bounds)
    data["ci_high"] = _clipped(data["ci_high"].to_numpy(dtype=float), bounds)
    for c in ("mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high"):
        data[c] = data[c].astype(float) * k
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 0.45 * len(policies) + 1.6), sharey=True)
    y = np.arange(len(policies))
    err = np.vstack([data["mean"] - data["ci_low"], data["ci_high"] - data["mean"]])
    ax1.barh(y, data["mean"], xerr=np.nan_to_num(np.maximum(err, 0)), color="#4C72B0", capsize=4)
    ax1.set_yticks(y, [safe_text(p) for p in policies])
    ax1.invert_yaxis()
    unit = shown_unit(metric)
    ax1.set_xlabel(safe_text(f"mean ({unit})" if unit else "mean"))
    ax1.set_title(safe_text(metric_title(metric)), fontsize="medium", loc="left")
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
    dunit = shown_unit(metric, difference=True)
    ax2.set_xlabel(safe_text(f"paired difference to {policies[0]}" + (f" ({dunit})" if dunit else "")))
    ax2.set_title("vs baseline (green: better, red: worse, grey: no clear change)", fontsize="small")
    for ax in (ax1, ax2):
        ax.grid(axis="x", alpha=0.3)
        number_axis(ax.xaxis)
    drawn = data[["policy", "mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high"]].copy()
    return Plot(f"metric-{metric.name}", metric_title(metric), to_png(fig), drawn)


def clock_label(t_h: float, with_day: bool) -> str:
    """Simulation hour ``t_h`` (0 = midnight of day 1) as clock time, ``"day 2 08:00"`` style
    with ``with_day`` (on two lines)."""
    minutes = int(round(t_h * 60))
    day, rest = divmod(minutes, 24 * 60)
    clock = f"{rest // 60:02d}:{rest % 60:02d}"
    return f"day {day + 1}\n{clock}" if with_day else clock


def clock_axis(ax: Any, t0: float, t1: float) -> None:
    """The x axis of simulation hours ``t0``..``t1`` in clock time of day; a run over several
    days names the day at each midnight (a morning peak of day 2 reads 08:00, not 32)."""
    span = max(t1 - t0, 1.0)
    step = next(s for s in (1, 2, 3, 6, 12, 24, 48, 96) if span / s <= 12)
    ticks = np.arange(math.ceil(t0 / step) * step, t1 + 1e-9, step)
    multi = math.floor(t0 / 24) != math.floor((t1 - 1e-9) / 24)
    labels = [clock_label(float(t), multi and (i == 0 or round(float(t)) % 24 == 0)) for i, t in enumerate(ticks)]
    ax.set_xticks(ticks, labels)
    ax.set_xlim(t0, t1)
    ax.set_xlabel("time of day" if multi else f"time of day (day {math.floor(t0 / 24) + 1} of the run)")


def time_plot(by_time: pd.DataFrame, metric: str, policies: list[str], level: float = 0.95,
              entity: str = "city", series: Metric | None = None) -> Plot | None:
    """Mean over replications of a time series, per policy, with a CI band, against clock time
    (:func:`clock_axis`); ``series`` gives its title and unit (shares drawn as %)."""
    sub = by_time[(by_time["metric"] == metric) & (by_time["entity"] == entity)]
    if sub.empty:
        return None
    m = series or Metric(metric, metric, "")
    k = 100.0 if is_share(m) else 1.0
    rows = []
    for pol in policies:
        ps = sub[sub["policy"] == pol]
        for t, g in ps.groupby("time_h", sort=True):
            ci = mean_ci(g["value"].to_numpy(), level)
            rows.append((pol, float(t), k * ci.mean, k * ci.low, k * ci.high))  # type: ignore[arg-type]
    data = pd.DataFrame(rows, columns=["policy", "time_h", "mean", "ci_low", "ci_high"])
    fig, ax = plt.subplots(figsize=(10, 4))
    for pol in policies:
        d = data[data["policy"] == pol]
        (line,) = ax.plot(d["time_h"], d["mean"], label=safe_text(pol), drawstyle="steps-post")
        if d["ci_low"].notna().any():
            ax.fill_between(d["time_h"], d["ci_low"], d["ci_high"], alpha=0.15, step="post", color=line.get_color())
    times = data["time_h"].to_numpy(dtype=float)
    step = float(np.min(np.diff(np.unique(times)))) if len(np.unique(times)) > 1 else 1.0
    clock_axis(ax, float(times.min()), float(times.max()) + step)
    ax.set_ylabel(safe_text(shown_unit(m) or metric_title(m)))  # the title names the quantity
    number_axis(ax.yaxis)
    where = "" if entity == "city" else f" ({entity})"
    title = f"{metric_title(m)}{where} over the day"
    ax.set_title(safe_text(title))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return Plot(f"time-{metric}", title, to_png(fig), data, "time")


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
                 max_entities: int = 25, series: Metric | None = None) -> Plot | None:
    """Time-of-day heatmap of a ``by_time`` metric.

    With per-entity series (car parks, stations, drop points...): one panel per policy, rows
    are entities (the ``max_entities`` with the highest mean over all policies; ``city`` is
    left out), columns hours of the day, one colour scale shared by all panels so policies
    compare at a glance.  With only the city-wide series: one panel, rows are policies.
    ``series`` gives the title and unit (shares drawn as %); columns are labelled by clock time.
    """
    prof = hour_of_day_profile(by_time, metric)
    if prof.empty:
        return None
    m = series or Metric(metric, metric, "")
    if is_share(m):
        prof = prof.assign(mean=100.0 * prof["mean"])
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
        ax.set_xticks(range(0, 24, 3), [clock_label(h, False) for h in range(0, 24, 3)])
        ax.set_title(safe_text(pol) if pol else safe_text(f"{metric_title(m)} by hour of day"), fontsize="medium")
    for ax in flat[len(panels) - cols:len(panels)]:
        ax.set_xlabel("time of day (the hour starting at)")
    if image is not None:
        bar = fig.colorbar(image, ax=flat[:len(panels)], label=safe_text(metric_label(m)), shrink=0.8)
        number_axis(bar.ax.yaxis)
    if panels[0][0]:
        fig.suptitle(safe_text(f"{metric_title(m)} by hour of day (mean over replications and days; white: no data)"),
                     fontsize="medium")
    return Plot(f"heatmap-{metric}", f"{metric_title(m)} by hour of day", to_png(fig), data, "time")


def tradeoff_plot(summary: pd.DataFrame, x: Metric, y: Metric, policies: list[str],
                  x_bounds: tuple[float | None, float | None] = (None, None),
                  y_bounds: tuple[float | None, float | None] = (None, None)) -> Plot:
    """One metric against another (e.g. cost against service level): each policy a point at its
    means with both confidence intervals as error bars, in the shown units; interval ends
    beyond ``*_bounds`` (what the quantity can take) are drawn at the bound."""
    rows = []
    for pol in policies:
        vals = []
        for m, bounds in ((x, x_bounds), (y, y_bounds)):
            r = summary[(summary["metric"] == m.name) & (summary["policy"] == pol)]
            k = 100.0 if is_share(m) else 1.0
            if r.empty:
                vals += [math.nan] * 3
                continue
            lo, hi = _clipped(r[["ci_low", "ci_high"]].to_numpy(dtype=float)[0], bounds)
            vals += [k * float(r["mean"].iloc[0]), k * float(lo), k * float(hi)]
        rows.append((pol, *vals))
    data = pd.DataFrame(rows, columns=["policy", "x_mean", "x_low", "x_high", "y_mean", "y_low", "y_high"])
    fig, ax = plt.subplots(figsize=(8, 5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, row in enumerate(data.to_dict("records")):
        c = colours[i % len(colours)]
        xerr = np.nan_to_num([[max(row["x_mean"] - row["x_low"], 0)], [max(row["x_high"] - row["x_mean"], 0)]])
        yerr = np.nan_to_num([[max(row["y_mean"] - row["y_low"], 0)], [max(row["y_high"] - row["y_mean"], 0)]])
        ax.errorbar([row["x_mean"]], [row["y_mean"]], xerr=xerr, yerr=yerr, fmt="s" if i == 0 else "o",
                    color=c, capsize=4, ms=7, label=safe_text(str(row["policy"]) + (" (baseline)" if i == 0 else "")))
        ax.annotate(safe_text(str(row["policy"])), (row["x_mean"], row["y_mean"]), textcoords="offset points",
                    xytext=(6, 6), fontsize="small", color=c)
    ax.set_xlabel(safe_text(textwrap.fill(metric_label(x) + _better_hint(x), 70)))
    ax.set_ylabel(safe_text(textwrap.fill(metric_label(y) + _better_hint(y), 45)))
    title = f"{metric_title(y)} against {metric_title(x)}"
    ax.set_title(safe_text(textwrap.fill(title, 80)), fontsize="medium")
    number_axis(ax.xaxis)
    number_axis(ax.yaxis)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return Plot(f"tradeoff-{x.name}-{y.name}", title, to_png(fig), data, "verdict")
