"""Accessibility: hand-checked graph and grid, symmetry, nesting, unreachable places, scenarios."""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import Geod
from shapely.geometry import LineString, Point

from twinstar_gis import model as acc
from twinstar_gis.model import network
from twinstar_gis.model import surface as ra
from twinstar_gis.settings import Speeds

GEOD = Geod(ellps="WGS84")


def _path_km(p, q, n=2001):
    """Length of the segment p-q as stored: straight in lon/lat (here along a parallel), on the ellipsoid."""
    return GEOD.line_length(np.linspace(p[0], q[0], n), np.linspace(p[1], q[1], n)) / 1000


def _layers(corridors, places, nodes=None):
    cor = gpd.GeoDataFrame(corridors, crs=4326)
    pl = gpd.GeoDataFrame(places, crs=4326)
    out = {"corridors": cor, "places": pl}
    if nodes is not None:
        out["nodes"] = gpd.GeoDataFrame(nodes, crs=4326)
    return out


def test_tiny_road_graph_by_hand():
    # One straight national highway along the 43 N parallel (a lon/lat segment), places on its vertices.
    a, b, c = (120.0, 43.0), (120.5, 43.0), (121.0, 43.0)
    layers = _layers(
        {"corridor_id": ["E1"], "name_zh": ["e"], "class": ["national_highway"], "status": ["operating"],
         "geometry": [LineString([a, b, c])]},
        {"place_id": ["A", "B", "C"], "name_zh": ["a", "b", "c"], "kind": ["county_seat"] * 3,
         "geometry": [Point(a), Point(b), Point(c)]})
    net = network.build_network(layers)
    od = network.network_od_matrix(net, ["A", "B", "C"])
    km_ab = _path_km(a, b)
    km_ac = km_ab + _path_km(b, c)
    assert od.loc["A", "B"] == pytest.approx(km_ab / 60 * 60, rel=1e-6)  # 60 km/h
    assert od.loc["A", "C"] == pytest.approx(km_ac / 60 * 60, rel=1e-6)
    np.testing.assert_allclose(od.to_numpy(), od.to_numpy().T)
    # Slower default for a county road: 40 km/h.
    layers["corridors"]["class"] = "county_road"
    od2 = network.network_od_matrix(network.build_network(layers), ["A", "C"])
    assert od2.loc["A", "C"] == pytest.approx(km_ac / 40 * 60, rel=1e-6)


def test_rail_is_entered_only_at_stations():
    s1, mid, s2 = (120.0, 43.0), (120.5, 43.0), (121.0, 43.0)
    layers = _layers(
        {"corridor_id": ["R1"], "name_zh": ["r"], "class": ["railway"], "status": ["operating"],
         "stations": ["S1;S2"], "geometry": [LineString([s1, s2])]},
        {"place_id": ["X", "A", "B"], "name_zh": ["x", "a", "b"], "kind": ["county_seat"] * 3,
         "geometry": [Point(mid), Point(s1), Point(s2)]},
        {"node_id": ["S1", "S2"], "name_zh": ["s1", "s2"], "kind": ["rail_station"] * 2, "status": ["operating"] * 2,
         "geometry": [Point(s1), Point(s2)]})
    sp = Speeds()
    net = network.build_network(layers)
    od = network.network_od_matrix(net, ["X", "A", "B"])
    km = _path_km(s1, s2)
    # Station to station: running time + boarding/alighting (20 min).
    assert od.loc["A", "B"] == pytest.approx(km / sp.railway * 60 + sp.transfer("railway"), rel=1e-6)
    # X sits on the line but is no station: it goes to a station off-network, it cannot board mid-line.
    half = GEOD.inv(*mid, *s2)[2] / 1000
    assert od.loc["X", "B"] == pytest.approx(half / sp.off_network * 60, rel=1e-6)


def test_unreachable_is_nan_not_zero():
    layers = _layers(
        {"corridor_id": ["E1"], "name_zh": ["e"], "class": ["expressway"], "status": ["operating"],
         "geometry": [LineString([(120.0, 43.0), (120.5, 43.0)])]},
        {"place_id": ["A", "FAR"], "name_zh": ["a", "far"], "kind": ["county_seat"] * 2,
         "geometry": [Point(120.0, 43.0), Point(123.0, 45.5)]})  # > 60 km from any road
    od = network.network_od_matrix(network.build_network(layers), ["A", "FAR"])
    assert np.isnan(od.loc["A", "FAR"]) and np.isnan(od.loc["FAR", "A"]) and od.loc["FAR", "FAR"] == 0


def test_tiny_grid_by_hand():
    grid = ra.Grid(rasterio.transform.from_origin(0, 10_000, 1000, 1000), 10, 10, None, 1000.0)
    speed = np.full((10, 10), 60.0)  # 1 km per minute
    t = ra.cost_distance(speed, grid, [(500.0, 9500.0)])  # centre of the top-left cell
    assert t[0, 0] == 0 or t[0, 0] < 1e-6
    assert t[0, 7] == pytest.approx(7.0)
    assert t[5, 0] == pytest.approx(5.0)
    assert t[4, 4] == pytest.approx(4 * math.sqrt(2))
    # A slow band doubles the pace where it is crossed; inactive cells are unreachable.
    active = np.ones((10, 10), bool)
    active[:, 5] = False
    t2 = ra.cost_distance(speed, grid, [(500.0, 9500.0)], active=active)
    assert np.isnan(t2[0, 7]) and np.isnan(t2[:, 5]).all()
    # A seed with a start time shifts everything by it.
    t3 = ra.cost_distance(speed, grid, [(500.0, 9500.0)], [12.5])
    assert t3[0, 7] == pytest.approx(19.5)


@pytest.fixture(scope="module")
def base(ds):
    return acc.accessibility(ds.layers, dem_path=ds.dem_path)


def test_od_matrix_is_symmetric_and_complete(base, ds):
    od = base.od.to_numpy()
    assert od.shape == (22 + len(ds["parks"]), 22 + len(ds["parks"]))
    np.testing.assert_allclose(od, od.T, rtol=1e-9)
    assert np.isfinite(od).all() and (np.diag(od) == 0).all()


def test_isochrones_nest(base):
    iso = base.isochrones
    for origin, grp in iso.groupby("origin"):
        grp = grp.sort_values("minutes")
        geoms = list(grp.geometry)
        for small, big in zip(geoms, geoms[1:]):
            assert small.difference(big).area < 1e-7 * small.area  # slivers from reprojection only
        assert grp["area_km2"].is_monotonic_increasing


def test_the_model_never_loses_to_the_network_alone(ds, base):
    """The model's graph holds the whole network plus the land, so no trip is slower than on the network
    alone; between the cores the land adds little (the trip is a corridor trip)."""
    net = network.build_network(ds.layers)
    od = network.network_od_matrix(net, ["CORE_150400", "CORE_150500"])
    t = base.od.loc["CORE_150400", "CORE_150500"]
    assert t <= od.iloc[0, 1] + 1e-6
    assert t == pytest.approx(od.iloc[0, 1], rel=0.05)


def test_two_seeds_in_one_cell_are_not_added_up():
    grid = ra.Grid(rasterio.transform.from_origin(0, 3000, 1000, 1000), 3, 3, None, 1000.0)
    t = ra.cost_distance(np.full((3, 3), 60.0), grid, [(400.0, 2600.0), (600.0, 2400.0)], [10.0, 30.0])
    assert t[0, 0] == pytest.approx(10.0) and t[0, 2] == pytest.approx(12.0)


def test_county_statistics_and_circles(base, ds):
    c = base.counties.set_index("adcode")
    areas = ds["boundaries"].set_index("adcode")["area_km2"]
    big = c[c["area_km2_grid"] > 3000]
    np.testing.assert_allclose(big["area_km2_grid"], areas.loc[big.index], rtol=0.03)
    assert (c["area_share_60min"] <= c["area_share_120min"] + 1e-12).all()
    # The urban districts of both cores: a third or more within an hour (15 km/h off-road reaches ~15 km),
    # all of small Hongshan (495 km2 around the Chifeng core) within two.
    assert c.loc["150402", "area_share_60min"] > 0.4 and c.loc["150502", "area_share_60min"] > 0.3
    assert c.loc["150402", "area_share_120min"] == 1.0
    assert (c["unreachable_share"] == 0).all()
    # Missing census population stays missing; a known population with no cell within 60 min is 0.
    pop = ds["boundaries"].set_index("adcode")["population_2020"].loc[c.index]
    assert (c["population_60min"].isna() == pop.isna()).all()
    # Every county has census urban population: it sits at the county seat, the rest is spread over the land.
    assert c["population_method"].str.startswith("urban population at the county seat").all()
    b = ds["boundaries"].set_index("adcode").loc[c.index]
    seat = base.to_nearest.set_index("id")["to_core_min"]
    for adcode, row in c.iterrows():
        seat_min = seat.get(f"SEAT_{adcode}")
        urban, rural = b.loc[adcode, "population_urban_2020"], b.loc[adcode, "population_rural_2020"]
        # within 60 min: the whole urban population if the seat is, plus a share (0..1) of the rural one
        lo = urban if seat_min <= 60 else 0.0
        assert lo - 1 <= row["population_60min"] <= lo + rural + 1, adcode
    tw = base.twin_city.set_index("indicator")["value"]
    assert 150 < tw["core_to_core_road_min"] < 300
    assert tw["core_to_core_fastest_min"] <= tw["core_to_core_road_min"]


def test_speed_assumptions_are_in_the_metadata(base):
    meta = base.metadata.set_index("assumption")
    for k in ("high_speed_rail", "railway", "expressway", "national_highway", "off_network", "off_road",
              "transfer_high_speed_rail", "raster_resolution"):
        assert k in meta.index


def test_planned_link_scenario_only_improves(ds, base):
    scen = acc.accessibility(ds.layers, dem_path=ds.dem_path, include_planned=True)
    counties, places, layer = acc.compare_scenarios(base, scen, ds["boundaries"])
    assert (counties["mean_min_change"] <= 1e-9).all()
    assert (places["to_core_min_change"] <= 1e-9).all()
    tw0 = base.twin_city.set_index("indicator")["value"]
    tw1 = scen.twin_city.set_index("indicator")["value"]
    assert tw1["core_to_core_fastest_min"] < tw0["core_to_core_fastest_min"] - 30
    assert len(layer) == 20 and "mean_min_change" in layer.columns


def test_access_cli(run, tmp_path):
    run("data", "build")
    r = run("access", "--resolution", "2000", "--origin", "P07", "--origin-point", "120.3,43.0")
    assert r.exit_code == 0, r.output
    out = tmp_path / "twinstar_results/access"
    for f in ("od_matrix_minutes.csv", "access_to_nearest.csv", "isochrones.gpkg", "time_to_cores.tif",
              "time_to_hsr_stations.tif", "county_access.csv", "twin_city.csv", "assumptions.csv",
              "scenario_counties.csv", "scenario_places.csv", "scenario.gpkg", "scenario_time_to_cores.tif"):
        assert (out / f).exists(), f
    iso = gpd.read_file(out / "isochrones.gpkg")
    assert set(iso["origin"]) == {"CORE_150400", "CORE_150500", "P07", "ORIGIN_1"}
    with rasterio.open(out / "time_to_cores.tif") as src:
        tags = src.tags()
        assert src.res == (2000.0, 2000.0) and tags["units"] == "minutes"
        assert float(tags["settings.speeds.expressway"]) == 100 and float(tags["settings.access.resolution_m"]) == 2000
    # The isochrone file's areas are the cells of the raster it was cut from.
    assert (abs(iso["area_km2"] - iso["cells"] * 4.0) < 0.01).all()
    r = run("access", "--origin", "NOWHERE", "--scenario", "none")
    assert r.exit_code == 2 and "unknown origin" in r.output


def test_access_scenario_from_a_user_file(run, tmp_path):
    run("data", "build")
    f = tmp_path / "link.geojson"
    gpd.GeoDataFrame({"corridor_id": ["U1"], "name_zh": ["用户快速路"], "class": ["expressway"]},
                     geometry=[LineString([(120.66, 42.87), (121.31, 43.60)])], crs=4326).to_file(f)
    r = run("access", "--resolution", "2000", "--scenario", f, "--out", tmp_path / "a")
    assert r.exit_code == 0, r.output
    sc = pd.read_csv(tmp_path / "a" / "scenario_places.csv")
    assert (sc["to_core_min_change"] <= 1e-9).all()
    # The link runs Daqintala (Naiman) - Kailu: Kailu's trip to Chifeng now takes it.
    assert sc.set_index("id").loc["SEAT_150523", "to_other_core_min_change"] < -30


def test_access_on_a_project_file(run, tmp_path):
    from pathlib import Path

    run("data", "build")
    proj = Path(__file__).resolve().parents[1] / "data" / "examples" / "project.toml"
    r = run("access", "--project", proj, "--resolution", "2000", "--out", tmp_path / "p")
    assert r.exit_code == 0, r.output
    od = pd.read_csv(tmp_path / "p" / "od_matrix_minutes.csv")
    # The project's parks replace the embedded ones; the Amap points were appended to places.
    assert {"X01", "X02"} <= set(od["id"]) and "P01" not in set(od["id"])
    near = pd.read_csv(tmp_path / "p" / "access_to_nearest.csv").set_index("id")
    assert near.loc["X01", "to_core_min"] < 30  # the Songshan example outline lies next to the Chifeng core
