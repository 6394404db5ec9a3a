"""Benchmark: shortest travel times (scipy csgraph vs networkx) and raster cost distance.

1. On the embedded dataset's multimodal network: times from all county seats,
   cores and parks to all nodes, with scipy.sparse.csgraph.dijkstra (our engine)
   and networkx's single_source_dijkstra_path_length (the engine behind OSMnx),
   same graph, same run; results compared.
2. The same on a denser synthetic road grid, to see growth with graph size.
3. Raster cost distance to the two cores over the whole region at 2000, 1000,
   500 and 250 m: time and peak memory against the number of cells.

    python benchmarks/bench_access.py [--dataset twinstar_output/data/twinstar_region.gpkg]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from twinstar_gis.dataset import build_dataset, load_dataset
from twinstar_gis.network import build_network


def _nx_graph(csr):
    coo = csr.tocoo()
    g = nx.Graph()
    g.add_nodes_from(range(csr.shape[0]))
    g.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()))
    return g


def compare(csr, sources, label):
    t = time.perf_counter()
    ours = dijkstra(csr, directed=False, indices=sources)
    t_ours = time.perf_counter() - t
    g = _nx_graph(csr)
    t = time.perf_counter()
    theirs = np.full_like(ours, np.inf)
    for k, s in enumerate(sources):
        for node, d in nx.single_source_dijkstra_path_length(g, int(s), weight="weight").items():
            theirs[k, node] = d
    t_nx = time.perf_counter() - t
    diff = np.nanmax(np.abs(np.where(np.isfinite(ours), ours, 0) - np.where(np.isfinite(theirs), theirs, 0)))
    print(f"{label}: {csr.shape[0]} nodes, {csr.nnz // 2} edges, {len(sources)} sources: "
          f"scipy {t_ours * 1000:.1f} ms, networkx {t_nx * 1000:.0f} ms, ratio {t_nx / t_ours:.0f}x, max diff {diff:.1e} min")


def grid_graph(n):
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    w = np.random.default_rng(0).uniform(0.5, 2.0, u.size)
    return coo_matrix((np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n * n, n * n)).tocsr()


RASTER_CHILD = """
import sys, time, resource, numpy as np
from twinstar_gis.dataset import load_dataset
from twinstar_gis import raster_access as ra
ds = load_dataset(sys.argv[1]); res = float(sys.argv[2])
b = ds['boundaries']
g = ra.make_grid(b[b.level == 'prefecture'], res)
sp, _, inside = ra.friction_surface(ds.layers, g, dem_path=ds.dem_path)
cores = ds['places'][ds['places'].kind == 'city_core'].to_crs(ra.EQUAL_AREA_CRS)
t = time.perf_counter()
ra.cost_distance(sp, g, np.column_stack([cores.geometry.x, cores.geometry.y]), active=inside)
dt = time.perf_counter() - t
print(g.width * g.height, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset")
    args = ap.parse_args()
    path = args.dataset
    if not path:
        import tempfile

        path = build_dataset(tempfile.mkdtemp())[0]
    ds = load_dataset(path)
    net = build_network(ds.layers)
    ids = [i for i in net.place_index.index if i.startswith(("SEAT_", "CORE_", "P"))]
    compare(net.graph, net.place_index[ids].to_numpy(), "embedded multimodal network")
    for n in (100, 300):
        compare(grid_graph(n), np.arange(0, n * n, max(1, n * n // 34))[:34], f"synthetic {n}x{n} road grid")
    print(f"{'cell m':>7} {'cells':>10} {'time s':>8} {'peak RSS MiB':>13} {'us/cell':>8}")
    for res in (2000, 1000, 500, 250):
        out = subprocess.run([sys.executable, "-c", RASTER_CHILD, str(path), str(res)], capture_output=True, text=True, check=True)
        cells, dt, rss = out.stdout.split()
        print(f"{res:>7} {int(cells):>10} {float(dt):>8.2f} {float(rss):>13.0f} {float(dt) / int(cells) * 1e6:>8.2f}")


if __name__ == "__main__":
    main()
