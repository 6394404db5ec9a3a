"""Make a folium page self-contained: inline every script and stylesheet it loads.

Leaflet comes from the installed ``XStatic-Leaflet`` package (the version folium
0.20 uses); nothing is copied into this repository.  Leaflet's CSS refers to
its control images; they are inlined as data URLs.  After inlining, any
remaining external reference is an error: an offline map must request nothing.

:func:`markup_problems` is the last check before a page is written: the page's own
markup may carry no event-handler attribute, no ``javascript:`` link and no frame or
object, which is what text from a data file would bring if it escaped unescaped.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["leaflet_assets", "inline_assets", "external_references", "markup_problems", "MINIMAL_JS", "MINIMAL_CSS"]

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
    """Leaflet's script and stylesheet from the installed XStatic-Leaflet, with the CSS images inlined.

    Returns
    -------
    dict
        ``{"leaflet.js": text, "leaflet.css": text}``.
    """
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
    """Replace Leaflet's ``<script src>`` / ``<link href>`` with inline copies; other references are left for the check.

    Parameters
    ----------
    html : str

    Returns
    -------
    str
    """
    assets = leaflet_assets()

    def script(m):
        url = m.group(1)
        if url.endswith("/leaflet.js"):
            return "<script>" + assets["leaflet.js"].replace("</script", "<\\/script") + "</script>"
        return m.group(0)

    def link(m):
        url = m.group(1)
        if url.endswith("/leaflet.css"):
            return "<style>" + assets["leaflet.css"].replace("</style", "<\\/style") + "</style>"
        return m.group(0)

    return _LINK.sub(link, _SCRIPT.sub(script, html))


def external_references(html: str) -> list[str]:
    """URLs the page would fetch on load (scripts, stylesheets, images, fonts).

    Parameters
    ----------
    html : str

    Returns
    -------
    list of str
    """
    refs = _SCRIPT.findall(html) + _LINK.findall(html)
    refs += re.findall(r'<img[^>]+src="(https?://[^"]+)"', html)
    refs += [u for _, u in re.findall(r'url\((["\']?)(https?://[^)"\']+)\1\)', html)]
    return [r for r in refs if not r.startswith("data:")]


_FORBIDDEN_TAGS = {"iframe", "object", "embed", "base", "form", "frame", "frameset", "applet"}


class _MarkupScan(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []

    def handle_starttag(self, tag, attrs):
        if tag in _FORBIDDEN_TAGS:
            self.problems.append(f"a <{tag}> element")
        for k, v in attrs:
            if k.lower().startswith("on"):
                self.problems.append(f"an event handler {k}= on <{tag}>")
            elif k.lower() in ("href", "src", "action", "formaction", "xlink:href") and \
                    (v or "").strip().lower().replace("\t", "").replace("\n", "").startswith(("javascript:", "vbscript:")):
                self.problems.append(f"a script link {k}= on <{tag}>")
            elif tag == "meta" and k.lower() == "http-equiv" and (v or "").lower() == "refresh":
                self.problems.append("a <meta> refresh")

    handle_startendtag = handle_starttag


def markup_problems(html: str) -> list[str]:
    """What in a page's markup (outside its scripts) could run code: event handlers, script links, frames.

    Our pages carry none, so any is text from a data file that reached the markup unescaped.

    Parameters
    ----------
    html : str

    Returns
    -------
    list of str

    Examples
    --------
    >>> markup_problems('<div class="x">ok</div><script>var s = "<img onerror=1>";</script>')
    []
    >>> markup_problems('<span><img src=x onerror=alert(1)></span>')
    ['an event handler onerror= on <img>']
    """
    scan = _MarkupScan()
    scan.feed(html)
    scan.close()
    return scan.problems
