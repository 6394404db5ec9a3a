"""Benchmark: GCJ-02 -> WGS-84 of N points, vectorised vs a per-point Python converter.

The baseline is the usual per-point converter found on PyPI, written with
``math`` and a Python loop, iterating to the same tolerance (so both give
the same answer; many packages stop after one step and are metres off).
Both run in the same process on the same points.

    python benchmarks/bench_gcj.py [--n 1000000] [--baseline-n 100000]

The baseline is timed on ``--baseline-n`` points and scaled linearly (it is a
plain loop, linear by construction); pass ``--baseline-n`` equal to ``--n`` to
time it on all points.
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc

import numpy as np

from twinstar_gis.data.gcj02 import gcj02_to_wgs84


def _fwd(lon, lat):
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    s = math.sqrt(abs(x))
    c = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * s + c
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * s + c
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    r = lat / 180.0 * math.pi
    m = 1 - ee * math.sin(r) ** 2
    sm = math.sqrt(m)
    return lon + dlon * 180.0 / (a / sm * math.cos(r) * math.pi), lat + dlat * 180.0 / ((a * (1 - ee)) / (m * sm) * math.pi)


def per_point_gcj_to_wgs(lon, lat, tol=1e-10):
    x, y = lon, lat
    for _ in range(20):
        fx, fy = _fwd(x, y)
        ex, ey = fx - lon, fy - lat
        x, y = x - ex, y - ey
        if abs(ex) < tol and abs(ey) < tol:
            break
    return x, y


def timed(fn, *, memory=False):
    """Time ``fn`` (best of 3 for short runs); then, if asked, its peak memory in a separate
    run (tracemalloc slows Python code, so it never overlaps the timing)."""
    best, out = float("inf"), None
    for _ in range(3):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
        if best > 2.0:
            break
    peak = 0
    if memory:
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return out, best, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--baseline-n", type=int, default=100_000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'points':>10} {'vectorised s':>13} {'peak MiB':>9} {'per-point s':>12} {'ratio':>7}")
    for n in sorted({args.n // 100, args.n // 10, args.n}):
        lon = rng.uniform(116.3, 123.8, n)
        lat = rng.uniform(41.2, 45.7, n)
        (vx, vy), tv, peak = timed(lambda: gcj02_to_wgs84(lon, lat), memory=True)
        nb = min(n, args.baseline_n)
        (bx, by), tb, _ = timed(lambda: list(zip(*[per_point_gcj_to_wgs(a, b) for a, b in zip(lon[:nb], lat[:nb])])))
        agree = max(np.max(np.abs(np.array(bx) - vx[:nb])), np.max(np.abs(np.array(by) - vy[:nb])))
        tb_full = tb * n / nb
        est = "" if nb == n else " (scaled)"
        print(f"{n:>10} {tv:>13.3f} {peak / 2**20:>9.1f} {tb_full:>12.2f} {tb_full / tv:>7.0f}x{est}  max diff {agree:.1e} deg")


if __name__ == "__main__":
    main()
