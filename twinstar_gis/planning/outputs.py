"""Write the planning products of a run into ``planning/``.

Files (relative to the run folder)::

    planning/suitability_classes.tif      uint8: 1 不适宜, 2 一般适宜, 3 适宜, 0 outside / no data
    planning/suitability_score.tif        float32 weighted score 1-5 (nodata -9999)
    planning/suitability_by_county.csv
    planning/suitability.gpkg             layer suitability_classes (polygons per class)
    planning/sites.csv  planning/sites_sensitivity.csv
    planning/sites.gpkg                   layers sites (squares, every score column), site_counties
    planning/linkage_units.csv  planning/linkage_pairs.csv  planning/linkage_summary.csv
    planning/linkage.gpkg                 layer linkage_flows (lines, strength base / scenario)
    planning/access_2sfca_counties.csv  planning/access_2sfca_facilities.csv
    planning/access_2sfca_parks.csv       (the three 2SFCA files only with a facility layer)
    planning/assumptions.csv              the planning settings used
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import rasterio

from ..data.io import atomic_output, write_csv, write_gpkg
from ..model.surface import write_raster
from ..settings import DEFAULT
from ..settings import planning_settings

__all__ = ["BRIEF_TABLES", "MAP_LAYERS", "write_2sfca", "write_linkage", "write_planning", "write_sites", "write_suitability"]

log = logging.getLogger(__name__)

#: Brief-ready summary tables: file (relative to the run folder) -> caption.
BRIEF_TABLES = {
    "planning/suitability_by_county.csv": "Construction suitability (城镇建设适宜性): area by class per county",
    "planning/sites.csv": "Joint-park candidate sites (毗邻地区合作共建园区), top N with every score component",
    "planning/sites_sensitivity.csv": "Site ranking when each weight moves ±25 %",
    "planning/linkage_units.csv": "Gravity linkage per county: total, strongest partner, cross-city share, base vs scenario",
    "planning/linkage_summary.csv": "Twin-city linkage indicators (one economic circle), base vs scenario",
    "planning/access_2sfca_parks.csv": "Parks ranked by 2SFCA access to the planner's facilities",
}

#: Map layers for the renderers: file (relative to the run folder) -> layer names and what to draw.
MAP_LAYERS = {
    "planning/suitability_classes.tif": "class raster (1 不适宜, 2 一般适宜, 3 适宜, 0 nodata), equal-area grid",
    "planning/suitability.gpkg": {"suitability_classes": "polygons per class: class_code, class_zh, class_en, area_km2"},
    "planning/sites.gpkg": {"sites": "candidate squares: site_rank, score, every *_component / *_points, why",
                            "site_counties": "the counties searched"},
    "planning/linkage.gpkg": {"linkage_flows": "seat-to-seat lines: strength, strength_scenario, strength_rel, cross_city"},
}


def _planning_dir(path) -> Path:
    path = Path(path)
    return path if path.name == "planning" else path / "planning"


def _write_classes(path, classes, grid, tags):
    profile = {"driver": "GTiff", "height": grid.height, "width": grid.width, "count": 1, "dtype": "uint8", "crs": grid.crs,
                   "transform": grid.transform, "nodata": 0, "compress": "deflate"}
    with atomic_output(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(classes.astype("uint8"), 1)
        dst.update_tags(**{k: str(v) for k, v in tags.items()})
    return Path(path)


def write_suitability(out_dir, layers, *, dem_path=None, settings=DEFAULT, planning=None, result=None, model=None):
    """Suitability GeoTIFFs, county table and class polygons.

    Parameters
    ----------
    out_dir : path-like
        A run folder (files go to its ``planning/``) or a folder named
        ``planning``.
    layers : dict of geopandas.GeoDataFrame
        The run's layers (``boundaries`` for the county table,
        ``urban_boundary`` when present, and what
        :func:`~twinstar_gis.planning.suitability.construction_suitability`
        needs).
    dem_path : path-like, optional
        DEM for the slope factor and the slope / elevation constraints.
    settings : Settings, default DEFAULT
        The run's settings.
    planning : PlanningSettings, optional
        Default: the planning section of ``settings``.
    result : SuitabilityResult, optional
        A suitability already computed with these arguments (then nothing is
        recomputed).
    model : TravelTimeModel, optional
        The base travel-time model of these layers, DEM and settings.

    Returns
    -------
    (list of pathlib.Path, SuitabilityResult)
        The four files written (``suitability_classes.tif``: uint8, 1 不适宜,
        2 一般适宜, 3 适宜, 0 outside / no data; ``suitability_score.tif``:
        float32 weighted grade 1-5, nodata -9999; ``suitability_by_county.csv``:
        km² per class per county, 3 decimals; ``suitability.gpkg``: layer
        ``suitability_classes``), and the result they were written from.  Both
        GeoTIFFs are on the equal-area grid and carry the class legend, the
        resolution and every planning setting as tags.
    """
    from .suitability import area_by_class, class_polygons, construction_suitability

    d = _planning_dir(out_dir)
    ps = planning or planning_settings(settings)
    res = result or construction_suitability(layers, dem_path=dem_path, settings=settings, planning=ps, model=model)
    tags = {"classes": "1=不适宜 unsuitable; 2=一般适宜 fair; 3=适宜 suitable; 0=outside/no data",
            "resolution_m": res.grid.resolution, **{f"planning_{k}": v for k, v in ps.as_table()}}
    table = area_by_class(res.classes, res.grid, layers["boundaries"], urban_boundary=layers.get("urban_boundary"))
    paths = [_write_classes(d / "suitability_classes.tif", res.classes, res.grid, tags),
             write_raster(d / "suitability_score.tif", res.score, res.grid, tags={"units": "weighted grade 1-5", **tags}),
             write_csv(d / "suitability_by_county.csv", table.round(3)),
             write_gpkg(d / "suitability.gpkg", {"suitability_classes": class_polygons(res.classes, res.grid)})]
    return paths, res


def write_sites(out_dir, layers, *, dem_path=None, settings=DEFAULT, planning=None, counties=None, area_km2=None,
                top=5, suitability=None, model=None):
    """Joint-park sites: table, sensitivity, GeoPackage.

    Parameters
    ----------
    out_dir : path-like
        A run folder (files go to its ``planning/``) or a folder named
        ``planning``.
    layers : dict of geopandas.GeoDataFrame
        The run's layers (see :func:`~twinstar_gis.planning.sites.find_sites`).
    dem_path : path-like, optional
        DEM of the run.
    settings : Settings, default DEFAULT
        The run's settings.
    planning : PlanningSettings, optional
        Default: the planning section of ``settings``.
    counties : list of str, optional
        County adcodes to search (default: the counties along the border of
        the two prefectures).
    area_km2 : float, optional
        Park size in km² (default ``planning.site_area_km2``).
    top : int, default 5
        Number of sites.
    suitability : SuitabilityResult, optional
        A suitability already computed with the same settings.
    model : TravelTimeModel, optional
        The base travel-time model of these layers, DEM and settings.

    Returns
    -------
    (list of pathlib.Path, dict)
        The files written (``sites.csv``: one row per site, minutes and km to
        0.1, scores to 0.001; ``sites_sensitivity.csv``; ``sites.gpkg``: layers
        ``sites`` and ``site_counties``, the counties searched) and the result
        of :func:`~twinstar_gis.planning.sites.find_sites` (unrounded).

    Raises
    ------
    PlanningError
        As :func:`~twinstar_gis.planning.sites.find_sites` (unknown county,
        no square fits, not two city cores, ...).
    """
    from .sites import find_sites

    d = _planning_dir(out_dir)
    r = find_sites(layers, dem_path=dem_path, counties=counties, area_km2=area_km2, top=top, settings=settings,
                   planning=planning, suitability=suitability, model=model)
    b = layers["boundaries"]
    searched = b[b["adcode"].astype(str).isin(r["counties"])][["adcode", "name_zh", "geometry"]]
    sites = _rounded(r["sites"])
    paths = [write_csv(d / "sites.csv", sites), write_csv(d / "sites_sensitivity.csv", r["sensitivity"]),
             write_gpkg(d / "sites.gpkg", {"sites": sites, "site_counties": searched})]
    return paths, r


def _rounded(df):
    """Round to the precision the inputs support: minutes and km to 0.1, percentages to 0.01, scores to 0.001."""
    df = df.copy()
    for c in df.columns:
        if c.endswith(("_min", "_km")) or c == "minutes" or c.startswith("minutes_"):
            df[c] = df[c].round(1)
        elif c.endswith("_pct"):
            df[c] = df[c].round(2)
        elif c.endswith(("_component", "_points", "_score", "_change")) or "share" in c or c == "score":
            df[c] = df[c].round(3)
    return df


def write_linkage(out_dir, layers, *, dem_path=None, settings=DEFAULT, planning=None, include_planned=True,
                  extra_corridors=None, models=None):
    """Gravity linkage tables and flow lines.

    Parameters
    ----------
    out_dir : path-like
        A run folder (files go to its ``planning/``) or a folder named
        ``planning``.
    layers : dict of geopandas.GeoDataFrame
        The run's layers (``boundaries``, ``places`` and the network).
    dem_path : path-like, optional
        DEM of the run.
    settings : Settings, default DEFAULT
        The run's settings.
    planning : PlanningSettings, optional
        Default: the planning section of ``settings``.
    include_planned : bool, default True
        The scenario counts planned corridors.
    extra_corridors : geopandas.GeoDataFrame, optional
        Further corridors added in the scenario.
    models : tuple of (TravelTimeModel, TravelTimeModel), optional
        ``(base, scenario)`` models already built (default: build them).

    Returns
    -------
    (list of pathlib.Path, dict)
        The files written (``linkage_units.csv`` and ``linkage_pairs.csv``:
        minutes to 0.1, shares to 0.001, strengths unrounded;
        ``linkage_summary.csv``; ``linkage.gpkg``: layer ``linkage_flows``)
        and the result of
        :func:`~twinstar_gis.planning.linkage.twin_city_linkage` (unrounded).

    Raises
    ------
    PlanningError
        A county without a ``county_seat`` place.
    """
    from .linkage import twin_city_linkage

    d = _planning_dir(out_dir)
    r = twin_city_linkage(layers, dem_path=dem_path, settings=settings, planning=planning, include_planned=include_planned,
                          extra_corridors=extra_corridors, models=models)
    paths = [write_csv(d / "linkage_units.csv", _rounded(r["units"])), write_csv(d / "linkage_pairs.csv", _rounded(r["pairs"])),
             write_csv(d / "linkage_summary.csv", r["summary"]),
             write_gpkg(d / "linkage.gpkg", {"linkage_flows": r["flows"]})]
    return paths, r


def write_2sfca(out_dir, layers, facilities, *, capacity, dem_path=None, settings=DEFAULT, planning=None):
    """2SFCA tables for a facility layer.

    Parameters
    ----------
    out_dir : path-like
        A run folder (files go to its ``planning/``) or a folder named
        ``planning``.
    layers : dict of geopandas.GeoDataFrame
        The run's layers.
    facilities : geopandas.GeoDataFrame
        The planner's facility points (hospitals, schools, ...).
    capacity : str
        Column of ``facilities`` holding each facility's capacity (beds,
        places, ...).
    dem_path : path-like, optional
        DEM of the run.
    settings : Settings, default DEFAULT
        The run's settings.
    planning : PlanningSettings, optional
        Default: the planning section of ``settings`` (``catchment_min``).

    Returns
    -------
    (list of pathlib.Path, dict)
        The files written (``access_2sfca_counties.csv``,
        ``access_2sfca_facilities.csv`` and, when the result has parks,
        ``access_2sfca_parks.csv``) and the result of
        :func:`~twinstar_gis.planning.fca.facility_access`.

    Raises
    ------
    PlanningError
        ``facilities`` has no column ``capacity``.
    """
    from .fca import facility_access

    d = _planning_dir(out_dir)
    r = facility_access(layers, facilities, capacity=capacity, dem_path=dem_path, settings=settings, planning=planning)
    paths = [write_csv(d / "access_2sfca_counties.csv", r["counties"]),
             write_csv(d / "access_2sfca_facilities.csv", r["facilities"])]
    if "parks" in r:
        paths.append(write_csv(d / "access_2sfca_parks.csv", r["parks"]))
    return paths, r


def write_assumptions(out_dir, *, settings=DEFAULT, planning=None):
    """The planning settings a run used, as a two-column table ``assumptions.csv``.

    Parameters
    ----------
    out_dir : path-like
        A run folder (the file goes to its ``planning/``) or a folder named
        ``planning``.
    settings : Settings, default DEFAULT
        The run's settings: its grid resolution is added as ``resolution_m``.
    planning : PlanningSettings, optional
        Default: the planning section of ``settings``.

    Returns
    -------
    pathlib.Path
        ``planning/assumptions.csv``: columns ``setting`` and ``value`` (as
        text), one row per planning setting, then ``resolution_m``.

    Examples
    --------
    >>> import tempfile
    >>> path = write_assumptions(tempfile.mkdtemp())
    >>> table = pd.read_csv(path)
    >>> path.parent.name, path.name, table.columns.tolist()
    ('planning', 'assumptions.csv', ['setting', 'value'])
    >>> table.set_index("setting").loc[["gravity_b", "resolution_m"], "value"].astype(float).tolist()
    [2.0, 1000.0]
    """
    ps = planning or planning_settings(settings)
    rows = pd.DataFrame(ps.as_table(), columns=["setting", "value"])
    rows = pd.concat([rows, pd.DataFrame([("resolution_m", str(settings.access.resolution_m))], columns=["setting", "value"])])
    return write_csv(_planning_dir(out_dir) / "assumptions.csv", rows)


def write_planning(run_dir_or_out_dir, layers: dict, *, dem_path=None, settings=DEFAULT, planning=None,
                   facilities=None, capacity: str | None = None, counties=None, top: int = 5,
                   include_planned: bool = True, extra_corridors=None, models: dict | None = None) -> list[Path]:
    """Every planning product into ``<run>/planning/`` (see the module docstring).

    Suitability, sites and linkage share one base travel-time model (built
    here once unless given); the linkage scenario uses a second one.  The 2SFCA
    tables build their own model.

    Parameters
    ----------
    run_dir_or_out_dir : path-like
        A run folder (files go to its ``planning/``) or a folder named ``planning``.
    layers : dict of geopandas.GeoDataFrame
        The layers the run used.
    dem_path : path-like, optional
        DEM of the run (slope factor, constraints and the land surface).
    settings : Settings, default DEFAULT
        The run's settings.
    planning : PlanningSettings, optional
        Default: the planning section of ``settings``.
    facilities : geopandas.GeoDataFrame, optional
        A planner's facility layer for 2SFCA; without it no 2SFCA file is written.
    capacity : str, optional
        Column of ``facilities`` holding capacities (required with ``facilities``).
    counties : list of str, optional
        County adcodes for the site finder (default: along the two cities' border).
    top : int, default 5
        Number of joint-park sites.
    include_planned : bool, default True
        The linkage scenario counts planned corridors.
    extra_corridors : geopandas.GeoDataFrame, optional
        Further corridors added in the linkage scenario.
    models : dict, optional
        ``{"base": model, "scenario": model}``: travel-time models already built from these layers,
        DEM and settings (``twinstar run`` passes the accessibility step's); ``scenario`` with
        ``include_planned`` and ``extra_corridors``.  A missing one is built here, once.

    Returns
    -------
    list of pathlib.Path
        Every file written, in the order suitability, sites, linkage, 2SFCA,
        assumptions.

    Raises
    ------
    PlanningError
        Bad input to one of the analyses (see the ``write_*`` functions).  The
        files of the analyses before it are already written: ``twinstar run``
        stages the whole run folder, so only a direct call can leave a partial
        ``planning/``.
    """
    from ..model.traveltime import build_model

    models = dict(models or {})
    kw = {"dem_path": dem_path, "settings": settings}
    base = models["base"] if models.get("base") is not None else build_model(layers, **kw)  # one model for suitability, sites and linkage
    if not include_planned and extra_corridors is None:
        scen = base
    else:
        scen = models["scenario"] if models.get("scenario") is not None else build_model(
            layers, include_planned=include_planned, extra_corridors=extra_corridors, **kw)
    paths, suit = write_suitability(run_dir_or_out_dir, layers, planning=planning, model=base, **kw)
    p, _ = write_sites(run_dir_or_out_dir, layers, planning=planning, counties=counties, top=top, suitability=suit,
                       model=base, **kw)
    paths += p
    p, _ = write_linkage(run_dir_or_out_dir, layers, planning=planning, include_planned=include_planned,
                         extra_corridors=extra_corridors, models=(base, scen), **kw)
    paths += p
    if facilities is not None:
        p, _ = write_2sfca(run_dir_or_out_dir, layers, facilities, capacity=capacity, dem_path=dem_path,
                           settings=settings, planning=planning)
        paths += p
    paths.append(write_assumptions(run_dir_or_out_dir, settings=settings, planning=planning))
    log.info("planning: wrote %d files", len(paths))
    return paths
