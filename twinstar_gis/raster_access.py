"""Raster accessibility: friction surface, cumulative travel time, zonal statistics.

The grid is laid in the regional equal-area projection
(:data:`twinstar_gis.crs.EQUAL_AREA_CRS`), so every cell is a true square of
``resolution`` metres (distance scale within 0.3 % over the region).  The
travel-time GeoTIFFs are written on that grid; reprojecting them to lon/lat
would resample the values, so maps reproject them only for display.

Friction
--------
* Road corridors are burnt in with their class speed (``all_touched``).
  Rail is *not* burnt in: a train cannot be boarded between stations.  Rail
  enters through the seeds below.
* Other cells: the off-road speed times Tobler's slope factor
  ``exp(-3.5 (|s| + 0.05)) / exp(-3.5 * 0.05)`` (1 on the flat, 0.5 at a
  20 % slope), with the slope from the DEM.
* Cost between neighbouring cells (8-connected) = distance x mean pace of
  the two cells.

Travel time to a target set (the cores, or stations) is a multi-source
Dijkstra on the cell graph (:func:`scipy.sparse.csgraph.dijkstra`).  Seeds can
carry a start time, which is how the network model hands over: every station
and road node reached over the network seeds its cell with its network time,
so the raster includes rail trips.
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
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from .crs import EQUAL_AREA_CRS
from .io import atomic_output
from .network import RAIL_CLASSES
from .settings import DEFAULT_SPEEDS, Speeds

__all__ = ["Grid", "make_grid", "friction_surface", "cost_distance", "write_raster", "zonal_time_stats", "NODATA"]

log = logging.getLogger(__name__)
NODATA = -9999.0


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


def make_grid(region: gpd.GeoDataFrame, resolution: float = 1000.0, *, margin: float = 0.0) -> Grid:
    """A grid over a region (any CRS) in the equal-area projection."""
    b = region.to_crs(EQUAL_AREA_CRS).total_bounds
    x0 = np.floor((b[0] - margin) / resolution) * resolution
    y1 = np.ceil((b[3] + margin) / resolution) * resolution
    w = int(np.ceil((b[2] + margin - x0) / resolution))
    h = int(np.ceil((y1 - (b[1] - margin)) / resolution))
    return Grid(from_origin(x0, y1, resolution, resolution), w, h, RioCRS.from_wkt(EQUAL_AREA_CRS.to_wkt()), resolution)


def _dem_on_grid(dem_path, grid: Grid):
    out = np.full((grid.height, grid.width), np.nan, dtype="float32")
    if dem_path is None:
        return out
    with rasterio.open(dem_path) as src:
        reproject(rasterio.band(src, 1), out, src_transform=src.transform, src_crs=src.crs, src_nodata=src.nodata,
                  dst_transform=grid.transform, dst_crs=grid.crs, dst_nodata=np.nan, resampling=Resampling.bilinear)
    return out


def friction_surface(layers: dict, grid: Grid, *, dem_path=None, speeds: Speeds = DEFAULT_SPEEDS,
                     include_planned: bool = False, extra_corridors=None):
    """Speed (km/h) of every cell, and the slope factor applied off-road.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        speed_kmh, slope_factor, inside-region mask.
    """
    region = layers["boundaries"]
    region = region[region["level"] == "prefecture"].to_crs(EQUAL_AREA_CRS)
    inside = rasterize([(g, 1) for g in region.geometry], out_shape=(grid.height, grid.width),
                       transform=grid.transform, fill=0, all_touched=True, dtype="uint8").astype(bool)
    dem = _dem_on_grid(dem_path, grid)
    gy, gx = np.gradient(np.where(np.isfinite(dem), dem, np.nanmean(dem) if np.isfinite(dem).any() else 0.0), grid.resolution)
    slope = np.hypot(gx, gy)
    factor = np.exp(-3.5 * (slope + 0.05)) / np.exp(-3.5 * 0.05)
    speed = (speeds.off_road * factor).astype("float64")
    cors = layers["corridors"]
    if not include_planned and "status" in cors.columns:
        cors = cors[cors["status"].fillna("operating") == "operating"]
    if extra_corridors is not None and len(extra_corridors):  # scenario corridors always count
        cors = pd.concat([cors, extra_corridors.to_crs(4326)], ignore_index=True)
    roads = cors[~cors["class"].isin(RAIL_CLASSES)].to_crs(EQUAL_AREA_CRS)
    # Slowest first, so the fastest class wins where roads share cells.
    for cls, grp in sorted(roads.groupby("class"), key=lambda kv: speeds.for_class(kv[0])):
        burnt = rasterize([(g, 1) for g in grp.geometry], out_shape=speed.shape, transform=grid.transform,
                          fill=0, all_touched=True, dtype="uint8").astype(bool)
        speed[burnt] = speeds.for_class(cls)
    return speed, factor, inside


def _cell_graph(speed_kmh: np.ndarray, resolution: float, active: np.ndarray):
    """8-connected cell graph; edge minutes = distance x mean pace of both cells."""
    h, w = speed_kmh.shape
    pace = np.where(active, 60.0 / speed_kmh / 1000.0, np.inf)  # minutes per metre
    idx = np.arange(h * w).reshape(h, w)
    us, vs, ws = [], [], []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        r0, r1 = max(0, -dr), h - max(0, dr)
        c0, c1 = max(0, -dc), w - max(0, dc)
        a = idx[r0:r1, c0:c1]
        b = idx[r0 + dr:r1 + dr, c0 + dc:c1 + dc]
        pa = pace[r0:r1, c0:c1]
        pb = pace[r0 + dr:r1 + dr, c0 + dc:c1 + dc]
        dist = resolution * (np.sqrt(2.0) if dr and dc else 1.0)
        cost = dist * (pa + pb) / 2.0
        ok = np.isfinite(cost)
        us.append(a[ok])
        vs.append(b[ok])
        ws.append(cost[ok])
    return np.concatenate(us), np.concatenate(vs), np.concatenate(ws)


def cost_distance(speed_kmh: np.ndarray, grid: Grid, seeds_xy, seed_minutes=None, *, active=None) -> np.ndarray:
    """Minutes from the nearest seed (plus its start time) to every cell; NaN where unreachable.

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
    """
    h, w = speed_kmh.shape
    active = np.ones((h, w), bool) if active is None else active
    u, v, wt = _cell_graph(speed_kmh, grid.resolution, active)
    seeds_xy = np.asarray(seeds_xy, dtype=float).reshape(-1, 2)
    seed_minutes = np.zeros(len(seeds_xy)) if seed_minutes is None else np.asarray(seed_minutes, float)
    r, c = grid.rowcol(seeds_xy[:, 0], seeds_xy[:, 1])
    ok = (r >= 0) & (r < h) & (c >= 0) & (c < w) & np.isfinite(seed_minutes)
    if not ok.any():
        raise ValueError("no seed lies on the grid")
    cells = r[ok] * w + c[ok]
    n = h * w
    # A virtual source linked to every seed cell with its start time.
    src = n
    u = np.concatenate([u, np.full(cells.size, src)])
    v = np.concatenate([v, cells])
    wt = np.concatenate([wt, np.maximum(seed_minutes[ok], 1e-9)])
    g = coo_matrix((wt, (u, v)), shape=(n + 1, n + 1)).tocsr()
    t = dijkstra(g, directed=False, indices=src, min_only=False)
    t = t[:n].reshape(h, w)
    t[~np.isfinite(t)] = np.nan
    return t


def write_raster(path, array: np.ndarray, grid: Grid, *, tags: dict | None = None):
    """Write a float32 GeoTIFF on ``grid`` (atomically); NaN becomes the nodata value."""
    data = np.where(np.isfinite(array), array, NODATA).astype("float32")
    profile = dict(driver="GTiff", height=grid.height, width=grid.width, count=1, dtype="float32", crs=grid.crs,
                   transform=grid.transform, nodata=NODATA, compress="deflate", tiled=True, blockxsize=256, blockysize=256)
    if grid.width < 256 or grid.height < 256:
        profile.update(tiled=False)
        profile.pop("blockxsize")
        profile.pop("blockysize")
    with atomic_output(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data, 1)
            if tags:
                dst.update_tags(**{k: str(v) for k, v in tags.items()})
    return path


def zonal_time_stats(minutes: np.ndarray, grid: Grid, boundaries: gpd.GeoDataFrame, *, thresholds=(60, 120)) -> pd.DataFrame:
    """Per county: mean and median minutes, area and population share within each threshold.

    Population shares assume the county's 2020 population is spread evenly over
    its area (no population grid is available offline): they equal the area
    shares and are marked so in ``population_method``.
    """
    counties = boundaries[boundaries["level"] == "county"].sort_values("adcode").reset_index(drop=True)
    zones = rasterize([(g, i + 1) for i, g in enumerate(counties.to_crs(EQUAL_AREA_CRS).geometry)],
                      out_shape=minutes.shape, transform=grid.transform, fill=0, dtype="int32")
    cell_km2 = (grid.resolution / 1000.0) ** 2
    rows = []
    for i, c in counties.iterrows():
        vals = minutes[zones == i + 1]
        n = vals.size
        reach = vals[np.isfinite(vals)]
        row = {"adcode": c["adcode"], "name_zh": c["name_zh"], "name_en": c.get("name_en", ""),
               "city_adcode": c["parent_adcode"], "cells": n, "area_km2_grid": n * cell_km2,
               "mean_min": float(np.mean(reach)) if reach.size else np.nan,
               "median_min": float(np.median(reach)) if reach.size else np.nan,
               "unreachable_share": 1 - reach.size / n if n else np.nan}
        pop = c.get("population_2020")
        row["population_2020"] = pop
        for t in thresholds:
            share = float((reach <= t).sum() / n) if n else np.nan
            row[f"area_share_{t}min"] = share
            row[f"area_km2_{t}min"] = share * n * cell_km2 if n else np.nan
            known = pop is not None and pd.notna(pop)
            row[f"population_{t}min"] = share * pop if known else np.nan
            row[f"population_share_{t}min"] = share if known else np.nan
        row["population_method"] = "uniform over county area (assumption)"
        rows.append(row)
    return pd.DataFrame(rows)
