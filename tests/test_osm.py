"""OpenStreetMap import: the hand-written fixture round-trips counts and classes; the CLI writes a
project every command accepts.

tests/data/osm/region.osm is hand-written; region.osm.pbf is the same data written as PBF with
pyosmium (``osmium.SimpleWriter`` over ``osmium.FileProcessor("region.osm")``), committed so that
no test needs pyosmium.
"""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import box

from twinstar_gis.data.dataset import load_dataset
from twinstar_gis.data.io import read_project
from twinstar_gis.errors import DataSourceError
from twinstar_gis.model.osm import REASONS, REPORT_COLUMNS, import_osm, load_osm, read_osm
from twinstar_gis.settings import DEFAULT

GEOD = Geod(ellps="WGS84")

DATA = Path(__file__).parent / "data" / "osm"

# Ways of the fixture and the class each must get (see the fixture's header).
CLASSES = {
    "osm_w101": "local_road",          # residential, oneway
    "osm_w102": "local_road",          # residential
    "osm_w110": "county_road",         # secondary
    "osm_w120": "national_highway",    # trunk, ref G111
    "osm_w130": "expressway",          # motorway
    "osm_w131": "ramp",                # motorway_link
    "osm_w132": "county_road",         # secondary
    "osm_w133": "county_road",         # tertiary
    "osm_w140": "provincial_highway",  # primary, ref S307
    "osm_w150": "railway",             # railway=rail
    "osm_w151": "high_speed_rail",     # railway=rail + highspeed=yes
}                                      # (the footway osm_w191 is left out)


@pytest.fixture(scope="module")
def layers():
    return read_osm(DATA / "region.osm")


def test_import_round_trips_counts_and_classes(layers):
    cor = layers["corridors"].set_index("corridor_id")
    assert cor["class"].to_dict() == CLASSES
    assert cor.loc["osm_w120", ["ref", "bridge", "layer", "name_zh"]].tolist() == ["G111", "yes", "1", "G111大桥"]
    assert cor.loc["osm_w120", "name"] == "G111 大桥"  # name:zh preferred for name_zh, name kept
    assert cor.loc["osm_w101", "oneway"] == "yes" and cor.loc["osm_w140", "maxspeed"] == 80
    assert cor.loc["osm_w150", "usage"] == "main"
    nodes = layers["nodes"].set_index("node_id")
    assert nodes["kind"].to_dict() == {"osm_n50": "rail_station", "osm_n52": "rail_station", "osm_n60": "airport",
                                       "osm_n32": "interchange"}
    assert nodes.loc["osm_n50", "name_zh"] == "甲站"
    assert layers["eco_zones"]["zone_id"].tolist() == ["osm_w170"]
    assert layers["parks"]["park_id"].tolist() == ["osm_w180"]  # the unnamed industrial area is no candidate
    assert layers["rivers"]["name_zh"].tolist() == ["测试河"]
    # Shared OSM nodes are shared vertices: the ramp starts on the motorway's vertex 32.
    ramp = np.asarray(cor.loc["osm_w131", "geometry"].coords)[0]
    assert tuple(ramp) in {tuple(c) for c in cor.loc["osm_w130", "geometry"].coords}
    for g in layers.values():
        assert g.crs.to_epsg() == 4326


def _as_text(g):
    df = pd.DataFrame(g.drop(columns="geometry")).astype(object)
    return df.where(df.notna(), "").astype(str)


def test_pbf_and_xml_give_the_same_layers(layers):
    pbf = read_osm(DATA / "region.osm.pbf")
    for kind, g in layers.items():
        h = pbf[kind]
        assert len(g) == len(h)
        pd.testing.assert_frame_equal(_as_text(g), _as_text(h))
        # PBF stores coordinates in 1e-7 degree units.
        assert len(g) == 0 or np.abs(np.asarray(g.geometry.get_coordinates()) - np.asarray(h.geometry.get_coordinates())).max() < 1e-7


def test_class_mapping_is_a_setting():
    s = DEFAULT.override(**{"osm.highway_classes": [["residential", "county_road"], ["motorway", "expressway"]]})
    cor = read_osm(DATA / "region.osm", settings=s)["corridors"].set_index("corridor_id")
    assert cor.loc["osm_w101", "class"] == "county_road"
    assert "osm_w110" not in cor.index  # secondary is no longer mapped
    assert cor.loc["osm_w150", "class"] == "railway"


def test_study_area_clips(tmp_path):
    # A study area around the motorway part only (119.0-119.2 E) keeps the ways that touch it, whole.
    area = tmp_path / "area.geojson"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(118.99, 42.6, 119.21, 42.73)], crs=4326).to_file(area)
    cor = read_osm(DATA / "region.osm", boundaries=area)["corridors"]
    assert set(cor["corridor_id"]) == {"osm_w130", "osm_w131", "osm_w132", "osm_w133"}
    far = tmp_path / "far.geojson"
    gpd.GeoDataFrame({"name": ["b"]}, geometry=[box(122.0, 44.0, 122.1, 44.1)], crs=4326).to_file(far)
    with pytest.raises(DataSourceError, match="no roads or railways"):
        import_osm(DATA / "region.osm", tmp_path / "out", boundaries=far)


def test_not_an_extract_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.osm"
    bad.write_text("<osm><node id='1' lat='a' lon='b'", encoding="utf-8")
    with pytest.raises(DataSourceError, match="x.osm"):
        read_osm(bad)
    with pytest.raises(DataSourceError, match="must end in"):
        read_osm(Path(__file__))


def test_cli_import_writes_a_project_every_command_accepts(run, built, tmp_path):
    r = run("data", "import-osm", DATA / "region.osm", "--out", tmp_path / "osm", "--check-network")
    assert r.exit_code == 0, r.output
    project = tmp_path / "osm" / "project.toml"
    assert "corridors: 11 features" in r.output and project.exists()
    assert "osm_w151" in r.output  # the HSR line without stations is reported
    proj = read_project(project)
    assert proj.base == "embedded" and set(proj.layers) == {"corridors", "nodes", "rivers"}
    ds = load_dataset(built[0], project=project)
    assert len(ds["corridors"]) == 11 and len(ds["places"]) == 32  # places from the embedded base
    r = run("data", "validate", built[0], "--project", project)
    assert r.exit_code == 0, r.output


# --------------------------------------------------------------------------
# Hand-made fixtures, one rule each (tests/data/osm/rules.osm, restrictions.osm, stations.osm; the
# comment before each way or relation in the file says what the import must make of it)
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rules():
    return load_osm(DATA / "rules.osm")


def _report(ext, reason):
    r = ext.report[ext.report["reason"] == reason]
    return dict(zip(r["feature_id"], r["action"]))


ONEWAY = {"osm_w201": "yes", "osm_w202": "-1", "osm_w203": "-1", "osm_w204": "no", "osm_w205": "yes",
          "osm_w206": "yes", "osm_w209": "yes", "osm_w210": "yes", "osm_w211": "no", "osm_w212": "yes",
          "osm_w213": "no", "osm_w214": "no", "osm_w215": "yes", "osm_w216": "no"}
ACCESS = {"osm_w221": "no", "osm_w222": "no", "osm_w223": "destination", "osm_w224": "yes", "osm_w225": "destination",
          "osm_w226": "no", "osm_w227": "yes", "osm_w228": "yes", "osm_w229": "destination"}


def test_oneway_variants_roundabouts_and_implied_motorway_oneway(rules):
    cor = rules.layers["corridors"].set_index("corridor_id")
    assert cor.loc[list(ONEWAY), "oneway"].to_dict() == ONEWAY
    assert cor.loc[["osm_w209", "osm_w210", "osm_w211"], "junction"].tolist() == ["roundabout", "circular", "roundabout"]
    assert cor.loc[["osm_w212", "osm_w213", "osm_w214", "osm_w215"], "class"].tolist() == [
        "expressway", "expressway", "ramp", "ramp"]
    assert _report(rules, "oneway_reversible") == {"osm_w207": "left_out", "osm_w208": "left_out"}
    assert "osm_w207" not in cor.index and "osm_w208" not in cor.index


def test_access_the_most_specific_tag_decides(rules):
    cor = rules.layers["corridors"].set_index("corridor_id")
    assert cor.loc[list(ACCESS), "access"].to_dict() == ACCESS
    assert set(cor["access"]) == {"yes", "no", "destination"}
    assert cor.loc["osm_w247", "access"] == "yes"  # rail is never closed by access tags


def test_classes_values_and_left_out_kinds(rules):
    cor = rules.layers["corridors"].set_index("corridor_id")
    assert cor.loc[["osm_w231", "osm_w232", "osm_w233"], "class"].tolist() == [
        "national_highway", "provincial_highway", "national_highway"]
    assert np.isnan(cor.loc["osm_w234", "maxspeed"]) and _report(rules, "maxspeed_not_numeric") == {"osm_w234": "value_dropped"}
    assert cor.loc["osm_w235", "maxspeed"] == pytest.approx(30 * 1.609344)
    assert cor.loc["osm_w238", ["tunnel", "layer", "bridge", "name_zh"]].tolist() == ["yes", "-1", "no", "隧道"]
    assert rules.summary["left_out"] == {"highway=service": 1, "highway=residential area=yes": 1,
                                         "railway=rail service=yard": 1}
    assert set(cor.index) == set(ONEWAY) | set(ACCESS) | {"osm_w231", "osm_w232", "osm_w233", "osm_w234", "osm_w235",
                                                          "osm_w238", "osm_w241", "osm_w247"}


def test_features_cut_at_the_edge_are_trimmed_or_dropped_never_bridged(rules):
    cor = rules.layers["corridors"].set_index("corridor_id")
    assert _report(rules, "way_missing_nodes") == {"osm_w241": "trimmed", "osm_w242": "dropped", "osm_w247": "trimmed",
                                                   "osm_w248": "trimmed"}
    assert _report(rules, "empty_geometry") == {"osm_w243": "dropped"}
    assert _report(rules, "area_cut_at_edge") == {"osm_w244": "dropped"}
    assert _report(rules, "invalid_polygon") == {"osm_w245": "dropped"}
    # w241: nodes 2410 2411 [2412 absent] 2413 2414 at 119.00 + 0.01 k -> two pieces, no segment across the gap
    g = cor.loc["osm_w241", "geometry"]
    assert g.geom_type == "MultiLineString"
    assert [[x for x, _ in p.coords] for p in g.geoms] == [[119.0, 119.01], [119.03, 119.04]]
    # w247 (rail): 2470 2471 [2472] 2473 -> one piece; w248 (river) 2480 [2481] 2482 2483 -> one piece
    assert [x for x, _ in cor.loc["osm_w247", "geometry"].coords] == [119.0, 119.01]
    assert [x for x, _ in rules.layers["rivers"].geometry.iloc[0].coords] == [119.02, 119.03]
    assert rules.layers["parks"]["park_id"].tolist() == ["osm_w246"]
    assert set(rules.report.columns) == set(REPORT_COLUMNS) and set(rules.report["reason"]) <= set(REASONS)


def test_turn_restrictions_layer():
    ext = load_osm(DATA / "restrictions.osm")
    tr = ext.layers["turn_restrictions"].set_index("restriction_id")
    rows = {rid: (r["restriction"], r["from_corridor_id"], r["to_corridor_id"], r["via_corridor_ids"])
            for rid, r in tr.iterrows()}
    assert rows == {
        "osm_r1": ("no_left_turn", "osm_w12", "osm_w10", ""), "osm_r2": ("no_right_turn", "osm_w12", "osm_w11", ""),
        "osm_r3": ("no_straight_on", "osm_w10", "osm_w11", ""), "osm_r4": ("no_u_turn", "osm_w12", "osm_w12", ""),
        "osm_r5-1": ("no_entry", "osm_w10", "osm_w13", ""), "osm_r5-2": ("no_entry", "osm_w11", "osm_w13", ""),
        "osm_r6-1": ("no_exit", "osm_w12", "osm_w10", ""), "osm_r6-2": ("no_exit", "osm_w12", "osm_w11", ""),
        "osm_r7": ("only_left_turn", "osm_w11", "osm_w13", ""), "osm_r8": ("only_straight_on", "osm_w12", "osm_w13", ""),
        "osm_r10": ("no_left_turn", "osm_w13", "osm_w11", ""),
        "osm_r12": ("only_straight_on", "osm_w13", "osm_w12", ""),
        "osm_r18": ("no_left_turn", "osm_w12", "osm_w14", "osm_w11"),
        "osm_r19": ("only_u_turn", "osm_w13", "osm_w13", "")}
    # every point is node 1, the centre of the cross (via-way r18: where its from way meets the via way)
    assert {(g.x, g.y) for g in tr.geometry} == {(119.2, 42.7)}
    assert _report(ext, "restriction_not_for_cars") == {"osm_r9": "not_applied", "osm_r11": "not_applied",
                                                        "osm_r20": "not_applied"}
    assert _report(ext, "restriction_conditional") == {"osm_r13": "not_applied"}
    assert _report(ext, "restriction_unknown_value") == {"osm_r14": "not_applied"}
    assert _report(ext, "restriction_member_not_imported") == {"osm_r15": "not_applied", "osm_r21": "not_applied"}
    assert _report(ext, "restriction_via_not_shared") == {"osm_r16": "not_applied"}
    assert _report(ext, "restriction_bad_members") == {"osm_r17": "not_applied"}


def test_restriction_onto_a_closed_way_is_not_applied(tmp_path):
    text = (DATA / "restrictions.osm").read_text(encoding="utf-8").replace(
        '<way id="13" version="1"><nd ref="1"/><nd ref="5"/><tag k="highway" v="residential"/>',
        '<way id="13" version="1"><nd ref="1"/><nd ref="5"/><tag k="highway" v="residential"/><tag k="access" v="no"/>')
    (tmp_path / "closed.osm").write_text(text, encoding="utf-8")
    ext = load_osm(tmp_path / "closed.osm")
    closed = _report(ext, "restriction_member_closed")
    assert set(closed) == {"osm_r5", "osm_r7", "osm_r8", "osm_r10", "osm_r12", "osm_r19"}
    assert not ext.layers["turn_restrictions"]["from_corridor_id"].eq("osm_w13").any()


STATIONS = {"osm_n3002": "hsr_station", "osm_n3012": "rail_station", "osm_n3014": "rail_station",
            "osm_n3020": "rail_station", "osm_n3030": "hsr_station", "osm_n3040": "rail_station",
            "osm_aw3050": "rail_station", "osm_n3070": "airport", "osm_n3071": "interchange"}


def test_stations_typed_from_their_tags_and_routes_not_by_distance():
    ext = load_osm(DATA / "stations.osm")
    nodes = ext.layers["nodes"].set_index("node_id")
    assert nodes["kind"].to_dict() == STATIONS
    # C lies 4.7 km from the HSR line and 800 m from the conventional one: served by neither, reported
    assert _report(ext, "station_without_line") == {"osm_n3020": "warning"}
    assert _report(ext, "station_not_train") == {"osm_n3060": "left_out", "osm_n3061": "left_out"}
    cor = ext.layers["corridors"].set_index("corridor_id")
    assert cor["stations"].to_dict() == {
        "osm_w301": "osm_n3002",               # A is its vertex (and it is high-speed)
        "osm_w302": "osm_n3012;osm_n3014",     # B and I are vertices, in order along the way
        "osm_w303": "osm_n3030",               # the high-speed route r401 stops at D beside it
        "osm_w304": "osm_n3040",               # stop position 3042 tied to E by the stop_area r403
        "osm_w305": "osm_aw3050"}              # runs through the station area F
    assert (nodes.loc["osm_aw3050", "geometry"].x, nodes.loc["osm_aw3050", "geometry"].y) == pytest.approx((119.55, 42.6))


def test_coverage_share_and_uncovered_places(tmp_path):
    # One north-south road at 119.0 E from 42.0 to 43.0 N; the study area runs from the road 0.25 deg east
    # (20.5 km at 42.5 N).  Within 5 km of the road: a 5 km strip, so 5 / width of the area.
    osm = tmp_path / "road.osm"
    osm.write_text('<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">'
                   '<node id="1" version="1" lat="42.0" lon="119.0"/><node id="2" version="1" lat="43.0" lon="119.0"/>'
                   '<way id="1" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="secondary"/></way></osm>',
                   encoding="utf-8")
    area = gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(119.0, 42.0, 119.25, 43.0)], crs=4326)
    places = gpd.GeoDataFrame({"place_id": ["NEAR", "FAR"], "name_zh": ["近", "远"], "kind": ["county_seat", "city_core"]},
                              geometry=gpd.points_from_xy([119.2, 119.9], [42.5, 42.5]), crs=4326)
    ext = load_osm(osm, boundaries=area, places=places)
    cov = ext.summary["coverage"]
    width_km = GEOD.inv(119.0, 42.5, 119.25, 42.5)[2] / 1000
    assert cov["share_covered"] == pytest.approx(5.0 / width_km, abs=0.01)
    area_km2 = abs(GEOD.polygon_area_perimeter([119.0, 119.25, 119.25, 119.0], [42.0, 42.0, 43.0, 43.0])[0]) / 1e6
    assert cov["study_area_km2"] == pytest.approx(area_km2, rel=1e-4)
    km = GEOD.inv(119.0, 42.0, 119.0, 43.0)[2] / 1000
    assert cov["km_by_class"] == {"county_road": pytest.approx(km, rel=1e-5)}
    assert cov["road_km_per_100km2"] == pytest.approx(km / area_km2 * 100, rel=1e-3)
    # FAR is 0.9 deg east of the road (73.8 km > max_link_km 60): not covered, and a city core
    far_km = GEOD.inv(119.9, 42.5, 119.0, 42.5)[2] / 1000
    assert [p["place_id"] for p in cov["places_not_covered"]] == ["FAR"] and cov["cores_not_covered"] == ["FAR"]
    assert cov["places_not_covered"][0]["road_km"] == pytest.approx(far_km, rel=0.005)
    assert _report(ext, "place_not_covered") == {"FAR": "warning"}


def test_cli_refuses_to_overwrite_its_inputs(run, tmp_path):
    out = tmp_path / "osm"
    out.mkdir()
    area = out / "osm.gpkg"  # a boundary file where the import writes its GeoPackage
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(118.8, 42.5, 119.8, 43.0)], crs=4326).to_file(area, driver="GPKG")
    before = area.read_bytes()
    r = run("data", "import-osm", DATA / "region.osm", "--out", out, "--boundaries", area)
    assert r.exit_code == 2 and "would be overwritten" in r.output and "Traceback" not in r.output
    assert area.read_bytes() == before and not (out / "project.toml").exists()


def test_cli_imports_a_real_extract_elsewhere_with_its_report(run, tmp_path):
    pyrosm = pytest.importorskip("pyrosm")
    pbf = pyrosm.get_data("test_pbf")
    area = tmp_path / "kotka.geojson"
    gpd.GeoDataFrame({"name": ["k"]}, geometry=[box(26.92, 60.51, 26.98, 60.55)], crs=4326).to_file(area)
    r = run("data", "import-osm", pbf, "--out", tmp_path / "k", "--boundaries", area)
    assert r.exit_code == 0, r.output
    assert "way_missing_nodes trimmed" in r.output and "Coverage:" in r.output
    rep = pd.read_csv(tmp_path / "k" / "import_report.csv")
    assert list(rep.columns) == list(REPORT_COLUMNS) and len(rep) > 0
    assert "[layers.boundaries]" in (tmp_path / "k" / "project.toml").read_text(encoding="utf-8")


def test_an_extract_of_part_of_the_region_names_the_core_it_misses(layers):
    # region.osm lies north of Chifeng (118.9-119.7 E): 通辽市's core is far from every road of it.
    cov = load_osm(DATA / "region.osm").summary["coverage"]
    assert cov["cores_not_covered"] == ["CORE_150500"]
    miss = {p["place_id"]: p["road_km"] for p in cov["places_not_covered"]}
    # lower bound: Tongliao's core lies east of 122 E, the fixture's roads west of 119.7 E, both near 42.6-43.7 N
    assert miss["CORE_150500"] > GEOD.inv(119.7, 43.0, 122.0, 43.0)[2] / 1000
    assert "CORE_150400" not in miss and cov["share_covered"] < 0.05
