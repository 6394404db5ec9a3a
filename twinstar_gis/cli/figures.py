"""``twinstar figures``: print-ready PNG / PDF / SVG figures of a run folder."""

from __future__ import annotations

from pathlib import Path

import click

from ..maps.figures import FIGURES, PAGES


@click.command("figures")
@click.argument("run_dir", required=False, default=Path("twinstar_output"),
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "formats", multiple=True, type=click.Choice(["png", "pdf", "svg"]), default=("png", "pdf"),
              show_default=True, help="Output formats (repeat the option for several).")
@click.option("--only", "names", multiple=True, type=click.Choice(list(FIGURES)),
              help="Render only these figures (repeat the option; default: all).")
@click.option("--dpi", type=click.IntRange(min=72, max=1200), default=300, show_default=True, help="PNG resolution.")
@click.option("--page", "pages", multiple=True, type=click.Choice(list(PAGES)), default=("a4-landscape",), show_default=True,
              help="Where the figures go (repeat for several): a4-landscape (files NAME.FORMAT), a4-portrait, word "
                   "(a 16 cm Word column) or slide (16:9); the others are NAME_PAGE.FORMAT.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the figures (default: RUN_DIR/figures).")
def figures(run_dir, formats, names, dpi, pages, out_dir):
    """Render the run's maps as print figures for reports and slides (RUN_DIR: output of `twinstar run`).

    A4 landscape by default; --page a4-portrait, word (a single Word column) and slide (16:9) size the
    page, the fonts and the legend for where the figure goes.

    Chinese labels need a CJK font (Noto Sans CJK / WenQuanYi on Linux, Microsoft YaHei / SimHei
    on Windows, PingFang / Heiti on macOS); without one the command stops with exit code 2.
    """
    from ..maps.figures import write_figures
    from ..run.folder import record_outputs

    paths = write_figures(run_dir, formats=formats, out_dir=out_dir, dpi=dpi, names=names or None, pages=pages)
    record_outputs(run_dir, paths)  # figures written into the run folder become part of its record
    for p in paths:
        click.echo(f"Wrote {p} ({p.stat().st_size / 1024:.0f} KiB)")
