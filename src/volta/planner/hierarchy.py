"""A contraction hierarchy with a core, for one-to-many drive costs on large road networks.

Built once per road network and set of route costs: nodes are contracted in rounds, each round
an independent set of the nodes with the fewest neighbours; a contracted node's in-neighbours
are joined to its out-neighbours by shortcuts carrying the summed costs and edge values. A
shortcut is left out when a local witness search finds a path around the node that costs no
more for every route, so one contraction serves every route cost at once (without the witness
search, street grids fill in and stay in the core). What is left when no node has few enough
neighbours is the core.

Every shortest path is then up (to later rounds), through the core, and down. A query from one
node is one Dijkstra over the up edges and the core, then a sweep down the rounds over the
targets' ancestors only (RPHAST, Delling, Goldberg and Werneck 2011), then the edge values
(time, length, energy) summed along each target's path: compiled loops in `_dijkstra`. Exact:
the same costs as a Dijkstra over the whole graph (within the bounds a query is given).

Pure: arrays in, arrays out; no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from volta.planner._dijkstra import bounded_query, shortcuts_needed

__all__ = ["Hierarchy", "TargetSet"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

# A node is contracted only while it has at most this many neighbours: past it, shortcuts grow
# as its square and the core is cheaper to search as it is.
MAX_DEGREE = 24
# Each witness search settles at most this many nodes (0: no witness search). On the 1M-node
# region 100 left 30,523 nodes in the core, 500 left 3,127 for ~30 % more build time.
WITNESS_SETTLED = 500


@dataclass(frozen=True, slots=True)
class TargetSet:
    """The sweep down the hierarchy that a set of targets needs, in one direction: the edges
    (child, parent, edge id) into the targets' non-core ancestors, latest round first."""

    reverse: bool
    member: BoolArray  # the nodes the sweep computes
    child: IntArray  # sweep edges in order: latest round first
    parent: IntArray
    edge: IntArray
    cost: FloatArray  # (route, sweep edge): the edges' costs, gathered


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
        lo, hi = level[src], level[dst]
        both_core = (lo == self.core) & (hi == self.core)
        up = np.flatnonzero((lo < hi) | both_core)  # forward search from a source
        down = np.flatnonzero((lo > hi) | both_core)  # backward search from a target
        # per direction: the search graph as CSR rows (entry -> node, hierarchy edge id) and
        # per route its entries' costs
        self._search = tuple(
            _csr(n, row[e], col[e], e, cost) for e, row, col in ((up, src, dst), (down, dst, src))
        )
        # child <- parent edges of the sweeps: forward, a lower dst gets its value from src
        self._parents = (
            _by_child(n, np.flatnonzero(lo > hi), dst, src),
            _by_child(n, np.flatnonzero(lo < hi), src, dst),
        )

    @classmethod
    def build(
        cls, src: IntArray, dst: IntArray, n: int, cost: FloatArray, values: FloatArray,
        max_degree: int = MAX_DEGREE, seed: int = 0, witness_settled: int = WITNESS_SETTLED,
    ) -> Hierarchy:  # fmt: skip
        """Contract the graph of edges src→dst (unique pairs) with costs (route, edge) >= 0 and
        values (edge, k) to carry along; nodes with more than `max_degree` neighbours stay in
        the core."""
        return cls(n, *_contract(src, dst, n, cost, values, max_degree, seed, witness_settled))

    @property
    def nbytes(self) -> int:
        """Memory of the arrays and the search matrices."""
        search = [a for graph in self._search for a in graph]
        parents = [a for p in self._parents for a in p]
        return int(
            sum(a.nbytes for a in (self.level, self.src, self.dst, self.cost, self.values))
            + sum(a.nbytes for a in search)
            + sum(a.nbytes for a in parents)
        )

    def targets(self, nodes: IntArray, reverse: bool) -> TargetSet:
        """The sweep for these target nodes (precompute it for targets asked for often)."""
        member = np.zeros(self.n, dtype=bool)
        return self._sweep_for(np.asarray(nodes, dtype=np.int64), reverse, member)

    def query(
        self, source: int, route: int, nodes: IntArray, reverse: bool = False,
        target_set: TargetSet | None = None, limit: float = np.inf,
        value_limit: tuple[int, float] | None = None,
    ) -> tuple[FloatArray, NDArray[np.float64]]:  # fmt: skip
        """(cost, summed values (len(nodes), k)) of the route's shortest paths from `source` to
        each node (from each node to `source`, if reverse); inf cost and 0 values where
        unreached. Nodes outside `target_set` get their own sweep, computed now.

        `limit`: the search stops past this cost; a node whose cost is above it may come out
        inf or too high (the caller drops those). `value_limit` (k, x): the search does not go
        on from a node whose path's value k is above x, so a node whose shortest path passes
        x on the way may come out inf or with a longer path (drop values above x too; with
        values >= 0 on every edge, every node whose shortest path stays within x is exact)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        member = np.zeros(self.n, dtype=bool)
        sweeps = []
        if target_set is not None:
            if target_set.reverse != reverse:
                raise ValueError("the target set was made for the other direction")
            sweeps.append(target_set)
            member = target_set.member
        extra = nodes[~member[nodes] & (self.level[nodes] < self.core)]
        if len(extra):
            sweeps.append(self._sweep_for(extra, reverse, member))
        none = (_NO_NODES, _NO_NODES, _NO_NODES, _NO_COST)
        pair = [(sw.child, sw.parent, sw.edge, sw.cost[route]) for sw in sweeps]
        pair += [none] * (2 - len(pair))
        indptr, adj, eid, costs = self._search[1 if reverse else 0]
        k, above = value_limit if value_limit is not None else (-1, np.inf)
        return bounded_query(
            self.n, source, indptr, adj, eid, costs[route], float(limit), tuple(pair),
            self.dst if reverse else self.src, self.values[route], k, float(above), nodes,
        )  # fmt: skip

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
        order = np.argsort(-self.level[child], kind="stable")  # latest round first
        edge = edge[order]
        cost = np.ascontiguousarray(self.cost[:, edge])
        return TargetSet(reverse, member, child[order], parent[order], edge, cost)


_NO_NODES = np.zeros(0, dtype=np.int64)
_NO_COST = np.zeros(0)


def _csr(
    n: int, row: IntArray, col: IntArray, edges: IntArray, cost: FloatArray
) -> tuple[IntArray, NDArray[np.int32], NDArray[np.int32], FloatArray]:
    # indptr, target node, hierarchy edge id and (route, entry) costs, rows in node order
    order = np.argsort(row, kind="stable")
    indptr = np.concatenate(([0], np.cumsum(np.bincount(row, minlength=n)))).astype(np.int64)
    e = edges[order]
    return indptr, col[order].astype(np.int32), e.astype(np.int32), np.ascontiguousarray(cost[:, e])


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
    witness_settled: int,
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
        if witness_settled > 0 and len(ie):  # leave out shortcuts a witness path makes useless
            by_src = np.argsort(a[ie], kind="stable")
            ie, oe = ie[by_src], oe[by_src]
            indptr = np.searchsorted(a, np.arange(n + 1))
            need = shortcuts_needed(
                indptr, b, c, cand, a[ie], b[oe], c[:, ie] + c[:, oe], witness_settled
            )
            ie, oe = ie[need], oe[need]
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
