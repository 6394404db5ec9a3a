"""The network engine on hand-written OpenStreetMap fixtures and tiny line files, answers by hand.

Every expected time is ellipsoidal length (pyproj.Geod between the fixture's coordinates) / speed.
Lines are stored straight in lon/lat; the engine measures them densified to 0.01 deg, a path up to
2e-6 longer (relative) than the geodesic between the end points: the tolerance of the comparisons.
Fixture: tests/data/osm/region.osm (coordinates listed in its header and repeated here).
"""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point

from twinstar_gis.model import network as N
from twinstar_gis.errors import ValidationError
from twinstar_gis.model.osm import read_osm
from twinstar_gis.settings import DEFAULT

GEOD = Geod(ellps="WGS84")
FIXTURE = Path(__file__).parent / "data" / "osm" / "region.osm"
SP = DEFAULT.speeds


def km(p, q):
    return GEOD.inv(*p, *q)[2] / 1000


def minutes(p, q, speed):
    return km(p, q) / speed * 60


# Fixture coordinates (lon, lat)
N1, N2, N3 = (118.90, 42.70), (118.92, 42.70), (118.91, 42.71)                 # oneway street N1 -> N2
N10, N12, N21 = (118.90, 42.75), (118.93, 42.75), (118.93, 42.77)              # road under the G111 bridge
M_I, M2, R1, L1, L2 = (119.10, 42.70), (119.20, 42.70), (119.10, 42.68), (119.05, 42.68), (119.05, 42.72)
K1, K2 = (119.30, 42.80), (119.40, 42.80)                                       # S307, maxspeed 80
PLACES = {"A": N1, "B": N2, "P": N10, "Q": N21, "X": L2, "Y": M2, "K1": K1, "K2": K2}


def _places(points):
    return gpd.GeoDataFrame({"place_id": list(points)}, geometry=[Point(p) for p in points.values()], crs=4326)


@pytest.fixture(scope="module")
def osm_layers():
    layers = read_osm(FIXTURE)
    layers["places"] = _places(PLACES)
    return layers


@pytest.fixture(scope="module")
def od(osm_layers):
    net = N.build_network(osm_layers)
    return N.network_od_matrix(net, list(PLACES))


def test_oneway_street(od):
    # A -> B along the oneway street (residential = local road, 25 km/h); B -> A around by N3.
    assert od.loc["A", "B"] == pytest.approx(minutes(N1, N2, SP.local_road), rel=2e-6)
    assert od.loc["B", "A"] == pytest.approx(minutes(N2, N3, SP.local_road) + minutes(N3, N1, SP.local_road), rel=2e-6)
    assert od.loc["B", "A"] > od.loc["A", "B"] * 1.5


def test_time_limit_leaves_farther_nodes_unreached(osm_layers, od):
    net = N.build_network(osm_layers)
    b = net.place_index["B"]
    near = N.travel_times(net, ["A"], limit=od.loc["A", "B"] + 0.01)[0, b]
    assert near == pytest.approx(od.loc["A", "B"], rel=1e-12)
    assert np.isnan(N.travel_times(net, ["A"], limit=od.loc["A", "B"] - 0.01)[0, b])


def _node_at(net, p):
    return int(np.flatnonzero((net.lon == p[0]) & (net.lat == p[1]) & (net.kind == "road"))[0])


def test_bridge_does_not_join_the_road_below(osm_layers, od):
    # The bridge's own nodes (N20-N21) and the road below (N10-N12-N11) are not connected.
    for setting in ({}, {"network.node_crossings": True}):  # even with crossings noded (bridge, layer 1)
        net = N.build_network(osm_layers, settings=DEFAULT.override(**setting))
        t = N.travel_times(net, [_node_at(net, N10)])[0]
        assert np.isnan(t[_node_at(net, N21)]) and np.isnan(t[_node_at(net, (118.93, 42.73))])
    # A bridge offers no access along its length: Q (on the bridge's end) links to the nearest
    # land-access road, the secondary road 2.2 km south, at the off-network speed.
    foot = N12  # (118.93, 42.75): Q's meridian crosses the road there
    assert N.build_network(osm_layers).link_km["Q"] == pytest.approx(km(N21, foot), abs=0.002)
    want = minutes(N10, foot, SP.county_road) + km(N21, foot) / SP.off_network * 60
    assert od.loc["P", "Q"] == pytest.approx(want, rel=1e-4) and od.loc["Q", "P"] == pytest.approx(want, rel=1e-4)
    # The same two lines drawn without the bridge tags join where they cross only with node_crossings.
    flat = dict(osm_layers, corridors=osm_layers["corridors"].assign(bridge=None, layer=None))
    assert np.isnan(N.network_od_matrix(N.build_network(flat), ["P", "Q"]).loc["P", "Q"])
    net = N.build_network(flat, settings=DEFAULT.override(**{"network.node_crossings": True}))
    want = minutes(N10, N12, SP.county_road) + minutes(N12, N21, SP.national_highway)  # secondary, trunk G111
    assert N.network_od_matrix(net, ["P", "Q"]).loc["P", "Q"] == pytest.approx(want, rel=2e-6)


def test_motorway_is_entered_only_at_its_interchange(osm_layers, od):
    # X (north end of road L, which passes under the motorway at 119.05 E without a shared node)
    # drives L south, the county road east, the ramp up to the interchange, then the motorway to Y.
    want = (minutes(L2, L1, SP.county_road) + minutes(L1, R1, SP.county_road) + minutes(R1, M_I, SP.ramp)
            + minutes(M_I, M2, SP.expressway))
    assert od.loc["X", "Y"] == pytest.approx(want, rel=2e-6)
    assert od.loc["Y", "X"] == pytest.approx(want, rel=2e-6)
    # Noding crossings does not make the motorway enterable where L passes under it.
    net = N.build_network(osm_layers, settings=DEFAULT.override(**{"network.node_crossings": True}))
    assert N.network_od_matrix(net, ["X", "Y"]).loc["X", "Y"] == pytest.approx(want, rel=2e-6)


def test_maxspeed_beats_the_class_speed(osm_layers, od):
    # primary + ref S307 = provincial highway (50 km/h), but maxspeed 80 x 0.8 = 64 km/h.
    assert od.loc["K1", "K2"] == pytest.approx(minutes(K1, K2, 80 * DEFAULT.network.maxspeed_factor), rel=2e-6)
    net = N.build_network(osm_layers, settings=DEFAULT.override(**{"network.use_maxspeed": False}))
    assert N.network_od_matrix(net, ["K1", "K2"]).loc["K1", "K2"] == pytest.approx(minutes(K1, K2, SP.provincial_highway), rel=2e-6)


def test_station_3_km_from_its_line_is_reported(osm_layers):
    # 乙站 (node 52) lies 0.027 deg of latitude (3.0 km) north of the railway; 甲站 (node 50) is on it.
    assert km((119.35, 42.727), (119.35, 42.70)) == pytest.approx(3.0, abs=0.01)
    net = N.build_network(osm_layers)
    far = [p for p in net.problems if p.startswith("stations farther than 2000 m")]
    assert len(far) == 1 and "osm_n52" in far[0] and "osm_n50" not in far[0]
    report = N.validate_network(net)
    assert any("osm_n52" in w for w in report.warnings)
    # The high-speed line without any station is an error.
    assert len(report.problems) == 1 and "osm_w151" in report.problems[0]
    wide = DEFAULT.override(**{"network.station_max_m": 3500.0})
    # The imported railway lists the stations it serves (its own station nodes): a wider threshold does not
    # make 乙站 a stop of a line it is not on ...
    net = N.build_network(osm_layers, settings=wide)
    assert any(p.startswith("stations farther") and "osm_n52" in p for p in net.problems)
    # ... while a line without a station list serves every station within the threshold.
    layers = dict(osm_layers, corridors=osm_layers["corridors"].assign(stations=None))
    net = N.build_network(layers, settings=wide)
    assert not any(p.startswith("stations farther") for p in net.problems)


def _line_layers(lines, places, classes=None, **cols):
    cor = gpd.GeoDataFrame({"corridor_id": [f"L{i}" for i in range(len(lines))],
                            "class": classes or ["county_road"] * len(lines), **cols},
                           geometry=[LineString(c) for c in lines], crs=4326)
    return {"corridors": cor, "places": _places(places)}


def test_place_links_to_the_nearest_point_of_a_segment_and_splits_it():
    a, b = (119.0, 42.7), (119.1, 42.7)
    z = (119.03, 42.71)  # 0.01 deg north of the segment's interior
    layers = _line_layers([[a, b]], {"A": a, "B": b, "Z": z})
    net = N.build_network(layers)
    foot = (119.03, 42.70)  # nearest point, to the metre (the segment runs along a parallel)
    assert net.link_km["Z"] == pytest.approx(km(z, foot), abs=0.002)
    od = N.network_od_matrix(net, ["Z", "A", "B"])
    assert od.loc["Z", "A"] == pytest.approx(km(z, foot) / SP.off_network * 60 + minutes(foot, a, SP.county_road), rel=1e-3)
    assert od.loc["Z", "B"] == pytest.approx(km(z, foot) / SP.off_network * 60 + minutes(foot, b, SP.county_road), rel=1e-3)
    # Farther than max_link_km: not linked, reported, NaN.
    net = N.build_network(layers, settings=DEFAULT.override(**{"speeds.max_link_km": 1.0}))
    assert np.isnan(net.link_km["Z"]) and any("Z" in p for p in net.problems)
    assert np.isnan(N.network_od_matrix(net, ["Z", "A"]).loc["Z", "A"])


def test_chains_are_contracted_and_shared_vertices_join():
    # A 5-vertex line crossed at its middle vertex by a line sharing that vertex: 5 graph nodes
    # (4 ends + the junction), plus the 2 places.
    w, mid, e = (119.0, 42.7), (119.02, 42.7), (119.04, 42.7)
    layers = _line_layers([[w, (119.01, 42.7), mid, (119.03, 42.7), e], [(119.02, 42.69), mid, (119.02, 42.71)]],
                          {"W": w, "S": (119.02, 42.69)})
    net = N.build_network(layers)
    assert (net.kind != "place").sum() == 5 + 2  # + the two attachment points of the places
    od = N.network_od_matrix(net, ["W", "S"])
    assert od.loc["W", "S"] == pytest.approx(minutes(w, mid, SP.county_road) + minutes(mid, (119.02, 42.69), SP.county_road),
                                             rel=2e-6)
    back = N.travel_times_to(net, ["S"])[0, net.place_index["W"]]
    assert back == pytest.approx(od.loc["W", "S"], rel=1e-12)


def test_expressway_interior_is_no_exit_and_ends_are():
    # Two pieces of one expressway (same ref) meeting at J: J is interior, the ends are access points.
    w, j, e = (119.0, 42.7), (119.1, 42.7), (119.2, 42.7)
    layers = _line_layers([[w, j], [j, e]], {"W": w}, classes=["expressway"] * 2, ref=["G16", "G16"])
    net = N.build_network(layers)
    at = {p: _node_at(net, p) for p in (w, j, e)}
    acc = {(float(net.lon[i]), float(net.lat[i])) for i in net.expressway_access}
    assert acc == {w, e}  # the way split J is no entry, the ends are
    assert not net.exit[[at[w], at[j], at[e]]].any()  # the land never joins an expressway
    assert net.node_cls[at[j]] == "expressway"
    # A place beside J cannot enter there: it links to the nearest access point (E, 0.08 deg away) instead.
    jj = (119.12, 42.705)
    layers["places"] = _places({"W": w, "J": jj})
    od = N.network_od_matrix(N.build_network(layers), ["J", "W"])
    assert od.loc["J", "W"] == pytest.approx(km(jj, e) / SP.off_network * 60 + minutes(e, w, SP.expressway), rel=2e-6)


def test_unknown_class_and_invalid_speeds_are_errors_naming_ids():
    a, b = (119.0, 42.7), (119.1, 42.7)
    layers = _line_layers([[a, b], [a, b]], {"A": a}, classes=["county_road", "motorway"])
    with pytest.raises(ValidationError, match="L1"):
        N.build_network(layers)
    layers = _line_layers([[a, b], [a, b], [a, b]], {"A": a}, maxspeed=["60 mph", "fast", -100])
    with pytest.raises(ValidationError) as err:
        N.build_network(layers)
    assert "L1" in str(err.value) and "L2" in str(err.value) and "L0" not in str(err.value)
    extra = gpd.GeoDataFrame({"corridor_id": ["S1"], "class": ["expressway"], "design_speed_kmh": [-100]},
                             geometry=[LineString([a, b])], crs=4326)
    with pytest.raises(ValidationError, match="S1"):
        N.build_network(_line_layers([[a, b]], {"A": a}), extra_corridors=extra)


def test_scenario_design_speed_is_used():
    a, b = (119.0, 42.7), (119.1, 42.7)
    extra = gpd.GeoDataFrame({"corridor_id": ["S1"], "class": ["national_highway"], "design_speed_kmh": [100]},
                             geometry=[LineString([a, b])], crs=4326)
    net = N.build_network({"corridors": extra.iloc[0:0], "places": _places({"A": a, "B": b})}, extra_corridors=extra)
    assert N.network_od_matrix(net, ["A", "B"]).loc["A", "B"] == pytest.approx(minutes(a, b, 100 * 0.8), rel=2e-6)


def test_parse_speed():
    s, bad = N.parse_speed(["80", "60 mph", "50 km/h", None, "", "fast", "-5", 0, 70.0])
    np.testing.assert_allclose(s[[0, 1, 2, 8]], [80, 60 * 1.609344, 50, 70])
    assert bad.tolist() == [False, False, False, False, False, True, True, True, False]


def test_rail_boarded_only_at_stations_with_transfer_time():
    s1, mid, s2 = (120.0, 43.0), (120.5, 43.0), (121.0, 43.0)
    cor = gpd.GeoDataFrame({"corridor_id": ["R1", "E1"], "class": ["railway", "county_road"], "stations": ["S1;S2", ""]},
                           geometry=[LineString([s1, s2]), LineString([(120.0, 43.1), (121.0, 43.1)])], crs=4326)
    nodes = gpd.GeoDataFrame({"node_id": ["S1", "S2"], "kind": ["rail_station"] * 2},
                             geometry=[Point(s1), Point(s2)], crs=4326)
    layers = {"corridors": cor, "nodes": nodes, "places": _places({"A": s1, "B": s2, "X": mid})}
    net = N.build_network(layers)
    od = N.network_od_matrix(net, ["A", "B", "X"])
    rail = GEOD.line_length(np.linspace(120, 121, 2001), np.full(2001, 43.0)) / 1000
    # A and B sit on the stations (nearer than any road point: they link to them).
    assert od.loc["A", "B"] == pytest.approx(rail / SP.railway * 60 + SP.transfer("railway"), rel=1e-6)
    # X on the track between stations cannot board there: its link goes to the road.
    assert net.link_km["X"] == pytest.approx(km(mid, (120.5, 43.1)), abs=0.01)
    assert not net.exit[net.kind == "rail"].any()


def test_embedded_network_is_symmetric_complete_and_validates(ds):
    net = N.build_network(ds.layers)
    ids = list(ds["places"]["place_id"]) + list(ds["parks"]["park_id"])
    od = N.network_od_matrix(net, ids).to_numpy()
    assert np.isfinite(od).all()
    np.testing.assert_allclose(od, od.T, rtol=1e-9)
    report = N.validate_network(net)
    assert report.ok, report.problems
    assert pd.Series(net.kind).isin(["road", "rail", "station", "place"]).all()


def test_places_on_roads_far_from_any_expressway_build():
    # Every place sits on an ordinary road: no expressway link candidate at all (an empty selection).
    a, b = (119.0, 42.0), (119.1, 42.0)
    layers = _line_layers([[a, b], [(119.0, 42.3), (119.2, 42.3)]], {"A": a, "B": b},
                          classes=["county_road", "expressway"])
    od = N.network_od_matrix(N.build_network(layers, include_planned=True), ["A", "B"])
    assert od.loc["A", "B"] == pytest.approx(minutes(a, b, SP.county_road), rel=2e-6)


@pytest.mark.parametrize("quality,joined", [("indicative", True), ("surveyed", False)])
def test_a_drawn_road_end_meets_the_road_of_the_town_it_is_drawn_to(quality, joined):
    """A road drawn town to town (indicative, or a scenario) whose end stops 300 m short of the town's road joins it;
    a surveyed dead end (OpenStreetMap) stays a dead end.  Times by hand: lengths on the ellipsoid / speed."""
    a, b = (119.00, 42.70), (119.10, 42.70)          # the town's road, east-west
    c = (119.05, 42.70 + 0.0027)                     # the drawn road's end, ~300 m north of it
    d = (119.05, 42.80)                              # the drawn road runs north to D
    cor = gpd.GeoDataFrame({"corridor_id": ["TOWN", "NEW"], "class": ["county_road", "national_highway"],
                            "geometry_quality": ["surveyed", quality]},
                           geometry=[LineString([a, b]), LineString([c, d])], crs=4326)
    net = N.build_network({"corridors": cor, "places": _places({"A": a, "D": d})})
    t = N.network_od_matrix(net, ["A", "D"]).loc["A", "D"]
    if not joined:
        assert np.isnan(t)
        return
    want = minutes(a, (119.05, 42.70), SP.county_road) + minutes((119.05, 42.70), c, SP.off_network) \
        + minutes(c, d, SP.national_highway)
    assert t == pytest.approx(want, rel=1e-4)


def test_a_scenario_road_end_joins_only_in_the_scenario():
    """The end join of a scenario road is part of the scenario: the base network is unchanged."""
    a, b, c, d = (119.00, 42.70), (119.10, 42.70), (119.05, 42.7027), (119.05, 42.80)
    base = gpd.GeoDataFrame({"corridor_id": ["TOWN"], "class": ["county_road"]}, geometry=[LineString([a, b])], crs=4326)
    new = gpd.GeoDataFrame({"corridor_id": ["NEW"], "class": ["national_highway"]}, geometry=[LineString([c, d])], crs=4326)
    layers = {"corridors": base, "places": _places({"A": a, "D": d})}
    with_new = N.network_od_matrix(N.build_network(layers, extra_corridors=new), ["A", "D"]).loc["A", "D"]
    without = N.network_od_matrix(N.build_network(layers), ["A", "D"]).loc["A", "D"]
    assert np.isfinite(with_new) and with_new < without  # D is 11 km off the base road: linked straight, slower
