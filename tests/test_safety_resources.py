"""No input of any size exhausts the machine: refusals happen before the allocation (issue 18).

Memory is measured with :mod:`tracemalloc` (numpy reports its buffers to it): a refusal must
come with a small peak, a windowed read with a peak near the window, not the file.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin

from twinstar_gis.cli import cli
from twinstar_gis.data.io import read_project
from twinstar_gis.data.terrain import clip_dem
from twinstar_gis.data.validate import TWIN_STAR_BOUNDS
from twinstar_gis.errors import DataSourceError, ProjectFileError, ResourceError
from twinstar_gis.resources import BYTES_PER_GRID_CELL, check_grid, check_memory

MIB = 2**20


def _peak(fn, *a, **k):
    """(result or exception, peak traced bytes) of a call."""
    tracemalloc.start()
    try:
        try:
            out = fn(*a, **k)
        except Exception as exc:  # noqa: BLE001 - returned for the caller to check
            out = exc
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _sparse(path, *, crs, west, north, cell, width, height, block=None, value=700):
    """A tiled, compressed, sparse GeoTIFF: no tile is stored except ``block`` (row0, col0, rows, cols) set to ``value``."""
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1, dtype="int16", crs=crs,
                       transform=from_origin(west, north, cell, cell), nodata=-32768, tiled=True, compress="deflate",
                       SPARSE_OK=True, BIGTIFF="YES") as d:
        if block:
            r0, c0, rows, cols = block
            d.write(np.full((rows, cols), value, "int16"), 1, window=rasterio.windows.Window(c0, r0, cols, rows))


def test_a_sparse_dem_of_a_continent_at_10_m_is_refused_before_reading(tmp_path):
    # 200,000 x 150,000 cells of 10 m in CGCS2000 GK (CM 120 E): 2,000 x 1,500 km, a few MB on disk.
    # The study area alone is some 650 x 560 km: ~3.6e9 cells, far beyond any budget.
    p = tmp_path / "sparse.tif"
    _sparse(p, crs="EPSG:4549", west=-200_000, north=5_500_000, cell=10, width=200_000, height=150_000)
    assert p.stat().st_size < 16 * MIB
    err, peak = _peak(clip_dem, p, TWIN_STAR_BOUNDS, tmp_path / "out.tif")
    assert isinstance(err, ResourceError), err
    assert "--dem" in str(err) and "memory budget" in str(err)
    assert peak < 16 * MIB  # refused before a single window was allocated
    assert not (tmp_path / "out.tif").exists()


def test_a_large_dem_is_read_only_over_the_study_area(tmp_path):
    # 8,000 x 6,000 cells of 500 m (4,000 x 3,000 km; 96 MB as int16, 192 MB as float32 when read whole);
    # the study area with its 0.5 degree margin is a few per cent of it.  Data (700 m) only over the region.
    from pyproj import Transformer

    west, north, cell = -1_500_000.0, 6_500_000.0, 500.0
    to_gk = Transformer.from_crs(4326, 4549, always_xy=True)
    xs, ys = to_gk.transform([115.0, 125.0, 115.0, 125.0], [40.5, 40.5, 46.5, 46.5])
    c0, c1 = int((min(xs) - west) // cell), int(math.ceil((max(xs) - west) / cell))
    r0, r1 = int((north - max(ys)) // cell), int(math.ceil((north - min(ys)) / cell))
    p = tmp_path / "big.tif"
    _sparse(p, crs="EPSG:4549", west=west, north=north, cell=cell, width=8000, height=6000, block=(r0, c0, r1 - r0, c1 - c0))
    info, peak = _peak(clip_dem, p, TWIN_STAR_BOUNDS, tmp_path / "out.tif")
    assert isinstance(info, dict), info
    assert info["min"] == info["max"] == 700.0
    whole = 8000 * 6000 * 4
    assert peak < whole / 4, (peak / MIB, whole / MIB)
    with rasterio.open(tmp_path / "out.tif") as out:
        w, s, e, n = out.bounds
    m = 0.5
    assert w <= TWIN_STAR_BOUNDS[0] - m + 0.01 and e >= TWIN_STAR_BOUNDS[2] + m - 0.01
    assert s <= TWIN_STAR_BOUNDS[1] - m + 0.01 and n >= TWIN_STAR_BOUNDS[3] + m - 0.01


@pytest.mark.parametrize("crs, west, north, cell, said", [
    ("EPSG:3857", 116.0, 46.0, 0.01, "look like lon/lat degrees, but the file says EPSG:3857"),
    ("EPSG:4326", 40_300_000.0, 5_000_000.0, 1000.0, "look like projected metres, but the file says EPSG:4326"),
    ("EPSG:4549", 116.0, 46.0, 0.01, "look like lon/lat degrees"),
])
def test_a_dem_with_a_wrong_crs_label_is_refused_with_the_cause(crs, west, north, cell, said, tmp_path):
    # issue 18: a DEM whose CRS label was wrong asked for 19.8 PiB
    p = tmp_path / "dem.tif"
    with rasterio.open(p, "w", driver="GTiff", width=800, height=500, count=1, dtype="float32", crs=crs,
                       transform=from_origin(west, north, cell, cell)) as d:
        d.write(np.ones((1, 500, 800), "float32"))
    err, peak = _peak(clip_dem, p, TWIN_STAR_BOUNDS, tmp_path / "out.tif")
    assert isinstance(err, DataSourceError) and said in str(err) and "wrong CRS label" in str(err), err
    assert peak < 8 * MIB


def test_the_hillshade_of_a_fine_dem_is_read_coarsened(tmp_path):
    # a 1 arc-second DEM of the region (27,000 x 16,000 cells: 1.6 GiB as float32) shades a web map in a
    # few tens of MB: it is read averaged down, never whole
    from twinstar_gis.maps.core import add_hillshade, new_map

    p = tmp_path / "fine.tif"
    w, s, e, n = TWIN_STAR_BOUNDS
    cell = 1 / 3600
    width, height = math.ceil((e - w) / cell), math.ceil((n - s) / cell)
    _sparse(p, crs="EPSG:4326", west=w, north=n, cell=cell, width=width, height=height, block=(0, 0, 4096, 4096))
    m, spec = new_map(TWIN_STAR_BOUNDS)
    out, peak = _peak(add_hillshade, m, spec, p)
    assert out is m
    assert peak < 400 * MIB < width * height * 4


def test_access_at_100_m_is_refused_before_any_model_is_built(tmp_path, monkeypatch):
    # issue 18: `access --resolution 100` was killed by the kernel at 8.2 GiB
    import geopandas as gpd

    import twinstar_gis.model.traveltime as tt
    from twinstar_gis.data.crs import EQUAL_AREA_CRS
    from twinstar_gis.data.dataset import build_boundaries

    def never(*a, **k):
        raise AssertionError("a model was built")

    monkeypatch.setattr(tt, "build_model", never)
    monkeypatch.setattr(tt, "accessibility", never)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.toml").write_text('base = "embedded"\n', encoding="utf-8")
    r = CliRunner().invoke(cli, ["access", "--project", "p.toml", "--resolution", "100", "--set", "memory_budget_gib=8"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    # the grid: the two prefectures' extent in the regional equal-area projection, in 100 m cells
    b = build_boundaries()
    x0, y0, x1, y1 = gpd.GeoSeries(b[b["level"] == "prefecture"].geometry, crs=4326).to_crs(EQUAL_AREA_CRS).total_bounds
    cells = (math.ceil(x1 / 100) - math.floor(x0 / 100)) * (math.ceil(y1 / 100) - math.floor(y0 / 100))
    assert f"({cells / 1e6:.1f} M cells)" in r.output
    assert f"{cells * BYTES_PER_GRID_CELL / 2**30:.1f} GiB" in r.output and "--resolution" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]


def test_the_grid_budget():
    # 250 m covers the region (4.65 M cells x 320 bytes = 1.4 GiB) within 8 GiB; 100 m (29 M cells, 8.7 GiB) does not
    check_grid(4_650_048, 250, budget_bytes=8 * 2**30)
    with pytest.raises(ResourceError, match="8.7 GiB"):
        check_grid(29_040_003, 100, budget_bytes=8 * 2**30)
    with pytest.raises(ResourceError, match="memory_budget_gib"):
        check_memory(2 * 2**30, "a thing", "a setting", budget_bytes=2**30)


def test_a_yaml_alias_bomb_is_refused_at_its_first_anchor(tmp_path):
    # issue 18: 925 bytes that expand to 9^9 strings (15.8 GiB, then MemoryError after 338 s)
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(8):
        x, y = chr(98 + i), chr(97 + i)
        lines.append(f"{x}: &{x} [" + ",".join([f"*{y}"] * 9) + "]")
    p = tmp_path / "bomb.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert p.stat().st_size < 1000
    err, peak = _peak(read_project, p)
    assert isinstance(err, ProjectFileError) and "line 1: an anchor (&a) is not allowed" in str(err), err
    assert peak < 2 * MIB


def test_a_huge_project_file_is_refused_before_it_is_read(tmp_path):
    p = tmp_path / "p.toml"
    with open(p, "wb") as f:
        f.truncate(64 * MIB)  # sparse: 64 MiB that are never read
    err, peak = _peak(read_project, p)
    assert isinstance(err, ProjectFileError) and "at most 1 MiB" in str(err)
    assert peak < MIB
