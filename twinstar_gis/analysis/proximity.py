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
    """Features of one corridor class, with ``target_id``, names and accuracy columns.

    Parameters
    ----------
    layers : dict of geopandas.GeoDataFrame
        The layers; the class's layer (``corridors`` or ``nodes``, see
        :data:`TARGET_CLASSES`) is read when present.
    cls : str
        A key of :data:`TARGET_CLASSES`, e.g. ``"expressway"`` (lines of
        ``corridors`` with that ``class``) or ``"railway_station"`` (points of
        ``nodes`` of kind ``rail_station`` or ``hsr_station``).
    include_planned : bool, default False
        Count planned / under-construction features too (a scenario); by
        default only those in operation (:func:`twinstar_gis.data.schema.in_service`).

    Returns
    -------
    geopandas.GeoDataFrame
        The selected features with every column of their layer plus
        ``target_id`` (the ``corridor_id`` or ``node_id`` as text), sorted by
        it, fresh 0..n-1 index.  Empty (columns ``target_id`` and geometry
        only) when the layer or its class column is missing.

    Raises
    ------
    ValueError
        ``cls`` is not a key of :data:`TARGET_CLASSES`.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> cors = gpd.GeoDataFrame({"corridor_id": ["E2", "E1", "R1"], "class": ["expressway", "expressway", "railway"],
    ...                          "status": ["planned", "operating", "operating"]},
    ...                         geometry=[LineString([(120.2, 42.9), (120.2, 43.1)]),
    ...                                   LineString([(120.1, 42.9), (120.1, 43.1)]),
    ...                                   LineString([(119.9, 42.9), (119.9, 43.1)])], crs=4326)
    >>> class_targets({"corridors": cors}, "expressway")["target_id"].tolist()
    ['E1']
    >>> class_targets({"corridors": cors}, "expressway", include_planned=True)["target_id"].tolist()
    ['E1', 'E2']
    >>> len(class_targets({"corridors": cors}, "airport"))  # no nodes layer
    0
    """
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

    Distances are ground distances on the WGS-84 ellipsoid between the
    closest points (:func:`twinstar_gis.analysis.distance.nearest`), not travel
    times.

    Parameters
    ----------
    layers : dict of geopandas.GeoDataFrame
        Needs ``parks`` (``park_id``; ``name_zh``, ``name_en``,
        ``accuracy_m``, ``geometry_quality`` used when present) and
        ``corridors`` and/or ``nodes``.
    classes : iterable of str, optional
        Subset of :data:`TARGET_CLASSES` (default: all of them).
    measure_from : {"boundary", "centroid"}, default "boundary"
        Measure from the park's outline (0 when it touches or overlaps the
        corridor) or from its centroid.
    include_planned : bool, default False
        Count planned / under-construction corridors and stations too.
    max_km : float, optional
        Drop rows farther than this many km.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per park and class, sorted by ``park_id`` then by class in the
        order of :data:`TARGET_CLASSES`, WGS-84; classes with no feature in the
        data are skipped (logged at INFO).  Columns:

        ``park_id``, ``park_name_zh``, ``park_name_en``, ``class``
            the park and the corridor class;
        ``target_id``, ``target_name_zh``, ``target_name_en``
            the nearest feature of the class (ties broken by ``target_id``);
        ``distance_m`` (1 decimal), ``distance_km`` (3 decimals)
            ground distance on the ellipsoid;
        ``touches``
            True when the distance is 0;
        ``measured_from``
            the ``measure_from`` used;
        ``park_lon``, ``park_lat``, ``target_lon``, ``target_lat``
            the two closest points (degrees);
        ``uncertainty_m``
            the park's plus the target's ``accuracy_m`` (NaN when either is
            unknown);
        ``geometry_quality``
            ``"indicative"`` when either geometry is indicative or has no
            ``geometry_quality`` column, else ``"surveyed"``;
        geometry
            the geodesic connector from the park's point to the target's.

    Raises
    ------
    ValueError
        An unknown class in ``classes``, or no feature of any requested class
        in the data.  A missing ``parks`` layer raises ``KeyError``.

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
        # Only what says "surveyed" is surveyed: an empty or unknown quality is indicative.
        indicative = (_get(parks, "geometry_quality", "indicative") != "surveyed").to_numpy() | \
                     (_get(t, "geometry_quality", "indicative") != "surveyed").to_numpy()
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

    Parameters
    ----------
    layers : dict of geopandas.GeoDataFrame
        Needs ``parks`` (``park_id``; ``name_zh`` when present) and
        ``corridors`` and/or ``nodes``.
    classes : iterable of str, optional
        Subset of :data:`TARGET_CLASSES` (default: all of them); classes
        without features are skipped.
    measure_from : {"boundary", "centroid"}, default "boundary"
        Measure from the park's outline or from its centroid.
    include_planned : bool, default False
        Count planned / under-construction corridors and stations too.
    max_km : float, optional
        Leave out pairs farther apart than this many km (only nearby pairs are
        then measured).

    Returns
    -------
    pandas.DataFrame
        A long table, one row per (park, feature) pair, sorted by ``park_id``,
        ``class`` (alphabetically) and ``target_id``: ``park_id``,
        ``park_name_zh``, ``class``, ``target_id``, ``target_name_zh`` and
        ``distance_km`` (ground distance on the ellipsoid, 3 decimals).  Empty
        with these columns when no class has a feature.  :func:`pivot_matrix`
        turns it into a park x feature grid.

    Raises
    ------
    ValueError
        An unknown class in ``classes``.

    Examples
    --------
    A 0.02-degree park and three meridian lines; the distances are the
    :meth:`pyproj.Geod.inv` lengths from the park's nearest corner at 43.02 N
    (6521.2 m, 14672.6 m and 8151.5 m):

    >>> from shapely.geometry import LineString, box
    >>> parks = gpd.GeoDataFrame({"park_id": ["P1"]}, geometry=[box(120.0, 43.0, 120.02, 43.02)], crs=4326)
    >>> cors = gpd.GeoDataFrame({"corridor_id": ["E1", "E2", "R1"], "class": ["expressway", "expressway", "railway"],
    ...                          "status": ["operating", "planned", "operating"]},
    ...                         geometry=[LineString([(120.1, 42.9), (120.1, 43.1)]),
    ...                                   LineString([(120.2, 42.9), (120.2, 43.1)]),
    ...                                   LineString([(119.9, 42.9), (119.9, 43.1)])], crs=4326)
    >>> layers = {"parks": parks, "corridors": cors}
    >>> m = park_corridor_matrix(layers, classes=["railway", "expressway"], include_planned=True)
    >>> m[["class", "target_id", "distance_km"]].values.tolist()
    [['expressway', 'E1', 6.521], ['expressway', 'E2', 14.673], ['railway', 'R1', 8.151]]
    >>> park_corridor_matrix(layers, classes=["expressway"], max_km=10)["target_id"].tolist()
    ['E1']
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
    """Park x corridor-feature grid of distances (km) from :func:`park_corridor_matrix`.

    Parameters
    ----------
    long : pandas.DataFrame
        The long table of :func:`park_corridor_matrix`.

    Returns
    -------
    pandas.DataFrame
        One row per park (``park_id``, ``park_name_zh``) and one column per
        feature, named ``<class>:<target_id>``, holding km; NaN where a pair
        was left out by ``max_km``.  An empty frame for an empty table.

    Examples
    --------
    >>> long = pd.DataFrame({"park_id": ["P1", "P1"], "park_name_zh": ["甲园", "甲园"],
    ...                      "class": ["expressway", "railway"], "target_id": ["E1", "R1"],
    ...                      "distance_km": [6.521, 8.151]})
    >>> pivot_matrix(long).columns.tolist()
    ['park_id', 'park_name_zh', 'expressway:E1', 'railway:R1']
    """
    if long.empty:
        return pd.DataFrame()
    wide = long.pivot_table(index=["park_id", "park_name_zh"], columns=["class", "target_id"], values="distance_km")
    wide.columns = [f"{c}:{t}" for c, t in wide.columns]
    return wide.reset_index()
