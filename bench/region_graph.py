"""A seeded region-scale road graph around real charger locations, for bench/planner.py.

No real road graph of a whole region is available offline, so this one is generated (described
in docs/planner.md): towns where the real DC stations are (stations within 5 km form one town),
each a street grid sized by its number of stations (50 km/h streets, every 6th line a 70 km/h
arterial), joined by a motorway/trunk network along the Delaunay triangulation of the towns
(links up to 150 km; polylines with a node every km and seeded lateral detours; 110 km/h
motorway for links > 40 km, 90 km/h trunk otherwise). Real: the station positions, hence the
towns' places and sizes. Not real: every road.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import Delaunay

from volta.planner.network import RoadNetwork

__all__ = ["region_graph"]

SPACING_M = 120.0
TOWN_CELL_M = 5_000.0


def region_graph(
    lat: np.ndarray, lon: np.ndarray, target_nodes: int, seed: int
) -> tuple[RoadNetwork, np.ndarray]:
    """(network, node of each station) with about `target_nodes` nodes."""
    rng = np.random.default_rng(seed)
    lat0, lon0 = float(np.mean(lat)), float(np.mean(lon))
    k = math.cos(math.radians(lat0))
    sx = np.radians(lon - lon0) * 6_371_008.8 * k
    sy = np.radians(lat - lat0) * 6_371_008.8
    cell = np.floor(sx / TOWN_CELL_M).astype(np.int64) * 100_000 + np.floor(
        sy / TOWN_CELL_M
    ).astype(np.int64)
    _, town_of, counts = np.unique(cell, return_inverse=True, return_counts=True)
    n_towns = len(counts)
    cx = np.bincount(town_of, sx) / counts
    cy = np.bincount(town_of, sy) / counts
    tri = Delaunay(np.column_stack([cx, cy]))
    links = {
        tuple(sorted((int(a), int(b))))
        for s in tri.simplices
        for a, b in ((s[0], s[1]), (s[1], s[2]), (s[0], s[2]))
    }
    links_l = [(a, b) for a, b in links if math.hypot(cx[a] - cx[b], cy[a] - cy[b]) <= 150_000]
    motorway_nodes = sum(math.hypot(cx[a] - cx[b], cy[a] - cy[b]) * 1.15 / 1000 for a, b in links_l)
    budget = max(target_nodes - motorway_nodes, n_towns * 16)
    side = np.maximum(4, np.round(np.sqrt(budget * counts / counts.sum()))).astype(np.int64)
    xs, ys, src, dst, kmh = [], [], [], [], []
    centre_node = np.zeros(n_towns, dtype=np.int64)
    base = 0
    for t in range(n_towns):
        g = int(side[t])
        ii, jj = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        xs.append(cx[t] + (ii.ravel() - (g - 1) / 2) * SPACING_M)
        ys.append(cy[t] + (jj.ravel() - (g - 1) / 2) * SPACING_M)
        idx = ii * g + jj + base
        for u, w, line in (
            (idx[:-1, :], idx[1:, :], jj[:-1, :]),
            (idx[:, :-1], idx[:, 1:], ii[:, :-1]),
        ):
            src.append(u.ravel())
            dst.append(w.ravel())
            kmh.append(np.where(line.ravel() % 6 == 0, 70.0, 50.0))
        centre_node[t] = base + (g // 2) * g + g // 2
        base += g * g
    for a, b in links_l:
        length = math.hypot(cx[a] - cx[b], cy[a] - cy[b])
        steps = max(2, int(length * 1.1 / 1000))
        f = np.linspace(0, 1, steps + 1)[1:-1]
        nx, ny = (cx[b] - cx[a]) / length, (cy[b] - cy[a]) / length
        detour = np.sin(np.pi * f) * rng.normal(0, 0.08) * length + rng.normal(0, 150, len(f))
        xs.append(cx[a] + f * (cx[b] - cx[a]) - ny * detour)
        ys.append(cy[a] + f * (cy[b] - cy[a]) + nx * detour)
        chain = np.concatenate([[centre_node[a]], base + np.arange(len(f)), [centre_node[b]]])
        src.append(chain[:-1])
        dst.append(chain[1:])
        kmh.append(np.full(len(chain) - 1, 110.0 if length > 40_000 else 90.0))
        base += len(f)
    x, y = np.concatenate(xs), np.concatenate(ys)
    s, d, v = np.concatenate(src), np.concatenate(dst), np.concatenate(kmh)
    s, d, v = np.concatenate([s, d]), np.concatenate([d, s]), np.concatenate([v, v])
    keys, first = np.unique(s * len(x) + d, return_index=True)
    s, d, v = keys // len(x), keys % len(x), v[first]
    length = np.maximum(np.hypot(x[s] - x[d], y[s] - y[d]), 1.0)
    net = RoadNetwork(x, y, s, d, length, v / 3.6, np.zeros(len(s)), lat0, lon0)
    station_nodes = np.array(
        [net.snap(float(a), float(b), 50_000.0) for a, b in zip(sx, sy, strict=True)]
    )
    return net, station_nodes
