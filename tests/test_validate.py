"""Validation of every input that changes a number: region sanity check, corridor classes, speeds, stations.

Each bad input must stop with exit code 2, one message naming the file, the feature ids and
the likely cause, and no traceback.
"""

import math

import geopandas as gpd
import pyproj
import pytest
from shapely.geometry import LineString, Point, box

from twinstar_gis.data.validate import TWIN_STAR_BOUNDS, ValidationReport, _grow, check_region, study_bounds

SONGSHAN = box(118.80, 42.20, 118.85, 42.25)  # a 5 km x 5 km park near Chifeng


def _bad(result, *needles):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for n in needles:
        assert n in result.output, (n, result.output)


def _parks(path, geoms, crs="EPSG:4326", **cols):
    data = {"park_id": [f"P{i}" for i in range(len(geoms))], "name_zh": ["园区"] * len(geoms), **cols}
    gpd.GeoDataFrame(data, geometry=geoms, crs=crs).to_file(path)
    return path


def test_twin_star_bounds_cover_the_embedded_boundaries():
    from twinstar_gis.data.dataset import build_boundaries

    w, s, e, n = build_boundaries().total_bounds
    W, S, E, N = TWIN_STAR_BOUNDS
    assert W <= w < W + 0.01 and S <= s < S + 0.01 and E - 0.01 < e <= E and N - 0.01 < n <= N


def test_margin_grows_the_study_area_by_kilometres():
    # 50 km is 50/111 = 0.4505 degrees of latitude; of longitude, at the northern edge (45 N),
    # 50 / (111 cos 45) = 0.6370 degrees.
    w, s, e, n = _grow((100.0, 40.0, 110.0, 45.0), 50.0)
    assert n - 45.0 == pytest.approx(50 / 111.0)
    assert 110.0 - e == pytest.approx(-50 / (111.0 * math.cos(math.radians(45.0))))
    assert e - 110.0 == pytest.approx(0.6370, abs=1e-4)


def test_a_park_just_inside_the_margin_passes_and_just_outside_fails():
    east = TWIN_STAR_BOUNDS[2]
    dlon = 50 / (111.0 * math.cos(math.radians(TWIN_STAR_BOUNDS[3])))
    inside = gpd.GeoDataFrame({"park_id": ["IN"], "name_zh": ["x"]},
                              geometry=[box(east + dlon - 0.02, 43.0, east + dlon - 0.01, 43.01)], crs=4326)
    outside = gpd.GeoDataFrame({"park_id": ["OUT"], "name_zh": ["x"]},
                               geometry=[box(east + dlon + 0.01, 43.0, east + dlon + 0.02, 43.01)], crs=4326)
    rep = ValidationReport()
    check_region({"parks": inside}, rep)
    assert rep.ok
    check_region({"parks": outside}, rep)
    assert len(rep.problems) == 1 and "OUT" in rep.problems[0]


def test_planners_boundaries_are_the_study_area():
    b = gpd.GeoDataFrame({"adcode": ["1"]}, geometry=[box(118.0, 42.0, 119.0, 43.0)], crs=4326)
    assert study_bounds({"boundaries": b}) == (118.0, 42.0, 119.0, 43.0)
    assert study_bounds({}) == TWIN_STAR_BOUNDS


def test_swapped_lat_lon(run, tmp_path):
    p = tmp_path / "swapped.csv"
    # Chifeng (118.96 E, 42.26 N) and Tongliao seats with the two columns swapped
    p.write_text("place_id,name_zh,kind,lon,lat\nS1,a,county_seat,42.26,118.96\nS2,b,county_seat,43.62,122.26\n")
    _bad(run("data", "validate", p, "--kind", "places"), "swapped.csv", "S1, S2", "swapped")


def test_gauss_krueger_metres_in_lon_lat_columns(run, tmp_path):
    p = tmp_path / "metres.csv"
    p.write_text("place_id,name_zh,kind,lon,lat\nM1,a,county_seat,40580000.5,4680000.2\n")
    _bad(run("data", "validate", p, "--kind", "places"), "metres.csv", "M1", "projected metres", "--crs")


def test_wrong_gauss_krueger_zone(run, tmp_path):
    # The park is in CGCS2000 GK zone 40 (EPSG:4528, false easting 40 500 000 m), but the file
    # says zone 39 (EPSG:4527): it lands near 128 E, some 700 km east of Chifeng.
    gk40 = gpd.GeoSeries([SONGSHAN], crs=4326).to_crs(4528).iloc[0]
    p = _parks(tmp_path / "zone.gpkg", [gk40], crs="EPSG:4527")
    lon = pyproj.Transformer.from_crs(4527, 4326, always_xy=True).transform(*gk40.centroid.coords[0])[0]
    assert lon > 125  # what the mislabelled file says: beyond the region (east edge 123.7)
    _bad(run("data", "validate", p, "--kind", "parks"), "zone.gpkg", "P0", "outside the study area", "Gauss-Krüger zone")


def test_absurd_coordinates(run, tmp_path):
    p = tmp_path / "huge.geojson"
    _parks(p, [box(1e20, 1e20, 1.0001e20, 1.0001e20), SONGSHAN])
    _bad(run("data", "validate", p, "--kind", "parks"), "huge.geojson", "P0", "absurd")


def test_parks_in_sichuan(run, tmp_path):
    p = _parks(tmp_path / "chengdu.geojson", [box(104.0, 30.6, 104.1, 30.7), SONGSHAN])
    r = run("data", "validate", p, "--kind", "parks")
    _bad(r, "chengdu.geojson", "P0 lie outside the study area")
    assert "P1" not in r.output.split("lie outside")[0].split("[parks]:")[-1]


def test_validation_does_not_depend_on_the_current_folder(run, tmp_path):
    # A park claiming Hongshan (150402) that lies in Horqin district, Tongliao: caught with the
    # embedded boundaries built in memory, in an empty folder (no earlier `data build`).
    p = _parks(tmp_path / "wrong.geojson", [box(122.20, 43.58, 122.24, 43.61)], county_adcode=["150402"])
    assert not (tmp_path / "twinstar_output").exists()
    _bad(run("data", "validate", p, "--kind", "parks"), "P0 claims county 150402")


def _corridors(path, cls, speed=None, geom=None):
    data = {"corridor_id": ["X1"], "name_zh": ["测试线"], "class": [cls]}
    if speed is not None:
        data["design_speed_kmh"] = [speed]
    gpd.GeoDataFrame(data, geometry=[geom or LineString([(118.95, 42.27), (122.25, 43.62)])], crs=4326).to_file(path)
    return path


@pytest.mark.parametrize("cls", ["HSR", "Expressway"])
def test_unknown_corridor_class(run, tmp_path, cls):
    p = _corridors(tmp_path / "c.geojson", cls)
    _bad(run("data", "validate", p, "--kind", "corridors"), "X1", f"unknown corridor class {cls} for X1", "class_map")


def test_class_map_in_a_project_maps_other_names(run, tmp_path):
    _corridors(tmp_path / "c.geojson", "Expressway", 100)
    proj = tmp_path / "p.toml"
    proj.write_text('base = "embedded"\nclass_map = { Expressway = "expressway" }\n'
                    '[layers.corridors]\npath = "c.geojson"\nmode = "append"\n')
    r = run("data", "validate", "--project", proj)
    assert r.exit_code == 0, r.output
    proj.write_text('base = "embedded"\nclass_map = { Expressway = "motorway" }\n[layers.corridors]\npath = "c.geojson"\n')
    _bad(run("data", "validate", "--project", proj), "class_map", "'Expressway' -> 'motorway'")


@pytest.mark.parametrize("speed, needle", [(-100, "must be positive"), ("fast", "not a number"), (900, "implausible")])
def test_design_speeds_are_checked(run, tmp_path, speed, needle):
    p = _corridors(tmp_path / "c.geojson", "expressway", speed)
    _bad(run("data", "validate", p, "--kind", "corridors"), "X1", needle)


def test_rail_speed_limit_is_by_class(run, tmp_path):
    # 350 km/h is a high-speed train, not a road.
    ok = _corridors(tmp_path / "hsr.geojson", "high_speed_rail", 350,
                    LineString([(118.90, 42.27), (122.26, 43.62)]))
    r = run("data", "validate", ok, "--kind", "corridors")
    assert "design_speed" not in r.output and "implausible" not in r.output
    road = _corridors(tmp_path / "road.geojson", "expressway", 350)
    _bad(run("data", "validate", road, "--kind", "corridors"), "implausible", "350")


def test_rail_line_without_stations_is_refused(run, tmp_path):
    # A high-speed line across empty steppe, far (> 2 km) from every station, none declared.
    p = _corridors(tmp_path / "hsr.geojson", "high_speed_rail", 250, LineString([(119.5, 44.5), (120.5, 44.8)]))
    _bad(run("data", "validate", p, "--kind", "corridors"), "X1", "no station")


def test_rail_stations_are_checked_per_connected_network():
    # Three railway pieces: A (through the Chifeng station) and B touch at (119.6, 42.7), C lies apart.
    # A train boards at Chifeng and rides A then B, so only C is unserved.
    from twinstar_gis.settings import DEFAULT
    from twinstar_gis.data.validate import _station_problems

    station = gpd.GeoDataFrame({"node_id": ["S"], "kind": ["rail_station"]}, geometry=[Point(118.9, 42.27)], crs=4326)
    a = LineString([(118.9, 42.27), (119.6, 42.7)])
    b = LineString([(119.6, 42.7), (120.5, 43.0)])
    c = LineString([(121.0, 44.0), (121.5, 44.2)])
    lines = gpd.GeoDataFrame({"corridor_id": ["A", "B", "C"], "class": ["railway"] * 3,
                              "source": ["survey", "survey", "survey"]}, geometry=[a, b, c], crs=4326)
    problems, warnings = _station_problems(lines, station, lines["corridor_id"], "f", DEFAULT)
    assert len(problems) == 1 and "C" in problems[0] and "A" not in problems[0].split("line(s)")[1].split("have")[0]
    assert not warnings
    # The same unserved piece imported from OpenStreetMap (a clipped spur) is a warning, not a refusal.
    lines["source"] = ["survey", "survey", "OpenStreetMap contributors (ODbL 1.0)"]
    problems, warnings = _station_problems(lines, station, lines["corridor_id"], "f", DEFAULT)
    assert not problems and len(warnings) == 1 and "C" in warnings[0]
    # Without the station every piece is unserved.
    lines["source"] = "survey"
    problems, _ = _station_problems(lines, station.iloc[0:0], lines["corridor_id"], "f", DEFAULT)
    assert "A, B, C" in problems[0]


def test_origin_point_off_the_map(run, tmp_path):
    run("data", "build")
    _bad(run("access", "--resolution", 8000, "--origin-point", "43.0,120.3"), "--origin-point", "swapped")
    _bad(run("access", "--resolution", 8000, "--origin-point", "104.06,30.67"), "--origin-point 104.06,30.67",
         "outside the study area")
    assert not (tmp_path / "twinstar_output" / "access").exists()


def test_scenario_line_without_stations_is_refused_before_any_computation(run, tmp_path):
    run("data", "build")
    p = _corridors(tmp_path / "scen.geojson", "high_speed_rail", 250, LineString([(119.5, 44.5), (120.5, 44.8)]))
    _bad(run("access", "--resolution", 8000, "--scenario", p), "scen.geojson", "X1", "no station")
    assert not (tmp_path / "twinstar_output" / "access").exists()


def test_messages_name_columns_without_python_lists(run, tmp_path):
    p = tmp_path / "noname.geojson"
    gpd.GeoDataFrame({"park_id": ["A"], "名称": ["x"]}, geometry=[SONGSHAN], crs=4326).to_file(p)
    r = run("data", "validate", p, "--kind", "parks")
    _bad(r, "missing attribute(s) name_zh; the file has park_id, 名称")
    assert "['" not in r.output
