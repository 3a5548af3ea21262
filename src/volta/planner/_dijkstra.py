"""Compiled (numba) kernels of the hierarchy query: a bounded Dijkstra over the up edges and
the core that sums edge values along its tree, then the sweep down to the targets.

Pure: arrays in, arrays out. Compiled on first use (about a second), not cached on disk.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["bounded_query"]


@numba.njit(nogil=True)
def bounded_query(
    n: int, source: int, indptr: NDArray[np.int64], adj: NDArray[np.int32],
    eid: NDArray[np.int32], cost: NDArray[np.float64], limit: float,
    sweeps: tuple[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64],
                        NDArray[np.float64]], ...],
    prev: NDArray[np.int64], values: NDArray[np.float32], prune_k: int, prune_above: float,
    targets: NDArray[np.int64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:  # fmt: skip
    """(cost, values summed along the path) at `targets`. A Dijkstra from `source` over the
    CSR graph (row u: entries indptr[u]..indptr[u+1], to adj[i] at cost[i], hierarchy edge
    eid[i]) that settles nodes up to `limit` and does not go on from a node whose path's value
    `prune_k` passes `prune_above` (prune_k < 0: never); then each sweep's edges (child,
    parent, hierarchy edge, cost) in order; then each target's path walked back over its
    edges (prev[e]: the node an edge is entered from) summing values[e]. Strict improvements
    only, so among equal-cost paths the first found is kept."""
    k = values.shape[1]
    dist = np.full(n, np.inf)
    par = np.empty(n, dtype=np.int64)  # the edge a node's path ends with (-1: the source)
    pos = np.full(n, -1, dtype=np.int32)  # place in the heap; -2 once settled
    heap = np.empty(n, dtype=np.int32)
    acc = np.empty(n)  # the path's value prune_k, where pruning
    acc[source] = 0.0
    dist[source] = 0.0
    par[source] = -1
    heap[0] = source
    pos[source] = 0
    size = 1
    while size > 0:
        u = heap[0]
        du = dist[u]
        if du > limit:
            break
        pos[u] = -2
        size -= 1
        if size > 0:  # the last leaf to the root, sifted down
            last = heap[size]
            dl = dist[last]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and dist[heap[c + 1]] < dist[heap[c]]:
                    c += 1
                if dist[heap[c]] >= dl:
                    break
                heap[i] = heap[c]
                pos[heap[i]] = i
                i = c
            heap[i] = last
            pos[last] = i
        if prune_k >= 0 and acc[u] > prune_above:
            continue
        for j in range(indptr[u], indptr[u + 1]):
            v = adj[j]
            p = pos[v]
            if p == -2:
                continue
            nd = du + cost[j]
            if nd < dist[v]:
                dist[v] = nd
                par[v] = eid[j]
                if prune_k >= 0:
                    acc[v] = acc[u] + values[eid[j], prune_k]
                if p == -1:
                    p = size
                    size += 1
                while p > 0:  # sift up
                    h = (p - 1) // 2
                    w = heap[h]
                    if dist[w] <= nd:
                        break
                    heap[p] = w
                    pos[w] = p
                    p = h
                heap[p] = v
                pos[v] = p
    # nodes left in the heap hold upper bounds above the limit: the sweep cannot make them
    # cheaper than the limit, and the caller drops what is above it
    for child, parent, edge, edge_cost in sweeps:
        for i in range(len(child)):
            c = child[i]
            nd = dist[parent[i]] + edge_cost[i]
            if nd < dist[c]:
                dist[c] = nd
                par[c] = edge[i]
    out_c = np.empty(len(targets))
    out_s = np.zeros((len(targets), k))
    for i in range(len(targets)):
        t = targets[i]
        out_c[i] = dist[t]
        if dist[t] < np.inf:
            x = t
            while par[x] >= 0:
                e = par[x]
                for q in range(k):
                    out_s[i, q] += values[e, q]
                x = prev[e]
    return out_c, out_s


@numba.njit(nogil=True)
def shortcuts_needed(
    indptr: NDArray[np.int64], dst: NDArray[np.int64], cost: NDArray[np.float64],
    skip: NDArray[np.bool_], src: NDArray[np.int64], to: NDArray[np.int64],
    via: NDArray[np.float64], max_settled: int,
) -> NDArray[np.bool_]:  # fmt: skip
    """Per shortcut src[i] -> to[i] costing via[:, i] per route: False when a witness path not
    through a `skip` node costs no more for every route. Local Dijkstras from each source over
    the CSR graph (row u: entries indptr[u]..indptr[u+1] to dst, costs cost[:, entry]), one per
    route, each stopped after `max_settled` nodes or past the source's dearest shortcut; what
    they do not disprove is needed. `src` must be sorted."""
    n = len(indptr) - 1
    routes = cost.shape[0]
    needed = np.zeros(len(src), dtype=np.bool_)
    dist = np.full(n, np.inf)
    touched = np.empty(n, dtype=np.int64)
    cap = 1 << 16
    heap_d = np.empty(cap)
    heap_v = np.empty(cap, dtype=np.int64)
    lo = 0
    while lo < len(src):
        hi = lo
        u = src[lo]
        while hi < len(src) and src[hi] == u:
            hi += 1
        for r in range(routes):
            bound = 0.0
            for i in range(lo, hi):
                bound = max(bound, via[r, i])
            n_touched = 0
            dist[u] = 0.0
            touched[n_touched] = u
            n_touched += 1
            heap_d[0] = 0.0
            heap_v[0] = u
            size = 1
            settled = 0
            while size > 0 and settled < max_settled:
                d = heap_d[0]
                x = heap_v[0]
                size -= 1  # pop: the last leaf to the root, sifted down
                ld, lv = heap_d[size], heap_v[size]
                i = 0
                while True:
                    c = 2 * i + 1
                    if c >= size:
                        break
                    if c + 1 < size and heap_d[c + 1] < heap_d[c]:
                        c += 1
                    if heap_d[c] >= ld:
                        break
                    heap_d[i], heap_v[i] = heap_d[c], heap_v[c]
                    i = c
                if size > 0:
                    heap_d[i], heap_v[i] = ld, lv
                if d > dist[x]:
                    continue  # a stale entry
                if d > bound:
                    break
                settled += 1
                for j in range(indptr[x], indptr[x + 1]):
                    y = dst[j]
                    if skip[y]:
                        continue
                    nd = d + cost[r, j]
                    if nd < dist[y]:
                        if dist[y] == np.inf:
                            touched[n_touched] = y
                            n_touched += 1
                        dist[y] = nd
                        if size == cap:
                            settled = max_settled  # out of room: stop, the rest is needed
                            break
                        p = size
                        size += 1
                        while p > 0:
                            h = (p - 1) // 2
                            if heap_d[h] <= nd:
                                break
                            heap_d[p], heap_v[p] = heap_d[h], heap_v[h]
                            p = h
                        heap_d[p], heap_v[p] = nd, y
            for i in range(lo, hi):
                if dist[to[i]] > via[r, i]:
                    needed[i] = True
            for t in range(n_touched):
                dist[touched[t]] = np.inf
        lo = hi
    return needed
