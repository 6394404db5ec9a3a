"""Distances, overlaps and indicators: hand-computed cases on the ellipsoid and invariants on the real data."""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon, box

from twinstar_gis.analysis import overlay, proximity
from twinstar_gis.data.crs import geodesic_area_km2, geodesic_circle, local_aeqd
from twinstar_gis.analysis.distance import all_pairs, nearest
from twinstar_gis.analysis.indicators import park_indicators

GEOD = Geod(ellps="WGS84")


def _square_west_of_meridian(lon, lat, gap_m=2000.0, side_m=1000.0):
    """A side_m square whose east edge lies gap_m west of the meridian `lon` (built in an AEQD at (lon, lat))."""
    aeqd = local_aeqd(lon, lat)
    sq = Polygon([(-gap_m - side_m, -side_m / 2), (-gap_m, -side_m / 2), (-gap_m, side_m / 2), (-gap_m - side_m, side_m / 2)])
    return gpd.GeoSeries([sq], crs=aeqd).to_crs(4326).iloc[0]


@pytest.mark.parametrize("lon,lat", [(120.0, 43.0), (121.5, 42.5), (116.5, 45.5), (123.5, 41.5), (118.5, 44.0)])
def test_square_two_km_from_a_line(lon, lat):
    # The meridian line at `lon`; the square 2 km west of it.  121.5 E and 118.5 E are 3-degree
    # Gauss-Krueger zone boundaries: the square and the line lie in different zones.
    park = gpd.GeoDataFrame({"park_id": ["S"]}, geometry=[_square_west_of_meridian(lon, lat)], crs=4326)
    line = gpd.GeoDataFrame({"id": ["L"]}, geometry=[LineString([(lon, lat - 0.2), (lon, lat + 0.2)])], crs=4326)
    r = nearest(park, line).iloc[0]
    assert r["distance_m"] == pytest.approx(2000.0, rel=1e-3)
    # The reported distance is the ellipsoidal distance between the two reported points,
    # and those points lie on the two geometries.
    assert GEOD.inv(r.src_lon, r.src_lat, r.dst_lon, r.dst_lat)[2] == pytest.approx(r["distance_m"], rel=1e-9)
    assert r.dst_lon == pytest.approx(lon, abs=1e-9)
    assert park.geometry.iloc[0].exterior.distance(Point(r.src_lon, r.src_lat)) < 1e-7
    # From the centroid: 2.5 km.
    c = nearest(park, line, measure_from="centroid").iloc[0]
    assert c["distance_m"] == pytest.approx(2500.0, rel=1e-3)


def test_touching_and_overlapping_are_zero():
    sq = _square_west_of_meridian(120.0, 43.0, gap_m=0.0)
    park = gpd.GeoDataFrame({"park_id": ["S"]}, geometry=[sq.buffer(1e-4)], crs=4326)
    line = gpd.GeoDataFrame(geometry=[LineString([(120.0, 42.8), (120.0, 43.2)])], crs=4326)
    r = nearest(park, line).iloc[0]
    assert r["distance_m"] == 0 and r["touches"]


def test_real_distances_match_brute_force_on_the_ellipsoid(ds):
    """Every reported nearest distance is within 0.1 % (plus densification slack) of a brute-force
    ellipsoidal minimum over densified geometries, anywhere in the region."""
    near = proximity.park_corridor_distances(ds.layers)
    parks = ds["parks"].set_index("park_id")
    checked = 0
    for cls in ("high_speed_rail", "railway", "expressway", "airport"):
        targets = proximity.class_targets(ds.layers, cls)
        dense = [np.asarray(shapely.get_coordinates(shapely.segmentize(g, 0.002))) for g in targets.geometry]
        for pid, park in parks.iterrows():
            ring = np.asarray(shapely.segmentize(park.geometry.exterior, 0.001).coords)
            got = near[(near.park_id == pid) & (near["class"] == cls)]["distance_m"].iloc[0]
            # Only target points that could be within reach (a generous lon/lat box) are paired.
            c = park.geometry.centroid
            dlat = (got + 5000) / 110_000 + 0.05
            dlon = dlat / math.cos(math.radians(c.y))
            best = np.inf
            for pts in dense:
                pts = pts[(np.abs(pts[:, 0] - c.x) < dlon) & (np.abs(pts[:, 1] - c.y) < dlat)]
                if not len(pts):
                    continue
                a = np.repeat(ring, len(pts), axis=0)
                b = np.tile(pts, (len(ring), 1))
                best = min(best, GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2].min())
            assert got <= best + 1.0  # never longer than a brute-force pair of points
            assert got >= best * (1 - 1e-3) - 200.0  # 0.002 deg densification is ~ 170 m
            checked += 1
    assert checked == 4 * len(parks)


def test_results_do_not_depend_on_row_order_or_cgcs2000(ds):
    base = proximity.park_corridor_distances(ds.layers)
    rng = np.random.default_rng(0)
    shuffled = {k: v.iloc[rng.permutation(len(v))] for k, v in ds.layers.items()}
    cgcs = {k: v.to_crs(4490) for k, v in ds.layers.items()}
    for other in (shuffled, cgcs):
        got = proximity.park_corridor_distances(other)
        pd.testing.assert_frame_equal(base[["park_id", "class", "target_id"]], got[["park_id", "class", "target_id"]])
        np.testing.assert_allclose(base["distance_m"], got["distance_m"], atol=0.05)


def test_matrix_and_max_km_filter(ds):
    m = proximity.park_corridor_matrix(ds.layers, classes=["high_speed_rail", "expressway"])
    n_targets = sum(len(proximity.class_targets(ds.layers, c)) for c in ("high_speed_rail", "expressway"))
    assert len(m) == len(ds["parks"]) * n_targets
    near = proximity.park_corridor_distances(ds.layers, classes=["high_speed_rail", "expressway"])
    mins = m.groupby(["park_id", "class"])["distance_km"].min().reset_index()
    merged = near.merge(mins, on=["park_id", "class"], suffixes=("", "_matrix"))
    np.testing.assert_allclose(merged["distance_km"], merged["distance_km_matrix"], atol=1e-3)
    within = proximity.park_corridor_matrix(ds.layers, classes=["high_speed_rail", "expressway"], max_km=50)
    assert within["distance_km"].max() <= 50
    assert len(within) == (m["distance_km"] <= 50).sum()


def test_planned_link_only_when_asked(ds):
    ids = set(proximity.class_targets(ds.layers, "high_speed_rail")["target_id"])
    assert "C_HSR_CT_PLAN" not in ids
    assert "C_HSR_CT_PLAN" in set(proximity.class_targets(ds.layers, "high_speed_rail", include_planned=True)["target_id"])


def test_reserve_half_covered_by_a_park():
    reserve = _square_west_of_meridian(120.0, 43.0, gap_m=0.0, side_m=2000.0)
    minx, miny, maxx, maxy = reserve.bounds
    # The park covers the eastern half of the reserve (cut at the reserve's central meridian) and more.
    mid = (reserve.exterior.coords[0][0] + reserve.exterior.coords[1][0]) / 2
    park = Polygon([(mid, miny - 0.01), (maxx + 0.01, miny - 0.01), (maxx + 0.01, maxy + 0.01), (mid, maxy + 0.01)])
    a = gpd.GeoDataFrame({"park_id": ["P"], "name_zh": ["园"]}, geometry=[park], crs=4326)
    b = gpd.GeoDataFrame({"zone_id": ["R"], "name_zh": ["保护区"], "kind": ["nature_reserve"]}, geometry=[reserve], crs=4326)
    ov = overlay.area_overlaps(a, b, a_id="park_id", b_id="zone_id").iloc[0]
    assert ov["share_of_b"] == pytest.approx(0.5, abs=2e-3)
    assert ov["overlap_km2"] == pytest.approx(2.0, rel=2e-3)  # half of a 2 km x 2 km square
    assert ov["overlap_mu"] == pytest.approx(ov["overlap_km2"] * 1500, abs=0.05)  # 1 km2 = 1500 mu, rounded to 0.1 mu
    assert ov["overlap_ha"] == pytest.approx(ov["overlap_km2"] * 100, abs=0.001)


def test_line_through_a_circular_reserve_with_buffer():
    circle = geodesic_circle(120.0, 43.0, math.pi * 25.0)  # r = 5 km, 72-gon of the circle's area
    # The equal-area 72-gon's circumradius is r * sqrt(pi / (36 sin 5 deg)) = 5.0032 km.
    k = math.sqrt(math.pi / (36 * math.sin(math.radians(5))))
    zone = gpd.GeoDataFrame({"zone_id": ["Z"], "name_zh": ["z"], "kind": ["nature_reserve"]}, geometry=[circle], crs=4326)
    line = gpd.GeoDataFrame({"corridor_id": ["C"], "name_zh": ["c"], "class": ["railway"]},
                            geometry=[LineString([(120.0, 42.8), (120.0, 43.2)])], crs=4326)
    inside = overlay.length_inside(line, zone, line_id="corridor_id", zone_id="zone_id")
    assert inside["length_km"].iloc[0] == pytest.approx(10.0 * k, rel=1e-3)
    buffered = overlay.length_inside(line, zone, line_id="corridor_id", zone_id="zone_id", buffer={"nature_reserve": 1000.0})
    assert buffered["length_km"].iloc[0] == pytest.approx(10.0 * k + 2.0, rel=2e-3)


def test_lines_wholly_inside_crossing_and_outside_a_zone():
    # zone: the box 120-121 E, 43-44 N. A line wholly inside keeps its whole length (share 1); a meridian
    # from 42.5 to 43.5 N keeps its northern half (Geod.inv 43.0 -> 43.5 N); a line outside is not listed.
    g = Geod(ellps="WGS84")
    zone = gpd.GeoDataFrame({"zone_id": ["Z"], "name_zh": ["z"], "kind": ["sandy_land"]}, geometry=[box(120, 43, 121, 44)],
                            crs=4326)
    lines = gpd.GeoDataFrame({"corridor_id": ["in", "cross", "out"], "name_zh": ["a", "b", "c"], "class": ["local_road"] * 3},
                             geometry=[LineString([(120.2, 43.2), (120.5, 43.6), (120.8, 43.3)]),
                                       LineString([(120.5, 42.5), (120.5, 43.5)]), LineString([(122, 43), (122, 44)])], crs=4326)
    r = overlay.length_inside(lines, zone, line_id="corridor_id", zone_id="zone_id").set_index("line_corridor_id")
    assert list(r.index) == ["cross", "in"]
    whole = (g.inv(120.2, 43.2, 120.5, 43.6)[2] + g.inv(120.5, 43.6, 120.8, 43.3)[2]) / 1000
    assert r.loc["in", "length_km"] == pytest.approx(whole, abs=1e-4) and r.loc["in", "share_of_line"] == 1.0
    assert r.loc["cross", "length_km"] == pytest.approx(g.inv(120.5, 43.0, 120.5, 43.5)[2] / 1000, abs=1e-4)
    assert r.loc["cross", "share_of_line"] == pytest.approx(0.5, abs=1e-3)


def test_share_of_line_is_of_the_part_inside_the_study_area():
    # study area: 120-121 E, 42.5-44 N; zone: 120-121 E, 43-44 N.  "cross" runs from 42.0 to 43.5 N along
    # 120.5 E: 1.0 degree of it inside the study area (42.5 -> 43.5), 0.5 degree in the zone, so a share of
    # Geod(43.0 -> 43.5) / Geod(42.5 -> 43.5); "in" lies wholly inside both and keeps share 1.
    g = Geod(ellps="WGS84")
    zone = gpd.GeoDataFrame({"zone_id": ["Z"], "kind": ["sandy_land"]}, geometry=[box(120, 43, 121, 44)], crs=4326)
    lines = gpd.GeoDataFrame({"corridor_id": ["in", "cross"]},
                             geometry=[LineString([(120.2, 43.2), (120.5, 43.6)]), LineString([(120.5, 42.0), (120.5, 43.5)])],
                             crs=4326)
    r = overlay.length_inside(lines, zone, line_id="corridor_id", zone_id="zone_id",
                              within=box(120, 42.5, 121, 44)).set_index("line_corridor_id")
    share = g.inv(120.5, 43.0, 120.5, 43.5)[2] / g.inv(120.5, 42.5, 120.5, 43.5)[2]
    assert r.loc["cross", "share_of_line"] == pytest.approx(share, abs=1e-5)
    assert r.loc["in", "share_of_line"] == 1.0


def test_overlaps_never_exceed_either_area(ds):
    ov = overlay.area_overlaps(ds["parks"], ds["eco_zones"], a_id="park_id", b_id="zone_id")
    assert len(ov) >= 1
    assert (ov["share_of_a"] <= 1 + 1e-9).all() and (ov["share_of_b"] <= 1 + 1e-9).all()
    pa = ds["parks"].set_index("park_id")["area_km2"]
    assert (ov["overlap_km2"].to_numpy() <= pa.loc[ov["a_park_id"]].to_numpy() + 1e-9).all()


def test_county_adjacency_invariants(ds):
    b = ds["boundaries"]
    adj = overlay.county_adjacency(b)
    cross = adj[~adj["same_city"]]
    # DATA_SOURCES.md: the prefectures share one border of about 580 km; Ar Horqin-Jarud is its longest piece.
    prefs = b[b["level"] == "prefecture"].set_index("adcode").geometry
    city_border = shapely.line_merge(prefs["150400"].boundary.intersection(prefs["150500"].boundary))
    city_km = GEOD.geometry_length(city_border) / 1000
    assert 575 < city_km < 585
    assert cross["shared_border_km"].sum() == pytest.approx(city_km, abs=0.05)
    top = cross.nlargest(1, "shared_border_km").iloc[0]
    assert {top["name_a"], top["name_b"]} == {"阿鲁科尔沁旗", "扎鲁特旗"}
    # Symmetric: the border of (a, b) measured from b's side has the same length.
    c = b[b["level"] == "county"].set_index("adcode").geometry
    for r in adj.head(10).itertuples():
        back = GEOD.geometry_length(c[r.adcode_b].boundary.intersection(c[r.adcode_a].boundary)) / 1000
        assert back == pytest.approx(r.shared_border_km, abs=1e-3)
    # Every county of the region borders at least one other.
    assert set(adj["adcode_a"]) | set(adj["adcode_b"]) == set(c.index)


def test_conflict_report_names_both_features(ds):
    rep = overlay.conflict_report(ds.layers)
    assert {"feature_id", "feature_name_zh", "zone_id", "zone_name_zh", "indicative"} <= set(rep.columns)
    cor = rep[rep["feature_kind"] == "corridor"]
    # The Xinmin-Tongliao HSR runs across the Horqin sandy land; its in-region length is all inside.
    tx = cor[(cor["feature_id"] == "C_HSR_TX") & (cor["zone_id"] == "Z_HORQIN")]
    assert len(tx) == 1 and tx["share_of_feature"].iloc[0] > 0.9
    assert rep["indicative"].all()  # every embedded park/corridor/zone outline is indicative


def test_general_overlay_areas_add_up(ds):
    parks, eco = ds["parks"], ds["eco_zones"]
    inter = overlay.overlay_layers(parks, eco, how="intersection")
    diff = overlay.overlay_layers(parks, eco, how="difference")
    total = geodesic_area_km2(parks.geometry.values).sum()
    assert inter["area_km2"].sum() + diff["area_km2"].sum() == pytest.approx(total, rel=1e-6)


def test_indicators(ds):
    t = park_indicators(ds.layers).set_index("park_id")
    songshan = t.loc["P01"]
    assert songshan["facilities_within_5km"] == 10  # all supporting facilities named in the seed article
    assert songshan["share_in_urban_district"] == pytest.approx(1.0)
    assert songshan["nearest_hsr_station"] == "赤峰站"
    assert t.loc["P02", "city_core"] == "通辽市"
    # Distance to the core, checked independently against pyproj.Geod from the park's boundary vertices.
    core = ds["places"].set_index("place_id").geometry["CORE_150400"]
    ring = np.asarray(shapely.segmentize(ds["parks"].set_index("park_id").geometry["P07"].exterior, 0.0005).coords)
    brute = GEOD.inv(ring[:, 0], ring[:, 1], np.full(len(ring), core.x), np.full(len(ring), core.y))[2].min() / 1000
    assert t.loc["P07", "to_city_core_km"] == pytest.approx(brute, rel=1e-3)


def test_all_pairs_within_matches_full(ds):
    p, s = ds["parks"], ds["places"]
    full = all_pairs(p, s)
    near = all_pairs(p, s, max_m=20_000)
    assert len(near) == (full["distance_m"] <= 20_000).sum()


def test_nearest_takes_the_nearest_of_near_ties_not_the_first_candidate():
    """From P, target B lies 10.000 km due north and target A 10.030 km due east (pyproj.Geod.fwd):
    both are candidates (within the search slack) and A comes first by id, so a search that takes
    its first candidate, or ranks by projected distance alone, reports the wrong one."""
    p = (120.0, 43.0)
    n_lon, n_lat, _ = GEOD.fwd(*p, 0.0, 10_000.0)
    e_lon, e_lat, _ = GEOD.fwd(*p, 90.0, 10_030.0)
    src = gpd.GeoDataFrame(geometry=[Point(p)], crs=4326)
    dst = gpd.GeoDataFrame({"tid": ["A_east", "B_north"]}, geometry=[Point(e_lon, e_lat), Point(n_lon, n_lat)], crs=4326)
    for frame in (dst, dst.iloc[::-1]):
        r = nearest(src, frame, dst_id="tid")
        assert frame.loc[r["dst_index"].iloc[0], "tid"] == "B_north"
        assert r["distance_m"].iloc[0] == pytest.approx(10_000.0, abs=0.01)


def test_within_distance_names_the_right_features_whatever_their_index():
    """C lies 0.01 degree of longitude east of Z on the 43rd parallel: 815.4 m (pyproj.Geod), the
    only pair within 5 km.  With a non-default index the features must still be named by their
    own ids (index labels once were read as positions: B named instead of C, or an IndexError)."""
    z = gpd.GeoDataFrame({"zid": ["Z"]}, geometry=[Point(120.01, 43.0)], index=[4], crs=4326)
    expected = round(GEOD.inv(120.0, 43.0, 120.01, 43.0)[2] / 1000, 3)
    for index in ([2, 0, 1], [3, 7, 9]):
        a = gpd.GeoDataFrame({"pid": ["A", "B", "C"]}, index=index, crs=4326,
                             geometry=[Point(121.0, 43.0), Point(125.0, 43.0), Point(120.0, 43.0)])
        r = overlay.within_distance(a, z, 5000, a_id="pid", b_id="zid")
        assert r[["a_pid", "b_zid"]].values.tolist() == [["C", "Z"]]
        assert r["distance_km"].iloc[0] == pytest.approx(expected, abs=0.001)


@pytest.mark.parametrize("quality", [None, "", "unknown"])
def test_only_what_says_surveyed_counts_as_surveyed(quality):
    """An empty or unknown geometry_quality is indicative in distances and conflicts (missing is never 'surveyed')."""
    park = gpd.GeoDataFrame({"park_id": ["P1"], "name_zh": ["园"], "geometry_quality": [quality], "accuracy_m": [10.0]},
                            geometry=[box(120.0, 43.0, 120.02, 43.02)], crs=4326)
    zone = gpd.GeoDataFrame({"zone_id": ["Z1"], "name_zh": ["区"], "kind": ["nature_reserve"],
                             "geometry_quality": ["surveyed"]}, geometry=[box(120.01, 43.01, 120.1, 43.1)], crs=4326)
    rep = overlay.conflict_report({"parks": park, "eco_zones": zone})
    assert len(rep) and rep["indicative"].all()
    line = gpd.GeoDataFrame({"corridor_id": ["C1"], "name_zh": ["线"], "class": ["expressway"], "geometry_quality": ["surveyed"],
                             "accuracy_m": [10.0]}, geometry=[LineString([(120.05, 42.9), (120.05, 43.2)])], crs=4326)
    near = proximity.park_corridor_distances({"parks": park, "corridors": line}, classes=["expressway"])
    assert (near["geometry_quality"] == "indicative").all()
