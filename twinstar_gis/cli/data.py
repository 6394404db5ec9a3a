"""``twinstar data``: build, describe and validate datasets."""

from __future__ import annotations

from pathlib import Path

import click

from ..data.dataset import DEM_NAME, GPKG_NAME, build_dataset, describe_dataset, load_dataset
from ..data.io import read_project, write_gpkg
from ..run.folder import check_command_out, check_write_targets
from ..settings import DEFAULT
from ..data.validate import validate_dataset
from .options import (DATA_DIR, _default_dataset, column_pairs, command_inputs, gpkg_arg, open_inputs, out_option, progress,
                      project_opt, source_options)


@click.group()
def data():
    """Build, describe and validate the regional dataset or your own files."""


@data.command("build")
@out_option(DATA_DIR, "Folder for the GeoPackage and the DEM GeoTIFF")
@click.option("--dem", type=click.Path(dir_okay=False, path_type=Path),
              help="A finer DEM (GeoTIFF, any CRS) instead of the packaged 0.2-degree sample.")
def build(out_dir, dem):
    """Assemble, validate and write the embedded Chifeng-Tongliao dataset."""
    out = check_command_out(out_dir)
    check_write_targets([out / GPKG_NAME, out / DEM_NAME], [dem])
    if dem is not None:
        _check_dem_early(dem)
    steps = ["boundaries", "layers", "validation", "terrain", "writing"]
    with progress(len(steps), "Building dataset") as bar:
        gpkg, report = build_dataset(out_dir, dem=dem, on_step=lambda s: bar.update(1))
    click.echo(f"Wrote {gpkg}")
    click.echo(f"Validation: {len(report.checks)} checks passed")
    click.echo(describe_dataset(load_dataset(gpkg)).drop(columns=["source"]).to_string(index=False))


def _check_dem_early(dem):
    """A DEM with a CRS, covering the region, whose window fits the memory budget: before anything is built."""
    import rasterio

    from ..data.terrain import plan_dem_clip
    from ..data.validate import TWIN_STAR_BOUNDS
    from ..pipeline.steps import check_dem

    check_dem(dem)
    with rasterio.open(dem) as src:
        plan_dem_clip(src, TWIN_STAR_BOUNDS, margin_deg=DEFAULT.dem_margin_deg, where=str(dem))


@data.command("info")
@gpkg_arg
@project_opt
def info(path, project):
    """List layers with feature counts, CRS, extent and sources."""
    ds = open_inputs(path, project, validate=False)[0]
    click.echo(f"Dataset: {ds.origin}")
    table = describe_dataset(ds)
    click.echo(table.drop(columns=["source"]).to_string(index=False))
    click.echo("\nSources:")
    for _, r in table.iterrows():
        click.echo(f"  {r['layer']}: {r['source']}")
    meta = ds.tables.get("metadata")
    if meta is not None and (meta["layer"] == "terrain").any():
        t = meta[meta["layer"] == "terrain"].iloc[0]
        click.echo(f"  terrain: {t['source']}; {t['accuracy']}")
    if ds.dem_path:
        click.echo(f"DEM: {ds.dem_path}")


def _single_file_layers(path, kind, layer, encoding, crs, coord_system, columns):
    """One file as a layer of ``kind``, beside the embedded boundaries (and nodes) built in memory.

    Never reads the current folder: the same file gives the same answer wherever it is validated.
    """
    from ..data.dataset import build_layers
    from ..data.io import LayerSource, load_layer_source

    src = LayerSource(kind=kind, path=Path(path), layer=layer, encoding=encoding, crs=crs, coord_system=coord_system,
                      columns=columns)
    layers = {kind: load_layer_source(src)}
    if kind != "boundaries":
        embedded = build_layers()
        extra = {"boundaries": embedded["boundaries"]}
        if kind == "corridors":
            extra["nodes"] = embedded["nodes"]
        layers = {**extra, **layers}
    return layers


@data.command("validate")
@gpkg_arg
@project_opt
@source_options
@click.option("--column", "columns", multiple=True, callback=column_pairs, metavar="OURS=THEIRS",
              help="With --kind: map a column of the file to an attribute, e.g. --column name_zh=名称 (repeatable), "
                   "like `columns` in a project file.")
@click.option("--fix", is_flag=True, help="Repair invalid geometry and report what changed.")
@click.option("--out", "fixed_out", type=click.Path(dir_okay=False, path_type=Path),
              help="With --fix: write the repaired layers to this GeoPackage (your input is never changed).")
def validate(path, project, kind, layer, encoding, crs, coord_system, columns, fix, fixed_out):
    """Validate the dataset, a project, or one file (with --kind).

    PATH is a dataset GeoPackage (default: the built embedded dataset) or,
    with --kind, any single vector file; a multi-layer file is read at the
    layer named like the kind unless --layer says otherwise.  A single file is
    checked against the embedded boundaries, whatever folder you are in.
    """
    if fixed_out is not None:
        if not fix:
            raise click.UsageError("--out writes the repaired layers; give --fix too")
        inputs = command_inputs(path, project)
        if any(Path(fixed_out).resolve() == Path(p).resolve() for p in inputs):
            raise click.BadParameter(f"{fixed_out} is the input; write the repaired layers to a new file.", param_hint="--out")
        check_command_out(Path(fixed_out).absolute().parent)
        check_write_targets([fixed_out], inputs)
    settings = DEFAULT
    if path and kind:
        layers = _single_file_layers(path, kind, layer, encoding, crs, coord_system, columns)
        origin = str(path)
    elif columns:
        raise click.UsageError("--column maps the columns of one file: give PATH and --kind too")
    elif project and not path:
        from ..pipeline.steps import load_run_layers

        layers, proj, _, _ = load_run_layers(project)
        settings, origin = proj.settings, f"project {project}"
    else:
        ds = load_dataset(path if path is not None else _default_dataset(), project=project)
        layers, origin = ds.layers, ds.origin
        if project:
            settings = read_project(project).settings
    checked, report = validate_dataset(layers, fix=fix, settings=settings)
    for fx in report.fixes:
        click.echo(f"fixed: {fx}")
    for w in report.warnings:
        click.secho(f"warning: {w}", fg="yellow", err=True)
    report.raise_if_failed()
    for c in report.checks:
        if c.detail:
            click.echo(f"  ok  {c.name}: {c.detail}")
    click.echo(f"{origin}: {len(report.checks)} checks passed" + (f", {len(report.fixes)} geometries repaired" if report.fixes else ""))
    if fix and fixed_out:
        write_gpkg(fixed_out, {k: v for k, v in checked.items() if not (path and kind) or k == kind})
        click.echo(f"Wrote repaired layers to {fixed_out}")


from .osm import import_osm_cmd

data.add_command(import_osm_cmd)
