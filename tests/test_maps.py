"""Maps: self-contained HTML, GCJ-02 shift for Amap tiles, key handling, topology; real-browser checks offline."""

import re

import numpy as np
import pytest
import shapely
from pyproj import Geod

from twinstar_gis.crs import EQUAL_AREA_CRS
from twinstar_gis.maps import GALLERY, overview_map, write_gallery
from twinstar_gis.maps._offline import external_references, inline_assets
from twinstar_gis.maps.core import _prepare

from .browser import browser_available, open_map

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def gallery(ds, tmp_path_factory):
    out = tmp_path_factory.mktemp("maps")
    return write_gallery(ds, out)


def _point_coords(html):
    """Coordinates of the point features (seats, stations, ...) embedded in a folium page."""
    found = re.findall(r'"coordinates":\s*\[(-?\d+\.\d+),\s*(-?\d+\.\d+)\],\s*"type":\s*"Point"', html)
    found += re.findall(r'"type":\s*"Point",\s*"coordinates":\s*\[(-?\d+\.\d+),\s*(-?\d+\.\d+)\]', html)
    return np.array(found, dtype=float)


def test_offline_html_requests_nothing(gallery):
    assert set(gallery) == set(GALLERY) | {"index"}
    for name in GALLERY:
        html = gallery[name].read_text(encoding="utf-8")
        assert external_references(html) == []
        assert "L.map(" in html and "leaflet" in html.lower()
        assert not re.search(r'<script[^>]+src="http', html)
        assert gallery[name].stat().st_size < 2_500_000


def test_online_variant_references_the_cdn(ds, tmp_path):
    m = overview_map(ds)
    html = m.get_root().render()
    refs = external_references(html)
    assert any(r.endswith("leaflet.js") for r in refs)
    assert external_references(inline_assets(html)) == []


def test_amap_basemap_shifts_overlays_to_gcj02(ds):
    plain = _point_coords(overview_map(ds).get_root().render())
    shifted = _point_coords(overview_map(ds, basemap="amap").get_root().render())
    assert plain.shape == shifted.shape and len(plain) >= 22
    d = GEOD.inv(plain[:, 0], plain[:, 1], shifted[:, 0], shifted[:, 1])[2]
    # DATA_SOURCES.md: GCJ-02 is 460-640 m off WGS-84 in this region (coordinates rounded to 1e-4..1e-5 deg).
    assert 400 < np.median(d) < 700 and d.max() < 720


def test_tianditu_key_is_not_stored_unless_asked(ds):
    key = "0123456789abcdef0123456789abcdef"
    html = overview_map(ds, basemap="tianditu", tianditu_key=key).get_root().render()
    assert key not in html and "tk={tk}" in html
    stored = overview_map(ds, basemap="tianditu", tianditu_key=key, store_key=True).get_root().render()
    assert key in stored


def test_simplified_counties_still_share_borders(ds):
    b = ds["boundaries"]
    counties = b[b["level"] == "county"]
    simp = _prepare(counties, simplify_deg=0.002, coverage=True, decimals=4)
    # 0.002 deg (~200 m) keeps about a fifth of the vertices
    assert shapely.get_num_coordinates(simp.geometry.values).sum() < 0.25 * shapely.get_num_coordinates(counties.geometry.values).sum()
    ea = simp.to_crs(EQUAL_AREA_CRS)
    union = shapely.union_all(ea.geometry.values)
    overlap_km2 = (ea.area.sum() - union.area) / 1e6
    assert overlap_km2 < 1.0  # no overlaps between neighbours after simplification
    pref = shapely.union_all(b[b["level"] == "prefecture"].to_crs(EQUAL_AREA_CRS).geometry.values)
    assert abs(union.area - pref.area) / pref.area < 2e-3


BROWSER = browser_available()


@pytest.mark.skipif(BROWSER is not None, reason=f"no browser for map tests: {BROWSER}")
@pytest.mark.parametrize("name,toggle,expected", [
    ("overview", "Industrial parks", ["Counties", "Industrial parks", "High-speed rail", "Nature reserves", "Horqin sandy land",
                                      "West Liao rivers", "Planned corridors", "Airports"]),
    ("distances", "Industrial parks", ["nearest 高铁站 HSR station", "nearest 高速公路 expressway", "Industrial parks", "Labels"]),
    ("conflicts", "Industrial parks", ["Park overlaps", "Corridor stretches in zones", "Riparian strip"]),
    ("accessibility", "County travel times", ["Time to nearest core", "Isochrone 60 min", "Isochrone 120 min", "County travel times"]),
    ("scenario", "Change in mean time", ["Change in mean time per county", "2-hour circle"]),
])
def test_map_in_a_real_browser_offline(gallery, tmp_path, name, toggle, expected):
    shot = tmp_path / f"{name}.png"
    facts = open_map(gallery[name], shot, toggle=toggle)
    assert facts["errors"] == [], facts["errors"]
    assert facts["external"] == [] and facts["failed"] == []
    for label in expected:
        assert any(label in o for o in facts["overlays"]), (label, facts["overlays"])
    assert facts["groups"] and facts["scale"] and facts["measure"] and facts["fullscreen"]
    assert facts["paths"] > 20
    assert all(facts["images"])  # terrain / raster overlays decoded
    on, off, back = facts["legend_toggle"]
    assert off == on - 1 and back == on  # the legend hides and shows with its layer
    # The measure tool's Vincenty distance equals pyproj.Geod's.
    assert facts["vincenty_m"] == pytest.approx(GEOD.inv(118.88076, 42.2559, 122.23789, 43.65052)[2], abs=0.01)
    assert shot.stat().st_size > 40_000  # a drawn map, not a blank page


def test_map_cli_and_run(run, tmp_path):
    r = run("data", "build")
    r = run("map", "--offline")
    assert r.exit_code == 0, r.output
    assert "Map gallery:" in r.output and (tmp_path / "twinstar_output/maps/index.html").exists()
    r = run("map", "--project", __import__("pathlib").Path(__file__).resolve().parents[1] / "data/examples/project.toml",
            "--out", tmp_path / "pmaps")
    assert r.exit_code == 0, r.output
    assert "X01" in (tmp_path / "pmaps" / "overview.html").read_text(encoding="utf-8")
