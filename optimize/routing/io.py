"""Benchmark instance I/O: VRPLIB (CVRP) and Solomon (VRPTW) files, VRPLIB ``.sol`` output.

Reading uses the ``vrplib`` package, which returns unrounded Euclidean distances; this
module applies the conventions under which the published best-known values hold:

* **CVRP** (``.vrp``, TSPLIB ``EUC_2D``): distances rounded to the nearest integer,
  ``nint(x) = floor(x + 0.5)``; the cost is the total distance.  The fleet is not fixed
  in the X set: the problem offers ``k + max(3, ceil(k / 10))`` vehicles where ``k`` is
  the number in the instance name (or the capacity lower bound).
* **Solomon** (``.txt``), **DIMACS convention**: distances truncated to one decimal
  and minimised alone (the vehicle count is free up to the file's fleet size).  To keep
  OR-Tools integral, every distance, time window, service time and travel time is
  multiplied by 10; :attr:`Instance.unit` (10) converts back.

The resulting :class:`~optimize.routing.model.Problem` has ``cost_per_km=1000`` so that one
matrix unit costs one: ``solution.cost.total / instance.unit`` is the benchmark objective.
"""

from __future__ import annotations

import csv
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import vrplib

from optimize.routing.model import Problem, Solution, Stop, VehicleType


class InstanceError(ValueError):
    """An instance file is missing or cannot be parsed; the message names the file."""


@dataclass(frozen=True)
class Instance:
    """A benchmark instance converted to a :class:`Problem` plus its conventions."""

    name: str
    kind: Literal["cvrp", "vrptw"]
    problem: Problem
    unit: int
    convention: str
    num_customers: int
    path: Path


def _fleet_size(name: str, total_demand: int, capacity: int) -> int:
    m = re.search(r"-k(\d+)", name)
    k = int(m.group(1)) if m else 0
    k = max(k, math.ceil(total_demand / max(capacity, 1)))
    return k + max(3, math.ceil(k / 10))


def _load(p: Path, fmt: Literal["vrplib", "solomon"], keys: tuple[str, ...]) -> dict[str, Any]:
    """``vrplib.read_instance`` with errors that name the file and the missing key."""
    try:
        data = vrplib.read_instance(str(p), instance_format=fmt)
    except FileNotFoundError as exc:
        raise InstanceError(f"{p}: file not found") from exc
    except Exception as exc:  # vrplib raises assorted errors on malformed text
        raise InstanceError(f"{p}: not a readable {fmt} instance ({exc})") from exc
    for key in keys:
        if key not in data:
            raise InstanceError(f"{p}: missing {key.upper()} (expected a {fmt} "
                                f"{'CVRP' if fmt == 'vrplib' else 'VRPTW'} file)")
    return dict(data)


def read_vrplib(path: str | Path) -> Instance:
    """Read a VRPLIB CVRP file (``EUC_2D`` or explicit weights) with ``nint`` distances."""
    p = Path(path)
    data = _load(p, "vrplib", ("edge_weight", "demand", "capacity", "depot"))
    w = np.asarray(data["edge_weight"], dtype=float)
    dist = np.floor(w + 0.5).astype(np.int64)
    depots = [int(d) for d in np.atleast_1d(data["depot"])]
    if len(depots) != 1:
        raise InstanceError(f"{p}: expected exactly one depot, found {len(depots)}")
    depot = depots[0]
    demand = np.asarray(data["demand"], dtype=np.int64)
    cap = int(data["capacity"])
    name = str(data.get("name", p.stem))
    stops = [Stop(location=i, demand=(int(demand[i]),), name=str(i))
             for i in range(len(demand)) if i != depot]
    fleet = _fleet_size(name, int(demand.sum()), cap)
    vt = VehicleType(capacity=(cap,), count=fleet, start_depot=depot, end_depot=depot,
                     cost_per_km=1000.0)
    coords = np.asarray(data["node_coord"], dtype=float) if "node_coord" in data else None
    problem = Problem(dist, dist, stops, [vt], name=name, coordinates=coords)
    return Instance(name, "cvrp", problem, 1,
                    "CVRP: Euclidean distance rounded to nearest integer (TSPLIB nint)",
                    len(stops), p)


def read_solomon(path: str | Path) -> Instance:
    """Read a Solomon VRPTW file under the DIMACS convention (times and distances x10)."""
    p = Path(path)
    data = _load(p, "solomon", ("edge_weight", "demand", "capacity", "time_window",
                                "service_time", "vehicles"))
    w = np.asarray(data["edge_weight"], dtype=float)
    # DIMACS: truncate to one decimal.  The tiny epsilon guards values like 12.3 stored
    # as 12.29999..., which a plain floor would cut one tenth short.
    dist = np.floor(w * 10 + 1e-7).astype(np.int64)
    tw = np.asarray(data["time_window"], dtype=np.int64) * 10
    service = np.asarray(data["service_time"], dtype=np.int64) * 10
    demand = np.asarray(data["demand"], dtype=np.int64)
    stops = [Stop(location=i, demand=(int(demand[i]),), service_time=int(service[i]),
                  time_window=(int(tw[i, 0]), int(tw[i, 1])), name=str(i))
             for i in range(1, len(demand))]
    vt = VehicleType(capacity=(int(data["capacity"]),), count=int(data["vehicles"]),
                     start_depot=0, end_depot=0, cost_per_km=1000.0,
                     shift=(int(tw[0, 0]), int(tw[0, 1])))
    name = str(data.get("name", p.stem))
    coords = np.asarray(data["node_coord"], dtype=float) if "node_coord" in data else None
    problem = Problem(dist, dist, stops, [vt], name=name, coordinates=coords)
    return Instance(name, "vrptw", problem, 10,
                    "Solomon DIMACS: distance truncated to one decimal, minimise distance only",
                    len(stops), p)


def read_instance(path: str | Path) -> Instance:
    """Read a ``.vrp`` (VRPLIB CVRP) or ``.txt`` (Solomon) instance."""
    p = Path(path)
    if not p.is_file():
        raise InstanceError(f"{p}: file not found")
    if p.suffix.lower() == ".vrp":
        return read_vrplib(p)
    if p.suffix.lower() == ".txt":
        return read_solomon(p)
    raise InstanceError(f"{p}: unknown instance format (expected .vrp or Solomon .txt)")


def read_bks(path: str | Path) -> dict[str, tuple[float, str]]:
    """Best-known values from a ``bks.csv``: ``name -> (value, column used)``.

    The CVRP file has a ``bks`` column; the VRPTW file keeps conventions apart and the
    DIMACS distance column ``dimacs_bks_distance`` is the one matching :func:`read_solomon`.
    """
    p = Path(path)
    out: dict[str, tuple[float, str]] = {}
    with p.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        col = "dimacs_bks_distance" if "dimacs_bks_distance" in fields else "bks"
        if "name" not in fields or col not in fields:
            raise InstanceError(f"{p}: expected columns 'name' and 'bks' or "
                                f"'dimacs_bks_distance', found {fields}")
        for line_no, row in enumerate(reader, start=2):
            try:
                out[row["name"]] = (float(row[col]), col)
            except (TypeError, ValueError) as exc:
                raise InstanceError(f"{p}:{line_no}: column {col}: not a number") from exc
    return out


def find_bks(instance_path: Path, levels: int = 2) -> dict[str, tuple[float, str]]:
    """Read the nearest ``bks.csv`` in the instance's folder or up to ``levels`` parents."""
    folder = instance_path.resolve().parent
    for _ in range(levels + 1):
        cand = folder / "bks.csv"
        if cand.is_file():
            return read_bks(cand)
        folder = folder.parent
    return {}


def solution_to_sol(problem: Problem, solution: Solution, cost: float | None = None) -> str:
    """VRPLIB ``.sol`` text: one ``Route #k:`` line of stop locations per route, then ``Cost``.

    Stops are written by location index (for VRPLIB instances the customer number);
    unloads at facilities are written as ``F<facility index>`` since ``.sol`` has no
    notation for them.
    """
    lines = []
    for k, route in enumerate(solution.routes, start=1):
        items = [str(problem.stops[v.index].location) if v.kind == "stop" else f"F{v.index}"
                 for v in route.visits]
        lines.append(f"Route #{k}: " + " ".join(items))
    value = solution.cost.total if cost is None else cost
    text = f"{value:.1f}" if value != int(value) else str(int(value))
    lines.append(f"Cost {text}")
    return "\n".join(lines) + "\n"


def write_sol(path: str | Path, problem: Problem, solution: Solution,
              cost: float | None = None) -> Path:
    """Write :func:`solution_to_sol` to ``path`` atomically (temporary file + rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(solution_to_sol(problem, solution, cost))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
