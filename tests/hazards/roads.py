"""A real road graph (the shipped Helsinki extract) and synthetic cars driving its routes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from volta.geo.graph import FloatArray, RoadGraph
from volta.geo.osm import load_roads
from volta.hazards.detect import ADAS, AIR, HEADING, LAT, LON, SPEED, VERTICAL
from volta.hazards.matching import RoadMatcher

T0 = 1_774_000_000_000  # 2026-03-20


@cache
def helsinki() -> RoadGraph:
    return load_roads()


@cache
def matcher() -> RoadMatcher:
    return RoadMatcher(helsinki())


@dataclass(frozen=True)
class Path:
    """A route's geometry: cumulative distance at each node, and the node positions."""

    cum: FloatArray
    lat: FloatArray
    lon: FloatArray
    heading: FloatArray  # of each edge

    def at(self, s: float) -> tuple[float, float, float]:
        """(lat, lon, heading) at distance s along the route."""
        i = int(np.clip(np.searchsorted(self.cum, s, side="right") - 1, 0, len(self.heading) - 1))
        return (
            float(np.interp(s, self.cum, self.lat)),
            float(np.interp(s, self.cum, self.lon)),
            float(self.heading[i]),
        )


@cache
def long_route(a: int = 100, b: int = 1500) -> Path:
    g = helsinki()
    r = g.route(a, b)
    assert r is not None
    m = matcher()
    return Path(
        cum=np.concatenate([[0.0], np.cumsum(g.length_m[r.edges])]),
        lat=g.lat[r.nodes],
        lon=g.lon[r.nodes],
        heading=m.bearing[r.edges],
    )


def drive(
    path: Path,
    speeds: list[float],
    t0_ms: int = T0,
    start_m: float = 0.0,
    vertical: dict[int, float] | None = None,
    adas: set[int] | None = None,
    air_c: float = 10.0,
) -> list[tuple[int, str, object]]:
    """1 Hz samples of a car driving `path` at `speeds[i]` m/s in second i (km/h on the wire).

    `vertical[i]` is the jolt of second i (else a quiet road), `adas` the seconds with an ABS
    engagement. Returns the samples and leaves positions at the start of each second."""
    out: list[tuple[int, str, object]] = [(t0_ms, AIR, air_c)]
    s = start_m
    vertical = vertical or {}
    adas = adas or set()
    for i, v in enumerate(speeds):
        ts = t0_ms + i * 1000
        lat, lon, h = path.at(s)
        out += [
            (ts, SPEED, round(v * 3.6, 1)),
            (ts, LAT, round(lat, 6)),
            (ts, LON, round(lon, 6)),
            (ts, HEADING, h),
            (ts, VERTICAL, vertical.get(i, 0.05)),
            (ts, ADAS[0], i in adas),
        ]
        s += v
    return out


def position(path: Path, speeds: list[float], second: int, start_m: float = 0.0) -> float:
    """Distance along the path at the start of `second`."""
    return start_m + float(sum(speeds[:second]))
