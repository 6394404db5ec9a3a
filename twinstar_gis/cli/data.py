"""``twinstar data``: build, describe and validate datasets."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..dataset import DEFAULT_OUT_DIR, GPKG_NAME, build_dataset, describe_dataset, load_dataset
from ..io import read_layer, write_gpkg
from ..validate import validate_dataset
from .options import gpkg_arg, project_opt, source_options


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
    ds = load_dataset(path, project=project)
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


@data.command("validate")
@gpkg_arg
@project_opt
@source_options
@click.option("--fix", is_flag=True, help="Repair invalid geometry and report what changed.")
@click.option("--out", "fixed_out", type=click.Path(dir_okay=False, path_type=Path),
              help="With --fix: write the repaired layers to this GeoPackage (your input is never changed).")
def validate(path, project, kind, layer, encoding, crs, coord_system, fix, fixed_out):
    """Validate the dataset, a project, or one file (with --kind).

    PATH is a dataset GeoPackage (default: the built embedded dataset) or,
    with --kind, any single vector file.
    """
    if path and kind:
        layers = {kind: read_layer(path, layer=layer, encoding=encoding, crs=crs, coord_system=coord_system)}
        layers[kind].attrs["source_file"] = str(path) + (f" (layer {layer!r})" if layer else "")
        default = DEFAULT_OUT_DIR / GPKG_NAME
        if kind != "boundaries" and default.exists():
            base = load_dataset(default)
            layers = {"boundaries": base["boundaries"], **({"nodes": base["nodes"]} if kind == "corridors" else {}), **layers}
        origin = str(path)
    else:
        ds = load_dataset(path, project=project)
        layers, origin = ds.layers, ds.origin
    checked, report = validate_dataset(layers, fix=fix)
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
        write_gpkg(fixed_out, checked)
        click.echo(f"Wrote repaired layers to {fixed_out}")


from .osm import import_osm_cmd

data.add_command(import_osm_cmd)
