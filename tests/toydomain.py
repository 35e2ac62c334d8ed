"""A tiny loss-system domain used to test the foundation independently of the city models.

Customers arrive by a Poisson process, each holds one of ``servers`` servers for an
exponential time, and is lost when all servers are busy (M/M/c/c). Policies change the number
of servers; arrivals and service times come from separate named streams, so two policies see
the same customers (common random numbers).
"""

from __future__ import annotations

import math
from typing import ClassVar

import simpy
from pydantic import Field

from simcity.domain import Domain, Metric, PolicyBase, RunContext, RunOutput, StrictModel


class ToyCity(StrictModel):
    arrival_rate: float = Field(gt=0, le=1e4, description="Arrivals per hour.")
    mean_service_h: float = Field(gt=0, le=100, description="Mean service time (hours).")


class ToyPolicy(PolicyBase):
    servers: int = Field(1, ge=1, le=1000, description="Number of servers.")


class ToyDomain(Domain):
    name: ClassVar[str] = "toy"
    title: ClassVar[str] = "Toy loss system"
    City = ToyCity
    Policy = ToyPolicy
    metrics: ClassVar[tuple[Metric, ...]] = (
        Metric("blocking", "Share of arrivals lost", "share", "lower"),
        Metric("occupancy", "Time-average busy servers", "servers", "none"),
        Metric("served", "Customers served", "customers", "higher"),
    )
    time_plots: ClassVar[tuple[str, ...]] = ("busy",)
    series: ClassVar[tuple[Metric, ...]] = (Metric("busy", "Busy servers", "servers"),)
    tradeoffs: ClassVar[tuple[tuple[str, str], ...]] = (("served", "blocking"),)

    def run(self, city: ToyCity, policy: ToyPolicy, ctx: RunContext) -> RunOutput:  # type: ignore[override]
        env = simpy.Environment()
        arr = ctx.streams["arrivals"]
        svc = ctx.streams["service"]
        state = {"busy": 0, "arrived": 0, "lost": 0, "served": 0, "area": 0.0, "last": 0.0}
        hourly: dict[int, float] = {}
        horizon = ctx.horizon_hours

        def account(now: float) -> None:
            # integrate busy servers over time, split by hour for the time series
            t0 = state["last"]
            while t0 < now:
                h = int(t0)
                t1 = min(now, h + 1.0)
                hourly[h] = hourly.get(h, 0.0) + state["busy"] * (t1 - t0)
                t0 = t1
            state["area"] += state["busy"] * (now - state["last"])
            state["last"] = now

        def customer(duration: float):  # type: ignore[no-untyped-def]
            yield env.timeout(duration)
            account(env.now)
            state["busy"] -= 1
            state["served"] += 1

        def source():  # type: ignore[no-untyped-def]
            while True:
                yield env.timeout(arr.exponential(1.0 / city.arrival_rate))
                duration = svc.exponential(city.mean_service_h)
                state["arrived"] += 1
                if state["busy"] >= policy.servers:
                    state["lost"] += 1
                    continue
                account(env.now)
                state["busy"] += 1
                env.process(customer(duration))

        env.process(source())
        env.run(until=horizon)
        account(horizon)
        n = state["arrived"]
        return RunOutput(
            metrics={
                "blocking": state["lost"] / n if n else float("nan"),
                "occupancy": state["area"] / horizon,
                "served": float(state["served"]),
            },
            by_time=[("city", float(h), "busy", v) for h, v in sorted(hourly.items()) if h < horizon],
        )


DOMAIN = ToyDomain()

TOY_TOML = """\
model = "toy"
name = "toy loss system"
description = "Three server counts on the same arrivals."
seed = 7
replications = 6
horizon_hours = 48.0

[city]
arrival_rate = 4.0
mean_service_h = 0.5

[[policies]]
name = "one"
servers = 1

[[policies]]
name = "two"
servers = 2

[[policies]]
name = "three"
servers = 3
"""


# ---------------------------------------------------------------------------------------
# an analytic response for global sensitivity: the Ishigami function (Ishigami & Homma 1990)


class IshigamiCity(StrictModel):
    x1: float = Field(0.0, ge=-4, le=4, description="First input, swept over [-pi, pi].")
    x2: float = Field(0.0, ge=-4, le=4, description="Second input.")
    x3: float = Field(0.0, ge=-4, le=4, description="Third input.")
    noise: float = Field(0.0, ge=0, description="Sd of a normal noise added to the response (stream 'noise').")


class IshigamiPolicy(PolicyBase):
    a: float = Field(7.0, description="Ishigami a.")
    b: float = Field(0.1, description="Ishigami b.")
    k: float = Field(1.0, description="Weight of the Ishigami term.")
    c1: float = Field(0.0, description="Linear coefficient of x1.")
    c2: float = Field(0.0, description="Linear coefficient of x2.")
    c3: float = Field(0.0, description="Linear coefficient of x3.")


class IshigamiDomain(Domain):
    """y = k (sin x1 + a sin^2 x2 + b x3^4 sin x1) + c . x (+ noise), no simulation at all."""

    name: ClassVar[str] = "ishigami"
    title: ClassVar[str] = "Ishigami function"
    City = IshigamiCity
    Policy = IshigamiPolicy
    metrics: ClassVar[tuple[Metric, ...]] = (Metric("y", "Ishigami response", "", "none"),)

    def run(self, city: IshigamiCity, policy: IshigamiPolicy, ctx: RunContext) -> RunOutput:  # type: ignore[override]
        y = policy.k * (math.sin(city.x1) + policy.a * math.sin(city.x2) ** 2
                        + policy.b * city.x3 ** 4 * math.sin(city.x1))
        y += policy.c1 * city.x1 + policy.c2 * city.x2 + policy.c3 * city.x3
        if city.noise > 0:
            y += float(ctx.streams["noise"].normal(0.0, city.noise))
        return RunOutput(metrics={"y": y})


ISHIGAMI = IshigamiDomain()


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[list[float], list[float]]:
    """Analytic first-order and total Sobol' indices of the Ishigami function on [-pi, pi]^3."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return [v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v]


ISHIGAMI_TOML = """\
model = "ishigami"
name = "ishigami"
seed = 11
replications = 1
horizon_hours = 1.0

[city]
noise = 0.0

[[policies]]
name = "ishigami"

[[policies]]
name = "linear"
k = 0.0
c1 = 1.0
c2 = 2.0

[sweep]
method = "sobol"
samples = 1024
bootstrap = 500

[[sweep.parameters]]
path = "city.x1"
low = -3.141592653589793
high = 3.141592653589793

[[sweep.parameters]]
path = "city.x2"
low = -3.141592653589793
high = 3.141592653589793

[[sweep.parameters]]
path = "city.x3"
low = -3.141592653589793
high = 3.141592653589793
"""
