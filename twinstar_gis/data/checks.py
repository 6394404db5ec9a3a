"""Checks of the embedded dataset against facts a reviewer can verify, and its quality table.

:func:`check_data_facts` adds these checks to a build's validation report:

* every declared station lies on its line within the line's stated
  ``accuracy_m`` (ellipsoidal distance);
* every line passes through its declared stations in the declared order;
* every line's declared stations sit on one connected piece of it (a line cut
  into pieces, e.g. by clipping it to the region, cannot carry a train between
  its stations);
* route factors are at least 1 and operating speeds positive and not above the
  design speed;
* county populations add up to their city's total (2020 census), and urban plus
  rural population equals the total;
* every nature reserve's drawn area matches its official area.

:func:`data_quality_table` summarises, per layer, how many features are
surveyed, indicative or known but missing (``data/curated/missing_features.csv``),
the worst stated positional accuracy and the number of distinct sources; the
build writes it into the GeoPackage as the ``data_quality`` table and
``docs/data_dictionary.md`` shows it (:func:`quality_markdown`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import shapely
from shapely.ops import nearest_points

from .crs import GEOD, geodesic_area_km2

__all__ = [
    "RESERVE_AREA_TOLERANCE",
    "ROUTE_FACTOR_RANGE",
    "check_corridor_factors",
    "check_data_facts",
    "check_line_continuity",
    "check_population_sums",
    "check_reserve_areas",
    "check_station_accuracy",
    "check_station_order",
    "check_urban_population",
    "data_quality_table",
    "quality_markdown",
]

log = logging.getLogger(__name__)

#: Relative tolerance between a reserve's drawn and official area.  Footprints
#: are drawn to the official area, so only numerical error is expected.
RESERVE_AREA_TOLERANCE = 0.01

#: Plausible route factors (detour indices): published route length over drawn length.
#: Road distances in the region run 1.1-1.45 x the great circle; a railway's detour
#: through a neighbouring league reaches 1.41.  Outside this range the drawing is wrong.
ROUTE_FACTOR_RANGE = (1.0, 2.0)


def _declared(stations) -> list[str]:
    if not isinstance(stations, str):
        return []
    return [s.strip() for s in stations.split(";") if s.strip()]


def _station_points(corridors, nodes):
    """(corridor_id, line, accuracy_m, [(station_id, point) ...]) for corridors with known stations."""
    pts = dict(zip(nodes["node_id"].astype(str), nodes.geometry))
    out = []
    for r in corridors.itertuples():
        sts = [(s, pts[s]) for s in _declared(getattr(r, "stations", None)) if s in pts]
        if sts and r.geometry is not None and not r.geometry.is_empty:
            out.append((r.corridor_id, r.geometry, float(getattr(r, "accuracy_m", np.nan)), sts))
    return out


def check_station_accuracy(corridors, nodes, report) -> None:
    """Check that each declared station lies within its line's stated accuracy (metres, on the ellipsoid).

    For every station a line declares, the point of the line nearest to it is
    found in lon/lat (:func:`shapely.ops.nearest_points`) and the distance to
    it is measured on the WGS-84 ellipsoid (:meth:`pyproj.Geod.inv`).  That
    point is nearest in degrees, not in metres, so away from the equator the
    distance can come out somewhat larger than the true shortest one, never
    smaller.  Stations that are not in the nodes layer are reported by
    :mod:`twinstar_gis.data.validate`; they are skipped here, as are lines
    with an empty geometry.

    Parameters
    ----------
    corridors : GeoDataFrame
        Lines (WGS-84) with ``corridor_id``, ``stations`` (node ids separated
        by ``;``) and ``accuracy_m`` (the line's stated positional accuracy,
        metres).  A line without ``accuracy_m`` (or with an empty one) fails
        for every station it declares.
    nodes : GeoDataFrame
        Stations (WGS-84 points) with ``node_id``.
    report : ValidationReport
        Gets one check, with a problem per station farther from its line than
        the line's accuracy; its detail gives the number of stations checked
        and the largest distance (metres).

    Examples
    --------
    A station 0.001 degrees north of a line along the equator is 110.6 m
    from it (the meridian arc: ``6378137 * (1 - e**2) * radians(0.001)``):

    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString, Point
    >>> from twinstar_gis.data.validate import ValidationReport
    >>> cor = gpd.GeoDataFrame({"corridor_id": ["L"], "stations": ["A"], "accuracy_m": [100.0]},
    ...                        geometry=[LineString([(0, 0), (1, 0)])], crs=4326)
    >>> st = gpd.GeoDataFrame({"node_id": ["A"]}, geometry=[Point(0.5, 0.001)], crs=4326)
    >>> rep = ValidationReport()
    >>> check_station_accuracy(cor, st, rep)
    >>> rep.problems
    ['corridors: L passes 111 m from its station A, beyond its stated accuracy (100 m)']
    >>> rep = ValidationReport()
    >>> check_station_accuracy(cor.assign(accuracy_m=200.0), st, rep)
    >>> rep.ok, rep.checks[0].detail
    (True, '1 station claims checked, largest distance 111 m')
    """
    probs, n, worst = [], 0, 0.0
    for cid, line, acc, sts in _station_points(corridors, nodes):
        for sid, pt in sts:
            p, q = nearest_points(pt, line)
            d = GEOD.inv(p.x, p.y, q.x, q.y)[2]
            n += 1
            worst = max(worst, d)
            if not d <= acc:  # NaN accuracy fails too
                probs.append(f"corridors: {cid} passes {d:.0f} m from its station {sid}, beyond its stated accuracy ({acc:.0f} m)")
    report.add("corridors: stations lie within the line's stated accuracy", probs,
               f"{n} station claims checked, largest distance {worst:.0f} m")


def check_station_order(corridors, nodes, report) -> None:
    """Check that each line passes through its declared stations in the declared order.

    The stations' positions along the line (:func:`shapely.line_locate_point`,
    in lon/lat) must be strictly monotonic, in either direction of digitising:
    two stations at the same position fail.  Lines with fewer than two known
    stations are skipped; stations missing from ``nodes`` are left out of the
    order (:mod:`twinstar_gis.data.validate` reports them).

    Parameters
    ----------
    corridors : GeoDataFrame
        Lines (WGS-84) with ``corridor_id`` and ``stations`` (node ids
        separated by ``;``, in travel order).
    nodes : GeoDataFrame
        Stations (WGS-84 points) with ``node_id``.
    report : ValidationReport
        Gets one check, with a problem per line that passes its stations in
        another order (the problem gives the order along the line).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString, Point
    >>> from twinstar_gis.data.validate import ValidationReport
    >>> line = LineString([(0, 0), (3, 0)])
    >>> st = gpd.GeoDataFrame({"node_id": ["A", "B", "C"]}, geometry=[Point(0, 0), Point(2, 0), Point(1, 0)], crs=4326)
    >>> rep = ValidationReport()
    >>> check_station_order(gpd.GeoDataFrame({"corridor_id": ["L"], "stations": ["B;C;A"]}, geometry=[line], crs=4326),
    ...                     st, rep)
    >>> rep.ok
    True
    >>> check_station_order(gpd.GeoDataFrame({"corridor_id": ["L"], "stations": ["A;B;C"]}, geometry=[line], crs=4326),
    ...                     st, rep)
    >>> rep.problems
    ["corridors: L declares stations ['A', 'B', 'C'] but the line passes them as ['A', 'C', 'B']"]
    """
    probs, n = [], 0
    for cid, line, _, sts in _station_points(corridors, nodes):
        if len(sts) < 2:
            continue
        n += 1
        along = np.array([shapely.line_locate_point(line, pt) for _, pt in sts])
        steps = np.diff(along)
        if not ((steps > 0).all() or (steps < 0).all()):
            order = [sid for _, sid in sorted(zip(along, [s for s, _ in sts]))]
            probs.append(f"corridors: {cid} declares stations {[s for s, _ in sts]} but the line passes them as {order}")
    report.add("corridors: lines pass through their stations in order", probs, f"{n} lines with two or more stations checked")


def _pieces(line) -> tuple[np.ndarray, np.ndarray]:
    """The line's parts and the connected piece each belongs to (parts that touch are one piece)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    parts = shapely.get_parts(shapely.line_merge(line) if line.geom_type == "MultiLineString" else line)
    if len(parts) == 1:
        return parts, np.zeros(1, np.int64)
    a, b = shapely.STRtree(parts).query(parts, predicate="intersects")
    adj = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(parts), len(parts)))
    return parts, connected_components(adj, directed=False)[1]


def check_line_continuity(corridors, nodes, report) -> None:
    """Each line's declared stations sit on one connected piece of the line.

    A line's parts (a MultiLineString's lines, merged where they join end to end) form a
    piece where they touch.  Each declared station is assigned to the part nearest to it;
    a line whose stations fall on different pieces is reported with the stations of each
    piece (a train could not run between them).

    Parameters
    ----------
    corridors, nodes : GeoDataFrame
        Lines with ``corridor_id`` and ``stations``; stations with ``node_id`` (WGS-84).
    report : ValidationReport
        Gets one check, with a problem per broken line.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import MultiLineString, Point
    >>> from twinstar_gis.data.validate import ValidationReport
    >>> cut = MultiLineString([[(0, 0), (1, 0)], [(2, 0), (3, 0)]])
    >>> cor = gpd.GeoDataFrame({"corridor_id": ["L"], "stations": ["A;B"]}, geometry=[cut], crs=4326)
    >>> st = gpd.GeoDataFrame({"node_id": ["A", "B"]}, geometry=[Point(0, 0), Point(3, 0)], crs=4326)
    >>> rep = ValidationReport()
    >>> check_line_continuity(cor, st, rep)
    >>> rep.problems[0]
    "corridors: L is cut into 2 pieces and its stations sit on different ones: ['A'] | ['B']"
    """
    probs, n = [], 0
    for cid, line, _, sts in _station_points(corridors, nodes):
        if len(sts) < 2:
            continue
        n += 1
        parts, piece = _pieces(line)
        where = [int(piece[np.argmin(shapely.distance(parts, pt))]) for _, pt in sts]
        if len(set(where)) > 1:
            groups = [[sid for (sid, _), w in zip(sts, where) if w == k] for k in dict.fromkeys(where)]
            probs.append(f"corridors: {cid} is cut into {piece.max() + 1} pieces and its stations sit on different ones: "
                         + " | ".join(str(g) for g in groups))
    report.add("corridors: each line's stations sit on one connected piece", probs,
               f"{n} lines with two or more stations checked")


def check_corridor_factors(corridors, report, limits: tuple = ROUTE_FACTOR_RANGE) -> None:
    """Route factors lie in ``limits``; operating speeds are positive and not above the design speed.

    Parameters
    ----------
    corridors : GeoDataFrame
        With ``route_factor`` and / or ``operating_speed_kmh`` (absent columns are skipped;
        an empty cell means "not set").
    report : ValidationReport
    limits : (float, float)
        Smallest and largest plausible route factor.
    """
    probs, lines = [], []
    ids = corridors["corridor_id"].astype(str) if "corridor_id" in corridors else corridors.index.astype(str)
    if "route_factor" in corridors.columns:
        rf = pd.to_numeric(corridors["route_factor"], errors="coerce")
        bad = rf.notna() & ~rf.between(*limits)
        probs += [f"corridors: {i} has route_factor {v:g}, outside {limits[0]:g}-{limits[1]:g} (published length over "
                  "drawn length: fix the drawing or the published length)" for i, v in zip(ids[bad], rf[bad])]
        lines.append(f"route_factor {rf.min():.3f}-{rf.max():.3f} on {int(rf.notna().sum())} lines")
    if "operating_speed_kmh" in corridors.columns:
        v = pd.to_numeric(corridors["operating_speed_kmh"], errors="coerce")
        design = pd.to_numeric(corridors.get("design_speed_kmh"), errors="coerce") if "design_speed_kmh" in corridors \
            else pd.Series(np.nan, index=corridors.index)
        bad = v.notna() & ((v <= 0) | (v > design.fillna(np.inf)))
        probs += [f"corridors: {i} has operating_speed_kmh {s:g}, not in (0, design speed {d:g}]"
                  for i, s, d in zip(ids[bad], v[bad], design[bad])]
        lines.append(f"operating_speed_kmh on {int(v.notna().sum())} lines")
    report.add("corridors: route factors and operating speeds are plausible", probs, "; ".join(lines))


def check_urban_population(boundaries, report) -> None:
    """Urban plus rural population equals the total, for every unit that has all three (2020 census).

    Parameters
    ----------
    boundaries : GeoDataFrame
        With ``population_2020``, ``population_urban_2020``, ``population_rural_2020``.
    report : ValidationReport
    """
    b = boundaries
    tot, urb, rur = (pd.to_numeric(b[c], errors="coerce") for c in
                     ("population_2020", "population_urban_2020", "population_rural_2020"))
    have = tot.notna() & urb.notna() & rur.notna()
    bad = have & ((urb + rur != tot) | (urb > tot) | (urb < 0))
    probs = [f"boundaries: {a} has urban {int(u)} + rural {int(r)} != total {int(t)}"
             for a, u, r, t in zip(b.loc[bad, "adcode"], urb[bad], rur[bad], tot[bad])]
    report.add("boundaries: urban plus rural population equals the total", probs,
               f"{int(have.sum())} units with urban and rural figures")


def check_population_sums(boundaries, report) -> None:
    """Check that county populations (2020 census) add up exactly to their prefecture's total.

    For every row with ``level == "prefecture"``, the rows with ``level ==
    "county"`` whose ``parent_adcode`` is its ``adcode`` must have a
    ``population_2020`` each, and these must sum to the prefecture's own.
    A prefecture without a population is a problem too.

    Parameters
    ----------
    boundaries : GeoDataFrame
        Administrative units with ``adcode``, ``level`` (``"prefecture"`` or
        ``"county"``), ``parent_adcode`` and ``population_2020`` (persons;
        empty = unknown).  Its index must be unique.
    report : ValidationReport
        Gets one check, with a problem per prefecture whose counties do not
        sum to its total (or have a missing figure); its detail lists
        ``"<adcode>: <county sum> of <total>"`` per prefecture.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from twinstar_gis.data.validate import ValidationReport
    >>> b = gpd.GeoDataFrame({"adcode": ["150400", "150402", "150403", "150500", "150502"],
    ...                       "level": ["prefecture", "county", "county", "prefecture", "county"],
    ...                       "parent_adcode": ["150000", "150400", "150400", "150000", "150500"],
    ...                       "population_2020": [300, 100, 200, 50, 50]}, geometry=[None] * 5, crs=4326)
    >>> rep = ValidationReport()
    >>> check_population_sums(b, rep)
    >>> rep.ok, rep.checks[0].detail
    (True, '150400: 300 of 300; 150500: 50 of 50')
    >>> rep = ValidationReport()
    >>> check_population_sums(b.assign(population_2020=[300, 100, None, 50, 50]), rep)
    >>> rep.problems
    ['boundaries: the counties of 150400 sum to 100 (missing 1), the city total is 300']
    """
    b = boundaries
    pop = pd.to_numeric(b["population_2020"], errors="coerce")
    probs, lines = [], []
    for _, pref in b[b["level"] == "prefecture"].iterrows():
        total = pop[pref.name]
        kids = pop[(b["level"] == "county") & (b["parent_adcode"].astype(str) == str(pref["adcode"]))]
        if pd.isna(total):
            probs.append(f"boundaries: {pref['adcode']} has no 2020 population")
            continue
        missing = int(kids.isna().sum())
        s = int(kids.sum())
        lines.append(f"{pref['adcode']}: {s} of {int(total)}")
        if missing or s != int(total):
            probs.append(f"boundaries: the counties of {pref['adcode']} sum to {s} (missing {missing}), "
                         f"the city total is {int(total)}")
    report.add("boundaries: county populations sum to the city total", probs, "; ".join(lines))


def check_reserve_areas(eco_zones, report, tolerance: float = RESERVE_AREA_TOLERANCE) -> None:
    """Check that each reserve's drawn area (on the ellipsoid) matches its official area within ``tolerance``.

    Only rows with ``kind == "nature_reserve"`` are checked.  The drawn area is
    :func:`~twinstar_gis.data.crs.geodesic_area_km2`; the relative difference
    ``|drawn - official| / official`` must be at most ``tolerance``.  A reserve
    without a positive official area fails.

    Parameters
    ----------
    eco_zones : GeoDataFrame
        Zones (WGS-84 polygons) with ``zone_id``, ``kind`` and
        ``official_area_km2`` (km2).
    report : ValidationReport
        Gets one check, with a problem per reserve outside the tolerance; its
        detail lists ``"<zone_id> <drawn>/<official> km2"`` per reserve.
    tolerance : float, default :data:`RESERVE_AREA_TOLERANCE` (0.01)
        Largest relative difference allowed (0.01 = 1 %).

    Examples
    --------
    A 0.1 x 0.1 degree square on the equator covers 123.09 km2 on the
    ellipsoid (the authalic-latitude formula, or ``pyproj.Geod``):

    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from twinstar_gis.data.validate import ValidationReport
    >>> eco = gpd.GeoDataFrame({"zone_id": ["R1"], "kind": ["nature_reserve"], "official_area_km2": [123.0]},
    ...                        geometry=[box(0, 0, 0.1, 0.1)], crs=4326)
    >>> rep = ValidationReport()
    >>> check_reserve_areas(eco, rep)
    >>> rep.ok, rep.checks[0].detail
    (True, 'R1 123.1/123.0 km2')
    >>> check_reserve_areas(eco.assign(official_area_km2=100.0), rep)
    >>> rep.problems
    ['eco_zones: R1 is drawn with 123.1 km2, official 100.0 km2 (23.1% off; tolerance 1%)']
    """
    res = eco_zones[eco_zones["kind"] == "nature_reserve"]
    probs, lines = [], []
    area = geodesic_area_km2(res.geometry.values)
    for (_, r), a in zip(res.iterrows(), area):
        off = float(r["official_area_km2"])
        rel = abs(a - off) / off if off > 0 else np.inf
        lines.append(f"{r['zone_id']} {a:.1f}/{off:.1f} km2")
        if not rel <= tolerance:
            probs.append(f"eco_zones: {r['zone_id']} is drawn with {a:.1f} km2, official {off:.1f} km2 "
                         f"({rel:.1%} off; tolerance {tolerance:.0%})")
    report.add("eco_zones: reserve areas match their official areas", probs, "; ".join(lines))


def check_data_facts(layers: dict, report) -> None:
    """Run the fact checks on a built (validated) dataset, adding them to ``report``.

    Parameters
    ----------
    layers : dict
        Layer kind -> GeoDataFrame (``corridors``, ``nodes``, ``boundaries``, ``eco_zones``
        when present; checks whose columns are absent are skipped).
    report : ValidationReport
        Gets one check per fact; the build fails when any has problems.
    """
    cor, nodes = layers.get("corridors"), layers.get("nodes")
    if cor is not None and nodes is not None and "stations" in cor.columns:
        check_station_accuracy(cor, nodes, report)
        check_station_order(cor, nodes, report)
        check_line_continuity(cor, nodes, report)
    if cor is not None and {"route_factor", "operating_speed_kmh"} & set(cor.columns):
        check_corridor_factors(cor, report)
    b = layers.get("boundaries")
    if b is not None and "population_2020" in b.columns:
        check_population_sums(b, report)
    if b is not None and {"population_urban_2020", "population_rural_2020"} <= set(b.columns):
        check_urban_population(b, report)
    eco = layers.get("eco_zones")
    if eco is not None and "official_area_km2" in eco.columns:
        check_reserve_areas(eco, report)
    log.info("fact checks: %d problems", len(report.problems))


def data_quality_table(layers: dict, missing: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per layer: features, surveyed, indicative, known-but-missing, worst accuracy, sources.

    Parameters
    ----------
    layers : dict
        Layer kind -> GeoDataFrame, each with ``geometry_quality``,
        ``accuracy_m`` and ``source``.
    missing : DataFrame, optional
        Real features known to be absent (columns ``layer``, ``name_zh``,
        ``reason``), e.g. ``data/curated/missing_features.csv``.

    Returns
    -------
    DataFrame
        One row per layer; ``worst_accuracy_m`` is the largest stated
        ``accuracy_m`` and ``distinct_sources`` the number of distinct
        ``source`` texts.
    """
    missing = missing if missing is not None else pd.DataFrame(columns=["layer"])
    rows = []
    for kind, gdf in layers.items():
        q = gdf["geometry_quality"] if "geometry_quality" in gdf else pd.Series(dtype=str)
        acc = pd.to_numeric(gdf["accuracy_m"], errors="coerce") if "accuracy_m" in gdf else pd.Series(dtype=float)
        rows.append({
            "layer": kind,
            "features": len(gdf),
            "surveyed": int((q == "surveyed").sum()),
            "indicative": int((q == "indicative").sum()),
            "missing": int((missing["layer"] == kind).sum()),
            "worst_accuracy_m": float(acc.max()) if acc.notna().any() else np.nan,
            "distinct_sources": int(gdf["source"].nunique()) if "source" in gdf else 0,
        })
    return pd.DataFrame(rows)


def quality_markdown(table: pd.DataFrame) -> str:
    """Format the data-quality table as a Markdown table (as shown in ``docs/data_dictionary.md``).

    Floats are written as whole numbers with thousands separators, missing
    values (NaN) as empty cells; other values as they print.

    Parameters
    ----------
    table : DataFrame
        As :func:`data_quality_table` returns: columns ``layer``, ``features``,
        ``surveyed``, ``indicative``, ``missing``, ``worst_accuracy_m``
        (metres) and ``distinct_sources``; other columns are left out.

    Returns
    -------
    str
        A header line, a separator line and one line per row, joined by
        newlines (no trailing newline).

    Raises
    ------
    KeyError
        If ``table`` lacks one of the columns above.

    Examples
    --------
    >>> t = pd.DataFrame({"layer": ["parks", "rivers"], "features": [3, 2], "surveyed": [0, 2], "indicative": [3, 0],
    ...                   "missing": [1, 0], "worst_accuracy_m": [8000.0, np.nan], "distinct_sources": [2, 1]})
    >>> print(quality_markdown(t))
    | layer | features | surveyed | indicative | missing | worst_accuracy_m | distinct_sources |
    |---|---|---|---|---|---|---|
    | parks | 3 | 0 | 3 | 1 | 8,000 | 2 |
    | rivers | 2 | 2 | 0 | 0 |  | 1 |
    """
    cols = ["layer", "features", "surveyed", "indicative", "missing", "worst_accuracy_m", "distinct_sources"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table[cols].itertuples(index=False):
        cells = [f"{v:,.0f}" if isinstance(v, float) and np.isfinite(v) else ("" if isinstance(v, float) else str(v)) for v in r]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
