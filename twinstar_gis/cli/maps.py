"""``twinstar map`` and ``twinstar run``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from ..maps import BASEMAPS
from .options import OutDir, project_opt, set_opt


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
    scenario now | planned, change per county; suitability, joint-park sites and linkage when
    the run has planning outputs); nothing is recomputed.
    """
    from ..maps import write_gallery
    from ..run.folder import record_outputs

    if basemap == "tianditu" and not tianditu_key:
        click.secho("warning: no Tianditu key given; open the maps with ?tk=YOUR_KEY in the address", fg="yellow", err=True)
    paths = write_gallery(run_dir, offline=offline, basemap=basemap, tianditu_key=tianditu_key, store_key=store_key,
                          out_dir=out_dir)
    record_outputs(run_dir, paths.values())  # pages written into the run folder become part of its record
    for p in paths.values():
        click.echo(f"Wrote {p} ({p.stat().st_size / 1024:.0f} KiB)")
    click.echo(f"Map gallery: {paths['index'].resolve()}")


def _command_line(ctx) -> list[str]:
    """The command as given (options that differ from their defaults), for run.json; never the Tianditu key."""
    out = ["twinstar", "run"]
    for p in ctx.command.params:
        v = ctx.params.get(p.name)
        if v is None or v == p.default or v in ((), {}, False):
            continue
        flag = p.opts[0]
        if p.name == "tianditu_key":
            out += [flag, "(not recorded)"]
        elif isinstance(v, dict):
            out += [x for k, val in v.items() for x in (flag, f"{k}={val}")]
        elif v is True:
            out.append(flag)
        else:
            out += [flag, str(v)]
    return out


@click.command("run")
@project_opt
@click.option("--out", "out_dir", type=OutDir(), default=Path("twinstar_output"), show_default=True,
              help="The run folder; an earlier run there is replaced only once this one is complete.")
@click.option("--dem", type=click.Path(dir_okay=False, path_type=Path), help="A finer DEM (GeoTIFF with a CRS).")
@click.option("--resolution", type=click.FloatRange(min=100), default=None,
              help="Raster cell size (m); sets access.resolution_m (default 1000).")
@set_opt
@_map_options
@click.pass_context
def run(ctx, project, out_dir, dem, resolution, settings_set, offline, basemap, tianditu_key, store_key):
    """The main job: one run folder with the data used, every analysis, the maps, the brief and run.json.

    Everything is checked before anything is written; the run is written beside
    --out and swapped into place when complete.
    """
    from ..pipeline.steps import STEPS, run_all

    overrides = dict(settings_set)
    if resolution is not None:
        overrides["access.resolution_m"] = resolution
    quiet = logging.getLogger("twinstar_gis").getEffectiveLevel() > logging.WARNING
    with click.progressbar(length=len(STEPS), label="twinstar run", file=sys.stderr,
                           hidden=quiet) as bar:
        written = run_all(out_dir, dem=dem, project=project, overrides=overrides, offline=offline, basemap=basemap,
                          tianditu_key=tianditu_key, store_key=store_key, on_step=lambda s: bar.update(1),
                          command=_command_line(ctx))
    if quiet:
        return
    for step in STEPS:
        files = written.get(step, [])
        where = os.path.commonpath([str(Path(f).parent) for f in files]) if files else "-"
        click.echo(f"{step:>10}: {len(files)} file(s) in {where}")
    click.echo(f"Manifest: {Path(written['manifest']).resolve()}")
    click.echo(f"Planning brief: {Path(written['brief'][0]).resolve()}")
    click.echo(f"Map gallery: {Path(written['gallery']).resolve()}")


@click.command("report")
@click.argument("run_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("twinstar_output"), show_default=True,
              help="The run folder (same as RUN_DIR).")
def report(run_dir, out_dir):
    """Re-render brief.html of a run folder from its outputs and run.json.

    Refuses a folder without run.json or whose files do not match it.
    """
    from ..run.brief import write_brief

    p = write_brief(run_dir or out_dir)
    click.echo(f"Planning brief: {p.resolve()}")
