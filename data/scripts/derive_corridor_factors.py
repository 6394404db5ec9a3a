"""Derive the corridors' ``operating_speed_kmh`` and ``route_factor`` from published facts (maintainer script).

Run from the repository root after changing ``data/curated/nodes.csv``, ``corridors.csv``,
``corridor_sections.csv`` or ``travel_facts.csv``:

    python data/scripts/derive_corridor_factors.py          # prints the table
    python data/scripts/derive_corridor_factors.py --write  # and writes the four columns

Definitions (docs/data_audit.md, "Route factors and operating speeds"):

* **drawn length** of a stretch = the sum of the ellipsoidal (WGS-84) lengths of the
  corridor's ``path`` segments between two of its path nodes (``pyproj.Geod.inv``), the
  whole drawn line, out-of-region stretches included.
* **operating_speed_kmh** (rail) = drawn length between consecutive timed stations /
  scheduled running minutes between them (departure to arrival; dwell at intermediate
  stops not included), summed over a corridor's ``calibration`` rail facts in
  ``travel_facts.csv``.  Only set where a timetable was found.
* **route_factor** (detour index) = published length / drawn length, summed over a
  corridor's sections in ``corridor_sections.csv``; never below 1.  Indicative road
  corridors without a published length get the **default**: the median of the factors of
  the road corridors whose sections are marked ``use = default`` (sections marked
  ``corridor`` set only their own corridor's factor: rail lines, and lines whose published
  length is not independent of the drawing or starts elsewhere).  Rail corridors without a published length, and
  rail corridors with an operating speed (measured over the drawn length already), keep 1.

tests/test_data_facts.py recomputes every value independently (pyproj.Geod) and fails when the
curated columns are stale.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Geod

CURATED = Path("data/curated")
GEOD = Geod(ellps="WGS84")
ROAD = ("expressway", "national_highway", "provincial_highway", "county_road", "local_road")


def drawn_km(path: list[str], nodes: pd.DataFrame, a: str, b: str) -> float:
    """Drawn length (km) between path nodes ``a`` and ``b`` (either order)."""
    i, j = sorted((path.index(a), path.index(b)))
    lon, lat = nodes.loc[path[i:j + 1], "lon"].to_numpy(), nodes.loc[path[i:j + 1], "lat"].to_numpy()
    return float(GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])[2].sum() / 1000.0)


def derive(cur: Path = CURATED) -> pd.DataFrame:
    """One row per corridor: operating_speed_kmh, speed_source, route_factor, route_factor_source."""
    nodes = pd.read_csv(cur / "nodes.csv").set_index("node_id")
    cors = pd.read_csv(cur / "corridors.csv", dtype=str, keep_default_na=False)
    secs = pd.read_csv(cur / "corridor_sections.csv")
    facts = pd.read_csv(cur / "travel_facts.csv")
    out = pd.DataFrame({"corridor_id": cors["corridor_id"], "operating_speed_kmh": np.nan, "speed_source": "",
                        "route_factor": np.nan, "route_factor_source": ""}).set_index("corridor_id")
    paths = {r.corridor_id: r.path.split(";") for r in cors.itertuples()}
    stations = {r.corridor_id: [s for s in r.stations.split(";") if s] for r in cors.itertuples()}
    cls = dict(zip(cors["corridor_id"], cors["class"]))
    timed = facts[(facts["role"] == "calibration") & (facts["mode"].isin(["rail", "hsr"])) & facts["minutes"].notna()]
    for cid, sts in stations.items():
        km = mins = 0.0
        used = []
        for f in timed.itertuples():
            if f.from_id in sts and f.to_id in sts and abs(sts.index(f.from_id) - sts.index(f.to_id)) == 1:
                km += drawn_km(paths[cid], nodes, f.from_id, f.to_id)
                mins += f.minutes
                used.append(f.fact_id)
        if used:
            out.loc[cid, "operating_speed_kmh"] = round(km / mins * 60.0, 1)
            out.loc[cid, "speed_source"] = (f"scheduled running time {mins:g} min over the drawn {km:.1f} km between timed stations "
                                            f"(travel_facts.csv {', '.join(used)}; 12306 K996, 2023-03-26; dwell not included); "
                                            "pre-electrification timetable: current trains are likely faster")
    for cid, grp in secs.groupby("corridor_id"):
        pub = grp["published_km"].sum()
        drawn = sum(drawn_km(paths[cid], nodes, r.from_node, r.to_node) for r in grp.itertuples())
        out.loc[cid, "route_factor"] = round(max(pub / drawn, 1.0), 3)
        out.loc[cid, "route_factor_source"] = (f"published {pub:g} km / drawn {drawn:.1f} km "
                                               f"(corridor_sections.csv {', '.join(grp['section_id'])})")
    feeds = set(secs.loc[secs["use"] == "default", "corridor_id"])
    road_measured = [cid for cid in out.index if cls[cid] in ROAD and cid in feeds]
    default = round(float(np.median(out.loc[road_measured, "route_factor"])), 3)
    spread = out.loc[road_measured, "route_factor"]
    for cid in out.index:
        if np.isfinite(out.loc[cid, "route_factor"]):
            continue
        if cls[cid] in ROAD:
            out.loc[cid, "route_factor"] = default
            out.loc[cid, "route_factor_source"] = (f"DEFAULT: median of the measured road factors {default:g} "
                                                   f"({', '.join(f'{c} {v:g}' for c, v in spread.items())}; "
                                                   f"range {spread.min():g}-{spread.max():g}, so about ±{(spread.max() - spread.min()) / 2 / default:.0%})")
        elif np.isfinite(out.loc[cid, "operating_speed_kmh"]):
            out.loc[cid, "route_factor"] = 1.0
            out.loc[cid, "route_factor_source"] = "1: operating_speed_kmh is measured over the drawn length"
        else:
            out.loc[cid, "route_factor"] = 1.0
            out.loc[cid, "route_factor_source"] = "1: no published length found (the drawn length may be short)"
    return out.reset_index()


def _write(table: pd.DataFrame, cur: Path = CURATED) -> None:
    """Write the four columns into corridors.csv, keeping its quoting style (``source`` always quoted)."""
    path = cur / "corridors.csv"
    cors = pd.read_csv(path, dtype=str, keep_default_na=False)
    t = table.set_index("corridor_id")
    cors["operating_speed_kmh"] = [("" if np.isnan(v) else f"{v:g}") for v in t.loc[cors["corridor_id"], "operating_speed_kmh"]]
    cors["speed_source"] = t.loc[cors["corridor_id"], "speed_source"].to_numpy()
    cors["route_factor"] = [f"{v:g}" for v in t.loc[cors["corridor_id"], "route_factor"]]
    cors["route_factor_source"] = t.loc[cors["corridor_id"], "route_factor_source"].to_numpy()
    buf = io.StringIO()
    buf.write(",".join(cors.columns) + "\n")
    for row in cors.itertuples(index=False):
        cells = []
        for col, v in zip(cors.columns, row):
            if col == "source" and v:
                cells.append('"' + v.replace('"', '""') + '"')
            elif v == "":
                cells.append("")
            else:
                one = io.StringIO()
                csv.writer(one, lineterminator="").writerow([v])
                cells.append(one.getvalue())
        buf.write(",".join(cells) + "\n")
    path.write_text(buf.getvalue(), encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the columns into data/curated/corridors.csv")
    args = parser.parse_args()
    table = derive()
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        print(table.to_string(index=False))
    if args.write:
        _write(table)


if __name__ == "__main__":
    main()
