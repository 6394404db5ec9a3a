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
    """A named Albers equal-area CRS on WGS-84 (metres; no false easting/northing).

    The name is written into the WKT, so QGIS and GDAL show it instead of "unknown".

    Examples
    --------
    >>> albers_for(41.5, 45.5, 43.5, 120.5, name="Twin Star Albers Equal Area").name
    'Twin Star Albers Equal Area'
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
    """3-degree Gauss-Krueger zone number for a longitude (CM = 3 * zone)."""
    return int(math.floor((lon - 1.5) / 3.0)) + 1


def gk_zone_6deg(lon: float) -> int:
    """6-degree Gauss-Krueger zone number for a longitude (CM = 6 * zone - 3)."""
    return int(math.floor(lon / 6.0)) + 1


def gk_crs(zone: int, *, width: int = 3, prefix: bool = True) -> CRS:
    """CGCS2000 Gauss-Krueger CRS for a zone.

    Parameters
    ----------
    zone : int
        Zone number (3-degree: 25-45; 6-degree: 13-23).
    width : {3, 6}
    prefix : bool, default True
        Whether false eastings carry the zone number (``zone * 1e6 + 500000``).

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
    """Area on the WGS-84 ellipsoid, km2, for lon/lat geometries.

    Holes are subtracted; non-polygons have area 0; missing geometries NaN.
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
    """Length on the WGS-84 ellipsoid, km, for lon/lat lines (polygons: perimeter of the exterior ring).

    Vectorised: one :meth:`pyproj.Geod.inv` call over every segment of every geometry
    (the sum of the segments' geodesic lengths, as ``Geod.geometry_length``); points and
    empty geometries have length 0, missing ones NaN.
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
    """Area in the regional Albers equal-area projection, km2."""
    return gdf.to_crs(EQUAL_AREA_CRS).area.to_numpy() / 1e6


def local_aeqd(lon: float, lat: float) -> CRS:
    """Azimuthal equidistant CRS centred on a point (for local constructions)."""
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m +no_defs")


def geodesic_circle(lon: float, lat: float, area_km2: float, *, n: int = 72):
    """Polygon of a given ellipsoidal area centred on a point.

    Built as a circle of radius ``sqrt(A / pi)`` on the ellipsoid (vertices by
    :meth:`pyproj.Geod.fwd`), then rescaled once so its geodesic area matches
    ``area_km2`` to better than 0.01 %.  Used for *indicative* footprints
    whose real outline is not published.
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
