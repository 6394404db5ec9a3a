"""Print figures of a run folder: size, not blank, PDF renders back, Chinese drawn with a CJK font, scale and north."""

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pyproj import Geod, Transformer

from twinstar_gis.data.crs import EQUAL_AREA_CRS
from twinstar_gis.maps import figures as F

from ._runfolder import add_planning_outputs, build_run_folder

#: The figures a `twinstar run` draws (the comparison figure belongs to `twinstar compare`: tests/test_compare.py).
FIGURE_NAMES = [n for n in F.FIGURES if n != "compare"]

GEOD = Geod(ellps="WGS84")
A4_300DPI = (round(11.69 * 300), round(8.27 * 300))  # (3507, 2481) px


@pytest.fixture(scope="module")
def run_dir(built, tmp_path_factory):
    out = build_run_folder(tmp_path_factory.mktemp("run"), resolution=4000, data_from=built[0].parent)
    return add_planning_outputs(out, resolution=8000)


@pytest.fixture(scope="module")
def written(run_dir):
    return F.write_figures(run_dir, formats=("png", "pdf"))


def _grey(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=float)


def _size_dpi(path):
    with Image.open(path) as im:
        return im.size, im.info.get("dpi")


def test_each_figure_is_a4_at_300_dpi_and_drawn(written, run_dir):
    pngs = [p for p in written if p.suffix == ".png"]
    assert {p.stem for p in pngs} == set(FIGURE_NAMES)
    assert all(p.parent == run_dir / "figures" for p in written)
    for p in pngs:
        size, dpi = _size_dpi(p)
        assert size == A4_300DPI and dpi == pytest.approx((300, 300), abs=0.01)
        g = _grey(p)
        # a map, not a blank page: plenty of non-white pixels and real contrast
        assert (g < 245).mean() > 0.25 and g.std() > 30, p.name


@pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("pdffonts") is None, reason="poppler-utils not installed")
def test_pdf_renders_back_with_an_embedded_cjk_font(written, tmp_path):
    family, font_file = F.find_cjk_font()
    for pdf in (p for p in written if p.suffix == ".pdf"):
        subprocess.run(["pdftoppm", "-r", "30", "-png", "-singlefile", str(pdf), str(tmp_path / pdf.stem)], check=True,
                       capture_output=True)
        g = _grey(tmp_path / f"{pdf.stem}.png")
        assert np.abs(np.subtract(g.shape, (8.27 * 30, 11.69 * 30))).max() <= 1 and (g < 245).mean() > 0.25
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
        names = [line.split()[0] for line in fonts]
        # Chinese text is drawn with the CJK font found on the system, embedded (not a fallback with boxes)
        assert any(family.replace(" ", "").lower() in n.lower() for n in names), (family, names)
        assert all(" yes " in line for line in fonts), fonts
        # one subset of the font cut for the whole run (regular and bold), and the text stays text
        assert len({n.split("+", 1)[1] for n in names}) <= 2, names
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "图例 Legend" in text, pdf.name


def test_text_objects_use_the_cjk_font():
    import matplotlib
    from matplotlib.font_manager import findfont

    family, font_file = F.find_cjk_font()
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"]}):
        from matplotlib.figure import Figure

        t = Figure().text(0.5, 0.5, "赤峰市")
        assert findfont(t.get_fontproperties()) == str(font_file)


def test_no_cjk_font_is_a_clear_error(run_dir, monkeypatch, tmp_path, run):
    monkeypatch.setattr(F, "CJK_FAMILIES", ("No Such Font Anywhere",))
    with pytest.raises(F.FontNotFoundError, match="fonts-noto-cjk"):
        F.write_figures(run_dir, out_dir=tmp_path / "f")
    assert not (tmp_path / "f").exists()  # nothing half-written
    r = run("figures", run_dir, "--out", tmp_path / "g")
    assert r.exit_code == 2 and "Chinese characters" in r.output


def test_scale_bar_matches_the_ellipsoid(run_dir):
    """The bar's length in the projection equals the WGS-84 geodesic distance between its ends (< 0.5 %)."""
    from matplotlib.figure import Figure

    run = F.open_run(run_dir)
    b = run.layer("boundaries").to_crs(EQUAL_AREA_CRS).total_bounds
    ext = (b[0], b[2], b[1], b[3])
    ax = Figure().add_subplot()
    x0, y0, length = F._scale_bar(ax, ext)
    assert length == 100_000  # a fifth of the ~760 km wide region, rounded down
    inv = Transformer.from_crs(EQUAL_AREA_CRS, 4326, always_xy=True)
    lon, lat = inv.transform([x0, x0 + length], [y0, y0])
    assert GEOD.inv(lon[0], lat[0], lon[1], lat[1])[2] == pytest.approx(length, rel=0.005)


def test_north_arrow_points_to_true_north():
    """West of the central meridian (120.5 E) north leans east: convergence n * (lon - lon0),
    n = (sin 41.5 + sin 45.5) / 2 for the Albers standard parallels (spherical; ellipsoid within 0.05 deg)."""
    from matplotlib.figure import Figure

    fwd = Transformer.from_crs(4326, EQUAL_AREA_CRS, always_xy=True)
    x, y = fwd.transform(117.5, 44.0)
    # an extent whose arrow anchor (6 % from the left, 16 % from the top) lands on (117.5 E, 44 N)
    w, h = 800_000, 600_000
    ext = (x - 0.06 * w, x + 0.94 * w, y + 0.16 * h - h, y + 0.16 * h)
    ang = np.degrees(F._north_arrow(Figure().add_subplot(), ext))
    n = (np.sin(np.radians(41.5)) + np.sin(np.radians(45.5))) / 2
    assert ang == pytest.approx(-n * (117.5 - 120.5), abs=0.1)
    assert ang > 1.5


def test_svg_and_cli(run, run_dir, tmp_path):
    r = run("figures", run_dir, "--format", "svg", "--format", "png", "--dpi", "72", "--only", "overview", "--out", tmp_path / "fig")
    assert r.exit_code == 0, r.output
    svg = (tmp_path / "fig" / "overview.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "<path" in svg
    assert _size_dpi(tmp_path / "fig" / "overview.png")[0] == (int(11.69 * 72), int(8.27 * 72))
    r = run("figures", run_dir, "--format", "tiff")
    assert r.exit_code == 2


def test_sites_figure_draws_the_runs_classes_and_ranks(run_dir, tmp_path, caplog):
    """Class cells drawn = class cells in planning/suitability_classes.tif (same grid); rank 1 labelled as in sites.csv."""
    import matplotlib
    import pandas as pd
    import rasterio

    family, _ = F.find_cjk_font()
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"]}):
        fig = F.fig_sites(F.open_run(run_dir))
    ax = fig.axes[0]
    img = next(im for im in ax.images if np.ma.isMaskedArray(im.get_array()) and im.get_array().count() > 0
               and set(np.unique(im.get_array().compressed())) <= {1.0, 2.0, 3.0})
    with rasterio.open(run_dir / "planning/suitability_classes.tif") as src:
        a = src.read(1)
    drawn = img.get_array().compressed()
    assert {c: int((drawn == c).sum()) for c in (1, 2, 3)} == {c: int((a == c).sum()) for c in (1, 2, 3)}
    table = pd.read_csv(run_dir / "planning/sites.csv", encoding="utf-8-sig")
    texts = [t.get_text() for t in fig.texts] + [t.get_text() for a_ in fig.axes for t in a_.texts]
    top = table.loc[table["site_rank"] == 1].iloc[0]
    # every rank drawn inside its marker, where sites.csv puts the site (labels may hide; ranks never)
    fwd = Transformer.from_crs(4326, EQUAL_AREA_CRS, always_xy=True)
    for r in table.itertuples():
        x, y = fwd.transform(r.lon, r.lat)
        assert any(t.get_text() == str(r.site_rank) and np.hypot(t.get_position()[0] - x, t.get_position()[1] - y) < 50
                   for t in ax.texts), r.site_rank
    assert f"{top['score']:.3f}" in texts
    assert any(top["counties"] in t and f"{top['score']:.3f}" in t for t in texts)  # the headline box
    # a run without planning outputs: the figure is skipped, the others are written
    other = tmp_path / "run_noplan"
    shutil.copytree(run_dir, other, ignore=shutil.ignore_patterns("planning", "figures", "maps"))
    with caplog.at_level("INFO", logger="twinstar_gis.maps.figures"):
        assert F.write_figures(other, formats=("png",), dpi=30, names=["sites"]) == []
    assert any("no planning outputs" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------------------------- pages (issue 20)
@pytest.fixture(scope="module")
def cjk():
    import matplotlib

    family, _ = F.find_cjk_font()
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"],
                                "axes.unicode_minus": False}):
        yield


def _drawn(run_dir, page, name):
    with F.use_page(page):
        return F.FIGURES[name](F.open_run(run_dir))


#: Every figure on the small and the unusual pages; the landscape page is covered above, the slide by three.
PAGE_CASES = [(p, n) for p in ("word", "a4-portrait") for n in FIGURE_NAMES] + \
    [("slide", n) for n in ("overview", "distances", "sites")] + [("a4-landscape", n) for n in ("distances", "accessibility")]


@pytest.mark.parametrize("page,name", PAGE_CASES)
def test_nothing_runs_off_the_page_and_text_is_legible(run_dir, cjk, page, name):
    """Every drawn artist (clipped ones within their clip box) lies inside the page; no text is smaller
    than the page's minimum (6 pt in print, 8 pt on a slide); the legend panel's parts do not overlap."""
    fig = _drawn(run_dir, page, name)
    p = F.PAGES[page]
    assert tuple(fig.get_size_inches()) == pytest.approx(p.size)
    off = F.artists_off_page(fig)
    assert off == [], [(type(a).__name__, getattr(a, "get_text", lambda: "")()[:40], bb.extents) for a, bb in off]
    sizes = [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")
                                                   and a.get_visible() and a.get_text().strip())]
    assert min(sizes) >= p.min_font - 1e-6, min(sizes)
    assert getattr(fig, "_ts_panel_fits", False)


def test_off_page_check_catches_a_legend_running_off(run_dir, cjk):
    """The check itself: a text pushed past the right edge is reported."""
    fig = _drawn(run_dir, "word", "overview")
    assert F.artists_off_page(fig) == []
    t = fig.text(0.97, 0.5, "自然保护区 Nature reserve (示意 indicative) running off")
    assert [a for a, _ in F.artists_off_page(fig)] == [t]


def test_distances_figure_names_every_park(run_dir, cjk):
    fig = _drawn(run_dir, "a4-landscape", "distances")
    text = "\n".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_fontsize")))
    near = pd.read_csv(run_dir / "analysis/park_corridor_nearest.csv", encoding="utf-8-sig")
    hsr = near[near["class"] == "hsr_station"]
    for i, r in enumerate(hsr.sort_values("park_id").itertuples(), start=1):
        assert f"{i} {r.park_name_zh} → {r.target_name_zh} {r.distance_km:.1f} km" in text


def test_legend_says_indicative_only_for_indicative_layers(run_dir, cjk):
    run = F.open_run(run_dir)
    with F.use_page("a4-landscape"):
        fig = F.fig_overview(run)
    labels = [t.get_text().replace("\n", " ") for t in fig.axes[-1].get_legend().get_texts()]
    assert any(lab.startswith("产业园区 Industrial park (示意 indicative)") for lab in labels)  # embedded parks: indicative
    run.layers()["parks"]["geometry_quality"] = "surveyed"  # a planner's surveyed parks
    with F.use_page("a4-landscape"):
        fig = F.fig_overview(run)
    labels = [t.get_text().replace("\n", " ") for t in fig.axes[-1].get_legend().get_texts()]
    assert "产业园区 Industrial park" in labels and not any("产业园区" in lab and "示意" in lab for lab in labels)


def test_change_figure_labels_the_largest_change(run_dir, cjk):
    fig = _drawn(run_dir, "word", "change")  # the smallest page: the most labels collide
    sc = pd.read_csv(run_dir / "access/scenario_counties.csv", encoding="utf-8-sig")
    top = sc.loc[sc["mean_min_change"].abs().idxmax(), "name_zh"]
    assert any(t.get_text().startswith(top + "\n") for t in fig.axes[0].texts)


def test_figures_cli_pages(run, run_dir, tmp_path):
    r = run("figures", run_dir, "--page", "word", "--page", "slide", "--only", "overview", "--format", "png", "--dpi", "72",
            "--out", tmp_path / "f")
    assert r.exit_code == 0, r.output
    assert _size_dpi(tmp_path / "f" / "overview_word.png")[0] == (int(6.3 * 72), int(8.6 * 72))  # 16 cm wide, legend below
    assert _size_dpi(tmp_path / "f" / "overview_slide.png")[0] == (int(13.333 * 72), int(7.5 * 72))  # 16:9
