"""Twin-city linkage (城市联系强度): a gravity model between county-level units.

``strength_ij = P_i * P_j / t_ij ** b`` with P the 2020 census population and
t the OD travel time in minutes (mean of both directions); ``b`` = 2 by default,
the conventional (Newtonian) distance-decay exponent of the gravity model used
in Chinese urban-linkage studies.  Each unit's total linkage is the sum over
its partners with known data; the cross-city share is the part of that total
that goes to units of the other prefecture.  A unit without a census figure
has no linkage (NaN), never zero.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..settings import DEFAULT
from . import _times
from ..errors import PlanningError
from ..settings import planning_settings

__all__ = ["flow_lines", "gravity_pairs", "linkage_units", "twin_city_linkage", "unit_linkage"]

log = logging.getLogger(__name__)


def gravity_pairs(units: pd.DataFrame, minutes: pd.DataFrame, *, b: float = 2.0) -> pd.DataFrame:
    """Strength of every unordered pair of units.

    Parameters
    ----------
    units : DataFrame
        Indexed by unit id, with ``population`` and ``city``.
    minutes : DataFrame
        OD minutes, index and columns unit ids (may be asymmetric; the mean of both directions is used).
    b : float
        Distance-decay exponent.

    Returns
    -------
    DataFrame
        ``unit_i``, ``unit_j`` (i < j by id), ``minutes``, ``strength``, ``cross_city``.

    Examples
    --------
    >>> u = pd.DataFrame({"population": [100.0, 200.0], "city": ["A", "B"]}, index=["x", "y"])
    >>> t = pd.DataFrame([[0.0, 10.0], [10.0, 0.0]], index=["x", "y"], columns=["x", "y"])
    >>> float(gravity_pairs(u, t, b=2)["strength"].iloc[0])  # 100 * 200 / 10 ** 2
    200.0
    """
    ids = sorted(units.index.astype(str))
    units = units.copy()
    units.index = units.index.astype(str)
    missing = [i for i in ids if i not in minutes.index or i not in minutes.columns]
    if missing:
        raise PlanningError(f"no travel times for unit(s) {missing}")
    rows = []
    for a in range(len(ids)):
        for c in range(a + 1, len(ids)):
            i, j = ids[a], ids[c]
            t = (float(minutes.loc[i, j]) + float(minutes.loc[j, i])) / 2.0
            p = float(units.loc[i, "population"]) * float(units.loc[j, "population"])
            s = p / t ** b if np.isfinite(t) and t > 0 else np.nan
            rows.append({"unit_i": i, "unit_j": j, "minutes": t, "strength": s,
                         "cross_city": units.loc[i, "city"] != units.loc[j, "city"]})
    return pd.DataFrame(rows, columns=["unit_i", "unit_j", "minutes", "strength", "cross_city"])


def unit_linkage(units: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per unit: total linkage, strongest partner, cross-city share, partners with data."""
    both = pd.concat([pairs.rename(columns={"unit_i": "unit", "unit_j": "partner"}),
                      pairs.rename(columns={"unit_j": "unit", "unit_i": "partner"})], ignore_index=True)
    rows = []
    for uid in sorted(units.index.astype(str)):
        mine = both[both["unit"] == uid]
        known = mine[mine["strength"].notna()]
        total = known["strength"].sum() if len(known) else np.nan
        top = known.sort_values(["strength", "partner"], ascending=[False, True]).head(1)
        rows.append({"unit": uid, "total_linkage": total,
                     "strongest_partner": top["partner"].iloc[0] if len(top) else None,
                     "strongest_strength": top["strength"].iloc[0] if len(top) else np.nan,
                     "cross_city_linkage": known.loc[known["cross_city"], "strength"].sum() if len(known) else np.nan,
                     "partners_with_data": len(known), "partners": len(mine)})
    out = pd.DataFrame(rows)
    out["cross_city_share"] = out["cross_city_linkage"] / out["total_linkage"]
    return out


def linkage_units(layers: dict) -> pd.DataFrame:
    """The county-level units: id (the county seat's place id), adcode, names, city, population, point."""
    b = layers["boundaries"]
    c = b[b["level"] == "county"].copy()
    c["adcode"] = c["adcode"].astype(str)
    places = layers["places"]
    seats = places[places["kind"] == "county_seat"].copy()
    seats["county_adcode"] = seats["county_adcode"].astype(str)
    seats = seats.drop_duplicates("county_adcode").set_index("county_adcode")
    no_seat = sorted(set(c["adcode"]) - set(seats.index))
    if no_seat:
        raise PlanningError(f"counties without a county_seat place: {no_seat}")
    pop = c["population_2020"] if "population_2020" in c else pd.Series(np.nan, index=c.index)
    out = pd.DataFrame({"id": seats.loc[c["adcode"], "place_id"].astype(str).to_numpy(), "adcode": c["adcode"].to_numpy(),
                        "name_zh": c["name_zh"].to_numpy(), "city": c["parent_adcode"].astype(str).to_numpy(),
                        "population": pd.to_numeric(pop, errors="coerce").to_numpy(),
                        "geometry": seats.loc[c["adcode"], "geometry"].to_numpy()})
    return out.sort_values("id").set_index("id")


def twin_city_linkage(layers: dict, *, dem_path=None, settings=DEFAULT, planning=None, include_planned: bool = True,
                      extra_corridors=None, models=None) -> dict:
    """Gravity linkage today and with the scenario (planned or given corridors).

    ``models``: ``(base, scenario)`` travel-time models already built from these layers, DEM,
    settings and scenario (default: build them).

    Returns
    -------
    dict
        ``units`` (per unit, base / scenario / change), ``pairs`` (per pair, both),
        ``flows`` (GeoDataFrame of pair lines with strengths), ``summary`` (indicators).
    """
    ps = planning or planning_settings(settings)
    units = linkage_units(layers)
    if units["population"].isna().any():
        log.warning("linkage: no 2020 census population for %s; their linkages are missing",
                    ", ".join(units.loc[units["population"].isna(), "name_zh"]))
    base_m, scen_m = models or (None, None)
    base_t = _times.od_minutes(layers, units.index, dem_path=dem_path, settings=settings, model=base_m)
    scen_t = _times.od_minutes(layers, units.index, dem_path=dem_path, settings=settings, include_planned=include_planned,
                               extra_corridors=extra_corridors, model=scen_m)
    pb, psn = gravity_pairs(units, base_t, b=ps.gravity_b), gravity_pairs(units, scen_t, b=ps.gravity_b)
    pairs = pb.merge(psn[["unit_i", "unit_j", "minutes", "strength"]], on=["unit_i", "unit_j"], suffixes=("", "_scenario"))
    pairs["strength_change_pct"] = 100.0 * (pairs["strength_scenario"] / pairs["strength"] - 1.0)
    ub, us = unit_linkage(units, pb), unit_linkage(units, psn)
    u = ub.merge(us[["unit", "total_linkage", "strongest_partner", "cross_city_share"]], on="unit", suffixes=("", "_scenario"))
    u["cross_city_share_change"] = u["cross_city_share_scenario"] - u["cross_city_share"]
    u.insert(1, "adcode", units.loc[u["unit"], "adcode"].to_numpy())
    u.insert(2, "name_zh", units.loc[u["unit"], "name_zh"].to_numpy())
    u.insert(3, "city", units.loc[u["unit"], "city"].to_numpy())
    u.insert(4, "population", units.loc[u["unit"], "population"].to_numpy())
    for col in ("strongest_partner", "strongest_partner_scenario"):
        u[col + "_name"] = u[col].map(units["name_zh"])
    for p in (pairs,):
        p.insert(2, "name_i", p["unit_i"].map(units["name_zh"]))
        p.insert(3, "name_j", p["unit_j"].map(units["name_zh"]))
    cross_b = pb.loc[pb["cross_city"], "strength"].sum(min_count=1) / pb["strength"].sum(min_count=1)
    cross_s = psn.loc[psn["cross_city"], "strength"].sum(min_count=1) / psn["strength"].sum(min_count=1)
    summary = pd.DataFrame([
        {"indicator": "cross_city_share_of_all_linkage", "base": cross_b, "scenario": cross_s},
        {"indicator": "total_linkage", "base": pb["strength"].sum(min_count=1), "scenario": psn["strength"].sum(min_count=1)},
        {"indicator": "units_without_population", "base": int(units["population"].isna().sum()),
         "scenario": int(units["population"].isna().sum())},
        {"indicator": "gravity_b", "base": ps.gravity_b, "scenario": ps.gravity_b},
    ])
    return {"units": u, "pairs": pairs, "flows": flow_lines(pairs, units), "summary": summary}


def flow_lines(pairs: pd.DataFrame, units: pd.DataFrame) -> gpd.GeoDataFrame:
    """Pair lines (seat to seat) with strengths and the share of the strongest pair, for flow maps."""
    geom = shapely.linestrings([[(units.loc[i, "geometry"].x, units.loc[i, "geometry"].y),
                                 (units.loc[j, "geometry"].x, units.loc[j, "geometry"].y)]
                                for i, j in zip(pairs["unit_i"], pairs["unit_j"])]) if len(pairs) else []
    out = gpd.GeoDataFrame(pairs.copy(), geometry=geom, crs=4326)
    top = out["strength"].max()
    out["strength_rel"] = out["strength"] / top if pd.notna(top) and top > 0 else np.nan
    out["strength_scenario_rel"] = out["strength_scenario"] / top if pd.notna(top) and top > 0 else np.nan
    return out
