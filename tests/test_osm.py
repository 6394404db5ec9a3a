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
from shapely.geometry import box

from twinstar_gis.errors import DataSourceError
from twinstar_gis.data.dataset import load_dataset
from twinstar_gis.data.io import read_project
from twinstar_gis.model.osm import import_osm, read_osm
from twinstar_gis.settings import DEFAULT

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


def test_pbf_and_xml_give_the_same_layers(layers):
    pbf = read_osm(DATA / "region.osm.pbf")
    for kind, g in layers.items():
        h = pbf[kind]
        assert len(g) == len(h)
        pd.testing.assert_frame_equal(pd.DataFrame(g.drop(columns="geometry")).astype(object).fillna("").astype(str),
                                      pd.DataFrame(h.drop(columns="geometry")).astype(object).fillna("").astype(str))
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
