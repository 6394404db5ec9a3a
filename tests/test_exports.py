"""Exchange files of a run (no QGIS needed): GeoPackage 1.2, .csvt, tables.xlsx, the network for QGIS,
raster descriptions, the field dictionary, and `twinstar export` (CGCS2000 / Gauss-Krüger, GBK Shapefiles).

Expected values come from the files themselves read another way (sqlite3, openpyxl, the DBF bytes),
pyproj and published facts (EPSG:4549 is CGCS2000 3° Gauss-Krüger with central meridian 120°E and a
false easting of 500 km), or hand-built networks whose lengths pyproj.Geod gives.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod, Transformer

from twinstar_gis.data.io import read_csv_table
from twinstar_gis.run import exports as X

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real `twinstar run` on a coarse grid (figures left out: not part of these checks)."""
    import twinstar_gis.maps as maps
    from twinstar_gis.pipeline.steps import run_all

    mp = pytest.MonkeyPatch()
    mp.setattr(maps, "write_figures", lambda *a, **k: [])
    try:
        out = tmp_path_factory.mktemp("exrun") / "run"
        run_all(out, resolution=8000, command=["twinstar", "run"])
    finally:
        mp.undo()
    return out


def test_every_geopackage_of_a_run_is_version_1_2(run_dir):
    gpkgs = sorted(run_dir.glob("*/*.gpkg"))
    assert {p.name for p in gpkgs} >= {"twinstar.gpkg", "overlap.gpkg", "isochrones.gpkg", "network.gpkg", "sites.gpkg"}
    for p in gpkgs:
        con = sqlite3.connect(p)
        app, uv = con.execute("PRAGMA application_id").fetchone()[0], con.execute("PRAGMA user_version").fetchone()[0]
        con.close()
        assert (app, uv) == (0x47504B47, 10200), p.name  # 'GPKG', 1.2.0


def test_rewriting_a_1_4_geopackage_keeps_its_layers_and_types(tmp_path):
    g = gpd.GeoDataFrame({"name_zh": ["赤峰", "通辽"], "n": pd.array([1, None], dtype="Int64"), "x": [0.5, 1.5]},
                         geometry=shapely.points([118.9, 122.2], [42.3, 43.6]), crs=4326)
    p = tmp_path / "a.gpkg"
    pyogrio.write_dataframe(g, p, layer="pts", driver="GPKG")  # GDAL's default: 1.4
    pyogrio.write_dataframe(pd.DataFrame({"k": ["v"]}), p, layer="meta", driver="GPKG")
    assert X.gpkg_version(p) == "1.4"
    assert X.ensure_gpkg_1_2(p) and X.gpkg_version(p) == "1.2" and not X.ensure_gpkg_1_2(p)
    assert [n for n, _ in pyogrio.list_layers(p)] == ["pts", "meta"]
    info = pyogrio.read_info(p, layer="pts")
    assert list(info["fields"]) == ["name_zh", "n", "x"] and str(info["dtypes"][1]).startswith("int")
    back = pyogrio.read_dataframe(p, layer="pts")
    assert back["name_zh"].tolist() == ["赤峰", "通辽"] and back["n"].iloc[0] == 1 and pd.isna(back["n"].iloc[1])


def test_csvt_beside_every_csv_types_numbers_and_codes(run_dir):
    csvs = sorted(run_dir.rglob("*.csv"))
    assert len(csvs) >= 18
    for csv in csvs:
        t = csv.with_suffix(".csvt").read_text(encoding="ascii")
        types = [x.strip('"') for x in t.strip().split(",")]
        header = pd.read_csv(csv, encoding="utf-8-sig", nrows=0).columns
        assert t.count("\n") == 1 and len(types) == len(header), csv.name
    types = dict(zip(pd.read_csv(run_dir / "access/county_access.csv", encoding="utf-8-sig", nrows=0).columns,
                     (run_dir / "access/county_access.csvt").read_text().strip().replace('"', "").split(",")))
    assert types["adcode"] == "String" and types["city_adcode"] == "String"  # 150402 stays a code
    assert types["mean_min"] == "Real" and types["cells"] == "Integer64" and types["name_zh"] == "String"


def test_workbook_has_chinese_headers_units_numbers_and_no_formulas(run_dir):
    from openpyxl import load_workbook

    wb = load_workbook(run_dir / "tables.xlsx")
    assert wb.sheetnames[0] == "说明 README"
    csvs = sorted(run_dir.rglob("*.csv"))
    assert len(wb.sheetnames) == len(csvs) + 1
    ws = wb["county_access"]
    table = pd.read_csv(run_dir / "access/county_access.csv", encoding="utf-8-sig", dtype={"adcode": str})
    head, names = [c.value for c in ws[1]], [c.value for c in ws[2]]
    assert names == list(table.columns)
    assert head[names.index("mean_min")] == "平均时间 (min)" and head[names.index("adcode")] == "行政区划代码"
    assert head[names.index("population_60min")] == "60分钟圈内人口（估算） (人)"
    row = [c.value for c in ws[3]]
    assert row[names.index("adcode")] == table["adcode"].iloc[0] == "150402"  # text, never 150,402
    assert row[names.index("mean_min")] == pytest.approx(table["mean_min"].iloc[0])  # a number, not text
    assert isinstance(row[names.index("cells")], int)
    for sheet in wb.worksheets:
        for r in sheet.iter_rows():
            for c in r:
                assert c.data_type != "f", (sheet.title, c.coordinate, c.value)  # no cell is a formula
    sites = wb["sites"]
    ids = [c.value for c in sites["B"][2:]]
    cand = [c for c in sites["B"][2:] if isinstance(c.value, str) and c.value.startswith("-")]
    # the CSV carries the OWASP quote ('-26_-63); the workbook the id itself, marked as text (Excel's quote prefix)
    assert ids == read_csv_table(run_dir / "planning/sites.csv", dtype=str)["candidate_id"].tolist()
    assert cand and all(c.data_type == "s" and c.quotePrefix for c in cand)  # "-26_-63": text, quote-prefixed


def test_neutralise_follows_owasp():
    """The one rule of every CSV and the workbook (data.io.neutralise_cell): a plain number stays a number."""
    assert [X.neutralise(v) for v in ("=SUM(A1)", "+1", "-27_-63", "@x", "\tx", "\rx", "ok", "a=b", 5)] == \
        ["'=SUM(A1)", "+1", "'-27_-63", "'@x", "'\tx", "'\rx", "ok", "a=b", 5]


def test_every_column_of_a_run_has_a_chinese_label(run_dir):
    """The field dictionary covers every column the run writes (CSV and GeoPackage): no raw names in Excel or QGIS."""
    cols = set()
    for csv in run_dir.rglob("*.csv"):
        if "matrix" not in csv.name:
            cols |= set(pd.read_csv(csv, encoding="utf-8-sig", nrows=0).columns)
    for p in run_dir.glob("*/*.gpkg"):
        for name, _ in pyogrio.list_layers(p):
            if name != "layer_styles":  # QGIS's own table
                cols |= set(pyogrio.read_info(p, layer=name)["fields"])
    raw = sorted(c for c in cols if X.column_info(c).zh == c)
    assert raw == [], raw


class _Net:
    """A hand-built network (the attributes network_layer reads)."""

    def __init__(self, lon, lat, kind, edges, places):
        self.lon, self.lat, self.kind = np.asarray(lon), np.asarray(lat), np.asarray(kind)
        self.edges, self.n = edges, len(lon)
        self.place_index = pd.Series(list(places.values()), index=list(places.keys()))


def _tiny():
    """A(0) -- road, both ways -- B(1); a station S(3) exactly on B with a 10-min boarding link to the rail
    node R(2) also on B; rail R -> C(4), one way; place P(5) linked to A."""
    lon = [120.0, 120.1, 120.1, 120.1, 120.2, 119.99]
    lat = [43.0, 43.0, 43.0, 43.0, 43.1, 43.0]
    ls = shapely.LineString
    edges = gpd.GeoDataFrame({
        "u": [0, 3, 2, 5, 3], "v": [1, 2, 4, 0, 1], "mode": ["road", "transfer", "rail", "link", "link"],
        "cls": ["national_highway", "railway", "railway", "off_network", "off_network"], "corridor_id": ["G", "S", "R", "P", "S"],
        "km": [8.14, 0.0, 13.6, 0.81, 0.0], "minutes": [8.14, 10.0, 11.66, 1.62, 1e-6], "oneway": [False, False, True, False, False]},
        geometry=[ls([(120.0, 43.0), (120.05, 43.0), (120.1, 43.0)]), ls([(120.1, 43.0), (120.1, 43.0)]),
                  ls([(120.1, 43.0), (120.2, 43.1)]), ls([(119.99, 43.0), (120.0, 43.0)]), ls([(120.1, 43.0), (120.1, 43.0)])],
        crs=4326)
    return _Net(lon, lat, ["road", "road", "rail", "station", "rail", "place"], edges, {"S1": 3, "P1": 5})


def test_network_layer_gives_qgis_the_models_times():
    edges, nodes = X.network_layer(_tiny())
    km = np.array([sum(GEOD.inv(*a, *b)[2] for a, b in zip(c[:-1], c[1:])) / 1000
                   for c in (shapely.get_coordinates(g) for g in edges.geometry)])
    # QGIS's fastest-route cost = ellipsoidal length / speed: the model's minutes on every edge
    assert km / edges["qgis_speed_kmh"].to_numpy() * 60 == pytest.approx(edges["minutes"].to_numpy(), rel=1e-9, abs=1e-9)
    assert edges["direction"].tolist() == ["B", "B", "F", "B", "B"]
    # the station, the rail node and the road node all sit on B in the model: in the export they are apart
    # (QGIS joins equal points), by a tenth of a metre at most, and each node is one point in every edge it ends
    pts = {n: shapely.Point(nodes.geometry.iloc[n].x, nodes.geometry.iloc[n].y) for n in range(6)}
    d = [GEOD.inv(pts[a].x, pts[a].y, pts[b].x, pts[b].y)[2] for a, b in ((1, 2), (1, 3), (2, 3))]
    assert min(d) > 0.1 and max(d) < 1.0, d
    for g, u, v in zip(edges.geometry, edges["from_node"], edges["to_node"]):
        c = shapely.get_coordinates(g)
        assert tuple(c[0]) == (pts[u].x, pts[u].y) and tuple(c[-1]) == (pts[v].x, pts[v].y)
    assert nodes.set_index("node").loc[[3, 5], "place_id"].tolist() == ["S1", "P1"]


def test_network_layer_directions_lean_geometry_and_scenario_edges():
    """oneway -1 (only against the drawing direction) is QGIS's backward value; an edge without a kept
    polyline becomes the straight line between its nodes; scenario-only edges stay out of today's layer."""
    net = _tiny()
    e = net.edges.copy()
    e["oneway"] = np.array([0, 0, -1, 0, 0], np.int8)
    e["scenario"] = [False, False, False, False, True]
    e.loc[0, "geometry"] = None
    net.edges = gpd.GeoDataFrame(e, geometry="geometry", crs=4326)
    today, _ = X.network_layer(net)
    scen, _ = X.network_layer(net, scenario=True)
    assert today["direction"].tolist() == ["B", "B", "R", "B"] and len(scen) == 5
    c = shapely.get_coordinates(today.geometry.iloc[0])
    assert len(c) == 2 and tuple(c[0]) == pytest.approx((120.0, 43.0)) and tuple(c[1]) == pytest.approx((120.1, 43.0), abs=1e-5)
    km = GEOD.inv(*c[0], *c[1])[2] / 1000
    assert km / today["qgis_speed_kmh"].iloc[0] * 60 == pytest.approx(8.14, rel=1e-9)


def test_band_descriptions_units_and_named_crs(run_dir):
    import rasterio

    with rasterio.open(run_dir / "access/time_to_cores.tif") as src:
        assert src.units == ("min",) and "travel time to the nearest city core" in src.descriptions[0]
        from pyproj import CRS

        from twinstar_gis.data.crs import EQUAL_AREA_CRS

        crs = CRS.from_wkt(src.crs.to_wkt())
        assert crs.name == X.EQUAL_AREA_NAME and crs.equals(EQUAL_AREA_CRS)  # named, the same projection
    with rasterio.open(run_dir / "data/twinstar_dem.tif") as src:
        assert src.units == ("m",)
    assert not list(run_dir.rglob("*.aux.xml"))  # metadata inside the files, no side files


def test_export_to_gauss_krueger_with_gbk_shapefiles(run_dir, tmp_path):
    out = tmp_path / "ex"
    records = X.export_run(run_dir, out, crs="EPSG:4549", formats=("gpkg", "shp"))
    shp = out / "shp" / "data" / "places.shp"
    assert shp.exists() and shp.with_suffix(".cpg").read_text() == "GBK"
    dbf = shp.with_suffix(".dbf").read_bytes()
    assert "赤峰".encode("gbk") in dbf and "赤峰".encode("utf-8") not in dbf
    fields = pd.read_csv(out / "fields.csv", encoding="utf-8-sig")
    for f in fields["shapefile"].unique():
        names = fields.loc[fields["shapefile"] == f, "field"]
        assert names.str.len().max() <= 10 and names.str.lower().is_unique, f
    row = fields[(fields["shapefile"] == "shp/data/boundaries.shp") & (fields["column"] == "population_2020")].iloc[0]
    assert row["renamed"] and row["label_zh"] == "常住人口 (2020)" and row["unit"] == "人"
    back = gpd.read_file(out / "shp/data/boundaries.shp", encoding="GBK")
    src = gpd.read_file(run_dir / "data/twinstar.gpkg", layer="boundaries")
    assert back[row["field"]].tolist() == src["population_2020"].tolist() and back["name_zh"].tolist() == src["name_zh"].tolist()
    # EPSG:4549: CGCS2000 3° Gauss-Krüger, central meridian 120°E, false easting 500 km (no zone prefix)
    places = gpd.read_file(out / "gpkg/twinstar.gpkg", layer="places")
    lonlat = gpd.read_file(run_dir / "data/twinstar.gpkg", layer="places")
    assert places.crs.to_epsg() == 4549
    x, y = Transformer.from_crs(4326, "+proj=tmerc +lat_0=0 +lon_0=120 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m",
                                always_xy=True).transform(lonlat.geometry.x.to_numpy(), lonlat.geometry.y.to_numpy())
    assert np.abs(places.geometry.x.to_numpy() - x).max() < 0.01 and np.abs(places.geometry.y.to_numpy() - y).max() < 0.01
    assert {r.source_layer for r in records} >= {"boundaries", "parks", "corridors", "isochrones", "sites"}
    readme = (out / "README.txt").read_text(encoding="utf-8-sig")
    assert "CGCS2000 / 3-degree Gauss-Kruger CM 120E" in readme and "GBK" in readme


def test_export_refuses_bad_input_with_one_message(run_dir, tmp_path):
    import click

    from twinstar_gis.cli.export import export
    from twinstar_gis.cli.main import _Group

    group = _Group(commands={"export": export})
    runner = CliRunner()
    r = runner.invoke(group, ["export", str(run_dir), "--crs", "EPSG:999999", "--out", str(tmp_path / "a")])
    assert r.exit_code == 2 and "not a coordinate system" in r.output and "Traceback" not in r.output
    r = runner.invoke(group, ["export", str(run_dir), "--crs", "gcj02", "--out", str(tmp_path / "b")])
    assert r.exit_code == 2 and "offsets, not coordinate systems" in r.output
    r = runner.invoke(group, ["export", str(run_dir), "--encoding", "latin-1", "--out", str(tmp_path / "c")])
    assert r.exit_code == 2 and "GB18030" in r.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists() and not (tmp_path / "c").exists()
    g = gpd.GeoDataFrame({"name_zh": ["赤峰 \U0001F600"]}, geometry=[shapely.Point(120, 43)], crs=4326)
    with pytest.raises(X.DataSourceError, match="name_zh.*GB18030"):
        X._dbf_ready(g, "GBK", "test layer")
    assert isinstance(group, click.Group)


def test_export_cli_records_the_files_in_the_run(run_dir, tmp_path):
    import json
    import shutil

    from twinstar_gis.cli.export import export
    from twinstar_gis.run.folder import read_run

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    r = CliRunner().invoke(export, [str(run), "--crs", "EPSG:4490", "--format", "shp"])
    assert r.exit_code == 0, r.output
    manifest = read_run(run)  # the folder still matches its run.json
    assert "export_EPSG4490/shp/data/parks.shp" in manifest["outputs"]
    assert "export_EPSG4490/shp/data/parks.qml" in manifest["outputs"]  # opens styled in QGIS
    assert json.loads((run / "run.json").read_text(encoding="utf-8"))["outputs"]["export_EPSG4490/fields.csv"]
