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
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write_with(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_path)`` and rename the temporary file onto ``path``.

    ``write`` receives a path in the target folder; libraries that insist on writing a
    file themselves (pandas' ``to_parquet``, matplotlib's ``savefig``) can use it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
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


def atomic_folder(out: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Create the fresh folder ``out`` all-or-nothing: ``write(tmp)`` fills a hidden sibling
    folder that is renamed into place only when ``write`` returns.

    Raises ``FileExistsError`` when ``out`` exists and is not an empty folder.
    """
    target = Path(out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target}: results folder already exists and is not empty; choose a fresh --out")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        write(tmp)
        if target.exists():
            target.rmdir()
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def slug(name: str, width: int = 60) -> str:
    """``name`` as a file-name part: letters, digits, ``-`` and ``_`` kept, the rest ``-``,
    at most ``width`` characters (work folders and default results folders)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:width]
