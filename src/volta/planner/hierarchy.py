"""A contraction hierarchy with a core, for one-to-many drive costs on large road networks.

Built once per road network and set of route costs: nodes are contracted in rounds, each round
an independent set of the nodes with the fewest neighbours; a contracted node's in-neighbours
are joined to its out-neighbours by shortcuts carrying the summed costs and edge values. There
is no witness search, so the shortcuts do not depend on the costs (as in customizable CH,
Dibbelt, Strasser and Wagner 2016) and one contraction serves every route cost at once. What
is left when no node has few enough neighbours is the core.

Every shortest path is then up (to later rounds), through the core, and down. A query from one
node is one scipy Dijkstra over the up edges and the core, then a sweep down the rounds over
the targets' ancestors only (RPHAST, Delling, Goldberg and Werneck 2011); the edge values
(time, length, energy) are summed along each target's path. Exact: the same costs as a
Dijkstra over the whole graph.

Pure: arrays in, arrays out; no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

__all__ = ["Hierarchy", "TargetSet"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

# A node is contracted only while it has at most this many neighbours: past it, shortcuts grow
# as its square and the core is cheaper to search as it is.
MAX_DEGREE = 24
MIN_COST = 1e-9  # scipy's Dijkstra reads explicit zeros as missing edges


@dataclass(frozen=True, slots=True)
class TargetSet:
    """The sweep down the hierarchy that a set of targets needs, in one direction: per round
    (latest first) the edges (child, parent, edge id) into the targets' non-core ancestors."""

    reverse: bool
    member: BoolArray  # the nodes the sweep computes
    rounds: tuple[tuple[IntArray, IntArray, IntArray], ...]


class Hierarchy:
    """The contracted graph: every original edge and shortcut once, sorted by (src, dst), with
    per route a cost (route, edge) and edge values summed along the edge's path (route, edge, k)."""

    def __init__(
        self, n: int, level: IntArray, src: IntArray, dst: IntArray, cost: FloatArray,
        values: NDArray[np.float32],
    ) -> None:  # fmt: skip
        self.n = n
        self.level = level
        self.src, self.dst, self.cost, self.values = src, dst, cost, values
        self.core = int(level.max()) if len(level) else 0
        self._keys = src * n + dst
        lo, hi = level[src], level[dst]
        both_core = (lo == self.core) & (hi == self.core)
        up = np.flatnonzero((lo < hi) | both_core)  # forward search from a source
        down = np.flatnonzero((lo > hi) | both_core)  # backward search from a target
        self._search = (
            [_matrix(n, src[up], dst[up], c[up]) for c in cost],
            [_matrix(n, dst[down], src[down], c[down]) for c in cost],
        )
        # child <- parent edges of the sweeps: forward, a lower dst gets its value from src
        self._parents = (
            _by_child(n, np.flatnonzero(lo > hi), dst, src),
            _by_child(n, np.flatnonzero(lo < hi), src, dst),
        )

    @classmethod
    def build(
        cls, src: IntArray, dst: IntArray, n: int, cost: FloatArray, values: FloatArray,
        max_degree: int = MAX_DEGREE, seed: int = 0,
    ) -> Hierarchy:  # fmt: skip
        """Contract the graph of edges src→dst (unique pairs) with costs (route, edge) >= 0 and
        values (edge, k) to carry along; nodes with more than `max_degree` neighbours stay in
        the core."""
        return cls(n, *_contract(src, dst, n, cost, values, max_degree, seed))

    @property
    def nbytes(self) -> int:
        """Memory of the arrays and the search matrices."""
        mats = [m for pair in self._search for m in pair]
        parents = [a for p in self._parents for a in p]
        return int(
            sum(a.nbytes for a in (self.level, self.src, self.dst, self.cost, self.values))
            + sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in mats)
            + sum(a.nbytes for a in parents)
        )

    def targets(self, nodes: IntArray, reverse: bool) -> TargetSet:
        """The sweep for these target nodes (precompute it for targets asked for often)."""
        member = np.zeros(self.n, dtype=bool)
        return self._sweep_for(np.asarray(nodes, dtype=np.int64), reverse, member)

    def query(
        self, source: int, route: int, nodes: IntArray, reverse: bool = False,
        target_set: TargetSet | None = None,
    ) -> tuple[FloatArray, NDArray[np.float64]]:  # fmt: skip
        """(cost, summed values (len(nodes), k)) of the route's shortest paths from `source` to
        each node (from each node to `source`, if reverse); inf cost and 0 values where
        unreached. Nodes outside `target_set` get their own sweep, computed now."""
        nodes = np.asarray(nodes, dtype=np.int64)
        fwd, bwd = self._search
        d, pred, _ = dijkstra(
            (bwd if reverse else fwd)[route], directed=True, indices=source,
            return_predecessors=True, min_only=True,
        )  # fmt: skip
        d = np.asarray(d, dtype=np.float64)
        par_edge = np.full(self.n, -1, dtype=np.int64)
        cost = self.cost[route]
        sweeps = []
        member = np.zeros(self.n, dtype=bool)
        if target_set is not None:
            if target_set.reverse != reverse:
                raise ValueError("the target set was made for the other direction")
            sweeps.append(target_set)
            member = target_set.member
        extra = nodes[~member[nodes] & (self.level[nodes] < self.core)]
        if len(extra):
            sweeps.append(self._sweep_for(extra, reverse, member))
        for sweep in sweeps:
            for child, parent, edge in sweep.rounds:
                cand = d[parent] + cost[edge]
                old = d[child]
                np.minimum.at(d, child, cand)
                hit = (cand < old) & (cand == d[child])
                par_edge[child[hit]] = edge[hit]
        return d[nodes], self._sums(nodes, route, reverse, par_edge, pred, np.isfinite(d[nodes]))

    def _sums(
        self, nodes: IntArray, route: int, reverse: bool, par_edge: IntArray,
        pred: NDArray[np.int32], reached: BoolArray,
    ) -> NDArray[np.float64]:  # fmt: skip
        values = self.values[route]
        total = np.zeros((len(nodes), values.shape[1]))
        cur = nodes[reached]
        rows = np.flatnonzero(reached)
        for _ in range(self.n + 1):  # a path has fewer edges than the graph has nodes
            if len(cur) == 0:
                return total
            e = par_edge[cur]
            p = pred[cur].astype(np.int64)
            from_tree = (e < 0) & (p >= 0)
            if np.any(from_tree):  # the Dijkstra's own tree: look the edge up
                a, b = (cur[from_tree], p[from_tree]) if reverse else (p[from_tree], cur[from_tree])
                e[from_tree] = np.searchsorted(self._keys, a * self.n + b)
            go = e >= 0
            cur, rows, e = cur[go], rows[go], e[go]
            total[rows] += values[e]  # one row per path: no repeats
            cur = self.dst[e] if reverse else self.src[e]
        raise RuntimeError("a cycle in the shortest-path tree")

    def _sweep_for(self, nodes: IntArray, reverse: bool, known: BoolArray) -> TargetSet:
        # the non-core ancestors of `nodes` not already in `known`, and the edges into them
        indptr, parent_of, edge_of = self._parents[1 if reverse else 0]
        member = known.copy()
        todo = np.unique(nodes[~known[nodes] & (self.level[nodes] < self.core)])
        found = [todo]
        member[todo] = True
        while len(todo):
            idx = _gather(indptr, todo)
            p = np.unique(parent_of[idx])
            p = p[~member[p] & (self.level[p] < self.core)]
            member[p] = True
            found.append(p)
            todo = p
        children = np.concatenate(found)
        idx = _gather(indptr, children)
        counts = indptr[children + 1] - indptr[children]
        child = np.repeat(children, counts)
        parent, edge = parent_of[idx], edge_of[idx]
        order = np.argsort(-self.level[child], kind="stable")
        child, parent, edge = child[order], parent[order], edge[order]
        lv = self.level[child]
        cuts = np.flatnonzero(np.diff(lv)) + 1
        rounds = tuple(
            zip(np.split(child, cuts), np.split(parent, cuts), np.split(edge, cuts), strict=True)
        )
        return TargetSet(reverse, member, rounds)


def _matrix(n: int, a: IntArray, b: IntArray, c: FloatArray) -> csr_matrix:
    return csr_matrix((np.maximum(c, MIN_COST), (a, b)), shape=(n, n))


def _by_child(
    n: int, edges: IntArray, child: IntArray, parent: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    # CSR of the sweep edges by child: indptr, parent node and edge id of each entry
    c = child[edges]
    order = np.argsort(c, kind="stable")
    indptr = np.concatenate(([0], np.cumsum(np.bincount(c, minlength=n)))).astype(np.int64)
    return indptr, parent[edges][order], edges[order]


def _gather(indptr: IntArray, rows: IntArray) -> IntArray:
    # the entry indices of these CSR rows, concatenated
    starts = indptr[rows]
    counts = indptr[rows + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(total, dtype=np.int64)


def _contract(
    src: IntArray,
    dst: IntArray,
    n: int,
    cost: FloatArray,
    values: FloatArray,
    max_degree: int,
    seed: int,
) -> tuple[IntArray, IntArray, IntArray, FloatArray, NDArray[np.float32]]:
    """(level, src, dst, cost, values) of the contracted graph; level = round of contraction,
    the core's nodes the highest level."""
    routes = cost.shape[0]
    a, b = src.astype(np.int64), dst.astype(np.int64)
    keys = a * n + b
    order = np.argsort(keys, kind="stable")  # kept sorted: new shortcuts are found by bisection
    keys, a, b = keys[order], a[order], b[order]
    c = cost.astype(np.float64)[:, order]  # (route, edge)
    v = np.broadcast_to(values.astype(np.float32)[order], (routes, len(a), values.shape[1])).copy()
    level = np.full(n, -1, dtype=np.int64)
    tie = np.random.default_rng(seed).permutation(n).astype(np.int64)
    out: list[tuple[IntArray, IntArray, FloatArray, NDArray[np.float32]]] = []
    rnd = 0
    limit = 2
    while True:
        n_alive = int(np.sum(level < 0))
        # edges at a node, both directions: twice its neighbours on two-way roads (a cheap
        # stand-in for counting distinct neighbours; it only orders the contraction)
        deg = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
        cand = (level < 0) & (deg <= 2 * limit)
        prio = deg * n + tie
        both = cand[a] & cand[b]
        cand[np.where(prio[a[both]] > prio[b[both]], a[both], b[both])] = False
        chosen = int(cand.sum())
        if chosen < max(1, n_alive // 200):  # too few nodes this cheap: allow more neighbours
            if limit >= max_degree:
                break
            limit = min(max_degree, limit + 2)
            if chosen == 0:
                continue
        ins = np.flatnonzero(cand[b])
        outs = np.flatnonzero(cand[a])
        ins = ins[np.argsort(b[ins], kind="stable")]
        outs = outs[np.argsort(a[outs], kind="stable")]
        ie, oe = _join(b[ins], a[outs])
        ie, oe = ins[ie], outs[oe]
        loop = a[ie] == b[oe]
        ie, oe = ie[~loop], oe[~loop]
        gone = cand[a] | cand[b]
        out.append((a[gone], b[gone], c[:, gone], v[:, gone]))
        keep = ~gone
        na, nb = a[ie], b[oe]
        nc = c[:, ie] + c[:, oe]
        nv = v[:, ie] + v[:, oe]
        keys, a, b, c, v = _merge(
            n, keys[keep], a[keep], b[keep], c[:, keep], v[:, keep], na, nb, nc, nv
        )
        level[cand] = rnd
        rnd += 1
    level[level < 0] = rnd
    out.append((a, b, c, v))
    a = np.concatenate([o[0] for o in out])
    b = np.concatenate([o[1] for o in out])
    c = np.concatenate([o[2] for o in out], axis=1)
    v = np.concatenate([o[3] for o in out], axis=1)
    order = np.argsort(a * n + b, kind="stable")
    return level, a[order], b[order], c[:, order], v[:, order]


def _join(left: IntArray, right: IntArray) -> tuple[IntArray, IntArray]:
    """Every (i, j) with left[i] == right[j]; both sorted."""
    keys, lstart, lcount = np.unique(left, return_index=True, return_counts=True)
    rstart = np.searchsorted(right, keys, "left")
    rcount = np.searchsorted(right, keys, "right") - rstart
    per = lcount * rcount
    total = int(per.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    g = np.repeat(np.arange(len(keys)), per)
    k = np.arange(total) - np.repeat(np.cumsum(per) - per, per)
    return lstart[g] + k // rcount[g], rstart[g] + k % rcount[g]


def _merge(
    n: int, keys: IntArray, a: IntArray, b: IntArray, c: FloatArray, v: NDArray[np.float32],
    na: IntArray, nb: IntArray, nc: FloatArray, nv: NDArray[np.float32],
) -> tuple[IntArray, IntArray, IntArray, FloatArray, NDArray[np.float32]]:  # fmt: skip
    """The edges (sorted by key) plus the new shortcuts, one per (src, dst): per route the
    cheapest; still sorted."""
    if len(na) == 0:
        return keys, a, b, c, v
    new_keys = na * n + nb
    uniq = np.unique(new_keys)
    routes = c.shape[0]
    uc = np.empty((routes, len(uniq)))
    uv = np.empty((routes, len(uniq), v.shape[2]), dtype=np.float32)
    for r in range(routes):
        order = np.lexsort((nc[r], new_keys))
        pick = order[np.searchsorted(new_keys[order], uniq)]  # the cheapest of each key
        uc[r], uv[r] = nc[r][pick], nv[r][pick]
    pos = np.searchsorted(keys, uniq)
    exists = np.zeros(len(uniq), dtype=bool)
    inside = pos < len(keys)
    exists[inside] = keys[pos[inside]] == uniq[inside]
    p = pos[exists]
    for r in range(routes):  # an edge that is already there keeps the cheaper of the two
        better = uc[r][exists] < c[r, p]
        c[r, p[better]] = uc[r][exists][better]
        v[r, p[better]] = uv[r][exists][better]
    fresh = ~exists
    at, k = pos[fresh], uniq[fresh]
    return (
        np.insert(keys, at, k),
        np.insert(a, at, k // n),
        np.insert(b, at, k % n),
        np.insert(c, at, uc[:, fresh], axis=1),
        np.insert(v, at, uv[:, fresh], axis=1),
    )
