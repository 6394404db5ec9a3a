"""Validate layers once and report every problem, with feature ids.

Two levels:

* :func:`validate_layer` checks one layer against its :class:`~twinstar_gis.data.schema.LayerSpec`:
  emptiness, required attributes, unique ids, missing / empty / wrong-type /
  invalid geometry, allowed ``geometry_quality`` values.  With ``fix=True``
  invalid geometry is repaired (``shapely.make_valid``, keeping the layer's
  geometry family) and every repair is reported.
* :func:`validate_dataset` adds the checks that need the real boundaries:
  counties tile their prefecture; points and parks lie in the county they
  claim; corridors pass through the counties of their declared stations;
  park areas match declared areas.

Nothing raises until everything has been checked; then
:meth:`ValidationReport.raise_if_failed` raises one
:class:`~twinstar_gis.ValidationError` that lists all problems.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from pyproj import CRS, Transformer
from shapely.ops import nearest_points

from ..errors import ValidationError
from .crs import EQUAL_AREA_CRS, GEOD, geodesic_area_km2
from .schema import GEOMETRY_QUALITIES, LAYERS
from ..settings import CORRIDOR_CLASSES, DEFAULT, RAIL_CLASSES, Settings

__all__ = ["Check", "ValidationReport", "validate_layer", "validate_geometry", "validate_dataset",
           "TWIN_STAR_BOUNDS", "study_bounds", "study_area_geometry", "check_region", "check_layer_region",
           "check_corridors", "check_points_in_region"]

log = logging.getLogger(__name__)

_MAX_IDS = 12
_FAMILY = {"Polygon": "polygon", "MultiPolygon": "polygon", "LineString": "line",
           "MultiLineString": "line", "Point": "point", "MultiPoint": "point"}


def _ids(values) -> str:
    values = [str(v) for v in values]
    head = ", ".join(values[:_MAX_IDS])
    return head + (f" … (+{len(values) - _MAX_IDS} more)" if len(values) > _MAX_IDS else "")


@dataclass
class Check:
    """One check that was run: its name, whether it passed, and what it measured."""

    name: str
    passed: bool
    detail: str = ""


@dataclass
class ValidationReport:
    """Everything validation found."""

    checks: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    fixes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found.

        Returns
        -------
        bool
        """
        return not self.problems

    def add(self, name: str, problems: list[str], detail: str = "") -> None:
        """Record one check and its problems.

        Parameters
        ----------
        name : str
            What was checked.
        problems : list of str
            Empty when it passed.
        detail : str
            What it measured.
        """
        self.checks.append(Check(name, not problems, detail))
        self.problems.extend(problems)

    def raise_if_failed(self) -> None:
        """Raise one :class:`~twinstar_gis.ValidationError` listing every problem, if there is any.

        Raises
        ------
        ValidationError
        """
        if self.problems:
            raise ValidationError(self.problems)


def _label(gdf, kind) -> str:
    src = gdf.attrs.get("source_file")
    return f"{src} [{kind}]" if src else f"layer {kind!r}"


def _feature_ids(gdf, kind) -> pd.Series:
    col = LAYERS[kind].id_column
    if col in gdf.columns:
        return gdf[col].astype(str)
    return pd.Series([f"row {i}" for i in range(len(gdf))], index=gdf.index)


def _repair(geom, family):
    fixed = shapely.make_valid(geom)
    if fixed.geom_type == "GeometryCollection":
        keep = [g for g in shapely.get_parts(fixed) if _FAMILY.get(g.geom_type) == family]
        if not keep:
            return None
        fixed = shapely.union_all(keep) if len(keep) > 1 else keep[0]
    return fixed


def _check_geometry(gdf, ids, label, name, allowed, fix, report):
    """Empty, wrong-type (when ``allowed`` is given) and invalid geometry, with feature ids; optional repair."""
    geoms = gdf.geometry.values
    none = np.asarray(gdf.geometry.isna()) | np.asarray(shapely.is_empty(np.asarray(geoms)))
    report.add(f"{name}: no empty geometry",
               [f"{label}: empty or missing geometry for {_ids(ids[none])}"] if none.any() else [])
    types = np.asarray(gdf.geometry.geom_type.fillna("None"))
    wrong = ~none & ~np.isin(types, allowed) if allowed else np.zeros(len(gdf), bool)
    if allowed:
        report.add(
            f"{name}: geometry type",
            [f"{label}: wrong geometry type for {_ids(ids[wrong])}: got {', '.join(sorted(set(types[wrong])))}, "
             f"expected {' or '.join(allowed)}"] if wrong.any() else [],
        )
    check = ~none & ~wrong
    invalid = check & ~np.asarray(shapely.is_valid(np.asarray(geoms)))
    if invalid.any() and fix:
        for idx in np.flatnonzero(invalid):
            before = geoms[idx]
            family = _FAMILY[allowed[0]] if allowed else _FAMILY.get(before.geom_type, "polygon")
            reason = shapely.is_valid_reason(before)
            after = _repair(before, family)
            if after is None or after.is_empty:
                report.problems.append(f"{label}: {ids.iloc[idx]}: invalid geometry ({reason}) could not be repaired")
                continue
            a0, a1 = geodesic_area_km2([before.buffer(0) if family == "polygon" else before])[0], geodesic_area_km2([after])[0]
            report.fixes.append(f"{label}: {ids.iloc[idx]}: repaired ({reason}); area {a0:.4f} -> {a1:.4f} km2")
            gdf.iloc[idx, gdf.columns.get_loc(gdf.geometry.name)] = after
        report.checks.append(Check(f"{name}: valid geometry", True, f"{int(invalid.sum())} repaired"))
    else:
        report.add(
            f"{name}: valid geometry",
            [f"{label}: invalid geometry for {_ids(ids[invalid])} "
             f"({'; '.join(sorted(set(shapely.is_valid_reason(np.asarray(geoms)[invalid]))))[:300]}). "
             "Repair it with `--fix` (reports what changed) or in your GIS."] if invalid.any() else [],
        )
    return gdf


def validate_geometry(gdf: gpd.GeoDataFrame, *, label: str, id_column: str | None = None, fix: bool = False):
    """Geometry checks for a layer of no particular kind (e.g. a file given to ``twinstar overlap``).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
    label : str
        The layer or file, for messages.
    id_column : str, optional
        Feature ids (else row numbers).
    fix : bool, default False
        Repair invalid geometry and report each repair.

    Returns
    -------
    (geopandas.GeoDataFrame, ValidationReport)
        Empty layer, empty and invalid geometry, each with feature ids.
    """
    report = ValidationReport()
    gdf = gdf.copy()
    if len(gdf) == 0:
        report.add(f"{label}: not empty", [f"{label}: the layer is empty (0 features)."])
        return gdf, report
    if id_column and id_column in gdf.columns:
        ids = gdf[id_column].astype(str)
    else:
        ids = pd.Series([f"row {i}" for i in range(len(gdf))], index=gdf.index)
    return _check_geometry(gdf, ids, label, label, None, fix, report), report


def validate_layer(gdf: gpd.GeoDataFrame, kind: str, *, fix: bool = False, report: ValidationReport | None = None):
    """Check one layer; return ``(layer, report)``.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer, in EPSG:4326.  Not modified.
    kind : str
        A layer kind of :data:`twinstar_gis.data.schema.LAYERS`.
    fix : bool, default False
        Repair invalid geometry and report each repair.

    Returns
    -------
    (geopandas.GeoDataFrame, ValidationReport)
        The (possibly repaired) copy of the layer and the report.
    """
    report = report or ValidationReport()
    spec = LAYERS[kind]
    label = _label(gdf, kind)
    gdf = gdf.copy()
    if len(gdf) == 0:
        report.add(f"{kind}: not empty", [f"{label}: the layer is empty (0 features). Check the layer name or the file."])
        return gdf, report
    missing = [c for c in spec.required if c not in gdf.columns]
    report.add(
        f"{kind}: required attributes",
        [f"{label}: missing attribute(s) {', '.join(missing)}; the file has {', '.join(map(str, (c for c in gdf.columns if c != gdf.geometry.name))) or 'no attributes'}. "
         f"Rename them in the file or map them with `columns = {{{missing[0]} = \"YOUR_COLUMN\"}}` in the project file."]
        if missing else [],
    )
    ids = _feature_ids(gdf, kind)
    probs = []
    if spec.id_column in gdf.columns:
        null = gdf[spec.id_column].isna()
        if null.any():
            probs.append(f"{label}: {int(null.sum())} feature(s) without {spec.id_column} (rows {_ids(np.flatnonzero(null))})")
        dup = ids[ids.duplicated(keep=False) & ~null]
        if len(dup):
            probs.append(f"{label}: duplicate {spec.id_column}: {_ids(sorted(set(dup)))}")
    report.add(f"{kind}: unique ids", probs)

    gdf = _check_geometry(gdf, ids, label, kind, spec.geom_types, fix, report)
    if "geometry_quality" in gdf.columns:
        bad = ~gdf["geometry_quality"].isin(GEOMETRY_QUALITIES) & gdf["geometry_quality"].notna()
        report.add(f"{kind}: geometry_quality values",
                   [f"{label}: geometry_quality must be {' or '.join(GEOMETRY_QUALITIES)} for {_ids(ids[bad])}"] if bad.any() else [])
    return gdf, report


# --------------------------------------------------------------------------
# Cross-layer checks
# --------------------------------------------------------------------------

def _counties(boundaries):
    c = boundaries[boundaries["level"] == "county"]
    return c.set_index(c["adcode"].astype(str))


def _check_tiling(boundaries, report, settings):
    ea = boundaries.to_crs(EQUAL_AREA_CRS)
    prefs = ea[ea["level"] == "prefecture"]
    counties = ea[ea["level"] == "county"]
    details, probs = [], []
    for _, pref in prefs.iterrows():
        kids = counties[counties["parent_adcode"].astype(str) == str(pref["adcode"])]
        if kids.empty:
            continue
        union = shapely.union_all(kids.geometry.values)
        gap = pref.geometry.difference(union).area / 1e6
        outside = union.difference(pref.geometry).area / 1e6
        overlap = max(0.0, (kids.geometry.area.sum() - union.area) / 1e6)
        details.append(f"{pref['name_zh']}: {len(kids)} counties, gap {gap:.6f} km2, overlap {overlap:.6f} km2, outside {outside:.6f} km2")
        tol = settings.tiling_tolerance_km2
        if gap > tol or overlap > tol or outside > tol:
            probs.append(f"boundaries: the counties of {pref['adcode']} do not tile it "
                         f"(gap {gap:.4f}, overlap {overlap:.4f}, outside {outside:.4f} km2; tolerance {tol} km2)")
    report.add("boundaries: counties tile their prefecture", probs, "; ".join(details))


def _check_points_in_county(layer, kind, counties, report, county_col="county_adcode"):
    if layer is None or county_col not in layer.columns:
        return
    ids = _feature_ids(layer, kind)
    claims = layer[county_col].astype("string")
    probs, n, wrong = [], 0, []
    for idx, claim in claims.items():
        if pd.isna(claim) or claim == "" or claim not in counties.index:
            if not (pd.isna(claim) or claim == ""):
                probs.append(f"{_label(layer, kind)}: {ids[idx]} claims unknown county {claim}")
            continue
        n += 1
        if not counties.geometry[claim].covers(layer.geometry[idx]):
            actual = counties.index[counties.geometry.covers(layer.geometry[idx])].tolist()
            probs.append(f"{_label(layer, kind)}: {ids[idx]} claims county {claim} but lies in {actual or 'no county of the region'}")
            wrong.append((idx, claim))
    probs += _displacement_hint(layer, kind, counties, wrong, n)
    report.add(f"{kind}: points lie in their county", probs, f"{n} checked")


def _check_polygons_in_county(layer, kind, counties, report, settings):
    if layer is None or "county_adcode" not in layer.columns:
        return
    ids = _feature_ids(layer, kind)
    probs, shares, wrong = [], [], []
    for idx, claim in layer["county_adcode"].astype("string").items():
        if pd.isna(claim) or claim == "":
            continue
        if claim not in counties.index:
            probs.append(f"{_label(layer, kind)}: {ids[idx]} claims unknown county {claim}")
            continue
        g = layer.geometry[idx]
        total = geodesic_area_km2([g])[0]
        inside = geodesic_area_km2([g.intersection(counties.geometry[claim])])[0]
        share = inside / total if total > 0 else 0.0
        shares.append(share)
        if share < settings.min_share_in_county:
            probs.append(f"{_label(layer, kind)}: {ids[idx]} claims county {claim} but only {share:.0%} of its area lies there")
            wrong.append((idx, claim))
    probs += _displacement_hint(layer, kind, counties, wrong, len(shares))
    report.add(f"{kind}: polygons lie in their county", probs,
               f"{len(shares)} checked, smallest share {min(shares):.0%}" if shares else "none claim a county")


_COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


def _displacement_hint(layer, kind, counties, wrong, checked) -> list[str]:
    """When most features miss the county they claim, one line on how far and which way they are displaced.

    A wrong Gauss-Krüger zone moves a whole layer by ~3 degrees (about 245 km here), GCJ-02 by
    ~0.5 km: the mean offset from each claimed county (its representative point) says which.
    """
    if len(wrong) < 2 or len(wrong) < 0.5 * checked:
        return []
    feats = shapely.get_coordinates(np.asarray(layer.geometry[[i for i, _ in wrong]].representative_point().values))
    home = shapely.get_coordinates(np.asarray(counties.geometry[[c for _, c in wrong]].representative_point().values))
    az, _, d = GEOD.inv(home[:, 0], home[:, 1], feats[:, 0], feats[:, 1])
    east = float(np.mean(d * np.sin(np.radians(az)))) / 1000.0
    north = float(np.mean(d * np.cos(np.radians(az)))) / 1000.0
    km = float(np.hypot(east, north))
    way = _COMPASS[int(((np.degrees(np.arctan2(east, north)) + 360 + 22.5) % 360) // 45)]
    cause = (_GK_HINT if km > 50 else "a GCJ-02 / BD-09 export read as WGS-84 (give coord_system = \"gcj02\" or \"bd09\")"
             if km < 3 else "a wrong CRS, or county codes of another edition")
    return [f"{_label(layer, kind)}: {len(wrong)} of {checked} features lie outside the county they claim, on average "
            f"{km:.0f} km {way} of it: the whole layer looks displaced. Likely cause: {cause}."]


def _check_park_areas(parks, report, settings):
    if parks is None or "declared_area_km2" not in parks.columns:
        return
    ids = _feature_ids(parks, "parks")
    area = geodesic_area_km2(parks.geometry.values)
    probs, lines = [], []
    for i, (idx, declared) in enumerate(pd.to_numeric(parks["declared_area_km2"], errors="coerce").items()):
        if not np.isfinite(declared) or declared <= 0:
            continue
        quality = parks["geometry_quality"].get(idx, "indicative") if "geometry_quality" in parks else "indicative"
        tol = settings.area_tolerance_surveyed if quality == "surveyed" else settings.area_tolerance_indicative
        rel = abs(area[i] - declared) / declared
        lines.append(f"{ids[idx]} {area[i]:.2f}/{declared:.2f} km2")
        if rel > tol:
            probs.append(f"{_label(parks, 'parks')}: {ids[idx]} has {area[i]:.2f} km2 on the ellipsoid but declares "
                         f"{declared:.2f} km2 ({rel:.1%} off; {quality} tolerance {tol:.0%})")
    report.add("parks: area matches declared area", probs, "; ".join(lines))


def _check_corridor_stations(corridors, nodes, counties, report, settings):
    if corridors is None or nodes is None or "stations" not in corridors.columns:
        return
    node_ix = nodes.set_index(nodes["node_id"].astype(str))
    ids = _feature_ids(corridors, "corridors")
    probs, n = [], 0
    for idx, stations in corridors["stations"].items():
        if not isinstance(stations, str) or not stations.strip():
            continue
        line = corridors.geometry[idx]
        for sid in [s.strip() for s in stations.split(";") if s.strip()]:
            if sid not in node_ix.index:
                probs.append(f"{_label(corridors, 'corridors')}: {ids[idx]} declares station {sid}, which is not in the nodes layer")
                continue
            node = node_ix.loc[sid]
            n += 1
            county = str(node.get("county_adcode") or "")
            if county in counties.index and not line.intersects(counties.geometry[county]):
                probs.append(f"{_label(corridors, 'corridors')}: {ids[idx]} does not pass through county {county} of its station {sid}")
            p, q = nearest_points(node.geometry, line)
            d = GEOD.inv(p.x, p.y, q.x, q.y)[2]
            if d > settings.station_on_line_m:
                probs.append(f"{_label(corridors, 'corridors')}: {ids[idx]} passes {d:.0f} m from its station {sid} "
                             f"(more than {settings.station_on_line_m:.0f} m)")
    report.add("corridors: pass through their stations' counties", probs, f"{n} station claims checked")


def validate_dataset(layers: dict, *, fix: bool = False, settings: Settings = DEFAULT, study_area=None):
    """Validate a whole dataset (dict of layer kind -> GeoDataFrame).

    Besides each layer's own checks: the region sanity check (:func:`check_region`;
    the study area is ``study_area``, else the ``boundaries`` layer, else
    :data:`TWIN_STAR_BOUNDS`) and the corridor checks (:func:`check_corridors`: known
    classes, plausible speeds, rail lines with stations); with boundaries, the counties'
    tiling, features in the county they claim (with the likely cause when a whole layer is
    displaced), corridors through their stations' counties, park areas.

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
    fix : bool, default False
        Repair invalid geometry.
    settings : Settings
        Tolerances and the region margin.
    study_area : tuple or shapely geometry, optional
        Lon/lat bounds or the area itself.

    Returns
    -------
    (dict, ValidationReport)
        The (possibly repaired) layers and the report.  Call
        ``report.raise_if_failed()`` to turn problems into one error.
    """
    report = ValidationReport()
    out = {}
    unknown = [k for k in layers if k not in LAYERS]
    if not any(k in LAYERS for k in layers):
        report.add("layers: at least one known layer kind", [
            f"no layer is named after a layer kind (found {unknown or 'none'}; known: {', '.join(LAYERS)}). "
            "For a single file give its kind (twinstar data validate FILE --kind parks), or map files to kinds in a project file."])
        return out, report
    if unknown:
        report.warnings.append(f"layers {unknown} are not layer kinds and were not checked")
    for kind, gdf in layers.items():
        if kind not in LAYERS:
            continue
        out[kind], report = validate_layer(gdf, kind, fix=fix, report=report)
    if report.problems:  # cross-layer checks need sound layers
        return out, report
    check_region(out, report, settings=settings, study_area=study_area)
    check_corridors(out.get("corridors"), out.get("nodes"), report, settings=settings)
    if report.problems:
        return out, report
    b = out.get("boundaries")
    if b is not None and {"level", "parent_adcode"} <= set(b.columns):
        _check_tiling(b, report, settings)
        counties = _counties(b)
        _check_points_in_county(out.get("places"), "places", counties, report)
        _check_points_in_county(out.get("nodes"), "nodes", counties, report)
        _check_polygons_in_county(out.get("parks"), "parks", counties, report, settings)
        _check_polygons_in_county(out.get("eco_zones"), "eco_zones", counties, report, settings)
        _check_corridor_stations(out.get("corridors"), out.get("nodes"), counties, report, settings)
    _check_park_areas(out.get("parks"), report, settings)
    return out, report


# --------------------------------------------------------------------------
# Region sanity check and corridor attributes
# --------------------------------------------------------------------------

#: Lon/lat bounds (west, south, east, north) of the two prefectures, Chifeng and Tongliao
#: (the embedded boundaries' extent, rounded outward to 0.01 degree).
TWIN_STAR_BOUNDS = (116.34, 41.28, 123.72, 45.66)


def study_bounds(layers: dict | None = None, *, study_area=None) -> tuple:
    """The study area's lon/lat bounds: ``study_area``, the ``boundaries`` layer, or :data:`TWIN_STAR_BOUNDS`.

    Parameters
    ----------
    layers : dict, optional
    study_area : tuple or shapely geometry, optional

    Returns
    -------
    tuple
        (west, south, east, north).
    """
    if study_area is not None:
        if hasattr(study_area, "bounds") and not isinstance(study_area, tuple):
            return tuple(float(v) for v in study_area.bounds)
        return tuple(float(v) for v in study_area)
    b = (layers or {}).get("boundaries")
    if b is not None and len(b):
        bounds = b.total_bounds
        if np.all(np.isfinite(bounds)):
            return tuple(float(v) for v in bounds)
    return TWIN_STAR_BOUNDS


def study_area_geometry(layers: dict | None = None, *, study_area=None):
    """The study area as one lon/lat geometry: ``study_area`` (bounds or a geometry), the union of the
    ``boundaries`` layer (the project's own: a planner's study area elsewhere works), or the Twin Star box.

    Parameters
    ----------
    layers : dict, optional
    study_area : tuple or shapely geometry, optional

    Returns
    -------
    shapely.Geometry
    """
    if study_area is not None:
        if isinstance(study_area, shapely.Geometry):
            return study_area
        return shapely.box(*study_bounds(study_area=study_area))
    b = (layers or {}).get("boundaries")
    if b is not None and len(b) and np.all(np.isfinite(b.total_bounds)):
        if "level" in b.columns and (b["level"] == "prefecture").any():
            b = b[b["level"] == "prefecture"]  # the counties tile them (checked elsewhere): fewer, larger pieces
        geoms = np.asarray(b.geometry.values)
        geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
        if len(geoms):
            return shapely.union_all(shapely.make_valid(geoms))
    return shapely.box(*TWIN_STAR_BOUNDS)


def _coordinate_cause(x, y) -> str:
    """The likely cause of coordinates that are no valid lon/lat of the region."""
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return "non-finite coordinates (NaN or infinity)"
    big = max(np.abs(x).max(), np.abs(y).max())
    if big > 1e8:
        return f"absurd coordinates (up to {big:.3g}); the file is corrupt or uses a no-data value as a coordinate"
    if 38 <= np.median(x) <= 50 and 110 <= np.median(y) <= 130:
        return ("longitude and latitude look swapped (x values {:.1f}-{:.1f} are latitudes, y values {:.1f}-{:.1f} "
                "are longitudes); swap the columns or the axis order").format(x.min(), x.max(), y.min(), y.max())
    if big > 180:
        return ("values up to {:.0f} look like projected metres (e.g. Gauss-Krüger) labelled as degrees; "
                "give the file's real CRS (e.g. --crs EPSG:4549 or `crs = ...` in the project file)").format(big)
    return "latitudes beyond +-90 degrees; check the axis order and the CRS"


class _Region:
    """The study area in a local azimuthal equidistant projection (true metres near it), grown by the margin."""

    def __init__(self, area_ll, margin_km: float):
        c = area_ll.centroid if not area_ll.is_empty else shapely.Point(0, 0)
        self.crs = CRS.from_proj4(f"+proj=aeqd +lat_0={c.y:.6f} +lon_0={c.x:.6f} +datum=WGS84 +units=m +no_defs")
        self._fwd = Transformer.from_crs(4326, self.crs, always_xy=True)
        self.area_ll = area_ll
        shapely.prepare(area_ll)
        self.area = self.project(np.asarray([area_ll]))[0]
        self.margin_m = margin_km * 1000.0
        # the grown area of the share test: simplified by 1 % of the margin first (exact distances use the area)
        self.grown = shapely.buffer(shapely.simplify(self.area, max(self.margin_m / 100, 1.0)), self.margin_m, quad_segs=4)
        shapely.prepare(self.grown)
        self.bounds = study_bounds(study_area=area_ll)

    def project(self, geoms):
        return shapely.transform(geoms, lambda xy: np.column_stack(self._fwd.transform(xy[:, 0], xy[:, 1])))

    def shares_and_distances(self, geoms) -> tuple[np.ndarray, np.ndarray]:
        """Share of each feature (length, area, or 1/0 for points) within the grown area, and its distance (km)."""
        share = np.ones(len(geoms))
        dist = np.zeros(len(geoms))
        cand = ~shapely.contains(self.area_ll, geoms) & ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
        if not cand.any():
            return share, dist
        proj = self.project(geoms[cand])
        ok = np.isfinite(shapely.bounds(proj)).all(axis=1)
        d = np.full(len(proj), np.inf)
        d[ok] = shapely.distance(proj[ok], self.area) / 1000.0
        sh = np.zeros(len(proj))
        near = ok & (d <= self.margin_m / 1000.0)
        if near.any():
            g = proj[near]
            inter = shapely.intersection(g, self.grown)
            dim = shapely.get_dimensions(g)
            size = np.where(dim == 2, shapely.area(g), np.where(dim == 1, shapely.length(g), 1.0))
            part = np.where(dim == 2, shapely.area(inter), np.where(dim == 1, shapely.length(inter), 1.0))
            sh[near] = np.where(size > 0, part / np.where(size > 0, size, 1.0), 1.0)
        share[cand], dist[cand] = sh, d
        return share, dist

    def describe(self) -> str:
        w, s, e, n = self.bounds
        return f"lon {w:.2f}-{e:.2f}, lat {s:.2f}-{n:.2f}"


def _plausible(gdf, ids, label, name, report) -> bool:
    """Finite lon/lat within +-180 / +-90; otherwise one problem with the likely cause."""
    xy = shapely.get_coordinates(np.asarray(gdf.geometry.values))
    counts = shapely.get_num_coordinates(np.asarray(gdf.geometry.values))
    owner = np.repeat(np.arange(len(gdf)), counts)
    bad_xy = ~np.isfinite(xy).all(axis=1) | (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)
    if bad_xy.any():
        rows = np.unique(owner[bad_xy])
        cause = _coordinate_cause(xy[bad_xy, 0], xy[bad_xy, 1])
        report.add(f"{name}: plausible coordinates", [f"{label}: impossible lon/lat for {_ids(ids.iloc[rows])}: {cause}."])
        return False
    report.add(f"{name}: plausible coordinates", [])
    return True


def check_layer_region(gdf, name: str, report: ValidationReport, *, region: _Region | None = None,
                       settings: Settings = DEFAULT, layers: dict | None = None, study_area=None,
                       id_column: str | None = None) -> None:
    """Region sanity check of one layer (of any kind, or a file of no kind: ids are then row numbers).

    Every feature must have plausible lon/lat and lie mostly (at least half its length or area)
    within ``settings.region_margin_km`` of the study area (:func:`study_area_geometry`), measured
    as a true distance (a local azimuthal equidistant projection), not a bounding box.

    Parameters
    ----------
    gdf : GeoDataFrame
        In lon/lat.
    name : str
        Layer kind (or a name for a file of no kind).
    report : ValidationReport
        Problems are added here.
    region : optional
        A prepared study area (:func:`check_region` passes one for all layers).
    settings, layers, study_area
        Where the margin and the study area come from when ``region`` is not given.
    id_column : str, optional
        The ids of a layer of no kind (else row numbers).
    """
    if gdf is None or not len(gdf):
        return
    if name in LAYERS:
        ids = _feature_ids(gdf, name)
    elif id_column and id_column in gdf.columns:
        ids = gdf[id_column].astype(str)
    else:
        ids = pd.Series([f"row {i}" for i in range(len(gdf))], index=gdf.index)
    label = _label(gdf, name)
    if not _plausible(gdf, ids, label, name, report):
        return
    region = region or _Region(study_area_geometry(layers, study_area=study_area), settings.region_margin_km)
    share, dist = region.shares_and_distances(np.asarray(gdf.geometry.values))
    bad = share < 0.5
    probs = []
    if bad.any():
        far = float(np.max(np.where(np.isfinite(dist[bad]), dist[bad], 1e9)))
        margin = settings.region_margin_km
        each = [f"{i} ({_km(d)})" if d > margin else f"{i} ({100 * (1 - sh):.0f} % of it more than {margin:g} km out)"
                for i, d, sh in zip(ids[bad], dist[bad], share[bad])]
        probs.append(
            f"{label}: {_ids(each)} lie (mostly) outside the study area ({region.describe()}, + {margin:g} km, "
            f"measured on the ground). Likely cause: {_GK_HINT if far < 3000 else 'a wrong CRS'}, "
            "a wrong coord_system, or features of another region.")
    report.add(f"{name}: inside the study area", probs,
               f"study area {region.describe()} + {settings.region_margin_km:g} km (true distance)")


def _km(d: float) -> str:
    return "far away" if not np.isfinite(d) or d > 1e6 else f"{d:.0f} km away"


def check_region(layers: dict, report: ValidationReport, *, settings: Settings = DEFAULT, study_area=None) -> None:
    """Region sanity check of every layer kind in ``layers`` (:func:`check_layer_region`).

    Problems name the layer, the feature ids with their distance and the likely cause: swapped
    axes, metres labelled degrees, a wrong Gauss-Krüger zone or CRS, data of another region.

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
    report : ValidationReport
        Problems are added here.
    settings : Settings
        ``region_margin_km``.
    study_area : tuple or shapely geometry, optional
        Else the ``boundaries`` layer, else :data:`TWIN_STAR_BOUNDS`.
    """
    region = None
    for kind, gdf in layers.items():
        if kind not in LAYERS or not len(gdf):
            continue
        if kind == "boundaries" and study_area is None:  # the study area itself: only its coordinates can be wrong
            _plausible(gdf, _feature_ids(gdf, kind), _label(gdf, kind), kind, report)
            continue
        region = region or _Region(study_area_geometry(layers, study_area=study_area), settings.region_margin_km)
        check_layer_region(gdf, kind, report, region=region, settings=settings)


_GK_HINT = ("a wrong CRS or Gauss-Krüger zone (the region lies in CGCS2000 3-degree Gauss-Krüger zones 39-41: "
            "EPSG:4527-4529, or EPSG:4548-4550 (CM 117E-123E) without the zone number)")


def check_points_in_region(points, *, layers: dict | None = None, settings: Settings = DEFAULT, what: str = "point") -> None:
    """Raise :class:`~twinstar_gis.ValidationError` for (lon, lat) pairs that are impossible or far from the study area.

    Parameters
    ----------
    points : iterable of (lon, lat)
    layers : dict, optional
        Whose ``boundaries`` are the study area.
    settings : Settings
        ``region_margin_km``.
    what : str
        How the points are named in messages (``--origin-point``).
    """
    area = study_area_geometry(layers)
    region = None
    probs = []
    for lon, lat in points:
        if not (np.isfinite(lon) and np.isfinite(lat)) or abs(lon) > 180 or abs(lat) > 90:
            probs.append(f"{what} {lon:g},{lat:g}: not a WGS-84 lon/lat "
                         f"({_coordinate_cause(np.array([lon]), np.array([lat]))})")
            continue
        region = region or _Region(area, settings.region_margin_km)
        share, dist = region.shares_and_distances(np.asarray([shapely.Point(lon, lat)]))
        if share[0] < 0.5:
            probs.append(f"{what} {lon:g},{lat:g} lies outside the study area ({region.describe()}, "
                         f"+ {settings.region_margin_km:g} km; it is {_km(dist[0])}); give LON,LAT in that order")
    if probs:
        raise ValidationError(probs)


def check_corridors(corridors, nodes, report: ValidationReport, *, settings: Settings = DEFAULT) -> None:
    """Corridor attributes that change travel times: class, design speed, stations of rail lines.

    * ``class`` must be one of :data:`twinstar_gis.settings.CORRIDOR_CLASSES` (a project's
      ``class_map`` maps other names onto them before this check);
    * ``design_speed_kmh``, where given, must be a positive number no higher than
      ``settings.max_speed_rail_kmh`` (rail) or ``settings.max_speed_road_kmh`` (roads);
    * a rail line (with a ``nodes`` layer to check against) must have stations: declared in
      ``stations`` and present in ``nodes``, or a station within ``settings.network.station_max_m``.

    Parameters
    ----------
    corridors, nodes : GeoDataFrame or None
    report : ValidationReport
        Problems (and warnings) are added here.
    settings : Settings
    """
    if corridors is None or "class" not in corridors.columns:
        return
    ids, label = _feature_ids(corridors, "corridors"), _label(corridors, "corridors")
    cls = corridors["class"]
    unknown = ~cls.isin(CORRIDOR_CLASSES)
    names = sorted(set(cls[unknown].astype(str)))
    report.add("corridors: known classes", [
        f"{label}: unknown corridor class {', '.join(names)} for {_ids(ids[unknown])}; known classes: "
        f"{', '.join(CORRIDOR_CLASSES)}. Rename them, or map them in the project file, e.g. "
        f"class_map = {{ \"{names[0]}\" = \"expressway\" }}"] if unknown.any() else [])
    report.add("corridors: plausible design speeds", _speed_problems(corridors, ids, label, settings))
    if nodes is not None and "kind" in nodes.columns:
        problems, warnings = _station_problems(corridors, nodes, ids, label, settings)
        report.add("corridors: rail lines have stations", problems)
        report.warnings.extend(warnings)


def _speed_problems(corridors, ids, label, settings) -> list[str]:
    if "design_speed_kmh" not in corridors.columns:
        return []
    raw = corridors["design_speed_kmh"]
    num = pd.to_numeric(raw, errors="coerce")
    probs = []
    text = raw.notna() & num.isna()
    if text.any():
        probs.append(f"{label}: design_speed_kmh is not a number for {_ids(ids[text])} "
                     f"(values {', '.join(sorted(set(raw[text].astype(str)))[:5])}); give km/h as a number or leave it empty")
    nonpos = num.notna() & (num <= 0)
    if nonpos.any():
        probs.append(f"{label}: design_speed_kmh must be positive; {_ids(ids[nonpos])} have {', '.join(f'{v:g}' for v in sorted(set(num[nonpos]))[:5])} km/h")
    rail = corridors["class"].isin(RAIL_CLASSES)
    limit = np.where(rail, settings.max_speed_rail_kmh, settings.max_speed_road_kmh)
    fast = num.notna() & (num > 0) & (num > limit)
    if fast.any():
        probs.append(f"{label}: implausible design_speed_kmh for {_ids(ids[fast])} "
                     f"({', '.join(f'{v:g}' for v in num[fast][:5])} km/h; at most {settings.max_speed_rail_kmh:g} "
                     f"for rail, {settings.max_speed_road_kmh:g} for roads). Is it in m/s or mph, or the wrong class?")
    return probs


#: Source of features imported from OpenStreetMap (see :mod:`twinstar_gis.model.osm`).
_OSM_SOURCE_PREFIX = "OpenStreetMap"


def _rail_components(geoms) -> np.ndarray:
    """Connected-component label of every rail line (lines that touch or cross are one component)."""
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    n = len(geoms)
    adj = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(adj, directed=False)[1]


def _station_problems(corridors, nodes, ids, label, settings) -> tuple[list[str], list[str]]:
    """Rail networks (connected lines) without any station: nobody can board them.

    A line counts as served when it declares a station present in ``nodes`` or a station lies
    within ``settings.network.station_max_m`` (regional equal-area metres, < 0.3 % scale error);
    a component is served when any of its lines is (OSM ways are pieces of longer lines).
    Unserved components are problems, except pieces imported from OpenStreetMap (a clipped spur
    or siding), which are warnings: the planner cannot fix OSM and they change no number.
    Returns (problems, warnings).
    """
    rail = corridors[corridors["class"].isin(RAIL_CLASSES) & corridors.geometry.notna()]
    if rail.empty:
        return [], []
    stations = nodes[nodes["kind"].isin(["hsr_station", "rail_station"]) & nodes.geometry.notna()]
    served = np.zeros(len(rail), bool)
    if "stations" in rail.columns and "node_id" in stations.columns:
        declared = rail["stations"].fillna("").astype(str).str.split(";").explode().str.strip()
        hit = declared.isin(set(stations["node_id"].astype(str)))
        served |= hit.groupby(level=0).any().reindex(rail.index, fill_value=False).to_numpy()
    if len(stations):
        lines = np.asarray(rail.to_crs(EQUAL_AREA_CRS).geometry.values)
        pts = np.asarray(stations.to_crs(EQUAL_AREA_CRS).geometry.values)
        _, li = shapely.STRtree(lines).query(pts, predicate="dwithin", distance=settings.network.station_max_m)
        served[np.unique(li)] = True
    comp = _rail_components(np.asarray(rail.geometry.values))
    comp_served = np.bincount(comp, weights=served.astype(float)) > 0
    unserved = ~comp_served[comp]
    if not unserved.any():
        return [], []
    src = rail["source"].astype(str) if "source" in rail.columns else pd.Series("", index=rail.index)
    osm = src.str.startswith(_OSM_SOURCE_PREFIX).to_numpy()
    comp_all_osm = np.bincount(comp, weights=(~osm).astype(float)) == 0
    is_warning = unserved & comp_all_osm[comp]
    msg = ("{label}: rail line(s) {ids} have no station (none declared in `stations` that is in the nodes layer, "
           "none within {m:g} m of them or of a line they connect to): trains could not be boarded, so {what}")
    problems, warnings = [], []
    if (unserved & ~is_warning).any():
        problems.append(msg.format(label=label, ids=_ids(ids[rail.index[unserved & ~is_warning]]),
                                   m=settings.network.station_max_m, what="the line would change no travel time. Add "
                                   "its stations to the nodes layer (kind hsr_station / rail_station) and list them in `stations`."))
    if is_warning.any():
        warnings.append(msg.format(label=label, ids=_ids(ids[rail.index[is_warning]]), m=settings.network.station_max_m,
                                   what="these OpenStreetMap pieces change no travel time (a clipped line, spur or siding)."))
    return problems, warnings
