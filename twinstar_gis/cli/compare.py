"""``twinstar compare``: 方案比选, N alternatives against one base in one command."""

from __future__ import annotations

from pathlib import Path

import click

from .options import project_opt, set_opt


def _command_line(alternatives, ctx) -> list[str]:
    out = ["twinstar", "compare", str(alternatives)]
    for p in ctx.command.params:
        v = ctx.params.get(p.name)
        if p.name == "alternatives" or v is None or v == p.default or v in ((), {}, False):
            continue
        if isinstance(v, dict):
            out += [x for k, val in v.items() for x in (p.opts[0], f"{k}={val}")]
        else:
            out += [p.opts[0], str(v)]
    return out


@click.command("compare")
@click.argument("alternatives", type=click.Path(dir_okay=False, path_type=Path))
@project_opt
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("twinstar_compare"),
              show_default=True, help="The run folder; an earlier one there is replaced only once this one is complete.")
@click.option("--resolution", type=click.FloatRange(min=100), default=None,
              help="Raster cell size (m) for every alternative; sets access.resolution_m (default 1000).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Worker processes of a local Dask cluster (default 2); 0 runs serially in this process.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: compare.scheduler; "
                   "empty: a local cluster). The workers must see --out at the same path.")
@click.option("--no-render", is_flag=True, help="Tables only: no page, no print figure.")
@click.option("--offline/--online", default=True, show_default=True,
              help="Inline every script of the page (no network needed) or load Leaflet from its CDN.")
@set_opt
@click.pass_context
def compare(ctx, alternatives, project, out_dir, resolution, workers, scheduler, no_render, offline, settings_set):
    """Compare alternatives (方案比选): every alternative of ALTERNATIVES.toml against one base.

    Each alternative adds a scenario corridor file and/or the planned corridors to the base,
    and/or overrides settings ([alternatives.settings]); paths are relative to the file. The
    base is the project (--project, default the embedded dataset) with its operating network.
    Writes one run folder: compare/indicators.csv (headline indicators), ranking.csv (criteria,
    points, weights), counties.csv, places.csv, linkage.csv, suitability.csv, sites.csv,
    maps/compare.html (the alternatives side by side), figures/compare.png|pdf (small
    multiples) and run.json (every alternative's inputs and settings). Alternatives run on a
    local Dask cluster (--workers), an existing one (--scheduler), or serially (--workers 0);
    the results are the same.
    """
    from ..pipeline.compare import run_compare

    if scheduler and workers is not None:
        raise click.BadParameter("give --scheduler (an existing cluster) or --workers (a local one), not both",
                                 param_hint="--scheduler")
    res = run_compare(alternatives, project=project, out_dir=out_dir, overrides=dict(settings_set), resolution=resolution,
                      workers=workers, scheduler=scheduler, render=not no_render, offline=offline,
                      command=_command_line(alternatives, ctx))
    r = res["ranking"]
    click.echo(f"Ran {len(r)} alternatives and the base on {res['engine']['engine']} in {res['engine']['seconds']:.1f} s.")
    for _, row in r.iterrows():
        click.echo(f"  #{int(row['rank'])} {row['alternative']}: score {row['score']:.3f}")
    click.echo(f"Ranking: {out_dir / 'compare' / 'ranking.csv'}")
    if res["page"]:
        click.echo(f"Page: {res['page']}")
    for p in res["figures"]:
        click.echo(f"Figure: {p}")
    click.echo(f"Manifest: {res['manifest']}")
