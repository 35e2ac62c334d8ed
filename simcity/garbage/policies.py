"""Daily point selection: which drop points the trucks visit, and how much they expect.

Each rule returns a :class:`Selection`: points that must be visited, points that may be
visited at a penalty (prize-collecting stops for ``optimize.routing``), and the load the
planner expects to find there.  Rules only see what a real planner sees: the schedule for
``fixed``; sensor fill readings and the forecast for ``threshold`` and ``risk``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaincc

from simcity.garbage.config import City, Policy
from simcity.garbage.layout import BoolArray, FloatArray, Layout


@dataclass(frozen=True)
class Selection:
    """Per category and point (arrays of shape ``(C, n)``)."""

    required: BoolArray
    optional: BoolArray
    #: skip penalty of optional points (CNY)
    penalty: FloatArray
    #: load the planner expects to collect (t)
    expected_load: FloatArray


def overflow_probability(content: FloatArray, cap: FloatArray, mean: FloatArray, cv: FloatArray) -> FloatArray:
    """P(content + A > cap) for A ~ Gamma with the given mean and coefficient of variation.

    ``cv`` is per row (category).  Points with no bin (``cap == 0``) get probability 0.
    A deterministic amount (``cv == 0``) gives probability 0 or 1.
    """
    room = cap - content
    out = np.zeros_like(content)
    pos = (cap > 0) & (mean > 0)
    for c in range(content.shape[0]):
        m = pos[c]
        if not m.any():
            continue
        if cv[c] <= 0:
            out[c, m] = (mean[c, m] > room[c, m]).astype(float)
            continue
        shape = 1.0 / cv[c] ** 2
        scale = mean[c, m] / shape
        # survival function of the gamma law at the remaining room: Q(shape, room/scale)
        out[c, m] = np.where(room[c, m] <= 0, 1.0, gammaincc(shape, np.maximum(room[c, m], 0) / scale))
    return out


def select(
    city: City,
    policy: Policy,
    layout: Layout,
    day: int,
    sensed: FloatArray,
    to_visit: FloatArray,
    next_round: FloatArray,
) -> Selection:
    """Choose today's points.

    Parameters
    ----------
    sensed
        Content of every bin at planning time (t); used only by sensor-based rules.
    to_visit
        Expected drops between planning time and the middle of the shift (t).
    next_round
        Expected drops between planning time and the latest time tomorrow's round may reach
        the point (the end of tomorrow's shift), in t.
    """
    has = layout.has_bin
    cap = layout.cap
    C, n = has.shape
    required = np.zeros((C, n), dtype=bool)
    optional = np.zeros((C, n), dtype=bool)
    penalty = np.zeros((C, n))
    if policy.selection == "fixed":
        # every k days, points staggered by index so that each day carries 1/k of the work
        k = policy.every_k_days
        required[:] = ((day + np.arange(n)) % k == 0)[None, :]
        # no sensors: the planner expects k days of mean generation
        expected = np.minimum(layout.mean * k, cap)
    elif policy.selection == "threshold":
        required[:] = sensed + next_round > policy.theta * cap
        expected = np.minimum(sensed + to_visit, cap)
    elif policy.selection == "soonest":
        # the municipality's rule: the N points per category that will be full first,
        # ranked by days until full at the point's mean rate (ties: lower index first)
        rate = np.maximum(layout.mean, 1e-12)
        days_left = np.where(has, (cap - sensed) / rate, np.inf)
        for c in range(C):
            k = min(policy.visits_per_day, int(has[c].sum()))
            if k > 0:
                first = np.argsort(days_left[c], kind="stable")[:k]
                required[c, first] = True
        expected = np.minimum(sensed + to_visit, cap)
    else:
        cv = np.array([w.day_cv for w in city.waste])
        p = overflow_probability(sensed, cap, next_round, cv)
        required[:] = p > policy.risk_threshold
        optional[:] = (p > policy.risk_optional) & ~required
        penalty = p * policy.overflow_cost
        expected = np.minimum(sensed + to_visit, cap)
    for cat in policy.daily_categories:
        if cat in layout.categories:
            c = layout.categories.index(cat)
            required[c] = True
            optional[c] = False
            # every point every day is a fixed daily round: planned on the mean daily load
            # under every rule (sensors change nothing about which points are visited), so
            # its plan is the same every day and solved once
            expected[c] = np.minimum(layout.mean[c], cap[c])
    required &= has
    optional &= has
    return Selection(required=required, optional=optional, penalty=penalty, expected_load=expected)
