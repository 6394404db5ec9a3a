"""Nothing a data file says is ever run: hostile names in every map page, formulas in every CSV (issue 18).

A run is made from a project whose boundaries, places, parks, corridors, stations, reserves and
rivers carry names built to break out of HTML text, attributes and ``<script>`` (and park ids
built to be spreadsheet formulas).  Every page of its gallery and its brief is opened in headless
Chromium: a dialog or a page error fails the test.  Every CSV of the run is read back with the
``csv`` module: no text cell may start a formula.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from twinstar_gis.cli import cli
from twinstar_gis.data.dataset import build_layers
from twinstar_gis.maps._controls import safe_html, script_json
from twinstar_gis.maps._offline import markup_problems

from .browser import browser_available, launch

HOSTILE = ["</script><script>alert(1)</script>", "<img src=x onerror=alert(2)>", "\"'><svg onload=alert(3)>",
           "行\u2028分\u2029隔<!--<script>alert(4)//", "<a href=javascript:alert(5)>x</a>", "&lt;b onmouseover=alert(6)&gt;"]
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"点击\")", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "-27_-63",
            "\t=1+1", "\r=1+1"]
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _hostile_layers():
    layers = build_layers()
    n = len(HOSTILE)
    for kind, g in layers.items():
        for col in ("name_zh", "name_en"):
            if col in g:
                g[col] = [f"{HOSTILE[i % n]}{v}" if i % 2 == 0 else f"{v}{HOSTILE[(i + 3) % n]}"
                          for i, v in enumerate(g[col].astype(str))]
    parks = layers["parks"]
    parks["level"] = [HOSTILE[i % n] for i in range(len(parks))]
    parks["park_id"] = [FORMULAS[i] if i < len(FORMULAS) else pid for i, pid in enumerate(parks["park_id"])]
    return layers


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    layers = _hostile_layers()
    for kind, g in layers.items():
        g.to_file(d / "hostile.gpkg", layer=kind)
    (d / "hostile.toml").write_text('name = "<script>alert(9)</script>院项目"\nbase = "embedded"\n' + "".join(
        f'[layers.{k}]\npath = "hostile.gpkg"\nlayer = "{k}"\n' for k in layers), encoding="utf-8")
    r = CliRunner().invoke(cli, ["-q", "run", "--project", str(d / "hostile.toml"), "--resolution", "8000",
                                 "--out", str(d / "run")])
    assert r.exit_code == 0, r.output
    return d / "run"


# --------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------

def test_no_page_of_a_hostile_run_runs_anything(hostile_run):
    why = browser_available()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    pages = sorted((hostile_run / "maps").glob("*.html")) + [hostile_run / "brief.html"]
    assert len(pages) >= 10
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            for path in pages:
                _open_and_poke(browser, path)
        finally:
            browser.close()


def _open_and_poke(browser, path: Path):
    rec = {"dialogs": [], "errors": []}
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.on("dialog", lambda d: (rec["dialogs"].append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: rec["errors"].append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:", "blob:")) else r.abort())
    page.goto(path.resolve().as_uri())
    if path.parent.name == "maps" and path.name != "index.html":
        page.wait_for_function("window.__ts && window.__ts.ready === true", timeout=30000)
        shown = page.evaluate("document.body.innerText")
        assert "<img src=x onerror=alert(2)>" in shown or "</script><script>alert(1)</script>" in shown, path.name
        # hover and click everything that opens a tooltip or popup, and the panel's buttons (English labels)
        n = page.evaluate(_POKE)
        assert n > 10, path.name
        page.wait_for_timeout(300)
        n = page.evaluate(_POKE)  # again in English, popups closed and reopened
    page.wait_for_timeout(300)
    page.close()
    assert rec == {"dialogs": [], "errors": []}, (path.name, rec)


#: JS: mouse over, move and click on every interactive element of every map; returns how many.
_POKE = """() => { const els = document.querySelectorAll(
      'path.leaflet-interactive, .leaflet-marker-icon, .leaflet-interactive, .ts-lang, .ts-collapse');
  for (const el of els) {
    for (const t of ['mouseover', 'mousemove', 'click', 'mouseout']) {
      const r = el.getBoundingClientRect();
      el.dispatchEvent(new MouseEvent(t, {bubbles: true, cancelable: true, view: window,
                                         clientX: r.left + r.width / 2, clientY: r.top + r.height / 2}));
    }
  }
  return els.length; }"""


def test_page_texts_keep_what_the_data_said():
    # the text is shown, not dropped: every character of a hostile name survives as text
    assert safe_html("<img src=x onerror=alert(2)>") == "&lt;img src=x onerror=alert(2)&gt;"
    assert safe_html("a <b>b</b> <script>alert(1)</script>") == "a <b>b</b> &lt;script&gt;alert(1)&lt;/script&gt;"
    assert safe_html('<svg width="28"><line x1="1" stroke="#fff" onload="x()"/></svg>') == \
        '<svg width="28"><line x1="1" stroke="#fff"/></svg>'
    assert safe_html('<span style="background:url(http://x)">a</span>') == "<span>a</span>"
    assert safe_html("<table><tr><td>open") == "<table><tr><td>open</td></tr></table>"
    assert safe_html("&amp; &lt;") == "&amp; &lt;"
    js = script_json({"t": "</script><!--\u2028\u2029&"})
    assert "</" not in js and "<!--" not in js and "\u2028" not in js and "\u2029" not in js and "&" not in js


def test_a_page_with_markup_from_data_is_not_written(tmp_path):
    import folium
    from branca.element import Element

    from twinstar_gis.errors import TwinstarError
    from twinstar_gis.maps.core import save_map

    m = folium.Map(tiles=None)
    m.get_root().html.add_child(Element("<div><img src=x onerror=alert(1)></div>"))
    with pytest.raises(TwinstarError, match="event handler onerror"):
        save_map(m, tmp_path / "x.html", offline=False)
    assert not (tmp_path / "x.html").exists()
    assert markup_problems('<a href=" javascript:alert(1)">x</a>') == ["a script link href= on <a>"]


def test_every_map_page_has_no_event_handler_in_its_markup(hostile_run):
    for path in sorted((hostile_run / "maps").glob("*.html")):
        assert markup_problems(path.read_text(encoding="utf-8")) == [], path.name


# --------------------------------------------------------------------------
# CSV: formulas neutralised, ids readable, numbers numbers
# --------------------------------------------------------------------------

def _cells(path: Path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        yield from (c for row in csv.reader(f) for c in row)


def test_no_csv_of_a_hostile_run_starts_a_formula(hostile_run):
    files = sorted(hostile_run.rglob("*.csv"))
    assert len(files) >= 20
    seen_ids, negatives = set(), 0
    for path in files:
        for cell in _cells(path):
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                assert _NUMBER.fullmatch(cell), (path.name, cell)  # a number may be negative; nothing else starts so
                negatives += cell.startswith("-")
            if cell.startswith("'"):
                seen_ids.add(cell)
    # the formula ids are there, readable, behind one apostrophe
    for fid in FORMULAS:
        assert "'" + fid in seen_ids, fid
    assert negatives > 0  # negative numbers (scenario changes) are written as numbers, unprefixed


def test_neutralised_cells_read_back_exactly(hostile_run):
    from twinstar_gis.data.io import read_csv_table

    table = read_csv_table(hostile_run / "analysis" / "park_indicators.csv")
    assert set(FORMULAS) <= set(table["park_id"])
