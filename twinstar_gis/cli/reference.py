"""Generate the CLI reference (docs/cli.md) from the click commands themselves.

    python -m twinstar_gis.cli.reference > docs/cli.md
"""

from __future__ import annotations

import click

from .main import cli


def _walk(cmd, path):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(click.Context(cmd)):
            yield from _walk(cmd.get_command(click.Context(cmd), name), path + [name])


def reference() -> str:
    """Markdown for every command: usage, help text, options.

    Returns
    -------
    str
    """
    out = ["# `twinstar` command reference", "",
           "Generated from the command line itself (`python -m twinstar_gis.cli.reference > docs/cli.md`);",
           "a test fails when this file and the CLI disagree.", ""]
    for path, cmd in _walk(cli, ["twinstar"]):
        ctx = click.Context(cmd, info_name=" ".join(path), terminal_width=100, max_content_width=100,
                            help_option_names=["-h", "--help"])
        out += [f"## `{' '.join(path)}`", "", "```text", cmd.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    click.echo(reference())
