"""Embedded facts checked against their public sources, and the build's fact checks on tiny cases.

Every number asserted on the embedded dataset is the one its source publishes
(the source is named next to the assertion); distances are recomputed here with
pyproj.Geod, independently of the package.
"""

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon

from twinstar_gis.analysis.indicators import park_indicators
from twinstar_gis.data import checks as data_checks
from twinstar_gis.data.crs import geodesic_circle
from twinstar_gis.data.dataset import curated_dir, missing_features
from twinstar_gis.data.validate import ValidationReport

GEOD = Geod(ellps="WGS84")
DOCS = Path(__file__).resolve().parents[1] / "docs" / "data_dictionary.md"


def _gdf(rows, **cols):
    return gpd.GeoDataFrame(rows, crs="EPSG:4326", **cols)


def _dist_to_line_m(pt, line):
    """Smallest ellipsoidal distance from a point to densely sampled line vertices (independent of shapely projection)."""
    dense = shapely.get_coordinates(shapely.segmentize(line, 0.0005))
    return GEOD.inv(dense[:, 0], dense[:, 1], np.full(len(dense), pt.x), np.full(len(dense), pt.y))[2].min()


# --------------------------------------------------------------------------
# The fact checks on hand-made cases
# --------------------------------------------------------------------------

def _line_case(station_lat, accuracy_m):
    line = LineString([(118.0, 42.0), (119.0, 42.0)])
    cor = _gdf({"corridor_id": ["L"], "stations": ["A"], "accuracy_m": [accuracy_m]}, geometry=[line])
    nodes = _gdf({"node_id": ["A"]}, geometry=[Point(118.5, station_lat)])
    return cor, nodes


def test_station_off_its_line_beyond_the_stated_accuracy_fails():
    # 0.018 degrees of latitude north of the 42nd parallel: Geod says about 2.0 km.
    expected = GEOD.inv(118.5, 42.0, 118.5, 42.018)[2]
    assert 1990 < expected < 2010
    cor, nodes = _line_case(42.018, 1000)
    rep = ValidationReport()
    data_checks.check_station_accuracy(cor, nodes, rep)
    assert not rep.ok and f"passes {expected:.0f} m from its station A" in rep.problems[0]
    cor, nodes = _line_case(42.018, 2500)
    rep = ValidationReport()
    data_checks.check_station_accuracy(cor, nodes, rep)
    assert rep.ok


def test_stations_out_of_order_fail_and_either_direction_passes():
    line = LineString([(0.0, 0.0), (3.0, 0.0)])
    nodes = _gdf({"node_id": ["A", "B", "C"]}, geometry=[Point(1, 0), Point(2, 0), Point(3, 0)])
    for declared, ok in [("A;B;C", True), ("C;B;A", True), ("A;C;B", False)]:
        cor = _gdf({"corridor_id": ["L"], "stations": [declared], "accuracy_m": [1.0]}, geometry=[line])
        rep = ValidationReport()
        data_checks.check_station_order(cor, nodes, rep)
        assert rep.ok is ok, declared
    assert "passes them as ['A', 'B', 'C']" in rep.problems[0]


def _boundaries(pref_pop, county_pops):
    square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    rows = {"adcode": ["150400"] + [f"15040{i}" for i in range(len(county_pops))],
            "level": ["prefecture"] + ["county"] * len(county_pops),
            "parent_adcode": ["150000"] + ["150400"] * len(county_pops),
            "population_2020": pd.array([pref_pop, *county_pops], dtype="Int64")}
    return _gdf(rows, geometry=[square] * (1 + len(county_pops)))


@pytest.mark.parametrize("counties, ok", [([60, 40], True), ([60, 41], False), ([60, None], False)])
def test_county_populations_must_sum_to_the_city(counties, ok):
    rep = ValidationReport()
    data_checks.check_population_sums(_boundaries(100, counties), rep)
    assert rep.ok is ok


@pytest.mark.parametrize("official, ok", [(100.0, True), (100.9, True), (102.0, False)])
def test_reserve_area_must_match_the_official_area(official, ok):
    circle = geodesic_circle(118.0, 43.0, 100.0)  # 100 km2 on the ellipsoid
    eco = _gdf({"zone_id": ["R"], "kind": ["nature_reserve"], "official_area_km2": [official]}, geometry=[circle])
    rep = ValidationReport()
    data_checks.check_reserve_areas(eco, rep)
    assert rep.ok is ok


# --------------------------------------------------------------------------
# The embedded dataset against its sources
# --------------------------------------------------------------------------

def test_build_ran_the_fact_checks(built):
    names = {c.name for c in built[1].checks}
    assert {"corridors: stations lie within the line's stated accuracy", "corridors: lines pass through their stations in order",
            "corridors: each line's stations sit on one connected piece",
            "corridors: route factors and operating speeds are plausible",
            "boundaries: county populations sum to the city total", "boundaries: urban plus rural population equals the total",
            "eco_zones: reserve areas match their official areas"} <= names


def test_census_2020_populations(ds):
    b = ds["boundaries"].set_index("adcode")
    # 2020 census county tables (leiii/census): every county has its figure.
    assert b["population_2020"].notna().all()
    assert b.loc["150400", "population_2020"] == 4035967 and b.loc["150500", "population_2020"] == 2873168
    assert b.loc["150423", "population_2020"] == 155027 and b.loc["150581", "population_2020"] == 138676
    # 科尔沁区 718,665 plus the Tongliao ETDZ (a separate census unit, no polygon) 203,143, said so.
    assert b.loc["150502", "population_2020"] == 718665 + 203143
    assert b.loc["150502", "population_census_units"] == "718665+203143"
    assert "通辽经济技术开发区" in b.loc["150502", "population_source"]
    for pref in ("150400", "150500"):
        kids = b[(b["level"] == "county") & (b["parent_adcode"] == pref)]
        assert kids["population_2020"].sum() == b.loc[pref, "population_2020"]


def test_airports_at_their_aip_reference_points(ds):
    n = ds["nodes"].set_index("node_id")
    air = n[n["kind"] == "airport"]
    assert set(air.index) == {"N_CIF", "N_TGO", "N_HUO", "N_AEQ"}
    b = ds["boundaries"].set_index("adcode").geometry
    cif = air.geometry["N_CIF"]
    # AIP: 42.159722N 118.840833E, in Harqin Banner (喀喇沁旗), about 12 km from the city.
    assert (cif.y, cif.x) == pytest.approx((42.159722, 118.840833), abs=1e-6)
    assert b["150428"].covers(cif) and air.loc["N_CIF", "county_adcode"] == "150428"
    core = ds["places"].set_index("place_id").geometry["CORE_150400"]
    assert 10_000 < GEOD.inv(core.x, core.y, cif.x, cif.y)[2] < 15_000
    # The position curated before (118.908E 42.235N) was about 10 km off.
    assert GEOD.inv(118.908, 42.235, cif.x, cif.y)[2] > 9_000
    assert b["150581"].covers(air.geometry["N_HUO"]) and b["150421"].covers(air.geometry["N_AEQ"])


def test_station_names_and_lines_as_published(ds):
    n = ds["nodes"].set_index("node_id")
    c = ds["corridors"].set_index("corridor_id")
    names = set(n["name_zh"])
    assert "鲁北站" not in names and {"扎鲁特站", "赤峰南站", "天义站", "查布嘎站", "林东站"} <= names
    assert c.loc["C_RAIL_TH", "stations"].split(";") == ["N_TONGLIAO", "N_ZARUD", "N_HOLINGOL"]
    # Xinmin-Tongliao HSR: opened with four stops (新民北, 彰武, 甘旗卡, 通辽); Mulitu only reserved (CRI 2018-11-02).
    assert c.loc["C_HSR_TX", "stations"].split(";") == ["N_TONGLIAO", "N_GANQIKA"]
    # Yebaishou-Chifeng railway stops at Tianyi and ends at the old Chifeng station (now 赤峰南).
    assert c.loc["C_RAIL_YC", "stations"].split(";") == ["N_CHIFENG_S", "N_PINGZHUANG_N", "N_TIANYI"]
    assert c.loc["C_RAIL_YC", "opening_year"] == 1935
    assert c.loc["C_RAIL_JT", "design_speed_kmh"] == 110
    # K996 timetable order on the Jining-Tongliao railway (two timed sections, joined at Daban).
    order = c.loc["C_RAIL_JITONG_E", "stations"].split(";") + c.loc["C_RAIL_JITONG_W", "stations"].split(";")[1:]
    assert order == ["N_TONGLIAO", "N_KAILU", "N_CHABUGA", "N_LINDONG", "N_DABAN", "N_LINXI", "N_JINGPENG"]


def test_jining_tongliao_runs_via_lindong_north_of_the_old_chord(ds):
    line = ds["corridors"].set_index("corridor_id").geometry["C_RAIL_JITONG_E"]
    n = ds["nodes"].set_index("node_id").geometry
    chord = LineString([(n["N_DABAN"].x, n["N_DABAN"].y), (n["N_KAILU"].x, n["N_KAILU"].y)])
    lindong = n["N_LINDONG"]
    assert _dist_to_line_m(lindong, line) < 100
    assert _dist_to_line_m(lindong, chord) > 40_000  # tens of km north of the chord drawn before


def test_g16_bypasses_linxi_town_and_missing_expressways_added(ds):
    c = ds["corridors"].set_index("corridor_id")
    seat = ds["places"].set_index("place_id").geometry["SEAT_150424"]
    assert _dist_to_line_m(seat, c.geometry["C_EXP_G16"]) > 15_000
    assert {"C_EXP_G2511", "C_EXP_G4513", "C_EXP_G45_CC"} <= set(c.index)
    assert c.loc["C_EXP_G4513", "opening_year"] == 2021 and c.loc["C_EXP_G2511", "opening_year"] == 2013
    # G4513 Naiman-Baijiawanzi is published as 57.3 km; the drawn in-region part cannot be longer by much.
    assert c.loc["C_EXP_G4513", "length_km"] < 57.3 * 1.1


def test_national_reserves_and_official_areas(ds):
    res = ds["eco_zones"][ds["eco_zones"]["kind"] == "nature_reserve"].set_index("zone_id")
    ha = pd.to_numeric(res["official_area_km2"]) * 100
    published = {"NR_DALINOR": 119413.55, "NR_SAIHANWULA": 100400, "NR_BAIYINAOBAO": 13862, "NR_DAQINGGOU": 8183,
                 "NR_HEILIHE": 27638, "NR_DAHEISHAN": 57096, "NR_WULANBA": 80878, "NR_HANSHAN": 91333}
    for rid, area in published.items():
        assert ha[rid] == pytest.approx(area, abs=0.01), rid
    added = ha[["NR_DAHEISHAN", "NR_WULANBA", "NR_HANSHAN"]].sum()
    before = ha.drop(["NR_DAHEISHAN", "NR_WULANBA", "NR_HANSHAN"]).sum()
    assert 0.40 < added / before < 0.50  # "about 45 % more protected area"
    assert (res["area_verified"] != "yes").sum() == 3  # Gaogestai disputed, Ar Horqin unverified, Hanshan partly


def test_every_curated_row_says_its_source_accuracy_and_quality():
    cur = curated_dir()
    for name in ("nodes", "corridors", "reserves", "parks", "facilities"):
        df = pd.read_csv(cur / f"{name}.csv", dtype=str)
        for col in ("source", "accuracy_m", "geometry_quality"):
            assert df[col].notna().all() and (df[col].str.strip() != "").all(), (name, col)
        assert df["geometry_quality"].isin(["surveyed", "indicative"]).all(), name
    nodes = pd.read_csv(cur / "nodes.csv")
    # Surveyed means within 500 m; nothing is surveyed by assertion alone.
    assert (nodes.loc[nodes["geometry_quality"] == "surveyed", "accuracy_m"] <= 500).all()


def test_unverified_parks_say_why(ds):
    p = ds["parks"]
    unv = p[p["level"] == "unverified"]
    assert len(unv) and unv["level_source"].str.startswith("unverified:").all()
    assert (unv["area_basis"].str.startswith("nominal")).all()
    cz = p[p["zone_name_zh"] == "赤峰经济开发区"]
    assert set(cz["county_adcode"]) == {"150402", "150403", "150404"}  # 一区三园: 红山, 元宝山, 松山
    assert (cz["zone_planned_area_km2"] == 132).all()


def test_missing_facility_data_is_missing_not_zero(ds):
    t = park_indicators(ds.layers).set_index("park_id")
    assert t.loc["P01", "facilities_within_5km"] == 10
    others = t.drop(index="P01")
    assert others["facilities_within_5km"].isna().all()
    assert (others["facility_data"] == "no facility data (missing, not zero)").all()


def test_region_wide_facility_file_counts_every_park(ds):
    layers = dict(ds.layers)
    places = layers["places"].copy()
    places["park_id"] = None  # a planner's POI file: facilities tied to no park
    layers["places"] = places
    t = park_indicators(layers).set_index("park_id")
    assert t["facilities_within_5km"].notna().all() and t.loc["P02", "facilities_within_5km"] == 0


def test_data_quality_table_in_gpkg_and_docs(ds):
    q = ds.tables["data_quality"].set_index("layer")
    nodes = ds["nodes"]
    assert q.loc["nodes", "features"] == len(nodes)
    assert q.loc["nodes", "surveyed"] == 4  # Tongliao station (Wikipedia) and three AIP airports
    assert q.loc["nodes", "surveyed"] + q.loc["nodes", "indicative"] == len(nodes)
    assert q.loc["nodes", "missing"] == (missing_features()["layer"] == "nodes").sum()
    assert q.loc["nodes", "worst_accuracy_m"] == nodes["accuracy_m"].max() == 30000  # Zarud: no published position
    text = DOCS.read_text(encoding="utf-8")
    assert data_checks.quality_markdown(ds.tables["data_quality"]) in text, "regenerate the table in docs/data_dictionary.md"


def test_package_never_reads_the_shared_reference_folder():
    root = Path(__file__).resolve().parents[1]
    for path in list((root / "twinstar_gis").rglob("*.py")) + list((root / "tests").glob("*.py")):
        if path.name == Path(__file__).name:
            continue
        assert not re.search(r"shared/reference", path.read_text(encoding="utf-8")), path


# --------------------------------------------------------------------------
# Issue 19: continuous lines, corrections from public facts, factors, urban population, roads
# --------------------------------------------------------------------------

CURATED = Path(__file__).resolve().parents[1] / "data" / "curated"


def _nodes_csv():
    return pd.read_csv(CURATED / "nodes.csv").set_index("node_id")


def _path_km(path, nodes, a=None, b=None):
    """Length (km) along a ';'-separated node path between two of its nodes, summed with pyproj.Geod."""
    p = path.split(";")
    i, j = (0, len(p) - 1) if a is None else sorted((p.index(a), p.index(b)))
    lon, lat = nodes.loc[p[i:j + 1], "lon"].to_numpy(), nodes.loc[p[i:j + 1], "lat"].to_numpy()
    return GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])[2].sum() / 1000


def test_a_line_cut_into_pieces_fails_the_continuity_check():
    stations = _gdf({"node_id": ["A", "B", "C"]}, geometry=[Point(0, 0), Point(1.5, 0), Point(3, 0)])
    whole = LineString([(0, 0), (3, 0)])
    cut = shapely.MultiLineString([[(0, 0), (1, 0)], [(1.2, 0), (3, 0)]])  # a gap between A and B
    joined = shapely.MultiLineString([[(0, 0), (1, 0)], [(1, 0), (3, 0)]])  # two parts that touch
    for geom, ok in ((whole, True), (cut, False), (joined, True)):
        cor = _gdf({"corridor_id": ["L"], "stations": ["A;B;C"], "accuracy_m": [1.0]}, geometry=[geom])
        rep = ValidationReport()
        data_checks.check_line_continuity(cor, stations, rep)
        assert rep.ok is ok, geom.wkt
    cor = _gdf({"corridor_id": ["L"], "stations": ["A;B;C"], "accuracy_m": [1.0]}, geometry=[cut])
    rep = ValidationReport()
    data_checks.check_line_continuity(cor, stations, rep)
    assert rep.problems == ["corridors: L is cut into 2 pieces and its stations sit on different ones: ['A'] | ['B', 'C']"]


def test_the_chifeng_kazuo_hsr_is_one_piece_and_clipping_it_would_fail_the_build(ds):
    c = ds["corridors"].set_index("corridor_id")
    line = c.geometry["C_HSR_CK"]
    assert line.geom_type == "LineString"
    # Clipped at the region's border (as before issue 19) the line falls apart and Ningcheng is cut off from Chifeng.
    region = shapely.union_all(ds["boundaries"].loc[ds["boundaries"]["level"] == "prefecture"].geometry.values)
    clipped = ds["corridors"].copy()
    clipped["geometry"] = clipped.geometry.intersection(region)
    assert len(shapely.get_parts(clipped.set_index("corridor_id").geometry["C_HSR_CK"])) > 1
    rep = ValidationReport()
    data_checks.check_line_continuity(clipped[clipped["corridor_id"] == "C_HSR_CK"], ds["nodes"], rep)
    assert not rep.ok and "C_HSR_CK" in rep.problems[0] and "N_NINGCHENG" in rep.problems[0]


def test_lengths_in_region_and_whole(ds):
    c = ds["corridors"].set_index("corridor_id")
    region = shapely.union_all(ds["boundaries"].loc[ds["boundaries"]["level"] == "prefecture"].geometry.values)
    nodes = _nodes_csv()
    paths = pd.read_csv(CURATED / "corridors.csv").set_index("corridor_id")["path"]
    for cid in ("C_HSR_CK", "C_RAIL_YC", "C_EXP_G16", "C_NH_G306"):
        assert c.loc[cid, "total_length_km"] == pytest.approx(_path_km(paths[cid], nodes), rel=1e-6)
        inside = GEOD.geometry_length(c.geometry[cid].intersection(region)) / 1000
        assert c.loc[cid, "length_km"] == pytest.approx(inside, rel=1e-6)
        assert c.loc[cid, "length_km"] < c.loc[cid, "total_length_km"]  # each has an out-of-region stretch
    assert (c["length_km"] <= c["total_length_km"] + 1e-9).all()


def test_stations_and_reserves_corrected_from_public_facts(ds):
    n = ds["nodes"].set_index("node_id")
    c = ds["corridors"].set_index("corridor_id")
    # Mulitu: reserved (预留), not an opening passenger stop (CRI 2018-11-02): no station, no line stops there.
    assert "N_MULITU" not in n.index and not c["stations"].fillna("").str.contains("N_MULITU").any()
    assert "预留" in _nodes_csv().loc["N_MULITU", "source"] and "木里图站" in set(missing_features()["name_zh"])
    # Positions not published: accuracies widened, not invented.
    assert n.loc[["N_NAIMAN", "N_KAILU", "N_LINDONG"], "accuracy_m"].tolist() == [5000, 5000, 5000]
    assert n.loc["N_LINXI", "accuracy_m"] == 8000 and n.loc["N_ZARUD", "accuracy_m"] == 30000
    # Chabuga: at the Ar Horqin seat (the railway crosses Tianshan), no longer ±25 km.
    seat = ds["places"].set_index("place_id").geometry["SEAT_150421"]
    ch = n.geometry["N_CHABUGA"]
    assert GEOD.inv(seat.x, seat.y, ch.x, ch.y)[2] < 100 and n.loc["N_CHABUGA", "county_adcode"] == "150421"
    res = ds["eco_zones"].set_index("zone_id")
    assert res.loc["NR_SAIHANWULA", "approval_year"] == 2000  # letfai.com; MAB 2001
    assert res.loc["NR_GAOGESTAI", "approval_year"] == 2011  # State Council notice of 2011-04-16
    missing = missing_features()
    assert {"黄岗梁自然保护区", "库伦站"} <= set(missing["name_zh"])


def test_missing_roads_and_railway_added_through_their_towns(ds):
    c = ds["corridors"].set_index("corridor_id")
    seat = ds["places"].set_index("place_id").geometry
    # G111 through 新惠 (Aohan) and 大沁他拉 (Naiman); G306 through the Ningcheng seat; G304 through Ganqika.
    for cid, place in (("C_NH_G111", "SEAT_150430"), ("C_NH_G111", "SEAT_150525"), ("C_NH_G306", "SEAT_150429"),
                       ("C_NH_G304", "SEAT_150522"), ("C_RD_KULUN", "SEAT_150524"), ("C_RD_KUDA", "SEAT_150524")):
        assert _dist_to_line_m(seat[place], c.geometry[cid]) < 1000, (cid, place)
    assert c.loc["C_NH_G306", "opening_year"] == 2012 and c.loc["C_NH_G111", "class"] == "national_highway"
    # G25 crosses Horqin Left Rear (查日苏镇), no exit drawn.
    b = ds["boundaries"].set_index("adcode").geometry
    assert c.geometry["C_EXP_G25"].intersects(b["150522"])
    assert "G505" in c.loc["C_RD_KUDA", "name_zh"]
    # The Ganqika-Kulun railway: boarded only at Ganqika (passenger service at Kulun not confirmed).
    assert c.loc["C_RAIL_GK", "stations"] == "N_GANQIKA" and "NOT CONFIRMED" in c.loc["C_RAIL_GK", "source"]
    # The Naiman G45 exit is an interchange node of the dataset.
    assert ds["nodes"].set_index("node_id").loc["N_IC_DAQINTALA", "kind"] == "interchange"


def test_operating_speeds_from_the_k996_timetable_recomputed(ds):
    """Average scheduled running speed over the drawn length, recomputed with pyproj.Geod from nodes.csv."""
    c = ds["corridors"].set_index("corridor_id")
    nodes = _nodes_csv()
    east = ["N_TONGLIAO", "N_KAILU", "N_CHABUGA", "N_LINDONG", "N_DABAN"]
    km = _path_km(";".join(east), nodes)
    minutes = 76 + 87 + 53 + 81  # K996 2023-03-26: 22:31-23:47, 23:50-01:17, 01:19-02:12, 02:16-03:37
    assert c.loc["C_RAIL_JITONG_E", "operating_speed_kmh"] == pytest.approx(km / minutes * 60, abs=0.05)
    km = _path_km("N_DABAN;N_LINXI;N_JINGPENG", nodes)
    assert c.loc["C_RAIL_JITONG_W", "operating_speed_kmh"] == pytest.approx(km / (62 + 85) * 60, abs=0.05)
    assert c["speed_source"].fillna("").str.contains("K996").sum() == 2
    assert c["operating_speed_kmh"].notna().sum() == 2  # no other timetable found: not set, not guessed


def test_route_factors_recomputed_from_published_lengths(ds):
    c = ds["corridors"].set_index("corridor_id")
    nodes = _nodes_csv()
    paths = pd.read_csv(CURATED / "corridors.csv").set_index("corridor_id")["path"]

    def factor(cid, pieces):
        return round(sum(km for *_, km in pieces) / sum(_path_km(paths[cid], nodes, a, b) for a, b, _ in pieces), 3)

    g16 = factor("C_EXP_G16", [("W_CHIFENG", "W_DABAN", 188.6), ("W_DABAN", "W_JINGPENG", 113.5)])
    kulun = factor("C_RD_KULUN", [("W_TONGLIAO", "W_KULUN", 144)])
    g304 = factor("C_NH_G304", [("W_TONGLIAO", "W_LUBEI", 170)])
    assert c.loc["C_EXP_G16", "route_factor"] == g16 and c.loc["C_RD_KULUN", "route_factor"] == kulun
    assert c.loc["C_NH_G304", "route_factor"] == g304
    assert c.loc["C_RAIL_TH", "route_factor"] == factor("C_RAIL_TH", [("N_TONGLIAO", "N_HOLINGOL", 419)])
    assert c.loc["C_HSR_CK", "route_factor"] == factor("C_HSR_CK", [("N_CHIFENG", "N_XT_KAZUO", 157)])
    # Roads without a published length: the median of the measured road factors.
    default = round(float(np.median([g16, kulun, g304])), 3)
    for cid in ("C_EXP_G45", "C_NH_G111", "C_NH_G306", "C_NH_G303", "C_RD_BAOKANG"):
        assert c.loc[cid, "route_factor"] == default, cid
    # Published shorter than drawn (G45 Chifeng-Maojingba, 100.6 km): never below 1.
    assert c.loc["C_EXP_G45_CC", "route_factor"] == 1.0
    assert (c["route_factor"] >= 1).all() and c["route_factor_source"].notna().all()


def test_route_factor_and_speed_check_on_tiny_cases():
    line = LineString([(0, 0), (1, 0)])
    cor = _gdf({"corridor_id": ["A", "B", "C"], "route_factor": [1.2, 0.9, np.nan],
                "operating_speed_kmh": [60.0, 130.0, np.nan], "design_speed_kmh": [120.0, 120.0, 100.0]},
               geometry=[line] * 3)
    rep = ValidationReport()
    data_checks.check_corridor_factors(cor, rep)
    assert len(rep.problems) == 2
    assert "B has route_factor 0.9" in rep.problems[0] and "B has operating_speed_kmh 130" in rep.problems[1]


def test_urban_population_from_the_census(ds):
    b = ds["boundaries"].set_index("adcode")
    # 2020 census county tables (leiii/census): urban populations.
    assert b.loc["150402", "population_urban_2020"] == 454301  # 红山区
    assert b.loc["150430", "population_urban_2020"] == 144417  # 敖汉旗 (zh.wikipedia gives the same)
    assert b.loc["150502", "population_urban_2020"] == 480059 + 167879  # 科尔沁区 + Tongliao ETDZ
    assert b.loc["150400", "population_urban_2020"] == 2143486 and b.loc["150500", "population_urban_2020"] == 1437489
    assert (b["population_urban_2020"] + b["population_rural_2020"] == b["population_2020"]).all()
    for pref in ("150400", "150500"):
        kids = b[(b["level"] == "county") & (b["parent_adcode"] == pref)]
        assert kids["population_urban_2020"].sum() == b.loc[pref, "population_urban_2020"]
    rep = ValidationReport()
    bad = ds["boundaries"].copy()
    bad.loc[bad["adcode"] == "150402", "population_rural_2020"] = 1
    data_checks.check_urban_population(bad, rep)
    assert rep.problems == ["boundaries: 150402 has urban 454301 + rural 1 != total 469079"]


def test_road_lengths_published_or_named_fallback(ds):
    b = ds["boundaries"].set_index("adcode")
    im = 216_000 / 1_183_000 * 100  # Inner Mongolia 2022 road length over its land area
    tl = 16_560 / 59_535 * 100  # Tongliao rural roads 2015 over the city's area
    assert b.loc["150423", "road_density_km_per_100km2"] == pytest.approx(im, abs=0.005)
    assert b.loc["150525", "road_density_km_per_100km2"] == pytest.approx(tl, abs=0.005)
    assert b.loc["150500", "road_km"] == 16560 and b.loc["150500", "road_km_year"] == 2015
    county = b[b["level"] == "county"]
    expect = (county["road_density_km_per_100km2"] * county["area_km2"] / 100).round(-2)
    assert (county["road_km"] == expect).all()
    assert county["road_km_basis"].isin(["region", "prefecture_rural_lower_bound"]).all()
    assert county["road_km_source"].str.startswith("FALLBACK").all()  # no county figure was found: said so


def test_county_populations_are_summed_per_prefecture():
    """Two prefectures: each one's counties sum to it (a check that summed every county would fail both)."""
    square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    b = _gdf({"adcode": ["150400", "150401", "150500", "150501"], "level": ["prefecture", "county"] * 2,
              "parent_adcode": ["150000", "150400", "150000", "150500"],
              "population_2020": pd.array([100, 100, 30, 30], dtype="Int64")}, geometry=[square] * 4)
    rep = ValidationReport()
    data_checks.check_population_sums(b, rep)
    assert rep.ok, rep.problems
