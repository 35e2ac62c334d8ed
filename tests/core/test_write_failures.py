"""Write failures name the path and the way to finish the run; nothing written is lost (issue 22)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from simcity.cli import main
from simcity.fileio import atomic_write_text
from tests.toydomain import TOY_TOML


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    f = tmp_path / "toy.toml"
    f.write_text(TOY_TOML, encoding="utf-8")
    return f


def _fail_writes(monkeypatch: pytest.MonkeyPatch, when: str, code: int = errno.EFBIG) -> None:
    """Writes to a temporary file whose name contains ``when`` fail as a full disk would: on the
    open file, so the OSError itself names no file."""
    original = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:  # type: ignore[override]
        if when in self.name:
            raise OSError(code, "File too large" if code == errno.EFBIG else "No space left on device")
        return original(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def test_atomic_write_names_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails on the open temporary file (EFBIG, no file name in the OSError) is
    re-raised naming the target file with the same errno, and the temporary file is removed."""
    _fail_writes(monkeypatch, "t.csv")
    with pytest.raises(OSError) as err:
        atomic_write_text(tmp_path / "t.csv", "x")
    assert err.value.filename == str(tmp_path / "t.csv") and err.value.errno == errno.EFBIG
    assert list(tmp_path.iterdir()) == []  # no temporary file left


def test_failed_task_file_names_the_path_and_resume(toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A full disk when saving the third replication's task file: exit 2 with that file and 'No
    space left on device' named, the work folder and --resume suggested, no results folder; the
    tasks saved before are kept, and --resume with the disk back reuses exactly them."""
    work, out = tmp_path / "work", tmp_path / "out"
    args = ["compare", str(toy), "-n", "3", "--out", str(out), "--work-dir", str(work)]
    _fail_writes(monkeypatch, "r000002.json", errno.ENOSPC)  # the third replication cannot be saved
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "r000002.json: cannot write: No space left on device" in err
    assert "--resume" in err and str(work) in err
    saved = sorted(p.name for p in work.glob("*/p*.json"))
    assert saved and not out.exists()
    monkeypatch.undo()
    assert main([*args, "--resume"]) == 0
    assert f"resuming: {len(saved)} finished replications reused" in capsys.readouterr().err


def test_failed_results_folder_keeps_the_work_and_says_resume(toy: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """When replications.csv of the results folder cannot be written, all 3 x 2 finished task files
    stay in the work folder, no results or partial folder is left, and --resume finishes the run
    without simulating again."""
    work, out = tmp_path / "work", tmp_path / "out"
    args = ["compare", str(toy), "-n", "2", "--out", str(out), "--work-dir", str(work)]
    _fail_writes(monkeypatch, "replications.csv")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{out}" in err and "replications.csv: cannot write: File too large" in err and "--resume" in err
    assert len(list(work.glob("*/p*.json"))) == 3 * 2, "every finished replication is kept"
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    monkeypatch.undo()
    assert main([*args, "--resume"]) == 0
    assert (out / "replications.csv").exists()


def test_a_folder_appearing_mid_run_mentions_resume(toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """If another process creates --out while the simulation runs, the save fails (exit 2) without
    touching that folder's file, keeps all 6 task files and suggests --resume with a fresh --out."""
    import simcity.run_commands as rc

    work, out = tmp_path / "work", tmp_path / "out"
    original = rc.report.save

    def save_after_someone_else(results: object, folder: Path, **kw: object) -> object:
        folder.mkdir()
        (folder / "theirs.txt").write_text("x")
        return original(results, folder, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(rc.report, "save", save_after_someone_else)
    assert main(["compare", str(toy), "-n", "2", "--out", str(out), "--work-dir", str(work)]) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and "a fresh --out" in err and "Traceback" not in err
    assert (out / "theirs.txt").read_text() == "x"
    assert len(list(work.glob("*/p*.json"))) == 6


def test_out_pointing_at_a_file_is_called_a_file(toy: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """--out naming an existing file is reported as a file, not a folder (the 'results folder
    exists' message would mislead), and the file is left intact."""
    f = tmp_path / "notes.txt"
    f.write_text("mine")
    assert main(["compare", str(toy), "-n", "2", "--out", str(f), "--work-dir", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert f"{f}: --out names a file, not a folder" in err and "results folder" not in err
    assert f.read_text() == "mine"
