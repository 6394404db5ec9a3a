"""方案比选 rendered: the alternatives side by side (web page) and as small multiples (print figure).

Both read the files ``twinstar compare`` wrote (``compare/*.csv``, ``compare/scenarios.gpkg``
and the base layers in ``data/twinstar.gpkg``); nothing is recomputed.  One colour scale for
every panel: the change in mean travel time to the nearest core per county
(:data:`~.style.CHANGE_BINS`, :data:`~.style.CHANGE_COLORS`), so the panels compare at a glance.

* :func:`compare_map` / :func:`write_compare_page`: ``maps/compare.html``, the ranking and the
  headline indicators above one small map per alternative; the maps move together.
* :func:`fig_compare` / :func:`write_compare_figure`: ``figures/compare.png`` and ``.pdf``, A4
  landscape, one panel per alternative, the legend and the ranking at the side.
"""

from __future__ import annotations

import html
import logging
import math
from pathlib import Path

import branca
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from ..data.crs import EQUAL_AREA_CRS
from ..data.io import atomic_output
from ._layers import G_ADMIN, G_ANALYSIS, G_TRANSPORT, as_run, city_cores
from ._run import open_run
from .core import add_vector, finish, new_map, save_map
from .style import CHANGE_BINS, CHANGE_COLORS, CHANGE_LABELS, DATA, class_label, corridor_style, minutes_change

__all__ = ["COMPARE_INPUT", "compare_map", "fig_compare", "write_compare_figure", "write_compare_page"]

log = logging.getLogger(__name__)

#: The file that makes a run folder a comparison (pages and figures need it).
COMPARE_INPUT = "compare/counties.csv"
_TOP_VH = 26  # height of the tables above the maps, % of the page
_SIMPLIFY = 0.01  # degrees (~1 km): the small maps show whole counties


class _SyncAll(MacroElement):
    """Keep every map of the page at the same centre and zoom."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function(){
  var maps = [{{ this.names }}], busy = false;
  maps.forEach(function(src){ src.on('move zoomend', function(){ if (busy) return; busy = true;
    maps.forEach(function(dst){ if (dst !== src) dst.setView(src.getCenter(), src.getZoom(), {animate: false}); });
    busy = false; }); });
})();
{% endmacro %}
""")

    def __init__(self, maps):
        super().__init__()
        self._name = "TwinstarSyncAll"
        self.names = ", ".join(m.get_name() for m in maps)


def _order(run) -> list[str]:
    """The alternatives in file order (the base excluded)."""
    t = run.table("compare/alternatives.csv")
    return [str(n) for n in t.sort_values("order")["alternative"] if str(n) != "base"]


def _change_layer(run, name: str):
    """County polygons with the alternative's county table (mean minutes, change, change class)."""
    b = run.layer("boundaries")
    c = run.table(COMPARE_INPUT)
    c = c[c["alternative"].astype(str) == name]
    base = run.table(COMPARE_INPUT)
    base = base[base["alternative"] == "base"][["adcode", "mean_min"]].rename(columns={"mean_min": "mean_min_base"})
    layer = b[b["level"] == "county"][["adcode", "geometry"]].assign(adcode=lambda d: d["adcode"].astype(str))
    layer = layer.merge(c.drop(columns=["alternative"]), on="adcode").merge(base, on="adcode")
    layer["change_class"] = pd.cut(layer["mean_min_change"], list(CHANGE_BINS), labels=CHANGE_LABELS).astype(str)
    layer["change_label"] = layer["mean_min_change"].map(lambda x: f"{minutes_change(x)} min")
    layer["geometry_quality"] = "surveyed"
    return layer


def _scenario_lines(run, name: str):
    g = run.vector("compare/scenarios.gpkg", "corridors", required=False)
    if g is None:
        return None
    return g[g["alternative"].astype(str) == name]


def _indicator(run, name: str, indicator: str) -> float:
    t = run.table("compare/indicators.csv").set_index("indicator")
    try:
        return float(t.loc[indicator, name])
    except (KeyError, ValueError, TypeError):
        return float("nan")


def _fmt(x, digits=0) -> str:
    return "–" if not np.isfinite(x) else f"{x:.{digits}f}"


def _key() -> str:
    """The change classes as coloured chips (the maps' panels start collapsed)."""
    chips = "".join(f'<span style="display:inline-block;background:{c};border:1px solid #444;width:14px;height:10px;'
                    f'margin:0 3px 0 8px"></span>{html.escape(lab)}' for c, lab in zip(CHANGE_COLORS, CHANGE_LABELS))
    return f"<div>县均时间变化 Change in mean time to the nearest core per county (alternative − base):{chips}</div>"


def _ranking_html(run) -> str:
    """The ranking with every criterion's gain, points and weight, and the headline indicators, as HTML tables."""
    r = run.table("compare/ranking.csv")
    crits = [c[:-5] for c in r.columns if c.endswith("_gain")]
    head = "".join(f"<th>{html.escape(c)}<br><small>gain · points · weight {r[c + '_weight'].iloc[0]:.2f}</small></th>"
                   for c in crits)
    rows = "".join(
        f"<tr><td>{int(row['rank'])}</td><td><b>{html.escape(str(row['alternative']))}</b></td>"
        f"<td><b>{_fmt(row['score'], 3)}</b></td>"
        + "".join(f"<td>{_fmt(row[c + '_gain'], 1)} · {_fmt(row[c + '_points'], 2)}</td>" for c in crits) + "</tr>"
        for _, row in r.iterrows())
    ind = run.table("compare/indicators.csv")
    names = ["base"] + _order(run)
    show = ["core_to_core_min", "mean_time_to_core_min", "area_share_within_120min", "population_share_within_120min",
            "cross_city_linkage_share", "suitable_km2", "top_site_counties"]
    ind = ind[ind["indicator"].isin(show)]
    irows = "".join(f"<tr><td>{html.escape(str(row['indicator']))}</td>"
                    + "".join(f"<td>{html.escape(str(row[n]))}</td>" for n in names) + "</tr>" for _, row in ind.iterrows())
    return (f"<table><tr><th>#</th><th>方案 Alternative</th><th>score</th>{head}</tr>{rows}</table>"
            f"<table><tr><th>指标 Indicator</th>{''.join(f'<th>{html.escape(n)}</th>' for n in names)}</tr>{irows}</table>")


def _side(run, fig, name, k, n, rank, basemap, **kw):
    """One small map: county change classes, the alternative's corridors, prefectures and cores."""
    cols = min(3, n)
    rows = math.ceil(n / cols)
    w, h = 100 / cols, (100 - _TOP_VH) / rows
    m, spec = new_map(run.layer("boundaries").total_bounds, basemap=basemap, title=name, width=f"{w:.3f}%",
                      height=f"{h:.3f}%", left=f"{(k % cols) * w:.3f}%", top=f"{_TOP_VH + (k // cols) * h:.3f}%",
                      position="absolute", **kw)
    if basemap == "hillshade":  # the county fill covers the land: no terrain image on the small maps
        spec.notes = ["Basemap: none (counties filled by change class)"]
    fig.add_child(m)
    layer = _change_layer(run, name)
    add_vector(m, spec, layer, name="县均时间变化 Change in mean time per county", group=G_ANALYSIS, color=CHANGE_COLORS[-1],
               fill_opacity=0.85, weight=1, edge="#444444", simplify_deg=_SIMPLIFY, coverage=True, decimals=3,
               color_by={"column": "change_class", "map": dict(zip(CHANGE_LABELS, CHANGE_COLORS))},
               tooltip=[("name_zh", "旗县区"), ("name_en", "County"), ("mean_min_base", "现状均值 Mean base (min)"),
                        ("mean_min", "方案均值 Mean with it (min)"), ("change_label", "变化 Change"),
                        ("area_share_120min_change", "两小时圈面积变化 Δ share within 2 h")],
               legend_items=[{"kind": "fill", "color": c, "fill": 0.85, "edge": "#444444", "label": lab}
                             for c, lab in zip(CHANGE_COLORS, CHANGE_LABELS)])
    b = run.layer("boundaries")
    add_vector(m, spec, b[b["level"] == "prefecture"], name="地级市 Prefectures", group=G_ADMIN, color="#000000",
               fill_opacity=0.0, weight=DATA["prefecture"]["width"], simplify_deg=_SIMPLIFY, coverage=True, decimals=3,
               tooltip=[("name_zh", "市"), ("name_en", "City")])
    _scenario_vectors(m, spec, _scenario_lines(run, name))
    add_vector(m, spec, city_cores(run.layer("places")), name="中心城区 City cores", group=G_ADMIN,
               color=DATA["city_core"]["color"], kind="point", radius=DATA["city_core"]["radius"],
               tooltip=[("name_zh", "名称"), ("name_en", "Name")])
    c0, c1 = _indicator(run, "base", "core_to_core_min"), _indicator(run, name, "core_to_core_min")
    banner = (f"#{rank} <b>{html.escape(name)}</b> · core ↔ core {_fmt(c0)} → <b>{_fmt(c1)} min</b>"
              f" · mean {minutes_change(_indicator(run, name, 'mean_time_to_core_min') - _indicator(run, 'base', 'mean_time_to_core_min'))} min")
    finish(m, spec, note_lines=[("Change = this alternative − base, mean minutes to the nearest core over the county's "
                                "cells. Every map uses the same classes; the maps move together.")],
           banner=banner, collapse_below=100000)
    return m


def _scenario_vectors(m, spec, lines):
    if lines is None or len(lines) == 0:
        return
    for (cls, st), sub in lines.groupby(["class", lines.get("status", pd.Series("planned", index=lines.index)).fillna(
            "planned")]):
        s = corridor_style(cls, st if st in ("operating", "under_construction", "planned") else "planned")
        add_vector(m, spec, sub, name=f"方案线路 {class_label(cls)}", group=G_TRANSPORT, color=s["color"], kind="line",
                   weight=s["width"] + 1, dash=s["dash"], tooltip=[("name_zh", "线路"), ("name_en", "Corridor"),
                                                                  ("stations", "车站 Stations")])


def compare_map(run, *, basemap: str = "hillshade", **kw):
    """The comparison page: ranking and headline indicators above one synced small map per alternative.

    Parameters
    ----------
    run : path-like or Run
        A folder written by ``twinstar compare``.
    basemap : {"hillshade", "osm", "tianditu", "amap"}
        ``hillshade`` draws no terrain here (the county fill covers it); the tiles need the network.
    **kw
        ``tianditu_key``, ``store_key`` (see :func:`~.core.new_map`).

    Returns
    -------
    folium.Map
        The first map; its root (``m.get_root()``) is the page.
    """
    run = as_run(run)
    names = _order(run)
    ranks = dict(zip(run.table("compare/ranking.csv")["alternative"].astype(str), run.table("compare/ranking.csv")["rank"]))
    fig = branca.element.Figure(title="方案比选 Alternatives compared")
    maps = [_side(run, fig, n, k, len(names), ranks.get(n, "–"), basemap, **kw) for k, n in enumerate(names)]
    if len(maps) > 1:
        _SyncAll(maps).add_to(maps[-1])
    title = html.escape(str(run.manifest.get("alternatives_file", {}).get("name", "")))
    fig.header.add_child(branca.element.Element(
        "<style>html,body{margin:0;height:100%}.folium-map{outline:1px solid #fff}"
        f".ts-top{{position:absolute;top:0;left:0;right:0;height:{_TOP_VH}%;overflow:auto;padding:4px 10px;box-sizing:border-box;"
        "font:12px/1.3 Arial,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;background:#fafafa;border-bottom:2px solid #5E3C99}"
        ".ts-top table{border-collapse:collapse;margin:4px 12px 4px 0;display:inline-table;vertical-align:top}"
        ".ts-top td,.ts-top th{border:1px solid #ccc;padding:1px 5px;text-align:right}.ts-top th{background:#eee}"
        ".ts-top td:nth-child(2),.ts-top td:first-child{text-align:left}</style>"), name="twinstar_compare_css")
    fig.html.add_child(branca.element.Element(
        f'<div class="ts-top"><b style="font-size:15px">方案比选 Alternatives compared</b> {title} — '
        "gains over the base (minutes saved, percentage points); points = gain ÷ the largest gain among the "
        "alternatives; score = weighted mean of the points (weights in run.json).<br>" + _key() + _ranking_html(run)
        + "</div>"), name="twinstar_compare_tables")
    return maps[0]


def write_compare_page(run_dir, *, manifest: dict | None = None, offline: bool = True, basemap: str = "hillshade",
                       out=None, **kw) -> Path:
    """Write ``maps/compare.html`` of a comparison folder.

    Parameters
    ----------
    run_dir : path-like or Run
        A folder written by ``twinstar compare``.
    manifest : dict, optional
        Its manifest while it is being staged.
    offline : bool
        Inline every asset (the page requests nothing).
    basemap : str
        See :func:`compare_map`.
    out : path-like, optional
        Where to write (default ``run_dir/maps/compare.html``).
    **kw
        Passed to :func:`compare_map`.

    Returns
    -------
    pathlib.Path
    """
    run = as_run(run_dir) if manifest is None else open_run(run_dir, manifest=manifest)
    out = Path(out) if out is not None else run.path / "maps" / "compare.html"
    return save_map(compare_map(run, basemap=basemap, **kw), out, offline=offline)


# ---------------------------------------------------------------- print figure
def _grid(n: int) -> tuple[int, int]:
    """(rows, columns) of the small multiples.

    >>> [_grid(n) for n in (1, 2, 4, 6, 7, 10)]
    [(1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (3, 4)]
    """
    cols = 1 if n == 1 else 2 if n <= 4 else 3 if n <= 9 else 4
    if n == 3:
        cols = 3
    return math.ceil(n / cols), cols


def fig_compare(run):
    """Small multiples: the change in mean time to the nearest core per county, one panel per alternative.

    Parameters
    ----------
    run : path-like or Run
        A folder written by ``twinstar compare``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    from .figures import A4, _h_dot, _h_fill, _h_line, _handles, _legend, _north_arrow, _note, _scale_bar

    run = as_run(run)
    names = _order(run)
    rank = run.table("compare/ranking.csv").set_index("alternative")
    rows, cols = _grid(len(names))
    fig = Figure(figsize=A4)
    fig.text(0.02, 0.965, "方案比选 Alternatives: change in mean travel time to the nearest core", fontsize=15,
             weight="bold", va="top")
    fig.text(0.02, 0.925, f"{run.manifest.get('alternatives_file', {}).get('name', '')} · one colour scale for every "
             "panel · change = alternative − base; mean = population-weighted mean time to the nearest core", fontsize=9, color="#444", va="top")
    b = run.layer("boundaries").to_crs(EQUAL_AREA_CRS)
    x0, y0, x1, y1 = b.total_bounds
    pad = 0.02 * max(x1 - x0, y1 - y0)
    ext = (x0 - pad, x1 + pad, y0 - pad, y1 + pad)
    fw, fh = A4
    width, top = 0.76, 0.90
    pw = width / cols  # panel width, figure fraction; its height follows the region's shape (+ room for the title)
    ph = min(0.86 / rows, pw * fw / fh * (ext[3] - ext[2]) / (ext[1] - ext[0]) + 0.055)
    used = set()
    d0 = _indicator(run, "base", "mean_time_to_core_min")
    for k, name in enumerate(names):
        r, c = divmod(k, cols)
        ax = fig.add_axes([0.01 + c * pw + 0.003, top - (r + 1) * ph + 0.005, pw - 0.006, ph - 0.055])
        _panel(ax, run, name, ext, used)
        rk = rank.loc[name, "rank"] if name in rank.index else "–"
        c0, c1 = _indicator(run, "base", "core_to_core_min"), _indicator(run, name, "core_to_core_min")
        ax.set_title(f"#{rk} {name}\ncore ↔ core {_fmt(c0)} → {_fmt(c1)} min · mean "
                     f"{minutes_change(_indicator(run, name, 'mean_time_to_core_min') - d0)} min", fontsize=8.5,
                     weight="bold", pad=2)
        if k == 0:
            _north_arrow(ax, ext)
            _scale_bar(ax, ext)
    side = fig.add_axes([0.79, 0.04, 0.20, 0.86])
    side.set_axis_off()
    hs = [_h_fill(c, "#444", lab, 0.85) for c, lab in zip(CHANGE_COLORS, CHANGE_LABELS)]
    hs += [_h_line(DATA["prefecture"]["color"], DATA["prefecture"]["width"], "地级市界 Prefecture boundary"),
           _h_dot("#000000", "中心城区 City core")]
    hs += [_h_line(corridor_style(cl, st)["color"], corridor_style(cl, st)["width"] + 1,
                   f"方案线路 {class_label(cl)}", dash=corridor_style(cl, st)["dash"]) for cl, st in sorted(used)]
    top3 = "\n".join(f"#{int(r['rank'])} {r['alternative']}: score {r['score']:.3f}" for _, r in
                     run.table("compare/ranking.csv").head(3).iterrows())
    _legend(side, _handles(hs), _note(run), extra_text="排序 Ranking (compare/ranking.csv)\n" + top3)
    return fig


def _panel(ax, run, name, ext, used):
    layer = _change_layer(run, name).to_crs(EQUAL_AREA_CRS)
    colours = dict(zip(CHANGE_LABELS, CHANGE_COLORS))
    from .figures import _line

    ax.set_xlim(ext[0], ext[1])
    ax.set_ylim(ext[2], ext[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_edgecolor("#888")
    layer.plot(ax=ax, color=[colours[c] for c in layer["change_class"]], edgecolor="#444", linewidth=0.4, zorder=2)
    b = run.layer("boundaries")
    _line(ax, b[b["level"] == "prefecture"].boundary.to_frame("geometry").set_geometry("geometry"),
          color=DATA["prefecture"]["color"], width=DATA["prefecture"]["width"] * 0.7, z=6, alpha=1)
    lines = _scenario_lines(run, name)
    if lines is not None and len(lines):
        st_col = lines["status"].fillna("planned") if "status" in lines else pd.Series("planned", index=lines.index)
        for (cls, st), sub in lines.groupby([lines["class"], st_col]):
            st = st if st in ("operating", "under_construction", "planned") else "planned"
            s = corridor_style(cls, st)
            _line(ax, sub, color=s["color"], width=s["width"] + 1, dash=s["dash"], z=7, alpha=1)
            used.add((cls, st))
    cores = city_cores(run.layer("places")).to_crs(EQUAL_AREA_CRS)
    ax.scatter(cores.geometry.x, cores.geometry.y, s=14, c="#000", zorder=8)


def write_compare_figure(run_dir, *, manifest: dict | None = None, formats=("png", "pdf"), dpi: int = 300,
                         out_dir=None) -> list[Path]:
    """Write ``figures/compare.<format>`` of a comparison folder.

    Parameters
    ----------
    run_dir : path-like or Run
        A folder written by ``twinstar compare``.
    manifest : dict, optional
        Its manifest while it is being staged.
    formats : tuple of {"png", "pdf", "svg"}
    dpi : int
        PNG resolution (300 = print).
    out_dir : path-like, optional
        Default ``run_dir/figures``.

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    FontNotFoundError
        No CJK font is installed (checked before anything is drawn).
    """
    import matplotlib

    from .figures import find_cjk_font

    run = as_run(run_dir) if manifest is None else open_run(run_dir, manifest=manifest)
    family, _ = find_cjk_font()
    out_dir = Path(out_dir) if out_dir is not None else run.path / "figures"
    rc = {"font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"], "pdf.fonttype": 42,
          "svg.fonttype": "path", "axes.unicode_minus": False}
    written = []
    with matplotlib.rc_context(rc):
        fig = fig_compare(run)
        for fmt in formats:
            target = out_dir / f"compare.{fmt}"
            with atomic_output(target) as tmp:
                fig.savefig(tmp, format=fmt, dpi=dpi, metadata={"Title": "compare"} if fmt != "png" else None)
            written.append(target)
    return written
