"""``--out`` is safe by construction; run folders tolerate viewers; commands never change a run; one run at a time.

Issue 18 (data loss, concurrent runs, full disk) and issue 20 item 6 (QGIS side files).  Runs use an
8 km grid: nothing tested here depends on the resolution.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from twinstar_gis.cli import cli
from twinstar_gis.errors import DataSourceError, RunFolderError
from twinstar_gis.run.folder import (KEPT_FILES, check_output_dir, lock_path, read_run, run_lock, side_file_kind,
                                     staged, write_manifest)

COARSE = ("--resolution", "8000")
EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


def _cli(*args, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], **kw)


def _tree(root: Path) -> dict:
    """Every file and folder under ``root`` with the SHA-256 of each file (an independent snapshot)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            out[p.relative_to(root).as_posix()] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _fake_run(root: Path, files=None) -> Path:
    """A folder whose run.json records exactly ``files`` (sizes and SHA-256 computed here with hashlib)."""
    files = files or {"analysis/a.csv": b"id,v\nA,1\n", "brief.html": b"<html></html>"}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    outputs = {rel: {"bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()} for rel, d in files.items()}
    (root / "run.json").write_text(json.dumps({"schema": 1, "tool": "twinstar_gis", "outputs": outputs}), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def a_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("safety_runs") / "run"
    r = _cli("-q", "run", "--out", out, *COARSE)
    assert r.exit_code == 0, r.output
    return out


# --------------------------------------------------------------------------
# Which folder a run may replace
# --------------------------------------------------------------------------

def test_what_a_run_may_replace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "mac").mkdir()
    (tmp_path / "mac" / ".DS_Store").write_bytes(b"\0")
    _fake_run(tmp_path / "run1")
    _fake_run(tmp_path / "run2")
    (tmp_path / "run2" / "analysis" / "a.csv.aux.xml").write_text("<PAMDataset/>")
    (tmp_path / "run2" / "Thumbs.db").write_bytes(b"\0")
    (tmp_path / "run2" / "mine.qgz").write_bytes(b"PK")
    for ok in ("new", "empty", "mac", "run1", "run2", "new/deeper"):
        assert check_output_dir(tmp_path / ok) == (tmp_path / ok).absolute()


@pytest.mark.parametrize("case, why", [
    ("root", "root of the file system"), ("home", "home folder"), ("mount", "mount point"), ("link", "symbolic link"),
    ("cwd", "current folder"), ("planner", "not empty"), ("holds_input", "input of this run"), ("changed_run", "no longer match"),
    ("foreign_file", "notes.docx"), ("empty_string", "empty --out"),
])
def test_what_a_run_may_not_replace(case, why, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inputs = ()
    target = {"root": Path("/"), "empty_string": ""}.get(case, tmp_path / case)
    if case == "home":
        target.mkdir()
        monkeypatch.setenv("HOME", str(target))
    elif case == "mount":
        target.mkdir()
        real = os.path.ismount
        monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == target or real(p))
    elif case == "link":
        (tmp_path / "real").mkdir()
        target.symlink_to(tmp_path / "real")
    elif case == "cwd":
        target = Path(".")
    elif case == "planner":
        target.mkdir()
        (target / "parks.shp").write_bytes(b"shp")
    elif case == "holds_input":
        _fake_run(target, {"data/layer.gpkg": b"GPKG"})  # an earlier run whose recorded output is now an input
        inputs = [target / "data" / "layer.gpkg"]
    elif case == "changed_run":
        _fake_run(target)
        (target / "brief.html").write_text("edited by hand")
    elif case == "foreign_file":
        _fake_run(target)
        (target / "notes.docx").write_bytes(b"my notes")
    before = _tree(tmp_path)
    with pytest.raises(RunFolderError, match=why):
        check_output_dir(target, inputs=inputs)
    assert _tree(tmp_path) == before


def test_a_refused_run_leaves_a_planners_folder_byte_identical(tmp_path, monkeypatch):
    # issue 18: `twinstar run --out DIR` deleted a folder of the planner's shapefiles, exit 0, no word
    monkeypatch.chdir(tmp_path)
    import geopandas as gpd
    from shapely.geometry import box

    shapes = tmp_path / "shapes"
    shapes.mkdir()
    gpd.GeoDataFrame({"park_id": ["A"]}, geometry=[box(118.8, 42.2, 118.85, 42.25)], crs=4326).to_file(shapes / "parks.shp")
    (shapes / "报告.docx").write_bytes(b"report")
    before = _tree(tmp_path)
    r = _cli("run", "--out", shapes, *COARSE)
    assert r.exit_code == 2 and "Traceback" not in r.output and "not empty" in r.output
    assert _tree(tmp_path) == before  # nothing deleted, nothing staged, no lock left


def test_the_project_folder_is_never_a_run_folder(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "p.toml").write_text('base = "embedded"\n', encoding="utf-8")
    before = _tree(tmp_path)
    r = _cli("run", "--project", proj / "p.toml", "--out", proj, *COARSE)
    assert r.exit_code == 2 and "refused" in r.output
    assert _tree(tmp_path) == before


# --------------------------------------------------------------------------
# The property: a refusal never deletes or changes a file; a replacement only removes what the old run recorded
# --------------------------------------------------------------------------

_NAMES = st.sampled_from(["a.csv", "brief.html", "data/x.gpkg", "maps/index.html", "notes.docx", "run.json", "x.tif.aux.xml",
                          "Thumbs.db", ".DS_Store", "my.qgz", "~$a.xlsx", ".ipynb_checkpoints/n.ipynb", "sub/deep/file.txt"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.dictionaries(_NAMES, st.binary(max_size=20), max_size=8),
       recorded=st.sets(_NAMES, max_size=6), stale=st.booleans(), manifest=st.booleans())
def test_property_refusal_never_deletes_a_file_the_run_did_not_write(files, recorded, stale, manifest):
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "out"
        out.mkdir()
        files = {k: v for k, v in files.items() if k != "run.json"}
        for rel, data in files.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(data)
        rec = {}
        if manifest:
            for rel in sorted(recorded - {"run.json"}):
                data = files.get(rel, b"gone")
                rec[rel] = {"bytes": len(data) + (1 if stale else 0), "sha256": hashlib.sha256(data).hexdigest()}
            (out / "run.json").write_text(json.dumps({"schema": 1, "outputs": rec}), encoding="utf-8")
        before = _tree(out)
        try:
            with staged(out) as stage:
                (stage / "new.txt").write_text("new run")
                write_manifest(stage, {"schema": 1})
        except RunFolderError:
            assert _tree(out) == before  # refused: every file and folder as it was
            assert [p.name for p in Path(d).iterdir()] == ["out"]  # no staging folder, no lock
            return
        after = _tree(out)
        assert (out / "new.txt").read_text() == "new run"
        for rel, h in before.items():
            if h == "dir" or rel == "run.json" or after.get(rel) == h:
                continue
            # gone or changed: only a recorded output (that matched) or a disposable viewer file
            assert rel in rec or side_file_kind(rel) == "viewer", (rel, rec)
        for rel in files:  # the planner's QGIS files went into the new run unchanged
            if side_file_kind(rel) == "kept" and rel not in rec:
                assert after.get(rel) == before[rel]


def test_kept_files_are_qgis_projects_and_styles():
    assert {"*.qgs", "*.qgz"} <= set(KEPT_FILES)
    assert side_file_kind("styles/parks.qml") == "kept" and side_file_kind("parks.gpkg") is None


# --------------------------------------------------------------------------
# A run that viewers opened (issue 20 item 6)
# --------------------------------------------------------------------------

VIEWER = ("access/time_to_cores.tif.aux.xml", "Thumbs.db", ".DS_Store", "maps/.ipynb_checkpoints/a-checkpoint.ipynb",
          "analysis/~$conflicts.csv", "planning/.~lock.sites.csv#")


def test_report_tolerates_and_lists_viewer_files_but_not_changed_ones(a_run, tmp_path):
    d = tmp_path / "copy"
    shutil.copytree(a_run, d)
    for rel in VIEWER + ("我的项目.qgz",):
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(b"written by a viewer")
    r = _cli("report", d)
    assert r.exit_code == 0, r.output
    assert "left alone" in r.output and "time_to_cores.tif.aux.xml" in r.output and "我的项目.qgz" in r.output
    read_run(d)
    (d / "access" / "twin_city.csv").write_text("edited", encoding="utf-8")
    r = _cli("report", d)
    assert r.exit_code == 2 and "access/twin_city.csv has" in r.output
    shutil.copy(a_run / "access" / "twin_city.csv", d / "access" / "twin_city.csv")
    (d / "access" / "county_access.csv").unlink()
    r = _cli("report", d)
    assert r.exit_code == 2 and "access/county_access.csv is missing" in r.output


def test_a_new_run_replaces_a_viewed_run_and_keeps_the_planners_qgis_project(a_run, tmp_path):
    d = tmp_path / "viewed"
    shutil.copytree(a_run, d)
    for rel in VIEWER:
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(b"viewer")
    (d / "maps" / "my_styles.qgz").write_bytes(b"PK planner's own project")
    old = read_run(d)["started"]
    r = _cli("-q", "run", "--out", d, *COARSE)
    assert r.exit_code == 0, r.output
    assert read_run(d)["started"] != old
    assert (d / "maps" / "my_styles.qgz").read_bytes() == b"PK planner's own project"
    assert not any((d / rel).exists() for rel in VIEWER)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["viewed"]


# --------------------------------------------------------------------------
# Single commands: --out is the folder itself, never a recorded run
# --------------------------------------------------------------------------

def test_commands_never_change_a_recorded_run(a_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(a_run, tmp_path / "twinstar_output")
    before = _tree(tmp_path / "twinstar_output")
    r = _cli("distances")  # reads the run's data; writes beside it
    assert r.exit_code == 0, r.output
    assert (tmp_path / "twinstar_results" / "analysis" / "park_corridor_nearest.csv").is_file()
    r = _cli("distances", "--out", "twinstar_output/analysis")
    assert r.exit_code == 2 and "recorded run" in r.output
    r = _cli("data", "build")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "twinstar_data" / "twinstar_region.gpkg").is_file()
    assert _tree(tmp_path / "twinstar_output") == before
    read_run(tmp_path / "twinstar_output")


def test_out_is_the_same_folder_level_for_every_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "p.toml"
    p.write_text('base = "embedded"\n', encoding="utf-8")
    for cmd, out, first in ((["distances"], "d", "park_corridor_nearest.csv"), (["indicators"], "i", "park_indicators.csv"),
                            (["suitability", *COARSE], "s", "suitability_classes.tif"),
                            (["access", *COARSE, "--scenario", "none"], "a", "od_matrix_minutes.csv")):
        r = _cli(*cmd, "--project", p, "--out", out)
        assert r.exit_code == 0, r.output
        assert (tmp_path / out / first).is_file(), (cmd, sorted(os.listdir(tmp_path / out)))
        assert not (tmp_path / out / "planning").exists()
        wrote = [line.split("Wrote ", 1)[1].split(" (")[0] for line in r.output.splitlines() if line.startswith("Wrote ")]
        assert wrote and all(Path(w).is_file() and Path(w).parent == (tmp_path / out).absolute() for w in wrote), wrote
        assert not [q for q in (tmp_path / out).iterdir() if q.name.startswith(".twinstar-staging")]


def test_an_output_never_overwrites_an_input(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "p.toml").write_text('base = "embedded"\n[layers.places]\npath = "park_indicators.csv"\nmode = "append"\n',
                              encoding="utf-8")
    (d / "park_indicators.csv").write_text("place_id,name_zh,kind,lon,lat\nX1,甲,facility,118.84,42.29\n", encoding="utf-8")
    before = _tree(tmp_path)
    r = _cli("indicators", "--project", d / "p.toml", "--out", d)
    assert r.exit_code == 2 and "would overwrite the input" in r.output
    assert _tree(tmp_path) == before


# --------------------------------------------------------------------------
# One run per folder
# --------------------------------------------------------------------------

_HOLD = "import sys, time\nfrom twinstar_gis.run.folder import run_lock\ncm = run_lock(sys.argv[1])\ncm.__enter__()\n" \
        "print('locked', flush=True)\ntime.sleep(120)\n"


def test_a_second_run_refuses_while_the_lock_is_held_and_a_killed_runs_lock_is_taken_over(tmp_path):
    out = tmp_path / "R"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        r = _cli("run", "--out", out, *COARSE)
        assert r.exit_code == 2 and "another twinstar run" in r.output and f"pid {holder.pid}" in r.output
        with pytest.raises(RunFolderError, match="another twinstar run"):
            with run_lock(out):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    assert lock_path(out).exists()  # the killed holder could not remove it ...
    check_output_dir(out)  # ... but its lock died with it
    with run_lock(out):
        assert str(os.getpid()) in lock_path(out).read_text()
    assert not lock_path(out).exists()


def test_two_concurrent_runs_on_one_folder(tmp_path):
    # issue 18: both exited 0 and the later silently won
    out = tmp_path / "D"
    first = subprocess.Popen([sys.executable, "-m", "twinstar_gis", "-q", "run", "--out", str(out), *COARSE],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 120
    while time.monotonic() < end and first.poll() is None and not list(tmp_path.glob("D.staging-*")):
        time.sleep(0.05)
    assert first.poll() is None, "the first run ended before the second started"
    r = _cli("run", "--out", out, *COARSE)
    assert r.exit_code == 2 and "another twinstar run" in r.output and "Traceback" not in r.output
    assert first.wait(timeout=600) == 0
    read_run(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["D"]


# --------------------------------------------------------------------------
# The machine says no: full disk, permission, memory
# --------------------------------------------------------------------------

def _limited(limit_bytes):
    def pre():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond the limit fails with EFBIG instead
    return pre


@pytest.mark.parametrize("cmd", [["distances", "--out", "D"], ["run", "--out", "D", *COARSE]])
def test_a_full_disk_is_one_message_and_leaves_nothing(cmd, tmp_path):
    (tmp_path / "p.toml").write_text('base = "embedded"\n', encoding="utf-8")
    project = ["--project", "p.toml"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    r = subprocess.run([sys.executable, "-m", "twinstar_gis", *cmd[:1], *project, *cmd[1:]], cwd=tmp_path, env=env,
                       capture_output=True, text=True, preexec_fn=_limited(48 * 1024), timeout=600)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and r.stderr.count("Error:") == 1
    assert "cannot write" in r.stderr and "larger than this file system" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]  # no D, no staging folder, no lock, no .part


@pytest.mark.parametrize("code, words", [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only"),
                                         (errno.ENOSPC, "the disk is full")])
def test_operating_system_errors_are_one_message(code, words, tmp_path, monkeypatch):
    import pyogrio

    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.toml").write_text('base = "embedded"\n', encoding="utf-8")

    def refuse(*a, **k):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(pyogrio, "write_dataframe", refuse)
    r = _cli("distances", "--project", "p.toml", "--out", "D")
    assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]


def test_running_out_of_memory_is_one_message(tmp_path, monkeypatch):
    import twinstar_gis.cli.analysis as analysis

    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.toml").write_text('base = "embedded"\n', encoding="utf-8")

    def boom(*a, **k):
        raise MemoryError

    monkeypatch.setattr(analysis, "write_indicators", boom)
    r = _cli("indicators", "--project", "p.toml")
    assert r.exit_code == 2 and "ran out of memory" in r.output and "memory_budget_gib" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]


def test_write_error_names_gdal_and_sqlite_wordings():
    import pyogrio.errors
    import rasterio.errors

    from twinstar_gis.data.io import write_error

    full = pyogrio.errors.DataSourceError("sqlite3_step() failed: database or disk is full")
    assert "disk is full" in str(write_error("x.gpkg", full))
    assert "read-only" in str(write_error("x.tif", rasterio.errors.RasterioIOError("x.tif: Read-only file system")))
    assert write_error("x", DataSourceError("a message of ours")) is None and write_error("x", KeyError("bug")) is None


def test_a_run_that_reads_from_the_run_it_would_replace_is_not_kept(a_run, tmp_path):
    # The earlier run is sound, so --out may replace it; but the project reads its parks from that run's
    # own data/twinstar.gpkg: replacing the folder would delete an input.  The run is refused at the latest
    # at the swap (from the inputs its manifest recorded), the earlier run stays whole.
    d = tmp_path / "R"
    shutil.copytree(a_run, d)
    (tmp_path / "p.toml").write_text(f'base = "embedded"\n[layers.parks]\npath = "{(d / "data" / "twinstar.gpkg").as_posix()}"\n'
                                     'layer = "parks"\n', encoding="utf-8")
    before = _tree(d)
    r = _cli("-q", "run", "--project", tmp_path / "p.toml", "--out", d, *COARSE)
    assert r.exit_code == 2 and "input" in r.output and "Traceback" not in r.output, r.output
    assert _tree(d) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["R", "p.toml"]
