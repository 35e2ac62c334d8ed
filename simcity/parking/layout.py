"""The parking city as flat arrays: tariffs compiled for fast evaluation, stay distributions,
and the layout of one policy (facilities, choice sets, walking and cruising distances, opening
intervals).

:func:`build_layout` turns the validated :class:`~simcity.parking.config.City` and
:class:`~simcity.parking.config.Policy` into a :class:`Layout`.  Choice sets depend on geometry
only, never on the policy, so that random draws line up across policies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import ndtr, ndtri

from simcity.parking.config import City, Duration, KerbTaken, Policy, Tariff, check_policy

INF = math.inf
#: money amounts below this (yuan, yuan/h) count as this in the cost and rate ratios of the
#: elasticities (the ratio to a free option is undefined)
RATIO_FLOOR = 1.0

# --------------------------------------------------------------------------- tariffs
#: billing units per tariff whose base charge is tabulated (longer stays are computed)
_TABLE_UNITS = 200


@dataclass(frozen=True)
class TariffCalc:
    """A tariff compiled for fast evaluation; ``shift`` is added to every band's hourly rate."""

    free_h: float
    unit_h: float
    bands: tuple[tuple[float, float, float], ...]  # (from_h, to_h, rate)
    cap: float
    min_rate: float
    #: uncapped, unshifted charge for 0, 1, 2, ... billing units (a lookup per session)
    table: tuple[float, ...] = ()

    @classmethod
    def of(cls, t: Tariff) -> TariffCalc:
        bands = []
        lo = 0.0
        for tier in t.tiers:
            hi = INF if tier.up_to_hours is None else tier.up_to_hours
            bands.append((lo, hi, tier.rate_per_hour))
            lo = hi
        calc = cls(
            free_h=t.free_minutes / 60.0,
            unit_h=t.billing_minutes / 60.0,
            bands=tuple(bands),
            cap=INF if t.daily_cap is None else t.daily_cap,
            min_rate=min(b[2] for b in bands),
        )
        table = tuple(calc._banded(n * calc.unit_h) for n in range(_TABLE_UNITS))
        return cls(calc.free_h, calc.unit_h, calc.bands, calc.cap, calc.min_rate, table)

    def _banded(self, billed_h: float) -> float:
        total = 0.0
        for lo, hi, rate in self.bands:
            if billed_h <= lo:
                break
            total += rate * (min(billed_h, hi) - lo)
        return total

    def units(self, stay_h: float) -> int:
        """Billing units charged: started units count in full, none within the grace period."""
        if stay_h <= self.free_h:
            return 0
        return math.ceil(stay_h / self.unit_h - 1e-9)

    def billable(self, stay_h: float) -> float:
        """Billed hours."""
        return self.units(stay_h) * self.unit_h

    def charge(self, stay_h: float, shift: float = 0.0) -> float:
        """Charge for a stay of ``stay_h`` hours with every band's rate raised by ``shift``."""
        n = self.units(stay_h)
        if n == 0:
            return 0.0
        base = self.table[n] if n < len(self.table) else self._banded(n * self.unit_h)
        return min(base + shift * n * self.unit_h, self.cap)

    def rate_at(self, t_h: float) -> float:
        """Hourly rate of the band in force ``t_h`` hours into a stay (unshifted)."""
        for _lo, hi, rate in self.bands:
            if t_h < hi:
                return rate
        return self.bands[-1][2]


def responsive_stay(d: float, tariff: TariffCalc, shift: float, ref: TariffCalc, elasticity: float) -> float:
    """Stay of a driver who intended ``d`` hours under the reference tariff ``ref`` when
    ``tariff`` (every band raised by ``shift``) is in force.

    The intention is spent at the rate w(t) = (r(t) / r_ref(t)) ** -elasticity per hour of stay,
    where r and r_ref are the marginal hourly rates t hours into the stay (at least
    :data:`RATIO_FLOOR`): a dearer hour than the reference shortens the rest of the stay by the
    elasticity, a cheaper one lengthens it, equal rates leave it as intended.  The stay T solves
    the integral of w over [0, T] = d.  Grace periods, billing units and caps are ignored here.
    """
    cuts = sorted({lo for lo, _, _ in tariff.bands} | {lo for lo, _, _ in ref.bands})
    spent = 0.0
    for a, b in zip(cuts, [*cuts[1:], INF], strict=True):
        w = (max(tariff.rate_at(a) + shift, RATIO_FLOOR) / max(ref.rate_at(a), RATIO_FLOOR)) ** -elasticity
        if spent + w * (b - a) >= d:
            return a + (d - spent) / w
        spent += w * (b - a)
    return d  # not reached: the last segment is open-ended


# --------------------------------------------------------------------------- durations
def duration_quantile(dist: Duration, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of the duration distribution at uniforms ``u`` (hours)."""
    if dist.kind == "exponential":
        return -dist.mean_hours * np.log1p(-u)
    if dist.kind == "fixed":
        return np.full_like(u, dist.mean_hours)
    s2 = math.log1p(dist.cv**2)
    mu = math.log(dist.mean_hours) - s2 / 2.0
    return np.exp(mu + math.sqrt(s2) * ndtri(u))


def expected_excess(dist: Duration, m: float) -> float:
    """E[(D - m)+]: expected overstay beyond a maximum stay ``m`` (hours)."""
    mean = dist.mean_hours
    if dist.kind == "exponential":
        return mean * math.exp(-m / mean)
    if dist.kind == "fixed":
        return max(0.0, mean - m)
    s = math.sqrt(math.log1p(dist.cv**2))
    mu = math.log(mean) - s * s / 2.0
    d1 = (mu + s * s - math.log(m)) / s
    return float(mean * ndtr(d1) - m * ndtr(d1 - s))


# --------------------------------------------------------------------------- layout
@dataclass
class Layout:
    """Flat, index-based view of the city under one policy (built once per run)."""

    ids: list[str]
    is_kerb: np.ndarray  # bool (F,)
    is_shared: np.ndarray  # bool (F,)
    berths: np.ndarray  # int (F,) including the policy's added berths
    tariff_of: list[TariffCalc]  # per facility, after policy overrides
    pay_at_exit: np.ndarray  # bool (F,)
    max_stay: np.ndarray  # float (F,), inf for car parks
    intervals: list[list[tuple[float, float]]]  # absolute open intervals per facility
    opts: np.ndarray  # int (Z, K) facility index per option, -1 = padding
    walk_m: np.ndarray  # float (Z, K), inf for padding
    cruise_m: np.ndarray  # float (Z, K, K) driving distance between options
    reprice: np.ndarray  # bool (F,) facilities under responsive pricing
    #: per facility, the city's own tariff (the reference of the elasticities)
    ref_tariff_of: list[TariffCalc] = field(default_factory=list)
    #: kerb segments that lose berths to other uses (the kerb-taken table): facility index ->
    #: absolute ``(start, end, berths removed)`` periods in hours, sorted and disjoint
    taken: dict[int, list[tuple[float, float, int]]] = field(default_factory=dict)


def _open_intervals(windows: list[tuple[float, float]], days: int) -> list[tuple[float, float]]:
    """Absolute open intervals over ``days`` days, merged across midnight; the last is open-ended
    when it runs to the end of the generated range (the pattern repeats every day)."""
    spans = sorted((24.0 * d + s, 24.0 * d + e) for d in range(days) for s, e in windows)
    merged: list[list[float]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1] + 1e-12:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    end = 24.0 * days
    return [(s, INF if e >= end - 1e-12 else e) for s, e in merged]


def removed_berths(city: City, rows: Sequence[KerbTaken], days: int) -> dict[int, list[tuple[float, float, int]]]:
    """The kerb-taken table as berths removed: per kerb facility index (car parks first), the
    periods of ``days`` days (the table repeats every day) with ``ceil(metres taken /
    berth_length_m)`` berths removed, at most the segment's berths.  Rows of one segment that
    overlap add up (two uses of one kerb)."""
    n_cp = len(city.car_parks)
    index = {f.id: j for j, f in enumerate(city.kerb_segments)}
    deltas: dict[int, dict[int, float]] = {}
    for r in rows:
        d = deltas.setdefault(index[r.segment], {})
        d[r.start_min] = d.get(r.start_min, 0.0) + r.taken_m
        d[r.end_min] = d.get(r.end_min, 0.0) - r.taken_m
    out: dict[int, list[tuple[float, float, int]]] = {}
    for j, d in sorted(deltas.items()):
        seg = city.kerb_segments[j]
        pieces: list[tuple[int, int, int]] = []
        metres = 0.0
        cuts = sorted(d)
        for a, b in zip(cuts, cuts[1:], strict=False):
            metres += d[a]
            n = min(seg.berths, math.ceil(metres / seg.berth_length_m - 1e-9)) if metres > 1e-9 else 0
            if n <= 0:
                continue
            if pieces and pieces[-1][1] == a and pieces[-1][2] == n:
                pieces[-1] = (pieces[-1][0], b, n)
            else:
                pieces.append((a, b, n))
        if pieces:
            out[n_cp + j] = [(24.0 * day + a / 60.0, 24.0 * day + b / 60.0, n)
                             for day in range(days) for a, b, n in pieces]
    return out


def build_layout(city: City, policy: Policy, horizon_hours: float,
                 taken: Sequence[KerbTaken] | None = None) -> Layout:
    """Index the facilities and choice sets of ``city`` under ``policy``; ``taken`` is the
    kerb-taken table (default ``city.kerb_taken``) whose kerb parkers cannot use."""
    errors = check_policy(city, policy)
    if errors:
        raise ValueError(f"policy {policy.name!r}: " + "; ".join(errors))
    facs: list[Any] = [*city.car_parks, *city.kerb_segments]
    n_cp = len(city.car_parks)
    ids = [f.id for f in facs]
    is_kerb = np.array([k >= n_cp for k in range(len(facs))], dtype=bool)
    is_shared = np.array([k < n_cp and f.shared for k, f in enumerate(facs)], dtype=bool)
    berths = np.array([f.berths + policy.add_berths.get(f.id, 0) for f in facs], dtype=np.int64)
    city_tariffs = {name: TariffCalc.of(t) for name, t in city.tariffs.items()}
    tariffs = {name: TariffCalc.of(policy.tariffs[name]) if name in policy.tariffs else city_tariffs[name]
               for name in city.tariffs}
    tariff_of = [tariffs[f.tariff] for f in facs]
    if policy.payment == "as_city":
        pay = [k < n_cp and f.payment == "pay_at_exit" for k, f in enumerate(facs)]
    else:
        pay = [k < n_cp and policy.payment == "pay_at_exit" for k in range(len(facs))]
    pay_at_exit = np.array(pay, dtype=bool)
    max_stay = np.array([f.max_stay_hours if k >= n_cp else INF for k, f in enumerate(facs)])
    days = int(math.ceil(horizon_hours / 24.0)) + 2
    intervals = [
        [] if (is_shared[k] and not policy.open_shared_berths) else _open_intervals(f.public_hours, days)
        for k, f in enumerate(facs)
    ]
    rp = policy.responsive_pricing
    applies = set(rp.applies_to) if rp is not None else set()
    reprice = np.array(
        [
            (("kerb_segments" in applies) if is_kerb[k] else
             ("shared" in applies) if is_shared[k] else ("car_parks" in applies))
            for k in range(len(facs))
        ],
        dtype=bool,
    )
    opts, walk_m, cruise_m = _choice_sets(city, facs)
    removed = removed_berths(city, city.kerb_taken if taken is None else taken, days)
    return Layout(ids, is_kerb, is_shared, berths, tariff_of, pay_at_exit, max_stay, intervals,
                  opts, walk_m, cruise_m, reprice, [city_tariffs[f.tariff] for f in facs], removed)


def street_distances(city: City) -> tuple[np.ndarray, np.ndarray]:
    """On the street network (``[city.roads] osm_file``): the driving distance between
    facilities (F, F; one-way streets obeyed) and the walking distance between the walking
    places (facilities, then the zones placed by coordinates; both directions of every street),
    in metres, each including the snapping legs to the network."""
    assert city.origin is not None
    origin = (float(city.origin[0]), float(city.origin[1]))
    drive = city.roads.place_matrices(city.facility_places(), origin)
    walk = city.roads.walking().place_matrices(city.walking_places(), origin)
    return drive.distance_m[0], walk.distance_m[0]


def _choice_sets(city: City, facs: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest ``choice_set_size`` facilities within walking range of every zone, with walking
    distances and the driving distance between any two options of a zone."""
    beh = city.behaviour
    K = min(beh.choice_set_size, len(facs))
    Z = len(city.zones)
    opts = np.full((Z, K), -1, dtype=np.int64)
    walk = np.full((Z, K), INF)
    index = {f.id: k for k, f in enumerate(facs)}
    links: dict[str, list[tuple[float, int]]] = {}
    for link in city.walking_links:
        links.setdefault(link.zone, []).append((link.metres, index[link.facility]))
    placed = all(f.x is not None and f.y is not None for f in facs)
    xy = np.array([[f.x, f.y] for f in facs], dtype=float) if placed else np.zeros((len(facs), 2))
    coord_zones = [i for i, z in enumerate(city.zones) if z.id not in links]
    streets = street_distances(city) if city.roads.enabled else None
    if coord_zones and streets is not None:
        # the K facilities nearest by the walk on the streets, within max_walk_m
        walk_net = streets[1][len(facs):, : len(facs)]  # (placed zones, F)
        order = np.argsort(walk_net, axis=1, kind="stable")[:, :K]
        dist = np.take_along_axis(walk_net, order, axis=1)
        ok = dist <= beh.max_walk_m
        rows = np.asarray(coord_zones)
        opts[rows] = np.where(ok, order, -1)
        walk[rows] = np.where(ok, dist, INF)
    elif coord_zones:
        tree = cKDTree(xy)
        zxy = np.array([[city.zones[i].x, city.zones[i].y] for i in coord_zones], dtype=float)
        dist, idx = tree.query(zxy, k=K, distance_upper_bound=beh.max_walk_m / beh.walk_detour)
        dist = np.asarray(dist, dtype=float).reshape(len(coord_zones), K)
        idx = np.asarray(idx).reshape(len(coord_zones), K)
        ok = np.isfinite(dist)
        rows = np.asarray(coord_zones)
        opts[rows] = np.where(ok, idx, -1)
        walk[rows] = np.where(ok, dist * beh.walk_detour, INF)
    for i, z in enumerate(city.zones):
        if z.id in links:
            near = sorted(m for m in links[z.id] if m[0] <= beh.max_walk_m)[:K]
            for k, (m, f) in enumerate(near):
                opts[i, k] = f
                walk[i, k] = m
    # Driving distance between two options of a zone: straight line x road detour when placed,
    # otherwise via the zone (walk distances are the only geometry given); never below one block.
    valid = opts >= 0
    safe = np.where(valid, opts, 0)
    if streets is not None:
        d = streets[0][safe[:, :, None], safe[:, None, :]]  # driving from option a to option b
    elif placed:
        p = xy[safe]  # (Z, K, 2)
        d = np.sqrt(((p[:, :, None, :] - p[:, None, :, :]) ** 2).sum(-1)) * beh.road_detour
    else:
        w = np.where(valid, walk, 0.0)
        d = w[:, :, None] + w[:, None, :]
    cruise = np.maximum(d, beh.min_cruise_m)
    return opts, walk, cruise


def capacity_pieces(lay: Layout, k: int) -> list[tuple[float, float, int]]:
    """Facility ``k``'s open time as ``(start, end, capacity)`` pieces: its open intervals,
    cut where kerb taken by other uses (:attr:`Layout.taken`) changes the berths left."""
    full = int(lay.berths[k])
    cuts = lay.taken.get(k, [])
    out: list[tuple[float, float, int]] = []
    for s, e in lay.intervals[k]:
        t = s
        for a, b, n in cuts:
            if b <= t or a >= e:
                continue
            if a > t:
                out.append((t, a, full))
            out.append((max(a, t), min(b, e), max(0, full - n)))
            t = min(b, e)
        if t < e:
            out.append((t, e, full))
    return out


def open_berth_hours(layout: Layout, edges: np.ndarray) -> np.ndarray:
    """Open berth-hours of every facility in each bin ``[edges[j], edges[j+1])``, shape (F, J)."""
    lo, hi = edges[:-1], edges[1:]
    out = np.zeros((len(layout.ids), len(lo)))
    for k, ivs in enumerate(layout.intervals):
        for s, e in ivs:
            out[k] += np.clip(np.minimum(e, hi) - np.maximum(s, lo), 0.0, None)
    out = out * layout.berths[:, None]
    for k in layout.taken:  # kerb segments that lose berths to other uses in some periods
        out[k] = 0.0
        for s, e, c in capacity_pieces(layout, k):
            out[k] += np.clip(np.minimum(e, hi) - np.maximum(s, lo), 0.0, None) * c
    return out


def capacity_changes(lay: Layout) -> list[tuple[float, int, int, float]]:
    """``(time, facility, capacity, open until)`` at every opening and closing, and where kerb
    taken by other uses changes a segment's berths, in time order (closings before openings at
    the same instant)."""
    changes: list[tuple[float, int, int, float]] = []
    for k, ivs in enumerate(lay.intervals):
        if k in lay.taken:
            continue
        for s, e in ivs:
            changes.append((s, k, int(lay.berths[k]), e))
            if e < INF:
                changes.append((e, k, 0, 0.0))
    for k in lay.taken:
        # drivers plan by the end of the open interval; the berths left change within it
        ends = [e for _, e in lay.intervals[k]]
        prev: tuple[float, int] | None = None
        for s, e, c in capacity_pieces(lay, k):
            until = next(x for x in ends if x >= e - 1e-12)
            if prev is None or prev[0] < s - 1e-12 or prev[1] != c:
                if prev is not None and prev[0] < s - 1e-12:
                    changes.append((prev[0], k, 0, 0.0))
                changes.append((s, k, c, until))
            prev = (e, c)
        if prev is not None and prev[0] < INF:
            changes.append((prev[0], k, 0, 0.0))
    changes.sort(key=lambda c: (c[0], c[2]))
    return changes
