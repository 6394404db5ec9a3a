"""Data: read, check and convert layers; the embedded dataset of the Twin Star region.

* :mod:`.schema` the layer kinds and their attributes (the data dictionary in code);
* :mod:`.crs` the CRS policy: storage in WGS-84, measuring on the ellipsoid / in equal area;
* :mod:`.gcj02` GCJ-02 and BD-09 (Amap, Baidu) to and from WGS-84;
* :mod:`.io` reading a planner's files and project files, writing outputs atomically;
* :mod:`.validate` every check of a layer, with feature ids, gathered into one report;
* :mod:`.checks` fact checks of the embedded data (stations on their lines, populations, reserves);
* :mod:`.dataset` assembling the embedded dataset from ``data/curated`` and installed packages;
* :mod:`.terrain` the DEM.

Nothing here knows about networks, analyses, runs or maps.
"""
