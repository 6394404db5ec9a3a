"""The land search (an implicit 8-neighbour Dijkstra) against a graph built here and searched by
networkx, and against times worked out by hand."""

import math

import networkx as nx
import numpy as np
import pytest

from twinstar_gis.model.gridsearch import _pop, _push, grid_times


def _reference(speed, active, res, seeds_rc, starts, limit=None):
    """Times by networkx on an explicit graph: r.cost's move cost, a virtual source per start time."""
    h, w = speed.shape
    g = nx.DiGraph()
    pace = 60.0 / speed / 1000.0  # minutes per metre
    for r in range(h):
        for c in range(w):
            if not active[r, c]:
                continue
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if (dr or dc) and 0 <= rr < h and 0 <= cc < w and active[rr, cc]:
                        length = res * (math.sqrt(2) if dr and dc else 1.0)
                        g.add_edge((r, c), (rr, cc), weight=length * (pace[r, c] + pace[rr, cc]) / 2)
    for (r, c), t in zip(seeds_rc, starts):
        if not g.has_node((r, c)):
            g.add_node((r, c))
        if np.isfinite(t) and (not g.has_edge("S", (r, c)) or g["S"][(r, c)]["weight"] > max(t, 0.0)):
            g.add_edge("S", (r, c), weight=max(t, 0.0))
    d = nx.single_source_dijkstra_path_length(g, "S", cutoff=limit, weight="weight")
    out = np.full((h, w), np.inf)
    for node, t in d.items():
        if node != "S":
            out[node] = t
    return out


def _ours(speed, active, res, seeds_rc, starts, limit=None):
    flat = np.array([r * speed.shape[1] + c for r, c in seeds_rc])
    return grid_times(speed, active, res, flat, starts, limit=limit).reshape(speed.shape)


@pytest.mark.parametrize("seed", range(6))
def test_grid_search_equals_networkx_on_an_explicit_graph(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(5, 28, 2)
    speed = rng.uniform(2.0, 90.0, (h, w))
    active = rng.random((h, w)) < 0.85
    active[h // 2, : w - 2] = False  # a wall with a gap: detours
    k = int(rng.integers(1, 5))
    rows, cols = np.nonzero(active)
    pick = rng.integers(0, rows.size, k)
    seeds_rc = list(zip(rows[pick], cols[pick])) + [(rows[pick[0]], cols[pick[0]])]  # one cell twice
    starts = np.concatenate([rng.uniform(-3.0, 40.0, k), [rng.uniform(0.0, 60.0)]])
    limit = None if seed % 2 else 45.0
    ref = _reference(speed, active, 250.0, seeds_rc, starts, limit)
    ours = _ours(speed, active, 250.0, seeds_rc, starts, limit)
    assert np.array_equal(np.isfinite(ours), np.isfinite(ref))
    np.testing.assert_allclose(ours[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=1e-12, atol=1e-12)
    assert np.isfinite(ref).sum() > 3  # the comparison covers a search, not only the seeds


def test_a_wall_forces_the_way_round_by_hand():
    """3 x 3 cells of 1 km at 60 km/h (1 min per km); the middle column is closed but for its
    bottom cell.  From the top-left cell to the top-right: down 1, diagonal sqrt(2) into the
    gap, diagonal sqrt(2) out of it, up 1 = 2 + 2 sqrt(2) minutes."""
    speed = np.full((3, 3), 60.0)
    active = np.ones((3, 3), bool)
    active[:2, 1] = False
    t = _ours(speed, active, 1000.0, [(0, 0)], [0.0])
    assert t[0, 2] == pytest.approx(2 + 2 * math.sqrt(2), abs=1e-12)
    assert t[2, 1] == pytest.approx(1 + math.sqrt(2), abs=1e-12)
    assert np.isinf(t[0, 1]) and np.isinf(t[1, 1])


def test_mean_pace_of_the_two_cells_by_hand():
    """1 km cells, 60 km/h then 20 km/h: 1 and 3 min per km; a step costs their mean, 2 minutes,
    and the next (20 -> 20 km/h) 3 minutes; the start time is added, a negative one counts as 0."""
    speed = np.array([[60.0, 20.0, 20.0]])
    t = _ours(speed, np.ones((1, 3), bool), 1000.0, [(0, 0)], [-4.0])
    assert t.ravel().tolist() == pytest.approx([0.0, 2.0, 5.0], abs=1e-12)
    t = _ours(speed, np.ones((1, 3), bool), 1000.0, [(0, 0), (0, 0), (0, 2)], [7.0, 1.5, np.nan])
    assert t.ravel().tolist() == pytest.approx([1.5, 3.5, 6.5], abs=1e-12)  # the smaller start; NaN starts nothing


def test_the_limit_leaves_cells_beyond_it_unreached():
    speed = np.full((1, 6), 60.0)  # 1 min per cell of 1 km
    t = _ours(speed, np.ones((1, 6), bool), 1000.0, [(0, 0)], [0.5], limit=3.5)
    assert t.ravel().tolist() == [0.5, 1.5, 2.5, 3.5, math.inf, math.inf]
    assert np.isinf(_ours(speed, np.ones((1, 6), bool), 1000.0, [(0, 0)], [4.0], limit=3.5)).all()


def test_the_heap_pops_in_order_and_grows():
    rng = np.random.default_rng(3)
    keys, vals, size = np.empty(4, np.float64), np.empty(4, np.int64), 0
    values = rng.uniform(0, 100, 1000)
    for i, v in enumerate(values):
        keys, vals, size = _push(keys, vals, size, v, i)
    out = []
    while size:
        out.append((keys[0], vals[0]))
        size = _pop(keys, vals, size)
    assert [k for k, _ in out] == sorted(values.tolist())
    assert [v for _, v in out] == np.argsort(values, kind="stable").tolist()


def test_many_seeds_on_a_large_grid_agree_with_networkx():
    """A 120 x 150 grid with 2,000 seeds (a network's egress cells): the seeds wait in their sorted
    list until due."""
    rng = np.random.default_rng(7)
    h, w = 120, 150
    speed = rng.uniform(1.0, 120.0, (h, w))
    active = rng.random((h, w)) < 0.95
    rows, cols = np.nonzero(active)
    pick = rng.choice(rows.size, 2000, replace=False)
    seeds_rc = list(zip(rows[pick], cols[pick]))
    starts = rng.uniform(0.0, 90.0, pick.size)
    ref = _reference(speed, active, 100.0, seeds_rc, starts)
    ours = _ours(speed, active, 100.0, seeds_rc, starts)
    assert np.array_equal(np.isfinite(ours), np.isfinite(ref))
    np.testing.assert_allclose(ours[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=1e-12, atol=1e-12)
