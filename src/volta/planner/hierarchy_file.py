"""A contraction hierarchy kept on disk: built once per road network, vehicle model and route
weights (minutes on a million nodes), loaded in a second afterwards.

The file's name is a fingerprint of what the hierarchy depends on (the edges, their route
costs and values), so a changed graph or model never loads a stale one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from volta.errors import VoltaError
from volta.planner.hierarchy import MAX_DEGREE, WITNESS_SETTLED, Hierarchy
from volta.planner.network import FloatArray, RoadNetwork

__all__ = ["FORMAT", "HierarchyFileError", "cached_hierarchy", "fingerprint"]

# Part of the fingerprint: bumped when the contraction changes, so files of an older one are
# rebuilt (2: witness searches leave out needless shortcuts, a smaller core).
FORMAT = 2


class HierarchyFileError(VoltaError):
    """A cached hierarchy file is unreadable; delete it and it is rebuilt."""


def fingerprint(net: RoadNetwork, costs: FloatArray, values: FloatArray) -> str:
    """A short hash of the graph's edges, route costs and edge values (and FORMAT and the
    contraction's settings)."""
    h = hashlib.sha256(f"hierarchy {FORMAT} {MAX_DEGREE} {WITNESS_SETTLED}".encode())
    for a in (net.src, net.dst, costs, values):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def cached_hierarchy(
    directory: Path, net: RoadNetwork, costs: FloatArray, values: FloatArray
) -> Hierarchy:
    """The hierarchy for these edges and costs from `directory`, built and saved there first
    when it is not yet."""
    path = directory / f"hierarchy-{fingerprint(net, costs, values)}.npz"
    if path.exists():
        try:
            with np.load(path) as f:
                return Hierarchy(
                    int(f["n"]), f["level"], f["src"], f["dst"], f["cost"], f["values"]
                )
        except (OSError, ValueError, KeyError) as exc:
            raise HierarchyFileError(f"cannot read {path}: {exc}; delete it") from exc
    h = Hierarchy.build(net.src, net.dst, net.n_nodes, costs, values)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, n=h.n, level=h.level, src=h.src, dst=h.dst, cost=h.cost, values=h.values)
    tmp.replace(path)  # whole or not at all: a reader never sees half a file
    return h
