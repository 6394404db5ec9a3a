"""twinstar_gis: regional planning GIS for the Chifeng-Tongliao "Twin Star" region.

The package is laid out as its data flow (``docs/architecture.md``)::

    errors, settings     foundations: the error family, the one typed settings tree
    data/                read, check, convert; the embedded dataset
    model/               the network and the one travel-time model
    analysis/            distances, overlaps and conflicts, indicators
    planning/            suitability, joint-park sites, linkage, 2SFCA
    run/                 the run folder: staging, manifest, step outputs, brief
    maps/                the gallery and the print figures, rendered from a run folder
    pipeline/            ``twinstar run`` as a library call
    cli/                 the ``twinstar`` command

Imports only point down this list.  The names below are the public API.

Examples
--------
>>> import twinstar_gis as ts
>>> ts.Settings().speeds.expressway
100.0
"""

from ._version import __version__
from .errors import (AccessError, CRSError, DataSourceError, FontNotFoundError, PlanningError, ProjectFileError,
                     ResourceError, RunFolderError, SettingsError, TwinstarError, ValidationError)
from .settings import DEFAULT, Settings
from .data.crs import EQUAL_AREA_CRS, geodesic_area_km2, geodesic_length_km
from .data.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
from .data.io import read_layer, read_project
from .data.validate import validate_dataset, validate_layer
from .data.dataset import Dataset, build_dataset, load_dataset
from .model.network import Network, build_network
from .model.osm import import_osm
from .model.traveltime import (AccessResult, TravelTimeModel, accessibility, build_model, compare_scenarios, isochrones,
                               od_matrix, time_surface)
from .analysis.proximity import park_corridor_distances
from .analysis.overlay import conflict_report, overlay_layers
from .analysis.indicators import park_indicators
from .planning.suitability import construction_suitability
from .planning.sites import find_sites
from .planning.linkage import twin_city_linkage
from .planning.fca import two_step_fca
from .run.brief import write_brief
from .pipeline.steps import run_all

__all__ = [
    "__version__",
    # errors
    "TwinstarError", "DataSourceError", "CRSError", "ProjectFileError", "ValidationError", "SettingsError",
    "AccessError", "PlanningError", "RunFolderError", "FontNotFoundError", "ResourceError",
    # settings
    "Settings", "DEFAULT",
    # data
    "EQUAL_AREA_CRS", "geodesic_area_km2", "geodesic_length_km", "gcj02_to_wgs84", "wgs84_to_gcj02", "read_layer",
    "read_project", "validate_layer", "validate_dataset", "Dataset", "build_dataset", "load_dataset",
    # model
    "Network", "build_network", "import_osm", "TravelTimeModel", "AccessResult", "build_model", "time_surface",
    "od_matrix", "isochrones", "accessibility", "compare_scenarios",
    # analysis and planning
    "park_corridor_distances", "conflict_report", "overlay_layers", "park_indicators", "construction_suitability",
    "find_sites", "twin_city_linkage", "two_step_fca",
    # run
    "run_all", "write_brief",
]
