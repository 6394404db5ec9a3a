"""``twinstar data import-osm``: an OpenStreetMap extract into a GeoPackage and a project file."""

from __future__ import annotations

from pathlib import Path

import click
import pyogrio

from ..model.osm import import_osm


@click.command("import-osm")
@click.argument("extract", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("osm_project"),
              show_default=True, help="Folder for osm.gpkg and project.toml.")
@click.option("--boundaries", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Study area (any polygon file); default: the embedded Chifeng and Tongliao prefectures.")
@click.option("--check-network", is_flag=True,
              help="Also build the road/rail network from the import and report its problems.")
def import_osm_cmd(extract, out_dir, boundaries, check_network):
    """Import an OpenStreetMap extract (.osm.pbf or .osm) for use with --project.

    Roads, railways, stations, airports and interchanges become the corridor and
    node layers; protected areas, named industrial areas (candidate parks) and
    rivers are kept too.  Features outside the study area are left out.
    """
    project = import_osm(extract, out_dir, boundaries=boundaries)
    gpkg = project.parent / "osm.gpkg"
    for name, _ in pyogrio.list_layers(gpkg):
        click.echo(f"  {name}: {pyogrio.read_info(gpkg, layer=name)['features']} features")
    click.echo(f"Wrote {gpkg} and {project}")
    click.echo(f"Use it with any command: --project {project}")
    if check_network:
        from ..data.io import read_gpkg
        from ..model.network import validate_network

        layers, _ = read_gpkg(gpkg)
        report = validate_network(layers)
        for p in report.problems:
            click.secho(f"network error: {p}", fg="red", err=True)
        for w in report.warnings:
            click.secho(f"network warning: {w}", fg="yellow", err=True)
        for c in report.checks:
            if c.detail:
                click.echo(f"  {c.name}: {c.detail}")
