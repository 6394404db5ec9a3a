"""The planning brief and the gallery index as a new user reads them (issue 20, item 7; coverage, item 8).

Each test reads the brief's HTML and checks it against the run's own CSVs read another way, or against
facts a reviewer can check by hand (distances with pyproj, adcodes as codes).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

import twinstar_gis
from twinstar_gis.run.brief import write_brief

GEOD = Geod(ellps="WGS84")


def _run(tmp_path_factory, name, **overrides):
    import twinstar_gis.maps as maps
    from twinstar_gis.pipeline.steps import run_all

    mp = pytest.MonkeyPatch()
    mp.setattr(maps, "write_figures", lambda *a, **k: [])
    try:
        out = tmp_path_factory.mktemp(name) / "run"
        run_all(out, resolution=8000, overrides=overrides or None, command=["twinstar", "run"])
    finally:
        mp.undo()
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return _run(tmp_path_factory, "brief")


@pytest.fixture(scope="module")
def brief(run_dir):
    return (run_dir / "brief.html").read_text(encoding="utf-8")


def _tables(html):
    """Every table of the page: (preceding heading text, [header column names], rows of cell texts)."""
    out = []
    for m in re.finditer(r"<h[23]>(.*?)</h[23]>(.*?)(?=<h[23]>|</body>)", html, re.S):
        for t in re.findall(r"<table>(.*?)</table>", m.group(2), re.S):
            cols = re.findall(r'<th title="([^"]*)"', t)
            rows = [[re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
                    for r in re.findall(r"<tr>(.*?)</tr>", t.split("</thead>")[-1], re.S)]
            out.append((re.sub(r"<[^>]+>", "", m.group(1)), cols, rows))
    return out


def test_park_conflicts_come_first_in_their_own_table_complete(brief, run_dir):
    conflicts = pd.read_csv(run_dir / "analysis/conflicts.csv", encoding="utf-8-sig")
    parks = conflicts[conflicts["feature_kind"] == "park"]
    assert len(parks) and (conflicts["feature_kind"] == "corridor").sum() > 40  # the case that hid the parks
    section = brief.split("3. 生态冲突")[1].split("<h2>")[0]
    tables = _tables("<h2>x</h2>" + section + "</body>")
    heads = [h for h, _, _ in tables]
    assert heads[0].startswith("园区 Parks") and any(h.startswith("走廊") for h in heads)
    _, cols, rows = tables[0]
    assert sorted(r[cols.index("feature_id")] for r in rows) == sorted(parks["feature_id"])  # every park row


def test_adcodes_are_codes_not_numbers(brief, run_dir):
    assert not re.search(r"\b150,[45][0-9]{2}\b", brief)  # never 150,402 (adcodes of the region: 1504xx, 1505xx)
    by = pd.read_csv(run_dir / "planning/suitability_by_county.csv", encoding="utf-8-sig", dtype={"adcode": str})
    assert all(f"<td>{a}</td>" in brief for a in by["adcode"])


def test_gravity_totals_in_sensible_units(brief, run_dir):
    assert not re.search(r"\d{1,3}(,\d{3}){2,}\.\d", brief)  # no 1,093,638,027.887
    units = pd.read_csv(run_dir / "planning/linkage_units.csv", encoding="utf-8-sig")
    table = next(t for t in _tables(brief) if "total_linkage" in t[1])
    shown = [float(r[table[1].index("total_linkage")].replace(",", "")) for r in table[2]]
    want = units["total_linkage"].to_numpy() / 1e6
    assert np.allclose(shown, want, rtol=0.006)  # 3 significant figures, in 10^6 persons^2/min^2
    assert "10⁶ 人²/min²" in brief


def test_no_machine_paths_in_the_brief_or_the_gallery_index(brief, run_dir):
    index = (run_dir / "maps/index.html").read_text(encoding="utf-8")
    package_root = str(Path(twinstar_gis.__file__).resolve().parents[1])
    for page in (brief, index):
        assert str(run_dir) not in page and "site-packages" not in page and package_root not in page
        assert "staging" not in page
    assert "china-dem.nc (installed package)" in brief and "embedded data: curated/parks.csv" in brief


def test_coverage_and_local_roads_next_to_every_1h_2h_figure(run_dir, tmp_path):
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    plain = (run_dir / "brief.html").read_text(encoding="utf-8")
    assert plain.count('class="cov"') == 3  # sections 1, 4, 5
    # the run's own coverage table, value for value, and the local-roads range from its sensitivity run
    cov = pd.read_csv(run_dir / "access/coverage.csv", encoding="utf-8-sig")
    share = cov.set_index("indicator").loc["area_share_within_join_distance", "value"]
    assert f"area_share_within_join_distance {share:.3g}" in plain
    sens = pd.read_csv(run_dir / "access/sensitivity.csv", encoding="utf-8-sig")
    region = sens[sens["adcode"].astype(str) == "region"]["population_share_60min"]
    assert f"people within 60 min {region.min():.1%}–{region.max():.1%}" in plain
    other = tmp_path / "run"
    shutil.copytree(run_dir, other)
    (other / "access/coverage.csv").unlink()
    page = write_brief(other, manifest=manifest, path=tmp_path / "a.html").read_text(encoding="utf-8")
    assert "not recorded by this run" in page
    pd.DataFrame({"indicator": ["network_km_per_100km2", "share_of_area_within_5km_of_network"], "value": [3.4, 0.41],
                  "unit": ["km/100 km²", ""], "note": ["roads and rail", ""]}).to_csv(
        other / "access/coverage.csv", index=False, encoding="utf-8-sig")
    page = write_brief(other, manifest=manifest, path=tmp_path / "b.html").read_text(encoding="utf-8")
    sections = [page.split(h)[1].split("<h2>")[0] for h in ("1. 双城联系", "4. 可达性", "5. 情景")]
    for s in sections:
        assert "network_km_per_100km2 3.4 km/100 km² (roads and rail)" in s and "share_of_area_within_5km_of_network 0.41" in s
        # the land model's assumption, stated with the run's own speeds
        assert f"at {manifest['settings']['access']['local_road_kmh']:g} km/h" in s
        assert f"off-road {manifest['settings']['speeds']['off_road']:g} km/h" in s


def test_2sfca_table_names_parks_and_states_units(run_dir, tmp_path):
    from twinstar_gis.data.dataset import load_dataset
    from twinstar_gis.planning.outputs import write_2sfca
    from twinstar_gis.settings import DEFAULT

    other = tmp_path / "run"
    shutil.copytree(run_dir, other)
    ds = load_dataset(other / "data/twinstar.gpkg")
    fac = ds["places"][ds["places"]["kind"] == "county_seat"].head(6).assign(beds=[100, 200, 300, 400, 500, 600])
    write_2sfca(other / "planning", ds.layers, fac, capacity="beds", dem_path=ds.dem_path,
                settings=DEFAULT.override(**{"access.resolution_m": 8000}))
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    page = write_brief(other, manifest=manifest, path=tmp_path / "b.html").read_text(encoding="utf-8")
    table = next(t for t in _tables(page) if "access_index" in t[1])
    parks = pd.read_csv(other / "planning/access_2sfca_parks.csv", encoding="utf-8-sig")
    assert [r[table[1].index("name_zh")] for r in table[2]] == parks["name_zh"].tolist()
    assert "可达性指数 (容量/人)" in page and "集水区内设施数 (个)" in page


def test_a_run_without_a_scenario_shows_no_scenario_columns(tmp_path_factory):
    run = _run(tmp_path_factory, "noscen", **{"access.scenario": "none"})
    page = (run / "brief.html").read_text(encoding="utf-8")
    assert "No scenario in this run" in page and "today's values only" in page
    assert "（情景）" not in page and "_scenario" not in page.split("7. 规划分析")[1].split("8. 数据")[0]
    index = (run / "maps/index.html").read_text(encoding="utf-8")
    linkage = (run / "maps/linkage.html").read_text(encoding="utf-8")
    assert "no scenario in this run" in linkage and "Linkage with the scenario" not in linkage and "linkage.html" in index


def test_untagged_pois_count_for_every_park():
    """The shipped example project: four Amap POIs within 1 km of the planner's park X01 (and the embedded
    Songshan facilities beside it) are counted, not shown as "no facility data"."""
    import shapely

    from twinstar_gis.analysis.indicators import park_indicators
    from twinstar_gis.data.crs import local_aeqd
    from twinstar_gis.pipeline.steps import load_run_layers

    project = Path(twinstar_gis.__file__).resolve().parents[1] / "data/examples/project.toml"
    layers, *_ = load_run_layers(project)
    t = park_indicators(layers).set_index("park_id")
    places, parks = layers["places"], layers["parks"].set_index("park_id")
    fac = places[~places["kind"].isin(["city_core", "county_seat"])]
    for pid in parks.index:
        c = parks.geometry[pid].centroid
        aeqd = local_aeqd(c.x, c.y)
        park = parks.loc[[pid]].to_crs(aeqd).geometry.iloc[0]
        d = fac.to_crs(aeqd).geometry.distance(park)  # an independent count: local equidistant projection
        for r in (1, 3, 5):
            assert t.loc[pid, f"facilities_within_{r}km"] == int((d <= r * 1000).sum()), (pid, r)
    assert t.loc["X01", "facilities_within_1km"] >= 4 and (t["facility_data"] != "no facility data (missing, not zero)").all()
    untagged = fac[fac["park_id"].isna()] if "park_id" in fac else fac
    assert len(untagged) == 4 and all(shapely.is_valid(untagged.geometry))
