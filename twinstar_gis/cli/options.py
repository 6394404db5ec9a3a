"""Options shared by several commands, and what every command does the same way.

* ``--out`` of a command that writes files (:func:`out_option`) names the folder its files go
  into, directly, for every command; it may not be ``""`` and never lies inside a recorded run
  folder (:func:`twinstar_gis.run.folder.staged_outputs`).  The defaults are
  ``twinstar_results/<group>``, beside (not inside) the run folder ``twinstar_output``.
* :func:`command_inputs` lists every file a command reads, so no output can overwrite one.
* ``-q`` hides progress bars (:func:`progress`) and standard output (see :mod:`.main`).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from ..data.gcj02 import COORD_SYSTEMS

#: Where per-command outputs go by default (never inside a run folder).
RESULTS_DIR = Path("twinstar_results")
#: Where ``twinstar data build`` writes by default (beside, not inside, the run folder ``twinstar_output``).
DATA_DIR = Path("twinstar_data")

gpkg_arg = click.argument("path", required=False, type=click.Path(dir_okay=True, path_type=str))
project_opt = click.option(
    "--project", "project", type=click.Path(dir_okay=False, path_type=str),
    help="Project file (TOML/YAML) mapping layer kinds to your own files.",
)


def source_options(f):
    """Options describing how to read a single vector file.

    ``--kind``, ``--layer``, ``--encoding``, ``--crs``, ``--coord-system``.

    Parameters
    ----------
    f : callable
        The click command.

    Returns
    -------
    callable
    """
    f = click.option("--kind", type=click.Choice(["boundaries", "places", "parks", "corridors", "nodes", "eco_zones", "rivers"]),
                     help="Layer kind of a single-layer file (GeoJSON, Shapefile, ...).")(f)
    f = click.option("--layer", help="Layer name inside the file.")(f)
    f = click.option("--encoding", help="Attribute encoding (e.g. GBK, GB18030, UTF-8).")(f)
    f = click.option("--crs", "crs", help="CRS override, e.g. EPSG:4547.")(f)
    f = click.option("--coord-system", type=click.Choice(COORD_SYSTEMS), default="wgs84", show_default=True,
                     help="Coordinate system of the lon/lat values (gcj02 for Amap, bd09 for Baidu).")(f)
    return f


class OutDir(click.Path):
    """A folder for outputs: like :class:`click.Path` (no files), but ``--out ""`` is refused by name."""

    def __init__(self):
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value, param, ctx):
        """The folder, or a click usage error for an empty ``--out``.

        Parameters
        ----------
        value, param, ctx
            As for :meth:`click.ParamType.convert`.

        Returns
        -------
        pathlib.Path
        """
        if isinstance(value, str) and not value.strip():
            self.fail("an empty --out names no folder; give one, e.g. --out results", param, ctx)
        return super().convert(value, param, ctx)


def out_option(default, what: str = "Output folder"):
    """``--out DIR``: the folder this command's files go into (created if needed).

    Parameters
    ----------
    default : pathlib.Path
    what : str
        The help text's subject.

    Returns
    -------
    callable
        The click option decorator.
    """
    return click.option("--out", "out_dir", type=OutDir(), default=default, show_default=True,
                        help=f"{what}; the files go into it directly. Never a recorded run folder (or inside one).")


def quiet() -> bool:
    """True under ``twinstar -q``.

    Returns
    -------
    bool
    """
    return logging.getLogger("twinstar_gis").getEffectiveLevel() > logging.WARNING


def progress(length: int, label: str):
    """A progress bar on standard error, hidden under ``-q``.

    Parameters
    ----------
    length : int
        Steps.
    label : str

    Returns
    -------
    click progress bar (a context manager)
    """
    return click.progressbar(length=length, label=label, file=sys.stderr, hidden=quiet())


def column_pairs(ctx, param, values):
    """``--column name_zh=名称`` (repeatable) -> ``{"name_zh": "名称"}``, like ``columns`` in a project file.

    Parameters
    ----------
    ctx, param
        The click context and parameter.
    values : tuple of str

    Returns
    -------
    dict
    """
    out = {}
    for v in values:
        ours, sep, theirs = v.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise click.BadParameter(f"{v!r}: give OUR_NAME=FILE_COLUMN, e.g. name_zh=名称", param=param)
        out[ours.strip()] = theirs.strip()
    return out


def _files_of(path) -> list[Path]:
    """A file and the parts read with it (a shapefile's .shx/.dbf/.prj/.cpg; every file of a FileGDB folder)."""
    p = Path(path)
    if p.is_dir():
        return [f for f in p.rglob("*") if f.is_file()]
    if p.suffix.lower() == ".shp":
        return [p] + [p.with_suffix(s) for s in (".shx", ".dbf", ".prj", ".cpg") if p.with_suffix(s).exists()]
    return [p]


def command_inputs(path=None, project=None, *extra) -> list[Path]:
    """Every file a command reads: the dataset (and its DEM), the project file and its layers, ``extra`` files.

    Parameters
    ----------
    path : path-like, optional
        The dataset GeoPackage (default: the one :func:`open_inputs` reads).
    project : path-like, optional
    *extra : path-like
        Other inputs (control lines, facilities, a scenario file, a DEM); None is skipped.

    Returns
    -------
    list of pathlib.Path
    """
    from ..data.dataset import DEM_NAME
    from ..data.io import read_project
    from ..errors import TwinstarError

    files = []
    gpkg = path if path is not None or project is not None else _default_dataset()
    if gpkg is not None:
        files += _files_of(gpkg) + [Path(gpkg).parent / DEM_NAME]
    if project is not None:
        files.append(Path(project))
        try:
            files += [f for src in read_project(project).layers.values() for f in _files_of(src.path)]
        except (TwinstarError, OSError):
            pass  # an unreadable project is refused with its own message where it is read
    for e in extra:
        if e:
            files += _files_of(e)
    return files


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
    Nothing: the built dataset (``twinstar data build``) or the run in ``twinstar_output``.

    Parameters
    ----------
    path : str or None
    project : str or None
    needed : iterable of str
        Layer kinds the command needs.
    validate : bool
        Validate the layers (every command but ``data info`` and ``overlap`` of two files).

    Returns
    -------
    (Dataset, Settings)
    """
    import tempfile

    from ..errors import DataSourceError
    from ..data.dataset import DEM_NAME, Dataset, load_dataset
    from ..data.io import read_project
    from ..settings import DEFAULT
    from ..data.validate import validate_dataset

    if project is not None and path is None:
        from ..pipeline.steps import prepare_run
        from ..data.terrain import clip_dem

        prep = prepare_run(project=project, required=needed)
        dem, meta = None, prep.metadata
        if prep.dem_src is not None:
            tmp = Path(click.get_current_context().with_resource(tempfile.TemporaryDirectory(prefix="twinstar-dem-")))
            dem = tmp / DEM_NAME
            info = clip_dem(prep.dem_src, tuple(prep.layers["boundaries"].total_bounds), dem,
                            margin_deg=prep.settings.dem_margin_deg, settings=prep.settings)
            meta = _with_terrain_row(meta, info, prep.dem_src)
        return Dataset(layers=prep.layers, tables={"metadata": meta}, origin=f"project {project}", dem_path=dem), \
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


def _with_terrain_row(meta, info, dem_src):
    """The metadata with the terrain row of the DEM actually clipped (not the placeholder of ``prepare_run``)."""
    import pandas as pd

    from ..data.dataset import _metadata as dataset_metadata

    row = dataset_metadata({}, info, dem_src)
    return pd.concat([meta[meta["layer"] != "terrain"], row], ignore_index=True)


def _default_dataset():
    """The dataset a command reads when given none.

    ``twinstar data build``'s (``twinstar_data/``, or ``twinstar_output/data/`` of earlier versions),
    else the data of the run in ``twinstar_output`` (``twinstar run``); None when there is none
    (the command then says to run ``twinstar data build``).
    """
    from ..data.dataset import DEFAULT_OUT_DIR, GPKG_NAME
    from ..pipeline.steps import GPKG

    for p in (DATA_DIR / GPKG_NAME, DEFAULT_OUT_DIR / GPKG_NAME, Path("twinstar_output") / GPKG):
        if p.exists():
            return p
    return None
