"""方案比选: evaluate N alternatives against one base in one command, one run folder, one manifest.

``twinstar compare ALTERNATIVES.toml`` calls :func:`run_compare`.

The alternatives file (TOML; paths relative to it)::

    name = "赤通高铁走向比选"                 # optional
    [compare]                               # optional: ranking weights, scheduler (CompareSettings)
    w_core_to_core = 0.3

    [[alternatives]]
    name = "北线 N-200"                      # unique; "base" is reserved for the reference
    description = "via Kailu"               # optional
    scenario = "north_kailu.geojson"        # optional: corridors added, as `twinstar access --scenario FILE`
    include_planned = false                 # optional: also count the dataset's planned corridors
    [alternatives.settings]                 # optional: overrides like a project's [settings]
    speeds.high_speed_rail = 250

The **base** is the project (or the embedded dataset) with its operating corridors and its
settings (``[settings]`` of the project, then ``--set``).  Each alternative is the base plus its
scenario corridors, optionally the planned corridors, and its setting overrides on top of the
base settings.  ``access.resolution_m``, ``access.circles`` and ``access.scenario`` cannot differ
between alternatives (the tables compare cell counts and circles).

The base and the alternatives whose build settings agree (:func:`build_key`) form a build group:
one union model of the group is built per process (:func:`union_model`) and each alternative is
derived from it (:func:`twinstar_gis.model.traveltime.derive_model`); ``build_group`` in
``compare/alternatives.csv`` and the manifest say which alternatives shared a build.  The tasks
run group by group (a process keeps one union); the results keep the order of the file.

What is computed for the base and every alternative (:func:`evaluate_alternative`, one task each):
the accessibility outputs of the one travel-time model (county statistics, time of every place
and park to its nearest core, the other city's core, the nearest HSR station and the
expressway), the gravity linkage on that model's OD times, construction suitability (area by
class per county; its location factor reads this alternative's travel times) and, with
``compare.sites``, the top three joint-park sites.  Results are tables, never models, so they
travel between processes.

Outputs (``compare/`` in the run folder; minutes to 0.1, shares to 1e-4)::

    compare/indicators.csv          headline indicators: one row each, base and every alternative, and the change
    compare/ranking.csv             criteria (gains over the base), points, weights, score and rank
    compare/counties.csv            per county and alternative: times, circles, population, change vs base
    compare/places.csv              per place/park and alternative: nearest core, other city's core, HSR, expressway
    compare/linkage.csv             gravity linkage per county-level unit and alternative
    compare/suitability.csv         suitability area by class per county and alternative
    compare/sites.csv               top joint-park sites per alternative (with compare.sites)
    compare/alternatives.csv        every alternative: scenario, overrides, build group
    compare/scenarios.gpkg          the scenario corridors as evaluated (alt_01, ... and `corridors` for maps)
    maps/compare.html               the alternatives side by side (offline page)
    figures/compare.png|pdf         small multiples: change in mean time per county, one panel each
    data/                           the base layers and DEM every worker read

The ranking (:func:`rank_alternatives`): for each criterion the gain of an alternative over the
base (minutes saved, or percentage points gained), divided by the largest absolute gain among the
alternatives -- the best scores 1, no change 0, a loss as large as the best gain -1; the score is
the weighted mean of these points (weights ``compare.w_*``, normalised).  Criteria:
:data:`CRITERIA`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ..data.io import Project, read_layer, read_project, write_csv, write_gpkg
from ..errors import ProjectFileError, SettingsError, TwinstarError
from ..run.folder import check_output_dir, staged, utc_now, write_manifest
from ..settings import DEFAULT, CompareSettings, Settings
from .distributed import DEFAULT_WORKERS, check_task_memory, run_tasks
from .steps import DEM, GPKG, _manifest_head, _records, prepare_run, resolve_settings, write_data

__all__ = [
    "BUILD_SETTINGS",
    "CRITERIA",
    "DEFAULT_COMPARE",
    "DEFAULT_OUT_DIR",
    "TABLES",
    "Alternative",
    "AlternativeResult",
    "AlternativesFile",
    "BaseInputs",
    "build_key",
    "CompareSettings",
    "compare_settings",
    "compare_tables",
    "estimate_task_bytes",
    "evaluate_alternative",
    "rank_alternatives",
    "read_alternatives",
    "read_scenario_corridors",
    "run_compare",
    "union_model",
]

log = logging.getLogger(__name__)

DEFAULT_OUT_DIR = Path("twinstar_compare")
BASE = "base"
#: Settings that must be the same for every alternative (the tables compare cells and circles).
FIXED_SETTINGS = ("access.resolution_m", "access.circles", "access.scenario")
#: Sites kept per alternative.
TOP_SITES = 3
#: Tables in ``compare/`` (relative path -> caption).
TABLES = {
    "compare/indicators.csv": "Headline indicators, base and every alternative, with the change",
    "compare/ranking.csv": "Ranking: criteria (gains over the base), points, weights, score",
    "compare/counties.csv": "Per county and alternative: time to the nearest core, 1-/2-hour circles, change",
    "compare/places.csv": "Per place and park: nearest core, other city's core, HSR station, expressway, change",
    "compare/linkage.csv": "Gravity linkage per county-level unit and alternative",
    "compare/suitability.csv": "Construction suitability, area by class per county and alternative",
    "compare/sites.csv": "Top joint-park sites per alternative",
    "compare/alternatives.csv": "The alternatives: scenario, overrides, build group (alternatives that shared a build)",
}


# ---------------------------------------------------------------- settings of a comparison
DEFAULT_COMPARE = CompareSettings()  # (the section lives in twinstar_gis.settings)


def compare_settings(settings=None, table: dict | None = None, *, source: str = "[compare]") -> CompareSettings:
    """The comparison settings: defaults, ``settings.compare`` when the settings tree has one, then ``table``.

    Parameters
    ----------
    settings : Settings, optional
        A settings tree (its ``compare`` section, if any, applies).
    table : dict, optional
        An alternatives file's ``[compare]`` table.
    source : str
        Named in error messages.

    Returns
    -------
    CompareSettings

    Examples
    --------
    >>> compare_settings(table={"w_core_to_core": 1, "sites": False}).sites
    False
    """
    base = settings if isinstance(settings, Settings) else DEFAULT  # the one settings machinery checks each value
    out = base.override(_source=source, **{f"compare.{k}": v for k, v in (table or {}).items()}).compare
    out.weights()
    return out


#: Ranking criteria: name -> (indicator, direction, what a gain means).  Direction -1: lower is
#: better (gain = base - alternative, minutes); +1: higher is better (gain in percentage points).
CRITERIA = {
    "core_to_core": ("core_to_core_min", -1, "minutes saved between the two city cores (fastest mode)"),
    "mean_time": ("mean_time_to_core_min", -1,
                  "minutes saved in the mean time to the nearest core, counties weighted by 2020 population"),
    "population_within": ("population_share_within_circle", +1,
                          "percentage points more people within the largest circle (access.circles) of a core"),
    "cross_city_share": ("cross_city_linkage_share", +1,
                         "percentage points more of the gravity linkage between the two cities"),
}


# ---------------------------------------------------------------- the alternatives file
@dataclass(frozen=True)
class Alternative:
    """One alternative as read from the file.

    Attributes
    ----------
    name : str
    description : str
    scenario : pathlib.Path or None
        Corridor file added to the base (resolved against the alternatives file).
    include_planned : bool
        Also count the dataset's planned corridors and stations.
    overrides : dict
        Dotted setting names -> values, over the base settings.
    settings : Settings
        The effective settings (base settings + overrides).
    """

    name: str
    description: str = ""
    scenario: Path | None = None
    include_planned: bool = False
    overrides: dict = field(default_factory=dict)
    settings: Settings = DEFAULT


@dataclass(frozen=True)
class AlternativesFile:
    """An alternatives file, checked.

    Attributes
    ----------
    path : pathlib.Path
    name : str
    alternatives : list of Alternative
    compare : CompareSettings
    scenarios : dict
        Alternative name -> its validated scenario corridors (GeoDataFrame), for those with one.
    """

    path: Path
    name: str
    alternatives: list
    compare: CompareSettings
    scenarios: dict = field(default_factory=dict, repr=False)


_TOP_KEYS = {"name", "description", "compare", "alternatives"}
_ALT_KEYS = {"name", "description", "scenario", "include_planned", "settings"}


def _flat(table: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        out.update(_flat(v, key + ".") if isinstance(v, dict) else {key: v})
    return out


def _parse(path: Path) -> dict:
    import tomllib

    if not path.is_file():
        raise ProjectFileError(f"{path}: alternatives file not found.")
    if path.suffix.lower() != ".toml":
        raise ProjectFileError(f"{path}: an alternatives file is TOML and ends in .toml")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProjectFileError(f"{path}: cannot parse the alternatives file: {exc}") from None
    return raw


def _one_alternative(i, spec, path, base_settings, problems) -> Alternative | None:
    """Check one ``[[alternatives]]`` table; problems are appended, each naming the alternative."""
    if not isinstance(spec, dict):
        problems.append(f"alternative #{i}: must be a table ([[alternatives]] with name = ...)")
        return None
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"alternative #{i}: needs a name (name = \"...\", text)")
        return None
    name = name.strip()
    who = f"alternative {name!r}"
    if name.lower() == BASE or name.endswith(" change"):
        problems.append(f"{who}: {BASE!r} and names ending in ' change' are reserved (the reference and the change "
                        "columns of the tables); choose another name")
    extra = sorted(set(spec) - _ALT_KEYS)
    if extra:
        problems.append(f"{who}: unknown keys {', '.join(extra)} (allowed: {', '.join(sorted(_ALT_KEYS))})")
    scenario = spec.get("scenario")
    if scenario is not None:
        if not isinstance(scenario, str):
            problems.append(f"{who}: scenario = {scenario!r} must be a file name in quotes")
            scenario = None
        else:
            p = Path(scenario)
            scenario = p if p.is_absolute() else path.parent / p
            if not scenario.exists():
                problems.append(f"{who}: scenario file {scenario} not found (paths are relative to {path.name})")
    planned = spec.get("include_planned", False)
    if not isinstance(planned, bool):
        problems.append(f"{who}: include_planned must be true or false, not {planned!r}")
        planned = False
    table = spec.get("settings") or {}
    overrides, settings = {}, base_settings
    if not isinstance(table, dict):
        problems.append(f"{who}: settings must be a table ([alternatives.settings] speeds.expressway = 90)")
    else:
        overrides = _flat(table)
        fixed = [k for k in overrides if k in FIXED_SETTINGS]
        if fixed:
            problems.append(f"{who}: {', '.join(fixed)} must be the same for every alternative; set it for all with "
                            "--set or the project's [settings]")
        try:
            settings = base_settings.override(_source=f"{path.name}, {who} [alternatives.settings]", **overrides)
        except TwinstarError as exc:
            problems.append(str(exc))
    desc = spec.get("description", "")
    return Alternative(name=name, description=str(desc), scenario=scenario, include_planned=planned,
                       overrides=overrides, settings=settings)


def read_alternatives(path, *, settings: Settings = DEFAULT, layers: dict | None = None) -> AlternativesFile:
    """Read and check an alternatives file; every problem is reported at once, each naming its alternative.

    Parameters
    ----------
    path : path-like
        The TOML file (see the module docstring).
    settings : Settings
        The base settings (project and ``--set``); each alternative's overrides apply on top.
    layers : dict, optional
        The base layers; with them every scenario file is read and validated against their
        boundaries and nodes (as ``twinstar access --scenario FILE`` does).

    Returns
    -------
    AlternativesFile

    Raises
    ------
    ProjectFileError
        Unreadable file, unknown keys, missing names, duplicate names, missing scenario files,
        unknown or fixed settings, scenario files that fail validation (one message listing all).
    """
    path = Path(path)
    raw = _parse(path)
    problems = []
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        problems.append(f"unknown top-level keys {', '.join(map(str, unknown))} (allowed: {', '.join(sorted(_TOP_KEYS))})")
    specs = raw.get("alternatives")
    if not isinstance(specs, list) or not specs:
        problems.append("no alternatives: add at least one [[alternatives]] table with a name")
        specs = []
    numbered = [(i, a) for i, s in enumerate(specs, 1) if (a := _one_alternative(i, s, path, settings, problems))]
    alts = [a for _, a in numbered]
    seen = {}
    for i, a in numbered:
        seen.setdefault(a.name, []).append(i)
    problems += [f"alternative {n!r}: the name is given to alternatives {' and '.join(f'#{i}' for i in idx)}; "
                 "give each alternative its own name" for n, idx in seen.items() if len(idx) > 1]
    try:
        cs = compare_settings(settings, raw.get("compare") if isinstance(raw.get("compare"), dict) else None,
                              source=f"{path.name} [compare]")
    except TwinstarError as exc:
        problems.append(str(exc))
        cs = DEFAULT_COMPARE
    scenarios = {}
    if layers is not None and not problems:
        for a in alts:
            if a.scenario is None:
                continue
            try:
                scenarios[a.name] = read_scenario_corridors(a.scenario, layers, a.settings)
            except TwinstarError as exc:
                problems.append(f"alternative {a.name!r}: scenario {a.scenario}: {exc}")
    if problems:
        raise ProjectFileError(f"{path}:\n" + "\n".join("  - " + p for p in problems))
    return AlternativesFile(path=path, name=str(raw.get("name") or path.stem), alternatives=alts, compare=cs,
                            scenarios=scenarios)


def read_scenario_corridors(path, layers: dict, settings: Settings = DEFAULT):
    """A scenario corridor file, checked like the dataset's corridors (classes, speeds, stations, region).

    Parameters
    ----------
    path : path-like
        Any vector file :func:`~twinstar_gis.data.io.read_layer` reads.
    layers : dict
        The base layers (their ``boundaries`` and ``nodes`` are the context of the checks).
    settings : Settings
        Tolerances and plausible speeds.

    Returns
    -------
    GeoDataFrame
        WGS-84; ``status`` defaults to ``"scenario"``.

    Raises
    ------
    ValidationError, DataSourceError, CRSError
    """
    from ..data.validate import validate_dataset

    gdf = read_layer(path)
    gdf.attrs["source_file"] = str(path)
    if "status" not in gdf:
        gdf["status"] = "scenario"
    context = {k: layers[k] for k in ("boundaries", "nodes") if k in layers}
    _, rep = validate_dataset({**context, "corridors": gdf}, settings=settings)
    rep.raise_if_failed()
    return gdf


# ---------------------------------------------------------------- one alternative, anywhere
@dataclass(frozen=True)
class BaseInputs:
    """What every task reads: paths every worker sees, and the base settings.

    Attributes
    ----------
    dataset : str
        The run's ``data/twinstar.gpkg`` (the base layers).
    dem : str or None
        The run's DEM.
    scenarios : str or None
        ``compare/scenarios.gpkg`` (one layer per alternative with a scenario).
    sites : bool
        Rank joint-park sites.
    site_counties : tuple of str
        Counties searched for sites (the border counties, found once for every alternative).
    """

    dataset: str
    dem: str | None
    scenarios: str | None
    sites: bool = True
    site_counties: tuple = ()


@dataclass(frozen=True)
class AlternativeTask:
    """One task: an alternative by name, its scenario layer in ``scenarios.gpkg``, its settings, and its build.

    ``group`` lists ``(include_planned, layer)`` of every alternative of its build group (the
    alternatives whose :func:`build_key` is equal: one union model serves them all) and ``label``
    is this alternative's place in it (from 1); ``build_group`` numbers the groups (from 1).
    """

    name: str
    layer: str | None
    include_planned: bool
    settings: Settings
    group: tuple = ()
    label: int = 0
    build_group: int = 0


#: Settings the network and travel-time model build reads (sections, or ``section.name``); the
#: alternatives that agree on all of them share one build.  Not read by the build: ``access.minutes``,
#: ``access.circles`` (isochrones and statistics read off the model), ``access.unlinked`` (a check),
#: ``access.scenario``, ``access.local_sensitivity`` (the sensitivity run rebuilds its land), and the
#: planning, compare and validation sections.  The class speeds (``speeds.expressway``,
#: ``speeds.high_speed_rail``, ...) are not here either: they only time the lines, and an alternative
#: that changes them is derived at its own speeds (:func:`twinstar_gis.model.traveltime.model_with_speeds`).
BUILD_SETTINGS = ("speeds.off_network", "speeds.off_road", "speeds.transfer_min", "speeds.max_link_km", "network",
                  "access.resolution_m", "access.join_m", "access.land_model", "access.tobler_a", "access.tobler_b",
                  "access.local_road_kmh", "access.local_trip_km")


def build_key(settings: Settings) -> tuple:
    """What of ``settings`` the network and model build reads (:data:`BUILD_SETTINGS`), hashable.

    Parameters
    ----------
    settings : Settings

    Returns
    -------
    tuple
        ``(name, value)`` pairs; equal keys: one build serves both.

    Examples
    --------
    >>> build_key(DEFAULT) == build_key(DEFAULT.override(**{"access.minutes": (45,)}))
    True
    >>> build_key(DEFAULT) == build_key(DEFAULT.override(**{"speeds.expressway": 90}))  # derived at its speeds
    True
    >>> build_key(DEFAULT) == build_key(DEFAULT.override(**{"speeds.off_road": 10}))
    False
    """
    d = settings.to_dict()
    out = []
    for name in BUILD_SETTINGS:
        sec, _, key = name.partition(".")
        out.append((name, repr(d[sec][key] if key else d[sec])))
    return tuple(out)


@dataclass
class AlternativeResult:
    """What one alternative yields: tables and numbers only (small; sent between processes).

    Attributes
    ----------
    name : str
    indicators : dict
        Headline indicator -> value (see :func:`compare_tables`).
    counties, places, linkage : pandas.DataFrame
    suitability, sites : pandas.DataFrame or None
    seconds : float
        Wall-clock time of the evaluation.
    worker : str
        ``host:pid`` of the process that ran it.
    version : str
        twinstar_gis version of that process.
    peak_rss_mib : float
        That process's peak resident memory so far.
    timings : dict
        Seconds per part (read, model, accessibility, linkage, suitability, sites).
    build_group : int
        The build group of the alternative (:func:`build_key`): alternatives with the same number shared one build.
    """

    name: str
    indicators: dict
    counties: pd.DataFrame
    places: pd.DataFrame
    linkage: pd.DataFrame
    suitability: pd.DataFrame | None = None
    sites: pd.DataFrame | None = None
    seconds: float = 0.0
    worker: str = ""
    version: str = ""
    peak_rss_mib: float = float("nan")
    timings: dict = field(default_factory=dict)
    build_group: int = 0


def _peak_rss_mib() -> float:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    except (ImportError, OSError):  # not POSIX
        return float("nan")


def evaluate_alternative(base: BaseInputs, alternative: AlternativeTask) -> AlternativeResult:
    """Evaluate one alternative (or the base) from files: the model, then tables read off it.

    The model is derived (:func:`twinstar_gis.model.traveltime.derive_model`) from the union model of
    the alternative's build group (:func:`union_model`: built once per process and group, and kept
    for the group's next alternative); everything else is read off that derived model.

    Parameters
    ----------
    base : BaseInputs
        Paths of the base layers, DEM and scenario corridors (every worker reads them).
    alternative : AlternativeTask
        Name, scenario layer, ``include_planned`` and the effective settings.

    Returns
    -------
    AlternativeResult
    """
    from ..data.io import read_gpkg
    from ..model.traveltime import accessibility

    t0 = clock = time.perf_counter()
    timings = {}

    def lap(name):
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    layers, _ = read_gpkg(base.dataset)
    s = alternative.settings
    lap("read")
    model = _derived(base, alternative, layers)
    lap("model")
    acc = accessibility(layers, dem_path=base.dem, settings=s, include_planned=alternative.include_planned, model=model)
    indicators = _access_indicators(acc, layers, s)
    places = _places(acc, layers)
    lap("accessibility")
    linkage, link_ind = _linkage(layers, acc.od, s)
    lap("linkage")
    suit, sites, plan_ind = _planning(layers, base.dem, s, acc.model, with_sites=base.sites, counties=base.site_counties,
                                      lap=lap)
    result = AlternativeResult(
        name=alternative.name, indicators={**indicators, **link_ind, **plan_ind}, counties=acc.counties.copy(),
        places=places, linkage=linkage, suitability=suit, sites=sites,
        seconds=round(time.perf_counter() - t0, 2), worker=f"{socket.gethostname()}:{os.getpid()}", version=__version__,
        peak_rss_mib=round(_peak_rss_mib(), 1), timings=timings, build_group=alternative.build_group)
    log.info("alternative %s: %.1f s", alternative.name, result.seconds)
    return result


#: Union models kept in this process: (key, model), the most recent last.
_UNIONS: list = []
#: Union models kept at once (a group's alternatives usually follow each other).
KEEP_UNIONS = 2


def union_model(base: BaseInputs, alternative: AlternativeTask, layers: dict):
    """The union model of ``alternative``'s build group, built once per process (the last
    :data:`KEEP_UNIONS` are kept): the base layers, and the planned and scenario corridors of every
    alternative of the group, each labelled (:func:`twinstar_gis.model.traveltime.build_union_model`).

    Parameters
    ----------
    base : BaseInputs
    alternative : AlternativeTask
        Its ``group`` and ``settings`` (every member of a group builds with the same).
    layers : dict
        The base layers read from ``base.dataset``.

    Returns
    -------
    TravelTimeModel
    """
    from ..model.traveltime import build_union_model

    key = (base.dataset, base.dem, base.scenarios, alternative.group, build_key(alternative.settings))
    for k, m in _UNIONS:
        if k == key:
            return m
    specs = [(planned, None if layer is None else read_layer(base.scenarios, layer=layer))
             for planned, layer in alternative.group]
    model = build_union_model(layers, specs, dem_path=base.dem, settings=alternative.settings)
    _UNIONS.append((key, model))
    del _UNIONS[:-KEEP_UNIONS]
    return model


def _derived(base: BaseInputs, alternative: AlternativeTask, layers: dict):
    """This alternative's model: derived from its group's union model at its own class speeds (or built
    alone without a group)."""
    from ..model.traveltime import build_model, derive_model, model_with_speeds

    if not alternative.group:
        extra = None if alternative.layer is None else read_layer(base.scenarios, layer=alternative.layer)
        return build_model(layers, dem_path=base.dem, settings=alternative.settings,
                           include_planned=alternative.include_planned, extra_corridors=extra)
    union = union_model(base, alternative, layers)
    model = derive_model(union, alternative.label, layers, dem_path=base.dem)
    if model.settings.speeds != alternative.settings.speeds:
        return model_with_speeds(model, alternative.settings)
    return dataclasses.replace(model, settings=alternative.settings)


def _cores(layers) -> list[str]:
    p = layers["places"]
    return sorted(p.loc[p["kind"] == "city_core", "place_id"].astype(str))


def _access_indicators(acc, layers, settings) -> dict:
    """Headline numbers of one alternative, unrounded (rounded when written)."""
    c = acc.counties
    tw = dict(zip(acc.twin_city["indicator"], acc.twin_city["value"]))
    cores = _cores(layers)
    linked = len(cores) == 2 and all(c in acc.od.index for c in cores)
    out = {"core_to_core_min": float(acc.od.loc[cores[0], cores[1]]) if linked else np.nan,
           "core_to_core_road_min": float(tw.get("core_to_core_road_min", np.nan))}
    pop = pd.to_numeric(c["population_2020"], errors="coerce")
    ok = pop.notna() & np.isfinite(c["mean_min"])
    out["mean_time_to_core_min"] = float((pop[ok] * c.loc[ok, "mean_min"]).sum() / pop[ok].sum()) if ok.any() else np.nan
    fin = np.isfinite(c["mean_min"])
    out["mean_time_to_core_by_area_min"] = float((c.loc[fin, "cells"] * c.loc[fin, "mean_min"]).sum() / c.loc[fin, "cells"].sum())
    known = pop.notna()
    for th in settings.access.circles:
        t = f"{float(th):g}"
        out[f"area_share_within_{t}min"] = float(c[f"area_km2_{t}min"].sum() / c["area_km2_grid"].sum())
        within = c.loc[known, f"population_{t}min"].sum(min_count=1)
        out[f"population_within_{t}min"] = float(within) if pd.notna(within) else np.nan
        out[f"population_share_within_{t}min"] = float(within / pop[known].sum()) if known.any() else np.nan
    return out


def _places(acc, layers) -> pd.DataFrame:
    """Per place and park: the model's times, and the time to the *other* city's core.

    A place's city is the prefecture of its county (``county_adcode``); the other city's core is
    the core whose county lies in the other prefecture.  NaN where that is undefined.
    """
    t = acc.to_nearest[["id", "name_zh", "kind", "nearest_core", "to_core_min", "nearest_hsr_station",
                        "to_hsr_station_min", "to_expressway_min"]].copy()
    b = layers["boundaries"]
    parent = dict(zip(b["adcode"].astype(str), b["parent_adcode"].astype(str)))
    county = {}
    for kind, col in (("places", "place_id"), ("parks", "park_id")):
        g = layers.get(kind)
        if g is not None and "county_adcode" in g:
            county.update(zip(g[col].astype(str), g["county_adcode"].astype(str)))
    city = {i: parent.get(county.get(i, ""), "") for i in t["id"]}
    core_city = {c: city.get(c, "") for c in _cores(layers)}
    other = []
    for i in t["id"]:
        cands = [c for c, cc in core_city.items() if cc and city[i] and cc != city[i]]
        ok = len(cands) == 1 and len(core_city) == 2 and cands[0] in acc.od.columns
        other.append(float(acc.od.loc[i, cands[0]]) if ok else np.nan)
    t.insert(5, "to_other_city_core_min", other)
    return t


def _linkage(layers, od, settings) -> tuple[pd.DataFrame, dict]:
    """Gravity linkage on this alternative's OD minutes (the units' seats are in the OD matrix)."""
    from ..planning.linkage import gravity_pairs, linkage_units, unit_linkage
    from ..settings import planning_settings

    units = linkage_units(layers)
    ids = list(units.index)
    pairs = gravity_pairs(units, od.loc[ids, ids], b=planning_settings(settings).gravity_b)
    per = unit_linkage(units, pairs)
    per.insert(1, "adcode", units.loc[per["unit"], "adcode"].to_numpy())
    per.insert(2, "name_zh", units.loc[per["unit"], "name_zh"].to_numpy())
    per.insert(3, "city", units.loc[per["unit"], "city"].to_numpy())
    total = pairs["strength"].sum(min_count=1)
    cross = pairs.loc[pairs["cross_city"], "strength"].sum(min_count=1)
    return per, {"total_linkage": float(total) if pd.notna(total) else np.nan,
                 "cross_city_linkage_share": float(cross / total) if pd.notna(total) and total > 0 else np.nan}


def _planning(layers, dem, settings, model, *, with_sites, counties=(), lap=lambda name: None) -> tuple:
    """Suitability area by class per county (and the top sites), on this alternative's model."""
    from ..planning.sites import find_sites
    from ..planning.suitability import area_by_class, construction_suitability

    suit = construction_suitability(layers, dem_path=dem, settings=settings, model=model)
    table = area_by_class(suit.classes, suit.grid, layers["boundaries"], urban_boundary=layers.get("urban_boundary"))
    ind = {f"{k}_km2": float(table[f"area_km2_{k}"].sum()) for k in ("suitable", "fair", "unsuitable")}
    lap("suitability")
    sites = None
    if with_sites:
        r = find_sites(layers, dem_path=dem, settings=settings, suitability=suit, model=model, top=TOP_SITES,
                       counties=list(counties) or None)
        keep = ["site_rank", "counties", "county_adcodes", "lon", "lat", "score", "worse_core_min", "hsr_min",
                "expressway_min", "suitability_score"]
        sites = pd.DataFrame(r["sites"][[k for k in keep if k in r["sites"].columns]])
        top = sites[sites["site_rank"] == 1]
        ind["top_site_score"] = float(top["score"].iloc[0]) if len(top) else np.nan
        ind["top_site_counties"] = str(top["counties"].iloc[0]) if len(top) else ""
        lap("sites")
    return table, sites, ind


# ---------------------------------------------------------------- comparing
#: Units of the indicators (for the table), by name prefix.
def _unit(name: str) -> str:
    if name.endswith("_min"):
        return "min"
    if "share" in name:
        return "share (0-1)"
    if name.endswith("_km2"):
        return "km2"
    if name.startswith("population_within"):
        return "people (2020 census, spread evenly over each county)"
    if name == "total_linkage":
        return "sum of P_i P_j / t_ij^b (people^2 / min^b)"
    if name == "top_site_score":
        return "site score (0-1)"
    return ""


def rank_alternatives(indicators: pd.DataFrame, weights: dict, *, base: str = BASE) -> pd.DataFrame:
    """Rank the alternatives on the criteria of :data:`CRITERIA` (see the module docstring).

    Parameters
    ----------
    indicators : DataFrame
        One row per alternative (index: name, including ``base``), one column per indicator.
    weights : dict
        Criterion -> weight (normalised here; a criterion without data for every alternative is
        left out and the others renormalised).
    base : str
        The reference row.

    Returns
    -------
    DataFrame
        One row per alternative (not the base), best first: ``rank``, ``alternative``, ``score``,
        per criterion ``<criterion>_gain``, ``<criterion>_points`` and ``<criterion>_weight``,
        and ``criteria_used``.

    Examples
    --------
    A saves 30 min core to core, B 10: A gets 1 point, B 1/3.

    >>> ind = pd.DataFrame({"core_to_core_min": [100.0, 70.0, 90.0]}, index=["base", "A", "B"])
    >>> r = rank_alternatives(ind, {"core_to_core": 1.0})
    >>> list(r["alternative"]), [round(v, 3) for v in r["score"]]
    (['A', 'B'], [1.0, 0.333])
    """
    alts = [i for i in indicators.index if i != base]
    out = pd.DataFrame({"alternative": alts})
    used, total = [], 0.0
    for crit, (col, sign, _) in CRITERIA.items():
        w = float(weights.get(crit, 0.0))
        if w <= 0 or col not in indicators.columns:
            continue
        vals = pd.to_numeric(indicators[col], errors="coerce")
        gain = (vals[base] - vals[alts]) if sign < 0 else (vals[alts] - vals[base]) * 100.0
        gain = gain.to_numpy(dtype=float)
        if np.isnan(gain).all():
            continue
        scale = np.nanmax(np.abs(gain))
        out[f"{crit}_gain"] = gain
        out[f"{crit}_points"] = gain / scale if scale > 0 else np.where(np.isnan(gain), np.nan, 0.0)
        out[f"{crit}_weight"] = w
        used.append(crit)
        total += w
    if not used:
        raise SettingsError("compare: no ranking criterion has data (all weights zero, or no indicator computed)")
    for crit in used:
        out[f"{crit}_weight"] = out[f"{crit}_weight"] / total
    out["score"] = sum(out[f"{c}_points"] * out[f"{c}_weight"] for c in used)  # NaN where a criterion is missing
    out["criteria_used"] = ", ".join(used)
    out = out.sort_values(["score", "alternative"], ascending=[False, True], na_position="last", kind="mergesort")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)


_COUNTY_VALUES = ("mean_min", "median_min", "unreachable_share")


def _long(results, attr, key, value_cols) -> pd.DataFrame:
    """Stack one table of every result with an ``alternative`` column and ``<col>_change`` against the base."""
    base = getattr(results[0], attr).set_index(key)
    frames = []
    for r in results:
        t = getattr(r, attr).copy()
        t.insert(0, "alternative", r.name)
        for col in value_cols(t):
            # a row the base lacks (a place only this alternative links) has no change: NaN, never 0
            t[f"{col}_change"] = t[col].to_numpy(dtype=float) - base[col].reindex(t[key]).to_numpy(dtype=float)
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def compare_tables(results: list, compare: CompareSettings = DEFAULT_COMPARE) -> dict:
    """The comparison tables from the results (the base first, then the alternatives in file order).

    Parameters
    ----------
    results : list of AlternativeResult
        ``results[0]`` is the base.
    compare : CompareSettings
        Ranking weights.

    Returns
    -------
    dict
        ``indicators`` (wide: one row per indicator, a column per alternative and one per change),
        ``ranking``, ``counties``, ``places``, ``linkage``, ``suitability``, ``sites`` (or None):
        DataFrames, unrounded.
    """
    names = [r.name for r in results]
    ind = pd.DataFrame([r.indicators for r in results], index=names)
    numeric = [c for c in ind.columns if pd.api.types.is_numeric_dtype(ind[c])]
    wide = ind.T.reset_index().rename(columns={"index": "indicator"})
    wide.insert(1, "unit", [_unit(n) for n in wide["indicator"]])
    for n in names[1:]:
        wide[f"{n} change"] = [float(ind.loc[n, i]) - float(ind.loc[names[0], i]) if i in numeric else np.nan
                               for i in wide["indicator"]]
    counties = _long(results, "counties", "adcode", lambda t: [c for c in t.columns if c in _COUNTY_VALUES or (
        c.endswith("min") and c.startswith(("area_share_", "area_km2_", "population_")))])
    places = _long(results, "places", "id", lambda t: [c for c in t.columns if c.endswith("_min")])
    linkage = _long(results, "linkage", "unit", lambda t: ["total_linkage", "cross_city_share"])
    suit = None
    if all(r.suitability is not None for r in results):
        suit = _long(results, "suitability", "adcode", lambda t: [c for c in t.columns if c.startswith("area_km2_")])
    sites = None
    if all(r.sites is not None for r in results):
        sites = pd.concat([r.sites.assign(alternative=r.name) for r in results], ignore_index=True)
        sites = sites[["alternative"] + [c for c in sites.columns if c != "alternative"]]
    circles = [c for c in ind.columns if c.startswith("population_share_within_") and c.endswith("min")]
    if circles:  # the largest circle is the ranking's population criterion
        top = max(circles, key=lambda c: float(c[len("population_share_within_"):-3]))
        ind = ind.assign(population_share_within_circle=ind[top])
    ranking = rank_alternatives(ind, compare.weights(), base=names[0])
    return {"indicators": wide, "ranking": ranking, "counties": counties, "places": places, "linkage": linkage,
            "suitability": suit, "sites": sites}


def _rounded(df: pd.DataFrame) -> pd.DataFrame:
    """Round to what the inputs support: points and weights to 1e-4, gains to 0.01, shares and scores to 1e-4,
    linkage to 4 significant digits, people to 1, minutes, km and km2 to 0.1, lon/lat to 1e-5."""
    df = df.copy()
    for c in df.columns:
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            continue
        if c.endswith(("_points", "_weight")):
            df[c] = df[c].round(4)
        elif c.endswith("_gain"):
            df[c] = df[c].round(2)
        elif "share" in c or "score" in c or c.endswith("_component"):
            df[c] = df[c].round(4)
        elif "linkage" in c or "strength" in c:
            df[c] = df[c].map(lambda v: float(f"{v:.4g}") if pd.notna(v) else v)
        elif c.startswith("population"):
            df[c] = df[c].round(0)
        elif c in ("lon", "lat"):
            df[c] = df[c].round(5)
        elif c.endswith(("_min", "_km", "_km2", "_change")):
            df[c] = df[c].round(1)
    return df


def _indicator_rounded(wide: pd.DataFrame) -> pd.DataFrame:
    """Round each indicator row by its unit (minutes 0.1, shares 1e-4, km2 0.1, people 1, linkage 4 digits)."""
    out = wide.copy().astype(object)
    for i, name in enumerate(wide["indicator"]):
        for c in wide.columns[2:]:
            v = wide.at[i, c]
            if isinstance(v, str) or v is None or (isinstance(v, float) and np.isnan(v)):
                continue
            v = float(v)
            if name == "total_linkage":
                out.at[i, c] = float(f"{v:.4g}")
            elif "share" in name or "score" in name:
                out.at[i, c] = round(v, 4)
            elif name.startswith("population"):
                out.at[i, c] = round(v, 0)
            else:
                out.at[i, c] = round(v, 1)
    return out


# ---------------------------------------------------------------- memory
#: Bytes per cell of one alternative's evaluation (the joined graph and its reverse, the surfaces of
#: the cores and stations, suitability and sites): measured 430-445 on the embedded data at 500 m
#: and 250 m (peak RSS 698 MiB / 2,108 MiB in a fresh process), with a 25 % margin.
BYTES_PER_CELL = 550.0
#: Bytes per corridor vertex (the network and its links): ~1.7 KB per edge at 5M OSM edges (issue 21).
BYTES_PER_VERTEX = 2000.0
#: A worker process with the package imported (165 MiB measured) and the layers read.
BASE_PROCESS_BYTES = 250 * 2**20


def estimate_task_bytes(layers: dict, settings: Settings = DEFAULT) -> float:
    """Estimated peak memory of one alternative's evaluation, bytes (before anything is built).

    Parameters
    ----------
    layers : dict
        The base layers (``boundaries`` for the grid, ``corridors`` for the network size).
    settings : Settings
        ``access.resolution_m``.

    Returns
    -------
    float
    """
    import shapely

    from ..model.surface import make_grid

    b = layers["boundaries"]
    grid = make_grid(b[b["level"] == "prefecture"], settings.access.resolution_m)
    vertices = int(shapely.get_num_coordinates(np.asarray(layers["corridors"].geometry.values)).sum())
    return BASE_PROCESS_BYTES + BYTES_PER_CELL * grid.width * grid.height + BYTES_PER_VERTEX * vertices


# ---------------------------------------------------------------- the command
#: Alternatives per union build at most (a larger group is built in parts).
MAX_GROUP = 16


def _tasks(spec: AlternativesFile, base_settings: Settings) -> list:
    """The base and every alternative, each with its build group (:func:`build_key`; the base is in one too)."""
    plain = [AlternativeTask(name=BASE, layer=None, include_planned=False, settings=base_settings)]
    for k, a in enumerate(spec.alternatives, 1):
        layer = f"alt_{k:02d}" if a.name in spec.scenarios else None
        plain.append(AlternativeTask(name=a.name, layer=layer, include_planned=a.include_planned, settings=a.settings))
    groups = {}
    for i, t in enumerate(plain):
        key = build_key(t.settings)
        members = groups.setdefault(key, [[]])
        if len(members[-1]) == MAX_GROUP:
            members.append([])
        members[-1].append(i)
    tasks = list(plain)
    parts = [m for ms in groups.values() for m in ms]
    for g, members in enumerate(parts, 1):
        group = tuple((plain[i].include_planned, plain[i].layer) for i in members)
        for label, i in enumerate(members, 1):
            tasks[i] = dataclasses.replace(plain[i], group=group, label=label, build_group=g)
    return tasks


def _write_scenarios(stage: Path, spec: AlternativesFile, tasks) -> Path | None:
    """``compare/scenarios.gpkg``: one layer per alternative with a scenario, and all of them in ``corridors``."""
    if not spec.scenarios:
        return None
    layers, parts = {}, []
    for t in tasks:
        if t.layer is not None:
            g = spec.scenarios[t.name]
            layers[t.layer] = g
            parts.append(g.assign(alternative=t.name).to_crs(4326))
    import geopandas as gpd

    layers["corridors"] = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)
    return write_gpkg(stage / "compare" / "scenarios.gpkg", layers)


def _alternatives_table(spec, results) -> pd.DataFrame:
    """One row per alternative (the base first); ``build_group``: alternatives with the same number shared one build."""
    rows = [{"order": 0, "alternative": BASE, "description": "the project's operating network and settings",
             "scenario": "", "include_planned": False, "settings_overrides": ""}]
    for k, a in enumerate(spec.alternatives, 1):
        rows.append({"order": k, "alternative": a.name, "description": a.description,
                     "scenario": a.scenario.name if a.scenario else "", "include_planned": a.include_planned,
                     "settings_overrides": "; ".join(f"{n}={v}" for n, v in a.overrides.items())})
    t = pd.DataFrame(rows)
    t["build_group"] = [r.build_group for r in results]
    t["seconds"] = [r.seconds for r in results]
    t["worker"] = [r.worker for r in results]
    return t


def _write_tables(stage: Path, tables: dict, alt_table: pd.DataFrame) -> list:
    d = stage / "compare"
    paths = [write_csv(d / "indicators.csv", _indicator_rounded(tables["indicators"])),
             write_csv(d / "ranking.csv", _rounded(tables["ranking"]))]
    for name in ("counties", "places", "linkage", "suitability", "sites"):
        if tables[name] is not None:
            paths.append(write_csv(d / f"{name}.csv", _rounded(tables[name])))
    paths.append(write_csv(d / "alternatives.csv", alt_table.drop(columns=["seconds", "worker"])))
    return paths


def _manifest_alternatives(spec: AlternativesFile, tasks, results) -> list:
    out = []
    for a, t, r in zip([None] + spec.alternatives, tasks, results):
        rec = {"name": t.name, "include_planned": t.include_planned, "scenario_layer": t.layer,
               "build_group": t.build_group,
               "seconds": r.seconds, "timings_s": r.timings, "worker": r.worker, "peak_rss_mib": r.peak_rss_mib,
               "settings_overrides": {} if a is None else a.overrides, "settings": t.settings.to_dict()}
        if a is not None:
            rec["description"] = a.description
            rec["scenario"] = None if a.scenario is None else _records([a.scenario], "scenario")
        out.append(rec)
    return out


def run_compare(alternatives, *, project=None, out_dir=DEFAULT_OUT_DIR, settings: Settings | None = None,
                overrides: dict | None = None, resolution: float | None = None, workers: int | None = None,
                scheduler: str | None = None, render: bool = True, offline: bool = True, command=None) -> dict:
    """Evaluate every alternative of ``alternatives`` against the base; one run folder, swapped into place whole.

    Parameters
    ----------
    alternatives : path-like
        The alternatives file (TOML; see the module docstring).
    project : path-like or Project, optional
        The base: a project file (default: the embedded dataset).
    out_dir : path-like
        The run folder (an earlier one there stays complete until this one is).
    settings, overrides, resolution
        Base settings (as :func:`twinstar_gis.pipeline.steps.run_all`).
    workers : int, optional
        Local worker processes (default 2; 0 = serial in this process).
    scheduler : str, optional
        Address of an existing Dask scheduler (default ``compare.scheduler``); wins over ``workers``.
    render : bool
        Write the page and the print figure.
    offline : bool
        Inline every asset of the page.
    command : list of str, optional
        The command recorded in ``run.json``.

    Returns
    -------
    dict
        ``tables`` (list of paths), ``page``, ``figures`` (list), ``manifest``, ``ranking``
        (the ranking DataFrame), ``engine`` (how it ran).
    """
    started, t0 = utc_now(), time.perf_counter()
    if resolution is not None:
        overrides = {**(overrides or {}), "access.resolution_m": resolution}
    check_output_dir(out_dir)
    proj = read_project(project) if project is not None and not isinstance(project, Project) else project
    read_alternatives(alternatives, settings=resolve_settings(project=proj, settings=settings, overrides=overrides))
    prep = prepare_run(project=proj, settings=settings, overrides=overrides)  # every layer read and checked
    spec = read_alternatives(alternatives, settings=prep.settings, layers=prep.layers)  # and the scenario files
    scheduler = scheduler if scheduler else (spec.compare.scheduler or None)
    workers = DEFAULT_WORKERS if workers is None else int(workers)
    if workers < 0:
        raise SettingsError(f"--workers must be 0 (serial) or more, not {workers}")
    task_bytes = estimate_task_bytes(prep.layers, prep.settings)
    check_task_memory(task_bytes, workers=workers, scheduler=scheduler, n_tasks=len(spec.alternatives) + 1,
                      settings=prep.settings, worker_memory_bytes=spec.compare.worker_memory_gib * 2**30, what="alternative")
    out = Path(out_dir).absolute()
    with staged(out) as stage:
        res = _run_in(stage, prep, spec, workers=workers, scheduler=scheduler, render=render, offline=offline,
                      started=started, command=command, task_bytes=task_bytes,
                      timings={"check inputs": round(time.perf_counter() - t0, 2)})
    rel = lambda p: out / Path(p).relative_to(stage)
    return {"tables": [rel(p) for p in res["tables"]], "page": rel(res["page"]) if res["page"] else None,
            "figures": [rel(p) for p in res["figures"]], "manifest": out / "run.json", "ranking": res["ranking"],
            "engine": res["engine"]}


def _run_in(stage: Path, prep, spec: AlternativesFile, *, workers, scheduler, render, offline, started, command,
            task_bytes, timings) -> dict:
    clock = time.perf_counter()

    def lap(name):
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    written = write_data(prep, stage)
    tasks = _tasks(spec, prep.settings)
    scen = _write_scenarios(stage, spec, tasks)
    dem = stage / DEM if (stage / DEM).exists() else None
    counties = ()
    if spec.compare.sites:
        from ..planning.sites import border_counties

        counties = tuple(border_counties(prep.layers["boundaries"]))
    base = BaseInputs(dataset=str(stage / GPKG), dem=str(dem) if dem else None, scenarios=str(scen) if scen else None,
                      sites=spec.compare.sites, site_counties=counties)
    shared = [p for p in (base.dataset, base.dem, base.scenarios) if p]
    lap("write the base layers, DEM and scenarios")
    results, engine = run_tasks(evaluate_alternative, base, tasks, workers=workers, scheduler=scheduler,
                                task_bytes=task_bytes, settings=prep.settings,
                                shared_paths=shared, what="alternative",
                                worker_memory_bytes=spec.compare.worker_memory_gib * 2**30)
    stale = sorted({r.version for r in results} - {__version__})
    if stale:
        raise SettingsError(f"the workers run twinstar_gis {', '.join(stale)}, this command {__version__}: install the "
                            "same version on every worker")
    lap("evaluate the base and the alternatives")
    tables = compare_tables(results, spec.compare)
    alt_table = _alternatives_table(spec, results)
    paths = written + ([scen] if scen else []) + _write_tables(stage, tables, alt_table)
    lap("compare and write the tables")
    head = {**_manifest_head(prep, started, command), "steps": ["data", "compare", "maps"],
            "alternatives_file": {"name": spec.name, **_records([spec.path], "alternatives")[0]},
            "alternatives": _manifest_alternatives(spec, tasks, results),
            "compare": {**engine, "ranking_weights": spec.compare.weights(), "timings_s": timings,
                        "criteria": {k: v[2] for k, v in CRITERIA.items()}, "sites": spec.compare.sites}}
    head["inputs"] = head["inputs"] + _records([spec.path], "alternatives") + [
        r for a in spec.alternatives if a.scenario for r in _records([a.scenario], "scenario")]
    page, figures = None, []
    if render:
        page, figures = _render(stage, head, offline)
        lap("page and print figure")
    head["finished"] = utc_now()
    write_manifest(stage, head)
    log.info("compare: %d alternatives on %s in %.1f s", len(spec.alternatives), engine["engine"], engine["seconds"])
    return {"tables": paths, "page": page, "figures": figures, "ranking": tables["ranking"], "engine": engine}


def _render(stage: Path, head: dict, offline: bool):
    from ..errors import FontNotFoundError
    from ..maps.compare import write_compare_figure, write_compare_page

    page = write_compare_page(stage, manifest=head, offline=offline)
    try:
        figures = write_compare_figure(stage, manifest=head)
    except FontNotFoundError as exc:
        log.warning("compare figure skipped: %s", exc)
        head["skipped"] = {"figures": str(exc)}
        figures = []
    return page, figures
