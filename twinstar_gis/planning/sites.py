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
    """Adcodes of the counties that touch (within ``tol_m``) a county of the other prefecture."""
    c = boundaries[boundaries["level"] == "county"].to_crs(EQUAL_AREA_CRS)
    cities = sorted(c["parent_adcode"].astype(str).unique())
    if len(cities) != 2:
        raise PlanningError(f"border counties need exactly two prefectures, found {cities}")
    out = []
    for a, b in (cities, cities[::-1]):
        other = shapely.union_all(np.asarray(c.loc[c["parent_adcode"].astype(str) == b].geometry.values))
        mine = c[c["parent_adcode"].astype(str) == a]
        out += list(mine.loc[mine.geometry.distance(other) <= tol_m, "adcode"].astype(str))
    return sorted(out)


def candidate_squares(area_ea, side_m: float, *, step_m: float | None = None) -> gpd.GeoDataFrame:
    """Squares of side ``side_m`` on a lattice anchored at multiples of ``step_m``, wholly inside ``area_ea``.

    ``area_ea`` is a shapely geometry in the equal-area CRS.  Returns ``candidate_id``
    (``x_y`` of the lattice indices, stable whatever the input order), geometry (equal-area CRS).
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
    """0..1 components (1 best) from the raw columns (see the module docstring)."""
    out = pd.DataFrame(index=raw.index)
    for k in ("balance", "hsr", "expressway"):
        out[k] = _minmax_low_good(raw[_RAW[k]])
    out["suitability"] = (raw[_RAW["suitability"]] - 1.0) / 4.0
    out["park_distance"] = np.minimum(raw[_RAW["park_distance"]], park_cap_km) / park_cap_km
    return out


def score_components(comp: pd.DataFrame, weights: dict) -> pd.Series:
    """Weighted sum of the components (weights normalised to sum 1)."""
    total = sum(weights.values())
    return sum(comp[k] * (weights[k] / total) for k in COMPONENTS)


def select_top(gdf: gpd.GeoDataFrame, n: int, *, score: str = "score", min_gap_m: float = 0.0) -> gpd.GeoDataFrame:
    """The ``n`` best rows by ``score`` (ties by ``candidate_id``) whose squares do not overlap.

    With ``min_gap_m`` > 0 the chosen squares are also at least that far apart
    (distinct alternatives rather than neighbouring copies of one place).
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

    One row per (weight, change, base site): the base site's rank among all
    candidates under the changed weights, and whether it stays in the changed top n.
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

    ``bounds`` is an (n, 4) array of minx, miny, maxx, maxy.  A box edge lying exactly
    on a cell edge does not touch the next cell (1 mm inset).
    """
    b = np.asarray(bounds, dtype=float).reshape(-1, 4)
    eps = 1e-3
    r0, c0 = grid.rowcol(b[:, 0] + eps, b[:, 3] - eps)
    r1, c1 = grid.rowcol(b[:, 2] - eps, b[:, 1] + eps)
    h, w = shape
    return np.clip(r0, 0, h - 1), np.clip(c0, 0, w - 1), np.clip(r1, 0, h - 1), np.clip(c1, 0, w - 1)


def box_sum(values: np.ndarray, r0, c0, r1, c1) -> np.ndarray:
    """Sum of ``values`` over each inclusive cell window (summed-area table, exact)."""
    sat = np.zeros((values.shape[0] + 1, values.shape[1] + 1))
    sat[1:, 1:] = np.asarray(values, dtype=float).cumsum(0).cumsum(1)
    return sat[r1 + 1, c1 + 1] - sat[r0, c1 + 1] - sat[r1 + 1, c0] + sat[r0, c0]


def box_mean(values: np.ndarray, grid, bounds) -> np.ndarray:
    """Mean of the finite cells each box touches (NaN where none is finite)."""
    win = box_cells(grid, bounds, values.shape)
    ok = np.isfinite(values)
    n = box_sum(ok, *win)
    total = box_sum(np.where(ok, values, 0.0), *win)
    return np.where(n > 0, total / np.where(n > 0, n, 1), np.nan)


def box_any(mask: np.ndarray, grid, bounds) -> np.ndarray:
    """Whether any cell each box touches is set."""
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
