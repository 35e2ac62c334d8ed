"""Selecting the best policy: the Kim–Nelson fully sequential procedure with common random numbers.

Given policies and a metric to minimise or maximise, :func:`select` runs replications until it
can name the best policy with a stated confidence:

    If the best policy's mean is at least ``delta`` better than every other policy's mean,
    the procedure selects it with probability at least ``1 - alpha``.

``delta`` is the *indifference zone*: the smallest difference worth caring about, in the
metric's unit.  Policies closer than ``delta`` to the best are "as good as the best" for the
planner; the procedure then names one of them and the report lists every policy whose
estimated mean is within ``delta`` of the selected one.

The procedure (Kim & Nelson 2001, *ACM TOMACS* 11(3), procedure KN with c = 1):

1. run ``n0`` replications of every policy; with CRN, the variance ``S²_il`` of the paired
   differences between policies i and l is estimated from them;
2. ``h² = (n0 - 1) * ((2 alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1)``;
3. after ``r`` replications, eliminate policy i if some surviving l has
   ``mean_i(r) < mean_l(r) - W_il(r)`` (maximising), where
   ``W_il(r) = max(0, delta / (2 r) * (h² S²_il / delta² - r))``;
4. if one policy survives, select it; otherwise add one replication to each survivor, go to 3.

Common random numbers make ``S²_il`` small, so policies are told apart with few replications.
For speed, replications are launched in batches (on any backend); the decision is still taken
replication by replication exactly as above, so it does not depend on the batch size or the
backend.  When ``max_replications`` is reached first, the survivors are reported as the set
that could not be separated within that budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from simcity.backends import Backend, make_backend
from simcity.experiment import Task, run_persisted
from simcity.scenario import ScenarioBase, validation_problems
from simcity.specs import SelectionSpec
from simcity.stats import mean_ci, paired_diff_ci


class SelectionError(Exception):
    """A selection that cannot be run as asked (unknown metric or policy, no direction...)."""


def kn_h2(k: int, n0: int, alpha: float) -> float:
    """The KN constant ``h²`` for ``k`` systems, first stage ``n0`` and error ``alpha``."""
    if k < 2:
        return 0.0
    eta = 0.5 * ((2 * alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1)
    return 2 * eta * (n0 - 1)


class KimNelson:
    """The KN elimination state for ``k`` systems (values oriented so that larger is better).

    Feed observations with :meth:`add`, then call :meth:`screen` for r = n0, n0+1, ...; each
    call uses the first r observations of every survivor.
    """

    def __init__(self, k: int, delta: float, alpha: float, n0: int) -> None:
        self.k, self.delta, self.alpha, self.n0 = k, delta, alpha, n0
        self.h2 = kn_h2(k, n0, alpha)
        self.obs: list[list[float]] = [[] for _ in range(k)]
        self.survivors: list[int] = list(range(k))
        self.eliminated_at: dict[int, int] = {}
        self.r = 0
        self._s2: np.ndarray | None = None

    def add(self, system: int, value: float) -> None:
        """Record the next observation of ``system``."""
        self.obs[system].append(float(value))

    def ready(self) -> bool:
        """Whether every survivor has an observation for the next screening."""
        need = max(self.r + 1, self.n0)
        return all(len(self.obs[i]) >= need for i in self.survivors)

    def screen(self) -> list[int]:
        """Screen at the next r (n0 first); return the survivors."""
        r = max(self.r + 1, self.n0)
        if self._s2 is None:
            first = np.array([self.obs[i][: self.n0] for i in range(self.k)])
            diffs = first[:, None, :] - first[None, :, :]
            self._s2 = diffs.var(axis=2, ddof=1)
        means = {i: float(np.mean(self.obs[i][:r])) for i in self.survivors}
        keep = []
        for i in self.survivors:
            out = False
            for j in self.survivors:
                if j == i:
                    continue
                w = max(0.0, self.delta / (2 * r) * (self.h2 * float(self._s2[i, j]) / self.delta**2 - r))
                if means[i] < means[j] - w:
                    out = True
                    break
            if out:
                self.eliminated_at[i] = r
            else:
                keep.append(i)
        self.survivors = keep
        self.r = r
        return keep

    @property
    def done(self) -> bool:
        """One survivor left."""
        return len(self.survivors) <= 1


@dataclass
class Selection:
    """The outcome of :func:`select`.

    Attributes
    ----------
    scenario, spec:
        What was run; ``spec`` has ``goal`` resolved.
    policies:
        The candidate policies (names), in scenario order.
    best:
        The selected policy, or ``None`` when the budget ran out with several survivors.
    survivors:
        The policies still in contention at the end (just ``[best]`` when decided).
    eliminated_at:
        Policy -> number of replications after which it was eliminated.
    table:
        Tidy observations used by the decision: ``policy, replication, value``.
    runs:
        Replications actually simulated (including those of a final batch beyond the decision).
    """

    scenario: ScenarioBase
    spec: SelectionSpec
    policies: list[str]
    best: str | None
    survivors: list[str]
    eliminated_at: dict[str, int]
    table: pd.DataFrame
    runs: int
    h2: float

    @property
    def decided(self) -> bool:
        """Whether one policy was selected."""
        return self.best is not None

    @property
    def leader(self) -> str:
        """The selected policy, or the survivor with the best sample mean."""
        return self.best if self.best is not None else self._leader_by_mean(self.summary)

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Per policy: replications, mean with CI, quantiles, paired difference to the leader or
        selected policy, and status."""
        level = 1 - self.spec.alpha
        rows = []
        for pol in self.policies:
            v = self.table.loc[self.table["policy"] == pol, "value"].to_numpy(dtype=float)
            ci = mean_ci(v, level)
            q = np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95]) if v.size else [math.nan] * 5
            if pol == self.best:
                status = "selected"
            elif pol in self.survivors:
                status = "not separated"
            else:
                status = f"eliminated after {self.eliminated_at[pol]} replications"
            rows.append((pol, ci.n, ci.mean, ci.low, ci.high, *map(float, q), status))
        cols = ["policy", "n", "mean", "ci_low", "ci_high", "q05", "q25", "q50", "q75", "q95", "status"]
        df = pd.DataFrame(rows, columns=cols)
        ref = self.best if self.best is not None else self._leader_by_mean(df)
        rv = self.table[self.table["policy"] == ref].set_index("replication")["value"]
        diffs, lo, hi = [], [], []
        for pol in self.policies:
            pv = self.table[self.table["policy"] == pol].set_index("replication")["value"]
            common = rv.index.intersection(pv.index)
            d = paired_diff_ci(pv.loc[common].to_numpy(), rv.loc[common].to_numpy(), level)
            diffs.append(d.mean)
            lo.append(d.low)
            hi.append(d.high)
        df["diff_to_best"] = diffs
        df["diff_ci_low"] = lo
        df["diff_ci_high"] = hi
        df["within_delta"] = [abs(d) < self.spec.delta for d in diffs]
        return df

    def _leader_by_mean(self, df: pd.DataFrame) -> str:
        sub = df[df["policy"].isin(self.survivors)].set_index("policy")["mean"]
        return str(sub.idxmin() if self.spec.goal == "min" else sub.idxmax())

    def statement(self) -> str:
        """The decision in words, with the guarantee it carries."""
        s = self.spec
        conf = f"{1 - s.alpha:.0%}"
        goal = "lowest" if s.goal == "min" else "highest"
        guarantee = (f"Guarantee: if the policy with the {goal} mean {s.metric} is at least delta = {s.delta:g} "
                     f"better than every other, it is selected with probability at least {conf} "
                     f"(Kim-Nelson procedure, common random numbers, first stage n0 = {s.initial_replications}).")
        if self.best is not None:
            near = [p for p, w in zip(self.summary["policy"], self.summary["within_delta"], strict=True)
                    if w and p != self.best]
            text = f"Best policy for {s.metric} ({goal} is better): {self.best}."
            if near:
                text += (f" Within the indifference zone (estimated mean within {s.delta:g} of it): "
                         f"{', '.join(near)} - practically as good.")
        else:
            text = (f"Could not separate {', '.join(self.survivors)} within the budget of "
                    f"{s.max_replications} replications per policy; leader by sample mean: {self.leader}. "
                    "Raise max_replications or delta to decide.")
        return f"{text}\n{guarantee}"

    def to_json(self) -> dict[str, Any]:
        """The decision as JSON-able data."""
        return {
            "metric": self.spec.metric, "goal": self.spec.goal, "delta": self.spec.delta,
            "alpha": self.spec.alpha, "confidence": 1 - self.spec.alpha,
            "initial_replications": self.spec.initial_replications,
            "max_replications": self.spec.max_replications, "h2": self.h2,
            "policies": self.policies, "decided": self.decided, "best": self.best,
            "survivors": self.survivors, "eliminated_at": self.eliminated_at, "runs": self.runs,
            "statement": self.statement(),
        }


def resolve_spec(scenario: ScenarioBase, spec: SelectionSpec | None = None, **overrides: Any) -> SelectionSpec:
    """The selection settings: ``spec`` (default the scenario's ``[selection]``) with non-``None``
    ``overrides`` applied, ``goal`` resolved from the metric's direction, names checked."""
    base = spec if spec is not None else getattr(scenario, "selection", None)
    data: dict[str, Any] = base.model_dump() if base is not None else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    missing = [k for k in ("metric", "delta") if k not in data]
    if missing:
        raise SelectionError(f"selection needs {' and '.join(missing)}: add a [selection] table to the "
                             "scenario or give " + " ".join(f"--{m}" for m in missing))
    try:
        resolved = SelectionSpec.model_validate(data)
    except ValidationError as exc:  # one line per problem, keyed and worded as for scenario files
        given = {k for k, v in overrides.items() if v is not None}

        def line(path: str, message: str) -> str:
            key = path.split(".")[0]
            option = f" (--{key.replace('_', '-')})" if key in given else ""
            return f"selection.{path}: {message}{option}" if path else f"selection: {message}"

        raise SelectionError("; ".join(line(p.path, p.message) for p in validation_problems(exc))) from None
    if resolved.metric not in scenario.reported_metrics:
        raise SelectionError(f"selection.metric: unknown metric {resolved.metric!r}; the scenario reports "
                             f"{scenario.reported_metrics}")
    if resolved.goal is None:
        better = scenario.domain.metric(resolved.metric).better
        if better == "none":
            raise SelectionError(f"selection.goal: metric {resolved.metric!r} has no preferred direction; "
                                 "give goal = \"min\" or \"max\" (--goal)")
        resolved = resolved.model_copy(update={"goal": "min" if better == "lower" else "max"})
    if resolved.policies is not None:
        bad = [p for p in resolved.policies if p not in scenario.policy_names]
        if bad:
            raise SelectionError(f"selection.policies: unknown policies {bad}; the scenario has "
                                 f"{scenario.policy_names}")
    cands = resolved.policies or scenario.policy_names
    if len(cands) < 2:
        raise SelectionError("selection needs at least two policies to choose among")
    return resolved


def select(
    scenario: ScenarioBase,
    spec: SelectionSpec | None = None,
    *,
    jobs: int = 1,
    backend: Backend | None = None,
    batch: int | None = None,
    work_root: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = False,
) -> Selection:
    """Run the Kim–Nelson procedure on ``scenario`` (see the module docstring).

    Parameters
    ----------
    spec:
        Selection settings; default the scenario's ``[selection]`` table (:func:`resolve_spec`).
    jobs, backend:
        Where replications run (results identical for any choice).
    batch:
        Replications launched at once per survivor after the first stage (default: enough to
        keep every worker busy).  Does not change the decision.
    work_root, resume:
        Persist every replication and reuse persisted ones (:mod:`simcity.store`).
    """
    s = resolve_spec(scenario, spec)
    names = s.policies or scenario.policy_names
    index = [scenario.policy_names.index(p) for p in names]
    sign = -1.0 if s.goal == "min" else 1.0
    kn = KimNelson(len(names), s.delta, s.alpha, s.initial_replications)
    own = backend is None
    be = make_backend(jobs) if backend is None else backend
    step = batch or max(2 * be.workers, 4)
    values: dict[tuple[int, int], float] = {}
    launched = 0  # replications launched for every survivor so far
    runs = 0
    try:
        while True:
            upto = s.initial_replications if launched == 0 else min(s.max_replications, launched + step)
            tasks = [Task(index[i], r) for r in range(launched, upto) for i in kn.survivors]
            [res] = run_persisted([scenario], [tasks], work_root=work_root, resume=resume,
                                  backend=be, progress=progress, desc=f"{scenario.name} select")
            runs += len(res)
            for tr in res:
                values[(index.index(tr.task.policy_index), tr.task.replication)] = tr.output.metrics[s.metric]
            launched = upto
            for i in kn.survivors:
                for r in range(len(kn.obs[i]), launched):
                    kn.add(i, sign * values[(i, r)])
            while not kn.done and kn.ready():
                kn.screen()
                if kn.r >= s.max_replications:
                    break
            if kn.done or kn.r >= s.max_replications:
                break
    finally:
        if own:
            be.close()
    used = {i: kn.eliminated_at.get(i, kn.r) for i in range(len(names))}
    rows = [(names[i], r, values[(i, r)]) for i in range(len(names)) for r in range(used[i])]
    table = pd.DataFrame(rows, columns=["policy", "replication", "value"])
    table["policy"] = table["policy"].astype(pd.CategoricalDtype(names, ordered=True))
    return Selection(
        scenario=scenario, spec=s, policies=list(names),
        best=names[kn.survivors[0]] if kn.done else None,
        survivors=[names[i] for i in kn.survivors],
        eliminated_at={names[i]: r for i, r in kn.eliminated_at.items()},
        table=table, runs=runs, h2=kn.h2,
    )
