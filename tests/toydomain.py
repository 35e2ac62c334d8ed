"""A tiny loss-system domain used to test the foundation independently of the city models.

Customers arrive by a Poisson process, each holds one of ``servers`` servers for an
exponential time, and is lost when all servers are busy (M/M/c/c). Policies change the number
of servers; arrivals and service times come from separate named streams, so two policies see
the same customers (common random numbers).
"""

from __future__ import annotations

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
