"""Our own small Leaflet controls (JS/CSS written for this project, no copied plugin).

* legend: one entry per overlay, hidden while its layer is switched off;
* group headings in the layer control;
* measure: click points, read the ellipsoidal (WGS-84, Vincenty) length;
* fullscreen: the browser's Fullscreen API;
* a note box (title, data quality, basemap).
"""

from __future__ import annotations

import json

from branca.element import Element, MacroElement
from jinja2 import Template

__all__ = ["Controls", "CSS"]

CSS = """
.ts-box{background:rgba(255,255,255,.93);padding:6px 9px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.35);
 font:12px/1.35 "Helvetica Neue",Arial,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#222;max-width:300px}
.ts-legend{max-height:45vh;overflow:auto}
.leaflet-control-layers-expanded{max-height:62vh;overflow:auto;font-size:12px;padding:4px 8px}
.leaflet-control-layers-overlays label{margin:1px 0}
.ts-legend .ts-item{display:flex;align-items:center;margin:2px 0}
.ts-legend .ts-sw{flex:0 0 26px;height:12px;margin-right:6px;border-radius:2px}
.ts-legend .ts-line{height:0;border-top-width:3px;border-top-style:solid;margin-top:6px}
.ts-legend .ts-dot{flex:0 0 10px;width:10px;height:10px;border-radius:50%;margin:0 14px 0 2px}
.ts-legend .ts-ramp{height:10px;flex:1 1 120px}
.ts-legend h4,.ts-title h4{margin:0 0 4px;font-size:13px}
.ts-group{font-weight:bold;margin:5px 0 2px;border-top:1px solid #ddd;padding-top:3px}
.ts-btn{display:block;width:30px;height:30px;line-height:30px;text-align:center;background:#fff;color:#222;
 font:bold 15px Arial;cursor:pointer;border-bottom:1px solid #ccc;text-decoration:none}
.ts-btn.ts-on{background:#0072B2;color:#fff}
.ts-measure-label{background:#fff;border:1px solid #0072B2;padding:1px 4px;font:11px Arial;white-space:nowrap}
.leaflet-container.ts-measuring{cursor:crosshair}
"""

_JS = Template("""
{% macro script(this, kwargs) %}
(function(){
  var map = {{ this._parent.get_name() }};
  var cfg = {{ this.config }};
  window.__ts = window.__ts || {};
  // ---- legend, one block per overlay, shown only while the overlay is on
  var legend = L.control({position: 'bottomleft'});
  legend.onAdd = function(){
    var div = L.DomUtil.create('div', 'ts-box ts-legend');
    div.innerHTML = '<h4>' + cfg.legendTitle + '</h4>';
    cfg.legend.forEach(function(block){
      var b = L.DomUtil.create('div', 'ts-block', div);
      b.setAttribute('data-layer', block.layer);
      var h = block.title ? '<div style="font-weight:bold;margin-top:3px">' + block.title + '</div>' : '';
      block.items.forEach(function(it){
        var sw;
        if (it.kind === 'line') sw = '<span class="ts-sw ts-line" style="border-top-color:' + it.color + ';border-top-style:' + (it.dash ? 'dashed' : 'solid') + '"></span>';
        else if (it.kind === 'dot') sw = '<span class="ts-dot" style="background:' + it.color + ';border:1px solid #333"></span>';
        else if (it.kind === 'ramp') sw = '<span class="ts-sw ts-ramp" style="background:linear-gradient(to right,' + it.colors.join(',') + ')"></span>';
        else sw = '<span class="ts-sw" style="background:' + it.color + ';opacity:.75;border:' + (it.dash ? '1.5px dashed #333' : '1px solid #333') + '"></span>';
        h += '<div class="ts-item">' + sw + '<span>' + it.label + '</span></div>';
      });
      b.innerHTML = h;
    });
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  legend.addTo(map);
  function syncLegend(){
    var el = legend.getContainer();
    el.querySelectorAll('.ts-block').forEach(function(b){
      var lay = window[b.getAttribute('data-layer')];
      b.style.display = (lay && map.hasLayer(lay)) ? '' : 'none';
    });
  }
  map.on('overlayadd overlayremove layeradd layerremove', syncLegend);
  // ---- group headings in the layer control
  function groupControl(){
    var labels = document.querySelectorAll('.leaflet-control-layers-overlays label');
    var last = null;
    labels.forEach(function(lab){
      var name = lab.textContent.trim();
      var g = cfg.groups[name];
      if (g && g !== last) {
        var d = document.createElement('div'); d.className = 'ts-group'; d.textContent = g;
        lab.parentNode.insertBefore(d, lab);
        last = g;
      }
    });
  }
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
  // ---- measure and fullscreen buttons
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
      map.getContainer().classList.toggle('ts-measuring', on);
      if (on) { map.on('click', onClick); map.doubleClickZoom.disable(); } else { map.off('click', onClick); map.doubleClickZoom.enable(); reset(); }
    });
    L.DomEvent.on(fb, 'click', function(ev){
      L.DomEvent.stop(ev);
      var el = map.getContainer();
      if (document.fullscreenElement) document.exitFullscreen(); else if (el.requestFullscreen) el.requestFullscreen();
    });
    document.addEventListener('fullscreenchange', function(){ map.invalidateSize(); });
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  tools.addTo(map);
  // ---- title / note box
  var note = L.control({position: 'bottomright'});
  note.onAdd = function(){ var d = L.DomUtil.create('div', 'ts-box ts-title'); d.innerHTML = cfg.note; return d; };
  note.addTo(map);
  {% if this.bounds %}map.fitBounds({{ this.bounds }}, {paddingTopLeft: [10, 10], paddingBottomRight: [230, 10]});{% endif %}
  setTimeout(function(){ groupControl(); syncLegend(); window.__ts.ready = true; }, 0);
})();
{% endmacro %}
""")


class Controls(MacroElement):
    """Legend, layer groups, measure, fullscreen and note for one map."""

    _template = _JS

    def __init__(self, *, legend, groups, note, bounds=None, lang_title="图例 Legend"):
        super().__init__()
        self._name = "TwinstarControls"
        self.config = json.dumps({
            "legend": legend, "groups": groups, "note": note, "legendTitle": lang_title,
            "measureTitle": "量距 Measure distance (WGS-84 ellipsoid): click points; click again to stop",
            "fullscreenTitle": "全屏 Fullscreen",
        }, ensure_ascii=False)
        self.bounds = json.dumps(bounds) if bounds else None


def css_element() -> Element:
    return Element(f"<style>{CSS}</style>")
