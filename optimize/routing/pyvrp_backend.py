"""PyVRP backend (hybrid genetic search): CVRP, VRPTW, optional stops, reloads, fleets.

Mapping: every problem location is a PyVRP location (the full matrices are passed);
each fleet depot and each facility becomes a PyVRP depot; facilities are the vehicle
types' ``reload_depots`` with the unload time as the depot's service duration.  Demands
are *pickups*, so the load grows along a trip and empties at a reload.  An optional stop's
penalty is its prize.  Costs are scaled to integers like the OR-Tools backend.

Not modelled (callers must use OR-Tools, see :func:`optimize.routing.suitable_backends`):
breaks, facility opening hours, and the rule that a route unloads before returning.

PyVRP is deterministic for a given seed and *iteration count*; with a time limit the
number of iterations depends on machine speed and load, so results vary across runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

from optimize.routing._assemble import RawRoute, assemble, integer_cost_scale
from optimize.routing.diagnose import (
    Infeasibility,
    InfeasibleProblemError,
    NoSolutionFoundError,
    precheck,
)
from optimize.routing.model import HORIZON_MAX, Problem, Solution

_MAX = np.iinfo(np.int64).max


def to_pyvrp(problem: Problem) -> tuple[pyvrp.ProblemData, list[tuple[str, int]]]:
    """Build PyVRP data; also return what each PyVRP depot is (``("depot"|"facility", i)``)."""
    scale = integer_cost_scale(problem)
    n_loc = problem.num_locations
    coords = problem.coordinates
    locations = [pyvrp.Location(float(coords[i][0]) if coords is not None else 0.0,
                                float(coords[i][1]) if coords is not None else 0.0)
                 for i in range(n_loc)]
    fleet_depots = sorted({vt.start_depot for vt in problem.vehicle_types}
                          | {vt.end_depot for vt in problem.vehicle_types})
    depots = [pyvrp.Depot(d, name=f"depot {d}") for d in fleet_depots]
    what: list[tuple[str, int]] = [("depot", d) for d in fleet_depots]
    for f, fac in enumerate(problem.facilities):
        a, b = problem.facility_window(f)
        depots.append(pyvrp.Depot(fac.location, tw_early=a,
                                  tw_late=b if b < HORIZON_MAX else _MAX,
                                  service_duration=fac.unload_time,
                                  name=problem.facility_name(f)))
        what.append(("facility", f))
    k = problem.num_compartments
    clients = []
    for i, s in enumerate(problem.stops):
        a, b = problem.stop_window(i)
        clients.append(pyvrp.Client(
            s.location, delivery=[0] * k, pickup=list(s.demand), service_duration=s.service_time,
            tw_early=a, tw_late=b if b < HORIZON_MAX else _MAX,
            prize=0 if s.required else round(s.penalty * scale), required=s.required,
            name=problem.stop_name(i)))
    pos = {d: j for j, d in enumerate(fleet_depots)}
    reloads = list(range(len(fleet_depots), len(depots)))
    vtypes = []
    for t, vt in enumerate(problem.vehicle_types):
        s0, s1 = problem.shift_of(t)
        vtypes.append(pyvrp.VehicleType(
            num_available=vt.count, capacity=list(vt.capacity),
            start_depot=pos[vt.start_depot], end_depot=pos[vt.end_depot],
            fixed_cost=round(vt.fixed_cost * scale), tw_early=s0,
            tw_late=s1 if s1 < HORIZON_MAX else _MAX,
            shift_duration=vt.max_duration if vt.max_duration is not None else _MAX,
            unit_distance_cost=round(vt.cost_per_km / 1000.0 * scale),
            unit_duration_cost=round(vt.cost_per_hour / 3600.0 * scale),
            reload_depots=reloads, name=vt.name or f"type {t}"))
    matrices: list[Any] = [np.asarray(problem.distance), np.asarray(problem.duration)]
    data = pyvrp.ProblemData(locations, clients, depots, vtypes, matrices[:1], matrices[1:])
    return data, what


@dataclass(frozen=True)
class PyVRPOptions:
    """Settings of the PyVRP backend.

    Parameters
    ----------
    max_iterations
        Stop after this many genetic-search iterations, besides the time limit.  With a
        fixed seed, an iteration limit that binds before the time limit makes the run
        reproducible regardless of machine speed and load.
    """

    max_iterations: int | None = None


def solve_pyvrp(problem: Problem, time_limit: float = 10.0, seed: int = 0,
                options: PyVRPOptions | None = None) -> Solution:
    """Solve with PyVRP's hybrid genetic search for ``time_limit`` seconds.

    Raises
    ------
    InfeasibleProblemError
        From the pre-checks, or when PyVRP ends without a feasible solution.
    """
    t0 = time.perf_counter()
    problem.validate()
    issues = precheck(problem)
    if issues:
        raise InfeasibleProblemError(problem, issues)
    data, what = to_pyvrp(problem)
    stop: Any = MaxRuntime(max(0.01, time_limit - (time.perf_counter() - t0)))
    if options is not None and options.max_iterations is not None:
        stop = MultipleCriteria([stop, MaxIterations(options.max_iterations)])
    result = pyvrp.solve(data, stop, seed=seed, collect_stats=False, display=False)
    best = result.best
    if not best.is_feasible():
        raise NoSolutionFoundError(problem, [Infeasibility(
            (), "PyVRP found no feasible solution within the time limit; infeasibility is "
                "not proven (the ortools backend names conflicting stops)")])
    offsets = np.cumsum([0] + [vt.count for vt in problem.vehicle_types])
    used = [0] * len(problem.vehicle_types)
    raw = []
    for route in best.routes():
        t = route.vehicle_type()
        visits: list[tuple[str, int, int]] = []
        sched = list(route.schedule())
        for act in sched[1:-1]:
            if act.is_client():
                visits.append(("stop", act.idx, act.start_time))
            else:
                kind, idx = what[act.idx]
                visits.append((kind, idx, act.start_time))
        raw.append(RawRoute(int(offsets[t]) + used[t], t, route.start_time(), route.end_time(),
                            visits))
        used[t] += 1
    return assemble(problem, raw, backend="pyvrp", wall_time=time.perf_counter() - t0)
