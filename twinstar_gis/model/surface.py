"""Raster accessibility: the land surface, cumulative travel time over it, zonal statistics.

The grid is laid in the study area's equal-area projection
(:func:`twinstar_gis.data.crs.study_area_crs`: the Twin Star Albers projection over the
region), so every cell is a true square of ``resolution`` metres (distance scale within
0.3 % over the region).  The travel-time GeoTIFFs are written on that grid; reprojecting
them to lon/lat would resample the values, so maps reproject them only for display.

The land
--------
No road is burnt into the raster: the network carries every trip on a road or a line
(:mod:`twinstar_gis.model.network`) and the land carries only movement off the network.

* ``access.land_model = "off_road"``: every cell moves at ``speeds.off_road`` times Tobler's
  slope factor ``exp(-a (|s| + b)) / exp(-a b)`` (``access.tobler_a``/``tobler_b``; 1 on the
  flat, 0.5 at a 20 % slope with the defaults), the slope from the DEM.
* ``access.land_model = "local_roads"``: land in each county moves at the speed of its unmapped
  local roads (:func:`local_road_speeds`), the slope factor applied the same way.
* Cost between neighbouring cells (8-connected) = distance x mean pace of the two cells.

Shortest times over the land are a Dijkstra search of the implicit 8-neighbour grid of the
cells inside the study area (:func:`twinstar_gis.model.gridsearch.grid_times`, compiled with
Numba): no graph is built, a search allocates its times (8 bytes per grid cell: the surface) and
a heap the size of its frontier, and any number of seed cells with their own start times cost one
search.  It is the move cost and the search of GRASS ``r.cost`` and scikit-image's
``MCP_Geometric`` (``benchmarks/bench_surface.py`` compares all three cell by cell).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.crs import CRS as RioCRS
from rasterio.features import rasterize
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ..data.crs import study_area_crs
from ..data.io import atomic_output
from ..resources import check_grid, check_memory
from ..settings import DEFAULT, Settings

__all__ = [
    "LAND_BYTES_PER_CELL",
    "NODATA",
    "Grid",
    "cost_distance",
    "county_zones",
    "friction_surface",
    "inside_cells",
    "make_grid",
    "multi_source_times",
    "write_raster",
    "zonal_time_stats",
    "check_grid_size",
]

log = logging.getLogger(__name__)
NODATA = -9999.0
#: Bytes per grid cell a land model holds and one search over it needs: the speed 8, inside 1,
#: the inside cells' flat index 4 (32-bit), one search's times 8 (the surface itself), a mask 1.
LAND_BYTES_PER_CELL = 8 + 1 + 4 + 8 + 1


@dataclass(frozen=True)
class Grid:
    """A raster grid: transform, shape and CRS."""

    transform: object
    width: int
    height: int
    crs: object
    resolution: float

    def xy(self, rows, cols):
        x = self.transform.c + (np.asarray(cols) + 0.5) * self.resolution
        y = self.transform.f - (np.asarray(rows) + 0.5) * self.resolution
        return x, y

    def rowcol(self, x, y):
        col = np.floor((np.asarray(x) - self.transform.c) / self.resolution).astype(int)
        row = np.floor((self.transform.f - np.asarray(y)) / self.resolution).astype(int)
        return row, col


def make_grid(region: gpd.GeoDataFrame, resolution: float = 1000.0, *, margin: float = 0.0, crs=None) -> Grid:
    """A grid over a region (any CRS) in the study area's equal-area projection.

    Parameters
    ----------
    region : GeoDataFrame
        The study area (its prefectures).
    resolution : float
        Cell size, metres.
    margin : float
        Metres added on every side.
    crs : pyproj.CRS, optional
        Projection (default :func:`~twinstar_gis.data.crs.study_area_crs` of ``region``).

    Returns
    -------
    Grid
    """
    crs = crs if crs is not None else study_area_crs(region)
    b = region.to_crs(crs).total_bounds
    x0 = np.floor((b[0] - margin) / resolution) * resolution
    y1 = np.ceil((b[3] + margin) / resolution) * resolution
    w = int(np.ceil((b[2] + margin - x0) / resolution))
    h = int(np.ceil((y1 - (b[1] - margin)) / resolution))
    return Grid(from_origin(x0, y1, resolution, resolution), w, h, RioCRS.from_wkt(crs.to_wkt()), resolution)


def _dem_on_grid(dem_path, grid: Grid):
    out = np.full((grid.height, grid.width), np.nan, dtype="float32")
    if dem_path is None:
        return out
    with rasterio.open(dem_path) as src:
        reproject(rasterio.band(src, 1), out, src_transform=src.transform, src_crs=src.crs, src_nodata=src.nodata,
                  dst_transform=grid.transform, dst_crs=grid.crs, dst_nodata=np.nan, resampling=Resampling.bilinear)
    return out


def _tobler(slope: np.ndarray, settings: Settings) -> np.ndarray:
    a, b = settings.access.tobler_a, settings.access.tobler_b
    return np.exp(-a * (np.abs(slope) + b)) / np.exp(-a * b)


def friction_surface(layers: dict, grid: Grid, *, dem_path=None, settings: Settings = DEFAULT, land_speed=None):
    """Land speed (km/h) of every cell, the slope factor, and the cells that can be crossed.

    No road is burnt in (the network carries them).  The base speed is ``speeds.off_road``
    or, with ``access.land_model = "local_roads"``, the per-cell local-road speed given as
    ``land_speed``; times Tobler's slope factor from the DEM.  A cell can be crossed when its
    centre lies in a prefecture (in any boundary when there is no prefecture level).

    Parameters
    ----------
    layers : dict
        ``boundaries``.
    grid : Grid
    dem_path : path-like, optional
    settings : Settings
    land_speed : numpy.ndarray, optional
        ``(H, W)`` base speed, km/h (default ``speeds.off_road`` everywhere).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        speed_kmh, slope_factor, inside-region mask.
    """
    region = layers["boundaries"]
    if "level" in region.columns and (region["level"] == "prefecture").any():
        region = region[region["level"] == "prefecture"]
    region = region.to_crs(grid.crs)
    inside = rasterize([(g, 1) for g in region.geometry], out_shape=(grid.height, grid.width),
                       transform=grid.transform, fill=0, dtype="uint8").astype(bool)
    dem = _dem_on_grid(dem_path, grid)
    gy, gx = np.gradient(np.where(np.isfinite(dem), dem, np.nanmean(dem) if np.isfinite(dem).any() else 0.0), grid.resolution)
    factor = _tobler(np.hypot(gx, gy), settings)
    base = settings.speeds.off_road if land_speed is None else land_speed
    return (base * factor).astype("float64"), factor, inside


def multi_source_times(graph, nodes, start_minutes=None, *, limit=None) -> np.ndarray:
    """Compute minutes from the nearest of ``nodes`` (each with its start time) to every node of a directed graph.

    A node's time is the smallest over the sources of start time plus shortest path
    (one Dijkstra from a virtual source joined to every source node by an arc of its
    start time).  Several sources on one node keep the smallest start time (never their
    sum); negative start times count as 0.

    Parameters
    ----------
    graph : scipy.sparse matrix
        Arc times in minutes, ``graph[i, j]`` from node ``i`` to node ``j`` (a CSR
        matrix, e.g. :attr:`Network.graph <twinstar_gis.model.network.Network>` or its
        transpose for times *to* the sources).
    nodes : array-like of int
        Source nodes (row indices of ``graph``); repeats allowed.
    start_minutes : array-like of float, optional
        Start time of each source, minutes, same length as ``nodes``; ``inf`` or NaN leaves a
        source out.  Default (or all zero): every source starts
        at 0.
    limit : float, optional
        Leave nodes whose time (start time included) exceeds this many minutes unreached.

    Returns
    -------
    numpy.ndarray of float
        ``(n_nodes,)`` minutes; ``inf`` where unreachable (or beyond ``limit``).

    Examples
    --------
    A chain 0 -> 1 -> 2 with one minute per arc:

    >>> from scipy.sparse import csr_matrix
    >>> g = csr_matrix(([1.0, 1.0], ([0, 1], [1, 2])), shape=(3, 3))
    >>> multi_source_times(g, [0, 0], [10.0, 30.0]).tolist()
    [10.0, 11.0, 12.0]
    >>> multi_source_times(g, [1, 0], [0.0, 5.0]).tolist()
    [5.0, 0.0, 1.0]
    >>> multi_source_times(g, [0], limit=1.5).tolist()
    [0.0, 1.0, inf]
    """
    n = graph.shape[0]
    nodes = np.asarray(nodes, dtype=np.int64).ravel()
    limit = np.inf if limit is None else float(limit)
    if start_minutes is None or not np.any(np.asarray(start_minutes, float)):
        return np.atleast_2d(dijkstra(graph, directed=True, indices=np.unique(nodes), min_only=True, limit=limit))[0]
    start = np.asarray(start_minutes, dtype=float).ravel()
    start = np.where(np.isnan(start), np.inf, start)  # a seed without a start time starts nothing
    best = np.full(n, np.inf)
    np.minimum.at(best, nodes, start)  # the minimum per node: coo_matrix would add duplicates up
    seeds = np.flatnonzero(np.isfinite(best))
    g = graph.tocsr()
    # A virtual source (row n) linked to every seed node with its start time.
    indptr = np.concatenate([g.indptr, [g.indptr[-1] + seeds.size]])
    indices = np.concatenate([g.indices, seeds]).astype(g.indices.dtype if n < 2**31 - 1 else np.int64)
    data = np.concatenate([g.data, np.maximum(best[seeds], 0.0)])  # explicit zeros are arcs here
    aug = csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
    return dijkstra(aug, directed=True, indices=n, limit=limit)[:n]


def inside_cells(active: np.ndarray, *, settings: Settings = DEFAULT) -> np.ndarray:
    """The flat (row-major) grid index of every active cell, 32-bit where the grid allows.

    The memory of a land model on this grid (:data:`LAND_BYTES_PER_CELL`) is checked first
    (:func:`twinstar_gis.resources.check_memory`).

    Parameters
    ----------
    active : (H, W) bool array
    settings : Settings
        For the memory budget.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` ascending flat indices (a cell's position in it is its compact number).

    Examples
    --------
    >>> import numpy as np
    >>> inside_cells(np.array([[True, False], [False, True]])).tolist()
    [0, 3]
    """
    size = active.size
    check_memory(size * LAND_BYTES_PER_CELL, f"the land of {size:,} grid cells", "access.resolution_m (a coarser grid)",
                 settings=settings)
    return np.flatnonzero(active.ravel()).astype(np.int32 if size < 2**31 - 1 else np.int64)


def cost_distance(speed_kmh: np.ndarray, grid: Grid, seeds_xy, seed_minutes=None, *, active=None) -> np.ndarray:
    """Minutes from the nearest seed (plus its start time) to every cell; NaN where unreachable.

    Seeds sharing a cell: the cell starts at the smallest of their times.

    Parameters
    ----------
    speed_kmh : (H, W) array
    grid : Grid
    seeds_xy : (N, 2) array
        Seed coordinates in the grid CRS.
    seed_minutes : (N,) array, optional
        Start time of each seed (default 0).
    active : (H, W) bool array, optional
        Cells that can be crossed (default all).

    Returns
    -------
    numpy.ndarray
        (H, W) minutes.
    """
    from .gridsearch import grid_times

    h, w = speed_kmh.shape
    active = np.ones((h, w), bool) if active is None else active
    seeds_xy = np.asarray(seeds_xy, dtype=float).reshape(-1, 2)
    seed_minutes = np.zeros(len(seeds_xy)) if seed_minutes is None else np.asarray(seed_minutes, float)
    r, c = grid.rowcol(seeds_xy[:, 0], seeds_xy[:, 1])
    ok = (r >= 0) & (r < h) & (c >= 0) & (c < w) & np.isfinite(seed_minutes)
    flat = np.where(ok, r * w + c, 0)
    ok &= active.ravel()[flat]
    if not ok.any():
        raise ValueError("no seed lies on the grid")
    t = grid_times(speed_kmh, active, grid.resolution, flat[ok], seed_minutes[ok])
    t[np.isinf(t)] = np.nan
    return t.reshape(h, w)


def write_raster(path, array: np.ndarray, grid: Grid, *, tags: dict | None = None):
    """Write a float32 GeoTIFF on ``grid`` (atomically); NaN becomes the nodata value.

    Non-finite values (NaN, ``inf``) are written as :data:`NODATA` (-9999), which the
    file declares as its nodata value.  The file is deflate-compressed, tiled in
    256 x 256 blocks when the grid is at least that large.  It is written to a
    temporary file beside ``path`` and moved into place, so a failure leaves an
    earlier file untouched.

    Parameters
    ----------
    path : path-like
        The GeoTIFF to write (its folder is made if missing).
    array : numpy.ndarray
        ``(grid.height, grid.width)`` values (e.g. minutes), row 0 at the top.
    grid : Grid
        Transform and CRS of the raster.
    tags : dict, optional
        GDAL metadata tags (values are written as text), e.g. units and settings.

    Returns
    -------
    path-like
        ``path``, as given.

    Raises
    ------
    DataSourceError
        If the file cannot be written (full disk, no permission).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from twinstar_gis.data.crs import EQUAL_AREA_CRS
    >>> grid = Grid(from_origin(0.0, 2000.0, 1000.0, 1000.0), 3, 2, RioCRS.from_wkt(EQUAL_AREA_CRS.to_wkt()), 1000.0)
    >>> folder = tempfile.TemporaryDirectory()
    >>> out = write_raster(Path(folder.name) / "minutes.tif", np.array([[0.0, 7.5, np.nan], [12.0, np.inf, 30.0]]),
    ...                    grid, tags={"units": "minutes"})
    >>> with rasterio.open(out) as src:
    ...     src.read(1).tolist(), src.nodata, src.res, src.bounds.left, src.bounds.top, src.tags()["units"]
    ([[0.0, 7.5, -9999.0], [12.0, -9999.0, 30.0]], -9999.0, (1000.0, 1000.0), 0.0, 2000.0, 'minutes')
    >>> folder.cleanup()
    """
    data = np.where(np.isfinite(array), array, NODATA).astype("float32")
    profile = {"driver": "GTiff", "height": grid.height, "width": grid.width, "count": 1, "dtype": "float32", "crs": grid.crs,
                   "transform": grid.transform, "nodata": NODATA, "compress": "deflate", "tiled": True, "blockxsize": 256, "blockysize": 256}
    if grid.width < 256 or grid.height < 256:
        profile.update(tiled=False)
        profile.pop("blockxsize")
        profile.pop("blockysize")
    with atomic_output(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data, 1)
        if tags:
            dst.update_tags(**{k: str(v) for k, v in tags.items()})
    return path


#: The last county rasters of :func:`county_zones` (key: grid and the counties' geometry); a run asks for the same one for the
#: base and scenario models, the land-speed sensitivity and the population grid (15 times on the embedded data).
_ZONES: dict = {}


def county_zones(counties: gpd.GeoDataFrame, grid: Grid) -> np.ndarray:
    """County number (1..n in the order of ``counties``, 0 outside) per cell of ``grid``.

    Read-only and shared between calls on the same grid and counties (a run asks for it for the base
    and scenario models, the land-speed sensitivity, the population grid and the county statistics).

    Parameters
    ----------
    counties : geopandas.GeoDataFrame
        County polygons (any CRS).
    grid : Grid

    Returns
    -------
    numpy.ndarray
        ``(grid.height, grid.width)`` int32, not writeable.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = Grid(transform=from_origin(0, 2000, 1000, 1000), width=2, height=2, crs="EPSG:3857", resolution=1000.0)
    >>> c = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 2000), box(1000, 0, 2000, 1000)], crs=3857)
    >>> county_zones(c, g).tolist()
    [[1, 0], [1, 2]]
    """
    import hashlib

    import shapely

    geoms = counties.to_crs(grid.crs).geometry.values
    key = (tuple(grid.transform)[:6], grid.height, grid.width,
           hashlib.sha1(b"".join(shapely.to_wkb(np.asarray(geoms), hex=False))).hexdigest())
    zones = _ZONES.get(key)
    if zones is None:
        zones = rasterize([(g, i + 1) for i, g in enumerate(geoms)], out_shape=(grid.height, grid.width),
                          transform=grid.transform, fill=0, dtype="int32")
        zones.setflags(write=False)
        while len(_ZONES) >= 2:  # at most two grids' worth of memory (int32 per cell)
            _ZONES.pop(next(iter(_ZONES)))
        _ZONES[key] = zones
    return zones


def zonal_time_stats(minutes: np.ndarray, grid: Grid, boundaries: gpd.GeoDataFrame, *, thresholds=(60, 120),
                     active=None, population=None, population_method=None, at_seats=None) -> pd.DataFrame:
    """Per county: mean and median minutes, area and population share within each threshold.

    A cell belongs to the county holding its centre (and, with ``active``, only
    if it can be crossed).  ``unreachable_share`` is the share of the county's
    cells with no finite time.  Columns are named after the thresholds
    (``area_share_60min``).

    Parameters
    ----------
    minutes : (H, W) array
    grid : Grid
    boundaries : GeoDataFrame
        Counties (``level = "county"``) with ``population_2020`` (census; missing stays NaN).
    thresholds : sequence of float
    active : (H, W) bool array, optional
    population : (H, W) array, optional
        People per cell (:func:`twinstar_gis.model.landuse.population_grid`); default: each
        county's population spread evenly over its cells.
    population_method : pandas.Series, optional
        Method per county adcode (``population_method`` column).
    at_seats : pandas.DataFrame, optional
        People counted at a point's own time instead of a cell's: ``adcode``, ``people``, ``minutes`` (the
        urban population at each county seat, with the seat's time from the OD tables).

    Returns
    -------
    pandas.DataFrame
    """
    counties = boundaries[boundaries["level"] == "county"].sort_values("adcode").reset_index(drop=True)
    zones = county_zones(counties, grid)
    if active is not None:
        zones = np.where(active, zones, 0)
    cell_km2 = (grid.resolution / 1000.0) ** 2
    rows = []
    for i, c in counties.iterrows():
        sel = zones == i + 1
        vals = minutes[sel]
        n = vals.size
        fin = np.isfinite(vals)
        reach = vals[fin]
        row = {"adcode": c["adcode"], "name_zh": c["name_zh"], "name_en": c.get("name_en", ""),
               "city_adcode": c["parent_adcode"], "cells": n, "area_km2_grid": n * cell_km2,
               "mean_min": float(np.mean(reach)) if reach.size else np.nan,
               "median_min": float(np.median(reach)) if reach.size else np.nan,
               "unreachable_share": 1 - reach.size / n if n else np.nan}
        pop = c.get("population_2020")
        row["population_2020"] = pop
        known = pop is not None and pd.notna(pop)
        people = population[sel] if population is not None else None
        seats = at_seats[at_seats["adcode"].astype(str) == str(c["adcode"])] if at_seats is not None else None
        for th in thresholds:
            share = float((reach <= th).sum() / n) if n else np.nan
            t = f"{float(th):g}"
            row[f"area_share_{t}min"] = share
            row[f"area_km2_{t}min"] = share * n * cell_km2 if n else np.nan
            if known and people is not None and np.isfinite(people).any():
                within = float(np.nansum(np.where(fin & (np.where(fin, vals, np.inf) <= th), people, 0.0)))
                total = float(np.nansum(people))
                if seats is not None and len(seats):
                    within += float(seats.loc[seats["minutes"].to_numpy(float) <= th, "people"].sum())
                    total += float(seats["people"].sum())
                pshare = within / total if total > 0 else np.nan
            else:
                pshare = share
            row[f"population_{t}min"] = pshare * pop if known else np.nan
            row[f"population_share_{t}min"] = pshare if known else np.nan
        method = population_method.get(str(c["adcode"])) if population_method is not None else None
        row["population_method"] = method or "uniform over county area (assumption)"
        rows.append(row)
    return pd.DataFrame(rows)


def check_grid_size(layers: dict, settings) -> None:
    """Refuse a travel-time grid beyond the memory budget (:func:`twinstar_gis.resources.check_grid`), early.

    Parameters
    ----------
    layers : dict
        Whose ``boundaries`` (prefectures) span the grid.
    settings : Settings
        ``access.resolution_m`` and the budget.

    Raises
    ------
    ResourceError
    """
    b = layers.get("boundaries")
    if b is None or not len(b):
        return
    if "level" in b.columns and (b["level"] == "prefecture").any():
        b = b[b["level"] == "prefecture"]
    grid = make_grid(b, settings.access.resolution_m)
    check_grid(grid.width * grid.height, settings.access.resolution_m, settings=settings)
