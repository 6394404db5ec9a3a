"""``twinstar access``: travel times, isochrones, rasters, county table, scenario."""

from __future__ import annotations

from pathlib import Path

import click
import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from ..run.folder import check_command_out, moved_path, staged_outputs
from ..data.validate import validate_dataset
from ..model.surface import check_grid_size
from .options import (RESULTS_DIR, column_pairs, command_inputs, gpkg_arg, open_inputs, out_option,
                      progress, project_opt, quiet, set_opt)

DEFAULT_ACCESS_DIR = RESULTS_DIR / "access"

scenario_column_opt = click.option(
    "--scenario-column", "scenario_columns", multiple=True, callback=column_pairs, metavar="OURS=THEIRS",
    help="Map a column of the --scenario file to an attribute, e.g. --scenario-column name_zh=名称 --scenario-column "
         "class=等级 (repeatable), like `columns` in a project file; the project's class_map applies to its classes.")


def _minutes(ctx, param, value):
    if value is None:
        return None
    try:
        mins = sorted({float(v) for v in value.split(",") if v.strip()})
    except ValueError:
        raise click.BadParameter("give minutes as numbers separated by commas, e.g. 30,60,90,120") from None
    if not mins or mins[0] <= 0 or mins[-1] == float("inf"):
        raise click.BadParameter("minutes must be positive, finite numbers, e.g. 30,60,90,120")
    return mins


def _points(ctx, param, values):
    pts = []
    for v in values:
        try:
            lon, lat = (float(x) for x in v.split(","))
        except ValueError:
            raise click.BadParameter(f"{v!r}: give LON,LAT in WGS-84 degrees, e.g. 119.9,42.3") from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            hint = " (longitude and latitude swapped? give LON first)" if abs(lat) > 90 and abs(lon) <= 90 else ""
            raise click.BadParameter(f"{v!r}: not a WGS-84 lon/lat: latitude must lie within ±90 and longitude "
                                     f"within ±180{hint}")
        pts.append((lon, lat))
    return pts


def _scenario_corridors(value, layers, settings, *, columns=None, project=None):
    """A scenario corridor file, read like a project layer (``columns`` renamed, the project's ``class_map``
    applied) and checked like the dataset's corridors (classes, speeds, stations, region)."""
    from ..data.io import LayerSource, load_layer_source, read_project

    if value in (None, "none", "planned"):
        if columns:
            raise click.BadParameter("--scenario-column maps the columns of a --scenario FILE", param_hint="--scenario-column")
        return None
    gdf = load_layer_source(LayerSource(kind="corridors", path=Path(value), columns=dict(columns or {})))
    class_map = read_project(project).class_map if project else {}
    if class_map and "class" in gdf.columns:
        attrs = dict(gdf.attrs)
        gdf = gdf.assign(**{"class": gdf["class"].map(lambda v: class_map.get(v, v))})
        gdf.attrs.update(attrs)
    gdf.attrs["source_file"] = str(value)
    if "status" not in gdf:
        gdf["status"] = "scenario"
    context = {k: layers[k] for k in ("boundaries", "nodes") if k in layers}
    _, rep = validate_dataset({**context, "corridors": gdf}, settings=settings)
    rep.raise_if_failed()
    return gdf


@click.command("access")
@gpkg_arg
@project_opt
@click.option("--resolution", type=click.FloatRange(min=100),
              help="Raster cell size in metres; sets access.resolution_m (default 1000; the whole region at 100 m needs about 6 GiB).")
@click.option("--minutes", callback=_minutes,
              help="Isochrone thresholds, e.g. 30,60,90,120; sets access.minutes.")
@click.option("--origin", "origins", multiple=True, help="Extra isochrone origin: a place, park or station id (repeatable).")
@click.option("--origin-point", "origin_points", multiple=True, callback=_points,
              help="Extra isochrone origin as LON,LAT (repeatable).")
@click.option("--scenario",
              help="'planned' (the dataset's planned corridors), a corridor file (GeoJSON, GPKG, ...), or 'none' "
                   "(default: access.scenario, planned).")
@out_option(DEFAULT_ACCESS_DIR)
@set_opt
@scenario_column_opt
def access(path, project, resolution, minutes, origins, origin_points, scenario, out_dir, settings_set, scenario_columns):
    """Accessibility: OD matrix, isochrones, travel-time GeoTIFFs, county table, scenario comparison."""
    from ..data.io import read_project
    from ..data.validate import check_points_in_region
    from ..pipeline.steps import travel_facts_of, resolve_settings, run_access

    check_command_out(out_dir)
    ds, settings = open_inputs(path, project, needed=("boundaries", "places", "corridors"))
    overrides = dict(settings_set)
    if resolution is not None:
        overrides["access.resolution_m"] = resolution
    if minutes is not None:
        overrides["access.minutes"] = minutes
    settings = resolve_settings(settings=settings, overrides=overrides)
    check_grid_size(ds.layers, settings)
    if scenario is None:
        scenario = settings.access.scenario
    layers = dict(ds.layers)
    if origin_points:
        check_points_in_region(origin_points, layers=layers, settings=settings, what="--origin-point")
    layers, all_origins = _with_origins(layers, origins, origin_points)
    extra = _scenario_corridors(scenario, layers, settings, columns=scenario_columns, project=project)
    inputs = command_inputs(path, project, scenario if extra is not None else None)
    with staged_outputs(out_dir, inputs=inputs) as stage, \
            progress(2 if scenario != "none" else 1, "Accessibility") as bar:
        written, base, scen, comparison = run_access(ds, stage, settings, layers=layers, origins=all_origins,
                                                     scenario="file" if extra is not None else scenario,
                                                     extra_corridors=extra, on_step=lambda: bar.update(1),
                                                     facts=travel_facts_of(read_project(project) if project else None))
    _summary(base, scen, comparison, scenario)
    for p in written:
        click.echo(f"Wrote {moved_path(p, stage, out_dir)}")


def _with_origins(layers, origins, origin_points):
    """The layers with the --origin-point places added, and every origin id (unknown --origin ids refused)."""
    extra_ids = []
    if origin_points:
        add = gpd.GeoDataFrame({"place_id": [f"ORIGIN_{i + 1}" for i in range(len(origin_points))],
                                "name_zh": [f"起点{i + 1} ({lon:.4f},{lat:.4f})" for i, (lon, lat) in enumerate(origin_points)],
                                "kind": "origin"}, geometry=[Point(p) for p in origin_points], crs=4326)
        layers = {**layers, "places": pd.concat([layers["places"], add], ignore_index=True)}
        extra_ids = list(add["place_id"])
    known = set(layers["places"]["place_id"].astype(str))
    for kind, col in (("parks", "park_id"), ("nodes", "node_id")):
        if kind in layers and col in layers[kind].columns:
            known |= set(layers[kind][col].astype(str))
    bad = [o for o in origins if o not in known]
    if bad:
        raise click.BadParameter(f"unknown origin id(s) {', '.join(bad)}; use a place_id, park_id or station node_id",
                                 param_hint="--origin")
    return layers, list(origins) + extra_ids


def _summary(base, scen, comparison, scenario):
    tw = base.twin_city.set_index("indicator")["value"]
    click.echo(f"Chifeng core <-> Tongliao core: {tw['core_to_core_fastest_min']:.0f} min fastest, "
               f"{tw['core_to_core_road_min']:.0f} min by road")
    unreachable = base.to_nearest[~base.to_nearest["reachable"]]
    if len(unreachable) and not quiet():
        click.secho(f"Unreachable from every core: {', '.join(map(str, unreachable['id']))}", fg="yellow", err=True)
    if scen is not None:
        counties = comparison[0]
        top = counties.nlargest(1, "area_share_120min_change")
        gain = f"{top['name_zh'].iloc[0]} {top['area_share_120min_change'].iloc[0]:+.3f}" if len(top) else "none"
        click.echo(f"Scenario '{scenario}': core <-> core {scen.twin_city.iloc[0]['value']:.0f} min; "
                   f"largest county gain in 2-hour area share: {gain}")
