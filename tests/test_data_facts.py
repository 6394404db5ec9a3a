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

from twinstar_gis.data import checks as data_checks
from twinstar_gis.data.crs import geodesic_circle
from twinstar_gis.data.dataset import curated_dir, missing_features
from twinstar_gis.analysis.indicators import park_indicators
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
            "boundaries: county populations sum to the city total", "eco_zones: reserve areas match their official areas"} <= names


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
    assert "鲁北站" not in names and {"扎鲁特站", "木里图站", "赤峰南站", "天义站", "查布嘎站", "林东站"} <= names
    assert c.loc["C_RAIL_TH", "stations"].split(";") == ["N_TONGLIAO", "N_ZARUD", "N_HOLINGOL"]
    # Xinmin-Tongliao HSR: in-region stations Tongliao (km 197), Mulitu (181), Ganqika (121).
    assert c.loc["C_HSR_TX", "stations"].split(";") == ["N_TONGLIAO", "N_MULITU", "N_GANQIKA"]
    # Yebaishou-Chifeng railway stops at Tianyi and ends at the old Chifeng station (now 赤峰南).
    assert c.loc["C_RAIL_YC", "stations"].split(";") == ["N_CHIFENG_S", "N_PINGZHUANG_N", "N_TIANYI"]
    assert c.loc["C_RAIL_YC", "opening_year"] == 1935
    assert c.loc["C_RAIL_JT", "design_speed_kmh"] == 110
    # K996 timetable order on the Jining-Tongliao railway.
    assert c.loc["C_RAIL_JITONG", "stations"].split(";") == [
        "N_JINGPENG", "N_LINXI", "N_DABAN", "N_LINDONG", "N_CHABUGA", "N_KAILU", "N_TONGLIAO"]


def test_jining_tongliao_runs_via_lindong_north_of_the_old_chord(ds):
    line = ds["corridors"].set_index("corridor_id").geometry["C_RAIL_JITONG"]
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
    assert q.loc["nodes", "worst_accuracy_m"] == nodes["accuracy_m"].max() == 25000  # Chabuga, placed from running times
    text = DOCS.read_text(encoding="utf-8")
    assert data_checks.quality_markdown(ds.tables["data_quality"]) in text, "regenerate the table in docs/data_dictionary.md"


def test_package_never_reads_the_shared_reference_folder():
    root = Path(__file__).resolve().parents[1]
    for path in list((root / "twinstar_gis").rglob("*.py")) + list((root / "tests").glob("*.py")):
        if path.name == Path(__file__).name:
            continue
        assert not re.search(r"shared/reference", path.read_text(encoding="utf-8")), path
