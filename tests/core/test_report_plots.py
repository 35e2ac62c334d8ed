"""Time-of-day heatmaps: the numbers drawn, checked against a hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simcity.plots import heatmap_plot, hour_of_day_profile, safe_text


def _series(entities: dict[str, float], days: int = 2, reps: int = 2) -> pd.DataFrame:
    """value = level(entity) + hour of day + 10 * day + replication (policy 'b' adds 1)."""
    rows = []
    for pol, shift in (("a", 0.0), ("b", 1.0)):
        for rep in range(reps):
            for ent, level in entities.items():
                for t in range(24 * days):
                    rows.append((pol, rep, ent, t + 0.5, "stock", level + t % 24 + 10 * (t // 24) + rep + shift))
    df = pd.DataFrame(rows, columns=["policy", "replication", "entity", "time_h", "metric", "value"])
    df["policy"] = df["policy"].astype(pd.CategoricalDtype(["a", "b"], ordered=True))
    return df


def test_profile_folds_days_and_averages_replications() -> None:
    """The hour-of-day profile folds three days onto one (mean of 10 x day = 10) and averages
    replications (mean 0.5): 100 + hour + 10.5 for policy a, 1 more for b, for every hour."""
    prof = hour_of_day_profile(_series({"s1": 100.0}, days=3, reps=2), "stock")
    assert len(prof) == 2 * 24
    got = prof.set_index(["policy", "hour"])["mean"]
    for h in range(24):
        # mean over days 0,1,2 of 10*day is 10; over replications 0,1 of rep is 0.5
        assert got[("a", h)] == pytest.approx(100 + h + 10 + 0.5)
        assert got[("b", h)] == pytest.approx(100 + h + 10 + 0.5 + 1)


def test_heatmap_rows_are_the_busiest_entities_with_a_shared_scale() -> None:
    """With per-entity series the heatmap leaves 'city' out, keeps the max_entities busiest entities
    (busy, mid) for both policies over 24 hours, and draws the hand-computed maximum 50 + 23 + 5
    + 0.5 + 1."""
    by_time = _series({"quiet": 0.0, "busy": 50.0, "mid": 20.0, "city": 1000.0})
    p = heatmap_plot(by_time, "stock", ["a", "b"], max_entities=2)
    assert p is not None and p.section == "time" and p.png.startswith(b"\x89PNG")
    # 'city' is left out of the per-entity view; only the two busiest remain
    assert set(p.data["entity"]) == {"busy", "mid"}
    assert len(p.data) == 2 * 2 * 24
    assert p.data["mean"].max() == pytest.approx(50 + 23 + 5 + 0.5 + 1)


def test_heatmap_of_a_city_series_has_policies_as_rows() -> None:
    """With only a city-wide series the heatmap has one row per policy, and policy a's 24 values are
    3 + hour + 5.5 (days and replications folded)."""
    p = heatmap_plot(_series({"city": 3.0}), "stock", ["a", "b"])
    assert p is not None
    assert set(p.data["policy"]) == {"a", "b"} and set(p.data["entity"]) == {"city"}
    a = p.data[p.data["policy"] == "a"].sort_values("hour")["mean"].to_numpy()
    assert np.allclose(a, 3 + np.arange(24) + 5 + 0.5)


def test_no_heatmap_without_the_metric() -> None:
    """A series the results do not hold draws no heatmap (None), rather than an empty figure."""
    assert heatmap_plot(_series({"x": 1.0}), "overflow", ["a", "b"]) is None


def test_safe_text_keeps_dollars_literal() -> None:
    """safe_text escapes '$' so matplotlib shows 'fee $2 per $h' as plain text, not mathtext."""
    import matplotlib.text

    t = matplotlib.text.Text(text=safe_text("fee $2 per $h"))
    shown, is_math = t._preprocess_math(t.get_text())
    assert (shown, is_math) == ("fee $2 per $h", False)


def test_clock_labels_read_time_of_day_and_day() -> None:
    """Simulation hour 32 is 08:00 on day 2 (hour 0 = midnight of day 1), never '32'."""
    from simcity.plots import clock_label

    assert clock_label(32.0, True) == "day 2\n08:00"
    assert clock_label(7.5, False) == "07:30"
    assert clock_label(0.0, True) == "day 1\n00:00"


def test_time_axis_of_a_multi_day_run_is_clock_time() -> None:
    """A 12 h .. 36 h window is labelled in clock time with the day named at its start and at
    midnight: no tick reads a simulation hour such as 32."""
    import matplotlib.pyplot as plt

    from simcity.plots import clock_axis

    fig, ax = plt.subplots()
    clock_axis(ax, 12.0, 36.0)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    plt.close(fig)
    assert labels[0] == "day 1\n12:00" and "day 2\n00:00" in labels and "08:00" in labels
    assert not any(lab.split("\n")[-1] in {"24", "32", "36"} for lab in labels)
    assert all(":" in lab for lab in labels)


def _share_summary() -> pd.DataFrame:
    """Two policies of a share metric; the baseline's interval reaches below 0."""
    return pd.DataFrame({
        "policy": ["a", "b"], "metric": ["lost", "lost"], "mean": [0.02, 0.10],
        "ci_low": [-0.01, 0.08], "ci_high": [0.05, 0.12], "diff": [0.0, 0.08],
        "diff_ci_low": [0.0, 0.06], "diff_ci_high": [0.0, 0.10], "diff_significant": [False, True]})


def test_a_share_is_drawn_in_percent_with_impossible_ends_clipped() -> None:
    """A share is drawn as %: the drawn means are 100 x the summary's, and the baseline's low
    end -1 % is drawn at the bound 0 (no bar reaches below what the quantity can be); the
    differences stay signed (percentage points)."""
    from simcity.domain import Metric
    from simcity.plots import metric_plot

    m = Metric("lost", "Share of drivers lost", "share", "lower")
    p = metric_plot(_share_summary(), m, ["a", "b"], bounds=(0.0, 1.0))
    d = p.data.set_index("policy")
    assert d.at["a", "mean"] == pytest.approx(2.0) and d.at["b", "mean"] == pytest.approx(10.0)
    assert d.at["a", "ci_low"] == 0.0 and d.at["a", "ci_high"] == pytest.approx(5.0)
    assert d.at["b", "diff_ci_low"] == pytest.approx(6.0)
    assert p.title == "Share of drivers lost"


def test_tradeoff_plot_places_each_policy_at_its_means() -> None:
    """The trade-off chart draws each policy at (mean x, mean y) with both intervals, shares in
    %, the clipped end at its bound; it belongs to the verdict section."""
    from simcity.domain import Metric
    from simcity.plots import tradeoff_plot

    s = _share_summary()
    cost = s.assign(metric="cost", mean=[1000.0, 1500.0], ci_low=[900.0, 1400.0], ci_high=[1100.0, 1600.0])
    x = Metric("cost", "Fleet cost", "CNY/day", "lower")
    y = Metric("lost", "Share of drivers lost", "share", "lower")
    p = tradeoff_plot(pd.concat([s, cost]), x, y, ["a", "b"], y_bounds=(0.0, 1.0))
    d = p.data.set_index("policy")
    assert p.section == "verdict" and p.name == "tradeoff-cost-lost"
    assert d.at["b", "x_mean"] == 1500.0 and d.at["b", "y_mean"] == pytest.approx(10.0)
    assert d.at["a", "y_low"] == 0.0 and d.at["a", "x_low"] == 900.0
