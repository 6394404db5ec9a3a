"""The one travel-time model: who reaches what within an hour or two.

* :mod:`.network` the routable, directed multimodal network built from line files;
* :mod:`.osm` OpenStreetMap extracts into corridor, node and zone layers;
* :mod:`.surface` the equal-area grid and the land surface;
* :mod:`.gridsearch` shortest times over the land grid (an implicit 8-neighbour Dijkstra);
* :mod:`.landuse` the land between the roads: local-road speeds per county, population per cell;
* :mod:`.traveltime` the network joined to the land: OD, nearest facility, isochrones,
  travel-time surfaces, county statistics, scenarios -- all read off one graph.

The model, its assumptions and its known biases are stated once, in ``docs/methods.md``.
"""

from ..settings import DEFAULT
from .network import Network, build_network, network_variant, validate_network
from .traveltime import (
    EXPRESSWAY_ACCESS,
    AccessResult,
    TravelTimeModel,
    accessibility,
    build_model,
    build_models,
    build_union_model,
    derive_model,
    compare_scenarios,
    county_statistics,
    coverage,
    expressway_surface,
    isochrone_polygons,
    isochrones,
    model_variant,
    od_matrix,
    time_surface,
    times_at,
    times_between,
)

__all__ = ["Network", "build_network", "network_variant", "validate_network", "AccessResult", "TravelTimeModel",
           "accessibility", "compare_scenarios", "build_model", "build_models", "build_union_model", "derive_model", "model_variant", "coverage",
           "expressway_surface", "EXPRESSWAY_ACCESS", "time_surface", "times_at", "times_between", "isochrone_polygons",
           "isochrones", "od_matrix", "county_statistics", "DEFAULT_MINUTES"]

#: Default isochrone thresholds (``access.minutes`` of the default settings).
DEFAULT_MINUTES = tuple(DEFAULT.access.minutes)
