"""The main job in one call: one consistent, self-describing run folder.

``twinstar run`` calls :func:`run_all`.  It works in two phases:

1. :func:`prepare_run` reads and checks everything (settings, project file,
   every layer, the DEM) and writes nothing.  Bad input stops the run here.
2. The run is staged in a sibling folder (:mod:`twinstar_gis.run.folder`): the layers
   used (``data/twinstar.gpkg``), the DEM, the analyses, the accessibility
   model, the exchange files (``tables.xlsx``, ``.csvt`` sidecars, GeoPackage 1.2,
   band descriptions) and the QGIS styles and project (``run.qgz``), the maps,
   the brief and finally ``run.json``; then the staging folder is swapped into
   place.  The previous run stays complete until then.  Everything that changes
   a file's bytes (styles inside the GeoPackages) happens before ``run.json``
   records the files.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..errors import CRSError, DataSourceError
from ..data.io import Project, read_project
from ..model.surface import check_grid_size
from ..run.folder import check_output_dir, file_record, staged, utc_now, write_manifest
from ..errors import SettingsError
from ..settings import DEFAULT, Settings

__all__ = ["run_all", "run_access", "check_dem", "prepare_run", "resolve_settings", "load_run_layers", "RunInputs", "STEPS", "GPKG", "DEM"]

log = logging.getLogger(__name__)
STEPS = ("data", "distances", "overlap", "indicators", "access", "planning", "exchange", "maps", "brief")
#: Fixed paths inside a run folder (see the run-folder contract).
GPKG = "data/twinstar.gpkg"
DEM = "data/twinstar_dem.tif"


@dataclass(frozen=True)
class RunInputs:
    """Everything a run reads, checked, before anything is written.

    Attributes
    ----------
    layers : dict
        Layer kind -> validated GeoDataFrame (WGS-84).
    metadata : pandas.DataFrame
        One row per layer: source, licence, accuracy (embedded rows from the
        embedded metadata, project rows from the project's files).
    settings : Settings
    project : Project or None
    dem_src : pathlib.Path or None
        The DEM to clip into the run folder.
    inputs : list of dict
        ``{"role", "path", "bytes", "sha256"}`` of every file read.
    """

    layers: dict
    metadata: pd.DataFrame
    settings: Settings
    project: Project | None = None
    dem_src: Path | None = None
    inputs: list = field(default_factory=list)


def resolve_settings(*, project: Project | None = None, settings: Settings | None = None, overrides: dict | None = None,
                     source: str = "command line") -> Settings:
    """Defaults, then the project's ``[settings]``, then ``settings`` given per call, then dotted ``overrides``.

    Parameters
    ----------
    project : Project, optional
    settings : Settings, optional
    overrides : dict, optional
        Dotted names -> values.
    source : str
        Named in error messages.

    Returns
    -------
    Settings

    Examples
    --------
    >>> resolve_settings(overrides={"speeds.expressway": 90}).speeds.expressway
    90.0
    """
    out = settings or (project.settings if project is not None else DEFAULT)
    out = out.override(_source=source, **(overrides or {}))
    if out.access.scenario not in ("planned", "none", "file"):
        raise SettingsError(f"{source}: access.scenario must be planned, none or file, not {out.access.scenario!r}")
    if out.access.resolution_m < 100:
        raise SettingsError(f"{source}: access.resolution_m must be at least 100 m, not {out.access.resolution_m:g}")
    return out


def _records(paths, role) -> list[dict]:
    out = []
    for p in paths:
        p = Path(p)
        parts = [p] + ([p.with_suffix(s) for s in (".shx", ".dbf", ".prj", ".cpg")] if p.suffix.lower() == ".shp" else [])
        for q in parts:
            if q.is_file():
                out.append({"role": role, "path": str(q.resolve()), **file_record(q)})
            elif q.is_dir():  # a FileGDB folder
                out += [{"role": role, "path": str(f.resolve()), **file_record(f)} for f in sorted(q.rglob("*")) if f.is_file()]
    return out


def _embedded():
    """The embedded layers built in memory, their metadata rows and the files they come from."""
    from ..data.dataset import build_layers, curated_dir
    from ..data.terrain import default_dem_path

    layers = build_layers()
    files = sorted(p for p in Path(curated_dir()).rglob("*") if p.is_file())
    return layers, files, Path(default_dem_path())


def load_run_layers(project=None, *, settings: Settings | None = None):
    """The layers of a run: the embedded dataset (built in memory), a project's, or both merged.

    Never reads the current folder: ``base = "embedded"`` means the embedded
    dataset itself, built in memory, not an earlier ``data build``.

    Returns
    -------
    (dict, Project or None, list of pathlib.Path, pathlib.Path or None)
        Layers, the project, the input files read, the default DEM (None for a project without base).

    Parameters
    ----------
    project : path-like or Project, optional
    settings : Settings, optional

    Returns
    -------
    tuple
        Layers, the project, the input files read, the default DEM (None for a project without base).
    """
    from ..data.io import apply_project_layers

    proj = project if (project is None or isinstance(project, Project)) else read_project(project)
    layers, files, dem = {}, [], None
    if proj is None or proj.base == "embedded":
        layers, files, dem = _embedded()
        for kind, gdf in layers.items():
            gdf.attrs["source_file"] = f"embedded {kind}"
    if proj is not None:
        layers = apply_project_layers(layers, proj)
        files += [src.path for src in proj.layers.values()]
    return layers, proj, files, dem


def check_dem(path) -> Path:
    """Refuse a DEM that is missing, unreadable or without a CRS (like a vector layer without one).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    pathlib.Path
    """
    import rasterio

    path = Path(path)
    if not path.exists():
        raise DataSourceError(f"{path}: DEM file not found.")
    try:
        with rasterio.open(path) as src:
            crs = src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise DataSourceError(f"{path}: cannot read it as a raster: {exc}") from None
    if crs is None:
        raise CRSError(f"{path}: the DEM has no coordinate reference system. Write one into the file "
                       "(e.g. gdal_edit.py -a_srs EPSG:4326 DEM.tif) so its position is not guessed.")
    return path


def _metadata(layers, embedded_meta) -> pd.DataFrame:
    """One row per layer: embedded rows as built, project rows from the project's files and `source` columns."""
    rows = []
    for kind, gdf in layers.items():
        src_file = gdf.attrs.get("source_file", "")
        if src_file == f"embedded {kind}" and embedded_meta is not None and kind in set(embedded_meta["layer"]):
            rows.append(embedded_meta[embedded_meta["layer"] == kind].iloc[0].to_dict())
            continue
        sources = sorted({str(v) for v in gdf["source"].dropna()}) if "source" in gdf else []
        n_ind = int((gdf["geometry_quality"] == "indicative").sum()) if "geometry_quality" in gdf else 0
        rows.append({"layer": kind, "feature_count": len(gdf), "indicative_count": n_ind,
                     "source": f"{src_file}" + (f" (source column: {'; '.join(sources[:5])})" if sources else ""),
                     "licence": "as supplied", "as_of": "", "accuracy": "", "crs": "EPSG:4326", "notes": "project layer"})
    if embedded_meta is not None:
        rows += [r for r in embedded_meta.to_dict("records") if r["layer"] == "terrain"]
    return pd.DataFrame(rows)


#: Layers every run needs.
RUN_LAYERS = ("boundaries", "places", "parks", "corridors", "eco_zones")


def prepare_run(*, project=None, dem=None, settings: Settings | None = None, overrides: dict | None = None,
                required=RUN_LAYERS) -> RunInputs:
    """Read and check every input of a run; write nothing.

    Raises
    ------
    TwinstarError
        Any bad input: project file, settings, layers (validation incl. the
        region sanity check), DEM.

    Parameters
    ----------
    project : path-like or Project, optional
    dem : path-like, optional
    settings : Settings, optional
    overrides : dict, optional
    required : tuple of str
        Layer kinds the run needs.

    Returns
    -------
    RunInputs
    """
    from ..data.validate import validate_dataset

    proj = project if (project is None or isinstance(project, Project)) else read_project(project)
    settings = resolve_settings(project=proj, settings=settings, overrides=overrides)
    if dem is not None:
        check_dem(dem)
    layers, proj, files, default_dem = load_run_layers(proj, settings=settings)
    layers, report = validate_dataset(layers, settings=settings)
    report.raise_if_failed()
    missing = [k for k in required if k not in layers]
    if missing:
        raise DataSourceError(f"{proj.path if proj else 'the dataset'}: this needs the layer(s) {', '.join(missing)}; "
                              "add them to the project file or use base = \"embedded\".")
    dem_src = Path(dem) if dem is not None else default_dem
    check_grid_size(layers, settings)  # the travel-time grid within the memory budget, before anything is written
    if dem_src is not None:
        _plan_dem(dem_src, layers, settings)
    inputs = (_records([proj.path], "project") if proj else []) + _records(files, "layer") \
        + (_records([proj.travel_facts], "travel_facts") if proj and proj.travel_facts else []) \
        + (_records([dem_src], "dem") if dem_src else [])
    embedded_meta = None
    if proj is None or proj.base == "embedded":
        embedded_meta = _embedded_metadata(layers, dem_src)
    return RunInputs(layers=layers, metadata=_metadata(layers, embedded_meta), settings=settings, project=proj,
                     dem_src=dem_src, inputs=inputs)


def _plan_dem(dem_src, layers, settings) -> None:
    """The DEM's window over the study area and its clip fit the memory budget (read nothing)."""
    import rasterio

    from ..data.terrain import plan_dem_clip

    with rasterio.open(dem_src) as src:
        plan_dem_clip(src, tuple(layers["boundaries"].total_bounds), margin_deg=settings.dem_margin_deg,
                      settings=settings, where=str(dem_src))


def _embedded_metadata(layers, dem_src):
    from ..data.dataset import _metadata as dataset_metadata

    embedded = {k: v for k, v in layers.items() if v.attrs.get("source_file") == f"embedded {k}"}
    # the terrain row is completed once the DEM is clipped (write_data); placeholder statistics here
    info = {"shape": (0,), "resolution_deg": float("nan"), "min": float("nan"), "max": float("nan"), "crs_note": ""}
    return dataset_metadata(embedded, info, dem_src) if embedded else None


def write_data(prep: RunInputs, run_dir) -> list[Path]:
    """``data/twinstar.gpkg`` (the layers used + metadata, GeoPackage 1.2) and ``data/twinstar_dem.tif`` in ``run_dir``.

    Parameters
    ----------
    prep : RunInputs
    run_dir : path-like

    Returns
    -------
    list of pathlib.Path
    """
    from ..data.terrain import clip_dem
    from ..data.io import write_gpkg

    run_dir = Path(run_dir)
    meta = prep.metadata
    written = []
    if prep.dem_src is not None:
        info = clip_dem(prep.dem_src, tuple(prep.layers["boundaries"].total_bounds), run_dir / DEM,
                        margin_deg=prep.settings.dem_margin_deg, settings=prep.settings)
        written.append(run_dir / DEM)
        meta = meta[meta["layer"] != "terrain"]
        meta = pd.concat([meta, pd.DataFrame([{
            "layer": "terrain", "feature_count": int(pd.Series(info["shape"]).prod()), "indicative_count": 0,
            "source": f"{prep.dem_src.name} ({info['crs_note']})", "licence": "", "as_of": "",
            "accuracy": f"{info['resolution_deg']:.4f} deg cells; {info['min']:.0f}-{info['max']:.0f} m",
            "crs": "EPSG:4326", "notes": "the DEM this run used"}])], ignore_index=True)
    written.insert(0, write_gpkg(run_dir / GPKG, prep.layers, {"metadata": meta}))
    return written


def travel_facts_of(project):
    """Choose the travel facts a run is held against: the project's own file, the embedded facts (embedded base), or none.

    The embedded facts (``travel_facts.csv``: timetable times between the region's places)
    only fit the embedded places, so a project with only its own layers gets no facts unless
    it names its own file (``travel_facts = "facts.csv"``).

    Parameters
    ----------
    project : Project or None
        The run's project (:func:`~twinstar_gis.data.io.read_project`), or None for a run on
        the embedded dataset.

    Returns
    -------
    pathlib.Path, None or False
        In the form ``facts`` of :func:`~twinstar_gis.run.outputs.write_access` takes: the
        project's ``travel_facts`` file when it names one; None (the embedded facts) without a
        project or with ``base = "embedded"``; False (no facts) for a project of its own
        layers only.

    Examples
    --------
    >>> import dataclasses
    >>> from pathlib import Path
    >>> from twinstar_gis.data.io import Project
    >>> own = Project(path=Path("p.toml"), name="survey", base=None, layers={})
    >>> travel_facts_of(None), travel_facts_of(own), travel_facts_of(dataclasses.replace(own, base="embedded"))
    (None, False, None)
    >>> travel_facts_of(dataclasses.replace(own, travel_facts=Path("facts.csv"))).name
    'facts.csv'
    """
    if project is not None and project.travel_facts is not None:
        return project.travel_facts
    return None if project is None or project.base == "embedded" else False


def run_access(ds, out_dir, settings: Settings, **kw):
    """Call ``outputs.write_access`` with ``settings`` (the one call site shared by ``run`` and ``access``).

    Parameters
    ----------
    ds : Dataset
    out_dir : path-like
    settings : Settings
    **kw
        Passed to :func:`~twinstar_gis.run.outputs.write_access`.

    Returns
    -------
    tuple
        As :func:`~twinstar_gis.run.outputs.write_access`.
    """
    from ..run.outputs import write_access

    kw.setdefault("scenario", settings.access.scenario)
    return write_access(ds, out_dir, settings=settings, **kw)


def run_all(out_dir="twinstar_output", *, dem=None, project=None, settings: Settings | None = None,
            overrides: dict | None = None, resolution: float | None = None, offline: bool = True,
            basemap: str = "hillshade", tianditu_key=None, store_key=False, on_step=None, command=None) -> dict:
    """Check every input, then stage the whole run beside ``out_dir`` and swap it into place.

    Parameters
    ----------
    out_dir : path-like
        The run folder.  An earlier run there stays complete until this one is.
    project : path-like or Project, optional
        A project file; its ``[settings]`` table applies.
    settings, overrides
        A :class:`Settings` to start from, and dotted overrides on top
        (``{"speeds.expressway": 90}``); ``resolution`` is ``access.resolution_m``.
    command : list of str, optional
        The command line recorded in ``run.json`` (default ``sys.argv``).

    Returns
    -------
    dict
        Step name -> list of files (in ``out_dir``); ``"gallery"`` -> the gallery's index page;
        ``"manifest"`` -> ``run.json``.

    Examples
    --------
    >>> import tempfile, json, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> written = run_all(out, resolution=8000)
    >>> json.loads((out / "run.json").read_text())["settings"]["access"]["resolution_m"]
    8000.0
    >>> written["gallery"].name
    'index.html'
    """
    started = utc_now()
    if resolution is not None:
        overrides = {**(overrides or {}), "access.resolution_m": resolution}
    check_output_dir(out_dir)
    step = _timed_steps(on_step or (lambda s: None))
    step("data")
    prep = prepare_run(project=project, dem=dem, settings=settings, overrides=overrides)
    inputs = [i["path"] for i in prep.inputs]
    check_output_dir(out_dir, inputs=inputs)  # a folder holding the project or a layer is refused before any work
    out = Path(out_dir).absolute()
    with staged(out, inputs=inputs) as stage:
        staged_files = _run_steps(prep, stage, step, offline=offline, basemap=basemap, tianditu_key=tianditu_key,
                                  store_key=store_key, started=started, command=command)
    written = {k: [out / Path(p).relative_to(stage) for p in v] for k, v in staged_files.items()}
    step(None)
    written["gallery"] = out / "maps" / "index.html"
    written["manifest"] = out / "run.json"
    return written


def _timed_steps(on_step):
    """Wrap ``on_step`` to log the wall-clock time of each step when the next begins (``None`` ends the last)."""
    state = {"name": None, "t": 0.0}

    def step(name):
        now = time.perf_counter()
        if state["name"] is not None:
            log.info("step %s: %.1f s", state["name"], now - state["t"])
        state.update(name=name, t=now)
        if name is not None:
            on_step(name)
    return step


def _manifest_head(prep: RunInputs, started, command) -> dict:
    proj = prep.project
    return {
        "schema": 1, "tool": "twinstar_gis", "version": __version__,
        "command": list(command if command is not None else sys.argv),
        "project": None if proj is None else {"name": proj.name, "file": str(proj.path.resolve()),
                                              "sha256": file_record(proj.path)["sha256"]},
        "dataset": GPKG, "dem": DEM if prep.dem_src is not None else None,
        "inputs": prep.inputs, "settings": prep.settings.to_dict(), "started": started,
    }


#: Resolution of the PNG figures a run writes (for the screen; the PDFs are for print).
SCREEN_DPI = 150


def _figures(stage, head, write_figures, names=None) -> list:
    """The print figures (``names``: some of them); without a CJK font the run goes on without them and says so
    (``twinstar figures`` refuses)."""
    from ..errors import FontNotFoundError

    try:
        # PNGs for the screen (150 dpi); the PDFs are the print figures (vector, fonts embedded);
        # `twinstar figures --dpi 300` writes print-resolution PNGs.
        return write_figures(stage, manifest=head, dpi=SCREEN_DPI, **({"names": names} if names else {}))
    except FontNotFoundError as exc:
        log.warning("print figures skipped: %s", exc)
        head["skipped"] = {"figures": str(exc)}
        return []


def _figures_job(stage, head, names) -> tuple:
    """Figures drawn in the side process: their paths and what the run skipped (the head is a copy there)."""
    from .. import maps

    head = dict(head)
    return _figures(stage, head, maps.write_figures, names), head.get("skipped")


#: Figures the run draws itself after the gallery while a second process draws the others (about as
#: long as the gallery and these two take: ~7 s each on the embedded data).
_FIGURES_HERE = 2


def _maps_and_figures(stage: Path, head: dict, gallery_kwargs: dict) -> list:
    """The map gallery and the print figures; with two or more cores a forked process draws most figures
    while this one writes the gallery and the last figures (all only read the staged outputs and write
    their own files, so the files are the same either way; the embedded run's maps step falls from ~14 s
    to ~8 s).

    The child is forked, not spawned: it starts at once with everything this process has imported
    (and a test's stand-ins).  An error in either is raised here; the child is waited for before.
    """
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from .. import maps
    from ..maps.figures import FIGURES

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # fork only where it is the platform's own default (Linux): macOS frameworks are not fork-safe, Windows has none
    if cores < 2 or not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        gallery = maps.write_gallery(stage, manifest=head, **gallery_kwargs)
        return list(gallery.values()) + _figures(stage, head, maps.write_figures)
    names = list(FIGURES)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
        job = pool.submit(_figures_job, stage, head, names[:-_FIGURES_HERE])
        try:
            gallery = maps.write_gallery(stage, manifest=head, **gallery_kwargs)
            here = _figures(stage, head, maps.write_figures, names[-_FIGURES_HERE:])
        finally:
            there, skipped = job.result()
    if skipped and "skipped" not in head:
        log.warning("print figures skipped: %s", skipped["figures"])
        head["skipped"] = skipped
    return list(gallery.values()) + there + here


def write_exchange(stage: Path, manifest: dict) -> list[Path]:
    """The exchange files of a staged run: every GeoPackage as 1.2, band descriptions and units in the
    GeoTIFFs, ``.csvt`` sidecars, ``tables.xlsx``, then the QGIS styles and ``run.qgz`` (last: they style
    the files as they will be recorded).

    Parameters
    ----------
    stage : pathlib.Path
        The staged run folder.
    manifest : dict
        The run's manifest so far.

    Returns
    -------
    list of pathlib.Path
        The files written or changed.
    """
    from ..maps.qgis import write_qgis
    from ..run.exports import describe_rasters, write_csvt_sidecars, write_workbook

    # (every GeoPackage is written as 1.2 by data.io.write_gpkg)
    written = describe_rasters(stage) + write_csvt_sidecars(stage) + [write_workbook(stage, manifest=manifest)]
    return written + write_qgis(stage, manifest=manifest)


def _run_steps(prep: RunInputs, stage: Path, step, *, offline, basemap, tianditu_key, store_key, started, command) -> dict:
    from ..data.dataset import load_dataset
    from ..run.outputs import write_distances, write_indicators, write_overlap
    from ..planning.outputs import write_planning
    from ..run.brief import write_brief

    s = prep.settings
    written = {"data": write_data(prep, stage)}
    ds = load_dataset(stage / GPKG)
    step("distances")
    written["distances"], _ = write_distances(ds, stage / "analysis")
    step("overlap")
    written["overlap"], _ = write_overlap(ds, stage / "analysis", settings=s)
    step("indicators")
    written["indicators"], _ = write_indicators(ds, stage / "analysis")
    step("access")
    written["access"], base, scen, _ = run_access(ds, stage / "access", s, facts=travel_facts_of(prep.project))
    # planning reads its times off the same models (same layers, DEM and settings): built once per run
    models = {"base": base.model, "scenario": scen.model if scen is not None and s.access.scenario == "planned" else None}
    del base, scen
    step("planning")
    written["planning"] = write_planning(stage, ds.layers, dem_path=ds.dem_path, settings=s,
                                         include_planned=s.access.scenario == "planned", models=models)
    del models
    step("exchange")
    head = {**_manifest_head(prep, started, command), "steps": list(STEPS)}
    written["exchange"] = write_exchange(stage, head)
    step("maps")
    written["maps"] = _maps_and_figures(stage, head, dict(offline=offline, basemap=basemap, tianditu_key=tianditu_key,
                                                          store_key=store_key))
    step("brief")
    manifest = dict(head)
    written["brief"] = [write_brief(stage, manifest=manifest)]
    manifest["finished"] = utc_now()
    write_manifest(stage, manifest)
    return written
