"""A directed road graph for cars and the fastest routes through it.

Routing is shortest *time*, with scipy's Dijkstra on the graph's CSR matrix; `volta.geo.osm`
builds the graph from an OpenStreetMap extract.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

__all__ = ["Charger", "FloatArray", "IntArray", "RoadGraph", "Route"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Charger:
    """A charging station snapped to the graph."""

    node: int
    lat: float
    lon: float
    osm_id: str  # "n123" or "w456"
    dc: bool
    power_kw: float


@dataclass(frozen=True, slots=True)
class Route:
    """A path through the graph: nodes visited and the edges between them."""

    nodes: IntArray
    edges: IntArray
    length_m: float
    time_s: float


@dataclass(eq=False)
class RoadGraph:
    """Directed road graph; edges are sorted by source node (CSR layout via `indptr`)."""

    lat: FloatArray
    lon: FloatArray
    osm_node: IntArray
    indptr: IntArray
    src: IntArray
    dst: IntArray
    length_m: FloatArray
    speed_mps: FloatArray
    grade: FloatArray
    osm_way: IntArray
    junction: NDArray[np.bool_]  # node where more than two road directions meet
    chargers: tuple[Charger, ...]
    _matrix: csr_matrix = field(init=False, repr=False)
    _trees: dict[int, IntArray] = field(init=False, repr=False, default_factory=dict)
    _keys: IntArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.lat)
        self._keys = self.src * n + self.dst  # ascending: edges are sorted by (src, dst)
        self._matrix = csr_matrix(
            (self.length_m / self.speed_mps, self.dst, self.indptr), shape=(n, n)
        )

    @property
    def n_nodes(self) -> int:
        return len(self.lat)

    @property
    def n_edges(self) -> int:
        return len(self.src)

    def nearest_node(self, lat: float, lon: float) -> int:
        """Graph node closest to a point (equirectangular distance, fine at city scale)."""
        k = math.cos(math.radians(lat))
        d2 = (self.lat - lat) ** 2 + ((self.lon - lon) * k) ** 2
        return int(np.argmin(d2))

    def edges_of(self, nodes: IntArray) -> IntArray:
        """Edge indices along a node path (every consecutive pair must be an edge)."""
        keys = nodes[:-1] * self.n_nodes + nodes[1:]
        idx = np.searchsorted(self._keys, keys)
        idx = np.minimum(idx, len(self._keys) - 1)
        if not np.array_equal(self._keys[idx], keys):
            raise KeyError("node path uses a pair of nodes that is not an edge")
        return idx.astype(np.int64)

    def edge_between(self, u: int, v: int) -> int:
        """Index of the edge u→v (the graph keeps one edge per ordered pair)."""
        lo, hi = int(self.indptr[u]), int(self.indptr[u + 1])
        hits = np.nonzero(self.dst[lo:hi] == v)[0]
        if len(hits) == 0:
            raise KeyError(f"no edge {u}->{v}")
        return lo + int(hits[0])

    def travel_times(self, sources: IntArray) -> FloatArray:
        """Free-flow travel time (s) from each source to every node; inf where unreachable."""
        return np.asarray(dijkstra(self._matrix, directed=True, indices=sources), dtype=np.float64)

    def route(self, a: int, b: int) -> Route | None:
        """Fastest route from node a to node b, or None if b is unreachable from a."""
        pred = self._tree(a)
        if a != b and pred[b] < 0:
            return None
        path = [b]
        while path[-1] != a:
            path.append(int(pred[path[-1]]))
        nodes = np.array(path[::-1], dtype=np.int64)
        edges = self.edges_of(nodes)
        return Route(
            nodes=nodes,
            edges=edges,
            length_m=float(self.length_m[edges].sum()),
            time_s=float((self.length_m[edges] / self.speed_mps[edges]).sum()),
        )

    def _tree(self, a: int) -> IntArray:
        # One single-source Dijkstra serves every route from `a`; homes, workplaces and
        # chargers are a few hundred anchors, so caching the trees makes planning cheap.
        tree = self._trees.get(a)
        if tree is None:
            _, pred = dijkstra(self._matrix, directed=True, indices=a, return_predecessors=True)
            tree = np.asarray(pred, dtype=np.int64)
            if len(self._trees) > 4096:
                self._trees.clear()
            self._trees[a] = tree
        return tree
