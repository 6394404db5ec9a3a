"""Overlap and conflict: parks and corridors against ecological zones, county borders, overlays.

Geometry operations (intersection, difference, union) run on the lon/lat
coordinates the layers are stored in; every area and length of a result is then
measured on the WGS-84 ellipsoid.  Buffers are true metres: each feature is
buffered in an azimuthal equidistant projection centred on itself.

Units: km2, hectares (1 km2 = 100 ha) and mu (亩; 1 mu = 666.67 m2, so
1 km2 = 1500 mu).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..data.crs import geodesic_area_km2, geodesic_length_km, local_aeqd

__all__ = [
    "MU_PER_KM2",
    "buffer_m",
    "area_overlaps",
    "length_inside",
    "study_area",
    "within_distance",
    "county_adjacency",
    "overlay_layers",
    "conflict_report",
    "ZONE_BUFFERS",
]

log = logging.getLogger(__name__)

MU_PER_KM2 = 1500.0
#: Default buffers (m) applied to ecological zones when checking corridors.
ZONE_BUFFERS = {"nature_reserve": 1000.0, "river": 500.0, "sandy_land": 0.0}


def buffer_m(gdf: gpd.GeoDataFrame, metres, *, resolution: int = 16) -> gpd.GeoSeries:
    """Buffer every feature by true metres (scalar or one value per feature).

    Each feature is buffered in an azimuthal equidistant projection centred on
    its own centroid, so the buffer width is right to better than 0.1 % for
    features up to a few hundred km long.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features in any CRS that has one (lon/lat as stored, normally); not
        modified.
    metres : float or array_like of float
        Buffer width in metres: one value for all features or one per feature
        (in row order).  Negative values shrink polygons; 0 leaves a feature as
        it is.
    resolution : int, default 16
        Segments per quarter circle of the rounded ends and corners.

    Returns
    -------
    geopandas.GeoSeries
        The buffered geometries in the CRS of ``gdf``, indexed like it.  Missing
        and empty geometries, and features with width 0, are returned unchanged.

    Examples
    --------
    Every vertex of a 1 km buffer around a point lies 1000 m from it on the
    ellipsoid (measured with :class:`pyproj.Geod`):

    >>> from pyproj import Geod
    >>> from shapely.geometry import Point
    >>> pt = gpd.GeoDataFrame(geometry=[Point(120.0, 43.0)], crs=4326)
    >>> ring = np.asarray(buffer_m(pt, 1000.0).iloc[0].exterior.coords)
    >>> d = Geod(ellps="WGS84").inv(np.full(len(ring), 120.0), np.full(len(ring), 43.0), ring[:, 0], ring[:, 1])[2]
    >>> len(ring), round(float(d.min()), 3), round(float(d.max()), 3)  # 4 x 16 segments, ring closed
    (65, 1000.0, 1000.0)
    """
    metres = np.broadcast_to(np.asarray(metres, dtype=float), (len(gdf),))
    out = []
    for geom, m in zip(gdf.geometry.values, metres):
        if geom is None or geom.is_empty or m == 0:
            out.append(geom)
            continue
        c = geom.centroid
        aeqd = local_aeqd(c.x, c.y)
        g = gpd.GeoSeries([geom], crs=gdf.crs).to_crs(aeqd).buffer(m, quad_segs=resolution)
        out.append(g.to_crs(gdf.crs).iloc[0])
    return gpd.GeoSeries(out, index=gdf.index, crs=gdf.crs)


def _intersections(a, b, measure):
    """Pairs (i, j) of intersecting features, their intersections, and ``measure`` of each (> 0 only)."""
    ga, gb = np.asarray(a.geometry.values), np.asarray(b.geometry.values)
    # The tree holds the (many) features of a; each (complex) feature of b is prepared once as the query.
    j, i = shapely.STRtree(ga).query(gb, predicate="intersects")
    order = np.lexsort((j, i))
    i, j = i[order], j[order]
    # A feature inside b's feature (not touching its boundary) is its own intersection: no overlay needed.
    shapely.prepare(gb)
    inside = shapely.contains_properly(gb[j], ga[i])
    inter = ga[i].copy()
    inter[~inside] = shapely.intersection(ga[i][~inside], gb[j][~inside])
    size = measure(inter)
    keep = size > 0
    return i[keep], j[keep], inter[keep], size[keep]


def area_overlaps(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, *, a_id: str, b_id: str,
                  a_cols=("name_zh", "name_en"), b_cols=("name_zh", "name_en", "kind")) -> gpd.GeoDataFrame:
    """Overlap of every polygon of ``a`` with every polygon of ``b``, on the ellipsoid.

    The intersections are computed in lon/lat; their areas, and the areas of
    the two features, are measured on the WGS-84 ellipsoid.

    Parameters
    ----------
    a, b : geopandas.GeoDataFrame
        Polygon layers in lon/lat (WGS-84, as stored).  Neither is modified
        (``b``'s geometries are prepared for faster predicates).
    a_id, b_id : str
        Id columns of ``a`` and ``b`` (e.g. ``"park_id"``, ``"zone_id"``).
    a_cols, b_cols : sequence of str
        Further columns copied into the result when present (missing ones are
        skipped).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per pair whose overlap has a positive area, sorted by
        ``a_<a_id>`` then ``b_<b_id>``, fresh 0..n-1 index, CRS of ``a``:
        ``a_<a_id>``, ``a_<col>`` for each of ``a_cols``, ``b_<b_id>``,
        ``b_<col>`` for each of ``b_cols``, ``overlap_km2`` (6 decimals),
        ``overlap_ha`` (3), ``overlap_mu`` (亩, 1 km2 = 1500 mu; 1 decimal),
        ``share_of_a`` and ``share_of_b`` (overlap / that feature's area, 0..1;
        5 decimals); geometry = the overlap.  Pairs that only touch are left
        out.

    Examples
    --------
    Two 0.1-degree squares, the second shifted half a square east: the overlap
    is half of each, 45.26 km2 (the ellipsoidal area of the overlap square by
    :meth:`pyproj.Geod.geometry_area_perimeter`):

    >>> from shapely.geometry import box
    >>> a = gpd.GeoDataFrame({"park_id": ["P1"]}, geometry=[box(120.0, 43.0, 120.1, 43.1)], crs=4326)
    >>> b = gpd.GeoDataFrame({"zone_id": ["Z1"]}, geometry=[box(120.05, 43.0, 120.15, 43.1)], crs=4326)
    >>> ov = area_overlaps(a, b, a_id="park_id", b_id="zone_id")
    >>> ov[["a_park_id", "b_zone_id", "share_of_a", "share_of_b"]].values.tolist()
    [['P1', 'Z1', 0.5, 0.5]]
    >>> round(float(ov["overlap_km2"].iloc[0]), 2), float(ov["overlap_mu"].iloc[0])  # 45.2567 x 1500
    (45.26, 67885.0)
    """
    i, j, inter, area = _intersections(a, b, geodesic_area_km2)
    area_a = geodesic_area_km2(np.asarray(a.geometry.values)[i])
    area_b = geodesic_area_km2(np.asarray(b.geometry.values)[j])
    data = {f"a_{a_id}": a[a_id].to_numpy()[i]}
    for c in a_cols:
        if c in a.columns:
            data[f"a_{c}"] = a[c].to_numpy()[i]
    data[f"b_{b_id}"] = b[b_id].to_numpy()[j]
    for c in b_cols:
        if c in b.columns:
            data[f"b_{c}"] = b[c].to_numpy()[j]
    data.update({
        "overlap_km2": area.round(6), "overlap_ha": (area * 100).round(3), "overlap_mu": (area * MU_PER_KM2).round(1),
        "share_of_a": (area / area_a).round(5), "share_of_b": (area / area_b).round(5),
    })
    out = gpd.GeoDataFrame(data, geometry=list(inter), crs=a.crs)
    return out.sort_values([f"a_{a_id}", f"b_{b_id}"]).reset_index(drop=True)


def length_inside(lines: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, *, line_id: str, zone_id: str,
                  buffer: dict | float = 0.0, zone_kind_col: str = "kind", within=None) -> gpd.GeoDataFrame:
    """Length of each line inside each zone (optionally buffered), on the ellipsoid.

    Zones are buffered in true metres (:func:`buffer_m`), the lines cut in
    lon/lat, and the pieces measured on the WGS-84 ellipsoid.

    Parameters
    ----------
    lines : geopandas.GeoDataFrame
        Line layer in lon/lat (corridors); ``name_zh`` and ``class`` are copied
        when present.
    zones : geopandas.GeoDataFrame
        Polygon or line layer in lon/lat (ecological zones, rivers: a river is
        a zone once buffered); ``name_zh`` is copied when present.  Not
        modified.
    line_id, zone_id : str
        Id columns of ``lines`` and ``zones``.
    buffer : float or dict, default 0.0
        Metres added around every zone, or a mapping ``zone kind -> metres``
        (e.g. :data:`ZONE_BUFFERS`: 1 km around reserves, 500 m riparian
        strips); kinds not in the mapping, and every zone when ``zones`` has no
        ``zone_kind_col``, get 0.
    zone_kind_col : str, default "kind"
        Column of ``zones`` holding the kind the ``buffer`` mapping is keyed by.
    within : shapely geometry, optional
        The study area (lon/lat).  Lines may run on beyond it (rail and roads are kept whole across the
        border); ``share_of_line`` is then of the length inside ``within``, not of the whole line.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per (line, zone) pair with a positive length inside, sorted by
        the two ids, fresh 0..n-1 index, CRS of ``lines``: ``line_<line_id>``,
        ``line_name_zh``, ``line_class``, ``zone_<zone_id>``, ``zone_name_zh``,
        ``zone_kind`` (empty strings where the layer has no such column),
        ``buffer_m`` (metres applied to that zone), ``length_km`` (km inside,
        4 decimals) and ``share_of_line`` (of the line's whole length, or of its length inside
        ``within``, 0..1);
        geometry = the part inside.  A line in two overlapping zones counts in
        each.

    Examples
    --------
    A 0.2-degree line along the 43.05th parallel crosses a 0.1-degree square in
    its middle: 8.1475 km inside (:meth:`pyproj.Geod.inv` between the two
    crossings), half of the line; a 1 km buffer adds 1 km at each side:

    >>> from shapely.geometry import LineString, box
    >>> line = gpd.GeoDataFrame({"corridor_id": ["C1"]}, geometry=[LineString([(120.0, 43.05), (120.2, 43.05)])],
    ...                         crs=4326)
    >>> zone = gpd.GeoDataFrame({"zone_id": ["Z1"], "kind": ["nature_reserve"]},
    ...                         geometry=[box(120.05, 43.0, 120.15, 43.1)], crs=4326)
    >>> r = length_inside(line, zone, line_id="corridor_id", zone_id="zone_id")
    >>> float(r["length_km"].iloc[0]), float(r["share_of_line"].iloc[0])
    (8.1475, 0.5)
    >>> r = length_inside(line, zone, line_id="corridor_id", zone_id="zone_id", buffer={"nature_reserve": 1000.0})
    >>> float(r["length_km"].iloc[0]), float(r["buffer_m"].iloc[0])
    (10.1475, 1000.0)
    """
    zones = zones.copy()
    if isinstance(buffer, dict):
        widths = zones[zone_kind_col].map(buffer).fillna(0.0).to_numpy(float) if zone_kind_col in zones else np.zeros(len(zones))
    else:
        widths = np.full(len(zones), float(buffer))
    zones["buffer_m"] = widths
    zones["geometry"] = buffer_m(zones, widths)
    i, j, inter, length = _intersections(lines, zones, geodesic_length_km)
    geoms = np.asarray(lines.geometry.values)
    if within is None:
        total = geodesic_length_km(geoms[i])
    else:  # only the lines that enter a zone, and of those only the ones crossing the border, are cut
        u, back = np.unique(i, return_inverse=True)
        part = geoms[u].copy()
        shapely.prepare(within)
        cross = ~shapely.contains_properly(within, part)  # wholly inside: the line is its own part inside
        part[cross] = shapely.intersection(part[cross], within)
        total = geodesic_length_km(part)[back]
    out = gpd.GeoDataFrame({
        f"line_{line_id}": lines[line_id].to_numpy()[i],
        "line_name_zh": lines["name_zh"].to_numpy()[i] if "name_zh" in lines else "",
        "line_class": lines["class"].to_numpy()[i] if "class" in lines else "",
        f"zone_{zone_id}": zones[zone_id].to_numpy()[j],
        "zone_name_zh": zones["name_zh"].to_numpy()[j] if "name_zh" in zones else "",
        "zone_kind": zones[zone_kind_col].to_numpy()[j] if zone_kind_col in zones else "",
        "buffer_m": zones["buffer_m"].to_numpy()[j],
        "length_km": length.round(4),
        "share_of_line": (length / total).round(5),
    }, geometry=list(inter), crs=lines.crs)
    return out.sort_values([f"line_{line_id}", f"zone_{zone_id}"]).reset_index(drop=True)


def within_distance(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, max_m: float, *, a_id: str, b_id: str) -> pd.DataFrame:
    """Pairs of features of ``a`` and ``b`` within ``max_m`` metres of each other (ground distance).

    Distances are measured between the features' closest points on the WGS-84
    ellipsoid, as in :func:`twinstar_gis.analysis.distance.all_pairs`.

    Parameters
    ----------
    a, b : geopandas.GeoDataFrame
        Layers of any geometry type, each with a CRS; ``name_zh`` is copied
        when present.  Any index.
    max_m : float
        Largest distance kept, metres (inclusive).
    a_id, b_id : str
        Id columns of ``a`` and ``b``.

    Returns
    -------
    pandas.DataFrame
        One row per pair, sorted by the two ids, fresh 0..n-1 index:
        ``a_<a_id>``, ``a_name_zh``, ``b_<b_id>``, ``b_name_zh`` (empty strings
        where the layer has no ``name_zh``) and ``distance_km`` (km, 3
        decimals; 0 for touching or overlapping features).

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> a = gpd.GeoDataFrame({"pid": ["A", "B"]}, geometry=[Point(120.0, 43.0), Point(121.0, 43.0)], crs=4326)
    >>> b = gpd.GeoDataFrame({"zid": ["Z"]}, geometry=[Point(120.01, 43.0)], crs=4326)
    >>> # 0.01 degree of longitude at 43 N: pyproj.Geod gives 815.4 m
    >>> within_distance(a, b, 5000, a_id="pid", b_id="zid")[["a_pid", "b_zid", "distance_km"]].values.tolist()
    [['A', 'Z', 0.815]]
    """
    from .distance import all_pairs

    a, b = a.reset_index(drop=True), b.reset_index(drop=True)  # all_pairs reports index labels; read them as positions
    pairs = all_pairs(a, b, max_m=max_m)
    out = pd.DataFrame({
        f"a_{a_id}": a[a_id].to_numpy()[pairs["src_index"].astype(int)],
        "a_name_zh": a["name_zh"].to_numpy()[pairs["src_index"].astype(int)] if "name_zh" in a else "",
        f"b_{b_id}": b[b_id].to_numpy()[pairs["dst_index"].astype(int)],
        "b_name_zh": b["name_zh"].to_numpy()[pairs["dst_index"].astype(int)] if "name_zh" in b else "",
        "distance_km": (pairs["distance_m"] / 1000).round(3),
    })
    return out.sort_values([f"a_{a_id}", f"b_{b_id}"]).reset_index(drop=True)


def county_adjacency(boundaries: gpd.GeoDataFrame, *, min_km: float = 0.001) -> gpd.GeoDataFrame:
    """Which counties touch, and the length (km, ellipsoid) of each shared border.

    Two counties are neighbours when their polygons touch (shared boundary,
    no overlap: the layer must tile, as the validated boundaries do).

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        The boundaries layer in lon/lat: rows with ``level == "county"`` are
        used, with ``adcode``, ``name_zh`` and ``parent_adcode`` (the city).
    min_km : float, default 0.001
        Shortest shared border kept, km: pairs touching only at a point, or
        along less than this, are left out.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per unordered pair, ``adcode_a`` < ``adcode_b``, sorted by
        them, fresh 0..n-1 index, CRS of ``boundaries``: ``adcode_a``,
        ``name_a``, ``adcode_b``, ``name_b``, ``city_a``, ``city_b`` (parent
        adcodes), ``shared_border_km`` (km on the WGS-84 ellipsoid, 3
        decimals) and ``same_city`` (bool); geometry = the shared border.

    Examples
    --------
    >>> import tempfile
    >>> from twinstar_gis.data.dataset import build_dataset, load_dataset
    >>> ds = load_dataset(build_dataset(tempfile.mkdtemp())[0])
    >>> adj = county_adjacency(ds["boundaries"])
    >>> cross = adj[~adj["same_city"]]
    >>> round(float(cross["shared_border_km"].sum()))  # the Chifeng-Tongliao border
    580
    >>> cross.nlargest(1, "shared_border_km")[["name_a", "name_b"]].values.tolist()
    [['阿鲁科尔沁旗', '扎鲁特旗']]
    """
    c = boundaries[boundaries["level"] == "county"].sort_values("adcode").reset_index(drop=True)
    geoms = np.asarray(c.geometry.values)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="touches")
    keep = i < j
    i, j = i[keep], j[keep]
    border = shapely.line_merge(shapely.intersection(shapely.boundary(geoms[i]), shapely.boundary(geoms[j])))
    length = geodesic_length_km(border)
    ok = length >= min_km
    i, j, border, length = i[ok], j[ok], border[ok], length[ok]
    out = gpd.GeoDataFrame({
        "adcode_a": c["adcode"].to_numpy()[i], "name_a": c["name_zh"].to_numpy()[i],
        "adcode_b": c["adcode"].to_numpy()[j], "name_b": c["name_zh"].to_numpy()[j],
        "city_a": c["parent_adcode"].to_numpy()[i], "city_b": c["parent_adcode"].to_numpy()[j],
        "shared_border_km": length.round(3),
    }, geometry=list(border), crs=boundaries.crs)
    out["same_city"] = out["city_a"] == out["city_b"]
    return out.sort_values(["adcode_a", "adcode_b"]).reset_index(drop=True)


def overlay_layers(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, *, how: str = "intersection",
                   buffer_b_m: float = 0.0) -> gpd.GeoDataFrame:
    """General overlay of two layers with areas / lengths on the ellipsoid.

    Parameters
    ----------
    a : geopandas.GeoDataFrame
        Polygons, or lines (when every feature is a LineString or
        MultiLineString), in lon/lat.  Not modified.
    b : geopandas.GeoDataFrame
        Polygons in lon/lat (or any geometry, once buffered).  Not modified.
    how : {"intersection", "difference", "union", "identity", "symmetric_difference"}, default "intersection"
        As :func:`geopandas.overlay`.  Lines in ``a`` against polygons in ``b``
        support ``intersection`` and ``difference`` (line parts inside /
        outside the union of ``b``).
    buffer_b_m : float, default 0.0
        Buffer ``b`` by this many metres first (:func:`buffer_m`).

    Returns
    -------
    geopandas.GeoDataFrame
        Polygons: the result of :func:`geopandas.overlay` (attributes of both
        layers, polygon parts only) plus ``area_km2`` (6 decimals), ``area_ha``
        (3) and ``area_mu`` (1), measured on the WGS-84 ellipsoid.  Lines: the
        rows of ``a`` with their part inside (or outside) ``b`` as geometry,
        rows left empty dropped, no attribute of ``b``, plus ``length_km``
        (km on the ellipsoid, 4 decimals); fresh 0..n-1 index.

    Raises
    ------
    ValueError
        ``a`` holds lines and ``how`` is neither "intersection" nor
        "difference".

    Examples
    --------
    A line along the 43.05th parallel, 0.3 degree long, crossing a 0.1-degree
    square: 8.1475 km inside and twice that outside (:meth:`pyproj.Geod.inv`, 0.1 degree each):

    >>> from shapely.geometry import LineString, box
    >>> line = gpd.GeoDataFrame({"corridor_id": ["C1"]}, geometry=[LineString([(119.95, 43.05), (120.25, 43.05)])],
    ...                         crs=4326)
    >>> zone = gpd.GeoDataFrame({"zone_id": ["Z1"]}, geometry=[box(120.05, 43.0, 120.15, 43.1)], crs=4326)
    >>> float(overlay_layers(line, zone)["length_km"].iloc[0])
    8.1475
    >>> float(overlay_layers(line, zone, how="difference")["length_km"].iloc[0])
    16.295
    """
    b = b.copy()
    if buffer_b_m:
        b["geometry"] = buffer_m(b, buffer_b_m)
    a_lines = a.geom_type.isin(["LineString", "MultiLineString"]).all()
    if a_lines:
        if how not in ("intersection", "difference"):
            raise ValueError("lines can only be intersected with or differenced from polygons")
        zone = shapely.union_all(np.asarray(b.geometry.values))
        op = shapely.intersection if how == "intersection" else shapely.difference
        res = a.copy()
        res["geometry"] = op(np.asarray(a.geometry.values), zone)
        res = res[~res.geometry.is_empty]
        res["length_km"] = geodesic_length_km(res.geometry.values).round(4)
        return res.reset_index(drop=True)
    res = gpd.overlay(a, b, how=how, keep_geom_type=True)
    area = geodesic_area_km2(res.geometry.values)
    res["area_km2"] = area.round(6)
    res["area_ha"] = (area * 100).round(3)
    res["area_mu"] = (area * MU_PER_KM2).round(1)
    return res


def study_area(layers: dict):
    """The study area: the union of the ``boundaries`` layer's top level (prefectures), or None without boundaries.

    Parameters
    ----------
    layers : dict of geopandas.GeoDataFrame
        With ``boundaries`` (``level``: prefecture / county) to have a study area.

    Returns
    -------
    shapely geometry or None
        In lon/lat.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> b = gpd.GeoDataFrame({"level": ["prefecture", "prefecture", "county"]},
    ...                      geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 0, 1, 1)], crs=4326)
    >>> study_area({"boundaries": b}).bounds
    (0.0, 0.0, 2.0, 1.0)
    """
    b = layers.get("boundaries")
    if b is None or len(b) == 0:
        return None
    top = b[b["level"] == "prefecture"] if "level" in b.columns and (b["level"] == "prefecture").any() else b
    return shapely.union_all(np.asarray(top.to_crs(4326).geometry.values))


def conflict_report(layers: dict, *, zone_buffers: dict | None = None, near_km: float = 5.0) -> pd.DataFrame:
    """Every park and corridor stretch that enters an ecological zone, in one table.

    Zones are the ``eco_zones`` polygons and the ``rivers`` lines (kind
    ``"river"``), each buffered by the width for its kind: a river conflicts
    through its riparian strip.  Parks are overlapped with the buffered zones
    (:func:`area_overlaps`), corridors cut by them (:func:`length_inside`);
    parks within ``near_km`` of a zone whose buffered area they do not
    overlap are listed too, with their distance to the unbuffered zone.

    Parameters
    ----------
    layers : dict of geopandas.GeoDataFrame
        ``eco_zones`` (``zone_id``, ``name_zh``, ``kind``,
        ``geometry_quality``) and/or ``rivers`` (``river_id``, ``name_zh``,
        ``geometry_quality``); ``parks`` (``park_id``, ``name_zh``) and/or
        ``corridors`` (``corridor_id``, ``name_zh``), optionally with
        ``geometry_quality`` (a missing one counts as indicative).  All in
        lon/lat (WGS-84).
    zone_buffers : dict, optional
        ``zone kind -> metres`` around each zone; kinds not listed get 0.
        Default :data:`ZONE_BUFFERS` (1 km around nature reserves, 500 m along
        rivers, none around sandy land).
    near_km : float, default 5.0
        Parks within this many km (on the ellipsoid) of a zone whose buffered
        area they do not overlap are listed as ``"park (near)"``.

    Returns
    -------
    pandas.DataFrame
        One row per (feature, zone) conflict, sorted by ``feature_kind``,
        ``feature_id``, ``zone_id``, fresh 0..n-1 index:

        ``feature_kind``
            ``"park"``, ``"park (near)"`` or ``"corridor"``;
        ``feature_id``, ``feature_name_zh``
            the park or corridor;
        ``zone_id``, ``zone_name_zh``, ``zone_kind``
            the zone (a river's id is its ``river_id``);
        ``buffer_m``
            metres added around the zone (0 for near parks);
        ``overlap_km2``, ``overlap_mu``
            park area inside the buffered zone (0 for near parks, NaN for
            corridors);
        ``length_km``
            corridor length inside the buffered zone (NaN for parks);
        ``share_of_feature``
            that overlap or length as a share of the park's area or the
            corridor's length inside the study area (``boundaries``; the whole line without) (0..1);
        ``distance_km``
            near parks only: km to the zone (NaN otherwise);
        ``indicative``
            True when either geometry is indicative: verify on surveyed
            outlines before acting on the conflict.

        An empty frame (no columns) when nothing conflicts.

    Raises
    ------
    ValueError
        ``layers`` holds neither ``eco_zones`` nor ``rivers``.

    Examples
    --------
    A reserve, a park overlapping its eastern half, a park 1.63 km west of it
    and a road through it, with no buffers; the expected values are the
    ellipsoidal area of the overlap square (45.26 km2), the
    :meth:`pyproj.Geod.inv` length of the road inside (8.15 km of 24.44 km)
    and the distance between the nearest corners (1.628 km):

    >>> from shapely.geometry import LineString, box
    >>> eco = gpd.GeoDataFrame({"zone_id": ["NR1"], "name_zh": ["甲保护区"], "kind": ["nature_reserve"],
    ...                         "geometry_quality": ["surveyed"]}, geometry=[box(120.0, 43.0, 120.1, 43.1)], crs=4326)
    >>> parks = gpd.GeoDataFrame({"park_id": ["P1", "P2"], "name_zh": ["甲园", "乙园"],
    ...                           "geometry_quality": ["surveyed", "indicative"]},
    ...                          geometry=[box(120.05, 43.0, 120.15, 43.1), box(119.9, 43.0, 119.98, 43.1)], crs=4326)
    >>> road = gpd.GeoDataFrame({"corridor_id": ["C1"], "name_zh": ["甲线"], "geometry_quality": ["surveyed"]},
    ...                         geometry=[LineString([(119.9, 43.05), (120.2, 43.05)])], crs=4326)
    >>> r = conflict_report({"eco_zones": eco, "parks": parks, "corridors": road}, zone_buffers={})
    >>> r[["feature_kind", "feature_id", "indicative"]].values.tolist()
    [['corridor', 'C1', False], ['park', 'P1', False], ['park (near)', 'P2', True]]
    >>> round(float(r.loc[1, "overlap_km2"]), 2), round(float(r.loc[0, "length_km"]), 2), float(r.loc[2, "distance_km"])
    (45.26, 8.15, 1.628)
    """
    zone_buffers = ZONE_BUFFERS if zone_buffers is None else zone_buffers
    parks, corridors = layers.get("parks"), layers.get("corridors")
    eco = layers.get("eco_zones")
    rivers = layers.get("rivers")
    zones = []
    if eco is not None:
        zones.append(eco[["zone_id", "name_zh", "kind", "geometry_quality", "geometry"]])
    if rivers is not None:
        r = rivers.rename(columns={"river_id": "zone_id"}).assign(kind="river")
        zones.append(r[["zone_id", "name_zh", "kind", "geometry_quality", "geometry"]])
    if not zones:
        raise ValueError("no ecological zones or rivers in the data")
    zones = gpd.GeoDataFrame(pd.concat(zones, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    zq = dict(zip(zones["zone_id"], zones["geometry_quality"]))
    rows = []
    if parks is not None:
        buffered = zones.copy()
        buffered["geometry"] = buffer_m(zones, zones["kind"].map(zone_buffers).fillna(0.0).to_numpy())
        # Rivers are lines: a park conflicts with the riparian strip around them.
        ov = area_overlaps(parks, buffered, a_id="park_id", b_id="zone_id")
        pq = dict(zip(parks["park_id"], parks.get("geometry_quality", pd.Series("indicative", index=parks.index))))
        for r in ov.itertuples():
            rows.append({"feature_kind": "park", "feature_id": r.a_park_id, "feature_name_zh": r.a_name_zh,
                         "zone_id": r.b_zone_id, "zone_name_zh": r.b_name_zh, "zone_kind": r.b_kind,
                         "buffer_m": zone_buffers.get(r.b_kind, 0.0), "overlap_km2": r.overlap_km2,
                         "overlap_mu": r.overlap_mu, "length_km": np.nan, "share_of_feature": r.share_of_a,
                         "indicative": pq.get(r.a_park_id) != "surveyed" or zq.get(r.b_zone_id) != "surveyed"})
        near = within_distance(parks, zones, near_km * 1000, a_id="park_id", b_id="zone_id")
        hit = set(zip(ov["a_park_id"], ov["b_zone_id"]))
        for r in near.itertuples():
            if (r.a_park_id, r.b_zone_id) in hit:
                continue
            kind = zones.set_index("zone_id").loc[r.b_zone_id, "kind"]
            rows.append({"feature_kind": "park (near)", "feature_id": r.a_park_id, "feature_name_zh": r.a_name_zh,
                         "zone_id": r.b_zone_id, "zone_name_zh": r.b_name_zh, "zone_kind": kind, "buffer_m": 0.0,
                         "overlap_km2": 0.0, "overlap_mu": 0.0, "length_km": np.nan, "share_of_feature": 0.0,
                         "distance_km": r.distance_km,
                         "indicative": pq.get(r.a_park_id) != "surveyed" or zq.get(r.b_zone_id) != "surveyed"})
    if corridors is not None:
        li = length_inside(corridors, zones, line_id="corridor_id", zone_id="zone_id", buffer=zone_buffers,
                           within=study_area(layers))
        cq = dict(zip(corridors["corridor_id"], corridors.get("geometry_quality", pd.Series("indicative", index=corridors.index))))
        for r in li.itertuples():
            rows.append({"feature_kind": "corridor", "feature_id": r.line_corridor_id, "feature_name_zh": r.line_name_zh,
                         "zone_id": r.zone_zone_id, "zone_name_zh": r.zone_name_zh, "zone_kind": r.zone_kind,
                         "buffer_m": r.buffer_m, "overlap_km2": np.nan, "overlap_mu": np.nan, "length_km": r.length_km,
                         "share_of_feature": r.share_of_line,
                         "indicative": cq.get(r.line_corridor_id) != "surveyed" or zq.get(r.zone_zone_id) != "surveyed"})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    if "distance_km" not in out:
        out["distance_km"] = np.nan
    return out.sort_values(["feature_kind", "feature_id", "zone_id"]).reset_index(drop=True)
