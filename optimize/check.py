"""The one verdict type of the independent checkers.

Every optimiser's solutions are checked by code that shares nothing with the solver beyond
the problem definition (:func:`optimize.routing.check`, :func:`optimize.berths.check_schedule`,
:func:`optimize.rebalancing.check_plan`).  Each returns a subclass of :class:`CheckReport`:
the list of violations (empty when the solution is feasible), plus what that checker
recomputed (cost, objective, loads).
"""

from __future__ import annotations

from dataclasses import dataclass


class InvalidSolutionError(ValueError):
    """A solution an independent checker rejected."""


@dataclass(frozen=True)
class CheckReport:
    """What an independent checker found: ``ok`` iff ``violations`` is empty."""

    #: human-readable violations, one per broken constraint
    violations: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether the solution satisfies every constraint."""
        return not self.violations

    def raise_if_invalid(self, what: str = "solution") -> None:
        """Raise :class:`InvalidSolutionError` naming the first violations, if any."""
        if self.violations:
            more = f" (and {len(self.violations) - 3} more)" if len(self.violations) > 3 else ""
            raise InvalidSolutionError(f"{what} rejected by the checker: "
                                       + "; ".join(self.violations[:3]) + more)
