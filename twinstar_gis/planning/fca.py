"""Facility access for 产城融合: the two-step floating catchment area method (2SFCA).

Luo & Wang (2003): with supply S_j at facility j, demand P_k at location k,
travel time t and catchment d0,

* step 1: ``R_j = S_j / sum(P_k for k with t_kj <= d0)`` (supply per head in j's catchment);
* step 2: ``A_i = sum(R_j for j with t_ij <= d0)`` (accessibility at i).

Missing is missing: a facility without a capacity, or whose catchment holds a
demand location without a population, has an unknown ratio, and every
location that reaches it has an unknown index.  A facility with no demand in
its catchment has no ratio (NaN) either and is reported.

A planner's facility file is checked before anything is computed
(:func:`check_facilities`): at least one facility, unique ids, capacities that
are numbers >= 0 (an empty cell is missing, text, negative or infinite values are
refused), points with plausible lon/lat inside the study area.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from ..data.crs import EQUAL_AREA_CRS
from ..data.validate import ValidationReport, check_layer_region
from ..errors import PlanningError, ValidationError
from ..settings import DEFAULT, planning_settings
from . import _times

__all__ = ["accessibility_index", "facility_access", "supply_ratios", "two_step_fca", "check_facilities", "facility_ids"]

log = logging.getLogger(__name__)


def supply_ratios(supply: pd.Series, demand: pd.Series, minutes: pd.DataFrame, d0: float) -> pd.Series:
    """Step 1: R_j per facility.

    Parameters
    ----------
    supply : Series
        Capacity per facility id (NaN = unknown).
    demand : Series
        Population per demand id (NaN = unknown).
    minutes : DataFrame
        Index demand ids, columns facility ids.
    d0 : float
        Catchment, minutes.

    Returns
    -------
    Series
        ``ratio`` per facility (NaN where unknown or without demand).
    """
    within = minutes.loc[demand.index, supply.index] <= d0
    pop = within.mul(demand, axis=0)
    # a location in the catchment with unknown population makes the sum unknown
    unknown = (within & demand.isna().to_numpy()[:, None]).any(axis=0)
    denom = pop.sum(axis=0, min_count=1).where(~unknown)
    denom = denom.where(denom > 0)
    return (supply / denom).rename("ratio")


def accessibility_index(ratios: pd.Series, minutes: pd.DataFrame, d0: float) -> pd.Series:
    """Step 2: A_i = sum of R_j over facilities within ``d0`` of i (NaN if any of them has an unknown R_j).

    Parameters
    ----------
    ratios : Series
        R_j per facility.
    minutes : DataFrame
        Index locations, columns facility ids.
    d0 : float
        Catchment, minutes.

    Returns
    -------
    Series
        ``access_index`` per location.
    """
    within = minutes.loc[:, ratios.index] <= d0
    contrib = within.mul(ratios, axis=1).where(within)
    unknown = (within & ratios.isna().to_numpy()[None, :]).any(axis=1)
    a = contrib.sum(axis=1, min_count=0).where(~unknown)
    return a.rename("access_index")


def two_step_fca(supply: pd.Series, demand: pd.Series, minutes: pd.DataFrame, d0: float) -> pd.DataFrame:
    """2SFCA at the demand locations: ``ratio`` per facility is applied, ``access_index`` per location.

    Parameters
    ----------
    supply : Series
        Capacity per facility id (NaN = unknown).
    demand : Series
        Population per demand id (NaN = unknown).
    minutes : DataFrame
        Travel minutes, index demand ids, columns facility ids (NaN = unreachable).
    d0 : float
        Catchment in minutes.

    Returns
    -------
    DataFrame
        Indexed by demand id: ``access_index`` and ``facilities_within``.
    """
    if d0 <= 0:
        raise PlanningError("the 2SFCA catchment must be positive")
    r = supply_ratios(supply, demand, minutes, d0)
    a = accessibility_index(r, minutes.loc[demand.index], d0)
    n = (minutes.loc[demand.index, supply.index] <= d0).sum(axis=1)
    return pd.DataFrame({"access_index": a, "facilities_within": n})


def facility_ids(facilities) -> pd.Series:
    """The facilities' ids: the ``facility_id`` column as text, else ``F1``, ``F2``, ... in file order.

    Parameters
    ----------
    facilities : DataFrame

    Returns
    -------
    Series
    """
    if "facility_id" in facilities.columns:
        return facilities["facility_id"].astype("string").reset_index(drop=True)
    return pd.Series([f"F{i + 1}" for i in range(len(facilities))], dtype="string")


def _list(values, n=8) -> str:
    values = [str(v) for v in values]
    return ", ".join(values[:n]) + (f" … (+{len(values) - n} more)" if len(values) > n else "")


def _capacity_problems(facilities, capacity: str, ids: pd.Series, label: str) -> list[str]:
    raw = facilities[capacity].reset_index(drop=True)
    num = pd.to_numeric(raw, errors="coerce")
    text = raw.notna() & num.isna() & (raw.astype("string").str.strip() != "")
    out = []
    if text.any():
        out.append(f"{label}: capacity column {capacity!r} is not a number for {_list(ids[text])} "
                   f"(values {_list(sorted(set(raw[text].astype(str))), 5)}); give numbers, or leave the cell empty if unknown")
    bad = num.notna() & ~np.isfinite(num.astype(float))
    if bad.any():
        out.append(f"{label}: capacity {capacity!r} is infinite for {_list(ids[bad])}; give the real capacity")
    neg = num.notna() & np.isfinite(num.astype(float)) & (num < 0)
    if neg.any():
        out.append(f"{label}: capacity {capacity!r} is negative for {_list(ids[neg])} "
                   f"({_list(sorted(set(num[neg])), 5)}); a capacity is a number >= 0")
    return out


def check_facilities(facilities: gpd.GeoDataFrame, *, capacity: str, layers: dict | None = None, settings=DEFAULT,
                     label: str = "facilities") -> None:
    """Refuse a facility layer that would give wrong 2SFCA numbers, before anything is computed.

    Parameters
    ----------
    facilities : GeoDataFrame
        Points in lon/lat; ``facility_id`` optional (else row order gives ``F1``, ``F2``, ...).
    capacity : str
        The capacity column.
    layers : dict, optional
        Whose ``boundaries`` are the study area.
    settings : Settings
        ``region_margin_km``.
    label : str
        The file, for messages.

    Raises
    ------
    ValidationError
        Every problem at once: no facility, unknown capacity column, duplicate or missing ids,
        text, negative or infinite capacities, geometry that is not points, coordinates that are
        impossible (swapped lon/lat named) or far from the study area.
    """
    if len(facilities) == 0:
        raise ValidationError([f"{label}: no facilities (the file has a header but no rows)."])
    if capacity not in facilities.columns:
        cols = ", ".join(map(str, (c for c in facilities.columns if c != "geometry")))
        raise ValidationError([f"{label}: no capacity column {capacity!r}; its columns are {cols}. Give it with --capacity."])
    ids = facility_ids(facilities)
    probs = []
    if ids.isna().any():
        rows = _list(np.flatnonzero(ids.isna()) + 1)
        probs.append(f"{label}: {int(ids.isna().sum())} facilities have no facility_id (rows {rows})")
    dup = ids[ids.duplicated(keep=False) & ids.notna()]
    if len(dup):
        probs.append(f"{label}: duplicate facility_id {_list(sorted(set(dup)))}; every facility needs its own id")
    probs += _capacity_problems(facilities, capacity, ids, label)
    kinds = set(facilities.geometry.geom_type.dropna())
    if not kinds <= {"Point"}:
        probs.append(f"{label}: facilities must be points, found {', '.join(sorted(kinds))}")
    else:
        report = ValidationReport()
        fac = facilities.reset_index(drop=True).assign(facility_id=ids.to_numpy())
        if label != "facilities":
            fac.attrs["source_file"] = label
        check_layer_region(fac, "facilities", report, settings=settings, layers=layers, id_column="facility_id")
        probs += report.problems
    if probs:
        raise ValidationError(probs)


def facility_access(layers: dict, facilities: gpd.GeoDataFrame, *, capacity: str, dem_path=None, settings=DEFAULT,
                    planning=None) -> dict:
    """2SFCA of a planner's facility layer for every county (demand = census population at the seat) and park.

    Parameters
    ----------
    layers : dict
        The run's layers (boundaries, places, corridors, parks).
    facilities : GeoDataFrame
        Points with a ``capacity`` column; checked first (:func:`check_facilities`).
    capacity : str
    dem_path : path-like, optional
    settings : Settings
    planning : PlanningSettings, optional
        ``catchment_min``.

    Returns
    -------
    dict
        ``counties``, ``parks`` (ranked by ``access_index``, best first), ``facilities`` (ratios).
    """
    from .linkage import linkage_units

    ps = planning or planning_settings(settings)
    if capacity not in facilities.columns:
        raise PlanningError(f"the facility layer has no column {capacity!r}; columns: {', '.join(map(str, facilities.columns))}")
    fac = facilities.to_crs(4326).reset_index(drop=True)
    check_facilities(fac, capacity=capacity, layers=layers, settings=settings,
                     label=facilities.attrs.get("source_file", "facilities"))
    fac.index = facility_ids(fac).astype(str).to_numpy()
    supply = pd.to_numeric(fac[capacity], errors="coerce")
    if supply.isna().any():
        log.warning("2SFCA: %d facilities have no capacity; places that reach them get no index", supply.isna().sum())
    units = linkage_units(layers)
    demand = units["population"]
    origins = gpd.GeoSeries(list(units["geometry"]), index=units.index, crs=4326)
    parks = layers.get("parks")
    if parks is not None and len(parks):
        pk = parks.set_index(parks["park_id"].astype(str))
        park_pts = pk.geometry.to_crs(EQUAL_AREA_CRS).centroid.to_crs(4326)
        origins = pd.concat([origins, park_pts])
    t = _times.point_minutes(layers, gpd.GeoSeries(origins, crs=4326), fac.geometry, dem_path=dem_path, settings=settings)
    d0 = ps.catchment_min
    res = two_step_fca(supply, demand, t, d0)
    r = supply_ratios(supply, demand, t, d0)
    counties = units[["adcode", "name_zh", "city", "population"]].join(res).reset_index()
    out = {"counties": counties, "facilities": pd.DataFrame({"facility_id": r.index, "capacity": supply.to_numpy(),
                                                              "ratio": r.to_numpy()})}
    if parks is not None and len(parks):
        pa = accessibility_index(r, t.loc[pk.index], d0)
        n = (t.loc[pk.index, r.index] <= d0).sum(axis=1)
        prk = pd.DataFrame({"park_id": pk.index, "name_zh": pk["name_zh"].to_numpy(), "access_index": pa.to_numpy(),
                            "facilities_within": n.to_numpy()})
        prk = prk.sort_values(["access_index", "park_id"], ascending=[False, True], na_position="last")
        prk.insert(0, "rank", prk["access_index"].rank(method="min", ascending=False))  # ties share a rank
        out["parks"] = prk.reset_index(drop=True)
    return out
