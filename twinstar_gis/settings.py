"""Typed, documented settings: one object, overridable per call, by a project file and by the CLI.

Nothing here reads the environment at import.  Functions take a
:class:`Settings` (default :data:`DEFAULT`) and callers derive variants with
:meth:`Settings.override` (dotted names) or :func:`dataclasses.replace`.
A project file's ``[settings]`` table goes through :meth:`Settings.from_mapping`,
which refuses unknown names and values of the wrong type.  :meth:`Settings.to_dict`
is what a run records in its manifest and in GeoTIFF tags.

Sections
--------
``speeds``      :class:`Speeds`           travel speeds by corridor class, links, off-road
``network``     :class:`NetworkSettings`  how a line file becomes a routable graph
``access``      :class:`AccessSettings`   the travel-time surface and its outputs
``overlap``     :class:`OverlapSettings`  buffers around ecological zones
``osm``         :class:`OsmSettings`      OpenStreetMap tag -> corridor class mapping
``planning``    :class:`~twinstar_gis.settings.PlanningSettings`  suitability, sites, linkage, 2SFCA
top level       validation tolerances of the dataset checks

Examples
--------
>>> s = DEFAULT.override(**{"speeds.expressway": 90, "access.resolution_m": 500})
>>> s.speeds.expressway, s.access.resolution_m, DEFAULT.speeds.expressway
(90.0, 500.0, 100.0)
>>> Settings.from_mapping({"speeds": {"railway": 80}}).speeds.railway
80.0
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from .errors import PlanningError, SettingsError

__all__ = ["Settings", "DEFAULT", "Speeds", "DEFAULT_SPEEDS", "NetworkSettings", "AccessSettings",
           "OverlapSettings", "OsmSettings", "PlanningSettings", "DEFAULT_PLANNING", "CompareSettings",
           "planning_settings", "CORRIDOR_CLASSES", "RAIL_CLASSES", "ROAD_CLASSES"]

RAIL_CLASSES = ("high_speed_rail", "railway")
ROAD_CLASSES = ("expressway", "national_highway", "provincial_highway", "county_road", "local_road", "ramp")
#: Every corridor class the tool knows.  A file with another class name is bad input unless a
#: project file maps the name onto one of these (``class_map``).
CORRIDOR_CLASSES = RAIL_CLASSES + ROAD_CLASSES
#: What ``access.scenario`` may be.
SCENARIOS = ("planned", "none", "file")


# --------------------------------------------------------------------------
# Value checks: every section refuses, when it is made, a value that would change a number wrongly
# --------------------------------------------------------------------------

def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite_problems(obj, section: str) -> list[str]:
    """Every number of a section (and every number in its lists) must be finite: NaN and infinity change every result."""
    out = []
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        values = v if isinstance(v, tuple) else (v,)
        flat = [x for item in values for x in (item if isinstance(item, tuple) else (item,))]
        if any(_is_number(x) and not math.isfinite(x) for x in flat):
            out.append(f"{section}.{f.name} must be finite, not {v!r}")
    return out


def _positive(obj, section: str, names, unit: str) -> list[str]:
    return [f"{section}.{n} must be a positive, finite number ({unit}), not {getattr(obj, n)!r}" for n in names
            if not (_is_number(getattr(obj, n)) and math.isfinite(getattr(obj, n)) and getattr(obj, n) > 0)]


def _ascending_problems(values, name: str, unit: str) -> list[str]:
    """A list of thresholds: not empty, numbers only, positive, strictly increasing (``[30, 60, 90]``)."""
    v = tuple(values) if isinstance(values, (list, tuple)) else values
    if not isinstance(v, tuple) or not v:
        return [f"{name} must be a non-empty list of {unit}, e.g. [30, 60], not {values!r}"]
    if not all(_is_number(x) and math.isfinite(x) for x in v):
        return [f"{name} must hold numbers ({unit}) only, not {list(v)!r}"]
    if v[0] <= 0 or any(not a < b for a, b in zip(v, v[1:])):
        return [f"{name} must be positive and strictly increasing, e.g. [30, 60, 90], not {list(v)!r}"]
    return []


def _speed_problems(s) -> list[str]:
    out = _finite_problems(s, "speeds")
    out += _positive(s, "speeds", CORRIDOR_CLASSES + ("off_network", "off_road"), "km/h; 0 would make travel impossible")
    out += _positive(s, "speeds", ("max_link_km",), "km")
    pairs = s.transfer_min
    ok = isinstance(pairs, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in pairs)
    if not ok or sorted(p[0] for p in pairs) != sorted(RAIL_CLASSES) \
            or not all(_is_number(p[1]) and math.isfinite(p[1]) and p[1] >= 0 for p in pairs):
        out.append(f"speeds.transfer_min must give minutes >= 0 for each of {', '.join(RAIL_CLASSES)} once, "
                   f"e.g. {{ high_speed_rail = 20, railway = 20 }}, not {pairs!r}")
    return out


def _network_problems(n) -> list[str]:
    out = _finite_problems(n, "network") + _positive(n, "network", ("station_max_m",), "m")
    if _is_number(n.maxspeed_factor) and not 0 < n.maxspeed_factor <= 2:
        out.append(f"network.maxspeed_factor must lie in (0, 2] (share of the posted maxspeed), not {n.maxspeed_factor!r}")
    if n.link_snap != "segment":
        out.append(f"network.link_snap must be \"segment\", not {n.link_snap!r}")
    return out


def _access_problems(a) -> list[str]:
    out = _finite_problems(a, "access") + _positive(a, "access", ("resolution_m",), "m")
    out += _ascending_problems(a.minutes, "access.minutes", "minutes")
    out += _ascending_problems(a.circles, "access.circles", "minutes")
    if a.scenario not in SCENARIOS:
        out.append(f"access.scenario must be {', '.join(SCENARIOS)}, not {a.scenario!r}")
    return out


def _osm_problems(o) -> list[str]:
    pairs = o.highway_classes
    if not isinstance(pairs, tuple) or not pairs or not all(
            isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) and p[1] in CORRIDOR_CLASSES for p in pairs):
        return [f"osm.highway_classes must be [highway tag, corridor class] pairs with a class among "
                f"{', '.join(CORRIDOR_CLASSES)}, not {pairs!r}"]
    return []


def _top_problems(s) -> list[str]:
    out = []
    for f in dataclasses.fields(s):
        v = getattr(s, f.name)
        if _is_number(v) and not math.isfinite(v):
            out.append(f"{f.name} must be finite, not {v!r}")
    if _is_number(s.min_share_in_county) and not 0 <= s.min_share_in_county <= 1:
        out.append(f"min_share_in_county is a share between 0 and 1, not {s.min_share_in_county!r}")
    out += _positive(s, "settings", ("region_margin_km", "max_speed_rail_kmh", "max_speed_road_kmh"), "km or km/h")
    return out


def _refuse(problems: list[str]) -> None:
    if problems:
        raise SettingsError("; ".join(problems))



@dataclass(frozen=True)
class Speeds:
    """Travel-speed assumptions (km/h, minutes).

    They are planning assumptions, not measurements: average door-to-door
    speeds on each corridor class (stops, junctions and slow stretches folded
    in), not design speeds.  A road's ``maxspeed`` (OSM) or ``design_speed_kmh``
    (curated data, scenario files) caps nothing and replaces the class speed
    only where :attr:`NetworkSettings.use_maxspeed` says so.

    Attributes
    ----------
    high_speed_rail, railway : float
        Average running speed between stations, stops included.
    expressway, national_highway, provincial_highway, county_road, local_road, ramp : float
        Average car speed on each road class.
    off_network : float
        Speed of the straight link from a place, park or station to the nearest
        network point (local roads; a detour factor is folded in).
    off_road : float
        Travel-time surface: speed in cells without a road, before the slope penalty.
    transfer_min : tuple of (class, minutes)
        Boarding plus alighting time at a station, by rail class (half is
        charged at each end).
    max_link_km : float
        Longest straight link from a place, park or station to the network.
    """

    def __post_init__(self):
        _refuse(_speed_problems(self))

    high_speed_rail: float = 200.0
    railway: float = 70.0
    expressway: float = 100.0
    national_highway: float = 60.0
    provincial_highway: float = 50.0
    county_road: float = 40.0
    local_road: float = 25.0
    ramp: float = 40.0
    off_network: float = 30.0
    off_road: float = 15.0
    transfer_min: tuple = (("high_speed_rail", 20.0), ("railway", 20.0))
    max_link_km: float = 60.0

    def for_class(self, cls: str) -> float:
        """Speed of a corridor class; an unknown class is an error, never a silent default.

        Parameters
        ----------
        cls : str
            One of :data:`CORRIDOR_CLASSES`.

        Returns
        -------
        float
            km/h.
        """
        if cls not in CORRIDOR_CLASSES:
            raise SettingsError(f"unknown corridor class {cls!r}; known classes: {', '.join(CORRIDOR_CLASSES)}")
        return float(getattr(self, cls))

    def transfer(self, cls: str) -> float:
        """Board + alight minutes at a station of rail class ``cls``.

        Parameters
        ----------
        cls : str
            ``high_speed_rail`` or ``railway``.

        Returns
        -------
        float
        """
        return float(dict(self.transfer_min)[cls])

    def as_table(self):
        """The assumptions as rows for metadata and reports.

        Returns
        -------
        list of tuple
            (name, value, unit).
        """
        rows = [(k, getattr(self, k), "km/h") for k in CORRIDOR_CLASSES + ("off_network", "off_road")]
        rows += [(f"transfer_{k}", v, "min (board + alight)") for k, v in self.transfer_min]
        rows.append(("max_link_km", self.max_link_km, "km"))
        return rows


@dataclass(frozen=True)
class NetworkSettings:
    """How a line file becomes a routable graph.

    Attributes
    ----------
    node_crossings : bool
        Plain line files without shared vertices: also join lines where they
        cross (never across bridges, tunnels or different ``layer`` values).
        Off by default: topology comes from shared vertices.
    snap_m : float
        Vertices of different lines closer than this are one node (0 = exact).
    use_maxspeed : bool
        Use a road's ``maxspeed`` where present instead of the class speed.
    maxspeed_factor : float
        Share of the posted ``maxspeed`` driven on average.
    station_max_m : float
        A station farther than this from every line that serves it is reported.
    link_snap : str
        ``"segment"``: places, parks and stations link to the nearest point of
        the nearest road segment.
    end_join_m : float
        The loose end of an indicative or scenario road (drawn town to town, not
        sharing a vertex with another road) joins the nearest other road within
        this distance, m (a planned road drawn to a town meets that town's roads).
        Surveyed lines (OpenStreetMap) keep their dead ends.  0 = off.
    """

    def __post_init__(self):
        _refuse(_network_problems(self))

    node_crossings: bool = False
    snap_m: float = 0.0
    use_maxspeed: bool = True
    maxspeed_factor: float = 0.8
    station_max_m: float = 2000.0
    link_snap: str = "segment"
    end_join_m: float = 2000.0


@dataclass(frozen=True)
class AccessSettings:
    """The travel-time surface and its outputs.

    Attributes
    ----------
    resolution_m : float
        Cell size of the travel-time surface (regional equal-area grid).
    minutes : tuple of float
        Isochrone thresholds.
    circles : tuple of float
        Thresholds of the county statistics (一小时/两小时经济圈).
    tobler_a, tobler_b : float
        Tobler slope factor ``exp(-a (|s| + b)) / exp(-a b)`` on the off-road speed.
    scenario : str
        ``"planned"`` (planned corridors), ``"none"``, or ``"file"``.
    join_m : float
        A cell joins the nearest land-access road when its centre lies within this many metres
        of it (0: one cell size).
    unlinked : str
        ``"warn"``: log a loud warning and report it in the coverage table when a city core or most
        places are not linked to the network; ``"error"``: refuse to run.
    land_model : str
        ``"local_roads"`` (default): land moves at each county's unmapped local-road speed, never
        slower than off-road (see ``docs/methods.md``), with a low / central / high sensitivity run;
        ``"off_road"``: at ``speeds.off_road`` x the slope factor.
    local_road_kmh : float
        Average speed on the county and township roads no map draws (local roads land model).
    local_trip_km : float
        Land leg over which the walk to the nearest local road is spread (local roads land model).
    local_sensitivity : tuple of float
        Factors on ``local_road_kmh`` of the low / central / high sensitivity run.
    """

    def __post_init__(self):
        _refuse(_access_problems(self))

    resolution_m: float = 1000.0
    minutes: tuple = (30.0, 60.0, 90.0, 120.0)
    circles: tuple = (60.0, 120.0)
    tobler_a: float = 3.5
    tobler_b: float = 0.05
    scenario: str = "planned"
    join_m: float = 0.0
    unlinked: str = "warn"
    land_model: str = "local_roads"
    local_road_kmh: float = 30.0
    local_trip_km: float = 10.0
    local_sensitivity: tuple = (0.5, 1.0, 1.5)


@dataclass(frozen=True)
class OverlapSettings:
    """Buffers around ecological zones (metres) and the "near" distance of the conflict report."""

    def __post_init__(self):
        _refuse(_finite_problems(self, "overlap"))

    buffer_nature_reserve_m: float = 1000.0
    buffer_river_m: float = 500.0
    buffer_sandy_land_m: float = 0.0
    near_km: float = 5.0

    def zone_buffers(self) -> dict:
        """Buffer (m) by zone kind.

        Returns
        -------
        dict
            ``nature_reserve``, ``river``, ``sandy_land`` -> metres.
        """
        return {"nature_reserve": self.buffer_nature_reserve_m, "river": self.buffer_river_m,
                "sandy_land": self.buffer_sandy_land_m}


_HIGHWAY_CLASSES = (
    ("motorway", "expressway"), ("motorway_link", "ramp"), ("trunk", "national_highway"),
    ("trunk_link", "ramp"), ("primary", "national_highway"), ("primary_link", "ramp"),
    ("secondary", "county_road"), ("secondary_link", "ramp"), ("tertiary", "county_road"),
    ("tertiary_link", "ramp"), ("unclassified", "local_road"), ("residential", "local_road"),
)


@dataclass(frozen=True)
class OsmSettings:
    """OpenStreetMap ``highway=*`` values and their corridor classes.

    ``trunk`` and ``primary`` become ``national_highway`` when their ``ref``
    starts with G and ``provincial_highway`` when it starts with S.
    """

    def __post_init__(self):
        _refuse(_osm_problems(self))

    highway_classes: tuple = _HIGHWAY_CLASSES


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
        problems = _finite_problems(self, "planning")
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
        """Factor weights, normalised to sum 1.

        Returns
        -------
        dict
        """
        return _normalised({"slope": self.w_slope, "core_time": self.w_core_time, "corridor_time": self.w_corridor_time})

    def site_weights(self) -> dict:
        """Site component weights, normalised to sum 1.

        Returns
        -------
        dict
        """
        return _normalised({"balance": self.w_site_balance, "hsr": self.w_site_hsr, "expressway": self.w_site_expressway,
                            "suitability": self.w_site_suitability, "park_distance": self.w_site_park_distance})

    def as_table(self):
        """The settings as rows for the assumptions table.

        Returns
        -------
        list of tuple
            (setting, value as text).
        """
        return [(k, str(v)) for k, v in self.__dict__.items()]


def _normalised(w: dict) -> dict:
    total = sum(w.values())
    if not total > 0 or any(v < 0 for v in w.values()):
        raise PlanningError(f"weights must be non-negative with a positive sum, got {w}")
    return {k: v / total for k, v in w.items()}


DEFAULT_PLANNING = PlanningSettings()


def planning_settings(settings) -> PlanningSettings:
    """The planning section of ``settings`` (``Settings.planning`` once attached), else the default.

    Parameters
    ----------
    settings : Settings or None

    Returns
    -------
    PlanningSettings
    """
    return getattr(settings, "planning", None) or DEFAULT_PLANNING


@dataclass(frozen=True)
class CompareSettings:
    """How alternatives are ranked and where they run.

    Attributes
    ----------
    scheduler : str
        Address of an existing Dask scheduler (``tcp://host:8786``); empty: a local cluster of
        ``--workers`` processes (or serial with ``--workers 0``).
    w_core_to_core, w_mean_time, w_population_within, w_cross_city_share : float
        Weights of the ranking criteria (:data:`CRITERIA`), normalised to sum 1.
    sites : bool
        Rank joint-park sites for every alternative (about 2 s each at 1 km on the embedded data).
    worker_memory_gib : float
        Memory limit of each local worker, GiB; 0: the memory budget divided by the workers.
    """

    scheduler: str = ""
    w_core_to_core: float = 0.3
    w_mean_time: float = 0.3
    w_population_within: float = 0.2
    w_cross_city_share: float = 0.2
    sites: bool = True
    worker_memory_gib: float = 0.0

    def weights(self) -> dict:
        """Criterion -> weight, normalised to sum 1.

        Returns
        -------
        dict
        """
        w = {k: float(getattr(self, f"w_{k}")) for k in ("core_to_core", "mean_time", "population_within",
                                                         "cross_city_share")}
        total = sum(w.values())
        if not total > 0 or any(v < 0 for v in w.values()):
            raise SettingsError(f"compare: ranking weights must be non-negative with a positive sum, got {w}")
        return {k: v / total for k, v in w.items()}


@dataclass(frozen=True)
class Settings:
    """Every tolerance, speed and model constant of the tool.

    Attributes
    ----------
    area_tolerance_surveyed, area_tolerance_indicative : float
        Allowed relative difference between a park's computed and declared area.
    tiling_tolerance_km2 : float
        Largest gap or overlap, km2, between the counties of a prefecture and the prefecture.
    min_share_in_county : float
        Smallest share of a polygon's area that must lie in the county it claims.
    station_on_line_m : float
        Largest distance, m, between a declared station and its corridor.
    gcj_tolerance_deg : float
        Convergence tolerance of the GCJ-02 -> WGS-84 iteration.
    dem_margin_deg : float
        Margin around the region's bounding box kept when clipping the DEM.
    region_margin_km : float
        A layer must overlap the study area grown by this margin (region sanity check).
    max_speed_rail_kmh, max_speed_road_kmh : float
        Highest plausible ``design_speed_kmh`` of a rail line / a road; faster is refused
        (usually m/s, mph or a wrong class).
    memory_budget_gib : float
        Memory a run may plan to use, GiB; a step whose estimate exceeds it is refused before it
        allocates (:mod:`twinstar_gis.resources`).  0: 60 % of the machine's physical memory.
    speeds, network, access, overlap, osm
        The sections described in the module docstring.
    """

    def __post_init__(self):
        _refuse(_top_problems(self))

    area_tolerance_surveyed: float = 0.02
    area_tolerance_indicative: float = 0.10
    tiling_tolerance_km2: float = 0.01
    min_share_in_county: float = 0.5
    station_on_line_m: float = 1000.0
    gcj_tolerance_deg: float = 1e-10
    dem_margin_deg: float = 0.5
    region_margin_km: float = 50.0
    max_speed_rail_kmh: float = 400.0
    max_speed_road_kmh: float = 150.0
    memory_budget_gib: float = 0.0
    speeds: Speeds = field(default_factory=Speeds)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    overlap: OverlapSettings = field(default_factory=OverlapSettings)
    osm: OsmSettings = field(default_factory=OsmSettings)
    planning: PlanningSettings = field(default_factory=PlanningSettings)
    compare: CompareSettings = field(default_factory=CompareSettings)

    def to_dict(self) -> dict:
        """Plain nested dict (JSON-ready) of every setting.

        Returns
        -------
        dict
        """
        return dataclasses.asdict(self)

    @classmethod
    def from_mapping(cls, mapping: dict | None, *, base: Settings | None = None, source: str = "settings") -> Settings:
        """Settings from a nested mapping (a project file's ``[settings]`` table).

        Unknown names and values of the wrong type, out of range or not finite raise
        :class:`SettingsError` naming ``source`` and the key.

        Parameters
        ----------
        mapping : dict or None
        base : Settings, optional
            What the mapping changes (default: the defaults).
        source : str
            Where the mapping came from, for messages.

        Returns
        -------
        Settings
        """
        base = base or cls()
        flat = {}

        def walk(prefix, value):
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else str(k), v)
            else:
                flat[prefix] = value

        walk("", mapping or {})
        return base.override(_source=source, **flat)

    def override(self, _source: str = "settings", **dotted) -> Settings:
        """A copy with dotted names replaced, e.g. ``override(**{"speeds.railway": 80})``.

        Every value is checked by type (numbers finite, lists of numbers or pairs as the default
        holds) and by its section's rules (speeds > 0, minutes increasing, ...).

        Parameters
        ----------
        _source : str
            Where the values came from (``--set``, ``[settings]``), named in messages.
        **dotted
            ``section.field`` -> value.

        Returns
        -------
        Settings

        Raises
        ------
        SettingsError
            An unknown name or an impossible value.
        """
        out = self
        for name, value in dotted.items():
            try:
                out = _set(out, str(name).split("."), value, name, _source)
            except (SettingsError, PlanningError) as exc:  # a section's own check: say where the value came from
                if str(exc).startswith(f"{_source}:"):
                    raise
                raise type(exc)(f"{_source}: {name} = {value!r}: {exc}") from None
        return out


def _coerce(current, value, name, source):
    """``value`` as the type of the ``current`` value, or :class:`SettingsError` naming ``source`` and ``name``."""
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise SettingsError(f"{source}: {name} must be true or false, not {value!r}")
        return value
    if isinstance(current, (float, int)):
        if not _is_number(value):
            raise SettingsError(f"{source}: {name} must be a number, not {value!r}")
        if not math.isfinite(value):
            raise SettingsError(f"{source}: {name} must be a finite number, not {value!r}")
        if value < 0:
            raise SettingsError(f"{source}: {name} must be a non-negative number, not {value!r}")
        if isinstance(current, int):
            if value != int(value):
                raise SettingsError(f"{source}: {name} must be a whole number, not {value!r}")
            return int(value)
        return float(value)
    if isinstance(current, str):
        if not isinstance(value, str):
            raise SettingsError(f"{source}: {name} must be text, not {value!r}")
        return value
    if isinstance(current, tuple):
        return _coerce_list(current, value, name, source)
    raise SettingsError(f"{source}: {name} cannot be set")


def _coerce_list(current: tuple, value, name, source) -> tuple:
    """A list setting: numbers where the default holds numbers, ``[name, value]`` pairs where it holds pairs."""
    if isinstance(value, dict):
        value = tuple(value.items())
    if not isinstance(value, (list, tuple)):
        raise SettingsError(f"{source}: {name} must be a list, e.g. {_example(current)}, not {value!r}")
    items = [tuple(v) if isinstance(v, list) else v for v in value]
    if current and all(_is_number(c) for c in current):
        bad = [v for v in items if not _is_number(v) or not math.isfinite(v)]
        if bad:
            raise SettingsError(f"{source}: {name} must be a list of numbers, e.g. {_example(current)}; "
                                f"{bad[0]!r} is not a finite number")
        return tuple(float(v) for v in items)
    if current and all(isinstance(c, tuple) for c in current):
        shape = current[0]
        out = []
        for v in items:
            ok = isinstance(v, tuple) and len(v) == len(shape) and all(
                isinstance(x, str) if isinstance(c, str) else _is_number(x) and math.isfinite(x) for c, x in zip(shape, v))
            if not ok:
                raise SettingsError(f"{source}: {name} must be a list of pairs like {_example(current)}; {v!r} is not one")
            out.append(tuple(float(x) if _is_number(c) else x for c, x in zip(shape, v)))
        return tuple(out)
    return tuple(items)


def _example(current: tuple) -> str:
    """The first two entries of a default list as TOML, e.g. ``[30.0, 60.0]`` or ``[["a", 20.0], ["b", 20.0]]``."""
    def one(v):
        return "[" + ", ".join(one(x) for x in v) + "]" if isinstance(v, tuple) else (f'"{v}"' if isinstance(v, str) else repr(v))
    return "[" + ", ".join(one(v) for v in current[:2]) + "]"


def _set(obj, parts, value, name, source):
    names = {f.name for f in dataclasses.fields(obj)}
    if parts[0] not in names:
        raise SettingsError(f"{source}: unknown setting {name!r}; known here: {', '.join(sorted(names))}")
    current = getattr(obj, parts[0])
    if len(parts) == 1:
        if dataclasses.is_dataclass(current):
            raise SettingsError(f"{source}: {name} is a section; set its fields, e.g. {name}.<field>")
        return dataclasses.replace(obj, **{parts[0]: _coerce(current, value, name, source)})
    if not dataclasses.is_dataclass(current):
        raise SettingsError(f"{source}: unknown setting {name!r}")
    return dataclasses.replace(obj, **{parts[0]: _set(current, parts[1:], value, name, source)})


DEFAULT = Settings()
DEFAULT_SPEEDS = DEFAULT.speeds
