"""Why a routing problem has no solution.

:func:`precheck` runs before any solver: it finds stops that no vehicle can serve
(demand above every capacity, a window no vehicle reaches in time, a stop from which no
vehicle can unload and get home within its shift) and fleet-level impossibilities.
When a solver fails although the pre-checks pass, the backends re-solve a relaxed model
(required stops made optional at a high penalty) and report the stops it had to drop;
see :func:`optimize.routing.ortools_backend.solve_ortools`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optimize.routing.model import Problem


@dataclass(frozen=True)
class Infeasibility:
    """One reason for infeasibility and the stops it concerns (may be empty)."""

    stops: tuple[int, ...]
    reason: str


class InfeasibleProblemError(Exception):
    """The problem has no feasible solution; ``issues`` says which stops and why."""

    def __init__(self, problem: Problem, issues: Sequence[Infeasibility]) -> None:
        self.issues = tuple(issues)
        lines = []
        for iss in self.issues:
            if iss.stops:
                names = ", ".join(repr(problem.stop_name(i)) for i in iss.stops[:8])
                more = f" and {len(iss.stops) - 8} more" if len(iss.stops) > 8 else ""
                lines.append(f"{names}{more}: {iss.reason}")
            else:
                lines.append(iss.reason)
        name = f"{problem.name}: " if problem.name else ""
        super().__init__(f"{name}infeasible routing problem: " + "; ".join(lines))

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions are pickled as cls(*args); ours takes a Problem, so rebuild from the
        # message and issues instead (needed to return it from a portfolio worker).
        return (_rebuild, (type(self), str(self), self.issues))

    @property
    def stops(self) -> tuple[int, ...]:
        """All stops named in the diagnosis."""
        return tuple(sorted({i for iss in self.issues for i in iss.stops}))


def _rebuild(cls: type[InfeasibleProblemError], message: str,
             issues: tuple[Infeasibility, ...]) -> InfeasibleProblemError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.issues = issues
    return err


class NoSolutionFoundError(InfeasibleProblemError):
    """The search ended without any solution, but infeasibility is not proven.

    Raised when a backend times out before its first solution (typically: a time limit
    too short for the problem size or for the machine's load).  A subclass of
    :class:`InfeasibleProblemError` so that callers handling "no plan" catch both.
    """


def _serve_reason(problem: Problem, i: int, t: int) -> str | None:
    """Why vehicle type ``t`` cannot serve stop ``i`` on its own, or ``None`` if it can."""
    stop = problem.stops[i]
    vt = problem.vehicle_types[t]
    dur = problem.duration
    for c, (q, cap) in enumerate(zip(stop.demand, vt.capacity, strict=True)):
        if q > cap:
            return f"demand {q} in compartment {c} exceeds capacity {cap}"
    s0, s1 = problem.shift_of(t)
    a, b = problem.stop_window(i)
    reach = s0 + int(dur[vt.start_depot, stop.location])
    begin = max(reach, a)
    if begin > b:
        return f"earliest arrival {reach} s is after the window closes at {b} s"
    done = begin + stop.service_time
    if problem.must_unload and any(stop.demand):
        best: int | None = None
        for f, fac in enumerate(problem.facilities):
            fa, fb = problem.facility_window(f)
            u = max(done + int(dur[stop.location, fac.location]), fa)
            if u > fb:
                continue
            back = u + fac.unload_time + int(dur[fac.location, vt.end_depot])
            best = back if best is None else min(best, back)
        if best is None:
            return "no facility can be reached in its opening hours after serving it"
        home = best
    else:
        home = done + int(dur[stop.location, vt.end_depot])
    if home > s1:
        return f"cannot be back at the depot before the shift ends ({home} s > {s1} s)"
    if vt.max_duration is not None:
        # The earliest departure is bounded below by the shift start only; the route
        # can start later, so the tightest duration is travel + waiting-free service.
        need = home - max(s0, begin - int(dur[vt.start_depot, stop.location]))
        if need > vt.max_duration:
            return f"a route serving it lasts at least {need} s > max_duration {vt.max_duration} s"
    return None


def precheck(problem: Problem) -> list[Infeasibility]:
    """Infeasibilities detectable without solving; empty when none is found."""
    issues: list[Infeasibility] = []
    types = [t for t, vt in enumerate(problem.vehicle_types) if vt.count > 0]
    required = [i for i, s in enumerate(problem.stops) if s.required]
    if not required:
        return issues
    if not types:
        return [Infeasibility(tuple(required), "no vehicle is available")]
    if problem.must_unload and not problem.facilities and any(
            any(problem.stops[i].demand) for i in required):
        return [Infeasibility((), "unload_before_return is set but there is no facility")]
    # Per-stop reasons, grouped by the reason of the first vehicle type.
    by_reason: dict[str, list[int]] = {}
    for i in required:
        reasons = []
        for t in types:
            r = _serve_reason(problem, i, t)
            if r is None:
                break
            label = problem.vehicle_types[t].name or f"type {t}"
            reasons.append(r if len(types) == 1 else f"{label}: {r}")
        else:
            by_reason.setdefault("; ".join(reasons), []).append(i)
    issues.extend(Infeasibility(tuple(s), r) for r, s in by_reason.items())
    # Facility reachability per vehicle type (a shift too short to unload at all).
    if problem.must_unload and problem.facilities:
        for t in types:
            vt = problem.vehicle_types[t]
            s0, s1 = problem.shift_of(t)
            ok = False
            for f, fac in enumerate(problem.facilities):
                fa, fb = problem.facility_window(f)
                u = max(s0 + int(problem.duration[vt.start_depot, fac.location]), fa)
                back = u + fac.unload_time + int(problem.duration[fac.location, vt.end_depot])
                if u <= fb and back <= s1:
                    ok = True
                    break
            if not ok:
                label = vt.name or f"vehicle type {t}"
                issues.append(Infeasibility((), f"{label}: shift {s0}-{s1} s too short to "
                                                f"reach any facility and return"))
    # Fleet capacity when loads cannot be emptied mid-route.
    if not problem.facilities:
        for c in range(problem.num_compartments):
            total = sum(problem.stops[i].demand[c] for i in required)
            fleet = sum(problem.vehicle_types[t].count * problem.vehicle_types[t].capacity[c]
                        for t in types)
            if total > fleet:
                issues.append(Infeasibility(
                    (), f"required demand {total} in compartment {c} exceeds the fleet's "
                        f"total capacity {fleet} and there is no facility to unload"))
    return issues


def require_solvable_input(problem: Problem) -> None:
    """Validate ``problem`` and raise :class:`InfeasibleProblemError` when the pre-checks
    find an impossibility: the common start of every backend."""
    problem.validate()
    issues = precheck(problem)
    if issues:
        raise InfeasibleProblemError(problem, issues)
