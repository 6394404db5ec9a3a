"""A run folder opened in real QGIS (Debian's qgis + python3-qgis, 3.22): styled layers, the project, routing.

PyQGIS imports only under the system Python (``/usr/bin/python3``), so every check runs QGIS in one
subprocess per module (``QT_QPA_PLATFORM=offscreen``) with the probe below and reads back what QGIS saw as
JSON.  Without QGIS the tests skip and say why (``.ci/run`` installs it as it installs chromium).
The expected values come from :mod:`twinstar_gis.maps.style` (the symbol system), the run's own files
(its OD matrix) and pyproj -- never from the QGIS writer under test.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twinstar_gis.maps.style import CHANGE_COLORS, CORRIDOR, STATUS_DASH, SUITABILITY, TIME_CLASSES, TIME_RAMP

SYSTEM_PYTHON = "/usr/bin/python3"


def _qgis_missing() -> str | None:
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} not found (QGIS's Python bindings need the system Python)"
    try:
        r = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot start {SYSTEM_PYTHON}: {exc}"
    if r.returncode != 0:
        return "QGIS is not installed (apt-get install -y qgis python3-qgis): " + (r.stderr.strip().splitlines() or [""])[-1]
    return None


QGIS = _qgis_missing()
pytestmark = pytest.mark.skipif(QGIS is not None, reason=f"no QGIS for the QGIS tests: {QGIS}")

#: What QGIS sees, as JSON on stdout (runs under /usr/bin/python3 with PyQGIS; no project code).
PROBE = r'''
import json, os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.append("/usr/share/qgis/python/plugins")
from qgis.core import (QgsApplication, QgsCategorizedSymbolRenderer, QgsGraduatedSymbolRenderer, QgsMapRendererParallelJob,
                       QgsMapSettings, QgsPalettedRasterRenderer, QgsProject, QgsRasterLayer, QgsSingleBandPseudoColorRenderer,
                       QgsVectorLayer, QgsProcessingFeedback)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

tasks = json.load(open(sys.argv[1], encoding="utf-8"))
app = QgsApplication([], True)
app.initQgis()
out = {"vectors": {}, "rasters": {}, "projects": {}, "csv": {}, "paths": {}}

def vector_info(lyr):
    r = lyr.renderer()
    d = {"valid": lyr.isValid(), "renderer": r.type() if r else None, "features": lyr.featureCount(),
         "labels": lyr.labelsEnabled(), "crs": lyr.crs().authid() or lyr.crs().description(),
         "encoding": lyr.dataProvider().encoding() if lyr.dataProvider() else "",
         "aliases": {f.name(): lyr.attributeAlias(i) for i, f in enumerate(lyr.fields()) if lyr.attributeAlias(i)}}
    if isinstance(r, QgsCategorizedSymbolRenderer):
        d["attr"] = r.classAttribute()
        d["categories"] = [[str(c.value()), c.label(), c.symbol().color().name()] for c in r.categories()]
    if isinstance(r, QgsGraduatedSymbolRenderer):
        d["attr"] = r.classAttribute()
        d["ranges"] = [[x.lowerValue(), x.upperValue(), x.label(), x.symbol().color().name()] for x in r.ranges()]
    if lyr.labelsEnabled():
        d["label_field"] = lyr.labeling().settings().fieldName
    if tasks.get("names_of") and lyr.fields().indexOf("name_zh") >= 0:
        d["names"] = sorted(str(f["name_zh"]) for f in lyr.getFeatures())
    return d

def raster_info(lyr):
    r = lyr.renderer()
    d = {"valid": lyr.isValid(), "renderer": r.type(), "crs": lyr.crs().description(), "opacity": r.opacity(),
         "band": lyr.bandName(1)}
    if isinstance(r, QgsSingleBandPseudoColorRenderer):
        sh = r.shader().rasterShaderFunction()
        d["ramp"] = ["interpolated", "discrete", "exact"][sh.colorRampType()]
        d["items"] = [[i.value if i.value != float("inf") else "inf", i.color.name(), i.label] for i in sh.colorRampItemList()]
        d["shade"] = {str(v): "#%02x%02x%02x" % tuple(sh.shade(v)[1:4]) for v in tasks.get("shade", [])}
    if isinstance(r, QgsPalettedRasterRenderer):
        d["classes"] = [[c.value, c.color.name(), c.label] for c in r.classes()]
    return d

def render(layers, crs, extent, png):
    ms = QgsMapSettings()
    ms.setLayers(layers); ms.setDestinationCrs(crs); ms.setExtent(extent); ms.setOutputSize(QSize(1200, 900))
    ms.setBackgroundColor(QColor("white"))
    job = QgsMapRendererParallelJob(ms); job.start(); job.waitForFinished()
    img = job.renderedImage(); img.save(png)
    colours, nonwhite, n = set(), 0, 0
    for y in range(0, img.height(), 5):
        for x in range(0, img.width(), 5):
            c = img.pixel(x, y); colours.add(c); nonwhite += c != 0xFFFFFFFF; n += 1
    return {"png": png, "nonwhite": nonwhite / n, "colours": len(colours)}

for path, layer in tasks.get("vectors", []):
    out["vectors"][f"{path}|{layer}"] = vector_info(QgsVectorLayer(f"{path}|layername={layer}" if layer else path, "v", "ogr"))
for path in tasks.get("rasters", []):
    out["rasters"][path] = raster_info(QgsRasterLayer(path, os.path.basename(path)))
for path, png, cwd in tasks.get("projects", []):
    os.chdir(cwd)
    prj = QgsProject.instance(); prj.clear()
    ok = prj.read(path)
    layers = list(prj.mapLayers().values())
    root = prj.layerTreeRoot()
    info = {"read": ok, "layers": len(layers), "invalid": [l.name() for l in layers if not l.isValid()],
            "orphans": [n.name() for n in root.findLayers() if n.layer() is None],
            "groups": [[g.name(), [c.name() for c in g.children()]] for g in root.children()],
            "crs": prj.crs().description(), "crs_valid": prj.crs().isValid(), "custom_order": root.hasCustomLayerOrder(),
            "visible": [n.name() for n in root.findLayers() if n.isVisible()],
            "by_name": {l.name(): (vector_info(l) if isinstance(l, QgsVectorLayer) else raster_info(l)) for l in layers},
            "sources": {l.name(): l.source() for l in layers}}
    ext = prj.viewSettings().defaultViewExtent()
    info["extent"] = [ext.xMinimum(), ext.yMinimum(), ext.xMaximum(), ext.yMaximum()]
    order = root.customLayerOrder() if root.hasCustomLayerOrder() else root.layerOrder()
    visible = [l for l in order if root.findLayer(l.id()) is not None and root.findLayer(l.id()).isVisible()]
    if png:
        info["render"] = render(visible, prj.crs(), ext, png)
    out["projects"][path] = info
for path in tasks.get("csv", []):
    lyr = QgsVectorLayer(path, "csv", "ogr")
    f = lyr.fields()
    out["csv"][path] = {"valid": lyr.isValid(), "types": {f[i].name(): f[i].typeName() for i in range(len(f))}}
if tasks.get("paths"):
    from processing.core.Processing import Processing
    Processing.initialize()
    import processing
    spec = tasks["paths"]
    nodes = QgsVectorLayer(f"{spec['gpkg']}|layername={spec['nodes']}", "nodes", "ogr")
    pt = {f["place_id"]: f.geometry().asPoint() for f in nodes.getFeatures() if f["place_id"]}
    for a, b in spec["pairs"]:
        s, e = pt[a], pt[b]
        res = processing.run("native:shortestpathpointtopoint", {
            "INPUT": f"{spec['gpkg']}|layername={spec['layer']}", "STRATEGY": 1, "DIRECTION_FIELD": "direction",
            "VALUE_FORWARD": "F", "VALUE_BACKWARD": "R", "VALUE_BOTH": "B", "DEFAULT_DIRECTION": 2,
            "SPEED_FIELD": "qgis_speed_kmh", "DEFAULT_SPEED": 1, "TOLERANCE": 0,
            "START_POINT": f"{s.x()!r},{s.y()!r} [EPSG:4326]", "END_POINT": f"{e.x()!r},{e.y()!r} [EPSG:4326]",
            "OUTPUT": "memory:"}, feedback=QgsProcessingFeedback())
        out["paths"][f"{a}|{b}"] = next(res["OUTPUT"].getFeatures())["cost"] * 60  # hours -> minutes
QgsProject.instance().clear()
print("PROBE-JSON " + json.dumps(out, ensure_ascii=False))
sys.stdout.flush()
os._exit(0)  # QGIS 3.22 crashes in exitQgis() while layers are alive; the checks are done
'''


def qgis_probe(tmp: Path, tasks: dict) -> dict:
    """Run the probe in QGIS; returns what QGIS saw."""
    (tmp / "probe.py").write_text(PROBE, encoding="utf-8")
    (tmp / "tasks.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    r = subprocess.run([SYSTEM_PYTHON, str(tmp / "probe.py"), str(tmp / "tasks.json")], capture_output=True, text=True,
                       timeout=900, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, cwd=tmp)
    line = next((x for x in r.stdout.splitlines() if x.startswith("PROBE-JSON ")), None)
    assert line is not None, f"QGIS probe failed (exit {r.returncode}): {r.stderr[-3000:]}"
    return json.loads(line[len("PROBE-JSON "):])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real `twinstar run` (coarse grid; figures left out: they play no part in QGIS)."""
    import twinstar_gis.maps as maps
    from twinstar_gis.pipeline.steps import run_all

    mp = pytest.MonkeyPatch()
    mp.setattr(maps, "write_figures", lambda *a, **k: [])
    try:
        out = tmp_path_factory.mktemp("qgisrun") / "run"
        run_all(out, resolution=8000, command=["twinstar", "run"])
    finally:
        mp.undo()
    return out


def _layers(run: Path):
    import pyogrio

    return [(str(p), str(name)) for p in sorted(run.glob("*/*.gpkg")) for name, g in pyogrio.list_layers(p) if g is not None]


@pytest.fixture(scope="module")
def seen(run_dir, tmp_path_factory):
    """Everything QGIS sees of the run, in one QGIS session: layers, rasters, the project (also moved), a CSV, routes."""
    from twinstar_gis.run.exports import export_run
    from twinstar_gis.maps.qgis import style_exported

    tmp = tmp_path_factory.mktemp("probe")
    moved = tmp / "moved" / "a run folder"
    shutil.copytree(run_dir, moved)
    records = export_run(run_dir, tmp / "export", crs="EPSG:4549", formats=("gpkg", "shp"))
    style_exported(records)
    shp = [str(r.path) for r in records if r.layer is None and r.source_layer in ("boundaries", "parks", "county_change")]
    ids = ["CORE_150400", "CORE_150500", "SEAT_150430", "SEAT_150525", "SEAT_150421", "SEAT_150581"]
    tasks = {"vectors": _layers(run_dir) + [(p, None) for p in shp]
             + [(str(tmp / "export/gpkg/twinstar.gpkg"), "corridors")],
             "rasters": [str(p) for p in sorted(run_dir.glob("*/*.tif"))], "shade": [15, 45, 100, 200],
             "projects": [[str(run_dir / "run.qgz"), str(tmp / "project.png"), str(run_dir)],
                          [str(moved / "run.qgz"), "", "/"]],
             "csv": [str(run_dir / "access/county_access.csv")], "names_of": True,
             "paths": {"gpkg": str(run_dir / "access/network.gpkg"), "layer": "network", "nodes": "network_nodes",
                       "pairs": [[a, b] for a in ids for b in ids if a != b]}}
    return qgis_probe(tmp, tasks), tmp, ids


def _default_qml(gpkg, layer):
    """The default style stored in the GeoPackage (read with sqlite3, as QGIS's OGR provider selects it)."""
    con = sqlite3.connect(gpkg)
    try:
        row = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_schema = '' AND f_table_name = ? "
                          "AND useAsDefault = 1", (layer,)).fetchone()
    finally:
        con.close()
    return ET.fromstring(row[0].split("\n", 1)[1])


def test_every_layer_opens_styled_as_stored(seen, run_dir):
    """Each GeoPackage layer opens valid with its default style: renderer, classes, labels, Chinese aliases."""
    got = seen[0]["vectors"]
    layers = _layers(run_dir)
    assert len(layers) >= 20
    for gpkg, layer in layers:
        v = got[f"{gpkg}|{layer}"]
        want = _default_qml(gpkg, layer).find("renderer-v2")
        assert v["valid"] and v["features"] > 0, (gpkg, layer)
        assert v["renderer"] == want.get("type"), (layer, v["renderer"])  # not QGIS's random single symbol
        if v["renderer"] == "categorizedSymbol":
            assert [c[1] for c in v["categories"]] == [c.get("label") for c in want.iter("category")], layer
        assert v["aliases"].get("name_zh", "名称") == "名称", layer
    # the symbol system itself, independently of the writer
    cor = got[f"{run_dir / 'data/twinstar.gpkg'}|corridors"]
    colours = {c[0].split("/")[0]: c[2] for c in cor["categories"] if c[0].endswith("/operating/surveyed")}
    assert colours == {k: v["color"].lower() for k, v in CORRIDOR.items()}
    assert len(cor["categories"]) == len(CORRIDOR) * len(STATUS_DASH) * 2 + 1 and cor["label_field"] == "name_zh"
    change = got[f"{run_dir / 'access/scenario.gpkg'}|county_change"]
    assert change["renderer"] == "graduatedSymbol" and change["attr"] == "mean_min_change"
    assert [r[3] for r in change["ranges"]] == [c.lower() for c in CHANGE_COLORS]
    assert [r[1] for r in change["ranges"][:4]] == [-10, -5, -1, -0.05]
    b = got[f"{run_dir / 'data/twinstar.gpkg'}|boundaries"]
    assert [c[0] for c in b["categories"]] == ["prefecture", "county"] and b["labels"]
    assert b["aliases"]["adcode"] == "行政区划代码" and b["aliases"]["area_km2"] == "面积 (km²)"


def test_rasters_open_in_the_gallery_classes_with_names_and_units(seen, run_dir):
    rasters = seen[0]["rasters"]
    t = rasters[str(run_dir / "access/time_to_cores.tif")]
    assert t["valid"] and t["renderer"] == "singlebandpseudocolor" and t["ramp"] == "discrete"
    assert [i[0] for i in t["items"]] == [*map(float, TIME_CLASSES), "inf"] and [i[1] for i in t["items"]] == TIME_RAMP
    # a pixel of 45 min takes the 30-60 class colour, 100 min the 90-120 one, 200 min the last (>= 150)
    assert t["shade"]["45"] == TIME_RAMP[1] and t["shade"]["100"] == TIME_RAMP[3] and t["shade"]["200"] == TIME_RAMP[-1]
    assert t["shade"]["15"] == TIME_RAMP[0]
    assert "travel time to the nearest city core" in t["band"]
    s = rasters[str(run_dir / "planning/suitability_classes.tif")]
    assert s["renderer"] == "paletted"
    assert [(c[0], c[1], c[2]) for c in s["classes"]] == [(float(k), v[0], v[1]) for k, v in SUITABILITY.items()]
    dem = rasters[str(run_dir / "data/twinstar_dem.tif")]
    assert dem["renderer"] == "singlebandpseudocolor" and dem["ramp"] == "interpolated" and "elevation" in dem["band"]
    # QGIS names every raster CRS (the equal-area grids are no longer "unknown")
    assert all(r["crs"] not in ("", "unknown") for r in rasters.values()), {k: r["crs"] for k, r in rasters.items()}


def test_project_opens_with_every_layer_valid_grouped_and_drawn(seen, run_dir):
    from PIL import Image

    p = seen[0]["projects"][str(run_dir / "run.qgz")]
    assert p["read"] and p["invalid"] == [] and p["orphans"] == [] and p["layers"] >= 25
    assert [g[0] for g in p["groups"]] == ["行政 Administrative", "交通 Transport", "产业 Industry", "生态 Ecology",
                                           "分析 Analysis", "规划 Planning", "地形 Terrain"]
    assert p["crs_valid"] and p["crs"] not in ("", "unknown") and p["custom_order"]
    assert {"旗县区 Counties", "产业园区 Industrial parks", "交通走廊 Corridors", "候选园区 Candidate sites"} <= set(p["visible"])
    with zipfile.ZipFile(run_dir / "run.qgz") as z:
        doc = ET.fromstring(z.read("run.qgs").decode("utf-8").split("\n", 1)[1])
    sources = [e.text for e in doc.iter("datasource")]
    assert len(sources) == p["layers"] and all(s.startswith("./") for s in sources)  # relative: the folder can move
    assert p["by_name"]["交通走廊 Corridors"]["renderer"] == "categorizedSymbol"
    assert p["by_name"]["到中心城区时间 Time to nearest core"]["renderer"] == "singlebandpseudocolor"
    r = p["render"]
    assert r["nonwhite"] > 0.5 and r["colours"] > 100, r
    with Image.open(r["png"]) as im:
        a = np.asarray(im.convert("RGB"), dtype=float)
    assert a.std() > 20  # a map, not a flat fill


def test_project_still_opens_after_the_folder_moved(seen):
    moved = next(v for k, v in seen[0]["projects"].items() if "moved" in k)
    assert moved["read"] and moved["invalid"] == [] and moved["orphans"] == []


def test_csv_with_csvt_has_numbers_as_numbers_and_codes_as_text(seen, run_dir):
    types = seen[0]["csv"][str(run_dir / "access/county_access.csv")]["types"]
    assert types["adcode"] == "String" and types["name_zh"] == "String"
    assert types["mean_min"] == "Real" and types["cells"] == "Integer64" and types["population_2020"] == "Integer64"


def test_exported_shapefiles_and_geopackages_open_in_gk_with_chinese(seen, run_dir):
    import pyogrio

    got = seen[0]["vectors"]
    shp = {Path(k.split("|")[0]).name: v for k, v in got.items() if k.split("|")[0].endswith(".shp")}
    b = shp["boundaries.shp"]
    assert b["valid"] and b["encoding"] == "GBK" and b["crs"] == "EPSG:4549"
    names = sorted(pyogrio.read_dataframe(run_dir / "data/twinstar.gpkg", layer="boundaries")["name_zh"])
    assert b["names"] == names  # Chinese intact through GBK
    assert b["renderer"] == "categorizedSymbol"  # the .qml beside it, fields renamed
    assert shp["county_change.shp"]["renderer"] == "graduatedSymbol"
    g = got[f"{seen[1] / 'export/gpkg/twinstar.gpkg'}|corridors"]
    assert g["valid"] and g["crs"] == "EPSG:4549" and g["renderer"] == "categorizedSymbol"


def test_qgis_shortest_path_reproduces_the_runs_od(seen, run_dir):
    """QGIS's own network tool (fastest route, direction and speed fields) on access/network.gpkg.

    Against the run's OD (od_matrix_minutes.csv, 0.1 min): equal where the run's route stays on the network
    (the twin-city link among them); where the run's model left the network for a stretch of land (its
    friction surface: QGIS routes on lines only), the OD is faster and QGIS gives the network's own time --
    which the model's network (scipy Dijkstra on the graph, a second implementation) confirms."""
    from twinstar_gis.data.dataset import load_dataset
    from twinstar_gis.model.network import build_network, travel_times
    from twinstar_gis.settings import Settings

    paths, _, ids = seen
    od = pd.read_csv(run_dir / "access/od_matrix_minutes.csv", encoding="utf-8-sig").set_index("id")
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    net = build_network(load_dataset(run_dir / "data/twinstar.gpkg").layers, settings=Settings.from_mapping(manifest["settings"]))
    idx = net.place_index[ids].to_numpy()
    network = pd.DataFrame(travel_times(net, idx)[:, idx], index=ids, columns=ids)
    assert len(paths["paths"]) == len(ids) * (len(ids) - 1)
    same = 0
    for key, minutes in paths["paths"].items():
        a, b = key.split("|")
        assert minutes == pytest.approx(network.loc[a, b], abs=0.01), key  # QGIS = the network, to the second
        assert minutes >= od.loc[a, b] - 0.051, key  # the land can only add shortcuts
        same += abs(minutes - od.loc[a, b]) <= 0.051
    assert paths["paths"]["CORE_150400|CORE_150500"] == pytest.approx(od.loc["CORE_150400", "CORE_150500"], abs=0.051)
    assert same >= 0.6 * len(paths["paths"]), same
