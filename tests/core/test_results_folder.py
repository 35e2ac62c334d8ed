"""A results folder a colleague can open and run again (issue 21 item 5, issue 17 item 2).

* every file is written with the user's umask (a colleague in the same group can read it);
* the folder carries its own metadata, and ``simcity report DIR`` draws the report again from a
  copy of the folder in another directory with no domain available to the process;
* the resolved scenario names its data files relative to the folder (copied into ``data/``), so
  the copied folder runs again from another directory and gives byte-identical tables.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import simcity
from simcity import report
from simcity.scenario import parse_scenario_text
from tests.toydomain import TOY_TOML

ROOT = Path(__file__).resolve().parents[2]
FROM_FILES = ROOT / "scenarios" / "parking_liangxi_from_files.toml"


@pytest.fixture(scope="module")
def toy_results() -> simcity.Results:
    sc = parse_scenario_text(TOY_TOML, source="toy.toml")
    return simcity.compare(sc.with_overrides({"replications": 6}))


def _modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode) for p in [folder, *folder.rglob("*")]}


@pytest.mark.parametrize(("umask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_every_file_of_the_folder_follows_the_umask(toy_results: simcity.Results, tmp_path: Path,
                                                    umask: int, file_mode: int, dir_mode: int) -> None:
    """What ``open()`` and ``mkdir`` would give under the umask: 0o666/0o777 less the mask, for
    CSV, parquet, PNG, HTML and TOML alike (the temporary files of atomic writes are owner-only
    until renamed; before this change the folder was -rw------- except the parquet files)."""
    old = os.umask(umask)
    try:
        out = simcity.save(toy_results, tmp_path / "res")
    finally:
        os.umask(old)
    modes = _modes(out)
    assert {"report.html", "scenario.toml", "summary.csv", "summary.parquet", "meta.json", "headline.csv"} <= set(modes)
    assert any(k.startswith("plots/") and k.endswith(".png") for k in modes)
    for name, mode in modes.items():
        want = dir_mode if (out / name).is_dir() else file_mode
        assert mode == want, f"{name}: {oct(mode)} != {oct(want)}"


def test_an_existing_file_keeps_its_mode_when_replaced(tmp_path: Path) -> None:
    """Replacing a file atomically (write a temporary, rename) must not reset a mode the user set: a
    0o640 file is still 0o640 with the new content."""
    from simcity.fileio import atomic_write_text

    p = tmp_path / "x.txt"
    p.write_text("a")
    p.chmod(0o640)
    atomic_write_text(p, "b")
    assert stat.S_IMODE(p.stat().st_mode) == 0o640 and p.read_text() == "b"


# a process in which no domain can be imported: the built-in ones are blocked, the toy domain
# (registered by the test suite's conftest) is never registered
_NO_MODEL = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[:2] in (["simcity", "parking"], ["simcity", "garbage"], ["simcity", "bikes"]) \\
                or name.startswith("tests"):
            raise ModuleNotFoundError(f"blocked: {name}", name=name)
        return None
sys.meta_path.insert(0, Block())
from simcity import cli, domains
code = cli.main(sys.argv[1:])
assert domains.available() == {}, domains.available()
loaded = [m for m in sys.modules if m.startswith(("simcity.parking", "simcity.garbage", "simcity.bikes"))]
assert not loaded, loaded
sys.exit(code)
"""


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end)]


def test_report_is_drawn_again_from_a_copied_folder_without_any_model(toy_results: simcity.Results,
                                                                      tmp_path: Path) -> None:
    """``simcity report DIR`` in a process where no domain is importable re-renders the copied
    folder's report: verdict, headline and change tables and the details equal the original's."""
    out = simcity.save(toy_results, tmp_path / "made-here", notes=["A note saved with the results."])
    original = (out / "report.html").read_text(encoding="utf-8")
    elsewhere = tmp_path / "colleague" / "copy"
    shutil.copytree(out, elsewhere)
    (elsewhere / "report.html").unlink()
    cwd = tmp_path / "colleague"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SIMCITY_PLUGINS": ""}
    proc = subprocess.run([sys.executable, "-c", _NO_MODEL, "report", "copy"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    again = (elsewhere / "report.html").read_text(encoding="utf-8")
    for start, end in (('<section id="verdict">', '<h2 id="pictures">'), ('<h2 id="details">', "</body>")):
        assert _section(again, start, end) == _section(original, start, end)
    assert "A note saved with the results." in again
    # the same pictures, in the same order (the PNG bytes may differ with the renderer's metadata)
    figs = re.compile(r'<figure id="([^"]+)"')
    assert figs.findall(again) == figs.findall(original) and figs.findall(again)
    # the model's declared trade-off and time-series titles came from meta.json, not the plug-in
    assert "fig-tradeoff-served-blocking" in figs.findall(again)
    assert "<figcaption>Busy servers over the day</figcaption>" in again


def test_report_of_a_folder_that_is_not_one_is_a_clear_error(tmp_path: Path) -> None:
    """`simcity report` on a folder with no meta.json exits 2; a meta.json of a version this code
    does not know (99) is refused by name rather than misread."""
    from simcity import cli

    (tmp_path / "empty").mkdir()
    assert cli.main(["report", str(tmp_path / "empty")]) == 2
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "meta.json").write_text('{"meta_version": 99}')
    with pytest.raises(report.FolderError, match="meta_version 99"):
        report.load(tmp_path / "bad")


def test_loaded_results_carry_metadata_and_refuse_the_scenario(toy_results: simcity.Results, tmp_path: Path) -> None:
    """A folder read back has the same metadata, summary and headline table as the results that were
    saved; it has no scenario object (the model may not be installed), and asking for one says
    the results were read from a folder."""
    out = simcity.save(toy_results, tmp_path / "r")
    back = report.load(out)
    assert back.meta == toy_results.meta
    assert back.summary.equals(toy_results.summary)
    assert report.headline_table(back).equals(report.headline_table(toy_results))
    with pytest.raises(simcity.experiment.ResultsError, match="read from a folder"):
        _ = back.scenario


@pytest.mark.skipif(not FROM_FILES.exists(), reason="shipped scenario not in this checkout")
def test_copied_results_folder_runs_again_elsewhere_with_identical_tables(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The resolved scenario of a scenario with data files names them ``data/<file>`` relative to
    the folder and the folder holds copies; moved to another directory (the original files out of
    reach of a relative path), it validates and re-runs to byte-identical tables."""
    sc = simcity.load_scenario(FROM_FILES)
    pols = sc.model_dump(mode="python")["policies"][:2]
    sc = sc.with_overrides({"policies": pols, "replications": 2, "horizon_hours": 16.0, "warmup_hours": 4.0})
    first = simcity.save(simcity.compare(sc), tmp_path / "a" / "first")
    text = (first / "scenario.toml").read_text(encoding="utf-8")
    assert str(ROOT) not in text and str(tmp_path) not in text
    assert 'car_parks_file = "data/wuxi_liangxi_car_parks.csv"' in text
    for name in ("wuxi_liangxi_car_parks.csv", "wuxi_liangxi_kerb_segments.csv", "wuxi_liangxi_zones.csv"):
        assert (first / "data" / name).read_bytes() == (ROOT / "scenarios" / "data" / name).read_bytes()
    moved = tmp_path / "b" / "deep" / "moved"
    shutil.copytree(first, moved)
    monkeypatch.chdir(tmp_path / "b")
    again = simcity.load_scenario(Path("deep/moved/scenario.toml"))
    second = simcity.save(simcity.compare(again), tmp_path / "b" / "second")
    for table in ("replications.csv", "summary.csv", "by_entity.csv", "by_time.csv", "headline.csv"):
        assert (second / table).read_bytes() == (first / table).read_bytes(), table
