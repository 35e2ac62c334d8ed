"""Read and write the standard DBAP instance format.

The format (Cordeau et al. 2005; Lalla-Ruiz et al.; Kramer et al. 2019) is whitespace
separated numbers, in this order::

    N
    M
    N arrival times
    M berth opening times
    N rows of M handling times        (a forbidden vessel-berth pair holds a sentinel)
    M berth closing times
    N latest departure times
    N weights

The sentinel for a forbidden pair differs between sets: ``99999`` in the Kramer et al.
files, ``200`` in the 60×13 Cordeau-style files — pass it as ``forbidden``.  Line endings
may be LF or CRLF.  Latest departures are read as *hard* deadlines.  The Cordeau files'
weight line is not part of the standard I3 objective; ``unit_weights=True`` ignores it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from optimize.berths.model import Berth, BerthDataError, BerthProblem, Request


class InstanceFormatError(ValueError):
    """A DBAP file that does not follow the format; the message names file and line."""


def _tokens(text: str) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        out.extend((tok, lineno) for tok in line.split())
    return out


def read_dbap(
    path: str | os.PathLike[str], *, forbidden: int = 99999, unit_weights: bool = False
) -> BerthProblem:
    """Read a DBAP instance file.

    Parameters
    ----------
    path
        The instance file.
    forbidden
        Handling-time value that marks a forbidden request–berth pair.
    unit_weights
        Use weight 1 for every request instead of the file's weight line.

    Returns
    -------
    BerthProblem
        Berths ``b1..bM`` and requests ``v1..vN`` with hard latest completions.

    Raises
    ------
    InstanceFormatError
        With file, line and what was expected when the file is malformed.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InstanceFormatError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InstanceFormatError(f"{p}: not a text file ({exc.reason})") from exc
    rd = _Reader(p, _tokens(text))
    n = rd.take_int("the number of vessels N")
    m = rd.take_int("the number of berths M")
    if n < 0 or m < 1:
        raise InstanceFormatError(f"{p}:1: expected N >= 0 vessels and M >= 1 berths, got {n}, {m}")
    arrival = [rd.take_int(f"arrival time of vessel {i + 1}") for i in range(n)]
    opening = [rd.take_int(f"opening time of berth {k + 1}") for k in range(m)]
    handling = [rd.handling_row(i, m, forbidden) for i in range(n)]
    closing = [rd.closing(k, opening[k]) for k in range(m)]
    latest = [rd.take_int(f"latest departure of vessel {i + 1}") for i in range(n)]
    weights = [rd.weight(i) for i in range(n)]
    rd.expect_end()
    try:
        berths = tuple(Berth(f"b{k + 1}", opening[k], closing[k]) for k in range(m))
        requests = tuple(
            Request(
                id=f"v{i + 1}",
                arrival=arrival[i],
                handling=handling[i],
                weight=1.0 if unit_weights else weights[i],
                latest_completion=latest[i],
            )
            for i in range(n)
        )
        return BerthProblem(berths, requests)
    except BerthDataError as exc:
        raise InstanceFormatError(f"{p}: {exc}") from exc


class _Reader:
    """The values of a DBAP file in order, each checked with its line for the message."""

    def __init__(self, path: Path, toks: list[tuple[str, int]]) -> None:
        self.path, self.toks, self.pos = path, toks, 0

    def fail(self, line: int, msg: str) -> InstanceFormatError:
        return InstanceFormatError(f"{self.path}:{line}: {msg}")

    def take(self, what: str, *, integer: bool = True) -> tuple[float, int]:
        """The next value and its line."""
        if self.pos >= len(self.toks):
            last = self.toks[-1][1] if self.toks else 1
            raise self.fail(last, f"file ends early, expected {what}")
        tok, line = self.toks[self.pos]
        self.pos += 1
        try:
            val = float(tok)
        except ValueError:
            raise self.fail(line, f"expected {what} (a number), got {tok!r}") from None
        if not math.isfinite(val):
            raise self.fail(line, f"expected {what}, got {tok!r}")
        if integer and val != int(val):
            raise self.fail(line, f"expected {what} as an integer, got {tok!r}")
        return val, line

    def take_int(self, what: str) -> int:
        return int(self.take(what)[0])

    def handling_row(self, i: int, m: int, forbidden: int) -> dict[str, int]:
        """Handling time of vessel ``i`` per allowed berth id (the sentinel = forbidden)."""
        row: dict[str, int] = {}
        line = 1
        for k in range(m):
            what = f"handling time of vessel {i + 1} at berth {k + 1}"
            val, line = self.take(what)
            h = int(val)
            if h == forbidden:
                continue
            if h < 1:
                raise self.fail(line, f"{what}: expected an integer >= 1 (or the forbidden "
                                      f"sentinel {forbidden}), got {h}")
            row[f"b{k + 1}"] = h
        if not row:
            raise self.fail(line, f"vessel {i + 1}: no allowed berth (every handling time is "
                                  f"the forbidden sentinel {forbidden})")
        return row

    def closing(self, k: int, opening: int) -> int:
        what = f"closing time of berth {k + 1}"
        val, line = self.take(what)
        if val < opening:
            raise self.fail(line, f"{what}: expected a time >= its opening {opening}, got {int(val)}")
        return int(val)

    def weight(self, i: int) -> float:
        what = f"weight of vessel {i + 1}"
        val, line = self.take(what, integer=False)
        if val < 0:
            raise self.fail(line, f"{what}: expected a number >= 0 (a cost per time unit in "
                                  f"the system), got {val:g}")
        return val

    def expect_end(self) -> None:
        if self.pos != len(self.toks):
            tok, line = self.toks[self.pos]
            raise self.fail(line, f"unexpected extra value {tok!r} after the weights")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def write_dbap(problem: BerthProblem, path: str | os.PathLike[str], *, forbidden: int = 99999,
               crlf: bool = False) -> Path:
    """Write ``problem`` in the DBAP format (atomically) and return the path.

    Berths without a closing time and requests without a latest completion get
    ``forbidden`` there, which is larger than any time in the published sets.

    Raises
    ------
    BerthDataError
        If the problem uses what the format cannot hold (soft deadlines), or a handling
        time equals the ``forbidden`` sentinel.
    """
    soft = [r.id for r in problem.requests if r.lateness_penalty is not None]
    if soft:
        raise BerthDataError(f"the DBAP format has no soft deadlines (requests {soft[:3]})")
    bids = [b.id for b in problem.berths]
    lines = [str(len(problem.requests)), str(len(bids))]
    lines.append(" ".join(str(r.arrival) for r in problem.requests))
    lines.append(" ".join(str(b.open) for b in problem.berths))
    for r in problem.requests:
        row = []
        for b in bids:
            h = r.handling.get(b)
            if h == forbidden:
                raise BerthDataError(f"request {r.id!r}: handling time equals the sentinel {forbidden}")
            row.append(str(forbidden if h is None else h))
        lines.append(" ".join(row))
    lines.append(" ".join(str(forbidden if b.close is None else b.close) for b in problem.berths))
    lines.append(" ".join(str(forbidden if r.latest_completion is None else r.latest_completion)
                          for r in problem.requests))
    lines.append(" ".join(_num(r.weight) for r in problem.requests))
    eol = "\r\n" if crlf else "\n"
    data = (eol.join(lines) + eol).encode("utf-8")

    # optimize must not depend on simcity (whose fileio has the atomic writers), so the
    # temporary-file-and-rename is done here.
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target
