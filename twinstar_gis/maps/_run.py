"""Read a run folder (contracts: "The run folder") for the renderers: maps and figures.

Renderers read only the files listed there plus ``run.json``; they never
recompute an analysis and never open the embedded dataset behind a project's
back (the layers come from the run's own ``data/twinstar.gpkg``).  Each file is
read once per :class:`Run` and cached.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio


log = logging.getLogger(__name__)

from ..data.io import read_csv_table
from ..errors import RunFolderError
from ..run.folder import read_run

__all__ = ["Run", "open_run", "MINOR_ROAD_CLASSES", "MINOR_ROAD_LIMIT", "drop_minor_roads"]

DATASET = "data/twinstar.gpkg"
DEM = "data/twinstar_dem.tif"
#: Codes that look like numbers but are identifiers (kept as text, as in the GeoPackages).
#: Road classes the maps and figures leave out when there are more than :data:`MINOR_ROAD_LIMIT` of them
#: (an OpenStreetMap import: a million road segments would make every page tens of megabytes and
#: unreadable at regional scale).  Every analysis still uses them.
MINOR_ROAD_CLASSES = ("county_road", "local_road", "ramp")
MINOR_ROAD_LIMIT = 5000
_TEXT_COLUMNS = {c: str for c in ("adcode", "adcode_a", "adcode_b", "city_adcode", "county_adcode", "city_a", "city_b")}


def _manifest(run_dir: Path) -> dict:
    """run.json of the folder (loaded and checked by :func:`twinstar_gis.run.folder.read_run`).

    Renderers re-render their own pages, so the folder's files are not verified here;
    ``twinstar report`` verifies them.
    """
    return read_run(run_dir, verify=False)


@dataclass
class Run:
    """An opened run folder: its manifest and cached readers of its files."""

    path: Path
    manifest: dict
    _cache: dict = field(default_factory=dict, repr=False)

    def file(self, rel: str, *, required: bool = True) -> Path | None:
        p = self.path / rel
        if not p.exists():
            if required:
                raise RunFolderError(f"{self.path}: {rel} is missing; re-run `twinstar run` (the step that writes it "
                                     "may have been skipped).")
            return None
        return p

    def layers(self) -> dict:
        """The vector layers THIS run used (``data/twinstar.gpkg``)."""
        if "layers" not in self._cache:
            p = self.file(self.manifest.get("dataset") or DATASET)
            out = {}
            for name, gtype in pyogrio.list_layers(p):
                if gtype is not None:
                    out[name] = gpd.read_file(p, layer=name).to_crs(4326)
            self._cache["layers"] = out
        return self._cache["layers"]

    def layer(self, kind: str) -> gpd.GeoDataFrame | None:
        return self.layers().get(kind)

    def map_corridors(self) -> tuple[gpd.GeoDataFrame | None, str | None]:
        """The corridors the maps draw, and a note when minor roads were left out (see :func:`drop_minor_roads`)."""
        if "map_corridors" not in self._cache:
            self._cache["map_corridors"] = drop_minor_roads(self.layer("corridors"), "class")
        return self._cache["map_corridors"]

    def table(self, rel: str, *, required: bool = True) -> pd.DataFrame | None:
        if rel not in self._cache:
            p = self.file(rel, required=required)
            self._cache[rel] = None if p is None else read_csv_table(p, dtype=_TEXT_COLUMNS)
        return self._cache[rel]

    def vector(self, rel: str, layer: str, *, required: bool = True) -> gpd.GeoDataFrame | None:
        key = (rel, layer)
        if key not in self._cache:
            p = self.file(rel, required=required)
            if p is None or layer not in [n for n, _ in pyogrio.list_layers(p)]:
                if required:
                    raise RunFolderError(f"{self.path}: {rel} has no layer {layer!r}.")
                log.info("%s: no layer %s in %s; skipped", self.path, layer, rel)
                self._cache[key] = None
            else:
                self._cache[key] = gpd.read_file(p, layer=layer).to_crs(4326)
        return self._cache[key]

    def raster(self, rel: str, *, required: bool = True):
        """(array float32 with NaN for nodata, transform, crs) or None."""
        if rel not in self._cache:
            p = self.file(rel, required=required)
            if p is None:
                self._cache[rel] = None
            else:
                with rasterio.open(p) as src:
                    a = src.read(1, masked=True).astype("float32").filled(np.nan)
                    self._cache[rel] = (a, src.transform, src.crs)
        return self._cache[rel]

    @classmethod
    def from_dataset(cls, ds) -> Run:
        """A data-only stand-in for a loaded :class:`~twinstar_gis.data.dataset.Dataset` (enough for the overview map;
        analysis maps then say which run file is missing)."""
        return cls(Path(ds.origin).parent if ds.origin else Path("."), {"schema": 1, "project": None, "dem": None},
                   {"layers": dict(ds.layers), "dem": ds.dem_path})

    @property
    def dem_path(self) -> Path | None:
        if "dem" in self._cache:
            return self._cache["dem"]
        rel = self.manifest.get("dem", DEM)
        return self.file(rel, required=False) if rel else None

    @property
    def origin(self) -> str:
        proj = self.manifest.get("project")
        return f"project {proj['name']}" if proj else "embedded Twin Star dataset"


def drop_minor_roads(gdf, column: str) -> tuple[gpd.GeoDataFrame | None, str | None]:
    """Leave out the minor road classes when there are too many to draw; return (lines, note or None).

    Above :data:`MINOR_ROAD_LIMIT` features whose ``column`` is one of :data:`MINOR_ROAD_CLASSES`,
    only the major classes (rail, expressway, national and provincial highway) are kept and the
    note (Chinese + English) says how many were left out.

    Parameters
    ----------
    gdf : GeoDataFrame or None
    column : str
        The class column.

    Returns
    -------
    (GeoDataFrame or None, str or None)
    """
    if gdf is None or column not in gdf:
        return gdf, None
    minor = gdf[column].isin(MINOR_ROAD_CLASSES).to_numpy()
    n = int(minor.sum())
    if n <= MINOR_ROAD_LIMIT:
        return gdf, None
    note = (f"县道、乡村道路与匝道未绘出（{n:,} 段，分析均已使用） County roads, local roads and ramps not drawn "
            f"({n:,} features, more than {MINOR_ROAD_LIMIT:,}); every analysis used them.")
    return gdf[~minor], note


#: The run file a page or figure needs beyond the core outputs; without it, it is skipped.
OPTIONAL_INPUTS = {"scenario": "access/scenario.gpkg", "change": "access/scenario.gpkg",
                   "suitability": "planning/suitability_classes.tif", "sites": "planning/sites.gpkg",
                   "linkage": "planning/linkage.gpkg", "compare": "compare/counties.csv"}


def skip_reason(run: Run, name: str) -> str | None:
    """Why page or figure ``name`` cannot be drawn from this run (its optional input is absent), else None.

    Parameters
    ----------
    run : Run
    name : str
        A page or figure.

    Returns
    -------
    str or None
    """
    rel = OPTIONAL_INPUTS.get(name)
    if rel is None or run.file(rel, required=False) is not None:
        return None
    kind = {"access/": "scenario", "compare/": "comparison (twinstar compare)"}.get(rel[: rel.index("/") + 1], "planning")
    return f"no {kind} outputs in this run"


def open_run(run_dir, *, manifest: dict | None = None) -> Run:
    """Open a run folder (``twinstar run --out``); raises :class:`RunFolderError` if it is not one.

    ``manifest``: the run's manifest while it is still being staged (``twinstar run`` writes
    ``run.json`` last); without it, ``run.json`` is read from the folder.

    Parameters
    ----------
    run_dir : path-like
    manifest : dict, optional

    Returns
    -------
    Run
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: not a folder; give the output folder of `twinstar run`.")
    return Run(run_dir, dict(manifest) if manifest is not None else _manifest(run_dir))
