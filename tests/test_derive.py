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
    fast = s.override(**{"speeds.national_highway": 120})
    assert C.build_key(fast) != C.build_key(s)  # a speed: a build of its own
    alts = [(False, None), (False, a), (True, b), (True, None)]
    union = tt.build_union_model(ds.layers, alts, dem_path=ds.dem_path, settings=s)
    ids = list(p.index)
    for k, (planned, extra) in enumerate(alts, 1):
        fresh = tt.build_model(ds.layers, dem_path=ds.dem_path, settings=s, include_planned=planned, extra_corridors=extra)
        derived = tt.derive_model(union, k, ds.layers, dem_path=ds.dem_path)
        for got, want in zip(_times(derived, ids), _times(fresh, ids)):
            assert (np.isfinite(got) == np.isfinite(want)).all(), k
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=ATOL, err_msg=f"alternative {k}")
    # the override's own build (one alternative) equals its fresh build too
    own = tt.derive_model(tt.build_union_model(ds.layers, [(False, a)], dem_path=ds.dem_path, settings=fast), 1, ds.layers,
                          dem_path=ds.dem_path)
    fresh = tt.build_model(ds.layers, dem_path=ds.dem_path, settings=fast, extra_corridors=a)
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
                 '[[alternatives]]\nname = "fast"\n[alternatives.settings]\nspeeds.county_road = 50\n'
                 '[[alternatives]]\nname = "b"\ninclude_planned = true\n[[alternatives]]\nname = "c"\n'
                 '[alternatives.settings]\naccess.minutes = [45]\n', encoding="utf-8")
    calls = []
    real = tt.build_network
    monkeypatch.setattr(tt, "build_network", lambda *a, **k: calls.append(k) or real(*a, **k))
    monkeypatch.setattr(C, "_UNIONS", [])
    C.run_compare(f, out_dir=tmp_path / "out", resolution=4000, workers=0, render=False)
    # the base, a, b and c share a build; "fast" (a speed) has its own: two builds, though "fast" comes
    # between the others in the file (the tasks run group by group, one union kept at a time)
    assert sorted(len(c["alternatives"]) for c in calls) == [1, 4]
    import pandas as pd
    t = pd.read_csv(tmp_path / "out" / "compare" / "alternatives.csv", encoding="utf-8-sig")
    assert list(t["alternative"]) == ["base", "a", "fast", "b", "c"] and list(t["build_group"]) == [1, 1, 2, 1, 1]


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
