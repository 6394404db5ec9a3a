"""Building blocks of twinstar maps: base map, styled layers, rasters, saving.

Maps compose like geopandas' ``explore(m=...)``: every ``add_*`` function takes
a :class:`folium.Map` and returns it, and every gallery map accepts ``m=``.

Nothing a data file says is ever run in a page.  Text enters a page here, and is escaped
for where it goes: tooltip and popup values and layer names as HTML text
(:func:`escape_columns`), labels as text set by the page script, legend, headline, banner
and notes through a whitelist of formatting tags (:func:`~._controls.safe_html`), and all
of it inside ``<script>`` as JSON that cannot end the script (:func:`~._controls.script_json`).
:func:`save_map` refuses a page that still carries an event-handler attribute or a
``javascript:`` link (:func:`~._offline.markup_problems`).
"""

from __future__ import annotations

import html
import logging
import math
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.enums import Resampling

from ..data.gcj02 import convert_gdf, wgs84_to_gcj02
from ..data.io import atomic_output
from ._controls import Controls, css_element, safe_html, script_json
from ._offline import MINIMAL_CSS, MINIMAL_JS, external_references, inline_assets, markup_problems
from ._raster import relief, to_web_mercator
from .style import INDICATIVE, PALETTE, TIME_RAMP

__all__ = ["PALETTE", "MapSpec", "new_map", "add_vector", "add_labels", "add_raster", "add_hillshade", "finish", "save_map",
           "BASEMAPS", "escape_text", "escape_columns", "safe_html", "script_json"]

log = logging.getLogger(__name__)

BASEMAPS = ("hillshade", "osm", "tianditu", "amap")
INDICATIVE_DASH = INDICATIVE["dash"]
#: Largest DEM side (cells) read for the terrain shading; finer DEMs are averaged down first.
_SHADE_CELLS = 1500



@dataclass
class MapSpec:
    """What a map is being built with: basemap, coordinate shift, legend and groups so far."""

    basemap: str = "hillshade"
    gcj: bool = False
    legend: list = field(default_factory=list)
    groups: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    bounds: list | None = None
    title: str = ""


def _shift(gdf, spec):
    return convert_gdf(gdf, "wgs84", "gcj02") if spec.gcj else gdf


def _tianditu_layer(key, store_key):
    # The key is read at view time from ?tk=... or localStorage, unless the user asked to store it.
    url = ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default"
           "&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}")
    return folium.TileLayer(tiles=url, attr="天地图 Tianditu", name="天地图 Tianditu", subdomains="01234567",
                            tk=key if (key and store_key) else "", max_zoom=18)


def new_map(bounds, *, basemap: str = "hillshade", tianditu_key: str | None = None, store_key: bool = False,
            title: str = "", **map_kw) -> tuple[folium.Map, MapSpec]:
    """An empty map fitted to ``bounds`` with the chosen basemap.

    Parameters
    ----------
    bounds : (west, south, east, north)
        Lon/lat degrees.
    basemap : {"hillshade", "osm", "tianditu", "amap"}
    tianditu_key : str, optional
    store_key : bool
        Write the Tianditu key into the page.
    title : str
        The panel's title (sanitised in :func:`finish`).
    **map_kw
        To :class:`folium.Map` (e.g. ``width="50%", left="50%"`` for a side-by-side page).

    Returns
    -------
    (folium.Map, MapSpec)
    """
    if basemap not in BASEMAPS:
        raise ValueError(f"unknown basemap {basemap!r}; choose from {', '.join(BASEMAPS)}")
    spec = MapSpec(basemap=basemap, gcj=basemap == "amap")
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, zoom_snap=0.25, **map_kw)
    m.default_js = list(MINIMAL_JS)
    m.default_css = list(MINIMAL_CSS)
    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(m)
        spec.notes.append("Basemap: OpenStreetMap (online)")
    elif basemap == "tianditu":
        _tianditu_layer(tianditu_key, store_key).add_to(m)
        spec.notes.append("Basemap: 天地图 Tianditu (online; key from ?tk= in the address)" if not store_key else
                          "Basemap: 天地图 Tianditu (online)")
    elif basemap == "amap":
        folium.TileLayer(tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                         attr="高德 Amap (GCJ-02)", name="高德 Amap", subdomains="1234").add_to(m)
        spec.notes.append("Basemap: 高德 Amap (online, GCJ-02): every overlay shifted to GCJ-02 to sit on the tiles")
    else:
        spec.notes.append("Basemap: terrain shading from the DEM (offline)")
    spec.bounds = [[bounds[1], bounds[0]], [bounds[3], bounds[2]]]
    if spec.gcj:
        lo, la = wgs84_to_gcj02(np.array([bounds[0], bounds[2]]), np.array([bounds[1], bounds[3]]))
        spec.bounds = [[float(la[0]), float(lo[0])], [float(la[1]), float(lo[1])]]
    spec.title = title
    return m, spec


def escape_text(value):
    """Text as HTML text (``<``, ``>``, ``&``, quotes escaped); anything else unchanged.

    Parameters
    ----------
    value : object

    Returns
    -------
    object

    Examples
    --------
    >>> escape_text("<img src=x onerror=alert(1)>"), escape_text(3.5)
    ('&lt;img src=x onerror=alert(1)&gt;', 3.5)
    """
    return html.escape(value, quote=True) if isinstance(value, str) else value


def escape_columns(df, columns):
    """A copy of ``df`` whose text in ``columns`` is HTML-escaped (for folium tooltips and popups, which
    put property values into the page as HTML).

    Parameters
    ----------
    df : DataFrame or GeoDataFrame
    columns : iterable of str

    Returns
    -------
    DataFrame or GeoDataFrame
    """
    out = df.copy()
    for c in columns:
        if c in out.columns and out[c].dtype.kind not in "biufcmM":
            out[c] = out[c].astype(object).map(escape_text)
    return out


_SIMPLIFIED: dict = {}


def _coverage_simplified(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """:func:`shapely.coverage_simplify`, remembered for the same polygons (every page of a gallery draws the
    same boundaries: simplified once, not once per page)."""
    import hashlib

    key = (hashlib.sha1(b"".join(shapely.to_wkb(geoms))).hexdigest(), float(tolerance))
    if key not in _SIMPLIFIED:
        if len(_SIMPLIFIED) > 32:
            _SIMPLIFIED.clear()
        _SIMPLIFIED[key] = shapely.coverage_simplify(geoms, tolerance)
    return _SIMPLIFIED[key]


def _prepare(gdf, *, simplify_deg: float, coverage: bool, decimals: int):
    g = gdf.copy()
    geoms = np.asarray(g.geometry.values)
    if simplify_deg:
        if coverage:
            geoms = _coverage_simplified(geoms, simplify_deg)
        else:
            geoms = shapely.simplify(geoms, simplify_deg, preserve_topology=True)
    geoms = shapely.transform(geoms, lambda c: np.round(c, decimals))
    g[g.geometry.name] = geoms
    g = g[~g.geometry.is_empty & g.geometry.notna()]
    for c in g.columns:
        if c != g.geometry.name and g[c].dtype.kind == "f":
            g[c] = g[c].round(3)
        elif c != g.geometry.name and g[c].dtype == object:
            g[c] = g[c].astype("string").fillna("")
    return g


def add_vector(m, spec: MapSpec, gdf: gpd.GeoDataFrame, *, name: str, group: str, color: str, kind: str = "polygon",
               tooltip: list | None = None, popup: list | None = None, fill_opacity: float = 0.25, weight: float = 2.0,
               legend_items: list | None = None, legend_title: str | None = None, color_by: dict | None = None,
               radius: float = 5, show: bool = True, simplify_deg: float = 0.0, coverage: bool = False, decimals: int = 5,
               dash: str | None = None, ties: bool = False, edge: str | None = None, interactive: bool = True):
    """Add a styled vector layer (symbols from :mod:`.style`); indicative features are marked as such.

    Indicative (``geometry_quality == "indicative"``) polygons get a dashed outline and a lighter fill,
    lines are translucent, points half-filled.  Tooltip and popup values and the layer's name are
    HTML-escaped (data text never becomes markup).

    Parameters
    ----------
    m : folium.Map
    spec : MapSpec
    gdf : GeoDataFrame
    name, group : str
        Layer name and its group in the layer list and legend.
    color : str
    kind : {"polygon", "line", "point"}
    tooltip, popup : list of (column, "中文 English"), optional
    fill_opacity, weight, radius : float
    legend_items : list of dict, optional
        Legend entries (default: one for the layer).
    legend_title : str, optional
    color_by : dict, optional
        ``{"column": col, "map": {value: colour}}``.
    show : bool
    simplify_deg : float
    coverage : bool
        Simplify as a coverage (neighbours keep their shared border).
    decimals : int
        Coordinate rounding.
    dash : str, optional
        The status pattern of a line layer.
    ties : bool
        Rail ties (a dashed white core).
    edge : str, optional
    interactive : bool

    Returns
    -------
    folium.FeatureGroup or None
        None for an empty layer.
    """
    if gdf is None or len(gdf) == 0:
        return None
    g = _prepare(_shift(gdf.to_crs(4326), spec), simplify_deg=simplify_deg, coverage=coverage, decimals=decimals)
    fg = folium.FeatureGroup(name=escape_text(name), show=show)  # the layer list shows names as HTML
    cb = color_by or {}

    def style(feature):
        p = feature["properties"]
        c = cb.get("map", {}).get(p.get(cb.get("column")), color) if cb else color
        ind = p.get("geometry_quality") == "indicative"
        st = {"color": c, "weight": weight, "opacity": 0.9}
        if kind == "polygon":
            st.update(fillColor=c, fillOpacity=fill_opacity * (INDICATIVE["fill_factor"] if ind else 1.0))
            if edge:
                st["color"] = edge
            if ind or dash:
                st["dashArray"] = dash or INDICATIVE_DASH
        else:
            if ind:
                st["opacity"] = INDICATIVE["line_opacity"]
            if dash:
                st["dashArray"] = dash
                st["lineCap"] = "round" if dash.startswith("1 ") else "butt"
        return st

    fields = [f for f, _ in (tooltip or []) if f in g.columns]
    aliases = [escape_text(a) for f, a in (tooltip or []) if f in g.columns]
    pfields = [f for f, _ in (popup or []) if f in g.columns]
    paliases = [escape_text(a) for f, a in (popup or []) if f in g.columns]
    g, fields, pfields = _escaped_display(g, fields, pfields, styled={cb.get("column"), "geometry_quality"})
    marker = folium.CircleMarker(radius=radius, fill=True) if kind == "point" else None

    def point_style(feature):
        st = style(feature)
        ind = feature["properties"].get("geometry_quality") == "indicative"
        st.update(fillColor=st["color"], color=edge or "#222222", weight=1 if ind else 1.5, opacity=0.9,
                  fillOpacity=0.55 if ind else 0.95)
        st.pop("dashArray", None)
        return st

    gj = folium.GeoJson(
        g.__geo_interface__, style_function=point_style if kind == "point" else style, marker=marker,
        highlight_function=(lambda f: {"weight": weight + 2, "fillOpacity": min(1.0, fill_opacity + 0.2)}) if interactive else None,
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True) if fields and interactive else None,
        popup=folium.GeoJsonPopup(fields=pfields, aliases=paliases, max_width=340) if pfields and interactive else None,
        smooth_factor=1.0, interactive=interactive,
    ).add_to(fg)
    gj._twinstar_escaped = fg._twinstar_escaped = True  # finish() leaves them alone
    if ties and kind == "line":
        folium.GeoJson(g[[g.geometry.name]].__geo_interface__, interactive=False, smooth_factor=1.0,
                       style_function=lambda f: {"color": "#ffffff", "weight": max(1.0, weight / 3), "dashArray": "6 6",
                                                 "opacity": 0.95}).add_to(fg)
    fg.add_to(m)
    spec.groups[name] = group
    if legend_items is None:
        ind = "geometry_quality" in gdf.columns and (gdf["geometry_quality"] == "indicative").mean() >= 0.5
        item = {"kind": "line" if kind == "line" else ("dot" if kind == "point" else "fill"), "color": color, "width": weight,
                "label": name + (" (示意 indicative)" if ind else "")}
        if kind == "line":
            item.update(dash=dash, ties=ties, opacity=INDICATIVE["line_opacity"] if ind else 1)
        elif kind == "polygon":
            item.update(fill=fill_opacity, edge=edge, dash=INDICATIVE_DASH if ind else None)
        else:
            item.update(edge=edge)
        legend_items = [item]
    spec.legend.append({"layer": fg.get_name(), "group": group, "title": legend_title or "", "items": legend_items})
    return fg


def _escaped_display(g, fields, pfields, *, styled):
    """The layer cut to what the page needs, with the tooltip / popup text HTML-escaped.

    Folium writes property values into tooltips and popups as HTML.  A column the style reads
    (``color_by``, ``geometry_quality``) keeps its raw value and is shown through an escaped copy.
    """
    shown = list(dict.fromkeys(fields + pfields))
    rename = {c: f"_t{i}" for i, c in enumerate(shown) if c in styled}
    keep = sorted((set(shown) | {c for c in styled if c}) & set(g.columns))
    g = g[keep + [g.geometry.name]].copy()
    for c, copy in rename.items():
        g[copy] = g[c]
    g = escape_columns(g, [rename.get(c, c) for c in shown])
    return g, [rename.get(c, c) for c in fields], [rename.get(c, c) for c in pfields]


def add_labels(spec: MapSpec, gdf: gpd.GeoDataFrame | None, *, cls: str, priority: int, min_zoom: float,
               text: str = "name_zh", english: str | None = "name_en", point: bool = False, layer=None) -> None:
    """Queue labels for the map's label engine (shown from ``min_zoom``; higher ``priority`` placed first).

    Polygons are labelled at a representative point inside them, points beside the symbol.
    The page sets label texts as text (``textContent``): any name is shown as written.

    Parameters
    ----------
    spec : MapSpec
    gdf : GeoDataFrame or None
    cls : str
        Label class (CSS ``ts-lbl-<cls>``).
    priority : int
    min_zoom : float
    text, english : str
        Columns of the Chinese and English label.
    point : bool
        Label beside a point symbol.
    layer : folium.FeatureGroup, optional
        Hide the labels while this layer is switched off.
    """
    if gdf is None or len(gdf) == 0:
        return
    g = _shift(gdf.to_crs(4326), spec)
    pts = g.geometry.representative_point()
    for (_, row), pt in zip(g.iterrows(), pts):
        t = row.get(text)
        if t is None or (isinstance(t, float) and not np.isfinite(t)) or str(t) == "":
            continue
        e = row.get(english) if english else None
        spec.labels.append({"t": str(t), "e": "" if e is None or (isinstance(e, float) and np.isnan(e)) else str(e),
                            "x": round(float(pt.x), 5), "y": round(float(pt.y), 5), "c": cls, "p": int(priority),
                            "z": float(min_zoom), "pt": bool(point), "l": layer.get_name() if layer is not None else None})


def _ramp(values, vmin, vmax, colors):
    stops = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=float)
    finite = np.isfinite(values)
    x = np.clip((np.where(finite, values, vmin) - vmin) / (vmax - vmin), 0, 1) * (len(colors) - 1)
    i = np.clip(np.floor(x).astype(int), 0, len(colors) - 2)
    f = (x - i)[..., None]
    rgb = stops[i] * (1 - f) + stops[i + 1] * f
    a = np.where(finite, 200, 0)[..., None]
    return np.concatenate([rgb, a], axis=-1).astype("uint8")


def add_raster(m, spec: MapSpec, array, transform, crs, *, name: str, group: str, vmin: float, vmax: float,
               colors=TIME_RAMP, legend_label: str = "", show: bool = True, classes: list | None = None):
    """Add a raster as a coloured image overlay (its values reprojected to Web Mercator, then coloured).

    Parameters
    ----------
    m : folium.Map
    spec : MapSpec
    array : numpy.ndarray
    transform, crs
        Its georeferencing.
    name, group : str
    vmin, vmax : float
        The colour ramp's ends.
    colors : sequence of str
    legend_label : str
    show : bool
    classes : list of float, optional
        Stepped colours at these class breaks.

    Returns
    -------
    folium.Map
    """
    ll, (w, s, e, n) = to_web_mercator(np.asarray(array, dtype="float32"), transform, crs)
    if classes:  # stepped colours at class breaks (e.g. 30/60/90/120 min)
        edges = np.asarray(classes, float)
        idx = np.digitize(ll, edges)
        ll = np.where(np.isfinite(ll), (np.clip(idx, 0, len(edges)) / len(edges)) * (vmax - vmin) + vmin, np.nan)
    rgba = _ramp(ll, vmin, vmax, colors)
    if spec.gcj:
        lo, la = wgs84_to_gcj02(np.array([w, e]), np.array([s, n]))
        w, e, s, n = float(lo[0]), float(lo[1]), float(la[0]), float(la[1])
    fg = folium.FeatureGroup(name=escape_text(name), show=show)
    fg._twinstar_escaped = True
    folium.raster_layers.ImageOverlay(rgba, bounds=[[s, w], [n, e]], mercator_project=False,
                                      opacity=0.75, interactive=False).add_to(fg)
    fg.add_to(m)
    spec.groups[name] = group
    spec.legend.append({"layer": fg.get_name(), "group": group, "title": name,
                        "items": [{"kind": "ramp", "colors": list(colors), "label": legend_label}]})
    # Raster legends come first: they explain the colours that cover the map.
    spec.legend.insert(0, spec.legend.pop())
    return m


def add_hillshade(m, spec: MapSpec, dem_path, *, upsample: int = 6):
    """Terrain shading from the DEM as an offline base layer (always on, below the overlays).

    A fine DEM is read averaged down to at most 1,500 cells a side: the shading of a 1 arc-second
    DEM of the region needs tens of MB, not its 1.6 GiB.

    Parameters
    ----------
    m : folium.Map
    spec : MapSpec
    dem_path : path-like or None
    upsample : int
        Output pixels per DEM cell for a coarse DEM (a smooth relief).

    Returns
    -------
    folium.Map
    """
    if spec.basemap != "hillshade" or dem_path is None:
        return m
    with rasterio.open(dem_path) as src:
        # a fine DEM is read coarsened (averaged) to at most _SHADE_CELLS a side: the overlay is 4 M pixels anyway
        f = max(1, math.ceil(max(src.width, src.height) / _SHADE_CELLS))
        shape = (math.ceil(src.height / f), math.ceil(src.width / f))
        dem = src.read(1, out_shape=shape, masked=True, resampling=Resampling.average, out_dtype="float32").filled(np.nan)
        transform = src.transform * Affine.scale(src.width / shape[1], src.height / shape[0])
        z, (w, s, e, n) = to_web_mercator(dem, transform, src.crs, resampling="bilinear", upsample=upsample if f == 1 else 1)
    # Web Mercator metres are 1/cos(latitude) ground metres.
    cell_m = np.radians(e - w) * 6378137.0 / z.shape[1] * np.cos(np.radians((s + n) / 2))
    shade = relief(z, cell_m)
    zf = np.where(np.isfinite(z), z, np.nanmean(z))
    elev = (zf - np.nanmin(zf)) / max(np.nanmax(zf) - np.nanmin(zf), 1)
    base = np.stack([0.93 - 0.10 * elev, 0.92 - 0.06 * elev, 0.86 - 0.02 * elev], -1)  # light tint rising with height
    rgb = np.clip(base * (0.72 + 0.28 * shade[..., None]), 0, 1)  # light: a base under coloured overlays
    rgba = np.concatenate([rgb * 255, np.full(shade.shape + (1,), 255)], -1).astype("uint8")
    folium.raster_layers.ImageOverlay(rgba, bounds=[[s, w], [n, e]], mercator_project=False, opacity=1.0,
                                      interactive=False, name="地形 Terrain (DEM 0.2°)", zindex=1).add_to(m)
    spec.groups["地形 Terrain (DEM 0.2°)"] = "底图 Base"
    return m


def _walk(element):
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


def _escape_foreign_layers(m) -> int:
    """Escape what layers made outside :func:`add_vector` would put into the page as HTML.

    Layer names (the layer list shows them as HTML) and the tooltip / popup fields of any
    ``folium.GeoJson`` (folium writes property values into them as HTML): the values are copied
    into escaped properties and the tooltip reads those, so styles still see the raw values.
    Returns how many elements were escaped.
    """
    n = 0
    for el in _walk(m):
        if getattr(el, "_twinstar_escaped", False):
            continue
        if isinstance(el, folium.FeatureGroup) and isinstance(el.layer_name, str):
            el.layer_name, n = escape_text(el.layer_name), n + 1
        elif isinstance(el, folium.GeoJson) and isinstance(getattr(el, "data", None), dict):
            details = [c for c in el._children.values() if isinstance(c, folium.features.GeoJsonDetail)]
            for d in details:
                names = {f: f"_e_{i}_{f}" for i, f in enumerate(d.fields)}
                for feat in el.data.get("features") or []:
                    props = feat.setdefault("properties", {}) or {}
                    for f, e in names.items():
                        props[e] = escape_text(props.get(f))
                d.fields = [names[f] for f in d.fields]
                d.aliases = [escape_text(a) for a in d.aliases]
                n += 1
        el._twinstar_escaped = True
    return n


def finish(m, spec: MapSpec, *, note_lines: list | None = None, headline: str = "", banner: str = "",
           collapse_below: int = 700):
    """Add the layer switcher, side panel (legend, notes, headline), labels and tools.

    Texts become HTML through :func:`~._controls.safe_html`; layers added to ``m`` without
    :func:`add_vector` get their names and tooltip / popup values escaped here.

    Parameters
    ----------
    m : folium.Map
    spec : MapSpec
    note_lines : list of str, optional
    headline, banner : str
        HTML: the pages' formatting tags are kept, everything else is text.
    collapse_below : int
        Window width (px) below which the panel starts collapsed.

    Returns
    -------
    folium.Map
    """
    _escape_foreign_layers(m)
    labels = folium.FeatureGroup(name="标注 Labels", show=True)
    labels.add_to(m)
    spec.groups[labels.layer_name] = "标注 Labels"
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    lines = (note_lines or []) + spec.notes
    lines.append(INDICATIVE["label"] + "; see each feature's source and accuracy.")
    m.get_root().header.add_child(css_element(), name="twinstar_css")
    Controls(legend=spec.legend, groups=spec.groups, note="<br>".join(lines), title=spec.title, headline=headline,
             banner=banner, bounds=spec.bounds, labels=spec.labels, label_layer=labels.get_name(),
             collapse_below=collapse_below).add_to(m)
    return m


def save_map(m: folium.Map, path, *, offline: bool = True):
    """Write the map's HTML atomically; with ``offline`` inline every asset and refuse external ones.

    A page whose markup would still carry an event handler or a ``javascript:`` link is refused
    (:func:`~._offline.markup_problems`): data text reached it unescaped, a bug.

    Parameters
    ----------
    m : folium.Map or branca Figure
    path : path-like
    offline : bool

    Returns
    -------
    path-like
        ``path``.

    Raises
    ------
    TwinstarError
        An external reference left in an offline page, or unsafe markup.
    """
    from ..errors import TwinstarError

    page = m.get_root().render()
    if offline:
        page = inline_assets(page)
        ext = external_references(page)
        if ext:
            raise TwinstarError(f"{path}: the offline map would still load {ext}; this is a bug, please report it.")
    unsafe = markup_problems(page)
    if unsafe:
        raise TwinstarError(f"{path}: the page would carry {'; '.join(unsafe[:3])}: text from a data file reached the "
                            "page unescaped. This is a bug, please report it (the page was not written).")
    with atomic_output(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    log.info("wrote %s (%.0f KiB)", path, len(page.encode()) / 1024)
    return path
