"""An independent reference car router for OpenStreetMap extracts: the yardstick of tests/test_real_osm.py.

Written from the OSM tagging conventions (wiki pages Key:highway, Key:oneway,
Key:access, Relation:restriction), not from any other router's code and not
from twinstar_gis: it must never import the package (tests/test_real_osm.py
checks that).  It is small and slow on purpose: an edge-based networkx graph
for city-centre test files, not a production router.

Dependencies: ``osmium`` (pyosmium, BSD-2), ``pyproj``, ``numpy``, ``networkx``.

Rules
-----
Routable ways
    ``highway`` is a key of the speed table given to :func:`load` *and* one of
    :data:`CAR_HIGHWAYS` (the values on which cars may legally drive by OSM
    convention: the seven road classes, their ``_link`` ways, ``living_street``,
    ``service`` (every ``service=*`` subtype), ``road``).  So the caller decides
    the network: :data:`TEST_SPEEDS` has only the seven classes and their links.
    ``track``, ``busway``, ``construction``, ``proposed``, ``area=yes`` ways and
    every footway/cycleway/path kind are never routable.
Access (cars)
    The most specific of ``motorcar`` > ``motor_vehicle`` > ``vehicle`` >
    ``access`` that is present decides: ``no``, ``private``, ``agricultural``,
    ``forestry``, ``emergency``, ``military``, ``permit``, ``psv``, ``bus``
    -> closed (way left out; ``discouraged`` is legal, so open); ``destination``, ``delivery``,
    ``customers`` -> destination-only; anything else (``yes``, ``permissive``,
    ``designated``, unknown values) -> open.  ``*:conditional`` and
    ``*:forward/backward`` access tags are ignored.
Destination-only ways
    May be used only at the start or the end of a trip, never passed through:
    every directed edge is in one of three layers, A (start zone: destination
    edges driven before any open edge), B (open edges) and C (destination edges
    after an open edge).  Allowed layer changes: A->A, A->B, B->B, B->C, C->C.
Direction
    ``oneway`` = ``yes``/``true``/``1`` -> along the way's drawing direction,
    ``-1``/``reverse`` -> against it, ``no``/``false``/``0`` -> both.
    Without an explicit ``oneway``, OSM implies ``oneway=yes`` for
    ``highway=motorway`` and for ``junction=roundabout``/``circular``;
    ``motorway_link`` is *not* implied oneway by default (the wiki asks mappers
    to tag it explicitly; ``implied_oneway_links=True`` implies it for all
    ``*_link`` of motorway and trunk as some routers do).  ``oneway=reversible``
    / ``alternating`` (time-dependent) -> way left out.  ``oneway:conditional``
    ignored.  Other unknown values -> both directions (counted in ``stats``).
Speed
    The class speed of the table (km/h).  With ``use_maxspeed`` a numeric
    ``maxspeed`` ("50", "50 km/h", "30 mph") times ``maxspeed_factor`` replaces
    it; ``maxspeed:forward``/``maxspeed:backward`` replace it for one direction.
    Non-numeric values ("FI:urban", "none", "walk", "50;40") are ignored.
Topology
    Graph nodes are OSM node ids.  Each way is split at every node shared by
    two or more routable ways (or visited twice by the same way) and at its
    ends; a piece between two such nodes is an edge.  A segment with a node
    missing from the file (ways clipped by the extract) is dropped, so the way
    is split there.  Edge length: sum of WGS-84 ellipsoid distances
    (``pyproj.Geod.inv``) between consecutive nodes.  No barriers, no turn
    costs, no traffic signals.
Turns (edge-based graph, networkx DiGraph)
    Graph nodes are (edge, direction, layer); an arc is an allowed turn and
    weighs the minutes of the edge entered.  U-turns (back along the same
    edge) only where the arriving edge has no other outgoing edge at its head
    (a dead end, including the ends cut by the extract boundary: those nodes
    are in ``RouterGraph.cut_nodes``, so tests can flag routes turning there).
    ``uturns="unrestricted"`` allows them at every junction that is not the via
    node of an applied turn restriction (the rule of a node-based graph that
    splits only restricted junctions; an explicit ``no_u_turn`` always holds).
Turn restrictions (``type=restriction``, and ``type=restriction:motorcar`` /
``restriction:motorcar=*``; ``restriction:<other mode>`` is not for cars)
    ``no_*``: forbids every turn from a ``from`` way's edge arriving at the
    ``via`` node into a ``to`` way's edge leaving it (several from/to members,
    as in ``no_entry``/``no_exit``, are all combined).  ``only_*``: from such a
    ``from`` edge, every other turn at the via node is forbidden (several
    ``only_*`` with the same from/via: the union of their ``to`` edges is
    allowed).  When from-way == to-way only the U-turn is meant.  ``except``
    naming ``motorcar``/``motor_vehicle``/``vehicle`` -> not applied.
    ``restriction:conditional`` -> ignored.  Restrictions whose from/to way is
    not routable or not in the file, or whose via node is not an end of the
    pieces -> not applied, counted.  Via-**way** restrictions -> NOT supported,
    listed in ``stats["restrictions_unsupported_via_way"]``.
Queries
    A coordinate snaps to the nearest point of the nearest segment of a
    routable edge (nearest in a local azimuthal-equidistant projection centred
    on the extract; the reported snap distance is the ellipsoidal distance).
    The trip starts there in either allowed direction of that edge and ends
    at the destination's snap point, reached along its edge's allowed
    direction(s); partial edges cost their share of the edge time.  The snap
    distance is reported, never charged.  Unreachable -> ``nan``.

"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import osmium
from pyproj import Geod, Transformer

__all__ = [
    "CAR_HIGHWAYS",
    "TEST_SPEEDS",
    "Route",
    "RouterGraph",
    "class_speeds",
    "load",
    "od_minutes",
    "route",
    "route_length_m",
    "route_minutes",
    "way_rules",
]

GEOD = Geod(ellps="WGS84")
MAIN_CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential")
LINKS = ("motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link")
CAR_HIGHWAYS = frozenset(MAIN_CLASSES + LINKS + ("living_street", "service", "road"))
CLOSED = {"no", "private", "agricultural", "forestry", "emergency", "military", "permit", "psv", "bus"}
DESTINATION = {"destination", "delivery", "customers"}
ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")  # most specific first
ONEWAY_FWD = {"yes", "true", "1"}
ONEWAY_BWD = {"-1", "reverse"}
ONEWAY_NO = {"no", "false", "0"}
ONEWAY_CLOSED = {"reversible", "alternating"}
_SPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)


def class_speeds(motorway, trunk, primary, secondary, tertiary, unclassified, residential, link, **extra):
    """A speed table (km/h by highway value) with one speed for every ``*_link``; ``extra`` adds
    e.g. ``living_street=10, service=10``."""
    table = {"motorway": motorway, "trunk": trunk, "primary": primary, "secondary": secondary, "tertiary": tertiary,
                 "unclassified": unclassified, "residential": residential}
    table.update({k: link for k in LINKS})
    table.update(extra)
    return table


#: The table of the OD check: motorway 100, trunk/primary 60, secondary/tertiary 40,
#: unclassified/residential 25, every link 40 km/h.
TEST_SPEEDS = class_speeds(motorway=100, trunk=60, primary=60, secondary=40, tertiary=40, unclassified=25,
                           residential=25, link=40)


def parse_maxspeed(value):
    """km/h of a numeric OSM maxspeed ("50", "50 km/h", "30 mph"), else None."""
    if value is None:
        return None
    m = _SPEED_RE.match(value)
    if not m:
        return None
    v = float(m.group(1)) * (1.609344 if (m.group(2) or "").lower() == "mph" else 1.0)
    return v if v > 0 else None


@dataclass(frozen=True)
class WayRule:
    forward: bool
    backward: bool
    destination: bool
    kmh_forward: float
    kmh_backward: float


def way_rules(tags, speeds, *, use_maxspeed=True, maxspeed_factor=0.8, implied_oneway_links=False, stats=None):
    """The car rules of one way (a mapping of its tags), or None when cars cannot use it."""
    stats = stats if stats is not None else defaultdict(int)
    hw = tags.get("highway")
    if hw not in CAR_HIGHWAYS or hw not in speeds or tags.get("area") == "yes":
        return None
    access = next((tags[k] for k in ACCESS_KEYS if k in tags), "yes").strip().lower()
    if access in CLOSED:
        stats[f"ways_closed_{access}"] += 1
        return None
    dest = access in DESTINATION
    ow = tags.get("oneway")
    ow = ow.strip().lower() if ow is not None else None
    if ow in ONEWAY_CLOSED:
        stats[f"ways_oneway_{ow}_left_out"] += 1
        return None
    if ow is None:
        implied = hw == "motorway" or tags.get("junction") in ("roundabout", "circular") or (
            implied_oneway_links and hw in ("motorway_link", "trunk_link"))
        fwd, bwd = True, not implied
        if implied:
            stats["ways_implied_oneway"] += 1
    elif ow in ONEWAY_FWD:
        fwd, bwd = True, False
    elif ow in ONEWAY_BWD:
        fwd, bwd = False, True
    else:
        if ow not in ONEWAY_NO:
            stats[f"ways_oneway_unknown_{ow}"] += 1
        fwd = bwd = True
    base = float(speeds[hw])
    kf = kb = base
    if use_maxspeed:
        ms = parse_maxspeed(tags.get("maxspeed"))
        if ms is not None:
            kf = kb = ms * maxspeed_factor
        msf, msb = parse_maxspeed(tags.get("maxspeed:forward")), parse_maxspeed(tags.get("maxspeed:backward"))
        kf = msf * maxspeed_factor if msf is not None else kf
        kb = msb * maxspeed_factor if msb is not None else kb
    if dest:
        stats["ways_destination_only"] += 1
    return WayRule(fwd, bwd, dest, kf, kb)


class _Reader(osmium.SimpleHandler):
    def __init__(self, speeds, opts):
        super().__init__()
        self.speeds, self.opts = speeds, opts
        self.ways = {}  # way id -> (node ids, lon, lat, WayRule, highway)
        self.restrictions = []
        self.stats = defaultdict(int)

    def way(self, w):
        rule = way_rules(w.tags, self.speeds, stats=self.stats, **self.opts)
        if rule is None:
            return
        ids, lon, lat = [], [], []
        for n in w.nodes:
            ids.append(n.ref)
            if n.location.valid():
                lon.append(n.location.lon)
                lat.append(n.location.lat)
            else:
                lon.append(math.nan)
                lat.append(math.nan)
        self.ways[w.id] = (ids, np.array(lon), np.array(lat), rule, w.tags.get("highway"))

    def relation(self, r):
        t = r.tags
        typ = t.get("type", "")
        if typ == "restriction":
            value = t.get("restriction:motorcar") or t.get("restriction")
            if value is None and any(tg.k.startswith("restriction:") and tg.k != "restriction:conditional" for tg in t):
                self.stats["restrictions_for_other_modes"] += 1
                return
        elif typ == "restriction:motorcar":
            value = t.get("restriction")
        else:
            return
        if value is None:
            if "restriction:conditional" in t:
                self.stats["restrictions_conditional_ignored"] += 1
            return
        exc = {e.strip() for e in t.get("except", "").split(";")}
        if exc & {"motorcar", "motor_vehicle", "vehicle"}:
            self.stats["restrictions_except_cars"] += 1
            return
        members = [(m.type, m.ref, m.role) for m in r.members]
        self.restrictions.append((r.id, value.strip(), members))


@dataclass
class RouterGraph:
    """A loaded network: the edge-based graph and what queries need."""

    graph: nx.DiGraph
    edges: list  # edge id -> dict(way, u, v, lon, lat, cum_m, length_m, minutes {+1/-1: float or None}, dest, highway)
    seg_edge: np.ndarray  # segment -> edge id
    seg_k: np.ndarray  # segment -> index of its first vertex in the edge
    seg_xy: np.ndarray  # segment -> x0, y0, x1, y1 (local projection, m)
    to_xy: Transformer
    restrictions: bool
    cut_nodes: frozenset = frozenset()
    stats: dict = field(default_factory=dict)


def _layers(dest):
    return ("A", "C") if dest else ("B",)


def _step(layer, dest):
    """Layer after entering an edge (destination-only or not) from ``layer``; None if forbidden."""
    if layer == "A":
        return "A" if dest else "B"
    if layer == "B":
        return "C" if dest else "B"
    return "C" if dest else None


def load(pbf, speeds, *, restrictions=True, use_maxspeed=True, maxspeed_factor=0.8, implied_oneway_links=False,
         destination_rule=True, uturns="dead_end"):
    """Read ``pbf`` and build the edge-based car graph (see the module docstring for the rules).

    ``speeds``: km/h by highway value (e.g. :data:`TEST_SPEEDS`); its keys choose the routable ways.
    ``destination_rule=False`` treats destination-only ways as open (to measure the rule's effect).
    ``uturns``: ``"dead_end"`` (U-turns only at dead ends) or ``"unrestricted"`` (at every junction that is
    not the via node of an applied restriction; see the module docstring).
    """
    if uturns not in ("dead_end", "unrestricted"):
        raise ValueError(f"uturns must be 'dead_end' or 'unrestricted', not {uturns!r}")
    bad = set(speeds) - CAR_HIGHWAYS
    if bad:
        raise ValueError(f"not car-routable highway values in the speed table: {sorted(bad)}")
    t0 = time.perf_counter()
    rd = _Reader(speeds, {"use_maxspeed": use_maxspeed, "maxspeed_factor": maxspeed_factor,
                              "implied_oneway_links": implied_oneway_links})
    rd.apply_file(str(pbf), locations=True)
    stats = dict(rd.stats)
    stats["routable_ways"] = len(rd.ways)
    if not destination_rule:
        rd.ways = {k: (*v[:3], WayRule(v[3].forward, v[3].backward, False, v[3].kmh_forward, v[3].kmh_backward), v[4])
                   for k, v in rd.ways.items()}

    # -- topology: split at nodes used by 2+ routable ways (or twice by one way), at ends and at gaps
    use = defaultdict(int)
    for ids, *_ in rd.ways.values():
        for n in ids:
            use[n] += 1
    edges = []
    cut_nodes = set()  # nodes where a way runs on to a node missing from the file (extract boundary)
    way_edges = defaultdict(list)
    for wid, (ids, lon, lat, rule, hw) in rd.ways.items():
        ok = ~np.isnan(lon)
        seg_ok = ok[:-1] & ok[1:]
        stats["segments_dropped_missing_node"] = stats.get("segments_dropped_missing_node", 0) + int((~seg_ok).sum())
        for k in np.flatnonzero(~seg_ok):
            cut_nodes.update(ids[j] for j in (k, k + 1) if ok[j])
        start = None
        for k in range(len(ids)):
            if start is None:
                if ok[k] and k < len(ids) - 1 and seg_ok[k]:
                    start = k
                continue
            end_here = (k == len(ids) - 1) or not seg_ok[k] or use[ids[k]] > 1
            if end_here:
                lo, la = lon[start:k + 1], lat[start:k + 1]
                seg_m = GEOD.inv(lo[:-1], la[:-1], lo[1:], la[1:])[2]
                length = float(np.sum(seg_m))
                mins = {+1: length / 1000.0 / rule.kmh_forward * 60.0 if rule.forward else None,
                        -1: length / 1000.0 / rule.kmh_backward * 60.0 if rule.backward else None}
                eid = len(edges)
                edges.append({"way": wid, "u": ids[start], "v": ids[k], "lon": lo, "lat": la,
                                  "cum_m": np.concatenate([[0.0], np.cumsum(seg_m)]), "length_m": length, "minutes": mins,
                                  "dest": rule.destination, "highway": hw})
                way_edges[wid].append(eid)
                start = k if (k < len(ids) - 1 and seg_ok[k]) else None
    stats["edges"] = len(edges)
    stats["cut_nodes"] = len(cut_nodes)

    # -- directed edges, by head and tail node
    def head(e, d):
        return edges[e]["v"] if d == 1 else edges[e]["u"]

    def tail(e, d):
        return edges[e]["u"] if d == 1 else edges[e]["v"]

    directed = [(e, d) for e in range(len(edges)) for d in (1, -1) if edges[e]["minutes"][d] is not None]
    out_of = defaultdict(list)
    for e, d in directed:
        out_of[tail(e, d)].append((e, d))
    stats["directed_edges"] = len(directed)

    # -- turn restrictions -> forbidden (from directed edge, to directed edge) pairs, and only_* whitelists
    forbidden, only = set(), defaultdict(set)
    unsupported, not_applied, applied = [], [], 0
    restricted_junctions = set()
    if restrictions:
        for rid, value, members in rd.restrictions:
            via = [(t, ref) for t, ref, role in members if role == "via"]
            frm = [ref for t, ref, role in members if role == "from" and t == "w"]
            to = [ref for t, ref, role in members if role == "to" and t == "w"]
            kind = value.split("_", 1)[0]
            if kind not in ("no", "only"):
                not_applied.append((rid, f"unknown value {value}"))
                continue
            if not via or any(t != "n" for t, _ in via) or len(via) != 1:
                unsupported.append((rid, value, "via " + ",".join(t + str(r) for t, r in via)))
                continue
            vn = via[0][1]
            if not frm or not to or any(w not in rd.ways for w in frm + to):
                not_applied.append((rid, "from/to way not routable or not in file"))
                continue
            from_e = [(e, d) for w in frm for e in way_edges[w] for d in (1, -1)
                      if edges[e]["minutes"][d] is not None and head(e, d) == vn]
            to_e = [(e, d) for w in to for e in way_edges[w] for d in (1, -1)
                    if edges[e]["minutes"][d] is not None and tail(e, d) == vn]
            if not from_e or not to_e:
                not_applied.append((rid, "via node not at an allowed from/to edge end"))
                continue
            pairs = {(a, b) for a in from_e for b in to_e}
            both = set(frm) & set(to)
            if both:  # from-way == to-way: only the U-turn (back along the same edge) is meant
                pairs = {(a, b) for a, b in pairs
                         if not (edges[a[0]]["way"] in both and edges[a[0]]["way"] == edges[b[0]]["way"] and a[0] != b[0])}
            restricted_junctions.add(vn)
            if kind == "no":
                forbidden |= pairs
            else:
                for a in from_e:
                    only[a] |= {b for x, b in pairs if x == a}
            applied += 1
    stats.update(restrictions_read=len(rd.restrictions), restrictions_applied=applied,
                 restrictions_not_applied=not_applied, restrictions_unsupported_via_way=unsupported)

    # -- the edge-based graph
    G = nx.DiGraph()
    for e, d in directed:
        for L in _layers(edges[e]["dest"]):
            G.add_node((e, d, L))
    n_uturn = n_forbidden = 0
    for e, d in directed:
        v = head(e, d)
        cont = out_of.get(v, [])
        others = [x for x in cont if x[0] != e]
        for f, g in cont:
            if f == e and g == -d:
                if others and (uturns == "dead_end" or v in restricted_junctions):  # U-turn only at a dead end
                    continue
                n_uturn += 1
            elif f == e:
                continue  # a closed loop edge arriving at its own start: handled as a normal turn below
            if (e, d) in only and (f, g) not in only[(e, d)]:
                n_forbidden += 1
                continue
            if ((e, d), (f, g)) in forbidden:
                n_forbidden += 1
                continue
            w = edges[f]["minutes"][g]
            for L in _layers(edges[e]["dest"]):
                L2 = _step(L, edges[f]["dest"])
                if L2 is not None:
                    G.add_edge((e, d, L), (f, g, L2), weight=w)
    stats.update(turn_arcs=G.number_of_edges(), uturn_arcs_dead_end=n_uturn, turns_removed_by_restrictions=n_forbidden)

    # -- segments for snapping, in a local azimuthal equidistant projection
    all_lon = np.concatenate([ed["lon"] for ed in edges])
    all_lat = np.concatenate([ed["lat"] for ed in edges])
    lon0, lat0 = (all_lon.min() + all_lon.max()) / 2, (all_lat.min() + all_lat.max()) / 2
    to_xy = Transformer.from_crs("EPSG:4326", f"+proj=aeqd +lon_0={lon0} +lat_0={lat0} +ellps=WGS84", always_xy=True)
    se, sk, sxy = [], [], []
    for i, ed in enumerate(edges):
        x, y = to_xy.transform(ed["lon"], ed["lat"])
        n = len(x) - 1
        se.append(np.full(n, i))
        sk.append(np.arange(n))
        sxy.append(np.column_stack([x[:-1], y[:-1], x[1:], y[1:]]))
    stats["load_seconds"] = round(time.perf_counter() - t0, 3)
    return RouterGraph(G, edges, np.concatenate(se), np.concatenate(sk), np.vstack(sxy), to_xy, restrictions,
                       frozenset(cut_nodes), stats)


@dataclass(frozen=True)
class Snap:
    edge: int
    offset_m: float  # ellipsoidal distance along the edge from its first node to the snap point
    lon: float
    lat: float
    distance_m: float  # ellipsoidal distance query point -> snap point


def snap(rg: RouterGraph, lon, lat) -> Snap:
    """The nearest point of the nearest routable segment."""
    px, py = rg.to_xy.transform(lon, lat)
    x0, y0, x1, y1 = rg.seg_xy.T
    dx, dy = x1 - x0, y1 - y0
    ll = dx * dx + dy * dy
    t = np.clip(np.where(ll > 0, ((px - x0) * dx + (py - y0) * dy) / np.where(ll > 0, ll, 1), 0.0), 0.0, 1.0)
    d2 = (x0 + t * dx - px) ** 2 + (y0 + t * dy - py) ** 2
    i = int(np.argmin(d2))
    e, k = int(rg.seg_edge[i]), int(rg.seg_k[i])
    sx, sy = x0[i] + t[i] * dx[i], y0[i] + t[i] * dy[i]
    slon, slat = rg.to_xy.transform(sx, sy, direction="INVERSE")
    ed = rg.edges[e]
    part = GEOD.inv(ed["lon"][k], ed["lat"][k], slon, slat)[2] if t[i] > 0 else 0.0
    offset = min(ed["cum_m"][k] + part, ed["length_m"])
    dist = GEOD.inv(lon, lat, slon, slat)[2]
    return Snap(e, float(offset), float(slon), float(slat), float(dist))


def _frac_minutes(rg, e, d, offset_m, to_head):
    """Minutes along directed edge (e, d) between the snap point and its head (to_head) or from its tail."""
    ed = rg.edges[e]
    mins = ed["minutes"][d]
    if ed["length_m"] == 0:
        return 0.0
    along = offset_m / ed["length_m"] if d == 1 else 1.0 - offset_m / ed["length_m"]  # share from the tail
    return mins * ((1.0 - along) if to_head else along)


@dataclass(frozen=True)
class Route:
    minutes: float
    origin_snap_m: float
    destination_snap_m: float
    edges: tuple  # directed edges driven (edge id, direction), the partial first and last included


def _attach(rg, s: Snap, tag, as_source):
    """Add a source (or target) node for snap point s; returns its name."""
    G, name = rg.graph, ("S" if as_source else "T", tag)
    G.add_node(name)
    e = s.edge
    for d in (1, -1):
        if rg.edges[e]["minutes"][d] is None:
            continue
        if as_source:
            L = "A" if rg.edges[e]["dest"] else "B"
            G.add_edge(name, (e, d, L), weight=_frac_minutes(rg, e, d, s.offset_m, True))
        else:
            w = _frac_minutes(rg, e, d, s.offset_m, False)
            for L in _layers(rg.edges[e]["dest"]):
                for p in list(G.predecessors((e, d, L))):
                    if isinstance(p, tuple) and p[0] in ("S", "T"):
                        continue
                    if not G.has_edge(p, name) or G[p][name]["weight"] > w:  # a loop edge reached both ways
                        G.add_edge(p, name, weight=w, last=(e, d))
    return name


def _same_edge(rg, so: Snap, sd: Snap):
    """Minutes when origin and destination are on the same edge and the destination lies ahead."""
    if so.edge != sd.edge:
        return math.inf
    ed, best = rg.edges[so.edge], math.inf
    for d in (1, -1):
        if ed["minutes"][d] is None or ed["length_m"] == 0:
            continue
        ahead = (sd.offset_m - so.offset_m) * d
        if ahead >= 0:
            best = min(best, ed["minutes"][d] * ahead / ed["length_m"])
    return best


def od_minutes(rg: RouterGraph, points):
    """Minutes between every pair of (lon, lat) points (n x n array, nan = unreachable), and the snaps."""
    snaps = [snap(rg, lon, lat) for lon, lat in points]
    G = rg.graph
    names_s = [_attach(rg, s, i, True) for i, s in enumerate(snaps)]
    names_t = [_attach(rg, s, i, False) for i, s in enumerate(snaps)]
    try:
        out = np.full((len(points), len(points)), np.nan)
        for i, src in enumerate(names_s):
            dist = nx.single_source_dijkstra_path_length(G, src, weight="weight")
            for j, tgt in enumerate(names_t):
                best = min(dist.get(tgt, math.inf), _same_edge(rg, snaps[i], snaps[j]))
                out[i, j] = 0.0 if i == j else (best if best < math.inf else np.nan)
    finally:
        G.remove_nodes_from(names_s + names_t)
    return out, snaps


def route(rg: RouterGraph, origin, destination) -> Route:
    """Shortest car time from ``origin`` to ``destination`` ((lon, lat) each)."""
    so, sd = snap(rg, *origin), snap(rg, *destination)
    G = rg.graph
    s, t = _attach(rg, so, "q", True), _attach(rg, sd, "q", False)
    try:
        try:
            best, path = nx.single_source_dijkstra(G, s, t, weight="weight")
            path = tuple((p[0], p[1]) for p in path[1:-1]) + (G[path[-2]][t]["last"],)
        except nx.NetworkXNoPath:
            best, path = math.inf, ()
        direct = _same_edge(rg, so, sd)
        if direct <= best:
            best, path = direct, ((so.edge, 1 if sd.offset_m >= so.offset_m else -1),)
    finally:
        G.remove_nodes_from([s, t])
    return Route(best if best < math.inf else math.nan, so.distance_m, sd.distance_m, path)


def route_length_m(rg: RouterGraph, r: Route, origin, destination) -> float:
    """Metres driven on route ``r`` (partial first and last edges counted by their share)."""
    so, sd = snap(rg, *origin), snap(rg, *destination)
    if len(r.edges) == 1:
        return abs(sd.offset_m - so.offset_m)
    total = 0.0
    for k, (e, d) in enumerate(r.edges):
        L = rg.edges[e]["length_m"]
        if k == 0:
            L = L - so.offset_m if d == 1 else so.offset_m
        elif k == len(r.edges) - 1:
            L = sd.offset_m if d == 1 else L - sd.offset_m
        total += L
    return total


def route_minutes(rg: RouterGraph, origin, destination) -> float:
    """Shortest car time in minutes (nan when unreachable); snap distances are not charged."""
    return route(rg, origin, destination).minutes
