"""The one travel-time model: hand-computed grids, seeds, isochrone geometry, consistency of every output.

Numbers a reviewer can derive by hand:
* 1 km cells at 15 km/h: 4 min per orthogonal step, 4 x sqrt(2) per diagonal step.
* 8-neighbour (octile) paths: from a cell centre, the points reached within distance R
  form the regular octagon with vertices at R on the axes and diagonals, area
  2 sqrt(2) R^2 = 0.900 pi R^2 (octile distance = Euclidean on the axes and diagonals,
  up to sqrt(4 - 2 sqrt(2)) = 1.0824 times it in between).
"""

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import LineString, Point, box

from twinstar_gis.model import surface as ra
from twinstar_gis.model import traveltime as tt
from twinstar_gis.data.crs import EQUAL_AREA_CRS, geodesic_area_km2
from twinstar_gis.model.network import build_network
from twinstar_gis.settings import DEFAULT

GEOD = Geod(ellps="WGS84")
TO_LL = Transformer.from_crs(EQUAL_AREA_CRS, 4326, always_xy=True)
TO_EA = Transformer.from_crs(4326, EQUAL_AREA_CRS, always_xy=True)


def _grid(n, res, x0=0.0, y1=0.0, crs=None):
    return ra.Grid(rasterio.transform.from_origin(x0, y1, res, res), n, n, crs, float(res))


# ------------------------------------------------------------------ hand-computed grids
def test_five_by_five_grid_by_hand():
    g = _grid(5, 1000, 0, 5000)
    m = tt.model_from_raster(np.full((5, 5), 15.0), g)
    s = tt.time_surface(m, np.array([[2500.0, 2500.0]]), crs=None)  # centre cell (2, 2)
    assert s[2, 2] == 0
    assert s[2, 3] == pytest.approx(4.0) and s[1, 2] == pytest.approx(4.0)  # 1 km at 15 km/h
    assert s[1, 1] == pytest.approx(4 * math.sqrt(2)) and s[3, 1] == pytest.approx(4 * math.sqrt(2))
    assert s[2, 0] == pytest.approx(8.0)
    assert s[0, 1] == pytest.approx(4 + 4 * math.sqrt(2))  # knight's move: one straight, one diagonal step
    assert s[0, 0] == pytest.approx(8 * math.sqrt(2))
    # Half the speed in one cell: crossing into it costs the mean pace (4 + 8) / 2.
    sp = np.full((5, 5), 15.0)
    sp[2, 3] = 7.5
    s2 = tt.time_surface(tt.model_from_raster(sp, g), np.array([[2500.0, 2500.0]]), crs=None)
    assert s2[2, 3] == pytest.approx(6.0)


def test_two_seeds_in_one_cell_take_the_minimum_not_the_sum():
    g = _grid(5, 1000, 0, 5000)
    speed = np.full((5, 5), 60.0)  # 1 min per km
    t = ra.cost_distance(speed, g, [(500.0, 4500.0), (700.0, 4300.0)], [30.0, 10.0])  # both in cell (0, 0)
    assert t[0, 0] == pytest.approx(10.0)
    assert t[0, 3] == pytest.approx(13.0)
    # The same in the order 10, 30, and through the graph helper directly.
    t2 = ra.cost_distance(speed, g, [(700.0, 4300.0), (500.0, 4500.0)], [10.0, 30.0])
    np.testing.assert_allclose(t, t2)
    from scipy.sparse import csr_matrix

    chain = csr_matrix(([2.0, 2.0], ([0, 1], [1, 2])), shape=(3, 3))
    np.testing.assert_allclose(ra.multi_source_times(chain, [1, 1, 0], [30.0, 10.0, 25.0]), [25.0, 10.0, 12.0])


# ------------------------------------------------------------------ isochrone geometry
@pytest.fixture(scope="module")
def point_iso():
    """60-min isochrone of one point on a uniform 15 km/h surface, 250 m cells, placed over the region."""
    res, n = 250.0, 141  # 35 km square; the point in the middle cell
    x0, y1 = -n * res / 2, n * res / 2  # centred on the projection origin, 120.5 E 43.5 N
    ll = TO_LL.transform(x0, y1)
    assert 110 < ll[0] < 130 and 35 < ll[1] < 50, "grid placed over the region"
    g = _grid(n, res, x0, y1, crs=rasterio.crs.CRS.from_wkt(EQUAL_AREA_CRS.to_wkt()))
    m = tt.model_from_raster(np.full((n, n), 15.0), g)
    c = n // 2
    s = tt.time_surface(m, np.array([[x0 + (c + 0.5) * res, y1 - (c + 0.5) * res]]), crs=None)
    return m, s, tt.isochrone_polygons(m, s, [20, 40, 60]), c


def test_isochrone_radius_and_area_follow_speed_and_minutes(point_iso):
    m, s, iso, c = point_iso
    # 60 min at 15 km/h = 15 km = 60 cells of 250 m along the axes and the diagonals.
    assert s[c, c + 60] == pytest.approx(60.0) and s[c, c + 61] > 60
    assert s[c - 60, c] == pytest.approx(60.0)
    r60 = iso.set_index("minutes").loc[60.0]
    octagon = 2 * math.sqrt(2) * 15.0 ** 2  # 636.4 km2
    perimeter = 16 * 15.0 * math.sin(math.pi / 8)  # 91.8 km; boundary cells add or miss at most one cell width
    assert abs(r60["area_km2_grid"] - octagon) <= perimeter * 0.25
    # The circle pi R^2 = 706.9 km2 is outside those bounds: the octile bias is real and stated.
    assert r60["area_km2_grid"] < math.pi * 15.0 ** 2 / 1.05
    assert r60["area_km2_grid"] > math.pi * 15.0 ** 2 / (math.sqrt(4 - 2 * math.sqrt(2)) ** 2)


def test_isochrone_area_is_cells_times_cell_area_and_ellipsoidal(point_iso):
    m, s, iso, c = point_iso
    for r in iso.itertuples():
        assert r.cells == int((s <= r.minutes).sum())
        assert r.area_km2_grid == pytest.approx(r.cells * 0.0625)
        # Albers is equal-area on the ellipsoid; edges densified to the cell size before reprojecting.
        assert r.area_km2 == pytest.approx(r.area_km2_grid, rel=1e-4)
        assert geodesic_area_km2([r.geometry])[0] == pytest.approx(r.area_km2)


def test_isochrones_nest(point_iso):
    iso = point_iso[2].sort_values("minutes")
    geoms = list(iso.geometry)
    for small, big in zip(geoms, geoms[1:]):
        assert small.difference(big).area < 1e-9 * small.area
    assert iso["area_km2"].is_monotonic_increasing


# ------------------------------------------------------------------ a tiny world: network + land
def _world(*, seat_cells=(10, 9), far=True):
    """A 1-prefecture / 1-county box, one national highway, two cores and stations around a seat."""
    pref = box(120.0, 43.0, 121.0, 43.5)
    b = gpd.GeoDataFrame({"adcode": ["150000", "150001"], "name_zh": ["市", "县"], "name_en": ["P", "C"],
                          "level": ["prefecture", "county"], "parent_adcode": ["", "150000"],
                          "population_2020": [np.nan, np.nan]}, geometry=[pref, pref], crs=4326)
    grid = ra.make_grid(b[b.level == "prefecture"], 1000)
    r, c = grid.height // 2, grid.width // 2

    def at(row, col):
        x, y = grid.xy(row, col)
        return Point(*TO_LL.transform(x, y))

    west, east = seat_cells
    places = gpd.GeoDataFrame({
        "place_id": ["CORE_A", "CORE_B", "SEAT_X"], "name_zh": ["甲", "乙", "县城"],
        "kind": ["city_core", "city_core", "county_seat"]},
        geometry=[at(r, c - west), at(r, c + east), at(r, c)], crs=4326)
    nodes = gpd.GeoDataFrame({"node_id": ["N_A", "N_B"], "name_zh": ["甲站", "乙站"], "kind": ["hsr_station"] * 2,
                              "status": ["operating"] * 2},
                             geometry=[at(r + 3, c - west), at(r + 3, c + east)], crs=4326)
    cor = gpd.GeoDataFrame({"corridor_id": ["H1"], "name_zh": ["国道"], "class": ["national_highway"],
                            "status": ["operating"]},
                           geometry=[LineString([(120.05, 43.45), (120.95, 43.45)])], crs=4326)
    return {"boundaries": b, "places": places, "nodes": nodes, "corridors": cor}, grid


FAST = DEFAULT.override(**{"speeds.off_road": 120, "speeds.max_link_km": 1, "access.resolution_m": 1000,
                           "access.minutes": [2, 4], "access.circles": [3, 5]})


def test_nearest_core_and_station_on_a_near_tie():
    """SEAT_X: CORE_A 10 cells west, CORE_B 9 cells east; 1 km at 120 km/h = 0.5 min.

    CORE_B is 0.5 min nearer; taking the first candidate (CORE_A) would be wrong."""
    layers, grid = _world()
    res = tt.accessibility(layers, settings=FAST)
    row = res.to_nearest.set_index("id").loc["SEAT_X"]
    assert row["nearest_core"] == "乙" and row["to_core_min"] == pytest.approx(4.5)
    # Stations 3 rows below the cores: 3 diagonal + 6 (east) or 7 (west) straight steps.
    assert row["nearest_hsr_station"] == "乙站"
    assert row["to_hsr_station_min"] == pytest.approx(round(0.5 * (6 + 3 * math.sqrt(2)), 1))
    assert res.od.loc["SEAT_X", "CORE_A"] == pytest.approx(5.0) and res.od.loc["SEAT_X", "CORE_B"] == pytest.approx(4.5)
    # Mirror the world: now CORE_A is the nearer one.
    res2 = tt.accessibility(_world(seat_cells=(9, 10))[0], settings=FAST)
    assert res2.to_nearest.set_index("id").loc["SEAT_X", "nearest_core"] == "甲"


def test_tables_maps_and_points_read_the_same_surface():
    layers, grid = _world()
    res = tt.accessibility(layers, settings=FAST, origins=["SEAT_X"])
    m = res.model
    cell_km2 = 1.0
    iso = res.isochrones
    tw = res.twin_city.set_index("indicator")["value"]
    for th in (3.0, 5.0):
        cells = int(np.sum(res.time_to_cores <= th))
        assert tw[f"area_km2_within_{th:g}min_of_a_core"] == pytest.approx(cells * cell_km2)
        county = res.counties.iloc[0]
        assert county[f"area_km2_{th:g}min"] == pytest.approx(cells * cell_km2, abs=cell_km2)
        # Missing census population stays missing.
        assert np.isnan(county[f"population_{th:g}min"])
    # Isochrone of each core = its own surface; union of the cores' = the table's time_to_cores.
    union = shapely.union_all(iso[(iso.minutes == 4.0) & iso.origin.str.startswith("CORE")].geometry.values)
    assert geodesic_area_km2([union])[0] == pytest.approx(np.sum(res.time_to_cores <= 4.0) * cell_km2, abs=cell_km2)
    # A point's time = its cell's value, for the OD table and for the raster alike.
    pts = layers["places"].set_index("place_id").geometry
    s_seat = tt.time_surface(m, ["SEAT_X"])
    np.testing.assert_allclose(tt.times_at(m, s_seat, pts[res.od.columns]), res.od.loc["SEAT_X"].to_numpy(), atol=1e-6)
    assert res.od.loc["SEAT_X", "SEAT_X"] == 0
    # The seat's own isochrone contains exactly the cells of its surface within 4 min.
    seat4 = iso[(iso.origin == "SEAT_X") & (iso.minutes == 4.0)].iloc[0]
    assert seat4["cells"] == int(np.sum(tt.time_surface(m, ["SEAT_X"], direction="to") <= 4.0))


def test_a_point_far_from_the_network_gets_a_finite_consistent_time():
    """Highway (60 km/h) along 43.45 N; FAR 40 km south of its east end, 1 km links only: FAR reaches it over land."""
    pref = box(120.0, 43.0, 121.0, 43.5)
    b = gpd.GeoDataFrame({"adcode": ["150000", "150001"], "name_zh": ["市", "县"], "name_en": ["P", "C"],
                          "level": ["prefecture", "county"], "parent_adcode": ["", "150000"],
                          "population_2020": [np.nan, 1000.0]}, geometry=[pref, pref], crs=4326)
    a, e, far = (120.05, 43.45), (120.95, 43.45), (120.95, 43.09)
    layers = {"boundaries": b,
              "places": gpd.GeoDataFrame({"place_id": ["A", "FAR"], "name_zh": ["a", "far"], "kind": ["county_seat"] * 2},
                                         geometry=[Point(a), Point(far)], crs=4326),
              "corridors": gpd.GeoDataFrame({"corridor_id": ["H1"], "name_zh": ["h"], "class": ["national_highway"],
                                             "status": ["operating"]}, geometry=[LineString([a, e])], crs=4326)}
    s = DEFAULT.override(**{"speeds.max_link_km": 1, "access.resolution_m": 1000})
    model = tt.build_model(layers, settings=s)
    od = tt.od_matrix(model, ["A", "FAR"])
    km_road = sum(GEOD.inv(x0, 43.45, x1, 43.45)[2] for x0, x1 in zip(np.linspace(120.05, 120.95, 46)[:-1],
                                                                       np.linspace(120.05, 120.95, 46)[1:])) / 1000
    km_land = GEOD.inv(*e, *far)[2] / 1000  # due south, 40 km; the grid is turned < 0.4 deg from north here
    expect = km_road / 60 * 60 + km_land / 15 * 60  # 72.8 + 160 min
    # Slack: the road cell's and FAR's joins plus a 1 km cell step at each end (4 min at 15 km/h).
    assert od.loc["A", "FAR"] == pytest.approx(expect, abs=8.0)
    assert np.isfinite(od.to_numpy()).all() and od.loc["FAR", "A"] == pytest.approx(od.loc["A", "FAR"])
    # The raster at FAR's cell: the same trip to within the join (<= half a 1 km diagonal at 15 km/h = 2.83 min).
    surf = tt.time_surface(model, ["A"])
    assert tt.times_at(model, surf, layers["places"].geometry)[1] == pytest.approx(od.loc["A", "FAR"], abs=2.83)
    # From FAR given as a bare point (no id: its cell): the same trip, within both ends' joins.
    s_far = tt.time_surface(model, np.array([far]))
    np.testing.assert_array_equal(s_far, tt.time_surface(model, [far]))  # a list of (lon, lat) works the same
    assert tt.times_at(model, s_far, layers["places"].geometry)[0] == pytest.approx(od.loc["A", "FAR"], abs=2 * 2.83)


def test_expressways_are_entered_only_at_exits():
    """A cell beside the middle of an expressway is not reached at expressway speed from its far end."""
    pref = box(120.0, 43.0, 121.0, 43.5)
    b = gpd.GeoDataFrame({"adcode": ["150000"], "name_zh": ["市"], "name_en": ["P"], "level": ["prefecture"],
                          "parent_adcode": [""], "population_2020": [np.nan]}, geometry=[pref], crs=4326)
    a, e = (120.05, 43.25), (120.95, 43.25)
    layers = {"boundaries": b,
              "places": gpd.GeoDataFrame({"place_id": ["A"], "name_zh": ["a"], "kind": ["county_seat"]},
                                         geometry=[Point(a)], crs=4326),
              "corridors": gpd.GeoDataFrame({"corridor_id": ["E1"], "name_zh": ["e"], "class": ["expressway"],
                                             "status": ["operating"]}, geometry=[LineString([a, e])], crs=4326)}
    model = tt.build_model(layers, settings=DEFAULT.override(**{"speeds.max_link_km": 1}))
    s = tt.time_surface(model, ["A"])
    mid = tt.times_at(model, s, gpd.GeoSeries([Point(120.5, 43.25)], crs=4326))[0]
    km = GEOD.inv(*a, 120.5, 43.25)[2] / 1000
    assert mid > km / 15 * 60 * 0.9  # over land from A at 15 km/h (~148 min), not ~22 min at 100 km/h


def test_scenario_design_speed_changes_the_result(ds):
    s = DEFAULT.override(**{"access.resolution_m": 4000})
    runs = {}
    for v in (60, 200):
        link = gpd.GeoDataFrame({"corridor_id": ["U1"], "name_zh": ["新路"], "class": ["national_highway"],
                                 "design_speed_kmh": [v], "status": ["scenario"]},
                                geometry=[LineString([(120.66, 42.87), (121.31, 43.60)])], crs=4326)
        m = tt.build_model(ds.layers, dem_path=ds.dem_path, settings=s, extra_corridors=link)
        runs[v] = tt.time_surface(m, ["CORE_150400", "CORE_150500"], direction="to")
    assert np.nanmean(runs[200]) < np.nanmean(runs[60]) - 0.5
    assert (runs[200] <= runs[60] + 1e-9)[np.isfinite(runs[60])].all()


def test_map_outline_and_table_area_agree_on_the_embedded_data(ds):
    res = tt.accessibility(ds.layers, dem_path=ds.dem_path, resolution=4000)
    tw = res.twin_city.set_index("indicator")["value"]
    iso = res.isochrones
    for th in DEFAULT.access.circles:
        cores = iso[(iso.minutes == th) & iso.origin.str.startswith("CORE_")]
        union_km2 = geodesic_area_km2([shapely.union_all(cores.geometry.values)])[0]
        assert union_km2 == pytest.approx(tw[f"area_km2_within_{th:g}min_of_a_core"], abs=16.0)  # one 4 km cell
        assert res.counties[f"area_km2_{th:g}min"].sum() == pytest.approx(union_km2, abs=16.0)
    # Every seat and park inside a core's 60-min outline has a time to that core <= 60, and vice versa.
    near = res.to_nearest.set_index("id")
    net = res.network  # the points the model places: a park is its network node (the outline's centroid)
    idx = net.place_index[near.index].to_numpy()
    pts = gpd.GeoSeries(gpd.points_from_xy(net.lon[idx], net.lat[idx]), index=near.index, crs=4326)
    m = res.model
    join = 4000 * math.sqrt(2) / 2 / 1000 / 15 * 60  # half a 4 km diagonal at the off-road speed: 11.3 min
    for core in ("CORE_150400", "CORE_150500"):
        poly = iso[(iso.origin == core) & (iso.minutes == 60.0)].geometry.iloc[0]
        inside = pts.within(poly).to_numpy()
        cell_t = tt.times_at(m, tt.time_surface(m, [core], direction="to"), pts)
        assert (inside == (cell_t <= 60)).all(), list(near.index[inside != (cell_t <= 60)])
        t = res.od.loc[near.index, core].to_numpy()  # each place's own time to the core
        assert (np.abs(t - cell_t) <= join + 1e-9).all()


def test_bad_sources_are_refused():
    g = _grid(5, 1000, 0, 5000)
    m = tt.model_from_raster(np.full((5, 5), 15.0), g)
    with pytest.raises(tt.AccessError, match="outside"):
        tt.time_surface(m, np.array([[9e6, 9e6]]), crs=None)
    with pytest.raises(tt.AccessError, match="unknown source"):
        tt.time_surface(m, ["NOWHERE"])
    with pytest.raises(tt.AccessError, match="direction"):
        tt.time_surface(m, np.array([[500.0, 500.0]]), crs=None, direction="sideways")


def test_network_exits_shim_or_contract():
    layers, _ = _world()
    net = build_network(layers)
    ex = net.exit
    kind = np.asarray(net.kind)
    assert ex[np.isin(kind, ["station", "place"])].all()
    assert not ex[kind == "rail"].any()


def test_another_land_speed_on_the_same_model_equals_a_fresh_build(ds):
    # The sensitivity cases keep the network and where each cell joins it and change only the land
    # speed: every surface must equal a model built from scratch at that speed (it skips the search).
    m = tt.build_model(ds.layers, dem_path=ds.dem_path, settings=DEFAULT.override(**{"access.resolution_m": 4000}))
    slower = m.speed_kmh * 0.5
    fresh = tt.model_from_raster(slower, m.grid, inside=m.inside, network=m.network, settings=m.settings)
    quick = tt.model_with_land(m, slower)
    cores = ["CORE_150400", "CORE_150500"]
    for direction in ("from", "to"):
        a = tt.time_surface(fresh, cores, direction=direction)
        b = tt.time_surface(quick, cores, direction=direction)
        assert np.array_equal(np.isfinite(a), np.isfinite(b))
        assert np.nanmax(np.abs(a - b)) < 1e-9
    assert (tt.time_surface(quick, cores) >= tt.time_surface(m, cores) - 1e-9)[m.inside].all()  # slower land, never faster


def test_county_raster_follows_the_counties_and_the_grid():
    # county_zones keeps its rasters between calls: other counties or another grid must never get them
    g = ra.Grid(rasterio.transform.from_origin(0, 2000, 1000, 1000), 2, 2, "EPSG:3857", 1000.0)
    west = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 2000)], crs=3857)
    south = gpd.GeoDataFrame(geometry=[box(0, 0, 2000, 1000)], crs=3857)
    assert ra.county_zones(west, g).tolist() == [[1, 0], [1, 0]]
    assert ra.county_zones(south, g).tolist() == [[0, 0], [1, 1]]
    moved = ra.Grid(rasterio.transform.from_origin(1000, 2000, 1000, 1000), 2, 2, "EPSG:3857", 1000.0)
    assert ra.county_zones(west, moved).tolist() == [[0, 0], [0, 0]]
    with pytest.raises(ValueError):
        ra.county_zones(west, g)[0, 0] = 5  # shared between callers: read-only
