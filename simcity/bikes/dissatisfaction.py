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
    # The number of Poisson terms follows the busiest station of a block and the work the
    # largest capacity: blocks of stations with similar peak rates keep both small for most.
    peak = np.max(np.asarray(lam) + np.asarray(mu), axis=0)
    block = np.floor(np.log(peak + 1.0) / np.log(1.5)).astype(np.int64)
    for b in np.unique(block):
        idx = np.flatnonzero(block == b)
        sub = _block(np.asarray(lam)[:, idx], np.asarray(mu)[:, idx], cap[idx], segments,
                     return_weight, tol)
        out[idx, : sub.shape[1]] = sub
    out[np.arange(width)[None, :] > cap[:, None]] = np.inf
    return out


def _block(lam: NDArray[np.float64], mu: NDArray[np.float64], cap: NDArray[np.int64],
           segments: list[tuple[int, float]], return_weight: float, tol: float) -> NDArray[np.float64]:
    """:func:`dissatisfaction` for one block of stations (vectorised over the block)."""
    n = len(cap)
    width = int(cap.max()) + 1
    states = np.arange(width)
    up_ok = states[None, :] < cap[:, None]  # a return is possible (not full)
    down_ok = (states > 0)[None, :]
    at_full = states[None, :] == cap[:, None]
    at_empty = np.broadcast_to(states[None, :] == 0, (n, width))
    V = np.zeros((n, width))
    for hour, tau in reversed(segments):
        lr = lam[hour]
        m = mu[hour]
        c = lr[:, None] * at_empty + return_weight * m[:, None] * at_full
        rate = np.maximum(lr + m, 1e-12)
        mean = rate * tau
        K = int(poisson.isf(tol, float(mean.max()))) + 2
        pmf, sf = _poisson_weights(mean, K)
        a = (lr / rate)[:, None] * down_ok  # probability the uniformised jump is a rental
        b = (m / rate)[:, None] * up_ok
        stay = 1.0 - a - b
        a_in = a[:, 1:]
        b_in = b[:, :-1]
        alpha = sf / rate[:, None]  # (n, K+1) weights of c
        # Horner: sum_k P^k y_k with y_k = alpha_k c + pmf_k V, P f = stay f + a f(n-1) + b f(n+1);
        # in place, two buffers, so each term costs a handful of passes over the block
        acc = alpha[:, K:K + 1] * c + pmf[:, K:K + 1] * V
        new = np.empty_like(acc)
        tmp = np.empty_like(acc)
        for k in range(K - 1, -1, -1):
            np.multiply(stay, acc, out=new)
            np.multiply(a_in, acc[:, :-1], out=tmp[:, 1:])
            new[:, 1:] += tmp[:, 1:]
            np.multiply(b_in, acc[:, 1:], out=tmp[:, :-1])
            new[:, :-1] += tmp[:, :-1]
            np.multiply(alpha[:, k:k + 1], c, out=tmp)
            new += tmp
            np.multiply(pmf[:, k:k + 1], V, out=tmp)
            new += tmp
            acc, new = new, acc
        V = acc
    return V


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
