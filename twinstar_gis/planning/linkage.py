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

    ``strength = P_i * P_j / t ** b`` with ``t`` the mean of the two
    directions' minutes.

    Parameters
    ----------
    units : pandas.DataFrame
        Indexed by unit id (compared as text), with ``population`` (persons;
        NaN when unknown) and ``city`` (the prefecture, e.g. its adcode).
    minutes : pandas.DataFrame
        OD travel minutes, index = origin ids, columns = destination ids (as
        text); may be asymmetric.  NaN or inf = unreachable.
    b : float, default 2.0
        Distance-decay exponent (2 = the Newtonian gravity model).

    Returns
    -------
    pandas.DataFrame
        One row per unordered pair, ``unit_i`` < ``unit_j`` by id as text, in
        that order: ``unit_i``, ``unit_j``, ``minutes`` (mean of both
        directions), ``strength`` (persons² / min^b; NaN when either
        population is missing or the time is not finite and positive, never
        0) and ``cross_city`` (True when the two ``city`` values differ).

    Raises
    ------
    PlanningError
        A unit has no row or no column in ``minutes``.

    Examples
    --------
    >>> u = pd.DataFrame({"population": [100.0, 200.0], "city": ["A", "B"]}, index=["x", "y"])
    >>> t = pd.DataFrame([[0.0, 10.0], [10.0, 0.0]], index=["x", "y"], columns=["x", "y"])
    >>> float(gravity_pairs(u, t, b=2)["strength"].iloc[0])  # 100 * 200 / 10 ** 2
    200.0

    Asymmetric times are averaged (14 and 10 min: 12 min, 100 * 200 / 144);
    a unit without a census figure has no linkage:

    >>> t.loc["x", "y"] = 14.0
    >>> round(float(gravity_pairs(u, t)["strength"].iloc[0]), 3)
    138.889
    >>> u.loc["y", "population"] = np.nan
    >>> gravity_pairs(u, t)["strength"].isna().tolist()
    [True]
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
    """Per unit: total linkage, strongest partner, cross-city share, partners with data.

    Parameters
    ----------
    units : pandas.DataFrame
        The units, indexed by unit id (as in :func:`gravity_pairs`); only the
        index is read.
    pairs : pandas.DataFrame
        The pair table of :func:`gravity_pairs` (``unit_i``, ``unit_j``,
        ``strength``, ``cross_city``).

    Returns
    -------
    pandas.DataFrame
        One row per unit, sorted by id as text, fresh 0..n-1 index:
        ``unit``; ``total_linkage`` (sum of the unit's known pair strengths,
        NaN when none is known); ``strongest_partner`` and
        ``strongest_strength`` (ties broken by partner id; None / NaN when
        none is known); ``cross_city_linkage`` (the part of the total that goes
        to units of the other city); ``partners_with_data`` and ``partners``
        (counts); ``cross_city_share`` (cross-city / total, 0..1, NaN without
        a total).

    Examples
    --------
    Three units, x and z in city A, y in city B; strengths x-y 200, x-z 75,
    y-z 600 (populations 100, 200, 300; 10, 20 and 10 minutes):

    >>> u = pd.DataFrame({"population": [100.0, 200.0, 300.0], "city": ["A", "B", "A"]}, index=["x", "y", "z"])
    >>> t = pd.DataFrame([[0, 10, 20], [10, 0, 10], [20, 10, 0.0]], index=list("xyz"), columns=list("xyz"))
    >>> r = unit_linkage(u, gravity_pairs(u, t))
    >>> r[["unit", "total_linkage", "strongest_partner", "cross_city_linkage"]].values.tolist()
    [['x', 275.0, 'y', 200.0], ['y', 800.0, 'z', 800.0], ['z', 675.0, 'y', 600.0]]
    >>> r["cross_city_share"].round(4).tolist()  # 200/275, 800/800, 600/675
    [0.7273, 1.0, 0.8889]
    """
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
    """The county-level units: id (the county seat's place id), adcode, names, city, population, point.

    Parameters
    ----------
    layers : dict of geopandas.GeoDataFrame
        ``boundaries`` (rows with ``level == "county"``: ``adcode``,
        ``name_zh``, ``parent_adcode``, optionally ``population_2020``) and
        ``places`` (rows with ``kind == "county_seat"``: ``place_id``,
        ``county_adcode``; the first seat of a county is used).

    Returns
    -------
    pandas.DataFrame
        One row per county, indexed by ``id`` (the seat's ``place_id``) and
        sorted by it: ``adcode``, ``name_zh``, ``city`` (the parent adcode;
        all three as text), ``population`` (2020 census, persons; NaN when the
        column or the figure is missing) and ``geometry`` (the seat's point,
        WGS-84; a plain column, not a GeoDataFrame).

    Raises
    ------
    PlanningError
        A county has no ``county_seat`` place.

    Examples
    --------
    >>> from shapely.geometry import Point, box
    >>> bounds = gpd.GeoDataFrame({"adcode": ["1", "2"], "name_zh": ["甲县", "乙县"], "level": ["county", "county"],
    ...                            "parent_adcode": ["9", "8"], "population_2020": [1000, None]},
    ...                           geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)
    >>> places = gpd.GeoDataFrame({"place_id": ["S2", "S1"], "kind": ["county_seat", "county_seat"],
    ...                            "county_adcode": ["2", "1"]}, geometry=[Point(1.5, 0.5), Point(0.5, 0.5)], crs=4326)
    >>> u = linkage_units({"boundaries": bounds, "places": places})
    >>> u.index.tolist(), u["adcode"].tolist(), u["population"].tolist()
    (['S1', 'S2'], ['1', '2'], [1000.0, nan])
    """
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

    The units are the counties (:func:`linkage_units`); the OD minutes between
    their seats come from the travel-time model, once for today's network and
    once for the scenario; strengths follow :func:`gravity_pairs` with
    ``planning.gravity_b``.

    Parameters
    ----------
    layers : dict of geopandas.GeoDataFrame
        The dataset's layers: ``boundaries`` and ``places`` for the units,
        and what the travel-time model needs.
    dem_path : path-like, optional
        DEM for the model's land surface (default: none).
    settings : Settings, default DEFAULT
        The run's settings (speeds, grid, planning section).
    planning : PlanningSettings, optional
        Default: the planning section of ``settings``.
    include_planned : bool, default True
        The scenario counts planned / under-construction corridors.
    extra_corridors : geopandas.GeoDataFrame, optional
        Further corridors added in the scenario.
    models : tuple of (TravelTimeModel, TravelTimeModel), optional
        ``(base, scenario)`` travel-time models already built from these
        layers, DEM, settings and scenario; either may be None (default: build
        them).

    Returns
    -------
    dict
        ``units``
            DataFrame, one row per county: ``unit``, ``adcode``, ``name_zh``,
            ``city``, ``population`` and the columns of :func:`unit_linkage`
            for today, plus ``total_linkage_scenario``,
            ``strongest_partner_scenario``, ``cross_city_share_scenario``,
            ``cross_city_share_change`` (scenario - today, share points) and
            the partners' names (``strongest_partner_name``,
            ``strongest_partner_scenario_name``);
        ``pairs``
            DataFrame, one row per pair: ``unit_i``, ``unit_j``, ``name_i``,
            ``name_j``, ``minutes``, ``strength``, ``cross_city``,
            ``minutes_scenario``, ``strength_scenario`` and
            ``strength_change_pct`` (100 x (scenario / today - 1));
        ``flows``
            the pairs as seat-to-seat lines (:func:`flow_lines`);
        ``summary``
            DataFrame ``indicator``, ``base``, ``scenario`` with
            ``cross_city_share_of_all_linkage``, ``total_linkage``,
            ``units_without_population`` and ``gravity_b``.

        Strengths are in persons² / min^b; a unit without a census
        population has NaN linkages (logged as a warning), never 0.

    Raises
    ------
    PlanningError
        A county has no ``county_seat`` place.
    AccessError
        The travel-time model does not know a seat's ``place_id``.
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
    """Pair lines (seat to seat) with strengths and the share of the strongest pair, for flow maps.

    Parameters
    ----------
    pairs : pandas.DataFrame
        The merged pair table of :func:`twin_city_linkage` (``unit_i``,
        ``unit_j``, ``strength``, ``strength_scenario``, ...).
    units : pandas.DataFrame
        :func:`linkage_units`: indexed by unit id, with the seat's point in
        ``geometry`` (lon/lat).

    Returns
    -------
    geopandas.GeoDataFrame
        Every column of ``pairs`` plus a straight line from seat i to seat j
        (WGS-84), ``strength_rel`` (strength / the strongest pair's strength
        today, 0..1) and ``strength_scenario_rel`` (the scenario strength on
        the same scale, so above 1 where the scenario beats today's strongest
        pair); both NaN when no pair has a positive strength.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> units = pd.DataFrame({"geometry": [Point(118.9, 42.3), Point(122.2, 43.6), Point(119.3, 42.0)]},
    ...                      index=["a", "b", "c"])
    >>> pairs = pd.DataFrame({"unit_i": ["a", "a"], "unit_j": ["b", "c"], "strength": [50.0, 200.0],
    ...                       "strength_scenario": [100.0, 300.0]})
    >>> f = flow_lines(pairs, units)
    >>> f["strength_rel"].tolist(), f["strength_scenario_rel"].tolist()
    ([0.25, 1.0], [0.5, 1.5])
    >>> list(f.geometry.iloc[0].coords)
    [(118.9, 42.3), (122.2, 43.6)]
    """
    geom = shapely.linestrings([[(units.loc[i, "geometry"].x, units.loc[i, "geometry"].y),
                                 (units.loc[j, "geometry"].x, units.loc[j, "geometry"].y)]
                                for i, j in zip(pairs["unit_i"], pairs["unit_j"])]) if len(pairs) else []
    out = gpd.GeoDataFrame(pairs.copy(), geometry=geom, crs=4326)
    top = out["strength"].max()
    out["strength_rel"] = out["strength"] / top if pd.notna(top) and top > 0 else np.nan
    out["strength_scenario_rel"] = out["strength_scenario"] / top if pd.notna(top) and top > 0 else np.nan
    return out
