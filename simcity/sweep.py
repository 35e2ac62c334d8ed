"""Parameter sweeps and sensitivity: how each response moves with each parameter.

A scenario declares the parameters to vary in a ``[sweep]`` table::

    [sweep]
    method = "lhs"            # "grid" (every combination) or "lhs" (Latin hypercube)
    samples = 20              # design points of the Latin hypercube
    responses = ["blocking"]  # metrics to analyse (default: the scenario's metrics)

    [[sweep.parameters]]
    path = "city.arrival_rate"    # dotted path into the scenario, as in with_overrides
    low = 2.0
    high = 8.0

    [[sweep.parameters]]
    path = "policies.two.servers" # a policy's lever, the policy addressed by name
    values = [1, 2, 3]            # grid only: explicit levels (or low/high/levels)

Every design point is the scenario with the point's values applied (:meth:`with_overrides`),
run for every policy and replication.  Replication ``r`` uses the same random streams at every
point (common random numbers), so differences between points are not blurred by different
random inputs, and per-replication statistics across points (main effects, regression
coefficients) are independent over replications and get Student-t intervals.

The Latin hypercube comes from :class:`scipy.stats.qmc.LatinHypercube` seeded from the
scenario seed, so the design is reproducible.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from simcity import gsa
from simcity.backends import Backend
from simcity.experiment import all_tasks, run_persisted
from simcity.rng import source_id
from simcity.scenario import ScenarioBase, ScenarioError, check_specs, problem_at
from simcity.specs import SweepSpec
from simcity.stats import mean_ci

# ---------------------------------------------------------------------------------------
# the design


def spec_of(scenario: ScenarioBase) -> SweepSpec:
    """The scenario's sweep; a located error when it has none."""
    spec: SweepSpec | None = getattr(scenario, "sweep", None)
    if spec is None:
        raise problem_at(scenario, "sweep", "the scenario has no [sweep] table: add one to say which "
                                          "parameters to vary (see docs/experiments.md)")
    return spec


def check(scenario: ScenarioBase) -> None:
    """Check the sweep's paths and responses against the scenario (:func:`simcity.scenario.check_specs`)."""
    check_specs(scenario)


def _design_seed(scenario: ScenarioBase) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy=scenario.seed, spawn_key=(source_id("sweep-design"),))


def _problem(spec: SweepSpec) -> dict[str, Any]:
    return gsa.problem([p.path for p in spec.parameters], [float(p.low) for p in spec.parameters],  # type: ignore[arg-type]
                       [float(p.high) for p in spec.parameters])  # type: ignore[arg-type]


def raw_design(scenario: ScenarioBase) -> np.ndarray:
    """A Sobol' or Morris design before integer parameters are rounded (what SALib's estimators
    are given: a Morris step must not vanish in the rounding)."""
    spec = spec_of(scenario)
    assert spec.method in ("sobol", "morris") and spec.samples is not None
    seed = int(_design_seed(scenario).generate_state(1)[0])
    return gsa.sample(spec.method, _problem(spec), spec.samples, seed, spec.morris_levels)


def design(scenario: ScenarioBase) -> pd.DataFrame:
    """The design points: one row per point, one column per parameter path."""
    spec = spec_of(scenario)
    paths = [p.path for p in spec.parameters]
    if spec.method == "grid":
        rows = list(itertools.product(*(p.grid_values() for p in spec.parameters)))
        return pd.DataFrame(rows, columns=paths, dtype=float).rename_axis("point")
    assert spec.samples is not None
    if spec.method in ("sobol", "morris"):
        pts = raw_design(scenario).copy()
    else:
        sampler = qmc.LatinHypercube(d=len(paths), rng=np.random.Generator(np.random.PCG64(_design_seed(scenario))))
        unit = sampler.random(spec.samples)
        lows = [float(p.low) for p in spec.parameters]  # type: ignore[arg-type]
        highs = [float(p.high) for p in spec.parameters]  # type: ignore[arg-type]
        pts = qmc.scale(unit, lows, highs)
    for j, p in enumerate(spec.parameters):
        if p.integer:
            pts[:, j] = np.rint(pts[:, j])
    return pd.DataFrame(pts, columns=paths).rename_axis("point")


def point_scenarios(scenario: ScenarioBase, points: pd.DataFrame) -> list[ScenarioBase]:
    """The scenario at every design point (same seed: common random numbers across points)."""
    spec = spec_of(scenario)
    integer = {p.path: p.integer for p in spec.parameters}
    out = []
    for i, row in points.iterrows():
        values = {str(k): (int(v) if integer[str(k)] else float(v)) for k, v in row.items()}
        try:
            out.append(scenario.with_overrides(values))
        except ScenarioError as exc:
            detail = "; ".join(f"{p.path}: {p.message}" for p in exc.problems)
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            raise problem_at(scenario, "sweep", f"design point {i} ({shown}) is not a valid scenario: {detail}") from None
    return out


# ---------------------------------------------------------------------------------------
# analysis


@dataclass
class SweepResults:
    """A finished sweep.

    Attributes
    ----------
    scenario:
        The swept scenario (its ``sweep`` table says what was varied).
    points:
        The design: one row per point (index ``point``), one column per parameter path.
    table:
        Tidy replication table: ``point, policy, replication, metric, value``.
    """

    scenario: ScenarioBase
    points: pd.DataFrame
    table: pd.DataFrame

    @property
    def parameters(self) -> list[str]:
        """The swept parameter paths."""
        return list(self.points.columns)

    @property
    def responses(self) -> list[str]:
        """The analysed metrics."""
        spec = spec_of(self.scenario)
        return list(spec.responses) if spec.responses else self.scenario.reported_metrics

    @cached_property
    def tidy(self) -> pd.DataFrame:
        """The replication table with the parameter values of each point as extra columns."""
        return self.table.merge(self.points.reset_index(), on="point", how="left")

    @cached_property
    def point_summary(self) -> pd.DataFrame:
        """Mean and CI per (point, policy, metric), with the point's parameter values."""
        level = self.scenario.confidence
        rows = []
        for (pt, pol, met), g in self.table.groupby(["point", "policy", "metric"], sort=True, observed=True):
            ci = mean_ci(g["value"].to_numpy(), level)
            rows.append((pt, pol, met, ci.n, ci.mean, ci.low, ci.high))
        df = pd.DataFrame(rows, columns=["point", "policy", "metric", "n", "mean", "ci_low", "ci_high"])
        return self.points.reset_index().merge(df, on="point")

    def _cube(self, metric: str, policy: str) -> np.ndarray:
        """Values as an array [replication, point] (nan where missing)."""
        sub = self.table[(self.table["metric"] == metric) & (self.table["policy"] == policy)]
        wide = sub.pivot_table(index="replication", columns="point", values="value", aggfunc="first")
        return wide.reindex(columns=self.points.index).to_numpy(dtype=float)

    @cached_property
    def effects(self) -> pd.DataFrame:
        """Main effect of each parameter: for each of its levels, the mean response over the design
        points at that level, with a CI over replications (valid under common random numbers:
        the per-replication averages are independent across replications)."""
        level = self.scenario.confidence
        rows = []
        if spec_of(self.scenario).method == "sobol":  # quasi-random points: every value is its own level
            return pd.DataFrame(columns=["parameter", "value", "policy", "metric", "points", "n",
                                         "mean", "ci_low", "ci_high"])
        for metric in self.responses:
            for pol in self.scenario.policy_names:
                cube = self._cube(metric, pol)
                for param in self.parameters:
                    col = self.points[param].to_numpy()
                    for v in np.unique(col):
                        idx = np.flatnonzero(col == v)
                        with warnings.catch_warnings():  # a replication undefined at every point: nan
                            warnings.simplefilter("ignore", RuntimeWarning)
                            per_rep = np.nanmean(cube[:, idx], axis=1) if cube.size else np.array([])
                        ci = mean_ci(per_rep, level)
                        rows.append((param, float(v), pol, metric, len(idx), ci.n, ci.mean, ci.low, ci.high))
        return pd.DataFrame(rows, columns=["parameter", "value", "policy", "metric", "points", "n",
                                           "mean", "ci_low", "ci_high"])

    @cached_property
    def sensitivity(self) -> pd.DataFrame:
        """Standardised regression coefficients (SRC) of each response on all parameters.

        In each replication the response over the design points is regressed on the
        standardised parameters; the coefficient is the change of the response, in its standard
        deviations, per standard deviation of the parameter.  Averaged over replications with a
        Student-t CI.  ``r2`` is the mean share of variance the linear model explains: when low,
        the response is not linear in the parameters and the main-effect plots tell more.
        """
        level = self.scenario.confidence
        x = self.points.to_numpy(dtype=float)
        sd = x.std(axis=0)
        usable = sd > 0
        rows: list[tuple[Any, ...]] = []
        if x.shape[0] < usable.sum() + 2:
            return pd.DataFrame(columns=["parameter", "policy", "metric", "src", "ci_low", "ci_high", "r2"])
        z = (x[:, usable] - x[:, usable].mean(axis=0)) / sd[usable]
        design_m = np.column_stack([np.ones(len(z)), z])
        names = [p for p, u in zip(self.parameters, usable, strict=True) if u]
        for metric in self.responses:
            for pol in self.scenario.policy_names:
                cube = self._cube(metric, pol)
                coefs, r2s = [], []
                for y in cube:
                    ok = ~np.isnan(y)
                    if ok.sum() < design_m.shape[1] + 1 or np.std(y[ok]) == 0:
                        continue
                    beta, *_ = np.linalg.lstsq(design_m[ok], y[ok], rcond=None)
                    fit = design_m[ok] @ beta
                    sy = float(np.std(y[ok]))
                    src = beta[1:] / sy
                    # an exactly irrelevant parameter gives round-off, not a coefficient
                    coefs.append(np.where(np.abs(src) < 1e-9, 0.0, src))
                    r2s.append(1 - float(np.sum((y[ok] - fit) ** 2)) / float(np.sum((y[ok] - y[ok].mean()) ** 2)))
                arr = np.array(coefs).reshape(-1, len(names))
                for j, name in enumerate(names):
                    ci = mean_ci(arr[:, j], level)
                    rows.append((name, pol, metric, ci.mean, ci.low, ci.high,
                                 float(np.mean(r2s)) if r2s else math.nan))
        return pd.DataFrame(rows, columns=["parameter", "policy", "metric", "src", "ci_low", "ci_high", "r2"])


    @cached_property
    def indices(self) -> pd.DataFrame:
        """Sobol' or Morris indices of each response on each parameter (empty for grid and Latin
        hypercube designs), per policy, from the response averaged over replications at each
        point, with SALib's bootstrap intervals (:mod:`simcity.gsa`).

        Sobol': ``S1, S1_low, S1_high, ST, ST_low, ST_high``; Morris: ``mu, mu_star,
        mu_star_low, mu_star_high, sigma``."""
        spec = spec_of(self.scenario)
        if spec.method not in ("sobol", "morris"):
            return pd.DataFrame()
        method: gsa.Method = spec.method
        prob = _problem(spec)
        x = raw_design(self.scenario)
        seed = int(_design_seed(self.scenario).generate_state(2)[1])
        rows: list[tuple[Any, ...]] = []
        for metric in self.responses:
            for pol in self.scenario.policy_names:
                with warnings.catch_warnings():  # a point undefined in every replication: nan
                    warnings.simplefilter("ignore", RuntimeWarning)
                    y = np.nanmean(self._cube(metric, pol), axis=0)
                ix = gsa.indices(method, prob, x, y, level=self.scenario.confidence, resamples=spec.bootstrap,
                                 seed=seed, levels=spec.morris_levels)
                for j, name in enumerate(prob["names"]):
                    if method == "sobol":
                        s1, c1, st, ct = (float(ix[c][j]) for c in gsa.SOBOL_COLUMNS)
                        rows.append((name, pol, metric, s1, s1 - c1, s1 + c1, st, st - ct, st + ct))
                    else:
                        mu, ms, cm, sg = (float(ix[c][j]) for c in gsa.MORRIS_COLUMNS)
                        rows.append((name, pol, metric, mu, ms, ms - cm, ms + cm, sg))
        cols = (["S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"] if method == "sobol"
                else ["mu", "mu_star", "mu_star_low", "mu_star_high", "sigma"])
        return pd.DataFrame(rows, columns=["parameter", "policy", "metric", *cols])


def run_sweep(
    scenario: ScenarioBase,
    *,
    replications: int | None = None,
    jobs: int = 1,
    backend: Backend | None = None,
    work_root: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
) -> SweepResults:
    """Run every design point x policy x replication of ``scenario``'s sweep.

    Parameters are as for :func:`simcity.experiment.compare`; every finished task is persisted
    under ``work_root`` (one work folder per design point) and reused with ``resume``.
    """
    if replications is not None:
        scenario = scenario.with_overrides({"replications": replications})
    check(scenario)
    points = design(scenario)
    scenarios = point_scenarios(scenario, points)
    tasks = [all_tasks(s) for s in scenarios]
    results = run_persisted(scenarios, tasks, work_root=work_root, resume=resume, jobs=jobs,
                            backend=backend, progress=progress, desc=f"{scenario.name} sweep")
    names = scenario.policy_names
    metrics = scenario.reported_metrics
    rows = [
        (int(pt), names[r.task.policy_index], r.task.replication, m, float(r.output.metrics[m]))
        for pt, res in zip(points.index, results, strict=True)
        for r in res
        for m in metrics
    ]
    table = pd.DataFrame(rows, columns=["point", "policy", "replication", "metric", "value"])
    table["policy"] = table["policy"].astype(pd.CategoricalDtype(names, ordered=True))
    return SweepResults(scenario, points, table)
