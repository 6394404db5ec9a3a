"""The travel-time model before (main) and after (this branch), side by side, one process per case.

Run from the repository root:  python benchmarks/bench_model.py [--before /path/to/main] [--res 1000 250]

For each resolution it builds the model on the embedded dataset (with the DEM), computes one surface
to both cores, and reports build time, surface time, peak RSS (ru_maxrss of the child process) and
the bytes of the land/cell graph; then the headline numbers of ``accessibility`` at 1 km (core <->
core, area and population within 60/120 min of a core).  "before" runs main's package by putting
its source first on PYTHONPATH.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = r'''
import json, resource, sys, tempfile, time
import numpy as np
from twinstar_gis.data.dataset import build_dataset, load_dataset
from twinstar_gis.model import traveltime as tt
from twinstar_gis.settings import DEFAULT
import twinstar_gis
twinstar_gis_src = twinstar_gis.__file__
res, what = float(sys.argv[1]), sys.argv[2]
ds = load_dataset(build_dataset(tempfile.mkdtemp())[0])
s = DEFAULT.override(**{"access.resolution_m": res})
out = {"res": res}
if what == "cost":
    t0 = time.perf_counter()
    m = tt.build_model(ds.layers, dem_path=ds.dem_path, settings=s)
    out["build_s"] = round(time.perf_counter() - t0, 2)
    g = m.graph
    out["graph_bytes"] = int(g.data.nbytes + g.indices.nbytes + g.indptr.nbytes)
    out["cells"] = int(m.inside.sum())
    t0 = time.perf_counter()
    surf = tt.time_surface(m, ["CORE_150400", "CORE_150500"], direction="to")
    out["surface_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    tt.time_surface(m, ["CORE_150400", "CORE_150500"], direction="to", limit=120)
    out["surface_limit120_s"] = round(time.perf_counter() - t0, 2)
else:
    r = tt.accessibility(ds.layers, dem_path=ds.dem_path, settings=s)
    tw = r.twin_city.set_index("indicator")["value"]
    out.update({k: (None if v != v else float(v)) for k, v in tw.items()})
    p = tt.accessibility(ds.layers, dem_path=ds.dem_path, settings=s, include_planned=True)
    out["planned_core_to_core_fastest_min"] = float(p.twin_city.set_index("indicator")["value"]["core_to_core_fastest_min"])
out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)
out["src"] = twinstar_gis_src
print("RESULT " + json.dumps(out))
'''


def run(src, res, what):
    env = dict(os.environ, PYTHONPATH=src)
    p = subprocess.run([sys.executable, "-c", CHILD, str(res), what],
                       capture_output=True, text=True, env=env, cwd="/tmp", check=False)
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    return json.loads(line[0][7:]) if line else {"error": p.stderr.strip().splitlines()[-1:]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", default="/work/main")
    ap.add_argument("--res", nargs="*", type=float, default=[1000.0, 250.0])
    a = ap.parse_args()
    for res in a.res:
        for label, src in (("before", a.before), ("after", HERE)):
            print(label, json.dumps(run(src, res, "cost")), flush=True)
    for label, src in (("before", a.before), ("after", HERE)):
        print(label, "headline", json.dumps(run(src, 1000.0, "headline")), flush=True)


if __name__ == "__main__":
    main()
