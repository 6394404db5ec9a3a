"""``twinstar distances``, ``twinstar overlap``, ``twinstar indicators``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import DataSourceError
from ..data.io import read_layer, write_csv, write_gpkg
from ..run.folder import check_command_out, moved_path, staged_outputs
from ..run.outputs import write_distances, write_indicators, write_overlap
from ..analysis.overlay import overlay_layers
from ..analysis.proximity import TARGET_CLASSES
from ..data.schema import LAYERS
from ..data.validate import ValidationReport, check_layer_region, study_area_geometry, validate_dataset, validate_geometry
from .options import RESULTS_DIR, command_inputs, gpkg_arg, open_inputs, out_option, project_opt

DEFAULT_ANALYSIS_DIR = RESULTS_DIR / "analysis"
out_opt = out_option(DEFAULT_ANALYSIS_DIR)


def _echo_written(paths, stage, out_dir):
    for p in paths:
        click.echo(f"Wrote {moved_path(p, stage, out_dir)}")


def _load_valid(path, project, needed):
    return open_inputs(path, project, needed=needed)[0]


def _classes(ctx, param, value):
    if not value:
        return None
    classes = [c.strip() for c in value.split(",") if c.strip()]
    bad = [c for c in classes if c not in TARGET_CLASSES]
    if bad:
        raise click.BadParameter(f"unknown class(es) {bad}; choose from {', '.join(TARGET_CLASSES)}")
    return classes


@click.command("distances")
@gpkg_arg
@project_opt
@click.option("--classes", callback=_classes, help=f"Comma-separated corridor classes (default all): {', '.join(TARGET_CLASSES)}.")
@click.option("--max-km", type=click.FloatRange(min=0), help="Keep only distances up to this many km.")
@click.option("--from", "measure_from", type=click.Choice(["boundary", "centroid"]), default="boundary", show_default=True,
              help="Measure from the park boundary or its centroid.")
@click.option("--include-planned", is_flag=True, help="Count planned corridors too (default: operating only).")
@out_opt
def distances(path, project, classes, max_km, measure_from, include_planned, out_dir):
    """Park-to-corridor ground distances: nearest of each class, full matrix, connector lines."""
    check_command_out(out_dir)
    ds = _load_valid(path, project, ["parks"])
    _check_classes_present(ds, classes)
    with staged_outputs(out_dir, inputs=command_inputs(path, project)) as stage:
        written, near = write_distances(ds, stage, classes=classes, max_km=max_km, measure_from=measure_from,
                                        include_planned=include_planned)
    summary = near.groupby("class", sort=False)["distance_km"].agg(["count", "median", "max"]).round(1)
    click.echo(f"Nearest corridor of each class for {near['park_id'].nunique()} parks (from the {measure_from}, km):")
    click.echo(summary.to_string())
    _echo_written(written, stage, out_dir)


def _check_classes_present(ds, classes):
    """Refuse classes of which the data hold no feature (e.g. --classes interchange without interchange nodes)."""
    from ..analysis.proximity import TARGET_CLASSES as SOURCES

    present = []
    for cls, (layer, col, values) in SOURCES.items():
        gdf = ds.layers.get(layer)
        if gdf is not None and col in gdf.columns and gdf[col].isin(values).any():
            present.append(cls)
    absent = [c for c in (classes or []) if c not in present]
    if absent:
        raise DataSourceError(f"{ds.origin}: no feature of class {', '.join(absent)} in the data "
                              f"(classes present: {', '.join(present) or 'none'}). Choose from those, or add the features.")


def _county_level(gdf, name):
    """A boundaries layer in an overlay: counties only, so prefectures and counties are not stacked."""
    is_boundaries = name == "boundaries" or {"adcode", "parent_adcode", "level"} <= set(gdf.columns)
    if is_boundaries and gdf["level"].nunique() > 1:
        counties = gdf[gdf["level"] == "county"]
        if counties.empty:
            raise DataSourceError(f"{name}: mixes levels {', '.join(sorted(map(str, gdf['level'].unique())))} and has "
                                  "no county level; overlay one level at a time.")
        click.echo(f"{name}: using the {len(counties)} counties (level = county), not the prefectures that contain them")
        return counties
    return gdf


def _layer_or_file(ds, name):
    if name in ds.layers:
        return ds.layers[name], name
    p = Path(name)
    if p.exists():
        gdf = read_layer(p)
        gdf.attrs["source_file"] = str(p)
        return gdf, p.stem
    raise DataSourceError(f"{name!r} is neither a layer of {ds.origin} ({', '.join(ds.layers)}) nor an existing file.")


def _check_overlay_input(ds, gdf, name, given, settings):
    """A layer of the overlay: its kind's checks (or geometry only), and near the study area (swapped lon/lat named)."""
    area = study_area_geometry(ds.layers)
    if name in LAYERS:
        _, rep = validate_dataset({name: gdf}, settings=settings, study_area=area)
    else:  # a file of no particular kind: its geometry still has to be sound, and in the region
        _, rep = validate_geometry(gdf, label=str(given))
        if rep.ok:
            rep = ValidationReport()
            check_layer_region(gdf, str(given), rep, settings=settings, study_area=area)
    rep.raise_if_failed()


@click.command("overlap")
@click.argument("layer_a", required=False)
@click.argument("layer_b", required=False)
@click.option("--dataset", "path", type=click.Path(dir_okay=False), help="Dataset GeoPackage (default: the built embedded one).")
@project_opt
@click.option("--how", type=click.Choice(["intersection", "difference", "union", "identity", "symmetric_difference"]),
              default="intersection", show_default=True, help="Overlay operation for LAYER_A LAYER_B.")
@click.option("--buffer", "buffer_m", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Buffer LAYER_B by this many metres first.")
@click.option("--reserve-buffer", type=click.FloatRange(min=0),
              help="Conflict report: metres around nature reserves (default: overlap.buffer_nature_reserve_m, 1000).")
@click.option("--river-buffer", type=click.FloatRange(min=0),
              help="Conflict report: riparian strip, metres each side of rivers (default: overlap.buffer_river_m, 500).")
@click.option("--near-km", type=click.FloatRange(min=0),
              help="Conflict report: also list parks within this distance of a zone (default: overlap.near_km, 5).")
@out_opt
def overlap(layer_a, layer_b, path, project, how, buffer_m, reserve_buffer, river_buffer, near_km, out_dir):
    """Conflicts with ecological zones and county adjacency; or overlay LAYER_A with LAYER_B.

    Without arguments: the conflict report (parks and corridors against reserves,
    the Horqin sandy land and riparian strips), parks x zones overlaps, corridor
    stretches inside zones, and the county shared-border table.  With two layer
    names (dataset layers such as parks, eco_zones, or file paths): their overlay,
    with areas (km2, ha, mu) or lengths on the ellipsoid.
    """
    if (layer_a is None) != (layer_b is None):
        raise click.UsageError("give two layers (LAYER_A LAYER_B) or none")
    check_command_out(out_dir)
    inputs = command_inputs(path, project, *(f for f in (layer_a, layer_b) if f and Path(f).exists()))
    if layer_a:
        ds, settings = open_inputs(path, project, validate=False)
        a, an = _layer_or_file(ds, layer_a)
        b, bn = _layer_or_file(ds, layer_b)
        for gdf, n, given in ((a, an, layer_a), (b, bn, layer_b)):
            _check_overlay_input(ds, gdf, n, given, settings)
        a, b = _county_level(a, an), _county_level(b, bn)
        line_a = a.geom_type.isin(["LineString", "MultiLineString"]).all()
        if line_a and how not in ("intersection", "difference"):
            raise click.BadParameter(f"{an} holds lines: a line layer can only be intersected with or differenced "
                                     f"from polygons, not '{how}'. Use --how intersection or difference.", param_hint="--how")
        res = overlay_layers(a, b, how=how, buffer_b_m=buffer_m)
        stem = f"overlay_{an}_{how}_{bn}"
        with staged_outputs(out_dir, inputs=inputs) as stage:
            written = [write_csv(stage / f"{stem}.csv", res), write_gpkg(stage / f"{stem}.gpkg", {stem: res})]
        measure = "length_km" if "length_km" in res else "area_km2"
        click.echo(f"{how} of {an} and {bn}{f' (+{buffer_m:g} m)' if buffer_m else ''}: {len(res)} features, "
                   f"{res[measure].sum():.3f} {measure.replace('_', ' ')} in all")
    else:
        ds, settings = open_inputs(path, project, needed=["parks", "eco_zones"])
        o = settings.overlap
        reserve_buffer = o.buffer_nature_reserve_m if reserve_buffer is None else reserve_buffer
        river_buffer = o.buffer_river_m if river_buffer is None else river_buffer
        buffers = {**o.zone_buffers(), "nature_reserve": reserve_buffer, "river": river_buffer}
        with staged_outputs(out_dir, inputs=inputs) as stage:
            written, result = write_overlap(ds, stage, zone_buffers=buffers,
                                            near_km=o.near_km if near_km is None else near_km)
        conflicts = result["conflicts"]
        if "adjacency" in result:
            adj = result["adjacency"]
            cross = adj[~adj["same_city"]]
            longest = cross.nlargest(1, "shared_border_km")
            longest = f"{longest['name_a'].iloc[0]} - {longest['name_b'].iloc[0]}" if len(longest) else "none"
            click.echo(f"County adjacency: {len(adj)} shared borders; Chifeng-Tongliao border {cross['shared_border_km'].sum():.1f} km "
                       f"in {len(cross)} pieces (longest: {longest})")
        if len(conflicts):
            by = conflicts.groupby(["feature_kind", "zone_kind"]).size().rename("conflicts")
            click.echo("Conflicts with ecological zones (buffers: reserves "
                       f"{reserve_buffer:g} m, rivers {river_buffer:g} m):")
            click.echo(by.to_string())
            click.echo(f"{int(conflicts['indicative'].sum())} of {len(conflicts)} involve indicative geometry: verify on surveyed outlines.")
        else:
            click.echo("No conflicts with ecological zones.")
    _echo_written(written, stage, out_dir)


@click.command("indicators")
@gpkg_arg
@project_opt
@out_opt
def indicators(path, project, out_dir):
    """Industry-city integration (产城融合) indicators, one row per park."""
    check_command_out(out_dir)
    ds = _load_valid(path, project, ["parks"])
    with staged_outputs(out_dir, inputs=command_inputs(path, project)) as stage:
        written, table = write_indicators(ds, stage)
    cols = [c for c in ("park_id", "name_zh", "to_city_core_km", "to_county_seat_km", "facilities_within_5km",
                        "share_in_urban_district", "nearest_hsr_station", "to_hsr_station_km") if c in table]
    click.echo(table[cols].to_string(index=False))
    _echo_written(written, stage, out_dir)

