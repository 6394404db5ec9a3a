"""The main job in one call: build the data, run every analysis, write the maps.

``twinstar run`` calls :func:`run_all`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .dataset import GPKG_NAME, build_dataset, load_dataset
from .maps import write_gallery
from .outputs import write_access, write_distances, write_indicators, write_overlap

__all__ = ["run_all", "STEPS"]

log = logging.getLogger(__name__)
STEPS = ("data", "distances", "overlap", "indicators", "access", "maps", "brief")


def run_all(out_dir="twinstar_output", *, dem=None, project=None, resolution: float = 1000.0, offline: bool = True,
            basemap: str = "hillshade", tianditu_key=None, store_key=False, on_step=None) -> dict:
    """Build (or, with ``project``, load) the data, run distances, overlap, indicators and accessibility,
    write the map gallery and the planning brief.

    Returns
    -------
    dict
        Step name -> list of files written; ``"gallery"`` -> the gallery's index page.

    Examples
    --------
    >>> import tempfile
    >>> written = run_all(tempfile.mkdtemp(), resolution=4000)
    >>> sorted(written)
    ['access', 'brief', 'data', 'distances', 'gallery', 'indicators', 'maps', 'overlap']
    >>> written["gallery"].name
    'index.html'
    """
    out = Path(out_dir)
    step = on_step or (lambda s: None)
    written = {}
    step("data")
    if project is None:
        gpkg, _ = build_dataset(out / "data", dem=dem)
        written["data"] = [gpkg, out / "data" / "twinstar_dem.tif"]
        ds = load_dataset(gpkg)
    else:
        base = out / "data" / GPKG_NAME
        if not base.exists():
            build_dataset(out / "data", dem=dem)
        ds = load_dataset(base, project=project)
        from .validate import validate_dataset

        _, report = validate_dataset(ds.layers)
        report.raise_if_failed()
        written["data"] = [Path(project)]
    step("distances")
    written["distances"], near = write_distances(ds, out / "analysis")
    step("overlap")
    written["overlap"], _ = write_overlap(ds, out / "analysis")
    step("indicators")
    written["indicators"], _ = write_indicators(ds, out / "analysis")
    step("access")
    written["access"], base_res, scen_res, _ = write_access(ds, out / "access", resolution=resolution)
    step("maps")
    gallery = write_gallery(ds, out / "maps", offline=offline, basemap=basemap, tianditu_key=tianditu_key,
                            store_key=store_key, near=near, base=base_res, scen=scen_res)
    written["maps"] = list(gallery.values())
    written["gallery"] = gallery["index"]
    step("brief")
    from .report import write_brief

    written["brief"] = [write_brief(out)]
    return written
