"""Joint-park site finder (毗邻地区合作共建园区 / 飞地产业园).

Candidates are squares of the requested area laid on a lattice (step = half
the side) in the equal-area projection, kept only when they lie wholly inside
the chosen counties and touch no hard constraint: vector constraints are tested
on the geometry, raster ones (slope, elevation) over every cell the square
touches (the squares and the grid share the equal-area CRS, so a square's cells
are a rectangle of rows and columns, summed exactly with a summed-area table).

Components (raw value -> 0..1, 1 best)
--------------------------------------
``balance``       worse of the minutes to the two city cores; min-max over the candidates, lower is better
``hsr``           minutes to the nearest operating high-speed station; min-max, lower is better
``expressway``    minutes to the nearest expressway access point; min-max, lower is better
``suitability``   mean suitability score (1-5) of the cells the square touches; (s - 1) / 4
``park_distance`` km to the nearest existing park; min(d, cap) / cap

Score = sum of weight x component (weights normalised to 1).  The top N are
chosen greedily by score (ties broken by candidate id) skipping any square
that overlaps one already chosen, so the result does not depend on row order.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..data.crs import EQUAL_AREA_CRS
from ..settings import DEFAULT
from . import _times
from ..errors import PlanningError
from ..settings import planning_settings
from .suitability import construction_suitability, hard_constraint_layers

__all__ = [
    "COMPONENTS",
    "border_counties",
    "candidate_squares",
    "find_sites",
    "normalise_components",
    "score_components",
    "select_top",
    "sensitivity",
]

log = logging.getLogger(__name__)

COMPONENTS = ("balance", "hsr", "expressway", "suitability", "park_distance")
_RAW = {"balance": "worse_core_min", "hsr": "hsr_min", "expressway": "expressway_min",
        "suitability": "suitability_score", "park_distance": "park_km"}


def border_counties(boundaries: gpd.GeoDataFrame, *, tol_m: float = 1000.0) -> list[str]:
    """Adcodes of the counties that touch (within ``tol_m``) a county of the other prefecture.

    Distances are measured in the regional equal-area projection (scale
    within about 0.3 % of true in the region).

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        The boundaries layer (any CRS): rows with ``level == "county"``, with
        ``adcode`` and ``parent_adcode`` (the prefecture).
    tol_m : float, default 1000.0
        Largest gap, metres, between a county and the other prefecture for it
        to count as a border county (absorbs slivers between the two
        prefectures' outlines).

    Returns
    -------
    list of str
        The border counties' adcodes of both prefectures, sorted.

    Raises
    ------
    PlanningError
        The county rows do not belong to exactly two prefectures.

    Examples
    --------
    Two counties of one city, one of the other; only the pair that shares a
    border counts:

    >>> from shapely.geometry import box
    >>> b = gpd.GeoDataFrame({"adcode": ["150401", "150402", "150501"], "level": "county",
    ...                       "parent_adcode": ["150400", "150400", "150500"]},
    ...                      geometry=[box(120.0, 43.0, 120.1, 43.1), box(119.8, 43.0, 119.9, 43.1),
    ...                                box(120.1, 43.0, 120.2, 43.1)], crs=4326)
    >>> border_counties(b)
    ['150401', '150501']
    """
    c = boundaries[boundaries["level"] == "county"].to_crs(EQUAL_AREA_CRS)
    cities = sorted(c["parent_adcode"].astype(str).unique())
    if len(cities) != 2:
        raise PlanningError(f"border counties need exactly two prefectures, found {cities}")
    out = []
    for a, b in (cities, cities[::-1]):
        other = shapely.union_all(np.asarray(c.loc[c["parent_adcode"].astype(str) == b].geometry.values))
        mine = c[c["parent_adcode"].astype(str) == a]
        shapely.prepare(other)  # within tol_m (GEOS stops at the first close pair; no full distance)
        out += list(mine.loc[shapely.dwithin(np.asarray(mine.geometry.values), other, tol_m), "adcode"].astype(str))
    return sorted(out)


def candidate_squares(area_ea, side_m: float, *, step_m: float | None = None) -> gpd.GeoDataFrame:
    """Squares of side ``side_m`` on a lattice anchored at multiples of ``step_m``, wholly inside ``area_ea``.

    Square centres lie at integer multiples of the step (in projected metres),
    so the lattice does not depend on the area searched: the same place gets
    the same square and id in any search that contains it.

    Parameters
    ----------
    area_ea : shapely.Geometry
        The area to fill, in :data:`twinstar_gis.data.crs.EQUAL_AREA_CRS`
        (metres).  It is prepared in place for faster predicates.
    side_m : float
        Side of each square, metres (``sqrt(area_km2) * 1000`` for a park of
        ``area_km2``).
    step_m : float, optional
        Lattice step, metres; default half the side (neighbouring squares
        overlap by half).

    Returns
    -------
    geopandas.GeoDataFrame
        ``candidate_id`` (``"<ix>_<iy>"``, the lattice indices of the centre)
        and the square, in the equal-area CRS, for every square wholly inside
        ``area_ea`` (its boundary may touch the area's), ordered by ``iy``
        then ``ix``.

    Examples
    --------
    4 km squares in a 10 km square: centres every 2 km from 2 km to 8 km, 4 x 4:

    >>> from shapely.geometry import box
    >>> c = candidate_squares(box(0, 0, 10_000, 10_000), 4000.0)
    >>> len(c), c["candidate_id"].tolist()[:3], c.geometry.iloc[0].bounds
    (16, ['1_1', '2_1', '3_1'], (0.0, 0.0, 4000.0, 4000.0))
    """
    step = step_m or side_m / 2.0
    x0, y0, x1, y1 = area_ea.bounds
    ix = np.arange(np.floor(x0 / step), np.ceil(x1 / step) + 1)
    iy = np.arange(np.floor(y0 / step), np.ceil(y1 / step) + 1)
    gx, gy = np.meshgrid(ix, iy)
    gx, gy = gx.ravel(), gy.ravel()
    cx, cy = gx * step, gy * step
    h = side_m / 2.0
    boxes = shapely.box(cx - h, cy - h, cx + h, cy + h)
    shapely.prepare(area_ea)
    ok = shapely.contains(area_ea, boxes)
    ids = [f"{int(a)}_{int(b)}" for a, b in zip(gx[ok], gy[ok])]
    return gpd.GeoDataFrame({"candidate_id": ids}, geometry=boxes[ok], crs=EQUAL_AREA_CRS)


def _minmax_low_good(v: pd.Series) -> pd.Series:
    lo, hi = v.min(), v.max()
    if not np.isfinite(hi - lo) or hi == lo:
        return pd.Series(np.where(v.notna(), 1.0, np.nan), index=v.index)
    return (hi - v) / (hi - lo)


def normalise_components(raw: pd.DataFrame, *, park_cap_km: float) -> pd.DataFrame:
    """0..1 components (1 best) from the raw columns (see the module docstring).

    Parameters
    ----------
    raw : pandas.DataFrame
        One row per candidate with the raw values: ``worse_core_min``
        (balance), ``hsr_min``, ``expressway_min`` (minutes),
        ``suitability_score`` (1-5) and ``park_km`` (km).
    park_cap_km : float
        Distance from the nearest existing park beyond which the
        ``park_distance`` component stays 1.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``raw``, one column per component of :data:`COMPONENTS`:
        the three times min-max scaled over the candidates (shortest 1,
        longest 0; 1 for all when they are all equal), ``suitability`` as
        ``(s - 1) / 4`` and ``park_distance`` as ``min(km, cap) / cap``.  NaN
        stays NaN.

    Examples
    --------
    >>> raw = pd.DataFrame({"worse_core_min": [30.0, 60.0, 90.0], "hsr_min": [10.0, 10.0, 10.0],
    ...                     "expressway_min": [5.0, np.nan, 15.0], "suitability_score": [1.0, 3.0, 5.0],
    ...                     "park_km": [0.0, 15.0, 45.0]})
    >>> normalise_components(raw, park_cap_km=30.0).values.tolist()
    [[1.0, 1.0, 1.0, 0.0, 0.0], [0.5, 1.0, nan, 0.5, 0.5], [0.0, 1.0, 0.0, 1.0, 1.0]]
    """
    out = pd.DataFrame(index=raw.index)
    for k in ("balance", "hsr", "expressway"):
        out[k] = _minmax_low_good(raw[_RAW[k]])
    out["suitability"] = (raw[_RAW["suitability"]] - 1.0) / 4.0
    out["park_distance"] = np.minimum(raw[_RAW["park_distance"]], park_cap_km) / park_cap_km
    return out


def score_components(comp: pd.DataFrame, weights: dict) -> pd.Series:
    """Weighted sum of the components (weights normalised to sum 1).

    Parameters
    ----------
    comp : pandas.DataFrame
        The 0..1 components (:func:`normalise_components`), one column per
        name in :data:`COMPONENTS`.
    weights : dict
        ``component -> weight`` for every name in :data:`COMPONENTS`; any
        positive scale (divided by their sum).

    Returns
    -------
    pandas.Series
        The score, 0..1, indexed like ``comp``; NaN where a component is NaN.

    Examples
    --------
    >>> comp = pd.DataFrame({"balance": [1.0, 0.0], "hsr": [0.0, 1.0], "expressway": [0.0, 1.0],
    ...                      "suitability": [0.5, 0.0], "park_distance": [0.0, 0.5]})
    >>> w = {"balance": 7, "hsr": 3, "expressway": 3, "suitability": 4, "park_distance": 3}  # sum 20
    >>> score_components(comp, w).round(6).tolist()  # (7 + 0.5 * 4) / 20, (3 + 3 + 0.5 * 3) / 20
    [0.45, 0.375]
    """
    total = sum(weights.values())
    return sum(comp[k] * (weights[k] / total) for k in COMPONENTS)


def select_top(gdf: gpd.GeoDataFrame, n: int, *, score: str = "score", min_gap_m: float = 0.0) -> gpd.GeoDataFrame:
    """The ``n`` best rows by ``score`` (ties by ``candidate_id``) whose squares do not overlap.

    Greedy: candidates are taken best first and kept when they overlap none of
    those already kept, so the result does not depend on row order.  With
    ``min_gap_m`` > 0 the chosen squares are also at least that far apart
    (distinct alternatives rather than neighbouring copies of one place).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Candidates with ``candidate_id``, the score column and their squares
        in a projected CRS in metres (the equal-area CRS); index labels unique.
    n : int
        Most rows returned (fewer when fewer fit).
    score : str, default "score"
        Column to rank by, higher is better.
    min_gap_m : float, default 0.0
        Least distance, in the CRS's units (metres), between two chosen
        squares; 0 allows touching squares.

    Returns
    -------
    geopandas.GeoDataFrame
        The chosen rows of ``gdf`` (index kept), best first.

    Examples
    --------
    ``b`` overlaps the better ``a``; ``c`` lies 1118 m from ``a``
    (``hypot(500, 1000)``):

    >>> from shapely.geometry import box
    >>> gdf = gpd.GeoDataFrame({"candidate_id": ["a", "b", "c"], "score": [0.9, 0.8, 0.7]},
    ...                        geometry=[box(0, 0, 2000, 2000), box(1000, 0, 3000, 2000), box(2500, 3000, 4500, 5000)])
    >>> select_top(gdf, 2)["candidate_id"].tolist()
    ['a', 'c']
    >>> select_top(gdf, 2, min_gap_m=2000)["candidate_id"].tolist()
    ['a']
    """
    order = gdf.sort_values([score, "candidate_id"], ascending=[False, True], kind="mergesort")
    chosen = []
    for idx, geom in zip(order.index, order.geometry):
        if len(chosen) >= n:
            break
        if all(shapely.area(shapely.intersection(geom, gdf.geometry[j])) <= 1e-6
               and (min_gap_m <= 0 or shapely.distance(geom, gdf.geometry[j]) >= min_gap_m) for j in chosen):
            chosen.append(idx)
    return gdf.loc[chosen]


def sensitivity(comp: pd.DataFrame, geoms: gpd.GeoDataFrame, weights: dict, n: int, *, step: float,
                min_gap_m: float = 0.0) -> pd.DataFrame:
    """How the top-``n`` changes when each weight moves by ``±step`` (relative), others unchanged.

    Parameters
    ----------
    comp : pandas.DataFrame
        The 0..1 components of every candidate (:func:`normalise_components`).
    geoms : geopandas.GeoDataFrame
        The candidates (``candidate_id`` and squares, projected metres),
        indexed like ``comp``.
    weights : dict
        The base weights, one per name in :data:`COMPONENTS`.
    n : int
        Size of the top list (as chosen by :func:`select_top`).
    step : float
        Relative change of one weight, e.g. 0.25 for -25 % and +25 % (the
        weights are renormalised to sum 1 after the change).
    min_gap_m : float, default 0.0
        As :func:`select_top`.

    Returns
    -------
    pandas.DataFrame
        One row per weight (in the order of :data:`COMPONENTS`), change
        (``"-25%"`` then ``"+25%"``) and base site (best first): ``weight``,
        ``change``, ``site_rank`` (1 = best under the base weights),
        ``candidate_id``, ``candidate_rank_changed`` (its rank among all
        candidates by score under the changed weights, 1 = best) and
        ``in_changed_top`` (whether it is still chosen).

    Examples
    --------
    Two candidates; with the default weights (0.35, 0.15, 0.15, 0.2, 0.15)
    the first scores 0.45 and the second 0.375.  Cutting the balance weight
    by 25 % gives 0.3625 / 0.9125 = 0.397 against 0.375 / 0.9125 = 0.411:
    the only change that swaps them.

    >>> from shapely.geometry import box
    >>> comp = pd.DataFrame({"balance": [1.0, 0.0], "hsr": [0.0, 1.0], "expressway": [0.0, 1.0],
    ...                      "suitability": [0.5, 0.0], "park_distance": [0.0, 0.5]})
    >>> geoms = gpd.GeoDataFrame({"candidate_id": ["0_0", "5_0"]},
    ...                          geometry=[box(0, 0, 1000, 1000), box(5000, 0, 6000, 1000)])
    >>> w = {"balance": 0.35, "hsr": 0.15, "expressway": 0.15, "suitability": 0.2, "park_distance": 0.15}
    >>> s = sensitivity(comp, geoms, w, 1, step=0.25)
    >>> len(s), s.loc[~s["in_changed_top"], ["weight", "change", "candidate_id", "candidate_rank_changed"]].values.tolist()
    (10, [['balance', '-25%', '0_0', 2]])
    """
    base = geoms.assign(score=score_components(comp, weights))
    top = select_top(base, n, min_gap_m=min_gap_m)
    rows = []
    for k in COMPONENTS:
        for f in (1.0 - step, 1.0 + step):
            w = dict(weights, **{k: weights[k] * f})
            var = geoms.assign(score=score_components(comp, w))
            ranked = var.sort_values(["score", "candidate_id"], ascending=[False, True], kind="mergesort")
            rank = pd.Series(np.arange(1, len(ranked) + 1), index=ranked["candidate_id"].to_numpy())
            vtop = set(select_top(var, n, min_gap_m=min_gap_m)["candidate_id"])
            for base_rank, cid in enumerate(top["candidate_id"], start=1):
                rows.append({"weight": k, "change": f"{(f - 1) * 100:+.0f}%", "site_rank": base_rank, "candidate_id": cid,
                             "candidate_rank_changed": int(rank[cid]), "in_changed_top": cid in vtop})
    return pd.DataFrame(rows)


def _park_km(cands_ea, parks):
    if parks is None or not len(parks):
        return np.full(len(cands_ea), np.nan)
    tree_geoms = np.asarray(parks.to_crs(EQUAL_AREA_CRS).geometry.values)
    tree = shapely.STRtree(tree_geoms)
    _, dist = tree.query_nearest(np.asarray(cands_ea.geometry.values), return_distance=True, all_matches=False)
    return dist / 1000.0


def box_cells(grid, bounds: np.ndarray, shape) -> tuple:
    """Inclusive row / column ranges of the cells that axis-aligned boxes (grid CRS) touch, clipped to the grid.

    Parameters
    ----------
    grid : twinstar_gis.model.surface.Grid
        The raster grid (north-up, square cells of ``grid.resolution`` metres).
    bounds : numpy.ndarray
        (n, 4) array of minx, miny, maxx, maxy in the grid's CRS (metres).  A
        box edge lying exactly on a cell edge does not touch the next cell
        (1 mm inset).
    shape : tuple of int
        (rows, columns) of the arrays the ranges index (the grid's shape).

    Returns
    -------
    tuple of numpy.ndarray
        ``(r0, c0, r1, c1)``: first and last row, first and last column of
        each box, clipped to the array.  A box partly off the grid gets the
        cells it covers on the grid; one wholly off it gets the nearest edge
        cells (callers keep boxes on the grid).

    Examples
    --------
    A 3 x 4 grid of 1 km cells with its top-left corner at (0, 3000):

    >>> from rasterio.transform import from_origin
    >>> from twinstar_gis.model.surface import Grid
    >>> g = Grid(from_origin(0, 3000, 1000, 1000), 4, 3, None, 1000.0)
    >>> r0, c0, r1, c1 = box_cells(g, np.array([[500, 500, 1500, 2500], [1000, 1000, 2000, 2000]]), (3, 4))
    >>> r0.tolist(), c0.tolist(), r1.tolist(), c1.tolist()  # rows 0-2 x columns 0-1; the cell-aligned box: cell (1, 1)
    ([0, 1], [0, 1], [2, 1], [1, 1])
    """
    b = np.asarray(bounds, dtype=float).reshape(-1, 4)
    eps = 1e-3
    r0, c0 = grid.rowcol(b[:, 0] + eps, b[:, 3] - eps)
    r1, c1 = grid.rowcol(b[:, 2] - eps, b[:, 1] + eps)
    h, w = shape
    return np.clip(r0, 0, h - 1), np.clip(c0, 0, w - 1), np.clip(r1, 0, h - 1), np.clip(c1, 0, w - 1)


def box_sum(values: np.ndarray, r0, c0, r1, c1) -> np.ndarray:
    """Sum of ``values`` over each inclusive cell window (summed-area table, exact).

    Parameters
    ----------
    values : numpy.ndarray
        2-D array (bool counts as 0/1); must hold no NaN (a NaN spoils every
        window below and right of it).
    r0, c0, r1, c1 : numpy.ndarray of int
        Inclusive windows, as :func:`box_cells` returns them.

    Returns
    -------
    numpy.ndarray of float
        One sum per window.

    Examples
    --------
    >>> v = np.arange(12.0).reshape(3, 4)
    >>> box_sum(v, np.array([0, 1]), np.array([0, 1]), np.array([2, 1]), np.array([1, 1])).tolist()  # 0+1+4+5+8+9, 5
    [27.0, 5.0]
    """
    sat = np.zeros((values.shape[0] + 1, values.shape[1] + 1))
    sat[1:, 1:] = np.asarray(values, dtype=float).cumsum(0).cumsum(1)
    return sat[r1 + 1, c1 + 1] - sat[r0, c1 + 1] - sat[r1 + 1, c0] + sat[r0, c0]


def box_mean(values: np.ndarray, grid, bounds) -> np.ndarray:
    """Mean of the finite cells each box touches (NaN where none is finite).

    Parameters
    ----------
    values : numpy.ndarray
        2-D array on ``grid``; NaN = no data (left out of the mean).
    grid : twinstar_gis.model.surface.Grid
        The grid of ``values``.
    bounds : numpy.ndarray
        (n, 4) boxes: minx, miny, maxx, maxy in the grid's CRS.

    Returns
    -------
    numpy.ndarray of float
        One mean per box.

    Examples
    --------
    >>> from rasterio.transform import from_origin
    >>> from twinstar_gis.model.surface import Grid
    >>> g = Grid(from_origin(0, 3000, 1000, 1000), 4, 3, None, 1000.0)
    >>> v = np.arange(12.0).reshape(3, 4)
    >>> v[0, 0] = np.nan
    >>> box_mean(v, g, np.array([[500, 500, 1500, 2500]])).tolist()  # (1 + 4 + 5 + 8 + 9) / 5
    [5.4]
    """
    win = box_cells(grid, bounds, values.shape)
    ok = np.isfinite(values)
    n = box_sum(ok, *win)
    total = box_sum(np.where(ok, values, 0.0), *win)
    return np.where(n > 0, total / np.where(n > 0, n, 1), np.nan)


def box_any(mask: np.ndarray, grid, bounds) -> np.ndarray:
    """Whether any cell each box touches is set.

    Parameters
    ----------
    mask : numpy.ndarray of bool
        2-D mask on ``grid`` (e.g. cells steeper than the limit).
    grid : twinstar_gis.model.surface.Grid
        The grid of ``mask``.
    bounds : numpy.ndarray
        (n, 4) boxes: minx, miny, maxx, maxy in the grid's CRS.

    Returns
    -------
    numpy.ndarray of bool
        One flag per box.

    Examples
    --------
    >>> from rasterio.transform import from_origin
    >>> from twinstar_gis.model.surface import Grid
    >>> g = Grid(from_origin(0, 3000, 1000, 1000), 4, 3, None, 1000.0)
    >>> steep = np.zeros((3, 4), bool)
    >>> steep[2, 0] = True  # the bottom-left cell
    >>> box_any(steep, g, np.array([[500, 500, 1500, 2500], [1000, 1000, 2000, 2000]])).tolist()
    [True, False]
    """
    return box_sum(np.asarray(mask, bool), *box_cells(grid, bounds, mask.shape)) > 0


_LABELS = {"balance": "balanced time to both cores", "hsr": "high-speed station access", "expressway": "expressway access",
           "suitability": "construction suitability", "park_distance": "distance from existing parks"}


def _explain(row, weights) -> str:
    """The two components that earned most points and the one that lost most (weight x shortfall)."""
    got = {k: row[f"{k}_points"] for k in COMPONENTS}
    lost = {k: weights[k] - got[k] for k in COMPONENTS}
    best = sorted(got, key=lambda k: (-got[k], k))[:2]
    worst = min(lost, key=lambda k: (-lost[k], k))
    return (f"strongest: {_LABELS[best[0]]} (+{got[best[0]]:.3f}), {_LABELS[best[1]]} (+{got[best[1]]:.3f}); "
            f"most points lost on {_LABELS[worst]} (-{lost[worst]:.3f})")


def _candidates(layers, counties, side_m, ps):
    b = layers["boundaries"]
    cty = b[(b["level"] == "county")].copy()
    cty["adcode"] = cty["adcode"].astype(str)
    bad = sorted(set(counties) - set(cty["adcode"]))
    if bad:
        raise PlanningError(f"unknown county adcode(s) {bad}; known: {', '.join(sorted(cty['adcode']))}")
    chosen = cty[cty["adcode"].isin(counties)].to_crs(EQUAL_AREA_CRS)
    area = shapely.union_all(np.asarray(chosen.geometry.values))
    cands = candidate_squares(area, side_m)
    hard = hard_constraint_layers(layers, river_buffer_m=ps.river_buffer_m)
    if hard:
        union = shapely.union_all(np.concatenate([np.asarray(g.to_crs(EQUAL_AREA_CRS).values) for g in hard.values()]))
        shapely.prepare(union)
        cands = cands[~shapely.intersects(union, np.asarray(cands.geometry.values))]
    return cands.reset_index(drop=True), chosen


def find_sites(layers: dict, *, dem_path=None, counties=None, area_km2: float | None = None, top: int = 5,
               settings=DEFAULT, planning=None, suitability=None, model=None) -> dict:
    """Top ``top`` non-overlapping joint-park sites (see the module docstring).

    Parameters
    ----------
    layers : dict
        The dataset's layers (``boundaries``, ``places`` with two ``city_core``, ``corridors``, ...).
    dem_path : path-like, optional
    counties : list of str, optional
        County adcodes to search; default: the counties along the border of the two prefectures.
    area_km2 : float, optional
        Park size; default ``planning.site_area_km2``.
    top : int
    suitability : SuitabilityResult, optional
        Reuse a computed suitability raster (same settings).
    model : TravelTimeModel, optional
        The base travel-time model of these layers, DEM and settings, if already built.

    Returns
    -------
    dict
        ``sites`` (GeoDataFrame, WGS-84, one row per chosen site, every raw value,
        component, weighted points and the score), ``candidates`` (all scored
        squares), ``sensitivity`` (table), ``counties`` (adcodes searched).
    """
    ps = planning or planning_settings(settings)
    area_km2 = float(area_km2 or ps.site_area_km2)
    if area_km2 <= 0 or top < 1:
        raise PlanningError("the park area must be positive and at least one site must be asked for")
    counties = sorted(str(c) for c in counties) if counties else border_counties(layers["boundaries"])
    cands, chosen = _candidates(layers, counties, np.sqrt(area_km2) * 1000.0, ps)
    if not len(cands):
        raise PlanningError(f"no {area_km2:g} km² square fits inside counties {counties} outside every hard constraint")
    suit = suitability or construction_suitability(layers, dem_path=dem_path, settings=settings, planning=ps, model=model)
    places = layers["places"]
    cores = sorted(places.loc[places["kind"] == "city_core", "place_id"].astype(str))
    if len(cores) != 2:
        raise PlanningError(f"the site finder needs exactly two city cores (places kind=city_core), found {cores}")
    surf = _times.surfaces_for(layers, {"core_a": [cores[0]], "core_b": [cores[1]]}, dem_path=dem_path, settings=settings,
                               model=model)
    bounds = cands.geometry.bounds.to_numpy()
    hard_raster = np.zeros(len(cands), bool)
    for name in ("steep_slope", "high_elevation"):
        if name in suit.hard:
            hard_raster |= box_any(suit.hard[name], suit.grid, bounds)
    s = box_mean(suit.score, suit.grid, bounds)
    c = cands.geometry.centroid
    raw = pd.DataFrame({
        "core_a_min": _times.sample(surf.minutes["core_a"], surf.grid, c),
        "core_b_min": _times.sample(surf.minutes["core_b"], surf.grid, c),
        "hsr_min": _times.sample(suit.surfaces.get("hsr", np.full(suit.inside.shape, np.nan)), suit.grid, c),
        "expressway_min": _times.sample(suit.surfaces.get("expressway", np.full(suit.inside.shape, np.nan)), suit.grid, c),
        "suitability_score": s,
        "park_km": _park_km(cands, layers.get("parks")),
    })
    raw["worse_core_min"] = raw[["core_a_min", "core_b_min"]].max(axis=1, skipna=False)
    keep = ~hard_raster & raw[list(_RAW.values())].notna().all(axis=1).to_numpy()
    log.info("sites: %d candidates in %d counties, %d kept (%d on steep/high cells, %d with a missing value)",
             len(cands), len(counties), keep.sum(), hard_raster.sum(), (~keep & ~hard_raster).sum())
    cands, raw = cands[keep].reset_index(drop=True), raw[keep].reset_index(drop=True)
    if not len(cands):
        raise PlanningError("every candidate site is unreachable or on a hard constraint")
    weights = ps.site_weights()
    comp = normalise_components(raw, park_cap_km=ps.park_distance_cap_km)
    scored = cands.join(raw)
    for k in COMPONENTS:
        scored[f"{k}_component"] = comp[k]
        scored[f"{k}_points"] = comp[k] * weights[k]
    scored["score"] = score_components(comp, weights)
    gap = ps.site_min_gap_km * 1000.0
    best = select_top(scored, top, min_gap_m=gap)
    sens = sensitivity(comp, cands, weights, len(best), step=ps.sensitivity_step, min_gap_m=gap)
    return {"sites": _describe_sites(best, chosen, weights, area_km2), "candidates": scored.to_crs(4326),
            "sensitivity": sens, "counties": counties}


def _describe_sites(best, chosen, weights, area_km2):
    from ..data.crs import geodesic_area_km2

    out = best.copy()
    out.insert(0, "site_rank", np.arange(1, len(out) + 1))
    cty = chosen[["adcode", "name_zh", "geometry"]]
    inter = gpd.overlay(out[["candidate_id", "geometry"]], cty, how="intersection", keep_geom_type=True)
    inter["a"] = inter.geometry.area
    names = inter.sort_values(["candidate_id", "a"], ascending=[True, False]).groupby("candidate_id")
    out["counties"] = out["candidate_id"].map(names["name_zh"].agg(lambda v: "、".join(v)))
    out["county_adcodes"] = out["candidate_id"].map(names["adcode"].agg(lambda v: ";".join(v)))
    out = out.to_crs(4326)
    cen = out.to_crs(EQUAL_AREA_CRS).geometry.centroid.to_crs(4326)
    out["lon"], out["lat"] = cen.x.round(5), cen.y.round(5)
    out["area_km2"] = geodesic_area_km2(out.geometry.values).round(3)
    out["why"] = [_explain(r, weights) for _, r in out.iterrows()]
    out["requested_area_km2"] = area_km2
    return out.reset_index(drop=True)
