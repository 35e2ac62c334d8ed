"""simcity: discrete-event simulation and optimisation of city operations.

The Python API for researchers::

    import simcity
    sc = simcity.load_scenario("scenarios/parking_liangxi.toml")
    sc = sc.with_overrides({"replications": 5})
    res = simcity.compare(sc, jobs=2)
    res.table      # tidy pandas DataFrame: scenario, policy, replication, metric, value
    res.summary    # mean, CI, paired difference vs the baseline
    simcity.save(res, "results/my-run")   # tables, plots, report.html
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_scenario", "compare", "save", "ScenarioError", "Results"]

if TYPE_CHECKING:
    from simcity.experiment import Results, compare
    from simcity.report import save
    from simcity.scenario import ScenarioError, load_scenario

_LAZY = {
    "load_scenario": "simcity.scenario",
    "ScenarioError": "simcity.scenario",
    "compare": "simcity.experiment",
    "Results": "simcity.experiment",
    "save": "simcity.report",
}


def __getattr__(name: str) -> Any:
    # Lazy so that `import simcity` (and the CLI's start-up) stays cheap.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simcity' has no attribute {name!r}")
