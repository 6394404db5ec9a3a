"""Shortest times over the land grid without building a graph: an implicit 8-neighbour Dijkstra.

The land is a raster: every inside cell reaches its eight neighbours, and the time of a move
is its length (the cell size, x sqrt(2) on a diagonal) times the mean pace of the two cells
(minutes per metre = 60 / speed / 1000) -- the move cost of GRASS ``r.cost`` and of
scikit-image's ``MCP_Geometric``.  Nothing but the times is allocated per cell: the search
reads the speed raster and the cell numbering the model holds, and keeps the frontier in a
binary heap with lazy deletion (entries of a cell reached again sooner are skipped when
popped), so a search needs its times, 8 bytes per grid cell (they are the surface it
returns), plus a heap the size of the frontier (thousands of entries on a region-wide grid).

Seeds (cells with a start time: a source's own cell, every cell the network reaches through
a join) are taken in order of their start time from a sorted list, beside the heap, so a
million seeds cost no heap entries until they are due.

The loop is compiled by Numba on first use and cached on disk (beside the module, or in the
user's cache folder, or ``NUMBA_CACHE_DIR``).
"""

from __future__ import annotations

import logging
import math

import numba
import numpy as np

__all__ = ["grid_times"]

log = logging.getLogger(__name__)


def _jit(fn):
    """Compile ``fn`` with Numba, cached on disk where a cache folder is writable."""
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # no writable cache location: compile in memory only
        return numba.njit(nogil=True)(fn)


@_jit
def _push(keys, vals, size, key, val):
    """Add ``(key, val)`` to the binary heap ``keys[:size]``; returns the (maybe grown) arrays and size."""
    if size == keys.size:  # grow: the heap holds the frontier, not the grid
        k2 = np.empty(2 * keys.size, np.float64)
        v2 = np.empty(2 * keys.size, np.int64)
        k2[:size] = keys[:size]
        v2[:size] = vals[:size]
        keys, vals = k2, v2
    i = size
    while i > 0:  # sift up
        parent = (i - 1) >> 1
        if keys[parent] <= key:
            break
        keys[i] = keys[parent]
        vals[i] = vals[parent]
        i = parent
    keys[i] = key
    vals[i] = val
    return keys, vals, size + 1


@_jit
def _pop(keys, vals, size):
    """Remove the root (the smallest key) of the heap ``keys[:size]``; returns the new size."""
    size -= 1
    key, val = keys[size], vals[size]  # the last entry sinks from the root
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if key <= keys[child]:
            break
        keys[i] = keys[child]
        vals[i] = vals[child]
        i = child
    keys[i] = key
    vals[i] = val
    return size


@_jit
def _spread(speed, active, width, resolution, seed_cells, seed_minutes, limit, dist):
    """Dijkstra over the implicit grid; ``dist`` (flat, like ``speed``) is filled in place; returns cells settled."""
    height = speed.size // width
    dr = (0, 1, 1, 1, 0, -1, -1, -1)
    dc = (1, 1, 0, -1, -1, -1, 0, 1)
    step_axial = resolution * 1.0
    step_diag = resolution * np.sqrt(2.0)
    for k in range(seed_cells.size):  # sorted by start time: the first on a cell is its smallest
        if seed_minutes[k] < dist[seed_cells[k]]:
            dist[seed_cells[k]] = seed_minutes[k]
    keys = np.empty(4096, np.float64)
    vals = np.empty(4096, np.int64)
    size = 0
    k = 0
    settled = 0
    while True:
        if size > 0 and (k >= seed_cells.size or keys[0] <= seed_minutes[k]):
            d, i = keys[0], vals[0]
            size = _pop(keys, vals, size)
        elif k < seed_cells.size:
            d, i = seed_minutes[k], seed_cells[k]
            k += 1
        else:
            break
        if d > dist[i]:  # reached sooner since: a stale entry
            continue
        settled += 1
        r = i // width
        c = i - r * width
        pace = 60.0 / speed[i] / 1000.0
        for n in range(8):
            rr = r + dr[n]
            cc = c + dc[n]
            if rr < 0 or rr >= height or cc < 0 or cc >= width:
                continue
            j = rr * width + cc
            if not active[j]:
                continue
            step = step_diag if dr[n] != 0 and dc[n] != 0 else step_axial
            t = d + step * (pace + 60.0 / speed[j] / 1000.0) / 2.0
            if t < dist[j] and t <= limit:
                dist[j] = t
                keys, vals, size = _push(keys, vals, size, t, j)
    return settled


def grid_times(speed_kmh: np.ndarray, active: np.ndarray, resolution: float, seeds, start_minutes, *,
               limit=None) -> np.ndarray:
    """Minutes from the nearest seed (plus its start time) to every active cell, over the 8-neighbour grid.

    Parameters
    ----------
    speed_kmh : (H, W) array of float
        Land speed of every cell, km/h (read only for active cells).
    active : (H, W) array of bool
        Cells that can be crossed.
    resolution : float
        Cell size, metres.
    seeds : array of int
        Seed cells, flat (row-major) grid indices of active cells; repeats allowed.
    start_minutes : array of float
        Start time of each seed; NaN or ``inf`` leaves a seed out, negative counts as 0, several
        seeds on one cell keep the smallest (never their sum).
    limit : float, optional
        Leave cells beyond this many minutes unreached.

    Returns
    -------
    numpy.ndarray
        ``(H * W,)`` minutes (flat, row-major), ``inf`` where unreached or not active.

    Examples
    --------
    Three cells in a row at 15 km/h (4 minutes per km), 1 km cells, one seed at the left end
    starting at 2 minutes:

    >>> import numpy as np
    >>> speed, active = np.full((1, 3), 15.0), np.ones((1, 3), bool)
    >>> grid_times(speed, active, 1000.0, [0], [2.0]).tolist()
    [2.0, 6.0, 10.0]
    >>> grid_times(speed, active, 1000.0, [0, 2], [2.0, 0.0], limit=3.0).tolist()
    [2.0, inf, 0.0]
    """
    dist = np.full(speed_kmh.size, np.inf)
    seeds = np.asarray(seeds, np.int64).ravel()
    start = np.maximum(np.asarray(start_minutes, float).ravel(), 0.0)
    lim = math.inf if limit is None else float(limit)
    ok = np.isfinite(start) & (start <= lim)
    if not ok.any():
        return dist
    seeds, start = seeds[ok], start[ok]
    order = np.argsort(start, kind="stable")
    _spread(np.ascontiguousarray(speed_kmh, np.float64).ravel(), np.ascontiguousarray(active, np.bool_).ravel(),
            int(speed_kmh.shape[1]), float(resolution), seeds[order], start[order], lim, dist)
    return dist
