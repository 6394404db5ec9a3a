"""``twinstar figures``: print-ready PNG / PDF / SVG figures of a run folder."""

from __future__ import annotations

from pathlib import Path

import click

from ..maps.figures import FIGURES


@click.command("figures")
@click.argument("run_dir", required=False, default=Path("twinstar_output"),
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "formats", multiple=True, type=click.Choice(["png", "pdf", "svg"]), default=("png", "pdf"),
              show_default=True, help="Output formats (repeat the option for several).")
@click.option("--only", "names", multiple=True, type=click.Choice(list(FIGURES)),
              help="Render only these figures (repeat the option; default: all).")
@click.option("--dpi", type=click.IntRange(min=72, max=1200), default=300, show_default=True, help="PNG resolution.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the figures (default: RUN_DIR/figures).")
def figures(run_dir, formats, names, dpi, out_dir):
    """Render the run's maps as A4-landscape figures for reports (RUN_DIR: output of `twinstar run`).

    Chinese labels need a CJK font (Noto Sans CJK / WenQuanYi on Linux, Microsoft YaHei / SimHei
    on Windows, PingFang / Heiti on macOS); without one the command stops with exit code 2.
    """
    from ..maps.figures import write_figures
    from ..run.folder import record_outputs

    paths = write_figures(run_dir, formats=formats, out_dir=out_dir, dpi=dpi, names=names or None)
    record_outputs(run_dir, paths)  # figures written into the run folder become part of its record
    for p in paths:
        click.echo(f"Wrote {p} ({p.stat().st_size / 1024:.0f} KiB)")
