"""The CRS policy of twinstar_gis, in one place.

* **Storage and exchange**: WGS-84 lon/lat (EPSG:4326).  Every layer the tool
  writes is in EPSG:4326; every layer it reads is brought there first.
* **Reading**: anything PROJ knows is read through its CRS, including
  CGCS2000 (EPSG:4490) and its Gauss-Krueger projections (3-degree zones
  EPSG:4513-4533 with zone prefix, 4534-4554 without; 6-degree zones
  EPSG:4491-4501 with prefix, 4502-4512 without), UTM, Web Mercator.
  CGCS2000 and WGS-84 differ by a few centimetres; we treat them as equal
  (documented, well below the accuracy of any layer here).  GCJ-02 and BD-09
  are not datums; they are declared explicitly (``coord_system``) and
  converted by :mod:`twinstar_gis.data.gcj02`, never guessed.
* **Measuring**: distances and lengths on the WGS-84 ellipsoid with
  :class:`pyproj.Geod`; areas on the ellipsoid (``Geod.geometry_area_perimeter``)
  or, for overlays, in :data:`EQUAL_AREA_CRS`, an Albers equal-area projection
  centred on the region.  No single Gauss-Krueger or UTM zone covers the
  region (it spans 3-degree zones 39-41 and 6-degree zones 20-21), so no
  zone projection is used for measuring.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import shapely
from pyproj import CRS, Geod, Proj
from pyproj.crs import GeographicCRS, ProjectedCRS
from pyproj.crs.coordinate_operation import AlbersEqualAreaConversion

from ..errors import CRSError

__all__ = [
    "STORAGE_CRS",
    "EQUAL_AREA_CRS",
    "albers_for",
    "study_area_crs",
    "scale_error",
    "GEOD",
    "CGCS2000",
    "gk_zone_3deg",
    "gk_zone_6deg",
    "gk_crs",
    "to_storage_crs",
    "geodesic_area_km2",
    "geodesic_length_km",
    "equal_area_km2",
    "geodesic_circle",
    "local_aeqd",
]

log = logging.getLogger(__name__)

STORAGE_CRS = CRS.from_epsg(4326)
CGCS2000 = CRS.from_epsg(4490)
GEOD = Geod(ellps="WGS84")


def albers_for(lat_1: float, lat_2: float, lat_0: float, lon_0: float, *, name: str) -> CRS:
    """Make a named Albers equal-area CRS on WGS-84 (metres; no false easting/northing).

    The name is written into the WKT, so QGIS and GDAL show it instead of "unknown".

    Parameters
    ----------
    lat_1, lat_2 : float
        First and second standard parallels, degrees north (scale is true along them).
    lat_0 : float
        Latitude of the origin (false origin), degrees north.
    lon_0 : float
        Central meridian (longitude of the origin), degrees east.
    name : str
        Name of the CRS, written into its WKT.

    Returns
    -------
    pyproj.crs.ProjectedCRS
        The projection; coordinates in metres, (0, 0) at (``lon_0``, ``lat_0``).

    Examples
    --------
    >>> from pyproj import Transformer
    >>> crs = albers_for(41.5, 45.5, 43.5, 120.5, name="Twin Star Albers Equal Area")
    >>> crs.name
    'Twin Star Albers Equal Area'
    >>> x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(120.5, 43.5)
    >>> round(x, 6) + 0.0, round(y, 6) + 0.0
    (0.0, 0.0)
    """
    conv = AlbersEqualAreaConversion(lat_1, lat_2, lat_0, lon_0)
    return ProjectedCRS(conversion=conv, geodetic_crs=GeographicCRS(name="WGS 84", datum="WGS84"), name=name)


#: Albers equal-area on WGS-84, standard parallels 41.5/45.5 N bracketing the Twin Star region
#: (the two prefectures span 41.3-45.7 N, 116.3-123.7 E), centred on 43.5 N 120.5 E.
EQUAL_AREA_CRS = albers_for(41.5, 45.5, 43.5, 120.5, name="Twin Star Albers Equal Area")
#: Largest scale error (|k - 1|) the region's projection may have over a study area before a
#: projection of the study area's own is derived (it is 0.05 % over the two prefectures).
REGION_CRS_MAX_SCALE_ERROR = 0.005


def scale_error(crs: CRS, bounds, n: int = 9) -> float:
    """Largest |scale - 1| of a projection over a lon/lat box (sampled on an n x n lattice).

    For an equal-area projection the meridian and parallel scales are reciprocal, so this
    is the largest distance error in any direction.

    Parameters
    ----------
    crs : pyproj.CRS
    bounds : sequence of float
        lon_min, lat_min, lon_max, lat_max.
    n : int
        Lattice points per side.

    Returns
    -------
    float
    """
    lon = np.linspace(bounds[0], bounds[2], n)
    lat = np.linspace(bounds[1], bounds[3], n)
    lo, la = np.meshgrid(lon, lat)
    f = Proj(crs).get_factors(lo.ravel(), la.ravel())
    return float(np.max(np.abs(np.concatenate([f.meridional_scale, f.parallel_scale]) - 1.0)))


def study_area_crs(boundaries=None, *, bounds=None, name: str | None = None) -> CRS:
    """The equal-area projection of a study area: the grid and the measuring projection of the model.

    The region's own projection (:data:`EQUAL_AREA_CRS`) when its scale error over the study
    area is at most 0.5 % (so the Twin Star region and any part of it keep one grid); else an
    Albers projection derived from the study area's bounding box: standard parallels at 1/6
    and 5/6 of its latitude span, centred on it (scale error about span**2 / 4 degrees**2 x
    0.0001, 0.05 % for a 4.4 degree span), named after the study area.

    Parameters
    ----------
    boundaries : GeoDataFrame, optional
        The study area's boundaries (any CRS); prefectures when a ``level`` column says so.
    bounds : sequence of float, optional
        lon_min, lat_min, lon_max, lat_max instead of ``boundaries``.
    name : str, optional
        Name of a derived projection (default "Study area Albers Equal Area").

    Returns
    -------
    pyproj.CRS

    Examples
    --------
    >>> study_area_crs(bounds=(116.35, 41.28, 123.71, 45.65)).name
    'Twin Star Albers Equal Area'
    >>> c = study_area_crs(bounds=(24.0, 59.0, 27.0, 61.0), name="Uusimaa Albers Equal Area")
    >>> p = {q.name: q.value for q in c.coordinate_operation.params}
    >>> c.name, p["Latitude of 1st standard parallel"], p["Latitude of 2nd standard parallel"], p["Longitude of false origin"]
    ('Uusimaa Albers Equal Area', 59.3333, 60.6667, 25.5)
    """
    if bounds is None:
        b = boundaries
        if "level" in b.columns and (b["level"] == "prefecture").any():
            b = b[b["level"] == "prefecture"]
        bounds = b.to_crs(4326).total_bounds
    lon0, lat0, lon1, lat1 = (float(v) for v in bounds)
    if not all(math.isfinite(v) for v in (lon0, lat0, lon1, lat1)):
        raise CRSError("the study area has no extent: give boundaries with geometry")
    if scale_error(EQUAL_AREA_CRS, (lon0, lat0, lon1, lat1)) <= REGION_CRS_MAX_SCALE_ERROR:
        return EQUAL_AREA_CRS
    span = max(lat1 - lat0, 0.1)
    mid = (lat0 + lat1) / 2
    return albers_for(round(mid - span / 3, 4), round(mid + span / 3, 4), round(mid, 4), round((lon0 + lon1) / 2, 4),
                      name=name or "Study area Albers Equal Area")


def gk_zone_3deg(lon: float) -> int:
    """Find the 3-degree Gauss-Krueger zone of a longitude (central meridian = 3 * zone).

    Zone ``n`` covers longitudes ``[3n - 1.5, 3n + 1.5)``; a longitude on a zone
    edge belongs to the zone east of it.

    Parameters
    ----------
    lon : float
        Longitude, degrees east.

    Returns
    -------
    int
        The zone number (the Twin Star region, 116.3-123.7 E, spans zones 39-41).

    Examples
    --------
    Chifeng city (118.9 E) lies in zone 40 (118.5-121.5 E), Tongliao (122.3 E) in zone 41:

    >>> gk_zone_3deg(118.9), gk_zone_3deg(122.3), gk_zone_3deg(118.5)
    (40, 41, 40)
    """
    return int(math.floor((lon - 1.5) / 3.0)) + 1


def gk_zone_6deg(lon: float) -> int:
    """Find the 6-degree Gauss-Krueger zone of a longitude (central meridian = 6 * zone - 3).

    Zone ``n`` covers longitudes ``[6n - 6, 6n)``; a longitude on a zone edge
    belongs to the zone east of it.

    Parameters
    ----------
    lon : float
        Longitude, degrees east.

    Returns
    -------
    int
        The zone number (the Twin Star region spans zones 20-21).

    Examples
    --------
    Chifeng city (118.9 E) lies in zone 20 (114-120 E), Tongliao (122.3 E) in zone 21:

    >>> gk_zone_6deg(118.9), gk_zone_6deg(122.3), gk_zone_6deg(120.0)
    (20, 21, 21)
    """
    return int(math.floor(lon / 6.0)) + 1


def gk_crs(zone: int, *, width: int = 3, prefix: bool = True) -> CRS:
    """Look up the CGCS2000 Gauss-Krueger CRS (an EPSG code) of a zone.

    Parameters
    ----------
    zone : int
        Zone number (3-degree: 25-45; 6-degree: 13-23), e.g. from
        :func:`gk_zone_3deg` or :func:`gk_zone_6deg`.
    width : {3, 6}, default 3
        Zone width, degrees of longitude.
    prefix : bool, default True
        Whether false eastings carry the zone number (``zone * 1e6 + 500000`` m)
        or not (``500000`` m).

    Returns
    -------
    pyproj.CRS
        EPSG:4513-4533 (3-degree, prefix), 4534-4554 (3-degree, no prefix),
        4491-4501 (6-degree, prefix) or 4502-4512 (6-degree, no prefix).

    Raises
    ------
    CRSError
        If EPSG has no CGCS2000 Gauss-Krueger CRS for ``zone`` and ``width``.

    Examples
    --------
    >>> gk_crs(40).to_epsg(), gk_crs(40, prefix=False).to_epsg()
    (4528, 4549)
    >>> gk_crs(21, width=6).to_epsg()
    4499
    """
    if width == 3 and 25 <= zone <= 45:
        return CRS.from_epsg((4513 if prefix else 4534) + zone - 25)
    if width == 6 and 13 <= zone <= 23:
        return CRS.from_epsg((4491 if prefix else 4502) + zone - 13)
    raise CRSError(f"no CGCS2000 Gauss-Krueger zone {zone} of width {width}")


def to_storage_crs(gdf, *, source: str = "", crs_override=None):
    """Bring a GeoDataFrame to EPSG:4326, refusing data without a CRS.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
    source : str
        Name of the file / layer, for messages.
    crs_override : str or pyproj.CRS, optional
        Use this CRS instead of (or in the absence of) the file's own.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame in EPSG:4326.
    """
    if crs_override is not None:
        try:
            gdf = gdf.set_crs(CRS.from_user_input(crs_override), allow_override=True)
        except Exception as exc:  # pyproj raises its own CRSError family
            raise CRSError(f"{source}: cannot use CRS override {crs_override!r}: {exc}") from None
    if gdf.crs is None:
        raise CRSError(
            f"{source}: the layer has no coordinate reference system. "
            "Add a .prj / CRS to the file, or give one with `crs = \"EPSG:4490\"` "
            "in the project file (or --crs on the command line)."
        )
    if CRS.from_user_input(gdf.crs).equals(STORAGE_CRS):
        return gdf.copy()
    log.debug("%s: reprojecting from %s to EPSG:4326", source, gdf.crs.name)
    return gdf.to_crs(STORAGE_CRS)


def _oriented(geoms):
    return shapely.orient_polygons(geoms, exterior_cw=False)


def geodesic_area_km2(geoms) -> np.ndarray:
    """Measure areas on the WGS-84 ellipsoid, km2, of lon/lat geometries.

    Polygons are oriented first (exterior counter-clockwise) and measured with
    :meth:`pyproj.Geod.geometry_area_perimeter` (geodesic edges); holes are
    subtracted.  Points, lines and empty geometries have area 0; missing
    geometries (``None``) NaN.

    Parameters
    ----------
    geoms : shapely geometry or array-like of shapely geometries
        Geometries in lon/lat degrees (EPSG:4326 or CGCS2000), e.g.
        ``gdf.geometry.values``.  The CRS is not checked.

    Returns
    -------
    numpy.ndarray of float
        One area per geometry, km2.

    Examples
    --------
    A 0.1 x 0.1 degree square on the equator covers 123.09 km2 (the
    quadrangle's area by the authalic-latitude formula,
    ``a**2 / 2 * dlon * (q(lat2) - q(lat1))``, agrees to 0.0001 km2):

    >>> from shapely.geometry import LineString, box
    >>> geodesic_area_km2([box(0, 0, 0.1, 0.1), LineString([(0, 0), (1, 1)]), None]).round(2).tolist()
    [123.09, 0.0, nan]
    """
    arr = np.atleast_1d(np.asarray(geoms, dtype=object))
    out = np.full(len(arr), np.nan)
    for i, g in enumerate(_oriented(arr)):
        if g is None:
            continue
        if g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
            out[i] = 0.0
            continue
        area, _ = GEOD.geometry_area_perimeter(g)
        out[i] = abs(area) / 1e6
    return out


def _linework(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every line and polygon exterior ring of ``geoms`` (multi-parts and collections opened), with its owner's index."""
    idx = np.arange(len(geoms))
    while True:
        multi = shapely.get_type_id(geoms) >= 4  # Multi* and GeometryCollection
        if not multi.any():
            break
        parts, k = shapely.get_parts(geoms[multi], return_index=True)
        geoms = np.concatenate([geoms[~multi], parts])
        idx = np.concatenate([idx[~multi], idx[multi][k]])
    poly = shapely.get_type_id(geoms) == 3  # exterior ring only, as Geod.geometry_length
    line = np.isin(shapely.get_type_id(geoms), (1, 2))  # LineString, LinearRing; points have no length
    return np.concatenate([geoms[line], shapely.get_exterior_ring(geoms[poly])]), np.concatenate([idx[line], idx[poly]])


def geodesic_length_km(geoms) -> np.ndarray:
    """Measure lengths on the WGS-84 ellipsoid, km, of lon/lat lines (polygons: perimeter of the exterior ring).

    Vectorised: one :meth:`pyproj.Geod.inv` call over every segment of every geometry
    (the sum of the segments' geodesic lengths, as ``Geod.geometry_length``).  Parts of
    multi-part geometries and collections are added up; holes are not counted; points and
    empty geometries have length 0, missing ones (``None``) NaN.

    Parameters
    ----------
    geoms : shapely geometry or array-like of shapely geometries
        Geometries in lon/lat degrees (EPSG:4326 or CGCS2000), e.g.
        ``gdf.geometry.values``.  The CRS is not checked.

    Returns
    -------
    numpy.ndarray of float
        One length per geometry, km.

    Examples
    --------
    One degree along the equator is ``6378137 m * pi / 180`` = 111.319 km; one
    degree of latitude from the equator (a meridian arc) 110.574 km:

    >>> from shapely.geometry import LineString, Point
    >>> geodesic_length_km([LineString([(0, 0), (1, 0)]), LineString([(0, 0), (0, 1)]), Point(0, 0), None]).round(3).tolist()
    [111.319, 110.574, 0.0, nan]
    """
    arr = np.atleast_1d(np.asarray(geoms, dtype=object))
    out = np.full(len(arr), np.nan)
    ok = np.flatnonzero(~shapely.is_missing(arr))
    out[ok] = 0.0
    lines, owner = _linework(arr[ok])
    xy, k = shapely.get_coordinates(lines, return_index=True)
    same = k[1:] == k[:-1]  # consecutive vertices of the same line or ring
    if same.any():
        _, _, d = GEOD.inv(xy[:-1, 0][same], xy[:-1, 1][same], xy[1:, 0][same], xy[1:, 1][same])
        out[ok] += np.bincount(owner[k[1:][same]], weights=d, minlength=len(ok)) / 1000.0
    return out


def equal_area_km2(gdf) -> np.ndarray:
    """Measure areas in the regional Albers equal-area projection (:data:`EQUAL_AREA_CRS`), km2.

    Edges are straight in the projection, so for large polygons the result differs
    slightly from :func:`geodesic_area_km2` (geodesic edges); use it where overlays
    are computed in that projection.

    Parameters
    ----------
    gdf : GeoDataFrame or GeoSeries
        Polygons with a CRS (any; they are reprojected).

    Returns
    -------
    numpy.ndarray of float
        One area per row, km2 (0 for points and lines).

    Examples
    --------
    A 0.1 x 0.1 degree quadrangle at 43 N covers 90.513 km2 on the ellipsoid (the
    authalic-latitude formula):

    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> equal_area_km2(gpd.GeoSeries([box(120.0, 43.0, 120.1, 43.1)], crs=4326)).round(3).tolist()
    [90.513]
    """
    return gdf.to_crs(EQUAL_AREA_CRS).area.to_numpy() / 1e6


def local_aeqd(lon: float, lat: float) -> CRS:
    """Make an azimuthal equidistant CRS centred on a point (for local constructions).

    Distances and directions from the centre are true (on WGS-84), so a circle
    or ellipse of given metres drawn around (0, 0) is one on the ground.

    Parameters
    ----------
    lon, lat : float
        The centre, degrees east and north (WGS-84).

    Returns
    -------
    pyproj.CRS
        The projection, in metres, with (0, 0) at the centre.

    Examples
    --------
    A point 0.1 degree north of the centre lies due north, at the meridian-arc
    distance (``pyproj.Geod.inv`` gives 11109.371 m):

    >>> from pyproj import Transformer
    >>> x, y = Transformer.from_crs(4326, local_aeqd(120.0, 43.0), always_xy=True).transform(120.0, 43.1)
    >>> round(x, 3) + 0.0, round(y, 3)
    (0.0, 11109.371)
    """
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m +no_defs")


def geodesic_circle(lon: float, lat: float, area_km2: float, *, n: int = 72):
    """Draw a polygon of a given ellipsoidal area centred on a point.

    Built as a circle of radius ``sqrt(A / pi)`` on the ellipsoid (``n`` vertices at
    equal azimuths, by :meth:`pyproj.Geod.fwd`), then rescaled twice so its geodesic
    area (:func:`geodesic_area_km2`) matches ``area_km2`` to better than 0.01 %.  Used
    for *indicative* footprints whose real outline is not published.

    Parameters
    ----------
    lon, lat : float
        The centre, degrees east and north (WGS-84).
    area_km2 : float
        The area wanted, km2; must be positive.
    n : int, default 72
        Number of vertices.

    Returns
    -------
    shapely.geometry.Polygon
        The footprint, lon/lat (EPSG:4326).

    Examples
    --------
    A regular 72-gon inscribed in a circle of radius ``r`` covers
    ``pi r**2 * sin(2 pi / 72) / (2 pi / 72)``, so a 100 km2 footprint has its
    vertices ``sqrt(100 / pi) / sqrt(0.998731)`` = 5.645 km from the centre:

    >>> from pyproj import Geod
    >>> c = geodesic_circle(120.0, 43.0, 100.0)
    >>> round(abs(Geod(ellps="WGS84").geometry_area_perimeter(c)[0]) / 1e6, 4)
    100.0
    >>> round(Geod(ellps="WGS84").inv(120.0, 43.0, *c.exterior.coords[0])[2] / 1000, 3)
    5.645
    """
    from shapely.geometry import Polygon

    r = math.sqrt(area_km2 * 1e6 / math.pi)
    az = np.linspace(0.0, 360.0, n, endpoint=False)
    for _ in range(3):
        lons, lats, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, r))
        poly = Polygon(zip(lons, lats))
        got = geodesic_area_km2([poly])[0]
        r *= math.sqrt(area_km2 / got)
    return poly
