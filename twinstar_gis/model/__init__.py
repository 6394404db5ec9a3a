"""The one travel-time model: who reaches what within an hour or two.

* :mod:`.network` the routable, directed multimodal network built from line files;
* :mod:`.osm` OpenStreetMap extracts into corridor, node and zone layers;
* :mod:`.surface` the equal-area grid, the land surface and the cell graph;
* :mod:`.traveltime` the network joined to the land: OD, nearest facility, isochrones,
  travel-time surfaces, county statistics, scenarios -- all read off one graph.

The model, its assumptions and its known biases are stated once, in ``docs/methods.md``.
"""

from ..settings import DEFAULT
from .network import Network, build_network, validate_network
from .traveltime import (
                         AccessResult,
                         TravelTimeModel,
                         accessibility,
                         build_model,
                         compare_scenarios,
                         county_statistics,
                         isochrone_polygons,
                         isochrones,
                         od_matrix,
                         time_surface,
                         times_at,
                         times_between,
)

__all__ = [
                         "DEFAULT_MINUTES",
                         "AccessResult",
                         "Network",
                         "TravelTimeModel",
                         "accessibility",
                         "build_model",
                         "build_network",
                         "compare_scenarios",
                         "county_statistics",
                         "isochrone_polygons",
                         "isochrones",
                         "od_matrix",
                         "time_surface",
                         "times_at",
                         "times_between",
                         "validate_network",
]

#: Default isochrone thresholds (``access.minutes`` of the default settings).
DEFAULT_MINUTES = tuple(DEFAULT.access.minutes)
