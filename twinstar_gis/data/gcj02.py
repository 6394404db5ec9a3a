"""Chinese obfuscated coordinate systems: GCJ-02 and BD-09.

GCJ-02 ("Mars coordinates") is what Amap/Gaode, Tencent and most Chinese web
maps publish; BD-09 is Baidu's further transform of GCJ-02.  Neither is a datum
that PROJ knows, so they are handled here, vectorised over whole coordinate
arrays (NumPy) and whole geometries (``shapely.transform``).

* WGS-84 -> GCJ-02 is the published closed-form formula.
* GCJ-02 -> WGS-84 has no closed form: a fixed-point iteration on the forward
  formula, run until every point moved less than ``tol_deg`` (default 1e-10
  degrees, about 0.01 mm); three steps already give ~0.1 mm in this region.
* Points outside China's bounding box pass through unchanged, as the formula
  defines.
* BD-09 <-> GCJ-02: Baidu's published forward transform; its inverse is
  refined by the same fixed-point iteration.

Examples
--------
>>> import numpy as np
>>> lon, lat = wgs84_to_gcj02(np.array([118.9]), np.array([42.26]))
>>> back_lon, back_lat = gcj02_to_wgs84(lon, lat)
>>> bool(abs(back_lon[0] - 118.9) < 1e-9 and abs(back_lat[0] - 42.26) < 1e-9)
True
"""

from __future__ import annotations

import logging

import numpy as np
import shapely

__all__ = [
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "out_of_china",
    "convert_coords",
    "convert_geometry",
    "convert_gdf",
    "COORD_SYSTEMS",
]

log = logging.getLogger(__name__)

#: Coordinate systems a planner's file may be in (lon/lat degrees for all but
#: ``wgs84``/``cgcs2000`` given through their own CRS).
COORD_SYSTEMS = ("wgs84", "cgcs2000", "gcj02", "bd09")
#: Longest segment (degrees, ~1 km) left between vertices when a geometry is converted to or from GCJ-02/BD-09.
SEGMENT_DEG = 0.01

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as in the published formula
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0


def out_of_china(lon, lat):
    """Boolean mask of points outside the box where GCJ-02 applies.

    The box is the one the published formula uses (72.004-137.8347 E,
    0.8293-55.8271 N); points outside it are not shifted by any conversion.

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees, broadcast together.

    Returns
    -------
    numpy.ndarray of bool
        True where the point lies outside the box.  NaN coordinates count as
        inside (they then convert to NaN).

    Examples
    --------
    >>> out_of_china([118.95, 2.35], [42.27, 48.85]).tolist()  # Chifeng, Paris
    [False, True]
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon, lat):
    """Offset (dlon, dlat) in degrees that WGS-84 -> GCJ-02 adds."""
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat):
    """Convert WGS-84 lon/lat to GCJ-02 (published closed-form formula).

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitude and latitude in degrees, any shape (broadcast together).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitude and latitude in degrees, float arrays of the broadcast
        shape (0-d for scalars).  Points outside China (:func:`out_of_china`)
        are returned unchanged; NaN stays NaN.

    Examples
    --------
    The reference pair published with the ``coordtransform`` package
    (wandergis/coordtransform, ``test/app.js``: 116.404, 39.915 ->
    116.41024449916938, 39.91640428150164):

    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
    >>> round(float(lon), 9), round(float(lat), 9)
    (116.410244499, 39.916404282)

    In the Twin Star region the shift is about half a kilometre; at Chifeng
    it is 560 m towards the east-north-east (distance by :class:`pyproj.Geod`):

    >>> from pyproj import Geod
    >>> glon, glat = wgs84_to_gcj02(118.95, 42.27)
    >>> round(Geod(ellps="WGS84").inv(118.95, 42.27, float(glon), float(glat))[2])
    560
    """
    lon, lat = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
    dlon, dlat = _delta(lon, lat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def _invert(forward, lon, lat, tol_deg, max_iter):
    """Fixed-point inverse of ``forward`` (x <- x - (forward(x) - target))."""
    lon, lat = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
    x, y = lon.copy(), lat.copy()
    for i in range(max_iter):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        x = x - ex
        y = y - ey
        err = float(np.nanmax(np.maximum(np.abs(ex), np.abs(ey)), initial=0.0))
        if err < tol_deg:
            log.debug("inverse converged after %d steps (max step %.2e deg)", i + 1, err)
            break
    return x, y


def gcj02_to_wgs84(lon, lat, *, tol_deg: float = 1e-10, max_iter: int = 20):
    """Convert GCJ-02 lon/lat to WGS-84 by fixed-point iteration.

    The forward formula has no closed-form inverse: starting from the GCJ-02
    point, each step moves the estimate by the residual of the forward
    formula.  The iteration stops when no point moved more than ``tol_deg`` or
    after ``max_iter`` steps, whichever comes first (no error is raised if it
    has not converged; in the region three steps already give ~0.1 mm).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees (as Amap / Gaode and Tencent
        publish them), any shape (broadcast together).
    tol_deg : float, default 1e-10
        Stop when no point moves more than this many degrees in a step
        (1e-10 deg is about 0.01 mm).
    max_iter : int, default 20
        Most steps taken.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS-84 longitude and latitude in degrees, float arrays of the broadcast
        shape.  Points outside China are returned unchanged; NaN stays NaN.

    Examples
    --------
    The inverse maps the reference GCJ-02 point of ``coordtransform`` (see
    :func:`wgs84_to_gcj02`) back onto its WGS-84 origin:

    >>> lon, lat = gcj02_to_wgs84(116.41024449916938, 39.91640428150164)
    >>> round(float(lon), 9), round(float(lat), 9)
    (116.404, 39.915)
    """
    return _invert(wgs84_to_gcj02, lon, lat, tol_deg, max_iter)


def gcj02_to_bd09(lon, lat):
    """Convert GCJ-02 lon/lat to Baidu BD-09 (Baidu's published transform).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees, broadcast together.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        BD-09 longitude and latitude in degrees.  Unlike GCJ-02 the transform
        applies everywhere (there is no out-of-China pass-through).

    Examples
    --------
    The reference pair of ``coordtransform`` (116.404, 39.915 ->
    116.41036949371029, 39.92133699351021):

    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)
    >>> round(float(lon), 9), round(float(lat), 9)
    (116.410369494, 39.921336994)
    """
    x = np.asarray(lon, float)
    y = np.asarray(lat, float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_approx(lon, lat):
    x = np.asarray(lon, float) - 0.0065
    y = np.asarray(lat, float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_gcj02(lon, lat, *, tol_deg: float = 1e-10, max_iter: int = 20):
    """Convert BD-09 lon/lat to GCJ-02: Baidu's approximate inverse, refined iteratively.

    Baidu's published inverse is only approximate (a few centimetres); it is
    the starting point of the same fixed-point iteration as
    :func:`gcj02_to_wgs84`, on :func:`gcj02_to_bd09`.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees, broadcast together.
    tol_deg : float, default 1e-10
        Stop when no point moves more than this many degrees in a step.
    max_iter : int, default 20
        Most refinement steps taken.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitude and latitude in degrees.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(116.41036949371029, 39.92133699351021)
    >>> round(float(lon), 9), round(float(lat), 9)
    (116.404, 39.915)
    """
    x0, y0 = _bd09_to_gcj02_approx(lon, lat)
    lon, lat = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
    x, y = x0, y0
    for _ in range(max_iter):
        fx, fy = gcj02_to_bd09(x, y)
        ex, ey = fx - lon, fy - lat
        x, y = x - ex, y - ey
        if float(np.nanmax(np.maximum(np.abs(ex), np.abs(ey)), initial=0.0)) < tol_deg:
            break
    return x, y


def wgs84_to_bd09(lon, lat):
    """Convert WGS-84 lon/lat to BD-09 (through GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitude and latitude in degrees, broadcast together.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        BD-09 longitude and latitude in degrees.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """Convert BD-09 lon/lat to WGS-84 (through GCJ-02, both steps iterated).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees (as Baidu Maps publish them),
        broadcast together.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS-84 longitude and latitude in degrees.

    Examples
    --------
    >>> lon, lat = bd09_to_wgs84(*wgs84_to_bd09(118.95, 42.27))  # round trip at Chifeng
    >>> round(float(lon), 9), round(float(lat), 9)
    (118.95, 42.27)
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_CONVERTERS = {
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "wgs84"): bd09_to_wgs84,
    ("wgs84", "bd09"): wgs84_to_bd09,
}


def convert_coords(lon, lat, source: str, target: str):
    """Convert coordinate arrays between ``wgs84``, ``cgcs2000``, ``gcj02`` and ``bd09``.

    ``cgcs2000`` is treated as ``wgs84``: the two agree to a few centimetres,
    well below anything GCJ-02 or BD-09 work can resolve.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees, in ``source``.
    source, target : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        Coordinate systems (:data:`COORD_SYSTEMS`) to convert from and to.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Longitude and latitude in degrees, in ``target``; float copies of the
        input when the two systems are the same.

    Raises
    ------
    ValueError
        ``source`` or ``target`` is not one of :data:`COORD_SYSTEMS`.

    Examples
    --------
    >>> lon, lat = convert_coords([116.404], [39.915], "cgcs2000", "gcj02")
    >>> round(float(lon[0]), 6), round(float(lat[0]), 6)
    (116.410244, 39.916404)
    """
    src = "wgs84" if source == "cgcs2000" else source
    dst = "wgs84" if target == "cgcs2000" else target
    if src == dst:
        return np.asarray(lon, float), np.asarray(lat, float)
    try:
        func = _CONVERTERS[(src, dst)]
    except KeyError:
        raise ValueError(
            f"unknown coordinate systems {source!r} -> {target!r}; choose from {COORD_SYSTEMS}"
        ) from None
    return func(lon, lat)


def convert_geometry(geoms, source: str, target: str):
    """Convert shapely geometries (scalar or array) between coordinate systems.

    Every vertex of every geometry, holes and multi-parts included, is
    converted in one vectorised call through :func:`shapely.transform`.
    Only vertices move: segments stay straight between them, while the shift
    itself varies along a segment, so a long segment departs from the truly
    converted line (in the region, at most 0.15 m for a 1 km segment, 3.5 m
    at 5 km, 36 m at 20 km).  Densify long segments first
    (:func:`shapely.segmentize`) when that matters.

    Parameters
    ----------
    geoms : shapely.Geometry or array_like of shapely.Geometry
        Geometries in lon/lat degrees of ``source``; ``None`` passes through.
    source, target : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        Coordinate systems to convert from and to (see :func:`convert_coords`).

    Returns
    -------
    shapely.Geometry or numpy.ndarray of shapely.Geometry
        New geometries of the same types and vertex counts, like the input.

    Raises
    ------
    ValueError
        Unknown ``source`` or ``target``.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> p = convert_geometry(Point(116.404, 39.915), "wgs84", "gcj02")
    >>> round(p.x, 6), round(p.y, 6)
    (116.410244, 39.916404)
    """

    def _f(xy):
        x, y = convert_coords(xy[:, 0], xy[:, 1], source, target)
        return np.column_stack([x, y])

    return shapely.transform(geoms, _f)


def convert_gdf(gdf, source: str, target: str = "wgs84"):
    """Return a copy of a lon/lat GeoDataFrame converted between systems.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Must hold geographic lon/lat degrees (EPSG:4326 or EPSG:4490).  This is
        not checked: projected coordinates would be treated as degrees (read
        files through :func:`twinstar_gis.data.io.read_layer`, which brings
        them to WGS-84 first).
    source : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        Coordinate system the coordinates are in.
    target : {"wgs84", "cgcs2000", "gcj02", "bd09"}, default "wgs84"
        Coordinate system wanted.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame with every vertex converted (lines and rings first given a vertex every
        :data:`SEGMENT_DEG` for GCJ-02/BD-09, whose offset is not linear), labelled EPSG:4326 (also for
        a GCJ-02 or BD-09 target, which have no EPSG code), indexed like the
        input with all its columns; the input is not modified.

    Raises
    ------
    ValueError
        Unknown ``source`` or ``target``.

    Examples
    --------
    A point digitised on Amap (GCJ-02) at Chifeng lies 560 m east-north-east
    of its true WGS-84 position:

    >>> import geopandas as gpd
    >>> from pyproj import Geod
    >>> from shapely.geometry import Point
    >>> amap = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(118.9562443, 42.2719819)], crs=4326)
    >>> wgs = convert_gdf(amap, "gcj02")
    >>> p = wgs.geometry.iloc[0]
    >>> round(p.x, 5), round(p.y, 5)
    (118.95, 42.27)
    >>> round(Geod(ellps="WGS84").inv(p.x, p.y, 118.9562443, 42.2719819)[2])
    560
    """
    out = gdf.copy()
    geoms = np.asarray(out.geometry.values)
    if source != target and {source, target} & {"gcj02", "bd09"}:
        # The offset is not linear: a long straight segment converted at its ends only would leave the
        # converted line (36 m off at 20 km); vertices every ~1 km keep it within 0.2 m.
        geoms = shapely.segmentize(geoms, SEGMENT_DEG)
    out[out.geometry.name] = convert_geometry(geoms, source, target)
    return out.set_crs("EPSG:4326", allow_override=True)
