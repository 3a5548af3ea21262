"""The nearest named road to a point, from the OpenStreetMap extract the simulator drives on.

Every named way a car may use is cut into points at most `STEP_M` apart (so the nearest point
is within `STEP_M / 2` of the nearest point of the road itself) and put in a KD-tree over
local metric coordinates (equirectangular around the extract's centre: at city scale the
error is far below a road's width).
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np
import osmium
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from volta.errors import ConfigError
from volta.geo.distance import EARTH_RADIUS_M as _R

__all__ = ["MAX_DISTANCE_M", "STEP_M", "RoadNames", "road_names"]

STEP_M = 10.0
MAX_DISTANCE_M = 150.0  # farther from every named road: no address (a field, the sea)


class _NamedWays(osmium.SimpleHandler):
    def __init__(self, classes: frozenset[str]) -> None:
        super().__init__()
        self.classes = classes
        self.ways: list[tuple[str, list[float], list[float]]] = []

    def way(self, w: osmium.osm.Way) -> None:
        name = w.tags.get("name")
        if not name or w.tags.get("highway") not in self.classes:
            return
        pts = [(nd.lat, nd.lon) for nd in w.nodes if nd.location.valid()]
        if pts:
            self.ways.append((name, [p[0] for p in pts], [p[1] for p in pts]))


class RoadNames:
    """Nearest named road: `nearest(lat, lon)` in O(log n)."""

    def __init__(self, names: list[str], lat: NDArray[np.float64], lon: NDArray[np.float64]):
        if len(names) != len(lat) or len(lat) != len(lon) or len(lat) == 0:
            raise ConfigError("road names need as many points as names, and at least one")
        self.names = names
        self._lat0 = float(np.mean(lat))
        self._k = math.cos(math.radians(self._lat0))
        self._tree = cKDTree(self._xy(lat, lon))

    def _xy(self, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.column_stack([np.radians(lon) * _R * self._k, np.radians(lat) * _R])

    def nearest(self, lat: float, lon: float, max_m: float = MAX_DISTANCE_M) -> str | None:
        """Name of the nearest road within `max_m`, else None."""
        xy = self._xy(np.array([lat]), np.array([lon]))[0]
        d, i = self._tree.query(xy, distance_upper_bound=max_m)
        return None if not math.isfinite(float(d)) else self.names[int(i)]

    @classmethod
    def from_ways(cls, ways: list[tuple[str, list[float], list[float]]]) -> RoadNames:
        """From (name, lats, lons) polylines, densified to `STEP_M`."""
        names: list[str] = []
        lats: list[NDArray[np.float64]] = []
        lons: list[NDArray[np.float64]] = []
        for name, la, lo in ways:
            lat, lon = _densify(np.asarray(la, dtype=np.float64), np.asarray(lo, dtype=np.float64))
            names += [name] * len(lat)
            lats.append(lat)
            lons.append(lon)
        if not names:
            raise ConfigError("no named roads")
        return cls(names, np.concatenate(lats), np.concatenate(lons))


def _densify(
    lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The polyline's vertices plus points on each segment, at most `STEP_M` apart."""
    if len(lat) < 2:
        return lat, lon
    k = np.cos(np.radians(lat[:-1]))
    seg = np.hypot(np.diff(lat), np.diff(lon) * k) * math.radians(1) * _R
    parts = np.maximum(np.ceil(seg / STEP_M), 1).astype(np.int64)
    starts = np.repeat(np.arange(len(seg)), parts)
    frac = (np.arange(int(parts.sum())) - np.repeat(np.cumsum(parts) - parts, parts)) / np.repeat(
        parts, parts
    )
    out_lat = np.append(lat[starts] + frac * np.diff(lat)[starts], lat[-1])
    out_lon = np.append(lon[starts] + frac * np.diff(lon)[starts], lon[-1])
    return out_lat, out_lon


@cache
def road_names(path: str | None = None) -> RoadNames:
    """The named roads of an `.osm.pbf` (default: the shipped Helsinki extract), loaded once."""
    from volta.geo.osm import DEFAULT_SPEED_KMH, default_osm_path

    p = Path(path) if path else default_osm_path()
    if not p.is_file():
        raise ConfigError(f"OSM file {p} not found")
    h = _NamedWays(frozenset(DEFAULT_SPEED_KMH))
    try:
        h.apply_file(str(p), locations=True)
    except RuntimeError as e:
        raise ConfigError(f"cannot read OSM file {p}: {e}") from e
    return RoadNames.from_ways(h.ways)
