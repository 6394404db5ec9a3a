"""The one travel-time model: network times continued over a friction surface.

Every accessibility output of the tool -- the OD matrix, nearest core / station /
expressway, the travel-time rasters, the county statistics, the 1-/2-hour
circles and the isochrone polygons -- is read off one graph, so a map's outline
and a table's number cannot disagree by more than one cell.

The graph
---------
One directed graph whose nodes are the network's nodes
(:func:`twinstar_gis.model.network.build_network`) followed by the cells of an
equal-area grid (``access.resolution_m``):

* network edges as the network builds them (corridors, rail with boarding at
  stations, links of places/parks/stations);
* 8-connected cell edges: distance x mean pace of the two cells, the pace from
  the friction surface (:func:`twinstar_gis.model.surface.friction_surface`:
  roads other than expressways burnt in at their speed, elsewhere
  ``speeds.off_road`` x Tobler's slope factor);
* every network **exit** (road nodes that are not expressway interiors,
  stations, places and parks; never rail interiors) is joined to the centre of
  the cell it lies in, both ways, at the cell's pace over the straight distance
  (at most half a cell diagonal).  This is where a trip leaves a corridor for
  the last mile, or comes from the land onto a corridor.  A free join would let
  a trip jump up to a cell at every exit; along a burnt-in road with an exit
  every 1.6 km that made trips ~15 % too fast.

Times from (or to) sources are a multi-source Dijkstra on this graph
(:func:`scipy.sparse.csgraph.dijkstra`).  A *surface* is the cells' part of the
result, shape ``(H, W)``: minutes to each cell's centre, ``NaN`` where no finite
time exists (outside the region).  Maps, rasters, isochrones and the county and
circle statistics are read off surfaces, so their areas agree exactly (cell
counts).  Tables of places, parks and stations (OD, nearest core/station/
expressway) use the time at the feature's own network node; it differs from
its cell's value by at most the join (half a cell diagonal at the cell's pace:
0.7 min on a 1 km road cell at 60 km/h, 2.8 min off-road at 15 km/h).  A bare
point (no id) is its cell; a place's time to itself is 0.

Examples
--------
>>> import tempfile
>>> from twinstar_gis.data.dataset import build_dataset, load_dataset
>>> from twinstar_gis.settings import DEFAULT
>>> ds = load_dataset(build_dataset(tempfile.mkdtemp())[0])
>>> model = build_model(ds.layers, dem_path=ds.dem_path, settings=DEFAULT.override(**{"access.resolution_m": 4000}))
>>> od = od_matrix(model, ["CORE_150400", "SEAT_150402"])
>>> float(od.loc["CORE_150400", "CORE_150400"])
0.0
>>> s = time_surface(model, ["CORE_150400"], direction="to")
>>> seat = times_at(model, s, ds["places"].set_index("place_id").geometry[["SEAT_150402"]])[0]
>>> bool(abs(seat - od.loc["SEAT_150402", "CORE_150400"]) < 11.4)  # within the join: half a 4 km diagonal off-road
True
>>> iso = isochrone_polygons(model, s, [60])
>>> bool(abs(iso["area_km2"].iloc[0] - iso["cells"].iloc[0] * 16) < 16)  # ellipsoid vs cells x 16 km2
True
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from rasterio.features import shapes
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import shape

from ..errors import AccessError
from ..data.crs import EQUAL_AREA_CRS, geodesic_area_km2
from ..data.schema import in_service
from .network import build_network
from .surface import Grid, _cell_graph, friction_surface, make_grid, multi_source_times, zonal_time_stats
from ..settings import DEFAULT, Settings

__all__ = ["TravelTimeModel", "AccessResult", "build_model", "model_from_raster", "time_surface",
           "times_at", "times_between", "isochrone_polygons", "isochrones", "od_matrix", "county_statistics",
           "accessibility", "compare_scenarios"]

log = logging.getLogger(__name__)
_LINK_MIN = 1e-9  # smallest edge (a sparse graph cannot store a zero edge reliably)
_CHUNK = 8  # sources per Dijkstra call when a full row per source is kept
_TO_EA = Transformer.from_crs(4326, EQUAL_AREA_CRS, always_xy=True)



@dataclass(frozen=True)
class TravelTimeModel:
    """The network joined to the friction surface (see the module docstring).

    Attributes
    ----------
    network : Network or None
        The routable network (``None`` for a surface-only model).
    grid : Grid
        The equal-area grid of the surface.
    speed_kmh : numpy.ndarray
        ``(H, W)`` speed of every cell.
    inside : numpy.ndarray
        ``(H, W)`` cells that can be crossed (centre in the region, or holding a
        place, park or station).
    settings : Settings
    graph, graph_reverse : scipy.sparse.csr_matrix
        Network nodes then cells (row-major); the reverse is the same object when
        the network is symmetric.
    node_cell : numpy.ndarray
        Cell joined to each network node (``-1``: not an exit, or off the grid).
    """

    network: object
    grid: Grid
    speed_kmh: np.ndarray
    inside: np.ndarray
    settings: Settings
    graph: object = field(repr=False)
    graph_reverse: object = field(repr=False)
    node_cell: np.ndarray = field(repr=False)

    @property
    def n_nodes(self) -> int:
        return 0 if self.network is None else int(self.network.n)

    @property
    def shape(self) -> tuple:
        return self.inside.shape


# ---------------------------------------------------------------- network adapters
def _build_network(layers, settings, **kw):
    return build_network(layers, settings=settings, **kw)


def _exit_mask(net) -> np.ndarray:
    """Nodes where a traveller can leave the network onto the land (``Network.exit``)."""
    return np.asarray(net.exit, dtype=bool)


def _cells_of(grid: Grid, lon, lat, *, offsets: bool = False):
    """Row-major cell index of lon/lat points on ``grid`` (``-1`` off the grid); with ``offsets``
    also each point's distance (m) from its cell's centre."""
    x, y = _TO_EA.transform(np.asarray(lon, float), np.asarray(lat, float))
    r, c = grid.rowcol(x, y)
    ok = (r >= 0) & (r < grid.height) & (c >= 0) & (c < grid.width)
    cell = np.where(ok, r * grid.width + c, -1)
    if not offsets:
        return cell
    cx, cy = grid.xy(r, c)
    return cell, np.hypot(x - cx, y - cy)


# ---------------------------------------------------------------- building
def model_from_raster(speed_kmh: np.ndarray, grid: Grid, *, inside=None, network=None,
                      settings: Settings = DEFAULT) -> TravelTimeModel:
    """A model from a speed raster and (optionally) a network; :func:`build_model` ends here.

    Examples
    --------
    A 5 x 5 grid of 1 km cells at 15 km/h: a neighbour is 4 min away, a diagonal one 4 x sqrt(2).

    >>> import numpy as np, rasterio
    >>> from twinstar_gis.model.surface import Grid
    >>> g = Grid(rasterio.transform.from_origin(0, 5000, 1000, 1000), 5, 5, None, 1000.0)
    >>> m = model_from_raster(np.full((5, 5), 15.0), g)
    >>> s = time_surface(m, np.array([[2500.0, 2500.0]]), crs=None)
    >>> float(s[2, 3]), round(float(s[1, 1]), 4)
    (4.0, 5.6569)
    """
    h, w = speed_kmh.shape
    inside = np.ones((h, w), bool) if inside is None else np.asarray(inside, bool)
    n = 0 if network is None else int(network.n)
    u, v, wt = _cell_graph(speed_kmh, grid.resolution, inside)
    rows, cols, data = [u + n], [v + n], [wt]
    node_cell = np.full(n, -1, dtype=np.int64)
    symmetric = True
    if network is not None:
        cell, off = _cells_of(grid, network.lon, network.lat, offsets=True)
        ok = _exit_mask(network) & (cell >= 0)
        ok[ok] = inside.ravel()[cell[ok]]
        node_cell[ok] = cell[ok]
        i = np.flatnonzero(ok)
        # Exit <-> its cell's centre: the straight distance at the cell's pace (no free moves inside a cell).
        join = np.maximum(off[i] * 60.0 / speed_kmh.ravel()[cell[i]] / 1000.0, _LINK_MIN)
        g = network.graph.tocoo()
        rows += [g.row, i, cell[i] + n]
        cols += [g.col, cell[i] + n, i]
        data += [g.data, join, join]
        symmetric = abs(network.graph - network.graph.T).max() == 0 if network.graph.nnz else True
    size = n + h * w
    graph = coo_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)).tocsr()
    reverse = graph if symmetric else graph.T.tocsr()
    return TravelTimeModel(network=network, grid=grid, speed_kmh=speed_kmh, inside=inside, settings=settings,
                           graph=graph, graph_reverse=reverse, node_cell=node_cell)


def build_model(layers: dict, *, dem_path=None, settings: Settings = DEFAULT, include_planned: bool = False,
                extra_corridors=None, modes=("road", "rail")) -> TravelTimeModel:
    """Build the network, the friction surface on the regional grid and the joined graph.

    Parameters
    ----------
    layers : dict
        ``boundaries``, ``corridors``; ``places``, ``parks``, ``nodes`` when present.
    dem_path : path-like, optional
        DEM for the slope factor (flat without).
    settings : Settings
        Speeds, ``access.resolution_m``, Tobler constants, network settings.
    include_planned : bool
        Count planned corridors and stations.
    extra_corridors : GeoDataFrame, optional
        Scenario corridors that always count.
    modes : tuple
        ``("road",)`` for a road-only model.
    """
    t0 = time.perf_counter()
    net = _build_network(layers, settings, include_planned=include_planned, extra_corridors=extra_corridors, modes=modes)
    b = layers["boundaries"]
    grid = make_grid(b[b["level"] == "prefecture"], settings.access.resolution_m)
    speed, _, inside = friction_surface(layers, grid, dem_path=dem_path, settings=settings,
                                        include_planned=include_planned, extra_corridors=extra_corridors)
    # The cell of every place, park and station can be crossed, even where its centre lies just outside.
    pts = net.place_index.to_numpy(dtype=np.int64)
    cells = _cells_of(grid, net.lon[pts], net.lat[pts])
    inside.ravel()[cells[cells >= 0]] = True
    model = model_from_raster(speed, grid, inside=inside, network=net, settings=settings)
    log.info("travel-time model: %d network nodes, %d x %d cells of %g m, %d edges (%.1f s)", model.n_nodes,
             grid.height, grid.width, grid.resolution, model.graph.nnz, time.perf_counter() - t0)
    return model


# ---------------------------------------------------------------- querying
def _points_xy(points, crs):
    """Equal-area x, y of points: a GeoSeries/GeoDataFrame (its CRS) or an (N, 2) array in ``crs``."""
    if isinstance(points, (gpd.GeoSeries, gpd.GeoDataFrame)):
        geo = points.geometry.to_crs(EQUAL_AREA_CRS)
        return geo.x.to_numpy(), geo.y.to_numpy()
    xy = np.asarray(points, dtype=float).reshape(-1, 2)
    if crs is None:  # already in the grid's CRS
        return xy[:, 0], xy[:, 1]
    return Transformer.from_crs(crs, EQUAL_AREA_CRS, always_xy=True).transform(xy[:, 0], xy[:, 1])


def _point_cells(model, points, crs):
    x, y = _points_xy(points, crs)
    r, c = model.grid.rowcol(x, y)
    ok = (r >= 0) & (r < model.grid.height) & (c >= 0) & (c < model.grid.width)
    return np.where(ok, r * model.grid.width + c, -1)


def _source_nodes(model: TravelTimeModel, sources, crs=4326) -> np.ndarray:
    """Graph nodes of sources: ids of places/parks/stations, or points (their cells)."""
    if isinstance(sources, (list, tuple)) and sources and all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p) for p in sources):
        sources = np.asarray(sources, dtype=float)  # [(lon, lat), ...]
    if isinstance(sources, (gpd.GeoSeries, gpd.GeoDataFrame)) or (
            isinstance(sources, np.ndarray) and sources.dtype.kind in "fi"):
        cells = _point_cells(model, sources, crs)
        bad = (cells < 0) | ~model.inside.ravel()[np.maximum(cells, 0)]
        if bad.any():
            raise AccessError(f"{int(bad.sum())} source point(s) lie outside the study region's grid "
                              f"(first: #{int(np.flatnonzero(bad)[0])}); give points inside the region")
        return cells + model.n_nodes
    ids = [str(s) for s in sources]
    index = model.network.place_index if model.network is not None else pd.Series(dtype=int)
    unknown = [s for s in ids if s not in index.index]
    if unknown:
        raise AccessError(f"unknown source id(s) {unknown}; use place_id, park_id or station node_id "
                          "(planned stations count only with include_planned)")
    return index[ids].to_numpy(dtype=np.int64)


def _graph(model, direction):
    if direction not in ("from", "to"):
        raise AccessError(f"direction must be 'from' or 'to', not {direction!r}")
    return model.graph if direction == "from" else model.graph_reverse


def _as_surface(model, d):
    s = d[model.n_nodes:].reshape(model.shape).copy()
    s[~np.isfinite(s) | ~model.inside] = np.nan
    return s


def time_surface(model: TravelTimeModel, sources, *, direction: str = "from", limit=None, crs=4326) -> np.ndarray:
    """Minutes between the nearest of ``sources`` and every cell; ``NaN`` where none is finite.

    Parameters
    ----------
    model : TravelTimeModel
    sources : list of str, GeoSeries, or (N, 2) array
        Ids of places, parks or stations, or points (array in ``crs``, lon/lat by default).
    direction : {"from", "to"}
        ``"from"``: time from the sources to each cell; ``"to"``: from each cell to
        the nearest source (the reverse graph; equal on a network without one-way edges).
    limit : float, optional
        Stop at this many minutes (cells beyond are ``NaN``).
    crs : CRS-like or None
        CRS of an array of points; ``None`` = the grid's own CRS.
    """
    nodes = _source_nodes(model, sources, crs)
    return _as_surface(model, multi_source_times(_graph(model, direction), nodes, limit=limit))


def times_at(model: TravelTimeModel, surface: np.ndarray, points, *, crs=4326) -> np.ndarray:
    """The surface's value at each point (the cell it lies in); ``NaN`` off the grid.

    ``points``: a GeoSeries (any CRS) or an (N, 2) array in ``crs`` (lon/lat by default).
    """
    cells = _point_cells(model, points, crs)
    out = np.full(cells.size, np.nan)
    ok = cells >= 0
    out[ok] = np.asarray(surface).ravel()[cells[ok]]
    return out


def times_between(model: TravelTimeModel, sources, targets, *, direction: str = "from") -> np.ndarray:
    """Minutes from each source id to each target id, shape (sources, targets); ``NaN`` unreachable.

    With ``direction="to"``: minutes from each *target* to each source (still indexed
    [source, target]).  One Dijkstra per source on the whole graph, so the value for a
    target equals the source's surface sampled at the target's cell.
    """
    src = _source_nodes(model, sources)
    dst = _source_nodes(model, targets)
    out = np.empty((src.size, dst.size))
    g = _graph(model, direction)
    for k in range(0, src.size, _CHUNK):
        out[k:k + _CHUNK] = np.atleast_2d(dijkstra(g, directed=True, indices=src[k:k + _CHUNK]))[:, dst]
    out[~np.isfinite(out)] = np.nan
    return out


def od_matrix(model: TravelTimeModel, ids) -> pd.DataFrame:
    """Origin-destination minutes among place/park/station ids (rows: from, columns: to)."""
    ids = [str(i) for i in ids]
    return pd.DataFrame(times_between(model, ids, ids), index=ids, columns=ids)


def isochrone_polygons(model: TravelTimeModel, surface: np.ndarray, minutes=None) -> gpd.GeoDataFrame:
    """Contours of a surface: for each threshold T the cells with a time <= T, as one (multi)polygon.

    Polygonised on the equal-area grid (:func:`rasterio.features.shapes`), densified to
    the cell size and reprojected to WGS-84.  Nested by construction.

    Returns
    -------
    GeoDataFrame
        ``minutes``, ``cells``, ``area_km2_grid`` (cells x cell area), ``area_km2``
        (ellipsoid; equal to ``area_km2_grid`` up to the projection's rounding), ``geometry``.
    """
    minutes = sorted(float(m) for m in (model.settings.access.minutes if minutes is None else minutes))
    cell_km2 = (model.grid.resolution / 1000.0) ** 2
    rows = []
    for m in minutes:
        mask = np.isfinite(surface) & (surface <= m)
        parts = [shape(g) for g, _ in shapes(mask.astype("uint8"), mask=mask, transform=model.grid.transform)]
        poly = shapely.union_all(parts) if parts else shapely.Polygon()
        rows.append({"minutes": m, "cells": int(mask.sum()), "area_km2_grid": mask.sum() * cell_km2,
                     "geometry": shapely.segmentize(poly, model.grid.resolution)})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=EQUAL_AREA_CRS).to_crs(4326)
    out["area_km2"] = geodesic_area_km2(out.geometry.values)
    return out[["minutes", "cells", "area_km2_grid", "area_km2", "geometry"]]


def isochrones(model: TravelTimeModel, origins, minutes=None, *, names=None, surfaces=None) -> gpd.GeoDataFrame:
    """Isochrones of each origin id: contours of its surface (the cells that reach it within T).

    ``surfaces`` may hold precomputed ``direction="to"`` surfaces by origin id.
    """
    minutes = model.settings.access.minutes if minutes is None else minutes
    frames = []
    for o in origins:
        s = (surfaces or {}).get(o)
        if s is None:
            s = time_surface(model, [o], direction="to", limit=max(minutes))
        iso = isochrone_polygons(model, s, minutes)
        iso.insert(0, "origin_name", (names or {}).get(o, o))
        iso.insert(0, "origin", o)
        frames.append(iso)
    cols = ["origin", "origin_name", "minutes", "cells", "area_km2_grid", "area_km2", "geometry"]
    if not frames:
        return gpd.GeoDataFrame(columns=cols, geometry="geometry", crs=4326)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)


def county_statistics(model: TravelTimeModel, surface: np.ndarray, boundaries: gpd.GeoDataFrame) -> pd.DataFrame:
    """Zonal statistics of a surface per county, with the ``access.circles`` thresholds."""
    return zonal_time_stats(surface, model.grid, boundaries, thresholds=model.settings.access.circles,
                            active=model.inside)


# ---------------------------------------------------------------- the whole run
@dataclass
class AccessResult:
    """Everything :func:`accessibility` computes, all from one :class:`TravelTimeModel`."""

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
    model: TravelTimeModel = field(repr=False, default=None)


def _names(layers):
    names = {}
    for kind, col in (("places", "place_id"), ("parks", "park_id"), ("nodes", "node_id")):
        g = layers.get(kind)
        if g is not None and len(g):
            names.update(dict(zip(g[col].astype(str), g["name_zh"])))
    return names


def _nearest(rows_min: np.ndarray, labels):
    """Per row the smallest finite value and its label (ties: the first label, labels sorted by id)."""
    if rows_min.shape[1] == 0:
        return np.full(rows_min.shape[0], np.nan), np.full(rows_min.shape[0], "", dtype=object)
    filled = np.where(np.isnan(rows_min), np.inf, rows_min)
    arg = np.argmin(filled, axis=1)
    best = filled[np.arange(len(filled)), arg]
    lab = np.asarray(labels, dtype=object)[arg]
    return np.where(np.isinf(best), np.nan, best), np.where(np.isinf(best), "", lab)


def _per_target(model, targets, ids):
    """Surfaces ``direction="to"`` of each target (dict) and (ids x targets) minutes to each."""
    surfaces, cols = {}, []
    id_nodes = _source_nodes(model, ids)
    for t in targets:
        d = multi_source_times(model.graph_reverse, _source_nodes(model, [t]))
        surfaces[t] = _as_surface(model, d)
        cols.append(d[id_nodes])
    m = np.column_stack(cols) if cols else np.empty((len(ids), 0))
    m[~np.isfinite(m)] = np.nan
    return surfaces, m


def _targets(layers, net, include_planned):
    places = layers["places"]
    cores = sorted(places.loc[places["kind"] == "city_core", "place_id"].astype(str))
    nodes = layers.get("nodes")
    hsr = []
    if nodes is not None and len(nodes):
        st = in_service(nodes[nodes["kind"] == "hsr_station"], include_planned=include_planned)
        hsr = sorted(i for i in st["node_id"].astype(str) if i in net.place_index.index)
    return cores, hsr


def _nearest_table(model, ids, kinds, names, cores, hsr):
    core_s, to_cores = _per_target(model, cores, ids)
    hsr_s, to_hsr = _per_target(model, hsr, ids)
    net = model.network
    exp_nodes = np.flatnonzero((np.asarray(net.kind) == "road") & (np.asarray(net.node_cls) == "expressway"))
    if exp_nodes.size:
        d = multi_source_times(model.graph_reverse, exp_nodes)[_source_nodes(model, ids)]
        to_exp = np.where(np.isfinite(d), d, np.nan)
    else:
        to_exp = np.full(len(ids), np.nan)
    t_core, core_lab = _nearest(to_cores, [names.get(c, c) for c in cores])
    t_hsr, hsr_lab = _nearest(to_hsr, [names.get(h, h) for h in hsr])
    table = pd.DataFrame({
        "id": ids, "name_zh": [names.get(i, i) for i in ids], "kind": kinds,
        "nearest_core": core_lab, "to_core_min": np.round(t_core, 1),
        "nearest_hsr_station": hsr_lab, "to_hsr_station_min": np.round(t_hsr, 1),
        "to_expressway_min": np.round(to_exp, 1)})
    table["reachable"] = table["to_core_min"].notna()
    return table, core_s, hsr_s


def _min_surface(model, surfaces: dict):
    if not surfaces:
        return np.full(model.shape, np.nan)
    with np.errstate(invalid="ignore"):
        stack = np.stack(list(surfaces.values()))
        out = np.where(np.isnan(stack).all(axis=0), np.nan, np.nanmin(np.where(np.isnan(stack), np.inf, stack), axis=0))
    return out


def _twin_city(model, road_model, od, cores, time_cores, counties):
    twin = []
    if len(cores) == 2:
        by_road = od_matrix(road_model, cores).loc[cores[0], cores[1]]
        twin.append({"indicator": "core_to_core_fastest_min", "value": round(float(od.loc[cores[0], cores[1]]), 1)})
        twin.append({"indicator": "core_to_core_road_min", "value": round(float(by_road), 1)})
    cell_km2 = (model.grid.resolution / 1000.0) ** 2
    for th in model.settings.access.circles:
        t = f"{float(th):g}"
        pop = counties[f"population_{t}min"].sum(min_count=1)
        within = np.isfinite(time_cores) & (time_cores <= th)
        twin.append({"indicator": f"area_km2_within_{t}min_of_a_core", "value": round(float(within.sum() * cell_km2), 1)})
        twin.append({"indicator": f"area_share_within_{t}min_of_a_core",
                     "value": round(float(counties[f"area_km2_{t}min"].sum() / counties["area_km2_grid"].sum()), 4)})
        twin.append({"indicator": f"population_within_{t}min_of_a_core (counties with census data, uniform-density assumption)",
                     "value": round(float(pop), 0) if pd.notna(pop) else np.nan})
    return pd.DataFrame(twin)


def _metadata(settings: Settings, include_planned: bool) -> pd.DataFrame:
    a = settings.access
    meta = pd.DataFrame(settings.speeds.as_table(), columns=["assumption", "value", "unit"])
    extra = pd.DataFrame([
        ("raster_resolution", a.resolution_m, "m (regional equal-area grid)"),
        ("model", "network times continued over the friction surface; exits joined to their cells", ""),
        ("raster_rail", "not burnt in; entered and left at stations only", ""),
        ("raster_expressway", "not burnt in; entered and left at network exits only", ""),
        ("raster_roads", "other roads burnt in at their speed (design/max speed x factor where given)", ""),
        ("maxspeed_factor", settings.network.maxspeed_factor if settings.network.use_maxspeed else "off", ""),
        ("slope_penalty", f"Tobler factor exp(-{a.tobler_a:g}(|s|+{a.tobler_b:g}))/exp(-{a.tobler_a:g}*{a.tobler_b:g}) "
                          "on off-road speed, from the DEM", ""),
        ("neighbours", "8 (octile distance: up to 8.2 % longer than straight between the axes)", ""),
        ("isochrones", "contours of the time-to-origin surface (cells <= T)", "min"),
        ("isochrone_minutes", ",".join(f"{m:g}" for m in a.minutes), "min"),
        ("circles", ",".join(f"{m:g}" for m in a.circles), "min"),
        ("include_planned", include_planned, ""),
    ], columns=["assumption", "value", "unit"])
    return pd.concat([meta, extra], ignore_index=True)


def _od_ids(layers, net):
    places = layers["places"]
    cores = sorted(places.loc[places["kind"] == "city_core", "place_id"].astype(str))
    seats = sorted(places.loc[places["kind"] == "county_seat", "place_id"].astype(str))
    parks = layers.get("parks")
    park_ids = sorted(parks["park_id"].astype(str)) if parks is not None and len(parks) else []
    ids = cores + seats + park_ids
    kinds = ["city_core"] * len(cores) + ["county_seat"] * len(seats) + ["park"] * len(park_ids)
    keep = [i in net.place_index.index for i in ids]
    return [i for i, k in zip(ids, keep) if k], [k for k, ok in zip(kinds, keep) if ok]


def _with_aliases(settings, resolution, minutes):
    over = {}
    if resolution is not None:
        over["access.resolution_m"] = float(resolution)
    if minutes is not None:
        over["access.minutes"] = tuple(float(m) for m in minutes)
    return settings.override(**over) if over else settings


def accessibility(layers: dict, *, dem_path=None, settings: Settings = DEFAULT, include_planned: bool = False,
                  extra_corridors=None, origins=(), resolution=None, minutes=None) -> AccessResult:
    """Run the travel-time model once and read every accessibility output off it.

    Parameters
    ----------
    layers : dict
        ``boundaries``, ``places``, ``corridors``; ``nodes`` and ``parks`` when present.
    dem_path : path-like, optional
        DEM for the slope factor.
    settings : Settings
        Speeds, ``access.resolution_m``, ``access.minutes`` (isochrones),
        ``access.circles`` (county statistics), Tobler and network settings.
    include_planned : bool
        Count planned corridors (scenario).
    extra_corridors : GeoDataFrame, optional
        Scenario corridors that always count.
    origins : sequence of str
        Extra isochrone origins (place, park or station ids) besides the cores.
    resolution, minutes : optional
        Shorthands for ``access.resolution_m`` and ``access.minutes``.

    Returns
    -------
    AccessResult

    Examples
    --------
    >>> import tempfile
    >>> from twinstar_gis.data.dataset import build_dataset, load_dataset
    >>> ds = load_dataset(build_dataset(tempfile.mkdtemp())[0])
    >>> now = accessibility(ds.layers, dem_path=ds.dem_path, resolution=4000)
    >>> planned = accessibility(ds.layers, dem_path=ds.dem_path, resolution=4000, include_planned=True)
    >>> t0 = now.twin_city.set_index("indicator")["value"]["core_to_core_fastest_min"]
    >>> t1 = planned.twin_city.set_index("indicator")["value"]["core_to_core_fastest_min"]
    >>> bool(t1 < t0 - 60)  # the planned link saves more than an hour between the cores
    True
    """
    settings = _with_aliases(settings, resolution, minutes)
    t0 = time.perf_counter()
    kw = dict(dem_path=dem_path, settings=settings, include_planned=include_planned, extra_corridors=extra_corridors)
    model = build_model(layers, **kw)
    net = model.network
    names = _names(layers)
    ids, kinds = _od_ids(layers, net)
    od = od_matrix(model, ids)
    cores, hsr = _targets(layers, net, include_planned)
    to_nearest, core_s, hsr_s = _nearest_table(model, ids, kinds, names, cores, hsr)
    time_cores, time_hsr = _min_surface(model, core_s), _min_surface(model, hsr_s)
    counties = county_statistics(model, time_cores, layers["boundaries"])
    iso_origins = cores + [str(o) for o in origins if str(o) not in set(cores)]
    iso = isochrones(model, iso_origins, names=names, surfaces=core_s)
    road_net = _build_network(layers, settings, include_planned=include_planned, extra_corridors=extra_corridors,
                              modes=("road",))
    road_model = model_from_raster(model.speed_kmh, model.grid, inside=model.inside, network=road_net, settings=settings)
    twin = _twin_city(model, road_model, od, cores, time_cores, counties)
    log.info("accessibility: %d origins, %d isochrone origins (%.1f s)", len(ids), len(iso_origins), time.perf_counter() - t0)
    return AccessResult(od=od, to_nearest=to_nearest, isochrones=iso, time_to_cores=time_cores, time_to_hsr=time_hsr,
                        grid=model.grid, counties=counties, twin_city=twin, metadata=_metadata(settings, include_planned),
                        network=net, model=model)


def compare_scenarios(base: AccessResult, scen: AccessResult, boundaries: gpd.GeoDataFrame):
    """Changes from ``base`` to ``scen``: per county, per park, and a county layer for maps."""
    cols = [c for c in base.counties.columns
            if c in ("mean_min", "median_min") or c.startswith(("area_share_", "population_")) and c.endswith("min")
            and not c.startswith("population_share_")]
    c = base.counties[["adcode", "name_zh", "name_en"] + cols].merge(
        scen.counties[["adcode"] + cols], on="adcode", suffixes=("_base", "_scenario"))
    for col in cols:
        c[f"{col}_change"] = c[f"{col}_scenario"] - c[f"{col}_base"]
    n = base.to_nearest.merge(scen.to_nearest[["id", "to_core_min", "to_hsr_station_min"]], on="id",
                              suffixes=("_base", "_scenario"))
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
