"""The run folder: one consistent, self-describing unit (staging, swap, run.json, brief from the run).

Runs use an 8 km raster to stay fast; what is tested here does not depend on the resolution.
"""

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from twinstar_gis.cli import cli
from twinstar_gis.errors import RunFolderError
from twinstar_gis.run.folder import read_run

COARSE = ("--resolution", "8000")
EMBEDDED_PARK = "松山区信息科技产业园"


def _cli(*args, cwd=None):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _siblings(out: Path):
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name and p.name.startswith(out.name))


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    r = _cli("run", "--out", out, *COARSE, "--set", "speeds.expressway=90")
    assert r.exit_code == 0, r.output
    return out


def test_manifest_describes_the_run(first_run):
    m = read_run(first_run)  # checks every output's size and SHA-256
    assert m["schema"] == 1 and m["tool"] == "twinstar_gis" and m["project"] is None
    assert m["command"][:2] == ["twinstar", "run"] and "--set" in m["command"] and "speeds.expressway=90" in m["command"]
    assert m["settings"]["access"]["resolution_m"] == 8000.0
    assert m["settings"]["speeds"]["expressway"] == 90.0 and m["settings"]["speeds"]["railway"] == 70.0
    assert m["started"] <= m["finished"]
    files = {p.relative_to(first_run).as_posix() for p in first_run.rglob("*") if p.is_file()} - {"run.json"}
    assert set(m["outputs"]) == files
    for rel in ("data/twinstar.gpkg", "data/twinstar_dem.tif", "analysis/conflicts.csv", "analysis/overlap.gpkg",
                "access/county_access.csv", "maps/index.html", "brief.html"):
        assert rel in m["outputs"], rel
    rec = m["outputs"]["analysis/conflicts.csv"]
    raw = (first_run / "analysis/conflicts.csv").read_bytes()
    assert rec == {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    roles = {i["role"] for i in m["inputs"]}
    assert roles == {"layer", "dem"}
    dem = next(i for i in m["inputs"] if i["role"] == "dem")
    assert dem["sha256"] == hashlib.sha256(Path(dem["path"]).read_bytes()).hexdigest()


def test_overlap_gpkg_holds_the_buffers_the_run_used(first_run):
    buf = gpd.read_file(first_run / "analysis/overlap.gpkg", layer="eco_buffers")
    m = read_run(first_run)
    assert set(buf.loc[buf["kind"] == "nature_reserve", "buffer_m"]) == {m["settings"]["overlap"]["buffer_nature_reserve_m"]}
    assert set(buf.loc[buf["kind"] == "river", "buffer_m"]) == {500.0}
    zones = gpd.read_file(first_run / "data/twinstar.gpkg", layer="eco_zones")
    reserves = zones[zones["kind"] == "nature_reserve"].set_index("zone_id")
    grown = buf[buf["kind"] == "nature_reserve"].set_index("zone_id")
    # a 1 km buffer covers its reserve and reaches 1 km beyond it
    for zid in reserves.index:
        assert grown.geometry[zid].covers(reserves.geometry[zid].buffer(-1e-6))


def test_report_refuses_an_inconsistent_folder(first_run, tmp_path):
    d = tmp_path / "copy"
    shutil.copytree(first_run, d)
    before = (d / "brief.html").read_bytes()
    r = _cli("report", d)
    assert r.exit_code == 0, r.output
    assert (d / "brief.html").read_bytes() == before  # the brief is a function of the run folder
    read_run(d)
    # an output of another run mixed in
    with open(d / "access/twin_city.csv", "a", encoding="utf-8") as f:
        f.write("x,1\n")
    r = _cli("report", d)
    assert r.exit_code == 2 and "Traceback" not in r.output and "access/twin_city.csv" in r.output
    shutil.copy(first_run / "access/twin_city.csv", d / "access/twin_city.csv")
    (d / "access/stray.csv").write_text("a\n")
    r = _cli("report", d)
    assert r.exit_code == 2 and "access/stray.csv" in r.output
    (d / "access/stray.csv").unlink()
    (d / "run.json").unlink()
    r = _cli("report", d)
    assert r.exit_code == 2 and "no run.json" in r.output
    with pytest.raises(RunFolderError):
        read_run(d)


def test_nothing_is_written_before_the_inputs_are_checked(tmp_path):
    out = tmp_path / "D"
    r = _cli("run", "--project", tmp_path / "missing.toml", "--out", out)
    assert r.exit_code == 2 and "Traceback" not in r.output and "missing.toml" in r.output
    assert list(tmp_path.iterdir()) == []
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nbase = "embedded"\n[layers.parks]\npath = "p.geojson"\nencoding = 5\n')
    r = _cli("run", "--project", bad, "--out", out)
    assert r.exit_code == 2 and "Traceback" not in r.output and "encoding = 5" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]
    r = _cli("run", "--out", out, "--set", "speeds.expressway=-90")
    assert r.exit_code == 2 and "non-negative" in r.output and not out.exists()
    afile = tmp_path / "afile"
    afile.write_text("")
    r = _cli("run", "--out", afile / "out")
    assert r.exit_code == 2 and "Traceback" not in r.output and "choose another --out" in r.output


def _wait_for(pattern_dir: Path, prefix: str, sub: str, proc, timeout=180.0):
    """Wait until a staging folder beside the run holds ``sub`` (the run is that far); False if the run ended first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if any((p / sub).exists() for p in pattern_dir.glob(f"{prefix}.staging-*")):
            return True
        time.sleep(0.05)
    return False


def test_a_killed_run_leaves_the_previous_run_complete(first_run, tmp_path):
    out = tmp_path / "D"
    shutil.copytree(first_run, out)
    old = json.loads((out / "run.json").read_text(encoding="utf-8"))
    cmd = [sys.executable, "-m", "twinstar_gis", "-q", "run", "--out", str(out), *COARSE]
    rng = random.Random(9)
    # Kill a run at three moments: while it writes the analyses, the accessibility outputs, the maps
    # (a random fraction of a second after each step began).
    for step in ("analysis", "access", "maps"):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        reached = _wait_for(tmp_path, "D", step, proc)
        time.sleep(rng.uniform(0.0, 0.4))
        killed = proc.poll() is None
        if killed:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert reached and killed, f"the run ended before it was killed during {step}"
        m = read_run(out)  # every output listed exists with its recorded size and SHA-256
        assert m["started"] == old["started"], f"killed during {step} but run.json changed"
    # each run starts by removing the staging folder of the run killed before it: one is left, with the
    # killed run's lock file (its lock was released by the kernel when the process died) ...
    left = _siblings(out)
    assert len(left) == 2 and left[0] == "D.lock" and left[1].startswith("D.staging-")
    assert str(proc.pid) in (tmp_path / "D.lock").read_text()
    r = _cli("-q", "run", "--out", out, *COARSE)
    assert r.exit_code == 0, r.output
    assert read_run(out)["started"] != old["started"]
    assert _siblings(out) == []  # ... are gone after the next run (it took the stale lock over and released it)
    assert not [p for p in out.rglob("*") if ".part" in p.name]


def test_leftover_old_folder_is_put_back(first_run, tmp_path):
    from twinstar_gis.run.folder import clean_leftovers

    out = tmp_path / "D"
    # a run killed between the two renames of the swap: OUT gone, its previous run beside it
    dead = 2 ** 22 + 12345  # above the usual pid range: no such process
    shutil.copytree(first_run, tmp_path / f"D.old-{dead}-1")
    shutil.copytree(first_run, tmp_path / f"D.staging-{dead}-2")
    clean_leftovers(out)
    assert read_run(out)["started"] == read_run(first_run)["started"]
    assert _siblings(out) == []


def _project(tmp_path):
    parks = gpd.GeoDataFrame(
        {"park_id": ["Q1", "Q2"], "名称": ["星河试验园区", "青松测试园区"], "source": ["院测绘 2025 survey", "院测绘 2025 survey"],
         "geometry_quality": ["surveyed", "surveyed"], "accuracy_m": [50, 50]},
        geometry=[box(118.93, 42.25, 118.97, 42.28), box(122.20, 43.60, 122.24, 43.63)], crs=4326)
    parks.to_file(tmp_path / "my_parks.geojson")
    proj = tmp_path / "survey.toml"
    proj.write_text('name = "Institute survey 2025"\nbase = "embedded"\n'
                    '[settings.speeds]\nexpressway = 90\n'
                    '[layers.parks]\npath = "my_parks.geojson"\ncolumns = { name_zh = "名称" }\n', encoding="utf-8")
    return proj


def test_project_run_brief_names_the_project_and_its_data_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty folder: base = "embedded" must not need `data build`
    proj = _project(tmp_path)
    out = tmp_path / "out"
    r = _cli("-q", "run", "--project", proj, "--out", out, *COARSE)
    assert r.exit_code == 0, r.output
    assert "Planning brief" not in r.output  # -q quietens run
    m = read_run(out)
    assert m["project"]["name"] == "Institute survey 2025" and m["project"]["file"] == str(proj.resolve())
    assert m["settings"]["speeds"]["expressway"] == 90.0
    assert {Path(i["path"]).name for i in m["inputs"] if i["role"] in ("project", "layer")} >= {"survey.toml", "my_parks.geojson"}
    brief = (out / "brief.html").read_text(encoding="utf-8")
    assert "Institute survey 2025" in brief and "survey.toml" in brief
    assert "星河试验园区" in brief and "青松测试园区" in brief
    assert "my_parks.geojson" in brief and "院测绘 2025 survey" in brief  # the parks' source
    assert EMBEDDED_PARK not in brief and "embedded Twin Star dataset" not in brief
    parks = gpd.read_file(out / "data/twinstar.gpkg", layer="parks")
    assert sorted(parks["park_id"]) == ["Q1", "Q2"]
    assert not (tmp_path / "twinstar_output").exists()


def test_planning_linkage_uses_the_runs_od_times(first_run):
    # One truth: the gravity model's t_ij is the mean of both directions of the run's own OD matrix
    # (same model, same DEM, same settings), not a second model with other inputs.
    od = pd.read_csv(first_run / "access" / "od_matrix_minutes.csv", encoding="utf-8-sig").set_index("id")
    pairs = pd.read_csv(first_run / "planning" / "linkage_pairs.csv", encoding="utf-8-sig")
    assert len(pairs) >= 150
    expected = [(od.loc[i, j] + od.loc[j, i]) / 2 for i, j in zip(pairs["unit_i"], pairs["unit_j"])]
    assert pairs["minutes"].to_numpy() == pytest.approx(expected, abs=0.11)  # both files round to 0.1 min


def test_a_run_without_a_cjk_font_skips_the_figures_and_says_so(tmp_path, monkeypatch):
    from twinstar_gis.pipeline import steps as pipeline
    from twinstar_gis.errors import FontNotFoundError

    def no_font(stage, manifest=None, **kwargs):
        raise FontNotFoundError("no CJK font found; install fonts-noto-cjk")

    head = {}
    assert pipeline._figures(tmp_path, head, no_font) == []
    assert head["skipped"]["figures"].startswith("no CJK font")
    from twinstar_gis.run.brief import _figures_note

    assert "install fonts-noto-cjk" in _figures_note({**head, "outputs": {}})
    assert "figures/overview.png" in _figures_note({"outputs": {"figures/overview.png": {}}})


@pytest.mark.parametrize("fork", [True, False])
def test_every_figure_is_drawn_once_in_turn_or_beside_the_gallery(monkeypatch, tmp_path, fork):
    # Two or more cores and fork: a child draws all but the last figures while the run writes the gallery
    # and those last ones; otherwise (one core, Windows) all in turn.  Either way each figure once.
    import multiprocessing

    from twinstar_gis import maps
    from twinstar_gis.maps.figures import FIGURES
    from twinstar_gis.pipeline import steps

    def figures(stage, manifest=None, dpi=None, names=None):
        return [Path(stage) / f"{n}.png" for n in (names or FIGURES)]

    monkeypatch.setattr(maps, "write_gallery", lambda stage, manifest=None, **kw: {"index": Path(stage) / "index.html"})
    monkeypatch.setattr(maps, "write_figures", figures)
    if not fork:
        monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    out = steps._maps_and_figures(tmp_path, {}, {})
    assert sorted(p.name for p in out) == sorted([f"{n}.png" for n in FIGURES] + ["index.html"])
