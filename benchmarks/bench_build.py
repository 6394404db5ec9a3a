"""Benchmark: `twinstar data build` on the embedded dataset, step by step.

    python benchmarks/bench_build.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc

from twinstar_gis.data.dataset import build_dataset


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    totals = []
    for i in range(args.repeat):
        marks = []
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            build_dataset(d, on_step=lambda s: marks.append((s, time.perf_counter())))
        total = time.perf_counter() - t0
        tracemalloc.start()  # separate run: tracemalloc would distort the timing
        with tempfile.TemporaryDirectory() as d:
            build_dataset(d)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        totals.append(total)
        steps = [(s, (marks[j + 1][1] if j + 1 < len(marks) else t0 + total) - t) for j, (s, t) in enumerate(marks)]
        print(f"run {i + 1}: {total:.2f} s, peak Python memory {peak / 2**20:.0f} MiB")
        for s, dt in steps:
            print(f"    {dt:6.2f} s  {s}")
    print(f"best {min(totals):.2f} s, median {sorted(totals)[len(totals) // 2]:.2f} s")


if __name__ == "__main__":
    main()
