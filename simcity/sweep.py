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
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from simcity.domain import StrictModel
from simcity.rng import source_id
from simcity.stats import mean_ci

if TYPE_CHECKING:
    from simcity.backends import Backend
    from simcity.plots import Plot
    from simcity.scenario import ScenarioBase

MAX_POINTS = 10_000


class SweepParameter(StrictModel):
    """One scenario parameter the sweep varies."""

    path: str = Field(
        min_length=1, max_length=300,
        description="Dotted path of a numeric scenario value, e.g. 'city.arrival_rate' or "
                    "'policies.NAME.lever' (list entries by index or by name).",
    )
    values: list[float] | None = Field(
        None, min_length=1, max_length=1000,
        description="Grid only: the explicit levels to try (instead of low/high/levels).",
    )
    low: float | None = Field(None, description="Lower end of the range (grid with 'levels', or Latin hypercube).")
    high: float | None = Field(None, description="Upper end of the range.")
    levels: int | None = Field(
        None, ge=2, le=1000, description="Grid only: number of evenly spaced levels from low to high."
    )
    integer: bool = Field(False, description="Round the values to integers (counts such as servers or vehicles).")

    @model_validator(mode="after")
    def _check(self) -> SweepParameter:
        if (self.low is None) != (self.high is None):
            raise ValueError("give both 'low' and 'high'")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"'low' ({self.low}) must be smaller than 'high' ({self.high})")
        if self.values is not None and (self.low is not None or self.levels is not None):
            raise ValueError("give either 'values' or 'low'/'high' (with 'levels' for a grid), not both")
        if self.values is not None and len(set(self.values)) != len(self.values):
            raise ValueError("'values' must not repeat a level")
        return self

    def grid_values(self) -> list[float]:
        """The levels of a grid sweep."""
        if self.values is not None:
            vals = list(self.values)
        else:
            assert self.low is not None and self.high is not None and self.levels is not None
            vals = list(np.linspace(self.low, self.high, self.levels))
        return [float(round(v)) if self.integer else float(v) for v in vals]


class SweepSpec(StrictModel):
    """The ``[sweep]`` table: which parameters to vary, how, and which responses to study."""

    method: Literal["grid", "lhs"] = Field(
        "grid", description="'grid': every combination of levels; 'lhs': a Latin hypercube of 'samples' points."
    )
    samples: int | None = Field(
        None, ge=2, le=MAX_POINTS, description="Latin hypercube only: number of design points."
    )
    parameters: list[SweepParameter] = Field(
        min_length=1, max_length=50, description="The parameters to vary."
    )
    responses: list[str] | None = Field(
        None, description="Metrics to analyse against the parameters (default: the scenario's metrics)."
    )

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        paths = [p.path for p in self.parameters]
        if len(set(paths)) != len(paths):
            raise ValueError("each parameter path may appear only once")
        if self.method == "lhs":
            if self.samples is None:
                raise ValueError("method 'lhs' needs 'samples' (the number of design points)")
            for i, p in enumerate(self.parameters):
                if p.low is None or p.values is not None or p.levels is not None:
                    raise ValueError(f"parameters.{i} ({p.path}): method 'lhs' needs 'low' and 'high' only")
        else:
            if self.samples is not None:
                raise ValueError("'samples' is for method 'lhs'; a grid has every combination of levels")
            n = 1
            for i, p in enumerate(self.parameters):
                if p.values is None and p.levels is None:
                    raise ValueError(f"parameters.{i} ({p.path}): a grid needs 'values' or 'low'/'high'/'levels'")
                n *= len(p.values) if p.values is not None else int(p.levels or 0)
            if n > MAX_POINTS:
                raise ValueError(f"the grid has {n} points; at most {MAX_POINTS} are allowed")
        return self


# ---------------------------------------------------------------------------------------
# the design


def _lookup(data: Any, dotted: str) -> Any:
    cur = data
    for key in dotted.split("."):
        if isinstance(cur, list):
            if key.isdigit() and int(key) < len(cur):
                cur = cur[int(key)]
                continue
            match = [e for e in cur if isinstance(e, dict) and key in (e.get("name"), e.get("id"))]
            if not match:
                raise KeyError(key)
            cur = match[0]
        elif isinstance(cur, dict) and key in cur:
            cur = cur[key]
        else:
            raise KeyError(key)
    return cur


def _problem(scenario: ScenarioBase, path: str, message: str) -> Exception:
    from simcity.scenario import Problem, ScenarioError
    from simcity.tomlpos import key_lines, line_of

    src = scenario.source
    line = None
    if src is not None:
        try:
            line = line_of(key_lines(src.read_text(encoding="utf-8")),
                           [int(p) if p.isdigit() else p for p in path.split(".")])
        except OSError:
            line = None
    return ScenarioError([Problem(str(src or "<scenario>"), line, path, message)])


def spec_of(scenario: ScenarioBase) -> SweepSpec:
    """The scenario's sweep; a located error when it has none."""
    spec: SweepSpec | None = getattr(scenario, "sweep", None)
    if spec is None:
        raise _problem(scenario, "sweep", "the scenario has no [sweep] table: add one to say which "
                                          "parameters to vary (see docs/experiments.md)")
    return spec


def check(scenario: ScenarioBase) -> None:
    """Check that every sweep path names a numeric value of the scenario and every response is
    a reported metric; raise :class:`~simcity.scenario.ScenarioError` located at the sweep key."""
    spec = getattr(scenario, "sweep", None)
    if spec is None:
        return
    data = scenario.model_dump(mode="python")
    for i, p in enumerate(spec.parameters):
        where = f"sweep.parameters.{i}.path"
        try:
            value = _lookup(data, p.path)
        except KeyError as exc:
            raise _problem(scenario, where, f"{p.path!r} does not name a scenario value "
                                            f"(no key {exc.args[0]!r})") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _problem(scenario, where, f"{p.path!r} is not a number (found {type(value).__name__}); "
                                            "only numeric values can be swept")
    if spec.responses:
        bad = [m for m in spec.responses if m not in scenario.reported_metrics]
        if bad:
            raise _problem(scenario, "sweep.responses",
                           f"unknown responses {bad}; the scenario reports {scenario.reported_metrics}")


def design(scenario: ScenarioBase) -> pd.DataFrame:
    """The design points: one row per point, one column per parameter path."""
    spec = spec_of(scenario)
    paths = [p.path for p in spec.parameters]
    if spec.method == "grid":
        rows = list(itertools.product(*(p.grid_values() for p in spec.parameters)))
        return pd.DataFrame(rows, columns=paths, dtype=float).rename_axis("point")
    from scipy.stats import qmc

    assert spec.samples is not None
    ss = np.random.SeedSequence(entropy=scenario.seed, spawn_key=(source_id("sweep-design"),))
    sampler = qmc.LatinHypercube(d=len(paths), rng=np.random.Generator(np.random.PCG64(ss)))
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
    from simcity.scenario import ScenarioError

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
            raise _problem(scenario, "sweep", f"design point {i} ({shown}) is not a valid scenario: {detail}") from None
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
    from simcity.experiment import all_tasks, run_persisted

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


# ---------------------------------------------------------------------------------------
# plots and the results folder


def effect_plot(sweep: SweepResults, metric: str, parameter: str) -> Plot:
    """Response against one parameter: mean per policy with its confidence band."""
    from simcity.plots import Plot, plt, to_png

    data = sweep.effects[(sweep.effects["metric"] == metric) & (sweep.effects["parameter"] == parameter)]
    data = data[["policy", "value", "points", "n", "mean", "ci_low", "ci_high"]].sort_values(
        ["policy", "value"]).reset_index(drop=True)
    dense = spec_of(sweep.scenario).method == "grid"
    fig, ax = plt.subplots(figsize=(7, 4))
    for pol in sweep.scenario.policy_names:
        d = data[data["policy"] == pol]
        if dense:
            ax.plot(d["value"], d["mean"], marker="o", label=pol)
            ax.fill_between(d["value"], d["ci_low"], d["ci_high"], alpha=0.2)
        else:  # scattered Latin-hypercube points: intervals per point, no band across points
            err = np.vstack([d["mean"] - d["ci_low"], d["ci_high"] - d["mean"]])
            ax.errorbar(d["value"], d["mean"], yerr=np.nan_to_num(err), fmt="o", capsize=3, label=pol, alpha=0.8)
    unit = sweep.scenario.domain.metric(metric).unit
    ax.set_xlabel(parameter)
    ax.set_ylabel(f"{metric} ({unit})" if unit else metric)
    level = int(round(sweep.scenario.confidence * 100))
    ax.set_title(f"{metric} against {parameter} ({level}% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    safe = parameter.replace(".", "_")
    return Plot(f"sweep-{metric}-{safe}", f"{metric} against {parameter}", to_png(fig), data)


def sweep_plots(sweep: SweepResults) -> list[Plot]:
    """One plot per (response, parameter)."""
    return [effect_plot(sweep, m, p) for m in sweep.responses for p in sweep.parameters]


def save_sweep(sweep: SweepResults, out: str | Path) -> Path:
    """Write the sweep's results folder atomically (never half-written)."""
    import base64
    import html

    from simcity.fileio import atomic_write_bytes, atomic_write_text
    from simcity.report import write_frame
    from simcity.store import atomic_folder

    def write(folder: Path) -> None:
        atomic_write_text(folder / "scenario.toml", sweep.scenario.to_toml())
        write_frame(sweep.points.reset_index(), folder, "design")
        write_frame(sweep.tidy, folder, "replications")
        write_frame(sweep.point_summary, folder, "points")
        write_frame(sweep.effects, folder, "effects")
        write_frame(sweep.sensitivity, folder, "sensitivity")
        plots = sweep_plots(sweep)
        (folder / "plots").mkdir()
        for p in plots:
            atomic_write_bytes(folder / "plots" / f"{p.name}.png", p.png)
        e = html.escape
        figs = "\n".join(
            f'<figure><img alt="{e(p.title)}" src="data:image/png;base64,{base64.b64encode(p.png).decode()}">'
            f"<figcaption>{e(p.title)}</figcaption></figure>" for p in plots)
        sc = sweep.scenario
        atomic_write_text(folder / "report.html", f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(sc.name)} – sweep</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;font-size:.85rem}}td,th{{border:1px solid #ccc;padding:.2rem .5rem}}img{{max-width:100%}}</style>
</head><body><h1>{e(sc.name)}: parameter sweep</h1>
<p>{len(sweep.points)} design points ({e(spec_of(sc).method)}) × {len(sc.policy_names)} policies ×
{sc.replications} replications, common random numbers across points, seed {sc.seed}.</p>
<h2>Sensitivity (standardised regression coefficients)</h2>
{sweep.sensitivity.to_html(index=False, border=0, na_rep="–")}
<h2>Responses against parameters</h2>{figs}
<h2>Design</h2>{sweep.points.reset_index().to_html(index=False, border=0)}
<h2>Resolved scenario</h2><pre>{e(sc.to_toml())}</pre></body></html>
""")

    return atomic_folder(out, write)


def terminal_summary(sweep: SweepResults, max_rows: int = 40) -> str:
    """Sensitivity table and (for small designs) the main effects, as text."""
    from simcity.report import fmt

    level = int(round(sweep.scenario.confidence * 100))
    parts = [f"{len(sweep.points)} design points x {len(sweep.scenario.policy_names)} policies x "
             f"{sweep.scenario.replications} replications"]
    sens = sweep.sensitivity
    if not sens.empty:
        view = pd.DataFrame({
            "metric": sens["metric"], "policy": sens["policy"].astype(str), "parameter": sens["parameter"],
            "SRC": sens["src"].map(fmt),
            f"{level}% CI": [f"[{fmt(a)}, {fmt(b)}]" for a, b in zip(sens["ci_low"], sens["ci_high"], strict=True)],
            "R²": sens["r2"].map(fmt),
        })
        parts.append("Sensitivity (standardised regression coefficient of the response on each parameter):\n"
                     + view.to_string(index=False))
    eff = sweep.effects
    if len(eff) <= max_rows:
        view = pd.DataFrame({
            "metric": eff["metric"], "policy": eff["policy"].astype(str), "parameter": eff["parameter"],
            "value": eff["value"].map(fmt), "mean": eff["mean"].map(fmt),
            f"{level}% CI": [f"[{fmt(a)}, {fmt(b)}]" for a, b in zip(eff["ci_low"], eff["ci_high"], strict=True)],
        })
        parts.append("Main effects:\n" + view.to_string(index=False))
    else:
        parts.append(f"({len(eff)} main-effect rows: see effects.csv and the plots)")
    return "\n\n".join(parts)

