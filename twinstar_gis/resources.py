"""Resource budgets: estimate before allocating, refuse with a message that names the fix.

A planner's input can ask for far more than the machine has (a 100 m grid over a province, a
sparse GeoTIFF that decompresses to tens of GiB, a DEM whose CRS label is wrong).  Every step that
allocates in proportion to its input estimates the bytes first and calls :func:`check_memory`,
which raises :class:`~twinstar_gis.errors.ResourceError` -- one message, exit code 2 in the CLI --
*before* anything is allocated.

The budget is ``Settings.memory_budget_gib`` (``--set memory_budget_gib=8``), or 60 % of the
machine's physical memory when that is 0.

Examples
--------
>>> check_memory(10 * 2**20, "a 10 MiB grid", "access.resolution_m")
>>> try:
...     check_memory(10 * 2**40, "the 100 m travel-time graph", "access.resolution_m", budget_bytes=2**30)
... except ResourceError as e:
...     print(str(e).split(";")[0])
the 100 m travel-time graph needs about 10240.0 GiB, more than the memory budget of 1.0 GiB
"""

from __future__ import annotations

import os

from .errors import ResourceError

__all__ = ["physical_memory_bytes", "memory_budget_bytes", "check_memory", "check_grid", "AUTO_SHARE",
           "BYTES_PER_GRID_CELL"]

#: Share of physical memory a run may plan to use when ``memory_budget_gib`` is 0.
AUTO_SHARE = 0.6
_GIB = 2**30
#: Memory of a travel-time run per cell of its grid.  Measured on the embedded region with the
#: implicit land search (peak RSS, 2 cores, 2026-12): ``twinstar access`` grows by 199 bytes per
#: cell from 500 m to 250 m (622 -> 1,283 MiB; 1.16 M -> 4.65 M cells), ``twinstar run`` by 172
#: (726 -> 1,299 MiB); 320 leaves a margin of 1.6x.  At 100 m (29 M cells) that is 8.7 GiB.
BYTES_PER_GRID_CELL = 320


def physical_memory_bytes() -> int:
    """The machine's physical memory in bytes (16 GiB assumed where the OS does not say).

    Returns
    -------
    int
    """
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX (Windows): assume a modest workstation
        return 16 * _GIB


def memory_budget_bytes(settings=None) -> int:
    """The memory budget of a run: ``settings.memory_budget_gib``, or :data:`AUTO_SHARE` of physical memory.

    Parameters
    ----------
    settings : Settings, optional
        A budget of 0 (the default) means automatic.

    Returns
    -------
    int
        Bytes.
    """
    gib = float(getattr(settings, "memory_budget_gib", 0.0) or 0.0)
    return int(gib * _GIB) if gib > 0 else int(AUTO_SHARE * physical_memory_bytes())


def check_memory(nbytes: float, what: str, fix: str, *, settings=None, budget_bytes: int | None = None) -> None:
    """Refuse a step whose estimated memory exceeds the budget, before it allocates.

    Parameters
    ----------
    nbytes : float
        The estimate, bytes.
    what : str
        What would be allocated, for the message ("the 100 m travel-time graph (4.6 M cells)").
    fix : str
        The setting or option that reduces it, named in the message ("access.resolution_m").
    settings : Settings, optional
        Where the budget comes from (see :func:`memory_budget_bytes`).
    budget_bytes : int, optional
        An explicit budget (tests).

    Raises
    ------
    ResourceError
        ``nbytes`` exceeds the budget.
    """
    budget = memory_budget_bytes(settings) if budget_bytes is None else int(budget_bytes)
    if nbytes > budget:
        raise ResourceError(f"{what} needs about {nbytes / _GIB:.1f} GiB, more than the memory budget of "
                            f"{budget / _GIB:.1f} GiB; change {fix}, or raise the budget with "
                            f"--set memory_budget_gib=N (this machine has {physical_memory_bytes() / _GIB:.0f} GiB)")


def check_grid(n_cells: int, resolution_m: float, *, settings=None, budget_bytes: int | None = None) -> None:
    """Refuse a travel-time grid too large for the memory budget, before any model is built.

    Parameters
    ----------
    n_cells : int
        Cells of the grid over the study area (``Grid.width * Grid.height``).
    resolution_m : float
        Its cell size, for the message.
    settings : Settings, optional
        Where the budget comes from.
    budget_bytes : int, optional
        An explicit budget (tests).

    Raises
    ------
    ResourceError
        ``n_cells * BYTES_PER_GRID_CELL`` exceeds the budget.

    Examples
    --------
    >>> check_grid(291_114, 1000)  # the embedded region at 1 km
    >>> try:
    ...     check_grid(29_040_003, 100, budget_bytes=8 * 2**30)
    ... except ResourceError as e:
    ...     print(str(e).split(";")[0])
    the 100 m travel-time grid (29.0 M cells) needs about 8.7 GiB, more than the memory budget of 8.0 GiB
    """
    check_memory(float(n_cells) * BYTES_PER_GRID_CELL, f"the {resolution_m:g} m travel-time grid ({n_cells / 1e6:.1f} M cells)",
                 "--resolution (access.resolution_m; 250 m covers the whole region in 1.4 GiB)", settings=settings,
                 budget_bytes=budget_bytes)
