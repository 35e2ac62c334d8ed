"""Validation speed of a city-scale data file: a generated garbage city of N drop points.

Writes a CSV of ``--points`` drop points (default 20,000) in ``--zones`` zones next to a copy of
``scenarios/garbage_gusu_from_files.toml`` and times :func:`simcity.scenario.load_scenario` on
two variants, best of ``--repeat``:

* ``valid``: every row is good; the scenario loads;
* ``garbage``: one row in ten is broken (a repeated id, an unknown zone, a NaN or text
  or negative generation factor); the error lists the first problems, each with
  file, row and column.

Id and reference checks are linear in the number of points (issue 22: they were quadratic,
16,000 points took 6.7 s).  Time on a shared machine is noisy: the figure is for a person to
read, not a gate.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from simcity.bench.common import BenchError, require, result_file, shipped_scenario, write_results
from simcity.scenario import ScenarioError, load_scenario

BASE = "garbage_gusu_from_files.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--points", type=int, default=20_000, help="drop points in the file (default 20000)")
    parser.add_argument("--zones", type=int, default=50, help="zones the points are spread over (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="timed loads per variant; the best is kept")
    parser.add_argument("--scenario", type=Path, default=None,
                        help=f"the garbage scenario with point files to start from (default scenarios/{BASE})")
    parser.add_argument("--out", type=Path, default=None, help="result JSON (default benchmarks/results/validation.json)")


def write_city(folder: Path, base: Path, points: int, zones: int, broken: bool) -> Path:
    """The scenario file of a generated city of ``points`` drop points; ``broken``: one row in
    ten has a problem (row checks; ids and zones are checked once the rows are good)."""
    data: dict[str, Any] = tomllib.loads(base.read_text(encoding="utf-8"))
    city = data["city"]
    for key in ("stations_file", "depots_file"):
        city[key] = str((base.parent / city[key]).resolve())
    per = [points // zones + (1 if z < points % zones else 0) for z in range(zones)]
    city["zones"] = [{"id": f"Z{z:03d}", "x_km": 0.0, "y_km": 0.0, "radius_km": 1.0, "points": n}
                     for z, n in enumerate(per)]
    side = math.ceil(math.sqrt(points))
    rows = ["id,zone,lon,lat,generation_factor"]
    k = 0
    for z, n in enumerate(per):
        for _ in range(n):
            lon = 120.55 + 0.10 * (k % side) / side
            lat = 31.26 + 0.08 * (k // side) / side
            pid, zone, factor = f"P{k:06d}", f"Z{z:03d}", f"{0.5 + (k % 11) / 10:.2f}"
            if broken and k % 10 == 9:
                kind = (k // 10) % 4
                if kind == 0:
                    pid = f"P{k - 1:06d}"  # repeated id
                elif kind == 1:
                    zone = "nowhere"
                elif kind == 2:
                    factor = "nan" if k % 20 == 9 else "lots"
                else:
                    factor = "-1"
            rows.append(f"{pid},{zone},{lon:.6f},{lat:.6f},{factor}")
            k += 1
    (folder / "points.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    city["points_file"] = "points.csv"
    path = folder / ("broken.toml" if broken else "valid.toml")
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def time_load(path: Path, repeat: int) -> tuple[float, str]:
    best, outcome = math.inf, ""
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        try:
            load_scenario(path)
            outcome = "OK"
        except ScenarioError as exc:
            outcome = f"{len(exc.problems)} problem(s); first: {exc.problems[0]}"[:300]
        best = min(best, time.perf_counter() - t0)
    return best, outcome


def main(args: argparse.Namespace) -> int:
    base = args.scenario or require(shipped_scenario(BASE), "the scenario", "--scenario")
    if args.points < args.zones or args.zones < 1:
        raise BenchError("--points must be at least --zones, which must be >= 1")
    rows = []
    with tempfile.TemporaryDirectory(prefix="simcity-validation-") as tmp:
        for broken in (False, True):
            folder = Path(tmp) / ("broken" if broken else "valid")
            folder.mkdir()
            path = write_city(folder, base, args.points, args.zones, broken)
            seconds, outcome = time_load(path, args.repeat)
            variant = "garbage" if broken else "valid"
            rows.append({"variant": variant, "points": args.points, "seconds": round(seconds, 4),
                         "outcome": outcome})
            print(f"{variant:8s} {args.points:>7,d} points: {seconds:6.2f} s  ({outcome})")
    out = write_results(args.out or result_file("validation"), "validation", rows,
                        {"points": args.points, "zones": args.zones, "repeat": args.repeat})
    print(f"written to {out}")
    return 0


if __name__ == "__main__":  # runs as python -m until it has a CI tier and baseline (as garbage_plans)
    _parser = argparse.ArgumentParser(prog="python -m simcity.bench.validation", description=__doc__)
    add_arguments(_parser)
    raise SystemExit(main(_parser.parse_args()))
