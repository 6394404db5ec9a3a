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
    planning/access_2sfca_counties.csv  planning/access_2sfca_parks.csv   (only with a facility layer)
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
    """Suitability GeoTIFFs, county table and class polygons. Returns (paths, result)."""
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
    """Joint-park sites: table, sensitivity, GeoPackage. Returns (paths, result dict)."""
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
    """Round to the precision the inputs support: minutes and km to 0.1, scores to 0.001."""
    df = df.copy()
    for c in df.columns:
        if c.endswith(("_min", "_km")) or c == "minutes" or c.startswith("minutes_"):
            df[c] = df[c].round(1)
        elif c.endswith(("_component", "_points", "_score", "_change")) or "share" in c or c == "score":
            df[c] = df[c].round(3)
    return df


def write_linkage(out_dir, layers, *, dem_path=None, settings=DEFAULT, planning=None, include_planned=True,
                  extra_corridors=None, models=None):
    """Gravity linkage tables and flow lines. Returns (paths, result dict)."""
    from .linkage import twin_city_linkage

    d = _planning_dir(out_dir)
    r = twin_city_linkage(layers, dem_path=dem_path, settings=settings, planning=planning, include_planned=include_planned,
                          extra_corridors=extra_corridors, models=models)
    paths = [write_csv(d / "linkage_units.csv", _rounded(r["units"])), write_csv(d / "linkage_pairs.csv", _rounded(r["pairs"])),
             write_csv(d / "linkage_summary.csv", r["summary"]),
             write_gpkg(d / "linkage.gpkg", {"linkage_flows": r["flows"]})]
    return paths, r


def write_2sfca(out_dir, layers, facilities, *, capacity, dem_path=None, settings=DEFAULT, planning=None):
    """2SFCA tables for a facility layer. Returns (paths, result dict)."""
    from .fca import facility_access

    d = _planning_dir(out_dir)
    r = facility_access(layers, facilities, capacity=capacity, dem_path=dem_path, settings=settings, planning=planning)
    paths = [write_csv(d / "access_2sfca_counties.csv", r["counties"]),
             write_csv(d / "access_2sfca_facilities.csv", r["facilities"])]
    if "parks" in r:
        paths.append(write_csv(d / "access_2sfca_parks.csv", r["parks"]))
    return paths, r


def write_assumptions(out_dir, *, settings=DEFAULT, planning=None):
    ps = planning or planning_settings(settings)
    rows = pd.DataFrame(ps.as_table(), columns=["setting", "value"])
    rows = pd.concat([rows, pd.DataFrame([("resolution_m", str(settings.access.resolution_m))], columns=["setting", "value"])])
    return write_csv(_planning_dir(out_dir) / "assumptions.csv", rows)


def write_planning(run_dir_or_out_dir, layers: dict, *, dem_path=None, settings=DEFAULT, planning=None,
                   facilities=None, capacity: str | None = None, counties=None, top: int = 5,
                   include_planned: bool = True, extra_corridors=None, models: dict | None = None) -> list[Path]:
    """Every planning product into ``<run>/planning/`` (see the module docstring).

    Parameters
    ----------
    run_dir_or_out_dir : path-like
        A run folder (files go to its ``planning/``) or a folder named ``planning``.
    layers : dict
        The layers the run used.
    facilities : GeoDataFrame, optional
        A planner's facility layer for 2SFCA, with ``capacity`` naming its capacity column.
    counties : list of str, optional
        Counties for the site finder (default: along the two cities' border).
    models : dict, optional
        ``{"base": model, "scenario": model}``: travel-time models already built from these layers,
        DEM and settings (``twinstar run`` passes the accessibility step's); ``scenario`` with
        ``include_planned`` and ``extra_corridors``.  A missing one is built here, once.

    Returns
    -------
    list of Path
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
