"""Quick tier of the routing benchmark, instance conventions and .sol output."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import vrplib

from optimize.routing import solve
from optimize.routing.io import find_bks, read_instance, solution_to_sol
from simcity.bench import routing as bench

INSTANCES = Path(__file__).resolve().parents[2].parent / "shared" / "instances"
needs_instances = pytest.mark.skipif(
    not INSTANCES.is_dir(), reason=f"benchmark instances not found at {INSTANCES}")


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    return parser.parse_args(list(argv))


def _route_cost(inst_path: Path, sol_path: Path) -> float:
    """Objective of a published .sol under our matrix, in instance units."""
    inst = read_instance(inst_path)
    routes = vrplib.read_solution(str(sol_path))["routes"]
    d = inst.problem.distance
    total = 0
    for r in routes:
        seq = [0, *r, 0]
        total += sum(int(d[a, b]) for a, b in zip(seq, seq[1:], strict=False))
    return total / inst.unit


@needs_instances
@pytest.mark.parametrize("stem, folder", [("X-n101-k25", "cvrp/X"), ("C101", "vrptw/solomon"),
                                          ("R101", "vrptw/solomon")])
def test_published_solutions_match_best_known_under_our_conventions(stem: str, folder: str) -> None:
    """The published optimal routes, costed under our matrix conventions (rounded distances for X,
    one-decimal truncation for Solomon) by code independent of any solver, must give the published
    best-known value: otherwise our gaps would be measured against the wrong number."""
    base = INSTANCES / folder
    inst_file = base / (stem + (".vrp" if folder.startswith("cvrp") else ".txt"))
    bks = find_bks(inst_file)[stem][0]
    assert _route_cost(inst_file, base / f"{stem}.sol") == pytest.approx(bks, abs=0.051)


@needs_instances
def test_quick_tier_solves_small_instances_to_checked_solutions(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A-n32-k5 and C101 solved for 2 s: checked, gap >= 0 (below the proven optimum is a bug) and <
    5 %; the written .sol re-costed independently equals the reported cost; the comparison passes
    against itself and flags a baseline 10 points better as a regression (exit 1)."""
    out = tmp_path / "r.json"
    args = _args(str(INSTANCES / "cvrp/A/A-n32-k5.vrp"), str(INSTANCES / "vrptw/solomon/C101.txt"),
                 "--time-limit", "2", "--json", str(out), "--sol-dir", str(tmp_path))
    assert bench.main(args) == 0
    doc = json.loads(out.read_text())
    rows = {r["instance"]: r for r in doc["rows"]}
    assert set(rows) == {"A-n32-k5", "C101"}
    for r in rows.values():
        assert r["feasible"] and r["violations"] == []
        # Never better than the proven optimum / best known: a negative gap is a bug.
        assert r["gap_pct"] >= -1e-9
        assert r["gap_pct"] < 5.0
    assert "DIMACS" in " ".join(doc["settings"]["conventions"])
    # The written .sol has the reported cost under the instance's own matrix.
    cost = _route_cost(INSTANCES / "cvrp/A/A-n32-k5.vrp", tmp_path / "A-n32-k5.sol")
    assert cost == pytest.approx(rows["A-n32-k5"]["cost"])
    # Comparison with itself passes; with a much better baseline it fails.
    assert bench.main(_args(str(INSTANCES / "cvrp/A/A-n32-k5.vrp"), "--time-limit", "1",
                            "--baseline", str(out), "--noise", "5")) == 0
    better = dict(doc, rows=[dict(r, gap_pct=r["gap_pct"] - 10.0) for r in doc["rows"]])
    (tmp_path / "b.json").write_text(json.dumps(better))
    assert bench.main(_args(str(INSTANCES / "cvrp/A/A-n32-k5.vrp"), "--time-limit", "1",
                            "--baseline", str(tmp_path / "b.json"), "--noise", "0.5")) == 1
    assert "REGRESSION" in capsys.readouterr().out


def test_bad_input_gives_one_line_error_and_status_2(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file, a malformed DIMENSION and a zero time limit each give exit 2 and a one-line
    message naming the file or option, never a traceback."""
    assert bench.main(_args(str(tmp_path / "missing.vrp"))) == 2
    err = capsys.readouterr().err
    assert "missing.vrp: no such file or folder" in err and "Traceback" not in err
    bad = tmp_path / "bad.vrp"
    bad.write_text("NAME : bad\nTYPE : CVRP\nDIMENSION : x\n")
    assert bench.main(_args(str(bad))) == 2
    assert "bad.vrp" in capsys.readouterr().err
    assert bench.main(_args(str(bad), "--time-limit", "0")) == 2
    assert "--time-limit must be positive" in capsys.readouterr().err


def test_sol_text_lists_routes_and_cost() -> None:
    """Two stops and a depot form one triangle: 3 + 5 + 4 = 12 in either direction, so the .sol text
    has one route of stops 1 and 2 and 'Cost 12'."""
    import numpy as np

    from optimize.routing import Problem, Stop, VehicleType

    d = np.array([[0, 3, 4], [3, 0, 5], [4, 5, 0]])
    p = Problem(d, d, [Stop(1, (1,)), Stop(2, (1,))], [VehicleType((5,), cost_per_km=1000.0)])
    text = solution_to_sol(p, solve(p, time_limit=0.2))
    assert text.splitlines()[-1] == "Cost 12"
    assert text.splitlines()[0] in ("Route #1: 1 2", "Route #1: 2 1")
