"""Settings of the planning analyses (suitability, joint-park sites, linkage, 2SFCA).

One frozen section, :class:`PlanningSettings`, meant to hang on the main
:class:`twinstar_gis.settings.Settings` as ``Settings.planning`` so that
``settings.override(**{"planning.gravity_b": 1.5})`` and a project file's
``[settings.planning]`` table work like every other section.  Until then the
planning functions take it as ``planning=`` (default :data:`DEFAULT_PLANNING`)
and :func:`planning_settings` finds it on a ``Settings`` that has it.

Every field is a plain number so the generic override machinery can set it.

Examples
--------
>>> DEFAULT_PLANNING.slope_breaks_deg
(3.0, 8.0, 15.0, 25.0)
>>> round(sum(DEFAULT_PLANNING.site_weights().values()), 6)
1.0
"""

from __future__ import annotations

from dataclasses import dataclass

from .._errors import TwinstarError

__all__ = ["DEFAULT_PLANNING", "PlanningError", "PlanningSettings", "planning_settings"]


class PlanningError(TwinstarError, ValueError):
    """Bad input to a planning analysis (unknown county, missing column, impossible setting)."""


@dataclass(frozen=True)
class PlanningSettings:
    """Thresholds and weights of the planning analyses.

    Attributes
    ----------
    slope_breaks_deg : tuple of float
        Slope grades for urban construction (城镇建设 land resource): <= 3, 3-8, 8-15,
        15-25, > 25 degrees score 5, 4, 3, 2, 1.  These are the grades commonly used
        in 双评价 practice after the 2020 guideline (自然资源部《资源环境承载能力和
        国土空间开发适宜性评价指南（试行）》); check them against the text you apply.
    slope_max_deg : float
        Slopes steeper than this are a hard constraint (不适宜).
    elevation_max_m : float
        Cells higher than this are a hard constraint (high-altitude land; none in the region).
    time_breaks_min : tuple of float
        Travel-time grades of location advantage (区位优势度): <= 30, 30-60, 60-90, 90-120,
        > 120 minutes (or unreachable) score 5, 4, 3, 2, 1.
    river_buffer_m : float
        Land within this distance of a river is a hard constraint (flood / water protection).
    w_slope, w_core_time, w_corridor_time : float
        Weights of the suitability factors (normalised to sum 1).
    suitable_min_score, fair_min_score : float
        Weighted score (1-5) at or above which a cell is 适宜 / 一般适宜; below: 不适宜.
    sandy_land_score : float
        Score (1-5) that caps the slope factor inside sandy land (ecologically fragile,
        not excluded).
    site_area_km2 : float
        Area of a candidate joint park (a square).
    w_site_balance, w_site_hsr, w_site_expressway, w_site_suitability, w_site_park_distance : float
        Weights of the site score components (normalised to sum 1).
    site_min_gap_km : float
        Smallest distance between two chosen sites, so the top N are distinct alternatives.
    park_distance_cap_km : float
        Distance to the nearest existing park at which the "avoid duplication" component saturates.
    gravity_b : float
        Distance-decay exponent of the gravity model (2 is the conventional, Newtonian value).
    catchment_min : float
        2SFCA catchment, minutes of travel.
    sensitivity_step : float
        Relative change of each site weight in the sensitivity check (0.25 = ±25 %).
    """

    slope_breaks_deg: tuple = (3.0, 8.0, 15.0, 25.0)
    slope_max_deg: float = 25.0
    elevation_max_m: float = 5000.0
    time_breaks_min: tuple = (30.0, 60.0, 90.0, 120.0)
    river_buffer_m: float = 500.0
    w_slope: float = 0.4
    w_core_time: float = 0.3
    w_corridor_time: float = 0.3
    suitable_min_score: float = 3.5
    fair_min_score: float = 2.5
    sandy_land_score: float = 3.0
    site_area_km2: float = 10.0
    w_site_balance: float = 0.35
    w_site_hsr: float = 0.15
    w_site_expressway: float = 0.15
    w_site_suitability: float = 0.2
    w_site_park_distance: float = 0.15
    park_distance_cap_km: float = 30.0
    site_min_gap_km: float = 10.0
    gravity_b: float = 2.0
    catchment_min: float = 30.0
    sensitivity_step: float = 0.25

    def __post_init__(self):
        problems = []
        for name in ("slope_breaks_deg", "time_breaks_min"):
            b = tuple(getattr(self, name))
            if len(b) != 4 or any(not b[i] < b[i + 1] for i in range(3)):
                problems.append(f"{name} must be four ascending numbers, not {b}")
        if self.fair_min_score > self.suitable_min_score:
            problems.append("fair_min_score must not exceed suitable_min_score")
        for name in ("site_area_km2", "catchment_min", "park_distance_cap_km"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be positive")
        if not 0 < self.sensitivity_step < 1:
            problems.append("sensitivity_step must lie between 0 and 1 (0.25 = ±25 %)")
        if problems:
            raise PlanningError("planning settings: " + "; ".join(problems))
        self.suitability_weights()
        self.site_weights()

    def suitability_weights(self) -> dict:
        """Factor weights, normalised to sum 1."""
        return _normalised({"slope": self.w_slope, "core_time": self.w_core_time, "corridor_time": self.w_corridor_time})

    def site_weights(self) -> dict:
        """Site component weights, normalised to sum 1."""
        return _normalised({"balance": self.w_site_balance, "hsr": self.w_site_hsr, "expressway": self.w_site_expressway,
                            "suitability": self.w_site_suitability, "park_distance": self.w_site_park_distance})

    def as_table(self):
        """(setting, value) rows for the assumptions table."""
        return [(k, str(v)) for k, v in self.__dict__.items()]


def _normalised(w: dict) -> dict:
    total = sum(w.values())
    if not total > 0 or any(v < 0 for v in w.values()):
        raise PlanningError(f"weights must be non-negative with a positive sum, got {w}")
    return {k: v / total for k, v in w.items()}


DEFAULT_PLANNING = PlanningSettings()


def planning_settings(settings) -> PlanningSettings:
    """The planning section of ``settings`` (``Settings.planning`` once attached), else the default."""
    return getattr(settings, "planning", None) or DEFAULT_PLANNING
