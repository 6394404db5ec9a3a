"""Options shared by several commands."""

from __future__ import annotations

import click

from ..data.gcj02 import COORD_SYSTEMS

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


def _settings_pairs(ctx, param, values):
    """``--set speeds.expressway=90`` -> {"speeds.expressway": 90.0}; values parsed as TOML scalars or lists."""
    import tomllib

    out = {}
    for v in values:
        name, sep, raw = v.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{v!r}: give NAME=VALUE, e.g. speeds.expressway=90", param_hint="--set")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()  # plain text, e.g. access.scenario=none
        out[name.strip()] = value
    from ..errors import SettingsError
    from ..settings import DEFAULT

    try:
        DEFAULT.override(_source="--set", **out)
    except SettingsError as exc:
        raise click.BadParameter(str(exc), param_hint="--set") from None
    return out


set_opt = click.option(
    "--set", "settings_set", multiple=True, callback=_settings_pairs, metavar="NAME=VALUE",
    help="Override a setting, e.g. --set speeds.expressway=90 --set access.minutes=[30,60] (repeatable; "
         "see twinstar_gis.settings).",
)


def open_inputs(path, project, *, needed=(), validate=True):
    """The dataset and settings a command works on, validated.

    ``PATH`` given: that GeoPackage (and, with ``--project``, the project over it).
    Only ``--project``: the project, over the embedded dataset built in memory when it
    says ``base = "embedded"`` (never an earlier build in the current folder); the
    packaged DEM is clipped into a temporary folder that lives as long as the command.
    Nothing: the built dataset (``twinstar data build``).

    Returns
    -------
    (Dataset, Settings)
    """
    import tempfile
    from pathlib import Path

    from ..errors import DataSourceError
    from ..data.dataset import DEM_NAME, Dataset, load_dataset
    from ..data.io import read_project
    from ..settings import DEFAULT
    from ..data.validate import validate_dataset

    if project is not None and path is None:
        from ..pipeline.steps import prepare_run
        from ..data.terrain import clip_dem

        prep = prepare_run(project=project, required=needed)
        dem = None
        if prep.dem_src is not None:
            tmp = Path(click.get_current_context().with_resource(tempfile.TemporaryDirectory(prefix="twinstar-dem-")))
            dem = tmp / DEM_NAME
            clip_dem(prep.dem_src, tuple(prep.layers["boundaries"].total_bounds), dem, margin_deg=prep.settings.dem_margin_deg)
        return Dataset(layers=prep.layers, tables={"metadata": prep.metadata}, origin=f"project {project}", dem_path=dem), \
            prep.settings
    if path is None:
        path = _default_dataset()
    ds = load_dataset(path, project=project)
    settings = read_project(project).settings if project is not None else DEFAULT
    missing = [k for k in needed if k not in ds.layers]
    if missing:
        raise DataSourceError(f"{ds.origin}: missing layer(s) {', '.join(missing)}; add them to the project file "
                              "or use base = \"embedded\".")
    if validate:
        _, report = validate_dataset(ds.layers, settings=settings)
        report.raise_if_failed()
    return ds, settings


def _default_dataset():
    """The built dataset (``data build``) or, failing that, the data of the run in ``twinstar_output`` (``twinstar run``)."""
    from pathlib import Path

    from ..data.dataset import DEFAULT_OUT_DIR, GPKG_NAME
    from ..pipeline.steps import GPKG

    built, run = DEFAULT_OUT_DIR / GPKG_NAME, Path("twinstar_output") / GPKG
    return run if not built.exists() and run.exists() else None
