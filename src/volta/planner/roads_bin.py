"""Real city road topologies from anvaka/ngraph.path.demo (`*-roads.co.bin` / `*.gr.bin`).

`*.co.bin`: int32 little-endian x, y per node (node id = index + 1), projected and centred on 0
in a unit that differs per city; `*.gr.bin`: int32 little-endian 1-based undirected edges. No
lat/lon, one-ways, speeds or road classes: the loader scales the coordinates so that the
graph's east-west extent is the city's known extent, drives every edge both ways, and gives
speeds by edge length (a documented stand-in for road class: long straight edges are arterials).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from volta.errors import VoltaError
from volta.planner.network import RoadNetwork

__all__ = ["EAST_WEST_EXTENT_M", "SPEED_BY_EDGE_LENGTH", "RoadFileError", "load_roads_bin"]

# East-west extent of each graph's area. Amsterdam: the municipality spans 4.73-5.07 °E at
# 52.37 °N = 23 km; the graph's x/y aspect ratio (1.28) matches the municipality's 23 x 18 km.
EAST_WEST_EXTENT_M = {"amsterdam": 23_000.0, "seattle": 20_000.0, "moscow": 50_000.0}
# (edge length from m, speed km/h): < 60 m residential, < 250 m urban, longer arterial
SPEED_BY_EDGE_LENGTH = ((0.0, 30.0), (60.0, 50.0), (250.0, 70.0))


class RoadFileError(VoltaError):
    """A road graph file is missing or malformed; fix or replace the file."""


def load_roads_bin(co_path: Path, gr_path: Path, extent_m: float) -> RoadNetwork:
    """A road network from the two binary files, scaled to `extent_m` east-west."""
    try:
        xy = np.fromfile(co_path, dtype="<i4").reshape(-1, 2).astype(np.float64)
        pairs = np.fromfile(gr_path, dtype="<i4").reshape(-1, 2).astype(np.int64) - 1
    except (OSError, ValueError) as exc:
        raise RoadFileError(f"cannot read road graph {co_path} / {gr_path}: {exc}") from exc
    n = len(xy)
    if pairs.size and (pairs.min() < 0 or pairs.max() >= n):
        raise RoadFileError(f"{gr_path}: edge endpoints outside 1..{n}")
    scale = extent_m / float(np.ptp(xy[:, 0]))
    x, y = xy[:, 0] * scale, xy[:, 1] * scale
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    both = np.concatenate([pairs, pairs[:, ::-1]])
    keys = np.unique(both[:, 0] * n + both[:, 1])
    src, dst = keys // n, keys % n
    length = np.hypot(x[src] - x[dst], y[src] - y[dst])
    length = np.maximum(length, 1.0)  # coincident points: a metre, not a free edge
    limits = np.array([lo for lo, _ in SPEED_BY_EDGE_LENGTH])
    kmh = np.array([v for _, v in SPEED_BY_EDGE_LENGTH])[
        np.searchsorted(limits, length, "right") - 1
    ]
    return RoadNetwork(x, y, src, dst, length, kmh / 3.6, np.zeros(len(src)))
