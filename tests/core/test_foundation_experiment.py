"""Runner, random streams, statistics, report: determinism, CRN, agreement."""

from __future__ import annotations

import io
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from scipy import stats as st

from simcity import compare, load_scenario, report
from simcity.output import metric_label, shown
from simcity.rng import Streams
from simcity.stats import mean_ci, paired_diff_ci, welch_diff_ci


def test_streams_are_keyed_by_seed_replication_and_source() -> None:
    """A stream is a function of (seed, replication, source name) only: the same key repeats its
    draws, changing any one part changes them, and 1,000 draws from another source leave it
    untouched, which is what makes common random numbers between policies work."""
    a = Streams(5, 2)["arrivals"].random(4)
    assert np.array_equal(a, Streams(5, 2)["arrivals"].random(4))
    for other in (Streams(6, 2)["arrivals"], Streams(5, 3)["arrivals"], Streams(5, 2)["durations"]):
        assert not np.array_equal(a, other.random(4))
    # drawing from one source does not shift another (a policy change perturbs few streams)
    s = Streams(5, 2)
    s["durations"].random(1000)
    assert np.array_equal(s["arrivals"].random(4), a)


def test_jobs_do_not_change_results(toy_file: Path) -> None:
    """One and two worker processes give identical replication, time and summary tables, in the
    documented long format with 3 policies x 6 replications x 3 metrics = 54 rows."""
    sc = load_scenario(toy_file)
    one = compare(sc, jobs=1, progress=False)
    two = compare(sc, jobs=2, progress=False)
    pd.testing.assert_frame_equal(one.table, two.table)
    pd.testing.assert_frame_equal(one.by_time, two.by_time)
    pd.testing.assert_frame_equal(one.summary, two.summary)
    assert list(one.table.columns) == ["scenario", "policy", "replication", "metric", "value"]
    assert len(one.table) == 3 * 6 * 3


def test_mean_ci_matches_scipy() -> None:
    """The t interval of 25 normal draws at 90% equals scipy's t.interval with 24 degrees of freedom
    and the standard error of the mean; one observation has no interval (NaN)."""
    x = np.random.default_rng(1).normal(3, 2, 25)
    ci = mean_ci(x, 0.9)
    lo, hi = st.t.interval(0.9, 24, loc=x.mean(), scale=st.sem(x))
    assert math.isclose(ci.low, lo) and math.isclose(ci.high, hi)
    assert math.isnan(mean_ci([1.0]).low)


def test_common_random_numbers_narrow_the_paired_interval(toy_file: Path) -> None:
    """Under common random numbers two and one servers see the same customers, so their served
    counts are positively correlated and the paired interval of the difference is narrower than
    Welch's (same mean difference); the summary's difference interval must be the paired one."""
    sc = load_scenario(toy_file).with_overrides({"replications": 20})
    res = compare(sc, progress=False)
    w = res.wide()
    a = w[w.policy == "two"]["served"].to_numpy()
    b = w[w.policy == "one"]["served"].to_numpy()
    paired, unpaired = paired_diff_ci(a, b), welch_diff_ci(a, b)
    assert paired.mean == pytest.approx(unpaired.mean)
    # positively correlated outputs under CRN: the paired interval must be narrower
    assert np.corrcoef(a, b)[0, 1] > 0
    assert paired.half_width < unpaired.half_width
    row = res.summary[(res.summary.policy == "two") & (res.summary.metric == "served")].iloc[0]
    assert row["diff_ci_low"] == pytest.approx(paired.low) and row["diff_ci_high"] == pytest.approx(paired.high)


def test_erlang_b_on_toy_model_sanity(toy_file: Path) -> None:
    """The runner adds nothing to the model: M/M/2/2 at offered load 4/h x 0.5 h = 2 Erlang blocks
    B(2, 2) = 2/5 = 0.4 of arrivals (Erlang B), so the 99% interval of ten 390-hour replications
    must contain 0.4 (give or take 0.02 for the finite horizon)."""
    sc = load_scenario(toy_file).with_overrides({"horizon_hours": 400.0, "warmup_hours": 10.0,
                                                  "replications": 10})
    res = compare(sc, progress=False)
    blk = res.table[(res.table.policy == "two") & (res.table.metric == "blocking")]["value"]
    ci = mean_ci(blk.to_numpy(), 0.99)
    assert ci.low - 0.02 <= 0.4 <= ci.high + 0.02


def _html_tables(html_text: str) -> dict[str, pd.DataFrame]:
    out = {}
    for tid in ("headline", "differences"):
        frames = pd.read_html(io.StringIO(html_text), attrs={"id": tid})
        out[tid] = frames[0]
    return out


def test_report_agrees_with_summary_and_images_decode(toy_file: Path, tmp_path: Path) -> None:
    """The saved summary.csv equals the summary in memory, every headline cell of the HTML shows
    that mean to the decimals printed, there is one difference row per non-baseline metric row,
    every embedded image decodes as a PNG of more than 50 x 50 pixels (one per plot file, at
    least four), the parquet table is the one in memory, and the page loads nothing from the web."""
    sc = load_scenario(toy_file)
    res = compare(sc, progress=False)
    out = report.save(res, tmp_path / "run")
    html_text = (out / "report.html").read_text()
    summary = pd.read_csv(out / "summary.csv")
    pd.testing.assert_frame_equal(summary, res.summary.assign(policy=res.summary.policy.astype(str)),
                                  check_dtype=False)
    tables = _html_tables(html_text)
    head = tables["headline"]
    for _, r in summary.iterrows():
        m = sc.domain.metric(r["metric"])
        cell = head.loc[head["metric"] == metric_label(m), r["policy"]].iloc[0]
        mean_txt = cell.split("±")[0].strip().replace(",", "")
        decimals = len(mean_txt.split(".")[1]) if "." in mean_txt else 0
        # the mean as shown (shares in %), to the decimals printed
        assert float(mean_txt) == pytest.approx(shown(m, r["mean"]), abs=0.51 * 10 ** -decimals)
    diffs = tables["differences"]
    assert len(diffs) == len(summary[summary.policy != "one"])
    # every embedded image decodes as a PNG of non-trivial size
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', html_text)
    assert len(pngs) == len(list((out / "plots").glob("*.png"))) >= 4
    import base64

    for b in pngs:
        img = imread(io.BytesIO(base64.b64decode(b)), format="png")
        assert img.shape[0] > 50 and img.shape[1] > 50
    # the replication table on disk is the one in memory
    disk = pd.read_parquet(out / "replications.parquet")
    assert disk["value"].tolist() == res.table["value"].tolist()
    assert "http://" not in html_text and "https://" not in html_text.replace(
        "https://json-schema.org", "")


def test_save_refuses_existing_folder_and_leaves_it_intact(toy_file: Path, tmp_path: Path) -> None:
    """Saving into an existing folder that is not a results folder is refused and the user's file in
    it survives, with no half-written folder left beside it."""
    res = compare(load_scenario(toy_file).with_overrides({"replications": 2}), progress=False)
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("precious")
    with pytest.raises(report.OutputError, match="already exists"):
        report.save(res, target)
    assert (target / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken", "toy.toml"]  # no partial folder


def test_save_names_the_python_argument_and_overwrites_only_results(toy_file: Path, tmp_path: Path) -> None:
    """A second ``simcity.save`` to the same folder says how to go on in Python (``out=``,
    ``overwrite=True``); with ``overwrite=True`` it replaces a previous results folder (the new
    tables, nothing of the old left) but never a folder of other files."""
    sc = load_scenario(toy_file)
    first = compare(sc.with_overrides({"replications": 2}), progress=False)
    second = compare(sc.with_overrides({"replications": 3}), progress=False)
    out = report.save(first, tmp_path / "run")
    (out / "stray-old-file.txt").write_text("from the first run")
    with pytest.raises(report.OutputError, match=r"out= in Python.*overwrite=True"):
        report.save(second, out)
    assert report.save(second, out, overwrite=True) == out
    assert sorted(pd.read_csv(out / "replications.csv")["replication"].unique()) == [0, 1, 2]
    assert not (out / "stray-old-file.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "toy.toml"]  # nothing moved aside is left
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("precious")
    with pytest.raises(report.OutputError, match="replaces only a results folder"):
        report.save(second, other, overwrite=True)
    assert (other / "keep.txt").read_text() == "precious"


def test_cli_compare_end_to_end(toy_file: Path, tmp_path: Path) -> None:
    """A subprocess `simcity compare -n 3 -j 2`: exit 0, a verdict against the first policy, metric
    titles with units, a too-few-replications warning for 3, the resolved scenario and a table
    with replications 0-2 saved; repeating the command into the same folder exits 2 with a
    message and no traceback."""
    code = ("import sys, tests.conftest; from simcity.cli import main; "
            f"sys.exit(main(['compare', {str(toy_file)!r}, '-n', '3', '-j', '2', '--out', "
            f"{str(tmp_path / 'out')!r}]))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Verdict against the baseline one")
    assert "Share of arrivals lost (%)" in res.stdout and "Too few replications: 3" in res.stdout
    resolved = load_scenario(tmp_path / "out" / "scenario.toml")
    assert resolved.replications == 3
    table = pd.read_csv(tmp_path / "out" / "replications.csv")
    assert sorted(table.replication.unique()) == [0, 1, 2]
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
