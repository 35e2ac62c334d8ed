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
from pathlib import Path

import pandas as pd

from simcity.fileio import atomic_folder, atomic_write_bytes, atomic_write_text, slug
from simcity.plots import Plot


class OutputError(Exception):
    """The results folder cannot be written (exists, not writable...)."""


def fmt(x: float, digits: int = 4) -> str:
    """Format a number for tables: significant digits, thousands separators, '-' for nan."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    ax = abs(x)
    if ax != 0 and (ax >= 1e7 or ax < 1e-3):
        return f"{x:.{digits - 1}e}"
    if ax >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


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


def check_out_dir(out: Path) -> None:
    """Refuse an existing non-empty folder before any work starts."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: --out names a file, not a folder; choose a fresh --out")
    if out.exists() and any(out.iterdir()):
        raise OutputError(f"{out}: results folder already exists and is not empty; choose a fresh --out")


def write_results(
    out: str | Path,
    *,
    scenario_toml: str,
    report_html: str,
    tables: Mapping[str, pd.DataFrame] = {},  # noqa: B006 - read only
    texts: Mapping[str, str] = {},  # noqa: B006 - read only
    plots: Sequence[Plot] = (),
) -> Path:
    """Write a results folder to the fresh folder ``out``, all-or-nothing.

    It holds ``scenario.toml`` (the resolved scenario, to run it again), every table as CSV and
    parquet (:func:`write_frame`), the extra text files ``texts`` (name -> content), the plots as
    PNG files under ``plots/`` and ``report.html``.
    """
    out = Path(out)
    check_out_dir(out)

    def write(folder: Path) -> None:
        atomic_write_text(folder / "scenario.toml", scenario_toml)
        for stem, df in tables.items():
            write_frame(df, folder, stem)
        for name, text in texts.items():
            atomic_write_text(folder / name, text)
        (folder / "plots").mkdir()
        for p in plots:
            atomic_write_bytes(folder / "plots" / f"{file_stem(p.name)}.png", p.png)
        atomic_write_text(folder / "report.html", report_html)

    try:
        return atomic_folder(out, write)
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


def figure_html(p: Plot) -> str:
    """A plot as a ``<figure>`` with the PNG embedded as a data URI (the page works offline)."""
    e = html.escape
    data = base64.b64encode(p.png).decode("ascii")
    return (f'<figure id="fig-{e(p.name)}"><img alt="{e(p.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{e(p.title)}</figcaption></figure>")
