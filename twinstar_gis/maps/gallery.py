"""The map gallery: overview, distances, conflicts, accessibility, scenario.

Each function returns a :class:`folium.Map`.  Pass ``m=`` (a map made by
another gallery function with ``finish=False``) to add layers to it, as with
geopandas' ``explore(m=...)``; ``finish=True`` adds the layer control, legend,
measure tool, fullscreen button and notes.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from ..gcj02 import wgs84_to_gcj02
from ..io import atomic_output
from ..overlay import ZONE_BUFFERS, area_overlaps, buffer_m, length_inside
from ..proximity import park_corridor_distances
from .core import PALETTE, add_hillshade, add_raster, add_vector, finish, new_map, save_map

__all__ = ["overview_map", "distances_map", "conflicts_map", "access_map", "scenario_map", "write_gallery", "GALLERY"]

log = logging.getLogger(__name__)

G_ADMIN, G_INDUSTRY, G_TRANSPORT, G_ECO, G_ANALYSIS = (
    "行政 Administrative", "产业 Industry", "交通 Transport", "生态 Ecology", "分析 Analysis")
CLASS_COLOURS = {"high_speed_rail": PALETTE["vermillion"], "railway": PALETTE["black"], "expressway": PALETTE["blue"],
                 "national_highway": PALETTE["sky"]}
CLASS_LABELS = {"high_speed_rail": "高铁 High-speed rail", "railway": "普速铁路 Railway", "expressway": "高速公路 Expressway",
                "national_highway": "国道 National highway"}
_SRC = [("source", "来源 Source"), ("accuracy_m", "精度 Accuracy (m)"), ("geometry_quality", "几何 Geometry")]


def _start(ds, m, basemap, title, **kw):
    if m is not None:
        return m, m._ts_spec
    b = ds["boundaries"].total_bounds
    m, spec = new_map(b, basemap=basemap, title=title, **kw)
    m._ts_spec = spec
    add_hillshade(m, spec, ds.dem_path)
    return m, spec


def _end(m, spec, do_finish, notes=None):
    if do_finish:
        finish(m, spec, note_lines=notes)
    return m


def _admin(m, spec, ds, *, counties_show=True):
    b = ds["boundaries"]
    add_vector(m, spec, b[b["level"] == "county"], name="旗县区 Counties", group=G_ADMIN, color=PALETTE["grey"],
               fill_opacity=0.04, weight=1, simplify_deg=0.002, coverage=True, decimals=4, show=counties_show,
               tooltip=[("name_zh", "旗县区"), ("name_en", "County"), ("area_km2", "面积 Area (km²)"),
                        ("population_2020", "人口 Population 2020")],
               popup=[("adcode", "代码 Adcode"), ("name_zh", "名称"), ("name_en", "Name"), ("area_km2", "面积 Area (km², ellipsoid)"),
                      ("population_2020", "人口 Population 2020"), ("population_source", "人口来源 Population source"),
                      ("source", "来源 Source")])
    add_vector(m, spec, b[b["level"] == "prefecture"], name="地级市 Prefectures", group=G_ADMIN, color=PALETTE["black"],
               fill_opacity=0.0, weight=3, simplify_deg=0.002, coverage=True, decimals=4,
               tooltip=[("name_zh", "市"), ("name_en", "City"), ("area_km2", "面积 Area (km², ellipsoid)"),
                        ("area_official_km2", "统计面积 Official area (km²)")])
    p = ds["places"]
    add_vector(m, spec, p[p["kind"] == "city_core"], name="中心城区 City cores", group=G_ADMIN, color=PALETTE["black"],
               kind="point", radius=8, tooltip=[("name_zh", "名称"), ("name_en", "Name")], popup=_SRC)
    add_vector(m, spec, p[p["kind"] == "county_seat"], name="旗县驻地 County seats", group=G_ADMIN, color=PALETTE["grey"],
               kind="point", radius=5, tooltip=[("name_zh", "名称"), ("name_en", "Name")], popup=_SRC)


def _parks(m, spec, ds, *, show=True):
    add_vector(m, spec, ds["parks"], name="产业园区 Industrial parks", group=G_INDUSTRY, color=PALETTE["orange"],
               fill_opacity=0.45, weight=2, show=show,
               tooltip=[("name_zh", "园区"), ("name_en", "Park"), ("level", "级别 Level"),
                        ("declared_area_km2", "规划面积 Declared area (km²)"), ("area_km2", "图上面积 Drawn area (km²)"),
                        ("geometry_quality", "几何 Geometry")],
               popup=[("park_id", "编号 Id"), ("name_zh", "园区"), ("name_en", "Park"), ("leading_industries", "主导产业 Industries"),
                      ("area_basis", "面积依据 Area basis")] + _SRC)


def _transport(m, spec, ds, *, show=True):
    cor = ds["corridors"]
    operating = cor[cor["status"].fillna("operating") == "operating"]
    for cls in ("high_speed_rail", "railway", "expressway", "national_highway"):
        add_vector(m, spec, operating[operating["class"] == cls], name=CLASS_LABELS[cls], group=G_TRANSPORT,
                   color=CLASS_COLOURS[cls], kind="line", weight=4 if cls in ("high_speed_rail", "expressway") else 2.5,
                   show=show, simplify_deg=0.001,
                   tooltip=[("name_zh", "线路"), ("name_en", "Corridor"), ("design_speed_kmh", "设计速度 Design speed (km/h)"),
                            ("opening_year", "开通 Opened"), ("length_km", "区内长度 Length in region (km)")],
                   popup=[("stations", "车站 Stations")] + _SRC)
    planned = cor[cor["status"].fillna("operating") != "operating"]
    add_vector(m, spec, planned, name="规划线路 Planned corridors", group=G_TRANSPORT, color=PALETTE["purple"], kind="line",
               weight=4, show=show, tooltip=[("name_zh", "线路"), ("name_en", "Corridor"), ("status", "状态 Status")], popup=_SRC,
               legend_items=[{"kind": "line", "color": PALETTE["purple"], "dash": True, "label": "规划 planned (assumed route)"}])
    n = ds["nodes"]
    add_vector(m, spec, n[n["kind"].isin(["hsr_station", "rail_station"])], name="车站 Stations", group=G_TRANSPORT,
               color=PALETTE["vermillion"], kind="point", radius=5, show=show,
               color_by={"column": "kind", "map": {"hsr_station": PALETTE["vermillion"], "rail_station": PALETTE["black"]}},
               tooltip=[("name_zh", "车站"), ("name_en", "Station"), ("kind", "类型 Kind")], popup=_SRC,
               legend_items=[{"kind": "dot", "color": PALETTE["vermillion"], "label": "高铁站 HSR station"},
                             {"kind": "dot", "color": PALETTE["black"], "label": "普速站 Railway station"}])
    add_vector(m, spec, n[n["kind"] == "airport"], name="机场 Airports", group=G_TRANSPORT, color=PALETTE["blue"],
               kind="point", radius=7, show=show, tooltip=[("name_zh", "机场"), ("name_en", "Airport")], popup=_SRC)


def _ecology(m, spec, ds, *, show=True):
    eco = ds["eco_zones"]
    add_vector(m, spec, eco[eco["kind"] == "sandy_land"], name="科尔沁沙地 Horqin sandy land", group=G_ECO,
               color=PALETTE["yellow"], fill_opacity=0.30, weight=1.5, show=show,
               tooltip=[("name_zh", "名称"), ("name_en", "Name"), ("area_km2", "区内面积 Area in region (km²)")], popup=_SRC)
    add_vector(m, spec, eco[eco["kind"] == "nature_reserve"], name="自然保护区 Nature reserves", group=G_ECO,
               color=PALETTE["green"], fill_opacity=0.35, weight=2, show=show,
               tooltip=[("name_zh", "保护区"), ("name_en", "Reserve"), ("protection_level", "级别 Level"),
                        ("official_area_km2", "批准面积 Official area (km²)")], popup=[("area_source", "面积来源 Area source")] + _SRC)
    add_vector(m, spec, ds["rivers"], name="西辽河水系 West Liao rivers", group=G_ECO, color=PALETTE["sky"], kind="line",
               weight=2.5, show=show, simplify_deg=0.001,
               tooltip=[("name_zh", "河流"), ("name_en", "River"), ("length_km", "区内长度 Length (km)")], popup=_SRC)


def overview_map(ds, *, m=None, finish: bool = True, basemap: str = "hillshade", **kw):
    """Boundaries, cores and seats, parks, corridors by class and status, ecological zones, terrain."""
    m, spec = _start(ds, m, basemap, "赤峰–通辽 双子星座 · Chifeng–Tongliao Twin Star: overview", **kw)
    _ecology(m, spec, ds)
    _admin(m, spec, ds)
    _parks(m, spec, ds)
    _transport(m, spec, ds)
    return _end(m, spec, finish)


def distances_map(ds, near: gpd.GeoDataFrame | None = None, *, m=None, finish: bool = True, basemap: str = "hillshade", **kw):
    """Each park's connector to its nearest corridor of each class, labelled with the ground distance."""
    m, spec = _start(ds, m, basemap, "园区—交通走廊距离 Park-to-corridor distances", **kw)
    near = near if near is not None else park_corridor_distances(ds.layers)
    _admin(m, spec, ds, counties_show=False)
    _transport(m, spec, ds)
    _parks(m, spec, ds)
    colours = {"high_speed_rail": PALETTE["vermillion"], "hsr_station": PALETTE["vermillion"], "railway": PALETTE["black"],
               "railway_station": PALETTE["black"], "expressway": PALETTE["blue"], "national_highway": PALETTE["sky"],
               "interchange": PALETTE["blue"], "airport": PALETTE["purple"]}
    near = near.copy()
    near["label"] = [f"{d:.1f} km ± {u / 1000:.0f} km" if np.isfinite(u) else f"{d:.1f} km"
                     for d, u in zip(near["distance_km"], near["uncertainty_m"])]
    names = {"high_speed_rail": "高铁线 HSR line", "hsr_station": "高铁站 HSR station", "railway": "铁路 railway",
             "railway_station": "火车站 railway station", "expressway": "高速公路 expressway",
             "national_highway": "国道 national highway", "interchange": "互通 interchange", "airport": "机场 airport"}
    for cls, grp in near.groupby("class", sort=False):
        label = names.get(cls, cls)
        add_vector(m, spec, grp, name=f"最近 nearest {label}", group=G_ANALYSIS, color=colours.get(cls, PALETTE["grey"]),
                   kind="line", weight=2.5, show=cls in ("hsr_station", "expressway"),
                   tooltip=[("park_name_zh", "园区 Park"), ("target_name_zh", "最近 Nearest"), ("label", "距离 Distance"),
                            ("measured_from", "起算 From")],
                   legend_items=[{"kind": "line", "color": colours.get(cls, PALETTE["grey"]), "dash": True,
                                  "label": f"园区→最近 park → nearest {label}"}])
    labels = folium.FeatureGroup(name="标注 Labels: distance to HSR station", show=True)
    for r in near[near["class"] == "hsr_station"].itertuples():
        lon, lat = (r.park_lon + r.target_lon) / 2, (r.park_lat + r.target_lat) / 2
        if spec.gcj:
            lo, la = wgs84_to_gcj02(lon, lat)
            lon, lat = float(lo), float(la)
        folium.Marker([lat, lon], icon=folium.DivIcon(
            html=f'<div class="ts-measure-label" style="border-color:{PALETTE["vermillion"]}">{r.distance_km:.1f} km</div>',
            icon_size=(0, 0), icon_anchor=(0, 0), class_name="ts-label")).add_to(labels)
    labels.add_to(m)
    spec.groups[labels.layer_name] = G_ANALYSIS
    return _end(m, spec, finish, ["距离为椭球面地面距离；± 为示意几何带来的不确定性。 Distances are on the WGS-84 ellipsoid; "
                                  "± is the uncertainty from indicative geometry."])


def conflicts_map(ds, *, m=None, finish: bool = True, basemap: str = "hillshade", zone_buffers=None, **kw):
    """Parks and corridor stretches inside ecological zones (with riparian and reserve buffers)."""
    m, spec = _start(ds, m, basemap, "生态冲突 Conflicts with ecological zones", **kw)
    zone_buffers = ZONE_BUFFERS if zone_buffers is None else zone_buffers
    _ecology(m, spec, ds)
    rivers = ds["rivers"]
    strip = rivers.copy()
    strip["geometry"] = buffer_m(rivers, zone_buffers["river"])
    add_vector(m, spec, strip, name=f"河道缓冲 Riparian strip ({zone_buffers['river']:g} m)", group=G_ECO, color=PALETTE["sky"],
               fill_opacity=0.25, weight=0.5, simplify_deg=0.0005, tooltip=[("name_zh", "河流 River")])
    _admin(m, spec, ds, counties_show=False)
    _parks(m, spec, ds)
    eco = ds["eco_zones"]
    ov = area_overlaps(ds["parks"], eco, a_id="park_id", b_id="zone_id")
    ov["geometry_quality"] = "indicative"
    add_vector(m, spec, ov, name="园区占用生态区 Park overlaps", group=G_ANALYSIS, color=PALETTE["vermillion"], fill_opacity=0.7,
               tooltip=[("a_name_zh", "园区 Park"), ("b_name_zh", "生态区 Zone"), ("overlap_km2", "重叠 Overlap (km²)"),
                        ("overlap_mu", "重叠 Overlap (亩 mu)"), ("share_of_a", "占园区比例 Share of park")])
    zones = pd.concat([eco[["zone_id", "name_zh", "kind", "geometry"]],
                       rivers.rename(columns={"river_id": "zone_id"}).assign(kind="river")[["zone_id", "name_zh", "kind", "geometry"]]],
                      ignore_index=True)
    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs=4326)
    li = length_inside(ds["corridors"], zones, line_id="corridor_id", zone_id="zone_id", buffer=zone_buffers)
    li["geometry_quality"] = "indicative"
    add_vector(m, spec, li, name="走廊穿越段 Corridor stretches in zones", group=G_ANALYSIS, color=PALETTE["vermillion"], kind="line",
               weight=6, tooltip=[("line_name_zh", "线路 Corridor"), ("zone_name_zh", "生态区 Zone"), ("buffer_m", "缓冲 Buffer (m)"),
                                  ("length_km", "长度 Length (km)"), ("share_of_line", "占线路比例 Share of corridor")])
    _transport(m, spec, ds, show=False)
    return _end(m, spec, finish, [f"缓冲 Buffers: reserves {zone_buffers['nature_reserve']:g} m, rivers {zone_buffers['river']:g} m. "
                                  "All outlines here are indicative: verify on surveyed boundaries before acting."])


def access_map(ds, result=None, *, m=None, finish: bool = True, basemap: str = "hillshade", **kw):
    """Travel time to the nearest core (raster), isochrones from the cores, the 1-hour circle."""
    from ..accessibility import accessibility

    m, spec = _start(ds, m, basemap, "可达性 Accessibility: travel time to the city cores", **kw)
    result = result if result is not None else accessibility(ds.layers, dem_path=ds.dem_path)
    add_raster(m, spec, result.time_to_cores, result.grid.transform, result.grid.crs, name="到中心城区时间 Time to nearest core",
               group=G_ANALYSIS, vmin=0, vmax=180, classes=[30, 60, 90, 120, 150], legend_label="0 → 180+ min (30-min steps)")
    iso = result.isochrones.copy()
    iso["label"] = iso["origin_name"] + " " + iso["minutes"].map(lambda x: f"{x:g}") + " min"
    for mins, colour in zip(sorted(iso["minutes"].unique()), [PALETTE["yellow"], PALETTE["vermillion"], PALETTE["purple"], PALETTE["blue"]]):
        add_vector(m, spec, iso[iso["minutes"] == mins], name=f"等时圈 Isochrone {mins:g} min", group=G_ANALYSIS, color=colour,
                   fill_opacity=0.0 if mins != 60 else 0.10, weight=3 if mins == 60 else 2, show=mins in (60, 120),
                   simplify_deg=0.002, tooltip=[("label", "等时圈 Isochrone"), ("area_km2", "面积 Area (km²)")])
    b = ds["boundaries"]
    ct = b[b["level"] == "county"][["adcode", "geometry"]].merge(result.counties, on="adcode")
    ct["geometry_quality"] = "surveyed"
    add_vector(m, spec, ct, name="旗县区到中心城区时间 County travel times", group=G_ANALYSIS, color=PALETTE["grey"],
               fill_opacity=0.0, weight=1, simplify_deg=0.002, coverage=True, decimals=4,
               tooltip=[("name_zh", "旗县区"), ("name_en", "County"), ("mean_min", "平均 Mean (min)"),
                        ("median_min", "中位 Median (min)"), ("area_share_60min", "一小时圈面积比 Share within 1 h"),
                        ("area_share_120min", "两小时圈面积比 Share within 2 h")])
    _admin(m, spec, ds, counties_show=False)
    _transport(m, spec, ds, show=False)
    tw = result.twin_city.set_index("indicator")["value"]
    notes = [f"中心城区间 Core to core: {tw.get('core_to_core_fastest_min', float('nan')):.0f} min fastest, "
             f"{tw.get('core_to_core_road_min', float('nan')):.0f} min by road.",
             "一小时经济圈 = 60-min isochrone (filled). Speeds: see assumptions.csv."]
    return _end(m, spec, finish, notes)


def scenario_map(ds, base=None, scen=None, *, m=None, finish: bool = True, basemap: str = "hillshade", **kw):
    """Before / after the planned corridors: change in mean travel time per county, 2-hour circles."""
    from ..accessibility import accessibility, compare_scenarios

    m, spec = _start(ds, m, basemap, "情景 Scenario: planned Chifeng–Tongliao link", **kw)
    base = base if base is not None else accessibility(ds.layers, dem_path=ds.dem_path)
    scen = scen if scen is not None else accessibility(ds.layers, dem_path=ds.dem_path, include_planned=True)
    counties, places, layer = compare_scenarios(base, scen, ds["boundaries"])
    layer = layer.copy()
    bins = [-np.inf, -10, -5, -1, -0.05, np.inf]
    cols = ["#08519c", "#3182bd", "#6baed6", "#c6dbef", "#f7f7f7"]
    labels = ["> 10 min faster", "5–10 min", "1–5 min", "< 1 min", "no change"]
    layer["change_class"] = pd.cut(layer["mean_min_change"], bins, labels=labels).astype(str)
    layer["geometry_quality"] = "surveyed"
    add_vector(m, spec, layer, name="县均时间变化 Change in mean time per county", group=G_ANALYSIS, color="#f7f7f7",
               fill_opacity=0.75, weight=1, simplify_deg=0.002, coverage=True, decimals=4,
               color_by={"column": "change_class", "map": dict(zip(labels, cols))},
               tooltip=[("name_zh", "旗县区"), ("mean_min_base", "现状均值 Mean now (min)"),
                        ("mean_min_scenario", "情景均值 Mean scenario (min)"), ("mean_min_change", "变化 Change (min)"),
                        ("area_share_120min_change", "两小时圈面积变化 Δ share within 2 h")],
               legend_items=[{"kind": "fill", "color": c, "label": l} for c, l in zip(cols, labels)])
    for label, res, colour in (("现状 Now", base, PALETTE["black"]), ("情景 Scenario", scen, PALETTE["vermillion"])):
        iso = res.isochrones[res.isochrones["minutes"] == 120].copy()
        iso["label"] = iso["origin_name"] + " 120 min"
        add_vector(m, spec, iso, name=f"两小时圈 2-hour circle: {label}", group=G_ANALYSIS, color=colour, fill_opacity=0.0,
                   weight=2.5, simplify_deg=0.002, tooltip=[("label", "等时圈"), ("area_km2", "面积 Area (km²)")])
    _transport(m, spec, ds)
    a = base.twin_city.set_index("indicator")["value"]
    b = scen.twin_city.set_index("indicator")["value"]
    return _end(m, spec, finish, [f"中心城区间 Core to core: {a['core_to_core_fastest_min']:.0f} → {b['core_to_core_fastest_min']:.0f} min "
                                  "with the planned corridors (route and speed assumed)."])


GALLERY = {
    "overview": ("总览 Overview", "Boundaries, seats, parks, corridors, ecological zones, terrain."),
    "distances": ("园区距离 Distances", "Each park's nearest corridor of each class, with ground distances."),
    "conflicts": ("生态冲突 Conflicts", "Parks and corridor stretches inside reserves, the Horqin sandy land and riparian strips."),
    "accessibility": ("可达性 Accessibility", "Travel time to the cores, isochrones, the one-hour circle."),
    "scenario": ("情景 Scenario", "Before / after the planned Chifeng–Tongliao link, change per county."),
}


def write_gallery(ds, out_dir, *, offline: bool = True, basemap: str = "hillshade", tianditu_key=None, store_key=False,
                  near=None, base=None, scen=None) -> dict:
    """Write the five maps and an index page into ``out_dir``; return name -> path."""
    from ..accessibility import accessibility

    out_dir = Path(out_dir)
    kw = dict(basemap=basemap, tianditu_key=tianditu_key, store_key=store_key)
    base = base if base is not None else accessibility(ds.layers, dem_path=ds.dem_path)
    scen = scen if scen is not None else accessibility(ds.layers, dem_path=ds.dem_path, include_planned=True)
    maps = {
        "overview": overview_map(ds, **kw),
        "distances": distances_map(ds, near, **kw),
        "conflicts": conflicts_map(ds, **kw),
        "accessibility": access_map(ds, base, **kw),
        "scenario": scenario_map(ds, base, scen, **kw),
    }
    paths = {name: save_map(m, out_dir / f"{name}.html", offline=offline) for name, m in maps.items()}
    items = "\n".join(
        f'<li><a href="{name}.html">{html.escape(t)}</a> — {html.escape(d)} '
        f'<span class="size">({paths[name].stat().st_size / 1024:.0f} KiB)</span></li>'
        for name, (t, d) in GALLERY.items())
    page = f"""<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>twinstar_gis map gallery</title>
<style>body{{font:15px/1.5 Arial,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:760px;color:#222}}
a{{color:#0072B2}}.size{{color:#777;font-size:12px}}</style></head><body>
<h1>赤峰–通辽 双子星座 · Twin Star map gallery</h1>
<p>Data: {html.escape(ds.origin)}. Dashed outlines are indicative (not surveyed). Maps work offline.</p>
<ul>{items}</ul></body></html>"""
    with atomic_output(out_dir / "index.html") as tmp:
        tmp.write_text(page, encoding="utf-8")
    paths["index"] = out_dir / "index.html"
    return paths
