"""The one travel-time model: the network, and the land joined to it where a traveller gets on or off.

Every accessibility output of the tool -- the OD matrix, nearest core / station /
expressway, the travel-time rasters, the county statistics, the 1-/2-hour
circles and the isochrone polygons -- is read off this one model, so a map's
outline and a table's number cannot disagree by more than one cell.

The model
---------
* **The network** (:func:`twinstar_gis.model.network.build_network`) carries every trip on a
  road or a line: directions, bridges, tunnels, layers, access rules, turn restrictions,
  rail boarded at stations, places / parks / stations linked to it.
* **The land** (:func:`twinstar_gis.model.surface.friction_surface`) carries only movement off
  the network: cells of the study area's equal-area grid (``access.resolution_m``),
  8-connected, at the land speed (``speeds.off_road`` x Tobler's slope factor, or the
  county's local-road speed with ``access.land_model = "local_roads"``).  No road is burnt
  into it.
* **Joins.**  A cell whose centre lies within ``access.join_m`` (default: one cell) of a
  *land-access* edge (a road other than expressway and ramp, not a bridge or tunnel, not rail;
  :attr:`Network.edges` ``land``) is joined to the nearest point of the nearest such edge,
  at the cell's own pace over the straight distance, and the edge is "split" there: the join
  reaches the edge's ends along the edge, in the directions the edge allows, through every
  state of the network that may drive it (turn restrictions and destination zones included).
  The cell of a linked place, park or station is also joined through that point (the
  distance from the point to the cell centre at the cell's pace).
* **One land leg at the far end.**  A surface *from* sources runs the network first and then
  the land (network -> join -> land): the land never leads back into the network.  A surface
  *to* targets is its transpose (land -> join -> network).  So between two network points
  (linked places, parks, stations) the model *is* the network: OD between them is the
  network's time exactly, and never faster (tested).  A source is a place, park or station
  (its network node and its own cell), or a bare point, attached to the network like a place
  (the nearest land-access edge within ``speeds.max_link_km``, at ``speeds.off_network``) plus
  its own cell.  A point farther than that from every land-access edge is unlinked: it
  reaches the network over the land first (land -> join -> network -> join -> land).
* **Scenarios only add.**  A model built with planned corridors or a scenario file carries the
  base network intact plus the scenario's corridors, links and joins, tagged
  (:func:`model_variant` takes them out again): one build serves the base, the scenario and
  the road-only comparison.  :func:`build_union_model` generalises this to several
  alternatives: every corridor, link and join carries the label of the one alternative it
  belongs to, and :func:`derive_model` gives each alternative as a build of it alone would
  (a cell joins the nearest base road or its own alternative's, never another's).

Times are multi-source Dijkstra: :func:`scipy.sparse.csgraph.dijkstra` on the network, and a
search of the implicit 8-neighbour land grid (:func:`twinstar_gis.model.gridsearch.grid_times`).  A *surface* is the cells' times, shape ``(H, W)``, ``NaN`` where no finite
time exists (outside the region).  Maps, rasters, isochrones and the county and circle
statistics are read off surfaces (cell counts).  Tables of places, parks and stations use the
time at the feature's own network node (its cell for an unlinked one).

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
>>> from twinstar_gis.model.network import network_od_matrix
>>> bool(od.loc["SEAT_150402", "CORE_150400"] == network_od_matrix(model.network, ["SEAT_150402", "CORE_150400"]).iloc[0, 1])
True
>>> s = time_surface(model, ["CORE_150400"], direction="to")
>>> iso = isochrone_polygons(model, s, [60])
>>> bool(abs(iso["area_km2"].iloc[0] - iso["cells"].iloc[0] * 16) < 16)  # ellipsoid vs cells x 16 km2
True
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from rasterio.features import rasterize, shapes
from scipy.ndimage import binary_dilation
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import shape

from ..data.crs import geodesic_area_km2
from ..data.schema import in_service
from ..errors import AccessError
from ..settings import DEFAULT, Settings
from .landuse import land_speed, local_road_density, population_grid
from .network import build_network, collapse_states, network_crs, network_variant, network_with_speeds, states_of
from .gridsearch import grid_times
from .surface import Grid, friction_surface, inside_cells, make_grid, multi_source_times, zonal_time_stats

__all__ = [
    "EXPRESSWAY_ACCESS",
    "AccessResult",
    "TravelTimeModel",
    "accessibility",
    "build_model",
    "build_models",
    "build_union_model",
    "derive_model",
    "compare_scenarios",
    "county_statistics",
    "coverage",
    "isochrone_polygons",
    "isochrones",
    "model_from_raster",
    "land_search",
    "model_with_land",
    "model_with_speeds",
    "model_variant",
    "od_matrix",
    "time_surface",
    "times_at",
    "times_between",
]

log = logging.getLogger(__name__)
_CHUNK = 8  # sources per Dijkstra call when a full row per source is kept
#: Target name of the network's expressway access points (:attr:`Network.expressway_access`).
EXPRESSWAY_ACCESS = "expressway_access"


@dataclass(frozen=True)
class TravelTimeModel:
    """The network joined to the land (see the module docstring).

    Attributes
    ----------
    network : Network or None
        The routable network (``None`` for a land-only model).
    grid : Grid
        The equal-area grid of the land.
    speed_kmh : numpy.ndarray
        ``(H, W)`` land speed of every cell.
    inside : numpy.ndarray
        ``(H, W)`` cells that can be crossed (centre in the region, or holding a place, park or station).
    settings : Settings
    cells : numpy.ndarray
        Flat (row-major) grid index of every inside cell, ascending (32-bit on grids below 2**31 cells);
        a cell's position here is its compact number (``joins``, ``point_joins``, egress arcs).  The
        land itself is searched on the grid (:func:`land_search`).
    joins : pandas.DataFrame
        Land joins: ``cell`` (compact), ``edge`` (row of ``network.edges``), ``t`` (fraction from the
        edge's ``u``), ``m`` (cell centre to the edge, metres), ``minutes`` (that at the cell's pace),
        ``scenario``.
    point_joins : pandas.DataFrame
        ``node`` (a place, park or station), ``cell``, ``minutes``: a point's own cell.
    egress_from, egress_to : tuple of numpy.ndarray
        ``(state, cell, minutes)``: network -> cell (surfaces from sources) and, transposed,
        cell -> network (surfaces to targets).
    linked : numpy.ndarray
        Physical nodes with at least one arc in this model's network.
    """

    network: object
    grid: Grid
    speed_kmh: np.ndarray
    inside: np.ndarray
    settings: Settings
    cells: np.ndarray = field(repr=False, default=None)
    joins: pd.DataFrame = field(repr=False, default=None)
    point_joins: pd.DataFrame = field(repr=False, default=None)
    egress_from: tuple = field(repr=False, default=None)
    egress_to: tuple = field(repr=False, default=None)
    linked: np.ndarray = field(repr=False, default=None)

    @property
    def n_nodes(self) -> int:
        return 0 if self.network is None else int(self.network.n)

    @property
    def shape(self) -> tuple:
        return self.inside.shape

    @functools.cached_property
    def _land_edges(self):
        """Projected land-access edges present in this model's network, and their STRtree."""
        net = self.network
        e = net.edges
        present = np.zeros(len(e), bool)
        present[net.arcs["edge"].to_numpy()] = True
        rows = np.flatnonzero(e["land"].to_numpy(bool) & present & (e["km"].to_numpy() > 0))
        geoms = _project(np.asarray(e.geometry.values)[rows], self.grid.crs)
        return rows, geoms, shapely.STRtree(geoms)


# ---------------------------------------------------------------- building
def _project(geoms, crs) -> np.ndarray:
    """lon/lat geometries to ``crs`` in one vectorised call."""
    tr = Transformer.from_crs(4326, crs, always_xy=True)
    return shapely.transform(np.asarray(geoms, dtype=object), lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _cells_of(grid: Grid, lon, lat):
    """Flat cell index of lon/lat points (-1 off the grid) and their distance (m) from the cell centre."""
    x, y = Transformer.from_crs(4326, grid.crs, always_xy=True).transform(np.asarray(lon, float), np.asarray(lat, float))
    r, c = grid.rowcol(x, y)
    ok = (r >= 0) & (r < grid.height) & (c >= 0) & (c < grid.width)
    cx, cy = grid.xy(r, c)
    return np.where(ok, r * grid.width + c, -1), np.hypot(x - cx, y - cy)


def _join_distance(settings, grid) -> float:
    return float(settings.access.join_m) if settings.access.join_m > 0 else float(grid.resolution)


def _land_joins(net, grid, speed, cells, settings) -> pd.DataFrame:
    """Each cell within the join distance of a land-access edge: its nearest base edge, and per
    alternative (edge ``label`` k > 0) that alternative's nearest scenario edge where that is nearer
    still (``scenario``, ``label`` k): never an edge of another alternative.

    In a union of several alternatives a base road split differently by two alternatives has an
    edge per alternative (``label`` k, not ``scenario``): where such an edge is the nearest base edge
    of alternative k, k joins it instead of the nearest edge every alternative has (label 0), which
    the others keep (one row each)."""
    cols = {"cell": np.zeros(0, np.int64), "edge": np.zeros(0, np.int64), "t": np.zeros(0), "m": np.zeros(0),
            "minutes": np.zeros(0), "scenario": np.zeros(0, bool), "label": np.zeros(0, np.int64)}
    e = net.edges
    rows = np.flatnonzero(e["land"].to_numpy(bool) & (e["km"].to_numpy() > 0))
    if not len(rows) or not len(cells):
        return pd.DataFrame(cols)
    geoms = _project(np.asarray(e.geometry.values)[rows], grid.crs)
    join_m = _join_distance(settings, grid)
    mask = rasterize([(g, 1) for g in geoms], out_shape=(grid.height, grid.width), transform=grid.transform, fill=0,
                     all_touched=True, dtype="uint8").astype(bool)
    mask = binary_dilation(mask, iterations=int(np.ceil(join_m / grid.resolution)))
    cid = np.full(grid.height * grid.width, -1, np.int64)
    cid[cells] = np.arange(len(cells))
    flat = np.flatnonzero(mask.ravel() & (cid >= 0))
    x, y = grid.xy(flat // grid.width, flat % grid.width)
    pts = shapely.points(x, y)
    lab = (e["label"] if "label" in e.columns else e["scenario"]).to_numpy(np.int64)[rows]
    scen = e["scenario"].to_numpy(bool)[rows]

    def nearest(idx, than):
        a, b = shapely.STRtree(geoms[idx]).query_nearest(pts, max_distance=join_m, all_matches=False)
        d = shapely.distance(geoms[idx[b]], pts[a])
        keep = d < than[a]
        return a[keep], idx[b[keep]], d[keep]

    none = np.full(len(flat), np.inf)
    found = [(*nearest(np.flatnonzero(lab == 0), none), 0)]
    d0 = none.copy()
    d0[found[0][0]] = found[0][2]
    moved = []
    for k in np.unique(lab[lab > 0]):
        dk = d0.copy()
        idx = np.flatnonzero((lab == k) & ~scen)  # this alternative's own cut of a base road
        if len(idx):
            a, b, d = nearest(idx, d0)
            found.append((a, b, d, k))
            dk[a] = d
            moved.append(pd.DataFrame({"a": a, "k": k}))
        idx = np.flatnonzero((lab == k) & scen)
        if len(idx):
            found.append((*nearest(idx, dk), k))
    frames = []
    for a, b, d, k in found:
        frames.append(pd.DataFrame({"cell": cid[flat[a]], "edge": rows[b], "a": a, "m": d,
                                    "t": shapely.line_locate_point(geoms[b], pts[a], normalized=True),
                                    "minutes": d / 1000.0 / speed.ravel()[flat[a]] * 60.0, "scenario": scen[b],
                                    "label": np.full(len(a), k, np.int64)}))
    out = pd.concat(frames, ignore_index=True)
    if moved:  # a base join, in the alternatives that have no nearer cut of their own
        moved = pd.concat(moved).groupby("a")["k"].agg(set)
        base = out["label"].eq(0).to_numpy() & out["a"].isin(moved.index).to_numpy()
        alts = range(1, int(net.stats.get("alternatives", lab.max())) + 1)
        copies = [out[base & ~out["a"].map(lambda i, k=k: k in moved.get(i, ())).to_numpy()].assign(label=k)
                  for k in alts]
        out = pd.concat([out[~base]] + copies, ignore_index=True)
    return out.drop(columns="a")[list(cols)]


def _point_joins(net, grid, speed, cells) -> pd.DataFrame:
    """Every place, park and station and its own cell: the distance to the cell centre at the cell's pace."""
    nodes = net.place_index.to_numpy(np.int64)
    nodes = nodes[np.isin(net.kind[nodes], ["place", "station"])]
    flat, off = _cells_of(grid, net.lon[nodes], net.lat[nodes])
    cid = np.full(grid.height * grid.width, -1, np.int64)
    cid[cells] = np.arange(len(cells))
    ok = flat >= 0
    ok[ok] = cid[flat[ok]] >= 0
    return pd.DataFrame({"node": nodes[ok], "cell": cid[flat[ok]],
                         "minutes": np.maximum(off[ok] / 1000.0 / speed.ravel()[flat[ok]] * 60.0, 1e-9)})


def _egress(net, joins, point_joins, linked):
    """(state, cell, minutes) network -> cell, and the transposed cell -> network arcs, of this network's arcs."""
    a = net.arcs[["tail", "head", "minutes", "edge", "forward"]]
    j = joins.merge(a, on="edge", suffixes=("_join", ""))
    t, w, fwd = j["t"].to_numpy(), j["minutes"].to_numpy(), j["forward"].to_numpy(bool)
    along_from = np.where(fwd, t, 1.0 - t) * w  # from the arc's tail to the split point
    eg_from = [j["tail"].to_numpy(), j["cell"].to_numpy(), along_from + j["minutes_join"].to_numpy()]
    start = (j["tail"].to_numpy() == net.entry[net.state_node[j["tail"].to_numpy()]])
    eg_to = [j["head"].to_numpy()[start], j["cell"].to_numpy()[start],
             ((w - along_from) + j["minutes_join"].to_numpy())[start]]
    p = point_joins[linked[point_joins["node"].to_numpy()]]
    out = []
    for eg, states in ((eg_from, p["node"].to_numpy()), (eg_to, net.entry[p["node"].to_numpy()])):
        out.append(tuple(np.concatenate([x, y]) for x, y in zip(eg, (states, p["cell"].to_numpy(), p["minutes"].to_numpy()))))
    return out[0], out[1]


def _linked(net) -> np.ndarray:
    deg = np.zeros(net.n_states, bool)
    deg[net.arcs["tail"].to_numpy()] = True
    deg[net.arcs["head"].to_numpy()] = True
    out = deg[:net.n].copy()
    np.logical_or.at(out, net.state_node[net.n:], deg[net.n:])
    return out


def model_variant(model: TravelTimeModel, *, scenario: bool = True, rail: bool = True,
                  label: int | None = None) -> TravelTimeModel:
    """The same model without its scenario corridors, links and joins (``scenario=False``: the base
    model exactly), with one alternative's only (``label=k``: alternative ``k`` of a union build,
    :func:`build_union_model`) and/or without rail (``rail=False``: by road only).

    Node and state numbering, the grid and the land are unchanged.

    Parameters
    ----------
    model : TravelTimeModel
    scenario, rail : bool
        Keep scenario / rail arcs.
    label : int, optional
        Keep the base's arcs and joins (label 0) and alternative ``label``'s (``scenario`` is then ignored).

    Returns
    -------
    TravelTimeModel
    """
    if model.network is None or (scenario and rail and label is None):
        return model
    net = network_variant(model.network, scenario=scenario, rail=rail, label=label)
    j = model.joins
    if label is not None:
        joins = j[j["label"].isin([0, label]).to_numpy()]
    else:
        joins = j if scenario else j[~j["scenario"].to_numpy(bool)]
    linked = _linked(net)
    eg_from, eg_to = _egress(net, joins, model.point_joins, linked)
    return dataclasses.replace(model, network=net, joins=joins, egress_from=eg_from, egress_to=eg_to, linked=linked)


def model_from_raster(speed_kmh: np.ndarray, grid: Grid, *, inside=None, network=None,
                      settings: Settings = DEFAULT) -> TravelTimeModel:
    """A model from a land speed raster and (optionally) a network; :func:`build_model` ends here.

    Parameters
    ----------
    speed_kmh : (H, W) array
        Land speed, km/h.
    grid : Grid
    inside : (H, W) bool array, optional
        Cells that can be crossed (default all).
    network : Network, optional
    settings : Settings

    Returns
    -------
    TravelTimeModel

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
    inside = np.ones(speed_kmh.shape, bool) if inside is None else np.asarray(inside, bool)
    cells = inside_cells(inside, settings=settings)
    empty = pd.DataFrame({"node": np.zeros(0, np.int64), "cell": np.zeros(0, np.int64), "minutes": np.zeros(0)})
    if network is None:
        z = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        return TravelTimeModel(None, grid, speed_kmh, inside, settings, cells, None, empty, z, z, np.zeros(0, bool))
    joins = _land_joins(network, grid, speed_kmh, cells, settings)
    points = _point_joins(network, grid, speed_kmh, cells)
    linked = _linked(network)
    eg_from, eg_to = _egress(network, joins, points, linked)
    return TravelTimeModel(network, grid, speed_kmh, inside, settings, cells, joins, points, eg_from, eg_to, linked)


def model_with_land(model: TravelTimeModel, speed_kmh: np.ndarray) -> TravelTimeModel:
    """The same model with another land speed on the same cells: the land search, the join and point-join
    minutes and the egress arcs follow the new speeds; the network and where each cell joins it are kept
    (they do not depend on speed).  The result equals :func:`model_from_raster` of ``speed_kmh`` with the
    model's ``inside`` and network, without the nearest-edge search (the land-speed sensitivity cases).

    Parameters
    ----------
    model : TravelTimeModel
    speed_kmh : (H, W) array
        Land speed, km/h, on ``model.grid``.

    Returns
    -------
    TravelTimeModel

    Examples
    --------
    >>> import numpy as np, rasterio
    >>> from twinstar_gis.model.surface import Grid
    >>> g = Grid(rasterio.transform.from_origin(0, 5000, 1000, 1000), 5, 5, None, 1000.0)
    >>> m = model_with_land(model_from_raster(np.full((5, 5), 15.0), g), np.full((5, 5), 30.0))
    >>> float(time_surface(m, np.array([[2500.0, 2500.0]]), crs=None)[2, 3])
    2.0
    """
    if model.network is None:
        return dataclasses.replace(model, speed_kmh=speed_kmh)
    j, cells = model.joins, model.cells
    joins = j.assign(minutes=j["m"].to_numpy() / 1000.0 / speed_kmh.ravel()[cells[j["cell"].to_numpy()]] * 60.0)
    points = _point_joins(model.network, model.grid, speed_kmh, cells)
    eg_from, eg_to = _egress(model.network, joins, points, model.linked)
    return dataclasses.replace(model, speed_kmh=speed_kmh, joins=joins, point_joins=points,
                               egress_from=eg_from, egress_to=eg_to)


def _region(layers):
    b = layers["boundaries"]
    return b[b["level"] == "prefecture"] if "level" in b.columns and (b["level"] == "prefecture").any() else b


def build_model(layers: dict, *, dem_path=None, settings: Settings = DEFAULT, include_planned: bool = False,
                extra_corridors=None, modes=("road", "rail"), network=None) -> TravelTimeModel:
    """Build the network, the land on the study area's grid and the joins between them.

    Parameters
    ----------
    layers : dict
        ``boundaries``, ``corridors``; ``places``, ``parks``, ``nodes``, ``turn_restrictions`` when present.
    dem_path : path-like, optional
        DEM for the slope factor (flat without).
    settings : Settings
        Speeds, ``access.resolution_m``, ``access.join_m``, ``access.land_model``, Tobler constants,
        network settings.
    include_planned : bool
        Count planned corridors and stations (tagged as scenario: :func:`model_variant` removes them).
    extra_corridors : GeoDataFrame, optional
        Scenario corridors that always count (tagged as scenario).
    modes : tuple
        ``("road",)`` for a road-only model.
    network : Network, optional
        A network already built from these layers with these arguments.

    Returns
    -------
    TravelTimeModel
    """
    t0 = time.perf_counter()
    crs = network.crs if network is not None else network_crs(layers)
    net = network if network is not None else build_network(
        layers, settings=settings, include_planned=include_planned, extra_corridors=extra_corridors, modes=modes, crs=crs)
    grid = make_grid(_region(layers), settings.access.resolution_m, crs=crs)
    base_speed, _ = land_speed(layers, grid, net, settings)
    speed, _, inside = friction_surface(layers, grid, dem_path=dem_path, settings=settings, land_speed=base_speed)
    pts = net.place_index.to_numpy(dtype=np.int64)
    pts = pts[np.isin(net.kind[pts], ["place", "station"])]  # not the interchanges
    flat, _ = _cells_of(grid, net.lon[pts], net.lat[pts])
    inside.ravel()[flat[flat >= 0]] = True  # the cell of every place, park and station can be crossed
    model = model_from_raster(speed, grid, inside=inside, network=net, settings=settings)
    log.info("travel-time model: %d network nodes (%d states), %d x %d cells of %g m (%d inside), "
             "%d joins (%.1f s)", model.n_nodes, net.n_states, grid.height, grid.width, grid.resolution, len(model.cells),
             len(model.joins), time.perf_counter() - t0)
    return model


def build_models(layers: dict, *, dem_path=None, settings: Settings = DEFAULT, include_planned: bool = False,
                 extra_corridors=None) -> dict:
    """The base and the scenario model from one build: ``{"base": ..., "scenario": ...}``.

    The scenario model is the base network intact plus the scenario's corridors, links and
    joins; the base model is :func:`model_variant` of it without them (``scenario`` is the base
    model itself when there is no scenario).

    Parameters
    ----------
    layers, dem_path, settings, include_planned, extra_corridors
        As :func:`build_model`.

    Returns
    -------
    dict
    """
    full = build_model(layers, dem_path=dem_path, settings=settings, include_planned=include_planned,
                       extra_corridors=extra_corridors)
    base = model_variant(full, scenario=False)
    has_scenario = include_planned or (extra_corridors is not None and len(extra_corridors))
    return {"base": base, "scenario": full if has_scenario else base}


def model_with_speeds(model: TravelTimeModel, settings: Settings) -> TravelTimeModel:
    """The same model at the class speeds of ``settings`` (:func:`~twinstar_gis.model.network.network_with_speeds`):
    the network's lines at their new class speeds, the egress arcs along them re-timed; the land, the joins
    and where everything joins are unchanged (class speeds decide none of them).  Equals
    :func:`build_model` with ``settings`` where ``settings`` differs from the model's only in class speeds.

    Parameters
    ----------
    model : TravelTimeModel
    settings : Settings
        The result carries these settings.

    Returns
    -------
    TravelTimeModel
    """
    if model.network is None:
        return dataclasses.replace(model, settings=settings)
    net = network_with_speeds(model.network, settings)
    eg_from, eg_to = _egress(net, model.joins, model.point_joins, model.linked)
    return dataclasses.replace(model, network=net, settings=settings, egress_from=eg_from, egress_to=eg_to)


def build_union_model(layers: dict, alternatives, *, dem_path=None, settings: Settings = DEFAULT) -> TravelTimeModel:
    """One model for several alternatives: the base, every alternative's corridors, links and joins,
    each labelled with the one alternative it belongs to; ``model_variant(model, label=k)`` is
    alternative ``k`` (from 1) as :func:`build_model` would build it alone.

    The alternatives must share everything the build reads besides their corridors (settings,
    layers, DEM; :func:`twinstar_gis.pipeline.compare.build_key`), and the land must not depend on the
    network (``access.land_model = "off_road"``: with ``"local_roads"`` the land speed follows each
    network's road km, so such alternatives are built one by one).

    Parameters
    ----------
    layers : dict
        As :func:`build_model`.
    alternatives : sequence of (bool, GeoDataFrame or None)
        ``(include_planned, extra_corridors)`` of alternative 1, 2, ...
    dem_path : path-like, optional
    settings : Settings

    Returns
    -------
    TravelTimeModel
        The union (query :func:`model_variant` of it, not the union itself).
    """
    crs = network_crs(layers)
    net = build_network(layers, settings=settings, alternatives=list(alternatives), crs=crs)
    return build_model(layers, dem_path=dem_path, settings=settings, network=net)


def derive_model(union: TravelTimeModel, label: int, layers: dict, *, dem_path=None) -> TravelTimeModel:
    """Alternative ``label`` of a :func:`build_union_model` build: :func:`model_variant` of it and, with
    ``access.land_model = "local_roads"`` (the land speed follows the network's road km per county),
    the land speed of that alternative's own network (:func:`model_with_land`).

    Parameters
    ----------
    union : TravelTimeModel
    label : int
        The alternative (from 1).
    layers : dict
        The layers of the build (``boundaries`` for the local-road density).
    dem_path : path-like, optional
        The DEM of the build.

    Returns
    -------
    TravelTimeModel
    """
    model = model_variant(union, label=label)
    if model.settings.access.land_model != "local_roads":
        return model
    net = model.network
    e = net.edges
    mine = dataclasses.replace(net, edges=e[e["label"].isin([0, label]).to_numpy()])
    base_speed, _ = land_speed(layers, model.grid, mine, model.settings)
    speed, _, _ = friction_surface(layers, model.grid, dem_path=dem_path, settings=model.settings, land_speed=base_speed)
    return model_with_land(model, speed)


# ---------------------------------------------------------------- querying
def _points_xy(points, crs, grid_crs):
    """Grid x, y of points: a GeoSeries/GeoDataFrame (its CRS) or an (N, 2) array in ``crs``."""
    if isinstance(points, (gpd.GeoSeries, gpd.GeoDataFrame)):
        geo = points.geometry.to_crs(grid_crs)
        return geo.x.to_numpy(), geo.y.to_numpy()
    xy = np.asarray(points, dtype=float).reshape(-1, 2)
    if crs is None:  # already in the grid's CRS
        return xy[:, 0], xy[:, 1]
    return Transformer.from_crs(crs, grid_crs, always_xy=True).transform(xy[:, 0], xy[:, 1])


def _point_cells(model, points, crs):
    """Flat cell of each point (-1 off the grid), and the grid x, y."""
    x, y = _points_xy(points, crs, model.grid.crs)
    r, c = model.grid.rowcol(x, y)
    ok = (r >= 0) & (r < model.grid.height) & (c >= 0) & (c < model.grid.width)
    return np.where(ok, r * model.grid.width + c, -1), np.asarray(x, float), np.asarray(y, float)


@dataclass
class _Seeds:
    """Where a query starts: network states, land cells, and (unlinked points) cells of a first land leg."""

    states: list = field(default_factory=list)
    t_states: list = field(default_factory=list)
    cells: list = field(default_factory=list)
    t_cells: list = field(default_factory=list)
    land1: list = field(default_factory=list)
    t_land1: list = field(default_factory=list)

    def add(self, kind, where, minutes):
        getattr(self, kind).append(np.atleast_1d(np.asarray(where, np.int64)))
        getattr(self, "t_" + kind).append(np.broadcast_to(np.asarray(minutes, float), np.atleast_1d(where).shape))

    def get(self, kind):
        w = getattr(self, kind)
        if not w:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(w), np.concatenate(getattr(self, "t_" + kind))


def _id_seeds(model, nodes, direction, seeds):
    """Seeds of places, parks and stations (their node and their own cell)."""
    net = model.network
    pj = model.point_joins.set_index("node")
    for p in nodes:
        cell = pj.loc[[p]] if p in pj.index else None
        if model.linked[p]:
            if direction == "from":
                seeds.add("states", net.entry[p], 0.0)
            else:
                seeds.add("states", states_of(net, [p])[0], 0.0)
        if cell is not None:
            seeds.add("cells", cell["cell"].to_numpy(), cell["minutes"].to_numpy())
            if not model.linked[p]:
                seeds.add("land1", cell["cell"].to_numpy(), cell["minutes"].to_numpy())


def _bare_point_seeds(model, x, y, cells_flat, direction, seeds):
    """A bare point: attached like a place to the nearest land-access edge within max_link_km, plus its cell."""
    s = model.settings
    cid = np.searchsorted(model.cells, cells_flat)  # compact numbers (the caller checked the cells are inside)
    pace = 60.0 / model.speed_kmh.ravel()[cells_flat] / 1000.0
    cx, cy = model.grid.xy(cells_flat // model.grid.width, cells_flat % model.grid.width)
    own = np.hypot(x - cx, y - cy) * pace
    linked = np.zeros(len(x), bool)
    if model.network is not None and len(model._land_edges[0]):
        rows, geoms, tree = model._land_edges
        pts = shapely.points(x, y)
        a, b = tree.query_nearest(pts, max_distance=s.speeds.max_link_km * 1000, all_matches=False)
        d = shapely.distance(geoms[b], pts[a])
        t = shapely.line_locate_point(geoms[b], pts[a], normalized=True)
        link = d / 1000.0 / s.speeds.off_network * 60.0
        arcs = model.network.arcs
        net = model.network
        j = pd.DataFrame({"edge": rows[b], "t": t, "link": link}).merge(arcs, on="edge")
        along_from = np.where(j["forward"], j["t"], 1 - j["t"]) * j["minutes"]
        if direction == "from":  # start at the split point: drive on to the arc's head
            st = j["tail"].to_numpy() == net.entry[net.state_node[j["tail"].to_numpy()]]
            seeds.add("states", j["head"].to_numpy()[st], (j["minutes"] - along_from + j["link"]).to_numpy()[st])
        else:  # end at the split point: arrive by the arc's tail
            seeds.add("states", j["tail"].to_numpy(), (along_from + j["link"]).to_numpy())
        linked[a] = True
    seeds.add("cells", cid, own)
    seeds.add("land1", cid[~linked], own[~linked])


def _seeds(model, sources, direction, crs=4326) -> _Seeds:
    """Seeds of sources: ids of places/parks/stations, or points (attached like places)."""
    if direction not in ("from", "to"):
        raise AccessError(f"direction must be 'from' or 'to', not {direction!r}")
    if isinstance(sources, (list, tuple)) and sources and all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p) for p in sources):
        sources = np.asarray(sources, dtype=float)  # [(lon, lat), ...]
    seeds = _Seeds()
    if isinstance(sources, (gpd.GeoSeries, gpd.GeoDataFrame)) or (
            isinstance(sources, np.ndarray) and sources.dtype.kind in "fi"):
        flat, x, y = _point_cells(model, sources, crs)
        bad = (flat < 0) | ~model.inside.ravel()[np.maximum(flat, 0)]
        if bad.any():
            raise AccessError(f"{int(bad.sum())} source point(s) lie outside the study region's grid "
                              f"(first: #{int(np.flatnonzero(bad)[0])}); give points inside the region")
        _bare_point_seeds(model, x, y, flat, direction, seeds)
        return seeds
    _id_seeds(model, _nodes_of(model, sources), direction, seeds)
    return seeds


def _nodes_of(model, ids) -> np.ndarray:
    ids = [str(s) for s in ids]
    index = model.network.place_index if model.network is not None else pd.Series(dtype=int)
    unknown = [s for s in ids if s not in index.index]
    if unknown:
        raise AccessError(f"unknown source id(s) {unknown}; use place_id, park_id or station node_id "
                          "(planned stations count only with include_planned)")
    return index[ids].to_numpy(dtype=np.int64)


def _solve(model, seeds: _Seeds, direction, *, limit=None, land=True):
    """Times at every network state and (``land``) every cell from the seeds: [land ->] network -> land."""
    net = model.network
    states, t_states = seeds.get("states")
    l1, t_l1 = seeds.get("land1")
    if net is not None and len(l1):  # unlinked points: a first land leg, then the joins into the network
        d1 = land_search(model, l1, t_l1, limit=limit)
        st, c, w = model.egress_to if direction == "from" else model.egress_from
        d1 = d1[model.cells[c]]
        ok = np.isfinite(d1)
        states = np.concatenate([states, st[ok]])
        t_states = np.concatenate([t_states, d1[ok] + w[ok]])
    tn = None
    if net is not None:
        g = net.graph if direction == "from" else net.graph_reverse
        tn = multi_source_times(g, states, t_states, limit=limit) if len(states) else np.full(net.n_states, np.inf)
    if not land:
        return tn, None
    cells, t_cells = seeds.get("cells")
    if tn is not None:
        st, c, w = model.egress_from if direction == "from" else model.egress_to
        v = tn[st] + w
        ok = np.isfinite(v)
        cells, t_cells = np.concatenate([cells, c[ok]]), np.concatenate([t_cells, v[ok]])
    return tn, land_search(model, cells, t_cells, limit=limit)


def land_search(model: TravelTimeModel, cells, start_minutes, *, limit=None) -> np.ndarray:
    """Minutes over the model's land from the nearest of ``cells`` (each with its start time) to every grid cell.

    The implicit 8-neighbour search of the grid (:func:`twinstar_gis.model.gridsearch.grid_times`)
    on the model's land speed; several starts on one cell keep the smallest.

    Parameters
    ----------
    model : TravelTimeModel
    cells : array of int
        Seed cells, compact numbering (positions in ``model.cells``).
    start_minutes : array of float
        Start time of each seed; NaN or ``inf`` leaves it out.
    limit : float, optional
        Leave cells beyond this many minutes unreached.

    Returns
    -------
    numpy.ndarray
        ``(H * W,)`` minutes, flat (row-major), ``inf`` where unreached or outside.

    Examples
    --------
    >>> import numpy as np, rasterio
    >>> from twinstar_gis.model.surface import Grid
    >>> g = Grid(rasterio.transform.from_origin(0, 3000, 1000, 1000), 3, 3, None, 1000.0)
    >>> m = model_from_raster(np.full((3, 3), 15.0), g)
    >>> land_search(m, [4], [1.0])[[1, 0]].round(4).tolist()  # 1 + 4 min across, 1 + 4 x sqrt(2) diagonally
    [5.0, 6.6569]
    """
    flat = model.cells[np.asarray(cells, np.int64)]
    return grid_times(model.speed_kmh, model.inside, model.grid.resolution, flat, start_minutes, limit=limit)


def _as_surface(model, tc, *, inplace=False):
    """The flat times of a land search as an (H, W) surface, NaN where unreached (``inplace``: in ``tc`` itself)."""
    s = tc if inplace else tc.copy()
    s[np.isinf(s)] = np.nan
    return s.reshape(model.shape)


def time_surface(model: TravelTimeModel, sources, *, direction: str = "from", limit=None, crs=4326) -> np.ndarray:
    """Minutes between the nearest of ``sources`` and every cell; ``NaN`` where none is finite.

    Parameters
    ----------
    model : TravelTimeModel
    sources : list of str, GeoSeries, or (N, 2) array
        Ids of places, parks or stations, or points (array in ``crs``, lon/lat by default;
        attached to the network like a place, plus their own cell).
    direction : {"from", "to"}
        ``"from"``: time from the sources to each cell; ``"to"``: from each cell to
        the nearest source (the transposed model).
    limit : float, optional
        Stop at this many minutes (cells beyond are ``NaN``).
    crs : CRS-like or None
        CRS of an array of points; ``None`` = the grid's own CRS.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` minutes.
    """
    seeds = _seeds(model, sources, direction, crs)
    return _as_surface(model, _solve(model, seeds, direction, limit=limit)[1], inplace=True)


def expressway_surface(model: TravelTimeModel, *, limit=None):
    """Minutes from every cell to the nearest expressway access point (:attr:`Network.expressway_access`),
    and from every physical node (``(H, W)`` array, ``(n,)`` array); NaN without expressways.

    Parameters
    ----------
    model : TravelTimeModel
    limit : float, optional

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
    """
    net = model.network
    acc = net.expressway_access if net is not None else np.zeros(0, np.int64)
    if not len(acc):
        return np.full(model.shape, np.nan), np.full(model.n_nodes, np.nan)
    seeds = _Seeds()
    seeds.add("states", states_of(net, acc)[0], 0.0)
    tn, tc = _solve(model, seeds, "to", limit=limit)
    at = tn[net.entry]
    return _as_surface(model, tc, inplace=True), np.where(np.isfinite(at), at, np.nan)


def times_at(model: TravelTimeModel, surface: np.ndarray, points, *, crs=4326) -> np.ndarray:
    """The surface's value at each point (the cell it lies in); ``NaN`` off the grid.

    Parameters
    ----------
    model : TravelTimeModel
    surface : (H, W) array
    points : GeoSeries (any CRS) or (N, 2) array in ``crs`` (lon/lat by default)
    crs : CRS-like or None

    Returns
    -------
    numpy.ndarray
    """
    cells = _point_cells(model, points, crs)[0]
    out = np.full(cells.size, np.nan)
    ok = cells >= 0
    out[ok] = np.asarray(surface).ravel()[cells[ok]]
    return out


def _read(model, tn, tc, nodes, direction):
    """Times at places/parks/stations: the network's at linked ones, the cell's (+ the walk to the point) else."""
    net = model.network
    out = np.full(len(nodes), np.nan)
    link = model.linked[nodes]
    if tn is not None and link.any():
        v = collapse_states(net, tn)[nodes[link]] if direction == "from" else tn[net.entry[nodes[link]]]
        out[link] = v
    if tc is not None and (~link).any():
        pj = model.point_joins.drop_duplicates("node").set_index("node")
        for k in np.flatnonzero(~link):
            if nodes[k] in pj.index:
                out[k] = tc[model.cells[pj.loc[nodes[k], "cell"]]] + pj.loc[nodes[k], "minutes"]
    out[~np.isfinite(out)] = np.nan
    return out


def times_between(model: TravelTimeModel, sources, targets, *, direction: str = "from") -> np.ndarray:
    """Minutes from each source id to each target id, shape (sources, targets); ``NaN`` unreachable.

    With ``direction="to"``: minutes from each *target* to each source (still indexed
    [source, target]).  Between linked points this is the network's time exactly.

    Parameters
    ----------
    model : TravelTimeModel
    sources, targets : sequence of str
    direction : {"from", "to"}

    Returns
    -------
    numpy.ndarray
    """
    src, dst = _nodes_of(model, sources), _nodes_of(model, targets)
    out = np.full((src.size, dst.size), np.nan)
    net = model.network
    need_land = not model.linked[dst].all()
    fast = model.linked[src] & (direction == "from") & (not need_land)
    if fast.any():
        idx = np.flatnonzero(fast)
        for k in range(0, idx.size, _CHUNK):
            rows = idx[k:k + _CHUNK]
            t = np.atleast_2d(dijkstra(net.graph, directed=True, indices=net.entry[src[rows]]))
            out[rows] = collapse_states(net, t)[:, dst]
    for i in np.flatnonzero(~fast):
        seeds = _Seeds()
        _id_seeds(model, [src[i]], direction, seeds)
        tn, tc = _solve(model, seeds, direction, land=need_land or not model.linked[src[i]])
        out[i] = _read(model, tn, tc, dst, direction)
    out[src[:, None] == dst[None, :]] = 0.0
    out[~np.isfinite(out)] = np.nan
    return out


def od_matrix(model: TravelTimeModel, ids) -> pd.DataFrame:
    """Origin-destination minutes among place/park/station ids (rows: from, columns: to).

    Parameters
    ----------
    model : TravelTimeModel
    ids : sequence of str

    Returns
    -------
    pandas.DataFrame
    """
    ids = [str(i) for i in ids]
    return pd.DataFrame(times_between(model, ids, ids), index=ids, columns=ids)


def isochrone_polygons(model: TravelTimeModel, surface: np.ndarray, minutes=None) -> gpd.GeoDataFrame:
    """Outline the cells of a surface within each threshold: for each T the cells with a time <= T, as one (multi)polygon.

    Polygonised on the equal-area grid (:func:`rasterio.features.shapes`), densified to
    the cell size and reprojected to WGS-84.  Nested by construction.

    Parameters
    ----------
    model : TravelTimeModel
        The model the surface was computed on (its grid: transform, CRS, cell size; its
        ``settings.access.minutes`` when ``minutes`` is not given).
    surface : numpy.ndarray
        ``(H, W)`` minutes on ``model.grid`` (e.g. :func:`time_surface`); NaN where no time
        exists.
    minutes : sequence of float, optional
        Thresholds, minutes (default ``settings.access.minutes``: 30, 60, 90, 120).

    Returns
    -------
    GeoDataFrame
        One row per threshold, in increasing order, EPSG:4326: ``minutes``, ``cells``
        (number of cells with a time <= ``minutes``), ``area_km2_grid`` (cells x cell area,
        km2), ``area_km2`` (the polygon's area on the ellipsoid, km2; equal to
        ``area_km2_grid`` up to the projection's rounding) and ``geometry`` (Polygon or
        MultiPolygon; empty when no cell is within the threshold).

    Examples
    --------
    A 5 x 5 grid of 1 km cells at 15 km/h (4 min per cell, 4 x sqrt(2) = 5.66 min per
    diagonal step) centred on the regional Albers projection's origin, timed from its
    centre: 5 cells lie within 4 min, 9 within 6 min.

    >>> import rasterio
    >>> from twinstar_gis.data.crs import EQUAL_AREA_CRS
    >>> from twinstar_gis.model.surface import Grid
    >>> grid = Grid(rasterio.transform.from_origin(-2500, 2500, 1000, 1000), 5, 5,
    ...             rasterio.crs.CRS.from_wkt(EQUAL_AREA_CRS.to_wkt()), 1000.0)
    >>> model = model_from_raster(np.full((5, 5), 15.0), grid)
    >>> surface = time_surface(model, np.array([[0.0, 0.0]]), crs=None)
    >>> iso = isochrone_polygons(model, surface, [6, 4])
    >>> iso["minutes"].tolist(), iso["cells"].tolist(), iso["area_km2"].round(3).tolist(), iso.crs.to_epsg()
    ([4.0, 6.0], [5, 9], [5.0, 9.0], 4326)
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
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=model.grid.crs).to_crs(4326)
    out["area_km2"] = geodesic_area_km2(out.geometry.values)
    return out[["minutes", "cells", "area_km2_grid", "area_km2", "geometry"]]


def isochrones(model: TravelTimeModel, origins, minutes=None, *, names=None, surfaces=None) -> gpd.GeoDataFrame:
    """Compute the isochrones of each origin id: contours of its surface (the cells that reach it within T).

    Each origin's surface is :func:`time_surface` with ``direction="to"`` (minutes from
    every cell *to* the origin), cut at ``max(minutes)``, unless ``surfaces`` holds it;
    the contours are :func:`isochrone_polygons`.

    Parameters
    ----------
    model : TravelTimeModel
        The travel-time model.
    origins : sequence of str
        Ids of places, parks or stations.
    minutes : sequence of float, optional
        Thresholds, minutes (default ``settings.access.minutes``: 30, 60, 90, 120).
    names : dict, optional
        Display name by origin id (default: the id).
    surfaces : dict, optional
        Precomputed ``direction="to"`` surfaces (``(H, W)`` minutes) by origin id; the
        others are computed.

    Returns
    -------
    GeoDataFrame
        One row per origin and threshold, EPSG:4326: ``origin``, ``origin_name``, then the
        columns of :func:`isochrone_polygons` (``minutes``, ``cells``, ``area_km2_grid``,
        ``area_km2``, ``geometry``); no rows for no origins.

    Raises
    ------
    AccessError
        If an origin id whose surface is not given is not a place, park or station of the
        model's network.

    Examples
    --------
    With the surface of the example of :func:`isochrone_polygons` given for origin ``"X"``:

    >>> import rasterio
    >>> from twinstar_gis.data.crs import EQUAL_AREA_CRS
    >>> from twinstar_gis.model.surface import Grid
    >>> grid = Grid(rasterio.transform.from_origin(-2500, 2500, 1000, 1000), 5, 5,
    ...             rasterio.crs.CRS.from_wkt(EQUAL_AREA_CRS.to_wkt()), 1000.0)
    >>> model = model_from_raster(np.full((5, 5), 15.0), grid)
    >>> surface = time_surface(model, np.array([[0.0, 0.0]]), crs=None)
    >>> iso = isochrones(model, ["X"], [4, 6], names={"X": "centre"}, surfaces={"X": surface})
    >>> iso[["origin", "origin_name", "minutes", "cells"]].values.tolist()
    [['X', 'centre', 4.0, 5], ['X', 'centre', 6.0, 9]]
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
    if not frames:  # no origin: an empty table with the columns' types (numbers stay numbers)
        empty = {c: pd.Series(dtype=object if c in ("origin", "origin_name") else "int64" if c == "cells" else float)
                 for c in cols if c != "geometry"}
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)




# ---------------------------------------------------------------- the whole run


def county_statistics(model: TravelTimeModel, surface: np.ndarray, boundaries: gpd.GeoDataFrame, *,
                      population=None, population_method=None, at_seats=None) -> pd.DataFrame:
    """Zonal statistics of a surface per county, with the ``access.circles`` thresholds.

    Parameters
    ----------
    model : TravelTimeModel
    surface : (H, W) array
    boundaries : GeoDataFrame
    population : numpy.ndarray, optional
        ``(H, W)`` people per cell (:func:`twinstar_gis.model.landuse.population_grid`); default:
        each county's population spread evenly over its cells.
    population_method : pandas.Series, optional
        The method per county adcode.
    at_seats : pandas.DataFrame, optional
        Urban populations counted at their seat's own time (``adcode``, ``people``, ``minutes``).

    Returns
    -------
    pandas.DataFrame
    """
    return zonal_time_stats(surface, model.grid, boundaries, thresholds=model.settings.access.circles,
                            active=model.inside, population=population,
                            population_method=population_method, at_seats=at_seats)


# ---------------------------------------------------------------- the whole run
@dataclass
class AccessResult:
    """Everything :func:`accessibility` computes, all from one :class:`TravelTimeModel`.

    ``coverage`` (indicator, value, unit, note) says how much of the study area and which places
    the network covers; ``sensitivity`` (or ``None``) the local-road speed sensitivity run
    (``access.land_model = "local_roads"``).
    """

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
    coverage: pd.DataFrame = field(default=None)
    sensitivity: pd.DataFrame = field(default=None)


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




def _per_target(model, targets, nodes, *, limit=None):
    """Surfaces ``direction="to"`` of each target (dict) and (nodes x targets) minutes to each."""
    surfaces, cols = {}, []
    for t in targets:
        seeds = _seeds(model, [t], "to")
        tn, tc = _solve(model, seeds, "to", limit=limit)
        surfaces[t] = _as_surface(model, tc)
        cols.append(_read(model, tn, tc, nodes, "to"))
    m = np.column_stack(cols) if cols else np.empty((len(nodes), 0))
    m[~np.isfinite(m)] = np.nan
    return surfaces, m


def _cores(layers):
    places = layers.get("places")
    if places is None or not len(places):
        return []
    return sorted(places.loc[places["kind"] == "city_core", "place_id"].astype(str))


def _targets(layers, net, include_planned):
    cores = [c for c in _cores(layers) if c in net.place_index.index]
    nodes = layers.get("nodes")
    hsr = []
    if nodes is not None and len(nodes):
        st = in_service(nodes[nodes["kind"] == "hsr_station"], include_planned=include_planned)
        hsr = sorted(i for i in st["node_id"].astype(str) if i in net.place_index.index)
    return cores, hsr


def _cities(layers) -> dict:
    """Prefecture adcode of every place, park and station (from its county), for "the other city's core"."""
    b = layers.get("boundaries")
    parent = {}
    if b is not None and "parent_adcode" in b.columns:
        parent = dict(zip(b["adcode"].astype(str), b["parent_adcode"].astype(str)))
    out = {}
    for kind, col in (("places", "place_id"), ("parks", "park_id"), ("nodes", "node_id")):
        g = layers.get(kind)
        if g is None or not len(g) or "county_adcode" not in g.columns:
            continue
        for i, c in zip(g[col].astype(str), g["county_adcode"]):
            if pd.notna(c) and str(c).strip():
                c = str(c).split(".")[0]
                out[i] = parent.get(c, c[:4] + "00")
    return out


def _nearest_table(model, ids, kinds, names, cores, hsr, cities):
    nodes = model.network.place_index[ids].to_numpy(np.int64) if ids else np.zeros(0, np.int64)
    core_s, to_cores = _per_target(model, cores, nodes)
    hsr_s, to_hsr = _per_target(model, hsr, nodes)
    exp_surface, exp_nodes = expressway_surface(model)
    to_exp = _read_nodes(model, exp_nodes, exp_surface, nodes)
    t_core, core_lab = _nearest(to_cores, [names.get(c, c) for c in cores])
    t_hsr, hsr_lab = _nearest(to_hsr, [names.get(h, h) for h in hsr])
    table = pd.DataFrame({
        "id": ids, "name_zh": [names.get(i, i) for i in ids], "kind": kinds,
        "city_adcode": [cities.get(i, "") for i in ids],
        "nearest_core": core_lab, "to_core_min": np.round(t_core, 1),
        "nearest_hsr_station": hsr_lab, "to_hsr_station_min": np.round(t_hsr, 1),
        "to_expressway_min": np.round(to_exp, 1)})
    table["reachable"] = table["to_core_min"].notna()
    return table, core_s, hsr_s


def _read_nodes(model, node_times, surface, nodes):
    """Node times at linked places, the cell's (+ the walk) at unlinked ones."""
    out = np.array(node_times[nodes], dtype=float) if len(node_times) else np.full(len(nodes), np.nan)
    pj = model.point_joins.drop_duplicates("node").set_index("node")
    for k in np.flatnonzero(~model.linked[nodes]):
        if nodes[k] in pj.index:
            out[k] = surface.ravel()[model.cells[pj.loc[nodes[k], "cell"]]] + pj.loc[nodes[k], "minutes"]
    return out


def _min_surface(model, surfaces: dict):
    if not surfaces:
        return np.full(model.shape, np.nan)
    with np.errstate(invalid="ignore"):
        stack = np.stack(list(surfaces.values()))
        out = np.where(np.isnan(stack).all(axis=0), np.nan, np.nanmin(np.where(np.isnan(stack), np.inf, stack), axis=0))
    return out




def _twin_city(model, road_model, od, cores, time_cores, counties):
    """Core <-> core (fastest and by road; NaN unless there are exactly two cores) and the area and
    people within each circle of a core."""
    pair = len(cores) == 2
    fastest = float(od.loc[cores[0], cores[1]]) if pair else np.nan
    by_road = float(od_matrix(road_model, cores).loc[cores[0], cores[1]]) if pair else np.nan
    twin = [{"indicator": "core_to_core_fastest_min", "value": round(fastest, 1)},
            {"indicator": "core_to_core_road_min", "value": round(by_road, 1)}]
    cell_km2 = (model.grid.resolution / 1000.0) ** 2
    method = counties["population_method"].iloc[0] if len(counties) and "population_method" in counties else ""
    has = len(counties) > 0  # a study area without county-level units: shares of its inside cells, no population
    for th in model.settings.access.circles:
        t = f"{float(th):g}"
        pop = counties[f"population_{t}min"].sum(min_count=1) if has else np.nan
        within = np.isfinite(time_cores) & (time_cores <= th)
        twin.append({"indicator": f"area_km2_within_{t}min_of_a_core", "value": round(float(within.sum() * cell_km2), 1)})
        total = counties["area_km2_grid"].sum() if has else float(model.inside.sum() * cell_km2)
        part = counties[f"area_km2_{t}min"].sum() if has else float((within & model.inside).sum() * cell_km2)
        twin.append({"indicator": f"area_share_within_{t}min_of_a_core",
                     "value": round(float(part / total), 4) if total else np.nan})
        twin.append({"indicator": f"population_within_{t}min_of_a_core (counties with census data, {method})",
                     "value": round(float(pop), 0) if pd.notna(pop) else np.nan})
    return pd.DataFrame(twin)


def coverage(model: TravelTimeModel, layers: dict) -> pd.DataFrame:
    """How much of the study area and which places the network covers.

    Parameters
    ----------
    model : TravelTimeModel
    layers : dict
        ``places`` (cores and seats), ``boundaries``.

    Returns
    -------
    pandas.DataFrame
        ``indicator``, ``value``, ``unit``, ``note``: study area, network km by mode, land-access
        km per 100 km², share of the area within the join distance, places / cores linked and the
        ids of unlinked ones, the longest core link.
    """
    net = model.network
    cell_km2 = (model.grid.resolution / 1000.0) ** 2
    area = len(model.cells) * cell_km2
    e = net.edges
    present = np.zeros(len(e), bool)
    present[net.arcs["edge"].to_numpy()] = True
    e = e[present]
    road_km = float(e.loc[e["mode"] == "road", "km"].sum())
    land_km = float(e.loc[e["land"].to_numpy(bool), "km"].sum())
    rail_km = float(e.loc[e["mode"] == "rail", "km"].sum())
    joined = np.unique(model.joins["cell"].to_numpy()).size
    rows = [("study_area_km2", round(area, 1), "km2", "inside cells x cell area"),
            ("road_km", round(road_km, 1), "km", "every road in the network"),
            ("rail_km", round(rail_km, 1), "km", ""),
            ("land_access_road_km_per_100km2", round(100 * land_km / area, 2) if area else np.nan, "km/100 km2",
             "roads the land joins (not expressways, ramps, bridges, tunnels)"),
            ("area_share_within_join_distance", round(joined / len(model.cells), 4) if len(model.cells) else np.nan,
             "share", f"cells within {_join_distance(model.settings, model.grid):g} m of a land-access road")]
    places = layers.get("places")
    ids = places["place_id"].astype(str) if places is not None and len(places) else pd.Series(dtype=str)
    kinds = places["kind"].astype(str).to_numpy() if places is not None and len(places) else np.array([], str)
    known = ids.isin(net.place_index.index).to_numpy()
    linked = np.zeros(len(ids), bool)
    linked[known] = model.linked[net.place_index[ids[known]].to_numpy()]
    core = kinds == "city_core"
    rows += [("places_linked", int(linked.sum()), "places", f"of {len(ids)}; unlinked: {', '.join(ids[~linked][:12]) or 'none'}"),
             ("cores_linked", int((linked & core).sum()), "cores",
              f"of {int(core.sum())}; unlinked: {', '.join(ids[core & ~linked]) or 'none'}")]
    lk = net.link_km.reindex(ids[core]).dropna()
    if len(lk):
        rows.append(("longest_core_link_km", round(float(lk.max()), 2), "km", f"{lk.idxmax()} to its road (straight)"))
    return pd.DataFrame(rows, columns=["indicator", "value", "unit", "note"])


def _check_coverage(cov: pd.DataFrame, settings: Settings):
    """Warn loudly (log) or refuse (``access.unlinked = "error"``) when a core or most places are unlinked."""
    c = cov.set_index("indicator")
    msgs = []
    core_note = c.loc["cores_linked", "note"]
    n_cores = int(core_note.split(";")[0].split()[-1])
    if int(c.loc["cores_linked", "value"]) < n_cores:
        msgs.append(f"city cores not linked to the network ({core_note}): their times run over the land only")
    n_places = int(c.loc["places_linked", "note"].split(";")[0].split()[-1])
    if n_places and int(c.loc["places_linked", "value"]) < n_places / 2:
        msgs.append(f"most places are not linked to the network ({c.loc['places_linked', 'value']} of {n_places})")
    if not msgs:
        return
    text = ("network coverage: " + "; ".join(msgs) + ". The network (a partial extract?) does not cover the study "
            "area: check the corridors layer, or raise speeds.max_link_km")
    if settings.access.unlinked == "error":
        raise AccessError(text + " (access.unlinked = \"warn\" runs anyway)")
    log.warning("%s", text)


def _metadata(settings: Settings, include_planned: bool, grid=None) -> pd.DataFrame:
    a = settings.access
    meta = pd.DataFrame(settings.speeds.as_table(), columns=["assumption", "value", "unit"])
    extra = pd.DataFrame([
        ("raster_resolution", a.resolution_m, "m (study area equal-area grid)"),
        ("grid_crs", getattr(grid.crs, "to_wkt", lambda: "")().split('"')[1] if grid is not None and grid.crs else "", ""),
        ("model", "network first: the network carries every trip on a road or line; the land only movement off it", ""),
        ("land_joins", (f"cells within {a.join_m or a.resolution_m:g} m of a land-access road join its nearest point, "
                       "in the road's directions (never expressways, ramps, bridges, tunnels or rail)"), "m"),
        ("land_model", a.land_model, ""),
        ("expressways", "entered and left only through ramps, interchanges and continuations", ""),
        ("rail", "boarded and left at stations only", ""),
        ("maxspeed_factor", settings.network.maxspeed_factor if settings.network.use_maxspeed else "off", ""),
        ("slope_penalty", (f"Tobler factor exp(-{a.tobler_a:g}(|s|+{a.tobler_b:g}))/exp(-{a.tobler_a:g}*{a.tobler_b:g}) "
                          "on the land speed, from the DEM"), ""),
        ("neighbours", "8 (octile distance: up to 8.2 % longer than straight between the axes)", ""),
        ("isochrones", "contours of the time-to-origin surface (cells <= T)", "min"),
        ("isochrone_minutes", ",".join(f"{m:g}" for m in a.minutes), "min"),
        ("circles", ",".join(f"{m:g}" for m in a.circles), "min"),
        ("include_planned", include_planned, ""),
    ], columns=["assumption", "value", "unit"])
    return pd.concat([meta, extra], ignore_index=True)


def _od_ids(layers, net):
    places = layers.get("places")
    if places is None or not len(places):
        places = pd.DataFrame({"place_id": pd.Series(dtype=str), "kind": pd.Series(dtype=str)})
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
                  extra_corridors=None, origins=(), resolution=None, minutes=None, model=None) -> AccessResult:
    """Run the travel-time model once and read every accessibility output off it.

    Parameters
    ----------
    layers : dict
        ``boundaries``, ``corridors``; ``places``, ``nodes``, ``parks``, ``turn_restrictions`` when present.
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
    model : TravelTimeModel, optional
        A model already built with these arguments (:func:`build_models` gives the base and the
        scenario from one build); the road-only comparison is derived from it.

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
    if model is None:
        model = build_model(layers, dem_path=dem_path, settings=settings, include_planned=include_planned,
                            extra_corridors=extra_corridors)
    net = model.network
    cov = coverage(model, layers)
    _check_coverage(cov, settings)
    names = _names(layers)
    ids, kinds = _od_ids(layers, net)
    od = od_matrix(model, ids)
    cores, hsr = _targets(layers, net, include_planned)
    to_nearest, core_s, hsr_s = _nearest_table(model, ids, kinds, names, cores, hsr, _cities(layers))
    time_cores, time_hsr = _min_surface(model, core_s), _min_surface(model, hsr_s)
    pop, method, at_seats = population_grid(layers, model)
    # (a seat the network does not link counts as unreachable: its minutes are NaN)
    seat_min = to_nearest.set_index("id")["to_core_min"]
    at_seats = at_seats.assign(minutes=seat_min.reindex(at_seats["place_id"]).to_numpy(float))
    counties = county_statistics(model, time_cores, layers["boundaries"], population=pop, population_method=method,
                                 at_seats=at_seats)
    iso_origins = cores + [str(o) for o in origins if str(o) not in set(cores)]
    iso = isochrones(model, iso_origins, names=names, surfaces=core_s)
    twin = _twin_city(model, model_variant(model, rail=False), od, cores, time_cores, counties)
    sens = sensitivity_run(layers, model, dem_path=dem_path, cores=cores) if settings.access.land_model == "local_roads" \
        else None
    log.info("accessibility: %d origins, %d isochrone origins (%.1f s)", len(ids), len(iso_origins), time.perf_counter() - t0)
    return AccessResult(od=od, to_nearest=to_nearest, isochrones=iso, time_to_cores=time_cores, time_to_hsr=time_hsr,
                        grid=model.grid, counties=counties, twin_city=twin,
                        metadata=_metadata(settings, include_planned, model.grid), network=net, model=model,
                        coverage=cov, sensitivity=sens)


def _other_core(res, ids, cores, cities):
    """Minutes from each id to the core of the *other* city (the nearest core whose prefecture differs)."""
    out = []
    for i in ids:
        own = cities.get(i, "")
        other = [c for c in cores if own and cities.get(c, "") and cities.get(c) != own]
        out.append(float(np.nanmin(res.od.loc[i, other].to_numpy(float))) if other and
                   np.isfinite(res.od.loc[i, other].to_numpy(float)).any() else np.nan)
    return np.round(out, 1)


def compare_scenarios(base: AccessResult, scen: AccessResult, boundaries: gpd.GeoDataFrame):
    """Changes from ``base`` to ``scen``: per county, per place, and a county layer for maps.

    ``to_other_core_min_*`` is the time to the core of the *other* city (prefecture) than the
    place's own, the twin-city question; NaN for a place whose city has no other city's core.

    Parameters
    ----------
    base, scen : AccessResult
    boundaries : GeoDataFrame

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame, geopandas.GeoDataFrame)
    """
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
    cores = list(base.to_nearest.loc[base.to_nearest["kind"] == "city_core", "id"])
    cities = dict(zip(base.to_nearest["id"], base.to_nearest.get("city_adcode", pd.Series("", index=base.to_nearest.index))))
    if len(cores) >= 2:
        for label, res in (("base", base), ("scenario", scen)):
            n[f"to_other_core_min_{label}"] = _other_core(res, n["id"], cores, cities)
        n["to_other_core_min_change"] = n["to_other_core_min_scenario"] - n["to_other_core_min_base"]
    layer = boundaries[boundaries["level"] == "county"][["adcode", "geometry"]].merge(c, on="adcode")
    return c.round(4), n.round(2), gpd.GeoDataFrame(layer, geometry="geometry", crs=boundaries.crs)


def sensitivity_run(layers, model, *, dem_path=None, cores=()) -> pd.DataFrame:
    """Low / central / high local-road speed (``access.local_sensitivity``): per county and the region,
    the area and population share within each circle of a core.

    Parameters
    ----------
    layers : dict
    model : TravelTimeModel
        The central model (its network is reused; only the land changes).
    dem_path : path-like, optional
    cores : sequence of str

    Returns
    -------
    pandas.DataFrame
        ``case``, ``factor``, ``local_road_kmh``, ``adcode`` ("region" for the total), ``name_zh``,
        ``area_share_<T>min``, ``population_share_<T>min``, ``mean_min``.
    """
    s = model.settings
    rows = []
    density = local_road_density(layers["boundaries"], model.network, model.grid) \
        if s.access.land_model == "local_roads" else None  # the same for every case
    for case, f in zip(("low", "central", "high"), s.access.local_sensitivity):
        if f == 1.0:  # the central case is the model itself (same land speed, DEM, cells and network)
            m = model
        else:
            base, _ = land_speed(layers, model.grid, model.network, s, factor=f, density=density)
            speed, _, _ = friction_surface(layers, model.grid, dem_path=dem_path, settings=s, land_speed=base)
            m = model_with_land(model, speed)
        pop, method, at_seats = population_grid(layers, m)
        known = at_seats["place_id"].isin(m.network.place_index.index).to_numpy()
        at_seats = at_seats[known]
        seat_nodes = m.network.place_index[at_seats["place_id"]].to_numpy(np.int64)
        surf, to_cores = _per_target(m, list(cores), seat_nodes)
        at_seats = at_seats.assign(minutes=np.nanmin(np.where(np.isnan(to_cores), np.inf, to_cores), axis=1)
                                   if to_cores.shape[1] else np.nan)
        surface = _min_surface(m, surf)
        c = county_statistics(m, surface, layers["boundaries"], population=pop, population_method=method,
                              at_seats=at_seats)
        total = {"case": case, "factor": f, "local_road_kmh": s.access.local_road_kmh * f, "adcode": "region",
                 "name_zh": "全域", "mean_min": np.nan}
        for th in s.access.circles:
            t = f"{float(th):g}"
            if len(c):
                total[f"area_share_{t}min"] = c[f"area_km2_{t}min"].sum() / c["area_km2_grid"].sum()
                people = pd.to_numeric(c["population_2020"], errors="coerce").sum(min_count=1)  # missing stays missing
                total[f"population_share_{t}min"] = (c[f"population_{t}min"].sum(min_count=1) / people
                                                     if pd.notna(people) and people > 0 else np.nan)
            else:  # no county-level units: the study area's inside cells, no population
                total[f"area_share_{t}min"] = float((np.isfinite(surface) & (surface <= th) & m.inside).sum() / m.inside.sum())
                total[f"population_share_{t}min"] = np.nan
        if len(c):
            c = c.assign(case=case, factor=f, local_road_kmh=s.access.local_road_kmh * f)
            keep = ["case", "factor", "local_road_kmh", "adcode", "name_zh", "mean_min"] + \
                [k for k in c.columns if k.startswith(("area_share_", "population_share_"))]
            rows.append(c[keep])
        rows.append(pd.DataFrame([total]))
    return pd.concat(rows, ignore_index=True)
