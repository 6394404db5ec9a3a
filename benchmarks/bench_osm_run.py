"""End to end on an OSM-sized network: generate, ``twinstar data import-osm``, ``twinstar -v run --project``.

    python benchmarks/bench_osm_run.py --edges 1000000            # the 1M-edge project (README)
    python benchmarks/bench_osm_run.py --edges 5000000 --timeout 1500
    python benchmarks/bench_osm_run.py --quick                    # 50k edges, about a minute

``--edges`` is the number of road edges wanted after the import's clip to the two prefectures:
``gen_osm_network.py`` is given ``edges / 0.6`` lattice edges (about 60 % of its box lies in the
study area), as in ``bench_network.py``.  Each step is one command under ``/usr/bin/time -v``
(wall time, CPU time, peak RSS = "Maximum resident set size"); the run's ``-v`` log is read as it
is written and every line is stamped with the seconds since the command started, so the run's own
``step NAME: S s`` lines and the model's log lines (network size, model build, accessibility
calls) can be placed in time.  The log is kept in the work folder (``run_<edges>.log``).  Threads
are pinned to one (OMP/BLAS/GDAL) so the benchmark uses one core.  ``--timeout`` stops the run
(SIGTERM to the command under ``time``, so its report is still written).
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
KEEP = re.compile(r"step |travel-time model|network:|accessibility:|compare|memory|budget|Error|error|refus", re.I)


def time_v(path) -> dict:
    """Wall, CPU and peak RSS from a ``/usr/bin/time -v`` report."""
    txt = Path(path).read_text()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", txt)
    h, m, s = (float(g) if g else 0.0 for g in wall.groups())
    return {"wall_s": h * 3600 + m * 60 + s,
            "cpu_s": float(re.search(r"User time \(seconds\): ([\d.]+)", txt).group(1))
            + float(re.search(r"System time \(seconds\): ([\d.]+)", txt).group(1)),
            "peak_gib": int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", txt).group(1)) / 2**20,
            "exit": int(re.search(r"Exit status: (\d+)", txt).group(1)) if "Exit status" in txt else None}


def _stop_child(pid):
    """SIGTERM the command under /usr/bin/time (our own grandchild), so that time still writes its report."""
    for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        os.kill(int(c), 15)


def timed(cmd, report, log=None, timeout=None) -> dict:
    """Run ``cmd`` under /usr/bin/time -v; stamp its stderr lines (kept in ``log``) with elapsed seconds."""
    full = ["/usr/bin/time", "-v", "-o", str(report), *map(str, cmd)]
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    p = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, **ONE_THREAD), start_new_session=True)
    kept = []
    with open(log or os.devnull, "w") as fh:
        for line in p.stderr:
            stamp = f"[{time.perf_counter() - t0:7.1f}] {line.rstrip()}"
            fh.write(stamp + "\n")
            fh.flush()
            if KEEP.search(line):
                kept.append(stamp)
            if timeout and time.perf_counter() - t0 > timeout:
                _stop_child(p.pid)
                kept.append(f"killed after {timeout} s")
                break
    p.wait()
    out = time_v(report) if Path(report).exists() and "Maximum resident" in Path(report).read_text() else {}
    out.update(returncode=p.returncode, load_before=load0, load_after=os.getloadavg()[0])
    out["lines"] = kept
    return out


def _du_mib(path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edges", type=int, default=1_000_000, help="road edges wanted after the clip")
    ap.add_argument("--quick", action="store_true", help="50,000 edges")
    ap.add_argument("--workdir", default="/tmp/twinstar_bench")
    ap.add_argument("--steps", nargs="+", default=["generate", "import", "run"])
    ap.add_argument("--resolution", type=float, default=1000.0)
    ap.add_argument("--timeout", type=float, default=None, help="stop the run after this many seconds")
    ap.add_argument("--tag", default="", help="suffix of the run folder, log and JSON (e.g. 'fixed')")
    a = ap.parse_args()
    n = 50_000 if a.quick else a.edges
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    tag = f"{n}{'_' + a.tag if a.tag else ''}"
    pbf, proj, run = work / f"net_{n}.osm.pbf", work / f"proj_{n}", work / f"run_{tag}"
    twinstar = [sys.executable, "-m", "twinstar_gis"]
    res = {"edges_wanted": n}
    if "generate" in a.steps:
        r = timed([sys.executable, HERE / "gen_osm_network.py", "--edges", int(n / 0.6), "--out", pbf],
                  work / f"time_gen_{n}.txt")
        res["generate"] = {k: r[k] for k in ("wall_s", "peak_gib", "returncode") if k in r}
        res["generate"]["pbf_mib"] = pbf.stat().st_size / 2**20 if pbf.exists() else None
        print("generate:", json.dumps(res["generate"]), flush=True)
    if "import" in a.steps:
        if proj.exists():
            shutil.rmtree(proj)
        r = timed([*twinstar, "-v", "data", "import-osm", pbf, "--out", proj], work / f"time_import_{n}.txt",
                  log=work / f"import_{n}.log")
        res["import"] = r
        summary = proj / "import_summary.json"
        if summary.exists():
            d = json.loads(summary.read_text())
            r["summary"] = {"features": d.get("features"), "report": d.get("report"),
                            "share_covered": d.get("coverage", {}).get("share_covered")}
        r["gpkg_mib"] = (proj / "osm.gpkg").stat().st_size / 2**20 if (proj / "osm.gpkg").exists() else None
        print("import:", json.dumps(r, default=str), flush=True)
    if "run" in a.steps:
        r = timed([*twinstar, "-v", "run", "--project", proj / "project.toml", "--out", run,
                   "--resolution", a.resolution], work / f"time_run_{tag}.txt", log=work / f"run_{tag}.log",
                  timeout=a.timeout)
        r["steps_s"] = {m.group(1): float(m.group(2)) for ln in r["lines"]
                        for m in [re.search(r"step (\S+): ([\d.]+) s", ln)] if m}
        r["folder_mib"] = _du_mib(run) if run.exists() else None
        res["run"] = r
        print("run:", json.dumps(r, indent=1, default=str), flush=True)
    (work / f"bench_osm_run_{tag}.json").write_text(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    main()
