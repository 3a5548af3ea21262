"""The road network the planner searches: a directed graph in planar metres with per-edge
length, speed and grade, fastest-time trees over it, and sums of edge values along those trees.

Pure: built from arrays (`from_road_graph` for `volta.geo`'s OSM graphs, `planner.roads_bin` for
the projected city graphs); no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from volta.errors import VoltaError
from volta.geo.distance import EARTH_RADIUS_M
from volta.geo.graph import RoadGraph

__all__ = ["OffGraph", "RoadNetwork"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class OffGraph(VoltaError):
    """A point is farther from every road than the snapping limit; pick a point on a road."""


@dataclass(eq=False)
class RoadNetwork:
    """Directed edges sorted by (src, dst), one per ordered pair. Coordinates are metres on a
    plane; `lat0`/`lon0` (when set) is where the plane touches the Earth."""

    x_m: FloatArray
    y_m: FloatArray
    src: IntArray
    dst: IntArray
    length_m: FloatArray
    speed_mps: FloatArray
    grade: FloatArray
    lat0: float | None = None
    lon0: float | None = None
    _forward: csr_matrix = field(init=False, repr=False)
    _backward: csr_matrix = field(init=False, repr=False)
    _keys: IntArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = self.n_nodes
        self._keys = self.src * n + self.dst
        if np.any(np.diff(self._keys) <= 0):
            raise ValueError("edges must be sorted by (src, dst) without duplicates")
        t = self.time_s
        self._forward = csr_matrix((t, (self.src, self.dst)), shape=(n, n))
        self._backward = self._forward.T.tocsr()

    @classmethod
    def from_road_graph(cls, g: RoadGraph) -> RoadNetwork:
        """A `volta.geo` OSM road graph, projected around its centre (equirectangular)."""
        lat0, lon0 = float(np.mean(g.lat)), float(np.mean(g.lon))
        x, y = _project(g.lat, g.lon, lat0, lon0)
        return cls(x, y, g.src.astype(np.int64), g.dst.astype(np.int64), g.length_m, g.speed_mps,
                   g.grade, lat0, lon0)  # fmt: skip

    @property
    def n_nodes(self) -> int:
        return len(self.x_m)

    @property
    def time_s(self) -> FloatArray:
        return np.asarray(self.length_m / self.speed_mps, dtype=np.float64)

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        """A WGS84 point on this network's plane."""
        if self.lat0 is None or self.lon0 is None:
            raise OffGraph("this road network has no geographic reference; give node ids")
        x, y = _project(np.array([lat]), np.array([lon]), self.lat0, self.lon0)
        return float(x[0]), float(y[0])

    def snap(self, x: float, y: float, max_m: float) -> int:
        """The node nearest to (x, y); OffGraph when it is farther than max_m."""
        d2 = (self.x_m - x) ** 2 + (self.y_m - y) ** 2
        node = int(np.argmin(d2))
        dist = math.sqrt(float(d2[node]))
        if dist > max_m:
            raise OffGraph(
                f"point is {dist:,.0f} m from the nearest road node (limit {max_m:,.0f} m)"
            )
        return node

    def snap_latlon(self, lat: float, lon: float, max_m: float) -> int:
        """The node nearest to a WGS84 point; OffGraph when it is farther than max_m."""
        x, y = self.to_xy(lat, lon)
        return self.snap(x, y, max_m)

    def edge_index(self, a: IntArray, b: IntArray) -> IntArray:
        """Indices of the edges a[k]→b[k] (each must exist)."""
        keys = a * self.n_nodes + b
        idx = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        if not np.array_equal(self._keys[idx], keys):
            raise KeyError("a node pair is not an edge")
        return idx.astype(np.int64)

    def matrices(self, weights: FloatArray) -> tuple[csr_matrix, csr_matrix]:
        """Forward and backward matrices for trees on other edge weights (>= 0), e.g. energy."""
        n = self.n_nodes
        forward = csr_matrix((weights, (self.src, self.dst)), shape=(n, n))
        return forward, forward.T.tocsr()

    def tree(
        self,
        sources: int | list[int],
        reverse: bool = False,
        limit: float = np.inf,
        matrices: tuple[csr_matrix, csr_matrix] | None = None,
    ) -> tuple[FloatArray, IntArray]:
        """Shortest costs (fastest times unless `matrices` say otherwise) from the sources to
        every node (to them, if reverse) and the tree: pred[v] is the node before v on its path
        (after v, if reverse); -9999 for roots and unreached nodes."""
        forward, backward = matrices or (self._forward, self._backward)
        t, pred, _ = dijkstra(
            backward if reverse else forward, directed=True, indices=sources,
            return_predecessors=True, limit=limit, min_only=True,
        )  # fmt: skip
        return np.asarray(t, dtype=np.float64), np.asarray(pred, dtype=np.int64)

    def tree_sums(
        self, pred: IntArray, edge_values: FloatArray, reverse: bool = False
    ) -> FloatArray:
        """For every node, the sums of `edge_values` (shape (edges,) or (edges, k)) along its
        tree path: 0 at roots and where unreached. Pointer jumping: log2(depth) vectorised
        passes instead of a walk per node."""
        n = self.n_nodes
        nodes = np.arange(n, dtype=np.int64)
        has = pred >= 0
        a, b = (nodes[has], pred[has]) if reverse else (pred[has], nodes[has])
        total = np.zeros((n, *edge_values.shape[1:]))
        total[has] = edge_values[self.edge_index(a, b)]  # sum from v up to ptr[v]
        ptr = np.where(has, pred, nodes)
        while True:
            nxt = ptr[ptr]
            if np.array_equal(nxt, ptr):
                return total
            total = total + total[ptr]
            ptr = nxt

    def path_sums(
        self, pred: IntArray, targets: IntArray, edge_values: FloatArray, reverse: bool = False
    ) -> FloatArray:
        """Sums of `edge_values` (shape (edges, k)) along the tree paths of a few targets: one
        vectorised step per edge of the deepest path, cheaper than `tree_sums` when the targets
        are few (chargers, not every node)."""
        cur = np.asarray(targets, dtype=np.int64).copy()
        total = np.zeros((len(cur), *edge_values.shape[1:]))
        while True:
            nxt = pred[cur]
            active = np.flatnonzero(nxt >= 0)
            if len(active) == 0:
                return total
            a, b = cur[active], nxt[active]
            total[active] += edge_values[
                self.edge_index(b, a) if not reverse else self.edge_index(a, b)
            ]
            cur[active] = b

    def path(self, pred: IntArray, target: int, reverse: bool = False) -> IntArray:
        """Node sequence of the tree path ending (starting, if reverse) at target."""
        out = [target]
        while pred[out[-1]] >= 0:
            out.append(int(pred[out[-1]]))
        return np.array(out if reverse else out[::-1], dtype=np.int64)


def _project(
    lat: FloatArray, lon: FloatArray, lat0: float, lon0: float
) -> tuple[FloatArray, FloatArray]:
    k = math.cos(math.radians(lat0))
    x = np.radians(np.asarray(lon) - lon0) * EARTH_RADIUS_M * k
    y = np.radians(np.asarray(lat) - lat0) * EARTH_RADIUS_M
    return x.astype(np.float64), y.astype(np.float64)
