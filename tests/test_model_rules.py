"""The network-first model's rules on hand-made fixtures; every expected time is length / speed by hand.

Lengths: pyproj.Geod between the fixture's coordinates (segments along a parallel or a meridian, so
the stored lon/lat-straight line is the geodesic to ~1e-6).  County roads run at 40 km/h, links at
30 km/h (``speeds.off_network``), land at 15 km/h (``speeds.off_road``, flat).
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, box

from twinstar_gis.data.crs import geodesic_area_km2
from twinstar_gis.model import network as N
from twinstar_gis.model import traveltime as tt
from twinstar_gis.settings import DEFAULT

GEOD = Geod(ellps="WGS84")
SP = DEFAULT.speeds


def km(p, q):
    return GEOD.inv(*p, *q)[2] / 1000


def mins(p, q, speed=SP.county_road):
    return km(p, q) / speed * 60


def _cor(lines, **cols):
    n = len(lines)
    data = {"corridor_id": cols.pop("ids", [f"L{i}" for i in range(n)]), "class": cols.pop("cls", ["county_road"] * n)}
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=[LineString(c) for c in lines], crs=4326)


def _places(points, kind="county_seat"):
    return gpd.GeoDataFrame({"place_id": list(points), "name_zh": list(points), "kind": kind},
                            geometry=[Point(p) for p in points.values()], crs=4326)


def _boundaries(b=(118.8, 41.8, 119.3, 42.2), pop=np.nan):
    g = box(*b)
    return gpd.GeoDataFrame({"adcode": ["150000", "150001"], "name_zh": ["市", "县"], "name_en": ["P", "C"],
                             "level": ["prefecture", "county"], "parent_adcode": ["", "150000"],
                             "population_2020": [pop, pop]}, geometry=[g, g], crs=4326)


# ------------------------------------------------------------------ one-way
A, B, C = (119.0, 42.0), (119.1, 42.0), (119.05, 42.1)


def test_oneway_street_in_the_network_and_the_model():
    layers = {"corridors": _cor([[A, B], [B, C, A]], oneway=["yes", None]), "places": _places({"PA": A, "PB": B}),
              "boundaries": _boundaries()}
    od = N.network_od_matrix(N.build_network(layers), ["PA", "PB"])
    assert od.loc["PA", "PB"] == pytest.approx(mins(A, B), rel=1e-5)
    assert od.loc["PB", "PA"] == pytest.approx(mins(B, C) + mins(C, A), rel=1e-5)
    # oneway = -1 / reverse: against the drawing direction
    rev = dict(layers, corridors=_cor([[B, A], [B, C, A]], oneway=["reverse", None]))
    assert N.network_od_matrix(N.build_network(rev), ["PA", "PB"]).loc["PB", "PA"] == pytest.approx(
        mins(B, C) + mins(C, A), rel=1e-5)
    # The model: the cell beside the street near B is reached from PA along the street, but a trip from that
    # cell to PA cannot drive the street backwards (it goes round by C or over the land).
    m = tt.build_model(layers, settings=DEFAULT.override(**{"access.resolution_m": 1000}))
    near_b = gpd.GeoSeries([Point(119.095, 42.003)], crs=4326)
    t_from = tt.times_at(m, tt.time_surface(m, ["PA"]), near_b)[0]
    t_to = tt.times_at(m, tt.time_surface(m, ["PA"], direction="to"), near_b)[0]
    assert t_from < mins(A, B) + 4.0  # the street, then at most a 1 km cell at 15 km/h
    assert t_to > mins(A, B) + 10.0  # never the street backwards (round by C: 46 min; land: ~30 min)
    assert tt.od_matrix(m, ["PA", "PB"]).loc["PB", "PA"] == pytest.approx(od.loc["PB", "PA"], rel=1e-12)


# ------------------------------------------------------------------ access
def test_access_no_and_destination():
    a, b = (119.0, 42.0), (119.1, 42.0)  # the straight road D: a - b
    na, nb = (119.0, 42.05), (119.1, 42.05)  # the open detour a - na - nb - b
    pa, pb, pd_ = (119.0, 42.01), (119.1, 42.01), (119.05, 42.0)  # on the detour's legs; on the middle of D
    lines = [[a, b], [a, na], [na, nb], [nb, b]]
    base = {"corridors": _cor(lines), "places": _places({"PA": pa, "PB": pb, "PD": pd_})}
    straight = mins(pa, a) + mins(a, b) + mins(b, pb)
    around = mins(pa, na) + mins(na, nb) + mins(nb, pb)
    assert N.network_od_matrix(N.build_network(base), ["PA", "PB"]).loc["PA", "PB"] == pytest.approx(straight, rel=1e-5)
    for access in ("no", "destination"):
        net = N.build_network(dict(base, corridors=_cor(lines, access=[access, None, None, None])))
        od = N.network_od_matrix(net, ["PA", "PB", "PD"])
        assert od.loc["PA", "PB"] == pytest.approx(around, rel=1e-5)  # never through D
        if access == "destination":  # ... but a trip may end (or start) on it
            assert od.loc["PA", "PD"] == pytest.approx(mins(pa, a) + mins(a, pd_), rel=1e-5)
            assert od.loc["PD", "PB"] == pytest.approx(mins(pd_, b) + mins(b, pb), rel=1e-5)
        else:
            assert net.link_km["PD"] > 1.0  # no road there: linked to another road


# ------------------------------------------------------------------ turn restrictions
J, NN, S, E, W = (119.0, 42.0), (119.0, 42.01), (119.0, 41.99), (119.01, 42.0), (118.99, 42.0)


def _cross(restrictions):
    cor = _cor([[S, J], [J, NN], [J, E], [W, J]], ids=["S", "N", "E", "W"])
    tr = gpd.GeoDataFrame(pd.DataFrame(restrictions, columns=["restriction_id", "restriction", "from_corridor_id",
                                                              "to_corridor_id", "via_corridor_ids"]),
                          geometry=[Point(J)] * len(restrictions), crs=4326)
    return {"corridors": cor, "places": _places({"PS": S, "PN": NN, "PE": E, "PW": W}), "turn_restrictions": tr}


@pytest.mark.parametrize("rule", ["no_left_turn", "only_straight_on"])
def test_turn_restriction_no_and_only(rule):
    to = "W" if rule == "no_left_turn" else "N"
    net = N.build_network(_cross([("r1", rule, "S", to, "")]))
    od = N.network_od_matrix(net, ["PS", "PN", "PE", "PW"])
    # S -> W is forbidden: drive on to the nearest dead end the rule allows, turn, come back, then W
    # (no_left_turn: E, 0.82 km; only_straight_on: only N, 1.11 km).
    turn = min(mins(J, E), mins(J, NN)) if rule == "no_left_turn" else mins(J, NN)
    detour = mins(S, J) + 2 * turn + mins(J, W)
    assert od.loc["PS", "PW"] == pytest.approx(detour, rel=1e-5)
    assert od.loc["PW", "PS"] == pytest.approx(mins(W, J) + mins(J, S), rel=1e-5)  # other directions untouched
    if rule == "only_straight_on":
        assert od.loc["PS", "PN"] == pytest.approx(mins(S, J) + mins(J, NN), rel=1e-5)
        assert od.loc["PS", "PE"] == pytest.approx(mins(S, J) + 2 * mins(J, NN) + mins(J, E), rel=1e-5)
    else:
        assert od.loc["PS", "PE"] == pytest.approx(mins(S, J) + mins(J, E), rel=1e-5)
    assert net.stats["restricted_junctions"] == 1 and net.stats["restrictions_applied"] == 1


def test_turn_restriction_where_an_expressway_passes_over_the_junction():
    # An expressway split at J (two ways meeting there, no ramp) is a second node at the same point as the
    # crossing of the roads beneath: the restriction applies at the junction of its own corridors (the
    # via lookup once crashed on a point two nodes share: "Per-column arrays must each be 1-dimensional").
    layers = _cross([("r1", "no_left_turn", "S", "W", "")])
    over = _cor([[(118.99, 41.99), (118.995, 41.995), J], [J, (119.005, 42.005), (119.01, 42.01)]],
                ids=["X1", "X2"], cls=["expressway"] * 2, ref=["G1", "G1"])
    layers["corridors"] = pd.concat([layers["corridors"], over], ignore_index=True)
    net = N.build_network(layers)
    od = N.network_od_matrix(net, ["PS", "PW"])
    assert od.loc["PS", "PW"] == pytest.approx(mins(S, J) + 2 * min(mins(J, E), mins(J, NN)) + mins(J, W), rel=1e-5)
    assert net.stats["restrictions_applied"] == 1 and net.stats["restricted_junctions"] == 1


def test_no_u_turn_via_way_and_unmatched_are_reported():
    net = N.build_network(_cross([("r1", "no_u_turn", "E", "E", ""), ("r2", "no_left_turn", "S", "W", "N;E"),
                                  ("r3", "no_right_turn", "S", "NOPE", "")]))
    assert any("via-way" in p and "r2" in p for p in net.problems)
    assert any("not applied" in p and "r3" in p for p in net.problems)
    od = N.network_od_matrix(net, ["PS", "PW"])
    assert od.loc["PS", "PW"] == pytest.approx(mins(S, J) + mins(J, W), rel=1e-5)  # r2 not applied


# ------------------------------------------------------------------ expressways
def test_motorway_entered_only_at_links_and_ref_less_splits_are_no_entry():
    w, mid, top, e = (119.0, 42.0), (119.1, 42.0), (119.15, 42.0), (119.2, 42.0)
    x, x2, foot, north = (119.1, 41.95), (119.15, 41.95), (119.15, 41.98), (119.1, 42.05)
    # The motorway is two ways without a ref, split at `mid`, where a county road shares its vertex
    # (a plain file without bridge tags); the only link is the ramp top - foot.
    lines = [[w, mid], [mid, top, e], [x, mid, north], [top, foot], [x, x2, foot]]
    layers = {"corridors": _cor(lines, cls=["expressway", "expressway", "county_road", "ramp", "county_road"],
                                ref=["", "", "", "", ""]),
              "places": _places({"X": x, "Y": e})}
    net = N.build_network(layers)
    acc = {(round(float(net.lon[i]), 6), round(float(net.lat[i]), 6)) for i in net.expressway_access}
    assert mid not in acc and top in acc
    via_ramp = mins(x, x2) + mins(x2, foot) + mins(foot, top, SP.ramp) + mins(top, e, SP.expressway)
    via_mid = mins(x, mid) + mins(mid, e, SP.expressway)  # 13.3 min: what a join at `mid` would give
    od = N.network_od_matrix(net, ["X", "Y"])
    assert via_mid < via_ramp - 3
    assert od.loc["X", "Y"] == pytest.approx(via_ramp, rel=1e-5)


# ------------------------------------------------------------------ the split-point join
def test_a_cell_joins_the_nearest_point_of_an_edge_not_a_vertex():
    a, b = (118.85, 42.0), (119.25, 42.0)
    layers = {"corridors": _cor([[a, b]], cls=["national_highway"]), "places": _places({"A": a, "B": b}),
              "boundaries": _boundaries()}
    m = tt.build_model(layers, settings=DEFAULT.override(**{"access.resolution_m": 1000}))
    j = m.joins.assign(flat=m.cells[m.joins["cell"].to_numpy()])
    r, c = m.grid.rowcol(*tt._points_xy(np.array([[119.0, 42.004]]), 4326, m.grid.crs))  # t = 0.375
    row = j[j["flat"] == r[0] * m.grid.width + c[0]].iloc[0]
    x, y = m.grid.xy(r[0], c[0])
    from pyproj import Transformer
    lon, lat = Transformer.from_crs(m.grid.crs, 4326, always_xy=True).transform(x, y)
    t_expected = (lon - a[0]) / (b[0] - a[0])  # the foot of the perpendicular along a parallel
    assert row["t"] == pytest.approx(t_expected, abs=2e-3)
    d = GEOD.inv(lon, lat, lon, 42.0)[2] / 1000
    assert row["minutes"] == pytest.approx(d / SP.off_road * 60, rel=0.02)
    s = tt.time_surface(m, ["A"])
    val = s[r[0], c[0]]
    want = km(a, (lon, 42.0)) / SP.national_highway * 60 + d / SP.off_road * 60
    assert val == pytest.approx(want, rel=2e-3)
    # from the other end, along the edge the other way: the rest of the edge
    val_b = tt.time_surface(m, ["B"])[r[0], c[0]]
    assert val_b == pytest.approx(km(b, (lon, 42.0)) / SP.national_highway * 60 + d / SP.off_road * 60, rel=2e-3)
    # and to each end (the transposed join)
    assert tt.time_surface(m, ["B"], direction="to")[r[0], c[0]] == pytest.approx(val_b, rel=1e-9)


# ------------------------------------------------------------------ the model is its network between network points
def test_model_od_equals_the_network_on_a_random_fixture():
    rng = np.random.default_rng(7)
    xs, ys = np.linspace(118.9, 119.2, 7), np.linspace(41.9, 42.1, 5)
    lines, ow = [], []
    for i in range(len(xs)):
        for k in range(len(ys) - 1):
            lines.append([(xs[i], ys[k]), (xs[i], ys[k + 1])])
    for k in range(len(ys)):
        for i in range(len(xs) - 1):
            lines.append([(xs[i], ys[k]), (xs[i + 1], ys[k])])
    ow = rng.choice(["yes", "-1", None, None], len(lines))
    cls = rng.choice(["county_road", "national_highway", "local_road"], len(lines))
    pts = {f"P{i}": (float(rng.uniform(118.92, 119.18)), float(rng.uniform(41.92, 42.08))) for i in range(10)}
    layers = {"corridors": _cor(lines, cls=list(cls), oneway=list(ow)), "places": _places(pts), "boundaries": _boundaries()}
    m = tt.build_model(layers, settings=DEFAULT.override(**{"access.resolution_m": 1000}))
    ids = list(pts)
    model_od = tt.od_matrix(m, ids).to_numpy()
    net_od = N.network_od_matrix(m.network, ids).to_numpy()
    np.testing.assert_array_equal(model_od, net_od)
    assert not np.allclose(net_od, net_od.T)  # one-way streets make it asymmetric


def test_model_never_faster_than_its_network_on_the_embedded_data(ds):
    m = tt.build_model(ds.layers, dem_path=ds.dem_path, settings=DEFAULT.override(**{"access.resolution_m": 4000}))
    ids = [i for i in list(ds["places"]["place_id"]) + list(ds["parks"]["park_id"]) if m.linked[m.network.place_index[i]]]
    assert len(ids) >= 30
    np.testing.assert_array_equal(tt.od_matrix(m, ids).to_numpy(), N.network_od_matrix(m.network, ids).to_numpy())


# ------------------------------------------------------------------ scenarios only add
def test_random_scenarios_only_add_on_the_embedded_data(ds):
    rng = np.random.default_rng(2024)
    pl = ds["places"].set_index("place_id").geometry
    ids = list(pl.index)
    s = DEFAULT.override(**{"access.resolution_m": 4000})
    for trial in range(3):
        n = int(rng.integers(1, 4))
        pairs = [rng.choice(ids, 2, replace=False) for _ in range(n)]
        link = gpd.GeoDataFrame({"corridor_id": [f"U{trial}_{k}" for k in range(n)],
                                 "class": rng.choice(["expressway", "national_highway", "county_road"], n),
                                 "status": "scenario"},
                                geometry=[LineString([pl[a].coords[0], pl[b].coords[0]]) for a, b in pairs], crs=4326)
        models = tt.build_models(ds.layers, dem_path=ds.dem_path, settings=s, extra_corridors=link)
        base, scen = models["base"], models["scenario"]
        ob, os_ = tt.od_matrix(base, ids).to_numpy(), tt.od_matrix(scen, ids).to_numpy()
        assert (os_ <= ob + 1e-9).all(), trial
        for core in ("CORE_150400", "CORE_150500"):
            sb, ss = tt.time_surface(base, [core], direction="to"), tt.time_surface(scen, [core], direction="to")
            ok = np.isfinite(sb)
            assert (ss[ok] <= sb[ok] + 1e-9).all() and np.isfinite(ss[ok]).all(), (trial, int((ss[ok] > sb[ok] + 1e-9).sum()))
    # the base variant of a scenario build equals a base build
    alone = tt.build_model(ds.layers, dem_path=ds.dem_path, settings=s)  # equal but for the split edges' sums
    np.testing.assert_allclose(tt.od_matrix(alone, ids).to_numpy(), tt.od_matrix(base, ids).to_numpy(), rtol=1e-9)


# ------------------------------------------------------------------ any study area, one core, no places
def test_one_core_and_no_places_and_a_study_area_elsewhere():
    box_fi = (24.0, 60.0, 25.0, 60.5)  # Uusimaa, southern Finland
    a, b = (24.1, 60.2), (24.9, 60.2)
    layers = {"corridors": _cor([[a, b]], cls=["national_highway"]), "boundaries": _boundaries(box_fi, pop=1000.0),
              "places": _places({"CORE_1": a, "SEAT_1": b}, kind="city_core").assign(kind=["city_core", "county_seat"])}
    res = tt.accessibility(layers, settings=DEFAULT.override(**{"access.resolution_m": 2000}))
    tw = res.twin_city.set_index("indicator")["value"]
    assert np.isnan(tw["core_to_core_fastest_min"]) and np.isnan(tw["core_to_core_road_min"])
    assert res.od.loc["SEAT_1", "CORE_1"] == pytest.approx(km(a, b) / SP.national_highway * 60, rel=1e-5)
    crs = res.grid.crs
    assert "Albers" in crs.to_wkt() and "Study area" in crs.to_wkt()
    # cells are true 2 km squares on the ellipsoid there (the region's projection would be off by percent)
    from pyproj import Transformer
    inv = Transformer.from_crs(crs, 4326, always_xy=True)
    x, y = res.grid.xy(10, 10)
    sq = [inv.transform(x + dx, y + dy) for dx, dy in ((-1000, -1000), (1000, -1000), (1000, 1000), (-1000, 1000))]
    from shapely.geometry import Polygon
    assert geodesic_area_km2([Polygon(sq)])[0] == pytest.approx(4.0, rel=2e-3)
    cov = res.coverage.set_index("indicator")
    assert cov.loc["cores_linked", "value"] == 1 and {"indicator", "value", "unit", "note"} <= set(res.coverage.columns)
    # No places at all: the network and the model build.
    net = N.build_network({"corridors": layers["corridors"]})
    assert net.n >= 2 and len(net.place_index) == 0
    m = tt.build_model({"corridors": layers["corridors"], "boundaries": layers["boundaries"]},
                       settings=DEFAULT.override(**{"access.resolution_m": 2000}))
    assert np.isfinite(tt.time_surface(m, np.array([[24.5, 60.25]]))).any()


def test_unlinked_core_is_reported_and_can_refuse():
    layers = {"corridors": _cor([[(119.0, 42.0), (119.1, 42.0)]]), "boundaries": _boundaries(),
              "places": _places({"CORE_A": (119.0, 42.0), "CORE_B": (119.2, 42.15)}, kind="city_core")}
    s = DEFAULT.override(**{"access.resolution_m": 2000, "speeds.max_link_km": 5})
    res = tt.accessibility(layers, settings=s)
    cov = res.coverage.set_index("indicator")
    assert cov.loc["cores_linked", "value"] == 1 and "CORE_B" in cov.loc["cores_linked", "note"]
    with pytest.raises(tt.AccessError, match="CORE_B"):
        tt.accessibility(layers, settings=s.override(**{"access.unlinked": "error"}))


# ------------------------------------------------------------------ planning reads the model
def test_other_core_is_the_other_citys_core_and_expressway_access(ds):
    res = tt.accessibility(ds.layers, dem_path=ds.dem_path, resolution=4000)
    _, places, _ = tt.compare_scenarios(res, res, ds["boundaries"])
    p = places.set_index("id")
    # 奈曼旗 (Tongliao): the other city's core is Chifeng's, whichever core is farther.
    assert p.loc["SEAT_150525", "to_other_core_min_base"] == pytest.approx(res.od.loc["SEAT_150525", "CORE_150400"], abs=0.06)
    assert p.loc["SEAT_150404", "to_other_core_min_base"] == pytest.approx(res.od.loc["SEAT_150404", "CORE_150500"], abs=0.06)
    # time to the expressway: 0 at every access point, the network time to the nearest one elsewhere
    m = res.model
    surf, node_t = tt.expressway_surface(m)
    acc = m.network.expressway_access
    assert len(acc) and np.allclose(node_t[acc], 0)
    from twinstar_gis.planning import _times
    from twinstar_gis.planning.suitability import location_targets
    t = location_targets(ds.layers)
    assert t["expressway"] == tt.EXPRESSWAY_ACCESS
    got = _times.surfaces_for(ds.layers, {"x": t["expressway"]}, model=m).minutes["x"]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(surf))
    np.testing.assert_allclose(got[np.isfinite(got)], surf[np.isfinite(surf)])


# ------------------------------------------------------------------ local roads and population
def test_local_roads_land_speed_population_at_the_seat_and_sensitivity():
    bx = (118.8, 41.8, 119.3, 42.2)
    b = _boundaries(bx, pop=200_000.0).assign(road_km=[np.nan, 3000.0], population_urban_2020=[np.nan, 80_000.0])
    a, c = (118.9, 42.0), (119.2, 42.0)
    layers = {"corridors": _cor([[a, c]], cls=["national_highway"]), "boundaries": b,
              "places": _places({"CORE_1": a, "SEAT_1": c}).assign(kind=["city_core", "county_seat"],
                                                                   county_adcode=["150001", "150001"])}
    s = DEFAULT.override(**{"access.resolution_m": 2000, "access.land_model": "local_roads"})
    m = tt.build_model(layers, settings=s)
    from twinstar_gis.model.landuse import land_speed, population_grid
    _, table = land_speed(layers, m.grid, m.network, s)
    area = geodesic_area_km2([box(*bx)])[0]
    d = (3000.0 - km(a, c)) / area  # unmapped km per km2
    assert table["density"].iloc[0] == pytest.approx(d, rel=1e-3)
    v = 1.0 / (4 / np.pi / 30.0 + 1.0 / (d * 10.0 * SP.off_road))  # hours per km -> km/h
    assert table["land_speed_kmh"].iloc[0] == pytest.approx(v, rel=1e-3)
    assert np.nanmax(m.speed_kmh) == pytest.approx(v, rel=1e-3)  # flat: no slope factor
    pop, method, at_seats = population_grid(layers, m)
    # the rural 120,000 spread evenly over the land; the urban 80,000 in the town -- the city core, for a district
    # holding one -- counted at that place's own time
    cells = np.isfinite(pop).sum()
    assert np.nansum(pop) == pytest.approx(120_000.0, rel=1e-9) and np.nanmax(pop) == pytest.approx(120_000.0 / cells)
    assert at_seats[["adcode", "place_id", "people"]].values.tolist() == [["150001", "CORE_1", 80_000.0]]
    assert "seat" in method.iloc[0]
    res = tt.accessibility(layers, settings=s)
    sens = res.sensitivity
    region = sens[sens["adcode"] == "region"].set_index("case")
    assert list(region.index) == ["low", "central", "high"]
    # half and one and a half times the local-road speed: strictly less and more land within the hour; the
    # central case is the model the headline comes from
    assert region.loc["low", "area_share_60min"] < region.loc["central", "area_share_60min"] < region.loc["high", "area_share_60min"]
    assert region.loc["central", "area_share_60min"] == pytest.approx(res.counties["area_km2_60min"].sum()
                                                                      / res.counties["area_km2_grid"].sum(), rel=1e-12)
    assert (res.counties["population_method"] == method.iloc[0]).all()
    # the town is the core itself (0 min): all its urban people are within the hour, and a share of the rest
    county = res.counties.set_index("adcode").loc["150001"]
    assert county["population_60min"] == pytest.approx(80_000.0 + 120_000.0 * county["area_share_60min"], rel=1e-9)
