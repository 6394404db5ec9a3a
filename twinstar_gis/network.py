"""A routable multimodal network from the corridor layer, and shortest travel times.

Graph
-----
* **Road** corridors (expressway, national highway, other classes) are noded
  together: every vertex and every crossing becomes a node, so roads connect
  wherever they meet.  Edge time = ellipsoidal length / class speed.
* **Rail** corridors (high-speed and conventional) keep their own nodes: a
  train can be boarded and left only at a station.  Each station is linked to
  the nearest point of each line that declares it (``stations`` column; for
  data without it, lines within 1 km), with half the class's transfer time on
  the link, so a rail trip pays boarding + alighting once.
* **Places and parks** (origins / destinations) are linked by a straight line
  at the off-network speed to the nearest node of every road line and to every
  station within :attr:`Speeds.max_link_km`.  Stations are linked to the road
  network the same way.

All edges are symmetric, so travel times are symmetric.  Shortest times use
:func:`scipy.sparse.csgraph.dijkstra` (compiled), many sources at once.
Unreachable pairs are ``NaN`` (never 0 or a huge number).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from .crs import GEOD
from .settings import DEFAULT_SPEEDS, Speeds

__all__ = ["Network", "build_network", "travel_times", "od_matrix", "ROAD_CLASSES", "RAIL_CLASSES"]

log = logging.getLogger(__name__)

RAIL_CLASSES = ("high_speed_rail", "railway")
ROAD_CLASSES = ("expressway", "national_highway")
_DENSIFY_DEG = 0.02  # ~2 km between road/rail nodes


@dataclass(frozen=True)
class Network:
    """A built network.

    Attributes
    ----------
    graph : scipy.sparse.csr_matrix
        Symmetric edge times in minutes.
    lon, lat : numpy.ndarray
        Node coordinates.
    kind : numpy.ndarray of str
        ``road``, ``rail``, ``station`` or ``place``.
    node_cls : numpy.ndarray of str
        Corridor class of road and rail nodes (``expressway``, ...), else the kind.
    place_index : pandas.Series
        Node index of every origin/destination, indexed by its id (place_id /
        park_id / node_id of stations).
    edges : geopandas.GeoDataFrame
        The edges as lines (``mode``, ``cls``, ``minutes``), for maps and checks.
    speeds : Speeds
    """

    graph: object
    lon: np.ndarray
    lat: np.ndarray
    kind: np.ndarray
    node_cls: np.ndarray
    place_index: pd.Series
    edges: gpd.GeoDataFrame
    speeds: Speeds

    @property
    def n(self) -> int:
        return len(self.lon)


class _Builder:
    def __init__(self):
        self.lon, self.lat, self.kind, self.node_cls = [], [], [], []
        self.keys = {}
        self.u, self.v, self.w, self.mode, self.cls = [], [], [], [], []

    def node(self, lon, lat, kind, key=None, cls=""):
        if key is not None and key in self.keys:
            i = self.keys[key]
            if cls and self.node_cls[i] != cls and cls == "expressway":
                self.node_cls[i] = cls  # a node on an expressway counts as an expressway node
            return i
        i = len(self.lon)
        self.lon.append(lon)
        self.lat.append(lat)
        self.kind.append(kind)
        self.node_cls.append(cls or kind)
        if key is not None:
            self.keys[key] = i
        return i

    def edge(self, a, b, minutes, mode, cls):
        if a == b:
            return
        self.u.append(a)
        self.v.append(b)
        self.w.append(max(float(minutes), 1e-6))
        self.mode.append(mode)
        self.cls.append(cls)


def _km(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1000.0


def _add_line(b: _Builder, coords, speed, mode, cls, key_prefix):
    """Add a polyline's vertices (keyed so shared vertices merge) and edges."""
    ids = []
    for x, y in coords:
        key = (key_prefix, round(x, 6), round(y, 6))
        ids.append(b.node(x, y, mode, key, cls))
    xy = np.asarray(coords)
    km = _km(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
    for a, c, d in zip(ids[:-1], ids[1:], km):
        b.edge(a, c, d / speed * 60.0, mode, cls)
    return ids


def _parts(geom):
    if geom is None or geom.is_empty:
        return []
    return [g for g in shapely.get_parts(geom) if g.geom_type == "LineString"]


def build_network(layers: dict, *, speeds: Speeds = DEFAULT_SPEEDS, include_planned: bool = False,
                  extra_corridors: gpd.GeoDataFrame | None = None, modes=("road", "rail")) -> Network:
    """Build the multimodal network.

    Parameters
    ----------
    layers : dict
        ``corridors`` (required), ``nodes`` (stations), ``places``, ``parks``.
    speeds : Speeds
    include_planned : bool
        Include corridors whose status is not ``operating`` (scenarios).
    extra_corridors : GeoDataFrame, optional
        Additional corridors (same attributes as the corridor layer) for a scenario.
    modes : tuple
        ``("road",)`` for a road-only network.
    """
    cors = layers["corridors"]
    if not include_planned and "status" in cors.columns:
        cors = cors[cors["status"].fillna("operating") == "operating"]
    if extra_corridors is not None and len(extra_corridors):  # scenario corridors always count
        cors = pd.concat([cors, extra_corridors.to_crs(4326)], ignore_index=True)
    cors = cors.sort_values("corridor_id").reset_index(drop=True)
    b = _Builder()

    # Roads: node all road lines together so they connect where they cross.
    road = cors[~cors["class"].isin(RAIL_CLASSES)] if "road" in modes else cors.iloc[0:0]
    road_line_nodes = {}
    if len(road):
        dense = shapely.segmentize(np.asarray(road.geometry.values), _DENSIFY_DEG)
        noded = shapely.get_parts(shapely.node(shapely.GeometryCollection(list(dense))))
        tree = shapely.STRtree(dense)
        for piece in noded:
            mid = piece.interpolate(0.5, normalized=True)
            cand = tree.query(mid, predicate="dwithin", distance=1e-7)
            if len(cand) == 0:
                cand = [int(tree.nearest(mid))]
            # Where two roads share a piece, it runs at the faster one's speed.
            speeds_here = [speeds.for_class(road["class"].iloc[c]) for c in cand]
            k = int(np.argmax(speeds_here))
            row = road.iloc[cand[k]]
            ids = _add_line(b, list(piece.coords), speeds_here[k], "road", row["class"], "road")
            for c in cand:
                road_line_nodes.setdefault(road["corridor_id"].iloc[c], set()).update(ids)

    # Rail: each line separately, entered only at stations.
    stations = pd.DataFrame()
    nodes = layers.get("nodes")
    if nodes is not None and len(nodes):
        st = nodes[nodes["kind"].isin(["hsr_station", "rail_station"])]
        if not include_planned and "status" in st.columns:
            st = st[st["status"].fillna("operating") == "operating"]
        stations = st.sort_values("node_id").reset_index(drop=True)
    station_node = {}
    for r in stations.itertuples():
        station_node[r.node_id] = b.node(r.geometry.x, r.geometry.y, "station", ("station", r.node_id))
    rail = cors[cors["class"].isin(RAIL_CLASSES)] if "rail" in modes else cors.iloc[0:0]
    for r in rail.itertuples():
        cls = r[cors.columns.get_loc("class") + 1]
        speed = speeds.for_class(cls)
        declared = [s.strip() for s in str(getattr(r, "stations", "") or "").split(";") if s.strip()]
        for part in _parts(r.geometry):
            line = shapely.segmentize(part, _DENSIFY_DEG)
            ids = _add_line(b, list(line.coords), speed, "rail", cls, ("rail", r.corridor_id))
            for s in stations.itertuples():
                near = line.distance(s.geometry)
                if (declared and s.node_id not in declared) or (not declared and near > 0.01):
                    continue
                if near > 0.05:  # declared but far from this part of the line
                    continue
                # Snap: insert the closest point of the line as a rail node.
                p = line.interpolate(line.project(s.geometry))
                coords = np.asarray(line.coords)
                seg = int(np.argmin(shapely.distance(shapely.linestrings(np.stack([coords[:-1], coords[1:]], 1)), p)))
                snap = b.node(p.x, p.y, "rail", ("rail", r.corridor_id, "snap", s.node_id))
                for end in (ids[seg], ids[seg + 1]):
                    d = _km(p.x, p.y, b.lon[end], b.lat[end])
                    b.edge(snap, end, d / speed * 60.0, "rail", cls)
                walk = _km(s.geometry.x, s.geometry.y, p.x, p.y)
                b.edge(station_node[s.node_id], snap, walk / speeds.off_network * 60.0 + speeds.transfer(cls) / 2,
                       "transfer", cls)

    # Links: stations and places/parks to the road network and to stations.
    road_ids = np.array([i for i, k in enumerate(b.kind) if k == "road"], dtype=int)
    place_ids = {}
    origins = []
    places = layers.get("places")
    if places is not None and len(places):
        for r in places.sort_values("place_id").itertuples():
            origins.append((str(r.place_id), r.geometry))
    parks = layers.get("parks")
    if parks is not None and len(parks):
        for r in parks.sort_values("park_id").itertuples():
            origins.append((str(r.park_id), r.geometry.centroid))
    for sid, i in station_node.items():
        place_ids[sid] = i
    station_ids = np.array(list(station_node.values()), dtype=int)
    for pid, pt in origins:
        place_ids[pid] = b.node(pt.x, pt.y, "place", ("place", pid))

    def link(i, targets, per_line=None):
        if len(targets) == 0:
            return
        lon = np.asarray(b.lon)[targets]
        lat = np.asarray(b.lat)[targets]
        km = _km(np.full(len(targets), b.lon[i]), np.full(len(targets), b.lat[i]), lon, lat)
        ok = km <= speeds.max_link_km
        if per_line:
            # nearest node of every road line within reach
            for ids in per_line:
                m = np.isin(targets, ids) & ok
                if m.any():
                    j = np.flatnonzero(m)[np.argmin(km[m])]
                    b.edge(i, int(targets[j]), km[j] / speeds.off_network * 60.0, "link", "off_network")
        else:
            for j in np.flatnonzero(ok):
                b.edge(i, int(targets[j]), km[j] / speeds.off_network * 60.0, "link", "off_network")

    per_line = [np.array(sorted(v), dtype=int) for _, v in sorted(road_line_nodes.items())]
    for pid, i in place_ids.items():
        link(i, road_ids, per_line=per_line)
        if b.kind[i] == "place":
            link(i, station_ids)

    n = len(b.lon)
    u, v, w = np.asarray(b.u), np.asarray(b.v), np.asarray(b.w)
    # Symmetric, and of parallel edges the quicker one (a sparse matrix would sum them).
    df = pd.DataFrame({"a": np.concatenate([u, v]), "b": np.concatenate([v, u]), "w": np.concatenate([w, w])})
    df = df.groupby(["a", "b"], sort=False)["w"].min().reset_index()
    graph = coo_matrix((df["w"].to_numpy(), (df["a"].to_numpy(), df["b"].to_numpy())), shape=(n, n)).tocsr()
    lon, lat = np.asarray(b.lon), np.asarray(b.lat)
    edges = gpd.GeoDataFrame({"mode": b.mode, "cls": b.cls, "minutes": w},
                             geometry=shapely.linestrings(np.stack([np.column_stack([lon[u], lat[u]]),
                                                                    np.column_stack([lon[v], lat[v]])], 1)) if len(u) else [],
                             crs="EPSG:4326")
    log.info("network: %d nodes, %d edges (%d road, %d rail, %d stations, %d places)", n, len(u),
             (np.asarray(b.kind) == "road").sum(), (np.asarray(b.kind) == "rail").sum(), len(station_node), len(origins))
    return Network(graph=graph, lon=lon, lat=lat, kind=np.asarray(b.kind), node_cls=np.asarray(b.node_cls), place_index=pd.Series(place_ids),
                   edges=edges, speeds=speeds)


def travel_times(net: Network, sources) -> np.ndarray:
    """Minutes from each source (place ids or node indices) to every node; NaN where unreachable."""
    idx = np.array([net.place_index[s] if not isinstance(s, (int, np.integer)) else s for s in sources], dtype=int)
    t = dijkstra(net.graph, directed=False, indices=idx)
    t = np.atleast_2d(t)
    t[~np.isfinite(t)] = np.nan
    return t


def od_matrix(net: Network, ids) -> pd.DataFrame:
    """Origin-destination travel-time matrix (minutes) among place/park/station ids."""
    ids = list(ids)
    t = travel_times(net, ids)
    cols = net.place_index[ids].to_numpy()
    return pd.DataFrame(t[:, cols], index=ids, columns=ids)
