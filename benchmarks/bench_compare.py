"""Benchmark: ``twinstar compare`` with 6 alternatives, serial vs a LocalCluster of 2 processes.

The alternatives are ``data/examples/alternatives/chifeng_tongliao.toml``: three alignments of a
Chifeng–Tongliao high-speed link (north via Kailu, direct, south via Naiman; the GeoJSON files
beside it) x two average speeds (200, 250 km/h), on the embedded data at 1 km, against the base.

Each engine runs the whole command once, in a child process (``--workers 0`` serial in process,
``--workers 2`` a LocalCluster): wall time, peak resident memory summed over the process tree
(sampled every 0.1 s with psutil) and of the largest single process, the CPU time of every process
(``getrusage``: on a shared machine CPU time says more than wall time), the run's
own timings (``run.json``: checking inputs, writing the base layers, evaluating, tables, page
and figure), and per alternative the time of each part (model and accessibility, linkage,
suitability, sites).  The two runs' tables are compared byte for byte.

    python benchmarks/bench_compare.py [--resolution 1000] [--out /tmp/bench_compare] [--no-render]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
ALTERNATIVES = ROOT / "data" / "examples" / "alternatives" / "chifeng_tongliao.toml"
# `twinstar compare` (registered in cli/main.py once merged; added here otherwise)
LAUNCH = ("import sys; from twinstar_gis.cli import cli; from twinstar_gis.cli.compare import compare; "
          "'compare' in cli.commands or cli.add_command(compare); sys.argv[0] = 'twinstar'; cli()")


def run(args: list[str]) -> dict:
    """Run the command in a child process; wall time, peak RSS of the tree (sampled) and of one process."""
    load0 = os.getloadavg()[0]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    parent = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    out = proc.stdout.read()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out}")
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    one = ru.ru_maxrss / 1024
    cpu = (ru.ru_utime + ru.ru_stime) - (ru0.ru_utime + ru0.ru_stime)  # every descendant process, waited for
    return {"wall": wall, "cpu": cpu, "tree_mib": peak / 2**20, "largest_mib": one, "output": out,
            "load": (load0, os.getloadavg()[0])}


def tables(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted((folder / "compare").glob("*.csv"))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resolution", type=float, default=1000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_compare"))
    ap.add_argument("--no-render", action="store_true")
    ap.add_argument("--cluster-first", action="store_true", help="run the LocalCluster before the serial run")
    a = ap.parse_args()
    rows, mans = [], {}
    engines = [("serial (--workers 0)", "0"), ("LocalCluster (--workers 2)", "2")]
    for label, workers in engines[::-1] if a.cluster_first else engines:
        out = a.out / f"w{workers}"
        args = ["compare", str(ALTERNATIVES), "--out", str(out), "--resolution", f"{a.resolution:g}", "--workers", workers]
        r = run(args + (["--no-render"] if a.no_render else []))
        man = json.loads((out / "run.json").read_text(encoding="utf-8"))
        mans[label] = (out, man)
        rows.append((label, r))
        print(f"{label}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU (all processes), peak RSS {r['tree_mib']:.0f} MiB (process tree, sampled), "
              f"largest process {r['largest_mib']:.0f} MiB; load average {r['load'][0]:.1f} -> {r['load'][1]:.1f} "
              f"on {os.cpu_count()} cores", flush=True)
    (o0, m0), (o2, m2) = mans[engines[0][0]], mans[engines[1][0]]
    rows = sorted(rows, key=lambda r: r[0] != engines[0][0])
    same = tables(o0) == tables(o2)
    print(f"\ntables identical serial vs LocalCluster(2): {same} ({len(tables(o0))} files)")
    print("\n| engine | wall s | CPU s | peak RSS, process tree | largest process | " +
          " | ".join(m0["compare"]["timings_s"]) + " |")
    print("|---|---:|---:|---:|---:|" + "---:|" * len(m0["compare"]["timings_s"]))
    for (label, r), man in zip(rows, (m0, m2)):
        t = man["compare"]["timings_s"]
        print(f"| {label} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['tree_mib']:.0f} MiB | {r['largest_mib']:.0f} MiB | "
              + " | ".join(f"{v:.1f}" for v in t.values()) + " |")
    print("\nper alternative (serial run), seconds:")
    parts = list(m0["alternatives"][0]["timings_s"])
    print("| alternative | total | " + " | ".join(parts) + " | peak RSS of its process |")
    print("|---|---:|" + "---:|" * len(parts) + "---:|")
    for alt in m0["alternatives"]:
        print(f"| {alt['name']} | {alt['seconds']:.1f} | " + " | ".join(f"{alt['timings_s'].get(p, 0):.1f}" for p in parts)
              + f" | {alt['peak_rss_mib']:.0f} MiB |")
    busy = sum(x["seconds"] for x in m2["alternatives"])
    print(f"\nLocalCluster: {m2['compare']['seconds']:.1f} s for {busy:.1f} s of evaluations on "
          f"{len(m2['compare']['workers'])} workers (the rest: starting the processes and importing the package)")
    rank = (o0 / "compare" / "ranking.csv").read_text(encoding="utf-8-sig").splitlines()
    print("ranking (serial run):", "; ".join(f"#{r.split(',')[0]} {r.split(',')[1]}" for r in rank[1:]))


if __name__ == "__main__":
    main()
