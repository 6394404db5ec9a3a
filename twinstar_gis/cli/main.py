"""Entry point: ``twinstar [-v|-q] COMMAND ...``.

Bad input and a machine that cannot do what was asked (a full disk, a refused permission, too
little memory) end the same way: one message on standard error and exit code 2, never a
traceback (``-vv`` logs it for a bug report).  ``-q`` prints errors only: standard output and
progress bars are silenced.  A warning is printed once per command, however often the library
logs it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys

import click

from .._version import __version__
from ..errors import TwinstarError

EXIT_BAD_INPUT = 2
log = logging.getLogger("twinstar_gis.cli")


class _Group(click.Group):
    """A group that turns library errors and operating-system failures into one message and exit code 2."""

    def invoke(self, ctx):
        silent = ctx.params.get("quiet", 0) > 0 and ctx.params.get("verbose", 0) == 0
        with contextlib.redirect_stdout(io.StringIO()) if silent else contextlib.nullcontext():
            try:
                return super().invoke(ctx)
            except TwinstarError as exc:
                _fail(ctx, str(exc))
            except MemoryError:
                log.debug("out of memory", exc_info=True)
                _fail(ctx, "the machine ran out of memory. Use a coarser grid (--resolution, e.g. 1000) or smaller "
                           "inputs; `--set memory_budget_gib=N` makes twinstar refuse such work before it starts.")
            except Exception as exc:  # noqa: BLE001 - only the machine's own failures are turned into a message
                message = _machine_failure(exc)
                if message is None:
                    raise
                log.debug("operating-system error", exc_info=True)
                _fail(ctx, message)


def _machine_failure(exc: BaseException) -> str | None:
    """One sentence for a full disk, a refused permission, a missing or busy file; None for anything else."""
    from ..data.io import write_error

    where = getattr(exc, "filename", None) or "an output file"
    err = write_error(where, exc)
    if err is not None:
        return str(err)
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{where}: {exc.strerror or exc} (operating-system error {exc.errno}). Nothing of this command was kept."
    return None


def _fail(ctx, message: str):
    click.secho(f"Error: {message}", fg="red", err=True)
    ctx.exit(EXIT_BAD_INPUT)


class _Once(logging.Filter):
    """Let each warning through once per command (the same network is built for more than one model)."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.levelno, record.name, record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def _configure_logging(verbose: int, quiet: int) -> None:
    level = logging.WARNING - 10 * verbose + 10 * quiet
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_Once())
    root = logging.getLogger("twinstar_gis")
    root.handlers[:] = [handler]
    root.setLevel(max(logging.DEBUG, min(logging.CRITICAL, level)))
    root.propagate = False


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Errors only: no progress, no results on standard output.")
@click.version_option(__version__, prog_name="twinstar")
def cli(verbose, quiet):
    """Regional planning GIS for the Chifeng-Tongliao "Twin Star" region."""
    _configure_logging(verbose, quiet)


from .access import access  # noqa: E402
from .analysis import distances, indicators, overlap  # noqa: E402
from .compare import compare  # noqa: E402
from .data import data  # noqa: E402
from .export import export  # noqa: E402
from .figures import figures  # noqa: E402
from .maps import map_cmd, report, run  # noqa: E402
from .planning import access2sfca, linkage, sites, suitability  # noqa: E402

for _cmd in (run, data, distances, overlap, indicators, access, map_cmd, figures, export, report):
    cli.add_command(_cmd)
for _cmd in (suitability, sites, linkage, access2sfca, compare):
    cli.add_command(_cmd)
