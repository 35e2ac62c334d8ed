"""The domain contract, checked: what every domain (built in or a plug-in) must satisfy.

:func:`check_domain` runs a domain a few times on a small city and returns the ways it breaks
the contract of :mod:`simcity.domain` that the experiment runner relies on:

* **declared metrics** - every run reports exactly the metrics the domain declares, finite
  or ``nan`` (:meth:`Domain.check_output`), with declared ``better`` directions;
* **same seed, same output** - two runs of one (policy, seed, replication) give identical
  metrics, entity rows and time series, so a resumed or parallel run repeats a serial one;
* **replications differ** - another replication gives another output (a model that ignores
  its streams would report zero-width intervals);
* **random numbers only from the run's streams, never keyed by the policy** - no source name
  contains the policy's name (that would break common random numbers), and neither Python's
  ``random`` nor NumPy's global generator moves during a run;
* **pickle round trip** - city, policy and output survive pickling unchanged (process pools
  and Dask send them between processes).

Plug-in authors call it from their own tests::

    from simcity.testing import check_domain

    def test_contract():
        assert check_domain(DOMAIN, city, [policy_a, policy_b], horizon_hours=6.0) == []
"""

from __future__ import annotations

import math
import pickle
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from simcity.domain import Domain, RunContext, RunOutput
from simcity.rng import Streams


class RecordingStreams(Streams):
    """:class:`Streams` that remember which source names a run asked for."""

    __slots__ = ("names",)

    def __init__(self, seed: int, replication: int) -> None:
        super().__init__(seed, replication)
        self.names: set[str] = set()

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        self.names.add(name)
        return super().seed_sequence(name)


def _global_state() -> tuple[Any, Any]:
    return random.getstate(), np.random.get_state()  # noqa: NPY002 - reading it is the check


def _same(a: RunOutput, b: RunOutput) -> bool:
    def norm(m: dict[str, float]) -> dict[str, Any]:
        return {k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in m.items()}

    def rows(r: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [tuple("nan" if isinstance(x, float) and math.isnan(x) else x for x in row) for row in r]

    return (norm(a.metrics) == norm(b.metrics) and rows(a.by_entity) == rows(b.by_entity)
            and rows(a.by_time) == rows(b.by_time))


def check_domain(domain: Domain, city: Any, policies: Sequence[Any], *, horizon_hours: float,
                 warmup_hours: float = 0.0, seed: int = 1) -> list[str]:
    """Problems of ``domain`` against the contract (module doc), as sentences; ``[]`` = none.

    ``city`` and ``policies`` are validated configuration of the domain (small, so that the
    check takes seconds); every policy runs twice with replication 0 and once with 1.
    """
    problems: list[str] = []
    declared = {m.name for m in domain.metrics}
    for m in domain.metrics:
        if m.better not in ("lower", "higher", "none"):
            problems.append(f"metric {m.name!r}: better must be 'lower', 'higher' or 'none'")
    if len(declared) != len(domain.metrics):
        problems.append("two declared metrics share a name")
    for obj, what in ((city, "city"), *((p, f"policy {p.name!r}") for p in policies)):
        try:
            if pickle.loads(pickle.dumps(obj)) != obj:
                problems.append(f"{what} changes in a pickle round trip")
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            problems.append(f"{what} cannot be pickled: {type(exc).__name__}: {exc}")

    def run(policy: Any, replication: int) -> tuple[RunOutput | None, set[str]]:
        streams = RecordingStreams(seed, replication)
        ctx = RunContext(horizon_hours=horizon_hours, warmup_hours=warmup_hours, streams=streams,
                         replication=replication)
        before = _global_state()
        try:
            out = domain.run(city, policy, ctx)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"policy {policy.name!r}: run failed: {type(exc).__name__}: {exc}")
            return None, streams.names
        after = _global_state()
        if before[0] != after[0]:
            problems.append(f"policy {policy.name!r}: the run used Python's global random state")
        if not _same_state(before[1], after[1]):
            problems.append(f"policy {policy.name!r}: the run used NumPy's global random state")
        return out, streams.names

    for policy in policies:
        first, names = run(policy, 0)
        if first is None:
            continue
        try:
            domain.check_output(first)
        except RuntimeError as exc:
            problems.append(f"policy {policy.name!r}: {exc}")
        for k, v in first.metrics.items():
            if k in declared and isinstance(v, float) and math.isinf(v):
                problems.append(f"policy {policy.name!r}: metric {k!r} is infinite")
        keyed = sorted(n for n in names if policy.name and policy.name in n)
        if keyed:
            problems.append(f"policy {policy.name!r}: random sources {keyed} are named after the "
                            "policy, so policies do not share random numbers")
        if not names:
            problems.append(f"policy {policy.name!r}: the run drew no random numbers from its streams")
        again, _ = run(policy, 0)
        if again is not None and not _same(first, again):
            problems.append(f"policy {policy.name!r}: the same seed and replication gave different output")
        other, _ = run(policy, 1)
        if other is not None and names and _same(first, other):
            problems.append(f"policy {policy.name!r}: replications 0 and 1 gave identical output")
        try:
            if not _same(pickle.loads(pickle.dumps(first)), first):
                problems.append(f"policy {policy.name!r}: the output changes in a pickle round trip")
        except Exception as exc:  # noqa: BLE001
            problems.append(f"policy {policy.name!r}: the output cannot be pickled: {exc}")
    return problems


def _same_state(a: Any, b: Any) -> bool:
    """Whether two legacy ``np.random.get_state()`` tuples (name, keys, pos, gauss flags) agree."""
    return bool(a[0] == b[0] and np.array_equal(a[1], b[1]) and tuple(a[2:]) == tuple(b[2:]))
