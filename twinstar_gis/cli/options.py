"""Options shared by several commands."""

from __future__ import annotations

import click

from ..gcj02 import COORD_SYSTEMS

gpkg_arg = click.argument("path", required=False, type=click.Path(dir_okay=True, path_type=str))
project_opt = click.option(
    "--project", "project", type=click.Path(dir_okay=False, path_type=str),
    help="Project file (TOML/YAML) mapping layer kinds to your own files.",
)


def source_options(f):
    """Options describing how to read a single vector file."""
    f = click.option("--kind", type=click.Choice(["boundaries", "places", "parks", "corridors", "nodes", "eco_zones", "rivers"]),
                     help="Layer kind of a single-layer file (GeoJSON, Shapefile, ...).")(f)
    f = click.option("--layer", help="Layer name inside the file.")(f)
    f = click.option("--encoding", help="Attribute encoding (e.g. GBK, GB18030, UTF-8).")(f)
    f = click.option("--crs", "crs", help="CRS override, e.g. EPSG:4547.")(f)
    f = click.option("--coord-system", type=click.Choice(COORD_SYSTEMS), default="wgs84", show_default=True,
                     help="Coordinate system of the lon/lat values (gcj02 for Amap, bd09 for Baidu).")(f)
    return f
