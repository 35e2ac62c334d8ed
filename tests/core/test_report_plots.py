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
    prof = hour_of_day_profile(_series({"s1": 100.0}, days=3, reps=2), "stock")
    assert len(prof) == 2 * 24
    got = prof.set_index(["policy", "hour"])["mean"]
    for h in range(24):
        # mean over days 0,1,2 of 10*day is 10; over replications 0,1 of rep is 0.5
        assert got[("a", h)] == pytest.approx(100 + h + 10 + 0.5)
        assert got[("b", h)] == pytest.approx(100 + h + 10 + 0.5 + 1)


def test_heatmap_rows_are_the_busiest_entities_with_a_shared_scale() -> None:
    by_time = _series({"quiet": 0.0, "busy": 50.0, "mid": 20.0, "city": 1000.0})
    p = heatmap_plot(by_time, "stock", ["a", "b"], max_entities=2)
    assert p is not None and p.section == "time" and p.png.startswith(b"\x89PNG")
    # 'city' is left out of the per-entity view; only the two busiest remain
    assert set(p.data["entity"]) == {"busy", "mid"}
    assert len(p.data) == 2 * 2 * 24
    assert p.data["mean"].max() == pytest.approx(50 + 23 + 5 + 0.5 + 1)


def test_heatmap_of_a_city_series_has_policies_as_rows() -> None:
    p = heatmap_plot(_series({"city": 3.0}), "stock", ["a", "b"])
    assert p is not None
    assert set(p.data["policy"]) == {"a", "b"} and set(p.data["entity"]) == {"city"}
    a = p.data[p.data["policy"] == "a"].sort_values("hour")["mean"].to_numpy()
    assert np.allclose(a, 3 + np.arange(24) + 5 + 0.5)


def test_no_heatmap_without_the_metric() -> None:
    assert heatmap_plot(_series({"x": 1.0}), "overflow", ["a", "b"]) is None


def test_safe_text_keeps_dollars_literal() -> None:
    import matplotlib.text

    t = matplotlib.text.Text(text=safe_text("fee $2 per $h"))
    shown, is_math = t._preprocess_math(t.get_text())
    assert (shown, is_math) == ("fee $2 per $h", False)
