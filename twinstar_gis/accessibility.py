"""Accessibility of the Twin Star region: who reaches what within an hour or two.

Ties the network model (:mod:`twinstar_gis.network`) and the raster model
(:mod:`twinstar_gis.raster_access`) together:

* OD matrix among the county seats, the two cores and the parks;
* time from every seat and park to the nearest core, high-speed station and
  expressway;
* isochrones (30/60/90/120 min by default) from the cores or any origin;
* travel-time rasters to the cores and to the high-speed stations;
* per-county statistics and the 1-hour / 2-hour circles (一小时/两小时经济圈);
* the twin-city indicators (core to core, fastest and by road only);
* scenarios: the same with planned or user-supplied corridors, as changes.

Isochrones: from each network node reached within T minutes, the remaining
time is spent off-network at :attr:`Speeds.off_network` in a straight line,
so the isochrone is the union of those discs (nested by construction).  Rail
interior nodes are not exits: one leaves a train only at a station.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .crs import EQUAL_AREA_CRS, geodesic_area_km2
from .network import build_network, od_matrix, travel_times
from .raster_access import cost_distance, friction_surface, make_grid, zonal_time_stats
from .settings import DEFAULT_SPEEDS, Speeds

__all__ = ["AccessResult", "isochrones", "accessibility", "compare_scenarios", "DEFAULT_MINUTES"]

log = logging.getLogger(__name__)
DEFAULT_MINUTES = (30, 60, 90, 120)


def _region(layers):
    b = layers["boundaries"]
    return shapely.union_all(np.asarray(b[b["level"] == "prefecture"].geometry.values))


def isochrones(net, origins, minutes=DEFAULT_MINUTES, *, region=None, names=None) -> gpd.GeoDataFrame:
    """Isochrone polygons from each origin id for each threshold (minutes).

    Returns one row per origin and threshold with ``area_km2`` (ellipsoid).
    """
    minutes = sorted(float(m) for m in minutes)
    t = travel_times(net, origins)
    exits = np.isin(net.kind, ["road", "station", "place"])
    xy = np.column_stack(gpd.GeoSeries(gpd.points_from_xy(net.lon, net.lat), crs=4326).to_crs(EQUAL_AREA_CRS).pipe(
        lambda s: (s.x.to_numpy(), s.y.to_numpy())))
    region_ea = gpd.GeoSeries([region], crs=4326).to_crs(EQUAL_AREA_CRS).iloc[0] if region is not None else None
    rows = []
    v = net.speeds.off_network * 1000 / 60.0  # metres per minute
    for k, origin in enumerate(origins):
        for m in minutes:
            ok = exits & np.isfinite(t[k]) & (t[k] <= m)
            radius = (m - t[k][ok]) * v
            discs = shapely.buffer(shapely.points(xy[ok]), radius, quad_segs=8)
            poly = shapely.union_all(discs)
            if region_ea is not None:
                poly = poly.intersection(region_ea)
            rows.append({"origin": origin, "origin_name": (names or {}).get(origin, origin), "minutes": m, "geometry": poly})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=EQUAL_AREA_CRS).to_crs(4326)
    out["area_km2"] = geodesic_area_km2(out.geometry.values).round(2)
    return out


@dataclass
class AccessResult:
    """Everything :func:`accessibility` computes."""

    od: pd.DataFrame
    to_nearest: pd.DataFrame
    isochrones: gpd.GeoDataFrame
    time_to_cores: np.ndarray
    time_to_hsr: np.ndarray
    grid: object
    counties: pd.DataFrame
    twin_city: pd.DataFrame
    metadata: pd.DataFrame
    network: object = field(repr=False, default=None)


def _names(layers):
    names = {}
    for kind, col in (("places", "place_id"), ("parks", "park_id"), ("nodes", "node_id")):
        g = layers.get(kind)
        if g is not None and len(g):
            names.update(dict(zip(g[col].astype(str), g["name_zh"])))
    return names


def _seeds(net, t_row):
    """Seeds for the raster: exit nodes with their network minutes."""
    ok = np.isin(net.kind, ["road", "station", "place"]) & np.isfinite(t_row)
    pts = gpd.GeoSeries(gpd.points_from_xy(net.lon[ok], net.lat[ok]), crs=4326).to_crs(EQUAL_AREA_CRS)
    return np.column_stack([pts.x, pts.y]), t_row[ok]


def accessibility(layers: dict, *, dem_path=None, resolution: float = 1000.0, minutes=DEFAULT_MINUTES,
                  speeds: Speeds = DEFAULT_SPEEDS, include_planned: bool = False, extra_corridors=None,
                  origins=None) -> AccessResult:
    """Run the whole accessibility model once (see the module docstring).

    Parameters
    ----------
    layers : dict
        ``boundaries``, ``places``, ``corridors``; ``nodes`` and ``parks`` when present.
    dem_path : path-like, optional
        DEM for the raster model's slope penalty.
    resolution : float
        Raster cell size in metres.
    minutes : sequence of float
        Isochrone thresholds.
    speeds : Speeds
        The speed assumptions.
    include_planned : bool
        Count planned corridors (scenario).
    extra_corridors : GeoDataFrame, optional
        Scenario corridors that always count.
    origins : list of str, optional
        Extra isochrone origins (place, park or station ids).

    Returns
    -------
    AccessResult

    Examples
    --------
    >>> import tempfile
    >>> from twinstar_gis.dataset import build_dataset, load_dataset
    >>> ds = load_dataset(build_dataset(tempfile.mkdtemp())[0])
    >>> now = accessibility(ds.layers, dem_path=ds.dem_path, resolution=4000)
    >>> planned = accessibility(ds.layers, dem_path=ds.dem_path, resolution=4000, include_planned=True)
    >>> t0 = now.twin_city.set_index("indicator")["value"]["core_to_core_fastest_min"]
    >>> t1 = planned.twin_city.set_index("indicator")["value"]["core_to_core_fastest_min"]
    >>> bool(t1 < t0 - 60)  # the planned link saves more than an hour between the cores
    True
    """
    places = layers["places"]
    cores = places[places["kind"] == "city_core"].sort_values("place_id")
    seats = places[places["kind"] == "county_seat"].sort_values("place_id")
    parks = layers.get("parks")
    park_ids = list(parks.sort_values("park_id")["park_id"].astype(str)) if parks is not None else []
    net = build_network(layers, speeds=speeds, include_planned=include_planned, extra_corridors=extra_corridors)
    road = build_network(layers, speeds=speeds, include_planned=include_planned, extra_corridors=extra_corridors, modes=("road",))
    names = _names(layers)
    ids = list(cores["place_id"]) + list(seats["place_id"]) + park_ids
    od = od_matrix(net, ids)

    # Nearest core / HSR station / expressway from every seat and park.
    t = travel_times(net, ids)
    core_nodes = net.place_index[list(cores["place_id"])].to_numpy()
    nodes = layers.get("nodes")
    hsr_ids = []
    if nodes is not None:
        hsr = nodes[(nodes["kind"] == "hsr_station")]
        if not include_planned and "status" in hsr:
            hsr = hsr[hsr["status"].fillna("operating") == "operating"]
        hsr_ids = [i for i in hsr["node_id"].astype(str) if i in net.place_index.index]
    hsr_nodes = net.place_index[hsr_ids].to_numpy() if hsr_ids else np.array([], int)
    exp_nodes = np.flatnonzero(net.node_cls == "expressway")

    def nearest_of(targets, labels=None):
        if len(targets) == 0:
            return np.full(len(ids), np.nan), np.full(len(ids), "", dtype=object)
        sub = t[:, targets]
        best = np.nanmin(np.where(np.isnan(sub), np.inf, sub), axis=1)
        arg = np.argmin(np.where(np.isnan(sub), np.inf, sub), axis=1)
        best = np.where(np.isinf(best), np.nan, best)
        lab = np.array(labels, dtype=object)[arg] if labels is not None else np.full(len(ids), "", dtype=object)
        return best, np.where(np.isnan(best), "", lab)

    to_core, core_lab = nearest_of(core_nodes, [names.get(c, c) for c in cores["place_id"]])
    to_hsr, hsr_lab = nearest_of(hsr_nodes, [names.get(h, h) for h in hsr_ids])
    to_exp, _ = nearest_of(exp_nodes)
    to_nearest = pd.DataFrame({
        "id": ids, "name_zh": [names.get(i, i) for i in ids],
        "kind": ["city_core"] * len(cores) + ["county_seat"] * len(seats) + ["park"] * len(park_ids),
        "nearest_core": core_lab, "to_core_min": np.round(to_core, 1),
        "nearest_hsr_station": hsr_lab, "to_hsr_station_min": np.round(to_hsr, 1),
        "to_expressway_min": np.round(to_exp, 1),
    })
    to_nearest["reachable"] = to_nearest[["to_core_min"]].notna().all(axis=1)

    # Isochrones from the cores (and chosen origins).
    region = _region(layers)
    iso_origins = list(cores["place_id"]) + [o for o in (origins or []) if o not in set(cores["place_id"])]
    iso = isochrones(net, iso_origins, minutes, region=region, names=names)

    # Raster: time to the nearest core (network hand-over at every exit node) and to HSR stations.
    b = layers["boundaries"]
    grid = make_grid(b[b["level"] == "prefecture"], resolution)
    speed, _, inside = friction_surface(layers, grid, dem_path=dem_path, speeds=speeds,
                                        include_planned=include_planned, extra_corridors=extra_corridors)
    tc = travel_times(net, list(cores["place_id"]))
    seeds_xy, seeds_t = _seeds(net, np.nanmin(np.where(np.isnan(tc), np.inf, tc), axis=0))
    time_cores = cost_distance(speed, grid, seeds_xy, seeds_t, active=inside)
    if hsr_ids:
        th = travel_times(net, hsr_ids)
        sx, st = _seeds(net, np.nanmin(np.where(np.isnan(th), np.inf, th), axis=0))
        time_hsr = cost_distance(speed, grid, sx, st, active=inside)
    else:
        time_hsr = np.full(speed.shape, np.nan)
    time_cores[~inside] = np.nan
    time_hsr[~inside] = np.nan
    counties = zonal_time_stats(time_cores, grid, b, thresholds=(60, 120))

    # Twin-city indicators.
    c_ids = list(cores["place_id"])
    twin = []
    if len(c_ids) == 2:
        fast = od.loc[c_ids[0], c_ids[1]]
        by_road = od_matrix(road, c_ids).loc[c_ids[0], c_ids[1]]
        twin.append({"indicator": "core_to_core_fastest_min", "value": round(float(fast), 1)})
        twin.append({"indicator": "core_to_core_road_min", "value": round(float(by_road), 1)})
    for th in (60, 120):
        pop = counties[f"population_{th}min"].sum(min_count=1)
        twin.append({"indicator": f"area_share_within_{th}min_of_a_core",
                     "value": round(float((counties[f"area_km2_{th}min"].sum()) / counties["area_km2_grid"].sum()), 4)})
        twin.append({"indicator": f"population_within_{th}min_of_a_core (counties with census data, uniform-density assumption)",
                     "value": round(float(pop), 0) if pd.notna(pop) else np.nan})
    meta = pd.DataFrame(speeds.as_table(), columns=["assumption", "value", "unit"])
    meta = pd.concat([meta, pd.DataFrame([
        ("raster_resolution", resolution, "m (regional equal-area grid)"),
        ("raster_rail", "not burnt in; stations seed the raster with their network time", ""),
        ("slope_penalty", "Tobler factor on off-road speed, from the DEM", ""),
        ("include_planned", include_planned, ""),
        ("isochrone_exits", "road nodes, stations, places (not rail interiors)", ""),
    ], columns=["assumption", "value", "unit"])], ignore_index=True)
    return AccessResult(od=od, to_nearest=to_nearest, isochrones=iso, time_to_cores=time_cores, time_to_hsr=time_hsr,
                        grid=grid, counties=counties, twin_city=pd.DataFrame(twin), metadata=meta, network=net)


def compare_scenarios(base: AccessResult, scen: AccessResult, boundaries: gpd.GeoDataFrame):
    """Changes from ``base`` to ``scen``: per county, per park, and a county layer for maps."""
    cols = ["mean_min", "median_min", "area_share_60min", "area_share_120min", "population_60min", "population_120min"]
    c = base.counties[["adcode", "name_zh", "name_en"] + cols].merge(
        scen.counties[["adcode"] + cols], on="adcode", suffixes=("_base", "_scenario"))
    for col in cols:
        c[f"{col}_change"] = c[f"{col}_scenario"] - c[f"{col}_base"]
    n = base.to_nearest.merge(scen.to_nearest[["id", "to_core_min", "to_hsr_station_min"]], on="id", suffixes=("_base", "_scenario"))
    n["to_core_min_change"] = n["to_core_min_scenario"] - n["to_core_min_base"]
    n["to_hsr_station_min_change"] = n["to_hsr_station_min_scenario"] - n["to_hsr_station_min_base"]
    # Time to the *other* city's core matters most for the twin-city strategy.
    cores = [i for i in base.od.index if str(i).startswith("CORE_")]
    if len(cores) == 2:
        for label, res in (("base", base), ("scenario", scen)):
            other = []
            for i in n["id"]:
                own = cores[0] if res.od.loc[i, cores[0]] <= res.od.loc[i, cores[1]] else cores[1]
                other.append(res.od.loc[i, cores[1] if own == cores[0] else cores[0]])
            n[f"to_other_core_min_{label}"] = np.round(other, 1)
        n["to_other_core_min_change"] = n["to_other_core_min_scenario"] - n["to_other_core_min_base"]
    layer = boundaries[boundaries["level"] == "county"][["adcode", "geometry"]].merge(c, on="adcode")
    return c.round(4), n.round(2), gpd.GeoDataFrame(layer, geometry="geometry", crs=boundaries.crs)
