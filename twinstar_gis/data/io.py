"""Reading planners' files and writing outputs atomically.

Reading brings every layer to WGS-84 (EPSG:4326) through the CRS policy of
:mod:`twinstar_gis.data.crs`, converting GCJ-02 / BD-09 where the project file says
so.  Inputs are only ever opened for reading.

Writing goes to a temporary file beside the target which replaces it only
once complete (:func:`atomic_output`), so a failed run leaves the previous
file intact and no half-written file behind.  A full disk, a read-only folder or
a denied permission becomes one :class:`~twinstar_gis.DataSourceError` that says so.

Every CSV is written for Excel (:func:`write_csv`): UTF-8 with BOM, and no text cell
can start a formula (:func:`neutralise_cell`, the OWASP rule for CSV injection).

Project files are small, plain UTF-8 TOML or YAML: YAML is read with a loader that
refuses aliases, anchors and tags (no "billion laughs"), and a file larger than
:data:`MAX_PROJECT_BYTES` is refused before it is parsed.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import errno
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import yaml
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from ..errors import CRSError, DataSourceError, ProjectFileError, SettingsError, ValidationError
from .crs import to_storage_crs
from .gcj02 import COORD_SYSTEMS, convert_gdf
from .schema import LAYERS
from ..settings import CORRIDOR_CLASSES, DEFAULT, Settings

__all__ = [
    "read_layer",
    "atomic_output",
    "write_gpkg",
    "write_csv",
    "read_csv_table",
    "neutralise_cell",
    "neutralise_table",
    "restore_cell",
    "FORMULA_TRIGGERS",
    "write_error",
    "MAX_PROJECT_BYTES",
    "read_gpkg",
    "LayerSource",
    "Project",
    "read_project",
    "load_project_layers",
    "pick_layer",
]

log = logging.getLogger(__name__)

_ENCODING_FALLBACKS = ("UTF-8", "GB18030")
_XY_NAMES = (("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"), ("x", "y"), ("经度", "纬度"))


def _describe(path: Path, layer: str | None) -> str:
    return f"{path}" + (f" (layer {layer!r})" if layer else "")


def _read_raw(path: Path, layer, encoding):
    try:
        return pyogrio.read_dataframe(path, layer=layer, encoding=encoding)
    except UnicodeDecodeError as exc:
        raise _Undecodable(str(exc)) from None


class _Undecodable(Exception):
    pass


def read_layer(
    path,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    crs=None,
    coord_system: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Read one vector layer and bring it to WGS-84.

    Parameters
    ----------
    path : str or path-like
        GeoPackage, Shapefile, GeoJSON, FileGDB (a ``.gdb`` folder) or any
        format GDAL reads.
    layer : str, optional
        Layer name in a multi-layer source.
    encoding : str, optional
        Attribute encoding.  Shapefiles with a ``.cpg`` are read as it says.
        A shapefile without one is tried as UTF-8 and then GB18030 (which
        covers GBK), the encodings Chinese shapefiles come in; the choice is
        logged.  Give ``encoding`` to decide it yourself.
    crs : str or pyproj.CRS, optional
        Override (or supply) the layer's CRS, e.g. ``"EPSG:4547"``.
    coord_system : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        The coordinate system the lon/lat values are really in.  ``gcj02`` and
        ``bd09`` (Amap / Baidu exports) are converted to WGS-84 after any
        reprojection to lon/lat.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326.

    Raises
    ------
    DataSourceError
        Missing file, unreadable format, undecodable text.
    CRSError
        No CRS and no override, or an unknown ``coord_system``.
    """
    path = Path(path)
    where = _describe(path, layer)
    if coord_system not in COORD_SYSTEMS:
        raise CRSError(f"{where}: unknown coord_system {coord_system!r}; choose from {', '.join(COORD_SYSTEMS)}")
    _check_source(path, where)
    if path.suffix.lower() == ".csv":
        _check_offset_system(crs, coord_system, where)
        return _from_coord_system(_read_csv_points(path, where, encoding, crs), coord_system, where)
    try:
        gdf = _read_decoded(path, layer, encoding, where)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise DataSourceError(_unreadable(where, path, exc, "a GIS layer")) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise DataSourceError(f"{where}: the layer has no geometry column.")
    _check_offset_system(crs if crs is not None else gdf.crs, coord_system, where)
    return _from_coord_system(to_storage_crs(gdf, source=where, crs_override=crs), coord_system, where)


def _check_offset_system(crs, coord_system: str, where: str) -> None:
    """GCJ-02 / BD-09 are offsets of lon/lat (Amap, Baidu): a projected file cannot be in them."""
    if coord_system not in ("gcj02", "bd09") or crs is None:
        return
    try:
        c = CRS.from_user_input(crs)
    except PyprojCRSError:
        return  # an unusable CRS is reported where it is used
    if not c.is_geographic:
        raise CRSError(f"{where}: coord_system {coord_system} says the lon/lat values are Amap/Baidu offsets, but the "
                       f"file is in the projected CRS {c.name} (metres); a projected file cannot be in "
                       f"{coord_system.upper()}. Leave out --coord-system / coord_system (or give the file's real one).")


def _check_source(path: Path, where: str) -> None:
    """The file exists, and a shapefile has the parts it cannot be read without."""
    if not path.exists():
        raise DataSourceError(f"{where}: file not found. Check the path (relative paths in a project file are relative to the project file).")
    if path.suffix.lower() == ".shp":
        for part in (".shx", ".dbf"):
            if not path.with_suffix(part).exists():
                raise DataSourceError(f"{where}: the shapefile's {part} file is missing; copy all parts (.shp .shx .dbf .prj .cpg) together.")


def _read_decoded(path: Path, layer, encoding, where: str) -> gpd.GeoDataFrame:
    """Read with the given encoding; a shapefile without ``.cpg`` and no encoding tries UTF-8, then GB18030."""
    if encoding is not None or path.suffix.lower() != ".shp" or path.with_suffix(".cpg").exists():
        try:
            return _read_raw(path, layer, encoding)
        except _Undecodable as exc:
            raise DataSourceError(
                f"{where}: cannot decode attribute text as {encoding or 'the declared encoding'} ({exc}). "
                "Set `encoding` in the project file to the file's real encoding (GBK/GB18030 for most Chinese shapefiles)."
            ) from None
    for enc in _ENCODING_FALLBACKS:
        try:
            gdf = _read_raw(path, layer, enc)
        except _Undecodable:
            continue
        if enc != "UTF-8":
            log.warning("%s: no .cpg file; attributes decoded as %s. Set `encoding` to be explicit.", where, enc)
        return gdf
    raise DataSourceError(f"{where}: attribute text is neither UTF-8 nor GB18030/GBK. "
                          "Give the right `encoding` in the project file (e.g. encoding = \"BIG5\").")


def _from_coord_system(gdf: gpd.GeoDataFrame, coord_system: str, where: str) -> gpd.GeoDataFrame:
    """Lon/lat in GCJ-02 or BD-09 (Amap, Baidu) to WGS-84; WGS-84 and CGCS2000 pass through."""
    if coord_system in ("gcj02", "bd09"):
        log.info("%s: converting %s -> WGS-84", where, coord_system.upper())
        return convert_gdf(gdf, coord_system, "wgs84")
    return gdf


def _unreadable(where, path: Path, exc, what: str) -> str:
    """One clear sentence for a file GDAL cannot open (empty, truncated, damaged, wrong format)."""
    text = str(exc)
    try:
        size = path.stat().st_size if path.is_file() else None
    except OSError:
        size = None
    if size == 0:
        return f"{where}: the file is empty (0 bytes); it cannot be {what}. Copy or export it again."
    if "malformed" in text or "not a database" in text or "truncated" in text.lower() or "file is too short" in text:
        return (f"{where}: the file is damaged or truncated ({size:,} bytes; SQLite reports a malformed database). "
                "Copy or export it again.")
    if "not recognized as" in text or "not recognised as" in text:
        return f"{where}: cannot read it as {what}: not a format GDAL recognises ({size:,} bytes). Check the file and its extension."
    first = text.split(";")[0].strip()
    return f"{where}: cannot read it as {what}: {first}"


def pick_layer(path, kind: str) -> str | None:
    """The layer of a multi-layer file to read for ``kind``: the one named like the kind.

    Parameters
    ----------
    path : path-like
    kind : str
        A layer kind.

    Returns
    -------
    str or None
        None for a single-layer file (read it whole).

    Raises
    ------
    DataSourceError
        A multi-layer file with no layer named ``kind`` (its layers are listed).
    """
    path = Path(path)
    if not path.exists() or path.suffix.lower() == ".csv":
        return None
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise DataSourceError(_unreadable(str(path), path, exc, "a GIS layer")) from None
    if len(names) <= 1:
        return None
    if kind in names:
        return kind
    raise DataSourceError(f"{path}: has {len(names)} layers ({', '.join(names)}) and none is named {kind}; "
                          "say which one holds the features with --layer (or `layer = ...` in the project file).")


def _read_csv_points(path: Path, where: str, encoding, crs) -> gpd.GeoDataFrame:
    """Points from a CSV with lon/lat columns (lon/lat, lng/lat, longitude/latitude, x/y, 经度/纬度)."""
    df = None
    for enc in ([encoding] if encoding else ["utf-8-sig", "GB18030"]):
        try:
            df = pd.read_csv(path, encoding=enc)
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataSourceError(f"{where}: cannot read it as CSV: {exc}") from None
    if df is None:
        raise DataSourceError(f"{where}: cannot decode the CSV as {encoding or 'UTF-8 or GB18030'}; set `encoding`.")
    lower = {c.lower().strip(): c for c in df.columns}
    for xn, yn in _XY_NAMES:
        if xn in lower and yn in lower:
            xc, yc = lower[xn], lower[yn]
            break
    else:
        raise DataSourceError(f"{where}: no coordinate columns found; name them lon/lat (or lng, longitude/latitude, x/y, 经度/纬度).")
    x = pd.to_numeric(df[xc], errors="coerce")
    y = pd.to_numeric(df[yc], errors="coerce")
    bad = x.isna() | y.isna()
    if bad.any():
        lines = ", ".join(str(i) for i in (df.index[bad][:12] + 2))
        raise DataSourceError(f"{where}: non-numeric or missing coordinates on lines {lines}.")
    if len(df) == 0:
        raise DataSourceError(f"{where}: the CSV has a header but no rows (0 features); export the data again.")
    if crs is None:
        crs = "EPSG:4326"
    try:
        gdf = gpd.GeoDataFrame(df.drop(columns=[xc, yc]), geometry=gpd.points_from_xy(x, y), crs=crs)
    except Exception as exc:  # pyproj CRSError for a bad override
        raise CRSError(f"{where}: cannot use CRS {crs!r}: {exc}") from None
    return to_storage_crs(gdf, source=where)


#: What each operating-system error means to a planner writing outputs.
_WRITE_ERRNOS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file would be larger than this file system or account allows",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "a folder of that name is in the way",
}
#: The same errors as GDAL and SQLite word them (they do not raise OSError).
_WRITE_TEXTS = (("no space left", errno.ENOSPC), ("disk is full", errno.ENOSPC), ("free disk space", errno.ENOSPC),
                ("disk quota", errno.EDQUOT), ("file too large", errno.EFBIG), ("read-only file system", errno.EROFS),
                ("permission denied", errno.EACCES), ("attempt to write a readonly database", errno.EROFS))
_LOW_SPACE = 1 << 20


def _free_bytes(path: Path) -> int | None:
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def _at_size_limit(partial) -> bool:
    """The partial file (and what its driver made beside it) reached this process's file-size limit."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, ValueError, OSError):  # not POSIX
        return False
    if partial is None or limit in (resource.RLIM_INFINITY, -1):
        return False
    p = Path(partial)
    sizes = [q.stat().st_size for q in p.parent.glob(_glob_escape(p.name) + "*") if q.is_file()]
    return bool(sizes) and max(sizes) >= limit - (64 << 10)


def write_error(path, exc: BaseException, *, partial=None) -> DataSourceError | None:
    """One clear :class:`~twinstar_gis.DataSourceError` for an operating-system failure while writing ``path``.

    Full disk, exhausted quota, file-size limit, read-only file system, denied permission: from an
    ``OSError`` (by ``errno``), from GDAL / SQLite messages, or -- when the error says nothing --
    from less than 1 MiB left on the disk.  Returns None for any other error (a bug, bad input).

    Parameters
    ----------
    path : path-like
        What was being written.
    exc : BaseException
        What went wrong.
    partial : path-like, optional
        The temporary file being written, when a driver's message says nothing: if it reached the
        process's file-size limit, that is the cause.

    Returns
    -------
    DataSourceError or None

    Examples
    --------
    >>> import errno
    >>> str(write_error("out/a.csv", OSError(errno.ENOSPC, "No space left on device"))).split(" (")[0]
    'out/a.csv: cannot write: the disk is full'
    >>> write_error("out/a.csv", ValueError("a bug")) is None
    True
    """
    from ..errors import TwinstarError

    if isinstance(exc, TwinstarError):  # already one clear message
        return None
    code = exc.errno if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS else None
    driver = isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in ("pyogrio", "rasterio", "sqlite3")
    if code is None and driver:
        text = str(exc).lower()
        code = next((c for t, c in _WRITE_TEXTS if t in text), None)
        if code is None:  # a driver that says nothing useful, on a disk with no room left or at the size limit
            free = _free_bytes(Path(path).parent)
            code = (errno.ENOSPC if free is not None and free < _LOW_SPACE
                    else errno.EFBIG if _at_size_limit(partial) else None)
    if code is None:
        return None
    free = _free_bytes(Path(path).parent)
    room = f" ({free / 2**20:.1f} MiB free there)" if code in (errno.ENOSPC, errno.EDQUOT) and free is not None else ""
    todo = ("free some space there or choose another --out" if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
            else "choose a folder you can write with --out")
    return DataSourceError(f"{path}: cannot write: {_WRITE_ERRNOS[code]}{room}; {todo}. "
                           "Files of earlier runs were left as they were.")


def _remove_partials(tmp: Path) -> None:
    """The temporary file and whatever a driver made beside it (``-journal``, ``-wal``, ``.aux.xml``)."""
    for p in tmp.parent.glob(_glob_escape(tmp.name) + "*"):
        with contextlib.suppress(OSError):
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def _glob_escape(name: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", name)


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; move it into place on success.

    On any exception the temporary file (and any file a driver made beside it) is removed and
    ``path`` is untouched; a full disk or a refused permission becomes one
    :class:`~twinstar_gis.DataSourceError` (:func:`write_error`).

    Parameters
    ----------
    path : path-like
        The file to write.

    Yields
    ------
    pathlib.Path
        The temporary file to write instead (it does not exist yet).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output(d / "out.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "out.txt").read_text()
    'done'
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.part.", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise (write_error(path, exc) or DataSourceError(
            f"{path}: cannot write here ({exc.strerror or exc}); choose another --out.")) from None
    os.close(fd)
    os.unlink(tmp)  # drivers want to create the file themselves
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    except Exception as exc:
        err = write_error(path, exc, partial=tmp)
        if err is None:
            raise
        raise err from None
    finally:
        _remove_partials(tmp)


#: The GeoPackage version every output is written in: 1.2, which the QGIS 3.22 / GDAL 3.4-3.6 that
#: institutes run open without warnings (GDAL writes 1.4 by default since 3.7).
GPKG_VERSION = "1.2"


def write_gpkg(path, layers: dict[str, gpd.GeoDataFrame], tables: dict[str, pd.DataFrame] | None = None):
    """Write layers (and attribute tables) into one GeoPackage (version :data:`GPKG_VERSION`), atomically.

    Parameters
    ----------
    path : path-like
        The GeoPackage.
    layers : dict of str to GeoDataFrame
        Spatial layers by name.
    tables : dict of str to DataFrame, optional
        Attribute tables by name.

    Returns
    -------
    pathlib.Path
    """
    with atomic_output(path) as tmp:
        first = True  # the version is a dataset option, set when the file is created; later layers keep it
        for name, df in list(layers.items()) + list((tables or {}).items()):
            pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG",
                                    **({"dataset_options": {"VERSION": GPKG_VERSION}} if first else {}))
            first = False
    log.info("wrote %s (GeoPackage %s, %d layers)", path, GPKG_VERSION, len(layers) + len(tables or {}))
    return Path(path)


# --------------------------------------------------------------------------
# Spreadsheet formula injection (OWASP "CSV Injection")
# --------------------------------------------------------------------------

#: A text cell starting with one of these is read by Excel / LibreOffice as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value):
    """A cell value that no spreadsheet will run: text starting a formula gets a leading ``'``.

    The OWASP rule: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
    prefixed with a single quote, so ``=HYPERLINK(...)`` shows as text.  Text that is a plain number
    (``-5``, ``+1.5e3``) is left alone (a spreadsheet reads it as that number, which runs nothing);
    numbers are never touched.  Text that already starts with ``'`` gets a second one, so
    :func:`restore_cell` gives back exactly what was written.  Ids stay readable: ``-27_-63`` is
    written ``'-27_-63``.  Use it for every text cell of a table a planner opens (CSV, xlsx).

    Parameters
    ----------
    value : object
        A cell.

    Returns
    -------
    object
        ``value``, or the prefixed text.

    Examples
    --------
    >>> neutralise_cell("=HYPERLINK('http://x','click')")
    "'=HYPERLINK('http://x','click')"
    >>> neutralise_cell("-27_-63"), neutralise_cell("-5.2"), neutralise_cell(-5.2), neutralise_cell("赤峰")
    ("'-27_-63", '-5.2', -5.2, '赤峰')
    """
    if isinstance(value, str) and value and (
            value[0] == "'" or value[0] in FORMULA_TRIGGERS and not _PLAIN_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def restore_cell(value):
    """The text :func:`neutralise_cell` was given (for reading our own CSVs back).

    Parameters
    ----------
    value : object

    Returns
    -------
    object

    Examples
    --------
    >>> restore_cell(neutralise_cell("-27_-63")), restore_cell(neutralise_cell("'quoted")), restore_cell("'x")
    ('-27_-63', "'quoted", "'x")
    """
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and (value[1] in FORMULA_TRIGGERS or value[1] == "'"):
        return value[1:]
    return value


def _text_columns(df: pd.DataFrame) -> list:
    return [c for c in df.columns if df[c].dtype == object or isinstance(df[c].dtype, (pd.StringDtype, pd.CategoricalDtype))]


def neutralise_table(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are :func:`neutralise_cell`-ed; numbers untouched.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> t = neutralise_table(pd.DataFrame({"id": ["-27_-63", "A1"], "dx": [-3.5, 2.0]}))
    >>> t["id"].tolist(), t["dx"].tolist()
    (["'-27_-63", 'A1'], [-3.5, 2.0])
    """
    out = pd.DataFrame(df).copy()
    for c in _text_columns(out):
        out[c] = out[c].astype(object).map(neutralise_cell)
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def write_csv(path, df: pd.DataFrame) -> Path:
    """Write a table as CSV for Excel, atomically: UTF-8 with BOM, formulas neutralised.

    Chinese shows correctly in Excel (the BOM), and no text cell can run as a formula
    (:func:`neutralise_table`: ``=``, ``+``, ``-``, ``@``, tab and CR at the start of a text
    cell get a leading ``'``; numbers stay numbers).  Rows end in CRLF (RFC 4180), so a cell
    with a line break in it is quoted and stays one cell.  Read such a file back with
    :func:`read_csv_table`.

    Parameters
    ----------
    path : path-like
    df : pandas.DataFrame
        A ``geometry`` column is left out.

    Returns
    -------
    pathlib.Path
    """
    df = neutralise_table(pd.DataFrame(df).drop(columns=["geometry"], errors="ignore"))
    with atomic_output(path) as tmp:
        # CRLF rows (RFC 4180, what Excel writes): a text cell holding a line break of either kind is quoted,
        # so no CR inside a name can start a new row (and a formula) in a spreadsheet
        df.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    log.info("wrote %s (%d rows)", path, len(df))
    return Path(path)


def read_csv_table(path, **kw) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv`: the BOM skipped and :func:`restore_cell` applied.

    Parameters
    ----------
    path : path-like
    **kw
        Passed to :func:`pandas.read_csv` (e.g. ``dtype``).

    Returns
    -------
    pandas.DataFrame
    """
    # whole-file type inference: a column mixing names and numbers over a large table gets one type, no
    # chunk-wise DtypeWarning (a 1M-edge run's import report)
    df = pd.read_csv(path, encoding="utf-8-sig", **{"low_memory": False, **kw})
    for c in _text_columns(df):
        df[c] = df[c].map(restore_cell)
    df.columns = [restore_cell(c) for c in df.columns]
    return df


def read_gpkg(path) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, pd.DataFrame]]:
    """Read every layer of a GeoPackage.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    (dict of str to GeoDataFrame, dict of str to DataFrame)
        Spatial layers (in WGS-84) and attribute tables.
    """
    path = Path(path)
    if not path.exists():
        raise DataSourceError(f"{path}: file not found. Run `twinstar data build` first, or give the path to a dataset.")
    try:
        listing = pyogrio.list_layers(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise DataSourceError(_unreadable(str(path), path, exc, "a GeoPackage")) from None
    if len(listing) == 0:
        raise DataSourceError(f"{path}: the GeoPackage holds no layers.")
    layers, tables = {}, {}
    for name, gtype in listing:
        try:
            df = pyogrio.read_dataframe(path, layer=name)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise DataSourceError(_unreadable(f"{path} (layer {name!r})", path, exc, "a GeoPackage layer")) from None
        if gtype is None:
            tables[name] = pd.DataFrame(df)
        else:
            layers[name] = to_storage_crs(df, source=f"{path} (layer {name!r})")
    return layers, tables


# --------------------------------------------------------------------------
# Project files
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerSource:
    """Where one layer of a project comes from.

    Attributes
    ----------
    kind : str
        A layer kind of :data:`twinstar_gis.data.schema.LAYERS`.
    path : pathlib.Path
    layer : str or None
    encoding : str or None
    crs : str or None
        CRS override.
    coord_system : str
        ``wgs84``, ``cgcs2000``, ``gcj02`` or ``bd09``.
    columns : dict
        Renaming: our attribute name -> the file's column name.
    defaults : dict
        Values for attributes the file lacks (e.g. ``geometry_quality``).
    mode : {"replace", "append"}
        With ``base = "embedded"``: replace the embedded layer, or add these
        features to it (ids must stay unique).
    """

    kind: str
    path: Path
    layer: str | None = None
    encoding: str | None = None
    crs: str | None = None
    coord_system: str = "wgs84"
    columns: dict = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)
    mode: str = "replace"


@dataclass(frozen=True)
class Project:
    """A planner's project: which files provide which layers.

    Attributes
    ----------
    path : pathlib.Path
        The project file.
    name : str
    base : str or None
        ``"embedded"`` to take every layer the project does not name from the
        embedded dataset; ``None`` to use only the project's layers.
    layers : dict of str to LayerSource
    settings : Settings
        The project's ``[settings]`` table over the defaults.
    class_map : dict
        The file's corridor class names -> known classes (``settings.CORRIDOR_CLASSES``),
        e.g. ``{"HSR" = "high_speed_rail", "Expressway" = "expressway"}``.
    travel_facts : pathlib.Path or None
        The planner's own travel facts (``travel_facts = "facts.csv"``: surveyed or timetable times the run
        checks its model against, :func:`twinstar_gis.model.validation.read_travel_facts`); None: the
        embedded facts, when the project uses the embedded base.
    """

    path: Path
    name: str
    base: str | None
    layers: dict
    settings: Settings = DEFAULT
    class_map: dict = field(default_factory=dict)
    travel_facts: Path | None = None


_LAYER_KEYS = {"path", "layer", "encoding", "crs", "coord_system", "columns", "defaults", "mode"}


def read_project(path) -> Project:
    """Read a TOML or YAML project file.

    Format (TOML)::

        name = "Institute survey 2025"
        base = "embedded"          # optional

        [layers.parks]
        path = "parks/parks.shp"   # relative to this file
        encoding = "GBK"           # optional
        crs = "EPSG:4547"          # optional override
        coord_system = "cgcs2000"  # wgs84 | cgcs2000 | gcj02 | bd09
        columns = { park_id = "CODE", name_zh = "名称" }
        defaults = { geometry_quality = "surveyed" }
        mode = "replace"           # or "append" to add to the embedded layer

    The file is at most :data:`MAX_PROJECT_BYTES`, UTF-8; YAML without aliases, anchors or tags.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    Project

    Raises
    ------
    ProjectFileError
        Unreadable file, unknown keys or layer kinds, values of the wrong type, a missing or empty
        ``path``, bad ``[settings]``; every problem at once.
    """
    path = Path(path)
    raw = _parse_project_file(path)
    problems = _top_level_problems(raw)
    settings = _project_settings(raw.get("settings"), path, problems)
    class_map = _class_map(raw.get("class_map"), problems)
    base = raw.get("base")
    if base not in (None, "embedded"):
        problems.append(f"base = {base!r}: only \"embedded\" is supported (or leave it out)")
    layers = {}
    for kind, spec in (raw.get("layers") if isinstance(raw.get("layers"), dict) else {}).items():
        src, found = _layer_source(kind, spec, base, path)
        problems += found
        if src is not None:
            layers[kind] = src
    if not layers and base is None:
        problems.append("the project names no layers and no base")
    facts = _facts_path(raw.get("travel_facts"), path, problems)
    if problems:
        raise ProjectFileError(f"{path}:\n" + "\n".join("  - " + p for p in problems))
    return Project(path=path, name=str(raw.get("name") or path.stem), base=base, layers=layers,
                   settings=settings, class_map=class_map, travel_facts=facts)


def _facts_path(value, project_path: Path, problems: list) -> Path | None:
    """The project's ``travel_facts`` file (relative to the project file), checked to exist."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"travel_facts = {value!r} must name a CSV file, e.g. travel_facts = \"facts.csv\"")
        return None
    p = Path(value) if Path(value).is_absolute() else project_path.parent / value
    if not p.is_file():
        problems.append(f"travel_facts: {p} is not a file (paths are relative to the project file)")
        return None
    return p


#: A project file is a few lines of text; anything larger is refused before it is parsed.
MAX_PROJECT_BYTES = 1 << 20


class _BoundedYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases, anchors and tags: a project file is plain data.

    Aliases are what a "billion laughs" file expands (925 bytes grew to 15.8 GiB); tags ask for
    objects.  Either is refused at the first occurrence, with its line.
    """

    def compose_node(self, parent, index):
        event = self.peek_event()
        what = None
        if isinstance(event, yaml.AliasEvent):
            what = f"an alias (*{event.anchor})"
        elif getattr(event, "anchor", None):
            what = f"an anchor (&{event.anchor})"
        elif getattr(event, "tag", None) not in (None, "!"):
            what = f"a tag ({event.tag})"
        if what:
            raise ProjectFileError(f"line {event.start_mark.line + 1}: {what} is not allowed in a project file; "
                                   "write every value out in full")
        return super().compose_node(parent, index)


def _project_text(path: Path) -> str:
    """The project file's text: at most :data:`MAX_PROJECT_BYTES`, UTF-8 (a BOM is fine)."""
    if not path.exists():
        raise DataSourceError(f"{path}: project file not found.")
    if not path.is_file():
        raise ProjectFileError(f"{path}: is a folder, not a project file (.toml, .yml or .yaml).")
    size = path.stat().st_size
    if size > MAX_PROJECT_BYTES:
        raise ProjectFileError(f"{path}: {size:,} bytes; a project file is a few lines of text (at most "
                               f"{MAX_PROJECT_BYTES // 2**20} MiB). Is it the right file?")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            data.decode("gb18030")
            looks = " It looks like GBK/GB18030 (a Chinese Windows default)."
        except UnicodeDecodeError:
            looks = ""
        raise ProjectFileError(f"{path}: not UTF-8 text (byte {exc.start} cannot be read).{looks} Save it as UTF-8 "
                               "(Notepad: Save As, Encoding UTF-8) and run again.") from None


def _parse_project_file(path: Path) -> dict:
    """The project file's table (TOML or YAML), or one :class:`ProjectFileError` saying why not."""
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yml", ".yaml"):
        raise ProjectFileError(f"{path}: a project file must end in .toml, .yml or .yaml")
    text = _project_text(path)
    try:
        if suffix == ".toml":
            import tomllib

            raw = tomllib.loads(text)
        else:
            raw = yaml.load(text, Loader=_BoundedYamlLoader) or {}
    except ProjectFileError as exc:
        raise ProjectFileError(f"{path}: {exc}") from None
    except Exception as exc:  # tomllib.TOMLDecodeError, yaml.YAMLError, RecursionError of absurd nesting
        raise ProjectFileError(f"{path}: cannot parse the project file: {str(exc)[:300]}") from None
    if not isinstance(raw, dict):
        raise ProjectFileError(f"{path}: a project file is a table of keys (name, base, layers, settings, class_map).")
    return raw


def _top_level_problems(raw: dict) -> list[str]:
    """Types of the top-level keys (YAML makes lists and numbers easy to write by mistake)."""
    problems = []
    unknown_top = set(raw) - _TOP_KEYS
    if unknown_top:
        problems.append(f"unknown top-level keys {', '.join(map(str, sorted(unknown_top)))} (allowed: {', '.join(sorted(_TOP_KEYS))})")
    if "name" in raw and not isinstance(raw["name"], (str, int)):
        problems.append(f"name = {raw['name']!r} must be text in quotes")
    if raw.get("layers") is not None and not isinstance(raw["layers"], dict):
        problems.append("layers must be a table of layer kinds ([layers.parks] path = \"...\"; in YAML `layers:` then "
                        f"`  parks:` and `    path: ...`), not a {type(raw['layers']).__name__}")
    return problems


def _layer_source(kind, spec, base, project_path: Path) -> tuple[LayerSource | None, list[str]]:
    """One ``[layers.KIND]`` table as a :class:`LayerSource`, or None and what is wrong with it."""
    if kind not in LAYERS:
        return None, [f"[layers.{kind}]: unknown layer kind; choose from {', '.join(LAYERS)}"]
    if not isinstance(spec, dict) or "path" not in spec:
        return None, [f"[layers.{kind}]: needs a `path`"]
    extra = set(spec) - _LAYER_KEYS
    if extra:
        return None, [f"[layers.{kind}]: unknown keys {', '.join(map(str, sorted(extra)))} (allowed: {', '.join(sorted(_LAYER_KEYS))})"]
    typed = _spec_type_problems(kind, spec)
    if typed:
        return None, typed
    if not spec["path"].strip():
        return None, [f"[layers.{kind}]: path is empty; give the file, relative to the project file"]
    mode = spec.get("mode", "replace")
    if mode not in ("replace", "append"):
        return None, [f"[layers.{kind}]: mode {mode!r} unknown; choose replace or append"]
    if mode == "append" and base != "embedded":
        return None, [f"[layers.{kind}]: mode = \"append\" needs base = \"embedded\""]
    cs = spec.get("coord_system", "wgs84")
    if cs not in COORD_SYSTEMS:
        return None, [f"[layers.{kind}]: coord_system {cs!r} unknown; choose from {', '.join(COORD_SYSTEMS)}"]
    p = Path(spec["path"])
    return LayerSource(kind=kind, path=p if p.is_absolute() else (project_path.parent / p), layer=spec.get("layer"),
                       encoding=spec.get("encoding"), crs=spec.get("crs"), coord_system=cs,
                       columns=dict(spec.get("columns") or {}), defaults=dict(spec.get("defaults") or {}), mode=mode), []


_TOP_KEYS = {"name", "base", "layers", "settings", "class_map", "travel_facts"}


def _project_settings(table, path, problems) -> Settings:
    if table is None:
        return DEFAULT
    if not isinstance(table, dict):
        problems.append("[settings] must be a table, e.g. [settings.speeds] expressway = 90")
        return DEFAULT
    try:
        return Settings.from_mapping(table, source="[settings]")
    except SettingsError as exc:
        problems.append(str(exc))
        return DEFAULT


def _class_map(table, problems) -> dict:
    if table is None:
        return {}
    if not isinstance(table, dict):
        problems.append('class_map must be a table, e.g. class_map = { HSR = "high_speed_rail" }')
        return {}
    bad = {k: v for k, v in table.items() if v not in CORRIDOR_CLASSES}
    if bad:
        problems.append(f"class_map maps {', '.join(f'{k!r} -> {v!r}' for k, v in bad.items())}: "
                        f"a target must be one of {', '.join(CORRIDOR_CLASSES)}")
    return {str(k): v for k, v in table.items() if v in CORRIDOR_CLASSES}


def _spec_type_problems(kind, spec) -> list[str]:
    """Type checks of one ``[layers.KIND]`` table (e.g. ``encoding = 5``)."""
    problems = []
    for key in ("path", "layer", "encoding", "crs", "coord_system", "mode"):
        if key in spec and not isinstance(spec[key], str):
            problems.append(f"[layers.{kind}]: {key} = {spec[key]!r} must be text in quotes")
    for key in ("columns", "defaults"):
        if key in spec and not isinstance(spec[key], dict):
            problems.append(f"[layers.{kind}]: {key} must be a table, e.g. {key} = {{ name_zh = \"NAME\" }}")
    enc = spec.get("encoding")
    if isinstance(enc, str):
        try:
            codecs.lookup(enc)
        except LookupError:
            problems.append(f"[layers.{kind}]: encoding {enc!r} is not a known text encoding (e.g. GBK, GB18030, UTF-8)")
    return problems


def load_layer_source(src: LayerSource) -> gpd.GeoDataFrame:
    """Read one project layer, rename its columns and fill defaults.

    Parameters
    ----------
    src : LayerSource

    Returns
    -------
    geopandas.GeoDataFrame
        In WGS-84, ``attrs["source_file"]`` naming the file (and layer).

    Raises
    ------
    ValidationError
        The layer is empty.
    ProjectFileError
        ``columns`` names columns the file does not have.
    """
    layer = src.layer or pick_layer(src.path, src.kind)
    src = dataclasses.replace(src, layer=layer)
    gdf = read_layer(src.path, layer=layer, encoding=src.encoding, crs=src.crs, coord_system=src.coord_system)
    if len(gdf) == 0:
        raise ValidationError([f"{_describe(src.path, src.layer)} [{src.kind}]: the layer is empty (0 features). Check "
                               f"the file and the layer name, or leave [layers.{src.kind}] out of the project."])
    if src.columns:
        missing = [c for c in src.columns.values() if c not in gdf.columns]
        if missing:
            raise ProjectFileError(
                f"{_describe(src.path, src.layer)}: columns {', '.join(map(str, missing))} named in [layers.{src.kind}].columns "
                f"are not in the file (it has {', '.join(map(str, (c for c in gdf.columns if c != gdf.geometry.name)))})."
            )
        gdf = gdf.rename(columns={v: k for k, v in src.columns.items()})
    for col, value in src.defaults.items():
        if col not in gdf.columns:
            gdf[col] = value
    gdf.attrs["source_file"] = _describe(src.path, src.layer)
    return gdf


def load_project_layers(project: Project) -> dict[str, gpd.GeoDataFrame]:
    """Read every layer a project names (not the embedded base); corridor classes go through ``class_map``.

    Parameters
    ----------
    project : Project

    Returns
    -------
    dict of str to GeoDataFrame
    """
    layers = {kind: load_layer_source(src) for kind, src in project.layers.items()}
    if project.class_map and "corridors" in layers and "class" in layers["corridors"].columns:
        cor = layers["corridors"]
        attrs = dict(cor.attrs)
        cor = cor.assign(**{"class": cor["class"].map(lambda v: project.class_map.get(v, v))})
        cor.attrs.update(attrs)
        layers["corridors"] = cor
    return layers


def apply_project_layers(layers: dict, project: Project) -> dict:
    """The project's layers over ``layers`` (the embedded base, or empty): replace, or append where ``mode = "append"``.

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
    project : Project

    Returns
    -------
    dict of str to GeoDataFrame
        A new dict; appended layers record both origins in ``attrs["source_file"]``.
    """
    out = dict(layers)
    for kind, gdf in load_project_layers(project).items():
        if project.layers[kind].mode == "append" and kind in out:
            merged = gpd.GeoDataFrame(pd.concat([out[kind], gdf.to_crs(4326)], ignore_index=True),
                                      geometry="geometry", crs="EPSG:4326")
            merged.attrs["source_file"] = f"embedded {kind} + {gdf.attrs.get('source_file', '')}"
            out[kind] = merged
        else:
            out[kind] = gdf
    return out

