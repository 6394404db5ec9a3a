"""Build a run folder in the layout of contracts.md ("The run folder") from today's library functions.

Test and dev helper only (the real one is written by ``twinstar run``).  The
renderers under test read this folder and nothing else.

    python tests/_runfolder.py OUT [--resolution 4000]
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import pandas as pd

from twinstar_gis.data.dataset import DEM_NAME, GPKG_NAME, build_dataset, load_dataset
from twinstar_gis.data.io import write_gpkg
from twinstar_gis.run.outputs import write_access, write_distances, write_indicators, write_overlap
from twinstar_gis.analysis.overlay import ZONE_BUFFERS, buffer_m
from twinstar_gis.settings import Settings


def _eco_buffers(ds, buffers) -> gpd.GeoDataFrame:
    """The buffered ecological zones the overlap step used (reserves and rivers)."""
    eco, rivers = ds["eco_zones"], ds["rivers"]
    parts = []
    for kind, src, id_col in (("nature_reserve", eco[eco["kind"] == "nature_reserve"], "zone_id"), ("river", rivers, "river_id")):
        m = buffers.get(kind, 0)
        if m and len(src):
            parts.append(gpd.GeoDataFrame({"zone_id": src[id_col].values, "name_zh": src["name_zh"].values, "kind": kind,
                                           "buffer_m": float(m)}, geometry=buffer_m(src, m).values, crs=4326))
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)


def write_overlap_outputs(ds, out, *, zone_buffers=None):
    """analysis/ overlap files of the contract, with the ``eco_buffers`` layer today's writer lacks."""
    buffers = ZONE_BUFFERS if zone_buffers is None else zone_buffers
    _, ov = write_overlap(ds, Path(out) / "analysis", zone_buffers=buffers)
    layers = {"park_eco_overlaps": ov["park_eco"], "corridor_eco_stretches": ov["corridor_eco"],
              "county_borders": ov["adjacency"], "eco_buffers": _eco_buffers(ds, buffers)}
    write_gpkg(Path(out) / "analysis" / "overlap.gpkg", layers)


def build_run_folder(out, *, resolution: float = 4000.0, distances_kw: dict | None = None, zone_buffers=None,
                     data_from: Path | None = None) -> Path:
    """Write data/, analysis/, access/ and run.json into ``out``; return ``out``.

    ``data_from`` is a folder with an already built dataset (saves the build).
    """
    out = Path(out)
    (out / "data").mkdir(parents=True, exist_ok=True)
    if data_from is None:
        build_dataset(out / "data")
    else:
        shutil.copy(Path(data_from) / GPKG_NAME, out / "data" / GPKG_NAME)
        shutil.copy(Path(data_from) / DEM_NAME, out / "data" / DEM_NAME)
    (out / "data" / GPKG_NAME).rename(out / "data" / "twinstar.gpkg")
    ds = load_dataset(out / "data" / "twinstar.gpkg")
    write_distances(ds, out / "analysis", **(distances_kw or {}))
    write_overlap_outputs(ds, out, zone_buffers=zone_buffers)
    write_indicators(ds, out / "analysis")
    write_access(ds, out / "access", resolution=resolution)
    for tif in (out / "access").glob("*_*m.tif"):
        stem = tif.stem.rsplit("_", 1)[0]
        tif.rename(tif.with_name(stem + ".tif"))
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    manifest = {"schema": 1, "tool": "twinstar_gis", "version": "test", "command": ["twinstar", "run"], "project": None,
                "dataset": "data/twinstar.gpkg", "dem": "data/twinstar_dem.tif", "inputs": [],
                "settings": Settings().to_dict(), "started": now, "finished": now,
                "steps": ["data", "distances", "overlap", "indicators", "access"], "outputs": {}}
    (out / "run.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return out


def add_planning_outputs(out, *, resolution: float = 8000.0) -> Path:
    """planning/ of the contract (suitability, sites, linkage) from the run's own layers, at a coarse grid."""
    from twinstar_gis.planning.outputs import write_planning

    out = Path(out)
    ds = load_dataset(out / "data" / "twinstar.gpkg")
    write_planning(out, ds.layers, dem_path=ds.dem_path, settings=Settings().override(**{"access.resolution_m": resolution}))
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--resolution", type=float, default=4000.0)
    a = ap.parse_args()
    print(build_run_folder(a.out, resolution=a.resolution))
