"""OpenStreetMap extracts (``.osm.pbf`` or ``.osm`` XML) into Twin Star layers and a project file.

Reader
------
GDAL's OSM driver through :mod:`pyogrio` (already a dependency; the OSM driver
is in the pyogrio wheels; PBF and XML go through the same driver).  A custom
``osmconf.ini`` (written to a temporary file and passed as the ``CONFIG_FILE``
open option) turns the tags we need into columns.  The driver's ``lines``
layer keeps the exact coordinates of the OSM way nodes, so two ways that share
an OSM node share a vertex: that is the topology :mod:`twinstar_gis.model.network`
uses (``node_crossings`` stays off for OSM data).

What becomes what
-----------------
* ``corridors``: ``highway=*`` mapped through :attr:`OsmSettings.highway_classes`
  (``trunk``/``primary`` become ``national_highway`` with a ``ref`` starting
  with G and ``provincial_highway`` with S); ``railway=rail`` (``highspeed=yes``
  -> ``high_speed_rail``; service tracks ``yard``, ``siding``, ``spur``,
  ``crossover`` are left out).  Kept: ``ref``, ``name``, ``name:zh``, ``oneway``,
  ``maxspeed`` (non-numeric values such as ``CN:urban`` are dropped and counted),
  ``bridge``, ``tunnel``, ``layer``, ``usage``, ``service``.  Other highway
  values (service, track, footway, ...) are left out and counted.
* ``nodes``: stations and halts (``railway=station|halt``; ``public_transport=station``
  with a ``railway`` or ``train`` tag), ``hsr_station`` where a high-speed line
  passes within :attr:`NetworkSettings.station_max_m`; airports
  (``aeroway=aerodrome``, points or areas -> centroid); ``highway=motorway_junction``
  -> ``interchange``.
* ``eco_zones``: ``boundary=protected_area`` and ``leisure=nature_reserve`` areas.
* ``parks``: ``landuse=industrial`` areas with a name: *candidate* parks.
* ``rivers``: ``waterway=river``.

Features are kept whole where they intersect the study area (the embedded
prefectures, or a boundary file): clipping roads at the boundary would make
artificial dead ends.

:func:`import_osm` writes ``osm.gpkg`` and ``project.toml`` (``base = "embedded"``
for what OSM lacks: boundaries, places, DEM).  The project uses the OSM
corridors, nodes and rivers; the protected areas and candidate parks are in the
GeoPackage and listed, commented out, in the project file (they would replace
the curated eco zones and parks).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from ..data.crs import EQUAL_AREA_CRS
from ..data.io import read_layer, write_gpkg
from ..errors import DataSourceError
from ..settings import DEFAULT, Settings
from .network import parse_speed

__all__ = ["OSM_SOURCE", "import_osm", "read_osm"]

log = logging.getLogger(__name__)

OSM_SOURCE = "OpenStreetMap contributors (ODbL 1.0)"
_SERVICE_TRACKS = ("yard", "siding", "spur", "crossover")
_COMMON = """osm_id=yes
osm_version=no
osm_timestamp=no
osm_uid=no
osm_user=no
osm_changeset=no
ignore=created_by,converted_by,source,time,ele,note,todo,openGeoDB:,fixme,FIXME
"""
#: The driver configuration: which tags become columns in each layer.
OSMCONF = f"""[general]
closed_ways_are_polygons=aeroway,amenity,boundary,building,landuse,leisure,natural,public_transport,railway
[points]
{_COMMON}attributes=name,name:zh,highway,railway,public_transport,train,aeroway,ref,iata
[lines]
{_COMMON}attributes=name,name:zh,highway,railway,waterway,ref,oneway,maxspeed,bridge,tunnel,layer,highspeed,usage,service
[multipolygons]
{_COMMON}attributes=name,name:zh,type,aeroway,boundary,leisure,landuse,railway,public_transport,train,protect_class
[multilinestrings]
{_COMMON}attributes=name,type
[other_relations]
{_COMMON}attributes=name,type
"""


def _read(path: Path, layer: str, conf: str) -> gpd.GeoDataFrame:
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer, CONFIG_FILE=conf)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FeatureError) as exc:
        raise DataSourceError(f"{path}: cannot read it as an OpenStreetMap extract ({layer}): {exc}") from None
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    return gdf


def _col(gdf, name):
    return gdf[name] if name in gdf.columns else pd.Series(None, index=gdf.index, dtype=object)


def _name(gdf):
    # GDAL launders the tag name:zh to the column name_zh.
    return _col(gdf, "name_zh").fillna(_col(gdf, "name")).fillna("")


def _prov(gdf):
    return {"source": OSM_SOURCE, "accuracy_m": 10.0, "geometry_quality": "surveyed", "status": "operating"}


def _roads(lines, settings: Settings) -> gpd.GeoDataFrame:
    mapping = dict(settings.osm.highway_classes)
    hw = _col(lines, "highway")
    cls = hw.map(mapping)
    ref = _col(lines, "ref").fillna("").astype(str).str.strip().str.upper()
    main = hw.isin(["trunk", "primary"])
    cls = cls.mask(main & ref.str.startswith("G"), "national_highway").mask(main & ref.str.startswith("S"),
                                                                           "provincial_highway")
    dropped = hw.notna() & cls.isna()
    if dropped.any():
        log.info("OSM: %d highway ways of other kinds left out (%s)", dropped.sum(),
                 ", ".join(f"{k} {v}" for k, v in hw[dropped].value_counts().head(8).items()))
    roads = lines[cls.notna()].copy()
    roads["class"] = cls[cls.notna()]
    return roads


def _rails(lines) -> gpd.GeoDataFrame:
    rw = _col(lines, "railway")
    service = _col(lines, "service").fillna("")
    keep = (rw == "rail") & ~service.isin(_SERVICE_TRACKS)
    rails = lines[keep].copy()
    rails["class"] = np.where(_col(rails, "highspeed").fillna("") == "yes", "high_speed_rail", "railway")
    return rails


def _corridors(lines, settings: Settings) -> gpd.GeoDataFrame:
    cors = pd.concat([_roads(lines, settings), _rails(lines)])
    speed, bad = parse_speed(_col(cors, "maxspeed").to_numpy())
    if bad.any():
        log.info("OSM: %d non-numeric maxspeed values dropped (%s)", bad.sum(),
                 ", ".join(sorted(set(_col(cors, "maxspeed")[bad].astype(str)))[:8]))
    out = gpd.GeoDataFrame({
        "corridor_id": "osm_w" + cors["osm_id"].astype(str),
        "name_zh": _name(cors), "name": _col(cors, "name"), "class": cors["class"],
        **{k: _col(cors, k) for k in ("ref", "oneway", "bridge", "tunnel", "layer", "usage", "service")},
        "maxspeed": np.where(np.isfinite(speed), speed, np.nan),
        **_prov(cors)}, geometry=cors.geometry.values, crs=4326)
    return out.reset_index(drop=True)


def _stations(points, polys, hsr, settings):
    frames = []
    for g in (points, polys):
        rw = _col(g, "railway")
        pt = _col(g, "public_transport")
        st = rw.isin(["station", "halt"]) | ((pt == "station") & (rw.notna() | (_col(g, "train") == "yes")))
        sel = g[st]
        prefix = "osm_n" if g is points else "osm_a"
        frames.append(pd.DataFrame({"node_id": prefix + sel["osm_id" if g is points else "_id"].astype(str),
                                    "name_zh": _name(sel), "geometry": shapely.centroid(np.asarray(sel.geometry.values))}))
    st = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)
    st["kind"] = "rail_station"
    if len(st) and len(hsr):
        d = settings.network.station_max_m
        near = shapely.STRtree(np.asarray(hsr.to_crs(EQUAL_AREA_CRS).geometry.values)).query(
            np.asarray(st.to_crs(EQUAL_AREA_CRS).geometry.values), predicate="dwithin", distance=d)[0]
        st.loc[np.unique(near), "kind"] = "hsr_station"
    return st


def _nodes(points, polys, corridors, settings) -> gpd.GeoDataFrame:
    st = _stations(points, polys, corridors[corridors["class"] == "high_speed_rail"], settings)
    frames = [st]
    for g, prefix, idcol in ((points, "osm_n", "osm_id"), (polys, "osm_a", "_id")):
        ap = g[_col(g, "aeroway") == "aerodrome"]
        frames.append(gpd.GeoDataFrame({"node_id": prefix + ap[idcol].astype(str), "name_zh": _name(ap), "kind": "airport"},
                                       geometry=shapely.centroid(np.asarray(ap.geometry.values)), crs=4326))
    ic = points[_col(points, "highway") == "motorway_junction"]
    frames.append(gpd.GeoDataFrame({"node_id": "osm_n" + ic["osm_id"].astype(str), "name_zh": _name(ic),
                                    "kind": "interchange"}, geometry=ic.geometry.values, crs=4326))
    nodes = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)
    for k, v in _prov(nodes).items():
        nodes[k] = v
    return nodes


def _areas(polys):
    polys = polys.copy()
    # Areas from closed ways carry osm_way_id, from multipolygon relations osm_id.
    rel, way = _col(polys, "osm_id"), _col(polys, "osm_way_id")
    polys["_id"] = np.where(rel.notna(), "r" + rel.astype(str), "w" + way.astype(str))
    eco = polys[(_col(polys, "boundary") == "protected_area") | (_col(polys, "leisure") == "nature_reserve")]
    eco = gpd.GeoDataFrame({"zone_id": "osm_" + eco["_id"], "name_zh": _name(eco), "kind": "nature_reserve",
                            "protection_level": _col(eco, "protect_class"), **_prov(eco)},
                           geometry=eco.geometry.values, crs=4326).drop(columns="status")
    ind = polys[(_col(polys, "landuse") == "industrial") & _name(polys).ne("")]
    parks = gpd.GeoDataFrame({"park_id": "osm_" + ind["_id"], "name_zh": _name(ind), "level": "candidate (OSM landuse=industrial)",
                              **_prov(ind)}, geometry=ind.geometry.values, crs=4326).drop(columns="status")
    return polys, eco, parks


def _rivers(lines):
    r = lines[_col(lines, "waterway") == "river"]
    return gpd.GeoDataFrame({"river_id": "osm_w" + r["osm_id"].astype(str), "name_zh": _name(r),
                             **_prov(r)}, geometry=r.geometry.values, crs=4326).drop(columns="status")


def _study_area(boundaries) -> np.ndarray:
    """The study-area polygon: the embedded prefectures, or a boundary file (all its polygons)."""
    if boundaries is None:
        from ..data.dataset import build_boundaries

        b = build_boundaries()
        b = b[b["level"] == "prefecture"]
    elif isinstance(boundaries, gpd.GeoDataFrame):
        b = boundaries.to_crs(4326)
    else:
        b = read_layer(boundaries)
        if "level" in b.columns and (b["level"] == "prefecture").any():
            b = b[b["level"] == "prefecture"]
    return shapely.union_all(np.asarray(b.geometry.values))


def _clip(gdf, area):
    """Features intersecting the study area, kept whole."""
    if len(gdf) == 0:
        return gdf.reset_index(drop=True)
    shapely.prepare(area)
    return gdf[shapely.intersects(area, np.asarray(gdf.geometry.values))].reset_index(drop=True)


def read_osm(path, *, boundaries=None, settings: Settings = DEFAULT) -> dict[str, gpd.GeoDataFrame]:
    """Read an OpenStreetMap extract into layers (see the module docstring).

    Parameters
    ----------
    path : path-like
        ``.osm.pbf`` or ``.osm`` (XML).
    boundaries : path-like or GeoDataFrame, optional
        Study area; default: the embedded Chifeng and Tongliao prefectures.
    settings : Settings
        ``settings.osm.highway_classes`` (tag -> class) and ``settings.network.station_max_m``.

    Returns
    -------
    dict of str to GeoDataFrame
        ``corridors``, ``nodes``, ``eco_zones``, ``parks`` (candidates), ``rivers``; all in WGS-84.
    """
    path = Path(path)
    if not path.exists():
        raise DataSourceError(f"{path}: file not found.")
    if not (path.name.lower().endswith(".osm") or path.name.lower().endswith(".osm.pbf")
            or path.suffix.lower() == ".pbf"):
        raise DataSourceError(f"{path}: an OpenStreetMap extract must end in .osm.pbf or .osm")
    fd, conf = tempfile.mkstemp(suffix=".ini", prefix="twinstar_osmconf_")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(OSMCONF)
        lines = _read(path, "lines", conf)
        points = _read(path, "points", conf)
        polys = _read(path, "multipolygons", conf)
    finally:
        os.unlink(conf)
    area = _study_area(boundaries)
    polys, eco, parks = _areas(polys)
    corridors = _clip(_corridors(lines, settings), area)
    layers = {"corridors": corridors,
              "nodes": _clip(_nodes(points, polys, corridors, settings), area),
              "eco_zones": _clip(eco, area), "parks": _clip(parks, area), "rivers": _clip(_rivers(lines), area)}
    for name, g in layers.items():
        g.attrs["source_file"] = f"{path} [{name}]"
    log.info("OSM %s: %s", path.name, ", ".join(f"{len(g)} {k}" for k, g in layers.items()))
    return layers


_PROJECT = """# Project written by `twinstar data import-osm` from {extract}.
# Data (c) {source}.  What OpenStreetMap lacks (boundaries, places, DEM) comes from the embedded dataset.
#   twinstar data validate --project {name}
name = "OpenStreetMap: {stem}"
base = "embedded"
{layers}
# Also in {gpkg}, not used by default (they would replace the curated layers):
{commented}"""


def import_osm(path, out_dir, *, boundaries=None, settings: Settings = DEFAULT) -> Path:
    """Import an OpenStreetMap extract: write ``osm.gpkg`` and ``project.toml`` into ``out_dir``.

    Returns the project file's path; every command accepts it with ``--project``.
    """
    path, out_dir = Path(path), Path(out_dir)
    layers = read_osm(path, boundaries=boundaries, settings=settings)
    if len(layers["corridors"]) == 0:
        raise DataSourceError(f"{path}: no roads or railways of the known classes inside the study area.")
    gpkg = out_dir / "osm.gpkg"
    write_gpkg(gpkg, {k: g for k, g in layers.items() if len(g)})
    used = [k for k in ("corridors", "nodes", "rivers") if len(layers[k])]
    spare = [k for k in ("eco_zones", "parks") if len(layers[k])]
    block = "\n".join(f'[layers.{k}]\npath = "{gpkg.name}"\nlayer = "{k}"\n' for k in used)
    commented = "\n".join(f'# [layers.{k}]\n# path = "{gpkg.name}"\n# layer = "{k}"\n' for k in spare)
    project = out_dir / "project.toml"
    project.write_text(_PROJECT.format(extract=path.name, source=OSM_SOURCE, name=project.name, stem=path.name.split(".")[0],
                                       layers=block, gpkg=gpkg.name, commented=commented or "# (none)\n"),
                       encoding="utf-8")
    log.info("wrote %s and %s", gpkg, project)
    return project
