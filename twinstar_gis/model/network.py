"""A routable, directed multimodal network from any road/rail line file, built without Python loops.

Topology
--------
* **Shared vertices, not crossings.**  Lines are exploded to their vertices
  (:func:`shapely.get_coordinates`); vertices with exactly the same
  coordinates (or, with :attr:`NetworkSettings.snap_m` > 0, in the same
  ``snap_m`` cell of the study area's projection) are one node.  OpenStreetMap
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
  its segments (:meth:`pyproj.Geod.inv` on arrays) times the line's
  ``route_factor`` (>= 1, a detour index for indicative straight lines; 1 when absent).
* **Expressways** (class ``expressway``) are entered and left only through
  links (class ``ramp``, OSM ``motorway_link``) and declared ``interchange``
  points of the nodes layer (linked to the nearest expressway point and the
  nearest land-access road point).  An expressway vertex shared with another
  road that is not a ramp is *not* a junction (the road passes under or over),
  except at the first or last vertex of an expressway line, where the
  expressway continues as that road.  Two expressways sharing a vertex are
  one node (an expressway network is continuous whatever its ``ref``), but
  only ramps, interchanges and continuations make :attr:`Network.expressway_access`
  points: a way split of a motorway without a steady ``ref`` is not an entry.
  Indicative expressway lines (``geometry_quality = "indicative"``, the embedded
  corridors, drawn through the towns where their interchanges are) have their
  own vertices as access points (not the densification vertices).
* **Direction.**  ``oneway`` = ``yes``/``true``/``1``: along the drawing
  direction; ``-1``/``reverse``: against it; anything else (``no``, empty):
  both ways.
* **Access.**  ``access`` = ``no`` (also ``private``): the line is not in the
  graph.  ``destination`` (also ``delivery``, ``customers``): a trip may start
  or end on it but never pass through it -- the graph carries the states
  "start zone" (destination edges driven before any open edge), "open" and
  "end zone" (destination edges after an open edge) at the nodes that touch a
  destination edge, and only the changes start->start, start->open,
  open->open, open->end, end->end.  Anything else: open.
* **Turn restrictions** (layer ``turn_restrictions``: ``restriction``,
  ``from_corridor_id``, ``to_corridor_id``, ``via_corridor_ids``, Point = the
  via node): a via-node restriction splits its via node into one node per
  arriving edge (and one where trips start), each leaving only on the edges
  its turns allow (``no_*`` forbids from -> to; ``only_*`` allows only the
  ``to`` edges; from == to means the U-turn).  Only restricted junctions are
  split.  **U-turns**: at a split junction a trip turns back along the edge
  it came on only where that is the junction's only way on (a dead end), as
  OSRM and the reference router do; at every other junction a node-based
  graph lets a trip turn back (a driver turning round at a junction), which
  can make a detour round a restriction shorter than a router that forbids
  U-turns everywhere would find.  Via-way restrictions are not applied:
  they are counted in :attr:`Network.problems`.
* **Speed.**  Edge minutes = length / speed.  The speed is the class speed
  (:class:`~twinstar_gis.settings.Speeds`), unless the line has an
  ``operating_speed_kmh`` > 0 (the average scheduled speed from timetables,
  rail or road: it replaces the class speed), or
  :attr:`NetworkSettings.use_maxspeed` is on and a road has a ``maxspeed`` (OSM,
  numeric km/h or ``"60 mph"``) -- then ``maxspeed * maxspeed_factor``; a
  scenario file's ``design_speed_kmh`` is honoured the same way.  (The embedded
  corridors' design speeds are design speeds, not average speeds, and are not
  used.)  A negative, zero or non-numeric speed or a ``route_factor`` below 1
  is a :class:`~twinstar_gis.ValidationError` naming the feature ids.
* **Rail** is boarded only at stations.  Each station is linked to the nearest
  point of every line that serves it (its id in the line's ``stations``
  column; lines without that column serve the stations within
  :attr:`NetworkSettings.station_max_m`), with half the class's transfer time
  on the link.  A declared station farther than ``station_max_m`` from its
  line, or a station no rail line passes within that distance, is reported in
  :attr:`Network.problems` (and logged), never silently skipped; so is a
  high-speed line no station serves.
* **Places, parks (centroid) and stations** are linked by a straight link at
  :attr:`Speeds.off_network` to the nearest point of the nearest
  **land-access** edge (a road other than expressway and ramp, not a bridge or
  tunnel, not rail), found for all of them with one STRtree query in the
  study area's projection; the edge is split there (several points on one
  edge split it in a chain) and the link's ellipsoidal length is kept in
  :attr:`Network.link_km`.  Links longer than :attr:`Speeds.max_link_km` are
  not made, and reported.  Where an expressway access point is nearer than
  that road point, they also link to the nearest access point of each
  expressway route within that distance; places and parks nearer to a station
  than to any road point also link to that station.  (A place or station with
  two links can be passed through on them: a straight connection at the
  off-network speed.)
* **Scenarios only add.**  Planned corridors (``include_planned``) and a
  scenario file (``extra_corridors``) are built into the same graph with every
  arc, link and node tagged: the base network is exactly the arcs without the
  tag (:func:`network_variant`), so a scenario keeps every base node, edge and
  link and adds its corridors, their junctions and their own links beside
  them (a place links to a scenario road only where it is nearer than its base
  link, and keeps the base link).
* **Several alternatives in one build** (``build_network(..., alternatives=[...])``): the base
  and every alternative's scenario corridors (and, for each alternative counting them, its own
  copy of the planned corridors) in one network, where every edge, arc, link and expressway
  access point carries the ``label`` of the one alternative it belongs to (0: the base's, in
  every alternative); ``network_variant(net, label=k)`` is alternative ``k`` as a build of it
  alone would be.  Everything an alternative's lines decide is decided per alternative, with the
  base's lines and its own: where a point links (the nearest road of the base or of that
  alternative), where a loose road end joins, which expressway points are access points, which
  lines cross (``node_crossings`` never nodes two alternatives' lines) and where a base line is
  cut into edges -- a base line cut differently by two alternatives (a junction, a link) has
  an edge per alternative, labelled with it, so that no alternative's edge is split where only
  another one meets it.  Two alternatives' lines that share a vertex share a node, but no
  alternative has both lines' arcs.  A point's place along a line is measured along that line
  alone, so other lines never move a snap point.

The graph (:attr:`Network.graph`) is over *states*: state ``i < n`` is
physical node ``i``; states ``>= n`` are the extra copies of restricted
junctions and destination zones (:attr:`Network.state_node`).  A trip starts
at :attr:`Network.entry` of its node and ends at any state of it.
Shortest times use :func:`scipy.sparse.csgraph.dijkstra` (compiled,
directed).  Unreachable pairs are ``NaN`` (never 0 or a huge number).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from ..data.crs import EQUAL_AREA_CRS, GEOD, study_area_crs
from ..data.schema import in_service
from ..data.validate import ValidationReport
from ..errors import ValidationError
from ..settings import CORRIDOR_CLASSES, DEFAULT, RAIL_CLASSES, ROAD_CLASSES, Settings

__all__ = [
    "LAND_ACCESS_EXCLUDED",
    "RAIL_CLASSES",
    "ROAD_CLASSES",
    "Network",
    "build_network",
    "network_crs",
    "network_od_matrix",
    "network_variant",
    "network_with_speeds",
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
_CHUNK = 16  # sources per Dijkstra call where only some columns are kept
_STATION_KINDS = ("hsr_station", "rail_station")
#: Alternative label of a planned station or interchange: in every alternative that counts the planned ones.
PLANNED = -1
_TRUE = ("yes", "true", "1")
_REVERSE = ("-1", "reverse")
_CLOSED = ("no", "private")
_DESTINATION = ("destination", "delivery", "customers")
#: Road classes the land never joins (entered only at their junctions): expressways and ramps.
LAND_ACCESS_EXCLUDED = ("expressway", "ramp")
_SPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)
_SLACK = (0.01, 50.0)  # projected distances are within 1 % of true over a study area (0.3 % over the region)


@functools.lru_cache(maxsize=8)
def _transformer(wkt: str) -> Transformer:
    return Transformer.from_crs("EPSG:4326", CRS.from_wkt(wkt), always_xy=True)


def network_crs(layers: dict):
    """The study area's equal-area projection (:func:`twinstar_gis.data.crs.study_area_crs`) from
    ``boundaries``, else from the corridors' extent.

    Parameters
    ----------
    layers : dict
        ``boundaries`` and/or ``corridors``.

    Returns
    -------
    pyproj.CRS
    """
    b = layers.get("boundaries")
    if b is not None and len(b):
        return study_area_crs(b)
    c = layers.get("corridors")
    if c is not None and len(c) and not c.geometry.is_empty.all():
        return study_area_crs(bounds=c.to_crs(4326).total_bounds)
    return EQUAL_AREA_CRS


@dataclass(frozen=True)
class Network:
    """A built network.

    Attributes
    ----------
    graph : scipy.sparse.csr_matrix
        Directed edge times in minutes between states (row = from, column = to); states ``< n``
        are the physical nodes.
    lon, lat : numpy.ndarray
        Physical node coordinates (WGS-84).
    kind : numpy.ndarray of str
        ``road``, ``rail``, ``station`` or ``place``.
    node_cls : numpy.ndarray of str
        Corridor class of road and rail nodes (``expressway`` wins where classes meet), else the kind.
    place_index : pandas.Series
        Node index of every place, park and station, indexed by its id.
    link_km : pandas.Series
        Straight-link length (km) from each place, park and station to the road network, NaN if not linked.
    edges : geopandas.GeoDataFrame
        One row per physical edge: ``u``, ``v``, ``mode`` (road / rail / link / transfer), ``cls``,
        ``corridor_id``, ``km``, ``minutes``, ``oneway`` (1: only u -> v, -1: only v -> u, 0: both),
        ``destination`` (no through traffic), ``land`` (a land-access edge: the land joins it),
        ``scenario`` (only in the scenario), ``at_attachment``, geometry (``None`` with
        ``keep_geometry=False``).
    arcs : pandas.DataFrame
        Every arc of the state graph before parallel arcs are merged: ``tail``, ``head`` (states),
        ``minutes``, ``edge`` (row of ``edges``), ``forward`` (u -> v), ``scenario``, ``rail``.
    entry : numpy.ndarray
        State where a trip starting at each physical node begins.
    state_node : numpy.ndarray
        Physical node of every state.
    expressway_access : numpy.ndarray
        Physical nodes where a traveller gets on or off an expressway (ramp junctions, interchanges,
        continuations, indicative vertices).
    settings : Settings
    crs : pyproj.CRS
        The study area's projection used for snapping.
    problems : list of str
        Everything the build found and reported (far stations, unlinked places, ...).
    stats : dict
        Sizes: physical nodes, states, arcs, restricted junctions, restrictions applied / not applied.
    access_labels : pandas.DataFrame
        ``node``, ``label``: the expressway access points of the base (label 0) and those each
        alternative adds (:func:`network_variant` keeps one alternative's).
    """

    graph: object
    lon: np.ndarray
    lat: np.ndarray
    kind: np.ndarray
    node_cls: np.ndarray
    place_index: pd.Series
    link_km: pd.Series
    edges: gpd.GeoDataFrame
    arcs: pd.DataFrame = field(repr=False, default=None)
    entry: np.ndarray = field(repr=False, default=None)
    state_node: np.ndarray = field(repr=False, default=None)
    expressway_access: np.ndarray = field(repr=False, default=None)
    settings: Settings = DEFAULT
    crs: object = EQUAL_AREA_CRS
    problems: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    access_labels: pd.DataFrame = field(repr=False, default=None)

    @property
    def n(self) -> int:
        """Number of physical nodes."""
        return len(self.lon)

    @property
    def n_states(self) -> int:
        """Number of graph states (physical nodes + copies)."""
        return int(self.graph.shape[0])

    @property
    def speeds(self):
        """The speed assumptions the network was built with (``settings.speeds``)."""
        return self.settings.speeds

    @functools.cached_property
    def graph_reverse(self):
        """The transposed graph (CSR), for times *to* a target."""
        return self.graph.T.tocsr()

    @property
    def exit(self) -> np.ndarray:
        """Physical nodes where the land is reached directly: places, parks, stations and the ends of
        land-access edges (never rail or expressway nodes)."""
        out = np.isin(self.kind, ["place", "station"])
        land = self.edges[self.edges["land"].to_numpy(bool)]
        out[land["u"].to_numpy(int)] = True
        out[land["v"].to_numpy(int)] = True
        return out


# --------------------------------------------------------------------------
# Corridor table: classes, speeds, direction, access
# --------------------------------------------------------------------------

def parse_speed(values) -> tuple[np.ndarray, np.ndarray]:
    """Parse speed values (numbers, ``"80"``, ``"80 km/h"``, ``"60 mph"``) to km/h.

    A number or a number with ``km/h``, ``kmh`` or ``kph`` is km/h; ``mph`` is converted
    (1 mile = 1.609344 km).  Anything else (``"fast"``, ``"none"``, ``"50;60"``) is bad, as
    are zero and negative speeds.

    Parameters
    ----------
    values : array-like
        Speeds as numbers or text (e.g. an OpenStreetMap ``maxspeed`` column); ``None``,
        NaN and blank text are missing.

    Returns
    -------
    (speed, bad) : numpy.ndarray of float, numpy.ndarray of bool
        ``speed`` in km/h, one per value, NaN where missing or bad; ``bad`` marks values
        that are present but not a valid speed (non-numeric text, zero or negative).

    Examples
    --------
    60 mph is 60 x 1.609344 = 96.56 km/h:

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


def _text(gdf, col) -> pd.Series:
    if col not in gdf.columns:
        return pd.Series("", index=gdf.index)
    return gdf[col].astype(object).where(gdf[col].notna(), "").astype(str).str.strip().str.lower()


def _oneway(gdf) -> np.ndarray:
    """1: along the drawing direction, -1: against it, 0: both (``yes/true/1``, ``-1/reverse``, else)."""
    s = _text(gdf, "oneway")
    return np.where(s.isin(_TRUE), 1, np.where(s.isin(_REVERSE), -1, 0)).astype(np.int8)


def _label(gdf) -> str:
    return gdf.attrs.get("source_file", "corridors")


def _selected(layers, include_planned, extra_corridors, alternatives=None):
    """Corridors in use with a ``_scenario`` flag and an alternative ``_label`` (0: the base).

    Without ``alternatives``: planned ones (with ``include_planned``) and a scenario file's, label 1.
    With ``alternatives`` (a union build, :func:`alternative_specs`): alternative ``k`` (label ``k``,
    from 1) adds its own scenario corridors and, with its ``include_planned``, its own copy of the
    planned corridors, so that every scenario line belongs to exactly one alternative.
    """
    cors = layers["corridors"].to_crs(4326)
    base = in_service(cors, include_planned=False)
    specs = [(include_planned, extra_corridors)] if alternatives is None else list(alternatives)
    planned = [k for k, (p, _) in enumerate(specs, 1) if p]
    cors = (cors if planned else base).assign(_scenario=False, _label=0)
    is_planned = ~cors.index.isin(base.index)
    cors.loc[is_planned, "_scenario"] = True
    cors.loc[is_planned, "_label"] = planned[0] if planned else 0
    frames = [cors]
    frames += [cors[is_planned].assign(_label=k) for k in planned[1:]]
    for k, (_, extra) in enumerate(specs, 1):
        if extra is not None and len(extra):  # scenario corridors always count
            frames.append(extra.to_crs(4326).assign(_scenario=True, _label=k))
    return pd.concat(frames, ignore_index=True).reset_index(drop=True) if len(frames) > 1 else cors.reset_index(drop=True)


def _speeds(cors, cls, ids, settings, label):
    """Speed of every line (see the module docstring), whether it is its class speed (no column of its
    own replaced it), and the problems with its speed columns."""
    problems = []
    own = np.zeros(len(cls), bool)
    u = np.unique(cls)
    speed = np.array([settings.speeds.for_class(c) if c in CORRIDOR_CLASSES else np.nan for c in u])
    speed = speed[np.searchsorted(u, cls)] if len(cls) else speed
    scen = cors["_scenario"].to_numpy(bool)
    for col, who in (("maxspeed", "road"), ("design_speed_kmh", "scenario"), ("operating_speed_kmh", "all")):
        if col not in cors.columns:
            continue
        v, bad = parse_speed(cors[col])
        if bad.any():
            problems.append(f"{label}: invalid {col} on {_ids(ids[bad])} "
                            f"(values {_ids(cors.loc[bad, col])}); give km/h as a positive number or leave it empty")
        use = np.isfinite(v)
        if who == "all":  # timetable speed: replaces the class speed of rail or road
            speed = np.where(use, v, speed)
            own |= use
            continue
        use &= settings.network.use_maxspeed & ~np.isin(cls, RAIL_CLASSES)
        if who == "scenario":
            use &= scen
        speed = np.where(use, v * settings.network.maxspeed_factor, speed)
        own |= use
    return speed, ~own, problems


def _route_factor(cors, ids, label):
    if "route_factor" not in cors.columns:
        return np.ones(len(cors)), []
    f = pd.to_numeric(cors["route_factor"], errors="coerce").to_numpy(float)
    given = cors["route_factor"].notna().to_numpy() & (cors["route_factor"].astype(str).str.strip() != "").to_numpy()
    bad = given & ~(f >= 1)
    probs = [f"{label}: route_factor must be a number >= 1 (a detour index) on {_ids(ids[bad])}"] if bad.any() else []
    return np.where(given & (f >= 1), f, 1.0), probs


def _corridor_table(layers, settings, include_planned, extra_corridors, modes, alternatives=None):
    """Selected corridors with class, speed, direction, access and bridge flags checked and resolved."""
    cors = _selected(layers, include_planned, extra_corridors, alternatives)
    label = _label(layers["corridors"])
    ids = cors["corridor_id"].astype(str) if "corridor_id" in cors.columns else pd.Series(cors.index.astype(str))
    problems = []
    unknown = ~cors["class"].isin(CORRIDOR_CLASSES)
    if unknown.any():
        problems.append(f"{label}: unknown corridor class "
                        f"{sorted(cors.loc[unknown, 'class'].astype(str).unique())} on {_ids(ids[unknown])}; "
                        f"known classes: {', '.join(CORRIDOR_CLASSES)} (a project's class_map can rename yours)")
    cls = cors["class"].astype(str).to_numpy()
    speed, class_speed, p = _speeds(cors, cls, ids, settings, label)
    factor, p2 = _route_factor(cors, ids, label)
    if problems + p + p2:
        raise ValidationError(problems + p + p2)
    access = _text(cors, "access")
    rail = np.isin(cls, RAIL_CLASSES)
    keep = ((rail & ("rail" in modes)) | (~rail & ("road" in modes))) & ~access.isin(_CLOSED).to_numpy()
    if access.isin(_CLOSED).any():
        log.info("network: %d lines with access=no/private left out: %s", int(access.isin(_CLOSED).sum()),
                 _ids(ids[access.isin(_CLOSED).to_numpy()]))
    over = (_flag(cors["bridge"]) if "bridge" in cors.columns else np.zeros(len(cors), bool)) | \
           (_flag(cors["tunnel"]) if "tunnel" in cors.columns else np.zeros(len(cors), bool))
    layer = pd.to_numeric(cors["layer"], errors="coerce").fillna(0).to_numpy() if "layer" in cors.columns \
        else np.zeros(len(cors))
    table = pd.DataFrame({"cid": ids.to_numpy(), "cls": cls, "speed": speed, "class_speed": class_speed, "factor": factor,
                          "oneway": _oneway(cors),
                          "rail": rail, "over": over, "layer": layer,
                          "dest": access.isin(_DESTINATION).to_numpy(),
                          "land": ~rail & ~np.isin(cls, LAND_ACCESS_EXCLUDED) & ~over,
                          "scen": cors["_scenario"].to_numpy(bool), "label": cors["_label"].to_numpy(np.int64),
                          "route": _text(cors, "ref").to_numpy() if "ref" in cors.columns else "",
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

    def local(self, seg):
        """Distance of every vertex from the start of its own piece, summed over that piece alone (a
        running sum over every line would make a point's place on a line depend on the other lines)."""
        prev = np.concatenate([[0.0], seg[:-1]])  # seg is 0 at a piece's last vertex: each piece starts at 0
        return pd.Series(prev).groupby(self.piece).cumsum().to_numpy()


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


def _locate(along, pc, first, last, cum, seg, lcum):
    """Segment (start vertex) and fraction along it of a distance ``along`` from the start of piece ``pc``
    (found with the running sum ``cum`` over every piece, measured with ``lcum``, the piece's own)."""
    lo, hi = first[pc], np.maximum(last[pc] - 1, first[pc])
    v = np.clip(np.searchsorted(cum, cum[first[pc]] + along, side="right") - 1, lo, hi)
    v = np.where((v > lo) & (along < lcum[v]), v - 1, v)
    v = np.where((v < hi) & (along >= lcum[np.minimum(v + 1, len(lcum) - 1)]), v + 1, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(seg[v] > 0, (along - lcum[v]) / seg[v], 0.0)
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
    lab = table["label"].to_numpy()[row]
    li, lj = lab[cand[i]], lab[cand[j]]
    keep = (i < j) & (layer[cand[i]] == layer[cand[j]]) & ((li == lj) | (li == 0) | (lj == 0))  # never two alternatives
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
    v, t = _locate(shapely.line_locate_point(parts[pc], pp), pc, first, last, cum, seg, verts.local(seg))
    xy = shapely.get_coordinates(pp)
    log.info("node_crossings: %d crossings noded", len(pts))
    return _insert(verts, v, t, xy[:, 0], xy[:, 1], np.full(len(pc), -1, np.int64))[0]


def _vertex_ids(verts, group, snap_m, to_proj):
    """Node key of every vertex: exact coordinates (or snap_m cells) within a group for original
    vertices; attachment points and densification vertices each their own."""
    orig = (verts.fresh < 0) & ~verts.dense
    x, y, g = verts.lon[orig], verts.lat[orig], group[orig]
    if snap_m > 0:
        x, y = to_proj.transform(x, y)
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
        nodes = nodes.to_crs(4326)
        base = in_service(nodes, include_planned=False).index
        nodes = in_service(nodes, include_planned=include_planned).sort_values("node_id")
        for kinds, kind in ((_STATION_KINDS, "station"), (("interchange",), "interchange")):
            g = nodes[nodes["kind"].isin(kinds)]
            frames.append(pd.DataFrame({"id": g["node_id"].astype(str).to_numpy(), "kind": kind,
                                        "sub": g["kind"].to_numpy(), "geom": np.asarray(g.geometry.values),
                                        "scen": ~g.index.isin(base)}))
    pts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["id", "kind", "geom"])
    scen = pts["scen"] if "scen" in pts.columns else pd.Series(False, index=pts.index, dtype=object)
    pts["scen"] = scen.astype(object).where(scen.notna(), False).astype(bool)
    pts["label"] = np.where(pts["scen"].to_numpy(bool), PLANNED, 0).astype(np.int64)  # planned: every alternative with them
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
    lcum: np.ndarray


def _project(verts, n_pieces, to_proj):
    x, y = to_proj.transform(verts.lon, verts.lat)
    x, y = np.asarray(x), np.asarray(y)
    geoms = shapely.linestrings(np.column_stack([x, y]), indices=verts.piece)
    first, last = verts.bounds(n_pieces)
    seg, cum = verts.lengths(x, y)
    return _Proj(geoms, first, last, seg, cum, verts.local(seg))


def _snap(proj, verts, pts_proj, pt, pc):
    """Nearest point of piece ``pc`` to point ``pt``: segment, fraction, lon/lat."""
    along = shapely.line_locate_point(proj.geoms[pc], pts_proj[pt])
    v, t = _locate(along, pc, proj.first, proj.last, proj.cum, proj.seg, proj.lcum)
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


def _lone(table, row, verts, road, orig) -> pd.DataFrame:
    """Original road vertices no other road vertex shares, per alternative: ``i`` (vertex) and ``label``.

    A vertex of alternative ``k`` counts the base's and ``k``'s vertices at its coordinates; a base
    vertex is lone for every alternative whose lines add none there (label 0 when that is all of
    them, else one row per alternative)."""
    n_alt = table.attrs.get("n_alt", 0)
    vl = table["label"].to_numpy()[row[verts.piece]]
    cnt = pd.DataFrame({"x": verts.lon, "y": verts.lat, "l": vl})[road & orig].groupby(["x", "y", "l"]).size()

    def count(lab):
        return cnt.reindex(pd.MultiIndex.from_arrays([verts.lon, verts.lat, lab])).fillna(0).to_numpy()

    c0 = count(np.zeros_like(vl))
    own = np.flatnonzero(orig & (vl > 0) & (c0 + count(vl) <= 1))
    frames = [pd.DataFrame({"i": own, "label": vl[own]})]
    base = orig & (vl == 0) & (c0 <= 1)
    if n_alt == 0:
        return pd.concat(frames + [pd.DataFrame({"i": np.flatnonzero(base), "label": 0})], ignore_index=True)
    per = [base & (count(np.full_like(vl, k)) == 0) for k in range(1, n_alt + 1)]
    everywhere = np.logical_and.reduce(per)
    frames.append(pd.DataFrame({"i": np.flatnonzero(everywhere), "label": 0}))
    frames += [pd.DataFrame({"i": np.flatnonzero(p & ~everywhere), "label": k}) for k, p in enumerate(per, 1)]
    return pd.concat(frames, ignore_index=True)


def _point_rows(table, verts, row, pick, sub, lone=None) -> pd.DataFrame:
    """Implied points at vertices ``pick`` (per alternative), one per coordinates and alternative (the base's first)."""
    r = row[verts.piece]
    out = pd.DataFrame({"lon": verts.lon[pick["i"]], "lat": verts.lat[pick["i"]], "r": r[pick["i"]],
                        "pc": verts.piece[pick["i"]], "label": pick["label"].to_numpy(np.int64)})
    out = out.sort_values(["label", "r"], kind="mergesort").drop_duplicates(["lon", "lat", "label"])
    at_base = pd.MultiIndex.from_frame(out.loc[out["label"] == 0, ["lon", "lat"]])
    out = out[(out["label"] == 0) | ~pd.MultiIndex.from_frame(out[["lon", "lat"]]).isin(at_base)].sort_index()
    cid = table["cid"].to_numpy()[out["r"].to_numpy()]
    tag = "@end" if sub == "end" else "@"
    many = table.attrs.get("n_alt", 0) > 1  # one union of several alternatives: ids stay unique
    ids = [f"{c}{tag}{x:.6f},{y:.6f}" + (f"#{k}" if many and k else "")
           for c, x, y, k in zip(cid, out["lon"], out["lat"], out["label"])]
    res = pd.DataFrame({"id": ids, "kind": "interchange", "sub": "implied" if sub != "end" else "end",
                        "scen": table["scen"].to_numpy(bool)[out["r"].to_numpy()] | (out["label"].to_numpy() > 0),
                        "label": out["label"].to_numpy(np.int64),
                        "lon": out["lon"].to_numpy(), "lat": out["lat"].to_numpy()})
    if sub == "end":
        res.insert(3, "own_piece", out["pc"].to_numpy())
    return res


def _implied_interchanges(table, row, verts) -> pd.DataFrame:
    """Interchanges the lines imply: the original vertices of indicative expressway lines (drawn through
    the towns where their interchanges are) and the dangling ends of expressway lines (an end no other
    road or expressway shares: traffic leaves there), each linked like a declared interchange; and the
    loose ends of indicative or scenario land-access roads (:func:`_point_rows`).  In a union of several
    alternatives "no other road" is judged per alternative (:func:`_lone`)."""
    cls = table["cls"].to_numpy()[row[verts.piece]]
    road = ~table["rail"].to_numpy()[row[verts.piece]]
    orig = (verts.fresh < 0) & ~verts.dense
    exp = (cls == "expressway") & orig
    end = np.zeros(len(cls), bool)
    end[0] = end[-1] = True
    brk = verts.piece[1:] != verts.piece[:-1]
    end[1:] |= brk
    end[:-1] |= brk
    lone = _lone(table, row, verts, road, orig)
    r = row[verts.piece]
    vl = table["label"].to_numpy()[r]
    indicative = table["indicative"].to_numpy(bool)[r]
    i = lone["i"].to_numpy()
    dangling = lone[exp[i] & end[i] & ~indicative[i]]
    ind = np.flatnonzero(exp & indicative)
    implied = pd.concat([pd.DataFrame({"i": ind, "label": vl[ind]}), dangling], ignore_index=True).sort_values(
        "i", kind="mergesort")
    drawn = indicative | table["scen"].to_numpy(bool)[r]
    loose = lone[end[i] & drawn[i] & table["land"].to_numpy(bool)[r][i]].sort_values("i", kind="mergesort")
    return pd.concat([_point_rows(table, verts, row, implied, "implied"), _point_rows(table, verts, row, loose, "end")],
                     ignore_index=True)


def _end_joins(proj, verts, pts, pts_proj, table, row, land, settings, labels):
    """A loose road end: on its own line (at 0 km), and to the nearest point of the nearest *other* land road.

    Per alternative: alternative ``k``'s end joins the nearest base or ``k`` road; a base end joins the
    nearest base road, except in the alternatives where one of their own roads is nearer."""
    sub = pts["sub"].to_numpy() if "sub" in pts.columns else np.full(len(pts), None)
    who = np.flatnonzero(sub == "end")
    max_m = settings.network.end_join_m
    if len(who) == 0 or len(land) == 0 or max_m <= 0:
        return []
    pt_label, piece_label, _, n_alt = labels
    own = pts["own_piece"].to_numpy()[who].astype(np.int64)
    self_att = _snap(proj, verts, pts_proj, who, own)
    self_att["role"], self_att["label"] = "road", pt_label[who]
    rel, absm = _SLACK
    a, b = shapely.STRtree(proj.geoms[land]).query(pts_proj[who], predicate="dwithin", distance=max_m * (1 + rel) + absm)
    pl, ll = pt_label[who[a]], piece_label[land[b]]
    other = (row[land[b]] != row[own[a]]) & ((pl == 0) | (ll == 0) | (ll == pl))
    a, b, pl, ll = a[other], b[other], pl[other], ll[other]
    if len(a) == 0:
        return [self_att]
    d = shapely.distance(pts_proj[who[a]], proj.geoms[land[b]])
    c = pd.DataFrame({"a": a, "b": b, "d": d, "ctx": np.where(pl > 0, pl, ll)})
    best = c.sort_values(["a", "ctx", "d"], kind="mergesort").drop_duplicates(["a", "ctx"])
    d0 = best[best["ctx"] == 0].set_index("a")["d"]
    nearer = best[(best["ctx"] > 0) & (best["d"].to_numpy() < d0.reindex(best["a"]).fillna(np.inf).to_numpy())]
    base = best[best["ctx"] == 0]
    over = nearer[pt_label[who[nearer["a"].to_numpy()]] == 0].groupby("a")["ctx"].agg(set)
    rows = [nearer.assign(label=nearer["ctx"]), base[~base["a"].isin(over.index)].assign(label=0)]
    for k in range(1, n_alt + 1):  # a base end in the alternatives that have no nearer road of their own
        rows.append(base[base["a"].isin(over.index[[k not in o for o in over]])].assign(label=k))
    best = pd.concat(rows, ignore_index=True).sort_values(["a", "label"], kind="mergesort")
    join = _snap(proj, verts, pts_proj, who[best["a"].to_numpy()], land[best["b"].to_numpy()])
    join["role"], join["label"] = "road", best["label"].to_numpy(np.int64)
    return [self_att, join]


def _spread(att, pt_label, piece_label, planned) -> pd.DataFrame:
    """``att`` with the ``label`` of the alternative each attachment belongs to (0: the base, every one).

    A base point on a base line: 0; alternative ``k``'s point or line: ``k`` (dropped where the point
    and the line belong to two alternatives); a planned point: one row per alternative in ``planned``."""
    if att is None or not len(att):
        return att
    pl = pt_label[att["pt"].to_numpy(int)]
    ll = piece_label[att["pc"].to_numpy(int)]
    lab = np.where(pl > 0, pl, ll)
    ok = (pl <= 0) | (ll == 0) | (ll == pl)
    ok &= (pl != PLANNED) | (ll == 0) | np.isin(ll, planned)
    out = att.assign(label=lab)[ok]
    dup = (pl[ok] == PLANNED) & (ll[ok] == 0)
    if not dup.any():
        return out
    copies = [out[dup].assign(label=k) for k in planned]
    return pd.concat([out[~dup]] + copies, ignore_index=True)


def _nearest_pair(proj, verts, pts_proj, who, pieces, labels, max_m, role):
    """Nearest base piece to each point, and per alternative its nearest piece where that is nearer still.

    ``labels``: ``(point labels, piece labels, planned alternatives, number of alternatives)``."""
    pt_label, piece_label, planned, n_alt = labels
    base = _nearest_on(proj, verts, pts_proj, who, pieces[piece_label[pieces] == 0], max_m, role)
    base = _spread(base, pt_label, piece_label, planned)
    if base is not None and len(base):
        d_base = pd.Series(shapely.distance(pts_proj[base["pt"].to_numpy()], proj.geoms[base["pc"].to_numpy()]),
                           index=base["pt"].to_numpy())
        d_base = d_base[~d_base.index.duplicated()]
    else:
        d_base = pd.Series(dtype=float)
    out = [base]
    for k in range(1, n_alt + 1):
        pl = pt_label[who]
        mine = who[(pl == 0) | (pl == k) | ((pl == PLANNED) & (k in planned))]
        extra = _nearest_on(proj, verts, pts_proj, mine, pieces[piece_label[pieces] == k], max_m, role)
        if extra is None or not len(extra):
            continue
        d_extra = shapely.distance(pts_proj[extra["pt"].to_numpy()], proj.geoms[extra["pc"].to_numpy()])
        out.append(extra[d_extra < d_base.reindex(extra["pt"].to_numpy()).fillna(np.inf).to_numpy()].assign(label=k))
    out = [o for o in out if o is not None and len(o)]
    return pd.concat(out, ignore_index=True) if out else None


def _attachments(proj, verts, pts, table, row, settings, to_proj):
    """Every attachment (base ones, and scenario ones beside them), its exact link length, and the problems found."""
    pts_proj = shapely.points(*to_proj.transform(pts["lon"].to_numpy(), pts["lat"].to_numpy())) if len(pts) \
        else np.array([], dtype=object)
    cls = table["cls"].to_numpy()[row]
    piece_label = table["label"].to_numpy()[row]
    labels = (pts["label"].to_numpy(np.int64), piece_label, table.attrs.get("planned", []), table.attrs.get("n_alt", 0))
    land = np.flatnonzero(table["land"].to_numpy(bool)[row])
    expw = np.flatnonzero(cls == "expressway")
    max_m = settings.speeds.max_link_km * 1000
    kind = pts["kind"].to_numpy()
    loose = (pts["sub"] == "end").to_numpy() if "sub" in pts.columns else np.zeros(len(pts), bool)
    parts = [_nearest_pair(proj, verts, pts_proj, np.flatnonzero(np.isin(kind, ["place", "station", "interchange"]) & ~loose),
                           land, labels, max_m, "road"),
             _nearest_pair(proj, verts, pts_proj, np.flatnonzero((kind == "interchange") & ~loose), expw, labels, max_m,
                           "expressway"),
             _spread(_rail_candidates(proj, verts, pts, pts_proj, table, row, settings), labels[0], piece_label, labels[2]),
             *_end_joins(proj, verts, pts, pts_proj, table, row, land, settings, labels)]
    cols = ["pt", "pc", "v", "t", "snap_lon", "snap_lat", "role", "label"]
    parts = [p for p in parts if p is not None and len(p)]
    att = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    pt = att["pt"].to_numpy(int)
    att["km"] = GEOD.inv(pts["lon"].to_numpy()[pt], pts["lat"].to_numpy()[pt], att["snap_lon"].to_numpy(float),
                         att["snap_lat"].to_numpy(float))[2] / 1000 if len(att) else np.zeros(0)
    att["label"] = att["label"].astype(np.int64)
    att["scen"] = att["label"].to_numpy() > 0
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
    """Each edge's polyline: vertices a..b (inclusive) of its piece, built in one call, without an attachment
    point inside it (one of another alternative of a union build: an edge's own attachment points end it)."""
    counts = b - a + 1
    start = np.repeat(a - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    flat = np.arange(counts.sum()) + start
    edge = np.repeat(np.arange(len(a)), counts)
    keep = (verts.fresh[flat] < 0) | (flat == a[edge]) | (flat == b[edge])
    return shapely.linestrings(np.column_stack([verts.lon[flat[keep]], verts.lat[flat[keep]]]), indices=edge[keep])


def _separate_expressways(verts, vid, table, row):
    """Expressway vertices shared with a road that is neither a ramp nor another expressway become a
    node of their own (the road passes under or over), unless the vertex ends an expressway line
    piece (the expressway continues as that road) or a ramp meets there too."""
    cls = table["cls"].to_numpy()[row[verts.piece]]
    road = ~table["rail"].to_numpy()[row[verts.piece]]
    exp = cls == "expressway"
    if not exp.any():
        return vid
    end = np.zeros(len(vid), bool)
    end[0] = end[-1] = True
    brk = verts.piece[1:] != verts.piece[:-1]
    end[1:] |= brk
    end[:-1] |= brk
    m = int(vid.max()) + 1
    # expressway vertices at each node: an alternative's own and the base's (never another alternative's,
    # such as its copy of the planned lines); a base vertex counts them all
    vl = table["label"].to_numpy()[row[verts.piece]]
    n_all = np.bincount(vid[exp], minlength=m)
    n_base = np.bincount(vid[exp & (vl == 0)], minlength=m)
    own = pd.Series(1, index=pd.MultiIndex.from_arrays([vid[exp & (vl > 0)], vl[exp & (vl > 0)]])).groupby(level=[0, 1]).size()
    n_own = own.reindex(pd.MultiIndex.from_arrays([vid, vl])).fillna(0).to_numpy()
    n_exp = np.where(vl > 0, n_base[vid] + n_own, n_all[vid])
    dangling = exp & end & (n_exp == 1)  # the expressway network ends here (not a way split)
    has = {k: np.bincount(vid[mask], minlength=m) > 0 for k, mask in
           (("exp", exp), ("ramp", cls == "ramp"), ("other", road & ~exp & (cls != "ramp")), ("end", dangling))}
    split = has["exp"] & has["other"] & ~has["ramp"] & ~has["end"]
    move = exp & split[vid]
    if move.any():
        vid = vid.copy()
        vid[move] = m + np.unique(vid[move], return_inverse=True)[1]
    return vid


def _node_roles(m, pos_node, pos_row, table, acc_nodes, acc_label, le):
    """Class of each line node and the expressway access points (the base's, and each alternative's).

    Access: a node where an expressway meets a road that is not an expressway (a ramp, or the road
    it continues as: :func:`_separate_expressways` left only those joined), an end of the
    expressway network (where it stops, traffic leaves it), an interchange attachment or an
    original vertex of an indicative expressway line (``acc_nodes``).  ``access[k]``: with the base's
    lines and alternative ``k``'s (``access[0]``: the base alone).
    """
    pos_cls = table["cls"].to_numpy()[pos_row]
    rank = np.full(m, len(_CLASS_RANK), np.int64)
    code = np.array([_CLASS_RANK.index(c) for c in _CLASS_RANK])
    cls_code = pd.Categorical(pos_cls, categories=_CLASS_RANK).codes
    np.minimum.at(rank, pos_node, code[cls_code])
    node_cls = np.array(_CLASS_RANK + ("",), dtype=object)[rank]
    lab = table["label"].to_numpy()[pos_row]
    road = np.isin(pos_cls, ROAD_CLASSES)
    le_lab = le["label"].to_numpy()
    out = {}
    for label in range(table.attrs.get("n_alt", 0) + 1):
        use = (lab == 0) | (lab == label)
        has_exp = np.bincount(pos_node[use & (pos_cls == "expressway")], minlength=m) > 0
        has_other = np.bincount(pos_node[use & road & (pos_cls != "expressway")], minlength=m) > 0
        e = (le["cls"] == "expressway").to_numpy() & ((le_lab == 0) | (le_lab == label))
        deg = np.bincount(le["u"].to_numpy()[e], minlength=m) + np.bincount(le["v"].to_numpy()[e], minlength=m)
        acc = has_exp & (has_other | (deg == 1))
        acc[acc_nodes[(acc_label == 0) | (acc_label == label)]] = True
        out[label] = acc | out.get(0, False)
    route = np.where(table["route"].to_numpy(str) != "", table["route"].to_numpy(str), table["cid"].to_numpy(str))
    routes = pd.DataFrame({"n": pos_node, "r": route[pos_row], "label": lab})[pos_cls == "expressway"]
    routes = routes.sort_values("label", kind="mergesort").drop_duplicates(["n", "r", "label"])
    return node_cls, out, routes


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
                  extra_corridors: gpd.GeoDataFrame | None = None, modes=("road", "rail"), crs=None,
                  keep_geometry: bool = True, alternatives=None) -> Network:
    """Build the directed multimodal network (see the module docstring for the rules).

    Parameters
    ----------
    layers : dict
        ``corridors`` (required; any road/rail line file with a ``class`` column, optional
        ``oneway``, ``access``, ``maxspeed``, ``operating_speed_kmh``, ``route_factor``, ``bridge``,
        ``tunnel``, ``layer``, ``ref``, ``stations``), ``nodes`` (stations, interchanges), ``places``,
        ``parks``, ``turn_restrictions``; ``boundaries`` choose the projection.
    settings : Settings
        Speeds (``settings.speeds``) and network rules (``settings.network``).
    include_planned : bool
        Also build the corridors and stations whose status is not ``operating``, tagged as scenario
        (:func:`network_variant` takes them out again).
    extra_corridors : GeoDataFrame, optional
        Scenario corridors (same attributes as the corridor layer), tagged as scenario.
    modes : tuple
        ``("road",)`` for a road-only network.
    crs : pyproj.CRS, optional
        Projection for snapping (default: :func:`network_crs` of the layers).
    keep_geometry : bool
        Keep each edge's polyline in :attr:`Network.edges` (maps); ``False`` for a lean model.
    alternatives : sequence of (bool, GeoDataFrame or None), optional
        ``(include_planned, extra_corridors)`` of alternatives 1, 2, ...: one union network of them
        all (the two arguments above are then ignored; see "Several alternatives in one build" in
        the module docstring).

    Returns
    -------
    Network

    Raises
    ------
    ValidationError
        Unknown corridor class, an invalid speed or ``route_factor`` (ids listed).

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
    crs = crs if crs is not None else network_crs(layers)
    to_proj = _transformer(crs.to_wkt())
    table, geoms = _corridor_table(layers, settings, include_planned, extra_corridors, modes, alternatives)
    table.attrs.update(_alternative_attrs(include_planned, extra_corridors, alternatives))
    parts, row, verts = _explode(geoms)
    pts = _link_points(layers, bool(table.attrs["planned"]))
    pts = pd.concat([pts, _implied_interchanges(table, row, verts)], ignore_index=True) if len(parts) else pts
    problems = []
    if len(parts) == 0:
        problems.append("no corridor lines to build a network from")
        return _empty_network(pts, settings, problems, crs)
    if settings.network.node_crossings:
        verts = _crossings(parts, table, row, verts)
    att, problems, verts, where = _attach(verts, len(parts), pts, table, row, settings, to_proj)
    group = table["rail"].to_numpy()[row][verts.piece].astype(np.int64)
    vid = _separate_expressways(verts, _vertex_ids(verts, group, settings.network.snap_m, to_proj), table, row)
    acc_vertex = _indicative_access(verts, table, row, geoms)
    a, b, km, pos, elabel = _context_edges(verts, vid, acc_vertex, table, row, att)
    km = km * table["factor"].to_numpy()[row[verts.piece[a]]]
    _, first, node_at_pos = np.unique(vid[pos], return_index=True, return_inverse=True)
    nidx = np.full(len(vid), -1, np.int64)
    nidx[pos] = node_at_pos
    lines = {"a": a, "b": b, "km": km, "pos": pos, "first": first, "nidx": nidx, "acc_vertex": acc_vertex,
             "label": elabel}
    net = _assemble(verts, table, row, pts, att, nidx[where][att["k"].to_numpy(int)], lines, settings, problems,
                    to_proj, crs, layers.get("turn_restrictions"), keep_geometry)
    s = net.stats
    log.info("network: %d nodes, %d states, %d arcs; %d places/parks, %d stations linked; %d restricted junctions; "
             "%d problems", net.n, s["states"], net.graph.nnz, (net.kind == "place").sum(), (net.kind == "station").sum(),
             s["restricted_junctions"], len(net.problems))
    level = logging.WARNING if "rail" in modes else logging.INFO
    for p in net.problems:
        log.log(level, "network: %s", p)
    return net


def _attach(verts, n_pieces, pts, table, row, settings, to_proj):
    """The attachments (:func:`_attachments`), the problems found, and the vertices with their points
    inserted (``where``: the position of each distinct attachment point, ``att["k"]``)."""
    att = pd.DataFrame({c: pd.Series(dtype=float) for c in ["pt", "pc", "v", "t", "snap_lon", "snap_lat", "km"]})
    att["role"], att["scen"], att["label"] = pd.Series(dtype=object), pd.Series(dtype=bool), pd.Series(dtype=np.int64)
    problems = []
    if len(pts):
        att, problems = _attachments(_project(verts, n_pieces, to_proj), verts, pts, table, row, settings, to_proj)
    att["k"] = att.groupby(["pc", "v", "t"], sort=False).ngroup() if len(att) else np.zeros(0, np.int64)
    uniq = att.drop_duplicates("k").sort_values("k")
    verts, where = _insert(verts, uniq["v"].to_numpy(int), uniq["t"].to_numpy(float), uniq["snap_lon"].to_numpy(float),
                           uniq["snap_lat"].to_numpy(float), np.arange(len(uniq), dtype=np.int64))
    return att, problems, verts, where


def _alternative_attrs(include_planned, extra_corridors, alternatives) -> dict:
    """``n_alt`` (alternatives in the build: 0 for the base alone, 1 for a scenario) and ``planned`` (their labels)."""
    specs = [(include_planned, extra_corridors)] if alternatives is None else list(alternatives)
    if alternatives is None and not include_planned and (extra_corridors is None or not len(extra_corridors)):
        specs = []
    return {"n_alt": len(specs), "planned": [k for k, (p, _) in enumerate(specs, 1) if p]}


def _context_edges(verts, vid, acc_vertex, table, row, att):
    """The contracted line edges (:func:`_line_edges`) and the ``label`` of each.

    One build of one scenario: contracted once, each edge labelled with its line.  A union of
    several alternatives: contracted per alternative -- the base's lines and the alternative's own,
    the junctions those lines make and the attachment points of that alternative -- so a base line
    is split only where the alternative itself splits it; an edge every alternative has is label 0,
    a base edge only some have is repeated with each of their labels."""
    n_alt = table.attrs.get("n_alt", 0)
    forced = (verts.fresh >= 0) | acc_vertex
    vl = table["label"].to_numpy()[row[verts.piece]]
    if n_alt <= 1:
        a, b, km, pos = _line_edges(verts, vid, forced)
        return a, b, km, pos, vl[a]
    fresh_labels = att.groupby("k")["label"].agg(lambda x: set(x.astype(int))) if len(att) else pd.Series(dtype=object)
    lab_of = fresh_labels.reindex(np.arange(max(int(verts.fresh.max()) + 1, 0))).to_numpy() if len(fresh_labels) else []
    frames, pos_all = [], []
    for c in range(1, n_alt + 1):  # the base's lines and c's, without the attachment points of the others
        sel = np.flatnonzero((vl == 0) | (vl == c))
        mine = np.array([f < 0 or bool(lab_of[f] & {0, c}) for f in verts.fresh[sel]], dtype=bool) if len(sel) else \
            np.zeros(0, bool)
        sel = sel[mine]
        sub = _Vertices(verts.lon[sel], verts.lat[sel], verts.piece[sel], verts.fresh[sel], verts.dense[sel])
        a, b, km, pos = _line_edges(sub, vid[sel], acc_vertex[sel] | (verts.fresh[sel] >= 0))
        frames.append(pd.DataFrame({"a": sel[a], "b": sel[b], "km": km, "c": c}))
        pos_all.append(sel[pos])
    e = pd.concat(frames, ignore_index=True)
    n_ctx = e.groupby(["a", "b"])["c"].transform("size").to_numpy()
    own = vl[e["a"].to_numpy()]
    label = np.where(own > 0, own, np.where(n_ctx == n_alt, 0, e["c"].to_numpy()))
    e = e.assign(label=label).drop_duplicates(["a", "b", "label"]).sort_values(["a", "b", "label"], kind="mergesort")
    return (e["a"].to_numpy(), e["b"].to_numpy(), e["km"].to_numpy(), np.unique(np.concatenate(pos_all)),
            e["label"].to_numpy(np.int64))


def _line_table(verts, table, row, lines):
    """Per contracted line edge: nodes, km, minutes, class, mode, flags."""
    a, b, km, nidx = lines["a"], lines["b"], lines["km"], lines["nidx"]
    erow = row[verts.piece[a]]
    col = {c: table[c].to_numpy()[erow] for c in ("cls", "cid", "oneway", "dest", "land", "scen", "rail")}
    col["label"] = lines["label"]
    return pd.DataFrame({
        "u": nidx[a], "v": nidx[b], "mode": np.where(col["rail"], "rail", "road"), "cls": col["cls"],
        "corridor_id": col["cid"], "km": km, "minutes": np.maximum(km / table["speed"].to_numpy()[erow] * 60.0, _MIN_MINUTES),
        "oneway": np.where(km > 0, col["oneway"], 0).astype(np.int8),  # a zero-length piece may be used both ways
        "destination": col["dest"].astype(bool), "land": col["land"].astype(bool), "scenario": col["scen"].astype(bool),
        "label": col["label"].astype(np.int64), "class_speed": table["class_speed"].to_numpy(bool)[erow], "erow": erow})


def _assemble(verts, table, row, pts, att, snap_node, lines, settings, problems, to_proj, crs, restrictions,
              keep_geometry):
    """Nodes, edges, the state graph and the Network from the contracted lines and the attachments."""
    pos, first, nidx, acc_vertex = lines["pos"], lines["first"], lines["nidx"], lines["acc_vertex"]
    m = len(first)
    le = _line_table(verts, table, row, lines)
    pos_row = row[verts.piece[pos]]
    exp_att = (att["role"] == "expressway").to_numpy()
    acc_nodes = np.concatenate([snap_node[exp_att], nidx[np.flatnonzero(acc_vertex)]])
    acc_label = np.concatenate([att["label"].to_numpy(np.int64)[exp_att], table["label"].to_numpy()[row[verts.piece[acc_vertex]]]])
    node_cls, access, routes = _node_roles(m, nidx[pos], pos_row, table, acc_nodes, acc_label, le)
    lon = np.concatenate([verts.lon[pos[first]], pts["lon"].to_numpy(float)])
    lat = np.concatenate([verts.lat[pos[first]], pts["lat"].to_numpy(float)])
    kind = np.concatenate([np.where(table["rail"].to_numpy()[row[verts.piece[pos[first]]]], "rail", "road"),
                           np.where(pts["kind"] == "interchange", "road", pts["kind"]).astype(object)]).astype(str)
    node_cls = np.concatenate([node_cls, np.where(pts["kind"] == "interchange", "ramp", pts["kind"])]).astype(str)
    att, snap_node = _expressway_links(att, snap_node, lon[:m], lat[:m], access, routes, pts, settings, to_proj,
                                       table.attrs.get("planned", []))
    att, snap_node = _station_links(att, snap_node, m, pts, settings, to_proj, table.attrs.get("planned", []))
    links = _link_table(att, snap_node, m, pts, table, row, settings)
    problems = problems + _hsr_without_stations(m, le["u"].to_numpy(), le["v"].to_numpy(), le["mode"].to_numpy(),
                                                le["cls"].to_numpy(), le["erow"].to_numpy(), table,
                                                snap_node[(att["role"] == "rail").to_numpy()])
    edges = pd.concat([le.drop(columns="erow"), links], ignore_index=True)
    edges["at_attachment"] = np.isin(edges["u"], snap_node) | np.isin(edges["v"], snap_node)
    geom = None
    if keep_geometry:
        geom = np.concatenate([_edge_geometry(verts, lines["a"], lines["b"]),
                               shapely.linestrings(np.stack([np.column_stack([lon[links["u"]], lat[links["u"]]]),
                                                             np.column_stack([lon[links["v"]], lat[links["v"]]])], 1))
                               if len(links) else np.array([], dtype=object)])
    edges = gpd.GeoDataFrame(edges, geometry=geom if geom is not None else [None] * len(edges), crs="EPSG:4326")
    n = len(lon)
    graph, arcs, entry, state_node, stats, p = _state_graph(n, edges, lon, lat, restrictions)
    problems = problems + p + _unlinked(att, pts, table, settings)
    link_km = pd.Series(np.nan, index=pts["id"].to_numpy(), dtype=float)
    road_km = att.loc[att["role"].isin(["road", "expressway_access"])].groupby("pt")["km"].min()
    link_km.iloc[road_km.index.to_numpy(int)] = road_km.to_numpy()
    return Network(graph=graph, lon=lon, lat=lat, kind=kind, node_cls=node_cls,
                   place_index=pd.Series(np.arange(m, n), index=pts["id"].to_numpy()), link_km=link_km,
                   edges=edges, arcs=arcs, entry=entry, state_node=state_node,
                   expressway_access=np.flatnonzero(np.logical_or.reduce(list(access.values()))[:m]), settings=settings,
                   crs=crs, problems=problems, stats=dict(stats, nodes=n, expressway_access_base=int(access[0].sum()),
                                                           alternatives=table.attrs.get("n_alt", 0)),
                   access_labels=_access_labels(access, m))


def _access_labels(access, m) -> pd.DataFrame:
    """Expressway access points by alternative: ``node``, ``label`` (0: the base's, in every alternative)."""
    rows = [pd.DataFrame({"node": np.flatnonzero(access[0][:m]), "label": 0})]
    rows += [pd.DataFrame({"node": np.flatnonzero(a[:m] & ~access[0][:m]), "label": k}) for k, a in access.items() if k]
    return pd.concat(rows, ignore_index=True).astype(np.int64)


def _link_table(att, snap_node, m, pts, table, row, settings):
    """Links of places, parks, stations and interchanges (both ways), with the half transfer time on rail links."""
    pnode = m + att["pt"].to_numpy(int)
    rail = (att["role"] == "rail").to_numpy()
    pc = att["pc"].to_numpy(float)
    rail_cls = np.where(rail, table["cls"].to_numpy()[row[np.where(np.isfinite(pc), pc, 0).astype(int)]], "")
    half = pd.Series(rail_cls, dtype=object).map(dict(settings.speeds.transfer_min)).fillna(0.0).to_numpy(float) / 2
    lkm = att["km"].to_numpy(float)
    lmin = np.maximum(lkm / settings.speeds.off_network * 60.0 + np.where(rail, half, 0.0), _MIN_MINUTES)
    # A link onto a destination-only road is part of it: a trip starting there is in its start zone.
    dest = np.where(np.isfinite(pc), table["dest"].to_numpy(bool)[row[np.where(np.isfinite(pc), pc, 0).astype(int)]], False)
    dest &= (att["role"] == "road").to_numpy()
    return pd.DataFrame({"u": pnode, "v": snap_node.astype(np.int64), "mode": np.where(rail, "transfer", "link"),
                         "cls": np.where(rail, rail_cls, "off_network"),
                         "corridor_id": pts["id"].to_numpy()[att["pt"].to_numpy(int)], "km": lkm, "minutes": lmin,
                         "oneway": np.zeros(len(att), np.int8), "destination": dest, "land": False,
                         "scenario": att["scen"].to_numpy(bool), "label": att["label"].to_numpy(np.int64)})


def _unlinked(att, pts, table, settings):
    problems = []
    if not (~table["rail"]).any():
        return problems
    linked = set(att.loc[att["role"].isin(["road", "expressway_access"]), "pt"].astype(int))
    to_station = set(pts["id"].to_numpy()[att.loc[att["role"] == "station_link", "pt"].to_numpy(int)])
    implied = pts["sub"].isin(["implied", "end"]).to_numpy() if "sub" in pts.columns else np.zeros(len(pts), bool)
    for k in ("place", "station", "interchange"):  # implied interchanges: only where a road is near, not a problem
        off = [pts["id"].iloc[i] for i in np.flatnonzero((pts["kind"] == k).to_numpy() & ~implied) if i not in linked]
        if off:
            problems.append(f"{k}s farther than {settings.speeds.max_link_km:g} km (max_link_km) from every road, "
                            f"not linked to the roads{' (linked straight to the nearest station instead)' if k == 'place' else ''}: "
                            + ", ".join(f"{i}{' (to a station)' if i in to_station else ''}" for i in off[:12]))
    return problems


def _expressway_links(att, snap_node, lon, lat, access, routes, pts, settings, to_proj, planned=()):
    """Places, parks and stations nearer to an expressway access point than to any other road: a link
    to the nearest access point of each expressway route within that distance (base access points;
    then, labelled with the alternative, those each alternative adds)."""
    who = np.flatnonzero(pts["kind"].isin(["place", "station"]).to_numpy())
    base_road = att["role"].eq("road") & att["label"].eq(0)
    road = att.loc[base_road].groupby("pt")["km"].min().reindex(who).fillna(np.inf).to_numpy()
    reach = np.minimum(road, settings.speeds.max_link_km)
    pl = pts["label"].to_numpy(np.int64)
    new, nodes, seen0 = [], [], set()
    for label in access:
        acc = np.flatnonzero(access[label][:len(lon)])
        r = routes[routes["n"].isin(acc) & routes["label"].isin([0, label])].drop_duplicates(["n", "r"])
        mine = (pl[who] == 0) | ((pl[who] == label) & (label > 0)) | ((pl[who] == PLANNED) & (label in planned))
        if len(acc) == 0 or not mine.any() or not len(r):
            continue
        tree = shapely.STRtree(shapely.points(*to_proj.transform(lon[acc], lat[acc])))
        p = shapely.points(*to_proj.transform(pts["lon"].to_numpy()[who[mine]], pts["lat"].to_numpy()[who[mine]]))
        rel, absm = _SLACK
        a, b = tree.query(p, predicate="dwithin", distance=reach[mine] * 1000 * (1 + rel) + absm)
        pt, node = who[mine][a], acc[b]
        km = GEOD.inv(pts["lon"].to_numpy()[pt], pts["lat"].to_numpy()[pt], lon[node], lat[node])[2] / 1000
        cand = pd.DataFrame({"pt": pt, "n": node, "km": km})[km < reach[mine][a]]
        cand = cand.merge(r[["n", "r"]], on="n").sort_values(["pt", "r", "km"], kind="mergesort").drop_duplicates(["pt", "r"])
        cand = cand.drop_duplicates(["pt", "n"])
        cand = cand[np.array([(p_, n_) not in seen0 for p_, n_ in zip(cand["pt"], cand["n"])], dtype=bool)]
        if label == 0:  # the base's links are in every alternative; each alternative adds its own beside them
            seen0 = set(zip(cand["pt"], cand["n"]))
        new.append(pd.DataFrame({"pt": cand["pt"].to_numpy(), "role": "expressway_access", "km": cand["km"].to_numpy(),
                                 "scen": label > 0, "label": label}))
        nodes.append(cand["n"].to_numpy(np.int64))
    if not new:
        return att, snap_node
    return pd.concat([att] + new, ignore_index=True), np.concatenate([snap_node] + nodes)


def _station_links(att, snap_node, m, pts, settings, to_proj, planned=()):
    """Places and parks nearer to a station than to any base road point (or with no road within
    reach): a straight link to the nearest station too (for a planned station, in each alternative
    of ``planned``)."""
    base = att["role"].isin(["road", "expressway_access"]) & att["label"].eq(0)
    road = att.loc[base].groupby("pt")["km"].min()
    who = np.flatnonzero((pts["kind"] == "place").to_numpy())
    st = np.flatnonzero((pts["kind"] == "station").to_numpy())
    if len(who) == 0 or len(st) == 0:
        return att, snap_node
    lon, lat = pts["lon"].to_numpy(float), pts["lat"].to_numpy(float)
    new, nodes = [], []
    for second, use in enumerate((st[~pts["scen"].to_numpy(bool)[st]], st)):
        if len(use) == 0:
            continue
        tree = shapely.STRtree(shapely.points(*to_proj.transform(lon[use], lat[use])))
        rel, absm = _SLACK
        a, b = tree.query_nearest(shapely.points(*to_proj.transform(lon[who], lat[who])),
                                  max_distance=settings.speeds.max_link_km * 1000 * (1 + rel) + absm, all_matches=False)
        pt, node = who[a], use[b]
        km = GEOD.inv(lon[pt], lat[pt], lon[node], lat[node])[2] / 1000
        keep = (km <= settings.speeds.max_link_km) & (km < road.reindex(pt).fillna(np.inf).to_numpy())
        if second:  # the second pass adds only links to planned stations, in each alternative that has them
            keep &= pts["scen"].to_numpy(bool)[node]
            for k in planned:
                new.append(pd.DataFrame({"pt": pt[keep], "role": "station_link", "km": km[keep], "scen": True, "label": k}))
                nodes.append(m + node[keep])
            continue
        new.append(pd.DataFrame({"pt": pt[keep], "role": "station_link", "km": km[keep], "scen": False, "label": 0}))
        nodes.append(m + node[keep])
    return pd.concat([att] + new, ignore_index=True), np.concatenate([snap_node] + nodes)


def _empty_network(pts, settings, problems, crs=EQUAL_AREA_CRS):
    n = len(pts)
    edges = gpd.GeoDataFrame({"u": np.zeros(0, np.int64), "v": np.zeros(0, np.int64), "mode": [], "cls": [],
                              "corridor_id": [], "km": np.zeros(0), "minutes": np.zeros(0), "oneway": np.zeros(0, np.int8),
                              "destination": np.zeros(0, bool), "land": np.zeros(0, bool), "scenario": np.zeros(0, bool),
                              "label": np.zeros(0, np.int64), "at_attachment": np.zeros(0, bool)}, geometry=[], crs="EPSG:4326")
    return Network(graph=csr_matrix((n, n)), lon=pts["lon"].to_numpy(float), lat=pts["lat"].to_numpy(float),
                   kind=np.asarray(pts["kind"].replace("interchange", "road"), dtype=str),
                   node_cls=np.asarray(pts["kind"], dtype=str),
                   place_index=pd.Series(np.arange(n), index=pts["id"].to_numpy()),
                   link_km=pd.Series(np.nan, index=pts["id"].to_numpy(), dtype=float), edges=edges,
                   arcs=_arcs_frame(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64),
                                    np.zeros(0, bool), np.zeros(0, bool), np.zeros(0, bool), np.zeros(0, np.int64)),
                   entry=np.arange(n), state_node=np.arange(n), expressway_access=np.zeros(0, np.int64),
                   settings=settings, crs=crs, problems=problems,
                   stats={"nodes": n, "states": n, "arcs": 0, "restricted_junctions": 0})


# --------------------------------------------------------------------------
# The state graph: destination zones and restricted junctions
# --------------------------------------------------------------------------

def _arcs_frame(tail, head, w, edge, forward, scen, rail, label):
    return pd.DataFrame({"tail": tail.astype(np.int64), "head": head.astype(np.int64), "minutes": w.astype(float),
                         "edge": edge.astype(np.int64), "forward": forward.astype(bool), "scenario": scen.astype(bool),
                         "rail": rail.astype(bool), "label": label.astype(np.int64)})


def _directed_edges(edges) -> pd.DataFrame:
    """One row per allowed direction of every physical edge (no self-loops)."""
    ow = edges["oneway"].to_numpy()
    k = np.concatenate([np.flatnonzero(ow >= 0), np.flatnonzero(ow <= 0)])
    fwd = np.concatenate([np.ones((ow >= 0).sum(), bool), np.zeros((ow <= 0).sum(), bool)])
    u, v = edges["u"].to_numpy(np.int64)[k], edges["v"].to_numpy(np.int64)[k]
    f = pd.DataFrame({"k": k, "forward": fwd, "u": np.where(fwd, u, v), "v": np.where(fwd, v, u),
                      "w": edges["minutes"].to_numpy(float)[k], "dest": edges["destination"].to_numpy(bool)[k],
                      "scen": edges["scenario"].to_numpy(bool)[k], "label": edges["label"].to_numpy(np.int64)[k],
                      "rail": edges["mode"].isin(["rail", "transfer"]).to_numpy()[k],
                      "cid": edges["corridor_id"].astype(str).to_numpy()[k],
                      "road": edges["mode"].eq("road").to_numpy()[k]})
    return f[f["u"] != f["v"]].reset_index(drop=True)


def _restrictions(tr, f, lon, lat):
    """Forbidden and only-allowed (arriving, leaving) directed-edge pairs of via-node restrictions, their
    via nodes, and the problems (via-way restrictions, restrictions that match no junction)."""
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), [], {"restrictions_applied": 0})
    if tr is None or not len(tr):
        return none
    tr = tr.to_crs(4326)
    rid = tr["restriction_id"].astype(str).to_numpy() if "restriction_id" in tr.columns else tr.index.astype(str).to_numpy()
    via_way = _text(tr, "via_corridor_ids").ne("").to_numpy()
    problems = []
    if via_way.any():
        problems.append(f"turn_restrictions: {int(via_way.sum())} via-way restrictions are not applied "
                        f"(only via-node ones are): {_ids(rid[via_way])}")
    pt = shapely.get_coordinates(np.asarray(tr.geometry.values))
    # every node at the via point (an expressway kept apart from the road beneath shares its point): the
    # merges with the from and to corridors below pick the junction of those two corridors
    nodes = pd.DataFrame({"x": np.round(lon, 7), "y": np.round(lat, 7), "via": np.arange(len(lon), dtype=np.int64)})
    r = pd.DataFrame({"rid": rid, "kind": _text(tr, "restriction").str.split("_").str[0].to_numpy(),
                      "from": tr["from_corridor_id"].astype(str).to_numpy(), "to": tr["to_corridor_id"].astype(str).to_numpy(),
                      "x": np.round(pt[:, 0], 7), "y": np.round(pt[:, 1], 7)})[~via_way]
    r = r.merge(nodes, on=["x", "y"], how="left").drop(columns=["x", "y"])
    r["via"] = r["via"].fillna(-1).astype(np.int64)
    road = f[f["road"]].reset_index().rename(columns={"index": "fi"})
    g = r.merge(road[["fi", "cid", "v", "k"]], left_on=["from", "via"], right_on=["cid", "v"])[
        ["rid", "via", "kind", "from", "to", "fi", "k"]]
    h = r.merge(road[["fi", "cid", "u", "k"]], left_on=["to", "via"], right_on=["cid", "u"])[["rid", "via", "fi", "k"]]
    pairs = g.merge(h, on=["rid", "via"], suffixes=("_in", "_out"))
    pairs = pairs[(pairs["from"] != pairs["to"]) | (pairs["k_in"] == pairs["k_out"])]  # from == to: the U-turn
    known = pairs["kind"].isin(["no", "only"])
    bad = sorted(set(r["rid"]) - set(pairs.loc[known, "rid"]))
    if bad:
        problems.append(f"turn_restrictions: {len(bad)} restrictions not applied (via point not a junction of the "
                        f"from and to corridors, or an unknown kind): {_ids(bad)}")
    pairs = pairs[known]
    F = len(f) + 1
    code = pairs["fi_in"].to_numpy(np.int64) * F + pairs["fi_out"].to_numpy(np.int64)
    forbid, only = code[(pairs["kind"] == "no").to_numpy()], code[(pairs["kind"] == "only").to_numpy()]
    split = np.unique(f["v"].to_numpy()[pairs["fi_in"].to_numpy(np.int64)])
    return forbid, only, split, problems, {"restrictions_applied": int(pairs["rid"].nunique()),
                                           "restrictions_not_applied": len(bad), "restrictions_via_way": int(via_way.sum())}


def _state_graph(n, edges, lon, lat, restrictions):
    """The CSR graph over states, every arc (before parallel arcs are merged), entry and state_node."""
    f = _directed_edges(edges)
    forbid, only, split, problems, rstats = _restrictions(restrictions, f, lon, lat)
    tail, head, fi, state_node, entry = _expand(n, f, forbid, only, split)
    arcs = _arcs_frame(tail, head, f["w"].to_numpy()[fi], f["k"].to_numpy()[fi], f["forward"].to_numpy()[fi],
                       f["scen"].to_numpy()[fi], f["rail"].to_numpy()[fi], f["label"].to_numpy()[fi])
    graph = _csr(arcs, len(state_node))
    stats = dict(rstats, states=len(state_node), arcs=len(arcs), restricted_junctions=len(split),
                 destination_edges=int(edges["destination"].sum()))
    return graph, arcs, entry, state_node, stats, problems


def _csr(arcs, n_states, mask=None):
    """CSR of the arcs (``mask``: the ones kept), the quickest of parallel arcs kept (32-bit indices)."""
    a = arcs if mask is None else arcs[mask]
    t, h, w = a["tail"].to_numpy(), a["head"].to_numpy(), a["minutes"].to_numpy()
    order = np.lexsort((w, h, t))
    t, h, w = t[order], h[order], w[order]
    first = np.ones(len(t), bool)
    first[1:] = (np.diff(t) != 0) | (np.diff(h) != 0)
    t, h, w = t[first], h[first], w[first]
    indptr = np.zeros(n_states + 1, np.int64)
    np.add.at(indptr, t + 1, 1)
    idx_t = np.int32 if n_states < 2**31 - 1 else np.int64
    return csr_matrix((w, h.astype(idx_t), np.cumsum(indptr).astype(idx_t)), shape=(n_states, n_states))


def _step(layer, dest):
    """Zone after driving an edge: 0 start (destination edges before any open one), 1 open, 2 end; -1 forbidden."""
    return np.where(dest, np.where(layer == 0, 0, 2), np.where(layer == 2, -1, 1))


def _expand(n, f, forbid, only, split):
    """States (node, arriving edge at restricted junctions, zone) and the arcs between them.

    Returns tail, head (states), the directed edge of each arc, state_node and entry.
    """
    fu, fv, dest = f["u"].to_numpy(np.int64), f["v"].to_numpy(np.int64), f["dest"].to_numpy(bool)
    if not dest.any() and not len(split):
        return fu, fv, np.arange(len(f)), np.arange(n), np.arange(n)
    has_a = np.zeros(n, bool)
    has_a[fu[dest]] = True
    has_c = np.zeros(n, bool)
    has_c[fv[dest]] = True
    is_split = np.zeros(n, bool)
    is_split[split] = True
    p = np.arange(n)
    starts = [(p, np.full(n, -1), np.ones(n, np.int64)), (p[has_a], np.full(has_a.sum(), -1), np.zeros(has_a.sum(), np.int64)),
              (p[has_c & ~is_split], np.full((has_c & ~is_split).sum(), -1), np.full((has_c & ~is_split).sum(), 2))]
    into = np.flatnonzero(is_split[fv])
    for lay in (np.ones(len(into), np.int64), np.zeros(len(into), np.int64)):  # zones an edge can arrive in
        after = np.where(dest[into], np.where(lay == 1, 2, np.where(has_a[fv[into]], 0, 1)), 1)
        starts.append((fv[into], into, after))
    node = np.concatenate([s[0] for s in starts])
    inkey = np.concatenate([s[1] for s in starts])
    zone = np.concatenate([s[2] for s in starts])
    states = pd.DataFrame({"node": node, "in": inkey, "zone": zone}).drop_duplicates()
    base = (states["in"] == -1) & (states["zone"] == 1)
    states = pd.concat([states[base].sort_values("node"), states[~base]], ignore_index=True)
    F = len(f) + 1
    code = (states["node"].to_numpy() * (F + 1) + states["in"].to_numpy() + 1) * 3 + states["zone"].to_numpy()
    index = pd.Index(code)
    out = pd.DataFrame({"fi": np.arange(len(f)), "node": fu})
    j = states.reset_index().rename(columns={"index": "sid"}).merge(out, on="node")
    fi, k, z = j["fi"].to_numpy(), j["in"].to_numpy(), j["zone"].to_numpy()
    z2 = _step(z, dest[fi])
    ok = z2 >= 0
    turn = k >= 0
    pair = k * F + fi
    ok &= ~(turn & np.isin(pair, forbid))
    has_only = np.zeros(F, bool)
    has_only[only // F] = True
    ok &= ~(turn & has_only[np.maximum(k, 0)] & ~np.isin(pair, only))
    n_out = np.bincount(fu, minlength=n)
    uturn = turn & (f["k"].to_numpy()[np.maximum(k, 0)] == f["k"].to_numpy()[fi])
    ok &= ~(uturn & (n_out[fu[fi]] > 1))  # at a restricted junction a U-turn only at a dead end
    fi, z2, sid = fi[ok], z2[ok], j["sid"].to_numpy()[ok]
    v = fv[fi]
    z2 = np.where((z2 == 0) & ~has_a[v], 1, z2)
    hk = (v * (F + 1) + np.where(is_split[v], fi, -1) + 1) * 3 + z2
    head = index.get_indexer(hk)
    assert (head >= 0).all(), "every arriving state exists"
    state_node = states["node"].to_numpy()
    entry = np.arange(n)
    a_start = index.get_indexer((p[has_a] * (F + 1) + 0) * 3 + 0)
    entry[has_a] = a_start
    return sid, head, fi, state_node, entry


# --------------------------------------------------------------------------
# Variants and queries
# --------------------------------------------------------------------------

def network_variant(net: Network, *, scenario: bool = True, rail: bool = True, label: int | None = None) -> Network:
    """The same network without its scenario arcs and links (``scenario=False``: the base network
    exactly), with one alternative's only (``label=k``: the base and alternative ``k`` of a union
    build) and/or without rail and boarding (``rail=False``: the road-only network).

    Node and state numbering is unchanged, so times of a variant compare index by index.

    Parameters
    ----------
    net : Network
    scenario : bool
        Keep the arcs tagged as scenario.
    rail : bool
        Keep rail edges and station transfer links.
    label : int, optional
        Keep the base's arcs (label 0) and alternative ``label``'s (``scenario`` is then ignored).

    Returns
    -------
    Network
    """
    if scenario and rail and label is None:
        return net
    keep = np.ones(len(net.arcs), bool)
    if label is not None:
        keep &= np.isin(net.arcs["label"].to_numpy(), [0, label])
    elif not scenario:
        keep &= ~net.arcs["scenario"].to_numpy(bool)
    if not rail:
        keep &= ~net.arcs["rail"].to_numpy(bool)
    arcs = net.arcs[keep].reset_index(drop=True)
    out = dataclasses.replace(net, graph=_csr(arcs, net.n_states), arcs=arcs)
    if net.access_labels is not None and (label is not None or not scenario):
        a = net.access_labels
        acc = np.unique(a.loc[a["label"].isin([0, 0 if label is None else label]), "node"].to_numpy(np.int64))
        out = dataclasses.replace(out, expressway_access=acc)
    return out


def network_with_speeds(net: Network, settings: Settings) -> Network:
    """The same network at other class speeds (``settings.speeds``): a line whose speed is its
    class's (no ``maxspeed``, design or timetable speed of its own) takes the new class speed; links,
    boarding and every line with a speed of its own keep their minutes.  Nodes, states, arcs and
    restrictions are unchanged, so the result equals :func:`build_network` with ``settings`` (class
    speeds decide nothing else in a build).

    Parameters
    ----------
    net : Network
    settings : Settings
        Whose class speeds apply; the result carries these settings.

    Returns
    -------
    Network

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString, Point
    >>> from twinstar_gis.settings import DEFAULT
    >>> layers = {"corridors": gpd.GeoDataFrame({"corridor_id": ["E1"], "class": ["expressway"]},
    ...     geometry=[LineString([(120.0, 43.0), (120.5, 43.0)])], crs=4326),
    ...     "places": gpd.GeoDataFrame({"place_id": ["A", "B"], "name_zh": ["a", "b"], "kind": ["county_seat"] * 2},
    ...     geometry=[Point(120.0, 43.0), Point(120.5, 43.0)], crs=4326)}
    >>> net = build_network(layers)
    >>> slow = network_with_speeds(net, DEFAULT.override(**{"speeds.expressway": 50}))
    >>> t, t2 = (network_od_matrix(n, ["A", "B"]).loc["A", "B"] for n in (net, slow))
    >>> round(float(t2 / t), 6)  # the whole trip is on the expressway: 100 km/h -> 50 km/h
    2.0
    """
    e = net.edges
    use = e["class_speed"].eq(True).to_numpy() if "class_speed" in e.columns else np.zeros(len(e), bool)
    minutes = e["minutes"].to_numpy(float).copy()
    if use.any():
        cls = e["cls"].astype(str).to_numpy()[use]
        u, inv = np.unique(cls, return_inverse=True)
        speed = np.array([settings.speeds.for_class(c) for c in u])[inv]
        minutes[use] = np.maximum(e["km"].to_numpy(float)[use] / speed * 60.0, _MIN_MINUTES)
    arcs = net.arcs.assign(minutes=minutes[net.arcs["edge"].to_numpy(np.int64)])
    return dataclasses.replace(net, edges=e.assign(minutes=minutes), arcs=arcs, graph=_csr(arcs, net.n_states),
                               settings=settings)


def _indices(net, ids):
    ids = list(ids)
    out = np.empty(len(ids), np.int64)
    for k, s in enumerate(ids):  # a handful of sources, not nodes
        out[k] = s if isinstance(s, (int, np.integer)) else net.place_index[str(s)]
    return out


def collapse_states(net: Network, t: np.ndarray) -> np.ndarray:
    """Reduce times at states to times at physical nodes: the quickest state of each node.

    A network has a state per physical node (states ``0 .. n - 1``) and, at restricted
    junctions and destination-only streets, extra states that are copies of a node
    (``net.state_node`` says which).  A node's time is the smallest over its states.

    Parameters
    ----------
    net : Network
        The network the times were computed on.
    t : numpy.ndarray
        Times (minutes) with states along the last axis, shape ``(..., net.n_states)``;
        ``inf`` where unreached.  NaN propagates.

    Returns
    -------
    numpy.ndarray of float
        Shape ``(..., net.n)``: the time at each physical node (a new array).

    Examples
    --------
    Three nodes and a fourth state, a copy of node 1:

    >>> from scipy.sparse import csr_matrix
    >>> net = Network(graph=csr_matrix((4, 4)), lon=np.zeros(3), lat=np.zeros(3), kind=np.array(["road"] * 3),
    ...               node_cls=np.array(["road"] * 3), place_index=pd.Series(dtype=int), link_km=pd.Series(dtype=float),
    ...               edges=None, state_node=np.array([0, 1, 2, 1]))
    >>> collapse_states(net, np.array([5.0, 9.0, 7.0, 4.0])).tolist()
    [5.0, 4.0, 7.0]
    >>> collapse_states(net, np.array([[5.0, 9.0, 7.0, 4.0], [1.0, 2.0, np.inf, np.inf]])).tolist()
    [[5.0, 4.0, 7.0], [1.0, 2.0, inf]]
    """
    t = np.asarray(t)
    out = np.array(t[..., :net.n], dtype=float, copy=True)
    if net.n_states > net.n:
        extra = net.state_node[net.n:]
        np.minimum.at(out.T, extra, t[..., net.n:].T) if out.ndim > 1 else np.minimum.at(out, extra, t[net.n:])
    return out


def states_of(net: Network, nodes) -> tuple[np.ndarray, np.ndarray]:
    """List every state of some physical nodes (a node has one state, or more at restricted junctions).

    Parameters
    ----------
    net : Network
        The network.
    nodes : array-like of int
        Physical node indices (``0 .. net.n - 1``), without repeats (a repeated node's
        states are all given the position of its first occurrence, except in a network
        without extra states, where ``nodes`` comes back as it is).

    Returns
    -------
    (states, which) : numpy.ndarray of int, numpy.ndarray of int
        The states of the nodes (in increasing order when the network has extra states)
        and, for each, the position in ``nodes`` of the node it belongs to.

    Examples
    --------
    Three nodes and a fourth state, a copy of node 1:

    >>> from scipy.sparse import csr_matrix
    >>> net = Network(graph=csr_matrix((4, 4)), lon=np.zeros(3), lat=np.zeros(3), kind=np.array(["road"] * 3),
    ...               node_cls=np.array(["road"] * 3), place_index=pd.Series(dtype=int), link_km=pd.Series(dtype=float),
    ...               edges=None, state_node=np.array([0, 1, 2, 1]))
    >>> states, which = states_of(net, [2, 1])
    >>> states.tolist(), which.tolist()
    ([1, 2, 3], [1, 0, 1])
    """
    nodes = np.asarray(nodes, np.int64)
    if net.n_states == net.n:
        return nodes, np.arange(len(nodes))
    where = pd.Series(np.arange(len(nodes)), index=nodes)
    sel = np.flatnonzero(np.isin(net.state_node, nodes))
    return sel, where.groupby(level=0).first().reindex(net.state_node[sel]).to_numpy()


def travel_times(net: Network, sources, *, limit: float | None = None) -> np.ndarray:
    """Minutes FROM each source (place / park / station ids or node indices) to every physical node.

    Parameters
    ----------
    net : Network
    sources : sequence
        Ids of places, parks or stations, or physical node indices.
    limit : float, optional
        Leave nodes beyond this many minutes unreached.

    Returns
    -------
    numpy.ndarray
        (n_sources, n_nodes); NaN where unreachable (or beyond ``limit``).
    """
    t = dijkstra(net.graph, directed=True, indices=net.entry[_indices(net, sources)],
                 limit=np.inf if limit is None else limit)
    t = collapse_states(net, np.atleast_2d(t))
    t[~np.isfinite(t)] = np.nan
    return t


def travel_times_to(net: Network, targets, *, limit: float | None = None) -> np.ndarray:
    """Minutes from every physical node TO each target (the reverse graph).

    Parameters
    ----------
    net : Network
    targets : sequence
        Ids or physical node indices.
    limit : float, optional

    Returns
    -------
    numpy.ndarray
        (n_targets, n_nodes), NaN unreachable.
    """
    idx = _indices(net, targets)
    out = np.empty((len(idx), net.n))
    for k, node in enumerate(idx):
        st, _ = states_of(net, [node])
        d = dijkstra(net.graph_reverse, directed=True, indices=st, min_only=True, limit=np.inf if limit is None else limit)
        out[k] = d[net.entry]
    out[~np.isfinite(out)] = np.nan
    return out


def network_od_matrix(net: Network, ids) -> pd.DataFrame:
    """Origin-destination travel times (minutes) among place / park / station ids; rows are origins.

    Parameters
    ----------
    net : Network
    ids : sequence of str

    Returns
    -------
    pandas.DataFrame
    """
    ids = [str(i) for i in ids]
    cols = net.place_index[ids].to_numpy()
    out = np.empty((len(ids), len(ids)))
    for k in range(0, len(ids), _CHUNK):  # a few full rows at a time, only the needed columns kept
        out[k:k + _CHUNK] = travel_times(net, ids[k:k + _CHUNK])[:, cols]
    return pd.DataFrame(out, index=ids, columns=ids)


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

    Parameters
    ----------
    net_or_layers : Network or dict
        A built network, or the layers to build it from (as for :func:`build_network`).
    settings : Settings, default ``DEFAULT``
        Speeds and network rules, used only when building from layers.
    include_planned : bool, default False
        Also build corridors and stations not yet in service (only when building from layers).

    Returns
    -------
    twinstar_gis.data.validate.ValidationReport
        Three checks: "network: stations serve their lines" (the errors, in ``problems``),
        "network: classes and speeds" (detail: per class the km of line and the range of
        speeds, km/h) and "network: connected" (detail: nodes, components, size of the
        largest); the warnings in ``warnings``.

    Raises
    ------
    ValidationError
        When building from layers: an unknown corridor class, an invalid speed or
        ``route_factor``.

    Examples
    --------
    Two county roads (40 km/h) that do not meet: 0.1 degree of longitude at 42 N
    (8.29 km by ``pyproj.Geod``) with A and B on it, and 0.05 degree (4.13 km) with C:

    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString, Point
    >>> cor = gpd.GeoDataFrame({"corridor_id": ["R1", "R2"], "class": ["county_road"] * 2},
    ...                        geometry=[LineString([(119.0, 42.0), (119.1, 42.0)]),
    ...                                  LineString([(119.0, 42.2), (119.05, 42.2)])], crs=4326)
    >>> pl = gpd.GeoDataFrame({"place_id": ["A", "B", "C"]},
    ...                       geometry=[Point(119.0, 42.0), Point(119.1, 42.0), Point(119.0, 42.2)], crs=4326)
    >>> report = validate_network({"corridors": cor, "places": pl})
    >>> report.ok, report.checks[1].detail
    (True, 'county_road 12 km at 40-40 km/h')
    >>> w = report.warnings[0]
    >>> w.split(";")[0], w.split("; ")[-1]
    ('network: 2 disconnected components', '1 places/parks/stations are off it: C')
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
