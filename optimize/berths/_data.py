"""Index-based view of a :class:`BerthProblem` shared by the solver, warm start and diagnosis.

The public data classes are keyed by ids; the solvers work on integer indices and need
derived quantities (earliest start and hard completion limit per request–berth pair) many
times, so they are computed once here.
"""

from __future__ import annotations

from dataclasses import dataclass

from optimize.berths.model import BerthProblem


@dataclass(frozen=True)
class Compiled:
    """Arrays describing a berth problem by index (``i`` request, ``k`` berth)."""

    n: int
    m: int
    arrival: tuple[int, ...]
    weight: tuple[float, ...]
    #: soft deadline and its penalty per request (``None`` when not soft)
    soft_deadline: tuple[int | None, ...]
    penalty: tuple[float, ...]
    #: handling time per (i, k); ``None`` = forbidden
    handling: tuple[tuple[int | None, ...], ...]
    #: earliest start max(arrival, berth open) per (i, k)
    release: tuple[tuple[int, ...], ...]
    #: latest completion min(berth close, hard deadline) per (i, k); ``None`` = unbounded
    limit: tuple[tuple[int | None, ...], ...]
    hard_deadline: tuple[int | None, ...]
    #: per berth, its closing time (``None`` = never)
    close: tuple[int | None, ...] = ()
    #: per berth, sorted ``[start, end)`` periods already taken (used by LNS sub-problems)
    blocked: tuple[tuple[tuple[int, int], ...], ...] = ()

    def fits(self, i: int, k: int) -> bool:
        """Whether request ``i`` can be served on berth ``k`` at all (ignoring the others)."""
        h = self.handling[i][k]
        if h is None:
            return False
        lim = self.limit[i][k]
        return lim is None or self.release[i][k] + h <= lim

    def cost(self, i: int, completion: int) -> float:
        """Objective contribution of request ``i`` completing at ``completion``."""
        c = self.weight[i] * (completion - self.arrival[i])
        d = self.soft_deadline[i]
        if d is not None and completion > d:
            c += self.penalty[i] * (completion - d)
        return c

    def horizon(self) -> int:
        """A time by which some optimal schedule has completed every request.

        Any schedule can be left-shifted until each start is a release time or the end of
        the previous request or a blocked period on its berth without raising the (non-decreasing) cost, so no
        completion in it exceeds the latest release plus the sum of the longest handlings.
        """
        latest_release = max((max(r) for r in self.release), default=0)
        latest_release = max([latest_release] + [e for per in self.blocked for _, e in per])
        total = sum(max((h for h in row if h is not None), default=0) for row in self.handling)
        return latest_release + total


def compile_problem(problem: BerthProblem) -> Compiled:
    """Index ``problem``; berth ``k`` is ``problem.berths[k]``, request ``i`` is ``requests[i]``."""
    berths = problem.berths
    handling: list[tuple[int | None, ...]] = []
    release: list[tuple[int, ...]] = []
    limit: list[tuple[int | None, ...]] = []
    for r in problem.requests:
        handling.append(tuple(r.handling.get(b.id) for b in berths))
        release.append(tuple(max(r.arrival, b.open) for b in berths))
        hard = r.hard_deadline
        row: list[int | None] = []
        for b in berths:
            cands = [x for x in (b.close, hard) if x is not None]
            row.append(min(cands) if cands else None)
        limit.append(tuple(row))
    reqs = problem.requests
    return Compiled(
        n=len(reqs),
        m=len(berths),
        arrival=tuple(r.arrival for r in reqs),
        weight=tuple(float(r.weight) for r in reqs),
        soft_deadline=tuple(
            r.latest_completion if r.lateness_penalty is not None else None for r in reqs
        ),
        penalty=tuple(float(r.lateness_penalty or 0.0) for r in reqs),
        handling=tuple(handling),
        release=tuple(release),
        limit=tuple(limit),
        hard_deadline=tuple(r.hard_deadline for r in reqs),
        close=tuple(b.close for b in berths),
        blocked=tuple(() for _ in berths),
    )


def restrict(data: Compiled, requests: list[int], berths: list[int],
             blocked: list[list[tuple[int, int]]]) -> Compiled:
    """The sub-problem of ``requests`` on ``berths`` with ``blocked`` periods per berth.

    Index ``i`` of the result is ``requests[i]`` of ``data``, index ``k`` is ``berths[k]``.
    """
    def pick(rows: tuple[tuple[object, ...], ...]) -> tuple[tuple[object, ...], ...]:
        return tuple(tuple(rows[i][k] for k in berths) for i in requests)

    return Compiled(
        n=len(requests),
        m=len(berths),
        arrival=tuple(data.arrival[i] for i in requests),
        weight=tuple(data.weight[i] for i in requests),
        soft_deadline=tuple(data.soft_deadline[i] for i in requests),
        penalty=tuple(data.penalty[i] for i in requests),
        handling=pick(data.handling),  # type: ignore[arg-type]
        release=pick(data.release),  # type: ignore[arg-type]
        limit=pick(data.limit),  # type: ignore[arg-type]
        hard_deadline=tuple(data.hard_deadline[i] for i in requests),
        close=tuple(data.close[k] for k in berths),
        blocked=tuple(tuple(sorted(b)) for b in blocked),
    )
