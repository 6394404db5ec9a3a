"""``twinstar data import-osm``: an OpenStreetMap extract into a GeoPackage, an import report and a project file."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pyogrio

from ..model.osm import import_osm, import_outputs
from ..run.folder import check_command_out
from .options import OutDir


def _echo_summary(summary: dict, report_path: Path) -> None:
    """The import report and the coverage, in a few lines (red where a city core is not covered)."""
    if summary["report"]:
        click.echo(f"Import report ({report_path.name}): " + "; ".join(f"{k.replace('/', ' ')} {n}"
                                                                      for k, n in summary["report"].items()))
    cov = summary["coverage"]
    click.echo(f"Coverage: {100 * cov['share_covered']:.1f} % of the {cov['study_area_km2']:,.0f} km2 study area lies "
               f"within {cov['coverage_km']:g} km of an imported road; {cov['road_km_per_100km2']:.1f} road km per 100 km2")
    if cov["places_checked"]:
        far = cov["places_not_covered"]
        click.echo(f"Places: {cov['places_checked'] - len(far)} of {cov['places_checked']} within max_link_km of a road")
        for p in far:
            km = "no road" if p["road_km"] is None else f"nearest road {p['road_km']:.1f} km"
            click.secho(f"  not covered: {p['place_id']} {p['name_zh']} ({p['kind']}), {km}", fg="yellow", err=True)
    else:
        click.echo("Places: none of the project lies in the study area (give your own with --places)")
    if cov["cores_not_covered"]:
        click.secho(f"WARNING: city core(s) {', '.join(cov['cores_not_covered'])} not covered by the extract: travel "
                    "times to and from them will not come from these roads. Import an extract of the whole study "
                    "area.", fg="red", bold=True, err=True)
    elif cov["share_covered"] < 0.8:
        click.secho(f"WARNING: the extract covers only {100 * cov['share_covered']:.0f} % of the study area.",
                    fg="red", err=True)


@click.command("import-osm")
@click.argument("extract", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=OutDir(), default=Path("osm_project"),
              show_default=True, help="Folder for osm.gpkg, project.toml, import_report.csv and import_summary.json.")
@click.option("--boundaries", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Study area (any polygon file); default: the embedded Chifeng and Tongliao prefectures.")
@click.option("--places", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Places whose coverage is checked (place_id, name_zh, kind); default: the embedded city cores "
                   "and county seats inside the study area.")
@click.option("--check-network", is_flag=True,
              help="Also build the road/rail network from the import and report its problems.")
def import_osm_cmd(extract, out_dir, boundaries, places, check_network):
    """Import an OpenStreetMap extract (.osm.pbf or .osm) for use with --project.

    Roads (with oneway, access and junction normalised), railways, stations typed from their own
    tags and train routes, airports, interchanges and turn restrictions become the corridor, node
    and turn_restrictions layers; protected areas, named industrial areas (candidate parks) and
    rivers are kept too.  Features outside the study area are left out.  Features cut at the
    extract's edge or broken are dropped or trimmed and listed in import_report.csv; the coverage
    of the study area and of its places is in import_summary.json.  Inputs are never overwritten.
    """
    out_dir = check_command_out(out_dir)  # never inside a recorded run folder, never a filesystem root
    project = import_osm(extract, out_dir, boundaries=boundaries, places=places)
    out = import_outputs(project.parent)
    gpkg = out["gpkg"]
    for name, _ in pyogrio.list_layers(gpkg):
        click.echo(f"  {name}: {pyogrio.read_info(gpkg, layer=name)['features']} features")
    _echo_summary(json.loads(out["summary"].read_text(encoding="utf-8")), out["report"])
    click.echo(f"Wrote {gpkg}, {project}, {out['report'].name} and {out['summary'].name}")
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
