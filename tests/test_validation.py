"""The model held against published travel facts: the facts file, like-with-like comparison, the CSV contract.

Expected values come from the facts themselves (timetables, published distances) or are
worked out by hand on a tiny network: lengths with pyproj.Geod over the drawn lines, speeds
from the settings, route factors from the layer.
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon

from twinstar_gis.errors import AccessError, ValidationError
from twinstar_gis.model import validation as val
from twinstar_gis.model.traveltime import build_model
from twinstar_gis.settings import DEFAULT

GEOD = Geod(ellps="WGS84")
COARSE = DEFAULT.override(**{"access.resolution_m": 4000})


def _line_km(x0, x1, y, n=2001):
    """Length (km) of the lon/lat-straight line along parallel y, densely sampled (the stored line, not the geodesic)."""
    lon = np.linspace(x0, x1, n)
    return GEOD.line_length(lon, np.full(n, y)) / 1000


# --------------------------------------------------------------------------
# A tiny hand-made region: a railway and a parallel road
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny():
    box = Polygon([(118.9, 41.9), (119.7, 41.9), (119.7, 42.3), (118.9, 42.3)])
    layers = {
        "boundaries": gpd.GeoDataFrame({"adcode": ["150400"], "level": ["prefecture"], "name_zh": ["测试"]},
                                       geometry=[box], crs=4326),
        "corridors": gpd.GeoDataFrame({
            "corridor_id": ["R1", "H1"], "class": ["railway", "national_highway"], "stations": ["SA;SB", ""],
            "route_factor": [1.2, 1.1], "status": ["operating", "operating"]},
            geometry=[LineString([(119.0, 42.1), (119.5, 42.1)]), LineString([(119.0, 42.05), (119.5, 42.05)])], crs=4326),
        "nodes": gpd.GeoDataFrame({"node_id": ["SA", "SB"], "name_zh": ["甲站", "乙站"], "kind": ["rail_station"] * 2,
                                   "status": ["operating"] * 2}, geometry=[Point(119.0, 42.1), Point(119.5, 42.1)], crs=4326),
        "places": gpd.GeoDataFrame({"place_id": ["PA", "PB"], "name_zh": ["甲", "乙"], "kind": ["county_seat"] * 2},
                                   geometry=[Point(119.0, 42.05), Point(119.5, 42.05)], crs=4326),
    }
    return layers, build_model(layers, settings=DEFAULT.override(**{"access.resolution_m": 2000}))


def _facts(rows):
    cols = ["fact_id", "from_id", "to_id", "mode", "minutes", "km", "bound", "role"]
    return pd.DataFrame(rows, columns=cols)


def test_rail_facts_compare_in_vehicle_minutes_platform_to_platform(tiny):
    layers, model = tiny
    rail_km = _line_km(119.0, 119.5, 42.1)  # ~41.4 km
    # class speed of a railway without operating_speed_kmh, over the drawn length x its route_factor (1.2)
    expect = rail_km * 1.2 / DEFAULT.speeds.railway * 60
    facts = _facts([["X1", "SA", "SB", "rail", 36.0, None, "", "check"]])
    t = val.validate_travel_times(model, val.read_travel_facts(_csv(facts)))
    r = t.iloc[0]
    assert r["model_minutes"] == pytest.approx(expect, rel=2e-3)
    assert r["model_fact_ratio"] == pytest.approx(round(expect / 36.0, 3), abs=2e-3)
    # Door to door the model adds boarding + alighting (speeds.transfer_min of a railway): not what a timetable shows.
    assert r["model_door_minutes"] - r["model_minutes"] == pytest.approx(DEFAULT.speeds.transfer("railway"), abs=0.01)
    assert r["model_km"] == pytest.approx(rail_km * 1.2, rel=2e-3)  # route_factor of R1
    assert "in-vehicle" in r["note"]


def test_road_facts_compare_road_only_minutes_and_route_km(tiny, tmp_path):
    layers, model = tiny
    road_km = _line_km(119.0, 119.5, 42.05)
    facts = _facts([["X2", "PA", "PB", "road", 40.0, None, "", "check"],
                    ["X3", "PA", "PB", "road", None, 45.0, "", "calibration"],
                    ["X4", "PA", "PB", "road", 30.0, None, "upper", "check"]])
    t = val.validate_travel_times(model, _csv(facts, tmp_path)).set_index("fact_id")
    # the places sit on the road's ends; the drawn length x its route_factor (1.1) at the class speed; the model
    # between two network points is its network's time exactly (no land shortcut)
    by_road = road_km * 1.1 / DEFAULT.speeds.national_highway * 60
    assert t.loc["X2", "model_minutes"] == pytest.approx(by_road, rel=2e-3)
    assert t.loc["X2", "compared"] == "minutes" and t.loc["X3", "compared"] == "km"
    assert t.loc["X3", "model_km"] == pytest.approx(road_km * 1.1, rel=2e-3)
    assert t.loc["X3", "model_fact_ratio"] == pytest.approx(round(road_km * 1.1 / 45.0, 3), abs=2e-3)
    assert "calibration fact" in t.loc["X3", "note"]
    # An upper bound agrees only when the model is at most 15 % above it (model ~46 min vs "under 30 min").
    assert t.loc["X4", "bound"] == "upper" and t.loc["X4", "model_fact_ratio"] > 1.15 and not t.loc["X4", "within_band"]


def test_unknown_ids_and_non_station_rail_facts_are_noted_not_fatal(tiny, tmp_path):
    _, model = tiny
    facts = _facts([["X5", "PA", "NOWHERE", "road", 10.0, None, "", "check"],
                    ["X6", "PA", "SB", "rail", 10.0, None, "", "check"]])
    t = val.validate_travel_times(model, _csv(facts, tmp_path)).set_index("fact_id")
    assert t["model_fact_ratio"].isna().all()
    assert "to id NOWHERE is not a place, park or station" in t.loc["X5", "note"]
    assert "from id PA is not a station" in t.loc["X6", "note"]


def test_the_csv_contract_and_summary(tiny, tmp_path):
    layers, model = tiny
    facts = _facts([["X1", "SA", "SB", "rail", 36.0, None, "", "check"],
                    ["X2", "PA", "PB", "road", 40.0, None, "", "check"]])
    t = val.validate_travel_times(model, _csv(facts, tmp_path))
    assert list(t.columns) == ["fact_id", "from", "to", "from_name", "to_name", "mode", "compared", "fact_minutes",
                               "model_minutes", "fact_km", "model_km", "model_fact_ratio", "within_band", "model_door_minutes",
                               "bound", "role", "source_strength", "source", "note"]
    s = val.summarize_validation(t)
    assert s["independent"] == 2 and s["median_ratio"] == pytest.approx(t["model_fact_ratio"].median(), abs=1e-3)
    worst = t.iloc[int(np.argmax(np.abs(np.log(t["model_fact_ratio"]))))]
    assert s["worst_fact"] == worst["fact_id"]


def test_a_model_without_network_is_refused(tiny):
    _, model = tiny

    class Bare:
        network = None
        cells = model.cells

    with pytest.raises(AccessError, match="needs a TravelTimeModel built with a network"):
        val.validate_travel_times(Bare())


def _csv(df, tmp_path=None):
    import tempfile
    from pathlib import Path

    folder = Path(tmp_path) if tmp_path is not None else Path(tempfile.mkdtemp())
    path = folder / f"facts_{len(df)}_{df['fact_id'].iloc[0]}.csv"
    df.to_csv(path, index=False, encoding="utf-8")
    return path


# --------------------------------------------------------------------------
# The facts file
# --------------------------------------------------------------------------

def test_a_bad_facts_file_lists_every_problem_with_ids(tmp_path):
    bad = pd.DataFrame({"fact_id": ["A", "A", "B", "C", ""], "from_id": ["x", "x", "x", "", "x"],
                        "to_id": ["y", "y", "y", "y", "y"], "mode": ["road", "road", "bus", "rail", "road"],
                        "minutes": ["10", "-5", "", "", "7"], "km": ["", "", "", "", ""]})
    path = tmp_path / "facts.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(ValidationError) as err:
        val.read_travel_facts(path)
    text = str(err.value)
    for part in ("duplicate fact_id ['A']", "unknown mode ['bus'] on ['B']", "empty from_id on ['C']",
                 "minutes must be a positive number; got ['-5'] on ['A']", "facts ['B', 'C'] give neither minutes nor km",
                 "row(s) without fact_id"):
        assert part in text, part
    (tmp_path / "nocols.csv").write_text("id,a\n1,2\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"missing column\(s\) \['fact_id', 'from_id', 'to_id', 'mode'\]"):
        val.read_travel_facts(tmp_path / "nocols.csv")
    with pytest.raises(ValidationError, match="travel-facts file not found"):
        val.read_travel_facts(tmp_path / "absent.csv")


def test_embedded_facts_as_published():
    f = val.read_travel_facts().set_index("fact_id")
    # 12306 K996 (2023-03-26): 通辽 22:31 -> 开鲁 23:47 ... 林西 05:14 -> 经棚 06:39.
    assert f.loc[["T01", "T02", "T03", "T04", "T05", "T06"], "minutes"].tolist() == [76, 87, 53, 81, 62, 85]
    assert f.loc["T10", "minutes"] == (24 * 60 + 6 * 60 + 39) - (22 * 60 + 31)
    assert f.loc["T13", "km"] == 188.6 and f.loc["T18", "km"] == 144 and f.loc["T12", "km"] == 419
    assert f["source"].str.len().gt(10).all() and f["strength"].isin(["strong", "medium", "weak"]).all()
    assert f["role"].isin(["calibration", "check"]).all()
    assert set(f.loc[f["strength"] == "weak"].index) == {"T16", "T17", "T20"}


def test_embedded_facts_name_ids_of_the_embedded_dataset(ds):
    f = val.read_travel_facts()
    places = set(ds["places"]["place_id"])
    stations = set(ds["nodes"].loc[ds["nodes"]["kind"].isin(["hsr_station", "rail_station"])
                                   & (ds["nodes"]["status"] == "operating"), "node_id"])
    rail = f["mode"].isin(["rail", "hsr"])
    assert set(f.loc[rail, "from_id"]) | set(f.loc[rail, "to_id"]) <= stations
    assert set(f.loc[~rail, "from_id"]) | set(f.loc[~rail, "to_id"]) <= places


# --------------------------------------------------------------------------
# The embedded model
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def embedded(ds):
    model = build_model(ds.layers, dem_path=ds.dem_path, settings=COARSE)
    return model, val.validate_travel_times(model).set_index("fact_id")


def test_route_lengths_reproduce_the_published_lengths_they_were_derived_from(embedded):
    _, t = embedded
    # Tongliao-Kulun 144 km, Tongliao-Lubei 170 km (roads), Tongliao-Holingol 419 km (line), Ganqika-Tongliao 76 km (chainage):
    # the route runs end to end along one corridor, so drawn length x route_factor = the published length (1 %).
    for fid, km in (("T18", 144), ("T19", 170), ("T12", 419), ("T11", 76)):
        assert t.loc[fid, "model_km"] == pytest.approx(km, rel=0.01), fid
    assert t["model_fact_ratio"].notna().all()  # every embedded fact can be compared


def test_ningcheng_seat_reaches_the_chifeng_core_by_hsr(embedded, ds):
    model, _ = embedded
    facts = _facts([["N1", "SEAT_150429", "CORE_150400", "road", 60.0, None, "", "check"]])
    t = val.validate_travel_times(model, facts).iloc[0]
    # By HSR: ~80 km of line at speeds.high_speed_rail (200 km/h, ~25 min) + boarding/alighting (20) + short links:
    # 50-65 min (issue 19); by road alone (G306, 60 km/h over ~100 km) much slower.
    assert t["model_door_minutes"] <= 65
    assert t["model_door_minutes"] < t["model_minutes"] - 15


def test_a_project_names_its_own_travel_facts_and_the_run_uses_them(tmp_path):
    """``travel_facts = "facts.csv"`` in a project file: read relative to it, recorded, and the run checks against it;
    a project without its own facts and without the embedded base is not checked against the embedded ids."""
    from twinstar_gis.data.io import read_project
    from twinstar_gis.errors import ProjectFileError
    from twinstar_gis.pipeline.steps import travel_facts_of

    (tmp_path / "facts.csv").write_text("fact_id,from_id,to_id,mode,minutes\nF1,PA,PB,road,40\n", encoding="utf-8")
    proj = tmp_path / "p.toml"
    proj.write_text('base = "embedded"\ntravel_facts = "facts.csv"\n', encoding="utf-8")
    assert travel_facts_of(read_project(proj)) == tmp_path / "facts.csv"
    proj.write_text('base = "embedded"\n', encoding="utf-8")
    assert travel_facts_of(read_project(proj)) is None  # the embedded facts
    (tmp_path / "b.geojson").write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    proj.write_text('[layers.boundaries]\npath = "b.geojson"\n', encoding="utf-8")
    assert travel_facts_of(read_project(proj)) is False  # no facts for the project's own places
    proj.write_text('base = "embedded"\ntravel_facts = "nowhere.csv"\n', encoding="utf-8")
    with pytest.raises(ProjectFileError, match="travel_facts: .*nowhere.csv is not a file"):
        read_project(proj)


def test_write_access_writes_the_validation_table_of_the_facts_given(tiny, tmp_path):
    from twinstar_gis.run.outputs import write_access

    layers, _ = tiny
    facts = tmp_path / "facts.csv"
    facts.write_text("fact_id,from_id,to_id,mode,minutes\nF1,PA,PB,road,40\n", encoding="utf-8")
    ds = type("DS", (), {"layers": layers, "dem_path": None, "__getitem__": lambda self, k: layers[k]})()
    paths, base, _, _ = write_access(ds, tmp_path / "access", scenario="none", facts=facts,
                                     settings=DEFAULT.override(**{"access.resolution_m": 2000}))
    v = pd.read_csv(tmp_path / "access" / "validation.csv", encoding="utf-8-sig")
    road_km = _line_km(119.0, 119.5, 42.05)
    assert v["fact_id"].tolist() == ["F1"]
    assert v["model_minutes"].iloc[0] == pytest.approx(road_km * 1.1 / DEFAULT.speeds.national_highway * 60, rel=2e-3)
    paths, *_ = write_access(ds, tmp_path / "none", scenario="none", facts=False,
                             settings=DEFAULT.override(**{"access.resolution_m": 2000}))
    assert not (tmp_path / "none" / "validation.csv").exists()
