"""The contract between the experiment runner and a domain model (parking, garbage, bikes).

A domain is a module-level :class:`Domain` instance that names

* ``City`` - the pydantic model of the city setting (the ``[city]`` table of a scenario);
* ``Policy`` - the pydantic model of one policy (each ``[[policies]]`` entry), a subclass of
  :class:`PolicyBase`;
* ``metrics`` - the scalar metrics one run reports, with unit and direction;
* ``run(city, policy, ctx)`` - one replication of one policy, returning a :class:`RunOutput`.

Data flows one way: validated, immutable configuration in, a :class:`RunOutput` out.  A domain
never reads files, prints, or touches global state; it draws every random number from
``ctx.streams[source_name]`` so that policies share random inputs (common random numbers).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import simpy
from pydantic import BaseModel, ConfigDict, Field

from simcity.rng import Streams


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class PolicyBase(StrictModel):
    """Fields every policy has; a domain's ``Policy`` adds its own levers."""

    name: str = Field(
        min_length=1,
        max_length=80,
        description="Policy name, unique within the scenario. The first policy is the baseline.",
    )
    description: str = Field(default="", max_length=2000, description="What the policy does, for the report.")


@dataclass(frozen=True)
class Metric:
    """A scalar metric a domain reports per replication."""

    name: str
    description: str
    unit: str
    better: Literal["lower", "higher", "none"] = "none"
    #: a warning the terminal summary and the report show when any policy's mean of this
    #: metric is above zero (a run that is not to be trusted as it stands, e.g. a route plan
    #: cut short by its work budget); ``None`` = never
    alert: str | None = None


@dataclass(frozen=True)
class RunContext:
    """What the runner gives one replication besides the configuration.

    ``environment`` makes the model's SimPy environment; a model calls it instead of
    ``simpy.Environment()`` so that a benchmark can pass a subclass that counts events
    (:class:`simcity.bench.common.CountingEnvironment`) without patching SimPy.
    """

    horizon_hours: float
    warmup_hours: float
    streams: Streams
    replication: int
    environment: Callable[[], simpy.Environment] = simpy.Environment


@dataclass
class RunOutput:
    """The result of one replication of one policy.

    Attributes
    ----------
    metrics:
        City-wide scalar metrics, keyed by :attr:`Metric.name`; every metric the domain
        declares must be present (``nan`` when undefined, e.g. a mean over no drivers).
    by_entity:
        Per-entity scalar results as tidy rows ``(entity, metric, value)``, e.g. the turnover
        of each car park.
    by_time:
        Time series as tidy rows ``(entity, time_h, metric, value)``, e.g. hourly occupancy;
        ``entity`` may be ``"city"`` for city-wide series.
    """

    metrics: dict[str, float]
    by_entity: list[tuple[str, str, float]] = field(default_factory=list)
    by_time: list[tuple[str, float, str, float]] = field(default_factory=list)


class Domain(ABC):
    """A simulation domain; see the module docstring."""

    name: ClassVar[str]
    title: ClassVar[str]
    City: ClassVar[type[StrictModel]]
    Policy: ClassVar[type[PolicyBase]]
    metrics: ClassVar[tuple[Metric, ...]]
    #: the ``by_time`` metrics the report plots as lines over the day, per policy
    time_plots: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def run(self, city: Any, policy: Any, ctx: RunContext) -> RunOutput:
        """Simulate one replication of ``policy`` on ``city``."""

    def validate_policy(self, city: Any, policy: Any) -> list[str]:
        """Problems of ``policy`` that only show against ``city``, as ``"key: message"``.

        Called by the scenario loader after both validated on their own; the key is relative
        to the policy (e.g. ``"fleet_size: ... do not fit in the city's docks"``).  Default: none.
        """
        return []

    def check_output(self, out: RunOutput) -> RunOutput:
        """Verify the output declares exactly the domain's metrics (a programming error if not)."""
        declared = {m.name for m in self.metrics}
        got = set(out.metrics)
        if declared != got:
            raise RuntimeError(
                f"domain {self.name!r} returned metrics {sorted(got ^ declared)} inconsistently "
                "with its declaration"
            )
        for k, v in out.metrics.items():
            if not isinstance(v, float | int) or (isinstance(v, float) and math.isinf(v)):
                raise RuntimeError(f"domain {self.name!r}: metric {k!r} is not a finite number: {v!r}")
        return out

    def metric(self, name: str) -> Metric:
        """The declared metric called ``name``."""
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)
