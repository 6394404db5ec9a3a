"""The replayable bad-input corpus (``tests/badinput/cases.toml``): every case exits as it should.

Each case names a command line, the files to create first, the exit code and text its one
message must contain.  For every case the runner checks, besides the exit code and the text:

* no traceback (no exception other than the CLI's own exit);
* one message: a single ``Error:`` line on a refusal;
* the inputs are byte-identical afterwards (SHA-256 of every file the case created);
* no debris: on a refusal nothing in the case's folder was added or removed (no staging
  folder, no ``.part`` file, no lock, no half-made output folder), and nothing new in ``/``.

Files are text (UTF-8), ``{text = ..., encoding = "gbk"}``, or ``{builder = NAME, ...}`` for the
binary ones (:data:`BUILDERS`).  ``{tmp}`` in arguments, file texts and ``env`` is the case's folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from twinstar_gis.cli import cli

CORPUS = Path(__file__).parent / "badinput" / "cases.toml"
SPEC = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
CASES = SPEC["case"]


# --------------------------------------------------------------------------
# Builders of binary inputs
# --------------------------------------------------------------------------

def _geotiff(path, *, crs=None, west=116.0, north=46.0, cell=0.01, width=800, height=500, sparse=False,
             value=500.0, dtype="float32", **_):
    import rasterio
    from rasterio.transform import from_origin

    kw = dict(driver="GTiff", width=width, height=height, count=1, dtype=dtype, transform=from_origin(west, north, cell, cell))
    if crs:
        kw["crs"] = crs
    if sparse:
        kw.update(tiled=True, compress="deflate", SPARSE_OK=True, BIGTIFF="YES", nodata=-32768)
        with rasterio.open(path, "w", **kw) as d:
            d.write(np.full((256, 256), 500, dtype), 1, window=rasterio.windows.Window(width // 2, height // 2, 256, 256))
        return
    with rasterio.open(path, "w", **kw) as d:
        d.write(np.full((1, height, width), value, dtype))


def _parks_file(path, *, crs="EPSG:4326", to_crs=None, driver=None, **_):
    import geopandas as gpd
    from shapely.geometry import box

    g = gpd.GeoDataFrame({"park_id": ["P0"], "name_zh": ["园区"]}, geometry=[box(118.80, 42.20, 118.85, 42.25)], crs=4326)
    if to_crs:
        g = g.to_crs(to_crs)
    g.set_crs(crs if to_crs is None else g.crs, allow_override=True).to_file(path, driver=driver)


def _fake_run(path, *, damage="none", **_):
    """A run folder with two outputs and a manifest recording them; then damaged as asked."""
    root = Path(path)
    (root / "analysis").mkdir(parents=True)
    files = {"analysis/a.csv": b"id,v\nA,1\n", "brief.html": b"<html></html>"}
    for rel, data in files.items():
        (root / rel).write_bytes(data)
    outputs = {rel: {"bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()} for rel, d in files.items()}
    (root / "run.json").write_text(json.dumps({"schema": 1, "tool": "twinstar_gis", "outputs": outputs}), encoding="utf-8")
    if damage == "changed":
        (root / "analysis/a.csv").write_bytes(b"id,v\nA,2\n")
    elif damage == "missing":
        (root / "analysis/a.csv").unlink()
    elif damage == "foreign":
        (root / "notes.docx").write_bytes(b"my notes")
    elif damage == "garbage":
        (root / "run.json").write_text("{ not json", encoding="utf-8")


def _big(path, *, mib=2, **_):
    Path(path).write_text("# " + "x" * (mib * 2**20) + "\n", encoding="utf-8")


def _symlink(path, *, target, **_):
    os.symlink(target, path)


def _folder(path, **_):
    Path(path).mkdir(parents=True)


def _nested_yaml(path, *, depth=3000, **_):
    Path(path).write_text("a: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")


BUILDERS = {"geotiff": _geotiff, "parks_file": _parks_file, "fake_run": _fake_run, "big": _big, "symlink": _symlink,
            "folder": _folder, "nested_yaml": _nested_yaml}


def _make(root: Path, rel: str, spec):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(spec, str):
        path.write_text(spec.replace("{tmp}", str(root)), encoding="utf-8")
    elif "builder" in spec:
        BUILDERS[spec["builder"]](path, **{k: v for k, v in spec.items() if k != "builder"})
    else:
        path.write_bytes(spec["text"].replace("{tmp}", str(root)).encode(spec.get("encoding", "utf-8")))


def _snapshot(root: Path) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = p.relative_to(root).as_posix()
            out[rel] = ("link" if p.is_symlink() else "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def _files_of(case) -> dict:
    files = dict(case.get("files", {}))
    for name in case.get("use", []):
        files = {**SPEC["shared"][name], **files}
    return files


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input_case(case, tmp_path, monkeypatch):
    root = tmp_path / "case"
    root.mkdir()
    for rel, spec in _files_of(case).items():
        _make(root, rel, spec)
    monkeypatch.chdir(root)
    args = [a.replace("{tmp}", str(root)) for a in case["args"]]
    env = {k: v.replace("{tmp}", str(root)) for k, v in case.get("env", {}).items()}
    before, top = _snapshot(root), set(os.listdir("/"))
    r = CliRunner().invoke(cli, args, env=env or None)
    out = r.output
    assert r.exit_code == case.get("exit", 2), (case["id"], out, r.exception)
    assert r.exception is None or isinstance(r.exception, SystemExit), (case["id"], repr(r.exception))
    assert "Traceback" not in out
    needles = case["message"] if isinstance(case["message"], list) else [case["message"]]
    for needle in needles:
        assert needle.replace("{tmp}", str(root)) in out, (case["id"], needle, out)
    after = _snapshot(root)
    changed = [rel for rel, h in before.items() if after.get(rel) != h]
    assert not changed, (case["id"], "inputs changed or removed", changed)
    if case.get("exit", 2) == 2:
        assert sum(line.startswith("Error:") for line in out.splitlines()) == 1, (case["id"], "one message", out)
        assert set(after) == set(before), (case["id"], "debris", sorted(set(after) - set(before)))
        assert set(os.listdir("/")) == top


def test_the_corpus_is_large_and_its_ids_unique():
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 100 and len(set(ids)) == len(ids)
    assert all(c.get("message") for c in CASES)
