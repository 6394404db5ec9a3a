"""Benchmark: OSM import, network build and OD on synthetic region-wide networks; other engines.

For each size (edges of the synthetic road network, ``gen_osm_network.py``), each step runs in a
fresh process so that its peak memory (``ru_maxrss``, which includes ~250 MiB of imported
libraries, reported separately as ``baseline``) is its own:

* ``import``  ``twinstar_gis.model.osm.import_osm``: PBF -> GeoPackage + project file
* ``build``   read the GeoPackage, ``build_network`` with the embedded places and parks
              (``dataset.build_layers``) and the OSM stations, then the OD matrix among all
              seats + parks + stations (``od_matrix``)
* ``compare`` on the same directed graph (our CSR): igraph (build + ``distances``), pandana
              (build + ``shortest_path_lengths`` for every pair), networkx (the engine behind
              OSMnx; build + ``single_source_dijkstra_path_length``, timed on a few sources and
              scaled), and scipy (ours); results checked equal.

    python benchmarks/bench_network.py --sizes 50000 200000 [--workdir /tmp/twinstar_bench]
    python benchmarks/bench_network.py --sizes 1000000 --steps import build

Isochrones from the two cores and the raster step belong to ``twinstar_gis.model.traveltime`` and are
measured by the lead once that module is merged (rows marked in benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _layers(gpkg):
    from twinstar_gis.data.dataset import build_layers
    from twinstar_gis.data.io import read_gpkg

    osm, _ = read_gpkg(gpkg)
    base = build_layers()
    return {"corridors": osm["corridors"], "nodes": osm["nodes"], "places": base["places"], "parks": base["parks"]}


def _ids(layers):
    st = layers["nodes"]
    return (list(layers["places"]["place_id"]) + list(layers["parks"]["park_id"])
            + list(st.loc[st["kind"].isin(["rail_station", "hsr_station"]), "node_id"]))


def step_import(pbf, out):
    from twinstar_gis.model.osm import import_osm

    base = _rss_mib()
    t = time.perf_counter()
    import_osm(pbf, out)
    return {"import_s": time.perf_counter() - t, "baseline_mib": base, "peak_mib": _rss_mib()}


def step_build(gpkg):
    from twinstar_gis.model.network import build_network, od_matrix

    base = _rss_mib()
    t = time.perf_counter()
    layers = _layers(gpkg)
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    net = build_network(layers)
    t_build = time.perf_counter() - t
    peak_build = _rss_mib()
    ids = _ids(layers)
    t = time.perf_counter()
    od = od_matrix(net, ids)
    t_od = time.perf_counter() - t
    return {"read_s": t_read, "build_s": t_build, "od_s": t_od, "od_points": len(ids), "nodes": net.n,
            "edges": int(net.graph.nnz), "road_edges": int((net.edges["mode"] == "road").sum()),
            "od_finite_share": float(np.isfinite(od.to_numpy()).mean()), "problems": len(net.problems),
            "baseline_mib": base, "peak_build_mib": peak_build, "peak_mib": _rss_mib()}


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def step_compare(gpkg, nx_sources):
    import igraph as ig
    import networkx as nx
    import pandana as pdna
    import pandas as pd

    from twinstar_gis.model.network import build_network, travel_times

    layers = _layers(gpkg)
    net = build_network(layers)
    ids = _ids(layers)
    src = net.place_index[ids].to_numpy()
    g = net.graph.tocoo()
    u, v, w = g.row.astype(np.int64), g.col.astype(np.int64), g.data
    res = {"nodes": net.n, "edges": len(w), "points": len(ids)}
    ours, res["scipy_query_s"] = _timed(lambda: travel_times(net, ids)[:, src])
    # igraph
    gi, res["igraph_build_s"] = _timed(lambda: ig.Graph(n=net.n, edges=np.column_stack([u, v]), directed=True,
                                                        edge_attrs={"weight": w}))
    d_ig, res["igraph_query_s"] = _timed(lambda: np.array(gi.distances(source=src.tolist(), target=src.tolist(),
                                                                       weights="weight", mode="out")))
    res["igraph_max_diff"] = float(np.nanmax(np.abs(np.where(np.isinf(d_ig), np.nan, d_ig) - ours)))
    # pandana (contraction hierarchies; build includes the preprocessing)
    nodes = pd.DataFrame({"x": net.lon, "y": net.lat})
    pn, res["pandana_build_s"] = _timed(lambda: pdna.Network(nodes["x"], nodes["y"], pd.Series(u), pd.Series(v),
                                                             pd.DataFrame({"w": w}), twoway=False))
    o, d = np.repeat(src, len(src)), np.tile(src, len(src))
    d_pn, res["pandana_query_s"] = _timed(lambda: np.asarray(pn.shortest_path_lengths(o, d, imp_name="w"), float))
    d_pn = d_pn.reshape(len(src), len(src))
    d_pn[d_pn > 1e8] = np.nan  # pandana's "unreachable" is a huge number
    res["pandana_max_diff"] = float(np.nanmax(np.abs(d_pn - ours)))
    # networkx: build, then a few sources, scaled to all
    gn, res["networkx_build_s"] = _timed(lambda: _nx_graph(nx, u, v, w))
    k = min(nx_sources, len(src))
    d_nx, t = _timed(lambda: [nx.single_source_dijkstra_path_length(gn, int(s), weight="weight") for s in src[:k]])
    res["networkx_query_s_scaled"] = t * len(src) / k
    res["networkx_sources_timed"] = k
    res["networkx_max_diff"] = float(max(abs(d_nx[i].get(int(t_), np.nan) - ours[i, j])
                                         for i in range(k) for j, t_ in enumerate(src) if np.isfinite(ours[i, j])))
    return res


def _nx_graph(nx, u, v, w):
    g = nx.DiGraph()
    g.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist()))
    return g


def _child(args):
    """Run one step in a fresh interpreter; return its JSON result."""
    out = subprocess.run([sys.executable, __file__, "--child", *map(str, args)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[50_000])
    ap.add_argument("--steps", nargs="+", default=["import", "build", "compare"])
    ap.add_argument("--workdir", default="/tmp/twinstar_bench")
    ap.add_argument("--nx-sources", type=int, default=5)
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
    if args.child:
        step, *rest = args.child
        fn = {"import": lambda: step_import(rest[0], rest[1]), "build": lambda: step_build(rest[0]),
              "compare": lambda: step_compare(rest[0], int(rest[1]))}[step]
        print(json.dumps(fn()))
        return
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    for n in args.sizes:
        pbf = work / f"net_{n}.osm.pbf"
        out = work / f"proj_{n}"
        if not pbf.exists():
            t = time.perf_counter()
            # About 60 % of the generator's bounding box lies in the two prefectures (the rest is
            # clipped away on import): generate n / 0.6 lattice edges to build about n road edges.
            subprocess.run([sys.executable, str(HERE / "gen_osm_network.py"), "--edges", str(int(n / 0.6)),
                            "--out", str(pbf)], check=True)
            print(f"[{n}] generated in {time.perf_counter() - t:.1f} s, {pbf.stat().st_size / 2**20:.1f} MiB")
        for step in args.steps:
            if step == "import":
                res = _child(["import", pbf, out])
            elif step == "build":
                res = _child(["build", out / "osm.gpkg"])
            else:
                res = _child(["compare", out / "osm.gpkg", args.nx_sources])
            print(f"[{n}] {step}: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                               for k, v in res.items()), flush=True)


if __name__ == "__main__":
    main()
