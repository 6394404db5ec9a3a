"""OpenStreetMap extracts (``.osm.pbf`` or ``.osm`` XML) into Twin Star layers, an import report and a project.

Reader
------
pyosmium (``osmium``, BSD-2) in two passes: the relations first (turn
restrictions, train routes, stop areas), then nodes, ways and the areas that
libosmium assembles from closed ways and multipolygon relations.  A way is read
from its node list: the coordinates of two ways that share an OSM node are
exactly equal, which is the topology :mod:`twinstar_gis.model.network` uses
(``node_crossings`` stays off for OSM data).  **One corridor is one OSM way**:
ways are never split or merged, so the ``from``/``to`` ways of a turn restriction
are corridors and its ``via`` node is a vertex of both.

Real extracts are cut at a boundary: ways reference nodes that are not in the
file and closed ways lose part of their ring.  Nothing of that is guessed:

* a road, railway or river with missing nodes keeps the runs of consecutive
  nodes that are present (a ``MultiLineString`` when there are several): no
  segment is drawn across a gap.  Nothing left -> dropped;
* an area (closed way or multipolygon) with missing nodes or an invalid ring is
  dropped (libosmium does not assemble it);
* every such feature is a row of the import report (:data:`REPORT_COLUMNS`,
  reasons in :data:`REASONS`), never a traceback.

What becomes what
-----------------
``corridors`` (one row per way, ``corridor_id`` = ``osm_w<way id>``)
    ``highway=*`` through :attr:`OsmSettings.highway_classes` (``trunk``/``primary``
    become ``national_highway`` with a ``ref`` starting with G and ``provincial_highway``
    with S; every ``*_link`` is a ``ramp``); ``railway=rail`` (``highspeed=yes`` ->
    ``high_speed_rail``; service tracks ``yard``, ``siding``, ``spur``, ``crossover``
    are left out).  Router semantics, normalised (the contract with the network):

    * ``oneway``: ``"yes"`` (along the drawing direction), ``"-1"`` (against it;
      ``oneway=-1`` or ``reverse``) or ``"no"``.  Without a ``oneway`` tag,
      ``highway=motorway`` and ``junction=roundabout|circular`` are ``"yes"``
      (OSM's implied oneway); ``motorway_link`` is not implied.  ``reversible`` and
      ``alternating`` ways (direction by time of day) are left out and reported.
      Unknown values -> ``"no"``.
    * ``access`` (roads; rail is always ``"yes"``): the most specific of
      ``motorcar`` > ``motor_vehicle`` > ``vehicle`` > ``access`` that is present
      decides: ``no``, ``private``, ``agricultural``, ``forestry``, ``emergency``,
      ``military``, ``permit``, ``psv``, ``bus`` -> ``"no"`` (closed to cars);
      ``destination``, ``delivery``, ``customers`` -> ``"destination"`` (a trip may
      start or end on it, never pass through); anything else -> ``"yes"``.
      ``*:conditional`` and ``*:forward|backward`` are not read.
    * ``junction`` (the tag, ``""`` when absent), ``ref``, ``name``, ``name:zh``,
      ``bridge``, ``tunnel``, ``layer``, ``usage``, ``service``; ``maxspeed`` in km/h
      (``"50"``, ``"50 km/h"``, ``"30 mph"``; other values such as ``CN:urban`` are
      dropped and reported).
    * ``stations`` (rail only): ``;``-joined ``node_id`` values of the stations the
      way serves, in order along the way (see *Stations*).

``turn_restrictions`` (Point = the via node's exact coordinates)
    ``type=restriction`` relations with a ``no_*`` or ``only_*`` value of
    ``restriction:motorcar`` or else ``restriction``.  Left out (and reported):
    ``except`` naming ``motorcar``, ``motor_vehicle`` or ``vehicle``; relations that
    only have ``restriction:<other mode>`` (``hgv``, ``bus``...) or only
    ``restriction:conditional``; members that are not imported car corridors or are
    closed to cars (``access = "no"``); a
    via node that is not a vertex of both the from and the to way; via ways that do
    not join from -> via -> to.  One row per (from, to) pair: ``restriction_id``
    ``osm_r<id>`` (``osm_r<id>-<k>`` when a ``no_entry``/``no_exit`` relation has
    several from or to ways), ``restriction``, ``from_corridor_id``,
    ``to_corridor_id``, ``via_corridor_ids`` (``""`` for a via node, else the via
    ways ``;``-joined in order; the point is then the node where the from way meets
    the first via way).  ``from == to`` means the U-turn at the via point.

``nodes``
    *Stations* from their own tags: ``railway=station|halt`` or
    ``public_transport=station`` with a ``railway``/``train`` tag (nodes and areas,
    an area at its centroid), but not subway, light-rail, tram, monorail or funicular
    stations (``station=subway|light_rail|...`` or ``subway|light_rail|tram=yes``
    without ``train=yes``; reported).  A rail way serves the stations that are its
    vertices, the station areas it runs through, and the stops of every
    ``route=train`` relation it belongs to (a stop is a station member, or a
    ``stop`` member that a ``public_transport=stop_area`` relation ties to a
    station) that lie on it -- the stop node is a vertex of the way -- or, when no
    way of that route has it as a vertex, the route's own way nearest to it.  A
    station is ``hsr_station`` when it is a stop of a high-speed route
    (``service=high_speed`` or ``highspeed=yes`` on the route) or a
    ``high_speed_rail`` way serves it; otherwise ``rail_station``.  Never by
    distance to a line.  Also ``aeroway=aerodrome`` -> ``airport`` (points or areas
    -> centroid) and ``highway=motorway_junction`` -> ``interchange``.

``eco_zones``, ``parks``, ``rivers``
    ``boundary=protected_area`` and ``leisure=nature_reserve`` areas;
    ``landuse=industrial`` areas with a name (*candidate* parks); ``waterway=river``.

Features are kept whole where they intersect the study area (the embedded
prefectures, or a boundary file): clipping roads at the boundary would make
artificial dead ends.  A turn restriction is kept when its member corridors are.

Coverage
--------
The import measures how much of the study area the extract covers
(:func:`coverage`): the share of the study area within :data:`COVERAGE_KM` of an
imported road, road km per class and per 100 km2, and the places of the project
(the embedded city cores and county seats, or a ``places`` file) farther than
``speeds.max_link_km`` from every road the network can link them to; a city core
among them is logged as a warning.

:func:`import_osm` writes ``osm.gpkg``, ``project.toml`` (``base = "embedded"`` for
what OSM lacks: boundaries, places, DEM), ``import_report.csv`` and
``import_summary.json``; it never overwrites one of its inputs.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ..data.crs import GEOD, geodesic_area_km2, geodesic_length_km
from ..data.io import atomic_output, read_layer, write_csv, write_gpkg
from ..errors import DataSourceError
from ..settings import DEFAULT, RAIL_CLASSES, Settings
from .network import parse_speed

__all__ = [
    "COVERAGE_KM",
    "OSM_SOURCE",
    "REASONS",
    "REPORT_COLUMNS",
    "OsmExtract",
    "car_restriction",
    "coverage",
    "import_osm",
    "import_outputs",
    "is_train_station",
    "load_osm",
    "normalise_access",
    "normalise_oneway",
    "read_osm",
]

log = logging.getLogger(__name__)

OSM_SOURCE = "OpenStreetMap contributors (ODbL 1.0)"
#: Distance (km) from an imported road within which the study area counts as covered.
COVERAGE_KM = 5.0
#: Columns of ``import_report.csv``: one row per feature dropped, trimmed or left out, per value
#: dropped, per restriction not applied and per place not covered.
REPORT_COLUMNS = ("feature_id", "layer", "reason", "action", "detail")
#: Every reason of the import report and what it means.
REASONS = {
    "way_missing_nodes": "the way references nodes that are not in the extract (cut at its edge): the runs of "
                         "present nodes are kept (trimmed), or nothing is left (dropped)",
    "empty_geometry": "fewer than two distinct node positions",
    "area_cut_at_edge": "a closed way of an area with nodes missing from the extract: its ring is unknown",
    "invalid_polygon": "the area could not be assembled into a valid polygon (ring not closed, self-intersecting, "
                       "multipolygon members missing)",
    "oneway_reversible": "oneway=reversible|alternating: the direction changes by time of day",
    "maxspeed_not_numeric": "maxspeed is not a number of km/h or mph (e.g. CN:urban): the class speed applies",
    "station_not_train": "a subway, light-rail, tram, monorail or funicular station: not a train station",
    "station_without_line": "a train station no imported rail way serves (not a vertex of one, no route relation "
                            "stops there): nobody boards there",
    "stop_without_station": "a stop of a train route that no stop_area relation ties to a station",
    "restriction_not_for_cars": "a turn restriction that does not apply to cars (except=motorcar|motor_vehicle|"
                                "vehicle, or only restriction:<other mode>)",
    "restriction_conditional": "only restriction:conditional (time-dependent): not applied",
    "restriction_unknown_value": "a restriction value that is neither no_* nor only_*",
    "restriction_bad_members": "from, to or via members missing or of the wrong type",
    "restriction_member_not_imported": "a from, via or to way is not an imported car corridor (another kind of "
                                       "way, left out, dropped, outside the study area, or not in the extract)",
    "restriction_member_closed": "a from, via or to way is closed to cars (access no): the restriction cannot apply "
                                 "as mapped (routers such as OSRM drop it too)",
    "restriction_via_not_shared": "the via node is not a vertex of both the from and the to way (or the via ways "
                                  "do not join from -> via -> to)",
    "place_not_covered": "a place of the project farther than speeds.max_link_km from every road the network "
                         "can link it to",
}
_SERVICE_TRACKS = frozenset({"yard", "siding", "spur", "crossover"})
_ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")  # most specific first
_ACCESS_NO = frozenset({"no", "private", "agricultural", "forestry", "emergency", "military", "permit", "psv", "bus"})
_ACCESS_DESTINATION = frozenset({"destination", "delivery", "customers"})
_ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
_ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
_ONEWAY_LEFT_OUT = frozenset({"reversible", "alternating"})
_EXEMPT = frozenset({"motorcar", "motor_vehicle", "vehicle"})
_NOT_TRAIN = frozenset({"subway", "light_rail", "tram", "monorail", "funicular", "miniature"})
_WAY_TAGS = ("highway", "railway", "waterway", "name", "name:zh", "ref", "oneway", "junction", "maxspeed", "bridge",
             "tunnel", "layer", "usage", "service", "highspeed", "area") + _ACCESS_KEYS
_AREA_LAYER = {"eco": "eco_zones", "park": "parks", "airport": "nodes", "station": "nodes"}
_AREA_KEYS = ("boundary", "leisure", "landuse", "aeroway", "railway", "public_transport")


# --------------------------------------------------------------------------
# Tag rules (pure functions; the tests and the reference router check them)
# --------------------------------------------------------------------------

def normalise_oneway(tags) -> str | None:
    """The direction of a road way: ``"yes"``, ``"-1"`` or ``"no"``; ``None`` = left out (reversible).

    Parameters
    ----------
    tags : mapping
        The way's OSM tags.

    Returns
    -------
    str or None

    Examples
    --------
    >>> normalise_oneway({"highway": "residential", "oneway": "reverse"})
    '-1'
    >>> normalise_oneway({"highway": "motorway"}), normalise_oneway({"highway": "motorway", "oneway": "no"})
    ('yes', 'no')
    >>> normalise_oneway({"highway": "primary", "junction": "roundabout"})
    'yes'
    >>> normalise_oneway({"highway": "motorway_link"}), normalise_oneway({"highway": "primary", "oneway": "reversible"})
    ('no', None)
    """
    value = tags.get("oneway")
    if value is None:
        implied = tags.get("highway") == "motorway" or tags.get("junction") in ("roundabout", "circular")
        return "yes" if implied else "no"
    value = str(value).strip().lower()
    if value in _ONEWAY_LEFT_OUT:
        return None
    if value in _ONEWAY_FORWARD:
        return "yes"
    return "-1" if value in _ONEWAY_BACKWARD else "no"


def normalise_access(tags) -> str:
    """Car access of a road way: ``"yes"``, ``"destination"`` or ``"no"``.

    The most specific of ``motorcar`` > ``motor_vehicle`` > ``vehicle`` > ``access`` present decides.

    Parameters
    ----------
    tags : mapping
        The way's OSM tags.

    Returns
    -------
    str

    Examples
    --------
    >>> normalise_access({"access": "no", "motor_vehicle": "yes"})
    'yes'
    >>> normalise_access({"motor_vehicle": "destination"}), normalise_access({"access": "private"})
    ('destination', 'no')
    >>> normalise_access({"vehicle": "delivery", "motorcar": "no"}), normalise_access({})
    ('no', 'yes')
    """
    value = next((tags[k] for k in _ACCESS_KEYS if tags.get(k) is not None), "yes")
    value = str(value).strip().lower()
    if value in _ACCESS_NO:
        return "no"
    return "destination" if value in _ACCESS_DESTINATION else "yes"


def car_restriction(tags) -> tuple[str | None, str | None]:
    """The turn restriction a relation imposes on cars, or why it imposes none.

    Parameters
    ----------
    tags : mapping
        The relation's tags (``type=restriction``).

    Returns
    -------
    (value, reason) : tuple
        ``value`` (e.g. ``"no_left_turn"``) and ``None``, or ``None`` and a reason of :data:`REASONS`.

    Examples
    --------
    >>> car_restriction({"type": "restriction", "restriction": "no_left_turn", "except": "bicycle;psv"})
    ('no_left_turn', None)
    >>> car_restriction({"type": "restriction", "restriction": "only_straight_on", "except": "motorcar"})
    (None, 'restriction_not_for_cars')
    >>> car_restriction({"type": "restriction", "restriction:hgv": "no_right_turn"})
    (None, 'restriction_not_for_cars')
    >>> car_restriction({"type": "restriction", "restriction": "no_entry", "restriction:motorcar": "only_left_turn"})
    ('only_left_turn', None)
    >>> car_restriction({"type": "restriction", "restriction": "give_way"})
    (None, 'restriction_unknown_value')
    """
    if tags.get("type") not in ("restriction", "restriction:motorcar"):
        return None, "restriction_not_for_cars"
    value = tags.get("restriction:motorcar")
    if value is None:
        value = tags.get("restriction")
        exempt = {s.strip() for s in str(tags.get("except", "")).split(";")}
        if value is not None and exempt & _EXEMPT:
            return None, "restriction_not_for_cars"
    if value is None:
        modes = [k for k in tags if k.startswith("restriction:") and k != "restriction:conditional"]
        return None, "restriction_not_for_cars" if modes else "restriction_conditional" \
            if "restriction:conditional" in tags else "restriction_unknown_value"
    value = str(value).strip()
    if not value.startswith(("no_", "only_")):
        return None, "restriction_unknown_value"
    return value, None


def is_train_station(tags) -> bool | None:
    """Whether a feature is a train station: ``True``, ``False`` (another kind of station), ``None`` (no station).

    Parameters
    ----------
    tags : mapping
        The node's or area's OSM tags.

    Returns
    -------
    bool or None

    Examples
    --------
    >>> is_train_station({"railway": "station", "name": "赤峰站"})
    True
    >>> is_train_station({"railway": "station", "station": "subway"}), is_train_station({"railway": "halt", "tram": "yes"})
    (False, False)
    >>> is_train_station({"public_transport": "station", "train": "yes", "subway": "yes"})
    True
    >>> is_train_station({"public_transport": "station", "bus": "yes"}) is None
    True
    """
    rw, pt = tags.get("railway"), tags.get("public_transport")
    if not (rw in ("station", "halt") or (pt == "station" and (rw is not None or tags.get("train") == "yes"))):
        return None
    if tags.get("train") == "yes":
        return True
    return not (tags.get("station") in _NOT_TRAIN or any(tags.get(k) == "yes" for k in _NOT_TRAIN))


# --------------------------------------------------------------------------
# Reading: pass 1 (relations), pass 2 (nodes, ways, areas)
# --------------------------------------------------------------------------

@dataclass
class _Raw:
    """Everything read from the extract, before the layers are built."""

    restrictions: list = field(default_factory=list)  # (relation id, tags, members)
    routes: list = field(default_factory=list)  # (relation id, tags, members) of route=train
    stop_areas: list = field(default_factory=list)  # member lists of public_transport=stop_area
    area_relations: dict = field(default_factory=dict)  # relation id -> area kind (multipolygons we read)
    wanted: set = field(default_factory=set)  # way ids whose node lists are kept
    ways: list = field(default_factory=list)  # (way id, tags with "_target": the layer) of line ways
    geoms: list = field(default_factory=list)  # hex WKB or shapely geometry, one per row of ways
    nodes_of: dict = field(default_factory=dict)  # way id -> (node ids, lon, lat); lon NaN where missing
    points: list = field(default_factory=list)  # dict rows of tagged nodes
    areas: list = field(default_factory=list)  # dict rows of areas (with hex WKB)
    area_ways: dict = field(default_factory=dict)  # closed way id -> (area kind, cut at the edge)
    area_built: set = field(default_factory=set)  # ("w"|"r", id) of areas assembled
    report: list = field(default_factory=list)
    left_out: Counter = field(default_factory=Counter)

    def add(self, feature_id, layer, reason, action, detail=""):
        self.report.append((feature_id, layer, reason, action, detail))


def _tags(obj) -> dict:
    """The tags of an OSM object as a dict.

    pyosmium's public ``obj.tags`` iterates through two Python wrappers per tag (9 s on the 380,000
    ways of the 1M-edge benchmark); the C++ object behind it answers the same calls directly (2 s).
    The public API is the fallback should that object change.
    """
    d = getattr(obj, "_pyosmium_data", None)
    if d is None or not hasattr(d, "tags_next"):
        return {t.k: t.v for t in obj.tags}
    it, nxt, out = d.tags_begin(), d.tags_next, {}
    for _ in range(d.tags_size()):
        k, v = nxt(it)
        out[k] = v
    return out


def _members(rel):
    return [(m.type, m.ref, m.role) for m in rel.members]


def _area_kind(tags) -> str | None:
    if tags.get("boundary") == "protected_area" or tags.get("leisure") == "nature_reserve":
        return "eco"
    if tags.get("landuse") == "industrial":
        return "park"
    if tags.get("aeroway") == "aerodrome":
        return "airport"
    return "station" if is_train_station(tags) is not None else None


def _read_relations(osmium, path: Path, raw: _Raw) -> None:
    for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION):
        tags = _tags(rel)
        typ = tags.get("type", "")
        if typ.startswith("restriction"):
            raw.restrictions.append((rel.id, tags, _members(rel)))
        elif typ == "route" and tags.get("route") == "train":
            raw.routes.append((rel.id, tags, _members(rel)))
        elif typ == "public_transport" and tags.get("public_transport") == "stop_area":
            raw.stop_areas.append(_members(rel))
        elif typ in ("multipolygon", "boundary") and _area_kind(tags):
            raw.area_relations[rel.id] = _area_kind(tags)
    for _, _, members in raw.restrictions:
        raw.wanted.update(ref for t, ref, _ in members if t == "w")


def _pieces(way) -> tuple[list, int, int]:
    """Runs of consecutive nodes present in the extract (>= 2 distinct positions each)."""
    pieces, run, missing, n = [], [], 0, 0
    for nd in way.nodes:
        n += 1
        loc = nd.location
        if not loc.valid():
            missing += 1
            pieces.append(run)
            run = []
            continue
        xy = (loc.lon, loc.lat)
        if not run or run[-1] != xy:
            run.append(xy)
    pieces.append(run)
    return [p for p in pieces if len(p) >= 2], missing, n


def _fast_line(fab, way):
    """WKB (bytes) of the way when every node has a position and no two consecutive share one, else None.

    libosmium skips missing nodes at the start of a way silently (and raises on others), so the
    point count of the WKB (bytes 5-8) is checked against the node count.
    """
    try:
        wkb = bytes.fromhex(fab.create_linestring(way))
    except Exception:  # noqa: BLE001 - osmium raises InvalidLocationError (missing nodes) or RuntimeError (< 2 points)
        return None
    return wkb if int.from_bytes(wkb[5:9], "little") == len(way.nodes) else None


def _line_geometry(fab, way, raw: _Raw, fid: str, layer: str):
    """WKB (fast path), a shapely geometry of the present pieces, or None (dropped, reported)."""
    wkb = _fast_line(fab, way)
    if wkb is not None:
        return wkb
    pieces, missing, n = _pieces(way)
    if missing:
        action = "trimmed" if pieces else "dropped"
        raw.add(fid, layer, "way_missing_nodes", action, f"{missing} of {n} nodes not in the extract; "
                f"{len(pieces)} piece(s) kept")
    elif not pieces:
        raw.add(fid, layer, "empty_geometry", "dropped", f"{n} node(s)")
    if not pieces:
        return None
    lines = [shapely.linestrings(p) for p in pieces]
    return lines[0] if len(lines) == 1 else shapely.multilinestrings(lines)


def _keep_nodes(way, raw: _Raw) -> None:
    ids, lon, lat = [], [], []
    for nd in way.nodes:
        ids.append(nd.ref)
        ok = nd.location.valid()
        lon.append(nd.location.lon if ok else np.nan)
        lat.append(nd.location.lat if ok else np.nan)
    raw.nodes_of[way.id] = (np.asarray(ids, np.int64), np.asarray(lon), np.asarray(lat))


def _way_layer(tags, classes) -> str | None:
    hw = tags.get("highway")
    if hw is not None:
        if hw in classes and tags.get("area") != "yes":
            return "corridors"
        return None
    rw = tags.get("railway")
    if rw == "rail" and tags.get("service") not in _SERVICE_TRACKS:
        return "corridors"
    return "rivers" if tags.get("waterway") == "river" else None


def _left_out(tags, raw: _Raw, fab, way) -> None:
    """Count a way of another kind; remember a closed way of an area kind (to report it if no area comes)."""
    kind = _area_kind(tags)
    for k in ("highway", "railway", "waterway") if kind is None else ():
        if k in tags:
            service = f" service={tags['service']}" if k == "railway" and "service" in tags else ""
            area = " area=yes" if k == "highway" and tags.get("area") == "yes" else ""
            raw.left_out[f"{k}={tags[k]}{service}{area}"] += 1
            break
    if kind and way.is_closed():
        cut = _fast_line(fab, way) is None and any(not nd.location.valid() for nd in way.nodes)
        raw.area_ways[way.id] = (kind, cut)


def _read_way(fab, way, raw: _Raw, classes) -> None:
    tags = _tags(way)
    layer = _way_layer(tags, classes)
    if layer is None:
        _left_out(tags, raw, fab, way)
        return
    wid = way.id
    if tags.get("oneway") is not None and "highway" in tags and normalise_oneway(tags) is None:
        raw.add(f"osm_w{wid}", layer, "oneway_reversible", "left_out", f"oneway={tags['oneway']}")
        return
    geom = _line_geometry(fab, way, raw, f"osm_w{wid}", layer)
    if geom is None:
        return
    if wid in raw.wanted or tags.get("railway") == "rail":
        _keep_nodes(way, raw)
    tags["_target"] = layer
    raw.ways.append((wid, tags))
    raw.geoms.append(geom)


def _read_point(node, raw: _Raw) -> None:
    tags = _tags(node)
    train = is_train_station(tags)
    kind = None
    if train is False:
        why = ", ".join(f"{k}={tags[k]}" for k in ("station", *_NOT_TRAIN) if k in tags)
        raw.add(f"osm_n{node.id}", "nodes", "station_not_train", "left_out", f"{tags.get('name', '')} ({why})")
    elif train:
        kind = "station"
    elif tags.get("aeroway") == "aerodrome":
        kind = "airport"
    elif tags.get("highway") == "motorway_junction":
        kind = "interchange"
    if kind:
        raw.points.append({"node_id": f"osm_n{node.id}", "osm": ("n", node.id), "kind": kind, "tags": tags,
                           "lon": node.location.lon, "lat": node.location.lat})


def _read_area(fab, area, raw: _Raw) -> None:
    tags = _tags(area)
    kind = _area_kind(tags)
    osm = ("w" if area.from_way() else "r", area.orig_id())
    if kind is None:
        return
    try:
        wkb = fab.create_multipolygon(area)
    except Exception:  # noqa: BLE001 - an assembled area without a valid ring
        return
    raw.area_built.add(osm)
    if kind == "station" and not is_train_station(tags):
        raw.add(f"osm_a{osm[0]}{osm[1]}", "nodes", "station_not_train", "left_out", tags.get("name", ""))
        return
    raw.areas.append({"id": f"{osm[0]}{osm[1]}", "osm": osm, "kind": kind, "tags": tags, "wkb": wkb})


def _scan(path: Path, settings: Settings) -> _Raw:
    """Both passes over the extract."""
    import osmium  # a core dependency; imported here so that importing the package stays light

    raw = _Raw()
    classes = dict(settings.osm.highway_classes)
    try:
        _read_relations(osmium, path, raw)
        fab = osmium.geom.WKBFactory()
        flt = osmium.filter
        fp = (osmium.FileProcessor(str(path)).with_areas(flt.KeyFilter(*_AREA_KEYS))
              .with_filter(flt.EntityFilter(osmium.osm.NODE | osmium.osm.WAY | osmium.osm.AREA))
              .with_filter(flt.KeyFilter("railway", "public_transport", "aeroway", "highway").enable_for(osmium.osm.NODE))
              .with_filter(flt.KeyFilter("highway", "railway", "waterway", *_AREA_KEYS).enable_for(osmium.osm.WAY))
              .with_filter(flt.KeyFilter(*_AREA_KEYS).enable_for(osmium.osm.AREA)))
        for obj in fp:
            if obj.is_way():
                _read_way(fab, obj, raw, classes)
            elif obj.is_node():
                _read_point(obj, raw)
            elif obj.is_area():
                _read_area(fab, obj, raw)
    except RuntimeError as exc:  # libosmium: unreadable or truncated file
        raise DataSourceError(f"{path}: cannot read it as an OpenStreetMap extract: {exc}") from None
    for wid, (kind, cut) in raw.area_ways.items():  # ids as in the layer: osm_w.. (areas), osm_aw.. (nodes)
        if ("w", wid) not in raw.area_built:
            layer = _AREA_LAYER[kind]
            raw.add(f"osm_{'a' if layer == 'nodes' else ''}w{wid}", layer,
                    "area_cut_at_edge" if cut else "invalid_polygon", "dropped", "closed way")
    for rid, kind in raw.area_relations.items():
        if ("r", rid) not in raw.area_built:
            layer = _AREA_LAYER[kind]
            raw.add(f"osm_{'a' if layer == 'nodes' else ''}r{rid}", layer, "invalid_polygon", "dropped",
                    "multipolygon relation")
    return raw


# --------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------

def _prov(status=True):
    out = {"source": OSM_SOURCE, "accuracy_m": 10.0, "geometry_quality": "surveyed"}
    return {**out, "status": "operating"} if status else out


def _geometries(items) -> np.ndarray:
    """WKB (bytes) and shapely geometries, as one geometry array."""
    out = np.empty(len(items), dtype=object)
    wkb = np.array([isinstance(g, bytes) for g in items], bool)
    if wkb.any():
        out[wkb] = shapely.from_wkb(np.array([g for g in items if isinstance(g, bytes)], dtype=object))
    out[~wkb] = [g for g in items if not isinstance(g, bytes)]
    return out


def _classes(ways: pd.DataFrame, settings: Settings) -> pd.Series:
    hw = ways["highway"]
    cls = hw.map(dict(settings.osm.highway_classes))
    ref = ways["ref"].fillna("").astype(str).str.strip().str.upper()
    main = hw.isin(["trunk", "primary"])
    cls = cls.mask(main & ref.str.startswith("G"), "national_highway").mask(main & ref.str.startswith("S"),
                                                                           "provincial_highway")
    rail = hw.isna() & (ways["railway"] == "rail")
    return cls.mask(rail, np.where(ways["highspeed"].fillna("") == "yes", "high_speed_rail", "railway"))


def _way_table(ways) -> pd.DataFrame:
    """``osm_id``, ``_target`` and the tags of :data:`_WAY_TAGS` (None where absent), one row per way."""
    cols = {"osm_id": np.array([w for w, _ in ways], dtype=np.int64)}
    for k in ("_target", *_WAY_TAGS):
        cols[k] = pd.Series([t.get(k) for _, t in ways], dtype=object)
    return pd.DataFrame(cols)


def _per_combination(tags: pd.DataFrame, rule) -> np.ndarray:
    """``rule`` (a function of a tag mapping) applied once per distinct combination of the columns' values."""
    if len(tags) == 0:
        return np.array([], dtype=object)
    absent = "\uffff"  # a Unicode non-character, never a tag value: no null keys to merge on (pandas 2 and 3)
    keys = tags.astype(object).where(tags.notna(), absent)
    combos = keys.drop_duplicates()
    result = [rule({k: v for k, v in row.items() if v != absent}) for row in combos.to_dict("records")]
    lookup = combos.assign(_value=result)
    return keys.merge(lookup, on=list(tags.columns), how="left")["_value"].to_numpy(dtype=object)


def _corridors(raw: _Raw, settings: Settings) -> gpd.GeoDataFrame:
    ways = _way_table(raw.ways)
    ways["geometry"] = _geometries(raw.geoms) if len(raw.geoms) else np.array([], dtype=object)
    ways = ways[ways["_target"] == "corridors"].reset_index(drop=True)
    cls = _classes(ways, settings)
    rail = cls.isin(RAIL_CLASSES).to_numpy()
    road_tags = ways[["highway", "junction", "oneway"]].copy()
    road_tags.loc[rail, ["highway", "junction"]] = None  # rail: only its own oneway tag counts
    oneway = _per_combination(road_tags, normalise_oneway)
    access = np.where(rail, "yes", _per_combination(ways[list(_ACCESS_KEYS)], normalise_access))
    speed, bad = parse_speed(ways["maxspeed"].to_numpy(dtype=object))
    for wid, value in zip(ways["osm_id"][bad], ways["maxspeed"][bad]):
        raw.add(f"osm_w{wid}", "corridors", "maxspeed_not_numeric", "value_dropped", f"maxspeed={value}")
    name = ways["name"]
    out = gpd.GeoDataFrame({
        "corridor_id": "osm_w" + ways["osm_id"].astype(str),
        "name_zh": ways["name:zh"].fillna(name).fillna(""), "name": name, "class": cls,
        "ref": ways["ref"], "oneway": oneway, "access": access, "junction": ways["junction"].fillna(""),
        **{k: ways[k] for k in ("bridge", "tunnel", "layer", "usage", "service")},
        "maxspeed": np.where(np.isfinite(speed), speed, np.nan), "stations": np.where(rail, "", None),
        **_prov()}, geometry=ways["geometry"].to_numpy(), crs=4326)
    return out


def _rivers(raw: _Raw) -> gpd.GeoDataFrame:
    keep = [i for i, (_, t) in enumerate(raw.ways) if t["_target"] == "rivers"]
    rows = [raw.ways[i] for i in keep]
    return gpd.GeoDataFrame({"river_id": [f"osm_w{w}" for w, _ in rows],
                             "name_zh": [t.get("name:zh") or t.get("name") or "" for _, t in rows], **_prov(False)},
                            geometry=_geometries([raw.geoms[i] for i in keep]), crs=4326)


def _area_frame(raw: _Raw, kind: str) -> gpd.GeoDataFrame:
    rows = [a for a in raw.areas if a["kind"] == kind]
    geom = shapely.from_wkb(np.array([a["wkb"] for a in rows], dtype=object)) if rows else np.array([], dtype=object)
    tags = [a["tags"] for a in rows]
    return gpd.GeoDataFrame({"id": pd.Series([a["id"] for a in rows], dtype=object),
                             "osm": pd.Series([a["osm"] for a in rows], dtype=object),
                             "name_zh": pd.Series([t.get("name:zh") or t.get("name") or "" for t in tags], dtype=object),
                             "tags": pd.Series(tags, dtype=object)}, geometry=geom, crs=4326)


def _eco_parks(raw: _Raw):
    eco = _area_frame(raw, "eco")
    eco = gpd.GeoDataFrame({"zone_id": "osm_" + eco["id"], "name_zh": eco["name_zh"], "kind": "nature_reserve",
                            "protection_level": [t.get("protect_class") for t in eco["tags"]], **_prov(False)},
                           geometry=eco.geometry.values, crs=4326)
    ind = _area_frame(raw, "park")
    ind = ind[ind["name_zh"] != ""]
    parks = gpd.GeoDataFrame({"park_id": "osm_" + ind["id"], "name_zh": ind["name_zh"],
                              "level": "candidate (OSM landuse=industrial)", **_prov(False)},
                             geometry=ind.geometry.values, crs=4326)
    return eco.reset_index(drop=True), parks.reset_index(drop=True)


def _points_and_areas(raw: _Raw, kind: str) -> gpd.GeoDataFrame:
    """Nodes and areas of one kind (station / airport / interchange) as points, with their OSM identity."""
    pts = [p for p in raw.points if p["kind"] == kind]
    frames = [gpd.GeoDataFrame({"node_id": [p["node_id"] for p in pts], "osm": [p["osm"] for p in pts],
                                "name_zh": [p["tags"].get("name:zh") or p["tags"].get("name") or "" for p in pts],
                                "area": None},
                               geometry=shapely.points([p["lon"] for p in pts], [p["lat"] for p in pts]) if pts
                               else np.array([], dtype=object), crs=4326)]
    if kind != "interchange":
        ar = _area_frame(raw, kind)
        frames.append(gpd.GeoDataFrame({"node_id": "osm_a" + ar["id"], "osm": ar["osm"], "name_zh": ar["name_zh"],
                                        "area": ar.geometry.values},
                                       geometry=shapely.centroid(np.asarray(ar.geometry.values)), crs=4326)
                      if len(ar) else None)
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return gpd.GeoDataFrame({"node_id": [], "osm": [], "name_zh": [], "area": []}, geometry=[], crs=4326)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)


# --------------------------------------------------------------------------
# Stations and the rail ways that serve them
# --------------------------------------------------------------------------

def _local(geoms, tr: Transformer) -> np.ndarray:
    """Geometries in the local equal-area projection of the study area (metres)."""
    return shapely.transform(np.asarray(geoms, dtype=object), lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _is_stop(role: str) -> bool:
    return role.split(":")[-1].startswith("stop") or role.endswith("_stop")


def _stop_area_stations(raw: _Raw, key: dict) -> dict:
    """Node id of a stop position -> the stations a stop_area relation ties it to."""
    out = defaultdict(set)
    for members in raw.stop_areas:
        stations = {key[(t, ref)] for t, ref, _ in members if (t, ref) in key}
        for t, ref, _ in members:
            if t == "n" and (t, ref) not in key:
                out[ref] |= stations
    return out


def _route_stops(rid, members, key, stop_area, on_ways, unresolved) -> dict:
    """Station id -> OSM node ids standing for it in one route (the station node, its stop positions).

    A stop no stop_area ties to a station is reported when it lies on an imported way of the route
    (``on_ways``: their node ids; ``unresolved`` collects them); stops elsewhere on the route are
    outside the extract or the study area.
    """
    stops = defaultdict(set)
    for t, ref, role in members:
        if (t, ref) in key:
            stops[key[(t, ref)]].update([ref] if t == "n" else [])
        elif t == "n" and _is_stop(role):
            if stop_area.get(ref):
                for s in stop_area[ref]:
                    stops[s].add(ref)
            elif ref in on_ways:
                unresolved[ref].append(f"osm_r{rid}")
    return stops


def _serving(raw: _Raw, stations: gpd.GeoDataFrame, rail: gpd.GeoDataFrame, tr: Transformer):
    """(rail corridor id -> station ids it serves, station ids typed high-speed)."""
    key = dict(zip(stations["osm"], stations["node_id"]))
    serves, hsr = defaultdict(set), set()
    node_station = {osm[1]: sid for osm, sid in key.items() if osm[0] == "n"}
    way_nodes = {cid: raw.nodes_of[int(cid[5:])][0] for cid in rail["corridor_id"]}
    for cid, ids in way_nodes.items():  # 1. stations that are vertices of the way
        serves[cid].update(node_station[n] for n in ids if n in node_station)
    areas = stations[stations["area"].notna()]
    if len(areas) and len(rail):  # 2. station areas the way runs through
        a, b = shapely.STRtree(np.asarray(rail.geometry.values)).query(np.asarray(areas["area"].values), "intersects")
        for i, j in zip(a, b):
            serves[rail["corridor_id"].iloc[j]].add(areas["node_id"].iloc[i])
    geom = dict(zip(rail["corridor_id"], _local(rail.geometry.values, tr)))
    pos = dict(zip(stations["node_id"], _local(stations.geometry.values, tr)))
    stop_area, unresolved = _stop_area_stations(raw, key), defaultdict(list)
    for rid, tags, members in raw.routes:  # 3. stops of the train routes the way belongs to
        high = tags.get("service") == "high_speed" or tags.get("highspeed") == "yes"
        ways = [f"osm_w{ref}" for t, ref, _ in members if t == "w" and f"osm_w{ref}" in geom]
        on_ways = set(np.concatenate([way_nodes[c] for c in ways]).tolist()) if ways else set()
        for sid, nodes in _route_stops(rid, members, key, stop_area, on_ways, unresolved).items():
            hsr.update([sid] if high else [])
            on = [cid for cid in ways if nodes and np.isin(way_nodes[cid], list(nodes)).any()]
            if not on and ways:  # the route's own way nearest to the stop
                on = [ways[int(np.argmin(shapely.distance(pos[sid], np.array([geom[c] for c in ways]))))]]
            for cid in on:
                serves[cid].add(sid)
    for ref, routes in unresolved.items():
        raw.add(f"osm_n{ref}", "nodes", "stop_without_station", "warning", "stop of " + ", ".join(routes))
    hs_ways = set(rail["corridor_id"][rail["class"] == "high_speed_rail"])
    for cid in hs_ways:
        hsr |= serves[cid]
    ordered = {cid: ";".join(sorted(s, key=lambda x: shapely.line_locate_point(geom[cid], pos[x])))
               for cid, s in serves.items() if s}
    return ordered, hsr


def _nodes(raw: _Raw, corridors: gpd.GeoDataFrame, area, tr: Transformer) -> gpd.GeoDataFrame:
    """Stations (typed), airports and interchanges; fills the corridors' ``stations`` column."""
    st = _clip(_points_and_areas(raw, "station"), area)
    rail = corridors[corridors["class"].isin(RAIL_CLASSES)]
    serves, hsr = _serving(raw, st, rail, tr) if len(st) else ({}, set())
    rail_rows = corridors["class"].isin(RAIL_CLASSES).to_numpy()
    corridors.loc[rail_rows, "stations"] = [serves.get(c, "") for c in corridors.loc[rail_rows, "corridor_id"]]
    served = {s for v in serves.values() for s in v.split(";")}
    for sid, name in zip(st["node_id"], st["name_zh"]):
        if sid not in served:
            raw.add(sid, "nodes", "station_without_line", "warning", name)
    st["kind"] = np.where(st["node_id"].isin(hsr), "hsr_station", "rail_station")
    frames = [st]
    for kind, label in (("airport", "airport"), ("interchange", "interchange")):
        g = _points_and_areas(raw, kind)
        g["kind"] = label
        frames.append(_clip(g, area))
    nodes = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else st
    nodes = gpd.GeoDataFrame(nodes[["node_id", "name_zh", "kind", "geometry"]], geometry="geometry", crs=4326)
    return nodes.assign(**_prov()).reset_index(drop=True)


# --------------------------------------------------------------------------
# Turn restrictions
# --------------------------------------------------------------------------

def _shared(nodes_of, a, b):
    """First node of way ``a`` (with a position) that is also a node of way ``b``, or None."""
    ids, lon, lat = nodes_of[a]
    hit = np.flatnonzero(np.isin(ids, nodes_of[b][0]) & np.isfinite(lon))
    return (int(ids[hit[0]]), float(lon[hit[0]]), float(lat[hit[0]])) if len(hit) else None


def _via_point(raw: _Raw, frm, to, via):
    """(lon, lat) of the via point, or None when the members do not meet there."""
    nodes_of = raw.nodes_of
    if via[0][0] == "n":
        n = via[0][1]
        for w in frm + to:
            ids, lon, _ = nodes_of[w]
            if not np.any((ids == n) & np.isfinite(lon)):
                return None
        ids, lon, lat = nodes_of[frm[0]]
        k = int(np.flatnonzero(ids == n)[0])
        return float(lon[k]), float(lat[k])
    chain = [v for _, v in via]
    links = [(f, chain[0]) for f in frm] + list(itertools.pairwise(chain)) + [(chain[-1], t) for t in to]
    if any(_shared(nodes_of, a, b) is None for a, b in links):
        return None
    _, lon, lat = _shared(nodes_of, frm[0], chain[0])
    return lon, lat


def _members_problem(raw, frm, to, via, road_ids):
    kinds = {t for t, _ in via}
    if not frm or not to or not via or not (kinds == {"w"} or (kinds == {"n"} and len(via) == 1)):
        return "restriction_bad_members", f"from {len(frm)} way(s), to {len(to)} way(s), via {len(via)} member(s)"
    ways = frm + to + [ref for t, ref in via if t == "w"]
    missing = [w for w in ways if f"osm_w{w}" not in road_ids or w not in raw.nodes_of]
    if missing:
        return "restriction_member_not_imported", ", ".join(f"osm_w{w}" for w in missing)
    closed = [w for w in ways if road_ids[f"osm_w{w}"] == "no"]
    if closed:
        return "restriction_member_closed", ", ".join(f"osm_w{w}" for w in closed)
    return None, ""


def _restrictions(raw: _Raw, corridors: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The ``turn_restrictions`` layer (see the module docstring); every relation not applied is reported."""
    roads = ~corridors["class"].isin(RAIL_CLASSES)
    road_ids = dict(zip(corridors["corridor_id"][roads], corridors["access"][roads]))
    rows = []
    for rid, tags, members in raw.restrictions:
        fid = f"osm_r{rid}"
        value, why = car_restriction(tags)
        detail = ", ".join(f"{k}={v}" for k, v in tags.items() if k.startswith(("restriction", "except")))
        frm = [ref for t, ref, role in members if role == "from" and t == "w"]
        to = [ref for t, ref, role in members if role == "to" and t == "w"]
        via = [(t, ref) for t, ref, role in members if role == "via"]
        if why is None:
            why, detail = _members_problem(raw, frm, to, via, road_ids)
        point = _via_point(raw, frm, to, via) if why is None else None
        if why is None and point is None:
            why, detail = "restriction_via_not_shared", "via " + ",".join(f"{t}{r}" for t, r in via)
        if why is not None:
            raw.add(fid, "turn_restrictions", why, "not_applied", detail)
            continue
        pairs = [(f, t) for f in frm for t in to]
        via_ids = ";".join(f"osm_w{r}" for t, r in via if t == "w")
        for k, (f, t) in enumerate(pairs):
            rows.append({"restriction_id": fid if len(pairs) == 1 else f"{fid}-{k + 1}", "restriction": value,
                         "from_corridor_id": f"osm_w{f}", "to_corridor_id": f"osm_w{t}", "via_corridor_ids": via_ids,
                         "lon": point[0], "lat": point[1]})
    df = pd.DataFrame(rows, columns=["restriction_id", "restriction", "from_corridor_id", "to_corridor_id",
                                     "via_corridor_ids", "lon", "lat"])
    return gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]).assign(source=OSM_SOURCE),
                            geometry=shapely.points(df["lon"].to_numpy(float), df["lat"].to_numpy(float)), crs=4326)


# --------------------------------------------------------------------------
# Study area, coverage
# --------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _embedded():
    """The embedded prefectures (as one polygon) and their city cores and county seats (built once)."""
    from ..data.dataset import build_boundaries, build_places

    b = build_boundaries()
    places = build_places(b)
    area = shapely.union_all(shapely.make_valid(np.asarray(b[b["level"] == "prefecture"].geometry.values)))
    return area, places[places["kind"].isin(["city_core", "county_seat"])].reset_index(drop=True)


def _study_area(boundaries):
    """The study-area polygon: the embedded prefectures, or a boundary file (all its polygons)."""
    if boundaries is None:
        return _embedded()[0]
    if isinstance(boundaries, gpd.GeoDataFrame):
        b = boundaries.to_crs(4326)
    else:
        b = read_layer(boundaries)
        if "level" in b.columns and (b["level"] == "prefecture").any():
            b = b[b["level"] == "prefecture"]
    area = shapely.union_all(shapely.make_valid(np.asarray(b.geometry.values)))
    if area.is_empty or area.area == 0:
        raise DataSourceError(f"{boundaries}: the study area has no polygon")
    return area


def _clip(gdf, area):
    """Features intersecting the study area, kept whole."""
    if len(gdf) == 0:
        return gdf.reset_index(drop=True)
    shapely.prepare(area)
    return gdf[shapely.intersects(area, np.asarray(gdf.geometry.values))].reset_index(drop=True)


def _local_crs(area) -> Transformer:
    c = area.centroid
    return Transformer.from_crs(4326, f"+proj=laea +lat_0={c.y:.6f} +lon_0={c.x:.6f} +datum=WGS84 +units=m +no_defs",
                                always_xy=True)


def _covered_share(roads, area, tr: Transformer) -> tuple[float, float]:
    """Share of the study area within COVERAGE_KM of a road, on a grid of <= 250,000 cells (and its cell size).

    Cell centres inside the study-area polygon count; a cell is covered when the centre of a cell
    holding a road lies within COVERAGE_KM (exact Euclidean distance transform), so the share is
    good to about one cell of buffer width.
    """
    from rasterio.features import rasterize
    from rasterio.transform import from_origin
    from scipy.ndimage import distance_transform_edt

    poly = _local([area], tr)[0]
    x0, y0, x1, y1 = poly.bounds
    cell = max(50.0, math.sqrt(poly.area / 250_000))
    margin = COVERAGE_KM * 1000
    w, h = math.ceil((x1 - x0 + 2 * margin) / cell), math.ceil((y1 - y0 + 2 * margin) / cell)
    transform = from_origin(x0 - margin, y1 + margin, cell, cell)
    inside = rasterize([poly], out_shape=(h, w), transform=transform, dtype="uint8").astype(bool)
    if not inside.any():
        return float("nan"), cell
    # Cells holding a road: its vertices, densified to half a cell (a degree of latitude is the longest degree).
    xy = shapely.get_coordinates(shapely.segmentize(np.asarray(roads, dtype=object), cell / 2 / 111_320)) \
        if len(roads) else np.empty((0, 2))
    x, y = tr.transform(xy[:, 0], xy[:, 1])
    col = np.floor((np.asarray(x) - (x0 - margin)) / cell).astype(np.int64)
    row = np.floor(((y1 + margin) - np.asarray(y)) / cell).astype(np.int64)
    ok = (row >= 0) & (row < h) & (col >= 0) & (col < w)
    on = np.zeros((h, w), bool)
    on[row[ok], col[ok]] = True
    near = distance_transform_edt(~on) * cell <= margin if on.any() else np.zeros((h, w), bool)
    return float((near & inside).sum() / inside.sum()), cell


def _place_distances(places, roads) -> np.ndarray:
    """Ellipsoidal km from each place to the nearest point of the nearest road (NaN without roads).

    The nearest road and point are found in an equirectangular frame scaled at the places' mean
    latitude (a linear map, so the point maps back exactly); the distance to that point is then
    measured on the ellipsoid.  Over a 500 km study area the frame's scale varies by a few per cent,
    which can only matter between two roads at almost the same distance.
    """
    out = np.full(len(places), np.nan)
    if len(places) == 0 or len(roads) == 0:
        return out
    px, py = places.geometry.x.to_numpy(), places.geometry.y.to_numpy()
    k = math.cos(math.radians(float(np.mean(py))))
    scale = np.array([k, 1.0])
    lines = shapely.transform(np.asarray(roads, dtype=object), lambda xy: xy * scale)
    pts = shapely.points(px * k, py)
    _, j = shapely.STRtree(lines).query_nearest(pts, all_matches=False)
    near = shapely.get_coordinates(shapely.shortest_line(pts, lines[j]))[1::2]
    return GEOD.inv(px, py, near[:, 0] / k, near[:, 1])[2] / 1000.0


def coverage(corridors: gpd.GeoDataFrame, area, *, places: gpd.GeoDataFrame | None = None,
             settings: Settings = DEFAULT) -> dict:
    """How much of the study area an import covers, and which places it leaves out.

    Parameters
    ----------
    corridors : GeoDataFrame
        The imported corridors (``class``, ``access``), WGS-84.
    area : shapely geometry
        The study-area polygon, WGS-84.
    places : GeoDataFrame, optional
        Places to check (``place_id``, ``name_zh``, ``kind``): each farther than
        ``settings.speeds.max_link_km`` from every road the network can link it to (not an
        expressway, not ``access = "no"``) is listed; ``kind == "city_core"`` ones again in
        ``cores_not_covered``.
    settings : Settings
        ``speeds.max_link_km``.

    Returns
    -------
    dict
        ``study_area_km2`` (ellipsoid), ``coverage_km``, ``share_covered`` (share of the study area
        within :data:`COVERAGE_KM` of a road with car access, measured on a grid of ``cell_m``
        cells in a Lambert azimuthal equal-area projection centred on the area), ``km_by_class``
        (ellipsoidal km of the imported ways, whole), ``km_per_100km2``, ``road_km_per_100km2``,
        ``places_checked``, ``places_not_covered`` (``place_id``, ``name_zh``, ``kind``,
        ``road_km``), ``cores_not_covered``.
    """
    tr = _local_crs(area)
    area_km2 = float(geodesic_area_km2([area])[0])
    km = pd.Series(geodesic_length_km(np.asarray(corridors.geometry.values)), index=corridors.index)
    by_class = km.groupby(corridors["class"]).sum().round(3)
    road = ~corridors["class"].isin(RAIL_CLASSES) & (corridors["access"] != "no")
    share, cell = _covered_share(np.asarray(corridors.geometry.values)[road.to_numpy()], area, tr)
    out = {"study_area_km2": round(area_km2, 1), "coverage_km": COVERAGE_KM, "cell_m": round(cell, 1),
           "share_covered": round(share, 4), "km_by_class": {k: float(v) for k, v in by_class.items()},
           "km_per_100km2": {k: round(float(v) / area_km2 * 100, 3) for k, v in by_class.items()},
           "road_km_per_100km2": round(float(km[road].sum()) / area_km2 * 100, 3),
           "places_checked": 0, "places_not_covered": [], "cores_not_covered": []}
    if places is None or len(places) == 0:
        return out
    linkable = road & (corridors["class"] != "expressway")
    d = _place_distances(places, np.asarray(corridors.geometry.values)[linkable.to_numpy()])
    far = ~(d <= settings.speeds.max_link_km)
    out["places_checked"] = len(places)
    out["places_not_covered"] = [
        {"place_id": str(p), "name_zh": str(n), "kind": str(k), "road_km": None if np.isnan(x) else round(float(x), 2)}
        for p, n, k, x in zip(places["place_id"][far], places["name_zh"][far], places["kind"][far], d[far])]
    out["cores_not_covered"] = [p["place_id"] for p in out["places_not_covered"] if p["kind"] == "city_core"]
    return out


def _project_places(places, boundaries, area) -> gpd.GeoDataFrame:
    """The places whose coverage the import checks: a file, or the embedded cores and seats in the area."""
    if places is not None:
        g = places if isinstance(places, gpd.GeoDataFrame) else read_layer(places)
        missing = [c for c in ("place_id", "name_zh", "kind") if c not in g.columns]
        if missing:
            raise DataSourceError(f"{places}: the places file needs columns {', '.join(missing)}")
        return g.to_crs(4326)
    g = _embedded()[1].copy()
    return g if boundaries is None else _clip(g, area)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class OsmExtract:
    """An imported extract.

    Attributes
    ----------
    layers : dict of str to GeoDataFrame
        ``corridors``, ``nodes``, ``turn_restrictions``, ``eco_zones``, ``parks`` (candidates), ``rivers``; WGS-84.
    report : pandas.DataFrame
        The import report: :data:`REPORT_COLUMNS`, one row per feature dropped, trimmed or left out.
    summary : dict
        Counts (features per layer, report rows by reason and action, ways of other kinds left out) and
        :func:`coverage`.
    """

    layers: dict
    report: pd.DataFrame
    summary: dict


def _check_extract(path: Path) -> None:
    if not path.exists():
        raise DataSourceError(f"{path}: file not found.")
    name = path.name.lower()
    if not (name.endswith((".osm", ".osm.pbf")) or path.suffix.lower() == ".pbf"):
        raise DataSourceError(f"{path}: an OpenStreetMap extract must end in .osm.pbf or .osm")


def _summary(path, layers, report, raw: _Raw, cov) -> dict:
    by_reason = report.groupby(["reason", "action"]).size() if len(report) else pd.Series(dtype=int)
    return {"extract": str(path), "source": OSM_SOURCE, "features": {k: len(g) for k, g in layers.items()},
            "report": {f"{r}/{a}": int(n) for (r, a), n in by_reason.items()},
            "left_out": dict(raw.left_out.most_common()), "coverage": cov}


def _log_summary(path, summary) -> None:
    log.info("OSM %s: %s", Path(path).name, ", ".join(f"{n} {k}" for k, n in summary["features"].items()))
    if summary["report"]:
        log.info("OSM import report: %s", ", ".join(f"{k} {n}" for k, n in summary["report"].items()))
    cov = summary["coverage"]
    log.info("OSM coverage: %.1f %% of the %.0f km2 study area within %g km of a road; %.1f road km per 100 km2",
             100 * cov["share_covered"], cov["study_area_km2"], cov["coverage_km"], cov["road_km_per_100km2"])
    if cov["share_covered"] < 0.8:
        log.warning("the extract covers only %.0f %% of the study area (within %g km of a road): is it the whole "
                    "region?", 100 * cov["share_covered"], cov["coverage_km"])
    if cov["places_not_covered"]:
        log.warning("%d of %d places are farther than max_link_km from every road of the extract: %s",
                    len(cov["places_not_covered"]), cov["places_checked"],
                    ", ".join(p["place_id"] for p in cov["places_not_covered"][:12]))
    if cov["cores_not_covered"]:
        log.warning("CITY CORE NOT COVERED by the extract: %s; travel times to and from it will not come from "
                    "these roads", ", ".join(cov["cores_not_covered"]))


def load_osm(path, *, boundaries=None, places=None, settings: Settings = DEFAULT) -> OsmExtract:
    """Read an OpenStreetMap extract into layers, an import report and a coverage summary.

    Parameters
    ----------
    path : path-like
        ``.osm.pbf`` or ``.osm`` (XML).
    boundaries : path-like or GeoDataFrame, optional
        Study area; default: the embedded Chifeng and Tongliao prefectures.
    places : path-like or GeoDataFrame, optional
        Places whose coverage is checked (``place_id``, ``name_zh``, ``kind``); default: the embedded
        city cores and county seats inside the study area.
    settings : Settings
        ``settings.osm.highway_classes`` (tag -> class), ``settings.speeds.max_link_km``.

    Returns
    -------
    OsmExtract

    Raises
    ------
    DataSourceError
        Missing or unreadable extract, a study area without polygons, a places file without its columns.
    """
    path = Path(path)
    _check_extract(path)
    area = _study_area(boundaries)
    raw = _scan(path, settings)
    corridors = _clip(_corridors(raw, settings), area)
    tr = _local_crs(area)
    nodes = _nodes(raw, corridors, area, tr)
    eco, parks = _eco_parks(raw)
    layers = {"corridors": corridors, "nodes": nodes, "turn_restrictions": _restrictions(raw, corridors),
              "eco_zones": _clip(eco, area), "parks": _clip(parks, area), "rivers": _clip(_rivers(raw), area)}
    cov = coverage(corridors, area, places=_project_places(places, boundaries, area), settings=settings)
    for p in cov["places_not_covered"]:
        raw.add(p["place_id"], "places", "place_not_covered", "warning",
                f"{p['name_zh']} ({p['kind']}): nearest road " + ("none" if p["road_km"] is None else f"{p['road_km']} km"))
    for name, g in layers.items():
        g.attrs["source_file"] = f"{path} [{name}]"
    report = pd.DataFrame(raw.report, columns=list(REPORT_COLUMNS))
    summary = _summary(path, layers, report, raw, cov)
    _log_summary(path, summary)
    return OsmExtract(layers, report, summary)


def read_osm(path, *, boundaries=None, settings: Settings = DEFAULT) -> dict[str, gpd.GeoDataFrame]:
    """Read an OpenStreetMap extract into layers (see the module docstring; :func:`load_osm` adds the report).

    Parameters
    ----------
    path : path-like
        ``.osm.pbf`` or ``.osm`` (XML).
    boundaries : path-like or GeoDataFrame, optional
        Study area; default: the embedded Chifeng and Tongliao prefectures.
    settings : Settings
        ``settings.osm.highway_classes`` (tag -> class).

    Returns
    -------
    dict of str to GeoDataFrame
        ``corridors``, ``nodes``, ``turn_restrictions``, ``eco_zones``, ``parks`` (candidates), ``rivers``; WGS-84.
    """
    return load_osm(path, boundaries=boundaries, settings=settings).layers


_PROJECT = """# Project written by `twinstar data import-osm` from {extract}.
# Data (c) {source}.  What OpenStreetMap lacks (boundaries, places, DEM) comes from the embedded dataset.
# What the import dropped or left out, and how much of the study area it covers: import_report.csv,
# import_summary.json.
#   twinstar data validate --project {name}
name = "OpenStreetMap: {stem}"
base = "embedded"
{layers}
# Also in {gpkg}, not used by default (they would replace the curated layers):
{commented}{own_area}"""
_OWN_AREA = """
# The study area of this import is {boundaries}, not the embedded prefectures.  Outside the
# Twin Star region, remove `base = "embedded"` above (its layers lie in Inner Mongolia) and give the
# project its own boundaries (adcode, name_zh, level = "prefecture", parent_adcode) and places
# (place_id, name_zh, kind); `twinstar run` also needs parks and eco_zones layers.
# [layers.boundaries]
# path = "{boundaries}"
# [layers.places]
# path = "YOUR_PLACES_FILE"
"""


def import_outputs(out_dir) -> dict[str, Path]:
    """The files :func:`import_osm` writes into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like

    Returns
    -------
    dict of str to Path
        ``gpkg``, ``project``, ``report``, ``summary``.
    """
    out_dir = Path(out_dir)
    return {"gpkg": out_dir / "osm.gpkg", "project": out_dir / "project.toml", "report": out_dir / "import_report.csv",
            "summary": out_dir / "import_summary.json"}


def _refuse_overwriting_inputs(out_dir, **inputs) -> None:
    written = {p.resolve(): p for p in import_outputs(out_dir).values()}
    for option, value in inputs.items():
        if value is None or isinstance(value, gpd.GeoDataFrame):
            continue
        p = Path(value).resolve()
        if p in written:
            raise DataSourceError(f"{value} ({option}) is one of the files the import writes into {out_dir}; it would "
                                  "be overwritten: choose another --out folder (inputs are never written)")


def import_osm(path, out_dir, *, boundaries=None, places=None, settings: Settings = DEFAULT) -> Path:
    """Import an OpenStreetMap extract: write ``osm.gpkg``, ``project.toml`` and the import report into ``out_dir``.

    Parameters
    ----------
    path : path-like
        ``.osm.pbf`` or ``.osm``.
    out_dir : path-like
        Folder for the outputs (:func:`import_outputs`); created if missing.
    boundaries, places : path-like or GeoDataFrame, optional
        As for :func:`load_osm`.
    settings : Settings

    Returns
    -------
    Path
        The project file; every command accepts it with ``--project``.

    Raises
    ------
    DataSourceError
        An input is one of the output files; no road or railway inside the study area; see :func:`load_osm`.
    """
    path, out_dir = Path(path), Path(out_dir)
    _refuse_overwriting_inputs(out_dir, extract=path, boundaries=boundaries, places=places)
    ext = load_osm(path, boundaries=boundaries, places=places, settings=settings)
    layers = ext.layers
    if len(layers["corridors"]) == 0:
        raise DataSourceError(f"{path}: no roads or railways of the known classes inside the study area.")
    out = import_outputs(out_dir)
    write_gpkg(out["gpkg"], {k: g for k, g in layers.items() if len(g)})
    write_csv(out["report"], ext.report)
    with atomic_output(out["summary"]) as tmp:
        tmp.write_text(json.dumps(ext.summary, ensure_ascii=False, indent=1), encoding="utf-8")
    used = [k for k in ("corridors", "nodes", "turn_restrictions", "rivers") if len(layers[k])]
    spare = [k for k in ("eco_zones", "parks") if len(layers[k])]
    gpkg = out["gpkg"].name
    block = "\n".join(f'[layers.{k}]\npath = "{gpkg}"\nlayer = "{k}"\n' for k in used)
    commented = "\n".join(f'# [layers.{k}]\n# path = "{gpkg}"\n# layer = "{k}"\n' for k in spare)
    text = _PROJECT.format(extract=path.name, source=OSM_SOURCE, name=out["project"].name, stem=path.name.split(".")[0],
                           layers=block, gpkg=gpkg, commented=commented or "# (none)\n",
                           own_area="" if boundaries is None or isinstance(boundaries, gpd.GeoDataFrame)
                           else _OWN_AREA.format(boundaries=Path(boundaries).resolve().as_posix()))
    with atomic_output(out["project"]) as tmp:
        tmp.write_text(text, encoding="utf-8")
    log.info("wrote %s, %s, %s and %s", *out.values())
    return out["project"]
