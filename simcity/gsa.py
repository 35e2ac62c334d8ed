"""Global sensitivity designs and indices through SALib: Sobol' (Saltelli sampling) and Morris.

Procedures on arrays only; :mod:`simcity.sweep` builds the design points from them and feeds the
responses back.  SALib (Herman & Usher, well kept, the reference implementation in Python) does
the sampling and the estimators:

* **Sobol'**: Saltelli's scheme, ``N (D + 2)`` points for ``D`` parameters (first-order and total
  indices, no second order); ``S1`` is the share of the response variance due to the parameter
  alone, ``ST`` including all its interactions (Saltelli et al. 2010 estimators, as in
  ``SALib.analyze.sobol``).
* **Morris**: ``r`` one-at-a-time trajectories over a ``p``-level grid, ``r (D + 1)`` points;
  ``mu_star`` (mean absolute elementary effect) ranks the parameters, ``sigma`` (their spread)
  says how non-linear or interacting a parameter is (Campolongo, Cariboni & Saltelli 2007).

Intervals are SALib's bootstrap intervals over the design (``conf`` is the half-width at the
sweep's confidence level).  The response is the mean over replications at each design point;
because replication ``r`` draws the same random inputs at every point (common random numbers),
noise that does not depend on the parameters shifts every point alike and the indices measure
the parameters, not the noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

Method = Literal["sobol", "morris"]

SOBOL_COLUMNS = ["S1", "S1_conf", "ST", "ST_conf"]
MORRIS_COLUMNS = ["mu", "mu_star", "mu_star_conf", "sigma"]


def problem(names: Sequence[str], lows: Sequence[float], highs: Sequence[float]) -> dict[str, Any]:
    """The SALib problem description."""
    return {"num_vars": len(names), "names": list(names),
            "bounds": [[float(a), float(b)] for a, b in zip(lows, highs, strict=True)]}


def sample(method: Method, prob: dict[str, Any], samples: int, seed: int, levels: int = 4) -> np.ndarray:
    """The design in the parameters' units: one row per point (deterministic for a seed)."""
    if method == "sobol":
        return np.asarray(sobol_sample.sample(prob, samples, calc_second_order=False, seed=seed), dtype=float)
    return np.asarray(morris_sample.sample(prob, samples, num_levels=levels, seed=seed), dtype=float)


def indices(method: Method, prob: dict[str, Any], x: np.ndarray, y: np.ndarray, *, level: float,
            resamples: int, seed: int, levels: int = 4) -> dict[str, np.ndarray]:
    """Indices per parameter (arrays in ``prob["names"]`` order): ``S1, S1_conf, ST, ST_conf`` for
    Sobol', ``mu, mu_star, mu_star_conf, sigma`` for Morris.  ``nan`` everywhere when a response
    is undefined at some point or constant over the design (no variance to apportion)."""
    d = prob["num_vars"]
    cols = SOBOL_COLUMNS if method == "sobol" else MORRIS_COLUMNS
    yy = np.asarray(y, dtype=float)
    if np.isnan(yy).any() or float(np.ptp(yy)) == 0.0:
        return {c: np.full(d, np.nan) for c in cols}
    if method == "sobol":
        r = sobol_analyze.analyze(prob, yy, calc_second_order=False, num_resamples=resamples,
                                  conf_level=level, seed=seed)
    else:
        r = morris_analyze.analyze(prob, x, yy, num_resamples=resamples, conf_level=level,
                                   num_levels=levels, seed=seed)
    return {c: np.asarray(r[c], dtype=float) for c in cols}
