"""Raster accessibility: friction surface, cumulative travel time, zonal statistics.

The grid is laid in the regional equal-area projection
(:data:`twinstar_gis.data.crs.EQUAL_AREA_CRS`), so every cell is a true square of
``resolution`` metres (distance scale within 0.3 % over the region).  The
travel-time GeoTIFFs are written on that grid; reprojecting them to lon/lat
would resample the values, so maps reproject them only for display.

Friction
--------
* Roads a traveller can leave anywhere (every road class but expressways) are
  burnt in with their feature speed (:func:`corridor_speeds`, ``all_touched``).
  Expressways and rail are *not* burnt in: they are entered and left only at
  network exits, which the travel-time model (:mod:`twinstar_gis.model.traveltime`)
  joins to their cells.
* Other cells: the off-road speed times Tobler's slope factor
  ``exp(-a (|s| + b)) / exp(-a b)`` (``access.tobler_a``/``tobler_b``; 1 on the
  flat, 0.5 at a 20 % slope with the defaults), with the slope from the DEM.
* Cost between neighbouring cells (8-connected) = distance x mean pace of
  the two cells.

Shortest times are :func:`scipy.sparse.csgraph.dijkstra` from many sources at
once (:func:`multi_source_times`); sources sharing a node keep the smallest
start time.
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
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from ..data.crs import EQUAL_AREA_CRS
from ..data.io import atomic_output
from ..data.schema import in_service
from ..settings import DEFAULT, ROAD_CLASSES, Settings
from .network import parse_speed

__all__ = ["Grid", "make_grid", "friction_surface", "corridor_speeds", "cost_distance", "multi_source_times", "write_raster",
           "zonal_time_stats", "NODATA", "BURNT_CLASSES"]

log = logging.getLogger(__name__)
NODATA = -9999.0
#: Road classes burnt into the friction surface: every road a traveller can leave anywhere.
BURNT_CLASSES = tuple(c for c in ROAD_CLASSES if c != "expressway")


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


def corridor_speeds(corridors: gpd.GeoDataFrame, settings: Settings = DEFAULT, *, scenario=None) -> np.ndarray:
    """Speed (km/h) of every road feature, by the rule the network uses for its edges.

    The class speed of :attr:`Settings.speeds`, unless :attr:`NetworkSettings.use_maxspeed`
    is on and the feature has a positive ``maxspeed`` (OSM; ``"80"`` or ``"50 mph"``) or,
    for a scenario feature (``scenario`` True), a ``design_speed_kmh``: then that value x
    ``maxspeed_factor``.  The embedded corridors' ``design_speed_kmh`` are design speeds,
    not average speeds, and are not used.  An unknown class is an error.

    Examples
    --------
    >>> import geopandas as gpd
    >>> c = gpd.GeoDataFrame({"class": ["county_road"] * 3, "design_speed_kmh": [None, 200, 200]})
    >>> corridor_speeds(c, scenario=[True, True, False]).tolist()
    [40.0, 160.0, 40.0]
    """
    speed = np.array([settings.speeds.for_class(c) for c in corridors["class"]], dtype=float)
    if not settings.network.use_maxspeed:
        return speed
    scenario = np.zeros(len(corridors), bool) if scenario is None else np.asarray(scenario, bool)
    for col, only_scenario in (("maxspeed", False), ("design_speed_kmh", True)):
        if col in corridors.columns:
            v, _ = parse_speed(corridors[col])  # invalid values are refused when the network is built
            use = np.isfinite(v) & (v > 0) & (scenario if only_scenario else True)
            speed = np.where(use, v * settings.network.maxspeed_factor, speed)
    return speed


def _tobler(slope: np.ndarray, settings: Settings) -> np.ndarray:
    a, b = settings.access.tobler_a, settings.access.tobler_b
    return np.exp(-a * (np.abs(slope) + b)) / np.exp(-a * b)


def _corridors_in_use(layers, include_planned, extra_corridors):
    cors = in_service(layers["corridors"], include_planned=include_planned)
    cors = cors.assign(_scenario=False)
    if extra_corridors is not None and len(extra_corridors):  # scenario corridors always count
        cors = pd.concat([cors, extra_corridors.to_crs(4326).assign(_scenario=True)], ignore_index=True)
    return cors


def friction_surface(layers: dict, grid: Grid, *, dem_path=None, settings: Settings = DEFAULT,
                     include_planned: bool = False, extra_corridors=None):
    """Speed (km/h) of every cell, the slope factor applied off-road, and the cells that can be crossed.

    Roads a traveller can leave anywhere (every road class but ``expressway``) are
    burnt in with their feature speed (:func:`corridor_speeds`, ``all_touched``;
    the fastest wins where roads share a cell).  Expressways and rail are not
    burnt in: they are entered and left only at network exits.  Other cells:
    ``speeds.off_road`` x Tobler's slope factor from the DEM.  A cell can be
    crossed when its centre lies in a prefecture.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        speed_kmh, slope_factor, inside-region mask.
    """
    region = layers["boundaries"]
    region = region[region["level"] == "prefecture"].to_crs(EQUAL_AREA_CRS)
    inside = rasterize([(g, 1) for g in region.geometry], out_shape=(grid.height, grid.width),
                       transform=grid.transform, fill=0, dtype="uint8").astype(bool)
    dem = _dem_on_grid(dem_path, grid)
    gy, gx = np.gradient(np.where(np.isfinite(dem), dem, np.nanmean(dem) if np.isfinite(dem).any() else 0.0), grid.resolution)
    factor = _tobler(np.hypot(gx, gy), settings)
    speed = (settings.speeds.off_road * factor).astype("float64")
    cors = _corridors_in_use(layers, include_planned, extra_corridors)
    roads = cors[cors["class"].isin(BURNT_CLASSES)]
    if len(roads):
        v = corridor_speeds(roads, settings, scenario=roads["_scenario"].to_numpy(bool))
        order = np.argsort(v, kind="stable")  # slowest first: the fastest is burnt last and wins
        geoms = roads.to_crs(EQUAL_AREA_CRS).geometry.to_numpy()
        burnt = rasterize([(geoms[i], v[i]) for i in order], out_shape=speed.shape, transform=grid.transform,
                          fill=0, all_touched=True, dtype="float64")
        speed = np.where(burnt > 0, burnt, speed)
    return speed, factor, inside


def _cell_graph(speed_kmh: np.ndarray, resolution: float, active: np.ndarray):
    """8-connected cell graph, both directions; edge minutes = distance x mean pace of both cells."""
    h, w = speed_kmh.shape
    with np.errstate(divide="ignore"):
        pace = np.where(active, 60.0 / speed_kmh / 1000.0, np.inf)  # minutes per metre
    idx = np.arange(h * w, dtype=np.int64).reshape(h, w)
    us, vs, ws = [], [], []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        r0, r1 = max(0, -dr), h - max(0, dr)
        c0, c1 = max(0, -dc), w - max(0, dc)
        a = idx[r0:r1, c0:c1]
        b = idx[r0 + dr:r1 + dr, c0 + dc:c1 + dc]
        dist = resolution * (np.sqrt(2.0) if dr and dc else 1.0)
        cost = dist * (pace[r0:r1, c0:c1] + pace[r0 + dr:r1 + dr, c0 + dc:c1 + dc]) / 2.0
        ok = np.isfinite(cost)
        us += [a[ok], b[ok]]
        vs += [b[ok], a[ok]]
        ws += [cost[ok], cost[ok]]
    return np.concatenate(us), np.concatenate(vs), np.concatenate(ws)


def multi_source_times(graph, nodes, start_minutes=None, *, limit=None) -> np.ndarray:
    """Minutes from the nearest of ``nodes`` (each with its start time) to every node of a directed graph.

    Several sources on one node keep the smallest start time (never their sum).
    Returns ``inf`` where unreachable (or beyond ``limit``).

    Examples
    --------
    >>> from scipy.sparse import csr_matrix
    >>> g = csr_matrix(([1.0, 1.0], ([0, 1], [1, 2])), shape=(3, 3))
    >>> multi_source_times(g, [0, 0], [10.0, 30.0]).tolist()
    [10.0, 11.0, 12.0]
    """
    n = graph.shape[0]
    nodes = np.asarray(nodes, dtype=np.int64).ravel()
    limit = np.inf if limit is None else float(limit)
    if start_minutes is None or not np.any(np.asarray(start_minutes, float)):
        return np.atleast_2d(dijkstra(graph, directed=True, indices=np.unique(nodes), min_only=True, limit=limit))[0]
    start = np.asarray(start_minutes, dtype=float).ravel()
    best = np.full(n, np.inf)
    np.minimum.at(best, nodes, start)  # the minimum per node: coo_matrix would add duplicates up
    seeds = np.flatnonzero(np.isfinite(best))
    g = graph.tocsr()
    # A virtual source (row n) linked to every seed node with its start time.
    indptr = np.concatenate([g.indptr, [g.indptr[-1] + seeds.size]])
    indices = np.concatenate([g.indices, seeds]).astype(g.indices.dtype if n < 2**31 - 1 else np.int64)
    data = np.concatenate([g.data, np.maximum(best[seeds], 1e-12)])
    aug = csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
    return dijkstra(aug, directed=True, indices=n, limit=limit)[:n]


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
    g = coo_matrix((wt, (u, v)), shape=(h * w, h * w)).tocsr()
    t = multi_source_times(g, r[ok] * w + c[ok], seed_minutes[ok]).reshape(h, w)
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


def zonal_time_stats(minutes: np.ndarray, grid: Grid, boundaries: gpd.GeoDataFrame, *, thresholds=(60, 120),
                     active=None) -> pd.DataFrame:
    """Per county: mean and median minutes, area and population share within each threshold.

    A cell belongs to the county holding its centre (and, with ``active``, only
    if it can be crossed).  ``unreachable_share`` is the share of the county's
    cells with no finite time.  Columns are named after the thresholds
    (``area_share_60min``).

    Population shares assume the county's 2020 population is spread evenly over
    its area (no population grid is available offline): they equal the area
    shares and are marked so in ``population_method``.
    """
    counties = boundaries[boundaries["level"] == "county"].sort_values("adcode").reset_index(drop=True)
    zones = rasterize([(g, i + 1) for i, g in enumerate(counties.to_crs(EQUAL_AREA_CRS).geometry)],
                      out_shape=minutes.shape, transform=grid.transform, fill=0, dtype="int32")
    if active is not None:
        zones = np.where(active, zones, 0)
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
        for th in thresholds:
            share = float((reach <= th).sum() / n) if n else np.nan
            t = f"{float(th):g}"
            row[f"area_share_{t}min"] = share
            row[f"area_km2_{t}min"] = share * n * cell_km2 if n else np.nan
            known = pop is not None and pd.notna(pop)
            row[f"population_{t}min"] = share * pop if known else np.nan
            row[f"population_share_{t}min"] = share if known else np.nan
        row["population_method"] = "uniform over county area (assumption)"
        rows.append(row)
    return pd.DataFrame(rows)
