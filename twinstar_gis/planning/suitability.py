"""Construction suitability (城镇建设适宜性), after the 2020 双评价 guideline.

Pure functions (grading, weighting, classing) work on arrays; a thin
:func:`construction_suitability` assembles the factors for a dataset.

Method
------
* Factors, each graded 5 (best) to 1 (worst):

  - slope (degrees, from the DEM on the run's grid): <= 3, 3-8, 8-15, 15-25, > 25;
    inside sandy land the grade is capped at ``sandy_land_score`` (fragile, not excluded);
  - location advantage (区位优势度): minutes to the nearest city core, and to the
    nearest corridor access (high-speed station or expressway, whichever is
    quicker), graded <= 30, 30-60, 60-90, 90-120, > 120 (or unreachable).

* Score = weighted mean of the grades present (weights normalised over the
  factors available; without a DEM there is no slope factor).
* Hard constraints make a cell 不适宜 whatever its score: nature reserves,
  生态保护红线 (``eco_redline``), 永久基本农田 (``farmland``), land within
  ``river_buffer_m`` of a river, slope > ``slope_max_deg``, elevation >
  ``elevation_max_m``.  Polygons are burnt in with every cell they touch.
* Classes: 3 适宜 (score >= ``suitable_min_score``), 2 一般适宜 (>= ``fair_min_score``),
  1 不适宜; 0 = outside the region or no data.

The urban development boundary (``urban_boundary``) is where construction is
already planned; it is not a constraint, and the county table reports each
class's area inside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.features import rasterize, shapes

from ..data.crs import EQUAL_AREA_CRS
from ..data.schema import in_service
from ..settings import DEFAULT
from . import _times
from ..settings import planning_settings

__all__ = [
    "CLASS_NAMES",
    "SuitabilityResult",
    "area_by_class",
    "class_polygons",
    "classify",
    "construction_suitability",
    "grade",
    "hard_constraint_layers",
    "slope_degrees",
    "weighted_score",
]

log = logging.getLogger(__name__)

#: Class codes of the suitability raster.
CLASS_NAMES = {1: "不适宜", 2: "一般适宜", 3: "适宜"}
CLASS_NAMES_EN = {1: "unsuitable", 2: "fair", 3: "suitable"}


def slope_degrees(dem: np.ndarray, resolution: float) -> np.ndarray:
    """Slope in degrees of a DEM on a square grid (central differences, one-sided at the edges).

    Parameters
    ----------
    dem : numpy.ndarray
        2-D heights, metres, north-up; NaN = no data.
    resolution : float
        Cell size, metres (square cells, the same unit as the heights).

    Returns
    -------
    numpy.ndarray of float
        Slope in degrees (0 flat .. 90), same shape as ``dem``.  A NaN height
        spoils the differences that use it: its four neighbours get NaN (and
        the cell itself when it lies on the array's edge), while an interior
        NaN cell with four known neighbours gets their slope.  So a DEM void
        loses a one-cell ring of slope around it.

    Examples
    --------
    >>> dem = np.tile(np.arange(4.0) * 100.0, (3, 1))  # rises 100 m per 100 m cell eastwards
    >>> slope_degrees(dem, 100.0).round(6)[1]
    array([45., 45., 45., 45.])
    """
    dem = np.asarray(dem, dtype=float)
    gy, gx = np.gradient(dem, resolution)
    return np.degrees(np.arctan(np.hypot(gx, gy)))


def grade(values: np.ndarray, breaks, *, missing_grade: float | None = None) -> np.ndarray:
    """Grade values 5 (<= first break) down to 1 (> last break) with four ascending breaks.

    A value equal to a break falls in the better grade.  NaN stays NaN unless
    ``missing_grade`` is given (an unreachable cell is the worst grade, not unknown).

    Parameters
    ----------
    values : array_like
        Values to grade, lower is better (slope in degrees, travel minutes).
    breaks : sequence of 4 float
        Strictly ascending class limits in the unit of ``values``, e.g.
        ``(3, 8, 15, 25)`` degrees or ``(30, 60, 90, 120)`` minutes.
    missing_grade : float, optional
        Grade given to NaN values (default: they stay NaN).

    Returns
    -------
    numpy.ndarray of float
        Grades 5.0 .. 1.0 (NaN where the value is NaN and no
        ``missing_grade`` is given), same shape as ``values``.

    Raises
    ------
    PlanningError
        ``breaks`` are not four strictly ascending numbers.

    Examples
    --------
    >>> grade(np.array([0.0, 3.0, 3.1, 25.0, 40.0, np.nan]), (3, 8, 15, 25)).tolist()
    [5.0, 5.0, 4.0, 2.0, 1.0, nan]
    >>> grade(np.array([45.0, np.nan]), (30, 60, 90, 120), missing_grade=1.0).tolist()  # unreachable: worst
    [4.0, 1.0]
    """
    breaks = np.asarray(breaks, dtype=float)
    if breaks.size != 4 or np.any(np.diff(breaks) <= 0):
        from ..errors import PlanningError

        raise PlanningError(f"grade breaks must be four ascending numbers, got {breaks.tolist()}")
    v = np.asarray(values, dtype=float)
    out = 5.0 - np.searchsorted(breaks, np.where(np.isnan(v), 0.0, v), side="left").astype(float)
    fill = np.nan if missing_grade is None else float(missing_grade)
    return np.where(np.isnan(v), fill, out)


def weighted_score(grades: dict, weights: dict) -> np.ndarray:
    """Weighted mean of the factor grades; weights renormalised over the factors given.

    A cell where any given factor is NaN scores NaN (no data).

    Parameters
    ----------
    grades : dict
        ``factor name -> array of grades`` (1-5), all of one shape.  Factors
        without a weight are ignored.
    weights : dict
        ``factor name -> weight``; factors missing from ``grades`` are left
        out and the others' weights rescaled to sum 1.

    Returns
    -------
    numpy.ndarray of float
        The weighted grade, 1-5, shape of the grades.  (With no weighted
        factor in ``grades`` the result is a scalar 0: give at least one.)

    Examples
    --------
    Without a DEM there is no slope: the two time factors share the weight.

    >>> w = {"slope": 0.4, "core_time": 0.3, "corridor_time": 0.3}
    >>> weighted_score({"core_time": np.array([5.0, 1.0]), "corridor_time": np.array([3.0, np.nan])}, w).tolist()
    [4.0, nan]
    >>> round(float(weighted_score({"slope": np.array([5.0]), "core_time": np.array([3.0])}, w)[0]), 4)  # (2 + 0.9) / 0.7
    4.1429
    """
    names = [k for k in weights if k in grades]
    total = sum(weights[k] for k in names)
    score = sum(weights[k] / total * np.asarray(grades[k], dtype=float) for k in names)
    return np.asarray(score, dtype=float)


def classify(score: np.ndarray, hard: np.ndarray, *, suitable_min: float, fair_min: float, inside=None) -> np.ndarray:
    """Classes 3 适宜 / 2 一般适宜 / 1 不适宜 (0 = outside or no data); hard constraints force 1.

    Parameters
    ----------
    score : numpy.ndarray
        Weighted grades 1-5 (:func:`weighted_score`); NaN = no data.
    hard : numpy.ndarray of bool
        Cells under a hard constraint, same shape.
    suitable_min, fair_min : float
        Least score of class 3 and of class 2 (inclusive).
    inside : numpy.ndarray of bool, optional
        Cells inside the region; the others become 0.

    Returns
    -------
    numpy.ndarray of uint8
        3 where ``score >= suitable_min``, 2 where ``>= fair_min``, 1 below;
        0 where the score is NaN; 1 on every hard-constrained cell (also
        where the score is NaN); 0 outside ``inside`` whatever else.

    Examples
    --------
    >>> score = np.array([4.0, 3.0, 2.0, np.nan, 4.0, np.nan, 4.0])
    >>> hard = np.array([0, 0, 0, 0, 1, 1, 0], bool)
    >>> inside = np.array([1, 1, 1, 1, 1, 1, 0], bool)
    >>> classify(score, hard, suitable_min=3.5, fair_min=2.5, inside=inside).tolist()
    [3, 2, 1, 0, 1, 1, 0]
    """
    score = np.asarray(score, dtype=float)
    cls = np.where(score >= suitable_min, 3, np.where(score >= fair_min, 2, 1)).astype("uint8")
    cls[np.isnan(score)] = 0
    cls[np.asarray(hard, bool)] = 1
    if inside is not None:
        cls[~np.asarray(inside, bool)] = 0
    return cls


def hard_constraint_layers(layers: dict, *, river_buffer_m: float) -> dict:
    """Hard-constraint polygons by name (WGS-84 GeoSeries), from what the dataset holds.

    Parameters
    ----------
    layers : dict of geopandas.GeoDataFrame
        Read when present and not empty: ``eco_zones`` (rows of kind
        ``nature_reserve``), ``eco_redline`` (生态保护红线), ``farmland``
        (永久基本农田) and ``rivers``.
    river_buffer_m : float
        Width, metres, of the strip kept free along rivers (buffered in the
        equal-area projection); 0 leaves rivers out.

    Returns
    -------
    dict of geopandas.GeoSeries
        Some of ``nature_reserve``, ``eco_redline``, ``farmland`` and
        ``river_buffer``, each the layer's geometries in lon/lat (WGS-84), in
        that order; only the constraints the data holds.  Sandy land is not a
        hard constraint (it caps the slope grade instead).

    Examples
    --------
    >>> from shapely.geometry import LineString, box
    >>> eco = gpd.GeoDataFrame({"kind": ["nature_reserve", "sandy_land"]},
    ...                        geometry=[box(120.0, 43.0, 120.1, 43.1), box(121.0, 43.0, 121.1, 43.1)], crs=4326)
    >>> rivers = gpd.GeoDataFrame(geometry=[LineString([(120.0, 43.05), (120.1, 43.05)])], crs=4326)
    >>> list(hard_constraint_layers({"eco_zones": eco, "rivers": rivers}, river_buffer_m=500.0))
    ['nature_reserve', 'river_buffer']
    >>> list(hard_constraint_layers({"eco_zones": eco, "rivers": rivers}, river_buffer_m=0.0))
    ['nature_reserve']
    """
    out = {}
    eco = layers.get("eco_zones")
    if eco is not None and len(eco):
        res = eco[eco["kind"] == "nature_reserve"]
        if len(res):
            out["nature_reserve"] = res.geometry
    for kind in ("eco_redline", "farmland"):
        g = layers.get(kind)
        if g is not None and len(g):
            out[kind] = g.geometry.to_crs(4326)
    rivers = layers.get("rivers")
    if rivers is not None and len(rivers) and river_buffer_m > 0:
        out["river_buffer"] = rivers.geometry.to_crs(EQUAL_AREA_CRS).buffer(river_buffer_m).to_crs(4326)
    return out


def _burn(geoms: gpd.GeoSeries, grid, *, all_touched: bool = True) -> np.ndarray:
    """Cells of polygons: every cell touched (constraints, conservative) or cells whose centre is inside (areas)."""
    g = [x for x in geoms.to_crs(EQUAL_AREA_CRS) if x is not None and not x.is_empty]
    if not g:
        return np.zeros((grid.height, grid.width), bool)
    return rasterize([(x, 1) for x in g], out_shape=(grid.height, grid.width), transform=grid.transform,
                     fill=0, all_touched=all_touched, dtype="uint8").astype(bool)


@dataclass(frozen=True)
class SuitabilityResult:
    """Suitability raster and its parts, on one equal-area grid.

    Attributes
    ----------
    classes : numpy.ndarray of uint8
        1 不适宜, 2 一般适宜, 3 适宜, 0 outside the region or no data.
    score : numpy.ndarray of float
        Weighted grade 1-5; NaN outside the region or without data.
    grades : dict
        ``core_time``, ``corridor_time`` and (with a DEM) ``slope``: grades 1-5.
    hard : dict
        Hard constraints, each a boolean array: ``steep_slope`` and
        ``high_elevation`` (with a DEM), and those of
        :func:`hard_constraint_layers` burnt with every cell they touch.
    grid : twinstar_gis.model.surface.Grid
        The run's equal-area grid.
    inside : numpy.ndarray of bool
        Cells inside the region.
    surfaces : dict
        Travel minutes to the targets (``cores``, ``corridor`` = the quicker of
        ``hsr`` and ``expressway``, and each target set), NaN unreachable.
    """

    classes: np.ndarray
    score: np.ndarray
    grades: dict
    hard: dict
    grid: object
    inside: np.ndarray
    surfaces: dict


def location_targets(layers: dict, *, include_planned: bool = False) -> dict:
    """Choose the target sets of location advantage: ``cores`` (ids), ``hsr`` (ids), ``expressway`` (the travel-time
    model's expressway access points: ramps, interchanges, where expressways end).

    Stations and corridors count only in service (:func:`~twinstar_gis.data.schema.in_service`),
    unless ``include_planned``.

    Parameters
    ----------
    layers : dict
        ``corridors`` (required, with ``class``; ``status`` when present); ``places`` (with
        ``kind`` and ``place_id``) and ``nodes`` (with ``kind`` and ``node_id``) when present.
    include_planned : bool, default False
        Also count planned and under-construction stations and corridors (a scenario).

    Returns
    -------
    dict
        ``"cores"``: sorted ``place_id`` of the places whose ``kind`` is ``city_core`` (an
        empty list without any); ``"hsr"``: sorted ``node_id`` of the ``hsr_station`` nodes,
        only when there is one; ``"expressway"``: the marker
        :data:`~twinstar_gis.model.traveltime.EXPRESSWAY_ACCESS` (``"expressway_access"``),
        only when an ``expressway`` corridor counts.

    Raises
    ------
    KeyError
        If ``layers`` has no ``corridors``.

    Examples
    --------
    >>> places = pd.DataFrame({"place_id": ["SEAT_1", "CORE_2", "CORE_1"], "kind": ["county_seat", "city_core", "city_core"]})
    >>> nodes = pd.DataFrame({"node_id": ["S1", "S2"], "kind": ["hsr_station"] * 2, "status": ["operating", "planned"]})
    >>> cors = pd.DataFrame({"class": ["expressway", "railway"], "status": ["planned", "operating"]})
    >>> location_targets({"places": places, "nodes": nodes, "corridors": cors})
    {'cores': ['CORE_1', 'CORE_2'], 'hsr': ['S1']}
    >>> location_targets({"places": places, "nodes": nodes, "corridors": cors}, include_planned=True)
    {'cores': ['CORE_1', 'CORE_2'], 'hsr': ['S1', 'S2'], 'expressway': 'expressway_access'}
    """
    from ..model.traveltime import EXPRESSWAY_ACCESS

    places = layers.get("places")
    out = {"cores": sorted(places.loc[places["kind"] == "city_core", "place_id"].astype(str))
           if places is not None and len(places) else []}
    nodes = layers.get("nodes")
    if nodes is not None and len(nodes):
        hsr = in_service(nodes[nodes["kind"] == "hsr_station"], include_planned=include_planned)
        if len(hsr):
            out["hsr"] = sorted(hsr["node_id"].astype(str))
    cors = in_service(layers["corridors"], include_planned=include_planned)
    if (cors["class"] == "expressway").any():
        out["expressway"] = EXPRESSWAY_ACCESS
    return out


def construction_suitability(layers: dict, *, dem_path=None, settings=DEFAULT, planning=None,
                             model=None) -> SuitabilityResult:
    """Construction suitability of every cell of the run's grid (see the module docstring).

    Parameters
    ----------
    layers : dict
        ``boundaries``, ``places``, ``corridors`` (required); ``nodes``, ``eco_zones``,
        ``rivers``, ``eco_redline``, ``farmland`` when present.
    dem_path : path-like, optional
        DEM for slope and elevation; without it the slope factor is left out.
    settings : Settings
        Resolution (``access.resolution_m``) and speeds.
    planning : PlanningSettings, optional
        Default: ``settings.planning`` or :data:`DEFAULT_PLANNING`.
    model : TravelTimeModel, optional
        The base travel-time model of these layers, DEM and settings, if already built.

    Returns
    -------
    SuitabilityResult
        The classes, score, grades, hard constraints and travel-time surfaces
        on the model's equal-area grid.  Without a DEM a warning is logged and
        there is no slope factor and no slope / elevation constraint.
    """
    from ..model.surface import _dem_on_grid

    ps = planning or planning_settings(settings)
    surf = _times.surfaces_for(layers, location_targets(layers), dem_path=dem_path, settings=settings, model=model)
    grid, inside = surf.grid, surf.inside
    m = surf.minutes
    corridor = np.fmin(m.get("hsr", np.full(inside.shape, np.nan)), m.get("expressway", np.full(inside.shape, np.nan)))
    grades = {"core_time": grade(m["cores"], ps.time_breaks_min, missing_grade=1.0),
              "corridor_time": grade(corridor, ps.time_breaks_min, missing_grade=1.0)}
    hard = {}
    if dem_path is not None:
        dem = _dem_on_grid(dem_path, grid)
        slope = slope_degrees(dem, grid.resolution)
        g = grade(slope, ps.slope_breaks_deg)
        eco = layers.get("eco_zones")
        if eco is not None and (eco["kind"] == "sandy_land").any():
            sandy = _burn(eco.loc[eco["kind"] == "sandy_land"].geometry, grid)
            g = np.where(sandy, np.fmin(g, ps.sandy_land_score), g)
        grades["slope"] = g
        hard["steep_slope"] = slope > ps.slope_max_deg
        hard["high_elevation"] = dem > ps.elevation_max_m
    else:
        log.warning("no DEM: construction suitability without the slope factor")
    for name, geoms in hard_constraint_layers(layers, river_buffer_m=ps.river_buffer_m).items():
        hard[name] = _burn(geoms, grid)
    any_hard = np.zeros(inside.shape, bool)
    for h in hard.values():
        any_hard |= h
    score = weighted_score(grades, ps.suitability_weights())
    classes = classify(score, any_hard, suitable_min=ps.suitable_min_score, fair_min=ps.fair_min_score, inside=inside)
    return SuitabilityResult(classes=classes, score=np.where(inside, score, np.nan), grades=grades, hard=hard,
                             grid=grid, inside=inside, surfaces={"cores": m["cores"], "corridor": corridor, **m})


def area_by_class(classes: np.ndarray, grid, boundaries: gpd.GeoDataFrame, *, urban_boundary=None) -> pd.DataFrame:
    """Area (km², cell count x cell area on the equal-area grid) of each class per county.

    A cell belongs to the county, and to the urban boundary, holding its centre.

    Parameters
    ----------
    classes : numpy.ndarray of uint8
        The class raster (:func:`classify`) on ``grid``.
    grid : twinstar_gis.model.surface.Grid
        Its grid, in the equal-area CRS (cells of ``grid.resolution`` metres).
    boundaries : geopandas.GeoDataFrame
        Rows with ``level == "county"``: ``adcode``, ``name_zh``,
        ``parent_adcode``; any CRS.
    urban_boundary : geopandas.GeoDataFrame, optional
        The urban development boundary (城镇开发边界); adds each class's area
        inside it.

    Returns
    -------
    pandas.DataFrame
        One row per county, sorted by ``adcode``: ``adcode``, ``name_zh``,
        ``city_adcode``, then ``area_km2_unsuitable``, ``area_km2_fair``,
        ``area_km2_suitable`` (each followed by ``..._in_urban_boundary``
        when given), ``area_km2_no_data`` (class 0 inside the county) and
        ``share_suitable`` (suitable / classed area, 0..1; NaN when nothing
        is classed).

    Examples
    --------
    A 2 x 4 grid of 1 km cells; county 1 holds the left two columns, county 2
    the right two:

    >>> from rasterio.transform import from_origin
    >>> from shapely.geometry import box
    >>> from twinstar_gis.model.surface import Grid
    >>> g = Grid(from_origin(0, 2000, 1000, 1000), 4, 2, EQUAL_AREA_CRS, 1000.0)
    >>> classes = np.array([[3, 3, 2, 1], [3, 0, 1, 1]], dtype="uint8")
    >>> counties = gpd.GeoDataFrame({"adcode": ["1", "2"], "name_zh": ["甲", "乙"], "parent_adcode": ["9", "9"],
    ...                              "level": "county"}, geometry=[box(0, 0, 2000, 2000), box(2000, 0, 4000, 2000)],
    ...                             crs=EQUAL_AREA_CRS).to_crs(4326)
    >>> t = area_by_class(classes, g, counties)
    >>> t[["area_km2_unsuitable", "area_km2_fair", "area_km2_suitable", "area_km2_no_data"]].values.tolist()
    [[0.0, 0.0, 3.0, 1.0], [3.0, 1.0, 0.0, 0.0]]
    >>> t["share_suitable"].tolist()
    [1.0, 0.0]
    """
    counties = boundaries[boundaries["level"] == "county"].sort_values("adcode").reset_index(drop=True)
    zones = rasterize([(g, i + 1) for i, g in enumerate(counties.to_crs(EQUAL_AREA_CRS).geometry)],
                      out_shape=classes.shape, transform=grid.transform, fill=0, dtype="int32")
    urban = _burn(urban_boundary.geometry, grid, all_touched=False) \
        if urban_boundary is not None and len(urban_boundary) else None
    cell = (grid.resolution / 1000.0) ** 2
    rows = []
    for i, c in counties.iterrows():
        z = zones == i + 1
        row = {"adcode": c["adcode"], "name_zh": c["name_zh"], "city_adcode": c["parent_adcode"]}
        for code in CLASS_NAMES:
            row[f"area_km2_{CLASS_NAMES_EN[code]}"] = float((z & (classes == code)).sum() * cell)
            if urban is not None:
                row[f"area_km2_{CLASS_NAMES_EN[code]}_in_urban_boundary"] = float((z & urban & (classes == code)).sum() * cell)
        row["area_km2_no_data"] = float((z & (classes == 0)).sum() * cell)
        classed = sum(row[f"area_km2_{v}"] for v in CLASS_NAMES_EN.values())
        row["share_suitable"] = row["area_km2_suitable"] / classed if classed else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def class_polygons(classes: np.ndarray, grid) -> gpd.GeoDataFrame:
    """The class raster as polygons (one multipolygon per class, WGS-84) with area_km2 from the grid.

    Parameters
    ----------
    classes : numpy.ndarray of uint8
        The class raster (:func:`classify`); 0 is left out.
    grid : twinstar_gis.model.surface.Grid
        Its grid, in the equal-area CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per class present, by ``class_code``: ``class_code`` (1-3),
        ``class_zh``, ``class_en``, ``area_km2`` (cells x cell area; the
        projection is equal-area, so this is the ellipsoidal area) and the
        dissolved cells as geometry, WGS-84.  Empty when no cell is classed.

    Examples
    --------
    >>> from rasterio.transform import from_origin
    >>> from twinstar_gis.model.surface import Grid
    >>> g = Grid(from_origin(0, 2000, 1000, 1000), 4, 2, EQUAL_AREA_CRS, 1000.0)
    >>> p = class_polygons(np.array([[3, 3, 2, 1], [3, 0, 1, 1]], dtype="uint8"), g)
    >>> p[["class_code", "class_en", "area_km2"]].values.tolist()
    [[1, 'unsuitable', 3.0], [2, 'fair', 1.0], [3, 'suitable', 3.0]]
    """
    recs = [(int(v), geom) for geom, v in shapes(classes, mask=classes > 0, transform=grid.transform)]
    if not recs:
        return gpd.GeoDataFrame({"class_code": [], "class_zh": [], "class_en": [], "area_km2": []}, geometry=[], crs=4326)
    import shapely.geometry as sg

    gdf = gpd.GeoDataFrame({"class_code": [r[0] for r in recs]}, geometry=[sg.shape(r[1]) for r in recs], crs=EQUAL_AREA_CRS)
    gdf = gdf.dissolve("class_code").reset_index()
    cell = (grid.resolution / 1000.0) ** 2
    gdf["area_km2"] = [float((classes == c).sum() * cell) for c in gdf["class_code"]]
    gdf["class_zh"] = gdf["class_code"].map(CLASS_NAMES)
    gdf["class_en"] = gdf["class_code"].map(CLASS_NAMES_EN)
    return gdf[["class_code", "class_zh", "class_en", "area_km2", "geometry"]].to_crs(4326)
