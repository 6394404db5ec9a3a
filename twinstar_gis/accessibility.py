"""Accessibility of the Twin Star region: who reaches what within an hour or two.

The public face of the one travel-time model (:mod:`twinstar_gis.traveltime`):
network times continued over a friction surface.  From it, and only from it:

* OD matrix among the county seats, the two cores and the parks;
* time from every seat and park to the nearest core, high-speed station and
  expressway;
* isochrones (``access.minutes``) of the cores or any origin -- contours of the
  same surface;
* travel-time rasters to the cores and to the high-speed stations;
* per-county statistics and the 1-hour / 2-hour circles (一小时/两小时经济圈);
* the twin-city indicators (core to core, fastest and by road only);
* scenarios: the same with planned or user-supplied corridors, as changes.

The model, its assumptions and its known biases are stated once, in
``docs/methods.md``.
"""

from __future__ import annotations

from .settings import DEFAULT
from .traveltime import (AccessError, AccessResult, TravelTimeModel, accessibility, build_model, compare_scenarios,
                         county_statistics, isochrone_polygons, isochrones, od_matrix, time_surface, times_at)

__all__ = ["AccessResult", "AccessError", "TravelTimeModel", "accessibility", "compare_scenarios", "build_model",
           "time_surface", "times_at", "isochrone_polygons", "isochrones", "od_matrix", "county_statistics",
           "DEFAULT_MINUTES"]

#: Default isochrone thresholds (``access.minutes`` of the default settings).
DEFAULT_MINUTES = tuple(DEFAULT.access.minutes)
