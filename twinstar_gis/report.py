"""The planning brief: one self-contained HTML page with the key tables, linking the maps.

:func:`write_brief` reads what ``twinstar run`` wrote (``data/``, ``analysis/``,
``access/``, ``maps/`` under one output folder); it computes nothing itself.
"""

from __future__ import annotations

import html
import logging
from datetime import date
from pathlib import Path

import pandas as pd

from ._errors import DataSourceError
from .dataset import DEM_NAME, GPKG_NAME, describe_dataset, load_dataset
from .io import atomic_output

__all__ = ["write_brief", "REQUIRED"]

log = logging.getLogger(__name__)

REQUIRED = {
    "analysis": ["park_corridor_nearest.csv", "conflicts.csv", "county_adjacency.csv", "park_indicators.csv"],
    "access": ["county_access.csv", "twin_city.csv", "assumptions.csv", "access_to_nearest.csv"],
}

_CSS = """body{font:14px/1.5 Arial,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:24px}h2{font-size:18px;border-bottom:2px solid #0072B2;padding-bottom:2px;margin-top:1.8em}
table{border-collapse:collapse;margin:.5em 0;font-size:12.5px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}
th{background:#eef4fa}td.num{text-align:right}.note{color:#555;font-size:12.5px}.warn{background:#fff6e0;padding:6px 10px;border-left:4px solid #E69F00}
a{color:#0072B2}"""


def _table(df: pd.DataFrame, *, max_rows: int = 40, digits: int = 1) -> str:
    df = df.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for _, r in df.iterrows():
        cells = []
        for v in r:
            if isinstance(v, float):
                cells.append(f'<td class="num">{"" if pd.isna(v) else f"{v:,.{digits}f}"}</td>')
            elif isinstance(v, (int,)) and not isinstance(v, bool):
                cells.append(f'<td class="num">{v:,}</td>')
            else:
                cells.append(f"<td>{html.escape('' if pd.isna(v) else str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _read(p):
    return pd.read_csv(p, encoding="utf-8-sig")


def write_brief(out_dir="twinstar_output", *, path=None) -> Path:
    """Write ``brief.html`` into ``out_dir`` from the outputs of ``twinstar run``.

    Raises
    ------
    DataSourceError
        If the outputs it gathers are missing (run ``twinstar run`` first).
    """
    out = Path(out_dir)
    missing = [str(out / d / f) for d, files in REQUIRED.items() for f in files if not (out / d / f).exists()]
    if not (out / "data" / GPKG_NAME).exists():
        missing.insert(0, str(out / "data" / GPKG_NAME))
    if missing:
        raise DataSourceError(f"the brief gathers the outputs of `twinstar run`, and these are missing: {missing[:4]}"
                              f"{' …' if len(missing) > 4 else ''}. Run `twinstar run --out {out}` first.")
    ds = load_dataset(out / "data" / GPKG_NAME)
    layers = describe_dataset(ds)
    near = _read(out / "analysis" / "park_corridor_nearest.csv")
    conflicts = _read(out / "analysis" / "conflicts.csv")
    adj = _read(out / "analysis" / "county_adjacency.csv")
    ind = _read(out / "analysis" / "park_indicators.csv")
    counties = _read(out / "access" / "county_access.csv")
    twin = _read(out / "access" / "twin_city.csv")
    assumptions = _read(out / "access" / "assumptions.csv")
    scen_path = out / "access" / "scenario_counties.csv"
    scen = _read(scen_path) if scen_path.exists() else None

    key = near[near["class"].isin(["hsr_station", "expressway"])].pivot_table(
        index=["park_id", "park_name_zh"], columns="class", values="distance_km").reset_index()
    key.columns = [str(c) for c in key.columns]
    key = key.rename(columns={"hsr_station": "to_HSR_station_km", "expressway": "to_expressway_km"})
    far = key[key.get("to_HSR_station_km", pd.Series(dtype=float)) > 30]
    cross = adj[~adj["same_city"]].sort_values("shared_border_km", ascending=False)
    tw = dict(zip(twin["indicator"], twin["value"]))
    maps = sorted((out / "maps").glob("*.html")) if (out / "maps").exists() else []
    parts = [f"""<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>Twin Star planning brief</title>
<style>{_CSS}</style></head><body>
<h1>赤峰–通辽 双子星座 规划简报 · Chifeng–Tongliao Twin Star planning brief</h1>
<p class="note">Generated {date.today().isoformat()} by twinstar_gis from {html.escape(ds.origin)}.
Distances and areas are measured on the WGS-84 ellipsoid; travel times come from a model whose assumptions are listed at the end.</p>
<p class="warn">Most park, corridor and reserve outlines in the embedded dataset are <b>indicative</b> (placed from public descriptions,
±3–25 km). Read distances and overlaps as screening results to verify on surveyed data, not as measurements of record.</p>
<h2>地图 Maps</h2><ul>{''.join(f'<li><a href="maps/{m.name}">{m.stem}</a></li>' for m in maps) or '<li>(no maps: run twinstar map)</li>'}</ul>
<h2>1. 双城联系 Twin-city link</h2>
<p>Chifeng core ↔ Tongliao core: <b>{tw.get('core_to_core_fastest_min', float('nan')):.0f} min</b> by the fastest route,
{tw.get('core_to_core_road_min', float('nan')):.0f} min by road. The two cities share a border of
<b>{cross['shared_border_km'].sum():.0f} km</b> in {len(cross)} county pieces — the "adjacent areas" for joint parks:</p>
{_table(cross[['name_a', 'name_b', 'shared_border_km']])}
<h2>2. 园区与交通走廊 Parks and corridors</h2>
<p>Ground distance from each park's boundary to the nearest operating high-speed station and expressway.
{len(far)} of {len(key)} parks are more than 30 km from a high-speed station.</p>
{_table(key)}
<h2>3. 生态冲突 Ecological conflicts</h2>
<p>{len(conflicts)} conflicts (reserves buffered 1 km, rivers 500 m each side); all involve indicative geometry.</p>
{_table(conflicts[[c for c in ['feature_kind', 'feature_id', 'feature_name_zh', 'zone_name_zh', 'zone_kind', 'overlap_km2', 'overlap_mu', 'length_km', 'share_of_feature', 'distance_km'] if c in conflicts]], digits=3)}
<h2>4. 可达性 Accessibility by county</h2>
<p>Mean and median travel time to the nearest city core, and the share of each county's area within one and two hours
(一小时/两小时经济圈). Populations assume even spread over the county (no population grid offline).</p>
{_table(counties[['name_zh', 'mean_min', 'median_min', 'area_share_60min', 'area_share_120min', 'population_60min', 'population_120min']], digits=2)}
"""]
    if scen is not None:
        gains = scen.sort_values("mean_min_change")[["name_zh", "mean_min_base", "mean_min_scenario", "mean_min_change",
                                                     "area_share_120min_change"]]
        parts.append(f"""<h2>5. 情景 Scenario: planned corridors</h2>
<p>Change in mean travel time to the nearest core per county with the planned Chifeng–Tongliao link
(route and speed are assumptions). Core to core after: see the scenario map.</p>{_table(gains, digits=2)}""")
    cols = [c for c in ["park_id", "name_zh", "to_city_core_km", "to_county_seat_km", "facilities_within_5km",
                        "share_in_urban_district", "nearest_hsr_station", "to_hsr_station_km"] if c in ind]
    parts.append(f"""<h2>6. 产城融合 Industry-city integration</h2>{_table(ind[cols], digits=2)}
<h2>7. 数据 Data</h2>{_table(layers[['layer', 'features', 'geometry', 'indicative', 'source']])}
<p class="note">DEM: {html.escape(str(ds.dem_path.name if ds.dem_path else DEM_NAME))} (0.2° sample grid unless a finer DEM was given).</p>
<h2>8. 假设 Model assumptions</h2>{_table(assumptions, digits=1)}
</body></html>""")
    path = Path(path) if path else out / "brief.html"
    with atomic_output(path) as tmp:
        tmp.write_text("".join(parts), encoding="utf-8")
    log.info("wrote %s", path)
    return path
