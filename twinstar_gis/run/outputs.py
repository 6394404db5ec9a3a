"""Write the analysis products (CSV with BOM, GeoPackage 1.2, GeoTIFF) for a dataset.

One function per product family; the CLI commands and :func:`twinstar_gis.pipeline.steps.run_all`
both call these, so the files are the same whichever way they were made.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..model import accessibility, compare_scenarios
from ..analysis.indicators import park_indicators
from ..data.io import write_csv, write_gpkg
from ..model.validation import validate_travel_times
from ..analysis.overlay import area_overlaps, buffer_m, conflict_report, county_adjacency, length_inside, study_area
from ..analysis.proximity import park_corridor_distances, park_corridor_matrix, pivot_matrix
from ..model.surface import write_raster
from ..settings import DEFAULT, Settings
from .exports import write_network

__all__ = ["write_distances", "write_overlap", "write_indicators", "write_access", "eco_buffers", "coverage_table",
           "coverage_lines", "COVERAGE_COLUMNS"]

log = logging.getLogger(__name__)


def write_distances(ds, out_dir, *, classes=None, max_km=None, measure_from="boundary", include_planned=False):
    """Nearest-corridor table, distance matrix and connector lines. Returns (paths, nearest table).

    Parameters
    ----------
    ds : Dataset
        The run's layers.
    out_dir : path-like
    classes, max_km, measure_from, include_planned
        As :func:`~twinstar_gis.analysis.proximity.park_corridor_distances`.

    Returns
    -------
    (list of pathlib.Path, pandas.DataFrame)
        Files written and the nearest-corridor table.
    """
    out_dir = Path(out_dir)
    near = park_corridor_distances(ds.layers, classes=classes, measure_from=measure_from,
                                   include_planned=include_planned, max_km=max_km)
    matrix = pivot_matrix(park_corridor_matrix(ds.layers, classes=classes, measure_from=measure_from,
                                               include_planned=include_planned, max_km=max_km))
    paths = [
        write_csv(out_dir / "park_corridor_nearest.csv", near),
        write_csv(out_dir / "park_corridor_matrix_km.csv", matrix),
        write_gpkg(out_dir / "park_corridor_connectors.gpkg", {"connectors": near}),
    ]
    return paths, near


def eco_buffers(layers: dict, zone_buffers: dict):
    """The ecological zones and rivers as buffered by the conflict report (one feature per zone).

    Columns: ``zone_id``, ``name_zh``, ``kind``, ``buffer_m``, ``geometry`` (the zone grown by
    ``buffer_m``; rivers become riparian strips).  Maps draw exactly these.

    Parameters
    ----------
    layers : dict
        ``eco_zones`` and ``rivers``.
    zone_buffers : dict
        Zone kind -> buffer (m).

    Returns
    -------
    geopandas.GeoDataFrame
    """
    import geopandas as gpd
    import pandas as pd

    parts = []
    if "eco_zones" in layers:
        parts.append(layers["eco_zones"][["zone_id", "name_zh", "kind", "geometry"]])
    if "rivers" in layers:
        r = layers["rivers"].rename(columns={"river_id": "zone_id"}).assign(kind="river")
        parts.append(r[["zone_id", "name_zh", "kind", "geometry"]])
    zones = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    zones["buffer_m"] = zones["kind"].map(zone_buffers).fillna(0.0).astype(float)
    zones["geometry"] = buffer_m(zones, zones["buffer_m"].to_numpy())
    return zones


def write_overlap(ds, out_dir, *, zone_buffers=None, near_km=None, settings: Settings = DEFAULT):
    """Conflict report, park x zone overlaps, corridor stretches, county adjacency, the buffers used.

    ``zone_buffers`` (kind -> metres) and ``near_km`` default to ``settings.overlap``.
    ``overlap.gpkg`` holds the layers ``park_eco_overlaps``, ``corridor_eco_stretches``,
    ``county_borders`` and ``eco_buffers`` (the zones as buffered for this report).
    Returns (paths, dict of tables).

    Parameters
    ----------
    ds : Dataset
    out_dir : path-like
    zone_buffers : dict, optional
    near_km : float, optional
    settings : Settings

    Returns
    -------
    (list of pathlib.Path, dict)
    """
    out_dir = Path(out_dir)
    buffers = settings.overlap.zone_buffers() if zone_buffers is None else zone_buffers
    near_km = settings.overlap.near_km if near_km is None else near_km
    conflicts = conflict_report(ds.layers, zone_buffers=buffers, near_km=near_km)
    eco = ds["eco_zones"]
    park_eco = area_overlaps(ds["parks"], eco, a_id="park_id", b_id="zone_id")
    layers = {"park_eco_overlaps": park_eco}
    paths = [write_csv(out_dir / "conflicts.csv", conflicts), write_csv(out_dir / "park_eco_overlaps.csv", park_eco)]
    result = {"conflicts": conflicts, "park_eco": park_eco}
    if "corridors" in ds.layers:
        cor_eco = length_inside(ds["corridors"], eco, line_id="corridor_id", zone_id="zone_id", buffer=buffers,
                                within=study_area(ds.layers))
        layers["corridor_eco_stretches"] = cor_eco
        paths.append(write_csv(out_dir / "corridor_eco_stretches.csv", cor_eco))
        result["corridor_eco"] = cor_eco
    if "boundaries" in ds.layers:
        adj = county_adjacency(ds["boundaries"])
        layers["county_borders"] = adj
        paths.append(write_csv(out_dir / "county_adjacency.csv", adj))
        result["adjacency"] = adj
    layers["eco_buffers"] = result["eco_buffers"] = eco_buffers(ds.layers, buffers)
    paths.append(write_gpkg(out_dir / "overlap.gpkg", layers))
    return paths, result


def write_indicators(ds, out_dir):
    """产城融合 indicators. Returns (paths, table).

    Parameters
    ----------
    ds : Dataset
    out_dir : path-like

    Returns
    -------
    (list of pathlib.Path, pandas.DataFrame)
    """
    table = park_indicators(ds.layers)
    return [write_csv(Path(out_dir) / "park_indicators.csv", table)], table


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        out.update(_flat(v, key + ".") if isinstance(v, dict) else {key: v})
    return out


def _raster_tags(settings, **extra) -> dict:
    """GeoTIFF tags: units, what the raster holds, and every setting (``settings.speeds.expressway`` ...)."""
    tags = {"units": "minutes", "nodata": "no finite travel time (outside the region)", **extra}
    tags.update({f"settings.{k}": v for k, v in _flat(settings.to_dict()).items()})
    return tags


COVERAGE_COLUMNS = ("indicator", "value", "unit", "note")


def coverage_table(coverage) -> pd.DataFrame | None:
    """``AccessResult.coverage`` as the table ``access/coverage.csv`` holds: ``indicator, value, unit, note``.

    Accepts that table itself or a mapping ``indicator -> value`` or ``indicator -> (value, unit, note)``;
    None stays None (a model without coverage: the file is not written and the renderers say so).

    >>> coverage_table({"network_km_per_100km2": (3.2, "km/100 km²", "roads and rail")}).to_dict("records")[0]["unit"]
    'km/100 km²'

    Parameters
    ----------
    coverage : DataFrame, mapping or None
        ``AccessResult.coverage``.

    Returns
    -------
    pandas.DataFrame or None
    """
    if coverage is None:
        return None
    if isinstance(coverage, pd.DataFrame):
        table = coverage.copy()
    else:
        rows = []
        for k, v in dict(coverage).items():
            v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
            rows.append(dict(zip(COVERAGE_COLUMNS, (k, *v))))
        table = pd.DataFrame(rows)
    for c in COVERAGE_COLUMNS:
        if c not in table:
            table[c] = ""
    return table[list(COVERAGE_COLUMNS) + [c for c in table.columns if c not in COVERAGE_COLUMNS]]


#: The coverage indicators a print figure quotes (the brief and the web maps quote them all).
KEY_COVERAGE = ("land_access_road_km_per_100km2", "area_share_within_join_distance", "places_linked", "cores_linked")


def _three_digits(v: float) -> str:
    """Three significant digits, written out with thousands separators above 1,000 (146,000, not 1.46e+05).

    >>> _three_digits(145821.0), _three_digits(4183.7), _three_digits(1.4936), _three_digits(0.02194)
    ('146,000', '4,180', '1.49', '0.0219')
    >>> _three_digits(999.7)  # rounds up to four digits: written out, not 1e+03
    '1,000'
    """
    if not np.isfinite(v) or abs(v) < 999.5:
        return f"{v:.3g}"
    return f"{round(v, 2 - int(np.floor(np.log10(abs(v))))):,.0f}"


def coverage_lines(coverage: pd.DataFrame | None, settings: dict, sensitivity: pd.DataFrame | None = None, *,
                   compact: bool = False) -> list[str]:
    """Plain-text sentences that go next to every 1-hour / 2-hour figure: the network's coverage
    (``access/coverage.csv``), the land model's assumption for roads the network lacks, and its
    low / central / high range (``access/sensitivity.csv``).

    Parameters
    ----------
    coverage : DataFrame or None
        ``access/coverage.csv`` of the run (``indicator, value, unit, note``); None when the run has none.
    settings : dict
        The run's settings (``run.json``): ``access.land_model``, ``access.local_road_kmh``,
        ``speeds.off_road`` are quoted.
    sensitivity : DataFrame, optional
        ``access/sensitivity.csv`` of the run (the local-roads land model): the region rows give the range.
    compact : bool
        Quote only :data:`KEY_COVERAGE` (a print figure's panel), without the indicators' notes.

    Returns
    -------
    list of str

    Examples
    --------
    >>> cov = pd.DataFrame({"indicator": ["network_km_per_100km2"], "value": [3.2], "unit": ["km/100 km²"], "note": [""]})
    >>> coverage_lines(cov, {"speeds": {"off_road": 15}})[0]
    '路网覆盖 Network coverage: network_km_per_100km2 3.2 km/100 km².'
    >>> coverage_lines(None, {"speeds": {"off_road": 15}, "access": {"land_model": "off_road"}})[1].startswith(
    ...     "本地道路假设 Local roads: roads missing from the network")
    True
    """
    off_road = (settings.get("speeds") or {}).get("off_road", float("nan"))
    access = settings.get("access") or {}
    if coverage is None or coverage.empty:
        first = ("路网覆盖 Network coverage: not recorded by this run (access/coverage.csv absent); read the circles "
                 "with the network's extent in mind.")
    else:
        parts = []
        rows = coverage
        if compact and coverage["indicator"].isin(KEY_COVERAGE).any():
            rows = coverage[coverage["indicator"].isin(KEY_COVERAGE)].assign(note="")
        for r in rows.itertuples(index=False):
            v = pd.to_numeric(pd.Series([r.value]), errors="coerce").iloc[0]
            val = "—" if pd.isna(v) and str(r.value) in ("", "nan") else (_three_digits(v) if pd.notna(v) else str(r.value))
            unit = "" if pd.isna(r.unit) or str(r.unit) in ("", "nan") else f" {r.unit}"
            note = "" if pd.isna(r.note) or str(r.note) in ("", "nan") else f" ({r.note})"
            parts.append(f"{r.indicator} {val}{unit}{note}")
        first = "路网覆盖 Network coverage: " + "; ".join(parts) + "."
    if access.get("land_model", "off_road") != "local_roads":
        return [first, f"本地道路假设 Local roads: roads missing from the network are not modelled; off the network the "
                       f"model travels over the land at {off_road:g} km/h (× slope factor), so 1-h / 2-h areas are lower "
                       "bounds where county and local roads exist."]
    second = (f"本地道路假设 Local roads: the county and township roads no map draws are modelled from each county's "
              f"published road density (boundaries road_km, road_km_basis) at {access.get('local_road_kmh', 30.0):g} km/h, "
              f"never slower than off-road {off_road:g} km/h (× slope factor); an assumption, not a survey.")
    return [first, second] + _sensitivity_line(sensitivity)


def _sensitivity_line(sensitivity) -> list[str]:
    """The low-high range of the region's shares within each circle (the local-roads sensitivity run)."""
    if sensitivity is None or sensitivity.empty or "adcode" not in sensitivity.columns:
        return []
    region = sensitivity[sensitivity["adcode"].astype(str) == "region"].set_index("case")
    parts = []
    for col in [c for c in region.columns if c.startswith(("area_share_", "population_share_")) and c.endswith("min")]:
        v = pd.to_numeric(region[col], errors="coerce")
        if v.notna().any():
            what = ("area" if col.startswith("area") else "people") + " within " + col.rsplit("_", 1)[1].replace("min", " min")
            parts.append(f"{what} {v.min():.1%}–{v.max():.1%}")
    if not parts:
        return []
    return ["敏感性 Sensitivity (local-road speed ×0.5 / ×1 / ×1.5, access/sensitivity.csv): " + "; ".join(parts) + "."]


def write_access(ds, out_dir, *, layers=None, settings=None, resolution=None, minutes=None, origins=(),
                 scenario="planned", extra_corridors=None, on_step=None, facts=None):
    """All accessibility products at their fixed names; ``scenario`` is "planned", "none" or "file" (with ``extra_corridors``).

    ``resolution`` and ``minutes`` are shorthands for ``access.resolution_m`` and
    ``access.minutes`` of ``settings`` (default :data:`twinstar_gis.settings.DEFAULT`).

    Returns (paths, base result, scenario result or None, (county changes, place changes) or None).

    Parameters
    ----------
    ds : Dataset
    out_dir : path-like
    layers : dict, optional
    settings : Settings, optional
    resolution, minutes : optional
        Shorthands for ``access.resolution_m`` and ``access.minutes``.
    origins : sequence of str
        Extra isochrone origins.
    scenario : {"planned", "none", "file"}
    extra_corridors : GeoDataFrame, optional
    on_step : callable, optional
        Called after each model run.
    facts : path-like, DataFrame, False or None
        Published travel facts to hold the model against (``access/validation.csv``): a facts file
        (:func:`twinstar_gis.model.validation.read_travel_facts`), None for the embedded facts, False for none.

    Returns
    -------
    tuple
        (paths, base result, scenario result or None, (county changes, place changes) or None).
    """
    from ..model.traveltime import _with_aliases, build_models
    from ..settings import DEFAULT

    out_dir = Path(out_dir)
    step = on_step or (lambda: None)
    layers = layers or ds.layers
    settings = _with_aliases(settings or DEFAULT, resolution, minutes)
    # One network build for the run: the scenario model is the base intact plus the scenario's corridors,
    # the base model is it without them (and the road-only comparison is derived from it too).
    extra = extra_corridors if scenario == "file" else None
    models = build_models(layers, dem_path=ds.dem_path, settings=settings, include_planned=scenario == "planned",
                          extra_corridors=extra)
    base = accessibility(layers, dem_path=ds.dem_path, settings=settings, origins=list(origins), model=models["base"])
    step()
    od = base.od.copy()
    od.insert(0, "name_zh", [base.to_nearest.set_index("id")["name_zh"].get(i, i) for i in od.index])
    od.index.name = "id"
    iso = base.isochrones.copy()
    iso["area_km2"] = iso["area_km2"].round(2)
    paths = [
        write_csv(out_dir / "od_matrix_minutes.csv", od.reset_index().round(1)),
        write_csv(out_dir / "access_to_nearest.csv", base.to_nearest),
        write_gpkg(out_dir / "isochrones.gpkg", {"isochrones": iso}),
        write_raster(out_dir / "time_to_cores.tif", base.time_to_cores, base.grid,
                     tags=_raster_tags(settings, target="nearest city core", direction="to the target")),
        write_raster(out_dir / "time_to_hsr_stations.tif", base.time_to_hsr, base.grid,
                     tags=_raster_tags(settings, target="nearest operating high-speed station", direction="to the target")),
        write_csv(out_dir / "county_access.csv", base.counties.round(4)),
        write_csv(out_dir / "twin_city.csv", base.twin_city),
        write_csv(out_dir / "assumptions.csv", base.metadata),
    ]
    coverage = coverage_table(getattr(base, "coverage", None))
    if coverage is not None:  # the model's network coverage: access/coverage.csv (indicator, value, unit, note)
        paths.append(write_csv(out_dir / "coverage.csv", coverage))
    if getattr(base, "sensitivity", None) is not None:  # the local-roads land model, low / central / high
        paths.append(write_csv(out_dir / "sensitivity.csv", base.sensitivity.round(4)))
    if facts is not False:  # the model held against published travel times (timetables, road distances)
        table = validate_travel_times(base, facts)
        paths.append(write_csv(out_dir / "validation.csv", table))
    scen, comparison = None, None
    if scenario != "none":
        scen = accessibility(layers, dem_path=ds.dem_path, settings=settings, origins=list(origins),
                             include_planned=scenario == "planned", extra_corridors=extra, model=models["scenario"])
        step()
        counties, places, layer = compare_scenarios(base, scen, ds["boundaries"])
        comparison = (counties, places)
        siso = scen.isochrones.copy()
        siso["area_km2"] = siso["area_km2"].round(2)
        paths += [
            write_csv(out_dir / "scenario_counties.csv", counties),
            write_csv(out_dir / "scenario_places.csv", places),
            write_gpkg(out_dir / "scenario.gpkg", {"county_change": layer, "isochrones_scenario": siso}),
            write_raster(out_dir / "scenario_time_to_cores.tif", scen.time_to_cores, base.grid,
                         tags=_raster_tags(settings, target="nearest city core", direction="to the target",
                                           scenario=scenario)),
        ]
    if base.network is not None:  # the network QGIS's own tools route on (same times as the model's network)
        paths.append(write_network(out_dir / "network.gpkg", base.network, scen.network if scen is not None else None))
    return paths, base, scen, comparison
