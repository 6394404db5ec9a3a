"""``twinstar data``: build, describe and validate datasets."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..data.dataset import DEFAULT_OUT_DIR, build_dataset, describe_dataset, load_dataset
from ..data.io import read_project, write_gpkg
from ..settings import DEFAULT
from ..data.validate import validate_dataset
from .options import gpkg_arg, open_inputs, project_opt, source_options


@click.group()
def data():
    """Build, describe and validate the regional dataset or your own files."""


@data.command("build")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT_DIR,
              show_default=True, help="Folder for the GeoPackage and the DEM GeoTIFF.")
@click.option("--dem", type=click.Path(dir_okay=False, path_type=Path),
              help="A finer DEM (GeoTIFF, any CRS) instead of the packaged 0.2-degree sample.")
def build(out_dir, dem):
    """Assemble, validate and write the embedded Chifeng-Tongliao dataset."""
    if dem is not None:
        from ..pipeline.steps import check_dem

        check_dem(dem)
    steps = ["boundaries", "layers", "validation", "terrain", "writing"]
    with click.progressbar(length=len(steps), label="Building dataset", file=sys.stderr) as bar:
        gpkg, report = build_dataset(out_dir, dem=dem, on_step=lambda s: bar.update(1))
    click.echo(f"Wrote {gpkg}")
    click.echo(f"Validation: {len(report.checks)} checks passed")
    click.echo(describe_dataset(load_dataset(gpkg)).drop(columns=["source"]).to_string(index=False))


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


def _column_pairs(ctx, param, values):
    out = {}
    for v in values:
        ours, sep, theirs = v.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise click.BadParameter(f"{v!r}: give OUR_NAME=FILE_COLUMN, e.g. name_zh=名称", param_hint="--column")
        out[ours.strip()] = theirs.strip()
    return out


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
@click.option("--column", "columns", multiple=True, callback=_column_pairs, metavar="OURS=THEIRS",
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
        inputs = [Path(p) for p in (path,) if p] + ([Path(project)] if project else [])
        if any(Path(fixed_out).resolve() == p.resolve() for p in inputs):
            raise click.BadParameter(f"{fixed_out} is the input; write the repaired layers to a new file.", param_hint="--out")
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
        ds = load_dataset(path, project=project)
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
