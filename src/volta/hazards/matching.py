"""Snapping positions onto the road graph: nearest road segment, offset along it, direction."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from volta.geo.graph import RoadGraph

__all__ = ["M_PER_DEG", "Match", "RoadMatcher", "local_xy"]

M_PER_DEG = 111_195.0  # metres per degree of latitude (mean Earth radius)
_STEP_M = 3.0  # spacing of the points sampled along each edge for the nearest-point search


def local_xy(
    lat: NDArray[np.float64] | float, lon: NDArray[np.float64] | float, lat0: float
) -> NDArray[np.float64]:
    """Equirectangular metres around latitude lat0 (good to 0.1 % within a city)."""
    k = math.cos(math.radians(lat0))
    return np.stack(
        [np.asarray(lon, dtype=np.float64) * k * M_PER_DEG, np.asarray(lat) * M_PER_DEG], axis=-1
    )


@dataclass(frozen=True, slots=True)
class Match:
    """A position snapped onto a directed edge."""

    edge: int
    offset_m: float
    lat: float
    lon: float
    distance_m: float  # from the raw position to the road


class RoadMatcher:
    """Nearest-segment look-up for a `RoadGraph` (a k-d tree of points every 3 m on each edge).

    The two directions of a road share their geometry; the car's heading picks the direction.
    """

    def __init__(self, graph: RoadGraph, max_distance_m: float = 30.0) -> None:
        self.graph = graph
        self.max_distance_m = max_distance_m
        self.lat0 = float(np.mean(graph.lat))
        n_pts = np.maximum(np.ceil(graph.length_m / _STEP_M).astype(np.int64), 1) + 1
        self._edge = np.repeat(np.arange(graph.n_edges, dtype=np.int64), n_pts)
        first = np.concatenate([[0], np.cumsum(n_pts)[:-1]])
        frac = (np.arange(len(self._edge)) - first[self._edge]) / (n_pts[self._edge] - 1)
        s, d = graph.src[self._edge], graph.dst[self._edge]
        self._frac = frac
        self._lat = graph.lat[s] + frac * (graph.lat[d] - graph.lat[s])
        self._lon = graph.lon[s] + frac * (graph.lon[d] - graph.lon[s])
        self._tree = cKDTree(local_xy(self._lat, self._lon, self.lat0))
        sl, dl = np.radians(graph.lat[graph.src]), np.radians(graph.lat[graph.dst])
        dlon = np.radians(graph.lon[graph.dst] - graph.lon[graph.src])
        y = np.sin(dlon) * np.cos(dl)
        x = np.cos(sl) * np.sin(dl) - np.sin(sl) * np.cos(dl) * np.cos(dlon)
        self.bearing = np.degrees(np.arctan2(y, x)) % 360.0
        junctions = np.nonzero(graph.junction)[0]
        self._junctions = cKDTree(local_xy(graph.lat[junctions], graph.lon[junctions], self.lat0))

    def match(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64], heading: NDArray[np.float64]
    ) -> list[Match | None]:
        """Snap each position; None where no road is within `max_distance_m`."""
        if len(lat) == 0:
            return []
        dist, idx = self._tree.query(local_xy(lat, lon, self.lat0), k=4)
        out: list[Match | None] = []
        for i in range(len(lat)):
            near = [
                (d, int(j))
                for d, j in zip(dist[i].tolist(), idx[i].tolist(), strict=True)
                if d <= self.max_distance_m
            ]
            if not near:
                out.append(None)
                continue
            # the first of the nearest points whose edge runs the car's way; else the nearest
            d, j = next((p for p in near if self._turn(p[1], float(heading[i])) <= 90.0), near[0])
            e, frac = int(self._edge[j]), float(self._frac[j])
            if self._turn(j, float(heading[i])) > 90.0:
                e, frac = self._reverse(e, frac)
            out.append(
                Match(
                    edge=e,
                    offset_m=frac * float(self.graph.length_m[e]),
                    lat=float(self._lat[j]),
                    lon=float(self._lon[j]),
                    distance_m=d,
                )
            )
        return out

    def _turn(self, point: int, heading: float) -> float:
        bearing = float(self.bearing[int(self._edge[point])])
        return abs((bearing - heading + 180.0) % 360.0 - 180.0)

    def _reverse(self, e: int, frac: float) -> tuple[int, float]:
        g = self.graph
        try:
            return g.edge_between(int(g.dst[e]), int(g.src[e])), 1.0 - frac
        except KeyError:  # a one-way road: the car's heading is noise, keep the road's way
            return e, frac

    def near_junction(self, lat: float, lon: float, radius_m: float) -> bool:
        """Whether a junction node (traffic lights, give-way) lies within radius_m."""
        d, _ = self._junctions.query(local_xy(lat, lon, self.lat0))
        return bool(d <= radius_m)

    def point(self, edge: int, offset_m: float) -> tuple[float, float]:
        """The position at offset_m along an edge."""
        g = self.graph
        t = min(max(offset_m / float(g.length_m[edge]), 0.0), 1.0)
        s, d = int(g.src[edge]), int(g.dst[edge])
        return (
            float(g.lat[s] + t * (g.lat[d] - g.lat[s])),
            float(g.lon[s] + t * (g.lon[d] - g.lon[s])),
        )
