"""The bike system as flat numpy arrays: positions, docks, stocks, neighbour lists.

Built once per run from a validated :class:`~simcity.bikes.config.City`; the simulation's hot
loop only indexes into these precomputed arrays and lists (no per-event search over all
stations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from simcity.bikes.config import City
from simcity.roads import RoadMatrices

#: neighbours kept per station for walking to a bike and riding on to a free dock
NEAR_K = 24


@dataclass(frozen=True, eq=False)
class Network:
    """Stations (docked first, then dockless parking points) as arrays.

    Attributes
    ----------
    ids:
        Station / parking-point ids.
    xy:
        ``(n, 2)`` positions, metres.
    capacity:
        Docks (docked) or designated spaces (dockless).
    stock:
        Initial bikes.
    docked:
        True for docked stations; a dockless point never refuses a bike.
    improper_share:
        Dockless points: probability of parking outside the point although it has room.
    zone:
        Index into ``zone_ids`` for dockless points, -1 for docked stations.
    attractiveness, residential:
        Demand weights.
    near_idx, near_dist:
        ``(n, k)`` nearest other stations and their road distances (metres), nearest first.
    road_detour:
        Road / straight-line distance.
    roads:
        The vans' street-network matrices between the stations, in this order (``None``:
        straight lines; ``[city.roads] osm_file``).
    """

    ids: tuple[str, ...]
    xy: NDArray[np.float64]
    capacity: NDArray[np.int64]
    stock: NDArray[np.int64]
    docked: NDArray[np.bool_]
    improper_share: NDArray[np.float64]
    zone: NDArray[np.int64]
    zone_ids: tuple[str, ...]
    attractiveness: NDArray[np.float64]
    residential: NDArray[np.float64]
    near_idx: NDArray[np.int64]
    near_dist: NDArray[np.float64]
    road_detour: float
    roads: RoadMatrices | None = None

    @property
    def n(self) -> int:
        """Number of stations and parking points."""
        return len(self.ids)

    @property
    def fleet(self) -> int:
        """Bikes in the system."""
        return int(self.stock.sum())

    def road_distance(self, i: NDArray[np.int64], j: NDArray[np.int64]) -> NDArray[np.float64]:
        """Road distance in metres between station arrays ``i`` and ``j`` (elementwise)."""
        d = self.xy[i] - self.xy[j]
        return self.road_detour * np.hypot(d[..., 0], d[..., 1])

    def with_fleet(self, fleet: int) -> Network:
        """A copy whose initial stocks are scaled to ``fleet`` bikes in total.

        Largest-remainder apportionment in proportion to the current stocks (to capacity
        where every stock is zero), never above a docked station's capacity.
        """
        cap = np.where(self.docked, self.capacity, np.iinfo(np.int64).max // 4)
        limit = int(np.minimum(cap, np.iinfo(np.int64).max // 4).sum())
        if fleet > limit:
            raise ValueError(f"fleet_size {fleet} exceeds the {limit} docks of the city")
        weights = self.stock.astype(float) if self.stock.sum() > 0 else self.capacity.astype(float)
        stock = apportion(weights, fleet, cap)
        return Network(**{**self.__dict__, "stock": stock})


def apportion(weights: NDArray[np.float64], total: int, cap: NDArray[np.int64]) -> NDArray[np.int64]:
    """Split ``total`` integer units in proportion to ``weights`` without exceeding ``cap``.

    Largest remainders first; units that do not fit where they were due go to the stations
    with the most room, in proportion again, until all are placed.
    """
    out = np.zeros(len(weights), dtype=np.int64)
    left = int(total)
    w = np.asarray(weights, dtype=float).copy()
    while left > 0:
        room = cap - out
        w = np.where(room > 0, w if w[room > 0].sum() > 0 else room.astype(float), 0.0)
        if w.sum() <= 0:
            raise ValueError("not enough room to place the fleet")
        share = w / w.sum() * left
        base = np.minimum(np.floor(share).astype(np.int64), room)
        rem = left - int(base.sum())
        frac = np.where(room - base > 0, share - np.floor(share), -1.0)
        order = np.argsort(-frac, kind="stable")[: max(rem, 0)]
        order = order[frac[order] >= 0]
        base[order] += 1
        out += base
        left -= int(base.sum())
    return out


def _synthetic(city: City) -> tuple[list[str], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64],
                                     NDArray[np.float64], NDArray[np.float64]]:
    s = city.synthetic
    assert s is not None
    gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence(s.layout_seed)))
    u = gen.random(s.stations)
    r = s.radius_m * u ** (s.centre_concentration / 2.0)
    theta = gen.random(s.stations) * 2.0 * np.pi
    xy = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    rel = r / s.radius_m
    # jobs cluster in the centre, homes towards the edge; a little noise so neighbours differ
    residential = np.clip(0.15 + 0.75 * rel + gen.normal(0.0, 0.1, s.stations), 0.0, 1.0)
    attract = gen.lognormal(0.0, 0.5, s.stations) * (1.0 + 1.5 * np.exp(-rel / 0.3))
    size = attract**s.capacity_elasticity
    noise = gen.integers(-s.capacity_spread, s.capacity_spread + 1, s.stations)
    lo = s.mean_capacity - s.capacity_spread
    cap = np.maximum(np.rint(s.mean_capacity * size / size.mean()) + noise, lo).astype(np.int64)
    stock = apportion(cap.astype(float), s.fleet, cap.astype(np.int64))
    ids = [f"{s.id_prefix}{k}" for k in range(s.stations)]
    return ids, xy, cap.astype(np.int64), stock, attract, residential


def build_network(city: City, fleet_size: int | None = None) -> Network:
    """Flatten ``city`` into a :class:`Network`; ``fleet_size`` rescales the initial stocks."""
    ids: list[str] = [st.id for st in city.stations]
    xy = [np.array([[st.x, st.y] for st in city.stations], dtype=float).reshape(-1, 2)]
    cap = [np.array([st.capacity for st in city.stations], dtype=np.int64)]
    stock = [np.array([st.bikes for st in city.stations], dtype=np.int64)]
    attract = [np.array([st.attractiveness for st in city.stations], dtype=float)]
    resid = [np.array([st.residential for st in city.stations], dtype=float)]
    if city.synthetic is not None:
        sid, sxy, scap, sstock, sattr, sres = _synthetic(city)
        ids += sid
        xy.append(sxy)
        cap.append(scap)
        stock.append(sstock)
        attract.append(sattr)
        resid.append(sres)
    n_docked = len(ids)
    zone = [np.full(n_docked, -1, dtype=np.int64)]
    improper = [np.zeros(n_docked)]
    for zk, z in enumerate(city.zones):
        ids += [p.id for p in z.points]
        xy.append(np.array([[p.x, p.y] for p in z.points], dtype=float))
        cap.append(np.array([p.capacity for p in z.points], dtype=np.int64))
        stock.append(np.array([p.bikes for p in z.points], dtype=np.int64))
        attract.append(np.array([p.attractiveness for p in z.points], dtype=float))
        resid.append(np.array([p.residential for p in z.points], dtype=float))
        zone.append(np.full(len(z.points), zk, dtype=np.int64))
        improper.append(np.full(len(z.points), z.improper_share))
    all_xy = np.vstack(xy)
    n = len(ids)
    k = min(NEAR_K, n - 1)
    if k > 0:
        tree = cKDTree(all_xy)
        d, idx = tree.query(all_xy, k=k + 1)
        # drop the station itself (it may lose a tie at distance 0: then drop the farthest)
        not_self = idx != np.arange(n)[:, None]
        not_self[not_self.all(axis=1), -1] = False
        near_idx = idx[not_self].reshape(n, k).astype(np.int64)
        near_dist = city.road_detour * d[not_self].reshape(n, k)
    else:
        near_idx = np.zeros((n, 0), dtype=np.int64)
        near_dist = np.zeros((n, 0))
    net = Network(
        ids=tuple(ids),
        xy=all_xy,
        capacity=np.concatenate(cap),
        stock=np.concatenate(stock),
        docked=np.arange(n) < n_docked,
        improper_share=np.concatenate(improper),
        zone=np.concatenate(zone),
        zone_ids=tuple(z.id for z in city.zones),
        attractiveness=np.concatenate(attract),
        residential=np.concatenate(resid),
        near_idx=near_idx,
        near_dist=near_dist,
        road_detour=city.road_detour,
        roads=_van_matrices(city),
    )
    if fleet_size is not None:
        net = net.with_fleet(fleet_size)
    return net


def _van_matrices(city: City) -> RoadMatrices | None:
    """The vans' street-network matrices between the stations (``None`` without osm_file)."""
    if not city.roads.enabled:
        return None
    assert city.origin is not None  # the City validator checked it
    return city.roads.place_matrices(city.street_places(), (float(city.origin[0]), float(city.origin[1])))
