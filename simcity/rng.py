"""Random streams: one ``numpy.random.Generator`` per random source per replication.

Every generator is spawned from ``SeedSequence(entropy=seed, spawn_key=(replication,
source_id))`` where ``source_id`` is a stable 32-bit hash of the source name.  The policy
is *not* part of the key, so every policy of a scenario sees the same arrivals, durations
and choices for the same replication: common random numbers.  No global random state is
used anywhere in simcity.
"""

from __future__ import annotations

import zlib

import numpy as np


def source_id(name: str) -> int:
    """Stable 32-bit identifier of a random-source name (CRC-32, identical on every platform)."""
    return zlib.crc32(name.encode("utf-8")) & 0xFFFFFFFF


class Streams:
    """The random sources of one replication, created lazily by name.

    Parameters
    ----------
    seed:
        The scenario seed.
    replication:
        Zero-based replication index.

    Examples
    --------
    >>> s = Streams(seed=1, replication=0)
    >>> a = s["arrivals"].random()
    >>> a == Streams(seed=1, replication=0)["arrivals"].random()
    True
    """

    __slots__ = ("seed", "replication", "_gens")

    def __init__(self, seed: int, replication: int) -> None:
        if seed < 0 or replication < 0:
            raise ValueError("seed and replication must be non-negative")
        self.seed = int(seed)
        self.replication = int(replication)
        self._gens: dict[str, np.random.Generator] = {}

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        """The seed sequence of source ``name`` for this replication."""
        return np.random.SeedSequence(entropy=self.seed, spawn_key=(self.replication, source_id(name)))

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._gens.get(name)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(self.seed_sequence(name)))
            self._gens[name] = gen
        return gen

    def integer_seed(self, name: str) -> int:
        """A reproducible non-negative 31-bit integer seed for libraries that take an int
        (e.g. a solver's random seed), derived from source ``name``."""
        return int(self.seed_sequence(name).generate_state(1, dtype=np.uint32)[0] >> 1)
