"""Plots of comparison results (matplotlib, Agg backend, PNG bytes).

Every plot function returns a :class:`Plot`: the PNG and the exact data that was drawn, so
that tests (and the report) can check the numbers rather than the pixels.
"""

from __future__ import annotations

import io
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
    """A rendered plot and the data drawn in it."""

    name: str
    title: str
    png: bytes
    data: pd.DataFrame


def _png(fig: plt.Figure) -> bytes:
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
    ax1.set_yticks(y, policies)
    ax1.invert_yaxis()
    ax1.set_xlabel(f"mean ({metric.unit})" if metric.unit else "mean")
    ax1.set_title(metric.name)
    derr = np.vstack([data["diff"] - data["diff_ci_low"], data["diff_ci_high"] - data["diff"]])
    colors = ["#999999" if i == 0 else ("#C44E52" if s else "#8C8C8C")
              for i, s in enumerate(data["diff_significant"])]
    ax2.barh(y, data["diff"], xerr=np.nan_to_num(derr), color=colors, capsize=4)
    ax2.axvline(0, color="black", lw=0.8)
    ax2.set_xlabel(f"paired difference to {policies[0]}")
    ax2.set_title("vs baseline (red: CI excludes 0)")
    for ax in (ax1, ax2):
        ax.grid(axis="x", alpha=0.3)
    drawn = data[["policy", "mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high"]].copy()
    return Plot(f"metric-{metric.name}", metric.description or metric.name, _png(fig), drawn)


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
        ax.plot(d["time_h"], d["mean"], label=pol, drawstyle="steps-post")
        if d["ci_low"].notna().any():
            ax.fill_between(d["time_h"], d["ci_low"], d["ci_high"], alpha=0.15, step="post")
    ax.set_xlabel("time (h)")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} over time ({entity})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return Plot(f"time-{metric}", f"{metric} over time", _png(fig), data)
