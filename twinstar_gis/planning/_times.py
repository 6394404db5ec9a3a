"""Travel times for the planning analyses: the only place that talks to the travel-time model.

Everything here asks the one travel-time model (:mod:`twinstar_gis.model.traveltime`:
``build_model`` / ``time_surface`` / ``od_matrix``) for surfaces and OD minutes,
with the run's settings and DEM, so the planning tables agree with the
accessibility outputs of the same run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..data.crs import EQUAL_AREA_CRS
from ..settings import DEFAULT

from ..model.traveltime import EXPRESSWAY_ACCESS, build_model, expressway_surface, od_matrix, time_surface

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


def surfaces_for(layers: dict, targets: dict, *, dem_path=None, settings=DEFAULT, include_planned: bool = False,
                 extra_corridors=None, model=None) -> Surfaces:
    """Minutes from the nearest of each target set to every cell.

    Parameters
    ----------
    layers : dict
        The dataset's layers.
    targets : dict
        ``name -> list of ids`` (places, parks, stations), ``name -> GeoSeries`` of points, or
        ``name -> EXPRESSWAY_ACCESS`` (the network's expressway access points, exactly as the model enters them).
    model : TravelTimeModel, optional
        The model already built from these ``layers`` with these arguments (a run builds it once);
        default: build it.
    """
    model = model if model is not None else build_model(layers, dem_path=dem_path, settings=settings,
                                                        include_planned=include_planned, extra_corridors=extra_corridors)
    minutes = {}
    for name, src in targets.items():
        if isinstance(src, str) and src == EXPRESSWAY_ACCESS:  # the model's own expressway access points
            minutes[name] = expressway_surface(model)[0]
            continue
        pts = _as_points(src)
        if pts is not None:  # the model refuses points off its grid: keep those inside the region
            on = ~np.isnan(sample(np.where(model.inside, 0.0, np.nan), model.grid, pts))
            if not on.all():
                log.info("%s: %d of %d points lie outside the region and are left out", name, (~on).sum(), len(pts))
            src = pts[on]
        minutes[name] = time_surface(model, src) if len(src) else np.full(model.inside.shape, np.nan)
    return Surfaces(grid=model.grid, inside=model.inside, minutes=minutes)


def od_minutes(layers: dict, ids, *, dem_path=None, settings=DEFAULT, include_planned: bool = False,
               extra_corridors=None, model=None) -> pd.DataFrame:
    """OD minutes of the travel-time model among place / park / station ids (index = origin, columns = destination).

    ``model``: the model already built with these arguments (default: build it).
    """
    model = model if model is not None else build_model(layers, dem_path=dem_path, settings=settings,
                                                        include_planned=include_planned, extra_corridors=extra_corridors)
    return od_matrix(model, list(ids))


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
