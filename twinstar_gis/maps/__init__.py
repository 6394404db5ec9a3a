"""Maps and figures of a run folder: offline Folium gallery (interactive) and print-ready figures (static).

Both read a run's outputs (``twinstar run``) and never recompute an analysis.
"""

from .core import BASEMAPS, new_map, save_map
from .gallery import (GALLERY, access_map, change_map, conflicts_map, distances_map, headline_figures, overview_map,
                      scenario_map, write_gallery)
from .planning_pages import linkage_map, sites_map, suitability_map
from .style import PALETTE


def write_figures(run_dir, *, formats=("png", "pdf"), **kw):
    """Print-ready figures of a run folder; see :func:`twinstar_gis.maps.figures.write_figures`.

    Imports matplotlib only when called, so ``import twinstar_gis.maps`` stays light.

    Parameters
    ----------
    run_dir : path-like or Run
        Output folder of ``twinstar run`` (with ``run.json``).
    formats : tuple of {"png", "pdf", "svg"}, default ("png", "pdf")
        File formats to write, each figure once per format.
    **kw
        ``out_dir`` (default ``run_dir/figures``), ``names`` (keys of
        ``FIGURES``; default all the run supports), ``dpi`` (PNG resolution,
        default 300) and ``manifest`` (the manifest of a run still being
        staged), passed on.

    Returns
    -------
    list of pathlib.Path
        The files written, ``<name>.<format>``.

    Raises
    ------
    FontNotFoundError
        No font with Chinese glyphs is installed (checked before drawing).
    RunFolderError
        ``run_dir`` is not a run folder, or a file a figure needs is missing.
    TwinstarError
        An unknown format.
    """
    from .figures import write_figures as _write

    return _write(run_dir, formats=formats, **kw)


__all__ = ["BASEMAPS", "PALETTE", "GALLERY", "new_map", "save_map", "overview_map", "distances_map", "conflicts_map",
           "access_map", "scenario_map", "change_map", "headline_figures", "write_gallery", "write_figures",
           "suitability_map", "sites_map", "linkage_map"]

# twinstar compare: its page and figure join the gallery and the figures (registered here: gallery.py importing
# compare would close the cycle compare -> figures -> gallery -> compare)
from . import figures as _figures, gallery as _gallery  # noqa: E402
from .compare import compare_map, fig_compare  # noqa: E402

_gallery.GALLERY["compare"] = ("方案比选 Alternatives", "Ranking, indicators and one small map per alternative (twinstar compare).")
_gallery._MAKERS["compare"] = compare_map
_figures.FIGURES["compare"] = fig_compare
