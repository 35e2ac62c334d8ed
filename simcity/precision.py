"""Replications to a precision: add replications until every chosen confidence interval is
narrow enough (the sequential rule of Hoad, Robinson & Davies 2010).

The quantity each metric is judged on is the one a comparison reports: for every policy other
than the baseline, the *paired* difference to the baseline over replications (common random
numbers make it narrow); with a single policy, its mean.  After ``n`` replications its relative
precision is

    d_n = t_{n-1, 1-a/2} * s_n / sqrt(n) / |mean_n|

(``relative_to="baseline"`` divides by the baseline's mean instead: a difference known to within
5% of the baseline level, which stays finite when a policy changes nothing).

The rule (Hoad, Robinson & Davies 2010, "Automated selection of the number of replications for a
discrete-event simulation", JORS 61, the replication algorithm with look-ahead): start with
``initial`` replications (3 in the paper); once the worst ``d_n`` over every (policy, metric) is
within the target, call ``n`` the solution ``N_sol`` and keep adding replications for a look-ahead
of ``f(n) = k`` (``n <= 100``) or ``floor(n k / 100)`` more; if the precision stays within the
target all the way, stop with ``N_sol``, otherwise forget ``N_sol`` and go on.  The budget
``max_replications`` stops it in any case.

Replications are launched in batches (to keep every worker busy), but the rule is evaluated
replication by replication, so where it stops does not depend on the batch size or the backend.
The results are those of exactly the replications the rule used (``N_sol`` plus the look-ahead):
a fixed-count ``compare`` with that many replications gives identical tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from simcity.backends import Backend, make_backend
from simcity.experiment import Results, collect, run_persisted
from simcity.scenario import ScenarioBase
from simcity.stats import mean_ci
from simcity.tasks import Task, TaskResult

__all__ = ["PrecisionError", "PrecisionRun", "SequentialRule", "compare_to_precision", "look_ahead_length",
           "relative_precision"]

RelativeTo = Literal["difference", "baseline"]


class PrecisionError(Exception):
    """Settings of a precision run that cannot work (unknown metric, bad bounds)."""


def look_ahead_length(n: int, k: int) -> int:
    """Hoad et al.'s look-ahead f(k, n): ``k`` replications up to n = 100, ``k`` per cent of n beyond."""
    return k if n <= 100 else (n * k) // 100


@dataclass
class SequentialRule:
    """The replication algorithm with look-ahead; feed it ``d_n`` for n = initial, initial+1, ...

    Attributes set as it runs: ``needed`` (N_sol while it holds), ``done``, ``stop_at`` (the
    replications to use), ``reason``.
    """

    precision: float
    initial: int = 3
    look_ahead: int = 5
    max_replications: int = 1000
    needed: int | None = None
    target: int | None = None
    done: bool = False
    reached: bool = False
    stop_at: int = 0
    reason: str = ""
    last_n: int = 0

    def feed(self, n: int, d_n: float) -> None:
        """Take ``d_n``, the worst relative precision after ``n`` replications."""
        if self.done:
            raise RuntimeError("the rule has already stopped")
        if n != (self.last_n + 1 if self.last_n else self.initial):
            raise ValueError(f"expected n = {self.last_n + 1 if self.last_n else self.initial}, got {n}")
        self.last_n = n
        if d_n <= self.precision:
            if self.needed is None:
                self.needed = n
                self.target = n + look_ahead_length(n, self.look_ahead)
        else:
            self.needed = self.target = None
        if self.target is not None and self.needed is not None and n >= self.target:
            self.done, self.reached, self.stop_at = True, True, n
            self.reason = (f"precision {self.precision:g} reached at {self.needed} replications and kept "
                           f"for the look-ahead of {n - self.needed} more")
        elif n >= self.max_replications:
            self.done, self.stop_at = True, n
            if self.needed is not None:
                self.reason = (f"budget of {self.max_replications} replications reached during the look-ahead "
                               f"(precision first reached at {self.needed})")
            else:
                self.reason = f"budget of {self.max_replications} replications reached before the precision"


def relative_precision(values: np.ndarray, baseline: np.ndarray | None, level: float,
                       relative_to: RelativeTo = "difference") -> tuple[float, float, float]:
    """(mean, half-width, relative half-width) of ``values`` paired against ``baseline``
    (replications where either is nan dropped); with no baseline, of ``values`` themselves.
    Relative precision is ``inf`` when undefined (fewer than 2 replications, a zero mean)."""
    x = np.asarray(values, dtype=float)
    if baseline is not None:
        b = np.asarray(baseline, dtype=float)
        ok = ~(np.isnan(x) | np.isnan(b))
        ci = mean_ci(x[ok] - b[ok], level)
        scale = abs(float(np.mean(b[ok]))) if relative_to == "baseline" and ok.any() else abs(ci.mean)
    else:
        ci = mean_ci(x, level)
        scale = abs(ci.mean)
    h = ci.half_width
    if math.isnan(h) or scale == 0 or math.isnan(scale):
        return ci.mean, h, math.inf
    return ci.mean, h, h / scale


@dataclass
class PrecisionRun:
    """A comparison run to a precision.

    Attributes
    ----------
    results:
        The comparison of exactly the ``used`` replications (as ``compare`` with that many).
    needed:
        N_sol, the replications at which the precision was reached and then held (``None`` if
        never within the budget).
    used:
        Replications per policy in :attr:`results` (N_sol plus the look-ahead, or the budget).
    reached, reason:
        Whether the rule stopped on the precision, and why it stopped, in words.
    trace:
        Per n and (policy, metric): ``n, policy, metric, mean, half_width, relative``.
    run:
        Replications simulated per policy (a last batch may go beyond ``used``).
    """

    results: Results
    precision: float
    metrics: list[str]
    relative_to: RelativeTo
    needed: int | None
    used: int
    reached: bool
    reason: str
    run: int
    trace: pd.DataFrame = field(repr=False)

    def final(self) -> pd.DataFrame:
        """The trace at ``used`` replications: each judged (policy, metric) and its precision."""
        return self.trace[self.trace["n"] == self.used].reset_index(drop=True)

    def statement(self) -> str:
        """What the rule did, in one paragraph."""
        fin = self.final()
        worst = fin.iloc[int(np.argmax(fin["relative"].to_numpy()))] if not fin.empty else None
        what = ("paired difference to the baseline" if len(self.results.scenario.policy_names) > 1
                else "mean")
        rel = "the baseline's mean" if self.relative_to == "baseline" else "its own size"
        head = (f"Replications to a precision: {self.used} per policy "
                f"({'needed ' + str(self.needed) if self.needed else 'precision not reached'}); "
                f"stopped: {self.reason}. Target: every {what} of {', '.join(self.metrics)} with a "
                f"{int(round(self.results.scenario.confidence * 100))}% half-width within "
                f"{self.precision:g} of {rel} (Hoad, Robinson & Davies 2010).")
        if worst is not None:
            who = f"{worst['metric']}" + (f", {worst['policy']}" if what != "mean" else "")
            head += f" Widest at {self.used}: {who}, relative half-width {worst['relative']:.3g}."
        return head

    def to_json(self) -> dict[str, Any]:
        """Settings and outcome, for ``precision.json``."""
        fin = self.final()
        return {
            "precision": self.precision, "metrics": self.metrics, "relative_to": self.relative_to,
            "needed": self.needed, "used": self.used, "simulated": self.run, "reached": self.reached,
            "reason": self.reason, "statement": self.statement(),
            "final": [{"policy": str(r.policy), "metric": r.metric, "mean": _num(r.mean),
                       "half_width": _num(r.half_width), "relative": _num(r.relative)}
                      for r in fin.itertuples()],
        }


def _num(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def compare_to_precision(
    scenario: ScenarioBase,
    precision: float,
    *,
    metrics: Sequence[str] | None = None,
    max_replications: int = 1000,
    initial: int = 3,
    look_ahead: int = 5,
    relative_to: RelativeTo = "difference",
    jobs: int = 1,
    backend: Backend | None = None,
    batch: int | None = None,
    work_root: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
) -> PrecisionRun:
    """Run ``scenario``'s policies until the precision holds (see the module docstring).

    ``metrics`` default to the scenario's reported metrics; ``batch`` is how many replications
    per policy are launched at once after the first ``initial`` (default: enough to keep every
    worker busy; it never changes the outcome).  Persistence as for :func:`simcity.experiment.compare`.
    """
    names = scenario.policy_names
    mets = list(metrics) if metrics else list(scenario.reported_metrics)
    bad = [m for m in mets if m not in scenario.reported_metrics]
    if bad:
        raise PrecisionError(f"--metric: unknown metrics {bad}; the scenario reports {scenario.reported_metrics}")
    if not precision > 0:
        raise PrecisionError(f"--precision: must be positive, found {precision}")
    if initial < 2:
        raise PrecisionError(f"initial replications must be at least 2 (an interval needs 2), found {initial}")
    if max_replications < initial:
        raise PrecisionError(f"--max-replications ({max_replications}) is below the initial {initial} replications")
    rule = SequentialRule(precision, initial, look_ahead, max_replications)
    level = scenario.confidence
    P = len(names)
    vals = {m: np.full((P, max_replications), np.nan) for m in mets}
    kept: list[TaskResult] = []
    trace: list[tuple[Any, ...]] = []
    own = backend is None
    be = make_backend(jobs) if backend is None else backend
    step = batch or max(2 * be.workers, 4)
    launched = 0
    try:
        while not rule.done:
            upto = initial if launched == 0 else min(max_replications, launched + step)
            tasks = [Task(p, r) for r in range(launched, upto) for p in range(P)]
            [res] = run_persisted([scenario], [tasks], work_root=work_root, resume=resume, backend=be,
                                  progress=progress, desc=f"{scenario.name} to precision {precision:g}")
            for tr in res:
                for m in mets:
                    vals[m][tr.task.policy_index, tr.task.replication] = tr.output.metrics[m]
            kept.extend(res)
            launched = upto
            for n in range(rule.last_n + 1 if rule.last_n else initial, launched + 1):
                worst = 0.0
                for m in mets:
                    for p in range(1 if P > 1 else 0, P):
                        base = vals[m][0, :n] if P > 1 else None
                        mean, h, rel = relative_precision(vals[m][p, :n], base, level, relative_to)
                        trace.append((n, names[p], m, mean, h, rel))
                        worst = max(worst, rel)
                rule.feed(n, worst)
                if rule.done:
                    break
    finally:
        if own:
            be.close()
    used = rule.stop_at
    final = scenario.with_overrides({"replications": used})
    chosen = sorted((r for r in kept if r.task.replication < used),
                    key=lambda r: (r.task.policy_index, r.task.replication))
    tr_df = pd.DataFrame(trace, columns=["n", "policy", "metric", "mean", "half_width", "relative"])
    return PrecisionRun(results=collect(final, chosen), precision=precision, metrics=mets,
                        relative_to=relative_to, needed=rule.needed if rule.reached else None, used=used,
                        reached=rule.reached, reason=rule.reason, run=launched, trace=tr_df)
