"""Validate layers once and report every problem, with feature ids.

Two levels:

* :func:`validate_layer` checks one layer against its :class:`~twinstar_gis.schema.LayerSpec`:
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
from shapely.ops import nearest_points

from ._errors import ValidationError
from .crs import EQUAL_AREA_CRS, GEOD, geodesic_area_km2
from .schema import GEOMETRY_QUALITIES, LAYERS
from .settings import DEFAULT, Settings

__all__ = ["Check", "ValidationReport", "validate_layer", "validate_geometry", "validate_dataset"]

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
        return not self.problems

    def add(self, name: str, problems: list[str], detail: str = "") -> None:
        self.checks.append(Check(name, not problems, detail))
        self.problems.extend(problems)

    def raise_if_failed(self) -> None:
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
            [f"{label}: wrong geometry type for {_ids(ids[wrong])}: got {sorted(set(types[wrong]))}, "
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

    Returns ``(layer, report)`` like :func:`validate_layer`: empty layer, empty and invalid
    geometry, each with feature ids (``id_column`` values, else row numbers).
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
        A layer kind of :data:`twinstar_gis.schema.LAYERS`.
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
        [f"{label}: missing attribute(s) {missing}; the file has {[c for c in gdf.columns if c != gdf.geometry.name]}. "
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
                   [f"{label}: geometry_quality must be one of {GEOMETRY_QUALITIES} for {_ids(ids[bad])}"] if bad.any() else [])
    b = gdf.total_bounds
    if np.all(np.isfinite(b)) and (b[2] < 110 or b[0] > 130 or b[3] < 38 or b[1] > 50):
        report.warnings.append(
            f"{label}: extent {np.round(b, 3).tolist()} lies outside the Twin Star region; "
            "check the CRS / coord_system of the file.")
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
    probs, n = [], 0
    for idx, claim in claims.items():
        if pd.isna(claim) or claim == "" or claim not in counties.index:
            if not (pd.isna(claim) or claim == ""):
                probs.append(f"{_label(layer, kind)}: {ids[idx]} claims unknown county {claim}")
            continue
        n += 1
        if not counties.geometry[claim].covers(layer.geometry[idx]):
            actual = counties.index[counties.geometry.covers(layer.geometry[idx])].tolist()
            probs.append(f"{_label(layer, kind)}: {ids[idx]} claims county {claim} but lies in {actual or 'no county of the region'}")
    report.add(f"{kind}: points lie in their county", probs, f"{n} checked")


def _check_polygons_in_county(layer, kind, counties, report, settings):
    if layer is None or "county_adcode" not in layer.columns:
        return
    ids = _feature_ids(layer, kind)
    probs, shares = [], []
    for idx, claim in layer["county_adcode"].astype("string").items():
        if pd.isna(claim) or claim not in counties.index:
            continue
        g = layer.geometry[idx]
        total = geodesic_area_km2([g])[0]
        inside = geodesic_area_km2([g.intersection(counties.geometry[claim])])[0]
        share = inside / total if total > 0 else 0.0
        shares.append(share)
        if share < settings.min_share_in_county:
            probs.append(f"{_label(layer, kind)}: {ids[idx]} claims county {claim} but only {share:.0%} of its area lies there")
    report.add(f"{kind}: polygons lie in their county", probs,
               f"{len(shares)} checked, smallest share {min(shares):.0%}" if shares else "none claim a county")


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


def validate_dataset(layers: dict, *, fix: bool = False, settings: Settings = DEFAULT):
    """Validate a whole dataset (dict of layer kind -> GeoDataFrame).

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
