"""A routable, directed multimodal network from any road/rail line file, built without Python loops.

Topology
--------
* **Shared vertices, not crossings.**  Lines are exploded to their vertices
  (:func:`shapely.get_coordinates`); vertices with exactly the same
  coordinates (or, with :attr:`NetworkSettings.snap_m` > 0, in the same
  ``snap_m`` cell of the regional projection) are one node.  OpenStreetMap
  ways share their node coordinates exactly, so ways join where they share an
  OSM node -- at their ends as often as in their interiors -- and a bridge or
  tunnel drawn over a road without a shared vertex never joins it.  Plain
  line files without shared vertices can ask for crossings to be noded
  (:attr:`NetworkSettings.node_crossings`); crossings involving an expressway,
  a bridge, a tunnel, or lines of different ``layer`` are never noded.
* **Graph nodes** are line ends, vertices used by more than one line piece,
  and the points where places, parks, stations and interchanges attach.
  Every other vertex is contracted away: an edge runs between consecutive
  graph nodes of a line, its length is the sum of the ellipsoidal lengths of
  its segments (:meth:`pyproj.Geod.inv` on arrays).
* **Expressways** (class ``expressway``) are entered and left only at access
  points: vertices shared with another road (a ``ramp`` -- OSM
  ``motorway_link`` -- or any other road whose line shares the vertex: in OSM
  that only happens at junctions), ``interchange`` points of the nodes layer
  (linked to the nearest expressway point and the nearest other road point),
  the ends of the expressway network, and vertices where two expressway routes
  (``ref``, else corridor id) meet.  Indicative expressway lines
  (``geometry_quality = "indicative"``, the embedded corridors) are drawn
  through the towns where their interchanges are, so their own vertices are
  access points too (not the densification vertices).  Places, parks and
  stations never link onto an expressway segment; expressway-interior nodes are
  not :attr:`Network.exit` nodes.
* **Direction.**  ``oneway`` (``yes``/``true``/``1``: along the drawing
  direction, ``-1``: against it) gives one directed edge; any other value both.
* **Speed.**  Edge minutes = length / speed.  The speed is the class speed
  (:class:`~twinstar_gis.settings.Speeds`) unless
  :attr:`NetworkSettings.use_maxspeed` and the line has a ``maxspeed`` (OSM,
  numeric km/h or ``"60 mph"``); then ``maxspeed * maxspeed_factor``.  A
  scenario file's (``extra_corridors``) ``design_speed_kmh`` is honoured the
  same way.  (The embedded corridors' design speeds are design speeds, not
  average speeds, and are not used.)  A negative, zero or non-numeric speed is
  a :class:`~twinstar_gis.ValidationError` naming the feature ids.
* **Rail** is boarded only at stations.  Each station is linked to the nearest
  point of every line that serves it (its id in the line's ``stations``
  column; lines without that column serve the stations within
  :attr:`NetworkSettings.station_max_m`), with half the class's transfer time
  on the link.  A declared station farther than ``station_max_m`` from its
  line, or a station no rail line passes within that distance, is reported in
  :attr:`Network.problems` (and logged), never silently skipped; so is a
  high-speed line no station serves.
* **Places, parks (centroid) and stations** are linked by a straight link at
  :attr:`Speeds.off_network` to the nearest point of the nearest road segment
  (not expressway), found for all of them with one STRtree query in the
  regional equal-area projection; the segment is split there and the link's
  ellipsoidal length is kept in :attr:`Network.link_km`.  Links longer than
  :attr:`Speeds.max_link_km` are not made, and reported.  Where an expressway
  access point is nearer than that road point, they also link to the nearest
  access point of each expressway route within that distance; places and parks
  nearer to a station than to any road point also link to that station.  (A
  place or station with two links can be passed through on them: a straight
  connection at the off-network speed, as the old model allowed everywhere.)

Shortest times use :func:`scipy.sparse.csgraph.dijkstra` (compiled, directed).
Unreachable pairs are ``NaN`` (never 0 or a huge number).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from ..errors import ValidationError
from ..data.crs import EQUAL_AREA_CRS, GEOD
from ..data.schema import in_service
from ..data.validate import ValidationReport
from ..settings import CORRIDOR_CLASSES, DEFAULT, RAIL_CLASSES, ROAD_CLASSES, Settings

__all__ = [
    "RAIL_CLASSES",
    "ROAD_CLASSES",
    "Network",
    "build_network",
    "network_od_matrix",
    "parse_speed",
    "travel_times",
    "travel_times_to",
    "validate_network",
]

log = logging.getLogger(__name__)

#: Lines are densified to this step (degrees, ~1 km) so that links snap onto
#: the stored (lon/lat-straight) line; a no-op on OpenStreetMap ways.
DENSIFY_DEG = 0.01
_MIN_MINUTES = 1e-6
_STATION_KINDS = ("hsr_station", "rail_station")
_TRUE = ("yes", "true", "1")
_TO_PROJ = Transformer.from_crs("EPSG:4326", EQUAL_AREA_CRS, always_xy=True)
_SPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)
_SLACK = (0.01, 50.0)  # projected distances are within 0.3 % of true over the region


@dataclass(frozen=True)
class Network:
    """A built network.

    Attributes
    ----------
    graph : scipy.sparse.csr_matrix
        Directed edge times in minutes (row = from, column = to).
    lon, lat : numpy.ndarray
        Node coordinates (WGS-84).
    kind : numpy.ndarray of str
        ``road``, ``rail``, ``station`` or ``place``.
    node_cls : numpy.ndarray of str
        Corridor class of road and rail nodes (``expressway`` wins where classes meet), else the kind.
    exit : numpy.ndarray of bool
        Nodes where a traveller can leave the network onto the land around it: road nodes that are
        not expressway-interior, stations and places; never rail or expressway interiors.
    place_index : pandas.Series
        Node index of every place, park and station, indexed by its id.
    link_km : pandas.Series
        Straight-link length (km) from each place, park and station to the road network, NaN if not linked.
    edges : geopandas.GeoDataFrame
        One row per physical edge: ``u``, ``v``, ``mode`` (road / rail / link / transfer), ``cls``,
        ``km``, ``minutes``, ``oneway`` (True: only u -> v), geometry.
    settings : Settings
    problems : list of str
        Everything the build found and reported (far stations, unlinked places, ...).
    """

    graph: object
    lon: np.ndarray
    lat: np.ndarray
    kind: np.ndarray
    node_cls: np.ndarray
    exit: np.ndarray
    place_index: pd.Series
    link_km: pd.Series
    edges: gpd.GeoDataFrame
    settings: Settings = DEFAULT
    problems: list = field(default_factory=list)

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.lon)

    @property
    def speeds(self):
        """The speed assumptions the network was built with (``settings.speeds``)."""
        return self.settings.speeds


# --------------------------------------------------------------------------
# Corridor table: classes, speeds, direction
# --------------------------------------------------------------------------

def parse_speed(values) -> tuple[np.ndarray, np.ndarray]:
    """Parse speed values (numbers, ``"80"``, ``"60 mph"``) to km/h.

    Returns
    -------
    (speed, bad) : numpy.ndarray of float, numpy.ndarray of bool
        NaN where missing; ``bad`` marks present but non-numeric, zero or negative values.

    Examples
    --------
    >>> s, bad = parse_speed(["80", "60 mph", None, "fast", -100, 50.0])
    >>> [float(round(x, 1)) for x in s[[0, 1, 5]]], bad.tolist()
    ([80.0, 96.6, 50.0], [False, False, False, True, True, False])
    """
    vals = pd.Series(values, dtype=object)
    out = np.full(len(vals), np.nan)
    bad = np.zeros(len(vals), bool)
    missing = vals.isna().to_numpy() | (vals.astype(str).str.strip() == "").to_numpy()
    num = pd.to_numeric(vals.where(~missing), errors="coerce").to_numpy(dtype=float)
    is_num = np.isfinite(num)
    out[is_num] = num[is_num]
    text = vals[~missing & ~is_num].astype(str)
    m = text.str.extract(_SPEED_RE)
    ok = m[0].notna().to_numpy()
    factor = np.where(m[1].fillna("").str.lower().to_numpy() == "mph", 1.609344, 1.0)
    idx = np.flatnonzero(~missing & ~is_num)
    out[idx[ok]] = m[0].to_numpy(dtype=object)[ok].astype(float) * factor[ok]
    bad[idx[~ok]] = True
    bad |= np.isfinite(out) & (out <= 0)
    out[bad] = np.nan
    return out, bad


def _flag(series) -> np.ndarray:
    return series.astype(str).str.strip().str.lower().isin(_TRUE).to_numpy()


def _oneway(gdf) -> np.ndarray:
    if "oneway" not in gdf.columns:
        return np.zeros(len(gdf), np.int8)
    s = gdf["oneway"].astype(str).str.strip().str.lower()
    return np.where(s.isin(_TRUE), 1, np.where(s == "-1", -1, 0)).astype(np.int8)


def _label(gdf) -> str:
    return gdf.attrs.get("source_file", "corridors")


def _corridor_table(layers, settings, include_planned, extra_corridors, modes):
    """Selected corridors with class, speed, direction and bridge flags checked and resolved."""
    cors = in_service(layers["corridors"], include_planned=include_planned)
    cors = cors.to_crs(4326).assign(_scenario=False)
    if extra_corridors is not None and len(extra_corridors):  # scenario corridors always count
        extra = extra_corridors.to_crs(4326).assign(_scenario=True)
        cors = pd.concat([cors, extra], ignore_index=True)
    cors = cors.reset_index(drop=True)
    ids = cors["corridor_id"].astype(str) if "corridor_id" in cors.columns else pd.Series(cors.index.astype(str))
    problems = []
    unknown = ~cors["class"].isin(CORRIDOR_CLASSES)
    if unknown.any():
        problems.append(f"{_label(layers['corridors'])}: unknown corridor class "
                        f"{sorted(cors.loc[unknown, 'class'].astype(str).unique())} on {_ids(ids[unknown])}; "
                        f"known classes: {', '.join(CORRIDOR_CLASSES)} (a project's class_map can rename yours)")
    cls = cors["class"].astype(str).to_numpy()
    speed = np.array([settings.speeds.for_class(c) if c in CORRIDOR_CLASSES else np.nan for c in np.unique(cls)])
    speed = speed[np.searchsorted(np.unique(cls), cls)] if len(cls) else speed
    for col, scenario_only in (("maxspeed", False), ("design_speed_kmh", True)):
        if col not in cors.columns:
            continue
        v, bad = parse_speed(cors[col])
        if bad.any():
            problems.append(f"{_label(layers['corridors'])}: invalid {col} on {_ids(ids[bad])} "
                            f"(values {_ids(cors.loc[bad, col])}); give km/h as a positive number or leave it empty")
        use = np.isfinite(v) & settings.network.use_maxspeed & ~np.isin(cls, RAIL_CLASSES)
        if scenario_only:
            use &= cors["_scenario"].to_numpy(bool)
        speed = np.where(use, v * settings.network.maxspeed_factor, speed)
    if problems:
        raise ValidationError(problems)
    rail = np.isin(cls, RAIL_CLASSES)
    keep = (rail & ("rail" in modes)) | (~rail & ("road" in modes))
    flat = (_flag(cors["bridge"]) if "bridge" in cors.columns else np.zeros(len(cors), bool)) | \
           (_flag(cors["tunnel"]) if "tunnel" in cors.columns else np.zeros(len(cors), bool))
    layer = pd.to_numeric(cors["layer"], errors="coerce").fillna(0).to_numpy() if "layer" in cors.columns \
        else np.zeros(len(cors))
    table = pd.DataFrame({"cid": ids.to_numpy(), "cls": cls, "speed": speed, "oneway": _oneway(cors), "rail": rail,
                          "over": flat, "layer": layer,
                          "route": (cors["ref"].fillna("").astype(str).where(lambda r: r.str.strip() != "", ids)
                                    if "ref" in cors.columns else ids).to_numpy(),
                          "indicative": (cors["geometry_quality"] == "indicative").to_numpy()
                          if "geometry_quality" in cors.columns else False,
                          "stations": cors["stations"].fillna("").astype(str).to_numpy() if "stations" in cors.columns
                          else ""})
    return table[keep].reset_index(drop=True), np.asarray(cors.geometry.values)[keep]


def _ids(values, n=12) -> str:
    values = [str(v) for v in values]
    return ", ".join(values[:n]) + (f" … (+{len(values) - n} more)" if len(values) > n else "")


# --------------------------------------------------------------------------
# Vertices: explode, insert, key
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Vertices:
    """Every vertex of every line piece, pieces contiguous and in order."""

    lon: np.ndarray
    lat: np.ndarray
    piece: np.ndarray
    fresh: np.ndarray  # -1: keyed by coordinates; k >= 0: attachment point k (its own node)
    dense: np.ndarray  # added by densification: never keyed by coordinates

    def bounds(self, n_pieces):
        first = np.searchsorted(self.piece, np.arange(n_pieces + 1))
        return first[:-1], first[1:] - 1

    def lengths(self, x, y):
        """Segment lengths (vertex i -> i+1, 0 across pieces) and their running sum (len n + 1)."""
        seg = np.zeros(len(x))
        seg[:-1] = np.where(self.piece[1:] == self.piece[:-1], np.hypot(np.diff(x), np.diff(y)), 0.0)
        return seg, np.concatenate([[0.0], np.cumsum(seg)])


def _explode(geoms):
    """Line pieces (LineStrings), the row of each, and their vertices densified to ``DENSIFY_DEG``.

    The added vertices are flagged ``dense``: they are never matched with another line's vertex
    (a road would otherwise join whatever another line's vertex happens to lie on).
    """
    parts, row = shapely.get_parts(geoms, return_index=True)
    ok = (shapely.get_type_id(parts) == 1) & (shapely.get_num_coordinates(parts) >= 2)
    parts, row = parts[ok], row[ok]
    xy, piece = shapely.get_coordinates(parts, return_index=True)
    n = len(xy)
    extra = np.zeros(n, np.int64)
    if n > 1:
        seg = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
        extra[:-1] = np.where(piece[1:] == piece[:-1], np.maximum(np.ceil(seg / DENSIFY_DEG) - 1, 0), 0)
    rep = extra + 1
    base = np.repeat(np.arange(n), rep)
    j = np.arange(rep.sum()) - np.repeat(np.cumsum(rep) - rep, rep)
    t = j / rep[base]
    nxt = np.minimum(base + 1, n - 1)
    lon = xy[base, 0] + t * (xy[nxt, 0] - xy[base, 0])
    lat = xy[base, 1] + t * (xy[nxt, 1] - xy[base, 1])
    verts = _Vertices(lon, lat, piece[base].astype(np.int64), np.full(len(lon), -1, np.int64), j > 0)
    return parts, row, verts


def _locate(along, pc, first, last, cum, seg):
    """Segment (start vertex) and fraction along it of a distance ``along`` from the start of piece ``pc``."""
    g = cum[first[pc]] + along
    v = np.clip(np.searchsorted(cum, g, side="right") - 1, first[pc], np.maximum(last[pc] - 1, first[pc]))
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(seg[v] > 0, (g - cum[v]) / seg[v], 0.0)
    return v, np.clip(t, 0.0, 1.0)


def _insert(verts, v, t, lon, lat, fresh):
    """Insert vertices on segments (v, v + 1) at fractions t; returns new vertices and their positions."""
    n = len(verts.lon)
    vkey = np.concatenate([np.arange(n), v])
    tkey = np.concatenate([np.full(n, -1.0), t])
    order = np.lexsort((tkey, vkey))
    where = np.empty(len(order), np.int64)
    where[order] = np.arange(len(order))
    out = _Vertices(np.concatenate([verts.lon, lon])[order], np.concatenate([verts.lat, lat])[order],
                    np.concatenate([verts.piece, verts.piece[v]])[order], np.concatenate([verts.fresh, fresh])[order],
                    np.concatenate([verts.dense, np.zeros(len(v), bool)])[order])
    return out, where[n:]


def _crossings(parts, table, row, verts):
    """Vertices to add where eligible lines cross (``node_crossings``): never expressways, bridges,
    tunnels, or lines on different layers.  Both lines get a vertex with the same coordinates."""
    cand = np.flatnonzero(~table["rail"].to_numpy()[row] & (table["cls"].to_numpy()[row] != "expressway")
                          & ~table["over"].to_numpy()[row])
    if len(cand) < 2:
        return verts
    i, j = shapely.STRtree(parts[cand]).query(parts[cand], predicate="intersects")
    layer = table["layer"].to_numpy()[row]
    keep = (i < j) & (layer[cand[i]] == layer[cand[j]])
    a, b = cand[i[keep]], cand[j[keep]]
    pts, k = shapely.get_parts(shapely.intersection(parts[a], parts[b]), return_index=True)
    is_pt = shapely.get_type_id(pts) == 0
    pts, k = pts[is_pt], k[is_pt]
    if len(pts) == 0:
        return verts
    pc = np.concatenate([a[k], b[k]])
    pp = np.concatenate([pts, pts])
    first, last = verts.bounds(len(parts))
    seg, cum = verts.lengths(verts.lon, verts.lat)
    v, t = _locate(shapely.line_locate_point(parts[pc], pp), pc, first, last, cum, seg)
    xy = shapely.get_coordinates(pp)
    log.info("node_crossings: %d crossings noded", len(pts))
    return _insert(verts, v, t, xy[:, 0], xy[:, 1], np.full(len(pc), -1, np.int64))[0]


def _vertex_ids(verts, group, snap_m):
    """Node key of every vertex: exact coordinates (or snap_m cells) within a group for original
    vertices; attachment points and densification vertices each their own."""
    orig = (verts.fresh < 0) & ~verts.dense
    x, y, g = verts.lon[orig], verts.lat[orig], group[orig]
    if snap_m > 0:
        x, y = _TO_PROJ.transform(x, y)
        x, y = np.floor(np.asarray(x) / snap_m), np.floor(np.asarray(y) / snap_m)
    order = np.lexsort((y, x, g))
    xs, ys, gs = x[order], y[order], g[order]
    new = np.ones(len(order), bool)
    new[1:] = (np.diff(xs) != 0) | (np.diff(ys) != 0) | (np.diff(gs) != 0)
    uid = np.empty(len(order), np.int64)
    uid[order] = np.cumsum(new) - 1
    ids = np.empty(len(verts.lon), np.int64)
    ids[orig] = uid
    top = uid.max() + 1 if len(uid) else 0
    fresh = verts.fresh >= 0
    ids[fresh] = top + verts.fresh[fresh]
    top += verts.fresh.max() + 1 if fresh.any() else 0
    ids[verts.dense] = top + np.arange(verts.dense.sum())
    return ids


# --------------------------------------------------------------------------
# Attachments: places, parks, stations and interchanges onto the lines
# --------------------------------------------------------------------------

def _link_points(layers, include_planned) -> pd.DataFrame:
    """Every point to attach: id, kind (place / station / interchange), lon, lat; places and parks first."""
    frames = []
    for name, col in (("places", "place_id"), ("parks", "park_id")):
        g = layers.get(name)
        if g is not None and len(g):
            g = g.to_crs(4326).sort_values(col)
            frames.append(pd.DataFrame({"id": g[col].astype(str).to_numpy(), "kind": "place",
                                        "geom": shapely.centroid(np.asarray(g.geometry.values))}))
    nodes = layers.get("nodes")
    if nodes is not None and len(nodes):
        nodes = in_service(nodes.to_crs(4326), include_planned=include_planned).sort_values("node_id")
        for kinds, kind in ((_STATION_KINDS, "station"), (("interchange",), "interchange")):
            g = nodes[nodes["kind"].isin(kinds)]
            frames.append(pd.DataFrame({"id": g["node_id"].astype(str).to_numpy(), "kind": kind,
                                        "sub": g["kind"].to_numpy(), "geom": np.asarray(g.geometry.values)}))
    pts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["id", "kind", "geom"])
    pts["lon"] = shapely.get_x(shapely.centroid(pts["geom"].to_numpy())) if len(pts) else []
    pts["lat"] = shapely.get_y(shapely.centroid(pts["geom"].to_numpy())) if len(pts) else []
    return pts.drop(columns="geom")


@dataclass(frozen=True)
class _Proj:
    """The pieces in the regional projection, for nearest searches."""

    geoms: np.ndarray
    first: np.ndarray
    last: np.ndarray
    seg: np.ndarray
    cum: np.ndarray


def _project(verts, n_pieces):
    x, y = _TO_PROJ.transform(verts.lon, verts.lat)
    x, y = np.asarray(x), np.asarray(y)
    geoms = shapely.linestrings(np.column_stack([x, y]), indices=verts.piece)
    first, last = verts.bounds(n_pieces)
    seg, cum = verts.lengths(x, y)
    return _Proj(geoms, first, last, seg, cum)


def _snap(proj, verts, pts_proj, pt, pc):
    """Nearest point of piece ``pc`` to point ``pt``: segment, fraction, lon/lat."""
    along = shapely.line_locate_point(proj.geoms[pc], pts_proj[pt])
    v, t = _locate(along, pc, proj.first, proj.last, proj.cum, proj.seg)
    w = np.minimum(v + 1, len(verts.lon) - 1)
    lon = verts.lon[v] + t * (verts.lon[w] - verts.lon[v])
    lat = verts.lat[v] + t * (verts.lat[w] - verts.lat[v])
    return pd.DataFrame({"pt": pt, "pc": pc, "v": v, "t": t, "snap_lon": lon, "snap_lat": lat})


def _nearest_on(proj, verts, pts_proj, which_pts, pieces, max_m, role):
    """One STRtree query: the nearest piece (of ``pieces``) to each point of ``which_pts``."""
    if len(which_pts) == 0 or len(pieces) == 0:
        return None
    rel, absm = _SLACK
    tree = shapely.STRtree(proj.geoms[pieces])
    (a, b) = tree.query_nearest(pts_proj[which_pts], max_distance=max_m * (1 + rel) + absm, all_matches=False)
    out = _snap(proj, verts, pts_proj, which_pts[a], pieces[b])
    out["role"] = role
    return out


def _declared(table) -> pd.DataFrame:
    """(row, station id) pairs of the ``stations`` column."""
    s = table["stations"]
    s = s[s.str.strip() != ""].str.split(";").explode().str.strip()
    s = s[s.notna() & (s != "")]
    return pd.DataFrame({"row": s.index.to_numpy(), "sid": s.to_numpy()})


def _rail_candidates(proj, verts, pts, pts_proj, table, row, settings):
    """Station -> nearest point of every rail line serving it (declared, or within station_max_m)."""
    st = np.flatnonzero(pts["kind"].to_numpy() == "station")
    pieces = np.flatnonzero(table["rail"].to_numpy()[row])
    if len(st) == 0 or len(pieces) == 0:
        return None
    rel, absm = _SLACK
    i, j = shapely.STRtree(proj.geoms[pieces]).query(
        pts_proj[st], predicate="dwithin", distance=settings.network.station_max_m * (1 + rel) + absm)
    cand = pd.DataFrame({"pt": st[i], "pc": pieces[j], "row": row[pieces[j]]})
    cand["d"] = shapely.distance(pts_proj[cand["pt"].to_numpy()], proj.geoms[cand["pc"].to_numpy()])
    decl = _declared(table)
    cand["sid"] = pts["id"].to_numpy()[cand["pt"].to_numpy()]
    has_decl = np.isin(cand["row"].to_numpy(), decl["row"].to_numpy())
    ok = cand.merge(decl, on=["row", "sid"], how="left", indicator=True)["_merge"].eq("both").to_numpy()
    cand = cand[ok | ~has_decl].sort_values(["pt", "row", "d"], kind="mergesort").drop_duplicates(["pt", "row"])
    out = _snap(proj, verts, pts_proj, cand["pt"].to_numpy(), cand["pc"].to_numpy())
    out["role"] = "rail"
    return out


def _attachments(proj, verts, pts, table, row, settings):
    """Every attachment, its exact link length, and the problems found."""
    pts_proj = shapely.points(*_TO_PROJ.transform(pts["lon"].to_numpy(), pts["lat"].to_numpy())) if len(pts) \
        else np.array([], dtype=object)
    cls = table["cls"].to_numpy()[row]
    road = np.flatnonzero(~table["rail"].to_numpy()[row] & (cls != "expressway"))
    expw = np.flatnonzero(cls == "expressway")
    max_m = settings.speeds.max_link_km * 1000
    kind = pts["kind"].to_numpy()
    parts = [_nearest_on(proj, verts, pts_proj, np.flatnonzero(np.isin(kind, ["place", "station", "interchange"])),
                         road, max_m, "road"),
             _nearest_on(proj, verts, pts_proj, np.flatnonzero(kind == "interchange"), expw, max_m, "expressway"),
             _rail_candidates(proj, verts, pts, pts_proj, table, row, settings)]
    att = pd.concat([p for p in parts if p is not None and len(p)], ignore_index=True) if any(
        p is not None and len(p) for p in parts) else pd.DataFrame(columns=["pt", "pc", "v", "t", "snap_lon",
                                                                             "snap_lat", "role"])
    att["km"] = GEOD.inv(pts["lon"].to_numpy()[att["pt"].to_numpy(int)], pts["lat"].to_numpy()[att["pt"].to_numpy(int)],
                         att["snap_lon"].to_numpy(float), att["snap_lat"].to_numpy(float))[2] / 1000 if len(att) else []
    limit = np.where(att["role"] == "rail", settings.network.station_max_m / 1000, settings.speeds.max_link_km)
    att = att[att["km"].to_numpy(float) <= limit].reset_index(drop=True)
    return att, _attachment_problems(att, pts, table, row, settings)


def _attachment_problems(att, pts, table, row, settings):
    problems = []
    kind = pts["kind"].to_numpy()
    if table["rail"].any():
        on_rail = np.zeros(len(pts), bool)
        on_rail[att.loc[att["role"] == "rail", "pt"].to_numpy(int)] = True
        far = pts["id"][(kind == "station") & ~on_rail]
        if len(far):
            problems.append(f"stations farther than {settings.network.station_max_m:g} m (station_max_m) from every "
                            f"rail line that serves them; nobody boards there: {_ids(far)}")
        decl = _declared(table)
        decl = decl[table["rail"].to_numpy()[decl["row"].to_numpy(int)]]
        got = pd.DataFrame({"row": row[att.loc[att["role"] == "rail", "pc"].to_numpy(int)],
                            "sid": pts["id"].to_numpy()[att.loc[att["role"] == "rail", "pt"].to_numpy(int)]})
        miss = decl.merge(got, on=["row", "sid"], how="left", indicator=True)
        miss = miss[miss["_merge"] == "left_only"]
        known = set(pts["id"][kind == "station"])
        for r, sid in zip(miss["row"], miss["sid"]):  # one message per missing (line, station) claim
            what = "is farther than station_max_m from it" if sid in known else "is not an operating station of the nodes layer"
            problems.append(f"corridor {table['cid'].iloc[r]} declares station {sid}, which {what}")
    return problems


# --------------------------------------------------------------------------
# Edges and nodes
# --------------------------------------------------------------------------

_CLASS_RANK = ("expressway", "high_speed_rail", "railway", "national_highway", "provincial_highway",
               "county_road", "local_road", "ramp")


def _indicative_access(verts, table, row, geoms):
    """Vertices of expressways that are original vertices of an indicative line (drawn through the
    towns where the interchanges are): access points."""
    rows = np.flatnonzero((table["cls"].to_numpy() == "expressway") & table["indicative"].to_numpy(bool))
    out = np.zeros(len(verts.lon), bool)
    if len(rows) == 0:
        return out
    xy = shapely.get_coordinates(geoms[rows])
    known = pd.MultiIndex.from_arrays([xy[:, 0], xy[:, 1]])
    on = np.isin(row[verts.piece], rows) & (verts.fresh < 0) & ~verts.dense
    out[on] = pd.MultiIndex.from_arrays([verts.lon[on], verts.lat[on]]).isin(known)
    return out


def _line_edges(verts, vid, forced):
    """Contract each piece between graph nodes: (start, end) vertex positions, km, node mask."""
    n = len(vid)
    same = verts.piece[1:] == verts.piece[:-1]
    is_node = forced | (np.bincount(vid)[vid] > 1)
    is_node[0] = is_node[-1] = True
    is_node[1:] |= ~same
    is_node[:-1] |= ~same
    seg = np.zeros(n)
    seg[:-1] = np.where(same, GEOD.inv(verts.lon[:-1], verts.lat[:-1], verts.lon[1:], verts.lat[1:])[2] / 1000, 0.0)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    pos = np.flatnonzero(is_node)
    a, b = pos[:-1], pos[1:]
    ok = verts.piece[a] == verts.piece[b]
    a, b = a[ok], b[ok]
    return a, b, cum[b] - cum[a], pos


def _edge_geometry(verts, a, b):
    """Each edge's polyline: vertices a..b (inclusive) of its piece, built in one call."""
    counts = b - a + 1
    start = np.repeat(a - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    flat = np.arange(counts.sum()) + start
    return shapely.linestrings(np.column_stack([verts.lon[flat], verts.lat[flat]]), indices=np.repeat(np.arange(len(a)), counts))


def _node_roles(m, pos_node, pos_cls, pos_route, eu, ev, ecls, acc_nodes):
    """Class of each line node; which expressway nodes are interior and which are access points.

    Access: a vertex shared with another road (ramp or other class), an end of the expressway
    network, a meeting of two expressway routes (``ref``, else corridor id), an interchange
    attachment or an original vertex of an indicative expressway line (``acc_nodes``).
    """
    rank = np.full(m, len(_CLASS_RANK), np.int64)
    code = np.array([_CLASS_RANK.index(c) for c in _CLASS_RANK])
    cls_code = pd.Categorical(pos_cls, categories=_CLASS_RANK).codes
    np.minimum.at(rank, pos_node, code[cls_code])
    node_cls = np.array(_CLASS_RANK + ("",), dtype=object)[rank]
    has_exp = np.zeros(m, bool)
    has_exp[pos_node[pos_cls == "expressway"]] = True
    has_other = np.zeros(m, bool)
    has_other[pos_node[np.isin(pos_cls, ROAD_CLASSES) & (pos_cls != "expressway")]] = True
    e = ecls == "expressway"
    deg = np.bincount(eu[e], minlength=m) + np.bincount(ev[e], minlength=m)
    routes = pd.DataFrame({"n": pos_node[pos_cls == "expressway"], "r": pos_route[pos_cls == "expressway"]})
    n_routes = np.bincount(routes.drop_duplicates()["n"].to_numpy(np.int64), minlength=m)
    access = has_other | (deg == 1) | (n_routes > 1)
    access[acc_nodes] = True
    return node_cls, has_exp & ~access, routes.drop_duplicates()[access[routes.drop_duplicates()["n"].to_numpy(np.int64)]]


def _directed(eu, ev, w, oneway):
    """Directed (from, to, minutes) with the quickest of parallel edges and no self-loops."""
    fu = np.concatenate([eu[oneway >= 0], ev[oneway <= 0]])
    fv = np.concatenate([ev[oneway >= 0], eu[oneway <= 0]])
    fw = np.concatenate([w[oneway >= 0], w[oneway <= 0]])
    keep = fu != fv
    fu, fv, fw = fu[keep], fv[keep], fw[keep]
    order = np.lexsort((fw, fv, fu))
    fu, fv, fw = fu[order], fv[order], fw[order]
    first = np.ones(len(fu), bool)
    first[1:] = (np.diff(fu) != 0) | (np.diff(fv) != 0)
    return fu[first], fv[first], fw[first]


def _hsr_without_stations(m, eu, ev, emode, ecls, erow, table, station_snaps):
    """High-speed lines on a rail component no station is linked to (nobody can board them)."""
    r = emode == "rail"
    if not (ecls[r] == "high_speed_rail").any():
        return []
    g = csr_matrix((np.ones(r.sum()), (eu[r], ev[r])), shape=(m, m))
    _, lab = connected_components(g, directed=False)
    served = pd.Series(np.isin(lab[eu[r]], lab[station_snaps])).groupby(erow[r]).any()
    rows = served.index[~served.to_numpy()]
    bad = np.unique(table["cid"].to_numpy()[rows[table["cls"].to_numpy()[rows] == "high_speed_rail"]])
    if len(bad):
        return [(f"high-speed rail lines with no station (nobody can board them; give their `stations` or add "
                f"stations within station_max_m): {_ids(bad)}")]
    return []


# --------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------

def build_network(layers: dict, *, settings: Settings = DEFAULT, include_planned: bool = False,
                  extra_corridors: gpd.GeoDataFrame | None = None, modes=("road", "rail")) -> Network:
    """Build the directed multimodal network (see the module docstring for the rules).

    Parameters
    ----------
    layers : dict
        ``corridors`` (required; any road/rail line file with a ``class`` column, optional
        ``oneway``, ``maxspeed``, ``bridge``, ``tunnel``, ``layer``, ``stations``), ``nodes``
        (stations, interchanges), ``places``, ``parks``.
    settings : Settings
        Speeds (``settings.speeds``) and network rules (``settings.network``).
    include_planned : bool
        Include corridors and stations whose status is not ``operating`` (scenarios).
    extra_corridors : GeoDataFrame, optional
        Scenario corridors (same attributes as the corridor layer); they always count.
    modes : tuple
        ``("road",)`` for a road-only network.

    Returns
    -------
    Network

    Raises
    ------
    ValidationError
        Unknown corridor class, or an invalid ``maxspeed`` / ``design_speed_kmh`` (ids listed).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString, Point
    >>> cor = gpd.GeoDataFrame({"corridor_id": ["R"], "class": ["county_road"]},
    ...                        geometry=[LineString([(119.0, 42.0), (119.1, 42.0)])], crs=4326)
    >>> pl = gpd.GeoDataFrame({"place_id": ["A", "B"]}, geometry=[Point(119.0, 42.0), Point(119.1, 42.0)], crs=4326)
    >>> net = build_network({"corridors": cor, "places": pl})
    >>> round(float(network_od_matrix(net, ["A", "B"]).loc["A", "B"]), 2)  # 8.29 km at 40 km/h
    12.43
    """
    table, geoms = _corridor_table(layers, settings, include_planned, extra_corridors, modes)
    parts, row, verts = _explode(geoms)
    pts = _link_points(layers, include_planned)
    problems = []
    if len(parts) == 0:
        problems.append("no corridor lines to build a network from")
        return _empty_network(pts, settings, problems)
    if settings.network.node_crossings:
        verts = _crossings(parts, table, row, verts)
    att = pd.DataFrame(columns=["pt", "pc", "v", "t", "snap_lon", "snap_lat", "role", "km"])
    if len(pts):
        att, problems = _attachments(_project(verts, len(parts)), verts, pts, table, row, settings)
    att["k"] = att.groupby(["pc", "v", "t"], sort=False).ngroup() if len(att) else []
    uniq = att.drop_duplicates("k").sort_values("k")
    verts, where = _insert(verts, uniq["v"].to_numpy(int), uniq["t"].to_numpy(float), uniq["snap_lon"].to_numpy(float),
                           uniq["snap_lat"].to_numpy(float), np.arange(len(uniq), dtype=np.int64))
    group = table["rail"].to_numpy()[row][verts.piece].astype(np.int64)
    vid = _vertex_ids(verts, group, settings.network.snap_m)
    acc_vertex = _indicative_access(verts, table, row, geoms)
    a, b, km, pos = _line_edges(verts, vid, (verts.fresh >= 0) | acc_vertex)
    _, first, node_at_pos = np.unique(vid[pos], return_index=True, return_inverse=True)
    nidx = np.full(len(vid), -1, np.int64)
    nidx[pos] = node_at_pos
    net = _assemble(verts, table, row, pts, att, nidx[where][att["k"].to_numpy(int)], a, b, km, pos, first, nidx,
                    acc_vertex, settings, problems)
    log.info("network: %d nodes, %d directed edges; %d places/parks, %d stations linked; %d problems", net.n,
             net.graph.nnz, (net.kind == "place").sum(), (net.kind == "station").sum(), len(net.problems))
    # The road-only variant (a by-road comparison) repeats the full network's problems: say them once.
    level = logging.WARNING if "rail" in modes else logging.INFO
    for p in net.problems:
        log.log(level, "network: %s", p)
    return net


def _assemble(verts, table, row, pts, att, snap_node, a, b, km, pos, first, nidx, acc_vertex, settings, problems):
    """Nodes, edges, exit mask and graph from the contracted lines and the attachments."""
    m = len(first)
    erow = row[verts.piece[a]]
    ecls = table["cls"].to_numpy()[erow]
    eu, ev = nidx[a], nidx[b]
    minutes = np.maximum(km / table["speed"].to_numpy()[erow] * 60.0, _MIN_MINUTES)
    emode = np.where(table["rail"].to_numpy()[erow], "rail", "road")
    pos_cls = table["cls"].to_numpy()[row[verts.piece[pos]]]
    acc = np.concatenate([snap_node[(att["role"] == "expressway").to_numpy()], nidx[np.flatnonzero(acc_vertex)]])
    pos_route = table["route"].to_numpy()[row[verts.piece[pos]]]
    node_cls, exp_interior, exp_access = _node_roles(m, nidx[pos], pos_cls, pos_route, eu, ev, ecls, acc)
    lon = np.concatenate([verts.lon[pos[first]], pts["lon"].to_numpy(float)])
    lat = np.concatenate([verts.lat[pos[first]], pts["lat"].to_numpy(float)])
    line_group = verts.piece[pos[first]]
    kind = np.concatenate([np.where(table["rail"].to_numpy()[row[line_group]], "rail", "road"),
                           np.where(pts["kind"] == "interchange", "road", pts["kind"]).astype(object)]).astype(str)
    node_cls = np.concatenate([node_cls, np.where(pts["kind"] == "interchange", "ramp", pts["kind"])]).astype(str)
    exit_ = np.isin(kind, ["station", "place"]) | ((kind == "road") & np.concatenate([~exp_interior, np.ones(len(pts), bool)]))
    att, snap_node = _expressway_links(att, snap_node, lon[:m], lat[:m], exp_access, pts, settings)
    att, snap_node = _station_links(att, snap_node, m, pts, settings)
    # Links: point node <-> its attachment node, both ways.
    pnode = m + att["pt"].to_numpy(int)
    rail = (att["role"] == "rail").to_numpy()
    rail_cls = table["cls"].to_numpy()[row[att["pc"].fillna(0).to_numpy(int)]] if len(att) else np.array([], str)
    half = pd.Series(rail_cls, dtype=object).map(dict(settings.speeds.transfer_min)).fillna(0.0).to_numpy(float) / 2
    transfer = np.where(rail, half, 0.0)
    lkm = att["km"].to_numpy(float)
    lmin = np.maximum(lkm / settings.speeds.off_network * 60.0 + transfer, _MIN_MINUTES)
    problems = problems + _hsr_without_stations(m, eu, ev, emode, ecls, erow, table, snap_node[rail])
    all_u = np.concatenate([eu, pnode])
    all_v = np.concatenate([ev, snap_node])
    # A zero-length piece (an attachment point on a vertex) may be used both ways.
    oneway = np.concatenate([np.where(km > 0, table["oneway"].to_numpy()[erow], 0), np.zeros(len(att), np.int8)])
    fu, fv, fw = _directed(all_u, all_v, np.concatenate([minutes, lmin]), oneway)
    n = len(lon)
    graph = csr_matrix((fw, (fu, fv)), shape=(n, n))
    geom = np.concatenate([_edge_geometry(verts, a, b),
                           shapely.linestrings(np.stack([np.column_stack([lon[pnode], lat[pnode]]),
                                                         np.column_stack([lon[snap_node], lat[snap_node]])], 1))
                           if len(att) else np.array([], dtype=object)])
    edges = gpd.GeoDataFrame({
        "u": all_u, "v": all_v, "mode": np.concatenate([emode, np.where(rail, "transfer", "link")]),
        "cls": np.concatenate([ecls, np.where(rail, rail_cls, "off_network")]) if len(att) else ecls,
        "corridor_id": np.concatenate([table["cid"].to_numpy()[erow], pts["id"].to_numpy()[att["pt"].to_numpy(int)]]),
        "km": np.concatenate([km, lkm]), "minutes": np.concatenate([minutes, lmin]), "oneway": oneway != 0,
        "at_attachment": np.isin(all_u, snap_node) | np.isin(all_v, snap_node)},
        geometry=geom, crs="EPSG:4326")
    road_km = att.loc[att["role"].isin(["road", "expressway_access"])].groupby("pt")["km"].min()
    link_km = pd.Series(np.nan, index=pts["id"].to_numpy(), dtype=float)
    link_km.iloc[road_km.index.to_numpy(int)] = road_km.to_numpy()
    if (~table["rail"]).any():
        for k in ("place", "station", "interchange"):
            off = link_km.index[(pts["kind"] == k).to_numpy() & link_km.isna().to_numpy()]
            if len(off):
                to_station = set(pts["id"].to_numpy()[att.loc[att["role"] == "station_link", "pt"].to_numpy(int)])
                problems.append(f"{k}s farther than {settings.speeds.max_link_km:g} km (max_link_km) from every road, "
                                f"not linked to the roads{' (linked straight to the nearest station instead)' if k == 'place' else ''}: "
                                + ", ".join(f"{i}{' (to a station)' if i in to_station else ''}" for i in off[:12]))
    return Network(graph=graph, lon=lon, lat=lat, kind=kind, node_cls=node_cls, exit=exit_,
                   place_index=pd.Series(np.arange(m, n), index=pts["id"].to_numpy()), link_km=link_km,
                   edges=edges, settings=settings, problems=problems)


def _expressway_links(att, snap_node, lon, lat, access, pts, settings):
    """Places, parks and stations nearer to an expressway access point than to any other road: a link
    to the nearest access point of each expressway route within that distance (so that adding a
    route never removes a link)."""
    acc = np.unique(access["n"].to_numpy(np.int64))
    who = np.flatnonzero(pts["kind"].isin(["place", "station"]).to_numpy())
    if len(acc) == 0 or len(who) == 0:
        return att, snap_node
    road = att.loc[att["role"] == "road"].groupby("pt")["km"].min().reindex(who).fillna(np.inf).to_numpy()
    reach = np.minimum(road, settings.speeds.max_link_km)
    tree = shapely.STRtree(shapely.points(*_TO_PROJ.transform(lon[acc], lat[acc])))
    p = shapely.points(*_TO_PROJ.transform(pts["lon"].to_numpy()[who], pts["lat"].to_numpy()[who]))
    rel, absm = _SLACK
    a, b = tree.query(p, predicate="dwithin", distance=reach * 1000 * (1 + rel) + absm)
    pt, node = who[a], acc[b]
    km = GEOD.inv(pts["lon"].to_numpy()[pt], pts["lat"].to_numpy()[pt], lon[node], lat[node])[2] / 1000
    cand = pd.DataFrame({"pt": pt, "n": node, "km": km})[km < reach[a]]
    cand = cand.merge(access, on="n").sort_values(["pt", "r", "km"], kind="mergesort").drop_duplicates(["pt", "r"])
    cand = cand.drop_duplicates(["pt", "n"])
    new = pd.DataFrame({"pt": cand["pt"].to_numpy(), "role": "expressway_access", "km": cand["km"].to_numpy()})
    return pd.concat([att, new], ignore_index=True), np.concatenate([snap_node, cand["n"].to_numpy(np.int64)])


def _station_links(att, snap_node, m, pts, settings):
    """Places and parks nearer to a station than to any road point (or with no road within
    reach): a straight link to the nearest station too."""
    road = att.loc[att["role"].isin(["road", "expressway_access"])].groupby("pt")["km"].min()
    who = np.flatnonzero((pts["kind"] == "place").to_numpy())
    st = np.flatnonzero((pts["kind"] == "station").to_numpy())
    if len(who) == 0 or len(st) == 0:
        return att, snap_node
    lon, lat = pts["lon"].to_numpy(float), pts["lat"].to_numpy(float)
    tree = shapely.STRtree(shapely.points(*_TO_PROJ.transform(lon[st], lat[st])))
    rel, absm = _SLACK
    a, b = tree.query_nearest(shapely.points(*_TO_PROJ.transform(lon[who], lat[who])),
                              max_distance=settings.speeds.max_link_km * 1000 * (1 + rel) + absm, all_matches=False)
    pt, node = who[a], st[b]
    km = GEOD.inv(lon[pt], lat[pt], lon[node], lat[node])[2] / 1000
    keep = (km <= settings.speeds.max_link_km) & (km < road.reindex(pt).fillna(np.inf).to_numpy())
    new = pd.DataFrame({"pt": pt[keep], "role": "station_link", "km": km[keep]})
    return pd.concat([att, new], ignore_index=True), np.concatenate([snap_node, m + node[keep]])


def _empty_network(pts, settings, problems):
    n = len(pts)
    return Network(graph=csr_matrix((n, n)), lon=pts["lon"].to_numpy(float), lat=pts["lat"].to_numpy(float),
                   kind=np.asarray(pts["kind"].replace("interchange", "road"), dtype=str), node_cls=np.asarray(pts["kind"], dtype=str),
                   exit=np.ones(n, bool), place_index=pd.Series(np.arange(n), index=pts["id"].to_numpy()),
                   link_km=pd.Series(np.nan, index=pts["id"].to_numpy()),
                   edges=gpd.GeoDataFrame({"u": [], "v": [], "mode": [], "cls": [], "km": [], "minutes": []},
                                          geometry=[], crs="EPSG:4326"), settings=settings, problems=problems)


# --------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------

def _indices(net, ids):
    ids = list(ids)
    out = np.empty(len(ids), np.int64)
    for k, s in enumerate(ids):  # a handful of sources, not nodes
        out[k] = s if isinstance(s, (int, np.integer)) else net.place_index[str(s)]
    return out


def travel_times(net: Network, sources, *, limit: float | None = None) -> np.ndarray:
    """Minutes FROM each source (place / park / station ids or node indices) to every node.

    Returns an array (n_sources, n_nodes); NaN where unreachable (or beyond ``limit`` minutes).
    """
    t = dijkstra(net.graph, directed=True, indices=_indices(net, sources), limit=np.inf if limit is None else limit)
    t = np.atleast_2d(t)
    t[~np.isfinite(t)] = np.nan
    return t


def travel_times_to(net: Network, targets, *, limit: float | None = None) -> np.ndarray:
    """Minutes from every node TO each target (the reverse graph); array (n_targets, n_nodes), NaN unreachable."""
    t = dijkstra(net.graph.T.tocsr(), directed=True, indices=_indices(net, targets),
                 limit=np.inf if limit is None else limit)
    t = np.atleast_2d(t)
    t[~np.isfinite(t)] = np.nan
    return t


def network_od_matrix(net: Network, ids) -> pd.DataFrame:
    """Origin-destination travel times (minutes) among place / park / station ids; rows are origins."""
    ids = [str(i) for i in ids]
    t = travel_times(net, ids)
    return pd.DataFrame(t[:, net.place_index[ids].to_numpy()], index=ids, columns=ids)


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------

_ERRORS = ("high-speed rail lines with no station", "corridor ")


def validate_network(net_or_layers, *, settings: Settings = DEFAULT, include_planned: bool = False):
    """Check a network (or the layers it is built from) and report everything, with ids.

    Errors (``report.problems``): high-speed lines no station serves; lines whose declared
    stations are far from them or unknown.  Warnings: disconnected components (the largest, how
    many, which places and stations are off it), zero-length and duplicate edges, stations
    farther than ``station_max_m`` from every rail line, places and stations not linked.
    Unknown classes and invalid speeds raise :class:`~twinstar_gis.ValidationError` while building.

    Returns
    -------
    twinstar_gis.data.validate.ValidationReport
    """

    net = net_or_layers if isinstance(net_or_layers, Network) else build_network(
        net_or_layers, settings=settings, include_planned=include_planned)
    report = ValidationReport()
    errors = [p for p in net.problems if p.startswith(_ERRORS)]
    report.add("network: stations serve their lines", errors)
    report.warnings.extend(p for p in net.problems if not p.startswith(_ERRORS))
    n_comp, lab = connected_components(net.graph, directed=True, connection="weak")
    big = np.bincount(lab).argmax() if net.n else 0
    size = int((lab == big).sum()) if net.n else 0
    ids = net.place_index.index[lab[net.place_index.to_numpy()] != big] if net.n else []
    if n_comp > 1:
        off = f"{len(ids)} places/parks/stations are off it: {_ids(ids)}" if len(ids) else "every place, park and station is on it"
        report.warnings.append(f"network: {n_comp} disconnected components; the largest has {size} of {net.n} nodes; {off}")
    e = net.edges
    line = e[e["mode"].isin(["road", "rail"])]
    zero = line[(line["km"] == 0) & ~line["at_attachment"]]
    if len(zero):
        report.warnings.append(f"network: {len(zero)} zero-length edges (repeated vertices) on {_ids(zero['corridor_id'].unique())}")
    key = pd.DataFrame({"a": np.minimum(line["u"], line["v"]), "b": np.maximum(line["u"], line["v"]),
                        "km": line["km"].round(6)})
    dup = line[key.duplicated(keep=False).to_numpy() & (line["km"] > 0).to_numpy()]
    if len(dup):
        report.warnings.append(f"network: {len(dup)} duplicate edges (same ends and length, e.g. lines drawn twice) on "
                               f"{_ids(dup['corridor_id'].unique())}")
    speed = (line["km"] / line["minutes"] * 60).where(line["km"] > 0.001)
    summary = pd.DataFrame({"cls": line["cls"], "km": line["km"], "speed": speed}).groupby("cls").agg(
        km=("km", "sum"), lo=("speed", "min"), hi=("speed", "max"))
    report.add("network: classes and speeds", [], "; ".join(
        f"{c} {r.km:.0f} km at {r.lo:.0f}-{r.hi:.0f} km/h" for c, r in summary.iterrows()))
    report.add("network: connected", [], f"{net.n} nodes, {n_comp} components, largest {size} nodes")
    return report
