"""Maps of a city setting drawn offline with matplotlib (no web tiles, no network).

Each domain that has positions gets a map builder here, keyed by domain name; the report
calls :func:`domain_figures`.  A builder reads only what the results carry: the entity
positions the domain gave (:meth:`simcity.domain.Domain.positions`, saved with the results as
``positions.csv``), the map settings of the metadata and the tidy tables - never the model, so
a saved results folder is drawn again without it (``simcity report DIR``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # offline, no display: the same backend as simcity.plots
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from numpy.typing import NDArray  # noqa: E402
from scipy.sparse import coo_matrix  # noqa: E402
from scipy.sparse.csgraph import dijkstra  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

from simcity.domain import STREET  # noqa: E402
from simcity.experiment import Results  # noqa: E402
from simcity.plots import Plot, safe_text, to_png  # noqa: E402

MapBuilder = Callable[[Results], list[Plot]]

#: domain name -> function drawing that domain's maps from a comparison's results
BUILDERS: dict[str, MapBuilder] = {}


def register(domain: str) -> Callable[[MapBuilder], MapBuilder]:
    """Decorator registering the map builder of ``domain``."""

    def deco(fn: MapBuilder) -> MapBuilder:
        BUILDERS[domain] = fn
        return fn

    return deco


def domain_figures(results: Results) -> list[Plot]:
    """The maps of the scenario's domain (none when the domain has no map builder)."""
    builder = BUILDERS.get(results.meta.model)
    return builder(results) if builder is not None else []


# ---------------------------------------------------------------------------------------
# drawing helpers


def _panels(policies: Sequence[str], width: float = 4.4) -> tuple[Figure, list[Axes]]:
    """One map panel per policy, sharing axes so that positions line up between panels."""
    n = len(policies)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, width * rows), sharex=True, sharey=True,
                             squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    for ax, pol in zip(flat, policies, strict=False):
        ax.set_title(safe_text(pol), fontsize="medium")
        ax.set_aspect("equal", adjustable="box")
        ax.grid(alpha=0.2)
        ax.tick_params(labelsize="small")
    return fig, flat[:n]


def _axis_labels(ax: Axes, unit: str) -> None:
    ax.set_xlabel(f"east ({unit})", fontsize="small")
    ax.set_ylabel(f"north ({unit})", fontsize="small")


def _draw_streets(ax: Axes, positions: pd.DataFrame) -> bool:
    """The street segments of ``positions`` (rows of kind ``street``, two per segment) as
    thin grey lines under everything else; whether there were any."""
    st = positions[positions["kind"] == STREET]
    if st.empty:
        return False
    xy = st[["x", "y"]].to_numpy(dtype=float).reshape(-1, 2, 2)
    ax.add_collection(LineCollection(list(xy), colors="#c8c8c8", linewidths=0.5, zorder=0))
    ax.autoscale_view()
    return True


class StreetPaths:
    """Shortest paths on the street segments a positions table holds, for drawing legs.

    The saved segments make an undirected graph (edge length: the segment's straight
    length), each place is taken to the nearest segment end, and a leg is drawn along the
    shortest path between its two ends.  A drawing aid, not the model's route: one-way
    streets and the profile's rules are not in the saved segments, so the path drawn can
    differ from the one driven; two places without a path between them get a straight leg.
    """

    def __init__(self, positions: pd.DataFrame) -> None:
        st = positions[positions["kind"] == STREET][["x", "y"]].to_numpy(dtype=float)
        self.nodes, inverse = np.unique(st, axis=0, return_inverse=True)
        ends = np.asarray(inverse).reshape(-1, 2)
        length = np.hypot(*(self.nodes[ends[:, 0]] - self.nodes[ends[:, 1]]).T)
        n = len(self.nodes)
        self.graph = coo_matrix((length + 1e-9, (ends[:, 0], ends[:, 1])), shape=(n, n)).tocsr()
        self.tree = cKDTree(self.nodes) if n else None

    def polyline(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """The stops ``xy`` (in order) joined along the streets: ``(m, 2)`` points."""
        if self.tree is None or len(xy) < 2:
            return xy
        _, near = self.tree.query(xy)
        near = np.asarray(near, dtype=np.int64)
        src = np.unique(near[:-1])
        _, pred = dijkstra(self.graph, directed=False, indices=src, return_predecessors=True)
        row = {int(s): k for k, s in enumerate(src)}
        out = [xy[0]]
        for i in range(len(xy) - 1):
            a, b = int(near[i]), int(near[i + 1])
            path = [b]
            while path[-1] != a and path[-1] >= 0:
                path.append(int(pred[row[a], path[-1]]))
            if path[-1] != a:  # no path: a straight leg
                out.append(xy[i + 1])
                continue
            out += [self.nodes[k] for k in reversed(path)]
            out.append(xy[i + 1])
        return np.vstack(out)


def _not_streets(positions: pd.DataFrame) -> pd.DataFrame:
    """The entity rows of ``positions`` (streets left out)."""
    return positions[positions["kind"] != STREET]


STREETS_LEGEND = Line2D([], [], ls="-", lw=0.8, color="#c8c8c8", label="street (OpenStreetMap)")


def _entity_means(results: Results, metric: str) -> pd.DataFrame:
    """Mean over replications of a ``by_entity`` metric: columns policy, entity, value."""
    be = results.by_entity
    sub = be[be["metric"] == metric]
    if sub.empty:
        return pd.DataFrame(columns=["policy", "entity", "value"])
    out = sub.groupby(["policy", "entity"], observed=True, sort=False)["value"].mean().rename("value").reset_index()
    out["policy"] = out["policy"].astype(str)
    return out


def _sizes(values: Any, top: float, smallest: float = 12.0, largest: float = 260.0) -> NDArray[np.float64]:
    """Marker areas proportional to ``values`` (capacity, berths) with ``top`` the largest, clipped
    to a readable range; the same ``top`` in every panel keeps sizes comparable."""
    v = np.asarray(values, dtype=float)
    return np.clip(largest * v / (top if top > 0 else 1.0), smallest, largest)


# ---------------------------------------------------------------------------------------
# parking: car parks coloured by occupancy band


#: colours of the occupancy bands (below, within, above the target band; no data)
BAND_COLOURS = {"below": "#4C72B0", "within": "#55A868", "above": "#C44E52", "no data": "#BBBBBB"}


def occupancy_band(occ: float, band: tuple[float, float]) -> str:
    """``below``/``within``/``above`` the target occupancy band, or ``no data``."""
    if occ is None or math.isnan(occ):
        return "no data"
    return "below" if occ < band[0] else ("above" if occ > band[1] else "within")


@register("parking")
def parking_map(results: Results) -> list[Plot]:
    """Car parks and kerb segments at their positions, coloured by daytime occupancy band."""
    pos = results.positions
    placed = pos[pos["kind"].isin(["car park", "kerb"])]
    if placed.empty:
        return []  # a district given by walking links only has no positions to draw
    settings = results.meta.map_settings
    band = (float(settings["band"][0]), float(settings["band"][1]))
    day_hours = (int(settings["day_hours"][0]), int(settings["day_hours"][1]))
    policies = results.meta.policy_names
    bt = results.by_time
    day = bt[(bt["metric"] == "occupancy") & (bt["entity"] != "city")
             & ((bt["time_h"] % 24) >= day_hours[0]) & ((bt["time_h"] % 24) < day_hours[1])]
    if not day.empty:
        occ = (day.groupby(["policy", "entity"], observed=True)["value"].mean().rename("value").reset_index())
        occ["policy"] = occ["policy"].astype(str)
        basis = f"mean occupancy {day_hours[0]}:00–{day_hours[1]}:00"
    else:
        occ = _entity_means(results, "occupancy")
        basis = "mean occupancy"
    lookup = dict(zip(zip(occ["policy"], occ["entity"], strict=True), occ["value"].astype(float), strict=True))
    rows = []
    for pol in policies:
        for ent, kind, x, y, size in zip(placed["entity"].astype(str), placed["kind"].astype(str),
                                         placed["x"].to_numpy(dtype=float), placed["y"].to_numpy(dtype=float),
                                         placed["size"].to_numpy(dtype=float), strict=True):
            o = lookup.get((pol, ent), math.nan)
            rows.append((pol, ent, kind, float(x), float(y), float(size), o, occupancy_band(o, band)))
    data = pd.DataFrame(rows, columns=["policy", "entity", "kind", "x", "y", "berths", "occupancy", "band"])
    fig, axes = _panels(policies)
    zpos = pos[pos["kind"] == "zone"]
    zones = list(zip(zpos["x"].astype(float), zpos["y"].astype(float), strict=True))
    streets = False
    for ax, pol in zip(axes, policies, strict=True):
        streets = _draw_streets(ax, pos)
        if zones:
            zx, zy = zip(*zones, strict=True)
            ax.scatter(zx, zy, marker="+", color="#777777", s=40, lw=1, zorder=1)
        d = data[data["policy"] == pol]
        for kind, marker in (("car park", "s"), ("kerb", "^")):
            k = d[d["kind"] == kind]
            if not k.empty:
                ax.scatter(k["x"], k["y"], s=_sizes(k["berths"], float(data["berths"].max())), c=[BAND_COLOURS[b] for b in k["band"]], marker=marker, edgecolors="black", linewidths=0.5,
                    zorder=2)
        _axis_labels(ax, "m")
    labels = {"below": f"below {band[0]:.0%}", "within": f"within {band[0]:.0%}–{band[1]:.0%}",
              "above": f"above {band[1]:.0%}", "no data": "closed / no data"}
    handles = [Line2D([], [], marker="s", ls="", color=c, markeredgecolor="black", label=labels[name])
               for name, c in BAND_COLOURS.items()]
    handles += [Line2D([], [], marker="s", ls="", color="white", markeredgecolor="black", label="car park"),
                Line2D([], [], marker="^", ls="", color="white", markeredgecolor="black", label="kerb segment"),
                Line2D([], [], marker="+", ls="", color="#777777", label="destination zone")]
    handles += [STREETS_LEGEND] if streets else []
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize="small", frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(f"Car parks by {basis} (size: berths)", fontsize="medium")
    return [Plot("map-parking-occupancy", f"Car parks coloured by occupancy band ({basis}; size: berths)",
                 to_png(fig), data, "map")]


# ---------------------------------------------------------------------------------------
# bikes: stations sized by capacity, coloured by the share of time empty or full


@register("bikes")
def bikes_map(results: Results) -> list[Plot]:
    """Stations sized by docks, coloured by the share of time they were empty or full.

    The fill colour is the share of time empty *or* full (a station useless to someone);
    the edge says which dominated: red mostly empty (no bike to rent), blue mostly full (no
    dock to return).  Stations without per-station results are drawn hollow.
    """
    everything = results.positions
    net = _not_streets(everything)
    if net.empty:
        return []
    policies = results.meta.policy_names
    empty = _entity_means(results, "empty_share")
    full = _entity_means(results, "full_share")
    e_map = dict(zip(zip(empty["policy"], empty["entity"], strict=True), empty["value"].astype(float), strict=True))
    f_map = dict(zip(zip(full["policy"], full["entity"], strict=True), full["value"].astype(float), strict=True))
    rows = []
    for pol in policies:
        for sid, kind, x, y, size in zip(net["entity"].astype(str), net["kind"].astype(str),
                                         net["x"].to_numpy(dtype=float), net["y"].to_numpy(dtype=float),
                                         net["size"].to_numpy(dtype=float), strict=True):
            e, f = e_map.get((pol, sid), math.nan), f_map.get((pol, sid), math.nan)
            rows.append((pol, sid, float(x), float(y), int(size), kind == "station", e, f, e + f))
    data = pd.DataFrame(rows, columns=["policy", "entity", "x", "y", "capacity", "docked", "empty_share",
                                       "full_share", "empty_or_full"])
    fig, axes = _panels(policies)
    top = float(data["capacity"].max())
    known = data["empty_or_full"].notna()
    vmax = max(0.05, float(data.loc[known, "empty_or_full"].max())) if known.any() else 1.0
    scatter = None
    streets = False
    for ax, pol in zip(axes, policies, strict=True):
        streets = _draw_streets(ax, everything)
        d = data[data["policy"] == pol]
        have = d[d["empty_or_full"].notna()]
        none = d[d["empty_or_full"].isna()]
        if not none.empty:
            ax.scatter(none["x"], none["y"], s=_sizes(none["capacity"], top), facecolors="none",
                       edgecolors="#888888", linewidths=0.6)
        for docked, marker in ((True, "o"), (False, "D")):
            grp = have[have["docked"] == docked]
            if grp.empty:
                continue
            edge = ["#C44E52" if e >= f else "#4C72B0" for e, f in zip(grp["empty_share"], grp["full_share"],
                                                                      strict=True)]
            scatter = ax.scatter(grp["x"], grp["y"], s=_sizes(grp["capacity"], top), c=grp["empty_or_full"],
                                 cmap="YlOrRd", vmin=0.0, vmax=vmax, edgecolors=edge, linewidths=1.0,
                                 marker=marker)
        _axis_labels(ax, "m")
    if scatter is not None:
        fig.colorbar(scatter, ax=axes, shrink=0.7, label="share of time empty or full")
    handles = [Line2D([], [], marker="o", ls="", color="white", markeredgecolor="#C44E52", label="mostly empty"),
               Line2D([], [], marker="o", ls="", color="white", markeredgecolor="#4C72B0", label="mostly full")]
    if not data["docked"].all():
        handles += [Line2D([], [], marker="o", ls="", color="white", markeredgecolor="black", label="docked station"),
                    Line2D([], [], marker="D", ls="", color="white", markeredgecolor="black",
                           label="dockless parking point")]
    if not known.all():
        handles.append(Line2D([], [], marker="o", ls="", color="white", markeredgecolor="#888888",
                              label="no per-station results"))
    handles += [STREETS_LEGEND] if streets else []
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize="small", frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("Bike stations (size: docks; colour: share of time empty or full)", fontsize="medium")
    return [Plot("map-bikes-stations", "Bike stations sized by docks, coloured by the share of time empty or full",
                 to_png(fig), data, "map")]


# ---------------------------------------------------------------------------------------
# garbage: routes of one day by truck, transfer stations, overflowing points

#: ``by_time`` metric whose rows trace routes: entity = truck, time_h = arrival clock time,
#: value = location index of the garbage layout (points, then stations, then depots)
ROUTE_METRIC = "route_stop"
#: ``by_entity`` metric per drop point ``pt<index>``: measured days on which it overflowed
OVERFLOW_METRIC = "overflow_days"


@register("garbage")
def garbage_map(results: Results, day: int | None = None) -> list[Plot]:
    """Drop points, transfer stations and depots; routes of ``day`` coloured by truck.

    Routes come from replication 0 (``by_time`` rows of :data:`ROUTE_METRIC`); ``day``
    defaults to the first day with routes.  Points that overflowed on any measured day
    (``by_entity`` rows of :data:`OVERFLOW_METRIC`, mean over replications > 0) are marked.
    """
    pos = results.positions  # points pt<i>, then stations, then depots: row k is location k
    policies = results.meta.policy_names
    xy = pos[["x", "y"]].to_numpy(dtype=float)
    kinds = pos["kind"].tolist()
    n = kinds.count("point")
    bt = results.by_time
    routes = bt[(bt["metric"] == ROUTE_METRIC) & (bt["replication"] == 0)]
    if day is None and not routes.empty:
        day = int(routes["time_h"].min() // 24)
    if day is not None:
        routes = routes[(routes["time_h"] // 24).astype(int) == day]
    over = _entity_means(results, OVERFLOW_METRIC)
    over_map = dict(zip(zip(over["policy"], over["entity"], strict=True), over["value"].astype(float), strict=True))
    rows: list[tuple[Any, ...]] = []
    for pol in policies:
        for i in range(n):
            rows.append((pol, "point", f"pt{i}", xy[i, 0], xy[i, 1], math.nan, over_map.get((pol, f"pt{i}"), math.nan)))
        for loc, (kind, ent) in enumerate(zip(kinds, pos["entity"], strict=True)):
            if kind in ("station", "depot"):
                rows.append((pol, kind, str(ent), xy[loc, 0], xy[loc, 1], math.nan, math.nan))
        r = routes[routes["policy"] == pol].sort_values(["entity", "time_h"], kind="stable")
        for truck, t, loc in zip(r["entity"], r["time_h"], r["value"].astype(int), strict=True):
            rows.append((pol, "stop", str(truck), xy[loc, 0], xy[loc, 1], float(t), math.nan))
    data = pd.DataFrame(rows, columns=["policy", "kind", "entity", "x_km", "y_km", "time_h", "overflow_days"])
    fig, axes = _panels(policies)
    cmap = plt.get_cmap("tab10")
    streets = False
    paths = StreetPaths(pos) if (pos["kind"] == STREET).any() else None
    for ax, pol in zip(axes, policies, strict=True):
        streets = _draw_streets(ax, pos)
        d = data[data["policy"] == pol]
        pts = d[d["kind"] == "point"]
        ax.scatter(pts["x_km"], pts["y_km"], s=8, color="#999999", zorder=1)
        stops = d[d["kind"] == "stop"]
        for c, (truck, leg) in enumerate(stops.groupby("entity", sort=True)):
            line = leg[["x_km", "y_km"]].to_numpy(dtype=float)
            if paths is not None:
                line = paths.polyline(line)
            ax.plot(line[:, 0], line[:, 1], "-", lw=1.1, color=cmap(c % 10), alpha=0.85, zorder=2,
                    label=safe_text(str(truck)))
        bad = pts[pts["overflow_days"] > 0]
        ax.scatter(bad["x_km"], bad["y_km"], s=40, marker="x", color="#C44E52", zorder=4)
        st = d[d["kind"] == "station"]
        ax.scatter(st["x_km"], st["y_km"], s=110, marker="s", color="#222222", zorder=5)
        dp = d[d["kind"] == "depot"]
        ax.scatter(dp["x_km"], dp["y_km"], s=110, marker="^", color="#8172B2", zorder=5)
        _axis_labels(ax, "km")
    handles = [Line2D([], [], marker="o", ls="", color="#999999", label="drop point"),
               Line2D([], [], marker="x", ls="", color="#C44E52", label="overflowed (any measured day)"),
               Line2D([], [], marker="s", ls="", color="#222222", label="transfer station"),
               Line2D([], [], marker="^", ls="", color="#8172B2", label="depot"),
               Line2D([], [], ls="-", color=cmap(0), label="route of one truck (colour per truck)")]
    if streets:
        handles.append(STREETS_LEGEND)
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize="small", frameon=False,
               bbox_to_anchor=(0.5, -0.04))
    has_routes = bool((data["kind"] == "stop").any())
    has_over = bool(data["overflow_days"].notna().any())
    what = f"routes of day {day} (replication 0)" if has_routes and day is not None else \
        "routes not reported by the model"
    if has_routes and streets:
        what += " along the mapped streets (shortest, ignoring one-way rules)"
    if not has_over:
        what += "; overflowing points not reported by the model"
    fig.suptitle(f"Garbage collection: {what}", fontsize="medium")
    return [Plot("map-garbage-routes", f"Drop points, transfer stations and depots; {what}", to_png(fig), data,
                 "map")]
