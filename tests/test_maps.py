"""Maps of a run folder: offline HTML, reading (not recomputing) the run's outputs, labels, legend, scenario view.

The run folders are built by tests/_runfolder.py in the layout of contracts.md.
Browser checks use one headless Chromium for the module, offline.
"""

import json
import re
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from twinstar_gis.data.crs import EQUAL_AREA_CRS
from twinstar_gis.maps import GALLERY, conflicts_map, distances_map, overview_map, write_gallery

#: The pages a `twinstar run` writes (the comparison page belongs to `twinstar compare`: tests/test_compare.py).
RUN_PAGES = [n for n in GALLERY if n != "compare"]
from twinstar_gis.maps._offline import external_references, inline_assets
from twinstar_gis.errors import RunFolderError
from twinstar_gis.maps.core import _prepare
from twinstar_gis.maps.gallery import access_map, headline_figures

from ._runfolder import add_planning_outputs, build_run_folder, write_overlap_outputs
from .browser import REGION_AND_PANEL, VISIBLE_LABELS, browser_available, launch, load

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def run_dir(built, tmp_path_factory):
    out = build_run_folder(tmp_path_factory.mktemp("run"), resolution=4000, data_from=built[0].parent)
    return add_planning_outputs(out, resolution=8000)


@pytest.fixture(scope="module")
def gallery(run_dir):
    return write_gallery(run_dir)


def _geojson_layers(html):
    """Every GeoJSON FeatureCollection embedded in a folium page."""
    return [json.loads(m) for m in re.findall(r'_add\((\{"bbox".*?"type": "FeatureCollection"\})\);', html)]


def _point_coords(html):
    found = re.findall(r'"coordinates":\s*\[(-?\d+\.\d+),\s*(-?\d+\.\d+)\],\s*"type":\s*"Point"', html)
    found += re.findall(r'"type":\s*"Point",\s*"coordinates":\s*\[(-?\d+\.\d+),\s*(-?\d+\.\d+)\]', html)
    return np.array(found, dtype=float)


def test_gallery_is_offline_and_complete(gallery, run_dir):
    assert set(gallery) == set(RUN_PAGES) | {"index"}
    assert all(p.parent == run_dir / "maps" for p in gallery.values())
    for name in RUN_PAGES:
        html = gallery[name].read_text(encoding="utf-8")
        assert external_references(html) == []
        assert "L.map(" in html and not re.search(r'<script[^>]+src="http', html)
        assert gallery[name].stat().st_size < 2_500_000


def test_online_variant_references_the_cdn(run_dir):
    html = overview_map(run_dir).get_root().render()
    assert any(r.endswith("leaflet.js") for r in external_references(html))
    assert external_references(inline_assets(html)) == []


def test_maps_do_not_recompute(run_dir, tmp_path, monkeypatch):
    """Every analysis function is broken here: the gallery must still be written, from the run's files."""
    import twinstar_gis.model.traveltime as acc
    import twinstar_gis.analysis.overlay as ov
    import twinstar_gis.analysis.proximity as prox

    def boom(*a, **k):
        raise AssertionError("a renderer recomputed an analysis")

    for mod, names in ((prox, ["park_corridor_distances", "park_corridor_matrix"]),
                       (ov, ["area_overlaps", "length_inside", "buffer_m", "conflict_report"]),
                       (acc, ["accessibility", "compare_scenarios"])):
        for n in names:
            monkeypatch.setattr(mod, n, boom)
    paths = write_gallery(run_dir, out_dir=tmp_path / "maps", names=["distances", "conflicts", "accessibility"])
    assert {"distances", "conflicts", "accessibility", "index"} == set(paths)


def test_distance_labels_are_the_runs_values(run_dir, tmp_path):
    """A run whose distances were measured from park centroids shows those distances, not the default ones."""
    other = tmp_path / "run_centroid"
    shutil.copytree(run_dir, other)
    from twinstar_gis.data.dataset import load_dataset
    from twinstar_gis.run.outputs import write_distances

    write_distances(load_dataset(other / "data" / "twinstar.gpkg"), other / "analysis", measure_from="centroid")
    near_b = pd.read_csv(run_dir / "analysis/park_corridor_nearest.csv")
    near_c = pd.read_csv(other / "analysis/park_corridor_nearest.csv")
    hsr_b = near_b[near_b["class"] == "hsr_station"]["distance_km"].map("{:.1f} km".format)
    hsr_c = near_c[near_c["class"] == "hsr_station"]["distance_km"].map("{:.1f} km".format)
    only_c = set(hsr_c) - set(hsr_b)
    assert len(only_c) >= 5  # centroid distances differ from boundary distances for most parks
    html_c = distances_map(other).get_root().render()
    html_b = distances_map(run_dir).get_root().render()
    labels_c = set(re.findall(r'"t": "(\d+\.\d km)"', html_c))
    labels_b = set(re.findall(r'"t": "(\d+\.\d km)"', html_b))
    assert labels_c == set(hsr_c) and labels_b == set(hsr_b)
    assert "centroid" in html_c and "centroid" not in html_b


def test_isochrone_outline_is_the_runs(run_dir):
    """The drawn 60-min isochrones enclose the ellipsoidal area the run's isochrones.gpkg records."""
    html = access_map(run_dir).get_root().render()
    iso = gpd.read_file(run_dir / "access/isochrones.gpkg", layer="isochrones")
    for mins in (60.0, 120.0):
        drawn = [f for fc in _geojson_layers(html) for f in fc["features"]
                 if f["properties"].get("label", "").endswith(f" {mins:g} min")]
        assert len(drawn) == (iso["minutes"] == mins).sum()
        area = sum(abs(GEOD.geometry_area_perimeter(shapely.geometry.shape(f["geometry"]))[0]) for f in drawn) / 1e6
        # simplified at 0.002 deg for the web: within 1 % of the stored area
        assert area == pytest.approx(iso.loc[iso["minutes"] == mins, "area_km2"].sum(), rel=0.01)


def test_headline_figures_from_the_run_tables(run_dir):
    h = headline_figures(run_dir)
    tw = pd.read_csv(run_dir / "access/twin_city.csv").set_index("indicator")["value"]
    sp = pd.read_csv(run_dir / "access/scenario_places.csv")
    assert h["core_to_core_now"] == tw["core_to_core_fastest_min"]
    assert h["core_to_core_scenario"] == sp.loc[sp["kind"] == "city_core", "to_other_core_min_scenario"].min()
    assert h["core_to_core_scenario"] < h["core_to_core_now"]


def test_conflicts_show_the_runs_buffers(run_dir, tmp_path):
    """A run made with 2000-m river buffers shows 2000-m strips and stretches, the default run 500 m."""
    from twinstar_gis.data.dataset import load_dataset
    from twinstar_gis.analysis.overlay import ZONE_BUFFERS

    other = tmp_path / "run_wide"
    shutil.copytree(run_dir, other)
    write_overlap_outputs(load_dataset(other / "data" / "twinstar.gpkg"), other, zone_buffers={**ZONE_BUFFERS, "river": 2000})
    wide, default = conflicts_map(other).get_root().render(), conflicts_map(run_dir).get_root().render()
    assert "river 2000 m" in wide and "river 500 m" in default and "river 2000 m" not in default

    def strip_area(html):
        fcs = [fc for fc in _geojson_layers(html) if any(f["properties"].get("label", "").endswith(" + 2000 m")
                                                          or f["properties"].get("label", "").endswith(" + 500 m")
                                                          for f in fc["features"])]
        feats = [f for fc in fcs for f in fc["features"] if f["properties"]["label"].endswith(("+ 2000 m", "+ 500 m"))]
        return sum(abs(GEOD.geometry_area_perimeter(shapely.geometry.shape(f["geometry"]))[0]) for f in feats) / 1e6

    # the drawn river strips of the wide run are about four times the default ones (2000 m vs 500 m each side)
    assert 3.0 < strip_area(wide) / strip_area(default) < 4.5


def test_conflicts_without_buffer_layer_says_so(run_dir, tmp_path):
    other = tmp_path / "run_nobuf"
    shutil.copytree(run_dir, other)
    import pyogrio

    layers = {n: gpd.read_file(other / "analysis/overlap.gpkg", layer=n)
              for n, _ in pyogrio.list_layers(other / "analysis/overlap.gpkg") if n != "eco_buffers"}
    (other / "analysis/overlap.gpkg").unlink()
    for n, g in layers.items():
        pyogrio.write_dataframe(g, other / "analysis/overlap.gpkg", layer=n, driver="GPKG")
    html = conflicts_map(other).get_root().render()
    assert "eco_buffers layer not in this run" in html and "Ecological buffers" not in html
    assert "Ecological buffers" in conflicts_map(run_dir).get_root().render()


def test_not_a_run_folder(tmp_path):
    with pytest.raises(RunFolderError, match="run.json"):
        write_gallery(tmp_path)


def test_staged_run_with_manifest_in_hand(run_dir, tmp_path):
    """`twinstar run` writes run.json last: while staging it passes the manifest it is building."""
    staged = tmp_path / "out.staging-1"
    shutil.copytree(run_dir, staged)
    manifest = json.loads((staged / "run.json").read_text(encoding="utf-8"))
    (staged / "run.json").unlink()
    with pytest.raises(RunFolderError):
        write_gallery(staged, names=["overview"])
    paths = write_gallery(staged, names=["overview"], manifest=manifest)
    assert paths["overview"] == staged / "maps" / "overview.html" and paths["overview"].exists()


def test_amap_basemap_shifts_overlays_to_gcj02(run_dir):
    plain = _point_coords(overview_map(run_dir).get_root().render())
    shifted = _point_coords(overview_map(run_dir, basemap="amap").get_root().render())
    assert plain.shape == shifted.shape and len(plain) >= 22
    d = GEOD.inv(plain[:, 0], plain[:, 1], shifted[:, 0], shifted[:, 1])[2]
    # DATA_SOURCES.md: GCJ-02 is 460-640 m off WGS-84 in this region (coordinates rounded to 1e-4..1e-5 deg).
    assert 400 < np.median(d) < 700 and d.max() < 720


def test_tianditu_key_is_not_stored_unless_asked(run_dir):
    key = "0123456789abcdef0123456789abcdef"
    html = overview_map(run_dir, basemap="tianditu", tianditu_key=key).get_root().render()
    assert key not in html and "tk={tk}" in html
    assert key in overview_map(run_dir, basemap="tianditu", tianditu_key=key, store_key=True).get_root().render()


def test_simplified_counties_still_share_borders(ds):
    b = ds["boundaries"]
    counties = b[b["level"] == "county"]
    simp = _prepare(counties, simplify_deg=0.002, coverage=True, decimals=4)
    assert shapely.get_num_coordinates(simp.geometry.values).sum() < 0.25 * shapely.get_num_coordinates(counties.geometry.values).sum()
    ea = simp.to_crs(EQUAL_AREA_CRS)
    union = shapely.union_all(ea.geometry.values)
    assert (ea.area.sum() - union.area) / 1e6 < 1.0
    pref = shapely.union_all(b[b["level"] == "prefecture"].to_crs(EQUAL_AREA_CRS).geometry.values)
    assert abs(union.area - pref.area) / pref.area < 2e-3


def test_map_cli(run, run_dir, tmp_path):
    r = run("map", run_dir, "--out", tmp_path / "m")
    assert r.exit_code == 0, r.output
    assert "Map gallery:" in r.output and (tmp_path / "m" / "scenario.html").exists()
    r = run("map", tmp_path / "nowhere")
    assert r.exit_code == 2 and "not a folder" in r.output


# ---------------------------------------------------------------- real browser, offline
BROWSER = browser_available()
needs_browser = pytest.mark.skipif(BROWSER is not None, reason=f"no browser for map tests: {BROWSER}")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def _overlap(a, b, pad=0.0):
    return not (a["r"] <= b["l"] + pad or b["r"] <= a["l"] + pad or a["b"] <= b["t0"] + pad or b["b"] <= a["t0"] + pad)


@needs_browser
@pytest.mark.parametrize("name", RUN_PAGES)
def test_map_opens_offline_without_errors(browser, gallery, name):
    page, rec = load(browser, gallery[name])
    facts = page.evaluate("""() => ({
        paths: document.querySelectorAll('.leaflet-overlay-pane path').length,
        images: Array.from(document.querySelectorAll('.leaflet-image-layer')).map(i => i.complete && i.naturalWidth > 0),
        maps: window.__ts.maps.length, scale: !!document.querySelector('.leaflet-control-scale'),
        tools: !!document.querySelector('.ts-measure') && !!document.querySelector('.ts-fullscreen'),
        groups: Array.from(document.querySelectorAll('.ts-layers .ts-group')).map(g => g.textContent)})""")
    page.close()
    assert rec["errors"] == [] and rec["external"] == [] and rec["failed"] == []
    assert facts["paths"] > 20 and facts["images"] and all(facts["images"])
    assert facts["scale"] and facts["tools"] and "标注 Labels" in facts["groups"]
    assert facts["maps"] == (2 if name == "scenario" else 1)


@needs_browser
def test_labels_by_zoom_without_overlap(browser, gallery):
    page, _ = load(browser, gallery["overview"])
    labels = page.evaluate(VISIBLE_LABELS)
    texts = {b["t"] for b in labels}
    assert {"赤峰市", "通辽市", "赤峰中心城区", "通辽中心城区"} <= texts
    assert sum("ts-lbl-county" in b["c"] for b in labels) >= 8
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not _overlap(a, b), (a["t"], b["t"])
    assert not any("ts-lbl-seat" in b["c"] for b in labels)  # seats come in at zoom 8
    page.evaluate("() => window.__ts.maps[0].map.setView([42.27, 118.95], 9, {animate: false})")
    page.wait_for_timeout(200)
    zoomed = page.evaluate(VISIBLE_LABELS)
    assert any("ts-lbl-seat" in b["c"] or "ts-lbl-park" in b["c"] for b in zoomed)
    for i, a in enumerate(zoomed):
        for b in zoomed[i + 1:]:
            assert not _overlap(a, b), (a["t"], b["t"])
    page.click(".ts-lang")
    page.wait_for_timeout(100)
    english = {b["t"] for b in page.evaluate(VISIBLE_LABELS)}
    page.close()
    assert "Chifeng (city core)" in english or "Hongshan District" in english


@needs_browser
def test_legend_clear_of_region_and_collapsible(browser, gallery):
    page, _ = load(browser, gallery["overview"], width=1280, height=800)
    box = page.evaluate(REGION_AND_PANEL)
    reg, pan = box["region"], box["panel"]
    assert reg["l"] >= 0 and reg["t"] >= 0 and reg["b"] <= 800
    assert pan["l"] >= reg["r"]  # the panel sits beside the study area, not on it
    legend = page.evaluate("() => document.querySelector('.ts-legend').textContent")
    assert "Industrial parks" in legend and "高铁 High-speed rail" in legend
    # the legend follows its layer
    page.locator(".leaflet-control-layers-overlays label", has_text="Industrial parks").locator("input").click()
    hidden = page.evaluate("() => Array.from(document.querySelectorAll('.ts-block')).filter(b => b.style.display === 'none')"
                           ".map(b => b.textContent)")
    assert any("Industrial parks" in t for t in hidden)
    page.click(".ts-collapse")
    w = page.evaluate("() => document.querySelector('.ts-panel').getBoundingClientRect().width")
    body = page.evaluate("() => getComputedStyle(document.querySelector('.ts-body')).display")
    page.close()
    assert w < 80 and body == "none"
    small, _ = load(browser, gallery["overview"], width=600, height=700)
    assert small.evaluate("() => document.querySelector('.ts-panel').classList.contains('ts-collapsed')")
    small.close()


@needs_browser
def test_scenario_view_shows_both_states(browser, gallery, run_dir):
    page, rec = load(browser, gallery["scenario"], width=1280, height=800)
    banners = page.evaluate("() => Array.from(document.querySelectorAll('.ts-banner')).map(b => b.textContent)")
    h = headline_figures(run_dir)
    assert len(banners) == 2
    assert "Now" in banners[0] and f"{h['core_to_core_now']:.0f} min" in banners[0]
    assert "Scenario" in banners[1] and f"{h['core_to_core_scenario']:.0f} min" in banners[1]
    per_map = page.evaluate("""() => window.__ts.maps.map(s => ({
        images: s.map.getContainer().querySelectorAll('.leaflet-image-layer').length,
        paths: s.map.getContainer().querySelectorAll('.leaflet-overlay-pane path').length,
        left: s.map.getContainer().getBoundingClientRect().left}))""")
    assert [m["images"] for m in per_map] == [2, 2]  # terrain + travel-time surface on each side
    assert all(m["paths"] > 20 for m in per_map) and per_map[1]["left"] >= 600
    page.evaluate("() => window.__ts.maps[0].map.setView([43.0, 120.0], 8, {animate: false})")
    page.wait_for_timeout(100)
    other = page.evaluate("() => { const c = window.__ts.maps[1].map.getCenter(); return [c.lat, c.lng, window.__ts.maps[1].map.getZoom()]; }")
    page.close()
    assert other == pytest.approx([43.0, 120.0, 8], abs=1e-6)  # the two maps move together
    assert rec["errors"] == []


@needs_browser
def test_every_site_rank_and_the_largest_change_visible_at_1280x800(browser, gallery, run_dir):
    page, _ = load(browser, gallery["sites"], width=1280, height=800)
    ranks = page.evaluate("""() => Array.from(document.querySelectorAll('.ts-site-rank')).map(e => {
        const r = e.getBoundingClientRect(); return {t: e.textContent, w: r.width, x: r.left, y: r.top,
        shown: getComputedStyle(e).display !== 'none' && getComputedStyle(e).visibility !== 'hidden'}; })""")
    page.close()
    table = pd.read_csv(run_dir / "planning/sites.csv", encoding="utf-8-sig")
    assert sorted(int(r["t"]) for r in ranks) == sorted(table["site_rank"])
    assert all(r["shown"] and r["w"] > 0 and 0 <= r["x"] <= 1280 and 0 <= r["y"] <= 800 for r in ranks), ranks
    page, _ = load(browser, gallery["change"], width=1280, height=800)
    labels = page.evaluate(VISIBLE_LABELS)
    page.close()
    sc = pd.read_csv(run_dir / "access/scenario_counties.csv", encoding="utf-8-sig")
    top = sc.loc[sc["mean_min_change"].abs().idxmax(), "name_zh"]
    assert any(b["t"].startswith(top) for b in labels), top


@needs_browser
def test_change_map_labels_and_headline(browser, gallery, run_dir):
    page, _ = load(browser, gallery["change"])
    labels = page.evaluate(VISIBLE_LABELS)
    head = page.evaluate("() => document.querySelector('.ts-headline').textContent")
    measure = page.evaluate("() => window.__ts.vincenty({lat: 42.2559, lng: 118.88076}, {lat: 43.65052, lng: 122.23789})")
    page.close()
    sc = pd.read_csv(run_dir / "access/scenario_counties.csv")
    naiman = sc.loc[sc["name_zh"] == "奈曼旗", "mean_min_change"].item()
    assert any(b["t"].startswith("奈曼旗") and f"{abs(naiman):.0f} min" in b["t"] for b in labels)
    assert sum("ts-lbl-change" in b["c"] for b in labels) >= 12
    h = headline_figures(run_dir)
    assert f"{h['core_to_core_now']:.0f} → {h['core_to_core_scenario']:.0f} min" in head
    assert measure == pytest.approx(GEOD.inv(118.88076, 42.2559, 122.23789, 43.65052)[2], abs=0.01)


def test_symbol_system_separates_classes_and_analysis():
    """One symbol per corridor class; analysis overlays use colours no data layer uses."""
    from twinstar_gis.maps.style import ANALYSIS, CORRIDOR, DATA, STATUS_DASH, corridor_style
    from twinstar_gis.settings import CORRIDOR_CLASSES

    symbols = {(c["color"], c["width"], c["rail"]) for c in CORRIDOR.values()}
    assert len(symbols) == len(CORRIDOR_CLASSES)
    # the defect: rivers and national highways were both light blue
    assert CORRIDOR["national_highway"]["color"] != DATA["river"]["color"]
    data_colours = {c["color"].lower() for c in CORRIDOR.values()} | {d["color"].lower() for d in DATA.values()}
    for name in ("connector", "isochrone", "conflict"):
        assert ANALYSIS[name]["color"].lower() not in data_colours, name
    assert len(set(STATUS_DASH.values())) == 3
    assert corridor_style("high_speed_rail")["ties"] and not corridor_style("high_speed_rail", "planned")["ties"]
    with pytest.raises(KeyError):
        corridor_style("motorway")


def test_raster_colours_are_the_legend_classes(run_dir):
    """The travel-time image holds exactly the legend's class colours (no per-channel stretching)."""
    import base64
    import io

    from PIL import Image

    from twinstar_gis.maps.style import TIME_RAMP

    html = access_map(run_dir).get_root().render()
    urls = re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)', html)
    found = None
    for u in urls:
        with Image.open(io.BytesIO(base64.b64decode(u))) as im:
            px = np.asarray(im.convert("RGBA")).reshape(-1, 4)
        if (px[:, 3] == 200).any():  # the classed raster (alpha 200); the terrain is opaque
            found = {"#%02x%02x%02x" % tuple(p[:3]) for p in px[px[:, 3] > 0]}
    assert found is not None
    assert found <= set(TIME_RAMP) and len(found) >= 4, found


# ---------------------------------------------------------------- planning pages (issue #13)
PLANNING_PAGES = ("suitability", "sites", "linkage")


def _styled_layers(html):
    """Every folium GeoJson layer with a style function: [(features, {feature id: style})] from the page's JS."""
    out = []
    for name, body in re.findall(r"function (geo_json_\w+)_styler\(feature\) \{\s*switch\(feature\.id\) \{(.*?)\n\s*\}\n\s*\}",
                                 html, re.S):
        data = re.search(rf"{name}_add\((\{{.*?\}})\);", html, re.S)
        feats = json.loads(data.group(1))["features"]
        styles, pending, default = {}, [], None
        for kind, fid, st in re.findall(r'(case "([^"]*)":|default:)\s*(?:return (\{.*?\});)?', body, re.S):
            pending.append(fid if kind.startswith("case") else None)
            if st:
                for f in pending:
                    if f is None:
                        default = json.loads(st)
                    else:
                        styles[f] = json.loads(st)
                pending = []
        out.append((feats, {f["id"]: styles.get(f["id"], default) for f in feats}))
    return out


def test_planning_pages_are_offline_and_read_only_the_run(run_dir, tmp_path, monkeypatch):
    """Every planning analysis is broken here: the pages are still written, offline, from planning/ of the run."""
    import twinstar_gis.planning.linkage as lk
    import twinstar_gis.planning.sites as st
    import twinstar_gis.planning.suitability as su
    from twinstar_gis.planning import _times

    def boom(*a, **k):
        raise AssertionError("a renderer recomputed a planning analysis")

    for mod, names in ((su, ["construction_suitability", "hard_constraint_layers", "area_by_class", "class_polygons"]),
                       (st, ["find_sites", "select_top", "score_components", "sensitivity"]),
                       (lk, ["twin_city_linkage", "gravity_pairs", "flow_lines"]),
                       (_times, ["surfaces_for", "od_minutes"])):
        for n in names:
            monkeypatch.setattr(mod, n, boom)
    paths = write_gallery(run_dir, out_dir=tmp_path / "maps", names=list(PLANNING_PAGES))
    assert set(paths) == {*PLANNING_PAGES, "index"}
    for name in PLANNING_PAGES:
        html = paths[name].read_text(encoding="utf-8")
        assert external_references(html) == [] and "L.map(" in html
    assert all(f'href="{n}.html"' in paths["index"].read_text(encoding="utf-8") for n in PLANNING_PAGES)


def test_planning_pages_skipped_without_planning_outputs(run_dir, tmp_path, caplog):
    other = tmp_path / "run_noplan"
    shutil.copytree(run_dir, other, ignore=shutil.ignore_patterns("planning", "maps", "figures"))
    with caplog.at_level("INFO", logger="twinstar_gis.maps.gallery"):
        paths = write_gallery(other, names=["overview", *PLANNING_PAGES])
    assert set(paths) == {"overview", "index"}
    assert sum("no planning outputs" in r.getMessage() for r in caplog.records) == 3


def test_sites_page_ranks_scores_and_why_from_the_run(run_dir):
    """Each site is drawn where planning/sites.csv puts it, labelled with its rank and score, with its why text."""
    from twinstar_gis.maps.planning_pages import sites_map

    table = pd.read_csv(run_dir / "planning/sites.csv", encoding="utf-8-sig")
    html = sites_map(run_dir).get_root().render()
    labels = set(re.findall(r'"e": "(#\d+ \d\.\d{3})', html))
    assert labels == {f"#{r} {s:.3f}" for r, s in zip(table["site_rank"], table["score"])}
    # every site carries its rank in a numbered marker (never hidden by the label engine)
    ranks = sorted(int(x) for x in re.findall(r'box-shadow:0 0 2px #000\\"\\u003e(\d+)\\u003c/div', html))
    assert ranks == sorted(table["site_rank"])
    polys = [f for fc in _geojson_layers(html) for f in fc["features"]
             if f["geometry"]["type"] == "Polygon" and "why" in f["properties"]]
    assert len(polys) == len(table)
    for f in polys:
        row = table[table["site_rank"] == int(f["properties"]["rank_label"].lstrip("#"))].iloc[0]
        p = f["properties"]
        assert p["why"] == row["why"] and p["score"] == pytest.approx(row["score"], abs=5e-4)
        for k in ("balance", "hsr", "expressway", "suitability", "park_distance"):  # every component, as written
            assert p[f"explain_{k}"].endswith(f"→ {row[f'{k}_component']:.3f} → +{row[f'{k}_points']:.3f}"), k
        # the polygon labelled #r is the site of rank r: its ellipsoidal area and centre are the table's
        shape = shapely.geometry.shape(f["geometry"])
        assert abs(GEOD.geometry_area_perimeter(shape)[0]) / 1e6 == pytest.approx(row["area_km2"], rel=0.01)
        assert GEOD.inv(shape.centroid.x, shape.centroid.y, row["lon"], row["lat"])[2] < 200
    top = table.loc[table["site_rank"] == 1].iloc[0]
    head = re.search(r'"headline": "(.*?)", "banner"', html).group(1)
    assert top["counties"] in head and f"{top['score']:.3f}" in head and f"{top['worse_core_min']:.0f} min" in head
    # every site's why text is in the page's table too
    assert all(html.count(w) >= 2 for w in table["why"])  # polygon properties and the panel table


def test_gallery_index_names_no_machine_path_and_no_staging_folder(run_dir, tmp_path):
    staged = tmp_path / "out.staging-123-456"
    shutil.copytree(run_dir, staged)
    manifest = json.loads((staged / "run.json").read_text(encoding="utf-8"))
    (staged / "run.json").unlink()
    page = write_gallery(staged, names=["overview"], manifest=manifest)["index"].read_text(encoding="utf-8")
    assert "staging" not in page and str(tmp_path) not in page and str(run_dir) not in page
    assert manifest["started"] in page


def test_distances_page_names_every_park(run_dir):
    html = distances_map(run_dir).get_root().render()
    parks = gpd.read_file(run_dir / "data/twinstar.gpkg", layer="parks")
    near = pd.read_csv(run_dir / "analysis/park_corridor_nearest.csv", encoding="utf-8-sig")
    hsr = near[near["class"] == "hsr_station"].set_index("park_name_zh")
    # the panel's table travels in the page's script as JSON that cannot close its <script> (< > & escaped)
    shown = html.replace('\\"', '"').replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")
    for name in parks["name_zh"]:  # every park in the panel's table, with its station and distance
        assert f"<td>{name}</td><td>{hsr.loc[name, 'target_name_zh']}</td>" in shown, name
    park_labels = re.findall(r'"t": "([^"]+)", "e": "[^"]*", "x": [-\d.]+, "y": [-\d.]+, "c": "park", "p": \d+, "z": 0\.0', html)
    assert sorted(park_labels) == sorted(parks["name_zh"])  # labels from the first zoom (hidden only where they clash)


def test_change_labels_rank_the_largest_change_first(run_dir):
    from twinstar_gis.maps.gallery import change_map

    html = change_map(run_dir).get_root().render()
    labels = re.findall(r'"t": "([^"]+ min)", "e": "[^"]*", "x": [-\d.]+, "y": [-\d.]+, "c": "change", "p": (\d+)', html)
    sc = pd.read_csv(run_dir / "access/scenario_counties.csv", encoding="utf-8-sig")
    top = sc.loc[sc["mean_min_change"].abs().idxmax(), "name_zh"]
    best = max(labels, key=lambda t: int(t[1]))
    assert best[0].startswith(top) and len({p for _, p in labels}) == len(labels)  # strictly ordered


def test_a_run_without_scenario_draws_today_only(run_dir, tmp_path):
    from twinstar_gis.maps.planning_pages import linkage_map

    other = tmp_path / "run_noscen"
    shutil.copytree(run_dir, other)
    m = json.loads((other / "run.json").read_text(encoding="utf-8"))
    m["settings"]["access"]["scenario"] = "none"
    (other / "run.json").write_text(json.dumps(m), encoding="utf-8")
    html = linkage_map(other).get_root().render()
    assert "Linkage with the scenario" not in html and "no scenario in this run" in html
    assert "Linkage with the scenario" in linkage_map(run_dir).get_root().render()


def test_linkage_page_one_line_per_flow_width_monotone_in_strength(run_dir):
    from twinstar_gis.maps.planning_pages import linkage_map
    from twinstar_gis.maps.style import LINKAGE

    flows = gpd.read_file(run_dir / "planning/linkage.gpkg", layer="linkage_flows")
    summ = pd.read_csv(run_dir / "planning/linkage_summary.csv", encoding="utf-8-sig").set_index("indicator")
    html = linkage_map(run_dir).get_root().render()
    layers = [(feats, st) for feats, st in _styled_layers(html) if feats and "width_px" in feats[0]["properties"]]
    assert len(layers) == 2  # today, scenario
    expected_pairs = sorted(flows["name_i"] + " – " + flows["name_j"])
    by_pair = {}
    for (feats, styles), col in zip(layers, ("strength", "strength_scenario")):
        assert sorted(f["properties"]["pair"] for f in feats) == expected_pairs
        ref = flows.set_index(flows["name_i"] + " – " + flows["name_j"])[col]
        s = np.array([ref[f["properties"]["pair"]] for f in feats])
        w = np.array([styles[f["id"]]["weight"] for f in feats])
        order = np.argsort(s, kind="stable")
        assert np.all(np.diff(w[order]) >= 0) and w[order][-1] > 5 * w[order][0]
        cross = np.array([styles[f["id"]]["color"] == LINKAGE["cross_city"] for f in feats])
        assert cross.sum() == flows["cross_city"].sum() and cross.any() and not cross.all()
        by_pair[col] = dict(zip((f["properties"]["pair"] for f in feats), w))
    # one scale for both states: the pair that gains most is drawn wider in the scenario
    gain = flows.loc[flows["strength_scenario"].sub(flows["strength"]).idxmax()]
    key = f"{gain['name_i']} – {gain['name_j']}"
    assert by_pair["strength_scenario"][key] > by_pair["strength"][key]
    # the widest line is the strongest pair of either state, at the style's maximum width
    assert max(max(v.values()) for v in by_pair.values()) == pytest.approx(LINKAGE["max_width"], abs=0.01)
    base, scen = summ.loc["cross_city_share_of_all_linkage", ["base", "scenario"]]
    assert f"{100 * base:.1f}% → {100 * scen:.1f}%" in html


def test_suitability_page_draws_the_class_raster(run_dir):
    """The image holds exactly the three class colours; the headline areas are the county table's sums."""
    import base64
    import io

    from PIL import Image

    from twinstar_gis.maps.planning_pages import suitability_map
    from twinstar_gis.maps.style import SUITABILITY

    html = suitability_map(run_dir).get_root().render()
    found = None
    for u in re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)', html):
        with Image.open(io.BytesIO(base64.b64decode(u))) as im:
            px = np.asarray(im.convert("RGBA")).reshape(-1, 4)
        if (px[:, 3] == 200).any():
            found = {"#%02x%02x%02x" % tuple(p[:3]) for p in px[px[:, 3] > 0]}
    assert found == {c for c, _ in SUITABILITY.values()}
    by = pd.read_csv(run_dir / "planning/suitability_by_county.csv", encoding="utf-8-sig")
    assert f"{by['area_km2_suitable'].sum():,.0f} km²" in html
    assert "Hard constraint: 自然保护区 Nature reserves" in html and "rivers ± 500 m" in html


def test_minor_roads_left_out_of_maps_only_above_the_limit():
    from twinstar_gis.maps._run import MINOR_ROAD_LIMIT, drop_minor_roads

    line = shapely.LineString([(120.0, 43.0), (120.1, 43.0)])
    at_limit = gpd.GeoDataFrame({"class": ["local_road"] * MINOR_ROAD_LIMIT + ["expressway", "railway"]},
                                geometry=[line] * (MINOR_ROAD_LIMIT + 2), crs=4326)
    kept, note = drop_minor_roads(at_limit, "class")
    assert note is None and len(kept) == MINOR_ROAD_LIMIT + 2
    over = pd.concat([at_limit, at_limit.iloc[:1].assign(**{"class": "ramp"})], ignore_index=True)
    kept, note = drop_minor_roads(over, "class")
    assert sorted(kept["class"]) == ["expressway", "railway"]
    assert f"{MINOR_ROAD_LIMIT + 1:,} features" in note
    assert drop_minor_roads(over, "line_class") == (over, None)  # no such column: drawn as given
