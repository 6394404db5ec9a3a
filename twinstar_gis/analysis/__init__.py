"""Vector analyses on the layers: distances, overlaps and conflicts, 产城融合 indicators.

* :mod:`.distance` nearest features measured on the ellipsoid (STRtree candidates, exact refinement);
* :mod:`.proximity` every park's nearest corridor of each class;
* :mod:`.overlay` overlaps and conflicts with ecological zones, buffers in true metres, county adjacency;
* :mod:`.indicators` 产城融合 indicators per park.
"""
