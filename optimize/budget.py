"""How long a solver may search: one budget notion for every optimiser in ``optimize``.

A :class:`Budget` holds a **work** limit (``effort``), a **wall-clock** limit
(``time_limit``), or both; the search stops at whichever comes first.

* Work is counted by the solver itself and does not depend on machine speed or load, so a
  run with only a work limit is *reproducible*: the same problem, options and seed give
  the same answer on any machine, with any number of parallel jobs.  Simulations must use
  work budgets only (a plan that depends on the clock breaks common random numbers).
* Wall-clock seconds are for interactive use and for benchmarks that publish a time.

What one unit of ``effort`` is depends on the backend (each documents it):

====================  ==================================================================
backend               one unit of ``effort``
====================  ==================================================================
routing ``ortools``   one solution accepted by the local search (``solution_limit``)
routing ``pyvrp``     one iteration of the iterated local search (``MaxIterations``)
routing ``hgs``       one iteration without improvement (HGS-CVRP's ``nbIter``)
rebalancing           one solution accepted by the greedy descent (``solution_limit``)
docks                 one dock moved by the steepest descent
berths (CP-SAT)       one deterministic second (``max_deterministic_time``)
====================  ==================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """A search budget: ``effort`` (work, reproducible) and/or ``time_limit`` (seconds).

    Parameters
    ----------
    effort
        Work limit in the backend's unit (module doc); ``None`` = no work limit.
    time_limit
        Wall-clock limit in seconds; ``None`` = no clock.  Leave it ``None`` wherever the
        answer must be reproducible.
    """

    effort: float | None = None
    time_limit: float | None = None

    def __post_init__(self) -> None:
        if self.effort is None and self.time_limit is None:
            raise ValueError("a budget needs an effort, a time limit, or both")
        for name in ("effort", "time_limit"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                raise ValueError(f"budget {name} must be a finite number > 0, got {v!r}")

    @classmethod
    def work(cls, effort: float) -> Budget:
        """A reproducible budget of ``effort`` units of work and no clock."""
        return cls(effort=effort)

    @classmethod
    def wall(cls, seconds: float) -> Budget:
        """A wall-clock budget (interactive use and benchmarks)."""
        return cls(time_limit=seconds)

    @property
    def reproducible(self) -> bool:
        """Whether the answer cannot depend on the clock (no wall-clock limit)."""
        return self.time_limit is None

    def seconds(self, default: float = math.inf) -> float:
        """The wall-clock limit, or ``default`` when there is none."""
        return default if self.time_limit is None else self.time_limit

    def scaled(self, factor: float) -> Budget:
        """The same kind of budget, ``factor`` times larger (e.g. a 10x reference run)."""
        return Budget(None if self.effort is None else self.effort * factor,
                      None if self.time_limit is None else self.time_limit * factor)
