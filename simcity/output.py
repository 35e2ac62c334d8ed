"""The output layer's shared parts: number formatting, tables on disk, the HTML page template
and the one writer of results folders used by ``compare``, ``sweep`` and ``select``.

A results folder is written all-or-nothing (:func:`simcity.fileio.atomic_folder`) into a
*fresh* folder: an interrupted run never leaves a half-written folder and never touches an
existing one.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from simcity import __version__
from simcity.domain import Metric
from simcity.fileio import atomic_folder, atomic_write_bytes, atomic_write_text, slug
from simcity.scenario import ScenarioBase


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


class OutputError(Exception):
    """The results folder cannot be written (exists, not writable...)."""


def _decimals(x: float, digits: int) -> int:
    """Decimals that show ``digits`` significant digits of ``x`` (at most :data:`MAX_DECIMALS`)."""
    ax = abs(x)
    if ax == 0 or not math.isfinite(ax):
        return 0
    return min(MAX_DECIMALS, max(0, digits - 1 - math.floor(math.log10(ax))))


#: no number a planner reads gets more decimals than this (nor scientific notation)
MAX_DECIMALS = 6


def fmt(x: float | None, digits: int = 4, decimals: int | None = None) -> str:
    """A number for people: ``digits`` significant digits (or exactly ``decimals`` decimals),
    thousands separators, never scientific notation; '–' for nan. The minus is ASCII so a
    table pasted into a spreadsheet stays numbers.

    >>> fmt(11596.3), fmt(0.000206), fmt(-1234567.0), fmt(0.0), fmt(2.5e-9)
    ('11,596', '0.000206', '-1,234,567', '0', '0')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    x = float(x)
    if decimals is None:
        decimals = _decimals(x, digits)
        text = f"{abs(x):,.{decimals}f}"
        if "." in text:  # significant digits: trailing zeros carry no information
            text = text.rstrip("0").rstrip(".")
    else:
        text = f"{abs(x):,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return text
    return ("-" if x < 0 else "") + text


def fmt_interval(mean: float, low: float, high: float) -> tuple[str, str]:
    """``(mean, half-width)`` as text with the same decimals: two significant digits of the
    half-width, and at least three of the mean when the mean is not smaller than the half-width
    (a mean lost in its interval, e.g. a difference of 1e-17, gets no digits the interval
    cannot back).

    >>> fmt_interval(11596.0, 10716.0, 12476.0)
    ('11,596', '880')
    >>> fmt_interval(0.46912, 0.45912, 0.47912)
    ('0.469', '0.010')
    >>> fmt_interval(1e-17, -1.815, 1.815)
    ('0.0', '1.8')
    """
    hw = (high - low) / 2
    if not math.isfinite(hw) or hw == 0:
        return fmt(mean), ("–" if not math.isfinite(hw) else "0")
    d = _decimals(hw, 2)
    if math.isfinite(mean) and abs(mean) >= hw:
        d = max(d, min(_decimals(mean, 3), MAX_DECIMALS))
    return fmt(mean, decimals=d), fmt(hw, decimals=d)


def metric_title(m: Metric) -> str:
    """The words a planner reads for a metric: its description (its code name when it has none)."""
    return m.description or m.name


def is_share(m: Metric) -> bool:
    """A share (0..1) is shown as a percentage."""
    return m.unit == "share"


def shown_unit(m: Metric, difference: bool = False) -> str:
    """The unit as shown: '%' for shares ('pp', percentage points, for their differences);
    a rate '1/day' reads 'per day'."""
    if is_share(m):
        return "pp" if difference else "%"
    if m.unit.startswith("1/"):
        return "per " + m.unit[2:]
    return m.unit


def metric_label(m: Metric, difference: bool = False) -> str:
    """``"Title (unit)"`` for row labels and axes."""
    unit = shown_unit(m, difference)
    return f"{metric_title(m)} ({unit})" if unit else metric_title(m)


def shown(m: Metric, x: float) -> float:
    """A value of ``m`` in its shown unit (shares x 100)."""
    return 100.0 * x if is_share(m) else x


def interval_text(m: Metric, mean: float, low: float, high: float) -> tuple[str, str]:
    """``(mean, "[low, high]")`` in the shown unit of ``m`` with the decimals of
    :func:`fmt_interval` (two significant digits of the half-width)."""
    a, b, c = (shown(m, x) for x in (mean, low, high))
    text = fmt_interval(a, b, c)[0]
    k = len(text.split(".")[1]) if "." in text else 0
    return text, f"[{fmt(b, decimals=k)}, {fmt(c, decimals=k)}]"


#: unit suffixes of lever names, as words (``max_walk_m`` reads "max walk (m)")
_SUFFIX_UNITS = {"m": "m", "km": "km", "h": "h", "min": "min", "s": "s", "kmh": "km/h", "t": "t", "pct": "%"}


def parameter_label(path: str) -> str:
    """A swept scenario key (a dotted path) in words: ``city.riders.max_walk_m`` reads
    "max walk (m) – city riders", ``policies.threshold-80.theta`` "theta – policy threshold-80".

    >>> parameter_label("policies.threshold-80.theta"), parameter_label("city.riders.max_walk_m")
    ('theta – policy threshold-80', 'max walk (m) – city riders')
    """
    parts = path.split(".")
    words = parts[-1].split("_")
    unit = _SUFFIX_UNITS.get(words[-1]) if len(words) > 1 else None
    name = " ".join(words[:-1] if unit else words) + (f" ({unit})" if unit else "")
    where = parts[:-1]
    if len(where) >= 2 and where[0] == "policies":
        place = f"policy {'.'.join(where[1:])}"
    else:
        place = " ".join(w.replace("_", " ") for w in where)
    return f"{name} – {place}" if place else name


def write_frame(df: pd.DataFrame, folder: Path, stem: str) -> None:
    """Write a table as ``<stem>.csv`` and ``<stem>.parquet`` (categorical policies as text)."""
    atomic_write_text(folder / f"{stem}.csv", df.to_csv(index=False))
    flat = df.copy()
    if "policy" in flat:
        flat["policy"] = flat["policy"].astype(str)
    flat.to_parquet(folder / f"{stem}.parquet", index=False)


def file_stem(name: str) -> str:
    """A plot name as a file name (plot names are identifiers, but keep a stray character from
    escaping the plots folder)."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip(".") or "plot"


def default_out_dir(name: str, kind: str | None = None, root: str | Path = "results") -> Path:
    """``results/<scenario-name>[-<kind>]-<UTC timestamp>``."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
    return Path(root) / "-".join([slug(name), *([kind] if kind else []), stamp])


#: a folder holding this file was written by simcity and may be replaced with ``overwrite=True``
RESULTS_MARK = "scenario.toml"


def is_results_folder(folder: Path) -> bool:
    """Whether ``folder`` looks like a results folder (what ``overwrite=True`` may replace)."""
    return (folder / RESULTS_MARK).is_file() and (folder / "report.html").is_file()


def check_out_dir(out: Path, option: str = "--out", overwrite: bool = False) -> None:
    """Refuse an existing non-empty folder before any work starts; ``option`` is how the caller
    named the folder (``--out`` on the command line, ``out`` in Python).  With ``overwrite`` a
    previous results folder may be replaced, nothing else."""
    python = option != "--out"
    fresh = (f"a fresh folder ({option}= in Python, --out on the command line), or pass overwrite=True "
             "to replace a previous results folder" if python else f"a fresh {option}")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: {option} names a file, not a folder; choose {fresh}")
    if out.exists() and any(out.iterdir()):
        if overwrite and is_results_folder(out):
            return
        if overwrite:
            raise OutputError(f"{out}: overwrite=True replaces only a results folder (with {RESULTS_MARK} and "
                              "report.html); this folder holds other files - choose a fresh folder name")
        raise OutputError(f"{out}: results folder already exists and is not empty; choose {fresh}")


def scenario_header(command: str) -> str:
    """The comment at the top of a results folder's ``scenario.toml``."""
    return (f"# The resolved scenario of these results (every default and command-line option filled in),\n"
            f"# written by simcity {__version__}. Data files it reads are in data/ beside it, so this folder\n"
            f"# runs again anywhere: simcity {command} scenario.toml\n\n")


def write_results(
    out: str | Path,
    *,
    scenario: ScenarioBase,
    report_html: str,
    tables: Mapping[str, pd.DataFrame] = {},  # noqa: B006 - read only
    texts: Mapping[str, str] = {},  # noqa: B006 - read only
    plots: Sequence[Plot] = (),
    command: str = "compare",
    overwrite: bool = False,
) -> Path:
    """Write a results folder to the fresh folder ``out``, all-or-nothing.

    It holds ``scenario.toml`` (the resolved scenario, to run it again with ``simcity
    <command>``; :meth:`~simcity.scenario.ScenarioBase.portable_toml`: its data files are
    copied to ``data/`` and named relative to the folder), every table as CSV and parquet
    (:func:`write_frame`), the extra text files ``texts`` (name -> content), the plots as PNG
    files under ``plots/`` and ``report.html``.  Files get the user's umask.  With ``overwrite``
    a previous results folder at ``out`` is replaced once the new one is complete.
    """
    out = Path(out)
    check_out_dir(out, "out", overwrite)
    scenario_toml, copies = scenario.portable_toml()

    def write(folder: Path) -> None:
        atomic_write_text(folder / "scenario.toml", scenario_header(command) + scenario_toml)
        for rel, src in copies.items():
            atomic_write_bytes(folder / rel, src.read_bytes())
        for stem, df in tables.items():
            write_frame(df, folder, stem)
        for name, text in texts.items():
            atomic_write_text(folder / name, text)
        (folder / "plots").mkdir()
        for p in plots:
            atomic_write_bytes(folder / "plots" / f"{file_stem(p.name)}.png", p.png)
        atomic_write_text(folder / "report.html", report_html)

    try:
        return atomic_folder(out, write, replace=is_results_folder if overwrite else None)
    except FileExistsError as exc:  # another process took the folder meanwhile
        raise OutputError(str(exc)) from None


# ---------------------------------------------------------------------------------------
# the HTML page


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem} h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0} th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
.meta{color:#555} figure{margin:1rem 0} img{max-width:100%} pre{background:#f6f6f6;padding:.75rem;overflow-x:auto;font-size:.8rem}
.note{background:#fff4e5;border-left:4px solid #f0a030;padding:.5rem .75rem}
nav a{margin-right:1rem} details{margin:.5rem 0} summary{cursor:pointer;font-weight:600}
#policies td,#metrics td{text-align:left}
tbody th{text-align:left;font-weight:normal;background:#fafafa;max-width:22rem}
thead th{overflow-wrap:anywhere;hyphens:auto}
td.better{background:#dff3e3;color:#14532d} td.worse{background:#fbe3e4;color:#7f1d1d}
td.same{color:#555} td.changed{background:#e8eefb}
#verdict li{margin:.3rem 0} #verdict .better{color:#14532d;font-weight:600} #verdict .worse{color:#7f1d1d;font-weight:600}
.wide{overflow-x:auto;max-width:100%}
"""


def page(title: str, body: str) -> str:
    """A self-contained HTML page: ``title`` (plain text, escaped here) and ``body`` (HTML)."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style></head><body>
{body}
</body></html>
"""


def table_html(df: pd.DataFrame, table_id: str, index: bool = True) -> str:
    """A table as HTML (cell text and labels escaped); with ``index`` the index becomes an
    ordinary first column, so there is one header row that pastes cleanly into a memo."""
    frame = df.reset_index() if index else df
    return frame.to_html(table_id=table_id, border=0, escape=True, na_rep="–", index=False)


def classed_table_html(df: pd.DataFrame, table_id: str, classes: pd.DataFrame | None = None) -> str:
    """A table as HTML with the index as first column (text escaped); ``classes`` (same shape
    as ``df``) gives a CSS class per cell, e.g. the verdict colours ``better``/``worse``/``same``."""
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in [df.index.name or "", *df.columns])
    body = []
    for i, (label, row) in enumerate(df.iterrows()):
        cells = [f"<th>{e(str(label))}</th>"]
        for j, v in enumerate(row):
            cls = "" if classes is None else str(classes.iat[i, j])
            cells.append(f'<td class="{e(cls)}">{e(str(v))}</td>' if cls else f"<td>{e(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="{e(table_id)}" class="dataframe"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def figure_html(p: Plot) -> str:
    """A plot as a ``<figure>`` with the PNG embedded as a data URI (the page works offline)."""
    e = html.escape
    data = base64.b64encode(p.png).decode("ascii")
    return (f'<figure id="fig-{e(p.name)}"><img alt="{e(p.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{e(p.title)}</figcaption></figure>")
