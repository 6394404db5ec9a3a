"""Planning analyses: suitability, joint-park sites, gravity linkage, 2SFCA.

The maths is tested on tiny cases computed by hand in the comments; the
orchestration on the embedded dataset at a coarse 8000 m grid.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from twinstar_gis.data.crs import EQUAL_AREA_CRS
from twinstar_gis.planning.fca import accessibility_index, supply_ratios, two_step_fca
from twinstar_gis.planning.linkage import gravity_pairs, unit_linkage
from twinstar_gis.errors import PlanningError
from twinstar_gis.settings import DEFAULT_PLANNING
from twinstar_gis.planning.sites import (
    border_counties,
    candidate_squares,
    find_sites,
    normalise_components,
    score_components,
    select_top,
)
from twinstar_gis.planning.suitability import (
    classify,
    construction_suitability,
    grade,
    hard_constraint_layers,
    slope_degrees,
    weighted_score,
)
from twinstar_gis.settings import DEFAULT

COARSE = DEFAULT.override(**{"access.resolution_m": 8000})
NAN = np.nan


# ---------------------------------------------------------------- suitability (pure)

def test_slope_of_a_plane():
    # 100 m rise per 1000 m cell, eastwards: atan(0.1) = 5.7106 degrees everywhere
    dem = np.tile(np.arange(5) * 100.0, (4, 1))
    assert np.allclose(slope_degrees(dem, 1000.0), np.degrees(np.arctan(0.1)))
    # the same plane rising northwards (rows): the slope does not depend on the axis
    assert np.allclose(slope_degrees(dem.T, 1000.0), np.degrees(np.arctan(0.1)))


def test_grade_breaks_are_inclusive_upwards():
    g = grade(np.array([3.0, 8.0, 8.01, 15.0, 25.0, 25.01]), (3, 8, 15, 25))
    assert g.tolist() == [5.0, 4.0, 3.0, 3.0, 2.0, 1.0]
    assert grade(np.array([NAN]), (30, 60, 90, 120), missing_grade=1.0).tolist() == [1.0]
    with pytest.raises(PlanningError):
        grade(np.array([1.0]), (3, 2, 15, 25))


def test_three_by_three_suitability_classes():
    slope = np.array([[0, 5, 10], [20, 30, 2], [1, 1, 1]], float)
    core = np.array([[10, 45, 70], [100, 130, NAN], [20, 20, 200]], float)
    corridor = np.full((3, 3), 10.0)
    grades = {"slope": grade(slope, (3, 8, 15, 25)),                       # [[5,4,3],[2,1,5],[5,5,5]]
              "core_time": grade(core, (30, 60, 90, 120), missing_grade=1.0),  # [[5,4,3],[2,1,1],[5,5,1]]
              "corridor_time": grade(corridor, (30, 60, 90, 120))}       # all 5
    score = weighted_score(grades, {"slope": 0.4, "core_time": 0.3, "corridor_time": 0.3})
    # score = 0.4 s + 0.3 c + 1.5
    expected = np.array([[5.0, 4.3, 3.6], [2.9, 2.2, 3.8], [5.0, 5.0, 3.8]])
    assert np.allclose(score, expected)
    hard = np.zeros((3, 3), bool)
    hard[2, 0] = True   # e.g. inside a nature reserve
    inside = np.ones((3, 3), bool)
    inside[2, 2] = False
    cls = classify(score, hard, suitable_min=3.5, fair_min=2.5, inside=inside)
    assert cls.tolist() == [[3, 3, 3], [2, 1, 3], [1, 3, 0]]


def test_weights_renormalise_over_available_factors():
    # no DEM: slope absent, core and corridor weights 0.3 / 0.3 -> 0.5 / 0.5
    s = weighted_score({"core_time": np.array([5.0]), "corridor_time": np.array([1.0])},
                       {"slope": 0.4, "core_time": 0.3, "corridor_time": 0.3})
    assert s.tolist() == [3.0]


def test_impossible_planning_settings_are_refused():
    from twinstar_gis.settings import PlanningSettings

    with pytest.raises(PlanningError, match="fair_min_score"):
        PlanningSettings(fair_min_score=4.0)
    with pytest.raises(PlanningError, match="ascending"):
        PlanningSettings(slope_breaks_deg=(3.0, 8.0, 25.0, 15.0))
    with pytest.raises(PlanningError, match="weights"):
        PlanningSettings(w_site_balance=-1.0)


def test_nan_score_is_no_data_not_unsuitable():
    cls = classify(np.array([NAN, 4.0]), np.array([False, False]), suitable_min=3.5, fair_min=2.5)
    assert cls.tolist() == [0, 3]


# ---------------------------------------------------------------- suitability (dataset)

@pytest.fixture(scope="module")
def suit(ds):
    return construction_suitability(ds.layers, dem_path=ds.dem_path, settings=COARSE)


def test_reserves_and_rivers_are_unsuitable(ds, suit):
    from rasterio.features import rasterize

    hard = hard_constraint_layers(ds.layers, river_buffer_m=DEFAULT_PLANNING.river_buffer_m)
    assert set(hard) == {"nature_reserve", "river_buffer"}
    g = suit.grid
    burnt = rasterize([(x, 1) for x in hard["nature_reserve"].to_crs(EQUAL_AREA_CRS)], out_shape=suit.classes.shape,
                      transform=g.transform, all_touched=True).astype(bool)
    assert burnt.sum() > 10
    assert (suit.classes[burnt & suit.inside] == 1).all()
    # every class occurs, and nothing outside the region is classed
    assert {1, 2, 3} <= set(np.unique(suit.classes))
    assert (suit.classes[~suit.inside] == 0).all()


def test_a_redline_layer_is_a_hard_constraint(ds, suit):
    # a planner's 生态保护红线 over a 0.5-degree box of otherwise suitable land
    layers = dict(ds.layers)
    r, c = np.argwhere(suit.classes == 3)[0]
    x, y = suit.grid.xy(r, c)
    pt = gpd.GeoSeries(gpd.points_from_xy([x], [y]), crs=EQUAL_AREA_CRS).to_crs(4326).iloc[0]
    layers["eco_redline"] = gpd.GeoDataFrame({"id": [1]}, geometry=[pt.buffer(0.05)], crs=4326)
    with_line = construction_suitability(layers, dem_path=ds.dem_path, settings=COARSE)
    assert with_line.classes[r, c] == 1
    assert with_line.hard["eco_redline"][r, c]


def test_area_by_class_inside_an_urban_boundary(ds, suit):
    from twinstar_gis.planning.suitability import area_by_class

    b = ds["boundaries"]
    urban = b[b["adcode"] == "150402"][["geometry"]]  # 红山区 as a (very generous) 城镇开发边界
    t = area_by_class(suit.classes, suit.grid, b, urban_boundary=urban).set_index("adcode")
    for cls in ("unsuitable", "fair", "suitable"):
        # every cell counted in 红山区 has its centre inside the boundary, so it is all "inside"
        assert t.loc["150402", f"area_km2_{cls}_in_urban_boundary"] == t.loc["150402", f"area_km2_{cls}"]
        assert (t[f"area_km2_{cls}_in_urban_boundary"] <= t[f"area_km2_{cls}"]).all()
    # cells are counted by their centre: none of the neighbours' cells is inside
    assert t.drop(index="150402")[[c for c in t if c.endswith("_in_urban_boundary")]].to_numpy().sum() == 0


# ---------------------------------------------------------------- sites (pure)

def test_candidate_squares_on_a_lattice():
    # 10 km square region, 5 km sites, 2.5 km step: centres at 2.5, 5, 7.5 km on each axis -> 9 squares
    c = candidate_squares(box(0, 0, 10_000, 10_000), 5_000.0)
    assert len(c) == 9
    assert np.allclose(c.geometry.area, 25e6)
    assert min(c["candidate_id"]) == "1_1"


def test_normalise_and_score_by_hand():
    raw = pd.DataFrame({"worse_core_min": [60.0, 120.0], "hsr_min": [10.0, 30.0], "expressway_min": [5.0, 5.0],
                        "suitability_score": [5.0, 3.0], "park_km": [45.0, 15.0]})
    comp = normalise_components(raw, park_cap_km=30.0)
    # balance: min-max, low is good -> 1, 0; expressway all equal -> 1, 1; suitability (s-1)/4 -> 1, 0.5;
    # park: min(d, 30)/30 -> 1, 0.5
    assert comp.to_dict("list") == {"balance": [1.0, 0.0], "hsr": [1.0, 0.0], "expressway": [1.0, 1.0],
                                    "suitability": [1.0, 0.5], "park_distance": [1.0, 0.5]}
    w = DEFAULT_PLANNING.site_weights()  # .35 .15 .15 .2 .15
    s = score_components(comp, w)
    assert s.tolist() == pytest.approx([1.0, 0.15 + 0.2 * 0.5 + 0.15 * 0.5])


def test_box_windows_on_a_small_grid():
    from rasterio.transform import from_origin

    from twinstar_gis.planning.sites import box_any, box_mean
    from twinstar_gis.model.surface import Grid

    # 4 x 4 cells of 1 km, top-left corner at (0, 4000); row 0 is the top row
    grid = Grid(from_origin(0, 4000, 1000, 1000), 4, 4, EQUAL_AREA_CRS, 1000.0)
    vals = np.arange(16, dtype=float).reshape(4, 4)
    vals[3, 1] = NAN
    # box (500, 500)-(1500, 1500) touches rows 2-3, cols 0-1: cells 8, 9, 12 and NaN -> mean 29/3
    # box (1000, 0)-(2000, 1000) lies exactly on cell edges: only row 3, col 1 (NaN) -> NaN
    # box (2000, 2000)-(4000, 4000): rows 0-1, cols 2-3: 2, 3, 6, 7 -> 4.5
    bounds = np.array([[500, 500, 1500, 1500], [1000, 0, 2000, 1000], [2000, 2000, 4000, 4000]])
    got = box_mean(vals, grid, bounds)
    assert got[0] == pytest.approx(29 / 3) and np.isnan(got[1]) and got[2] == pytest.approx(4.5)
    mask = np.zeros((4, 4), bool)
    mask[2, 1] = True  # inside the first box only
    assert box_any(mask, grid, bounds).tolist() == [True, False, False]


def test_distance_to_the_nearest_park_in_km():
    from twinstar_gis.planning.sites import _park_km

    # a 1 km square candidate; parks 5 km and 12 km east of it (equal-area metres)
    cand = gpd.GeoDataFrame({"candidate_id": ["a"]}, geometry=[box(0, 0, 1000, 1000)], crs=EQUAL_AREA_CRS)
    parks = gpd.GeoDataFrame({"park_id": ["P1", "P2"]}, geometry=[box(6000, 0, 7000, 1000), box(13000, 0, 14000, 1000)],
                             crs=EQUAL_AREA_CRS).to_crs(4326)
    assert _park_km(cand, parks) == pytest.approx([5.0], abs=1e-6)
    assert np.isnan(_park_km(cand, None)).all()  # no park layer: unknown, not 0


def test_select_top_skips_overlaps_and_ignores_row_order():
    g = gpd.GeoDataFrame({"candidate_id": ["a", "b", "c", "d"], "score": [0.9, 0.8, 0.8, 0.1]},
                         geometry=[box(0, 0, 2, 2), box(1, 1, 3, 3), box(5, 5, 7, 7), box(2, 0, 4, 2)])
    # b overlaps a; c ties with b and wins on its own; d only touches a (no shared area)
    assert list(select_top(g, 3)["candidate_id"]) == ["a", "c", "d"]
    assert list(select_top(g.iloc[::-1], 3)["candidate_id"]) == ["a", "c", "d"]
    # with a 1-unit gap d (touching a) is no longer allowed
    assert list(select_top(g, 3, min_gap_m=1.0)["candidate_id"]) == ["a", "c"]


def test_border_counties(ds):
    got = border_counties(ds["boundaries"])
    assert {"150430", "150525"} <= set(got)  # 敖汉旗 and 奈曼旗 share the city border
    assert "150402" not in got and "150502" not in got  # the core districts lie inland
    assert any(a.startswith("1504") for a in got) and any(a.startswith("1505") for a in got)


# ---------------------------------------------------------------- sites (dataset)

@pytest.fixture(scope="module")
def sites(ds, suit):
    return find_sites(ds.layers, dem_path=ds.dem_path, settings=COARSE, top=5, suitability=suit)


def test_sites_respect_constraints_counties_and_each_other(ds, sites):
    s = sites["sites"].to_crs(EQUAL_AREA_CRS)
    assert len(s) == 5
    hard = hard_constraint_layers(ds.layers, river_buffer_m=DEFAULT_PLANNING.river_buffer_m)
    union = shapely.union_all(np.concatenate([np.asarray(g.to_crs(EQUAL_AREA_CRS).values) for g in hard.values()]))
    assert not shapely.intersects(np.asarray(s.geometry.values), union).any()
    b = ds["boundaries"]
    counties = b[b["adcode"].astype(str).isin(sites["counties"])].to_crs(EQUAL_AREA_CRS)
    area = shapely.union_all(np.asarray(counties.geometry.values)).buffer(1.0)
    assert shapely.within(np.asarray(s.geometry.values), area).all()
    geoms = list(s.geometry)
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            assert geoms[i].intersection(geoms[j]).area == 0
            assert geoms[i].distance(geoms[j]) >= DEFAULT_PLANNING.site_min_gap_km * 1000 - 1
    # 10 km² on the ellipsoid (the equal-area square is exact to well under 1 %)
    assert s["area_km2"].to_numpy() == pytest.approx(10.0, rel=0.01)
    assert (s["score"].diff().dropna() <= 1e-12).all()
    assert s["score"].to_numpy() == pytest.approx(s[[c for c in s if c.endswith("_points")]].sum(axis=1).to_numpy())


def test_sites_in_given_counties_and_sensitivity(ds, suit):
    r = find_sites(ds.layers, dem_path=ds.dem_path, settings=COARSE, top=3, counties=["150525"], suitability=suit)
    assert set(r["sites"]["county_adcodes"]) == {"150525"}
    sens = r["sensitivity"]
    assert len(sens) == 5 * 2 * 3  # five weights x (-25 %, +25 %) x three sites
    assert set(sens["change"]) == {"-25%", "+25%"}
    with pytest.raises(PlanningError, match="unknown county"):
        find_sites(ds.layers, settings=COARSE, counties=["999999"], suitability=suit)


def test_sites_do_not_depend_on_row_order(ds, suit, sites):
    shuffled = {k: (v.iloc[::-1].reset_index(drop=True) if len(v) > 1 else v) for k, v in ds.layers.items()}
    again = find_sites(shuffled, dem_path=ds.dem_path, settings=COARSE, top=5, suitability=suit)
    assert list(again["sites"]["candidate_id"]) == list(sites["sites"]["candidate_id"])


# ---------------------------------------------------------------- gravity linkage

def test_two_town_gravity_pair():
    u = pd.DataFrame({"population": [1000.0, 4000.0], "city": ["X", "Y"]}, index=["a", "b"])
    t = pd.DataFrame([[0.0, 10.0], [30.0, 0.0]], index=["a", "b"], columns=["a", "b"])  # mean 20 min
    assert gravity_pairs(u, t, b=2.0)["strength"].iloc[0] == pytest.approx(1000 * 4000 / 20 ** 2)  # 10 000
    assert gravity_pairs(u, t, b=1.0)["strength"].iloc[0] == pytest.approx(1000 * 4000 / 20)  # 200 000


def test_linkage_totals_partner_and_cross_city_share():
    # s_ab = 100*100/10^2 = 100 ; s_ac = s_bc = 100*200/20^2 = 50 ; d has no census figure
    u = pd.DataFrame({"population": [100.0, 100.0, 200.0, NAN], "city": ["X", "X", "Y", "Y"]},
                     index=["a", "b", "c", "d"])
    t = pd.DataFrame([[0, 10, 20, 5], [10, 0, 20, 5], [20, 20, 0, 5], [5, 5, 5, 0]], index=list("abcd"),
                     columns=list("abcd"), dtype=float)
    pairs = gravity_pairs(u, t, b=2.0)
    res = unit_linkage(u, pairs).set_index("unit")
    assert res.loc["a", "total_linkage"] == pytest.approx(150.0)
    assert res.loc["a", "strongest_partner"] == "b"
    assert res.loc["a", "cross_city_share"] == pytest.approx(50 / 150)
    assert res.loc["c", "cross_city_share"] == pytest.approx(1.0)
    assert res.loc["a", "partners_with_data"] == 2 and res.loc["a", "partners"] == 3
    assert np.isnan(res.loc["d", "total_linkage"])  # missing, never 0
    # row order does not matter
    again = unit_linkage(u.iloc[::-1], gravity_pairs(u.iloc[::-1], t.iloc[::-1, ::-1], b=2.0)).set_index("unit")
    pd.testing.assert_frame_equal(res, again)


def test_linkage_on_the_dataset(ds):
    from twinstar_gis.planning.linkage import twin_city_linkage

    r = twin_city_linkage(ds.layers, settings=COARSE)
    u = r["units"]
    assert len(u) == (ds["boundaries"]["level"] == "county").sum()
    known = u["population"].notna()
    assert u.loc[~known, "total_linkage"].isna().all()
    assert u.loc[known, "cross_city_share"].between(0, 1).all()
    # the planned Chifeng-Tongliao high-speed rail brings the two cities closer: the cross-city share rises
    s = r["summary"].set_index("indicator").loc["cross_city_share_of_all_linkage"]
    assert s["scenario"] > s["base"]
    assert len(r["flows"]) == len(r["pairs"]) == len(u) * (len(u) - 1) // 2
    # a run passes the models its accessibility step built: same tables, and those models are the ones read
    from twinstar_gis.model.traveltime import build_model

    base, scen = build_model(ds.layers, settings=COARSE), build_model(ds.layers, settings=COARSE, include_planned=True)
    given = twin_city_linkage(ds.layers, settings=COARSE, models=(base, scen))
    pd.testing.assert_frame_equal(given["pairs"], r["pairs"])
    same = twin_city_linkage(ds.layers, settings=COARSE, models=(base, base))["pairs"]
    assert np.allclose(same["minutes_scenario"], same["minutes"], equal_nan=True)
    assert not np.allclose(given["pairs"]["minutes_scenario"], given["pairs"]["minutes"], equal_nan=True)


# ---------------------------------------------------------------- 2SFCA

def _fca_case():
    """A small 2SFCA case built from the method's definition (Luo & Wang 2003), computed by hand.

    It is *not* a numeric example taken from the paper (the paper works on Chicago-area census
    tracts and gives no small worked example we could check here).

    Demand k1 = 1000, k2 = 2000, k3 = 500; supply j1 = 10, j2 = 6; catchment 30 min.
    Minutes: k1 -> j1 10, j2 40; k2 -> j1 20, j2 25; k3 -> j1 50, j2 15.
    R1 = 10 / (1000 + 2000) = 1/300 ; R2 = 6 / (2000 + 500) = 0.0024
    A1 = 1/300 ; A2 = 1/300 + 0.0024 ; A3 = 0.0024
    """
    supply = pd.Series({"j1": 10.0, "j2": 6.0})
    demand = pd.Series({"k1": 1000.0, "k2": 2000.0, "k3": 500.0})
    t = pd.DataFrame({"j1": [10.0, 20.0, 50.0], "j2": [40.0, 25.0, 15.0]}, index=["k1", "k2", "k3"])
    return supply, demand, t


def test_2sfca_by_hand():
    supply, demand, t = _fca_case()
    r = supply_ratios(supply, demand, t, 30.0)
    assert r.to_dict() == pytest.approx({"j1": 1 / 300, "j2": 0.0024})
    res = two_step_fca(supply, demand, t, 30.0)
    assert res["access_index"].to_dict() == pytest.approx({"k1": 1 / 300, "k2": 1 / 300 + 0.0024, "k3": 0.0024})
    # conservation: population-weighted access equals total supply when every facility has demand
    assert float((res["access_index"] * demand).sum()) == pytest.approx(16.0)
    assert res["facilities_within"].tolist() == [1, 2, 1]
    # the catchment edge is inside: at d0 = 25 k2 (25 min from j2) still counts in both steps,
    # so every index is the same as at d0 = 30 (were it outside, R2 would be 6 / 500 = 0.012)
    edge = two_step_fca(supply, demand, t, 25.0)
    pd.testing.assert_frame_equal(edge, res)


def test_2sfca_missing_is_missing_and_order_free():
    supply, demand, t = _fca_case()
    s2 = supply.copy()
    s2["j2"] = NAN  # capacity unknown
    res = two_step_fca(s2, demand, t, 30.0)["access_index"]
    assert res["k1"] == pytest.approx(1 / 300) and np.isnan(res["k2"]) and np.isnan(res["k3"])
    d2 = demand.copy()
    d2["k3"] = NAN  # k3 lies in j2's catchment only
    r = supply_ratios(supply, d2, t, 30.0)
    assert r["j1"] == pytest.approx(1 / 300) and np.isnan(r["j2"])
    again = two_step_fca(supply.iloc[::-1], demand.iloc[::-1], t.iloc[::-1, ::-1], 30.0)
    pd.testing.assert_series_equal(again["access_index"].sort_index(), two_step_fca(supply, demand, t, 30.0)["access_index"])
    # nothing within reach is a real zero, not missing
    assert accessibility_index(supply_ratios(supply, demand, t, 30.0), t, 5.0).tolist() == [0.0, 0.0, 0.0]


# ---------------------------------------------------------------- CLI and run folder

@pytest.fixture()
def hospitals(tmp_path):
    """A made-up hospital POI file (capacities invented for the test only)."""
    p = tmp_path / "hospitals.csv"
    pd.DataFrame({"facility_id": ["H1", "H2", "H3"], "name": ["甲医院", "乙医院", "丙医院"],
                  "lon": [118.95, 122.26, 120.60], "lat": [42.27, 43.63, 42.90], "beds": [800, 600, ""]}).to_csv(p, index=False)
    return p


def test_cli_planning_commands(run, built, hospitals):
    gpkg = built[0]
    for cmd in (["suitability"], ["sites", "--top", "3"], ["linkage"]):
        res = run(*cmd, gpkg, "--resolution", 8000, "--out", "out")
        assert res.exit_code == 0, res.output
    res = run("access2sfca", hospitals, gpkg, "--capacity", "beds", "--resolution", 8000, "--out", "out")
    assert res.exit_code == 0, res.output
    import os

    files = set(os.listdir("out"))
    assert {"suitability_classes.tif", "suitability_by_county.csv", "suitability.gpkg", "sites.csv", "sites.gpkg",
            "sites_sensitivity.csv", "linkage_units.csv", "linkage.gpkg", "access_2sfca_counties.csv",
            "access_2sfca_parks.csv"} <= files
    parks = pd.read_csv("out/access_2sfca_parks.csv")
    assert parks["access_index"].notna().any()
    bad = run("access2sfca", hospitals, gpkg, "--capacity", "nope", "--resolution", 8000, "--out", "out")
    assert bad.exit_code == 2 and "no capacity column 'nope'" in bad.output


def test_write_planning_into_a_run_folder(ds, tmp_path):
    from twinstar_gis.planning.outputs import BRIEF_TABLES, write_planning

    paths = write_planning(tmp_path, ds.layers, dem_path=ds.dem_path, settings=COARSE, top=2)
    assert all(p.parent == tmp_path / "planning" for p in paths)
    for rel in BRIEF_TABLES:
        if "2sfca" not in rel:
            assert (tmp_path / rel).exists(), rel
    counties = pd.read_csv(tmp_path / "planning" / "suitability_by_county.csv")
    # class areas add up to the county's cells on the 8 km grid (64 km² each)
    total = counties[["area_km2_unsuitable", "area_km2_fair", "area_km2_suitable", "area_km2_no_data"]].sum(axis=1)
    assert (total % 64 == 0).all() and (total > 0).all()


def test_cli_on_a_project_with_a_redline_file(run, tmp_path):
    from pathlib import Path

    examples = Path(__file__).resolve().parents[1] / "data" / "examples"
    assert run("data", "build").exit_code == 0
    # first without control lines, then with a planner's 生态保护红线 drawn over the sites found
    common = ["--counties", "150525", "--top", 2, "--resolution", 8000]
    res = run("sites", "--project", examples / "project.toml", *common, "--out", tmp_path / "free")
    assert res.exit_code == 0, res.output
    free = gpd.read_file(tmp_path / "free" / "sites.gpkg", layer="sites")
    zone = shapely.union_all(np.asarray(free.geometry.values)).buffer(0.01)
    red = tmp_path / "redline.geojson"
    gpd.GeoDataFrame({"name": ["红线"]}, geometry=[zone], crs=4326).to_file(red, driver="GeoJSON")
    res = run("sites", "--project", examples / "project.toml", "--eco-redline", red, *common, "--out", tmp_path / "proj")
    assert res.exit_code == 0, res.output
    sites = gpd.read_file(tmp_path / "proj" / "sites.gpkg", layer="sites")
    assert len(sites) == 2
    assert not sites.intersects(zone).any()
    # the project's own parks (X01, X02) replace the embedded ones in the duplication check
    assert sites["park_km"].notna().all()
