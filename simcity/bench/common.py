"""Shared benchmark plumbing: JSON result files and the baseline gate.

A benchmark result file is JSON of the form::

    {"benchmark": "routing", "created": "...", "settings": {...},
     "rows": [{"instance": "A-n32-k5", "gap_pct": 0.0, ...}, ...],
     "summary": {...}}

``compare_to_baseline`` matches rows by ``instance`` and compares one metric *paired*,
instance by instance, so that a baseline measured on other instances or another machine
does not leak into the verdict.  Two kinds of metric exist:

* ``"difference"`` metrics such as a gap in percent: the mean paired difference
  (current - baseline) must not exceed ``noise`` (in the metric's own unit);
* ``"ratio"`` metrics such as throughput relative to a bare loop measured in the same run:
  the geometric mean of current/baseline must not fall below ``1 - noise``.

Both directions are configurable with ``higher_is_better``.

Files.  Installed from a wheel, simcity has no ``scenarios/`` or ``benchmarks/`` folder beside
it: every benchmark takes its scenario, instances, result and baseline files as arguments, and
only defaults to the repository's files when it runs from a source checkout
(:data:`CHECKOUT`).  Outside a checkout, results go to ``simcity-bench/`` in the working
folder and the baseline gate is skipped unless ``--baseline`` names a file.

Counting events.  Speed is SimPy events per second as a ratio to a bare loop timed in the same
process.  Models make their environment through :attr:`simcity.domain.RunContext.environment`,
so a benchmark passes :meth:`EventCounter.environment`, which makes a
:class:`CountingEnvironment` (a subclass whose ``step`` counts) - SimPy itself is never patched.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import simpy

from simcity.fileio import atomic_write_json


def find_checkout() -> Path | None:
    """The source checkout this package runs from (a clone, installed editable or on the path),
    or ``None`` when it is installed from a wheel: the folder two levels above this package
    that holds ``pyproject.toml``, ``scenarios/`` and ``benchmarks/``."""
    root = Path(__file__).resolve().parents[2]
    markers = (root / "pyproject.toml", root / "scenarios", root / "benchmarks")
    return root if all(m.exists() for m in markers) else None


#: the repository this package runs from, or ``None`` (installed from a wheel)
CHECKOUT: Path | None = find_checkout()
#: committed baselines (``None`` outside a checkout: gates are then skipped unless asked for)
BASELINE_DIR: Path | None = CHECKOUT / "benchmarks" / "baselines" if CHECKOUT else None
#: where result files go by default (relative to the working folder outside a checkout)
RESULTS_DIR: Path = CHECKOUT / "benchmarks" / "results" if CHECKOUT else Path("simcity-bench")


def baseline_file(name: str) -> Path | None:
    """The committed baseline ``NAME.json`` of a benchmark, or ``None`` outside a checkout."""
    return BASELINE_DIR / f"{name}.json" if BASELINE_DIR else None


def result_file(name: str) -> Path:
    """The default result file of a benchmark."""
    return RESULTS_DIR / f"{name}.json"


def shipped_scenario(name: str) -> Path | None:
    """``scenarios/NAME`` of the checkout, or ``None`` outside one."""
    return CHECKOUT / "scenarios" / name if CHECKOUT else None


def require(path: Path | None, what: str, option: str) -> Path:
    """``path``, or a :class:`BenchError` saying that ``what`` must be given with ``option``
    (the default exists only in a source checkout)."""
    if path is None:
        raise BenchError(f"{what}: no default outside a source checkout of simcity; give it with {option}")
    return path


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes (calls of :meth:`step`).

    A ``run()`` without ``until`` makes one last call that finds the schedule empty; it is
    counted too, in the model and in the bare loop alike."""

    def __init__(self, counter: EventCounter, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self._counter = counter

    def step(self) -> None:
        self._counter.events += 1
        super().step()


class EventCounter:
    """Events processed by every :class:`CountingEnvironment` it made, summed."""

    def __init__(self) -> None:
        self.events = 0

    def environment(self) -> simpy.Environment:
        """A new counting environment (pass as ``RunContext(environment=...)``)."""
        return CountingEnvironment(self)


def bare_loop(events: int, processes: int = 1000,
              environment: Callable[[], simpy.Environment] = simpy.Environment) -> int:
    """A bare SimPy loop of about ``events`` events: ``processes`` processes each yielding
    plain timeouts, in an environment made by ``environment``.  Returns the number of events
    processed (counted analytically: one start, the timeouts and one end per process)."""
    env = environment()
    per = max(1, events // processes - 2)
    delays = [0.5 + (k % 7) * 0.25 for k in range(per)]  # varied, precomputed: no RNG in the loop

    def proc() -> Any:
        for d in delays:
            yield env.timeout(d)

    for _ in range(processes):
        env.process(proc())
    env.run()
    return processes * (per + 2)


class BenchError(Exception):
    """A benchmark input or baseline problem, reported to the user without a traceback."""


def write_results(
    path: str | Path,
    benchmark: str,
    rows: Sequence[dict[str, Any]],
    settings: dict[str, Any],
    summary: dict[str, Any] | None = None,
) -> Path:
    """Write a benchmark result file atomically and return its path."""
    doc = {
        "benchmark": benchmark,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "settings": settings,
        "rows": list(rows),
        "summary": summary or {},
    }
    return atomic_write_json(path, doc)


def load_results(path: str | Path) -> dict[str, Any]:
    """Read a benchmark result or baseline file, with a clear error when it is unusable."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BenchError(f"{p}: baseline file not found") from exc
    except json.JSONDecodeError as exc:
        raise BenchError(f"{p}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise BenchError(f"{p}: expected a JSON object with a 'rows' list (a simcity bench result)")
    return doc


@dataclass(frozen=True)
class Comparison:
    """Outcome of a paired comparison against a baseline."""

    metric: str
    kind: Literal["difference", "ratio"]
    matched: int
    statistic: float
    noise: float
    ok: bool
    message: str


def compare_to_baseline(
    current: Sequence[dict[str, Any]],
    baseline: Sequence[dict[str, Any]],
    metric: str,
    *,
    kind: Literal["difference", "ratio"] = "difference",
    noise: float,
    higher_is_better: bool = False,
) -> Comparison:
    """Compare ``metric`` paired by instance; see the module docstring for the rule."""
    def value(row: dict[str, Any] | None) -> float | None:
        v = None if row is None else row.get(metric)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            return float(v)
        return None

    base = {r["instance"]: value(r) for r in baseline}
    pairs: list[tuple[float, float]] = []
    for r in current:
        c, b = value(r), base.get(r["instance"])
        if c is not None and b is not None:
            pairs.append((c, b))
    if not pairs:
        return Comparison(metric, kind, 0, math.nan, noise, False,
                          f"no instance in common with the baseline has a value for '{metric}'")
    sign = -1.0 if higher_is_better else 1.0
    if kind == "difference":
        stat = sum(c - b for c, b in pairs) / len(pairs)
        worse_by = sign * stat
        ok = worse_by <= noise
        msg = (f"{metric}: mean paired change {stat:+.3f} over {len(pairs)} instances "
               f"(noise band {noise:.3f}) -> {'OK' if ok else 'REGRESSION'}")
    else:
        logs = [math.log(max(c, 1e-300) / max(b, 1e-300)) for c, b in pairs]
        stat = math.exp(sum(logs) / len(logs))
        ok = stat >= 1.0 - noise if higher_is_better else stat <= 1.0 + noise
        msg = (f"{metric}: geometric-mean ratio to baseline {stat:.3f} over {len(pairs)} "
               f"instances (noise band {noise:.0%}) -> {'OK' if ok else 'REGRESSION'}")
    return Comparison(metric, kind, len(pairs), stat, noise, ok, msg)


def finish(
    benchmark: str,
    rows: Sequence[dict[str, Any]],
    settings: dict[str, Any],
    *,
    out: str | Path,
    baseline: str | Path | None,
    save_baseline: bool = False,
    metric: str,
    kind: Literal["difference", "ratio"],
    noise: float,
    higher_is_better: bool,
    summary: dict[str, Any] | None = None,
) -> int:
    """The common ending of a benchmark command; returns its exit status.

    Writes the result file; with ``save_baseline`` also writes it as the new baseline;
    otherwise compares with ``baseline`` when that file exists (0 = no regression,
    1 = regression, 2 = unusable baseline).
    """
    if save_baseline and baseline is None:
        print("error: --save-baseline needs --baseline FILE (no committed baselines outside a source "
              "checkout)", file=sys.stderr)
        return 2
    path = write_results(out, benchmark, rows, settings, summary=summary)
    print(f"results written to {path}")
    if baseline is None:
        print("no baseline (not a source checkout); gate skipped")
        return 0
    if save_baseline:
        write_results(baseline, benchmark, rows, settings, summary=summary)
        print(f"baseline written to {baseline}")
        return 0
    if not Path(baseline).exists():
        print(f"no baseline at {baseline}; gate skipped")
        return 0
    try:
        doc = load_results(baseline)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cmp = compare_to_baseline(rows, doc["rows"], metric, kind=kind, noise=noise,
                              higher_is_better=higher_is_better)
    print(cmp.message)
    return 0 if cmp.ok else 1


def collect_instances(paths: Sequence[str | Path], suffixes: Sequence[str], what: str) -> list[Path]:
    """Instance files named by ``paths``: files as given, folders expanded to their files with
    one of ``suffixes`` (sorted).  A missing path or an empty folder is a :class:`BenchError`
    naming it; ``what`` describes the expected files for that message."""
    wanted = {s.lower() for s in suffixes}
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in wanted)
            if not found:
                raise BenchError(f"{p}: folder holds no {what}")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise BenchError(f"{p}: no such file or folder")
    return out


def add_speed_gate_arguments(parser: Any, name: str, noise: float = 0.3) -> None:
    """The ``--out --baseline --noise --save-baseline`` options of speed benchmark ``name``
    (``parser`` is an :class:`argparse.ArgumentParser`); see :func:`finish`.  Defaults:
    :func:`result_file` and :func:`baseline_file` of ``name``."""
    default_out, default_baseline = result_file(name), baseline_file(name)
    parser.add_argument("--out", type=Path, default=default_out, help=f"result JSON (default {default_out})")
    parser.add_argument("--baseline", type=Path, default=default_baseline,
                        help=f"baseline JSON for the speed-ratio gate (default {default_baseline}; "
                             "skipped when the file is absent)")
    parser.add_argument("--noise", type=float, default=noise,
                        help=f"tolerated relative drop of the speed ratio against the baseline (default {noise})")
    parser.add_argument("--save-baseline", action="store_true", help="also write the result as the baseline")


def median_ratio_row(instance: str, runs: Sequence[dict[str, float]]) -> dict[str, Any]:
    """One result row from repeated timings: the repetition with the median ``ratio`` (a whole
    repetition, so its figures stay consistent), plus every ratio seen."""
    mid = sorted(runs, key=lambda r: r["ratio"])[len(runs) // 2]
    row: dict[str, Any] = {"instance": instance, **{k: round(v, 4) for k, v in mid.items()}}
    row["ratios"] = [round(r["ratio"], 4) for r in runs]
    return row
