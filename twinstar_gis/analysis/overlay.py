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

    Returns one row per overlapping pair (sorted by the two ids): overlap in
    km2, ha and mu, and its share of each feature; geometry = the overlap.
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
                  buffer: dict | float = 0.0, zone_kind_col: str = "kind") -> gpd.GeoDataFrame:
    """Length of each line inside each zone (optionally buffered), on the ellipsoid.

    Parameters
    ----------
    buffer : float or dict
        Metres added around every zone, or a mapping ``zone kind -> metres``
        (e.g. :data:`ZONE_BUFFERS`: 1 km around reserves, 500 m riparian strips).
    """
    zones = zones.copy()
    if isinstance(buffer, dict):
        widths = zones[zone_kind_col].map(buffer).fillna(0.0).to_numpy(float) if zone_kind_col in zones else np.zeros(len(zones))
    else:
        widths = np.full(len(zones), float(buffer))
    zones["buffer_m"] = widths
    zones["geometry"] = buffer_m(zones, widths)
    i, j, inter, length = _intersections(lines, zones, geodesic_length_km)
    total = geodesic_length_km(np.asarray(lines.geometry.values)[i])
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
    """Pairs of features of ``a`` and ``b`` within ``max_m`` metres of each other (ground distance)."""
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

    Returns one row per unordered pair (``adcode_a`` < ``adcode_b``) with
    ``same_city``; geometry = the shared border.  Pairs touching only at a
    point (length below ``min_km``) are left out.

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
    how : {"intersection", "difference", "union", "identity", "symmetric_difference"}
        As :func:`geopandas.overlay`.  Lines in ``a`` against polygons in ``b``
        support ``intersection`` and ``difference`` (line parts inside / outside).
    buffer_b_m : float
        Buffer ``b`` by this many metres first.

    Returns
    -------
    geopandas.GeoDataFrame
        With ``area_km2`` (polygons), ``area_ha``, ``area_mu`` or ``length_km`` (lines).
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


def conflict_report(layers: dict, *, zone_buffers: dict | None = None, near_km: float = 5.0) -> pd.DataFrame:
    """Every park and corridor stretch that enters an ecological zone, in one table.

    Rows: ``feature_kind`` (park / corridor), its id and name, the zone (id,
    name, kind), the buffer applied, the measure (overlap km2 or length km),
    its share of the feature, and whether either geometry is indicative (then
    the conflict must be verified on surveyed outlines before acting on it).
    Parks that do not overlap a zone but lie within ``near_km`` of one are
    listed with ``measure = "within Xkm"``.
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
                         "indicative": pq.get(r.a_park_id) == "indicative" or zq.get(r.b_zone_id) == "indicative"})
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
                         "indicative": pq.get(r.a_park_id) == "indicative" or zq.get(r.b_zone_id) == "indicative"})
    if corridors is not None:
        li = length_inside(corridors, zones, line_id="corridor_id", zone_id="zone_id", buffer=zone_buffers)
        cq = dict(zip(corridors["corridor_id"], corridors.get("geometry_quality", pd.Series("indicative", index=corridors.index))))
        for r in li.itertuples():
            rows.append({"feature_kind": "corridor", "feature_id": r.line_corridor_id, "feature_name_zh": r.line_name_zh,
                         "zone_id": r.zone_zone_id, "zone_name_zh": r.zone_name_zh, "zone_kind": r.zone_kind,
                         "buffer_m": r.buffer_m, "overlap_km2": np.nan, "overlap_mu": np.nan, "length_km": r.length_km,
                         "share_of_feature": r.share_of_line,
                         "indicative": cq.get(r.line_corridor_id) == "indicative" or zq.get(r.zone_zone_id) == "indicative"})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    if "distance_km" not in out:
        out["distance_km"] = np.nan
    return out.sort_values(["feature_kind", "feature_id", "zone_id"]).reset_index(drop=True)
