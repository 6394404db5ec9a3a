"""The map gallery of a run: overview, distances, conflicts, accessibility, scenario (before | after), county change.

Every map renders the outputs of one run folder (see :mod:`._run`): the layers
the run used (``data/twinstar.gpkg``), its analysis tables and layers
(``analysis/``) and its accessibility products (``access/``).  Nothing is
recomputed here.  Each function takes the run folder (path or opened
:class:`~._run.Run`) and returns a :class:`folium.Map`; pass ``m=`` (a map made
with ``finish=False``) to add layers to it, as with geopandas' ``explore(m=...)``.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import branca
import numpy as np
import pandas as pd

from ..data.gcj02 import wgs84_to_gcj02
from ..data.io import atomic_output
from ._controls import SyncMaps
from ._layers import (G_ADMIN, G_ANALYSIS, G_ECO, admin_layers, as_run, ecology_layers, end_page, park_layer, start_page,
                      transport_layers)
from ._run import Run, drop_minor_roads, open_run, skip_reason
from .core import add_hillshade, add_labels, add_raster, add_vector, finish, new_map, save_map
from .planning_pages import PLANNING_GALLERY, PLANNING_MAKERS
from .style import ANALYSIS, CHANGE_BINS, CHANGE_COLORS, CHANGE_LABELS, DATA, TIME_CLASSES, TIME_RAMP, minutes_change

__all__ = ["overview_map", "distances_map", "conflicts_map", "access_map", "scenario_map", "change_map", "write_gallery",
           "GALLERY", "headline_figures", "coverage_notes"]

log = logging.getLogger(__name__)

NEAREST_LABELS = {"high_speed_rail": "高铁线 HSR line", "hsr_station": "高铁站 HSR station", "railway": "铁路 railway",
                  "railway_station": "火车站 railway station", "expressway": "高速公路 expressway",
                  "national_highway": "国道 national highway", "interchange": "互通 interchange", "airport": "机场 airport"}


def overview_map(run, *, m=None, finish: bool = True, basemap: str = "hillshade", **kw):
    """Boundaries, cores and seats, parks, corridors by class and status, ecological zones, terrain.

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
    m, spec = start_page(run, m, basemap, "赤峰–通辽 双子星座 · Twin Star: overview", **kw)
    ecology_layers(m, spec, run)
    admin_layers(m, spec, run)
    park_layer(m, spec, run)
    transport_layers(m, spec, run)
    return end_page(m, spec, finish, [f"Data: {html.escape(run.origin)}."])


def _distance_labels(spec, near, cls="hsr_station"):
    """Distance labels (from the run's park_corridor_nearest.csv) half-way along each connector."""
    sub = near[near["class"] == cls]
    lon = (sub["park_lon"] + sub["target_lon"]) / 2
    lat = (sub["park_lat"] + sub["target_lat"]) / 2
    if spec.gcj:
        lon, lat = wgs84_to_gcj02(lon.to_numpy(), lat.to_numpy())
    for x, y, d, pz, tz in zip(np.asarray(lon), np.asarray(lat), sub["distance_km"], sub["park_name_zh"], sub["target_name_zh"]):
        spec.labels.append({"t": f"{d:.1f} km", "e": f"{pz} → {tz}: {d:.1f} km", "x": round(float(x), 5),
                            "y": round(float(y), 5), "c": "dist", "p": 80, "z": 0, "pt": False, "l": spec.dist_layer})


def distances_map(run, *, m=None, finish: bool = True, basemap: str = "hillshade", **kw):
    """Each park's connector to its nearest corridor of each class, labelled with the ground distance (from the run).

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
    m, spec = start_page(run, m, basemap, "园区—交通走廊距离 Park-to-corridor distances", **kw)
    near = run.table("analysis/park_corridor_nearest.csv")
    conn = run.vector("analysis/park_corridor_connectors.gpkg", "connectors")
    admin_layers(m, spec, run, counties_show=False, seats=False)
    transport_layers(m, spec, run)
    park_layer(m, spec, run)
    st = ANALYSIS["connector"]
    spec.dist_layer = None
    for cls, grp in conn.groupby("class", sort=False):
        label = NEAREST_LABELS.get(cls, cls)
        grp = grp.copy()
        grp["label"] = [f"{d:.1f} km ± {u / 1000:.0f} km" if np.isfinite(u) else f"{d:.1f} km"
                        for d, u in zip(grp["distance_km"], grp["uncertainty_m"])]
        fg = add_vector(m, spec, grp.drop(columns="geometry_quality"), name=f"最近 nearest {label}", group=G_ANALYSIS,
                        color=st["color"], kind="line", weight=st["width"], dash=st["dash"],
                        show=cls in ("hsr_station", "expressway"),
                        tooltip=[("park_name_zh", "园区 Park"), ("target_name_zh", "最近 Nearest"), ("label", "距离 Distance"),
                                 ("measured_from", "起算 From")],
                        legend_items=[{"kind": "line", "color": st["color"], "width": st["width"], "dash": st["dash"],
                                       "label": f"园区→最近 park → nearest {label}"}])
        if cls == "hsr_station":
            spec.dist_layer = fg.get_name()
    _distance_labels(spec, near)
    parks = run.layer("parks")
    add_labels(spec, parks, cls="park", priority=70, min_zoom=0)  # every park named (hidden only where labels clash)
    mf = near["measured_from"].iloc[0] if len(near) else "boundary"
    return end_page(m, spec, finish, [f"距离取自本次运行 Distances from this run (park {html.escape(str(mf))}, WGS-84 ellipsoid); "
                                  "± is the uncertainty from indicative geometry. Labels: distance to the nearest HSR station.",
                                  _distance_table(near)])


def _distance_table(near, cls: str = "hsr_station") -> str:
    """Every park of the run with its nearest HSR station and distance (the panel's table: no park goes unnamed)."""
    sub = near[near["class"] == cls].sort_values("distance_km")
    rows = "".join(
        f"<tr><td>{html.escape(str(r.park_name_zh))}</td><td>{html.escape(str(r.target_name_zh))}</td>"
        f"<td style=\"text-align:right\">{r.distance_km:.1f}</td></tr>" for r in sub.itertuples())
    return ('<table style="border-collapse:collapse;font-size:11px"><tr><th>园区 Park</th><th>最近高铁站 Nearest HSR station</th>'
            f"<th>km</th></tr>{rows}</table>")


def _buffer_note(run, buf):
    if buf is not None and len(buf):
        vals = buf.groupby("kind")["buffer_m"].first()
        return "缓冲 Buffers: " + ", ".join(f"{k} {v:g} m" for k, v in vals.items()) + "."
    ov = run.manifest.get("settings", {}).get("overlap", {})
    return ("缓冲区图层缺失 eco_buffers layer not in this run; buffers used: reserves "
            f"{ov.get('buffer_nature_reserve_m', float('nan')):g} m, rivers {ov.get('buffer_river_m', float('nan')):g} m.")


def conflicts_map(run, *, m=None, finish: bool = True, basemap: str = "hillshade", **kw):
    """Parks and corridor stretches inside ecological zones and their buffers (the run's overlap outputs).

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
    m, spec = start_page(run, m, basemap, "生态冲突 Conflicts with ecological zones", **kw)
    ecology_layers(m, spec, run)
    buf = run.vector("analysis/overlap.gpkg", "eco_buffers", required=False)
    b = ANALYSIS["buffer"]
    if buf is not None:
        buf = buf.copy()
        buf["label"] = buf["name_zh"] + " + " + buf["buffer_m"].map(lambda x: f"{x:g} m")
        add_vector(m, spec, buf, name="生态缓冲区 Ecological buffers", group=G_ECO, color=b["color"], fill_opacity=b["fill"],
                   weight=b["width"], dash=b["dash"], simplify_deg=0.0005, tooltip=[("label", "缓冲 Buffer")],
                   legend_items=[{"kind": "fill", "color": b["color"], "fill": b["fill"], "dash": b["dash"], "width": 1.5,
                                  "label": "生态缓冲区 Buffer around reserves and rivers"}])
    admin_layers(m, spec, run, counties_show=False, seats=False)
    park_layer(m, spec, run)
    c = ANALYSIS["conflict"]
    ov = run.vector("analysis/overlap.gpkg", "park_eco_overlaps")
    add_vector(m, spec, ov, name="园区占用生态区 Park overlaps", group=G_ANALYSIS, color=c["color"], fill_opacity=c["fill"],
               weight=2, tooltip=[("a_name_zh", "园区 Park"), ("b_name_zh", "生态区 Zone"), ("overlap_km2", "重叠 Overlap (km²)"),
                                  ("overlap_mu", "重叠 Overlap (亩 mu)"), ("share_of_a", "占园区比例 Share of park")])
    li, li_note = drop_minor_roads(run.vector("analysis/overlap.gpkg", "corridor_eco_stretches"), "line_class")
    if li_note:
        spec.notes.append("走廊穿越段 Corridor stretches: " + li_note)
    add_vector(m, spec, li, name="走廊穿越段 Corridor stretches in zones", group=G_ANALYSIS, color=c["color"], kind="line",
               weight=c["width"], tooltip=[("line_name_zh", "线路 Corridor"), ("zone_name_zh", "生态区 Zone"),
                                           ("buffer_m", "缓冲 Buffer (m)"), ("length_km", "长度 Length (km)"),
                                           ("share_of_line", "占线路比例 Share of corridor")])
    transport_layers(m, spec, run, show=False)
    return end_page(m, spec, finish, [_buffer_note(run, buf) + " All outlines here are indicative: verify on surveyed "
                                  "boundaries before acting."])


def headline_figures(run) -> dict:
    """Core-to-core minutes now / with the scenario, read from the run's tables (NaN where absent).

    Parameters
    ----------
    run : path-like or Run
        The run folder (or an opened :class:`~twinstar_gis.maps._run.Run`).

    Returns
    -------
    dict
    """
    run = as_run(run)
    tw = run.table("access/twin_city.csv").set_index("indicator")["value"]
    out = {"core_to_core_now": float(tw.get("core_to_core_fastest_min", np.nan)),
           "core_to_core_road_now": float(tw.get("core_to_core_road_min", np.nan)),
           "share_120_now": float(tw.get("area_share_within_120min_of_a_core", np.nan)), "core_to_core_scenario": np.nan,
           "counties_faster_5": np.nan}
    sp = run.table("access/scenario_places.csv", required=False)
    if sp is not None and "to_other_core_min_scenario" in sp:
        cores = sp[sp["kind"] == "city_core"]
        out["core_to_core_scenario"] = float(cores["to_other_core_min_scenario"].min())
    sc = run.table("access/scenario_counties.csv", required=False)
    if sc is not None:
        out["counties_faster_5"] = int((sc["mean_min_change"] <= -5).sum())
        out["counties"] = len(sc)
    return out


def _fmt(x):
    return "–" if not np.isfinite(x) else f"{x:.0f}"


def access_map(run, *, m=None, finish: bool = True, basemap: str = "hillshade", **kw):
    """Travel time to the nearest core (the run's raster), isochrones from the cores, county travel times.

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
    m, spec = start_page(run, m, basemap, "可达性 Accessibility: travel time to the city cores", **kw)
    a, t, crs = run.raster("access/time_to_cores.tif")
    add_raster(m, spec, a, t, crs, name="到中心城区时间 Time to nearest core", group=G_ANALYSIS, vmin=0, vmax=180,
               classes=list(TIME_CLASSES), legend_label="0 → 150+ min (30-min classes)", colors=TIME_RAMP)
    _isochrones(m, spec, run.vector("access/isochrones.gpkg", "isochrones"), show=(60, 120))
    b = run.layer("boundaries")
    ct = b[b["level"] == "county"][["adcode", "geometry"]].merge(run.table("access/county_access.csv"), on="adcode")
    ct["geometry_quality"] = "surveyed"
    add_vector(m, spec, ct, name="旗县区到中心城区时间 County travel times", group=G_ANALYSIS, color=DATA["county"]["color"],
               fill_opacity=0.0, weight=1, simplify_deg=0.002, coverage=True, decimals=4,
               tooltip=[("name_zh", "旗县区"), ("name_en", "County"), ("mean_min", "平均 Mean (min)"),
                        ("median_min", "中位 Median (min)"), ("area_share_60min", "一小时圈面积比 Share within 1 h"),
                        ("area_share_120min", "两小时圈面积比 Share within 2 h")])
    admin_layers(m, spec, run, counties_show=False)
    transport_layers(m, spec, run, show=False)
    h = headline_figures(run)
    cov = coverage_notes(run)
    head = (f"中心城区间 Core ↔ core: <b>{_fmt(h['core_to_core_now'])} min</b> fastest, {_fmt(h['core_to_core_road_now'])} min "
            f"by road; {h['share_120_now'] * 100:.0f}% of the region within 2 h of a core."
            f"<br><span style=\"font-size:11px\">{'<br>'.join(html.escape(x) for x in cov)}</span>")
    return end_page(m, spec, finish, ["一小时经济圈 = 60-min isochrone. Speeds: access/assumptions.csv of this run."], headline=head)


def coverage_notes(run, *, compact: bool = False) -> list[str]:
    """The network's coverage (``access/coverage.csv``) and the local-roads assumption, as plain sentences.

    Parameters
    ----------
    run : path-like or Run
        The run folder (or an opened :class:`~twinstar_gis.maps._run.Run`).
    compact : bool
        Only the key coverage indicators (print figures).

    Returns
    -------
    list of str
    """
    from ..run.outputs import coverage_lines

    return coverage_lines(run.table("access/coverage.csv", required=False), run.manifest.get("settings", {}),
                          run.table("access/sensitivity.csv", required=False), compact=compact)


def _isochrones(m, spec, iso, *, show=(60, 120), style="isochrone", suffix="", only=None):
    st = ANALYSIS[style]
    iso = iso.copy()
    iso["label"] = iso["origin_name"] + " " + iso["minutes"].map(lambda x: f"{x:g}") + " min"
    iso["geometry_quality"] = "surveyed"
    for mins in sorted(iso["minutes"].unique()):
        if only is not None and mins not in only:
            continue
        w = st["width"] if mins in (60, 120) else st["width"] * 0.6
        add_vector(m, spec, iso[iso["minutes"] == mins], name=f"等时圈 Isochrone {mins:g} min{suffix}", group=G_ANALYSIS,
                   color=st["color"], kind="line", weight=w, dash=st["dash"], show=mins in show, simplify_deg=0.002,
                   fill_opacity=0, tooltip=[("label", "等时圈 Isochrone"), ("area_km2", "面积 Area (km²)")])


def _scenario_side(run, fig, *, left: bool, basemap, **kw):
    h = headline_figures(run)
    title = "现状 Now" if left else "情景 Scenario: planned corridors"
    m, spec = new_map(run.layer("boundaries").total_bounds, basemap=basemap, title=title, width="50%", height="100%",
                      left="0%" if left else "50%", top="0%", position="absolute", **kw)
    fig.add_child(m)
    add_hillshade(m, spec, run.dem_path)
    rel = "access/time_to_cores.tif" if left else "access/scenario_time_to_cores.tif"
    a, t, crs = run.raster(rel)
    add_raster(m, spec, a, t, crs, name="到中心城区时间 Time to nearest core", group=G_ANALYSIS, vmin=0, vmax=180,
               classes=list(TIME_CLASSES), legend_label="0 → 150+ min (30-min classes)", colors=TIME_RAMP)
    iso = run.vector("access/isochrones.gpkg", "isochrones") if left else run.vector("access/scenario.gpkg", "isochrones_scenario")
    _isochrones(m, spec, iso, show=(120,), style="isochrone" if left else "isochrone_scenario", only=(60, 120))
    admin_layers(m, spec, run, seats=False)
    transport_layers(m, spec, run, planned=not left)
    v = h["core_to_core_now"] if left else h["core_to_core_scenario"]
    delta = h["core_to_core_scenario"] - h["core_to_core_now"]
    banner = (f"{'现状 Now' if left else '情景 Scenario'} · 中心城区间 core ↔ core <b>{_fmt(v)} min</b>"
              + ("" if left else f" ({'−' if delta < 0 else '+'}{_fmt(abs(delta))})") + _ramp_key())
    finish(m, spec, note_lines=["Same colours, classes and extent on both sides; the two maps move together.",
                                "Planned routes and speeds are assumptions."], banner=banner, collapse_below=900)
    return m


def _ramp_key() -> str:
    """A one-line key of the travel-time classes for the banner (the panel starts collapsed on half-width maps)."""
    edges = ["<30", "30", "60", "90", "120", "≥150"]
    chips = "".join(f'<span style="display:inline-block;background:{c};color:{"#000" if i < 2 else "#fff"};'
                    f'font-size:11px;padding:0 4px">{e}</span>' for i, (c, e) in enumerate(zip(TIME_RAMP, edges)))
    return f'<br><span style="font-size:11px">到中心城区 min to core </span>{chips}'


def scenario_map(run, *, basemap: str = "hillshade", **kw):
    """Before | after side by side (moving together): time to the cores, 2-hour circle, headline on each map.

    Parameters
    ----------
    run : path-like or Run
        The run folder (or an opened :class:`~twinstar_gis.maps._run.Run`).
    basemap : str
    **kw
        Passed to :func:`~twinstar_gis.maps.core.new_map`.

    Returns
    -------
    folium.Map
        The left map; the page holds both.
    """
    run = as_run(run)
    fig = branca.element.Figure()
    a = _scenario_side(run, fig, left=True, basemap=basemap, **kw)
    b = _scenario_side(run, fig, left=False, basemap=basemap, **kw)
    SyncMaps(a, b).add_to(b)
    fig.header.add_child(branca.element.Element(
        "<style>html,body{margin:0;height:100%}.folium-map{border-right:2px solid #fff}</style>"), name="twinstar_page")
    return a


def change_map(run, *, m=None, finish: bool = True, basemap: str = "hillshade", **kw):
    """Change in mean travel time to the cores per county (the run's scenario.gpkg county_change), labelled.

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
    m, spec = start_page(run, m, basemap, "情景变化 Scenario: change per county", **kw)
    layer = run.vector("access/scenario.gpkg", "county_change").copy()
    layer["change_class"] = pd.cut(layer["mean_min_change"], list(CHANGE_BINS), labels=CHANGE_LABELS).astype(str)
    layer["geometry_quality"] = "surveyed"
    add_vector(m, spec, layer, name="县均时间变化 Change in mean time per county", group=G_ANALYSIS, color=CHANGE_COLORS[-1],
               fill_opacity=0.8, weight=1, edge="#444444", simplify_deg=0.002, coverage=True, decimals=4,
               color_by={"column": "change_class", "map": dict(zip(CHANGE_LABELS, CHANGE_COLORS))},
               tooltip=[("name_zh", "旗县区"), ("name_en", "County"), ("mean_min_base", "现状均值 Mean now (min)"),
                        ("mean_min_scenario", "情景均值 Mean scenario (min)"), ("mean_min_change", "变化 Change (min)"),
                        ("area_share_120min_change", "两小时圈面积变化 Δ share within 2 h")],
               legend_items=[{"kind": "fill", "color": c, "fill": 0.8, "edge": "#444444", "label": lab}
                             for c, lab in zip(CHANGE_COLORS, CHANGE_LABELS)])
    lab = layer.copy()
    lab["t"] = lab["name_zh"] + " " + lab["mean_min_change"].map(lambda x: f"{minutes_change(x)} min")
    lab["e"] = lab["name_en"] + ": " + lab["mean_min_base"].map("{:.0f}".format) + " → " + \
        lab["mean_min_scenario"].map("{:.0f}".format) + " min"
    # the county with the largest change wins every label collision (then the next largest ...)
    order = lab["mean_min_change"].abs().rank(method="first", ascending=True).fillna(0).astype(int)
    for i in lab.index:
        add_labels(spec, lab.loc[[i]], cls="change", priority=70 + int(order[i]), min_zoom=0, text="t", english="e")
    b = run.layer("boundaries")
    add_vector(m, spec, b[b["level"] == "prefecture"], name="地级市 Prefectures", group=G_ADMIN, color="#000000",
               fill_opacity=0.0, weight=DATA["prefecture"]["width"], simplify_deg=0.002, coverage=True, decimals=4,
               tooltip=[("name_zh", "市"), ("name_en", "City")])
    transport_layers(m, spec, run, show=True)
    h = headline_figures(run)
    head = (f"中心城区间 Core ↔ core: <b>{_fmt(h['core_to_core_now'])} → {_fmt(h['core_to_core_scenario'])} min</b>; "
            f"{h['counties_faster_5']} of {h.get('counties', '–')} counties at least 5 min faster on average.")
    return end_page(m, spec, finish, ["Change = scenario − now, mean minutes to the nearest core over the county's cells."],
                headline=head, banner=f"情景 Scenario · core ↔ core <b>{_fmt(h['core_to_core_now'])} → "
                                      f"{_fmt(h['core_to_core_scenario'])} min</b>")


GALLERY = {
    "overview": ("总览 Overview", "Boundaries, seats, parks, corridors, ecological zones, terrain."),
    "distances": ("园区距离 Distances", "Each park's nearest corridor of each class, with ground distances."),
    "conflicts": ("生态冲突 Conflicts", "Parks and corridor stretches inside reserves, the Horqin sandy land and buffers."),
    "accessibility": ("可达性 Accessibility", "Travel time to the cores, isochrones, the one-hour circle."),
    "scenario": ("情景对比 Scenario: now | planned", "Before and after side by side, moving together."),
    "change": ("情景变化 Change per county", "Change in mean travel time per county with the planned corridors."),
}
_MAKERS = {"overview": overview_map, "distances": distances_map, "conflicts": conflicts_map, "accessibility": access_map,
           "scenario": scenario_map, "change": change_map}
GALLERY.update(PLANNING_GALLERY)
_MAKERS.update(PLANNING_MAKERS)


def write_gallery(run_dir, *, offline: bool = True, basemap: str = "hillshade", tianditu_key=None, store_key=False,
                  out_dir=None, names=None, manifest: dict | None = None) -> dict:
    """Write the interactive map gallery of a run folder.

    Reads only the run's files (contracts: "The run folder"); nothing is recomputed.
    Maps whose inputs the run did not write (e.g. no scenario) are skipped with a log message.

    Parameters
    ----------
    run_dir : path-like or Run
        Output folder of ``twinstar run`` (with ``run.json``).
    offline : bool
        Inline Leaflet and every asset (the page requests nothing); False loads Leaflet from its CDN.
    basemap : {"hillshade", "osm", "tianditu", "amap"}
        ``hillshade`` (from the run's DEM) works offline; ``amap`` shifts every overlay to GCJ-02.
    tianditu_key, store_key
        Tianditu key, and whether to write it into the HTML (default: read from ``?tk=`` when viewed).
    out_dir : path-like, optional
        Folder for the pages (default ``run_dir/maps``).
    names : list of str, optional
        Keys of :data:`GALLERY` to write (default: all).
    manifest : dict, optional
        The run's manifest while the folder is still being staged (``run.json`` is written last).

    Returns
    -------
    dict
        Map name -> path of its page, plus ``"index"`` -> the gallery page.

    Raises
    ------
    RunFolderError
        ``run_dir`` is not a run folder, or a file a map needs is missing.
    """
    run = run_dir if isinstance(run_dir, Run) else open_run(run_dir, manifest=manifest)
    out_dir = Path(out_dir) if out_dir is not None else run.path / "maps"
    kw = dict(basemap=basemap, tianditu_key=tianditu_key, store_key=store_key)
    paths = {}
    for name in names or GALLERY:
        reason = skip_reason(run, name)
        if reason:
            log.info("%s: %s; %s map skipped", run.path, reason, name)
            continue
        paths[name] = save_map(_MAKERS[name](run, **kw), out_dir / f"{name}.html", offline=offline)
    items = "\n".join(
        f'<li><a href="{name}.html">{html.escape(GALLERY[name][0])}</a> — {html.escape(GALLERY[name][1])} '
        f'<span class="size">({p.stat().st_size / 1024:.0f} KiB)</span></li>' for name, p in paths.items())
    qgis = (' The same layers open styled in QGIS: <a href="../run.qgz">run.qgz</a> in the run folder.'
            if out_dir.resolve() == (run.path / "maps").resolve() and (run.path / "run.qgz").is_file() else "")
    page = f"""<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>twinstar_gis map gallery</title>
<style>body{{font:15px/1.5 Arial,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:760px;color:#222}}
a{{color:#0072B2}}.size{{color:#777;font-size:12px}}</style></head><body>
<h1>赤峰–通辽 双子星座 · Twin Star map gallery</h1>
<p>Run of {html.escape(run.origin)}, started {html.escape(str(run.manifest.get("started", "–")))} (UTC), twinstar_gis
{html.escape(str(run.manifest.get("version", "")))}. Dashed outlines are indicative (not surveyed). Maps work offline.{qgis}</p>
<ul>{items}</ul></body></html>"""
    with atomic_output(out_dir / "index.html") as tmp:
        tmp.write_text(page, encoding="utf-8")
    paths["index"] = out_dir / "index.html"
    return paths
