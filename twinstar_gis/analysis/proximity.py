"""Park-to-corridor distances: nearest corridor of each class, and full matrices.

Corridor classes (:data:`TARGET_CLASSES`) are drawn from two layers: lines from
``corridors`` (by ``class``) and points from ``nodes`` (by ``kind``).  By
default only features with ``status == "operating"`` count; planned links are
for scenarios (``include_planned=True``).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from ..data.schema import in_service
from .distance import all_pairs, connector_lines, nearest

__all__ = ["TARGET_CLASSES", "class_targets", "park_corridor_distances", "park_corridor_matrix"]

log = logging.getLogger(__name__)

#: class -> (layer, column, accepted values)
TARGET_CLASSES = {
    "high_speed_rail": ("corridors", "class", ("high_speed_rail",)),
    "hsr_station": ("nodes", "kind", ("hsr_station",)),
    "railway": ("corridors", "class", ("railway",)),
    "railway_station": ("nodes", "kind", ("rail_station", "hsr_station")),
    "expressway": ("corridors", "class", ("expressway",)),
    "national_highway": ("corridors", "class", ("national_highway",)),
    "interchange": ("nodes", "kind", ("interchange",)),
    "airport": ("nodes", "kind", ("airport",)),
}
_ID = {"corridors": "corridor_id", "nodes": "node_id"}


def class_targets(layers: dict, cls: str, *, include_planned: bool = False) -> gpd.GeoDataFrame:
    """Features of one corridor class, with ``target_id``, names and accuracy columns."""
    if cls not in TARGET_CLASSES:
        raise ValueError(f"unknown corridor class {cls!r}; choose from {', '.join(TARGET_CLASSES)}")
    layer, col, values = TARGET_CLASSES[cls]
    gdf = layers.get(layer)
    if gdf is None or col not in gdf.columns:
        return gpd.GeoDataFrame(columns=["target_id", "geometry"], geometry="geometry", crs="EPSG:4326")
    sel = gdf[gdf[col].isin(values)]
    sel = in_service(sel, include_planned=include_planned).copy()
    sel["target_id"] = sel[_ID[layer]].astype(str)
    return sel.sort_values("target_id").reset_index(drop=True)


def _get(df, col, default=None):
    return df[col] if col in df.columns else pd.Series(default, index=df.index)


def park_corridor_distances(layers: dict, *, classes=None, measure_from: str = "boundary",
                            include_planned: bool = False, max_km: float | None = None) -> gpd.GeoDataFrame:
    """Nearest corridor feature of each class for every park.

    Parameters
    ----------
    layers : dict
        Needs ``parks`` and ``corridors`` and/or ``nodes``.
    classes : iterable of str, optional
        Subset of :data:`TARGET_CLASSES` (default: all).
    measure_from : {"boundary", "centroid"}
    include_planned : bool
        Count planned / under-construction corridors too.
    max_km : float, optional
        Drop rows farther than this.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per park and class (classes with no feature in the data are
        skipped and logged), with a geodesic connector line from the park's
        closest point to the corridor's closest point.  Sorted by park, class.

    Examples
    --------
    >>> import tempfile
    >>> from twinstar_gis.data.dataset import build_dataset, load_dataset
    >>> ds = load_dataset(build_dataset(tempfile.mkdtemp())[0])
    >>> near = park_corridor_distances(ds.layers, classes=["hsr_station"]).set_index("park_id")
    >>> near.loc["P01", ["park_name_zh", "target_name_zh"]].tolist()
    ['松山区信息科技产业园', '赤峰站']
    >>> bool(near.loc["P10", "distance_km"] > 250)  # Holingol is far from any high-speed station
    True
    """
    parks = layers["parks"].sort_values("park_id").reset_index(drop=True)
    rows = []
    for cls in classes or TARGET_CLASSES:
        targets = class_targets(layers, cls, include_planned=include_planned)
        if targets.empty:
            log.info("no %s features in the data; skipped", cls)
            continue
        nn = nearest(parks, targets, measure_from=measure_from, dst_id="target_id")
        t = targets.loc[nn["dst_index"].astype(int)].reset_index(drop=True)
        acc = _get(parks, "accuracy_m", np.nan).astype(float).to_numpy() + _get(t, "accuracy_m", np.nan).astype(float).to_numpy()
        indicative = (_get(parks, "geometry_quality", "indicative") == "indicative").to_numpy() | \
                     (_get(t, "geometry_quality", "indicative") == "indicative").to_numpy()
        rows.append(pd.DataFrame({
            "park_id": parks["park_id"].astype(str),
            "park_name_zh": _get(parks, "name_zh", ""),
            "park_name_en": _get(parks, "name_en", ""),
            "class": cls,
            "target_id": t["target_id"],
            "target_name_zh": _get(t, "name_zh", ""),
            "target_name_en": _get(t, "name_en", ""),
            "distance_m": nn["distance_m"].round(1).to_numpy(),
            "distance_km": (nn["distance_m"] / 1000).round(3).to_numpy(),
            "touches": nn["touches"].to_numpy(),
            "measured_from": measure_from,
            "park_lon": nn["src_lon"].to_numpy(), "park_lat": nn["src_lat"].to_numpy(),
            "target_lon": nn["dst_lon"].to_numpy(), "target_lat": nn["dst_lat"].to_numpy(),
            "uncertainty_m": acc,
            "geometry_quality": np.where(indicative, "indicative", "surveyed"),
        }))
    if not rows:
        raise ValueError("no corridor features of the requested classes in the data")
    out = pd.concat(rows, ignore_index=True)
    if max_km is not None:
        out = out[out["distance_km"] <= max_km].reset_index(drop=True)
    order = {c: i for i, c in enumerate(TARGET_CLASSES)}
    out = out.sort_values(["park_id", "class"], key=lambda s: s.map(order) if s.name == "class" else s).reset_index(drop=True)
    geom = connector_lines(out.rename(columns={"park_lon": "src_lon", "park_lat": "src_lat",
                                               "target_lon": "dst_lon", "target_lat": "dst_lat"}))
    return gpd.GeoDataFrame(out, geometry=geom, crs="EPSG:4326")


def park_corridor_matrix(layers: dict, *, classes=None, measure_from: str = "boundary",
                         include_planned: bool = False, max_km: float | None = None) -> pd.DataFrame:
    """Distance (km) from every park to every corridor feature of the chosen classes.

    Returns a long table (park, corridor feature, class, km); pairs farther than
    ``max_km`` are left out.  ``pivot_matrix`` turns it into a park x feature grid.
    """
    parks = layers["parks"].sort_values("park_id").reset_index(drop=True)
    frames = []
    for cls in classes or TARGET_CLASSES:
        targets = class_targets(layers, cls, include_planned=include_planned)
        if targets.empty:
            continue
        pairs = all_pairs(parks, targets, measure_from=measure_from, max_m=None if max_km is None else max_km * 1000)
        frames.append(pd.DataFrame({
            "park_id": parks["park_id"].to_numpy()[pairs["src_index"].astype(int)],
            "park_name_zh": _get(parks, "name_zh", "").to_numpy()[pairs["src_index"].astype(int)],
            "class": cls,
            "target_id": targets["target_id"].to_numpy()[pairs["dst_index"].astype(int)],
            "target_name_zh": _get(targets, "name_zh", "").to_numpy()[pairs["dst_index"].astype(int)],
            "distance_km": (pairs["distance_m"] / 1000).round(3),
        }))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["park_id", "park_name_zh", "class", "target_id", "target_name_zh", "distance_km"])
    return out.sort_values(["park_id", "class", "target_id"]).reset_index(drop=True)


def pivot_matrix(long: pd.DataFrame) -> pd.DataFrame:
    """Park x corridor-feature grid of distances (km) from :func:`park_corridor_matrix`."""
    if long.empty:
        return pd.DataFrame()
    wide = long.pivot_table(index=["park_id", "park_name_zh"], columns=["class", "target_id"], values="distance_km")
    wide.columns = [f"{c}:{t}" for c, t in wide.columns]
    return wide.reset_index()
