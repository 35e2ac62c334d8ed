"""Map dotted key paths of a TOML document to the line where the document gives them.

``tomllib`` returns plain data without positions, yet a planner needs
``scenario.toml:42: policies.1.price_step: ...``.  This scanner reads the text once and
records, for every key path it can see, the 1-based line where it starts:

* ``[a.b]`` headers give ``("a", "b")``; ``[[a]]`` headers give ``("a", i)`` for the i-th
  entry of the array of tables (a ``[a.b]`` header under it resolves to ``("a", i, "b")``);
* ``key = value`` and dotted ``x.y = value`` give their full path under the current table;
* arrays and inline tables give a path for every element and key, at the line where that
  element starts, also when the array spans several lines;
* strings of every kind (including multi-line ones) are skipped without being misread.

It is a locator, not a validator: on text that is not valid TOML it records what it can
(``tomllib`` reports the syntax error).  :func:`line_of` falls back to the nearest recorded
ancestor, so an error on a missing key points at the table that should hold it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

Path = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.n = len(text)
        self.i = 0
        self.newlines = [k for k, c in enumerate(text) if c == "\n"]
        self.out: dict[Path, int] = {}

    def line(self, pos: int | None = None) -> int:
        return bisect.bisect_left(self.newlines, self.i if pos is None else pos) + 1

    def record(self, path: Path, pos: int, *, overwrite: bool = False) -> None:
        if overwrite or path not in self.out:
            self.out[path] = self.line(pos)

    # -- lexical helpers -------------------------------------------------------------

    def skip_ws(self, newlines: bool) -> None:
        """Skip blanks (and, inside arrays, newlines and comments)."""
        s, n = self.s, self.n
        while self.i < n:
            c = s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif newlines and c == "#":
                while self.i < n and s[self.i] != "\n":
                    self.i += 1
            else:
                return

    def skip_line(self) -> None:
        while self.i < self.n and self.s[self.i] != "\n":
            self.i += 1

    def string(self) -> str:
        """Consume a string at ``self.i`` (any of the four kinds) and return its raw content."""
        s = self.s
        q = s[self.i]
        if s.startswith(q * 3, self.i):
            end = s.find(q * 3, self.i + 3)
            while end != -1 and q == '"' and _escaped(s, end):
                end = s.find(q * 3, end + 1)
            end = self.n if end == -1 else end
            # a closing delimiter may be followed by up to two more quotes belonging to the content
            stop = end + 3
            while stop < self.n and s[stop] == q:
                stop += 1
            content = s[self.i + 3:end]
            self.i = stop
            return content
        j = self.i + 1
        buf: list[str] = []
        while j < self.n and s[j] != q and s[j] != "\n":
            if q == '"' and s[j] == "\\" and j + 1 < self.n:
                j += 1
            buf.append(s[j])
            j += 1
        self.i = j + 1 if j < self.n and s[j] == q else j
        return "".join(buf)

    def key(self) -> list[str]:
        """A possibly dotted, possibly quoted key."""
        parts: list[str] = []
        while True:
            self.skip_ws(False)
            if self.i < self.n and self.s[self.i] in "\"'":
                parts.append(self.string())
            else:
                m = _BARE.match(self.s, self.i)
                if not m:
                    return parts
                parts.append(m.group(0))
                self.i = m.end()
            self.skip_ws(False)
            if self.i < self.n and self.s[self.i] == ".":
                self.i += 1
                continue
            return parts

    # -- values ----------------------------------------------------------------------

    def value(self, path: Path) -> None:
        if self.i >= self.n:
            return
        c = self.s[self.i]
        if c == "[":
            self.array(path)
        elif c == "{":
            self.inline_table(path)
        elif c in "\"'":
            self.string()
        else:
            while self.i < self.n and self.s[self.i] not in ",]}\n#":
                self.i += 1

    def array(self, path: Path) -> None:
        self.i += 1  # '['
        idx = 0
        while True:
            self.skip_ws(True)
            if self.i >= self.n:
                return
            c = self.s[self.i]
            if c == "]":
                self.i += 1
                return
            if c == ",":
                idx += 1
                self.i += 1
                continue
            start = self.i
            self.record(path + (idx,), start)
            self.value(path + (idx,))
            if self.i == start:  # not a value we understand: give up on this array
                self.skip_line()
                return

    def inline_table(self, path: Path) -> None:
        self.i += 1  # '{'
        while True:
            self.skip_ws(True)
            if self.i >= self.n:
                return
            c = self.s[self.i]
            if c == "}":
                self.i += 1
                return
            if c == ",":
                self.i += 1
                continue
            start = self.i
            keys = self.key()
            self.skip_ws(False)
            if not keys or self.i >= self.n or self.s[self.i] != "=":
                self.skip_line()
                return
            self.i += 1
            self.skip_ws(False)
            sub = path + tuple(keys)
            self.record(sub, start)
            self.value(sub)

    # -- document ----------------------------------------------------------------------

    def document(self) -> dict[Path, int]:
        counters: dict[Path, int] = {}
        table: Path = ()
        while True:
            self.skip_ws(True)
            if self.i >= self.n:
                return self.out
            start = self.i
            if self.s.startswith("[[", self.i):
                self.i += 2
                base = tuple(self.key())
                idx = counters.get(base, -1) + 1
                counters[base] = idx
                for k in [k for k in counters if len(k) > len(base) and k[: len(base)] == base]:
                    del counters[k]  # a new parent entry restarts its nested arrays
                table = _resolve(base[:-1], counters) + (base[-1], idx) if base else ()
                self.record(table[:-1], start)
                self.record(table, start, overwrite=True)
                self.skip_line()
            elif self.s[self.i] == "[":
                self.i += 1
                table = _resolve(tuple(self.key()), counters)
                self.record(table, start)
                self.skip_line()
            else:
                keys = self.key()
                self.skip_ws(False)
                if not keys or self.i >= self.n or self.s[self.i] != "=":
                    self.skip_line()
                    continue
                self.i += 1
                self.skip_ws(False)
                path = table + tuple(keys)
                self.record(path, start)
                self.value(path)
                self.skip_line()  # trailing comment


def _escaped(s: str, pos: int) -> bool:
    """Whether the character at ``pos`` is preceded by an odd number of backslashes."""
    k = pos - 1
    while k >= 0 and s[k] == "\\":
        k -= 1
    return (pos - 1 - k) % 2 == 1


def _resolve(keys: tuple[str, ...], counters: dict[Path, int]) -> Path:
    """Insert array indices into a header path under arrays of tables (``[[a]]`` then ``[a.b]``)."""
    out: list[str | int] = []
    names: list[str] = []
    for k in keys:
        out.append(k)
        names.append(k)
        idx = counters.get(tuple(names))
        if idx is not None:
            out.append(idx)
    return tuple(out)


#: deepest nesting of arrays and inline tables a scenario may have (real scenarios use 3; the
#: TOML parser and this scanner recurse per level, so a hostile file must stop well before
#: Python's recursion limit)
MAX_NESTING = 64


def nesting_too_deep(text: str, limit: int = MAX_NESTING) -> int | None:
    """The 1-based line where arrays and inline tables first nest deeper than ``limit``, or
    ``None``.  Iterative (no recursion), skipping strings and comments."""
    s, n = text, len(text)
    i = depth = 0
    line = 1
    while i < n:
        c = s[i]
        if c == "\n":
            line += 1
        elif c == "#":
            j = s.find("\n", i)
            i = n if j == -1 else j
            continue
        elif c in "\"'":
            q3 = c * 3
            if s.startswith(q3, i):
                j = s.find(q3, i + 3)
                while j != -1 and c == '"' and _escaped(s, j):
                    j = s.find(q3, j + 1)
                j = n if j == -1 else j + 3
            else:
                j = i + 1
                while j < n and s[j] != c and s[j] != "\n":
                    j += 2 if c == '"' and s[j] == "\\" else 1
                j = min(j + 1, n) if j < n and s[j] == c else j
            line += s.count("\n", i, j)
            i = j
            continue
        elif c in "[{":
            depth += 1
            if depth > limit:
                return line
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def key_lines(text: str) -> dict[Path, int]:
    """Every key path the scanner recognises in ``text``, with its 1-based line."""
    return _Scanner(text).document()


def line_of(lines: dict[Path, int], path: Sequence[str | int]) -> int | None:
    """The line of ``path`` or of its nearest recorded ancestor (``None`` if none)."""
    p = tuple(path)
    while p:
        if p in lines:
            return lines[p]
        p = p[:-1]
    return None
