"""The experiment *specifications* a scenario file may carry: ``[sweep]`` and ``[selection]``.

These are pure input schema (validated configuration).  The procedures that run them live one
layer up (:mod:`simcity.sweep`, :mod:`simcity.selection`), so loading a scenario does not pull
in pandas, the backends or the report.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from simcity.domain import CleanText, StrictModel

MAX_POINTS = 10_000


class SweepParameter(StrictModel):
    """One scenario parameter the sweep varies."""

    path: CleanText = Field(
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

    method: Literal["grid", "lhs", "sobol", "morris"] = Field(
        "grid", description="'grid': every combination of levels; 'lhs': a Latin hypercube of 'samples' points; "
                            "'sobol': Saltelli sampling for Sobol' indices ('samples' x (parameters + 2) points); "
                            "'morris': 'samples' Morris trajectories ('samples' x (parameters + 1) points)."
    )
    samples: int | None = Field(
        None, ge=2, le=MAX_POINTS,
        description="Latin hypercube: design points; sobol: base sample size N (a power of 2); morris: trajectories.",
    )
    morris_levels: int = Field(
        4, ge=2, le=100, description="Morris only: grid levels of each parameter (even; 4 is the usual choice)."
    )
    bootstrap: int = Field(
        1000, ge=10, le=100_000, description="Sobol' and Morris: bootstrap resamples for the intervals of the indices."
    )
    parameters: list[SweepParameter] = Field(
        min_length=1, max_length=50, description="The parameters to vary."
    )
    responses: list[CleanText] | None = Field(
        None, description="Metrics to analyse against the parameters (default: the scenario's metrics)."
    )

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        paths = [p.path for p in self.parameters]
        if len(set(paths)) != len(paths):
            raise ValueError("each parameter path may appear only once")
        if self.method != "grid":
            if self.samples is None:
                what = {"lhs": "the number of design points", "sobol": "the base sample size N, a power of 2",
                        "morris": "the number of trajectories"}[self.method]
                raise ValueError(f"method {self.method!r} needs 'samples' ({what})")
            for i, p in enumerate(self.parameters):
                if p.low is None or p.values is not None or p.levels is not None:
                    raise ValueError(f"parameters.{i} ({p.path}): method {self.method!r} needs 'low' and 'high' only")
            d = len(self.parameters)
            n = self.samples * {"lhs": 1, "sobol": d + 2, "morris": d + 1}[self.method]
            if n > MAX_POINTS:
                raise ValueError(f"the design has {n} points; at most {MAX_POINTS} are allowed")
            if self.method == "sobol" and self.samples & (self.samples - 1):
                raise ValueError(f"method 'sobol' needs 'samples' a power of 2 (Sobol' sequence balance), "
                                 f"found {self.samples}")
            if self.method == "morris" and self.morris_levels % 2:
                raise ValueError(f"'morris_levels' must be even (found {self.morris_levels})")
        else:
            if self.samples is not None:
                raise ValueError("'samples' is for methods 'lhs', 'sobol' and 'morris'; a grid has every "
                                 "combination of levels")
            n = 1
            for i, p in enumerate(self.parameters):
                if p.values is None and p.levels is None:
                    raise ValueError(f"parameters.{i} ({p.path}): a grid needs 'values' or 'low'/'high'/'levels'")
                n *= len(p.values) if p.values is not None else int(p.levels or 0)
            if n > MAX_POINTS:
                raise ValueError(f"the grid has {n} points; at most {MAX_POINTS} are allowed")
        return self


class SelectionSpec(StrictModel):
    """The ``[selection]`` table: which metric decides, and how sure to be."""

    metric: CleanText = Field(min_length=1, description="The metric that decides which policy is best.")
    goal: Literal["min", "max"] | None = Field(
        None, description="Minimise or maximise the metric (default: from the metric's declared direction)."
    )
    delta: float = Field(
        gt=0, description="Indifference zone: the smallest difference of the metric's mean worth detecting "
                          "(metric units)."
    )
    alpha: float = Field(
        0.05, gt=0, lt=0.5, description="The selection is correct with probability at least 1 - alpha."
    )
    initial_replications: int = Field(
        10, ge=3, le=10_000, description="First-stage replications of every policy (variance estimate)."
    )
    max_replications: int = Field(
        1000, ge=3, le=1_000_000, description="Budget: at most this many replications per policy."
    )
    policies: list[CleanText] | None = Field(
        None, description="The policies to choose among (default: all of the scenario's)."
    )

    @model_validator(mode="after")
    def _check(self) -> SelectionSpec:
        if self.max_replications < self.initial_replications:
            raise ValueError(f"max_replications: must be at least initial_replications "
                             f"({self.initial_replications}); found {self.max_replications}")
        if self.policies is not None and len(set(self.policies)) != len(self.policies):
            raise ValueError("policies: must not repeat a name")
        return self
