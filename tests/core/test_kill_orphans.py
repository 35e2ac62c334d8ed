"""kill -9 of a parallel comparison leaves no process behind, no hidden partial folder, and
--resume gives byte-identical tables (issue 22)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from simcity.fileio import atomic_folder, clean_partial_folders, pid_alive
from tests.toydomain import TOY_TOML

ROOT = Path(__file__).resolve().parents[2]
SLOW_TOY = TOY_TOML.replace("horizon_hours = 48.0", "horizon_hours = 200.0")
REPS = 20


def _env() -> dict[str, str]:
    return dict(os.environ, SIMCITY_PLUGINS="tests.toydomain:DOMAIN",
                PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def _cli(args: Sequence[str], **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "simcity", *args], cwd=ROOT, env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)  # type: ignore[call-overload]


def _alive_in_session(sid: int) -> list[psutil.Process]:
    """Processes of session ``sid`` that still run (zombies waiting to be reaped do not run)."""
    out = []
    for p in psutil.process_iter(["pid", "status"]):
        try:
            if os.getsid(p.pid) == sid and p.info["status"] != psutil.STATUS_ZOMBIE:
                out.append(p)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return out


def test_kill_9_of_the_parent_ends_its_workers_and_resume_is_byte_identical(tmp_path: Path) -> None:
    """SIGKILL of a two-worker compare after six of 60 tasks: within 5 s no process of its session
    runs, no task file is written after the kill, and --resume writes replications, summary and
    by-time tables byte-identical to an uninterrupted run (every task is seeded by its own key,
    so finishing it later changes nothing); no .partial- folder is left."""
    scen = tmp_path / "toy.toml"
    scen.write_text(SLOW_TOY, encoding="utf-8")
    work, out, ref = tmp_path / "work", tmp_path / "out", tmp_path / "ref"
    cmd = ["compare", str(scen), "-n", str(REPS), "-j", "2", "--work-dir", str(work)]
    proc = _cli([*cmd, "--out", str(out)], start_new_session=True)  # its own session: sid = pid
    deadline = time.monotonic() + 120
    try:
        while len(list(work.glob("*/p*-r*.json"))) < 6:
            assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.02)
        workers = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        assert len(workers) >= 2, "expected a process pool"
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the parent only: its workers must notice by themselves
        proc.communicate()
    finished = len(list(work.glob("*/p*-r*.json")))
    assert finished < 3 * REPS
    stop = time.monotonic() + 5
    while _alive_in_session(proc.pid) and time.monotonic() < stop:
        time.sleep(0.1)
    assert not _alive_in_session(proc.pid), "workers of a killed run are still running"
    assert not any(pid_alive(w) for w in workers)
    assert len(list(work.glob("*/p*-r*.json"))) == finished, "no worker ran on after the kill"

    done = _cli([*cmd, "--out", str(out), "--resume"])
    _, stderr = done.communicate(timeout=300)
    assert done.returncode == 0, stderr
    fresh = _cli(["compare", str(scen), "-n", str(REPS), "-j", "2", "--work-dir", str(tmp_path / "w2"),
                  "--out", str(ref)])
    _, stderr = fresh.communicate(timeout=300)
    assert fresh.returncode == 0, stderr
    for table in ("replications.csv", "summary.csv", "by_time.csv"):
        assert (out / table).read_bytes() == (ref / table).read_bytes(), table
    assert not [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_partial_folders_of_dead_writers_are_cleaned_by_the_next_write(tmp_path: Path) -> None:
    """A .partial- folder whose writer pid no longer runs (a child process that has exited) is
    removed by the next atomic write in that folder; a live writer's partial folder (this
    process's pid) and an unrelated dot folder are left alone."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_pid = int(dead.stdout)
    assert not pid_alive(dead_pid)
    left = tmp_path / f".res.partial-{dead_pid}"
    left.mkdir()
    (left / "replications.csv").write_text("half")
    mine = tmp_path / f".other.partial-{os.getpid()}"  # a live writer's folder is never touched
    mine.mkdir()
    unrelated = tmp_path / ".notes"
    unrelated.mkdir()
    atomic_folder(tmp_path / "res", lambda f: (f / "a.csv").write_text("x"))
    assert not left.exists() and mine.exists() and unrelated.exists()
    assert (tmp_path / "res" / "a.csv").read_text() == "x"
    assert clean_partial_folders(tmp_path) == []
