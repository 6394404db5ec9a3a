"""Benchmark: the overview map's size and load time against geopandas' explore() of the same layers.

Both pages are opened in headless Chromium with every network request blocked.
explore() loads Leaflet, jQuery, Bootstrap and Font Awesome from CDNs; for a
fair offline comparison its Leaflet is inlined the same way as ours and its
other CDN tags are removed (they only style widgets).  Load time = from
navigation start until the overlay pane has drawn all its paths (median of 5).

    python benchmarks/bench_maps.py [--run twinstar_output]

The overview map renders a run folder (``twinstar run``); without ``--run`` one is
built at 4000 m in a temporary folder (tests/_runfolder.py).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser import CHROMIUM, FLAGS  # noqa: E402

from _runfolder import build_run_folder  # noqa: E402

from twinstar_gis.data.dataset import load_dataset  # noqa: E402
from twinstar_gis.maps import overview_map, save_map  # noqa: E402
from twinstar_gis.maps._offline import inline_assets  # noqa: E402


def explore_page(ds, path):
    m = None
    for kind in ("eco_zones", "rivers", "boundaries", "places", "parks", "corridors", "nodes"):
        m = ds[kind].explore(m=m, name=kind, tiles=None) if m is not None else ds[kind].explore(name=kind, tiles=None)
    html = inline_assets(m.get_root().render())
    html = re.sub(r'<script\s+src="https?://[^"]+"\s*>\s*</script>', "", html)
    html = re.sub(r'<link\s+rel="stylesheet"\s+href="https?://[^"]+"\s*/?>', "", html)
    Path(path).write_text(html, encoding="utf-8")


def load_times(path, runs=5):
    from playwright.sync_api import sync_playwright

    times, errors = [], []
    with sync_playwright() as p:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as prof:
                ctx = p.chromium.launch_persistent_context(prof, executable_path=CHROMIUM, args=FLAGS, headless=True,
                                                           viewport={"width": 1280, "height": 860})
                page = ctx.new_page()
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:", "blob:")) else r.abort())
                t = time.perf_counter()
                page.goto(Path(path).resolve().as_uri(), wait_until="load")
                page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length > 20")
                page.wait_for_timeout(50)
                times.append(time.perf_counter() - t - 0.05)
                ctx.close()
    return statistics.median(times), sorted(set(errors))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run")
    args = ap.parse_args()
    run = Path(args.run) if args.run else build_run_folder(tempfile.mkdtemp(), resolution=4000)
    ds = load_dataset(run / "data" / "twinstar.gpkg")
    out = Path(tempfile.mkdtemp())
    ours = out / "overview.html"
    save_map(overview_map(run), ours, offline=True)
    theirs = out / "explore.html"
    explore_page(ds, theirs)
    for label, p in (("twinstar overview (offline)", ours), ("geopandas explore(), same layers", theirs)):
        t, err = load_times(p)
        print(f"{label:36s} {p.stat().st_size / 1024:8.0f} KiB   load {t:.2f} s   page errors: {len(err)}")


if __name__ == "__main__":
    main()
