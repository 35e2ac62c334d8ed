"""Pure optimisation for city operations: vehicle routing and berth allocation.

This package never imports :mod:`simcity`; simulation models call into it.  Every
independent checker returns a :class:`CheckReport` (``optimize.check``); worker processes
start through :mod:`optimize.pool`.
"""

from optimize.check import CheckReport, InvalidSolutionError

__all__ = ["CheckReport", "InvalidSolutionError"]
