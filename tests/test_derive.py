"""One union build, many alternatives: each derived alternative equals a fresh build of it alone.

The references are independent of the union code: a fresh ``build_model`` / ``build_network`` of
the one alternative (the old path), and hand-computed lengths (pyproj.Geod) / speeds.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from twinstar_gis.model import network as N
from twinstar_gis.model import traveltime as tt
from twinstar_gis.pipeline import compare as C
from twinstar_gis.settings import DEFAULT

from .test_model_rules import SP, _boundaries, _cor, _places, km

#: Derived times agree with fresh builds to 1e-9 relative (and 1e-9 min absolute; 8.5e-11 min measured).
ATOL = 1e-9


def _line(cid, cls, a, b):
    return gpd.GeoDataFrame({"corridor_id": [cid], "class": [cls], "status": ["scenario"]},
                            geometry=[LineString([a, b])], crs=4326)


def _times(model, ids):
    out = [tt.od_matrix(model, ids).to_numpy()]
    for core in ("CORE_150400", "CORE_150500"):
        out.append(tt.time_surface(model, [core], direction="to"))
    out.append(tt.expressway_surface(model)[0])
    return out


def test_derived_alternatives_equal_fresh_builds_on_the_embedded_data(ds):
    p = ds["places"].set_index("place_id").geometry
    pt = lambda i: p[i].coords[0]  # noqa: E731
    a = _line("A1", "national_highway", pt("CORE_150400"), pt("CORE_150500"))  # crosses B's expressway and the base
    b = gpd.GeoDataFrame(
        {"corridor_id": ["B1", "B2"], "class": ["expressway", "county_road"], "status": "scenario"},
        geometry=[LineString([pt("SEAT_150402"), pt("SEAT_150522")]), LineString([pt("CORE_150400"), pt("SEAT_150430")])],
        crs=4326)
    s = DEFAULT.override(**{"access.resolution_m": 4000})
    fast = s.override(**{"speeds.national_highway": 120, "speeds.high_speed_rail": 250, "speeds.expressway": 80})
    assert C.build_key(fast) == C.build_key(s)  # class speeds: derived at their speeds from the same build
    own_land = s.override(**{"speeds.off_road": 10})
    assert C.build_key(own_land) != C.build_key(s)  # the land's speed: a build of its own
    alts = [(False, None), (False, a), (True, b), (True, None)]
    union = tt.build_union_model(ds.layers, alts, dem_path=ds.dem_path, settings=s)
    ids = list(p.index)
    for k, (planned, extra) in enumerate(alts, 1):
        fresh = tt.build_model(ds.layers, dem_path=ds.dem_path, settings=s, include_planned=planned, extra_corridors=extra)
        derived = tt.derive_model(union, k, ds.layers, dem_path=ds.dem_path)
        for got, want in zip(_times(derived, ids), _times(fresh, ids)):
            assert (np.isfinite(got) == np.isfinite(want)).all(), k
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=ATOL, err_msg=f"alternative {k}")
    # other class speeds on the same union (alternatives 2 and 3: A's highway, B's expressway, the
    # planned HSR) equal their fresh builds at those speeds, and differ from the default-speed ones
    for k in (2, 3):
        planned, extra = alts[k - 1]
        fresh = tt.build_model(ds.layers, dem_path=ds.dem_path, settings=fast, include_planned=planned,
                               extra_corridors=extra)
        derived = tt.model_with_speeds(tt.derive_model(union, k, ds.layers, dem_path=ds.dem_path), fast)
        got_all, want_all = _times(derived, ids), _times(fresh, ids)
        for got, want in zip(got_all, want_all):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=ATOL, err_msg=f"alternative {k} at other speeds")
        slow = _times(tt.derive_model(union, k, ds.layers, dem_path=ds.dem_path), ids)[0]
        assert np.nanmax(np.abs(got_all[0] - slow)) > 1.0  # the speeds matter on these OD pairs
    # an override of the land speed has its own build (one alternative): equals its fresh build too
    own = tt.derive_model(tt.build_union_model(ds.layers, [(False, a)], dem_path=ds.dem_path, settings=own_land), 1,
                          ds.layers, dem_path=ds.dem_path)
    fresh = tt.build_model(ds.layers, dem_path=ds.dem_path, settings=own_land, extra_corridors=a)
    for got, want in zip(_times(own, ids), _times(fresh, ids)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=ATOL)


def test_an_alternative_never_uses_another_alternatives_road_where_they_cross():
    # A: a national highway P -> Q along 42.0 N; B: a county road from (119.1, 41.9) north to S at (119.1, 42.1),
    # crossing A at X = (119.1, 42.0).  Crossings are noded, so a shared union would join them at X.
    P, Q, X, S = (119.0, 42.0), (119.2, 42.0), (119.1, 42.0), (119.1, 42.1)
    base = _cor([[(119.0, 41.85), (119.2, 41.85)]], cls=["county_road"], ids=["R0"])
    layers = {"corridors": base, "places": _places({"P": P, "S": S}), "boundaries": _boundaries()}
    s = DEFAULT.override(**{"network.node_crossings": True, "speeds.max_link_km": 20})
    a = _line("A", "national_highway", P, Q)
    b = _line("B", "county_road", (119.1, 41.9), S)
    net = N.build_network(layers, settings=s, alternatives=[(False, a), (False, b)])
    t_a = N.network_od_matrix(N.network_variant(net, label=1), ["P", "S"]).loc["P", "S"]
    # In A, S links straight to A's nearest point, X: P -> X on the highway, X -> S on the link (off network).
    by_hand = km(P, X) / SP.national_highway * 60 + km(X, S) / SP.off_network * 60  # 8.29 km / 60 + 11.12 km / 30
    assert t_a == pytest.approx(by_hand, rel=1e-6)  # 30.5 min
    # (through B's road it would be 8.29 km at 60 km/h then 11.12 km at 40 km/h: 25.0 min)
    assert t_a > km(P, X) / SP.national_highway * 60 + km(X, S) / SP.county_road * 60 + 1.0
    fresh = N.build_network({**layers, "corridors": base}, settings=s, extra_corridors=a)
    assert t_a == pytest.approx(N.network_od_matrix(fresh, ["P", "S"]).loc["P", "S"], rel=1e-9)


def test_a_cell_nearer_to_another_alternatives_road_joins_the_base_or_its_own():
    # base road along 41.95 N, A's road along 42.05 N, B's road along 42.0 N: cells on 42.0 N are nearest to B's road.
    base = _cor([[(118.85, 41.95), (119.25, 41.95)]], cls=["county_road"], ids=["R0"])
    layers = {"corridors": base, "places": _places({"P": (118.85, 41.95)}), "boundaries": _boundaries()}
    s = DEFAULT.override(**{"access.resolution_m": 2000, "access.join_m": 8000, "access.land_model": "off_road"})
    a = _line("A", "county_road", (118.85, 42.05), (119.25, 42.05))
    b = _line("B", "county_road", (118.85, 42.0), (119.25, 42.0))
    union = tt.build_union_model(layers, [(False, a), (False, b)], settings=s)
    derived = tt.model_variant(union, label=1)
    e = derived.network.edges
    j = derived.joins.assign(cid=e["corridor_id"].to_numpy()[derived.joins["edge"].to_numpy()])
    assert set(j["cid"]) <= {"R0", "A"} and not (j["label"] == 2).any()
    # the cell holding (119.05, 42.0): its centre is nearest to B's road, and in A it joins R0 or A (never B)
    g = derived.grid
    (x0, y0), = tt._project([Point(119.05, 42.0)], g.crs)[0].coords
    r, c = g.rowcol(x0, y0)
    centre = Point(*g.xy(r, c))
    d = {k: centre.distance(tt._project([line.geometry.iloc[0]], g.crs)[0]) for k, line in (("R0", base), ("A", a), ("B", b))}
    assert d["B"] < min(d["A"], d["R0"])  # the premise
    cell = int(np.flatnonzero(derived.cells == r * g.width + c)[0])
    mine = j[j["cell"] == cell]
    assert len(mine) >= 1 and set(mine["cid"]) <= {"R0", "A"}
    fresh = tt.build_model({**layers, "corridors": base}, settings=s, extra_corridors=a)
    np.testing.assert_allclose(tt.time_surface(derived, ["P"]), tt.time_surface(fresh, ["P"]), rtol=1e-9, atol=ATOL)


def test_a_serial_compare_builds_the_network_once_per_group(ds, tmp_path, monkeypatch):
    p = ds["places"].set_index("place_id").geometry
    _line("T", "national_highway", p["CORE_150400"].coords[0], p["CORE_150500"].coords[0]).assign(
        name_zh="测试").to_file(tmp_path / "t.geojson")
    f = tmp_path / "alts.toml"
    f.write_text('[compare]\nsites = false\n[[alternatives]]\nname = "a"\nscenario = "t.geojson"\n'
                 '[[alternatives]]\nname = "walk"\n[alternatives.settings]\nspeeds.off_road = 10\n'
                 '[[alternatives]]\nname = "b"\ninclude_planned = true\n[[alternatives]]\nname = "c"\n'
                 '[alternatives.settings]\nspeeds.county_road = 50\n', encoding="utf-8")
    calls = []
    real = tt.build_network
    monkeypatch.setattr(tt, "build_network", lambda *a, **k: calls.append(k) or real(*a, **k))
    monkeypatch.setattr(C, "_UNIONS", [])
    C.run_compare(f, out_dir=tmp_path / "out", resolution=4000, workers=0, render=False)
    # the base, a, b and c (a class speed: derived at its speed) share a build; "walk" (the land's speed)
    # has its own: two builds, though "walk" comes between the others in the file (the tasks run group by
    # group, one union kept at a time)
    assert sorted(len(c["alternatives"]) for c in calls) == [1, 4]
    import pandas as pd
    t = pd.read_csv(tmp_path / "out" / "compare" / "alternatives.csv", encoding="utf-8-sig")
    assert list(t["alternative"]) == ["base", "a", "walk", "b", "c"] and list(t["build_group"]) == [1, 1, 2, 1, 1]


def test_a_loose_road_end_joins_the_base_not_another_alternatives_road():
    # A: a county road from its loose end E = (119.1, 42.01) north to S = (119.1, 42.1); the base road R0 runs
    # along 42.0 N (1.11 km south of E); B's road runs along 42.015 N (0.56 km north of E, nearer).  In A, E joins
    # R0 at X = (119.1, 42.0) (network.end_join_m = 2 km), never B's road.
    P, X, E, S = (119.0, 42.0), (119.1, 42.0), (119.1, 42.01), (119.1, 42.1)
    base = _cor([[P, (119.2, 42.0)]], cls=["county_road"], ids=["R0"])
    layers = {"corridors": base, "places": _places({"P": P, "S": S}), "boundaries": _boundaries()}
    s = DEFAULT.override(**{"speeds.max_link_km": 5})
    a = _line("A", "county_road", E, S)
    b = _line("B", "county_road", (119.05, 42.015), (119.15, 42.015))
    net = N.build_network(layers, settings=s, alternatives=[(False, a), (False, b)])
    t_a = N.network_od_matrix(N.network_variant(net, label=1), ["P", "S"]).loc["P", "S"]
    # 8.29 km on R0 at 40 km/h, the 1.11 km join at 30 km/h, 10.0 km on A at 40 km/h: 12.43 + 2.22 + 15.01 min
    by_hand = km(P, X) / SP.county_road * 60 + km(X, E) / SP.off_network * 60 + km(E, S) / SP.county_road * 60
    assert t_a == pytest.approx(by_hand, rel=1e-4)  # (X: R0's nearest point to E in the projection, ~1e-4 off)
    fresh = N.build_network(layers, settings=s, extra_corridors=a)
    assert t_a == pytest.approx(N.network_od_matrix(fresh, ["P", "S"]).loc["P", "S"], rel=1e-9)


def test_a_planned_station_is_only_in_the_alternatives_that_count_the_planned_ones():
    # a planned rail station 0.5 km from A's road: A (include_planned = false) must not link it, as a build of A
    # alone does not know it; the second alternative (planned, no corridors) has it linked to the base road only.
    P, S = (119.0, 42.0), (119.1, 42.1)
    base = _cor([[P, (119.2, 42.0)]], cls=["county_road"], ids=["R0"])
    nodes = gpd.GeoDataFrame({"node_id": ["ST"], "name_zh": ["站"], "kind": ["rail_station"], "status": ["planned"]},
                             geometry=gpd.points_from_xy([119.105], [42.05]), crs=4326)
    layers = {"corridors": base, "places": _places({"P": P, "S": S}), "nodes": nodes, "boundaries": _boundaries()}
    s = DEFAULT.override(**{"access.resolution_m": 2000, "access.land_model": "off_road"})
    a = _line("A", "county_road", (119.1, 41.99), S)
    union = tt.build_union_model(layers, [(False, a), (True, None)], settings=s)
    st = union.network.place_index["ST"]
    in_a, planned = tt.model_variant(union, label=1), tt.model_variant(union, label=2)
    assert not in_a.linked[st] and planned.linked[st]
    fresh = tt.build_model(layers, settings=s, extra_corridors=a)
    np.testing.assert_allclose(tt.time_surface(in_a, ["P"]), tt.time_surface(fresh, ["P"]), rtol=1e-9, atol=ATOL)
    fresh = tt.build_model(layers, settings=s, include_planned=True)
    np.testing.assert_allclose(tt.time_surface(planned, ["P"]), tt.time_surface(fresh, ["P"]), rtol=1e-9, atol=ATOL)


def test_other_class_speeds_retime_only_the_lines_that_run_at_their_class_speed():
    """Three parallel 0.1-degree lines between their own pairs of places: a county road at its class
    speed, a county road with maxspeed 100 (x 0.8 = 80 km/h), a railway with a timetable speed of 90.
    At county roads 20 km/h and railways 200 km/h only the first is re-timed: its time doubles, the
    other two keep theirs (computed by hand from the Geod length), and a fresh build agrees."""
    rows = {"R": 42.0, "M": 42.05, "T": 42.1}
    lines = [[(119.0, y), (119.1, y)] for y in rows.values()]
    cors = _cor(lines, ids=["R", "M", "T"], cls=["county_road", "county_road", "railway"],
                maxspeed=[None, "100", None], operating_speed_kmh=[None, None, 90.0])
    pts = {f"{k}{e}": (119.0 + 0.1 * e, y) for k, y in rows.items() for e in (0, 1)}
    kinds = ["county_seat" if not k.startswith("T") else "station" for k in pts]
    places = gpd.GeoDataFrame({"place_id": list(pts), "name_zh": list(pts), "kind": kinds},
                              geometry=[Point(p) for p in pts.values()], crs=4326)
    layers = {"corridors": cors, "places": places[~places["place_id"].str.startswith("T")],
              "nodes": places[places["place_id"].str.startswith("T")].rename(columns={"place_id": "node_id"}),
              "boundaries": _boundaries()}
    slow = DEFAULT.override(**{"speeds.county_road": 20, "speeds.railway": 200})
    net = N.build_network(layers)
    derived, fresh = N.network_with_speeds(net, slow), N.build_network(layers, settings=slow)
    e = derived.edges[derived.edges["mode"].isin(["road", "rail"]).to_numpy()]
    line_min = e.groupby("corridor_id")["minutes"].sum()  # a line may be cut where a place links to it
    assert line_min["R"] == pytest.approx(km(*lines[0]) / 20 * 60, rel=1e-6)  # re-timed: 20 km/h
    assert line_min["M"] == pytest.approx(km(*lines[1]) / 80 * 60, rel=1e-6)  # its maxspeed x 0.8
    assert line_min["T"] == pytest.approx(km(*lines[2]) / 90 * 60, rel=1e-6)  # its timetable
    other = derived.edges[~derived.edges["mode"].isin(["road", "rail"]).to_numpy()]
    assert (other["minutes"].to_numpy() == net.edges.loc[other.index, "minutes"].to_numpy()).all()  # links keep theirs
    a = derived.arcs.sort_values(["tail", "head"])["minutes"].to_numpy()
    b = fresh.arcs.sort_values(["tail", "head"])["minutes"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-12)  # the same as a build at these speeds
    np.testing.assert_allclose(N.network_od_matrix(derived, ["R0", "R1"]).to_numpy(),
                               N.network_od_matrix(fresh, ["R0", "R1"]).to_numpy(), rtol=1e-12)
