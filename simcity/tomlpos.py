"""Map dotted key paths of a TOML document to the line where the document gives them.

``tomllib`` returns plain data without positions, yet a planner needs
``scenario.toml:42: policies.1.price_step: ...``.  This scanner reads the text once and
records, for every key path it can see, the 1-based line of its definition:

* ``[a.b]`` headers give ``("a", "b")``; ``[[a]]`` headers give ``("a", i)`` for the i-th
  array entry;
* ``key = value`` and dotted ``x.y = value`` lines give their full path under the current
  table;
* inline tables and single-line arrays of inline tables give paths for their keys and
  indices; multi-line strings are skipped.

:func:`line_of` falls back to the nearest recorded ancestor, so an error on a key that is
missing (a required field) points at the table that should hold it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Path = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _parse_key(s: str, i: int) -> tuple[list[str], int]:
    """Parse a (possibly dotted, possibly quoted) key starting at ``s[i]``."""
    parts: list[str] = []
    n = len(s)
    while True:
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] in "\"'":
            q = s[i]
            j = i + 1
            buf = []
            while j < n and s[j] != q:
                if q == '"' and s[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(s[j])
                j += 1
            parts.append("".join(buf))
            i = j + 1
        else:
            m = _BARE.match(s, i)
            if not m:
                return parts, i
            parts.append(m.group(0))
            i = m.end()
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] == ".":
            i += 1
            continue
        return parts, i


def _scan_inline(s: str, i: int, prefix: Path, line: int, out: dict[Path, int]) -> int:
    """Record paths inside an inline value (table or array) starting at ``s[i]``; return end."""
    n = len(s)
    if i >= n:
        return i
    c = s[i]
    if c == "{":
        i += 1
        while i < n:
            while i < n and s[i] in " \t,":
                i += 1
            if i >= n or s[i] == "}":
                return i + 1
            keys, i = _parse_key(s, i)
            if not keys or i >= n or s[i] != "=":
                return n
            path = prefix + tuple(keys)
            out.setdefault(path, line)
            i += 1
            while i < n and s[i] in " \t":
                i += 1
            i = _scan_inline(s, i, path, line, out)
        return i
    if c == "[":
        i += 1
        idx = 0
        while i < n:
            while i < n and s[i] in " \t,":
                if s[i] == ",":
                    idx += 1
                i += 1
            if i >= n or s[i] == "]":
                return i + 1
            path = prefix + (idx,)
            out.setdefault(path, line)
            i = _scan_inline(s, i, path, line, out)
        return i
    # scalar: skip to the next delimiter outside strings
    while i < n and s[i] not in ",]}":
        if s[i] in "\"'":
            q = s[i]
            i += 1
            while i < n and s[i] != q:
                if q == '"' and s[i] == "\\":
                    i += 1
                i += 1
        i += 1
    return i


def key_lines(text: str) -> dict[Path, int]:
    """Every key path the scanner recognises in ``text``, with its 1-based line."""
    out: dict[Path, int] = {}
    counters: dict[Path, int] = {}
    table: Path = ()
    in_ml: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_ml is not None:
            if in_ml in line:
                in_ml = None
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            keys, _ = _parse_key(line, 2)
            base = tuple(keys)
            idx = counters.get(base, -1) + 1
            counters[base] = idx
            # a nested array header resets counters of deeper arrays
            for k in [k for k in counters if len(k) > len(base) and k[: len(base)] == base]:
                del counters[k]
            table = base + (idx,)
            out.setdefault(base, lineno)
            out[table] = lineno
            continue
        if line.startswith("["):
            keys, _ = _parse_key(line, 1)
            table = _resolve(tuple(keys), counters)
            out.setdefault(table, lineno)
            continue
        keys, i = _parse_key(line, 0)
        if not keys or i >= len(line) or line[i] != "=":
            continue
        path = table + tuple(keys)
        out.setdefault(path, lineno)
        rest = line[i + 1 :].lstrip()
        for q in ('"""', "'''"):
            if rest.startswith(q) and rest.count(q) == 1:
                in_ml = q
        if rest[:1] in "{[":
            _scan_inline(rest, 0, path, lineno, out)
    return out


def _resolve(keys: Path, counters: dict[Path, int]) -> Path:
    """Insert array indices into a ``[a.b]`` header under an array of tables ``[[a]]``."""
    out: list[str | int] = []
    for k in keys:
        out.append(k)
        idx = counters.get(tuple(x for x in out if isinstance(x, str)))
        if idx is not None:
            out.append(idx)
    return tuple(out)


def line_of(lines: dict[Path, int], path: Sequence[str | int]) -> int | None:
    """The line of ``path`` or of its nearest recorded ancestor (``None`` if none)."""
    p = tuple(path)
    while p:
        if p in lines:
            return lines[p]
        p = p[:-1]
    return None
