"""``simcity report DIR`` on the folders ``sweep`` and ``select`` write: the page is drawn
again from the folder's resolved scenario and tables and equals the page the command wrote
(nothing is simulated; the model's plug-in is needed for the scenario)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simcity import cli
from tests.core.test_selection_kn import scenario_text
from tests.core.test_sweep_design import LHS


def _report_again(out: Path, tmp_path: Path) -> str:
    again = tmp_path / "again.html"
    assert cli.main(["report", str(out), "--out", str(again)]) == 0
    return again.read_text(encoding="utf-8")


def test_sweep_report_drawn_again_equals_the_one_written(tmp_path: Path) -> None:
    """A 4-point LHS sweep of the toy model: the re-drawn page (design, effects, sensitivity,
    charts as embedded images) is byte-identical to the sweep's own report.html, so the
    folder's tables and scenario hold everything the page shows."""
    f = tmp_path / "s.toml"
    f.write_text(LHS.replace("replications = 6", "replications = 3").replace("samples = 7", "samples = 4"),
                 encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["sweep", str(f), "--out", str(out), "--work-dir", str(tmp_path / "work")]) == 0
    assert _report_again(out, tmp_path) == (out / "report.html").read_text(encoding="utf-8")


def test_select_report_drawn_again_equals_the_one_written(tmp_path: Path) -> None:
    """A Kim-Nelson selection among two of three synthetic policies: the re-drawn page (the
    decision in words, the summary table, the SMORE chart) is byte-identical to the one
    ``select`` wrote, including the candidate subset given on the command line."""
    f = tmp_path / "s.toml"
    f.write_text(scenario_text([2.0, 0.0, 1.0], delta=0.5), encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["select", str(f), "--out", str(out), "--work-dir", str(tmp_path / "w"),
                     "--policies", "p0", "p1"]) == 0
    assert _report_again(out, tmp_path) == (out / "report.html").read_text(encoding="utf-8")


def test_broken_sweep_folder_is_a_located_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sweep folder whose replication table is missing is refused with exit 2 and a message
    naming the folder, not a traceback, and its report.html is left as it was."""
    f = tmp_path / "s.toml"
    f.write_text(LHS.replace("replications = 6", "replications = 2").replace("samples = 7", "samples = 3"),
                 encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["sweep", str(f), "--out", str(out), "--work-dir", str(tmp_path / "work")]) == 0
    page = (out / "report.html").read_bytes()
    (out / "replications.parquet").unlink()
    capsys.readouterr()
    assert cli.main(["report", str(out)]) == 2
    assert str(out) in capsys.readouterr().err
    assert (out / "report.html").read_bytes() == page  # the page already there is kept
