"""Our own small Leaflet controls (JS/CSS written for this project, no copied plugin).

* a side panel (title, headline figures, layer switcher, grouped legend, notes):
  collapsible, sized to the window, and the map is fitted beside it so it never
  hides the study area;
* labels by zoom level with collision handling (higher-priority classes first;
  a label that would overlap one already placed is hidden), Chinese with the
  English name on hover, and a 中/EN switch;
* measure (ellipsoidal WGS-84, Vincenty) and fullscreen buttons;
* :class:`SyncMaps`: two maps side by side that move together (scenario view).
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

from branca.element import Element, MacroElement
from jinja2 import Template

__all__ = ["Controls", "SyncMaps", "CSS", "css_element", "safe_html", "script_json", "safe_legend"]

# --------------------------------------------------------------------------
# Escaping: nothing a data file says is ever run
# --------------------------------------------------------------------------

#: Formatting the panel, headline, banner, notes and legend may use; every other tag is shown as text.
_TAGS = {"b", "i", "em", "strong", "br", "small", "sup", "sub", "span", "div", "p", "table", "thead", "tbody", "tr",
         "th", "td", "ul", "ol", "li", "code", "hr", "svg", "line", "rect", "circle", "path", "g", "polyline", "polygon"}
_VOID = {"br", "hr"}
#: Attributes those tags may carry (presentation only: no event handlers, no URLs).
_ATTRS = {"class", "style", "title", "colspan", "rowspan", "width", "height", "x", "y", "x1", "y1", "x2", "y2", "cx",
          "cy", "r", "rx", "ry", "d", "points", "fill", "stroke", "stroke-width", "stroke-dasharray", "stroke-opacity",
          "fill-opacity", "stroke-linecap", "viewbox", "opacity", "transform"}
_BAD_STYLE = re.compile(r"url\s*\(|expression|javascript:|@import|\\|<", re.IGNORECASE)


class _Sanitiser(HTMLParser):
    """Re-emit HTML keeping only :data:`_TAGS` with :data:`_ATTRS`; everything else becomes visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.out, self.open = [], []

    def _attrs(self, attrs) -> str:
        keep = []
        for k, v in attrs:
            k = k.lower()
            if k not in _ATTRS or (k == "style" and _BAD_STYLE.search(v or "")):
                continue
            keep.append(f' {"viewBox" if k == "viewbox" else k}="{html.escape(v or "", quote=True)}"')
        return "".join(keep)

    def handle_starttag(self, tag, attrs):
        if tag in _TAGS:
            self.out.append(f"<{tag}{self._attrs(attrs)}>")
            if tag not in _VOID:
                self.open.append(tag)
        else:
            self.out.append(html.escape(self.get_starttag_text() or f"<{tag}>"))

    def handle_startendtag(self, tag, attrs):
        if tag in _TAGS:
            self.out.append(f"<{tag}{self._attrs(attrs)}/>")
        else:
            self.out.append(html.escape(self.get_starttag_text() or f"<{tag}/>"))

    def handle_endtag(self, tag):
        if tag in _TAGS and tag in self.open:
            while self.open:
                t = self.open.pop()
                self.out.append(f"</{t}>")
                if t == tag:
                    break
        elif tag not in _VOID:
            self.out.append(html.escape(f"</{tag}>"))

    def handle_data(self, data):
        self.out.append(html.escape(data, quote=False))

    def handle_entityref(self, name):
        self.out.append(f"&{name};" if re.fullmatch(r"[A-Za-z][A-Za-z0-9]{1,31}", name) else html.escape(f"&{name};"))

    def handle_charref(self, name):
        self.out.append(f"&#{name};" if re.fullmatch(r"x[0-9A-Fa-f]{1,6}|[0-9]{1,7}", name) else html.escape(f"&#{name};"))

    def handle_comment(self, data):
        pass

    def handle_decl(self, decl):
        pass

    def handle_pi(self, data):
        pass

    def unknown_decl(self, data):
        pass


def safe_html(text) -> str:
    """HTML for the panel, headline, banner, notes and legend: our formatting kept, everything else text.

    Tags in a small presentation whitelist (``b``, ``br``, ``span``, ``table``, ``svg`` ...) keep their
    presentation attributes; event handlers, URLs, scripts, styles with ``url()``, comments and any
    other tag are dropped or shown literally.  Call sites escape the data text they embed
    (``html.escape``); this is the central net for any that do not.

    Parameters
    ----------
    text : str or None

    Returns
    -------
    str

    Examples
    --------
    >>> safe_html("Top site: <b>赤峰</b><img src=x onerror=alert(1)>")
    'Top site: <b>赤峰</b>&lt;img src=x onerror=alert(1)&gt;'
    >>> safe_html('</script><script>alert(1)</script>')
    '&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> safe_html('<span style="color:red" onclick="x()">a</span>')
    '<span style="color:red">a</span>'
    """
    if text is None:
        return ""
    p = _Sanitiser()
    p.feed(str(text))
    p.close()
    if p.rawdata:  # an unfinished tag at the very end: text
        p.out.append(html.escape(p.rawdata))
    return "".join(p.out + [f"</{t}>" for t in reversed(p.open)])


def script_json(value) -> str:
    """JSON to put inside ``<script>``: ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, so no text ends the script.

    Parameters
    ----------
    value : JSON-serialisable

    Returns
    -------
    str

    Examples
    --------
    >>> print(script_json({"t": "</script><!--"}))
    {"t": "\\u003c/script\\u003e\\u003c!--"}
    """
    text = json.dumps(value, ensure_ascii=False)
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(a, b)
    return text


_COLOUR = re.compile(r"#[0-9A-Fa-f]{3,8}|[a-zA-Z]{3,20}|rgba?\([0-9., %]+\)")
_DASH = re.compile(r"[0-9., ]*")


def _colour(v, default="#888888"):
    return v if isinstance(v, str) and _COLOUR.fullmatch(v) else default


def _number(v, default=None):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return default
    return f if f == f and abs(f) < 1e6 else default


def safe_legend(legend: list) -> list:
    """The legend with every text sanitised (:func:`safe_html`) and every style value checked.

    Colours must look like colours, dashes like dash patterns, widths and opacities like numbers;
    anything else is replaced by a neutral default.

    Parameters
    ----------
    legend : list of dict
        Blocks ``{"layer", "group", "title", "items"}``.

    Returns
    -------
    list of dict
    """
    out = []
    for block in legend or []:
        items = []
        for it in block.get("items") or []:
            item = {"kind": it.get("kind") if it.get("kind") in ("line", "dot", "fill", "ramp") else "fill",
                    "label": safe_html(it.get("label", "")), "color": _colour(it.get("color")),
                    "edge": _colour(it.get("edge"), None) if it.get("edge") else None,
                    "dash": it.get("dash") if isinstance(it.get("dash"), str) and _DASH.fullmatch(it.get("dash")) else None,
                    "colors": [_colour(c) for c in it.get("colors") or []]}
            for k in ("width", "fill", "opacity"):
                item[k] = _number(it.get(k))
            for k in ("ties", "ends"):
                item[k] = bool(it.get(k))
            items.append(item)
        out.append({"layer": str(block.get("layer", "")), "group": str(block.get("group") or ""),
                    "title": safe_html(block.get("title", "")), "items": items})
    return out

CSS = """
.ts-panel{background:rgba(255,255,255,.95);border-radius:4px;box-shadow:0 1px 5px rgba(0,0,0,.4);width:270px;
 font:12px/1.35 "Helvetica Neue",Arial,"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;color:#222;
 display:flex;flex-direction:column;overflow:hidden}
.ts-panel.ts-collapsed{width:auto}
.ts-panel.ts-collapsed .ts-body,.ts-panel.ts-collapsed .ts-ptitle{display:none}
.ts-head{display:flex;align-items:center;gap:4px;padding:4px 6px;border-bottom:1px solid #ddd}
.ts-ptitle{flex:1;font-weight:bold;font-size:13px}
.ts-head button{border:1px solid #999;background:#fff;border-radius:3px;cursor:pointer;font:bold 12px Arial;padding:2px 6px}
.ts-body{overflow:auto;padding:4px 8px 6px}
.ts-headline{background:#f2f0f7;border-left:4px solid #5E3C99;padding:4px 6px;margin:4px 0;font-size:13px}
.ts-headline b{font-size:15px}
.ts-panel .leaflet-control-layers{box-shadow:none;border:0;background:transparent;margin:0!important;padding:0;float:none!important;clear:none;
 position:static!important;font-size:12px}
.ts-panel .leaflet-control-layers-separator{margin:3px 0}
.ts-panel .leaflet-control-layers-overlays label{margin:1px 0}
.ts-sec{font-weight:bold;margin:6px 0 2px;font-size:12px;color:#444}
.ts-group{font-weight:bold;margin:5px 0 2px;border-top:1px solid #ddd;padding-top:3px}
.ts-legend .ts-item{display:flex;align-items:center;margin:2px 0}
.ts-legend .ts-sw{flex:0 0 28px;height:12px;margin-right:6px;border-radius:2px}
.ts-legend svg{flex:0 0 28px;margin-right:6px}
.ts-legend .ts-ramp{height:10px;flex:1 1 120px}
.ts-note{color:#444;font-size:11px;margin-top:6px;border-top:1px solid #ddd;padding-top:4px}
.ts-btn{display:block;width:30px;height:30px;line-height:30px;text-align:center;background:#fff;color:#222;
 font:bold 15px Arial;cursor:pointer;border-bottom:1px solid #ccc;text-decoration:none}
.ts-btn.ts-on{background:#0072B2;color:#fff}
.ts-measure-label{background:#fff;border:1px solid #0072B2;padding:1px 4px;font:11px Arial;white-space:nowrap}
.leaflet-container.ts-measuring{cursor:crosshair}
.ts-lbl{background:none;border:0;pointer-events:none}
.ts-lbl span{display:inline-block;white-space:nowrap;transform:translate(-50%,-50%);pointer-events:auto;
 font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC","Heiti SC",Arial,sans-serif;
 text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff,0 0 3px #fff;color:#222;font-size:11px;line-height:1.2}
.ts-lbl.ts-pt span{transform:translate(7px,-50%)}
.ts-lbl-prefecture span{font-size:17px;font-weight:bold;letter-spacing:2px;color:#000}
.ts-lbl-core span{font-size:13px;font-weight:bold}
.ts-lbl-county span{font-size:12px;color:#333}
.ts-lbl-park span{color:#6b3d06;font-style:italic}
.ts-lbl-station span{color:#a8400a}
.ts-lbl-reserve span{color:#00694c;font-style:italic}
.ts-lbl-dist span,.ts-lbl-change span{background:#fff;border:1.5px solid #5E3C99;border-radius:3px;padding:0 3px;
 text-shadow:none;font-weight:bold;color:#3f2870}
.ts-lbl-change span{border-color:#08519c;color:#08306b}
.ts-banner{position:absolute;top:8px;left:50%;transform:translateX(-50%);z-index:1000;background:rgba(255,255,255,.95);
 border-radius:4px;box-shadow:0 1px 5px rgba(0,0,0,.4);padding:4px 10px;font:14px/1.3 "Noto Sans CJK SC","Microsoft YaHei",Arial,sans-serif;
 white-space:nowrap;pointer-events:none}
.ts-banner b{font-size:18px}
"""

_JS = Template("""
{% macro script(this, kwargs) %}
(function(){
  var map = {{ this._parent.get_name() }};
  var cfg = {{ this.config }};
  window.__ts = window.__ts || {maps: []};
  var st = {map: map, lang: 'zh', labels: [], ready: false};
  window.__ts.maps.push(st);
  var root = map.getContainer();
  function sw(it){
    var dash = it.dash ? ' stroke-dasharray="' + it.dash + '"' : '';
    if (it.kind === 'line') {
      var s = '<svg width="28" height="12"><line x1="1" y1="6" x2="27" y2="6" stroke="' + it.color + '" stroke-width="' + Math.min(it.width || 3, 5) +
              '"' + dash + ' stroke-opacity="' + (it.opacity || 1) + '"/>';
      if (it.ties) s += '<line x1="1" y1="6" x2="27" y2="6" stroke="#fff" stroke-width="' + Math.max(1, (it.width || 3) / 3) + '" stroke-dasharray="4 4"/>';
      if (it.ends) s += '<circle cx="3" cy="6" r="2.5" fill="' + it.color + '"/><circle cx="25" cy="6" r="2.5" fill="' + it.color + '"/>';
      return s + '</svg>';
    }
    if (it.kind === 'dot') return '<svg width="28" height="12"><circle cx="14" cy="6" r="5" fill="' + it.color + '" stroke="' + (it.edge || '#222') + '" stroke-width="1.2"/></svg>';
    if (it.kind === 'ramp') return '<span class="ts-sw ts-ramp" style="background:linear-gradient(to right,' + it.colors.join(',') + ')"></span>';
    return '<svg width="28" height="12"><rect x="1" y="1" width="26" height="10" fill="' + it.color + '" fill-opacity="' + (it.fill == null ? 0.6 : it.fill) +
           '" stroke="' + (it.edge || it.color) + '" stroke-width="' + (it.width || 1.2) + '"' + dash + '/></svg>';
  }
  // ---- side panel: title, headline, layers, legend by group, notes
  var panel = L.control({position: 'topright'});
  panel.onAdd = function(){
    var div = L.DomUtil.create('div', 'ts-panel');
    div.innerHTML = '<div class="ts-head"><button class="ts-collapse" title="收起/展开 Hide/show panel">&#8250;</button>' +
      '<span class="ts-ptitle">' + cfg.title + '</span><button class="ts-lang" title="标注语言 Label language">EN</button></div>' +
      '<div class="ts-body">' + (cfg.headline ? '<div class="ts-headline">' + cfg.headline + '</div>' : '') +
      '<div class="ts-sec">图例 Legend</div><div class="ts-legend"></div>' +
      '<div class="ts-sec">图层 Layers</div><div class="ts-layers"></div><div class="ts-note">' + cfg.note + '</div></div>';
    var leg = div.querySelector('.ts-legend'), last = null;
    cfg.legend.forEach(function(block){
      if (block.group && block.group !== last) { var g = L.DomUtil.create('div', 'ts-group', leg); g.textContent = block.group; last = block.group; }
      var b = L.DomUtil.create('div', 'ts-block', leg);
      b.setAttribute('data-layer', block.layer);
      var h = block.title ? '<div style="font-weight:bold;margin-top:3px">' + block.title + '</div>' : '';
      block.items.forEach(function(it){ h += '<div class="ts-item">' + sw(it) + '<span>' + it.label + '</span></div>'; });
      b.innerHTML = h;
    });
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  panel.addTo(map);
  var pdiv = panel.getContainer();
  function sizePanel(){ pdiv.querySelector('.ts-body').style.maxHeight = Math.max(120, map.getSize().y - 60) + 'px'; }
  function collapse(on){
    pdiv.classList.toggle('ts-collapsed', on);
    pdiv.querySelector('.ts-collapse').innerHTML = on ? '&#8249;' : '&#8250;';
  }
  L.DomEvent.on(pdiv.querySelector('.ts-collapse'), 'click', function(){ collapse(!pdiv.classList.contains('ts-collapsed')); });
  map.on('resize', sizePanel);
  function syncLegend(){
    pdiv.querySelectorAll('.ts-block').forEach(function(b){
      var lay = window[b.getAttribute('data-layer')];
      b.style.display = (lay && map.hasLayer(lay)) ? '' : 'none';
    });
    pdiv.querySelectorAll('.ts-legend .ts-group').forEach(function(g){
      var n = g.nextElementSibling, any = false;
      while (n && !n.classList.contains('ts-group')) { if (n.style.display !== 'none') any = true; n = n.nextElementSibling; }
      g.style.display = any ? '' : 'none';
    });
  }
  function groupControl(){
    var lc = root.querySelector('.leaflet-control-layers');
    if (!lc) return;
    pdiv.querySelector('.ts-layers').appendChild(lc);
    var last = null;
    lc.querySelectorAll('.leaflet-control-layers-overlays label').forEach(function(lab){
      var g = cfg.groups[lab.textContent.trim()];
      if (g && g !== last) { var d = document.createElement('div'); d.className = 'ts-group'; d.textContent = g; lab.parentNode.insertBefore(d, lab); last = g; }
    });
  }
  // ---- labels by zoom, with collision handling
  function placeLabels(){
    var z = map.getZoom(), placed = [];
    st.labels.forEach(function(l){
      var el = l.marker.getElement();
      if (!el) return;
      var span = el.firstChild;
      span.textContent = st.lang === 'en' && l.d.e ? l.d.e : l.d.t;
      span.title = st.lang === 'en' ? l.d.t : (l.d.e || '');
      var lay = l.d.l ? window[l.d.l] : null;
      var on = z >= l.d.z && (!lay || map.hasLayer(lay));
      el.style.display = on ? '' : 'none';
      if (!on) return;
      var r = span.getBoundingClientRect();
      var hit = placed.some(function(p){ return !(r.right + 2 < p.left || r.left - 2 > p.right || r.bottom + 1 < p.top || r.top - 1 > p.bottom); });
      if (hit) { el.style.display = 'none'; return; }
      placed.push(r);
    });
    st.placed = placed.length;
  }
  if (cfg.labelLayer) {
    var group = window[cfg.labelLayer];
    cfg.labels.sort(function(a, b){ return b.p - a.p; }).forEach(function(d){
      var m = L.marker([d.y, d.x], {interactive: false, keyboard: false,
        icon: L.divIcon({className: 'ts-lbl ts-lbl-' + d.c + (d.pt ? ' ts-pt' : ''), html: '<span></span>', iconSize: null})});
      m.addTo(group);
      st.labels.push({d: d, marker: m});
    });
  }
  map.on('zoomend moveend overlayadd overlayremove', function(){ syncLegend(); placeLabels(); });
  L.DomEvent.on(pdiv.querySelector('.ts-lang'), 'click', function(){
    st.lang = st.lang === 'zh' ? 'en' : 'zh';
    pdiv.querySelector('.ts-lang').textContent = st.lang === 'zh' ? 'EN' : '中';
    placeLabels();
  });
  // ---- ellipsoidal distance (Vincenty inverse on WGS-84), metres
  function vincenty(a, b){
    var A = 6378137, F = 1/298.257223563, B = A*(1-F), rad = Math.PI/180;
    var L1 = (b.lng - a.lng)*rad, U1 = Math.atan((1-F)*Math.tan(a.lat*rad)), U2 = Math.atan((1-F)*Math.tan(b.lat*rad));
    var sU1 = Math.sin(U1), cU1 = Math.cos(U1), sU2 = Math.sin(U2), cU2 = Math.cos(U2);
    var lam = L1, it = 0, sS, cS, sig, sA, c2A, c2m, lamP;
    do {
      var sl = Math.sin(lam), cl = Math.cos(lam);
      sS = Math.sqrt((cU2*sl)*(cU2*sl) + (cU1*sU2 - sU1*cU2*cl)*(cU1*sU2 - sU1*cU2*cl));
      if (sS === 0) return 0;
      cS = sU1*sU2 + cU1*cU2*cl; sig = Math.atan2(sS, cS);
      sA = cU1*cU2*sl/sS; c2A = 1 - sA*sA;
      c2m = c2A ? cS - 2*sU1*sU2/c2A : 0;
      var C = F/16*c2A*(4 + F*(4 - 3*c2A));
      lamP = lam; lam = L1 + (1-C)*F*sA*(sig + C*sS*(c2m + C*cS*(-1 + 2*c2m*c2m)));
    } while (Math.abs(lam - lamP) > 1e-12 && ++it < 200);
    var u2 = c2A*(A*A - B*B)/(B*B);
    var AA = 1 + u2/16384*(4096 + u2*(-768 + u2*(320 - 175*u2))), BB = u2/1024*(256 + u2*(-128 + u2*(74 - 47*u2)));
    var dS = BB*sS*(c2m + BB/4*(cS*(-1 + 2*c2m*c2m) - BB/6*c2m*(-3 + 4*sS*sS)*(-3 + 4*c2m*c2m)));
    return B*AA*(sig - dS);
  }
  window.__ts.vincenty = vincenty;
  var tools = L.control({position: 'topleft'});
  tools.onAdd = function(){
    var div = L.DomUtil.create('div', 'leaflet-bar');
    var mb = L.DomUtil.create('a', 'ts-btn ts-measure', div); mb.href = '#'; mb.title = cfg.measureTitle; mb.innerHTML = '&#8596;';
    var fb = L.DomUtil.create('a', 'ts-btn ts-fullscreen', div); fb.href = '#'; fb.title = cfg.fullscreenTitle; fb.innerHTML = '<svg width="14" height="14" viewBox="0 0 14 14" style="vertical-align:middle"><path d="M1 5V1h4M9 1h4v4M13 9v4H9M5 13H1V9" fill="none" stroke="#222" stroke-width="2"/></svg>';
    var on = false, pts = [], line = null, label = null;
    function reset(){ pts = []; if (line) map.removeLayer(line); if (label) map.removeLayer(label); line = label = null; }
    function onClick(e){
      pts.push(e.latlng);
      if (!line) line = L.polyline(pts, {color: '#0072B2', weight: 3, dashArray: '4 4'}).addTo(map); else line.setLatLngs(pts);
      var d = 0; for (var i = 1; i < pts.length; i++) d += vincenty(pts[i-1], pts[i]);
      window.__ts.lastMeasure = d;
      var txt = d < 1000 ? d.toFixed(0) + ' m' : (d/1000).toFixed(2) + ' km';
      if (label) map.removeLayer(label);
      label = L.marker(e.latlng, {icon: L.divIcon({className: 'ts-measure-label', html: txt, iconSize: null})}).addTo(map);
    }
    L.DomEvent.on(mb, 'click', function(ev){
      L.DomEvent.stop(ev); on = !on; mb.classList.toggle('ts-on', on);
      root.classList.toggle('ts-measuring', on);
      if (on) { map.on('click', onClick); map.doubleClickZoom.disable(); } else { map.off('click', onClick); map.doubleClickZoom.enable(); reset(); }
    });
    L.DomEvent.on(fb, 'click', function(ev){
      L.DomEvent.stop(ev);
      var el = cfg.fullscreenTarget ? document.body : root;
      if (document.fullscreenElement) document.exitFullscreen(); else if (el.requestFullscreen) el.requestFullscreen();
    });
    document.addEventListener('fullscreenchange', function(){ map.invalidateSize(); });
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  tools.addTo(map);
  if (cfg.banner) { var bn = L.DomUtil.create('div', 'ts-banner', root); bn.innerHTML = cfg.banner; }
  st.fit = function(){
    var right = pdiv.classList.contains('ts-collapsed') ? 50 : pdiv.offsetWidth + 20;
    map.fitBounds(cfg.bounds, {paddingTopLeft: [50, cfg.banner ? 56 : 12], paddingBottomRight: [right, 30], animate: false});
  };
  st.bounds = cfg.bounds;
  setTimeout(function(){
    groupControl();
    if (map.getSize().x < cfg.collapseBelow) collapse(true);
    sizePanel(); syncLegend();
    if (cfg.bounds) st.fit();
    placeLabels();
    st.ready = true;
    window.__ts.ready = window.__ts.maps.every(function(s){ return s.ready; });
  }, 0);
})();
{% endmacro %}
""")


class Controls(MacroElement):
    """Side panel (layers, legend, notes), labels, measure and fullscreen for one map."""

    _template = _JS

    def __init__(self, *, legend, groups, note, title="", headline="", banner="", bounds=None, labels=(), label_layer=None,
                 collapse_below: int = 700, fullscreen_page: bool = False):
        super().__init__()
        self._name = "TwinstarControls"
        # Texts that become HTML are sanitised; labels and group names are set as text in the page
        # (textContent); the whole configuration is JSON that cannot end its <script>.
        self.config = script_json({
            "legend": safe_legend(legend), "groups": {str(k): str(v) for k, v in (groups or {}).items()},
            "note": safe_html(note), "title": safe_html(title), "headline": safe_html(headline), "banner": safe_html(banner),
            "bounds": bounds, "labels": list(labels), "labelLayer": label_layer, "collapseBelow": collapse_below,
            "fullscreenTarget": fullscreen_page,
            "measureTitle": "量距 Measure distance (WGS-84 ellipsoid): click points; click again to stop",
            "fullscreenTitle": "全屏 Fullscreen",
        })


_SYNC = Template("""
{% macro script(this, kwargs) %}
(function(){
  var a = {{ this.a }}, b = {{ this.b }}, busy = false;
  function follow(src, dst){ return function(){ if (busy) return; busy = true;
    dst.setView(src.getCenter(), src.getZoom(), {animate: false}); busy = false; }; }
  a.on('move zoomend', follow(a, b));
  b.on('move zoomend', follow(b, a));
})();
{% endmacro %}
""")


class SyncMaps(MacroElement):
    """Keep two maps on one page at the same centre and zoom (before / after)."""

    _template = _SYNC

    def __init__(self, a, b):
        super().__init__()
        self._name = "TwinstarSync"
        self.a, self.b = a.get_name(), b.get_name()


def css_element() -> Element:
    """The controls' stylesheet as a page element.

    Returns
    -------
    branca.element.Element
    """
    return Element(f"<style>{CSS}</style>")
