"""Extract the West Liao river main stems from GSHHG (WDB II) with GMT.

Maintainer script, not run by ``twinstar data build``: it needs GMT and the
full-resolution GSHHG files (Debian packages ``gmt`` and ``gmt-gshhg-full``).
It writes ``data/curated/rivers_gshhg.geojson``, which is committed and reviewed
like code.  Re-run it only to refresh that file:

    python data/scripts/extract_gshhg_rivers.py

GSHHG's river lines come from the CIA World Data Bank II (public domain).  In
this region only WDB levels 2 and 3 exist: the Xar Moron (西拉木伦河), the Laoha
(老哈河) and the West Liao (西辽河) main stems, at about 1 km accuracy.  The
Xar Moron and the West Liao arrive as one merged line; it is split at the
confluence with the Laoha.
"""

import json
import subprocess
from pathlib import Path

from shapely.geometry import LineString, MultiLineString, Point, mapping
from shapely.ops import linemerge, split, nearest_points

REGION = "116/124.5/41/46.5"
OUT = Path(__file__).resolve().parents[1] / "curated" / "rivers_gshhg.geojson"


def main():
    txt = subprocess.run(
        ["gmt", "coast", f"-R{REGION}", "-Ir/", "-M", "-Df"],
        check=True, capture_output=True, text=True,
    ).stdout
    segs, cur = [], []
    for line in txt.splitlines():
        if line.startswith(">"):
            if len(cur) > 1:
                segs.append(LineString(cur))
            cur = []
        elif line.strip():
            x, y = map(float, line.split()[:2])
            cur.append((x, y))
    if len(cur) > 1:
        segs.append(LineString(cur))
    merged = list(linemerge(MultiLineString(segs)).geoms)

    def touching(pt, tol=0.05):
        return [g for g in merged if g.distance(Point(pt)) < tol]

    # Laoha: from its source near 118.4E 41.3N to the confluence near 120.74E 43.42N.
    # GMT splits it at a junction near 119.75E 42.6N; pick the upper and the
    # lower piece by points known to lie on each and join them.
    upper = min(merged, key=lambda g: g.distance(Point(119.3, 41.8)))
    lower = min(merged, key=lambda g: g.distance(Point(120.19, 42.95)))
    laoha = LineString(list(upper.coords) + list(lower.coords)[1:])
    confluence = Point(laoha.coords[-1])
    # The long line through Tongliao holds Xar Moron + West Liao.
    main_line = max((g for g in merged if g.distance(Point(122.25, 43.62)) < 0.2), key=lambda g: g.length)
    snap = nearest_points(main_line, confluence)[0]
    parts = list(split(main_line, snap.buffer(1e-9)).geoms)
    parts = [p for p in parts if p.length > 1e-6]
    up = min(parts, key=lambda p: p.distance(Point(117.2, 42.6)))
    down = min(parts, key=lambda p: p.distance(Point(122.25, 43.62)))
    feats = []
    for rid, zh, en, geom in [
        ("R_XARMORON", "西拉木伦河", "Xar Moron River", up),
        ("R_LAOHA", "老哈河", "Laoha River", laoha),
        ("R_XILIAO", "西辽河", "West Liao River", down),
    ]:
        coords = [(round(x, 5), round(y, 5)) for x, y in geom.coords]
        feats.append({
            "type": "Feature",
            "properties": {"river_id": rid, "name_zh": zh, "name_en": en},
            "geometry": mapping(LineString(coords)),
        })
    OUT.write_text(json.dumps({
        "type": "FeatureCollection",
        "name": "rivers_gshhg",
        "source": "GSHHG 2.3.7 full-resolution rivers (WDB II, public domain) via GMT 6.4 `gmt coast -Ir/`",
        "features": feats,
    }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
