"""CRS policy: zones, reading projected / CGCS2000 data, areas on the ellipsoid."""

import itertools

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import Point, box

from twinstar_gis import CRSError
from twinstar_gis.data import crs
from twinstar_gis.data.io import read_layer


@pytest.mark.parametrize("lon,z3,z6", [(116.4, 39, 20), (118.9, 40, 20), (120.1, 40, 21), (122.25, 41, 21), (123.7, 41, 21)])
def test_gauss_kruger_zones_of_the_region(lon, z3, z6):
    assert crs.gk_zone_3deg(lon) == z3
    assert crs.gk_zone_6deg(lon) == z6
    # The zone's central meridian is within half a zone width of the point.
    assert abs(_central_meridian(crs.gk_crs(z3)) - lon) <= 1.5
    assert abs(_central_meridian(crs.gk_crs(z6, width=6)) - lon) <= 3.0


def _central_meridian(c):
    return next(p.value for p in c.coordinate_operation.params if "Longitude of natural origin" in p.name)


@pytest.mark.parametrize("epsg", [4490, 4528, 4549, 4527, 4529, 4499, 4509, 32650, 32651, 3857])
def test_projected_and_cgcs2000_files_are_read_back_to_wgs84(tmp_path, epsg):
    pts = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[Point(118.95, 42.27), Point(122.25, 43.62)], crs="EPSG:4326")
    path = tmp_path / f"p{epsg}.gpkg"
    pts.to_crs(epsg=epsg).to_file(path)
    back = read_layer(path)
    assert back.crs.to_epsg() == 4326
    d = Geod(ellps="WGS84").inv(pts.geometry.x, pts.geometry.y, back.geometry.x, back.geometry.y)[2]
    # CGCS2000 and WGS-84 are treated as one datum: sub-millimetre here.
    assert np.max(d) < 0.001


def test_prefix_free_gauss_kruger_needs_the_right_crs(tmp_path):
    # Zone 40 without prefix (EPSG:4549) read as zone 40 with prefix (4528) lands far away:
    # the regional-extent warning is how validation catches it.
    pts = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(118.95, 42.27)], crs="EPSG:4326").to_crs(4549)
    path = tmp_path / "noprefix.gpkg"
    pts.to_file(path)
    wrong = read_layer(path, crs="EPSG:4528")
    assert abs(wrong.geometry.x.iloc[0] - 118.95) > 10


def test_no_crs_is_refused(tmp_path):
    gdf = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(500000, 4600000)])
    with pytest.raises(CRSError, match="no coordinate reference system"):
        crs.to_storage_crs(gdf, source="x.shp")


def test_geodesic_area_of_one_degree_cell_matches_formula():
    # Area of a lon/lat cell on the ellipsoid via the authalic latitude is hard to do by
    # hand; on a sphere of radius R it is R^2 * dlon * (sin(lat2) - sin(lat1)).  A sphere
    # with the WGS-84 authalic radius agrees with the ellipsoid to ~0.3 % at 42-43 N.
    r = 6371007.2
    sphere = r * r * np.radians(1.0) * (np.sin(np.radians(43)) - np.sin(np.radians(42))) / 1e6
    got = crs.geodesic_area_km2([box(118, 42, 119, 43)])[0]
    assert got == pytest.approx(sphere, rel=0.005)
    assert got == pytest.approx(crs.equal_area_km2(gpd.GeoDataFrame(geometry=[box(118, 42, 119, 43)], crs=4326))[0], rel=1e-3)


def test_geodesic_circle_has_requested_area():
    poly = crs.geodesic_circle(118.9, 42.3, 17.76)
    assert crs.geodesic_area_km2([poly])[0] == pytest.approx(17.76, rel=1e-4)


def test_filegdb_is_read(tmp_path):
    import pyogrio

    if "OpenFileGDB" not in pyogrio.list_drivers(write=True):
        pytest.skip("this GDAL cannot write FileGDB to make the fixture")
    pts = gpd.GeoDataFrame({"park_id": ["G1"], "name_zh": ["园区"]}, geometry=[box(118.80, 42.25, 118.85, 42.30)],
                           crs="EPSG:4326").to_crs(4528)
    gdb = tmp_path / "survey.gdb"
    pyogrio.write_dataframe(pts, gdb, layer="parks", driver="OpenFileGDB")
    back = read_layer(gdb, layer="parks")
    assert back.crs.to_epsg() == 4326 and back["name_zh"].iloc[0] == "园区"
    assert back.geometry.iloc[0].bounds[0] == pytest.approx(118.80, abs=1e-7)


def test_geodesic_length_sums_segments_per_geometry():
    from shapely.geometry import GeometryCollection, LineString, MultiLineString, Polygon

    g = Geod(ellps="WGS84")
    leg = lambda a, b: g.inv(*a, *b)[2] / 1000  # one geodesic segment, km
    line = LineString([(120, 43), (121, 43.5), (121.2, 44)])
    multi = MultiLineString([[(120, 43), (121, 43)], [(119, 42), (119, 43)]])
    holed = Polygon([(120, 43), (121, 43), (121, 44), (120, 44)], [[(120.2, 43.2), (120.4, 43.2), (120.4, 43.4)]])
    coll = GeometryCollection([Point(0, 0), LineString([(120, 43), (120, 44)])])
    got = crs.geodesic_length_km([line, None, multi, holed, Point(1, 2), LineString(), coll])
    ring = [(120, 43), (121, 43), (121, 44), (120, 44), (120, 43)]
    want = [leg((120, 43), (121, 43.5)) + leg((121, 43.5), (121.2, 44)), np.nan,
            leg((120, 43), (121, 43)) + leg((119, 42), (119, 43)),
            sum(leg(a, b) for a, b in itertools.pairwise(ring)),  # exterior only, as Geod.geometry_length
            0.0, 0.0, leg((120, 43), (120, 44))]
    assert np.allclose(got, want, rtol=1e-12, equal_nan=True)
