"""``twinstar suitability``, ``twinstar sites``, ``twinstar linkage``, ``twinstar access2sfca``.

``--out DIR`` is the folder the files go into, directly (as for every command); the planning
writers' own ``planning/`` level is the private staging folder's name (see
:func:`twinstar_gis.run.folder.staged_outputs`).
"""

from __future__ import annotations

import click

from ..data.gcj02 import COORD_SYSTEMS
from ..data.io import read_layer
from ..run.folder import check_command_out, moved_path, staged_outputs
from .access import _scenario_corridors, scenario_column_opt
from ..model.surface import check_grid_size
from .options import RESULTS_DIR, command_inputs, gpkg_arg, out_option, project_opt

DEFAULT_PLANNING_DIR = RESULTS_DIR / "planning"
CONTROL_LINES = (("eco_redline", "生态保护红线 (ecological protection red line)"),
                 ("farmland", "永久基本农田 (permanent basic farmland)"),
                 ("urban_boundary", "城镇开发边界 (urban development boundary)"))


def planning_options(f):
    """Dataset, resolution, control lines and output folder shared by the planning commands.

    Parameters
    ----------
    f : callable
        The click command.

    Returns
    -------
    callable
    """
    f = out_option(DEFAULT_PLANNING_DIR)(f)
    for kind, label in reversed(CONTROL_LINES):
        f = click.option(f"--{kind.replace('_', '-')}", kind, type=click.Path(exists=True, path_type=str),
                         help=f"Polygon file of the {label}, when the project does not carry it.")(f)
    f = click.option("--resolution", type=click.FloatRange(min=100), default=None,
                     help="Raster cell size in metres (default: the access.resolution_m setting).")(f)
    return project_opt(gpkg_arg(f))


def _control_line(kind, file, layers, settings):
    """A control-line file: not empty, sound polygons, in the study area (no attribute is required of it)."""
    from ..data.validate import ValidationReport, check_layer_region, study_area_geometry, validate_geometry

    gdf = read_layer(file)
    gdf.attrs["source_file"] = str(file)
    gdf, rep = validate_geometry(gdf, label=str(file))
    types = set(gdf.geometry.geom_type.dropna()) - {"Polygon", "MultiPolygon"}
    if types:
        rep.add(f"{kind}: geometry type", [f"{file}: wrong geometry type {', '.join(sorted(types))}; a control line "
                                           "(生态保护红线, 永久基本农田, 城镇开发边界) is polygons"])
    if rep.ok:
        rep = ValidationReport()
        check_layer_region(gdf, kind, rep, settings=settings, study_area=study_area_geometry(layers))
    rep.raise_if_failed()
    return gdf


def _load(path, project, resolution, control, out_dir):
    """Validated layers (+ control-line files), DEM path and settings (the project's, then --resolution)."""
    from ..pipeline.steps import resolve_settings
    from .options import open_inputs

    check_command_out(out_dir)
    ds, settings = open_inputs(path, project, needed=("boundaries", "places", "corridors"))
    overrides = {} if resolution is None else {"access.resolution_m": resolution}
    settings = resolve_settings(settings=settings, overrides=overrides)
    check_grid_size(ds.layers, settings)
    layers = dict(ds.layers)
    for kind, file in control.items():
        if file:
            layers[kind] = _control_line(kind, file, layers, settings)
    return layers, ds.dem_path, settings


def _echo_paths(paths, stage, out_dir):
    for p in paths:
        click.echo(f"Wrote {moved_path(p, stage, out_dir)}")


def _staged(out_dir, path, project, *extra):
    """The planning writers write ``<folder>/planning/...`` unless the folder is called ``planning``: so it is."""
    return staged_outputs(out_dir, inputs=command_inputs(path, project, *extra), name="planning")


@click.command("suitability")
@planning_options
def suitability(path, project, resolution, eco_redline, farmland, urban_boundary, out_dir):
    """Construction suitability (城镇建设适宜性): class GeoTIFF, area by class per county, class polygons."""
    from ..planning.outputs import write_suitability

    control = {"eco_redline": eco_redline, "farmland": farmland, "urban_boundary": urban_boundary}
    layers, dem, settings = _load(path, project, resolution, control, out_dir)
    with _staged(out_dir, path, project, *control.values()) as stage:
        paths, res = write_suitability(stage, layers, dem_path=dem, settings=settings)
    cell = (res.grid.resolution / 1000) ** 2
    click.echo("Area by class: " + ", ".join(f"{n} {int((res.classes == c).sum() * cell):,} km²"
                                             for c, n in ((3, "适宜"), (2, "一般适宜"), (1, "不适宜"))))
    _echo_paths(paths, stage, out_dir)


def _adcodes(ctx, param, value):
    if not value:
        return None
    return sorted({v.strip() for v in value.split(",") if v.strip()})


@click.command("sites")
@planning_options
@click.option("--counties", callback=_adcodes, help="County adcodes to search, comma-separated "
              "(default: the counties along the Chifeng-Tongliao border).")
@click.option("--area-km2", type=click.FloatRange(min=0.01), default=None, help="Park size (default 10 km²).")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="Number of sites.")
def sites(path, project, resolution, eco_redline, farmland, urban_boundary, out_dir, counties, area_km2, top):
    """Joint-park site finder (毗邻地区合作共建园区): top non-overlapping sites with every score component."""
    from ..planning.outputs import write_sites

    control = {"eco_redline": eco_redline, "farmland": farmland, "urban_boundary": urban_boundary}
    layers, dem, settings = _load(path, project, resolution, control, out_dir)
    with _staged(out_dir, path, project, *control.values()) as stage:
        paths, r = write_sites(stage, layers, dem_path=dem, settings=settings, counties=counties, area_km2=area_km2, top=top)
    for row in r["sites"].itertuples():
        click.echo(f"#{row.site_rank} {row.counties} ({row.lon:.3f}, {row.lat:.3f}) score {row.score:.3f}: {row.why}")
    _echo_paths(paths, stage, out_dir)


@click.command("linkage")
@planning_options
@click.option("--scenario", default="planned", show_default=True,
              help="'planned' (the dataset's planned corridors) or a corridor file (GeoJSON, GPKG, ...).")
@scenario_column_opt
def linkage(path, project, resolution, eco_redline, farmland, urban_boundary, out_dir, scenario, scenario_columns):
    """Twin-city gravity linkage (城市联系强度) between the county-level units, today and with the scenario."""
    from ..planning.outputs import write_linkage

    layers, dem, settings = _load(path, project, resolution, {}, out_dir)
    extra = _scenario_corridors(scenario, layers, settings, columns=scenario_columns, project=project)
    with _staged(out_dir, path, project, scenario if extra is not None else None) as stage:
        paths, r = write_linkage(stage, layers, dem_path=dem, settings=settings, include_planned=scenario == "planned",
                                 extra_corridors=extra)
    s = r["summary"].set_index("indicator")
    share = s.loc["cross_city_share_of_all_linkage"]
    click.echo(f"Cross-city share of all linkage: {share['base']:.1%} today, {share['scenario']:.1%} with the scenario "
               f"({int(s.loc['units_without_population', 'base'])} units without census population left out)")
    _echo_paths(paths, stage, out_dir)


@click.command("access2sfca")
@click.argument("facilities", type=click.Path(exists=True, dir_okay=False, path_type=str))
@planning_options
@click.option("--capacity", required=True, help="Capacity column of the facility file (beds, seats, ...).")
@click.option("--coord-system", type=click.Choice(COORD_SYSTEMS), default="wgs84", show_default=True,
              help="Coordinate system of the facility file (gcj02 for Amap, bd09 for Baidu POI exports).")
@click.option("--encoding", help="Attribute encoding of the facility file (e.g. GBK).")
@click.option("--catchment-min", type=click.FloatRange(min=1, max=1440), default=None,
              help="2SFCA catchment in minutes (default: the planning.catchment_min setting, 30).")
def access2sfca(facilities, path, project, resolution, eco_redline, farmland, urban_boundary, out_dir, capacity,
                coord_system, encoding, catchment_min):
    """Two-step floating catchment (2SFCA) access to a planner's facilities, per county and park.

    FACILITIES: points (CSV with lon/lat, GeoJSON, GPKG, ...) with a capacity column; ids from a
    facility_id column (unique) or the row order.  Checked before anything is computed.
    """
    import dataclasses

    from ..planning.fca import check_facilities
    from ..planning.outputs import write_2sfca
    from ..settings import planning_settings

    layers, dem, settings = _load(path, project, resolution, {}, out_dir)
    fac = read_layer(facilities, coord_system=coord_system, encoding=encoding)
    fac.attrs["source_file"] = str(facilities)
    check_facilities(fac, capacity=capacity, layers=layers, settings=settings, label=str(facilities))
    ps = planning_settings(settings)
    if catchment_min is not None:
        ps = dataclasses.replace(ps, catchment_min=float(catchment_min))
    with _staged(out_dir, path, project, facilities) as stage:
        paths, r = write_2sfca(stage, layers, fac, capacity=capacity, dem_path=dem, settings=settings, planning=ps)
    if "parks" in r:
        best = r["parks"].dropna(subset=["access_index"]).head(3)
        click.echo("Best-served parks: " + ", ".join(f"{n} ({a:.3g})" for n, a in zip(best["name_zh"], best["access_index"])))
    _echo_paths(paths, stage, out_dir)
