"""Interactive, offline-capable Folium maps of the Twin Star region."""

from .core import BASEMAPS, PALETTE, new_map, save_map
from .gallery import GALLERY, access_map, conflicts_map, distances_map, overview_map, scenario_map, write_gallery

__all__ = ["BASEMAPS", "PALETTE", "GALLERY", "new_map", "save_map", "overview_map", "distances_map", "conflicts_map",
           "access_map", "scenario_map", "write_gallery"]
