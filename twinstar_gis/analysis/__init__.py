"""Vector analyses on the layers: distances, overlaps and conflicts, 产城融合 indicators.

* :mod:`.distance` nearest features and full distance tables measured on the WGS-84 ellipsoid
  (STRtree candidates in the regional equal-area projection, exact refinement with :class:`pyproj.Geod`):
  ``nearest``, ``all_pairs``, ``connector_lines``;
* :mod:`.proximity` every park's nearest corridor of each class, and park x corridor matrices:
  ``park_corridor_distances``, ``park_corridor_matrix``, ``class_targets``;
* :mod:`.overlay` overlaps and conflicts with ecological zones, buffers in true metres, county
  adjacency: ``conflict_report``, ``area_overlaps``, ``length_inside``, ``buffer_m``, ``overlay_layers``;
* :mod:`.indicators` 产城融合 indicators per park: ``park_indicators``.

Conventions: layers go in as GeoDataFrames in lon/lat (WGS-84, as stored) and are never modified;
geometry operations run on lon/lat, every distance, length and area of a result is measured on the
ellipsoid (metres, km, km2; mu = 亩, 1 km2 = 1500 mu).  These are ground distances, not travel
times: travel times come only from :mod:`twinstar_gis.model`.
"""
