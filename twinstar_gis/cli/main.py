"""Entry point: ``twinstar [-v|-q] COMMAND ...``."""

from __future__ import annotations

import logging
import sys

import click

from .._version import __version__
from ..errors import TwinstarError

EXIT_BAD_INPUT = 2


class _Group(click.Group):
    """A group that turns library errors into one message and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TwinstarError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            ctx.exit(EXIT_BAD_INPUT)


def _configure_logging(verbose: int, quiet: int) -> None:
    level = logging.WARNING - 10 * verbose + 10 * quiet
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("twinstar_gis")
    root.handlers[:] = [handler]
    root.setLevel(max(logging.DEBUG, min(logging.CRITICAL, level)))
    root.propagate = False


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Less output.")
@click.version_option(__version__, prog_name="twinstar")
def cli(verbose, quiet):
    """Regional planning GIS for the Chifeng-Tongliao "Twin Star" region."""
    _configure_logging(verbose, quiet)


from .access import access  # noqa: E402
from .analysis import distances, indicators, overlap  # noqa: E402
from .data import data  # noqa: E402
from .figures import figures  # noqa: E402
from .maps import map_cmd, report, run  # noqa: E402
from .planning import access2sfca, linkage, sites, suitability  # noqa: E402

for _cmd in (run, data, distances, overlap, indicators, access, map_cmd, figures, report):
    cli.add_command(_cmd)
for _cmd in (suitability, sites, linkage, access2sfca):
    cli.add_command(_cmd)
