"""GCJ-02 / BD-09 conversion, checked against an independent scalar implementation and the ellipsoid."""

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import (GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point,
                              Polygon)

from twinstar_gis.data import gcj02

GEOD = Geod(ellps="WGS84")


def _scalar_wgs_to_gcj(lon, lat):
    """The published formula, written out per point with math (independent of the module)."""
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (a / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def _grid(step=0.05):
    lon, lat = np.meshgrid(np.arange(115.0, 125.0 + 1e-9, step), np.arange(40.0, 47.0 + 1e-9, step))
    return lon.ravel(), lat.ravel()


def test_forward_matches_scalar_reference():
    rng = np.random.default_rng(1)
    lon = rng.uniform(73, 135, 500)
    lat = rng.uniform(18, 53, 500)
    glon, glat = gcj02.wgs84_to_gcj02(lon, lat)
    ref = np.array([_scalar_wgs_to_gcj(a, b) for a, b in zip(lon, lat)])
    assert np.max(np.abs(glon - ref[:, 0])) < 1e-12
    assert np.max(np.abs(glat - ref[:, 1])) < 1e-12


def test_round_trip_under_1cm_on_regional_grid():
    lon, lat = _grid()
    assert lon.size > 28_000
    glon, glat = gcj02.wgs84_to_gcj02(lon, lat)
    blon, blat = gcj02.gcj02_to_wgs84(glon, glat)
    err_m = GEOD.inv(lon, lat, blon, blat)[2]
    assert err_m.max() < 0.01


def test_inverse_recovers_points_defined_in_gcj():
    # Start from GCJ coordinates (as Amap publishes them): the WGS point found
    # must map forward onto them again to within 1 cm.
    lon, lat = _grid(0.25)
    wlon, wlat = gcj02.gcj02_to_wgs84(lon, lat)
    flon, flat = gcj02.wgs84_to_gcj02(wlon, wlat)
    assert GEOD.inv(lon, lat, flon, flat)[2].max() < 0.01


def test_offset_in_region_is_about_half_a_kilometre():
    # DATA_SOURCES.md: 460-640 m in this region, about 550 m at both city centres.
    lon, lat = np.meshgrid(np.arange(116.4, 123.7, 0.1), np.arange(41.3, 45.6, 0.1))
    glon, glat = gcj02.wgs84_to_gcj02(lon.ravel(), lat.ravel())
    off = GEOD.inv(lon.ravel(), lat.ravel(), glon, glat)[2]
    assert 400 < off.min() and off.max() < 700
    for city_lon, city_lat in [(118.95, 42.27), (122.25, 43.62)]:
        g = gcj02.wgs84_to_gcj02(city_lon, city_lat)
        d = GEOD.inv(city_lon, city_lat, float(g[0]), float(g[1]))[2]
        assert 500 < d < 600


@pytest.mark.parametrize("lon,lat", [(2.35, 48.85), (139.9, 35.7), (100.0, 60.0), (-74.0, 40.7)])
def test_outside_china_passes_through(lon, lat):
    assert gcj02.out_of_china(lon, lat)
    glon, glat = gcj02.wgs84_to_gcj02(lon, lat)
    wlon, wlat = gcj02.gcj02_to_wgs84(lon, lat)
    assert (float(glon), float(glat)) == (lon, lat) == (float(wlon), float(wlat))


def test_bd09_round_trip_and_offset():
    lon, lat = _grid(0.25)
    blon, blat = gcj02.gcj02_to_bd09(lon, lat)
    # Baidu's extra shift is about 0.0065 deg E, 0.006 deg N (several hundred metres).
    d = GEOD.inv(lon, lat, blon, blat)[2]
    assert 600 < d.min() and d.max() < 1000
    glon, glat = gcj02.bd09_to_gcj02(blon, blat)
    assert GEOD.inv(lon, lat, glon, glat)[2].max() < 0.01
    wlon, wlat = gcj02.bd09_to_wgs84(*gcj02.wgs84_to_bd09(lon, lat))
    assert GEOD.inv(lon, lat, wlon, wlat)[2].max() < 0.01


def test_geodataframe_every_geometry_type_holes_included():
    shell = [(118.0, 42.0), (119.0, 42.0), (119.0, 43.0), (118.0, 43.0)]
    hole = [(118.4, 42.4), (118.6, 42.4), (118.6, 42.6), (118.4, 42.6)]
    geoms = [
        Point(118.9, 42.3),
        MultiPoint([(118.9, 42.3), (122.2, 43.6)]),
        LineString([(118.9, 42.3), (122.2, 43.6)]),
        MultiLineString([[(118.9, 42.3), (119.0, 42.4)], [(122.2, 43.6), (122.3, 43.7)]]),
        Polygon(shell, [hole]),
        MultiPolygon([Polygon(shell, [hole]), Polygon([(121, 43), (122, 43), (122, 44)])]),
        GeometryCollection([Point(120, 43), LineString([(120, 43), (121, 44)])]),
    ]
    gdf = gpd.GeoDataFrame({"k": range(len(geoms))}, geometry=geoms, crs="EPSG:4326", index=list("abcdefg"))
    before = gdf.copy()
    out = gcj02.convert_gdf(gdf, "wgs84", "gcj02")
    assert gdf.geom_equals_exact(before, tolerance=0).all()  # input untouched
    assert list(out.index) == list("abcdefg") and out.crs.to_epsg() == 4326
    dense = gdf.geometry.segmentize(gcj02.SEGMENT_DEG)  # converted geometries get a vertex every ~1 km first
    for g_in, g_out in zip(dense, out.geometry):
        assert g_in.geom_type == g_out.geom_type
        cin = np.array([c for c in _coords(g_in)])
        cout = np.array([c for c in _coords(g_out)])
        ref = np.array([_scalar_wgs_to_gcj(x, y) for x, y in cin])
        assert np.abs(cout - ref).max() < 1e-12
    assert len(out.geometry["e"].interiors) == 1
    back = gcj02.convert_gdf(out, "gcj02", "wgs84")
    # The way back adds vertices of its own between the ~1 km vertices: they may sit up to ~0.2 m (2e-6 deg)
    # off the straight line, the non-linearity the densification bounds; every original vertex comes back exactly.
    assert (shapely.hausdorff_distance(back.geometry.values, dense.values) < 2e-6).all()


def _coords(g):
    if hasattr(g, "geoms"):
        for part in g.geoms:
            yield from _coords(part)
    elif g.geom_type == "Polygon":
        yield from g.exterior.coords
        for ring in g.interiors:
            yield from ring.coords
    else:
        yield from g.coords


def test_unknown_coordinate_system_is_refused():
    with pytest.raises(ValueError, match="unknown coordinate systems"):
        gcj02.convert_coords([1.0], [1.0], "wgs84", "mars")


def test_a_long_straight_line_is_converted_along_its_length_not_only_at_its_ends():
    """GCJ-02's offset is not linear: the midpoint of a 20 km Amap line must land where the midpoint converts to."""
    a, b = (119.00, 42.20), (119.24, 42.20)  # ~20 km east-west, GCJ-02
    line = gcj02.convert_gdf(gpd.GeoDataFrame(geometry=[LineString([a, b])], crs=4326), "gcj02")
    mid = gcj02.convert_gdf(gpd.GeoDataFrame(geometry=[Point(119.12, 42.20)], crs=4326), "gcj02").geometry.iloc[0]
    on_line = line.geometry.iloc[0].interpolate(line.geometry.iloc[0].project(mid))
    off_m = Geod(ellps="WGS84").inv(mid.x, mid.y, on_line.x, on_line.y)[2]
    assert off_m < 0.5  # 36 m when only the two ends are converted
