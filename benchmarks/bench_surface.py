"""The land surface against scikit-image's MCP and GRASS ``r.cost``: same friction raster, same seeds.

    python benchmarks/bench_surface.py [--res 250 100] [--workdir /tmp/twinstar_bench/surface]
    python benchmarks/bench_surface.py --quick          # 2 km and 1 km, a few seconds

For each cell size:

1. ``prep`` (one child process): the embedded dataset with its DEM; the land speed grid exactly as
   :func:`twinstar_gis.model.traveltime.build_model` makes it (network -> ``land_speed`` ->
   ``friction_surface`` with the slope factor, the cells of places/parks/stations added to the
   inside cells), written with :func:`twinstar_gis.model.surface.write_raster` (float32 GeoTIFF,
   nodata outside the study area); the two city cores' cells.  ``--quick`` also checks that this
   grid equals ``build_model(...).speed_kmh`` / ``.inside``.
2. ``ours``: read that GeoTIFF, :func:`~twinstar_gis.model.traveltime.model_from_raster` without a
   network (the land alone: the speed raster, the inside mask and the inside cells' 32-bit flat index; no graph),
   then :func:`~twinstar_gis.model.traveltime.time_surface` from the two core cell centres
   (``direction="from"``).  This is the land part of the model; the network and the joins are not
   in it.
3. ``mcp``: ``skimage.graph.MCP_Geometric`` (8 neighbours) on cost per cell = pace x cell size
   (minutes), ``inf`` outside (impassable), ``find_costs`` from the two core cells.
4. ``grass``: GRASS ``r.cost`` (Debian ``grass-core``, GPL-2: a benchmark tool only, never a
   dependency of the package) in a temporary location made from the GeoTIFF: ``r.in.gdal``,
   cost per cell = ``60 / speed / 1000 * res`` by ``r.mapcalc`` (DCELL), then
   ``r.cost`` without ``-k`` (8 neighbours) from the two core cell centres, nulls excluded
   (outside the study area), ``memory=`` as given (``--grass-memory``, MB; several values = one
   run each), ``r.out.gdal`` as Float64.  Only ``r.cost`` itself is timed and measured.

All three tools use the same move cost: (cost of the cell left + cost of the cell entered) / 2
x 1 (axial) or sqrt(2) (diagonal) -- ours states it in ``surface.land_graph``, r.cost in its
algorithm (``EW_fac``/``NS_fac``/``DIAG_fac`` halves), MCP_Geometric in its docstring -- so the
surfaces should agree to floating point on every cell the three reach.  Each tool runs in its own
process under ``/usr/bin/time -v`` (peak RSS = "Maximum resident set size"); ``baseline`` is the
RSS of the Python child after its imports.  Threads are pinned to one (OMP/BLAS/GDAL).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GDAL_NUM_THREADS")}
CORES = ("CORE_150400", "CORE_150500")


def _rss_mib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _read_speed(work):
    import numpy as np
    import rasterio

    from twinstar_gis.model.surface import NODATA, Grid

    with rasterio.open(work / "speed.tif") as src:
        speed = src.read(1).astype(np.float64)
        grid = Grid(src.transform, src.width, src.height, src.crs, float(src.res[0]))
    inside = speed != NODATA
    speed[~inside] = 1.0  # never read: the cell is not active
    return speed, inside, grid


def child_prep(res, work, check):
    """The model's land speed grid -> speed.tif; the cores' cells -> seeds.json."""
    import tempfile

    import numpy as np

    from twinstar_gis.data.dataset import build_dataset, load_dataset
    from twinstar_gis.model.landuse import land_speed
    from twinstar_gis.model.network import build_network, network_crs
    from twinstar_gis.model.surface import friction_surface, make_grid, write_raster
    from twinstar_gis.model.traveltime import _cells_of, _region, build_model
    from twinstar_gis.settings import DEFAULT

    ds = load_dataset(build_dataset(tempfile.mkdtemp())[0])
    layers, s = ds.layers, DEFAULT.override(**{"access.resolution_m": res})
    crs = network_crs(layers)
    net = build_network(layers, settings=s, crs=crs)
    grid = make_grid(_region(layers), res, crs=crs)  # the lines of build_model up to model_from_raster
    base_speed, _ = land_speed(layers, grid, net, s)
    speed, _, inside = friction_surface(layers, grid, dem_path=ds.dem_path, settings=s, land_speed=base_speed)
    pts = net.place_index.to_numpy(dtype=np.int64)
    pts = pts[np.isin(net.kind[pts], ["place", "station"])]
    flat, _ = _cells_of(grid, net.lon[pts], net.lat[pts])
    inside.ravel()[flat[flat >= 0]] = True
    out = {"res": res, "height": grid.height, "width": grid.width, "inside_cells": int(inside.sum()),
           "land_model": s.access.land_model, "speed_min": float(speed[inside].min()),
           "speed_max": float(speed[inside].max())}
    if check:
        m = build_model(layers, dem_path=ds.dem_path, settings=s, network=net)
        out["same_as_build_model"] = bool(np.array_equal(m.speed_kmh, speed) and np.array_equal(m.inside, inside))
    write_raster(work / "speed.tif", np.where(inside, speed, np.nan), grid)
    p = ds.layers["places"].set_index("place_id").loc[list(CORES)]
    cflat, _ = _cells_of(grid, p.geometry.x.to_numpy(), p.geometry.y.to_numpy())
    r, c = cflat // grid.width, cflat % grid.width
    x, y = grid.xy(r, c)
    seeds = {"rows": r.tolist(), "cols": c.tolist(), "x": x.tolist(), "y": y.tolist()}
    (work / "seeds.json").write_text(json.dumps(seeds))
    out["seed_inside"] = [bool(inside[a, b]) for a, b in zip(r, c)]
    return out


def child_ours(work):
    import numpy as np

    from twinstar_gis.model.traveltime import model_from_raster, time_surface

    from twinstar_gis.model.gridsearch import grid_times

    base = _rss_mib()  # after importing the package (geopandas, rasterio, scipy, numba)
    seeds = json.loads((work / "seeds.json").read_text())
    t0 = time.perf_counter()
    grid_times(np.ones((1, 1)), np.ones((1, 1), bool), 1.0, [0], [0.0])  # compile, or load it from the cache
    t_jit = time.perf_counter() - t0
    base_jit = _rss_mib()
    t0 = time.perf_counter()
    speed, inside, grid = _read_speed(work)
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = model_from_raster(speed, grid, inside=inside)
    t_build = time.perf_counter() - t0
    peak_build = _rss_mib()
    t0 = time.perf_counter()
    surf = time_surface(m, np.column_stack([seeds["x"], seeds["y"]]), crs=None)
    t_surf = time.perf_counter() - t0
    np.save(work / "ours.npy", surf)
    return {"jit_s": t_jit, "read_s": t_read, "build_s": t_build, "surface_s": t_surf, "total_s": t_build + t_surf,
            "cells_bytes": int(m.cells.nbytes), "baseline_mib": base,
            "baseline_with_search_mib": base_jit, "peak_after_build_mib": peak_build, "peak_mib": _rss_mib()}


def child_mcp(work):
    import numpy as np
    import rasterio
    from skimage.graph import MCP_Geometric

    base = _rss_mib()
    seeds = json.loads((work / "seeds.json").read_text())
    t0 = time.perf_counter()
    with rasterio.open(work / "speed.tif") as src:  # rasterio only: no twinstar_gis imports in this process
        speed, res, nodata = src.read(1).astype(np.float64), float(src.res[0]), src.nodata
    with np.errstate(divide="ignore"):
        cost = np.where(speed != nodata, 60.0 / speed / 1000.0 * res, np.inf)  # minutes to cross one cell
    del speed
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    mcp = MCP_Geometric(cost, fully_connected=True)
    t_init = time.perf_counter() - t0
    t0 = time.perf_counter()
    cum, _ = mcp.find_costs(starts=list(zip(seeds["rows"], seeds["cols"])))
    t_find = time.perf_counter() - t0
    np.save(work / "mcp.npy", np.where(np.isfinite(cum), cum, np.nan))
    return {"read_s": t_read, "init_s": t_init, "find_s": t_find, "total_s": t_init + t_find,
            "baseline_mib": base, "peak_mib": _rss_mib()}


GRASS_SCRIPT = r"""set -e
r.in.gdal -o --quiet input={tif} output=speed
g.region raster=speed
r.mapcalc --quiet "cost = if(isnull(speed), null(), 60.0 / speed / 1000.0 * {res})"
r.cost -i input=cost output=acc start_coordinates={coords} memory={memory} > {work}/rcost_info_{memory}.txt 2>&1 || true
/usr/bin/time -v -o {work}/rcost_time_{memory}.txt r.cost --quiet input=cost output=acc start_coordinates={coords} memory={memory}
r.out.gdal --quiet --overwrite -f input=acc output={work}/rcost_{memory}.tif type=Float64 createopt=COMPRESS=DEFLATE
"""


def _time_v(path):
    txt = Path(path).read_text()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", txt)
    h, m, s = (float(g) if g else 0.0 for g in wall.groups())
    return {"wall_s": h * 3600 + m * 60 + s,
            "cpu_s": float(re.search(r"User time \(seconds\): ([\d.]+)", txt).group(1))
            + float(re.search(r"System time \(seconds\): ([\d.]+)", txt).group(1)),
            "peak_mib": int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", txt).group(1)) / 1024}


def run_grass(work, res, memory):
    if shutil.which("grass") is None:
        return {"error": "GRASS not installed (apt-get install grass-core)"}
    seeds = json.loads((work / "seeds.json").read_text())
    coords = ",".join(f"{x:.3f},{y:.3f}" for x, y in zip(seeds["x"], seeds["y"]))
    script = work / f"rcost_{memory}.sh"
    script.write_text(GRASS_SCRIPT.format(tif=work / "speed.tif", res=res, coords=coords, memory=memory, work=work))
    p = subprocess.run(["grass", "--tmp-location", str(work / "speed.tif"), "--exec", "bash", str(script)],
                       capture_output=True, text=True, check=False, env=dict(os.environ, **ONE_THREAD))
    if p.returncode != 0:
        return {"error": p.stderr[-2000:]}
    out = _time_v(work / f"rcost_time_{memory}.txt")
    info = (work / f"rcost_info_{memory}.txt").read_text()
    out["info"] = " ".join(ln.strip() for ln in info.splitlines() if re.search(r"MB|memory|disk|segment", ln, re.I))[:300]
    return out


def compare(work, memories):
    import numpy as np
    import rasterio

    ours = np.load(work / "ours.npy")
    surfaces = {"mcp": np.load(work / "mcp.npy")}
    for mem in memories:
        f = work / f"rcost_{mem}.tif"
        if f.exists():
            with rasterio.open(f) as src:
                a = src.read(1, masked=True)
            surfaces[f"r.cost(memory={mem})"] = np.where(a.mask, np.nan, a.filled(np.nan))
    out = {"ours_reached": int(np.isfinite(ours).sum()), "ours_max_min": float(np.nanmax(ours))}
    for name, other in surfaces.items():
        both = np.isfinite(ours) & np.isfinite(other)
        d = np.abs(ours[both] - other[both])
        rel = d / np.maximum(ours[both], 1e-9)
        out[name] = {"reached": int(np.isfinite(other).sum()), "both": int(both.sum()),
                     "only_ours": int((np.isfinite(ours) & ~np.isfinite(other)).sum()),
                     "only_other": int((~np.isfinite(ours) & np.isfinite(other)).sum()),
                     "median_abs_min": float(np.median(d)), "max_abs_min": float(d.max()),
                     "max_rel": float(rel[ours[both] > 1].max())}
    return out


def _child(*args):
    cmd = ["/usr/bin/time", "-v", "-o", str(Path(args[1]) / f"time_{args[0]}.txt"), sys.executable, __file__,
           "--child", *map(str, args)]
    p = subprocess.run(cmd, capture_output=True, text=True, check=False, env=dict(os.environ, **ONE_THREAD))
    if p.returncode != 0:
        return {"error": p.stderr[-3000:]}
    out = json.loads(p.stdout.strip().splitlines()[-1])
    tv = _time_v(Path(args[1]) / f"time_{args[0]}.txt")
    out["process_wall_s"], out["process_peak_mib"] = tv["wall_s"], tv["peak_mib"]
    return out


def _load():
    return "load average %.1f %.1f %.1f" % os.getloadavg()


def _fmt(res):
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in res.items())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--res", nargs="+", type=float, default=[250.0, 100.0])
    ap.add_argument("--quick", action="store_true", help="2 km and 1 km cells, and check the grid against build_model")
    ap.add_argument("--workdir", default="/tmp/twinstar_bench/surface")
    ap.add_argument("--grass-memory", nargs="+", type=int, default=[300], help="r.cost memory= (MB); one run each")
    ap.add_argument("--tools", nargs="+", default=["ours", "mcp", "grass"])
    ap.add_argument("--child", nargs="+")
    a = ap.parse_args()
    if a.child:
        step, work, *rest = a.child
        work = Path(work)
        fn = {"prep": lambda: child_prep(float(rest[0]), work, rest[1] == "1"), "ours": lambda: child_ours(work),
              "mcp": lambda: child_mcp(work)}[step]
        print(json.dumps(fn()))
        return
    if a.quick:
        a.res = [2000.0, 1000.0]
    for res in a.res:
        work = Path(a.workdir) / f"{int(res)}m"
        work.mkdir(parents=True, exist_ok=True)
        print(f"[{res:g} m] prep: {_fmt(_child('prep', work, res, int(a.quick)))}", flush=True)
        for tool in a.tools:
            if tool == "grass":
                for mem in a.grass_memory:
                    print(f"[{res:g} m] r.cost memory={mem}: {_fmt(run_grass(work, res, mem))}, {_load()}", flush=True)
            else:
                print(f"[{res:g} m] {tool}: {_fmt(_child(tool, work))}, {_load()}", flush=True)
        print(f"[{res:g} m] compare: {json.dumps(compare(work, a.grass_memory))}", flush=True)


if __name__ == "__main__":
    main()
