"""Road hazards at fixed places, shared by every vehicle: potholes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from volta.geo.graph import FloatArray, IntArray, RoadGraph
from volta.sim.truth import HazardTruth

__all__ = ["Potholes", "place_potholes"]


@dataclass(frozen=True, slots=True)
class Potholes:
    """Fixed road hazards shared by every vehicle: edge, distance from the edge start, severity."""

    edge: IntArray  # directed edge; a two-way road has one pothole entry per direction
    offset_m: FloatArray
    severity: FloatArray  # 1 (shallow) .. 3 (deep)
    hazard_id: IntArray  # same id for both directions of one pothole
    lat: FloatArray
    lon: FloatArray

    def truth(self) -> list[HazardTruth]:
        """One record per pothole (both directions of a road share it)."""
        seen: dict[int, HazardTruth] = {}
        for hid, la, lo, sev in zip(
            self.hazard_id.tolist(),
            self.lat.tolist(),
            self.lon.tolist(),
            self.severity.tolist(),
            strict=True,
        ):
            seen.setdefault(hid, HazardTruth(hid, "pothole", round(la, 7), round(lo, 7), sev))
        return list(seen.values())

    def on_edges(self) -> dict[int, list[tuple[float, float, int]]]:
        """edge → [(offset_m, severity, hazard_id)], for quick look-up while profiling a route."""
        out: dict[int, list[tuple[float, float, int]]] = {}
        for e, o, s, h in zip(
            self.edge.tolist(),
            self.offset_m.tolist(),
            self.severity.tolist(),
            self.hazard_id.tolist(),
            strict=True,
        ):
            out.setdefault(e, []).append((o, s, h))
        return out


def place_potholes(graph: RoadGraph, seed: int, per_km: float = 1.0) -> Potholes:
    """Deterministic potholes (from `seed`), about `per_km` per km of road, on both directions."""
    rng = np.random.default_rng([seed, 0x9077])
    a, b = np.minimum(graph.src, graph.dst), np.maximum(graph.src, graph.dst)
    _, first = np.unique(a * graph.n_nodes + b, return_index=True)
    road_km = float(graph.length_m[first].sum()) / 1000.0
    n = max(3, round(road_km * per_km))
    # longer edges are likelier to carry a pothole: pick edges weighted by length
    w = graph.length_m[first] / graph.length_m[first].sum()
    chosen = rng.choice(first, size=n, replace=True, p=w)
    frac = rng.uniform(0.1, 0.9, n)
    sev = np.round(rng.uniform(1.0, 3.0, n), 2)
    edges, offs, sevs, ids = [], [], [], []
    for h, (e, f, s) in enumerate(zip(chosen.tolist(), frac.tolist(), sev.tolist(), strict=True)):
        u, v = int(graph.src[e]), int(graph.dst[e])
        length = float(graph.length_m[e])
        edges.append(e)
        offs.append(f * length)
        sevs.append(s)
        ids.append(h)
        lo, hi = int(graph.indptr[v]), int(graph.indptr[v + 1])
        back = np.nonzero(graph.dst[lo:hi] == u)[0]
        if len(back):
            edges.append(lo + int(back[0]))
            offs.append((1 - f) * length)
            sevs.append(s)
            ids.append(h)
    e_arr = np.array(edges, dtype=np.int64)
    off = np.array(offs)
    t = off / graph.length_m[e_arr]
    s_, d_ = graph.src[e_arr], graph.dst[e_arr]
    return Potholes(
        edge=e_arr,
        offset_m=off,
        severity=np.array(sevs),
        hazard_id=np.array(ids, dtype=np.int64),
        lat=graph.lat[s_] + t * (graph.lat[d_] - graph.lat[s_]),
        lon=graph.lon[s_] + t * (graph.lon[d_] - graph.lon[s_]),
    )
