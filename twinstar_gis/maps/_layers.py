"""The layers every page of the gallery shares: page start and end, boundaries and cores, parks, corridors, ecology.

The gallery's pages (:mod:`.gallery`) and the planning pages (:mod:`.planning_pages`) both draw these;
they read the run folder only (:mod:`._run`).
"""

from __future__ import annotations

from ..data.schema import status_of
from ._run import Run, open_run
from .core import add_hillshade, add_labels, add_vector, finish, new_map
from .style import CORRIDOR, DATA, STATUS_LABELS, class_label, corridor_style

__all__ = ["G_ADMIN", "G_INDUSTRY", "G_TRANSPORT", "G_ECO", "G_ANALYSIS", "SOURCE_FIELDS", "as_run", "start_page",
           "end_page", "city_cores", "admin_layers", "park_layer", "transport_layers", "ecology_layers"]

G_ADMIN, G_INDUSTRY, G_TRANSPORT, G_ECO, G_ANALYSIS = (
    "行政 Administrative", "产业 Industry", "交通 Transport", "生态 Ecology", "分析 Analysis")
#: Popup rows every feature shows: where it comes from and how accurate it is.
SOURCE_FIELDS = [("source", "来源 Source"), ("accuracy_m", "精度 Accuracy (m)"), ("geometry_quality", "几何 Geometry")]


def as_run(run) -> Run:
    if isinstance(run, Run):
        return run
    if hasattr(run, "layers") and hasattr(run, "dem_path"):  # a loaded Dataset (notebooks): data layers only
        return Run.from_dataset(run)
    return open_run(run)


def start_page(run, m, basemap, title, **kw):
    if m is not None:
        return m, m._ts_spec
    b = run.layer("boundaries").total_bounds
    m, spec = new_map(b, basemap=basemap, title=title, **kw)
    m._ts_spec = spec
    add_hillshade(m, spec, run.dem_path)
    return m, spec


def end_page(m, spec, do_finish, notes=None, **kw):
    if do_finish:
        finish(m, spec, note_lines=notes, **kw)
    return m


def city_cores(places):
    c = places[places["kind"] == "city_core"].copy()
    c["label_zh"] = c["name_zh"].str.replace("市", "", regex=False) + "中心城区"
    c["label_en"] = c["name_en"]
    return c


def admin_layers(m, spec, run, *, counties_show=True, seats=True):
    b, p = run.layer("boundaries"), run.layer("places")
    counties, prefs = b[b["level"] == "county"], b[b["level"] == "prefecture"]
    fg = add_vector(m, spec, counties, name="旗县区 Counties", group=G_ADMIN, color=DATA["county"]["color"],
                    fill_opacity=0.0, weight=DATA["county"]["width"], simplify_deg=0.002, coverage=True, decimals=4,
                    show=counties_show,
                    tooltip=[("name_zh", "旗县区"), ("name_en", "County"), ("area_km2", "面积 Area (km²)"),
                             ("population_2020", "人口 Population 2020")],
                    popup=[("adcode", "代码 Adcode"), ("name_zh", "名称"), ("name_en", "Name"),
                           ("area_km2", "面积 Area (km², ellipsoid)"), ("population_2020", "人口 Population 2020"),
                           ("population_source", "人口来源 Population source"), ("source", "来源 Source")])
    add_labels(spec, counties, cls="county", priority=60, min_zoom=6.5, layer=fg)
    add_vector(m, spec, prefs, name="地级市 Prefectures", group=G_ADMIN, color=DATA["prefecture"]["color"],
               fill_opacity=0.0, weight=DATA["prefecture"]["width"], simplify_deg=0.002, coverage=True, decimals=4,
               tooltip=[("name_zh", "市"), ("name_en", "City"), ("area_km2", "面积 Area (km², ellipsoid)"),
                        ("area_official_km2", "统计面积 Official area (km²)")])
    add_labels(spec, prefs, cls="prefecture", priority=100, min_zoom=0)
    cores = city_cores(p)
    add_vector(m, spec, cores, name="中心城区 City cores", group=G_ADMIN, color=DATA["city_core"]["color"], kind="point",
               radius=DATA["city_core"]["radius"], tooltip=[("name_zh", "名称"), ("name_en", "Name")], popup=SOURCE_FIELDS)
    add_labels(spec, cores, cls="core", priority=90, min_zoom=0, text="label_zh", english="label_en", point=True)
    if seats:
        s = p[p["kind"] == "county_seat"]
        fg = add_vector(m, spec, s, name="旗县驻地 County seats", group=G_ADMIN, color=DATA["county_seat"]["color"],
                        edge=DATA["county_seat"]["edge"], kind="point", radius=DATA["county_seat"]["radius"],
                        tooltip=[("name_zh", "名称"), ("name_en", "Name")], popup=SOURCE_FIELDS)
        add_labels(spec, s, cls="seat", priority=40, min_zoom=8, point=True, layer=fg)


def park_layer(m, spec, run, *, show=True):
    parks = run.layer("parks")
    st = DATA["park"]
    fg = add_vector(m, spec, parks, name="产业园区 Industrial parks", group=G_INDUSTRY, color=st["color"],
                    fill_opacity=st["fill"], weight=st["width"], show=show,
                    tooltip=[("name_zh", "园区"), ("name_en", "Park"), ("level", "级别 Level"),
                             ("declared_area_km2", "规划面积 Declared area (km²)"), ("area_km2", "图上面积 Drawn area (km²)"),
                             ("geometry_quality", "几何 Geometry")],
                    popup=[("park_id", "编号 Id"), ("name_zh", "园区"), ("name_en", "Park"),
                           ("leading_industries", "主导产业 Industries"), ("area_basis", "面积依据 Area basis")] + SOURCE_FIELDS)
    add_labels(spec, parks, cls="park", priority=30, min_zoom=8.5, layer=fg)


def transport_layers(m, spec, run, *, show=True, planned=True):
    cor, note = run.map_corridors()
    if note and note not in spec.notes:
        spec.notes.append(note)
    status = status_of(cor)
    for cls in CORRIDOR:
        sub = cor[(cor["class"] == cls) & (status == "operating")]
        s = corridor_style(cls)
        add_vector(m, spec, sub, name=class_label(cls), group=G_TRANSPORT, color=s["color"], kind="line", weight=s["width"],
                   ties=s["ties"], show=show, simplify_deg=0.001,
                   tooltip=[("name_zh", "线路"), ("name_en", "Corridor"), ("design_speed_kmh", "设计速度 Design speed (km/h)"),
                            ("opening_year", "开通 Opened"), ("length_km", "区内长度 Length in region (km)")],
                   popup=[("stations", "车站 Stations")] + SOURCE_FIELDS)
    if planned:
        for st_name, sub in cor[status != "operating"].groupby(status[status != "operating"]):
            items, cmap = [], {}
            for cls in sub["class"].unique():
                s = corridor_style(cls, st_name)
                cmap[cls] = s["color"]
                items.append({"kind": "line", "color": s["color"], "width": s["width"], "dash": s["dash"],
                              "label": f"{class_label(cls)}: {STATUS_LABELS.get(st_name, st_name)} (assumed route)"})
            s = corridor_style(sub["class"].iloc[0], st_name)
            add_vector(m, spec, sub, name=f"{STATUS_LABELS.get(st_name, st_name)} 线路 corridors", group=G_TRANSPORT,
                       color=s["color"], kind="line", weight=s["width"], dash=s["dash"], simplify_deg=0.001, show=show,
                       color_by={"column": "class", "map": cmap}, legend_items=items,
                       tooltip=[("name_zh", "线路"), ("name_en", "Corridor"), ("status", "状态 Status"),
                                ("opening_year", "预计 Year")], popup=SOURCE_FIELDS)
    n = run.layer("nodes")
    st = n[n["kind"].isin(["hsr_station", "rail_station"])]
    fg = add_vector(m, spec, st, name="车站 Stations", group=G_TRANSPORT, color=DATA["hsr_station"]["color"], kind="point",
                    radius=5, show=show,
                    color_by={"column": "kind", "map": {"hsr_station": DATA["hsr_station"]["color"],
                                                        "rail_station": DATA["rail_station"]["color"]}},
                    tooltip=[("name_zh", "车站"), ("name_en", "Station"), ("kind", "类型 Kind")], popup=SOURCE_FIELDS,
                    legend_items=[{"kind": "dot", "color": DATA["hsr_station"]["color"], "label": "高铁站 HSR station"},
                                  {"kind": "dot", "color": DATA["rail_station"]["color"], "label": "普速站 Railway station"}])
    add_labels(spec, st, cls="station", priority=35, min_zoom=8.5, point=True, layer=fg)
    fg = add_vector(m, spec, n[n["kind"] == "airport"], name="机场 Airports", group=G_TRANSPORT, color=DATA["airport"]["color"],
                    kind="point", radius=DATA["airport"]["radius"], show=show,
                    tooltip=[("name_zh", "机场"), ("name_en", "Airport")], popup=SOURCE_FIELDS)
    add_labels(spec, n[n["kind"] == "airport"], cls="station", priority=34, min_zoom=8.5, point=True, layer=fg)


def ecology_layers(m, spec, run, *, show=True):
    eco = run.layer("eco_zones")
    sl, nr = DATA["sandy_land"], DATA["nature_reserve"]
    add_vector(m, spec, eco[eco["kind"] == "sandy_land"], name="科尔沁沙地 Horqin sandy land", group=G_ECO,
               color=sl["color"], fill_opacity=sl["fill"], weight=sl["width"], show=show,
               tooltip=[("name_zh", "名称"), ("name_en", "Name"), ("area_km2", "区内面积 Area in region (km²)")], popup=SOURCE_FIELDS)
    res = eco[eco["kind"] == "nature_reserve"]
    fg = add_vector(m, spec, res, name="自然保护区 Nature reserves", group=G_ECO,
                    color=nr["color"], fill_opacity=nr["fill"], weight=nr["width"], show=show,
                    tooltip=[("name_zh", "保护区"), ("name_en", "Reserve"), ("protection_level", "级别 Level"),
                             ("official_area_km2", "批准面积 Official area (km²)")],
                    popup=[("area_source", "面积来源 Area source")] + SOURCE_FIELDS)
    add_labels(spec, res, cls="reserve", priority=20, min_zoom=8, layer=fg)
    add_vector(m, spec, run.layer("rivers"), name="西辽河水系 West Liao rivers", group=G_ECO, color=DATA["river"]["color"],
               kind="line", weight=DATA["river"]["width"], show=show, simplify_deg=0.001,
               tooltip=[("name_zh", "河流"), ("name_en", "River"), ("length_km", "区内长度 Length (km)")], popup=SOURCE_FIELDS)
