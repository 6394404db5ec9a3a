"""Rasters for display, shared by the web maps and the print figures: one relief shading, one reprojection.

* :func:`relief` shades a DEM with matplotlib's :class:`~matplotlib.colors.LightSource` (the figures and
  the web hillshade use the same light, the same smoothing of the coarse sample DEM and the same
  vertical exaggeration);
* :func:`to_web_mercator` reprojects a raster's *values* onto a Web Mercator grid with
  :func:`rasterio.warp.reproject`, so an image overlay lines up with the tiles of a web map.  Values
  are resampled before they are coloured, so a classed raster keeps exactly its class colours.
"""

from __future__ import annotations

import numpy as np
import rasterio
from matplotlib.colors import LightSource
from pyproj import Transformer
from rasterio.transform import from_bounds
from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds
from scipy.ndimage import gaussian_filter

__all__ = ["relief", "to_web_mercator", "AZIMUTH", "ALTITUDE"]

#: Light from the north-west, 45 degrees up: the cartographic convention.
AZIMUTH, ALTITUDE = 315.0, 45.0
#: The regional sample DEM is ~20 km per cell; its bilinear facets are smoothed over this many metres.
SMOOTH_M = 8000.0
#: Vertical exaggeration that makes the region's relief readable at 1:2,000,000.
VERT_EXAG = 8.0
_TO_LONLAT = Transformer.from_crs(3857, 4326, always_xy=True)


def relief(dem: np.ndarray, cell_m: float, *, vert_exag: float = VERT_EXAG, smooth_m: float = SMOOTH_M) -> np.ndarray:
    """Relief shading (0 dark .. 1 lit) of a DEM on a grid of square cells.

    Parameters
    ----------
    dem : numpy.ndarray
        Heights (m), ``NaN`` where unknown (filled with the mean).
    cell_m : float
        Cell size in ground metres.
    vert_exag : float, default VERT_EXAG
        Vertical exaggeration (8: the region's relief readable at 1:2,000,000).
    smooth_m : float, default SMOOTH_M
        Standard deviation (m) of the Gaussian smoothing of a coarse DEM, at
        least one cell when positive; 0 = no smoothing.

    Returns
    -------
    numpy.ndarray of float
        Shading 0 (dark) .. 1 (lit) under a light from :data:`AZIMUTH`
        (north-west) at :data:`ALTITUDE` degrees, same shape as ``dem``.

    Examples
    --------
    A slope facing the light is brighter than one facing away.

    >>> x = np.tile(np.arange(20.0), (20, 1)) * 100.0  # rising to the east
    >>> s = relief(x, 1000.0, smooth_m=0)
    >>> bool(s[10, 10] > relief(-x, 1000.0, smooth_m=0)[10, 10])  # a slope rising eastwards faces west, towards the light
    True
    """
    z = np.asarray(dem, dtype="float64")
    z = np.where(np.isfinite(z), z, np.nanmean(z) if np.isfinite(z).any() else 0.0)
    if smooth_m > 0:
        z = gaussian_filter(z, sigma=max(1.0, smooth_m / cell_m))
    return LightSource(azdeg=AZIMUTH, altdeg=ALTITUDE).hillshade(z, vert_exag=vert_exag, dx=cell_m, dy=cell_m)


def to_web_mercator(array: np.ndarray, transform, crs, *, resampling: str = "nearest", upsample: float = 1.0,
                    max_pixels: int = 4_000_000):
    """Reproject a raster's values to Web Mercator (EPSG:3857) for an image overlay.

    Parameters
    ----------
    array : numpy.ndarray
        Values (float), ``NaN`` where there is none.
    transform : affine.Affine
        The array's geotransform.
    crs : str or rasterio.crs.CRS
        The array's CRS, e.g. ``"EPSG:4326"`` or the equal-area CRS of a run's grid.
    resampling : {"nearest", "bilinear"}, default "nearest"
        ``nearest`` for data and classes (values are never mixed), ``bilinear`` for a DEM
        (any name of :class:`rasterio.enums.Resampling` is accepted).
    upsample : float, default 1.0
        Output pixels per source pixel along each axis (a smooth relief from a coarse DEM).
    max_pixels : int, default 4_000_000
        The output is coarsened to about this many pixels at most (rounding up may add a row or a column).

    Returns
    -------
    (numpy.ndarray, tuple)
        The reprojected array (north up, rows evenly spaced in Web Mercator) and its bounds
        ``(west, south, east, north)`` in degrees, as a Leaflet image overlay takes them.

    Examples
    --------
    A 1-degree grid from 40 N to 50 N: in Web Mercator the northern rows are taller.

    >>> from rasterio.transform import from_origin
    >>> a = np.repeat(np.arange(10.0)[:, None], 4, axis=1)  # row i holds i
    >>> out, (w, s, e, n) = to_web_mercator(a, from_origin(120, 50, 1, 1), "EPSG:4326")
    >>> round(s, 6), round(n, 6), float(out[0, 0]), float(out[-1, 0])
    (40.0, 50.0, 0.0, 9.0)
    """
    h, w = array.shape
    bounds = rasterio.transform.array_bounds(h, w, transform)
    _, dw, dh = calculate_default_transform(crs, "EPSG:3857", w, h, *bounds)  # the pixel count that keeps the detail
    dw, dh = dw * upsample, dh * upsample
    scale = max(1.0, np.sqrt(dw * dh / max_pixels))
    dw, dh = max(1, int(np.ceil(dw / scale))), max(1, int(np.ceil(dh / scale)))
    # Exactly the source's extent (pixels need not be square for an overlay).
    dst_t = from_bounds(*transform_bounds(crs, "EPSG:3857", *bounds, densify_pts=21), dw, dh)
    out = np.full((dh, dw), np.nan, dtype="float32")
    reproject(np.asarray(array, dtype="float32"), out, src_transform=transform, src_crs=crs, src_nodata=np.nan,
              dst_transform=dst_t, dst_crs="EPSG:3857", dst_nodata=np.nan, resampling=Resampling[resampling])
    (west, east), (north, south) = _TO_LONLAT.transform([dst_t.c, dst_t.c + dst_t.a * dw], [dst_t.f, dst_t.f + dst_t.e * dh])
    return out, (float(west), float(south), float(east), float(north))
