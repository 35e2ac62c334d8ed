"""The CI benchmark gate: every benchmark's quick tier in one run, one JSON, one verdict.

``simcity bench ci`` runs a short, fixed configuration (*tier*) of each registered benchmark -
solver quality (routing and berth gaps on a few small instances with fixed seeds and time
budgets) and simulation speed (each model's events per second *as a ratio to a bare SimPy
loop timed in the same run*, so a slow or busy machine does not read as a regression) - and
writes all rows to one result file.  It then compares every benchmark with the committed
baseline ``benchmarks/baselines/ci.json``, paired instance by instance
(:func:`simcity.bench.common.compare_to_baseline`): gaps may not worsen by more than a noise
band in percentage points, speed ratios may not fall by more than a relative noise band.
Exit status 1 on any regression, 0 otherwise; a benchmark whose module or instances are
absent is skipped with a message (and so is its gate).

Refresh the baseline after an intended change with ``simcity bench ci --save-baseline`` and
commit ``benchmarks/baselines/ci.json``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from simcity.bench import BENCHMARKS
from simcity.bench.common import (
    CHECKOUT,
    BenchError,
    baseline_file,
    compare_to_baseline,
    load_results,
    result_file,
    write_results,
)

DEFAULT_BASELINE = baseline_file("ci")
DEFAULT_OUT = result_file("ci")
#: the benchmark instances beside a checkout (``../shared/instances``, present in CI), if any
DEFAULT_INSTANCES = (CHECKOUT.parent / "shared" / "instances"
                     if CHECKOUT and (CHECKOUT.parent / "shared" / "instances").is_dir() else None)
EXIT_BAD_OPTIONS = 64


@dataclass(frozen=True)
class Tier:
    """The quick configuration of one benchmark and how its gate reads the result.

    ``argv`` is passed to the benchmark's own argument parser after substituting
    ``{instances}`` (the instance folder), ``{json}`` (where it must write its result file)
    and ``{none}`` (a path that does not exist, to switch off the benchmark's own gate).
    """

    argv: tuple[str, ...]
    metric: str
    kind: Literal["difference", "ratio"]
    noise: float
    higher_is_better: bool
    needs_instances: bool = False
    timeout_s: float = 600.0


#: benchmark name (as in ``simcity.bench.BENCHMARKS``) -> quick tier
TIERS: dict[str, Tier] = {
    "routing": Tier(
        ("{instances}/cvrp/A/A-n32-k5.vrp", "{instances}/cvrp/A/A-n39-k5.vrp",
         "{instances}/vrptw/solomon/C101.txt", "--time-limit", "2", "--seed", "1", "--json", "{json}"),
        metric="gap_pct", kind="difference", noise=1.0, higher_is_better=False, needs_instances=True),
    "berths": Tier(
        ("{instances}/bap/cordeau60x13/scenario01.txt", "--weights", "unit", "--forbidden", "200",
         "--time-limit", "5", "--seed", "0", "--json", "{json}"),
        metric="gap_pct", kind="difference", noise=2.0, higher_is_better=False, needs_instances=True),
    "parking": Tier(
        ("--parks", "300", "--sessions", "20000", "--repeats", "3", "--no-liangxi",
         "--out", "{json}", "--baseline", "{none}"),
        metric="ratio", kind="ratio", noise=0.35, higher_is_better=True),
    # Garbage's ratio is dominated by work outside SimPy events (building routing problems), and
    # varied 0.044-0.067 between identical runs on one machine: two replications and a wide band,
    # so the gate catches a real slow-down (> 2.5x) without failing on noise.
    "garbage": Tier(
        ("--policies", "1", "--days", "1", "--effort", "50", "--jobs", "1", "--replications", "2",
         "--out", "{json}", "--baseline", "{none}"),
        metric="ratio", kind="ratio", noise=0.6, higher_is_better=True),
    "bikes": Tier(
        ("--policies", "before", "--horizon", "24", "--repeats", "5", "--out", "{json}", "--baseline", "{none}"),
        metric="ratio", kind="ratio", noise=0.35, higher_is_better=True),
    "city": Tier(
        ("--quick", "--repeats", "3", "--out", "{json}", "--baseline", "{none}"),
        metric="ratio", kind="ratio", noise=0.35, higher_is_better=True),
}


@dataclass
class TierRun:
    """What running one tier gave."""

    name: str
    status: Literal["ok", "skipped", "failed"]
    rows: list[dict[str, Any]]
    seconds: float
    note: str = ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``simcity bench ci``."""
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(TIERS),
                        help="run only these benchmarks' quick tiers")
    parser.add_argument("--instances", type=Path, default=DEFAULT_INSTANCES,
                        help=f"benchmark instance folder (default {DEFAULT_INSTANCES})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"result JSON (default {DEFAULT_OUT})")
    parser.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE,
                        help=f"committed baseline (default {DEFAULT_BASELINE}; none outside a checkout)")
    parser.add_argument("--save-baseline", action="store_true",
                        help="write this run as the new baseline instead of gating")


def _module_of(name: str) -> str | None:
    entry = BENCHMARKS.get(name)
    if entry is not None:
        return entry[0]
    # not (yet) registered in the CLI: the conventional module, if it exists
    return f"simcity.bench.{name}" if name != "city" else "simcity.bench.citybench"


def run_tier(name: str, tier: Tier, instances: Path | None, workdir: Path) -> TierRun:
    """Run one benchmark's quick tier in a child process (so a hung solver can be stopped after
    ``tier.timeout_s`` and benchmarks cannot disturb each other) and read back its result rows."""
    module = _module_of(name)
    if module is None:
        return TierRun(name, "skipped", [], 0.0, "not registered")
    if importlib.util.find_spec(module) is None:
        return TierRun(name, "skipped", [], 0.0, f"module {module} not found (not built yet)")
    if tier.needs_instances and instances is None:
        return TierRun(name, "skipped", [], 0.0, "no instance folder: give one with --instances DIR")
    if tier.needs_instances and instances is not None and not instances.is_dir():
        return TierRun(name, "skipped", [], 0.0, f"instance folder {instances} not found")
    out = workdir / f"{name}.json"
    subst = {"instances": str(instances or ""), "json": str(out), "none": str(workdir / "no-baseline.json")}
    argv = [a.format(**subst) for a in tier.argv]
    t0 = time.perf_counter()
    try:
        # the child sees the modules this process sees (as a spawned worker would)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        proc = subprocess.run([sys.executable, "-m", "simcity.bench.ci", module, *argv], cwd=CHECKOUT, env=env,
                              capture_output=True, text=True, timeout=tier.timeout_s)
    except subprocess.TimeoutExpired:
        return TierRun(name, "failed", [], time.perf_counter() - t0, f"timed out after {tier.timeout_s:g} s")
    seconds = time.perf_counter() - t0
    tail = (proc.stdout + proc.stderr).strip()[-400:]
    if proc.returncode == EXIT_BAD_OPTIONS:
        return TierRun(name, "failed", [], seconds, f"options {argv} rejected: {tail}")
    if not out.exists():
        return TierRun(name, "failed", [], seconds, f"exit {proc.returncode}, no result file: {tail}")
    try:
        rows = load_results(out)["rows"]
    except BenchError as exc:
        return TierRun(name, "failed", [], seconds, str(exc))
    tagged = [{**r, "benchmark": name, "instance": f"{name}/{r.get('instance', '?')}"} for r in rows]
    return TierRun(name, "ok", tagged, seconds, f"exit {proc.returncode}")


def _child(argv: Sequence[str]) -> int:
    """In the child process: run benchmark module ``argv[0]`` with the options ``argv[1:]``."""
    if not argv:
        print("usage: python -m simcity.bench.ci MODULE [OPTIONS...] (use 'simcity bench ci')", file=sys.stderr)
        return 2
    mod = importlib.import_module(argv[0])
    parser = argparse.ArgumentParser(prog=f"simcity bench ({argv[0]})", exit_on_error=False)
    mod.add_arguments(parser)
    try:
        args = parser.parse_args(list(argv[1:]))
    except (argparse.ArgumentError, SystemExit) as exc:
        print(f"bad options: {exc}", file=sys.stderr)
        return EXIT_BAD_OPTIONS
    return int(mod.main(args) or 0)


def gate(runs: Sequence[TierRun], baseline_rows: Sequence[dict[str, Any]]) -> tuple[bool, list[str]]:
    """Compare every benchmark that ran with its baseline rows; (all ok, messages)."""
    ok = True
    lines = []
    for run in runs:
        if run.status != "ok":
            if run.status == "failed":
                ok = False
            lines.append(f"{run.name}: {run.status.upper()} - {run.note}")
            continue
        tier = TIERS[run.name]
        base = [r for r in baseline_rows if r.get("benchmark") == run.name]
        if not base:
            lines.append(f"{run.name}: no baseline rows yet - not gated (refresh with --save-baseline)")
            continue
        cmp = compare_to_baseline(run.rows, base, tier.metric, kind=tier.kind, noise=tier.noise,
                                  higher_is_better=tier.higher_is_better)
        ok = ok and cmp.ok
        lines.append(f"{run.name}: {cmp.message}")
    return ok, lines


def main(args: argparse.Namespace) -> int:
    """Run the quick tiers, write the JSON, apply the gate."""
    names = args.only or list(TIERS)
    runs = []
    with tempfile.TemporaryDirectory(prefix="simcity-ci-") as tmp:
        for name in names:
            print(f"== {name} (quick tier)", flush=True)
            run = run_tier(name, TIERS[name], args.instances, Path(tmp))
            print(f"   {run.status} in {run.seconds:.1f} s, {len(run.rows)} rows"
                  + (f" ({run.note})" if run.note else ""), flush=True)
            runs.append(run)
    rows = [r for run in runs for r in run.rows]
    settings = {"tiers": {n: list(TIERS[n].argv) for n in names},
                "status": {r.name: r.status for r in runs}}
    path = write_results(args.out, "ci", rows, settings,
                         summary={r.name: {"status": r.status, "seconds": round(r.seconds, 2)} for r in runs})
    print(f"results written to {path}")
    if args.baseline is None:
        print("no baseline (not a source checkout): gate skipped; give one with --baseline FILE")
        return 0
    if args.save_baseline:
        if any(r.status == "failed" for r in runs):
            print("error: a tier failed; the baseline is not written", file=sys.stderr)
            return 1
        write_results(args.baseline, "ci", rows, settings)
        print(f"baseline written to {args.baseline}")
        return 0
    try:
        baseline = load_results(args.baseline)
    except BenchError as exc:
        print(f"error: {exc} (create it with --save-baseline)", file=sys.stderr)
        return 2
    ok, lines = gate(runs, baseline["rows"])
    print("\n".join(lines))
    print("CI benchmark gate: " + ("OK" if ok else "REGRESSION"))
    return 0 if ok else 1


if __name__ == "__main__":  # the child process of run_tier
    sys.exit(_child(sys.argv[1:]))
