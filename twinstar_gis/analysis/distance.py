"""Ground distances between features: nearest corridor of each class, full matrices.

Method
------
1. Both layers are densified in lon/lat (segments are straight in lon/lat, as
   stored and drawn) and projected to the regional equal-area projection
   (:data:`twinstar_gis.data.crs.EQUAL_AREA_CRS`), whose distance scale stays within
   about 0.3 % of true over the region; an STRtree finds, for every source
   feature, the nearest target and every other target that could be nearest
   once that distortion is allowed for (``within (1 + 1 %) * d + 50 m``).  A source that
   touches targets (distance 0) needs no search beyond them: one ``intersects`` query finds
   them, and the first by id is kept.
2. For each candidate pair the closest points are found (``shapely.shortest_line``,
   vectorised), brought back to lon/lat, and their distance is measured on the
   WGS-84 ellipsoid (:class:`pyproj.Geod`).  The reported distance is that
   geodesic distance between the two reported points; the smallest over the
   candidates wins.

No Gauss-Krueger or UTM zone is used, so results are equally good anywhere in
the region, across zone boundaries.  Distances from a park are measured from
its boundary (0 when it touches or overlaps the target), or from its centroid
on request.  Row order does not matter: ties are broken by target id (numeric ids by value,
others as text).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ..data.crs import EQUAL_AREA_CRS, GEOD

__all__ = ["CANDIDATE_SLACK", "connector_lines", "distance_pairs", "nearest"]

log = logging.getLogger(__name__)

#: Relative and absolute slack used when collecting candidates in the projection.
CANDIDATE_SLACK = (0.01, 50.0)

_TO_LL = Transformer.from_crs(EQUAL_AREA_CRS, "EPSG:4326", always_xy=True)
_TO_EA = Transformer.from_crs("EPSG:4326", EQUAL_AREA_CRS, always_xy=True)
_WGS84 = CRS.from_epsg(4326)


#: Segments are straight in lon/lat (how the layers are stored and drawn); projected
#: only at their vertices they would bend.  Geometries with a segment longer than this step
#: (degrees, about 2 km) are densified to it first, which keeps the projected lines within
#: 0.15 m of the stored ones anywhere in the region (the sagitta grows with the square of the
#: step: 0.03 m at 0.01 deg, 0.13 m at 0.02 deg, 3.4 m at 0.1 deg).
DENSIFY_DEG = 0.02


def _project(gdf):
    """Densify (only geometries that need it) in lon/lat and project to EQUAL_AREA_CRS, on the raw
    coordinate arrays in one call."""
    ll = gdf if gdf.crs is not None and gdf.crs.equals(_WGS84) else gdf.to_crs(_WGS84)
    geoms = np.array(ll.geometry.values, dtype=object)
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    if len(xy) > 1:
        seg = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
        long = np.zeros(len(geoms), bool)
        long[idx[:-1][(idx[1:] == idx[:-1]) & (seg > DENSIFY_DEG)]] = True
        if long.any():
            geoms[long] = shapely.segmentize(geoms[long], DENSIFY_DEG)
            xy = shapely.get_coordinates(geoms)
    x, y = _TO_EA.transform(xy[:, 0], xy[:, 1])
    return shapely.set_coordinates(geoms, np.column_stack([x, y]))


def _source_geoms(src, measure_from):
    g = _project(src)
    if measure_from == "centroid":
        return shapely.centroid(g)
    if measure_from != "boundary":
        raise ValueError("measure_from must be 'boundary' or 'centroid'")
    return g


def distance_pairs(src_proj, dst_proj, i, j):
    """Geodesic distance and closest points for pairs (i, j) of projected geometries.

    The closest points of each pair are found in the projection
    (:func:`shapely.shortest_line`), brought back to lon/lat, and their
    distance is measured on the WGS-84 ellipsoid.  A pair whose projected
    distance is exactly 0 (touching or overlapping) gets 0.

    Parameters
    ----------
    src_proj, dst_proj : numpy.ndarray of shapely.Geometry
        Geometries in :data:`twinstar_gis.data.crs.EQUAL_AREA_CRS` (metres), as
        :func:`nearest` and :func:`all_pairs` prepare them.
    i, j : numpy.ndarray of int
        Positions into ``src_proj`` and ``dst_proj``, one pair per element
        (equal lengths).

    Returns
    -------
    dict of numpy.ndarray
        ``distance_m`` (metres on the ellipsoid), ``src_lon``, ``src_lat``,
        ``dst_lon``, ``dst_lat`` (degrees, WGS-84: the closest points of the
        source and target), one element per pair in the order given; empty
        arrays when there is no pair.

    Examples
    --------
    One source point, two target points 0.1 degree east and north of it;
    :class:`pyproj.Geod` gives 8154.1 m and 11109.4 m for these two geodesics:

    >>> import numpy as np
    >>> from shapely.geometry import Point
    >>> from twinstar_gis.data.crs import EQUAL_AREA_CRS
    >>> to_ea = Transformer.from_crs("EPSG:4326", EQUAL_AREA_CRS, always_xy=True)
    >>> src = np.array([Point(to_ea.transform(120.0, 43.0))])
    >>> dst = np.array([Point(to_ea.transform(120.1, 43.0)), Point(to_ea.transform(120.0, 43.1))])
    >>> res = distance_pairs(src, dst, np.array([0, 0]), np.array([0, 1]))
    >>> res["distance_m"].round(1).tolist()
    [8154.1, 11109.4]
    >>> res["dst_lon"].round(6).tolist(), res["dst_lat"].round(6).tolist()
    ([120.1, 120.0], [43.0, 43.1])
    """
    if len(i) == 0:
        return {k: np.array([]) for k in ("distance_m", "src_lon", "src_lat", "dst_lon", "dst_lat")}
    lines = shapely.shortest_line(src_proj[i], dst_proj[j])
    xy = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    lon, lat = _TO_LL.transform(xy[:, :, 0].ravel(), xy[:, :, 1].ravel())
    lon = lon.reshape(-1, 2)
    lat = lat.reshape(-1, 2)
    d = GEOD.inv(lon[:, 0], lat[:, 0], lon[:, 1], lat[:, 1])[2]
    planar = shapely.length(lines)
    d = np.where(planar == 0, 0.0, d)
    return {"distance_m": d, "src_lon": lon[:, 0], "src_lat": lat[:, 0], "dst_lon": lon[:, 1], "dst_lat": lat[:, 1]}


def _candidates(tree, s):
    """Candidate (source, target) pairs: every target a source touches (distance 0: no need to look
    further), else every target within (1 + 1 %) x the projected nearest distance + 50 m."""
    ti, tj = tree.query(s, predicate="intersects")
    rest = np.setdiff1d(np.arange(len(s)), ti)
    if len(rest) == 0:
        return ti, tj, np.ones(len(ti), bool)
    _, d0 = tree.query_nearest(s[rest], return_distance=True, all_matches=False)
    rel, absm = CANDIDATE_SLACK
    ri, rj = tree.query(s[rest], predicate="dwithin", distance=d0 * (1 + rel) + absm)
    return np.concatenate([ti, rest[ri]]), np.concatenate([tj, rj]), np.arange(len(ti) + len(ri)) < len(ti)


def _tie_codes(ids):
    """Sort keys of target ids for breaking exact ties: numeric ids by value, others as text."""
    if np.issubdtype(ids.dtype, np.number):
        return ids
    codes, uniques = pd.factorize(pd.Series(ids).astype(str))
    rank = np.empty(len(uniques), np.int64)
    rank[np.argsort(np.asarray(uniques, dtype=str), kind="stable")] = np.arange(len(uniques))
    return rank[codes]


def nearest(src: gpd.GeoDataFrame, dst: gpd.GeoDataFrame, *, measure_from: str = "boundary",
            dst_id: str | None = None) -> pd.DataFrame:
    """For every feature of ``src``, the nearest feature of ``dst`` on the ground.

    Candidates are collected in the regional equal-area projection and the
    winner is decided by the geodesic distance between closest points (see the
    module docstring); row order of either layer does not change the answer.

    Parameters
    ----------
    src, dst : geopandas.GeoDataFrame
        Any geometry types, any CRS (brought to WGS-84, then to the regional
        projection); each must have a CRS.  Neither is modified.
    measure_from : {"boundary", "centroid"}, default "boundary"
        Measure from the source's geometry itself (for a polygon its boundary,
        so 0 when it touches or overlaps the target) or from its centroid
        (taken in the equal-area projection).
    dst_id : str, optional
        Column of ``dst`` used to break exact ties (numeric values by value,
        others as text); default: the index of ``dst``.  Among several targets
        a source touches, the first by this key is reported.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``src``, one row per source feature:

        ``dst_index``
            index label of the nearest ``dst`` feature (an object column:
            numeric labels come back as floats, e.g. ``5.0``);
        ``distance_m``
            metres on the WGS-84 ellipsoid between the two closest points;
        ``touches``
            True when the distance is 0;
        ``src_lon``, ``src_lat``, ``dst_lon``, ``dst_lat``
            the closest point of the source and of the target (degrees, WGS-84).

        Empty ``src`` or ``dst`` gives NaN distances and points, ``touches``
        False and ``dst_index`` NaN.

    Raises
    ------
    ValueError
        ``measure_from`` is neither "boundary" nor "centroid", or a layer has
        no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, LineString
    >>> a = gpd.GeoDataFrame(geometry=[Point(120.0, 43.0)], crs=4326)
    >>> b = gpd.GeoDataFrame(geometry=[LineString([(120.1, 42.9), (120.1, 43.1)])], crs=4326)
    >>> # 0.1 deg of longitude at 43 N: 0.1 * pi/180 * N(43) * cos(43) = 8154 m
    >>> round(float(nearest(a, b)["distance_m"].iloc[0]))
    8154
    """
    out = pd.DataFrame(index=src.index, columns=["dst_index", "distance_m", "touches", "src_lon", "src_lat",
                                                 "dst_lon", "dst_lat"], dtype=object)
    if len(src) == 0 or len(dst) == 0:
        out["distance_m"] = np.nan
        out["touches"] = False
        return out
    s = _source_geoms(src, measure_from)
    t = _project(dst)
    tree = shapely.STRtree(t)
    i, j, touch = _candidates(tree, s)
    code = _tie_codes((np.asarray(dst[dst_id]) if dst_id else np.asarray(dst.index))[j])
    if touch.any():  # of the targets a source touches, the first by id; measured alone
        k = np.flatnonzero(touch)
        k = k[np.lexsort((code[k], i[k]))]
        k = k[np.r_[True, i[k][1:] != i[k][:-1]]]
        keep = np.concatenate([k, np.flatnonzero(~touch)])
        i, j, code = i[keep], j[keep], code[keep]
    res = distance_pairs(s, t, i, j)
    order = np.lexsort((code, res["distance_m"], i))
    order = order[np.r_[True, i[order][1:] != i[order][:-1]]]
    frame = pd.DataFrame({"i": i, "j": j, **res}).iloc[order]
    out.iloc[frame["i"].to_numpy(), :] = np.column_stack([
        np.asarray(dst.index)[frame["j"].to_numpy()], frame["distance_m"], frame["distance_m"] == 0,
        frame["src_lon"], frame["src_lat"], frame["dst_lon"], frame["dst_lat"]])
    for c in ("distance_m", "src_lon", "src_lat", "dst_lon", "dst_lat"):
        out[c] = out[c].astype(float)
    out["touches"] = out["touches"].astype(bool)
    return out


def all_pairs(src: gpd.GeoDataFrame, dst: gpd.GeoDataFrame, *, measure_from: str = "boundary",
              max_m: float | None = None) -> pd.DataFrame:
    """Distances between every source and every target (optionally only those within ``max_m``).

    Parameters
    ----------
    src, dst : geopandas.GeoDataFrame
        Any geometry types, any CRS (each must have one).  Neither is modified.
    measure_from : {"boundary", "centroid"}, default "boundary"
        Measure from the source's geometry or from its centroid, as in
        :func:`nearest`.
    max_m : float, optional
        Keep only pairs at most this many metres apart on the ellipsoid.  Then
        only the pairs the spatial index finds within ``max_m`` plus the
        projection's slack (:data:`CANDIDATE_SLACK`) are measured; without it
        every pair is measured (``len(src) * len(dst)`` rows).

    Returns
    -------
    pandas.DataFrame
        A long table with a fresh 0..n-1 index, one row per pair:
        ``src_index`` and ``dst_index`` (index labels of ``src`` and ``dst``),
        ``distance_m`` (metres on the WGS-84 ellipsoid) and the two closest
        points ``src_lon``, ``src_lat``, ``dst_lon``, ``dst_lat`` (degrees).
        Rows come grouped by source in the order of ``src``; without
        ``max_m`` the targets of each source follow the order of ``dst``.

    Raises
    ------
    ValueError
        ``measure_from`` is neither "boundary" nor "centroid", or a layer has
        no CRS.

    Examples
    --------
    A point, a meridian segment 0.1 degree east of it and a parallel segment
    0.2 degree north (:class:`pyproj.Geod`: 8154 m and 22219 m):

    >>> from shapely.geometry import Point, LineString
    >>> a = gpd.GeoDataFrame(geometry=[Point(120.0, 43.0)], index=[10], crs=4326)
    >>> b = gpd.GeoDataFrame(geometry=[LineString([(120.1, 42.9), (120.1, 43.1)]),
    ...                                LineString([(119.9, 43.2), (120.1, 43.2)])], index=[5, 7], crs=4326)
    >>> t = all_pairs(a, b)
    >>> t[["src_index", "dst_index"]].values.tolist(), t["distance_m"].round().tolist()
    ([[10, 5], [10, 7]], [8154.0, 22219.0])
    >>> all_pairs(a, b, max_m=10_000)["dst_index"].tolist()
    [5]
    """
    s = _source_geoms(src, measure_from)
    t = _project(dst)
    if max_m is None:
        i, j = np.meshgrid(np.arange(len(s)), np.arange(len(t)), indexing="ij")
        i, j = i.ravel(), j.ravel()
    else:
        rel, absm = CANDIDATE_SLACK
        i, j = shapely.STRtree(t).query(s, predicate="dwithin", distance=max_m * (1 + rel) + absm)
    res = distance_pairs(s, t, i, j)
    frame = pd.DataFrame({"src_index": np.asarray(src.index)[i], "dst_index": np.asarray(dst.index)[j], **res})
    if max_m is not None:
        frame = frame[frame["distance_m"] <= max_m]
    return frame.reset_index(drop=True)


def connector_lines(table: pd.DataFrame, *, npts: int = 16) -> np.ndarray:
    """Geodesic connector lines (densified with ``npts`` intermediate points) from a table of closest points.

    Parameters
    ----------
    table : pandas.DataFrame
        With ``src_lon``, ``src_lat``, ``dst_lon``, ``dst_lat`` in degrees
        (WGS-84), as :func:`nearest` and :func:`all_pairs` return them.
    npts : int, default 16
        Points inserted along the geodesic between the two ends, so a
        connector drawn in lon/lat follows the measured line.

    Returns
    -------
    numpy.ndarray of shapely.LineString
        One line per row, in row order, from the source point to the target
        point, with ``npts + 2`` vertices (2 when the ends coincide); ``None``
        where any of the four coordinates is not finite.

    Examples
    --------
    Between two points on the 43rd parallel the geodesic bows towards the pole:

    >>> t = pd.DataFrame({"src_lon": [120.0, np.nan], "src_lat": [43.0, 43.0],
    ...                   "dst_lon": [121.0, 121.0], "dst_lat": [43.0, 43.0]})
    >>> lines = connector_lines(t)
    >>> len(lines[0].coords), bool(lines[0].coords[8][1] > 43.0), lines[1]
    (18, True, None)
    """
    lines = []
    for r in table[["src_lon", "src_lat", "dst_lon", "dst_lat"]].itertuples(index=False):
        if not np.all(np.isfinite(r)):
            lines.append(None)
            continue
        mid = GEOD.npts(r[0], r[1], r[2], r[3], npts) if (r[0], r[1]) != (r[2], r[3]) else []
        lines.append(shapely.LineString([(r[0], r[1]), *mid, (r[2], r[3])]))
    return np.array(lines, dtype=object)
