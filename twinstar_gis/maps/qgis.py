"""A run folder that opens styled in QGIS: layer styles, raster styles and a project file, written without QGIS.

:func:`write_qgis` (called by ``twinstar run`` before ``run.json``) writes

* the default style of every layer into its GeoPackage's ``layer_styles`` table (the table QGIS reads
  when it opens a GeoPackage layer): renderer, labels, Chinese field aliases;
* ``<raster>.qml`` beside every GeoTIFF (QGIS applies ``<stem>.qml`` on load): travel times in the
  gallery's classes, suitability classes with their names, the DEM as an elevation ramp;
* ``run.qgz``: a QGIS project with the run's layers grouped like the gallery's layer list, styled and
  labelled, in the study area's extent, in the run's equal-area projection; layers by relative path
  (``./data/twinstar.gpkg|layername=parks``), so the folder can be moved or zipped.

Every colour, width and dash comes from :mod:`.style`, the symbol system of the web maps and the print
figures, so a national highway looks the same in all three.  Everything is plain XML (``xml.etree``),
SQLite (``sqlite3``) and ZIP; the format details were checked against QGIS 3.22.16 (Debian), the
version many institutes run:

* ``layer_styles`` must be listed in ``gpkg_contents`` (``attributes``, ``srs_id`` 0), with
  ``f_table_schema = ''`` and ``f_geometry_column`` the layer's geometry column, or QGIS silently applies
  no style;
* a raster's style file is ``<stem>.qml`` (``time_to_cores.qml``), not ``<name>.tif.qml``;
* a project needs ``<SpatialRefSys><ProjectionsEnabled>1`` (else it has no CRS), layer ids longer than
  10 characters (shorter ones are replaced by random ids and the layer tree loses its layers), and
  relative sources starting with ``./``.

Writing styles changes the GeoPackages' bytes: it happens before ``run.json`` records them.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..data.io import atomic_output

__all__ = ["QGIS_VERSION", "px_to_mm", "qcolor", "line_symbol", "fill_symbol", "marker_symbol", "single_renderer",
           "categorized_renderer", "graduated_renderer", "labeling", "vector_qml", "pseudocolor_renderer",
           "paletted_renderer", "hillshade_renderer", "raster_qml", "write_layer_style", "read_default_style",
           "LAYER_STYLES_DDL", "vector_style", "raster_style", "write_qgis", "PROJECT", "style_exported",
           "project_layers", "EQUAL_AREA_NAME"]

log = logging.getLogger(__name__)

#: The QGIS version the styles and project declare (3.22 reads them without upgrading; newer versions upgrade).
QGIS_VERSION = "3.22.0"
_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
#: The run's project file (relative to the run folder).
PROJECT = "run.qgz"
from ..run.exports import EQUAL_AREA_NAME  # noqa: E402  (the name QGIS shows for the regional equal-area projection)
#: Label font: Noto Sans CJK (Linux); QGIS falls back to the system's CJK font elsewhere.
LABEL_FONT = "Noto Sans CJK SC"


# ---------------------------------------------------------------------------------------------- symbols
def px_to_mm(px: float) -> float:
    """CSS px (96 dpi, the unit of :mod:`.style`) to millimetres, QGIS's symbol unit.

    >>> px_to_mm(3.0)
    0.79

    Parameters
    ----------
    px : float
        Width in CSS px.

    Returns
    -------
    float
        Millimetres, to 0.01.
    """
    return round(px * 25.4 / 96.0, 2)


def qcolor(hex_color: str, opacity: float = 1.0) -> str:
    """``"#0072B2", 0.5`` -> ``"0,114,178,128"`` (QGIS's r,g,b,a).

    >>> qcolor("#0072B2", 0.5)
    '0,114,178,128'

    Parameters
    ----------
    hex_color : str
        ``#RRGGBB``.
    opacity : float
        0-1.

    Returns
    -------
    str
        ``r,g,b,a``.
    """
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(255 * opacity)}"


def _options(parent, props: dict):
    m = ET.SubElement(parent, "Option", type="Map")
    for k, v in props.items():
        ET.SubElement(m, "Option", name=k, type="QString", value=str(v))
    return m


def _data_defined(layer, prop: str, expression: str) -> None:
    """A data-defined symbol-layer property (e.g. ``outlineWidth`` from an expression)."""
    dd = ET.SubElement(layer, "data_defined_properties")
    root = ET.SubElement(dd, "Option", type="Map")
    ET.SubElement(root, "Option", name="name", type="QString", value="")
    props = ET.SubElement(root, "Option", name="properties", type="Map")
    p = ET.SubElement(props, "Option", name=prop, type="Map")
    ET.SubElement(p, "Option", name="active", type="bool", value="true")
    ET.SubElement(p, "Option", name="expression", type="QString", value=expression)
    ET.SubElement(p, "Option", name="type", type="int", value="3")
    ET.SubElement(root, "Option", name="type", type="QString", value="collection")


def _symbol(kind: str, layers: list, opacity: float = 1.0) -> ET.Element:
    """``layers``: (QGIS symbol-layer class, properties[, data-defined (property, expression)])."""
    sym = ET.Element("symbol", type=kind, name="", alpha=f"{opacity:g}", clip_to_extent="1", force_rhr="0")
    for spec in layers:
        lay = ET.SubElement(sym, "layer", {"class": spec[0], "enabled": "1", "locked": "0", "pass": "0"})
        _options(lay, spec[1])
        if len(spec) > 2 and spec[2]:
            _data_defined(lay, *spec[2])
    return sym


def _dash(dash: str | None) -> dict:
    """An SVG dasharray in px (``"8 4"``) as a QGIS custom dash in mm."""
    if not dash:
        return {"line_style": "solid", "use_custom_dash": "0"}
    return {"line_style": "solid", "use_custom_dash": "1", "customdash": ";".join(f"{px_to_mm(float(x)):g}" for x in dash.split()),
            "customdash_unit": "MM"}


def _line_props(color, width_mm, dash, opacity=1.0) -> dict:
    return {"line_color": qcolor(color, opacity), "line_width": f"{width_mm:g}", "line_width_unit": "MM",
            "capstyle": "round" if dash else "square", "joinstyle": "round", **_dash(dash)}


def line_symbol(color: str, width_mm: float, *, dash: str | None = None, opacity: float = 1.0, ties: bool = False,
                width_expression: str | None = None) -> ET.Element:
    """A line; ``dash`` an SVG dasharray in px; ``ties`` adds the white dashed core of rail lines (:mod:`.style`);
    ``width_expression`` makes the width data-defined (mm).

    Parameters
    ----------
    color : str
        ``#RRGGBB``.
    width_mm : float
    dash : str, optional
        SVG dasharray in px.
    opacity : float
    ties : bool
    width_expression : str, optional
        QGIS expression for the width (mm).

    Returns
    -------
    xml.etree.ElementTree.Element
        A ``<symbol type="line">``.
    """
    layers = [("SimpleLine", _line_props(color, width_mm, dash, opacity),
               ("outlineWidth", width_expression) if width_expression else None)]
    if ties:
        layers.append(("SimpleLine", _line_props("#FFFFFF", max(0.16, round(width_mm / 3, 2)), "3 3")))
    return _symbol("line", layers)


def fill_symbol(color: str | None, *, fill_opacity: float = 1.0, outline: str = "#000000", outline_mm: float = 0.26,
                outline_dash: str | None = None, outline_opacity: float = 1.0) -> ET.Element:
    """A fill with outline; ``color=None``: outline only.  A dashed outline is a second (line) layer.

    Parameters
    ----------
    color : str or None
        Fill colour; None: no fill.
    fill_opacity : float
    outline : str
    outline_mm : float
    outline_dash : str, optional
        SVG dasharray in px.
    outline_opacity : float

    Returns
    -------
    xml.etree.ElementTree.Element
        A ``<symbol type="fill">``.
    """
    props = {"color": qcolor(color or "#000000", fill_opacity if color else 0.0), "style": "solid" if color else "no",
             "outline_color": qcolor(outline, outline_opacity), "outline_width": f"{outline_mm:g}",
             "outline_width_unit": "MM", "outline_style": "no" if outline_dash else "solid", "joinstyle": "round"}
    layers = [("SimpleFill", props)]
    if outline_dash:
        layers.append(("SimpleLine", _line_props(outline, outline_mm, outline_dash, outline_opacity)))
    return _symbol("fill", layers)


def marker_symbol(color: str, size_mm: float, *, outline: str = "#000000", outline_mm: float = 0.2,
                  shape: str = "circle", opacity: float = 1.0) -> ET.Element:
    """A simple marker (``shape``: circle, square, diamond, triangle, star ...).

    Parameters
    ----------
    color : str
    size_mm : float
    outline : str
    outline_mm : float
    shape : str
    opacity : float

    Returns
    -------
    xml.etree.ElementTree.Element
        A ``<symbol type="marker">``.
    """
    props = {"name": shape, "color": qcolor(color, opacity), "outline_color": qcolor(outline), "outline_width": f"{outline_mm:g}",
             "outline_width_unit": "MM", "size": f"{size_mm:g}", "size_unit": "MM"}
    return _symbol("marker", [("SimpleMarker", props)])


# ---------------------------------------------------------------------------------------------- renderers
def _renderer(rtype: str, **attrs) -> ET.Element:
    return ET.Element("renderer-v2", {"type": rtype, "symbollevels": "0", "forceraster": "0", "enableorderby": "0", **attrs})


def _symbols(parent, syms) -> None:
    s = ET.SubElement(parent, "symbols")
    for i, sym in enumerate(syms):
        sym.set("name", str(i))
        s.append(sym)


def single_renderer(symbol: ET.Element) -> ET.Element:
    """One symbol for every feature.

    Parameters
    ----------
    symbol : xml.etree.ElementTree.Element

    Returns
    -------
    xml.etree.ElementTree.Element
        ``<renderer-v2 type="singleSymbol">``.
    """
    r = _renderer("singleSymbol")
    _symbols(r, [symbol])
    return r


def categorized_renderer(attr: str, categories, *, other: ET.Element | None = None) -> ET.Element:
    """``categories``: (value, label, symbol); ``attr`` a field or an expression; ``other`` for any other value.

    Parameters
    ----------
    attr : str
        Field name or QGIS expression.
    categories : iterable of (value, label, symbol)
    other : Element, optional
        Symbol for all other values.

    Returns
    -------
    xml.etree.ElementTree.Element
        ``<renderer-v2 type="categorizedSymbol">``.
    """
    r = _renderer("categorizedSymbol", attr=attr)
    cats = ET.SubElement(r, "categories")
    syms = []
    for value, label, sym in list(categories) + ([("", "其他 other", other)] if other is not None else []):
        ET.SubElement(cats, "category", value=str(value), label=label, symbol=str(len(syms)), render="true")
        syms.append(sym)
    _symbols(r, syms)
    return r


def graduated_renderer(attr: str, ranges) -> ET.Element:
    """``ranges``: (lower, upper, label, symbol); a value v is in a range when lower < v <= upper (the first
    range takes v == lower too); open ends as +-1e300.

    Parameters
    ----------
    attr : str
        Numeric field.
    ranges : iterable of (lower, upper, label, symbol)

    Returns
    -------
    xml.etree.ElementTree.Element
        ``<renderer-v2 type="graduatedSymbol">``.
    """
    r = _renderer("graduatedSymbol", attr=attr, graduatedMethod="GraduatedColor")
    rs = ET.SubElement(r, "ranges")
    for i, (lo, hi, label, _) in enumerate(ranges):
        ET.SubElement(rs, "range", lower=f"{lo:.15g}", upper=f"{hi:.15g}", label=label, symbol=str(i), render="true")
    _symbols(r, [sym for *_, sym in ranges])
    cm = ET.SubElement(r, "classificationMethod", id="Custom")
    ET.SubElement(cm, "labelFormat", format="%1 - %2", labelprecision="1", trimtrailingzeroes="1")
    return r


#: Label placement (Qgis::LabelPlacement): around a point, along a line, over a polygon's centre.
_PLACEMENT = {"point": "0", "line": "2", "polygon": "1"}


def labeling(text: str, *, geometry: str, size_pt: float = 8.0, color: str = "#222222", bold: bool = False,
             expression: bool = False, priority: int = 5, always: bool = False) -> ET.Element:
    """Simple labels from a field (or an expression) with a white halo, as on the web maps; ``always``: shown
    even where they collide (a few labels that must never be hidden, like the ranks of candidate sites).

    Parameters
    ----------
    text : str
        Field name, or an expression with ``expression=True``.
    geometry : {"point", "line", "polygon"}
    size_pt, color, bold, expression, priority, always
        Font size (pt), colour, weight, whether ``text`` is an expression, QGIS label priority (0-10), show even where labels collide.

    Returns
    -------
    xml.etree.ElementTree.Element
        ``<labeling type="simple">``.
    """
    lab = ET.Element("labeling", type="simple")
    st = ET.SubElement(lab, "settings", calloutType="simple")
    ts = ET.SubElement(st, "text-style", fieldName=text, isExpression="1" if expression else "0", fontFamily=LABEL_FONT,
                       fontSize=f"{size_pt:g}", fontSizeUnit="Point", textColor=qcolor(color), textOpacity="1",
                       fontWeight="75" if bold else "50", fontItalic="0", namedStyle="Bold" if bold else "Regular")
    ET.SubElement(ts, "text-buffer", bufferDraw="1", bufferSize="0.8", bufferSizeUnits="MM", bufferColor=qcolor("#FFFFFF"),
                  bufferOpacity="1", bufferNoFill="1", bufferJoinStyle="128")
    ET.SubElement(st, "placement", placement=_PLACEMENT[geometry], placementFlags="10", dist="1", distUnits="MM",
                  priority=str(priority), repeatDistance="0")
    ET.SubElement(st, "rendering", drawLabels="1", obstacle="1", scaleVisibility="0", displayAll="1" if always else "0",
                  mergeLines="1" if geometry == "line" else "0", upsidedownLabels="0")
    return lab


def _text(tag: str, text: str) -> ET.Element:
    e = ET.Element(tag)
    e.text = text
    return e


def _vector_children(renderer, labels=None, aliases: dict | None = None, opacity: float = 1.0) -> list:
    """The elements a ``.qml`` root and a project's ``<maplayer>`` both carry for a vector layer."""
    out = [renderer] + ([labels] if labels is not None else []) + [_text("blendMode", "0"), _text("layerOpacity", f"{opacity:g}")]
    if aliases:
        al = ET.Element("aliases")
        for i, (fld, alias) in enumerate(aliases.items()):
            ET.SubElement(al, "alias", field=fld, index=str(i), name=alias)
        out.append(al)
    return out


def _document(root: ET.Element) -> str:
    ET.indent(root)
    return _DOCTYPE + ET.tostring(root, encoding="unicode") + "\n"


def vector_qml(renderer, *, labels=None, aliases: dict | None = None, opacity: float = 1.0) -> str:
    """A vector style document (``.qml`` text).

    Parameters
    ----------
    renderer : Element
    labels : Element, optional
    aliases : dict, optional
        Field -> alias.
    opacity : float

    Returns
    -------
    str
        The ``.qml`` document.
    """
    root = ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": "AllStyleCategories",
                               "labelsEnabled": "1" if labels is not None else "0", "hasScaleBasedVisibilityFlag": "0",
                               "minScale": "100000000", "maxScale": "0"})
    root.extend(_vector_children(renderer, labels, aliases, opacity))
    return _document(root)


# ---------------------------------------------------------------------------------------------- rasters
def _minmax_origin(parent) -> None:
    mmo = ET.SubElement(parent, "minMaxOrigin")
    for tag, text in (("limits", "None"), ("extent", "WholeRaster"), ("statAccuracy", "Estimated"),
                      ("cumulativeCutLower", "0.02"), ("cumulativeCutUpper", "0.98"), ("stdDevFactor", "2")):
        ET.SubElement(mmo, tag).text = text


def pseudocolor_renderer(items, *, ramp: str = "DISCRETE", opacity: float = 1.0) -> ET.Element:
    """Single-band pseudocolour. ``items``: (value, hex colour, label).

    ``DISCRETE``: a pixel takes the first item whose value is >= the pixel (the value is the class's upper
    bound; the last may be ``inf``); ``INTERPOLATED``: a continuous ramp between the items.

    Parameters
    ----------
    items : iterable of (value, colour, label)
    ramp : {"DISCRETE", "INTERPOLATED", "EXACT"}
    opacity : float

    Returns
    -------
    xml.etree.ElementTree.Element
        ``<rasterrenderer type="singlebandpseudocolor">``.
    """
    vals = [v for v, *_ in items if abs(v) != float("inf")]
    lo, hi = min(vals), max(vals)
    rr = ET.Element("rasterrenderer", type="singlebandpseudocolor", band="1", opacity=f"{opacity:g}", alphaBand="-1",
                    classificationMin=f"{lo:g}", classificationMax=f"{hi:g}", nodataColor="")
    _minmax_origin(rr)
    sh = ET.SubElement(ET.SubElement(rr, "rastershader"), "colorrampshader", colorRampType=ramp, classificationMode="1",
                       clip="0", minimumValue=f"{lo:g}", maximumValue=f"{hi:g}", labelPrecision="0")
    for value, color, label in items:
        ET.SubElement(sh, "item", value="inf" if value == float("inf") else f"{value:g}", color=color, alpha="255", label=label)
    return rr


def paletted_renderer(classes, *, opacity: float = 1.0) -> ET.Element:
    """Unique values ``classes`` (integer, hex colour, label); other values are not drawn.

    Parameters
    ----------
    classes : iterable of (value, colour, label)
    opacity : float

    Returns
    -------
    xml.etree.ElementTree.Element
        ``<rasterrenderer type="paletted">``.
    """
    rr = ET.Element("rasterrenderer", type="paletted", band="1", opacity=f"{opacity:g}", alphaBand="-1", nodataColor="")
    _minmax_origin(rr)
    pal = ET.SubElement(rr, "colorPalette")
    for value, color, label in classes:
        ET.SubElement(pal, "paletteEntry", value=str(int(value)), color=color, alpha="255", label=label)
    return rr


def hillshade_renderer(*, z_factor: float, opacity: float = 0.5) -> ET.Element:
    """Relief shading (light from the north-west, 45° high); ``z_factor`` converts elevation to map units.

    Parameters
    ----------
    z_factor : float
        Elevation units to map units.
    opacity : float

    Returns
    -------
    xml.etree.ElementTree.Element
        ``<rasterrenderer type="hillshade">``.
    """
    return ET.Element("rasterrenderer", type="hillshade", band="1", opacity=f"{opacity:g}", alphaBand="-1",
                      azimuth="315", angle="45", zfactor=f"{z_factor:.8g}", multidirection="0", nodataColor="")


def _raster_children(renderer, *, smooth: bool = False) -> list:
    """Pipe and blend mode of a raster layer; ``smooth``: bilinear resampling (continuous surfaces: the DEM)."""
    method = "bilinear" if smooth else "nearestNeighbour"
    pipe = ET.Element("pipe")
    prov = ET.SubElement(pipe, "provider")
    ET.SubElement(prov, "resampling", enabled="true" if smooth else "false", zoomedInResamplingMethod=method,
                  zoomedOutResamplingMethod=method, maxOversampling="2")
    pipe.append(renderer)
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    ET.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0", invertColors="0", colorizeOn="0",
                  colorizeRed="255", colorizeGreen="128", colorizeBlue="128", colorizeStrength="100")
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    return [pipe, _text("blendMode", "0")]


def raster_qml(renderer, *, smooth: bool = False) -> str:
    """A raster style document; save it as ``<raster stem>.qml`` beside the raster.

    Parameters
    ----------
    renderer : Element
    smooth : bool
        Bilinear resampling (continuous surfaces).

    Returns
    -------
    str
        The ``.qml`` document.
    """
    root = ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": "AllStyleCategories",
                               "hasScaleBasedVisibilityFlag": "0", "minScale": "1e+08", "maxScale": "0"})
    root.extend(_raster_children(renderer, smooth=smooth))
    return _document(root)


# ---------------------------------------------------------------------------------------------- layer_styles
#: The table QGIS 3.22 / GDAL 3.6 create for styles in a GeoPackage (QgsVectorLayer.saveStyleToDatabase).
LAYER_STYLES_DDL = """CREATE TABLE IF NOT EXISTS "layer_styles" (
 "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
 "f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256), "f_geometry_column" TEXT(256),
 "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, "useAsDefault" BOOLEAN, "description" TEXT,
 "owner" TEXT(30), "ui" TEXT(30),
 "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"""


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def geometry_column(gpkg, layer: str) -> str | None:
    """The geometry column of a GeoPackage layer (``geom`` as GDAL writes it), None for a table.

    Parameters
    ----------
    gpkg : path-like
    layer : str

    Returns
    -------
    str or None
        The geometry column, None for an attribute table.
    """
    con = sqlite3.connect(f"file:{Path(gpkg)}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def write_layer_style(gpkg, layer: str, qml: str, *, name: str = "twinstar", description: str = "") -> None:
    """Store ``qml`` as the default style of ``layer`` in the GeoPackage (replacing an earlier default).

    The ``layer_styles`` table is created as QGIS creates it and registered in ``gpkg_contents`` (else
    GDAL does not expose it and QGIS applies no style).

    Parameters
    ----------
    gpkg : path-like
    layer : str
    qml : str
        The style document.
    name : str
        Style name.
    description : str

    Returns
    -------
    None
        The GeoPackage is changed in place.
    """
    geom = geometry_column(gpkg, layer) or ""
    con = sqlite3.connect(str(gpkg))
    try:
        with con:
            con.execute(LAYER_STYLES_DDL)
            con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ? AND f_geometry_column = ?",
                        (layer, geom))
            con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND f_geometry_column = ? AND styleName = ?",
                        (layer, geom, name))
            con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column,"
                        " styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time)"
                        " VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', NULL, ?)", (layer, geom, name, qml, description, _now()))
            con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change,"
                        " srs_id) VALUES ('layer_styles', 'attributes', 'layer_styles', '', ?, 0)", (_now(),))
            if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_ogr_contents'").fetchone():
                n = con.execute("SELECT count(*) FROM layer_styles").fetchone()[0]
                con.execute("DELETE FROM gpkg_ogr_contents WHERE table_name = 'layer_styles'")
                con.execute("INSERT INTO gpkg_ogr_contents (table_name, feature_count) VALUES ('layer_styles', ?)", (n,))
    finally:
        con.close()


def read_default_style(gpkg, layer: str) -> str | None:
    """The QML QGIS would load for ``layer`` (its selection: schema '', geometry column, default first), or None.

    Parameters
    ----------
    gpkg : path-like
    layer : str

    Returns
    -------
    str or None
        The QML, or None when the layer has no stored style.
    """
    con = sqlite3.connect(f"file:{Path(gpkg)}?mode=ro", uri=True)
    try:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'layer_styles'").fetchone():
            return None
        row = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_schema = '' AND f_table_name = ?"
                          " AND f_geometry_column = ? ORDER BY useAsDefault DESC, update_time DESC LIMIT 1",
                          (layer, geometry_column(gpkg, layer) or "")).fetchone()
        return row[0] if row else None
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------- the catalogue
@dataclass
class VectorStyle:
    """Renderer, labels and opacity of one vector layer."""

    renderer: ET.Element
    labels: ET.Element | None = None
    opacity: float = 1.0


def _values(gpkg, layer: str, column: str):
    """The values of one column of a layer (no geometry read), empty when the column is absent."""
    import pyogrio

    if column not in pyogrio.read_info(gpkg, layer=layer)["fields"]:
        return []
    return pyogrio.read_dataframe(gpkg, layer=layer, columns=[column], read_geometry=False)[column].dropna().tolist()


def _fill(st: dict, *, indicative: bool = False, edge: str | None = None) -> ET.Element:
    """A polygon symbol from a :mod:`.style` entry; indicative: dashed outline, lighter fill (as the web maps)."""
    from .style import INDICATIVE

    f = st.get("fill", 0.0)
    return fill_symbol(st["color"] if f else None, fill_opacity=f * (INDICATIVE["fill_factor"] if indicative else 1),
                       outline=edge or st["color"], outline_mm=px_to_mm(st.get("width", 1.0)),
                       outline_dash=INDICATIVE["dash"] if indicative else st.get("dash"))


def _by_quality(kind_expr: str, kinds: dict, labels: dict) -> ET.Element:
    """Categories ``kind/quality``: each kind (a :mod:`.style` entry) surveyed and indicative."""
    cats = []
    for kind, st in kinds.items():
        for q in ("surveyed", "indicative"):
            tag = "" if q == "surveyed" else " (示意 indicative)"
            cats.append((f"{kind}/{q}", labels[kind] + tag, _fill(st, indicative=q == "indicative")))
    return categorized_renderer(f"{kind_expr} || '/' || coalesce(\"geometry_quality\", 'indicative')", cats)


def _corridor_renderer(mode_expr: str | None = None) -> ET.Element:
    """Colour and width by class, dash by status, ties on operating rail, translucent when indicative."""
    from .style import CORRIDOR, INDICATIVE, NETWORK_LINKS, STATUS_LABELS, class_label, corridor_style

    cats = []
    for cls in CORRIDOR:
        for status in STATUS_LABELS:
            s = corridor_style(cls, status)
            for q in ("surveyed", "indicative"):
                label = class_label(cls) + ("" if status == "operating" else f" ({STATUS_LABELS[status]})") + \
                    ("" if q == "surveyed" else " (示意 indicative)")
                cats.append((f"{cls}/{status}/{q}", label, line_symbol(
                    s["color"], px_to_mm(s["width"]), dash=s["dash"], ties=s["ties"],
                    opacity=INDICATIVE["line_opacity"] if q == "indicative" else 1.0)))
    expr = "\"class\" || '/' || coalesce(\"status\", 'operating') || '/' || coalesce(\"geometry_quality\", 'indicative')"
    if mode_expr:  # the network layer: links and transfers by mode, corridors by class (all operating, as routed)
        expr = "CASE WHEN \"mode\" IN ('link', 'transfer') THEN \"mode\" ELSE \"class\" || '/operating/surveyed' END"
        cats = [c for c in cats if c[0].endswith("/operating/surveyed")]
        cats += [(k, {"link": "接入连线 link to the network", "transfer": "上下车 boarding (transfer time)"}[k],
                  line_symbol(v["color"], px_to_mm(v["width"]), dash=v["dash"])) for k, v in NETWORK_LINKS.items()]
    return categorized_renderer(expr, cats, other=line_symbol("#999999", 0.3))


def _admin_style(layer: str, values) -> VectorStyle:
    from .style import DATA

    d = DATA
    if layer == "boundaries":
        r = categorized_renderer("level", [
            ("prefecture", "地级市界 Prefecture", fill_symbol(None, outline=d["prefecture"]["color"],
                                                         outline_mm=px_to_mm(d["prefecture"]["width"]))),
            ("county", "旗县区界 County", fill_symbol(None, outline=d["county"]["color"], outline_mm=px_to_mm(d["county"]["width"])))])
        return VectorStyle(r, labeling("name_zh", geometry="polygon", size_pt=8, color="#444444"))
    cc, cs = d["city_core"], d["county_seat"]
    r = categorized_renderer("kind", [
        ("city_core", "中心城区 City core", marker_symbol(cc["color"], px_to_mm(2 * cc["radius"]), outline="#FFFFFF")),
        ("county_seat", "旗县驻地 County seat", marker_symbol(cs["color"], px_to_mm(2 * cs["radius"]), outline=cs["edge"],
                                                          outline_mm=0.3))],
        other=marker_symbol("#7F7F7F", 1.4, outline="#FFFFFF", outline_mm=0.1))
    return VectorStyle(r, labeling(_PLACE_LABEL, geometry="point", size_pt=8, expression=True, priority=8))


#: Cores are labelled as on the web maps ("赤峰中心城区"), seats by name, facilities not at all.
_CORE_LABEL = "replace(\"name_zh\", '市', '') || '中心城区'"
_PLACE_LABEL = (f"CASE WHEN \"kind\" = 'city_core' THEN {_CORE_LABEL} WHEN \"kind\" = 'county_seat' THEN \"name_zh\" END")


def _transport_style(layer: str, values) -> VectorStyle:
    from .style import DATA

    if layer == "corridors":
        return VectorStyle(_corridor_renderer(), labeling("name_zh", geometry="line", size_pt=7, color="#333333", priority=3))
    if layer.startswith("network") and not layer.endswith("_nodes"):
        return VectorStyle(_corridor_renderer("mode"))
    if layer.endswith("_nodes"):
        return VectorStyle(single_renderer(marker_symbol("#555555", 0.8, outline="#FFFFFF", outline_mm=0.05)))
    d = DATA
    r = categorized_renderer("kind", [
        ("hsr_station", "高铁站 HSR station", marker_symbol(d["hsr_station"]["color"], px_to_mm(2 * d["hsr_station"]["radius"]))),
        ("rail_station", "普速站 Railway station", marker_symbol(d["rail_station"]["color"], px_to_mm(2 * d["rail_station"]["radius"]),
                                                             outline="#FFFFFF")),
        ("airport", "机场 Airport", marker_symbol(d["airport"]["color"], px_to_mm(2 * d["airport"]["radius"]), shape="square",
                                                outline="#FFFFFF")),
        ("interchange", "互通 Interchange", marker_symbol("#0072B2", 1.6, shape="diamond", outline="#FFFFFF"))],
        other=marker_symbol("#7F7F7F", 1.4))
    return VectorStyle(r, labeling("CASE WHEN \"kind\" <> 'interchange' THEN \"name_zh\" END", geometry="point", size_pt=7,
                                   expression=True, priority=4))


def _eco_style(layer: str, values) -> VectorStyle:
    from .style import ANALYSIS, CONTROL_LINES, DATA, INDICATIVE

    if layer == "eco_zones":
        return VectorStyle(_by_quality("\"kind\"", {"nature_reserve": DATA["nature_reserve"], "sandy_land": DATA["sandy_land"]},
                                       {"nature_reserve": "自然保护区 Nature reserve", "sandy_land": "科尔沁沙地 Sandy land"}),
                           labeling("CASE WHEN \"kind\" = 'nature_reserve' THEN \"name_zh\" END", geometry="polygon",
                                    size_pt=7, color="#00694c", expression=True, priority=2))
    if layer == "rivers":
        st = DATA["river"]
        r = categorized_renderer("coalesce(\"geometry_quality\", 'indicative')", [
            ("surveyed", "河流 River", line_symbol(st["color"], px_to_mm(st["width"]))),
            ("indicative", "河流 River (示意 indicative)", line_symbol(st["color"], px_to_mm(st["width"]),
                                                                     opacity=INDICATIVE["line_opacity"]))])
        return VectorStyle(r, labeling("name_zh", geometry="line", size_pt=7, color="#1f6f9c", priority=2))
    if layer == "eco_buffers":
        return VectorStyle(single_renderer(_fill(ANALYSIS["buffer"])))
    st = CONTROL_LINES[layer]
    return VectorStyle(single_renderer(_fill(st)))


def _analysis_style(layer: str, values) -> VectorStyle:
    from .style import ANALYSIS, CHANGE_COLORS, CHANGE_LABELS, DATA, LINKAGE

    if layer == "connectors":
        st = ANALYSIS["connector"]
        return VectorStyle(single_renderer(line_symbol(st["color"], px_to_mm(st["width"]), dash=st["dash"])),
                           labeling("format_number(\"distance_km\", 1) || ' km'", geometry="line", size_pt=7,
                                    color="#3f2870", expression=True, priority=6))
    if layer == "park_eco_overlaps":
        return VectorStyle(single_renderer(_fill(ANALYSIS["conflict"], edge="#000000")))
    if layer == "corridor_eco_stretches":
        st = ANALYSIS["conflict"]
        return VectorStyle(single_renderer(line_symbol(st["color"], px_to_mm(st["width"]), opacity=0.8)))
    if layer == "county_borders":
        r = categorized_renderer("CASE WHEN \"same_city\" THEN 'within' ELSE 'cross' END", [
            ("cross", "市界段 Border between the two cities", line_symbol(LINKAGE["cross_city"], px_to_mm(4))),
            ("within", "市内县界 Border within a city", line_symbol(DATA["county"]["color"], px_to_mm(1)))])
        return VectorStyle(r)
    if layer.startswith("isochrones"):
        st = ANALYSIS["isochrone"]
        cats = [(f"{m:g}", f"等时圈 Isochrone {m:g} min", fill_symbol(None, outline=st["color"], outline_dash=st["dash"],
                 outline_mm=px_to_mm(st["width"] if m in (60, 120) else st["width"] * 0.6)))
                for m in sorted({float(v) for v in values("minutes")})]
        return VectorStyle(categorized_renderer("minutes", cats, other=fill_symbol(None, outline=st["color"], outline_mm=0.3)))
    if layer == "county_change":
        bins = [-1e300, -10, -5, -1, -0.05, 1e300]
        ranges = [(bins[i], bins[i + 1], CHANGE_LABELS[i], fill_symbol(CHANGE_COLORS[i], fill_opacity=0.8, outline="#444444",
                                                                       outline_mm=0.2)) for i in range(len(CHANGE_COLORS))]
        return VectorStyle(graduated_renderer("mean_min_change", ranges),
                           labeling("\"name_zh\" || '\\n' || format_number(\"mean_min_change\", 1) || ' min'",
                                    geometry="polygon", size_pt=7, expression=True))
    return _planning_style(layer, values)


def _planning_style(layer: str, values) -> VectorStyle:
    import numpy as np

    from .style import LINKAGE, SEARCHED, SITE, SUITABILITY

    if layer == "suitability_classes":
        return VectorStyle(categorized_renderer("class_code", [
            (code, label, fill_symbol(color, fill_opacity=0.85, outline=color, outline_mm=0.1))
            for code, (color, label) in SUITABILITY.items()]))
    if layer == "sites":
        return VectorStyle(single_renderer(fill_symbol(SITE["color"], fill_opacity=SITE["fill"], outline="#000000",
                                                       outline_mm=px_to_mm(SITE["width"]))),
                           labeling("'#' || \"site_rank\" || ' ' || format_number(\"score\", 3)", geometry="polygon",
                                    size_pt=8, bold=True, color="#3f2870", expression=True, priority=10, always=True))
    if layer == "site_counties":
        return VectorStyle(single_renderer(fill_symbol(None, outline=SEARCHED["color"], outline_mm=px_to_mm(SEARCHED["width"]),
                                                       outline_dash=SEARCHED["dash"])))
    if layer == "linkage_flows":
        both = [float(v) for c in ("strength", "strength_scenario") for v in values(c)]
        ref = max(both) if both and np.isfinite(max(both)) and max(both) > 0 else 1.0
        lo, hi = LINKAGE["min_width"], LINKAGE["max_width"]
        width = f"({lo:g} + {hi - lo:g} * sqrt(min(1, coalesce(\"strength\", 0) / {ref:.10g}))) * {25.4 / 96:.6f}"
        return VectorStyle(categorized_renderer("CASE WHEN \"cross_city\" THEN 'cross' ELSE 'within' END", [
            ("cross", "跨市 cross-city pair", line_symbol(LINKAGE["cross_city"], 1.0, width_expression=width, opacity=0.8)),
            ("within", "市内 pair within a city", line_symbol(LINKAGE["within_city"], 1.0, width_expression=width, opacity=0.8))]))
    return None


def _industry_style(layer: str, values) -> VectorStyle:
    from .style import DATA

    return VectorStyle(_by_quality("'park'", {"park": DATA["park"]}, {"park": "产业园区 Industrial park"}),
                       labeling("name_zh", geometry="polygon", size_pt=7, color="#5a3306", priority=7))


_STYLERS = {"boundaries": _admin_style, "places": _admin_style, "parks": _industry_style, "corridors": _transport_style,
            "nodes": _transport_style, "network": _transport_style, "network_scenario": _transport_style,
            "network_nodes": _transport_style, "network_scenario_nodes": _transport_style,
            "eco_zones": _eco_style, "rivers": _eco_style, "eco_buffers": _eco_style, "eco_redline": _eco_style,
            "farmland": _eco_style, "urban_boundary": _eco_style}


def _fallback(geometry_type: str) -> VectorStyle:
    """A plain grey style for a layer the catalogue does not know (never QGIS's random colour)."""
    g = geometry_type.lower()
    if "point" in g:
        return VectorStyle(single_renderer(marker_symbol("#555555", 1.6, outline="#FFFFFF")))
    if "line" in g:
        return VectorStyle(single_renderer(line_symbol("#555555", 0.4)))
    return VectorStyle(single_renderer(fill_symbol("#888888", fill_opacity=0.3, outline="#444444")))


def vector_style(gpkg, layer: str, geometry_type: str = "Polygon") -> VectorStyle:
    """The style of a run layer, generated from :mod:`.style` (a grey fallback for unknown layers).

    Parameters
    ----------
    gpkg : path-like
        The GeoPackage holding the layer (some styles read its values: isochrone minutes, linkage strengths).
    layer : str
    geometry_type : str
        OGR geometry type, for the fallback.

    Returns
    -------
    VectorStyle
    """
    def values(col):
        return _values(gpkg, layer, col)

    styler = _STYLERS.get(layer, _analysis_style)
    st = styler(layer, values)
    return st if st is not None else _fallback(geometry_type)


def _time_items():
    from .style import TIME_CLASSES, TIME_RAMP, time_class_labels

    bounds = list(TIME_CLASSES) + [float("inf")]
    return [(b, c, f"到达时间 {lab}") for b, c, lab in zip(bounds, TIME_RAMP, time_class_labels())]


def raster_style(rel: str) -> ET.Element | None:
    """The raster renderer of a run GeoTIFF (relative path), None for an unknown raster.

    Travel times: the gallery's classes (DISCRETE, 80 % opaque); suitability classes: paletted with their
    names; the suitability score: a ramp from unsuitable to suitable; the DEM: an elevation ramp.

    Parameters
    ----------
    rel : str
        Path of the GeoTIFF relative to the run folder.

    Returns
    -------
    xml.etree.ElementTree.Element or None
        The renderer.
    """
    from .style import DEM_RAMP, SUITABILITY

    name = Path(rel).name
    if name.endswith("time_to_cores.tif") or name == "time_to_hsr_stations.tif":
        return pseudocolor_renderer(_time_items(), ramp="DISCRETE", opacity=0.8)
    if name == "suitability_classes.tif":
        return paletted_renderer([(c, col, lab) for c, (col, lab) in SUITABILITY.items()], opacity=0.85)
    if name == "suitability_score.tif":
        cols = [SUITABILITY[c][0] for c in sorted(SUITABILITY)]
        return pseudocolor_renderer([(1, cols[0], "1 不适宜"), (3, cols[1], "3"), (5, cols[2], "5 适宜")], ramp="INTERPOLATED",
                                    opacity=0.85)
    if name == "twinstar_dem.tif":
        return pseudocolor_renderer([(v, c, f"{v:g} m") for v, c in DEM_RAMP], ramp="INTERPOLATED")
    return None


# ---------------------------------------------------------------------------------------------- the project
@dataclass
class ProjectLayer:
    """One layer of the project: where it comes from, which group, on or off, how it is drawn (``z``: higher on top)."""

    key: str
    name: str
    rel: str
    group: str
    z: float
    layer: str | None = None
    subset: str | None = None
    checked: bool = True
    style: list = field(default_factory=list)
    geometry_type: str | None = None
    crs: dict | None = None

    @property
    def source(self) -> str:
        src = f"./{self.rel}" + (f"|layername={self.layer}" if self.layer else "")
        return src + (f"|subset={self.subset}" if self.subset else "")

    @property
    def layer_id(self) -> str:
        """Stable and longer than 10 characters (QGIS 3.22 replaces shorter ids)."""
        return f"{self.key}_{hashlib.sha1(self.source.encode('utf-8')).hexdigest()[:12]}"


def _k(kind: str) -> str:
    return f"\"kind\" = '{kind}'"


#: The project's layers, grouped like the gallery's layer list: (key, name, file, layer, subset, checked, z).
_G_ADMIN, _G_INDUSTRY, _G_TRANSPORT, _G_ECO, _G_ANALYSIS, _G_PLAN, _G_TERRAIN = (
    "行政 Administrative", "产业 Industry", "交通 Transport", "生态 Ecology", "分析 Analysis", "规划 Planning", "地形 Terrain")
_LAYOUT = [
    (_G_ADMIN, [("cores", "中心城区 City cores", "data/twinstar.gpkg", "places", _k("city_core"), True, 44),
                ("seats", "旗县驻地 County seats", "data/twinstar.gpkg", "places", _k("county_seat"), True, 43),
                ("facilities", "配套设施 Facilities", "data/twinstar.gpkg", "places",
                 "\"kind\" NOT IN ('city_core', 'county_seat')", False, 40),
                ("prefectures", "地级市 Prefectures", "data/twinstar.gpkg", "boundaries", "\"level\" = 'prefecture'", True, 26),
                ("counties", "旗县区 Counties", "data/twinstar.gpkg", "boundaries", "\"level\" = 'county'", True, 25)]),
    (_G_TRANSPORT, [("stations", "车站 Stations", "data/twinstar.gpkg", "nodes", "\"kind\" IN ('hsr_station', 'rail_station')",
                     True, 42),
                    ("airports", "机场 Airports", "data/twinstar.gpkg", "nodes", _k("airport"), True, 41),
                    ("corridors", "交通走廊 Corridors", "data/twinstar.gpkg", "corridors", None, True, 32),
                    ("network", "路网（可达性模型）Model network", "access/network.gpkg", "network", None, False, 31),
                    ("network_nodes", "路网节点 Network nodes", "access/network.gpkg", "network_nodes", None, False, 39),
                    ("network_scenario", "情景路网 Scenario network", "access/network.gpkg", "network_scenario", None, False, 30)]),
    (_G_INDUSTRY, [("parks", "产业园区 Industrial parks", "data/twinstar.gpkg", "parks", None, True, 14)]),
    (_G_ECO, [("eco_zones", "自然保护区与沙地 Reserves and sandy land", "data/twinstar.gpkg", "eco_zones", None, True, 10),
              ("rivers", "西辽河水系 Rivers", "data/twinstar.gpkg", "rivers", None, True, 29),
              ("eco_buffers", "生态缓冲区 Ecological buffers", "analysis/overlap.gpkg", "eco_buffers", None, False, 15),
              ("eco_redline", "生态保护红线 Ecological red line", "data/twinstar.gpkg", "eco_redline", None, True, 11),
              ("farmland", "永久基本农田 Permanent farmland", "data/twinstar.gpkg", "farmland", None, False, 11),
              ("urban_boundary", "城镇开发边界 Urban development boundary", "data/twinstar.gpkg", "urban_boundary", None, True, 12)]),
    (_G_ANALYSIS, [("to_hsr", "园区→最近高铁站 Park → nearest HSR station", "analysis/park_corridor_connectors.gpkg",
                    "connectors", "\"class\" = 'hsr_station'", False, 36),
                   ("to_expressway", "园区→最近高速 Park → nearest expressway", "analysis/park_corridor_connectors.gpkg",
                    "connectors", "\"class\" = 'expressway'", False, 36),
                   ("park_overlaps", "园区占用生态区 Park overlaps", "analysis/overlap.gpkg", "park_eco_overlaps", None, True, 16),
                   ("stretches", "走廊穿越段 Corridor stretches in zones", "analysis/overlap.gpkg", "corridor_eco_stretches",
                    None, False, 33),
                   ("isochrones", "等时圈 Isochrones", "access/isochrones.gpkg", "isochrones", None, True, 24),
                   ("isochrones_scenario", "情景等时圈 Isochrones (scenario)", "access/scenario.gpkg", "isochrones_scenario",
                    None, False, 23),
                   ("county_change", "县均时间变化 Change per county", "access/scenario.gpkg", "county_change", None, False, 13),
                   ("county_borders", "县界（跨市）County borders", "analysis/overlap.gpkg", "county_borders", None, False, 34),
                   ("time_to_cores", "到中心城区时间 Time to nearest core", "access/time_to_cores.tif", None, None, False, 4),
                   ("time_to_hsr", "到高铁站时间 Time to nearest HSR station", "access/time_to_hsr_stations.tif", None, None,
                    False, 3),
                   ("time_to_cores_scenario", "情景到中心城区时间 Time to core (scenario)", "access/scenario_time_to_cores.tif",
                    None, None, False, 2)]),
    (_G_PLAN, [("sites", "候选园区 Candidate sites", "planning/sites.gpkg", "sites", None, True, 18),
               ("site_counties", "搜索范围 Counties searched", "planning/sites.gpkg", "site_counties", None, False, 17),
               ("linkage", "双城联系 Linkage flows", "planning/linkage.gpkg", "linkage_flows", None, False, 35),
               ("suitability", "建设适宜性 Suitability classes", "planning/suitability_classes.tif", None, None, False, 5),
               ("suitability_score", "适宜性得分 Suitability score", "planning/suitability_score.tif", None, None, False, 5),
               ("suitability_polygons", "适宜性分区 Suitability areas", "planning/suitability.gpkg", "suitability_classes",
                None, False, 11)]),
    (_G_TERRAIN, [("hillshade", "晕渲 Hillshade", "data/twinstar_dem.tif", None, None, True, 1),
                  ("elevation", "高程 Elevation", "data/twinstar_dem.tif", None, None, True, 0)]),
]


#: Continuous rasters, resampled bilinearly when drawn.
_SMOOTH = ("twinstar_dem.tif", "suitability_score.tif")
#: Labels of project layers that differ from their GeoPackage's default style (the gallery's label classes).
_PROJECT_LABELS = {
    "prefectures": lambda: labeling("name_zh", geometry="polygon", size_pt=13, color="#000000", bold=True, priority=10),
    "cores": lambda: labeling(_CORE_LABEL, geometry="point", size_pt=9, color="#000000", bold=True, expression=True,
                              priority=9),
    "seats": lambda: None,  # the county polygons carry the name
}


def _named(crs):
    """``crs`` with a name QGIS can show (:func:`twinstar_gis.run.exports.named_crs`)."""
    from ..run.exports import named_crs

    return named_crs(crs)


def _crs_dict(crs) -> dict:
    """A ``<spatialrefsys>`` description: WKT (what QGIS reads), authority id and name when there are."""
    auth = crs.to_authority()
    return {"wkt": crs.to_wkt("WKT2_2019"), "proj4": "", "authid": ":".join(auth) if auth else "",
            "description": crs.name, "geographic": crs.is_geographic}


@functools.lru_cache(maxsize=64)
def _layer_crs(text: str) -> dict:
    """:func:`_crs_dict` of a layer's CRS text, once per distinct CRS (a run's layers share two or three;
    pyproj's authority lookup costs ~20 ms each time)."""
    return _crs_dict(_named(text))


def _spatialrefsys(parent, crs: dict) -> None:
    s = ET.SubElement(parent, "spatialrefsys")
    for tag, text in (("wkt", crs["wkt"]), ("proj4", crs["proj4"]), ("authid", crs["authid"]),
                      ("description", crs["description"]), ("geographicflag", "true" if crs["geographic"] else "false")):
        ET.SubElement(s, tag).text = text


def _aliases(gpkg: Path, layer: str) -> dict:
    """Chinese field aliases (label and unit from the field dictionary) for the layer's fields."""
    import pyogrio

    from ..run.exports import column_info

    return {f: column_info(f).header() for f in pyogrio.read_info(gpkg, layer=layer)["fields"]}


def _hillshade(dem: Path) -> ET.Element:
    """Relief of the DEM; in a geographic CRS the elevation (m) is scaled to degrees at the DEM's latitude (x3)."""
    import math

    import rasterio

    with rasterio.open(dem) as src:
        geographic = src.crs is not None and src.crs.is_geographic
        lat = (src.bounds.top + src.bounds.bottom) / 2
    z = 3.0 / (111_320 * math.cos(math.radians(lat))) if geographic else 3.0
    return hillshade_renderer(z_factor=z, opacity=0.45)


def project_layers(run_dir) -> list:
    """The :class:`ProjectLayer` list of a run folder: every layer of the layout the run has, styled.

    Parameters
    ----------
    run_dir : path-like

    Returns
    -------
    list of ProjectLayer
        In the order of the layer tree.
    """
    import pyogrio
    import rasterio

    root = Path(run_dir)
    listed = {}
    out = []
    for group, items in _LAYOUT:
        for key, name, rel, layer, subset, checked, z in items:
            p = root / rel
            if not p.is_file():
                continue
            pl = ProjectLayer(key=key, name=name, rel=rel, group=group, z=z, layer=layer, subset=subset, checked=checked)
            if layer is not None:
                if p not in listed:
                    listed[p] = {str(n): str(g) for n, g in pyogrio.list_layers(p)}
                if layer not in listed[p]:
                    continue
                st = vector_style(p, layer, listed[p][layer])
                if key in _PROJECT_LABELS:
                    st.labels = _PROJECT_LABELS[key]()
                pl.geometry_type = listed[p][layer]
                pl.style = _vector_children(st.renderer, st.labels, _aliases(p, layer), st.opacity)
                pl.crs = _layer_crs(pyogrio.read_info(p, layer=layer)["crs"] or "EPSG:4326")
            else:
                renderer = _hillshade(p) if key == "hillshade" else raster_style(rel)
                if renderer is None:
                    continue
                if key == "elevation":
                    renderer.set("opacity", "0.45")  # a tint under the relief shading
                pl.style = _raster_children(renderer, smooth=p.name in _SMOOTH)
                with rasterio.open(p) as src:
                    pl.crs = _layer_crs(src.crs.to_wkt())
            out.append(pl)
    return out


_GEOMETRY = {"point": "Point", "line": "Line", "polygon": "Polygon"}


def _maplayer(pl: ProjectLayer) -> ET.Element:
    vector = pl.layer is not None
    attrs = {"type": "vector" if vector else "raster", "styleCategories": "AllStyleCategories",
             "hasScaleBasedVisibilityFlag": "0", "minScale": "100000000", "maxScale": "0"}
    if vector:
        g = next((v for k, v in _GEOMETRY.items() if k in (pl.geometry_type or "").lower()), "Unknown")
        attrs.update(geometry=g, wkbType=pl.geometry_type or "Unknown", readOnly="0",
                     labelsEnabled="1" if any(e.tag == "labeling" for e in pl.style) else "0")
    ml = ET.Element("maplayer", attrs)
    ET.SubElement(ml, "id").text = pl.layer_id
    ET.SubElement(ml, "datasource").text = pl.source
    ET.SubElement(ml, "layername").text = pl.name
    _spatialrefsys(ET.SubElement(ml, "srs"), pl.crs)
    prov = ET.SubElement(ml, "provider")
    prov.text = "ogr" if vector else "gdal"
    if vector:
        prov.set("encoding", "UTF-8")
    else:
        ET.SubElement(ET.SubElement(ml, "noData"), "noDataList", bandNo="1", useSrcNoData="1")
    ml.extend(pl.style)
    return ml


def _extent(parent, tag: str, ext) -> None:
    e = ET.SubElement(parent, tag)
    for k, v in zip(("xmin", "ymin", "xmax", "ymax"), ext):
        ET.SubElement(e, k).text = repr(float(v))


def _tree(root, layers: list) -> None:
    """Groups in the gallery's order; the drawing order (``custom-order``) by ``z``: rasters under fills
    under lines under points, whatever the group."""
    tg = ET.SubElement(root, "layer-tree-group")
    for group in dict.fromkeys(pl.group for pl in layers):
        members = [pl for pl in layers if pl.group == group]
        g = ET.SubElement(tg, "layer-tree-group", name=group, expanded="1",
                          checked="Qt::Checked" if any(pl.checked for pl in members) else "Qt::Unchecked")
        for pl in members:
            ET.SubElement(g, "layer-tree-layer", id=pl.layer_id, name=pl.name, source=pl.source,
                          providerKey="ogr" if pl.layer else "gdal", checked="Qt::Checked" if pl.checked else "Qt::Unchecked",
                          expanded="0")
    order = ET.SubElement(tg, "custom-order", enabled="1")
    for pl in sorted(layers, key=lambda p: -p.z):
        ET.SubElement(order, "item").text = pl.layer_id


def project_xml(title: str, layers: list, crs: dict, extent) -> ET.Element:
    """The project document: title, CRS, layer tree and drawing order, layers, the canvas on ``extent``.

    Parameters
    ----------
    title : str
    layers : list of ProjectLayer
    crs : dict
        :func:`_crs_dict` of the project CRS.
    extent : tuple
        (xmin, ymin, xmax, ymax) in the project CRS.

    Returns
    -------
    xml.etree.ElementTree.Element
        The ``<qgis>`` root.
    """
    root = ET.Element("qgis", {"version": QGIS_VERSION, "projectname": title})
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    _spatialrefsys(ET.SubElement(root, "projectCrs"), crs)
    _tree(root, layers)
    ET.SubElement(root, "projectlayers").extend(_maplayer(pl) for pl in layers)
    lo = ET.SubElement(root, "layerorder")
    for pl in sorted(layers, key=lambda p: -p.z):
        ET.SubElement(lo, "layer", id=pl.layer_id)
    mc = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(mc, "units").text = "degrees" if crs["geographic"] else "meters"
    _extent(mc, "extent", extent)
    ET.SubElement(mc, "rotation").text = "0"
    _spatialrefsys(ET.SubElement(mc, "destinationsrs"), crs)
    pvs = ET.SubElement(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
    dve = ET.SubElement(pvs, "DefaultViewExtent", **{k: repr(float(v)) for k, v in zip(("xmin", "ymin", "xmax", "ymax"), extent)})
    _spatialrefsys(dve, crs)
    props = ET.SubElement(root, "properties")
    ET.SubElement(ET.SubElement(props, "Paths"), "Absolute", type="bool").text = "false"
    ET.SubElement(ET.SubElement(props, "SpatialRefSys"), "ProjectionsEnabled", type="int").text = "1"
    ET.SubElement(ET.SubElement(props, "Measure"), "Ellipsoid", type="QString").text = "EPSG:7030"
    return root


def _study_extent(run_dir, crs) -> tuple:
    """The study area (the run's boundaries) in ``crs``, with a 3 % margin."""
    import geopandas as gpd
    import pyogrio

    b = gpd.GeoDataFrame(pyogrio.read_dataframe(Path(run_dir) / "data" / "twinstar.gpkg", layer="boundaries",
                                                columns=["level"])).to_crs(crs)
    x0, y0, x1, y1 = b.total_bounds
    pad = 0.03 * max(x1 - x0, y1 - y0)
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def write_project(run_dir, *, manifest: dict | None = None, path=None) -> Path:
    """Write ``run.qgz`` (a zip holding ``run.qgs``): the run's layers, grouped, styled, labelled, relative paths.

    Parameters
    ----------
    run_dir : path-like
        The run folder.
    manifest : dict, optional
        The run's manifest (for the title: project name, start time).
    path : path-like, optional
        Default ``run_dir/run.qgz``; a ``.qgs`` suffix writes the plain XML.

    Returns
    -------
    pathlib.Path
    """
    from ..data.crs import EQUAL_AREA_CRS

    root = Path(run_dir)
    manifest = manifest or {}
    proj = manifest.get("project")
    title = "赤峰–通辽 双子星座 Twin Star run" + (f" · {proj['name']}" if proj else "") + \
        (f" · {manifest['started']}" if manifest.get("started") else "")
    crs = _named(EQUAL_AREA_CRS)
    layers = project_layers(root)
    doc = _document(project_xml(title, layers, _crs_dict(crs), _study_extent(root, crs)))
    path = Path(path) if path else root / PROJECT
    with atomic_output(path) as tmp:
        if path.suffix == ".qgs":
            tmp.write_text(doc, encoding="utf-8")
        else:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr(path.stem + ".qgs", doc)
    log.info("wrote %s (%d layers)", path, len(layers))
    return path


def _run_gpkgs(root: Path) -> list:
    return sorted(p for p in root.glob("*/*.gpkg") if not p.parent.name.startswith("export"))


def write_styles(run_dir) -> list[Path]:
    """Default styles of every vector layer of the run's GeoPackages, and ``<stem>.qml`` beside every GeoTIFF.

    Returns
    -------
    list of pathlib.Path
        The GeoPackages changed and the ``.qml`` files written.

    Parameters
    ----------
    run_dir : path-like
        The run folder (staged: the GeoPackages change).

    Returns
    -------
    list of pathlib.Path
        The GeoPackages changed and the ``.qml`` files written.
    """
    import pyogrio

    root = Path(run_dir)
    changed = []
    for gpkg in _run_gpkgs(root):
        for layer, gtype in pyogrio.list_layers(gpkg):
            if gtype is None or layer == "layer_styles":
                continue
            st = vector_style(gpkg, str(layer), str(gtype))
            write_layer_style(gpkg, str(layer), vector_qml(st.renderer, labels=st.labels, aliases=_aliases(gpkg, str(layer)),
                                                           opacity=st.opacity), description="twinstar_gis default style")
        changed.append(gpkg)
    for tif in sorted(root.glob("*/*.tif")):
        renderer = raster_style(tif.relative_to(root).as_posix())
        if renderer is None:
            continue
        with atomic_output(tif.with_suffix(".qml")) as tmp:
            tmp.write_text(raster_qml(renderer, smooth=tif.name in _SMOOTH), encoding="utf-8")
        changed.append(tif.with_suffix(".qml"))
    return changed


def write_qgis(run_dir, *, manifest: dict | None = None) -> list[Path]:
    """Style every layer of a run for QGIS and write its project (see the module docstring).

    Call before ``run.json`` is written: the GeoPackages change.

    Parameters
    ----------
    run_dir : path-like
        The run folder.
    manifest : dict, optional
        The run's manifest while it is staged (the project's title).

    Returns
    -------
    list of pathlib.Path
        GeoPackages styled, ``.qml`` files and ``run.qgz``.
    """
    written = write_styles(run_dir)
    written.append(write_project(run_dir, manifest=manifest))
    return written


def style_exported(records) -> list[Path]:
    """Styles for the layers of ``twinstar export`` (:func:`twinstar_gis.run.exports.export_run`): the default
    style in each exported GeoPackage, a ``.qml`` beside each Shapefile (its fields renamed as in
    ``fields.csv``).  Returns the files written or changed.

    Parameters
    ----------
    records : list of twinstar_gis.run.exports.ExportedLayer

    Returns
    -------
    list of pathlib.Path
        The files written or changed.
    """
    import re

    out = []
    for r in records:
        if r.layer is not None:  # a GeoPackage: the run layer's style, as its default style
            st = vector_style(r.path, r.layer, r.geometry_type)
            write_layer_style(r.path, r.layer, vector_qml(st.renderer, labels=st.labels,
                                                          aliases=_aliases(r.path, r.layer), opacity=st.opacity))
            out.append(r.path)
            continue
        st = _style_of_source(r)
        qml = vector_qml(st.renderer, labels=st.labels, opacity=st.opacity,
                         aliases={short: _label(col) for col, short in r.fields.items()})
        for col, short in sorted(r.fields.items(), key=lambda kv: -len(kv[0])):  # fields renamed in the Shapefile
            if short != col:
                qml = re.sub(rf'(?<![A-Za-z0-9_]){re.escape(col)}(?![A-Za-z0-9_])', short, qml)
        target = r.path.with_suffix(".qml")
        with atomic_output(target) as tmp:
            tmp.write_text(qml, encoding="utf-8")
        out.append(target)
    return sorted(set(out))


def _label(col: str) -> str:
    from ..run.exports import column_info

    return column_info(col).header()


def _style_of_source(r) -> VectorStyle:
    """The style of the run layer an exported Shapefile came from (values read from the Shapefile itself)."""
    def values(col):
        short = r.fields.get(col, col)
        return _values(r.path, r.path.stem, short)

    styler = _STYLERS.get(r.source_layer, _analysis_style)
    st = styler(r.source_layer, values)
    return st if st is not None else _fallback(r.geometry_type)
