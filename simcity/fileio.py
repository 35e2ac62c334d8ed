"""Atomic writing: a reader never sees a half-written file or results folder.

Single files (work-folder task files, benchmark JSON, tables and reports) are written to a
temporary file in the same folder, flushed to disk, then renamed over the target, which is
atomic on POSIX file systems.  Results folders are filled as a hidden sibling folder that
:func:`atomic_folder` renames into place only when complete (files inside it, such as parquet
tables written by pandas, need no atomic write of their own).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def current_umask() -> int:
    """The process's file-mode creation mask (read from ``/proc`` where there is one, so no
    other thread ever sees a changed mask)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode(target: Path) -> int:
    """The mode a plain ``open(target, "w")`` would leave: that of the existing file, else
    ``0o666`` less the umask (``tempfile`` creates owner-only files, ``-rw-------``, which a
    colleague could not read)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~current_umask()


def atomic_write_with(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_path)`` and rename the temporary file onto ``path``.

    ``write`` receives a path in the target folder; libraries that insist on writing a
    file themselves (pandas' ``to_parquet``, matplotlib's ``savefig``) can use it.  The file
    gets the mode ``open()`` would give it (:func:`new_file_mode`: the user's umask).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, new_file_mode(target))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        # a failed write on an open file (EFBIG, ENOSPC) names no file: name the target
        raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write_with(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


_PARTIAL = re.compile(r"^\..+\.partial-(\d+)$")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (a killed process nobody reaped yet)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): exists
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def clean_partial_folders(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the hidden ``.NAME.partial-PID`` folders :func:`atomic_folder` left in ``folder``
    when its process was killed while writing (only those whose PID is no longer running, so a
    concurrent run's folder is never touched); returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _PARTIAL.match(entry.name)
        if m and entry.is_dir() and not entry.is_symlink() and not pid_alive(int(m.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def atomic_folder(out: str | os.PathLike[str], write: Callable[[Path], None], *,
                  replace: Callable[[Path], bool] | None = None) -> Path:
    """Create the fresh folder ``out`` all-or-nothing: ``write(tmp)`` fills a hidden sibling
    folder ``.NAME.partial-PID`` that is renamed into place only when ``write`` returns.  The
    leftovers of killed writers in the same folder are removed first
    (:func:`clean_partial_folders`).

    Raises ``FileExistsError`` when ``out`` exists and is not an empty folder, unless
    ``replace(out)`` says it may be replaced: then the old folder is moved aside only once the
    new one is complete, and removed after the new one took its place.
    """
    target = Path(out)
    old: Path | None = None
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        if target.is_dir() and replace is not None and replace(target):
            old = target.parent / f".{target.name}.replaced-{os.getpid()}"
        else:
            what = "a results folder" if target.is_dir() else "a file"
            raise FileExistsError(f"{target}: {what} appeared there while the run was going")
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_partial_folders(target.parent)
    tmp = target.parent / f".{target.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        write(tmp)
        if old is not None and target.exists():
            os.replace(target, old)
        elif target.exists():
            target.rmdir()
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists() and not target.exists():
            os.replace(old, target)  # put the old folder back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


def slug(name: str, width: int = 60) -> str:
    """``name`` as a file-name part: letters, digits, ``-`` and ``_`` kept, the rest ``-``,
    at most ``width`` characters (work folders and default results folders)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:width]
