"""Travel times for the planning analyses: the only place that talks to the travel-time model.

Everything here asks the one travel-time model (:mod:`twinstar_gis.traveltime`,
contract API ``build_model`` / ``time_surface`` / ``times_at``) for surfaces
and OD minutes.  Until that module exists, a fallback builds the same kind of
surface from :mod:`twinstar_gis.network` and :mod:`twinstar_gis.raster_access`
(network times handed over to a friction raster at every exit node).
The fallback is temporary and is deleted at merge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..crs import EQUAL_AREA_CRS
from ..settings import DEFAULT

try:  # the contract API (helper "model")
    from ..traveltime import build_model, time_surface
except ImportError:  # pragma: no cover - removed at merge
    build_model = time_surface = None

__all__ = ["Surfaces", "od_minutes", "point_minutes", "sample", "surfaces_for"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Surfaces:
    """Travel-time surfaces (minutes, NaN unreachable) on one equal-area grid."""

    grid: object
    inside: np.ndarray
    minutes: dict


def _as_points(src) -> gpd.GeoSeries | None:
    if isinstance(src, gpd.GeoSeries):
        return src.to_crs(4326)
    return None


def _with_points(layers, named_points: dict) -> tuple[dict, dict]:
    """Layers with extra places for point targets; returns (layers, {name: [ids]})."""
    rows, ids = [], {}
    for name, pts in named_points.items():
        ids[name] = [f"_PLAN_{name}_{i}" for i in range(len(pts))]
        rows += [{"place_id": pid, "name_zh": pid, "kind": "planning_target", "geometry": g}
                 for pid, g in zip(ids[name], pts)]
    if not rows:
        return layers, ids
    out = dict(layers)
    add = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    out["places"] = gpd.GeoDataFrame(pd.concat([layers["places"], add], ignore_index=True), geometry="geometry", crs=4326)
    return out, ids


def _fallback_surfaces(layers, targets, *, dem_path, settings, include_planned, extra_corridors):
    from ..network import build_network, travel_times
    from ..raster_access import cost_distance, friction_surface, make_grid

    points = {k: v for k, v in targets.items() if _as_points(v) is not None}
    layers2, point_ids = _with_points(layers, {k: _as_points(v) for k, v in points.items()})
    net = build_network(layers2, speeds=settings.speeds, include_planned=include_planned, extra_corridors=extra_corridors)
    b = layers["boundaries"]
    grid = make_grid(b[b["level"] == "prefecture"], settings.access.resolution_m)
    speed, _, inside = friction_surface(layers, grid, dem_path=dem_path, speeds=settings.speeds,
                                        include_planned=include_planned, extra_corridors=extra_corridors)
    exits = np.isin(net.kind, ["road", "station", "place"])
    xy = gpd.GeoSeries(gpd.points_from_xy(net.lon, net.lat), crs=4326).to_crs(EQUAL_AREA_CRS)
    xy = np.column_stack([xy.x, xy.y])
    out = {}
    for name, src in targets.items():
        ids = point_ids.get(name, list(src))
        t = travel_times(net, ids)
        t0 = np.nanmin(np.where(np.isnan(t), np.inf, t), axis=0)
        ok = exits & np.isfinite(t0)
        surf = cost_distance(speed, grid, xy[ok], t0[ok], active=inside)
        surf[~inside] = np.nan
        out[name] = surf
    return Surfaces(grid=grid, inside=inside, minutes=out)


def surfaces_for(layers: dict, targets: dict, *, dem_path=None, settings=DEFAULT, include_planned: bool = False,
                 extra_corridors=None) -> Surfaces:
    """Minutes from the nearest of each target set to every cell.

    Parameters
    ----------
    layers : dict
        The dataset's layers.
    targets : dict
        ``name -> list of ids`` (places, parks, stations) or ``name -> GeoSeries`` of points.
    """
    if build_model is None:
        return _fallback_surfaces(layers, targets, dem_path=dem_path, settings=settings,
                                  include_planned=include_planned, extra_corridors=extra_corridors)
    model = build_model(layers, dem_path=dem_path, settings=settings, include_planned=include_planned,
                        extra_corridors=extra_corridors)
    minutes = {}
    for name, src in targets.items():
        pts = _as_points(src)
        if pts is not None:  # the model refuses points off its grid: keep those inside the region
            on = ~np.isnan(sample(np.where(model.inside, 0.0, np.nan), model.grid, pts))
            if not on.all():
                log.info("%s: %d of %d points lie outside the region and are left out", name, (~on).sum(), len(pts))
            src = pts[on]
        minutes[name] = time_surface(model, src) if len(src) else np.full(model.inside.shape, np.nan)
    return Surfaces(grid=model.grid, inside=model.inside, minutes=minutes)


def od_minutes(layers: dict, ids, *, settings=DEFAULT, include_planned: bool = False, extra_corridors=None) -> pd.DataFrame:
    """Network OD minutes among place / park / station ids (index = origin, columns = destination)."""
    from ..network import od_matrix

    if build_model is None:
        from ..network import build_network

        net = build_network(layers, speeds=settings.speeds, include_planned=include_planned, extra_corridors=extra_corridors)
        return od_matrix(net, list(ids))
    from .. import traveltime

    model = build_model(layers, settings=settings, include_planned=include_planned, extra_corridors=extra_corridors)
    if hasattr(traveltime, "od_matrix"):  # OD of the joined model
        return traveltime.od_matrix(model, list(ids))
    return od_matrix(model.network, list(ids))


def point_minutes(layers: dict, origins: gpd.GeoSeries, destinations: gpd.GeoSeries, *, dem_path=None,
                  settings=DEFAULT) -> pd.DataFrame:
    """Minutes between every origin point and every destination point (via one surface per destination)."""
    targets = {str(k): gpd.GeoSeries([g], crs=destinations.crs) for k, g in destinations.items()}
    surf = surfaces_for(layers, targets, dem_path=dem_path, settings=settings)
    cols = {k: sample(surf.minutes[str(k)], surf.grid, origins) for k in destinations.index}
    return pd.DataFrame(cols, index=origins.index)


def sample(surface: np.ndarray, grid, points: gpd.GeoSeries) -> np.ndarray:
    """Values of a surface at points (any CRS): the value of the cell holding each point; NaN off the grid."""
    p = points.to_crs(EQUAL_AREA_CRS)
    r, c = grid.rowcol(p.x.to_numpy(), p.y.to_numpy())
    h, w = surface.shape
    ok = (r >= 0) & (r < h) & (c >= 0) & (c < w)
    out = np.full(len(p), np.nan)
    out[ok] = surface[r[ok], c[ok]]
    return out
