"""Typed, documented settings, overridable per call.

Nothing here reads the environment at import.  Functions take a
:class:`Settings` (default :data:`DEFAULT`) and callers derive variants with
:func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Settings", "DEFAULT"]


@dataclass(frozen=True)
class Settings:
    """Tolerances and defaults of the tool.

    Attributes
    ----------
    area_tolerance_surveyed : float
        Allowed relative difference between a park's computed and declared
        area when its geometry is surveyed (0.02 = 2 %).
    area_tolerance_indicative : float
        The same for indicative geometry (0.10 = 10 %).
    tiling_tolerance_km2 : float
        Largest gap or overlap, km2, allowed between the counties of one
        prefecture and the prefecture itself.
    min_share_in_county : float
        Smallest share of a polygon's area that must lie in the county it
        claims (parks, reserves).
    station_on_line_m : float
        Largest distance, m, between a declared station and its corridor.
    gcj_tolerance_deg : float
        Convergence tolerance of the GCJ-02 -> WGS-84 iteration (1e-10 deg
        is about 0.01 mm).
    dem_margin_deg : float
        Margin around the region's bounding box kept when clipping the DEM.
    """

    area_tolerance_surveyed: float = 0.02
    area_tolerance_indicative: float = 0.10
    tiling_tolerance_km2: float = 0.01
    min_share_in_county: float = 0.5
    station_on_line_m: float = 1000.0
    gcj_tolerance_deg: float = 1e-10
    dem_margin_deg: float = 0.5


DEFAULT = Settings()
