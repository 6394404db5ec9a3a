"""The symbol system of every twinstar map and figure, written down once.

Interactive maps (Leaflet) and print figures (matplotlib) both take their
colours, widths and dash patterns from here, so a national highway looks the
same on screen, on paper and in the legend.

Rules
-----
* Colours are the Okabe-Ito set (safe for the common colour-vision
  deficiencies) plus neutral greys; every class that could be confused in
  greyscale differs in width or pattern too.
* Corridors: one hue per class; rail carries white "ties" (a dashed white core)
  so rail and road differ without colour; status is the dash pattern
  (operating solid, under construction long dash, planned short dash).
* Data vs analysis: analysis overlays (park→corridor connectors, isochrones,
  conflicts) use colours and patterns no data layer uses: connectors purple
  dotted with end dots, isochrones pink dash-dot outlines (visible on every travel-time class), conflicts magenta.
* Indicative geometry (``geometry_quality == "indicative"``, not surveyed):
  polygons get a dashed outline and a lighter fill, lines are drawn
  translucent, points half-filled.  Every legend says so.

Examples
--------
>>> corridor_style("railway", "planned")["dash"]
'2 5'
>>> corridor_style("expressway")["color"] == OKABE_ITO["blue"]
True
>>> mpl_dash("8 4", 2.0)
(0, (4.0, 2.0))
"""

from __future__ import annotations

from ..settings import CORRIDOR_CLASSES, RAIL_CLASSES

__all__ = ["OKABE_ITO", "PALETTE", "CORRIDOR", "STATUS_DASH", "DATA", "ANALYSIS", "TIME_RAMP", "TIME_CLASSES",
           "CHANGE_BINS", "CHANGE_COLORS", "CHANGE_LABELS", "INDICATIVE", "corridor_style", "minutes_change", "mpl_dash", "class_label",
           "STATUS_LABELS", "SUITABILITY", "HARD_CONSTRAINT", "SITE", "SEARCHED", "LINKAGE", "flow_width", "CONTROL_LINES",
           "DEM_RAMP", "NETWORK_LINKS", "time_class_labels", "quality_tag"]

OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
#: Okabe-Ito plus grey (kept for older callers of ``maps.PALETTE``).
PALETTE = {**OKABE_ITO, "grey": "#7F7F7F"}

#: Corridor classes: colour, width (CSS px at 96 dpi; figures scale it), rail ties, labels.
CORRIDOR = {
    "high_speed_rail": {"color": OKABE_ITO["vermillion"], "width": 4.0, "rail": True, "zh": "高铁", "en": "High-speed rail"},
    "railway": {"color": "#000000", "width": 3.0, "rail": True, "zh": "普速铁路", "en": "Railway"},
    "expressway": {"color": OKABE_ITO["blue"], "width": 3.5, "rail": False, "zh": "高速公路", "en": "Expressway"},
    "national_highway": {"color": OKABE_ITO["orange"], "width": 2.5, "rail": False, "zh": "国道", "en": "National highway"},
    "provincial_highway": {"color": OKABE_ITO["purple"], "width": 2.0, "rail": False, "zh": "省道", "en": "Provincial highway"},
    "county_road": {"color": "#666666", "width": 1.3, "rail": False, "zh": "县道", "en": "County road"},
    "local_road": {"color": "#999999", "width": 0.8, "rail": False, "zh": "乡村道路", "en": "Local road"},
    "ramp": {"color": OKABE_ITO["blue"], "width": 1.2, "rail": False, "zh": "匝道", "en": "Ramp"},
}
assert set(CORRIDOR) == set(CORRIDOR_CLASSES)
assert all(CORRIDOR[c]["rail"] for c in RAIL_CLASSES)

#: Dash pattern by status (SVG dasharray in line widths-independent px).
STATUS_DASH = {"operating": None, "under_construction": "8 4", "planned": "2 5"}
STATUS_LABELS = {"operating": "运营 operating", "under_construction": "在建 under construction", "planned": "规划 planned"}

#: Data layers other than corridors.
DATA = {
    "prefecture": {"color": "#000000", "width": 2.5},
    "county": {"color": "#555555", "width": 0.9},
    "city_core": {"color": "#000000", "radius": 8},
    "county_seat": {"color": "#FFFFFF", "edge": "#000000", "radius": 4.5},
    "park": {"color": "#8C510A", "fill": 0.55, "width": 1.5},
    "nature_reserve": {"color": OKABE_ITO["green"], "fill": 0.30, "width": 1.5},
    "sandy_land": {"color": OKABE_ITO["yellow"], "fill": 0.30, "width": 1.0},
    "river": {"color": OKABE_ITO["sky"], "width": 2.0},
    "hsr_station": {"color": OKABE_ITO["vermillion"], "radius": 5},
    "rail_station": {"color": "#000000", "radius": 4},
    "airport": {"color": OKABE_ITO["blue"], "radius": 6},
}

#: Analysis overlays: patterns and colours no data layer uses.
ANALYSIS = {
    "connector": {"color": "#5E3C99", "width": 2.0, "dash": "1 5"},
    "isochrone": {"color": "#F781BF", "width": 3.0, "dash": "10 3 2 3"},
    "isochrone_scenario": {"color": "#F781BF", "width": 3.0, "dash": "10 3 2 3"},
    "conflict": {"color": "#E7298A", "width": 6.0, "fill": 0.75},
    "buffer": {"color": "#E7298A", "width": 1.2, "fill": 0.0, "dash": "3 3"},
}

#: Travel-time classes (minutes) and their colours (viridis stops: uniform, colour-blind safe, greyscale-monotone).
TIME_CLASSES = (30, 60, 90, 120, 150)
TIME_RAMP = ["#fde725", "#7ad151", "#22a884", "#2a788e", "#414487", "#440154"]
#: County change in mean travel time (minutes): bins, colours (blues: darker = larger gain) and labels.
CHANGE_BINS = (-float("inf"), -10, -5, -1, -0.05, float("inf"))
CHANGE_COLORS = ["#08519c", "#3182bd", "#6baed6", "#c6dbef", "#f7f7f7"]
CHANGE_LABELS = ["快 > 10 min faster", "快 5–10 min", "快 1–5 min", "< 1 min", "不变 no change"]

#: Construction suitability classes (planning/suitability_classes.tif): code -> (colour, label).  ColorBrewer
#: YlGn (single-hue sequential: colour-blind safe, greyscale-monotone; no blue to meet the expressways):
#: darker = more suitable; 0 (outside / no data) is not drawn.
SUITABILITY = {1: ("#f7fcb9", "不适宜 unsuitable"), 2: ("#addd8e", "一般适宜 fair"), 3: ("#31a354", "适宜 suitable")}
#: Hard constraints of the planning analyses (no building): magenta dashed outlines, as the conflicts overlay.
HARD_CONSTRAINT = {"color": "#E7298A", "width": 1.8, "fill": 0.12, "dash": "5 3"}
#: Joint-park candidate sites and the counties searched for them.
SITE = {"color": "#5E3C99", "width": 2.5, "fill": 0.45, "radius": 7}
SEARCHED = {"color": "#5E3C99", "width": 2.0, "dash": "8 4"}
#: Gravity-linkage flow lines: colour by whether the pair crosses the city border; width by sqrt(strength).
LINKAGE = {"cross_city": OKABE_ITO["vermillion"], "within_city": OKABE_ITO["blue"], "min_width": 0.6, "max_width": 14.0,
           "scenario_dash": "6 4"}

#: The planner's control lines (project layers): the two hard constraints as on the planning pages, and the
#: urban development boundary (not a constraint) as a dark dashed outline.
CONTROL_LINES = {"eco_redline": {**HARD_CONSTRAINT, "zh": "生态保护红线", "en": "Ecological red line"},
                 "farmland": {**HARD_CONSTRAINT, "zh": "永久基本农田", "en": "Permanent farmland"},
                 "urban_boundary": {"color": "#333333", "width": 1.5, "fill": 0.0, "dash": "6 3", "zh": "城镇开发边界",
                                    "en": "Urban development boundary"}}
#: Elevation ramp of the DEM (m, colour): greens to browns to near-white, monotone in lightness.
DEM_RAMP = ((0, "#1b7837"), (500, "#7fbf7b"), (1000, "#e0dc9a"), (1500, "#bf9b6b"), (2000, "#f0f0f0"))
#: Network edges that are not corridors: links from places to the network, transfers onto rail (with the boarding time).
NETWORK_LINKS = {"link": {"color": "#7F7F7F", "width": 1.0, "dash": "2 2"},
                 "transfer": {"color": "#000000", "width": 1.2, "dash": "1 2"}}

INDICATIVE = {"dash": "6 4", "line_opacity": 0.6, "fill_factor": 0.6,
              "label": "虚线轮廓/半透明线 = 示意几何 dashed outline / translucent line = indicative geometry (not surveyed)"}


def corridor_style(cls: str, status: str = "operating") -> dict:
    """Colour, width, dash and rail flag of a corridor class and status (unknown class -> KeyError).

    Parameters
    ----------
    cls : str
        Corridor class.
    status : str

    Returns
    -------
    dict
    """
    s = dict(CORRIDOR[cls])
    s["dash"] = STATUS_DASH.get(status or "operating", STATUS_DASH["planned"])
    s["ties"] = s["rail"] and s["dash"] is None
    return s


def class_label(cls: str) -> str:
    """``"国道 National highway"``.

    Parameters
    ----------
    cls : str

    Returns
    -------
    str
    """
    c = CORRIDOR[cls]
    return f"{c['zh']} {c['en']}"


def minutes_change(x: float) -> str:
    """A change in minutes as a label: ``"0"``, ``"−0.4"``, ``"−8"``, ``"+2"`` (never "-0").

    >>> [minutes_change(v) for v in (0.01, -0.36, -8.2, 2.0)]
    ['0', '−0.4', '−8', '+2']

    Parameters
    ----------
    x : float
        Minutes.

    Returns
    -------
    str
    """
    if not abs(x) >= 0.05:
        return "0"
    s = f"{abs(x):.1f}" if abs(x) < 1 else f"{abs(x):.0f}"
    return ("−" if x < 0 else "+") + s


def flow_width(strength, reference: float):
    """Line width (CSS px) of a flow: ``min + (max - min) * sqrt(strength / reference)``, NaN -> the minimum.

    Area-true for a line's thickness: a pair four times as strong is twice as wide.

    >>> [round(float(w), 2) for w in flow_width([0.0, 0.25, 1.0], 1.0)]
    [0.6, 7.3, 14.0]

    Parameters
    ----------
    strength : array-like
    reference : float
        The strength drawn at the maximum width.

    Returns
    -------
    numpy.ndarray
    """
    import numpy as np

    s = np.clip(np.nan_to_num(np.asarray(strength, dtype=float) / reference, nan=0.0), 0.0, 1.0)
    return LINKAGE["min_width"] + (LINKAGE["max_width"] - LINKAGE["min_width"]) * np.sqrt(s)


def time_class_labels() -> list[str]:
    """Legend labels of the travel-time classes :data:`TIME_CLASSES` (one per colour of :data:`TIME_RAMP`).

    >>> time_class_labels()[:2], time_class_labels()[-1]
    (['< 30 min', '30–60 min'], '≥ 150 min')

    Returns
    -------
    list of str
    """
    edges = TIME_CLASSES
    return [f"< {edges[0]} min"] + [f"{a}–{b} min" for a, b in zip(edges[:-1], edges[1:])] + [f"≥ {edges[-1]} min"]


def quality_tag(qualities) -> str:
    """The legend tag a layer earns from its features' ``geometry_quality``: ``""`` when every feature is
    surveyed, ``" (示意 indicative)"`` when every one is indicative, ``" (部分示意 partly indicative)"`` else.

    >>> quality_tag(["surveyed"]), quality_tag(["indicative", "indicative"]), quality_tag(["surveyed", "indicative"])
    ('', ' (示意 indicative)', ' (部分示意 partly indicative)')

    Parameters
    ----------
    qualities : iterable of str
        ``geometry_quality`` values.

    Returns
    -------
    str
    """
    q = {str(x) for x in qualities}
    if not q or q == {"surveyed"} or "indicative" not in q:
        return ""
    return " (示意 indicative)" if q == {"indicative"} else " (部分示意 partly indicative)"


def mpl_dash(dash: str | None, width: float):
    """An SVG dasharray (in px) as a matplotlib dash tuple in units of the line width.

    Parameters
    ----------
    dash : str or None
    width : float
        Line width (pt).

    Returns
    -------
    str or tuple
    """
    if not dash:
        return "solid"
    return (0, tuple(float(x) / width for x in dash.split()))
