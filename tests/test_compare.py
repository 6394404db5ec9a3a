"""``twinstar compare`` (方案比选): hand-checked alternatives, the ranking, the engines agree, bad files refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import LineString

from twinstar_gis.cli import cli
from twinstar_gis.cli.compare import compare as compare_cmd
from twinstar_gis.pipeline.compare import CRITERIA, rank_alternatives, run_compare

if "compare" not in cli.commands:  # until cli/main.py registers the command
    cli.add_command(compare_cmd)

GEOD = Geod(ellps="WGS84")
RES = 4000  # m: coarse cells keep every evaluation well under a second
LINK_KMH = 120.0


def _core_points(ds):
    p = ds["places"].set_index("place_id").geometry
    return p["CORE_150400"], p["CORE_150500"]


def _link(ds) -> gpd.GeoDataFrame:
    """A national highway drawn straight from one city core to the other (its ends on the cores)."""
    a, b = _core_points(ds)
    return gpd.GeoDataFrame({"corridor_id": ["T_LINK"], "name_zh": ["测试快速连线"], "class": ["national_highway"],
                             "status": ["planned"]}, geometry=[LineString([(a.x, a.y), (b.x, b.y)])], crs=4326)


def _write_alternatives(folder: Path, ds, *, extra: str = "") -> Path:
    _link(ds).to_file(folder / "link.geojson")
    f = folder / "alts.toml"
    f.write_text(f"""name = "test comparison"
[compare]
w_core_to_core = 1
w_mean_time = 1
w_population_within = 0
w_cross_city_share = 0
sites = false
{extra}

[[alternatives]]
name = "同基准 same"
description = "changes nothing"

[[alternatives]]
name = "快速连线 link"
scenario = "link.geojson"
[alternatives.settings]
speeds.national_highway = {LINK_KMH:g}

[[alternatives]]
name = "规划 planned"
include_planned = true
""", encoding="utf-8")
    return f


@pytest.fixture(scope="module")
def serial(ds, tmp_path_factory):
    """The test alternatives evaluated serially, in process (the reference every engine must match)."""
    d = tmp_path_factory.mktemp("compare")
    alts = _write_alternatives(d, ds)
    res = run_compare(alts, out_dir=d / "serial", resolution=RES, workers=0)
    return d, alts, res


def _tables(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted((folder / "compare").glob("*.csv"))}


# ---------------------------------------------------------------- the ranking, by hand
def test_ranking_follows_the_stated_criteria_on_a_constructed_case():
    ind = pd.DataFrame({"core_to_core_min": [100.0, 70.0, 90.0, 100.0],
                        "mean_time_to_core_min": [50.0, 48.0, 46.0, 54.0],
                        "population_share_within_circle": [0.30, 0.30, 0.30, 0.30],
                        "cross_city_linkage_share": [0.10, 0.11, 0.10, 0.12]},
                       index=["base", "A", "B", "C"])
    w = {"core_to_core": 0.3, "mean_time": 0.3, "population_within": 0.2, "cross_city_share": 0.2}
    r = rank_alternatives(ind, w).set_index("alternative")
    # Gains: core 30, 10, 0 min (points 1, 1/3, 0); mean time 2, 4, -4 min (0.5, 1, -1);
    # population 0 pp for all (0); cross-city 1, 0, 2 pp (0.5, 0, 1).
    assert r.loc["A", "score"] == pytest.approx(0.3 * 1 + 0.3 * 0.5 + 0 + 0.2 * 0.5)
    assert r.loc["B", "score"] == pytest.approx(0.3 / 3 + 0.3 * 1 + 0 + 0)
    assert r.loc["C", "score"] == pytest.approx(0 + 0.3 * -1 + 0 + 0.2 * 1)
    assert list(r.index) == ["A", "B", "C"] and list(r["rank"]) == [1, 2, 3]
    assert r.loc["B", "mean_time_gain"] == pytest.approx(4.0) and r.loc["C", "cross_city_share_gain"] == pytest.approx(2.0)
    # Weights are normalised; a criterion nobody has data for is left out and the rest renormalised.
    ind["cross_city_linkage_share"] = np.nan
    r2 = rank_alternatives(ind, {k: 2 * v for k, v in w.items()}).set_index("alternative")
    assert r2.loc["A", "score"] == pytest.approx((0.3 * 1 + 0.3 * 0.5) / 0.8)
    assert "cross_city_share" not in r2["criteria_used"].iloc[0]


def test_every_criterion_names_an_indicator_the_comparison_writes(serial):
    d, _, _ = serial
    ind = pd.read_csv(d / "serial" / "compare" / "indicators.csv", encoding="utf-8-sig")
    for crit, (col, _, _) in CRITERIA.items():
        assert col in set(ind["indicator"]) or col == "population_share_within_circle", crit
    assert "population_share_within_120min" in set(ind["indicator"])


# ---------------------------------------------------------------- hand-checkable alternatives
def test_a_fast_link_between_the_cores_gives_its_own_time(serial, ds):
    d, _, _ = serial
    ind = pd.read_csv(d / "serial" / "compare" / "indicators.csv", encoding="utf-8-sig").set_index("indicator")
    a, b = _core_points(ds)
    km = GEOD.line_length([a.x, b.x], [a.y, b.y]) / 1000
    by_hand = km / LINK_KMH * 60  # the straight link at 120 km/h, its ends on the two cores (links of length 0)
    # Written to 0.1 min; the network splits the line where other places link to it and measures each piece on
    # the ellipsoid (the pieces sum to 33 m more than the one geodesic here): 0.1 min is 200 m at 120 km/h.
    assert float(ind.loc["core_to_core_min", "快速连线 link"]) == pytest.approx(by_hand, abs=0.1)
    assert float(ind.loc["core_to_core_min", "base"]) > by_hand + 30
    # ... and equals the model's own OD with that link and that speed, computed directly.
    from twinstar_gis.model.traveltime import build_model, od_matrix
    from twinstar_gis.settings import DEFAULT

    s = DEFAULT.override(**{"access.resolution_m": RES, "speeds.national_highway": LINK_KMH})
    model = build_model(ds.layers, dem_path=ds.dem_path, settings=s, extra_corridors=_link(ds))
    od = od_matrix(model, ["CORE_150400", "CORE_150500"])
    assert float(ind.loc["core_to_core_min", "快速连线 link"]) == pytest.approx(od.iloc[0, 1], abs=0.051)
    pl = pd.read_csv(d / "serial" / "compare" / "places.csv", encoding="utf-8-sig")
    core = pl[(pl["alternative"] == "快速连线 link") & (pl["id"] == "CORE_150400")].iloc[0]
    assert core["to_other_city_core_min"] == pytest.approx(by_hand, abs=0.1)
    assert core["to_other_city_core_min_change"] == pytest.approx(by_hand - float(ind.loc["core_to_core_min", "base"]),
                                                                  abs=0.11)


def test_an_alternative_identical_to_the_base_changes_nothing(serial):
    d, _, _ = serial
    c = d / "serial" / "compare"
    ind = pd.read_csv(c / "indicators.csv", encoding="utf-8-sig").set_index("indicator")
    numeric = ind.index.notna()
    assert (ind.loc[numeric, "同基准 same change"].astype(float) == 0).all()
    assert (ind.loc[numeric, "同基准 same"].astype(float) == ind.loc[numeric, "base"].astype(float)).all()
    for name in ("counties", "places", "linkage", "suitability"):
        t = pd.read_csv(c / f"{name}.csv", encoding="utf-8-sig")
        same = t[t["alternative"] == "同基准 same"]
        changes = [col for col in t.columns if col.endswith("_change")]
        assert changes and len(same) and (same[changes].fillna(0) == 0).all().all(), name
    r = pd.read_csv(c / "ranking.csv", encoding="utf-8-sig").set_index("alternative")
    assert r.loc["同基准 same", "score"] == 0
    # The planned HSR link only adds: no county is slower with it.
    cty = pd.read_csv(c / "counties.csv", encoding="utf-8-sig")
    assert (cty.loc[cty["alternative"] == "规划 planned", "mean_min_change"] <= 0.05).all()


def test_the_run_folder_records_every_alternative(serial):
    d, _, res = serial
    out = d / "serial"
    man = json.loads((out / "run.json").read_text(encoding="utf-8"))
    names = [a["name"] for a in man["alternatives"]]
    assert names == ["base", "同基准 same", "快速连线 link", "规划 planned"]
    link = man["alternatives"][2]
    assert link["settings_overrides"] == {"speeds.national_highway": LINK_KMH}
    assert link["settings"]["speeds"]["national_highway"] == LINK_KMH
    assert man["alternatives"][0]["settings"]["speeds"]["national_highway"] == 60.0
    assert man["alternatives"][3]["include_planned"] is True
    from twinstar_gis.run.folder import read_run, sha256_file

    assert link["scenario"][0]["sha256"] == sha256_file(d / "link.geojson")
    roles = {i["role"] for i in man["inputs"]}
    assert {"alternatives", "scenario"} <= roles
    assert man["compare"]["engine"] == "serial (in process)"
    read_run(out)  # every file recorded, none missing or extra
    assert (out / "maps" / "compare.html").exists() and res["page"] == out / "maps" / "compare.html"
    html = (out / "maps" / "compare.html").read_text(encoding="utf-8")
    for n in ("快速连线 link", "规划 planned", "同基准 same"):
        assert n in html
    from twinstar_gis.maps._offline import external_references

    assert not external_references(html)  # offline: the page requests nothing
    sc = gpd.read_file(out / "compare" / "scenarios.gpkg", layer="corridors")
    assert list(sc["alternative"]) == ["快速连线 link"]


def test_the_print_figure_has_one_panel_per_alternative(serial):
    from twinstar_gis.errors import FontNotFoundError
    from twinstar_gis.maps.compare import fig_compare
    from twinstar_gis.maps.figures import find_cjk_font

    try:
        find_cjk_font()
    except FontNotFoundError:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    import matplotlib

    d, _, res = serial
    assert {p.suffix for p in res["figures"]} == {".png", ".pdf"}
    family, _ = find_cjk_font()
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"]}):
        fig = fig_compare(d / "serial")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 3 and all(any(n in t for t in titles) for n in ("同基准 same", "快速连线 link", "规划 planned"))


def test_sites_are_ranked_for_every_alternative_when_asked(tmp_path):
    f = tmp_path / "alts.toml"
    f.write_text('[compare]\nsites = true\n[[alternatives]]\nname = "规划"\ninclude_planned = true\n', encoding="utf-8")
    run_compare(f, out_dir=tmp_path / "out", resolution=RES, workers=0, render=False)
    sites = pd.read_csv(tmp_path / "out" / "compare" / "sites.csv", encoding="utf-8-sig", dtype={"county_adcodes": str})
    assert list(sites["alternative"].unique()) == ["base", "规划"]
    assert (sites.groupby("alternative")["site_rank"].apply(list) == pd.Series({"base": [1, 2, 3], "规划": [1, 2, 3]})).all()
    ind = pd.read_csv(tmp_path / "out" / "compare" / "indicators.csv", encoding="utf-8-sig").set_index("indicator")
    top = sites[(sites["alternative"] == "规划") & (sites["site_rank"] == 1)].iloc[0]
    assert ind.loc["top_site_counties", "规划"] == top["counties"]
    assert float(ind.loc["top_site_score", "规划"]) == pytest.approx(top["score"], abs=1e-4)
    # Sites are searched in the border counties of the two cities only.
    from twinstar_gis.data.dataset import build_layers
    from twinstar_gis.planning.sites import border_counties

    allowed = set(border_counties(build_layers()["boundaries"]))
    assert {c for cs in sites["county_adcodes"] for c in str(cs).split(";")} <= allowed


# ---------------------------------------------------------------- engines give the same result
def test_local_cluster_gives_exactly_the_serial_result(serial):
    d, alts, _ = serial
    res = run_compare(alts, out_dir=d / "cluster", resolution=RES, workers=2, render=False)
    assert res["engine"]["engine"].startswith("dask.distributed LocalCluster (2")
    assert len(res["engine"]["workers"]) == 2
    assert _tables(d / "cluster") == _tables(d / "serial")
    man = json.loads((d / "cluster" / "run.json").read_text(encoding="utf-8"))
    assert len({a["worker"] for a in man["alternatives"]}) >= 1 and man["compare"]["memory_limit_gib"] > 0


def test_an_existing_scheduler_runs_the_same_command(serial, run):
    from distributed import LocalCluster

    d, alts, _ = serial
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        r = run("compare", alts, "--out", d / "sched", "--resolution", RES, "--scheduler", cluster.scheduler_address,
                "--no-render")
        assert r.exit_code == 0, r.output
        assert cluster.scheduler_address in r.output
    assert _tables(d / "sched") == _tables(d / "serial")
    man = json.loads((d / "sched" / "run.json").read_text(encoding="utf-8"))
    assert man["compare"]["engine"] == f"dask.distributed scheduler {cluster.scheduler_address}"
    assert man["command"][:3] == ["twinstar", "compare", str(alts)]


def test_an_unreachable_scheduler_is_one_message(ds, run, monkeypatch, tmp_path):
    import twinstar_gis.pipeline.distributed as dist

    monkeypatch.setattr(dist, "CONNECT_TIMEOUT_S", 1)
    # the scheduler as a setting of the alternatives file ([compare] scheduler) rather than --scheduler
    alts = _write_alternatives(tmp_path, ds, extra='scheduler = "tcp://127.0.0.1:9"')
    r = run("compare", alts, "--out", tmp_path / "nowhere", "--resolution", RES)
    assert r.exit_code == 2 and "tcp://127.0.0.1:9: cannot connect" in r.output and "dask scheduler" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "nowhere").exists()


def test_the_package_imports_without_dask():
    code = ("import sys, twinstar_gis, twinstar_gis.cli.main, twinstar_gis.cli.compare, twinstar_gis.pipeline.compare, "
            "twinstar_gis.maps.compare; print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


# ---------------------------------------------------------------- bad input
BAD = {
    "missing scenario file": ('[[alternatives]]\nname = "北线"\nscenario = "nowhere.geojson"\n',
                              ["'北线'", "nowhere.geojson", "not found"]),
    "unknown setting": ('[[alternatives]]\nname = "快线"\n[alternatives.settings]\nspeeds.hyperloop = 900\n',
                        ["'快线'", "unknown setting", "speeds.hyperloop"]),
    "duplicate names": ('[[alternatives]]\nname = "南线"\n[[alternatives]]\nname = "南线"\ninclude_planned = true\n',
                        ["'南线'", "#1 and #2", "its own name"]),
    "a fixed setting": ('[[alternatives]]\nname = "细网格"\n[alternatives.settings]\naccess.resolution_m = 500\n',
                        ["'细网格'", "access.resolution_m", "same for every alternative"]),
    "a bad scenario file": ('[[alternatives]]\nname = "坏线"\nscenario = "bad.geojson"\n', ["'坏线'", "bad.geojson", "class"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_alternatives_file_is_one_message_naming_the_alternative(case, run, tmp_path):
    text, expected = BAD[case]
    gpd.GeoDataFrame({"corridor_id": ["B1"], "name_zh": ["坏线"], "class": ["teleport"]},
                     geometry=[LineString([(120.0, 43.0), (121.0, 43.5)])], crs=4326).to_file(tmp_path / "bad.geojson")
    f = tmp_path / "alts.toml"
    f.write_text(text, encoding="utf-8")
    r = run("compare", f, "--out", tmp_path / "out", "--workers", "0")
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and r.output.count("Error:") == 1
    for e in expected:
        assert e in r.output, (case, e, r.output)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob("out.staging-*"))


def test_memory_beyond_the_budget_is_refused_before_anything_is_written(run, tmp_path):
    f = tmp_path / "alts.toml"
    f.write_text('[[alternatives]]\nname = "规划"\ninclude_planned = true\n[[alternatives]]\nname = "同基准"\n',
                 encoding="utf-8")
    # 0.3 GiB holds one 1 km model (the grid check of every run passes) but not three alternatives at once
    r = run("compare", f, "--out", tmp_path / "out", "--workers", "3", "--set", "memory_budget_gib=0.3")
    assert r.exit_code == 2 and "memory budget" in r.output and "alternatives at once" in r.output, r.output
    assert not (tmp_path / "out").exists()
    # a budget too small for even one model is refused by the grid check, before anything too
    r = run("compare", f, "--out", tmp_path / "out", "--set", "memory_budget_gib=0.05")
    assert r.exit_code == 2 and "memory budget" in r.output and "travel-time grid" in r.output, r.output
    assert not (tmp_path / "out").exists()
    r = run("compare", f, "--out", tmp_path / "out", "--workers", "3", "--scheduler", "tcp://127.0.0.1:9")
    assert r.exit_code == 2 and "not both" in r.output
