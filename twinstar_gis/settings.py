"""Typed, documented settings, overridable per call.

Nothing here reads the environment at import.  Functions take a
:class:`Settings` (default :data:`DEFAULT`) and callers derive variants with
:func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Settings", "DEFAULT", "Speeds", "DEFAULT_SPEEDS"]


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


@dataclass(frozen=True)
class Speeds:
    """Travel-speed assumptions of the accessibility model (km/h, minutes).

    Every value is written into the outputs' metadata.  They are planning
    assumptions, not measurements: average door-to-door speeds on each
    corridor class, not design speeds.

    Attributes
    ----------
    high_speed_rail, railway : float
        Average running speed between stations, stops included.
    expressway, national_highway : float
        Average car speed.
    other_road : float
        Car speed used for road features of other classes in a user's data.
    off_network : float
        Speed of the straight-line links from places and parks to the network,
        and of the off-network part of isochrones (local roads; a detour
        factor is folded in).
    off_road : float
        Raster model: speed in cells without a corridor, before the slope penalty.
    transfer_min : dict
        Boarding plus alighting time at a station, by rail class (half is
        charged at each end, so times stay symmetric).
    max_link_km : float
        Longest straight-line link from a place or park to the network.
    """

    high_speed_rail: float = 200.0
    railway: float = 70.0
    expressway: float = 100.0
    national_highway: float = 60.0
    other_road: float = 40.0
    off_network: float = 30.0
    off_road: float = 15.0
    transfer_min: tuple = (("high_speed_rail", 20.0), ("railway", 20.0))
    max_link_km: float = 60.0

    def for_class(self, cls: str) -> float:
        return float(getattr(self, cls, self.other_road))

    def transfer(self, cls: str) -> float:
        return float(dict(self.transfer_min).get(cls, 20.0))

    def as_table(self):
        """The assumptions as rows (name, value, unit) for metadata and reports."""
        rows = [(k, getattr(self, k), "km/h") for k in
                ("high_speed_rail", "railway", "expressway", "national_highway", "other_road", "off_network", "off_road")]
        rows += [(f"transfer_{k}", v, "min (board + alight)") for k, v in self.transfer_min]
        rows.append(("max_link_km", self.max_link_km, "km"))
        return rows


DEFAULT_SPEEDS = Speeds()
