"""Benchmark: the travel-time model (network joined to the friction surface) over the whole region.

1. Network only, on the embedded dataset: times from all county seats, cores and parks to
   all nodes with scipy.sparse.csgraph.dijkstra (our engine) and networkx (the engine
   behind OSMnx), same graph, same run; results compared.
2. The model at 1000 m and 250 m over the whole region (one child process each, for its
   peak memory): building it (network, friction, joined graph), one surface to the two
   cores (multi-source), one surface with ``limit=`` 120 min, the whole
   :func:`accessibility` run (OD of 36 origins, nearest tables, rasters, isochrones,
   county statistics).
3. The same friction grid, cells only, seeded at the two cores' cells: our cell graph with
   scipy vs scikit-image's ``MCP_Geometric`` (same cost rule: distance x mean of the two
   cells' costs), time ratio and largest difference.

    python benchmarks/bench_access.py [--dataset twinstar_output/data/twinstar_region.gpkg] [--res 1000 250]

Measured 2026-11-24 (2 CPU cores shared with other jobs, so times are upper bounds):

network: 1888 nodes, 4044 directed edges, 36 sources: scipy 4-9 ms, networkx 90-310 ms (22-35x), max diff 0

cell m  cells      inside     edges       build s  surface s  limit120 s  access() s  MCP/ours  max diff  peak MiB
4000       18,422      9,106      75,800     0.30       0.00        0.00         0.4       1.2   2.3e-13       213
1000      291,114    145,821   1,163,346     0.70       0.11        0.02         6.3       1.4   4.5e-13       355
 250    4,650,048  2,332,971  18,634,498    11.52       3.38        0.27       143.8       1.1   3.4e-13     2,386

(cells only, seeded at the two cores: ours 0.00 / 0.11 / 1.13 s, scikit-image MCP_Geometric
0.00 / 0.15 / 1.27 s; same cells reached; max diff in minutes.)

``access()`` at 250 m is ~45 whole-graph Dijkstras (36 OD origins, per-core and per-station
surfaces, expressway, isochrones) of ~3 s each; ``limit=120`` cuts a surface ~10x.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import dijkstra

from twinstar_gis.data.dataset import build_dataset, load_dataset
from twinstar_gis.model.network import build_network


def _nx_graph(csr):
    coo = csr.tocoo()
    g = nx.DiGraph()
    g.add_nodes_from(range(csr.shape[0]))
    g.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()))
    return g


def compare_network(csr, sources, label):
    t = time.perf_counter()
    ours = dijkstra(csr, directed=True, indices=sources)
    t_ours = time.perf_counter() - t
    g = _nx_graph(csr)
    t = time.perf_counter()
    theirs = np.full_like(ours, np.inf)
    for k, s in enumerate(sources):
        for node, d in nx.single_source_dijkstra_path_length(g, int(s), weight="weight").items():
            theirs[k, node] = d
    t_nx = time.perf_counter() - t
    both = np.isfinite(ours) & np.isfinite(theirs)
    diff = np.max(np.abs(ours[both] - theirs[both])) if both.any() else 0.0
    print(f"{label}: {csr.shape[0]} nodes, {csr.nnz} directed edges, {len(sources)} sources: "
          f"scipy {t_ours * 1000:.1f} ms, networkx {t_nx * 1000:.0f} ms, ratio {t_nx / t_ours:.0f}x, "
          f"max diff {diff:.1e} min, same reachability {bool((np.isfinite(ours) == np.isfinite(theirs)).all())}")


CHILD = r"""
import sys, time, resource, numpy as np
from skimage.graph import MCP_Geometric
from twinstar_gis.data.dataset import load_dataset
from twinstar_gis.model import traveltime as tt
from twinstar_gis.settings import DEFAULT
ds = load_dataset(sys.argv[1]); res = float(sys.argv[2])
s = DEFAULT.override(**{"access.resolution_m": res})
cores = ["CORE_150400", "CORE_150500"]
t = time.perf_counter(); m = tt.build_model(ds.layers, dem_path=ds.dem_path, settings=s); t_build = time.perf_counter() - t
t = time.perf_counter(); surf = tt.time_surface(m, cores, direction="to"); t_surf = time.perf_counter() - t
t = time.perf_counter(); tt.time_surface(m, cores, direction="to", limit=120); t_lim = time.perf_counter() - t
t = time.perf_counter(); tt.accessibility(ds.layers, dem_path=ds.dem_path, settings=s); t_all = time.perf_counter() - t
# Cells only (no network), seeded at the cores' cells: scipy on our cell graph vs scikit-image MCP.
cells_only = tt.model_from_raster(m.speed_kmh, m.grid, inside=m.inside)
pts = ds["places"].set_index("place_id").geometry[cores]
cell = tt._cells_of(m.grid, pts.x.to_numpy(), pts.y.to_numpy())
rc = [divmod(int(c), m.grid.width) for c in cell]
t = time.perf_counter(); ours = tt.time_surface(cells_only, pts); t_ours = time.perf_counter() - t
cost = np.where(m.inside, 60.0 / m.speed_kmh / 1000.0 * res, -1.0)  # minutes to cross one cell; -1 impassable
t = time.perf_counter(); mcp = MCP_Geometric(cost, fully_connected=True)
theirs, _ = mcp.find_costs(rc); t_mcp = time.perf_counter() - t
theirs = np.where(m.inside & np.isfinite(theirs), theirs, np.nan)
ok = np.isfinite(ours) & np.isfinite(theirs)
diff = float(np.max(np.abs(ours[ok] - theirs[ok])))
same = bool((np.isfinite(ours) == np.isfinite(theirs)).all())
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(m.grid.width * m.grid.height, int(m.inside.sum()), m.graph.nnz, t_build, t_surf, t_lim, t_all,
      t_ours, t_mcp, diff, same, rss)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset")
    ap.add_argument("--res", type=float, nargs="*", default=[1000.0, 250.0])
    args = ap.parse_args()
    path = args.dataset
    if not path:
        import tempfile

        path = build_dataset(tempfile.mkdtemp())[0]
    ds = load_dataset(path)
    net = build_network(ds.layers)
    ids = [i for i in net.place_index.index if i.startswith(("SEAT_", "CORE_", "P"))]
    compare_network(net.graph, net.place_index[ids].to_numpy(), "embedded multimodal network")
    head = (f"{'cell m':>7} {'cells':>9} {'inside':>9} {'edges':>10} {'build s':>8} {'surface s':>9} "
            f"{'limit120 s':>10} {'access() s':>10} {'cells-only s':>12} {'skimage MCP s':>13} {'MCP/ours':>8} "
            f"{'max diff min':>12} {'same reach':>10} {'peak MiB':>9}")
    print(head)
    for res in args.res:
        out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(res)],
                             capture_output=True, text=True, check=True)
        cells, inside, edges, tb, ts, tl, ta, to, tm, diff, same, rss = out.stdout.split()
        print(f"{res:>7.0f} {int(cells):>9} {int(inside):>9} {int(edges):>10} {float(tb):>8.2f} {float(ts):>9.2f} "
              f"{float(tl):>10.2f} {float(ta):>10.1f} {float(to):>12.2f} {float(tm):>13.2f} "
              f"{float(tm) / float(to):>8.1f} {float(diff):>12.1e} {same:>10} {float(rss):>9.0f}")


if __name__ == "__main__":
    main()
