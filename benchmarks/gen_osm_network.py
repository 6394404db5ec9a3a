"""Generate a synthetic but realistic region-wide OpenStreetMap extract (PBF) for the benchmarks.

The road network covers the Chifeng-Tongliao bounding box like a prefecture's: a jittered lattice
of junctions (county and township roads in the grid, a secondary road every 8th line, a primary
road every 32nd alternating G/S refs with ``maxspeed`` on half of them), one shape point per edge,
ways running 8 edges between breaks so that most junctions are interior vertices of ways (as in
OSM), 15 % of the local edges missing, 10 % of local ways ``oneway=yes``.  Four motorways cross
the region on their own nodes (so they cross the grid without junctions, like bridges; one way
for both carriageways, so ``oneway=no``: OSM implies oneway=yes on a motorway) with a
``motorway_link`` ramp to the nearest grid junction every ~20 km; three railways and one
high-speed line with stations every ~40 km; 200 named industrial areas.  Class mix (by edges):
~75 % local, ~20 % secondary/tertiary, ~4 % primary, < 1 % motorway and ramps.  Router semantics
(issue 17): 2 % of local ways ``motor_vehicle=destination``, 0.5 % ``access=private``, and a turn
restriction (cycling no_left_turn, no_right_turn, only_straight_on, no_u_turn) at half of the
junctions where a row way ends and a column way starts (every 8th lattice line each way: ~1 % of
the junctions), from the row way to the column way via the junction node, as OSM mappers split ways
at restricted junctions.

    python benchmarks/gen_osm_network.py --edges 1000000 --out /tmp/net_1m.osm.pbf

Needs pyosmium (``pip install osmium``; BSD licence), used only to write the PBF.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

W, S, E, N = 116.6, 41.5, 123.5, 45.4


def _lattice(n_edges, rng):
    keep_share = 0.9
    n_junctions = n_edges / (2 * keep_share)
    aspect = (E - W) * math.cos(math.radians(43.5)) / (N - S)
    nx = max(4, int(math.sqrt(n_junctions * aspect)))
    ny = max(4, int(n_junctions / nx))
    dx, dy = (E - W) / (nx - 1), (N - S) / (ny - 1)
    gx, gy = np.meshgrid(np.linspace(W, E, nx), np.linspace(S, N, ny))
    gx = gx + rng.uniform(-0.25, 0.25, gx.shape) * dx
    gy = gy + rng.uniform(-0.25, 0.25, gy.shape) * dy
    return gx, gy, nx, ny, dx, dy


def _road_class(index):
    cls = np.full(index.shape, "residential", dtype=object)
    cls[index % 2 == 0] = "unclassified"
    cls[index % 4 == 0] = "tertiary"
    cls[index % 8 == 0] = "secondary"
    cls[index % 32 == 0] = "primary"
    return cls


RESTRICTIONS = ("no_left_turn", "no_right_turn", "only_straight_on", "no_u_turn")


def _access(tags, rng):
    """Destination-only and private local ways (issue 17's access rules)."""
    u = rng.random()
    if u < 0.02:
        tags["motor_vehicle"] = "destination"
    elif u < 0.025:
        tags["access"] = "private"


def _restrictions(ways, ends, rng):
    """Turn restrictions (from a row way ending at a junction to a column way starting there), relation members."""
    rows = {last: k for k, (axis, first, last) in enumerate(ends) if axis == 0}
    out = []
    for k, (axis, first, _) in enumerate(ends):
        if axis == 1 and first in rows and rng.random() < 0.5:
            value = RESTRICTIONS[len(out) % len(RESTRICTIONS)]
            to = rows[first] if value == "no_u_turn" else k
            out.append(([("w", rows[first] + 1, "from"), ("n", first, "via"), ("w", to + 1, "to")],
                        {"type": "restriction", "restriction": value}))
    return out


def _grid_ways(gx, gy, nx, ny, rng, next_node):
    """Ways along the lattice rows and columns: node lists, classes, tags; plus shape-point nodes and
    each way's (axis, first junction, last junction)."""
    ways, shape_nodes, ends = [], [], []
    jid = lambda iy, ix: 1 + iy * nx + ix
    for axis in (0, 1):  # 0: rows (east-west), 1: columns (north-south)
        n_lines, n_steps = (ny, nx - 1) if axis == 0 else (nx, ny - 1)
        line_cls = _road_class(np.arange(n_lines))
        major = np.isin(line_cls, ["primary", "secondary"])
        keep = rng.random((n_lines, n_steps)) > 0.15
        keep[major] = True
        for li in range(n_lines):  # one line of the lattice at a time (generator only)
            steps = np.flatnonzero(keep[li])
            if len(steps) == 0:
                continue
            brk = np.flatnonzero((np.diff(steps) != 1) | (steps[1:] % 8 == 0)) + 1
            for run in np.split(steps, brk):
                if axis == 0:
                    a = [(li, s) for s in run] + [(li, run[-1] + 1)]
                else:
                    a = [(s, li) for s in run] + [(run[-1] + 1, li)]
                ids = []
                for k, (iy, ix) in enumerate(a):
                    ids.append(jid(iy, ix))
                    if k < len(a) - 1:
                        iy2, ix2 = a[k + 1]
                        mx, my = (gx[iy, ix] + gx[iy2, ix2]) / 2, (gy[iy, ix] + gy[iy2, ix2]) / 2
                        off = rng.normal(0, 0.08)
                        px, py = (gy[iy2, ix2] - gy[iy, ix]) * off, -(gx[iy2, ix2] - gx[iy, ix]) * off
                        shape_nodes.append((next_node, mx + px, my + py))
                        ids.append(next_node)
                        next_node += 1
                cls = line_cls[li]
                tags = {"highway": cls}
                if cls == "primary":
                    tags["ref"] = ("G" if (li // 32) % 2 == 0 else "S") + str(100 + li)
                    if li % 64 == 0:
                        tags["maxspeed"] = "80"
                elif cls in ("residential", "unclassified"):
                    if rng.random() < 0.10:
                        tags["oneway"] = "yes"
                    _access(tags, rng)
                ways.append((ids, tags))
                ends.append((axis, ids[0], ids[-1]))
    return ways, shape_nodes, next_node, ends


def _long_lines(rng, next_node, spec, step_deg):
    """Straight-ish long lines (motorways, railways) on their own nodes every ``step_deg``."""
    out = []
    for (x0, y0, x1, y1), tags in spec:
        n = max(2, int(math.hypot(x1 - x0, y1 - y0) / step_deg))
        t = np.linspace(0, 1, n)
        xs = x0 + t * (x1 - x0) + np.sin(t * 7) * 0.05
        ys = y0 + t * (y1 - y0) + np.cos(t * 5) * 0.05
        ids = list(range(next_node, next_node + n))
        next_node += n
        out.append((ids, xs, ys, tags))
    return out, next_node


MOTORWAYS = [((117.0, 42.3), (123.3, 43.7), "G45"), ((116.8, 43.6), (120.2, 41.7), "G16"),
             ((118.6, 43.5), (121.0, 44.6), "G5511"), ((119.0, 41.6), (122.3, 45.2), "G25")]
RAILWAYS = [((118.9, 42.27), (122.27, 43.6), "rail"), ((117.5, 43.26), (122.27, 43.62), "rail"),
            ((122.27, 43.6), (119.7, 45.3), "rail"), ((118.88, 42.26), (122.4, 42.8), "hsr")]


def generate(n_edges, out, seed=0):
    import osmium

    rng = np.random.default_rng(seed)
    gx, gy, nx, ny, dx, dy = _lattice(n_edges, rng)
    next_node = 1 + nx * ny
    ways, shape, next_node, ends = _grid_ways(gx, gy, nx, ny, rng, next_node)
    restrictions = _restrictions(ways, ends, rng)
    mw, next_node = _long_lines(rng, next_node, [((a[0], a[1], b[0], b[1]), {"highway": "motorway", "ref": r, "oneway": "no"})
                                                 for a, b, r in MOTORWAYS], 0.01)
    rl, next_node = _long_lines(rng, next_node, [((a[0], a[1], b[0], b[1]),
                                                  {"railway": "rail", **({"highspeed": "yes"} if k == "hsr" else {})})
                                                 for a, b, k in RAILWAYS], 0.01)
    node_tags = {}
    for ids, xs, ys, tags in mw:  # ramps every ~20 km to the nearest junction
        for k in range(10, len(ids) - 10, 20):
            ix = int(np.clip(round((xs[k] - W) / dx), 0, nx - 1))
            iy = int(np.clip(round((ys[k] - S) / dy), 0, ny - 1))
            ways.append(([ids[k], 1 + iy * nx + ix], {"highway": "motorway_link"}))
            node_tags[ids[k]] = {"highway": "motorway_junction", "ref": str(k)}
    for ids, xs, ys, tags in rl:
        for k in range(0, len(ids), 40):
            node_tags[ids[k]] = {"railway": "station", "name": f"站{ids[k]}"}
    w = osmium.SimpleWriter(str(out))
    Node, Way, Relation = osmium.osm.mutable.Node, osmium.osm.mutable.Way, osmium.osm.mutable.Relation
    for iy in range(ny):
        for ix in range(nx):
            w.add_node(Node(id=1 + iy * nx + ix, location=(float(gx[iy, ix]), float(gy[iy, ix]))))
    for i, x, y in shape:
        w.add_node(Node(id=i, location=(float(x), float(y))))
    for ids, xs, ys, tags in mw + rl:
        for i, x, y in zip(ids, xs, ys):
            w.add_node(Node(id=i, location=(float(x), float(y)), tags=node_tags.get(i, {})))
    # Industrial areas: small named squares.
    areas = []
    for k in range(200):
        cx, cy, h = rng.uniform(W, E), rng.uniform(S, N), rng.uniform(0.005, 0.02)
        ids = list(range(next_node, next_node + 4))
        next_node += 4
        for i, (x, y) in zip(ids, [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]):
            w.add_node(Node(id=i, location=(x, y)))
        areas.append((ids + ids[:1], {"landuse": "industrial", "name": f"工业园{k}"}))
    way_id = 1
    for ids, tags in ways + [(ids, tags) for ids, _, _, tags in mw + rl] + areas:
        w.add_way(Way(id=way_id, nodes=ids, tags=tags))
        way_id += 1
    for rid, (members, tags) in enumerate(restrictions, start=1):
        w.add_relation(Relation(id=rid, members=members, tags=tags))
    w.close()
    n_grid_edges = sum(len(ids) // 2 for ids, tags in ways)
    n_dest = sum(tags.get("motor_vehicle") == "destination" for _, tags in ways)
    return {"junctions": nx * ny, "ways": way_id - 1, "edges": n_grid_edges, "nodes": next_node - 1,
            "restrictions": len(restrictions), "destination_ways": n_dest}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edges", type=int, default=50_000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t = time.perf_counter()
    info = generate(args.edges, args.out, args.seed)
    print(f"wrote {args.out}: {info} in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
