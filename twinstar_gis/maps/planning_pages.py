"""Map pages of the planning analyses (issue #13): construction suitability, joint-park sites, twin-city linkage.

Each page renders the files ``twinstar run`` wrote into ``<run>/planning/``
(:data:`twinstar_gis.planning.outputs.MAP_LAYERS`) plus the layers the run
used; nothing is recomputed.  Like the other gallery pages, each function takes
the run folder (path or opened :class:`~._run.Run`) and returns a
:class:`folium.Map`; ``m=`` adds the layers to a map made with ``finish=False``.
"""

from __future__ import annotations

import html
import logging

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from ..data.schema import status_of
from ._layers import G_ADMIN, G_ANALYSIS, G_ECO, G_TRANSPORT, admin_layers, as_run, city_cores, end_page, park_layer, start_page
from .core import _shift, add_labels, add_raster, add_vector
from .style import DATA, HARD_CONSTRAINT, LINKAGE, SEARCHED, SITE, SUITABILITY, class_label, corridor_style, flow_width

__all__ = ["suitability_map", "sites_map", "linkage_map", "PLANNING_GALLERY", "PLANNING_MAKERS", "has_scenario"]

log = logging.getLogger(__name__)

G_PLAN = "规划分析 Planning"
_LABELS = {"balance": "两中心均衡 balance between the cores", "hsr": "高铁站 HSR station access",
           "expressway": "高速公路 expressway access", "suitability": "建设适宜性 construction suitability",
           "park_distance": "离现有园区 distance from existing parks"}
#: Raw value of each component (column, unit) as the site table names it.
_RAW = {"balance": ("worse_core_min", "min to the farther core"), "hsr": ("hsr_min", "min"),
        "expressway": ("expressway_min", "min"), "suitability": ("suitability_score", "of 5"),
        "park_distance": ("park_km", "km")}


def has_scenario(run) -> bool:
    """Whether the run computed a scenario (``access.scenario`` not ``none`` and its outputs present); without one,
    every ``*_scenario`` column repeats today's value and is not shown.

    Parameters
    ----------
    run : path-like or Run
        The run folder (or an opened :class:`~twinstar_gis.maps._run.Run`).

    Returns
    -------
    bool
    """
    scenario = run.manifest.get("settings", {}).get("access", {}).get("scenario", "none")
    return scenario != "none" and run.file("access/scenario_counties.csv", required=False) is not None


def _pct(x) -> str:
    return "–" if not np.isfinite(x) else f"{100 * x:.1f}%"


# ---------------------------------------------------------------- suitability
def _hard_constraints(m, spec, run):
    """Hard-constraint zones from the run's layers: nature reserves, eco red line, farmland, river buffers."""
    eco = run.layer("eco_zones")
    hc = HARD_CONSTRAINT
    parts = [("自然保护区 Nature reserves", eco[eco["kind"] == "nature_reserve"] if eco is not None else None)]
    parts += [(name, run.layer(kind)) for kind, name in (("eco_redline", "生态保护红线 Ecological red line"),
                                                        ("farmland", "永久基本农田 Permanent farmland"))]
    for name, g in parts:
        fg = add_vector(m, spec, g, name=f"硬约束 Hard constraint: {name}", group=G_ECO, color=hc["color"],
                        fill_opacity=hc["fill"], weight=hc["width"], dash=hc["dash"],
                        tooltip=[("name_zh", "名称"), ("name_en", "Name"), ("protection_level", "级别 Level")])
        if g is not None and name.startswith("自然"):
            add_labels(spec, g, cls="reserve", priority=20, min_zoom=8, layer=fg)
    buf_m = _assumption(run, "river_buffer_m")
    rivers = run.layer("rivers")
    strips = run.vector("analysis/overlap.gpkg", "eco_buffers", required=False)
    if strips is not None and np.isfinite(buf_m):
        strips = strips[(strips["kind"] == "river") & np.isclose(strips["buffer_m"], buf_m)]
    if strips is not None and len(strips):  # the overlap step drew the same strips: show them
        add_vector(m, spec, strips, name=f"硬约束 Hard constraint: 河流 {buf_m:g} m", group=G_ECO, color=hc["color"],
                   fill_opacity=hc["fill"], weight=1, dash=hc["dash"], simplify_deg=0.0005,
                   tooltip=[("name_zh", "河流 River"), ("buffer_m", "缓冲 Buffer (m)")])
    add_vector(m, spec, rivers, name="河流 Rivers", group=G_ECO, color=DATA["river"]["color"], kind="line",
               weight=DATA["river"]["width"], simplify_deg=0.001, tooltip=[("name_zh", "河流"), ("name_en", "River")])
    return buf_m


def _assumption(run, name) -> float:
    a = run.table("planning/assumptions.csv", required=False)
    if a is None:
        return float("nan")
    v = a.loc[a["setting"] == name, "value"]
    return float(v.iloc[0]) if len(v) else float("nan")


def suitability_map(run, *, m=None, finish: bool = True, basemap: str = "hillshade", **kw):
    """The run's construction-suitability classes, the hard-constraint zones, counties labelled.

    Parameters
    ----------
    run : path-like or Run
        The run folder.
    m : folium.Map, optional
        A map made with ``finish=False`` to add the layers to.
    finish : bool
        Add the panel, legend and tools.
    basemap : str
        ``hillshade`` (offline) or a tile basemap.
    **kw
        Passed to :func:`~twinstar_gis.maps.core.new_map` (Tianditu key ...).

    Returns
    -------
    folium.Map
    """
    run = as_run(run)
    m, spec = start_page(run, m, basemap, "城镇建设适宜性 Construction suitability", **kw)
    a, t, crs = run.raster("planning/suitability_classes.tif")
    codes = sorted(SUITABILITY)
    a = np.where(np.isin(a, codes), a, np.nan)  # 0 = outside / no data: not drawn
    add_raster(m, spec, a, t, crs, name="适宜性分级 Suitability classes", group=G_PLAN, vmin=codes[0], vmax=codes[-1],
               colors=[SUITABILITY[c][0] for c in codes])
    spec.legend[0]["items"] = [{"kind": "fill", "color": SUITABILITY[c][0], "fill": 0.8, "edge": "#666666",
                                "label": SUITABILITY[c][1]} for c in codes]
    buf_m = _hard_constraints(m, spec, run)
    admin_layers(m, spec, run, seats=False)
    by = run.table("planning/suitability_by_county.csv")
    area = {k: by[f"area_km2_{k}"].sum() for k in ("unsuitable", "fair", "suitable")}
    total = sum(area.values())
    head = (f"适宜 Suitable: <b>{area['suitable']:,.0f} km²</b> ({_pct(area['suitable'] / total)}), "
            f"一般适宜 fair {area['fair']:,.0f} km², 不适宜 unsuitable {area['unsuitable']:,.0f} km² "
            f"(cells of {_assumption(run, 'resolution_m') / 1000:g} km).")
    notes = ["Classes from planning/suitability_classes.tif of this run (slope, time to the cores and corridors, "
             "hard constraints); weights in planning/assumptions.csv.",
             f"Hard constraints: nature reserves, rivers ± {buf_m:g} m, and the eco red line / farmland when the run has "
             "them; outlines are indicative."]
    return end_page(m, spec, finish, notes, headline=head)


# ---------------------------------------------------------------- sites
def _core_names(run) -> dict:
    """core_a / core_b of the site table: the two city cores in place_id order (as the site finder orders them)."""
    p = run.layer("places")
    c = p[p["kind"] == "city_core"].sort_values("place_id")
    return {k: n.replace("市", "") for k, n in zip(("core_a", "core_b"), c["name_zh"])}


def _explained(sites, run) -> tuple[list, list]:
    """Add one text column per component (raw value -> 0-1 component -> points) and the two core times.

    Returns the tooltip and popup field lists.
    """
    cores = _core_names(run)
    sites["core_times"] = [" / ".join(f"{n} {r[f'{k}_min']:.1f}" for k, n in cores.items()) for _, r in sites.iterrows()]
    for k, (col, unit) in _RAW.items():
        sites[f"explain_{k}"] = [f"{r[col]:.1f} {unit} → {r[f'{k}_component']:.3f} → +{r[f'{k}_points']:.3f}"
                                 for _, r in sites.iterrows()]
    head = [("rank_label", "排名 Rank"), ("counties", "旗县区 County"), ("score", "总分 Score (0–1) = Σ points")]
    comp = [(f"explain_{k}", _LABELS[k]) for k in _RAW]
    return head + [("why", "原因 Why")], head + [("why", "原因 Why"), ("core_times", "到中心城区 To the cores (min)")] + \
        comp + [("area_km2", "面积 Area (km², ellipsoid)")]


def _context(m, spec, run):
    """Existing parks, operating HSR lines and expressways, HSR stations."""
    park_layer(m, spec, run)
    cor = run.layer("corridors")
    status = status_of(cor)
    for cls in ("high_speed_rail", "expressway"):
        s = corridor_style(cls)
        add_vector(m, spec, cor[(cor["class"] == cls) & (status == "operating")], name=class_label(cls), group=G_TRANSPORT,
                   color=s["color"], kind="line", weight=s["width"], ties=s["ties"], simplify_deg=0.001,
                   tooltip=[("name_zh", "线路"), ("name_en", "Corridor")])
    n = run.layer("nodes")
    st = n[n["kind"] == "hsr_station"]
    fg = add_vector(m, spec, st, name="高铁站 HSR stations", group=G_TRANSPORT, color=DATA["hsr_station"]["color"],
                    kind="point", radius=DATA["hsr_station"]["radius"], tooltip=[("name_zh", "车站"), ("name_en", "Station")])
    add_labels(spec, st, cls="station", priority=35, min_zoom=8.5, point=True, layer=fg)


def _sites_table(sites) -> str:
    rows = "".join(f"<tr><td>#{r.site_rank}</td><td>{html.escape(str(r.counties))}</td><td>{r.score:.3f}</td>"
                   f"<td>{html.escape(str(r.why))}</td></tr>" for r in sites.sort_values("site_rank").itertuples())
    return ('<table style="border-collapse:collapse;font-size:11px"><tr><th>#</th><th>旗县区</th><th>score</th>'
            f"<th>why</th></tr>{rows}</table>")


def _numbered_sites(m, spec, sites, tips):
    """A numbered marker per site (the rank inside the circle): never hidden by the label engine, unlike labels.

    The marker layer joins the legend and the layer list; the tooltip says rank, score and county.
    """
    pts = gpd.GeoDataFrame(sites.drop(columns="geometry"), geometry=gpd.points_from_xy(sites["lon"], sites["lat"]), crs=4326)
    fg = folium.FeatureGroup(name="候选园区编号 Site ranks", show=True)
    s = SITE
    for r in _shift(pts, spec).sort_values("site_rank", ascending=False).itertuples():  # rank 1 drawn last, on top
        tip = f"#{r.site_rank} · {r.score:.3f} · {html.escape(str(r.counties))}"
        folium.Marker([r.geometry.y, r.geometry.x], tooltip=tip, icon=folium.DivIcon(
            class_name="ts-site-rank", icon_size=(22, 22), icon_anchor=(11, 11),
            html=f'<div style="width:20px;height:20px;border-radius:50%;background:{s["color"]};border:1.5px solid #fff;'
                 f'color:#fff;font:bold 12px/20px Arial,sans-serif;text-align:center;box-shadow:0 0 2px #000">'
                 f"{int(r.site_rank)}</div>")).add_to(fg)
    fg.add_to(m)
    pts["t"] = pts["score"].map("{:.3f}".format)  # the score beside the number, where it has room
    pts["e"] = "#" + pts["site_rank"].astype(str) + " " + pts["t"] + " · " + pts["counties"].astype(str)
    for i in pts.index:
        add_labels(spec, pts.loc[[i]], cls="dist", priority=200 - int(pts.at[i, "site_rank"]), min_zoom=0, text="t",
                   english="e", point=True, layer=fg)
    spec.groups[fg.layer_name] = G_PLAN
    spec.legend.append({"layer": fg.get_name(), "group": G_PLAN, "title": "候选园区编号 Site ranks",
                        "items": [{"kind": "dot", "color": s["color"], "label": "编号 = 排名 number = rank (1 = best)"}]})
    return fg


def sites_map(run, *, m=None, finish: bool = True, basemap: str = "hillshade", **kw):
    """Joint-park candidate sites ranked (planning/sites.gpkg), every score component, the counties searched.

    Parameters
    ----------
    run : path-like or Run
        The run folder.
    m : folium.Map, optional
        A map made with ``finish=False`` to add the layers to.
    finish : bool
        Add the panel, legend and tools.
    basemap : str
        ``hillshade`` (offline) or a tile basemap.
    **kw
        Passed to :func:`~twinstar_gis.maps.core.new_map` (Tianditu key ...).

    Returns
    -------
    folium.Map
    """
    run = as_run(run)
    m, spec = start_page(run, m, basemap, "合作共建园区选址 Joint-park candidate sites", **kw)
    sites = run.vector("planning/sites.gpkg", "sites").sort_values("site_rank").copy()
    table = run.table("planning/sites.csv")
    sites["rank_label"] = "#" + sites["site_rank"].astype(str)
    searched = run.vector("planning/sites.gpkg", "site_counties")
    s, sd = SITE, SEARCHED
    add_vector(m, spec, searched, name="搜索范围 Counties searched", group=G_PLAN, color=sd["color"], fill_opacity=0.0,
               weight=sd["width"], dash=sd["dash"], simplify_deg=0.002, tooltip=[("name_zh", "旗县区 County")])
    admin_layers(m, spec, run, counties_show=True, seats=False)
    _context(m, spec, run)
    tips, fields = _explained(sites, run)
    add_vector(m, spec, sites, name="候选园区 Candidate sites", group=G_PLAN, color=s["color"], fill_opacity=s["fill"],
               weight=s["width"], tooltip=tips, popup=fields)
    _numbered_sites(m, spec, sites, tips)
    top = table.loc[table["site_rank"] == table["site_rank"].min()].iloc[0]
    head = (f"第1名 Top site: <b>{html.escape(str(top['counties']))}</b>, score <b>{top['score']:.3f}</b>; "
            f"worse core time {top['worse_core_min']:.0f} min.")
    area = table["requested_area_km2"].iloc[0] if "requested_area_km2" in table else float("nan")
    notes = [f"{len(table)} non-overlapping {area:g} km² squares, ranked by the weighted score (planning/sites.csv); "
             "click a site for every component (value → 0–1 → points; the points add up to the score). "
             "Why each ranks where it does:", _sites_table(table),
             "Sensitivity of the ranking to ±25 % weights: planning/sites_sensitivity.csv."]
    return end_page(m, spec, finish, notes, headline=head)


# ---------------------------------------------------------------- linkage
def _flow_layer(m, spec, flows, *, scenario: bool, reference: float):
    """One line per pair, width sqrt-scaled in strength (same scale today and in the scenario), cross-city coloured."""
    col = "strength_scenario" if scenario else "strength"
    g = flows.sort_values(col, na_position="first").reset_index(drop=True)  # strong lines on top
    g = _shift(g, spec)
    props = pd.DataFrame({
        "pair": g["name_i"].astype(str) + " – " + g["name_j"].astype(str),
        "strength": g[col], "width_px": np.round(flow_width(g[col], reference), 2),
        "share_of_strongest": (100 * g[col] / reference).round(2),
        "opacity": (0.35 + 0.55 * np.sqrt((g[col] / reference).clip(0, 1))).fillna(0.35).round(2),  # weak pairs recede
        "minutes": g["minutes_scenario" if scenario else "minutes"].round(1),
        "change_pct": g["strength_change_pct"].round(1),
        "cross_city": np.where(g["cross_city"].astype(bool), "跨市 cross-city", "市内 within a city")})
    lines = gpd.GeoDataFrame(props, geometry=g.geometry.values, crs=4326)
    colours = {True: LINKAGE["cross_city"], False: LINKAGE["within_city"]}
    dash = LINKAGE["scenario_dash"] if scenario else None

    def style(feature):
        p = feature["properties"]
        st = {"color": colours[p["cross_city"].startswith("跨")], "weight": p["width_px"], "opacity": p["opacity"],
              "lineCap": "round"}
        if dash:
            st["dashArray"] = dash
        return st

    name = "情景联系 Linkage with the scenario" if scenario else "现状联系 Linkage today"
    fg = folium.FeatureGroup(name=name, show=not scenario)
    fields = [("pair", "县对 Pair"), ("cross_city", "类型 Type"), ("minutes", "时间 Time (min)"),
              ("share_of_strongest", "强度 Strength (% of strongest today)"), ("change_pct", "情景变化 Scenario change (%)")]
    folium.GeoJson(lines.__geo_interface__, style_function=style, smooth_factor=1.0,
                   highlight_function=lambda f: {"opacity": 1.0},
                   tooltip=folium.GeoJsonTooltip(fields=[f for f, _ in fields], aliases=[a for _, a in fields], sticky=True),
                   ).add_to(fg)
    fg.add_to(m)
    spec.groups[name] = G_ANALYSIS
    spec.legend.append({"layer": fg.get_name(), "group": G_ANALYSIS, "title": name + _width_key(reference, dash),
                        "items": [{"kind": "line", "color": LINKAGE["cross_city"], "width": 4, "dash": dash,
                                   "label": "跨市 cross-city pair (赤峰 ↔ 通辽)"},
                                  {"kind": "line", "color": LINKAGE["within_city"], "width": 4, "dash": dash,
                                   "label": "市内 pair within one city"}]})
    return fg


def _width_key(reference: float, dash) -> str:
    """Three reference widths, drawn at their true width (the legend swatches cap widths)."""
    d = f' stroke-dasharray="{dash}"' if dash else ""
    rows = []
    for share in (1.0, 0.25, 0.01):
        w = float(flow_width(share * reference, reference))
        rows.append(f'<div style="display:flex;align-items:center;font-weight:normal"><svg width="40" height="16">'
                    f'<line x1="2" y1="8" x2="38" y2="8" stroke="#555" stroke-width="{w:.2f}"{d}/></svg>'
                    f'<span>{share * 100:g}% of the strongest pair</span></div>')
    return '<div style="font-weight:normal;font-size:11px">线宽 Width ∝ √strength</div>' + "".join(rows)


def _seats(m, spec, run):
    b, p = run.layer("boundaries"), run.layer("places")
    add_vector(m, spec, b[b["level"] == "county"], name="旗县区 Counties", group=G_ADMIN, color=DATA["county"]["color"],
               fill_opacity=0.0, weight=DATA["county"]["width"], simplify_deg=0.002, coverage=True, decimals=4,
               tooltip=[("name_zh", "旗县区"), ("name_en", "County"), ("population_2020", "人口 Population 2020")])
    prefs = b[b["level"] == "prefecture"]
    add_vector(m, spec, prefs, name="地级市 Prefectures", group=G_ADMIN, color=DATA["prefecture"]["color"], fill_opacity=0.0,
               weight=DATA["prefecture"]["width"], simplify_deg=0.002, coverage=True, decimals=4,
               tooltip=[("name_zh", "市"), ("name_en", "City")])
    add_labels(spec, prefs, cls="prefecture", priority=100, min_zoom=0)
    seats = p[p["kind"] == "county_seat"]
    fg = add_vector(m, spec, seats, name="旗县驻地 County seats", group=G_ADMIN, color=DATA["county_seat"]["color"],
                    edge=DATA["county_seat"]["edge"], kind="point", radius=DATA["county_seat"]["radius"],
                    tooltip=[("name_zh", "名称"), ("name_en", "Name")])
    add_labels(spec, seats, cls="county", priority=60, min_zoom=0, point=True, layer=fg)
    cores = city_cores(p)
    add_vector(m, spec, cores, name="中心城区 City cores", group=G_ADMIN, color=DATA["city_core"]["color"], kind="point",
               radius=DATA["city_core"]["radius"], tooltip=[("name_zh", "名称"), ("name_en", "Name")])


def linkage_map(run, *, m=None, finish: bool = True, basemap: str = "hillshade", **kw):
    """Gravity linkage between county seats (planning/linkage.gpkg), today and with the scenario.

    Parameters
    ----------
    run : path-like or Run
        The run folder.
    m : folium.Map, optional
        A map made with ``finish=False`` to add the layers to.
    finish : bool
        Add the panel, legend and tools.
    basemap : str
        ``hillshade`` (offline) or a tile basemap.
    **kw
        Passed to :func:`~twinstar_gis.maps.core.new_map` (Tianditu key ...).

    Returns
    -------
    folium.Map
    """
    run = as_run(run)
    m, spec = start_page(run, m, basemap, "双城联系 Twin-city linkage (gravity model)", **kw)
    flows = run.vector("planning/linkage.gpkg", "linkage_flows")
    scenario = has_scenario(run)
    cols = ["strength", "strength_scenario"] if scenario else ["strength"]
    reference = float(np.nanmax(flows[cols].to_numpy())) if len(flows) else float("nan")
    _seats(m, spec, run)
    _flow_layer(m, spec, flows, scenario=False, reference=reference)
    if scenario:
        _flow_layer(m, spec, flows, scenario=True, reference=reference)
    summ = run.table("planning/linkage_summary.csv").set_index("indicator")
    cross = summ.loc["cross_city_share_of_all_linkage"] if "cross_city_share_of_all_linkage" in summ.index else None
    if cross is None:
        value = "– (not in planning/linkage_summary.csv)"
    elif scenario:
        value = f"<b>{_pct(float(cross['base']))} → {_pct(float(cross['scenario']))}</b> (today → scenario)"
    else:
        value = f"<b>{_pct(float(cross['base']))}</b> (today; no scenario in this run)"
    head = "跨市联系占全部联系 Cross-city share of all linkage: " + value
    b = _assumption(run, "gravity_b")
    notes = [f"Strength = population × population / minutes^{b:g} between county seats (the run's OD times); "
             "widths on one scale for today and the scenario (the strongest pair of either = the widest line).",
             "Tables: planning/linkage_pairs.csv, linkage_units.csv, linkage_summary.csv."]
    return end_page(m, spec, finish, notes, headline=head)


#: Gallery entries of the planning pages, their makers and the file without which a page is skipped.
PLANNING_GALLERY = {
    "suitability": ("建设适宜性 Suitability", "Construction suitability classes, hard constraints, counties."),
    "sites": ("园区选址 Joint-park sites", "Top non-overlapping candidate sites with every score component and why."),
    "linkage": ("双城联系 Linkage", "Gravity linkage between county seats, today and with the scenario."),
}
PLANNING_MAKERS = {"suitability": suitability_map, "sites": sites_map, "linkage": linkage_map}
