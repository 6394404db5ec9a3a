"""Open a generated map in headless Chromium, offline, and report what happened (test helper)."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def browser_available() -> str | None:
    """None if a browser can be driven, else the reason."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not Path(CHROMIUM).exists():
        return "chromium is not installed (apt-get install -y chromium)"
    return None


def launch(playwright):
    """One headless Chromium for a whole test module (pages are cheap, launches are not)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)


def load(browser, path, *, width=1280, height=800, timeout_ms=20000):
    """Open ``path`` offline in a new page; return (page, record) with console errors and blocked requests.

    Resolves when every map on the page says it is ready (``window.__ts.ready``).
    """
    rec = {"errors": [], "external": [], "failed": []}
    page = browser.new_page(viewport={"width": width, "height": height})
    page.on("console", lambda msg: rec["errors"].append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: rec["errors"].append(str(exc)))
    page.on("requestfailed", lambda req: rec["failed"].append(req.url))

    def route(r):
        if r.request.url.startswith(("file:", "data:", "blob:")):
            r.continue_()
        else:
            rec["external"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(Path(path).resolve().as_uri())
    page.wait_for_function("window.__ts && window.__ts.ready === true", timeout=timeout_ms)
    page.wait_for_timeout(200)
    return page, rec


#: JS: boxes (client px) of the label spans shown now, with their text.
VISIBLE_LABELS = """(root) => Array.from((root || document).querySelectorAll('.ts-lbl'))
  .filter(el => el.style.display !== 'none')
  .map(el => { const r = el.firstChild.getBoundingClientRect();
               return {t: el.firstChild.textContent, c: el.className, l: r.left, r: r.right, t0: r.top, b: r.bottom}; })
  .filter(b => b.r > b.l)"""

#: JS: pixel box of the first map's study-area bounds and of its side panel.
REGION_AND_PANEL = """() => { const s = window.__ts.maps[0], m = s.map, b = L.latLngBounds(s.bounds);
  const c = m.getContainer().getBoundingClientRect();
  const nw = m.latLngToContainerPoint(b.getNorthWest()), se = m.latLngToContainerPoint(b.getSouthEast());
  const p = m.getContainer().querySelector('.ts-panel').getBoundingClientRect();
  return {region: {l: c.left + nw.x, t: c.top + nw.y, r: c.left + se.x, b: c.top + se.y},
          panel: {l: p.left, t: p.top, r: p.right, b: p.bottom}}; }"""
