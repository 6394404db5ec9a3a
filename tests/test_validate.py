"""Validation of every input that changes a number: region sanity check, corridor classes, speeds, stations.

Each bad input must stop with exit code 2, one message naming the file, the feature ids and
the likely cause, and no traceback.
"""

import geopandas as gpd
import pyproj
import pytest
from shapely.geometry import LineString, Point, box

from twinstar_gis.data.validate import TWIN_STAR_BOUNDS, ValidationReport, check_region, study_bounds

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


GEOD = pyproj.Geod(ellps="WGS84")


def _square_at(lon, lat, side_km=1.0):
    """A small square whose west edge's midpoint is (lon, lat) (so its nearest point to anything west is there)."""
    e = GEOD.fwd(lon, lat, 90, side_km * 1000)[0]
    n = GEOD.fwd(lon, lat, 0, side_km * 500)[1]
    s_ = GEOD.fwd(lon, lat, 180, side_km * 500)[1]
    return box(lon, s_, e, n)


def test_the_margin_is_a_true_distance_to_the_study_area():
    # Study area: a square 1 x 1 degree.  Parks due east of its east edge (on the 42.5 N parallel, the
    # edge's nearest point), at 49 and 51 km measured with pyproj.Geod: the first passes, the second not.
    area = (118.0, 42.0, 119.0, 43.0)
    lon49 = GEOD.fwd(119.0, 42.5, 90, 49_000)[0]
    lon51 = GEOD.fwd(119.0, 42.5, 90, 51_000)[0]
    parks = gpd.GeoDataFrame({"park_id": ["IN", "OUT"], "name_zh": ["x", "y"]},
                             geometry=[_square_at(lon49, 42.5), _square_at(lon51, 42.5)], crs=4326)
    rep = ValidationReport()
    check_region({"parks": parks}, rep, study_area=area)
    assert len(rep.problems) == 1
    assert "OUT (51 km away)" in rep.problems[0] and "IN" not in rep.problems[0].replace("OUT", "")


def test_a_park_at_shenyang_is_far_from_the_region_though_inside_its_bounding_box():
    # Shenyang (123.43 E, 41.80 N) lies inside the two prefectures' bounding box (east edge 123.72 E),
    # but well outside Tongliao: the study area is the boundaries themselves, not their box.
    from twinstar_gis.data.dataset import build_boundaries

    b = build_boundaries()
    w, s_, e, n = b.total_bounds
    assert w < 123.43 < e and s_ < 41.80 < n
    park = gpd.GeoDataFrame({"park_id": ["SY"], "name_zh": ["沈阳"]}, geometry=[box(123.40, 41.78, 123.45, 41.82)], crs=4326)
    rep = ValidationReport()
    check_region({"boundaries": b, "parks": park}, rep)
    assert len(rep.problems) == 1 and "SY (" in rep.problems[0] and "km away" in rep.problems[0]
    # more than the 50 km margin: Tongliao's southern edge runs about 100 km north of Shenyang
    km = float(rep.problems[0].split("SY (")[1].split(" km")[0])
    assert 90 < km < 130


def test_rivers_shifted_by_a_wrong_zone_are_caught(run, tmp_path):
    # The embedded rivers written in CGCS2000 GK coordinates with CM 120 E (EPSG:4549) but labelled
    # CM 123 E (EPSG:4550): every vertex moves about 3 degrees east; some still touch the region, but
    # most of their length now lies outside it.
    from twinstar_gis.data.dataset import build_layers

    rivers = build_layers()["rivers"]
    p = tmp_path / "rivers.gpkg"
    rivers.to_crs(4549).set_crs(4550, allow_override=True).to_file(p, layer="rivers")
    moved = gpd.read_file(p).to_crs(4326)
    assert (moved.geometry.bounds["maxx"] > 124.5).any()
    _bad(run("data", "validate", p, "--kind", "rivers"), "rivers.gpkg", "outside the study area", "Gauss-Krüger zone")


def test_a_layer_displaced_inside_the_region_gets_the_zone_hint():
    # Parks written with CM 117 E (EPSG:4548) but labelled CM 120 E (EPSG:4549) move ~3 degrees east;
    # those still inside the region land in the wrong county: one summary line names the likely cause.
    from twinstar_gis.data.dataset import build_layers
    from twinstar_gis.data.validate import validate_dataset

    layers = build_layers()
    moved = layers["parks"].to_crs(4548).set_crs(4549, allow_override=True).to_crs(4326)
    keep = moved[moved["park_id"].isin(["P07", "P08", "P09"])]  # the three that stay inside the region
    _, rep = validate_dataset({**layers, "parks": keep})
    hint = [p for p in rep.problems if "looks displaced" in p]
    assert len(hint) == 1 and "3 of 3 features" in hint[0] and "east" in hint[0] and "Gauss-Krüger zone" in hint[0]
    # 3 degrees of longitude at 43 N, by pyproj.Geod: about 244 km
    km = float(hint[0].split("on average ")[1].split(" km")[0])
    assert abs(km - GEOD.inv(119.0, 43.0, 122.0, 43.0)[2] / 1000) < 40


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
    _bad(r, "chengdu.geojson", "P0 (", "km away) lie (mostly) outside the study area")
    assert "P1" not in r.output.split("lie (mostly) outside")[0].split("[parks]:")[-1]
    # Chengdu - Chifeng's Songshan district: some 1,700 km (pyproj.Geod between the two); the message
    # names the distance to the nearest point of the region
    km = float(r.output.split("P0 (")[1].split(" km")[0].replace(",", ""))
    assert 1500 < km < GEOD.inv(104.05, 30.65, 118.82, 42.22)[2] / 1000


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
    assert not (tmp_path / "twinstar_results").exists()


def test_scenario_line_without_stations_is_refused_before_any_computation(run, tmp_path):
    run("data", "build")
    p = _corridors(tmp_path / "scen.geojson", "high_speed_rail", 250, LineString([(119.5, 44.5), (120.5, 44.8)]))
    _bad(run("access", "--resolution", 8000, "--scenario", p), "scen.geojson", "X1", "no station")
    assert not (tmp_path / "twinstar_results").exists()


def test_messages_name_columns_without_python_lists(run, tmp_path):
    p = tmp_path / "noname.geojson"
    gpd.GeoDataFrame({"park_id": ["A"], "名称": ["x"]}, geometry=[SONGSHAN], crs=4326).to_file(p)
    r = run("data", "validate", p, "--kind", "parks")
    _bad(r, "missing attribute(s) name_zh; the file has park_id, 名称")
    assert "['" not in r.output
