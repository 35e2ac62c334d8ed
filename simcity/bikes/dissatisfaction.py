"""Raviv & Kolka's user dissatisfaction function of a bike station.

A station with ``C`` docks is a birth-death chain on its stock ``n in {0..C}``: returns arrive
at rate ``mu(t)`` and raise the stock (a return to a full station fails), rental requests
arrive at rate ``lambda(t)`` and lower it (a request at an empty station fails).  The
dissatisfaction function ``F(s)`` is the expected weighted number of failures over a period
when the period starts with ``s`` bikes (Raviv & Kolka 2013, "Optimal inventory management
of a bike-sharing station", IIE Transactions 45(10)).  Its minimiser is the stock to
rebalance to.

Computation: rates are piecewise constant (hourly).  Working backwards over the pieces,
``V_k = int_0^tau e^{Q s} c ds + e^{Q tau} V_{k+1}`` where ``c(n) = w_r lambda 1[n=0] +
w_f mu 1[n=C]`` is the failure rate in state ``n`` and ``Q`` the generator.  Both terms are
evaluated by uniformisation with rate ``Lambda = lambda + mu`` (Poisson weights of the jumps
of the uniformised chain), vectorised over all stations at once, and summed by Horner's
rule so each Poisson term costs one tridiagonal matrix-vector product.  :func:`dissatisfaction_expm`
does the same with dense matrix exponentials (scipy, Van Loan's block trick) for one station,
as an independent reference.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np
import scipy.linalg
import scipy.special
from numpy.typing import NDArray
from scipy.stats import poisson


def _segments(start_h: float, end_h: float) -> list[tuple[int, float]]:
    """Split ``[start_h, end_h)`` into (hour of day, length) pieces, hour boundaries included."""
    out = []
    t = start_h
    while t < end_h - 1e-12:
        nxt = min(np.floor(t + 1e-12) + 1.0, end_h)
        out.append((int(np.floor(t + 1e-12)) % 24, nxt - t))
        t = nxt
    return out


def dissatisfaction(
    lam: NDArray[np.float64],
    mu: NDArray[np.float64],
    capacity: NDArray[np.int64],
    start_h: float,
    end_h: float,
    return_weight: float = 1.0,
    tol: float = 1e-10,
    terms: Mapping[int, Sequence[int]] | None = None,
) -> NDArray[np.float64]:
    """Expected failures over ``[start_h, end_h)`` by starting stock, for every station.

    Parameters
    ----------
    lam, mu:
        ``(24, n)`` rental-request and return rates per hour of day.
    capacity:
        ``(n,)`` docks per station.
    start_h, end_h:
        The period, hours (may run past 24: the day repeats).
    return_weight:
        Weight of a failed return relative to a failed rental.
    tol:
        Poisson tail mass neglected by the uniformisation.
    terms:
        Poisson terms per segment of each rate block (:func:`poisson_terms`); by default those
        of the stations given.  A station's result depends on the other stations only through
        its block's terms, so with the terms of a fixed set of stations (a whole city) any
        subset, in any order and with any capacities, gives each station exactly what the
        whole set would.

    Returns
    -------
    ``(n, max(capacity) + 1)`` array ``F[i, s]``; entries with ``s > capacity[i]`` are ``inf``.
    """
    cap = np.asarray(capacity, dtype=np.int64)
    n = len(cap)
    width = int(cap.max()) + 1 if n else 1
    out = np.full((n, width), np.inf)
    segments = _segments(start_h, end_h)
    if n == 0:
        return out
    lam = np.asarray(lam, dtype=float)
    mu = np.asarray(mu, dtype=float)
    block = rate_blocks(lam, mu)
    if terms is None:
        terms = poisson_terms(lam, mu, start_h, end_h, tol)
    for b in np.unique(block).tolist():
        if b not in terms:
            raise ValueError(f"no Poisson terms given for rate block {b}")
        idx = np.flatnonzero(block == b)
        # within a block, groups of similar capacity: a station's result does not depend on
        # the width it is computed in (states above its capacity are never read), so the
        # groups only save the work on padding
        for grp in _capacity_groups(idx, cap[idx]):
            sub = _block(lam[:, grp], mu[:, grp], cap[grp], segments, return_weight, terms[b])
            out[grp, : sub.shape[1]] = sub
    out[np.arange(width)[None, :] > cap[:, None]] = np.inf
    return out


def rate_blocks(lam: NDArray[np.float64], mu: NDArray[np.float64]) -> NDArray[np.int64]:
    """Each station's rate block: ``floor(log_1.5(peak hourly lam + mu + 1))``.

    The number of Poisson terms follows the busiest station of a block and the work the
    largest capacity: blocks of stations with similar peak rates keep both small for most.
    """
    peak = np.max(np.asarray(lam) + np.asarray(mu), axis=0)
    return np.floor(np.log(peak + 1.0) / np.log(1.5)).astype(np.int64)


def poisson_terms(lam: NDArray[np.float64], mu: NDArray[np.float64], start_h: float, end_h: float,
                  tol: float = 1e-10) -> dict[int, tuple[int, ...]]:
    """Poisson terms of the uniformisation per segment of ``[start_h, end_h)`` (in time order)
    for each rate block of these stations: enough for the block's busiest station to leave
    out at most ``tol`` of its Poisson mass."""
    lam = np.asarray(lam, dtype=float)
    mu = np.asarray(mu, dtype=float)
    block = rate_blocks(lam, mu)
    out: dict[int, tuple[int, ...]] = {}
    for b in np.unique(block).tolist():
        idx = np.flatnonzero(block == b)
        ks = []
        for hour, tau in _segments(start_h, end_h):
            rate = np.maximum(lam[hour, idx] + mu[hour, idx], 1e-12)
            ks.append(int(poisson.isf(tol, float((rate * tau).max()))) + 2)
        out[b] = tuple(ks)
    return out


def _capacity_groups(idx: NDArray[np.int64], cap: NDArray[np.int64]) -> list[NDArray[np.int64]]:
    """``idx`` split by capacity into at most 3 groups of near-equal size (one if small)."""
    if len(idx) < 96:
        return [idx]
    order = np.argsort(cap, kind="stable")
    return [np.sort(idx[part]) for part in np.array_split(order, 3)]


def _block(lam: NDArray[np.float64], mu: NDArray[np.float64], cap: NDArray[np.int64],
           segments: list[tuple[int, float]], return_weight: float, terms: Sequence[int]
           ) -> NDArray[np.float64]:
    """:func:`dissatisfaction` for one block of stations (vectorised over the block), with
    ``terms[k]`` Poisson terms for segment ``k``.

    Arrays are laid out state by station (``[s, i]``) so that the neighbour shifts of the
    chain are contiguous slices.  Two additions are skipped where they add exact zeros: the
    failure rate ``c`` is nonzero only in the empty and the full state (added there by index),
    and the continuation value ``V`` is zero in the period's last segment.
    """
    n = len(cap)
    width = int(cap.max()) + 1
    states = np.arange(width)
    up_ok = states[:, None] < cap[None, :]  # a return is possible (not full)
    down_ok = np.broadcast_to((states > 0)[:, None], (width, n))
    at_full = states[:, None] == cap[None, :]
    at_empty = np.broadcast_to((states == 0)[:, None], (width, n))
    cols = np.flatnonzero(cap > 0)
    full_rows = cap[cols]
    at_full_flat = full_rows * n + cols  # index of (cap[i], i) in the flattened (width, n) array
    V = np.zeros((width, n))
    zero_V = True
    for seg in range(len(segments) - 1, -1, -1):
        hour, tau = segments[seg]
        K = int(terms[seg])
        lr = lam[hour]
        m = mu[hour]
        c = lr[None, :] * at_empty + return_weight * m[None, :] * at_full
        c_empty = c[0]
        c_full = c[full_rows, cols]
        rate = np.maximum(lr + m, 1e-12)
        mean = rate * tau
        pmf, sf = _poisson_weights(mean, K)
        a = (lr / rate)[None, :] * down_ok  # probability the uniformised jump is a rental
        b = (m / rate)[None, :] * up_ok
        stay = 1.0 - a - b
        a_in = a[1:]
        b_in = b[:-1]
        alpha = np.ascontiguousarray((sf / rate[:, None]).T)  # (K+1, n) weights of c
        pmf_t = np.ascontiguousarray(pmf.T)
        # Horner: sum_k P^k y_k with y_k = alpha_k c + pmf_k V, P f = stay f + a f(n-1) + b f(n+1);
        # in place, two buffers, so each term costs a handful of passes over the block
        acc = alpha[K][None, :] * c + pmf_t[K][None, :] * V
        new = np.empty_like(acc)
        tmp = np.empty_like(acc)
        acc_flat, new_flat = acc.reshape(-1), new.reshape(-1)  # views of the same buffers
        for k in range(K - 1, -1, -1):
            np.multiply(stay, acc, out=new)
            np.multiply(a_in, acc[:-1], out=tmp[1:])
            new[1:] += tmp[1:]
            np.multiply(b_in, acc[1:], out=tmp[:-1])
            new[:-1] += tmp[:-1]
            ak = alpha[k]
            new[0] += ak * c_empty
            new_flat.put(at_full_flat, new_flat.take(at_full_flat) + ak[cols] * c_full)
            if not zero_V:
                np.multiply(pmf_t[k][None, :], V, out=tmp)
                new += tmp
            acc, new = new, acc
            acc_flat, new_flat = new_flat, acc_flat
        V = acc
        zero_V = False
    # -0.0 + 0.0 = +0.0: zeros carry no sign (a skipped "+ 0" would otherwise keep one)
    return np.ascontiguousarray(V.T) + 0.0


def _poisson_weights(mean: NDArray[np.float64], K: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(pmf, sf)`` of Poisson(``mean``) at ``0..K``, shape ``(len(mean), K + 1)``.

    The probability mass in log space (no underflow for large means), the survival function
    ``P(N > k)`` as 1 minus the running sum (absolute error ~1e-16, far below ``tol``).
    """
    ks = np.arange(K + 1, dtype=float)
    logm = np.log(np.maximum(mean, 1e-300))[:, None]
    pmf = np.exp(ks[None, :] * logm - mean[:, None] - scipy.special.gammaln(ks + 1.0)[None, :])
    sf = np.maximum(1.0 - np.cumsum(pmf, axis=1), 0.0)
    return pmf, sf


def dissatisfaction_expm(
    lam: NDArray[np.float64], mu: NDArray[np.float64], capacity: int, start_h: float, end_h: float,
    return_weight: float = 1.0,
) -> NDArray[np.float64]:
    """Reference for one station (``lam``, ``mu`` of shape ``(24,)``) by dense matrix exponentials.

    ``expm([[Q, I], [0, 0]] tau)`` holds ``e^{Q tau}`` and ``int_0^tau e^{Q s} ds`` in its
    top blocks (Van Loan 1978).
    """
    C = int(capacity)
    N = C + 1
    V = np.zeros(N)
    for hour, tau in reversed(_segments(start_h, end_h)):
        lr, m = float(lam[hour]), float(mu[hour])
        Q = np.zeros((N, N))
        for s in range(N):
            if s > 0:
                Q[s, s - 1] = lr
            if s < C:
                Q[s, s + 1] = m
            Q[s, s] = -Q[s].sum()
        c = np.zeros(N)
        c[0] += lr
        c[C] += return_weight * m
        big = np.zeros((2 * N, 2 * N))
        big[:N, :N] = Q
        big[:N, N:] = np.eye(N)
        E = scipy.linalg.expm(big * tau)
        V = E[:N, N:] @ c + E[:N, :N] @ V
    return V


class FunctionCache:
    """Dissatisfaction functions by the content of their inputs (an LRU bounded in bytes).

    :func:`dissatisfaction` is deterministic in its inputs (no randomness, no clock), so a hit
    returns the very array a new computation would; the cache is shared by every run of a
    process (replications, policies on the same docks and rates, the days of a run) and changes
    only how long a comparison takes.  Cached arrays are read-only.
    """

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._store: OrderedDict[bytes, NDArray[np.float64]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(lam: NDArray[np.float64], mu: NDArray[np.float64], capacity: NDArray[np.int64],
            *settings: float) -> bytes:
        """A digest of everything the function depends on."""
        h = hashlib.blake2b(digest_size=20)
        for arr in (np.asarray(lam, dtype=float), np.asarray(mu, dtype=float),
                    np.asarray(capacity, dtype=np.int64)):
            h.update(repr(arr.shape).encode())
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(repr(settings).encode())
        return h.digest()

    def get(self, key: bytes) -> NDArray[np.float64] | None:
        """The cached function, or ``None``."""
        F = self._store.get(key)
        if F is not None:
            self._store.move_to_end(key)
            self.hits += 1
        return F

    def put(self, key: bytes, F: NDArray[np.float64]) -> None:
        """Keep ``F`` (made read-only), evicting the least recently used beyond ``max_bytes``."""
        F.setflags(write=False)
        old = self._store.pop(key, None)
        if old is not None:
            self._bytes -= old.nbytes
        self._store[key] = F
        self._bytes += F.nbytes
        self.misses += 1
        while self._bytes > self.max_bytes and len(self._store) > 1:
            _, gone = self._store.popitem(last=False)
            self._bytes -= gone.nbytes

    def clear(self) -> None:
        """Forget every function (and the hit counts)."""
        self._store.clear()
        self._bytes = 0
        self.hits = self.misses = 0


#: The process-wide cache of :func:`cached_dissatisfaction`.
FUNCTION_CACHE = FunctionCache()


def cached_dissatisfaction(
    lam: NDArray[np.float64], mu: NDArray[np.float64], capacity: NDArray[np.int64],
    start_h: float, end_h: float, return_weight: float = 1.0, tol: float = 1e-10,
) -> NDArray[np.float64]:
    """:func:`dissatisfaction` through :data:`FUNCTION_CACHE` (read-only result)."""
    key = FunctionCache.key(lam, mu, capacity, float(start_h), float(end_h), float(return_weight),
                            float(tol))
    F = FUNCTION_CACHE.get(key)
    if F is None:
        F = dissatisfaction(lam, mu, capacity, start_h, end_h, return_weight, tol)
        FUNCTION_CACHE.put(key, F)
    return F


def allocate(F: NDArray[np.float64], capacity: NDArray[np.int64], bikes: int) -> NDArray[np.int64]:
    """Stocks minimising ``sum_i F[i, s_i]`` subject to ``sum_i s_i = bikes``.

    Greedy on marginal changes ``F[i, s+1] - F[i, s]``: exact when each ``F[i]`` is convex
    (Raviv & Kolka observe it is in practice; the marginals are made non-decreasing first, so
    the greedy choice is always a contiguous fill).  With ``bikes`` equal to the sum of the
    stations' minimisers this is the per-station argmin.
    """
    cap = np.asarray(capacity, dtype=np.int64)
    total = int(cap.sum())
    if not 0 <= bikes <= total:
        raise ValueError(f"cannot place {bikes} bikes in {total} docks")
    width = F.shape[1]
    marg = np.diff(np.where(np.isfinite(F), F, np.nan), axis=1)  # (n, width-1)
    marg = np.fmax.accumulate(np.nan_to_num(marg, nan=-np.inf), axis=1)  # convexify
    valid = np.arange(width - 1)[None, :] < cap[:, None]
    flat = np.where(valid, marg, np.inf).ravel()
    if bikes == 0:
        return np.zeros(len(cap), dtype=np.int64)
    chosen = np.argpartition(flat, bikes - 1)[:bikes]
    return np.bincount(chosen // (width - 1), minlength=len(cap)).astype(np.int64)
