"""The HTML report: order of sections, provenance, escaping, the planner's tables, the folder."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import simcity
from simcity import report
from simcity.experiment import Results
from simcity.output import file_stem
from simcity.scenario import parse_scenario_text
from tests.toydomain import TOY_TOML

EVIL = "<script>alert(1)</script>"
#: a name that also tries to break out of an attribute and to start matplotlib mathtext
EVIL_POLICY = '"><img src=x onerror=alert(2)> $5 $x'


class _Collector(HTMLParser):
    """Tags in document order, the text inside each kind of element, attributes of images."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.imgs: list[dict[str, str | None]] = []
        self.text: dict[str, list[str]] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "img":
            self.imgs.append(a)
        else:
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open and self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        for tag in set(self._open):
            self.text.setdefault(tag, []).append(data)


def _parse(text: str) -> _Collector:
    c = _Collector()
    c.feed(text)
    return c


@pytest.fixture(scope="module")
def toy_results() -> Results:
    sc = parse_scenario_text(TOY_TOML.replace("replications = 6", "replications = 4")
                             .replace("horizon_hours = 48.0", "horizon_hours = 24.0"))
    return simcity.compare(sc)


@pytest.fixture(scope="module")
def toy_plots(toy_results: Results) -> list[report.Plot]:
    return report.make_plots(toy_results)


@pytest.fixture(scope="module")
def evil_plots(evil_results: Results) -> list[report.Plot]:
    return report.make_plots(evil_results)


@pytest.fixture(scope="module")
def evil_results() -> Results:
    text = (TOY_TOML.replace('name = "toy loss system"', f'name = "{EVIL}"')
            .replace('description = "Three', f'description = "{EVIL} Three')
            .replace('name = "two"', f"name = '{EVIL_POLICY}'")
            .replace("replications = 6", "replications = 3").replace("horizon_hours = 48.0", "horizon_hours = 24.0"))
    return simcity.compare(parse_scenario_text(text))


def test_headline_first_then_pictures_then_details(toy_results: Results, toy_plots: list[report.Plot]) -> None:
    """The page reads verdict (with its trade-off chart), headline table, pictures, details, and
    embeds every plot exactly once as a PNG data URI."""
    page = _parse(report.render_html(toy_results, toy_plots))
    ids = page.ids
    assert ids.index("verdict") < ids.index("fig-tradeoff-served-blocking") < ids.index("headline-metrics")
    assert ids.index("headline-metrics") < ids.index("headline") < ids.index("pictures")
    first_fig = next(i for i in ids if i.startswith("fig-") and not i.startswith("fig-tradeoff-"))
    assert ids.index("pictures") < ids.index(first_fig) < ids.index("details")
    assert ids.index("details") < ids.index("policies")
    # every plot is in the page, once, as an embedded PNG
    names = [p.name for p in toy_plots]
    assert [i[4:] for i in ids if i.startswith("fig-")] == names
    assert all(str(img["src"]).startswith("data:image/png;base64,iVBORw0KGgo") for img in page.imgs)
    assert len(page.imgs) == len(names)


def test_states_scenario_seed_replications_and_version(toy_results: Results) -> None:
    """The provenance line names the scenario, its seed (7), the replications per policy (4) and the
    simcity version that drew the report."""
    page = _parse(report.render_html(toy_results, []))
    meta = " ".join(" ".join(page.text["p"]).split())
    assert "Scenario toy loss system" in meta
    assert "seed 7" in meta
    assert "4 replications per policy" in meta
    assert f"simcity {simcity.__version__}" in meta


def test_headline_table_is_metrics_by_policies_with_mean_and_half_width(toy_results: Results) -> None:
    """The headline table has metrics as rows labelled by title and shown unit (the share in %) and
    policies as columns; each blocking cell's mean equals 100 x the mean recomputed from the
    replication table and its half-width 100 x half the summary's interval."""
    head = report.headline_table(toy_results)
    assert list(head.columns) == ["one", "two", "three"]
    # titles and shown units as row labels, not code names; the share in %
    assert list(head.index) == ["Share of arrivals lost (%)", "Time-average busy servers (servers)",
                                "Customers served (customers)"]
    s = toy_results.summary.set_index(["policy", "metric"])
    w = toy_results.wide().set_index("policy")
    for pol in head.columns:
        mean_txt, hw_txt = head.at["Share of arrivals lost (%)", pol].rstrip(" †").split(" ± ")
        # independent recomputation of the mean from the replication table, shown in %
        assert float(mean_txt) == pytest.approx(100 * w.loc[pol, "blocking"].mean(), abs=0.051)
        hw = (s.at[(pol, "blocking"), "ci_high"] - s.at[(pol, "blocking"), "ci_low"]) / 2
        assert float(hw_txt) == pytest.approx(100 * hw, rel=0.05)


def test_change_table_verdicts_follow_metric_direction(toy_results: Results) -> None:
    """More servers on the same arrivals: fewer customers lost (lower is better) and more served
    (higher is better) read 'better', a metric without a direction 'changed'; a share's change is
    in percentage points, named once in the row label (the cells carry no unit, so eight policy
    columns fit the page), and equals 100 x the mean paired difference of the replications."""
    ch = report.change_table(toy_results)
    assert list(ch.columns) == ["two", "three"]
    assert ch.at["Share of arrivals lost (pp)", "three"].endswith(" better")
    assert ch.at["Customers served (customers)", "three"].endswith(" better")
    assert ch.at["Time-average busy servers (servers)", "three"].endswith(" changed")  # no direction
    cell = ch.at["Share of arrivals lost (pp)", "three"]
    assert "pp" not in cell and "%" not in cell
    diff = float(cell.split(" [")[0])
    w = toy_results.wide().set_index(["policy", "replication"])["blocking"]
    assert diff == pytest.approx(100 * (w["three"] - w["one"]).mean(), abs=0.051)


def test_verdict_rules() -> None:
    """Better/worse follow the metric's direction when the interval excludes 0; an interval that
    contains or touches 0 is 'no clear change', a metric without a direction 'changed', an
    undefined interval 'no interval' (each rule checked on hand-made intervals)."""
    assert report._verdict(-1.0, True, "lower") == "better"
    assert report._verdict(-1.0, True, "higher") == "worse"
    assert report._verdict(2.0, True, "higher") == "better"
    assert report._verdict(2.0, False, "higher") == "no clear change"
    assert report._verdict(2.0, True, "none") == "changed"
    # on the paired interval itself
    assert report.verdict(-2.0, -0.5, "lower") == "better"
    assert report.verdict(-2.0, -0.5, "higher") == "worse"
    assert report.verdict(0.5, 2.0, "higher") == "better"
    assert report.verdict(0.5, 2.0, "lower") == "worse"
    assert report.verdict(-0.5, 2.0, "lower") == "no clear change"
    assert report.verdict(0.0, 2.0, "higher") == "no clear change"  # touching 0 is not excluding it
    assert report.verdict(0.5, 2.0, "none") == "changed"
    assert report.verdict(float("nan"), float("nan"), "lower") == "no interval"


def test_scenario_text_is_escaped_everywhere(evil_results: Results, evil_plots: list[report.Plot]) -> None:
    """Scenario name, description, policy names and notes holding markup are HTML-escaped
    everywhere: no element is injected, and they read back as the original text in the title,
    heading, tables, paragraphs and the resolved scenario."""
    plots = evil_plots
    text = report.render_html(evil_results, plots, notes=[f"note {EVIL}"])
    page = _parse(text)
    assert "script" not in page.tags  # no element was injected
    assert page.tags.count("img") == len(plots)  # the policy's <img ...> stayed text
    assert EVIL not in text and EVIL_POLICY not in text
    assert html.escape(EVIL) in text
    # the names read back as the original text in title, heading, tables, captions
    assert "".join(page.text["title"]).startswith(EVIL)
    assert "".join(page.text["h1"]) == EVIL
    assert EVIL_POLICY in page.text["th"] + page.text["td"]
    assert any(EVIL in t for t in page.text["pre"])
    assert any(EVIL in t for t in page.text["p"])


def test_escaping_reaches_alt_text_and_captions(evil_results: Results, evil_plots: list[report.Plot]) -> None:
    """A figure title from user text (maps name policies and entities) is escaped in the image's alt
    attribute and its caption, and reads back as the original text."""
    p = evil_plots[0]
    evil_plot = type(p)(name="map-x", title=f"map of {EVIL}", png=p.png, data=p.data, section="map")
    text = report.render_html(evil_results, [evil_plot])
    page = _parse(text)
    assert page.imgs[0]["alt"] == f"map of {EVIL}"  # the parser unescapes: the browser shows this text
    assert f'alt="map of {html.escape(EVIL)}"' in text
    assert "".join(page.text["figcaption"]) == f"map of {EVIL}"
    assert "script" not in page.tags


def test_dollar_in_policy_names_is_drawn_literally(evil_plots: list[report.Plot]) -> None:
    """A policy named with '$' signs (mathtext in matplotlib) is drawn: the plot renders to a PNG
    and its data keeps the literal name."""
    p = evil_plots[0]
    assert EVIL_POLICY in list(p.data["policy"])
    assert p.png.startswith(b"\x89PNG")


def test_results_folder_has_report_plots_and_headline_csv(toy_results: Results, toy_plots: list[report.Plot],
                                                          tmp_path: Path) -> None:
    """The results folder holds one PNG per plot, a headline.csv in UTF-8 with BOM whose numbers
    equal summary.csv row by row (baseline rows say 'baseline', 'three' is better on blocking),
    and a report embedding every plot."""
    out = simcity.save(toy_results, tmp_path / "run")
    plots = toy_plots
    assert sorted(f.name for f in (out / "plots").iterdir()) == sorted(f"{p.name}.png" for p in plots)
    raw = (out / "headline.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: spreadsheets read the titles right
    head = pd.read_csv(out / "headline.csv", encoding="utf-8-sig")
    # numbers in their own columns, equal to the summary
    merged = head.merge(toy_results.summary.assign(policy=toy_results.summary.policy.astype(str)),
                        on=["policy", "metric"], suffixes=("", "_s"))
    assert len(merged) == len(toy_results.summary) == len(head)
    assert (merged["mean"] - merged["mean_s"]).abs().max() < 1e-9
    assert set(head.loc[head.policy == "one", "verdict"]) == {"baseline"}
    three = head[(head.policy == "three") & (head.metric == "blocking")].iloc[0]
    assert three["title"] == "Share of arrivals lost" and three["verdict"] == "better"
    page = _parse((out / "report.html").read_text(encoding="utf-8"))
    assert len(page.imgs) == len(plots)


def test_plot_file_names_cannot_leave_the_folder() -> None:
    """A plot name with '/' or '..' becomes a file name inside plots/: no path separator survives
    and '..' alone becomes 'plot'."""
    assert file_stem("../../etc/passwd") == "-..-etc-passwd"
    assert "/" not in file_stem("a/b") and file_stem("..") == "plot"


def test_a_failing_map_becomes_a_visible_note(toy_results: Results, monkeypatch: pytest.MonkeyPatch) -> None:
    """A map builder that raises costs only the maps: _figures returns a note naming the error
    instead of failing, and the rendered page shows it."""
    from simcity import maps

    def broken(results: Results) -> list[report.Plot]:
        raise ValueError("no positions")

    monkeypatch.setitem(maps.BUILDERS, "toy", broken)
    # only the maps step matters here: skip drawing the other plots
    monkeypatch.setattr(report, "metric_plot", lambda *a, **k: None)
    monkeypatch.setattr(report, "time_plot", lambda *a, **k: None)
    monkeypatch.setattr(report, "heatmap_plot", lambda *a, **k: None)
    monkeypatch.setattr(report, "tradeoff_plot", lambda *a, **k: None)
    plots, notes = report._figures(toy_results)
    assert notes == ["The maps could not be drawn (ValueError: no positions)."]
    assert all(p is None for p in plots)
    assert "no positions" in report.render_html(toy_results, [], notes)
