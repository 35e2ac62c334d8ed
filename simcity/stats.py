"""Output analysis: means, confidence intervals and paired differences.

Every interval is a Student-t interval over independent replications.  The paired
difference against the baseline uses the per-replication differences, which is valid
(and narrow) because every policy sees the same random inputs in replication ``r``
(common random numbers, :mod:`simcity.rng`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _st


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        """Half the width of the interval."""
        return (self.high - self.low) / 2


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95) -> Interval:
    """Student-t confidence interval for the mean of i.i.d. ``values`` (nan values dropped).

    With fewer than two values the interval is undefined (``nan`` bounds).
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    m = float(x.mean())
    if n < 2:
        return Interval(m, math.nan, math.nan, n)
    sd = float(x.std(ddof=1))
    h = float(_st.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return Interval(m, m - h, m + h, n)


def paired_diff_ci(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                   level: float = 0.95) -> Interval:
    """Interval for mean(a - b) from paired observations (same replication, same random inputs)."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError("paired samples must have the same length")
    return mean_ci(x - y, level)


def welch_diff_ci(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                  level: float = 0.95) -> Interval:
    """Interval for mean(a) - mean(b) treating the samples as independent (Welch)."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    d = float(x.mean() - y.mean()) if x.size and y.size else math.nan
    if x.size < 2 or y.size < 2:
        return Interval(d, math.nan, math.nan, int(min(x.size, y.size)))
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(vx + vy)
    if se == 0:
        return Interval(d, d, d, int(min(x.size, y.size)))
    dof = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    h = float(_st.t.ppf(0.5 + level / 2, dof)) * se
    return Interval(d, d - h, d + h, int(min(x.size, y.size)))


SUMMARY_COLUMNS = [
    "policy", "metric", "n", "mean", "ci_low", "ci_high",
    "diff", "diff_ci_low", "diff_ci_high", "diff_significant",
]


def summarize(table: pd.DataFrame, policies: Sequence[str], metrics: Sequence[str],
              level: float = 0.95) -> pd.DataFrame:
    """Summary of a tidy replication table (columns ``policy, replication, metric, value``).

    One row per (policy, metric): the mean with its confidence interval and, for every
    policy, the paired difference against the baseline (the first policy) with its interval.
    ``diff_significant`` is true when that interval excludes zero.
    """
    baseline = policies[0]
    wide = table.pivot_table(index=["metric", "replication"], columns="policy", values="value",
                             aggfunc="first", dropna=False)
    rows = []
    for metric in metrics:
        sub = wide.loc[metric] if metric in wide.index.get_level_values(0) else None
        for pol in policies:
            if sub is None or pol not in sub.columns:
                continue
            vals = sub[pol].to_numpy(dtype=float)
            ci = mean_ci(vals, level)
            base = sub[baseline].to_numpy(dtype=float)
            mask = ~(np.isnan(vals) | np.isnan(base))
            d = paired_diff_ci(vals[mask], base[mask], level)
            sig = bool(d.n >= 2 and not (d.low <= 0 <= d.high)) if pol != baseline else False
            rows.append([pol, metric, ci.n, ci.mean, ci.low, ci.high, d.mean, d.low, d.high, sig])
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
