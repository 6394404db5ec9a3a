"""Make a folium page self-contained: inline every script and stylesheet it loads.

Leaflet comes from the installed ``XStatic-Leaflet`` package (the version folium
0.20 uses); nothing is copied into this repository.  Leaflet's CSS refers to
its control images; they are inlined as data URLs.  After inlining, any
remaining external reference is an error: an offline map must request nothing.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

__all__ = ["leaflet_assets", "inline_assets", "external_references", "MINIMAL_JS", "MINIMAL_CSS"]

import folium

#: The only assets our maps need, as folium itself names them (used as-is by
#: ``--online``; inlined by ``--offline``).  folium's other defaults (jQuery,
#: Bootstrap, Font Awesome, awesome-markers) serve widgets we do not use.
MINIMAL_JS = [e for e in folium.Map.default_js if e[0] == "leaflet"]
MINIMAL_CSS = [e for e in folium.Map.default_css if e[0] == "leaflet_css"]


def _leaflet_dir() -> Path:
    try:
        import xstatic.pkg.leaflet as xl
    except ImportError:  # pragma: no cover - it is a core dependency
        from ..errors import DataSourceError

        raise DataSourceError("XStatic-Leaflet is not installed; `pip install xstatic-leaflet` (a core dependency).") from None
    return Path(xl.BASE_DIR)


def leaflet_assets() -> dict:
    """``{"leaflet.js": text, "leaflet.css": text}`` with the CSS images inlined."""
    d = _leaflet_dir()
    css = (d / "leaflet.css").read_text(encoding="utf-8")

    def _img(m):
        p = d / m.group(1)
        data = base64.b64encode(p.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[^)]+\.png)\)", _img, css)
    js = (d / "leaflet.js").read_text(encoding="utf-8")
    js = js.replace("//# sourceMappingURL=leaflet.js.map", "")
    return {"leaflet.js": js, "leaflet.css": css}


_SCRIPT = re.compile(r'<script\s+src="([^"]+)"\s*>\s*</script>')
_LINK = re.compile(r'<link\s+rel="stylesheet"\s+href="([^"]+)"\s*/?>')


def inline_assets(html: str) -> str:
    """Replace Leaflet's <script src> / <link href> with inline copies; other refs are left for the check."""
    assets = leaflet_assets()

    def script(m):
        url = m.group(1)
        if url.endswith("/leaflet.js"):
            return "<script>" + assets["leaflet.js"].replace("</script", "<\\/script") + "</script>"
        return m.group(0)

    def link(m):
        url = m.group(1)
        if url.endswith("/leaflet.css"):
            return "<style>" + assets["leaflet.css"] + "</style>"
        return m.group(0)

    return _LINK.sub(link, _SCRIPT.sub(script, html))


def external_references(html: str) -> list[str]:
    """URLs the page would fetch on load (scripts, stylesheets, images, fonts)."""
    refs = _SCRIPT.findall(html) + _LINK.findall(html)
    refs += re.findall(r'<img[^>]+src="(https?://[^"]+)"', html)
    refs += [u for _, u in re.findall(r'url\((["\']?)(https?://[^)"\']+)\1\)', html)]
    return [r for r in refs if not r.startswith("data:")]
