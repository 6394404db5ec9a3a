"""Industry-city integration (产城融合) indicators, one row per park.

* distance to its own city's core and to the nearest county seat;
* facilities of each kind within 1, 3 and 5 km of the park boundary (missing, not
  zero, for parks no facility data covers: facilities tagged to a park cover that park,
  untagged facilities -- a planner's region-wide POI file -- cover every park);
* share of the park inside an urban district (市辖区: 红山区, 元宝山区, 松山区, 科尔沁区);
* nearest high-speed station and its distance.

All distances are ground distances (:mod:`twinstar_gis.analysis.distance`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.crs import geodesic_area_km2
from ..data.schema import in_service
from .distance import all_pairs, nearest

__all__ = ["park_indicators", "FACILITY_RADII_KM"]

FACILITY_RADII_KM = (1.0, 3.0, 5.0)
_NON_FACILITY = ("city_core", "county_seat")


def _urban_districts(boundaries):
    c = boundaries[(boundaries["level"] == "county") & boundaries["name_zh"].str.endswith("区")]
    return c


def _facility_counts(out, parks, fac, radii_km):
    """Facilities within each radius, for the parks the facility data covers.

    A facility tied to a park (``park_id``, as in the embedded data) says that park was surveyed; a
    facility tied to no park (a planner's region-wide POI file, appended to the places) says every park
    was.  Parks covered neither way get missing counts (``<NA>``), not zero.  Every facility within the
    radius is counted for a covered park, tagged or not (a planner's school 800 m from a park serves it
    whichever park the embedded survey tied its neighbours to).  ``facility_data`` says which rule applied.
    """
    pairs = all_pairs(parks, fac, max_m=max(radii_km) * 1000)
    pairs["kind"] = fac["kind"].to_numpy()[pairs["dst_index"].astype(int)]
    pairs["park"] = parks["park_id"].to_numpy()[pairs["src_index"].astype(int)]
    tag = fac["park_id"] if "park_id" in fac else pd.Series(pd.NA, index=fac.index)
    tagged = set(tag.dropna().astype(str))
    untagged = bool(tag.isna().any())
    ids = out["park_id"].astype(str)
    covered = ids.isin(tagged) | untagged
    for r in radii_km:
        counts = pairs[pairs["distance_m"] <= r * 1000].groupby("park").size()
        n = out["park_id"].map(counts).fillna(0).astype("Int64")
        out[f"facilities_within_{r:g}km"] = n.where(covered, pd.NA)
    kinds = pairs[pairs["distance_m"] <= max(radii_km) * 1000].groupby("park")["kind"].agg(
        lambda s: "; ".join(f"{k} {n}" for k, n in sorted(s.value_counts().items())))
    out[f"facility_kinds_within_{max(radii_km):g}km"] = out["park_id"].map(kinds).astype(object).fillna("").where(covered, None)
    out["facility_data"] = np.where(ids.isin(tagged), "curated for this park",
                                    np.where(covered, "region-wide facility file (untagged)",
                                             "no facility data (missing, not zero)"))
    return out


def park_indicators(layers: dict, *, radii_km=FACILITY_RADII_KM) -> pd.DataFrame:
    """One row per park with the 产城融合 indicators (sorted by park_id).

    Parameters
    ----------
    layers : dict
        ``parks``; ``places`` (cores, seats and facilities), ``boundaries`` and ``nodes`` when present.
    radii_km : tuple of float
        Facility count radii around each park's boundary (km).

    Returns
    -------
    pandas.DataFrame
        Distances to the own city core and nearest county seat (km), facility counts per radius (missing
        where no facility data covers the park), the share inside an urban district, the nearest operating
        high-speed station and its distance.
    """
    parks = layers["parks"].sort_values("park_id").reset_index(drop=True)
    places = layers.get("places")
    b = layers.get("boundaries")
    out = pd.DataFrame({"park_id": parks["park_id"], "name_zh": parks.get("name_zh"),
                        "name_en": parks.get("name_en"), "city": parks.get("city")})
    if places is not None:
        cores = places[places["kind"] == "city_core"].reset_index(drop=True)
        seats = places[places["kind"] == "county_seat"].reset_index(drop=True)
        if len(cores):
            # The core of the park's own city (by its county's prefecture), else the nearest core.
            pairs = all_pairs(parks, cores)
            pairs["park"] = parks["park_id"].to_numpy()[pairs["src_index"].astype(int)]
            pairs["core"] = cores["county_adcode"].astype(str).str[:4].to_numpy()[pairs["dst_index"].astype(int)]
            pairs["core_name"] = cores["name_zh"].to_numpy()[pairs["dst_index"].astype(int)]
            own = parks.set_index("park_id")["county_adcode"].astype(str).str[:4] if "county_adcode" in parks else None
            rows = []
            for pid, grp in pairs.groupby("park", sort=True):
                mine = grp[grp["core"] == own.get(pid)] if own is not None else grp.iloc[0:0]
                pick = mine if len(mine) else grp.nsmallest(1, "distance_m")
                rows.append((pid, pick["core_name"].iloc[0], pick["distance_m"].iloc[0] / 1000))
            core = pd.DataFrame(rows, columns=["park_id", "city_core", "to_city_core_km"])
            out = out.merge(core, on="park_id", how="left")
        if len(seats):
            nn = nearest(parks, seats, dst_id="place_id")
            out["nearest_county_seat"] = seats["name_zh"].to_numpy()[nn["dst_index"].astype(int)]
            out["to_county_seat_km"] = (nn["distance_m"] / 1000).to_numpy()
        fac = places[~places["kind"].isin(_NON_FACILITY)].reset_index(drop=True)
        if len(fac):
            out = _facility_counts(out, parks, fac, radii_km)
    if b is not None:
        urban = _urban_districts(b)
        from shapely import union_all

        u = union_all(np.asarray(urban.geometry.values))
        area = geodesic_area_km2(np.asarray(parks.geometry.values))
        inside = geodesic_area_km2(np.asarray([g.intersection(u) for g in parks.geometry.values], dtype=object))
        out["share_in_urban_district"] = np.round(inside / area, 4)
    nodes = layers.get("nodes")
    if nodes is not None:
        hsr = in_service(nodes[nodes["kind"] == "hsr_station"]).reset_index(drop=True)
        if len(hsr):
            nn = nearest(parks, hsr, dst_id="node_id")
            out["nearest_hsr_station"] = hsr["name_zh"].to_numpy()[nn["dst_index"].astype(int)]
            out["to_hsr_station_km"] = (nn["distance_m"] / 1000).round(3).to_numpy()
    for c in ("to_city_core_km", "to_county_seat_km"):
        if c in out:
            out[c] = out[c].round(3)
    out["geometry_quality"] = parks.get("geometry_quality", "indicative")
    return out
