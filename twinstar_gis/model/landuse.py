"""The land between the roads: local-road speeds per county and where the people live.

Local roads (``access.land_model = "local_roads"``)
---------------------------------------------------
No offline source draws the county and township roads, yet they carry most trips off the
mapped network.  A county's *unmapped* road density is

    D = (published road km of the county - modelled network road km in it) / county area   [km/km2]

(boundaries column ``road_km``; a county without it takes its prefecture's density, then the
whole region's, and ``density_source`` names the fallback).  Geometry of a line network of
density D (an isotropic Poisson line process): the mean straight distance from a point to the
nearest road is 1 / (2 D); on a road grid a trip runs 4 / pi times the straight distance (the
mean ratio of the L1 to the L2 distance over all directions).  So one land kilometre takes

    4 / pi / v_local  +  (1 / D) / (L x v_off)          hours

where the second term spreads the walks to and from the nearest local road (1 / (2 D) at each
end, at the off-road speed v_off) over a land leg of L = ``access.local_trip_km``.  The land
pace is that, never slower than true off-road travel (``speeds.off_road``); the slope factor
applies on top.  True off-road travel (``land_model = "off_road"``) is kept separate.

Population
----------
Each county's urban population (boundaries column ``population_urban_2020``, census) is
placed in the cell of its county seat (the city core for a district holding one), the rest
spread evenly over the county's cells; without that column the whole population is spread
evenly.  ``population_method`` says which, per county.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

__all__ = ["land_speed", "local_road_density", "population_grid"]

log = logging.getLogger(__name__)


def _counties(boundaries):
    if "level" in boundaries.columns and (boundaries["level"] == "county").any():
        return boundaries[boundaries["level"] == "county"].sort_values("adcode").reset_index(drop=True)
    return boundaries.reset_index(drop=True)


def _zones(counties, grid):
    """County number (1..n, 0 outside) per cell (:func:`~twinstar_gis.model.surface.county_zones`)."""
    from .surface import county_zones

    return county_zones(counties, grid)


def _modelled_km(net, counties, grid) -> np.ndarray:
    """Road km of the network per county (each edge counted in the county holding its midpoint)."""
    e = net.edges[(net.edges["mode"] == "road").to_numpy()]
    km = np.zeros(len(counties))
    if not len(e):
        return km
    mid = 0.5 * (net.lon[e["u"].to_numpy()] + net.lon[e["v"].to_numpy()]), \
        0.5 * (net.lat[e["u"].to_numpy()] + net.lat[e["v"].to_numpy()])
    import geopandas as gpd
    pts = gpd.GeoDataFrame({"km": e["km"].to_numpy()}, geometry=gpd.points_from_xy(*mid), crs=4326)
    j = gpd.sjoin(pts, counties[["geometry"]].to_crs(4326).reset_index(), predicate="within")
    np.add.at(km, j["index"].to_numpy(int), j["km"].to_numpy())
    return km


def local_road_density(boundaries, net, grid) -> pd.DataFrame:
    """Unmapped local-road density per county (km/km2) and where it came from.

    Parameters
    ----------
    boundaries : GeoDataFrame
        With ``road_km`` (published total road length, km) where known.
    net : Network
    grid : Grid

    Returns
    -------
    pandas.DataFrame
        ``adcode``, ``area_km2``, ``road_km``, ``modelled_km``, ``density``, ``density_source``.
    """
    c = _counties(boundaries)
    from ..data.crs import geodesic_area_km2
    area = geodesic_area_km2(c.to_crs(4326).geometry.values)
    mod = _modelled_km(net, c, grid)
    pub = pd.to_numeric(c["road_km"], errors="coerce").to_numpy(float) if "road_km" in c.columns else np.full(len(c), np.nan)
    dens = np.maximum(pub - mod, 0.0) / area
    source = np.where(np.isfinite(dens), "county road_km", "")
    parent = c["parent_adcode"].astype(str).to_numpy() if "parent_adcode" in c.columns else np.full(len(c), "")
    b = boundaries
    for p in np.unique(parent):  # fallback 1: the prefecture's own road_km, else its counties' mean
        sel = (parent == p) & ~np.isfinite(dens)
        if not sel.any():
            continue
        row = b[b["adcode"].astype(str) == p] if "adcode" in b.columns else b.iloc[0:0]
        known = (parent == p) & np.isfinite(dens)
        if len(row) and "road_km" in row.columns and pd.notna(row["road_km"].iloc[0]):
            d = max(float(row["road_km"].iloc[0]) - mod[parent == p].sum(), 0.0) / area[parent == p].sum()
        elif known.any():
            d = float(np.sum(dens[known] * area[known]) / area[known].sum())
        else:
            continue
        dens[sel], source[sel] = d, f"prefecture {p}"
    if (~np.isfinite(dens)).any() and np.isfinite(dens).any():  # fallback 2: the region
        ok = np.isfinite(dens)
        dens[~ok] = float(np.sum(dens[ok] * area[ok]) / area[ok].sum())
        source[~ok] = "region"
    source[~np.isfinite(dens)] = "none: off-road"
    return pd.DataFrame({"adcode": c["adcode"].astype(str).to_numpy(), "area_km2": area, "road_km": pub,
                         "modelled_km": mod, "density": dens, "density_source": source})


def land_speed(layers, grid, net, settings, *, factor: float = 1.0, density=None):
    """Base land speed per cell (km/h, before the slope factor) and the per-county table.

    ``None`` with ``access.land_model = "off_road"`` (every cell at ``speeds.off_road``).

    Parameters
    ----------
    layers : dict
        ``boundaries``.
    grid : Grid
    net : Network
    settings : Settings
    factor : float
        Multiplies ``access.local_road_kmh`` (sensitivity runs).
    density : pandas.DataFrame, optional
        :func:`local_road_density` of these boundaries and this network, when already computed (it does
        not depend on ``factor``).

    Returns
    -------
    (numpy.ndarray or None, pandas.DataFrame or None)
    """
    a = settings.access
    if a.land_model == "off_road":
        return None, None
    if a.land_model != "local_roads":
        from ..errors import SettingsError
        raise SettingsError(f"access.land_model must be 'off_road' or 'local_roads', not {a.land_model!r}")
    table = (local_road_density(layers["boundaries"], net, grid) if density is None else density).copy()
    v_off, v_loc, trip = settings.speeds.off_road, a.local_road_kmh * factor, a.local_trip_km
    with np.errstate(divide="ignore", invalid="ignore"):
        pace = 4 / np.pi / v_loc + 1.0 / (table["density"].to_numpy() * trip * v_off)  # hours per km
        speed = np.where(np.isfinite(pace) & (pace > 0), np.maximum(1.0 / pace, v_off), v_off)
    table["land_speed_kmh"] = speed
    zones = _zones(_counties(layers["boundaries"]), grid)
    out = np.full(zones.shape, v_off, float)
    inz = zones > 0
    out[inz] = speed[zones[inz] - 1]
    log.info("land model local_roads: land speed %.1f-%.1f km/h by county", speed.min(), speed.max())
    return out, table


def population_grid(layers, model):
    """People per cell outside the towns, and each county's urban population at its seat.

    The census urban population of a county lives in its seat (its city core for a district holding
    one): it is counted at the seat's own travel time (the time the OD and nearest-core tables give),
    not spread over land.  The rest of the county's population is spread evenly over its cells.  A
    county without an urban figure, or without a seat, is spread evenly as a whole.

    Parameters
    ----------
    layers : dict
        ``boundaries`` (``population_2020``, optional ``population_urban_2020``), ``places``
        (``kind``, ``county_adcode``).
    model : TravelTimeModel

    Returns
    -------
    (numpy.ndarray, pandas.Series, pandas.DataFrame)
        ``(H, W)`` people per cell (NaN outside counties with a census population); the method per
        county adcode; the urban populations placed at seats: ``adcode``, ``place_id``, ``people``.
    """
    grid = model.grid
    c = _counties(layers["boundaries"])
    zones = np.where(model.inside, _zones(c, grid), 0)
    pop = pd.to_numeric(c.get("population_2020", pd.Series(np.nan, index=c.index)), errors="coerce").to_numpy(float)
    urban = pd.to_numeric(c["population_urban_2020"], errors="coerce").to_numpy(float) \
        if "population_urban_2020" in c.columns else np.full(len(c), np.nan)
    n = np.bincount(zones.ravel(), minlength=len(c) + 1)[1:]
    seat = _seats(layers, c)
    use_urban = np.isfinite(urban) & np.isfinite(pop) & (seat != "") & (urban <= pop)
    rest = np.where(use_urban, pop - urban, pop)
    per = np.where(n > 0, rest / np.maximum(n, 1), np.nan)
    out = np.full(zones.shape, np.nan)
    inz = zones > 0
    out[inz] = per[zones[inz] - 1]
    adcodes = c["adcode"].astype(str).to_numpy()
    at_seats = pd.DataFrame({"adcode": adcodes[use_urban], "place_id": seat[use_urban], "people": urban[use_urban]})
    method = pd.Series(np.where(use_urban, "urban population at the county seat (its own time), the rest uniform over "
                                           "the county", "uniform over county area (assumption)"), index=adcodes)
    return out, method, at_seats


def _seats(layers, counties) -> np.ndarray:
    """Place id of each county's seat (its city core for a district holding one), "" if none."""
    places = layers.get("places")
    out = np.full(len(counties), "", dtype=object)
    if places is None or not len(places) or "county_adcode" not in places.columns:
        return out
    rank = places["kind"].map({"city_core": 0, "county_seat": 1})
    p = places.assign(_r=rank.to_numpy())[rank.notna().to_numpy()].sort_values("_r", kind="mergesort")
    where = dict(zip(p["county_adcode"].astype(str).str.split(".").str[0][::-1], p["place_id"].astype(str)[::-1]))
    for i, a in enumerate(counties["adcode"].astype(str)):
        out[i] = where.get(a, "")
    return out
