"""OD among 500 random places on an OSM-sized network, without the dense (sources x nodes) matrix.

    python benchmarks/bench_od.py --edges 5000000            # reads /tmp/twinstar_bench/proj_5000000
    python benchmarks/bench_od.py --quick                    # the 50k-edge project, 100 places

Needs the project folder written by ``bench_osm_run.py`` (``twinstar data import-osm``).  One process:

1. read the project's layers (``load_dataset(project=...)``) and add ``--sources`` places at the
   midpoints of random land-access roads (county and local roads, seed 0), ids ``OD0000``...;
2. ``build_network`` (the run's network: roads, rail, turn restrictions; the places linked to
   their nearest accessible edge) -- time and peak RSS;
3. ``twinstar_gis.model.network.network_od_matrix(net, ids)`` -- time, the peak RSS of this step
   alone (``VmHWM`` after resetting it through ``/proc/self/clear_refs``) and the tracemalloc
   peak of this step, against the dense matrix the step must not allocate:
   ``sources x physical nodes x 8`` bytes (and ``sources x states x 8`` for the state graph).

``twinstar_gis.model.traveltime.od_matrix(model, ids)`` between linked places takes the same path
(``times_between``: chunks of ``_CHUNK`` sources through ``net.graph``, only the target columns
kept); ``--model`` also builds the 1 km model on the same network and times it (another full OD).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path


def _hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_hwm():
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def _places(layers, n, seed):
    """``n`` places at the midpoints of random county/local roads (in the study area's corridors)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    rng = np.random.default_rng(seed)
    cor = layers["corridors"]
    cand = cor[cor["class"].isin(["county_road", "local_road"])]
    pick = cand.iloc[rng.choice(len(cand), size=n, replace=False)]
    pts = shapely.line_interpolate_point(np.asarray(pick.geometry.to_crs(4326).values), 0.5, normalized=True)
    base = layers["places"]
    extra = gpd.GeoDataFrame({"place_id": [f"OD{k:04d}" for k in range(n)], "name_zh": [f"点{k}" for k in range(n)],
                              "kind": "village"}, geometry=pts, crs=4326).to_crs(base.crs)
    return pd.concat([base, extra], ignore_index=True), list(extra["place_id"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edges", type=int, default=5_000_000)
    ap.add_argument("--quick", action="store_true", help="the 50k-edge project, 100 places")
    ap.add_argument("--workdir", default="/tmp/twinstar_bench")
    ap.add_argument("--sources", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", action="store_true", help="also traveltime.od_matrix on the 1 km model")
    a = ap.parse_args()
    if a.quick:
        a.edges, a.sources = 50_000, 100
    import tempfile

    from twinstar_gis.data.dataset import build_dataset, load_dataset
    from twinstar_gis.model.network import build_network, network_crs, network_od_matrix
    from twinstar_gis.model.traveltime import _linked
    from twinstar_gis.settings import DEFAULT

    out = {"edges_wanted": a.edges, "sources": a.sources, "baseline_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    t = time.perf_counter()
    ds = load_dataset(build_dataset(tempfile.mkdtemp())[0], project=Path(a.workdir) / f"proj_{a.edges}" / "project.toml")
    layers = dict(ds.layers)
    layers["places"], ids = _places(layers, a.sources, a.seed)
    out["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    net = build_network(layers, settings=DEFAULT, crs=network_crs(layers))
    out["build_s"] = time.perf_counter() - t
    out["peak_build_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    nodes = net.place_index[ids].to_numpy()
    out.update(nodes=int(net.n), states=int(net.n_states), arcs=int(net.graph.nnz),
               linked=int(_linked(net)[nodes].sum()))
    out["dense_nodes_gib"] = a.sources * net.n * 8 / 2**30
    out["dense_states_gib"] = a.sources * net.n_states * 8 / 2**30
    _reset_hwm()
    rss0 = _hwm_mib()
    tracemalloc.start()
    t = time.perf_counter()
    od = network_od_matrix(net, ids)
    out["od_s"] = time.perf_counter() - t
    out["od_tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    out["od_rss_before_mib"], out["od_peak_rss_mib"] = rss0, _hwm_mib()
    v = od.to_numpy()
    out["od_finite_share"] = float((v == v).mean())
    out["od_median_min"] = float(od.stack().median())
    if a.model:
        from twinstar_gis.model.traveltime import build_model, od_matrix

        t = time.perf_counter()
        model = build_model(layers, settings=DEFAULT, network=net)
        out["model_build_s"] = time.perf_counter() - t
        _reset_hwm()
        rss0 = _hwm_mib()
        t = time.perf_counter()
        od2 = od_matrix(model, ids)
        out["model_od_s"] = time.perf_counter() - t
        out["model_od_rss_before_mib"], out["model_od_peak_rss_mib"] = rss0, _hwm_mib()
        out["model_od_equals_network_od"] = bool(((od2 - od).abs().fillna(0) < 1e-9).all().all())
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
