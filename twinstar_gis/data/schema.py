"""The layers of a Twin Star dataset: geometry types and attributes.

This is the data dictionary in code; ``docs/data_dictionary.md`` describes
every attribute in words.  Validation (:mod:`twinstar_gis.data.validate`) checks
layers against these specs, for the embedded dataset and a planner's files
alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["LayerSpec", "LAYERS", "GEOMETRY_QUALITIES", "PROVENANCE_COLUMNS", "OPERATING", "status_of", "in_service"]

#: Allowed values of ``geometry_quality``.  *surveyed*: taken from a mapped or
#: surveyed dataset (its ``accuracy_m`` says how well); *indicative*: placed by
#: hand from descriptions, to be read only at the stated accuracy.
GEOMETRY_QUALITIES = ("surveyed", "indicative")

#: Columns every embedded feature carries.
PROVENANCE_COLUMNS = ("source", "accuracy_m", "geometry_quality")


@dataclass(frozen=True)
class LayerSpec:
    """What one layer kind must look like.

    Attributes
    ----------
    name : str
        Layer name in the GeoPackage and in project files.
    geom_types : tuple of str
        Allowed shapely geometry types.
    id_column : str
        Column holding a unique feature id (used in every message).
    required : tuple of str
        Columns a planner's layer must have (after ``columns`` renaming).
    description : str
    """

    name: str
    geom_types: tuple[str, ...]
    id_column: str
    required: tuple[str, ...]
    description: str
    optional: tuple[str, ...] = field(default=())


_POLY = ("Polygon", "MultiPolygon")
_LINE = ("LineString", "MultiLineString")
_POINT = ("Point", "MultiPoint")

LAYERS: dict[str, LayerSpec] = {
    s.name: s
    for s in [
        LayerSpec(
            "boundaries", _POLY, "adcode", ("adcode", "name_zh", "level", "parent_adcode"),
            "Prefectures (level=prefecture) and counties/districts (level=county).",
            ("name_en", "area_km2", "area_official_km2", "population_2020", "population_source"),
        ),
        LayerSpec(
            "places", _POINT, "place_id", ("place_id", "name_zh", "kind"),
            "City cores, county seats and park supporting facilities.",
            ("name_en", "county_adcode", "park_id"),
        ),
        LayerSpec(
            "parks", _POLY, "park_id", ("park_id", "name_zh"),
            "Industrial parks and development zones.",
            ("name_en", "city", "county_adcode", "level", "leading_industries",
             "declared_area_km2", "area_km2", "area_basis"),
        ),
        LayerSpec(
            "corridors", _LINE, "corridor_id", ("corridor_id", "name_zh", "class"),
            "Railways, high-speed railways, expressways, highways and local roads.",
            ("name_en", "design_speed_kmh", "status", "opening_year", "stations", "length_km",
             # Router semantics (OpenStreetMap imports; any line file may carry them):
             "oneway", "access", "junction", "ref", "maxspeed", "bridge", "tunnel", "layer"),
        ),
        LayerSpec(
            "nodes", _POINT, "node_id", ("node_id", "name_zh", "kind"),
            "Stations, airports, interchanges and route waypoints.",
            ("name_en", "county_adcode", "status", "opening_year"),
        ),
        LayerSpec(
            "turn_restrictions", _POINT, "restriction_id",
            ("restriction_id", "restriction", "from_corridor_id", "to_corridor_id", "via_corridor_ids"),
            "Turn restrictions (OSM type=restriction): no_* forbids the turn from one corridor to another at the "
            "point (the via node), only_* allows only that turn.",
            ("source",),
        ),
        LayerSpec(
            "eco_zones", _POLY, "zone_id", ("zone_id", "name_zh", "kind"),
            "Nature reserves and the Horqin sandy land.",
            ("name_en", "protection_level", "official_area_km2", "area_km2", "county_adcode"),
        ),
        LayerSpec(
            "rivers", _LINE, "river_id", ("river_id", "name_zh"),
            "The West Liao River system.",
            ("name_en", "length_km"),
        ),
        LayerSpec(
            "eco_redline", _POLY, "redline_id", ("redline_id",),
            "生态保护红线 (ecological protection red line): a hard constraint of the planning analyses.",
            ("name_zh", "kind", "source"),
        ),
        LayerSpec(
            "farmland", _POLY, "farmland_id", ("farmland_id",),
            "永久基本农田 (permanent basic farmland): a hard constraint of the planning analyses.",
            ("name_zh", "source"),
        ),
        LayerSpec(
            "urban_boundary", _POLY, "boundary_id", ("boundary_id",),
            "城镇开发边界 (urban development boundary): reported by the suitability analysis, not a constraint.",
            ("name_zh", "county_adcode", "source"),
        ),
    ]
}


#: The status of a corridor or station that gives none: what a layer draws is in service unless it says otherwise.
OPERATING = "operating"


def status_of(gdf: pd.DataFrame) -> pd.Series:
    """Each feature's ``status``, with a missing status (no column, or an empty cell) read as operating.

    Parameters
    ----------
    gdf : DataFrame or GeoDataFrame
        Corridors or nodes.

    Returns
    -------
    pandas.Series
        Aligned to ``gdf``'s index.

    Examples
    --------
    >>> status_of(pd.DataFrame({"status": ["planned", None]})).tolist()
    ['planned', 'operating']
    >>> status_of(pd.DataFrame({"kind": ["hsr_station"]})).tolist()
    ['operating']
    """
    if "status" not in gdf.columns:
        return pd.Series(OPERATING, index=gdf.index, dtype=object)
    return gdf["status"].astype(object).where(gdf["status"].notna(), OPERATING)


def in_service(gdf: pd.DataFrame, *, include_planned: bool = False) -> pd.DataFrame:
    """The features that count: those in operation, or every feature with ``include_planned``.

    This is the one rule every analysis uses (the network, the travel-time model, distances,
    indicators, planning): planned and under-construction corridors and stations count only in
    scenarios.

    Parameters
    ----------
    gdf : DataFrame or GeoDataFrame
        Corridors or nodes (a missing ``status`` means operating, see :func:`status_of`).
    include_planned : bool
        Keep every feature (a scenario).

    Returns
    -------
    DataFrame or GeoDataFrame
        The selected rows, index kept.

    Examples
    --------
    >>> df = pd.DataFrame({"id": ["a", "b", "c"], "status": ["operating", "planned", None]})
    >>> in_service(df)["id"].tolist()
    ['a', 'c']
    >>> len(in_service(df, include_planned=True))
    3
    """
    if include_planned:
        return gdf
    return gdf[(status_of(gdf) == OPERATING).to_numpy()]
