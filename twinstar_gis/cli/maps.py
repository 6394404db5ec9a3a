"""``twinstar map`` and ``twinstar run``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..maps import BASEMAPS
from .options import project_opt


def _map_options(f):
    f = click.option("--store-key", is_flag=True, help="Write the Tianditu key into the HTML (default: read from ?tk= at view time).")(f)
    f = click.option("--tianditu-key", envvar="TIANDITU_KEY", help="Tianditu key (or the TIANDITU_KEY environment variable).")(f)
    f = click.option("--basemap", type=click.Choice(BASEMAPS), default="hillshade", show_default=True,
                     help="hillshade works offline; osm, tianditu and amap (GCJ-02, overlays shifted to match) need the network.")(f)
    f = click.option("--offline/--online", default=True, show_default=True,
                     help="Inline every script and stylesheet (no network needed) or load Leaflet from its CDN.")(f)
    return f


@click.command("map")
@click.argument("run_dir", required=False, default=Path("twinstar_output"),
                type=click.Path(file_okay=False, path_type=Path))
@_map_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the pages (default: RUN_DIR/maps).")
def map_cmd(run_dir, offline, basemap, tianditu_key, store_key, out_dir):
    """Write the map gallery of a run folder (RUN_DIR, the output of `twinstar run`; default twinstar_output).

    The maps show the run's own outputs (overview, distances, conflicts, accessibility,
    scenario now | planned, change per county); nothing is recomputed.
    """
    from ..maps import write_gallery

    if basemap == "tianditu" and not tianditu_key:
        click.secho("warning: no Tianditu key given; open the maps with ?tk=YOUR_KEY in the address", fg="yellow", err=True)
    paths = write_gallery(run_dir, offline=offline, basemap=basemap, tianditu_key=tianditu_key, store_key=store_key,
                          out_dir=out_dir)
    for p in paths.values():
        click.echo(f"Wrote {p} ({p.stat().st_size / 1024:.0f} KiB)")
    click.echo(f"Map gallery: {paths['index'].resolve()}")


@click.command("run")
@project_opt
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("twinstar_output"), show_default=True)
@click.option("--dem", type=click.Path(dir_okay=False, path_type=Path), help="A finer DEM for the build.")
@click.option("--resolution", type=click.FloatRange(min=100), default=1000.0, show_default=True, help="Raster cell size (m).")
@_map_options
def run(project, out_dir, dem, resolution, offline, basemap, tianditu_key, store_key):
    """The main job: build the data, run distances, overlap, indicators and accessibility, write the maps."""
    from ..pipeline import STEPS, run_all

    with click.progressbar(length=len(STEPS), label="twinstar run", file=sys.stderr) as bar:
        written = run_all(out_dir, dem=dem, project=project, resolution=resolution, offline=offline, basemap=basemap,
                          tianditu_key=tianditu_key, store_key=store_key, on_step=lambda s: bar.update(1))
    for step in STEPS:
        files = written.get(step, [])
        click.echo(f"{step:>10}: {len(files)} file(s) in {os.path.commonpath([str(Path(f).parent) for f in files]) if files else '-'}")
    click.echo(f"Planning brief: {Path(written['brief'][0]).resolve()}")
    click.echo(f"Map gallery: {Path(written['gallery']).resolve()}")


@click.command("report")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("twinstar_output"), show_default=True,
              help="The output folder of `twinstar run`.")
def report(out_dir):
    """Write the HTML planning brief (key tables, links to the maps) from the outputs of `twinstar run`."""
    from ..report import write_brief

    p = write_brief(out_dir)
    click.echo(f"Planning brief: {p.resolve()}")
