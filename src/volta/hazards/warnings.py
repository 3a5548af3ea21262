"""Warnings to the cars heading towards a confirmed hazard.

A car is warned when the hazard lies on its *most probable path* within `horizon_m` (3 km):
its position matched to a road segment in its direction of travel (its heading picks the
direction), then, junction by junction, the road that goes most nearly straight on (never
back the way it came) — the electronic horizon of ADAS maps. Nearness alone is not enough: a
car on a parallel street, one that has passed the hazard or one driving away from it is not
warned, although in a city every point is a few kilometres of road from every other. Each car
is warned about each hazard once. A hazard of both directions (a pothole, ice) lies ahead of
the cars coming from either end of its road; one that stands on one carriageway (a queue,
`Hazard.direction_deg`) only of the cars driving that way.

Pure and clock-free like the rest of road sensing: `HazardWarner` is told the published hazards
and each car's latest fix, and hands each warning to a `send(vin, payload)` callable (the MQTT
notifier in a server, a list in tests). A warning carries what a hazard publishes (no other
car's identity) and the distance along the road to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msgspec
import numpy as np

from volta.hazards.matching import RoadMatcher
from volta.hazards.model import Hazard

__all__ = ["HORIZON_M", "HazardWarner", "HazardWarning"]

HORIZON_M = 3_000.0
Send = Callable[[str, bytes], None]


class HazardWarning(msgspec.Struct, frozen=True):
    """What a car receives on `{prefix}/{vin}/notify`."""

    type: str  # "hazard_warning"
    hazard_id: str
    kind: str
    lat: float
    lon: float
    distance_m: float  # along the road, from the car's position
    confidence: float
    ts: int  # ms since the epoch, when it was sent


@dataclass(frozen=True, slots=True)
class _Placed:
    """A hazard, or a car, on a directed road segment."""

    edge: int
    offset_m: float


class HazardWarner:
    """Decides which cars to warn about which hazards; sends each warning once."""

    def __init__(self, matcher: RoadMatcher, send: Send, horizon_m: float = HORIZON_M) -> None:
        self.matcher = matcher
        self.send = send
        self.horizon_m = horizon_m
        self._hazards: dict[str, tuple[Hazard, list[_Placed]]] = {}
        self._by_edge: dict[int, list[tuple[str, float]]] = {}  # edge -> (hazard id, offset)
        self._cars: dict[str, _Placed] = {}  # each car's latest matched fix
        self._horizons: dict[int, dict[int, float]] = {}
        # what makes a fix and a new hazard cheap with thousands of cars: the hazards ahead of
        # each edge (until the hazards change), and the cars whose road ahead holds each edge
        self._ahead_of: dict[int, list[tuple[str, float]]] = {}
        self._watchers: dict[int, set[str]] = {}
        self._warned: set[tuple[str, str]] = set()
        self.sent = 0

    def horizon(self, edge: int) -> dict[int, float]:
        """The most probable path from the start of `edge`: each edge on it, in order, with
        the distance from the start of `edge` to its start (cached: the roads do not change)."""
        path = self._horizons.get(edge)
        if path is not None:
            return path
        g, bearing = self.matcher.graph, self.matcher.bearing
        path = {edge: 0.0}
        e, d = edge, float(g.length_m[edge])
        while d < self.horizon_m:
            node = int(g.dst[e])
            out = [
                x for x in range(int(g.indptr[node]), int(g.indptr[node + 1]))
                if int(g.dst[x]) != int(g.src[e])
            ]  # fmt: skip
            if not out:
                break
            turns = [abs((float(bearing[x]) - float(bearing[e]) + 180.0) % 360.0 - 180.0)
                     for x in out]  # fmt: skip
            e = out[int(np.argmin(turns))]
            if e in path:  # round a block and back: the path ends
                break
            path[e] = d
            d += float(g.length_m[e])
        self._horizons[edge] = path
        return path

    def hazards(self, published: list[Hazard], now_ms: int) -> None:
        """The hazards published now; new ones are checked against every car's last fix."""
        current = {h.hazard_id: h for h in published if h.edge >= 0}
        gone = self._hazards.keys() - current.keys()
        for hazard_id in gone:
            _, places = self._hazards.pop(hazard_id)
            for p in places:
                self._by_edge[p.edge].remove((hazard_id, p.offset_m))
        if gone:
            self._warned = {w for w in self._warned if w[1] not in gone}
        new = [h for h in current.values() if h.hazard_id not in self._hazards]
        for h in new:
            places = self._place_hazard(h)
            self._hazards[h.hazard_id] = (h, places)
            for p in places:
                self._by_edge.setdefault(p.edge, []).append((h.hazard_id, p.offset_m))
        if gone or new:
            self._ahead_of.clear()
        ids = {h.hazard_id for h in new}
        edges = {p.edge for h in new for p in self._hazards[h.hazard_id][1]}
        for vin in {v for e in edges for v in self._watchers.get(e, ())}:
            self._check(vin, self._cars[vin], now_ms, only=ids)

    def car(self, vin: str, lat: float, lon: float, heading: float, now_ms: int) -> None:
        """A car's latest fix: warn it of the hazards ahead it has not been warned about."""
        [m] = self.matcher.match(np.array([lat]), np.array([lon]), np.array([heading]))
        before = self._cars.get(vin)
        if before is not None and (m is None or m.edge != before.edge):
            for edge in self.horizon(before.edge):
                self._watchers[edge].discard(vin)
        if m is None:  # off the map: no road ahead to speak of
            self._cars.pop(vin, None)
            return
        car = _Placed(m.edge, m.offset_m)
        self._cars[vin] = car
        if before is None or m.edge != before.edge:
            for edge in self.horizon(m.edge):
                self._watchers.setdefault(edge, set()).add(vin)
        if self._hazards:
            self._check(vin, car, now_ms)

    def ahead(self, vin: str) -> dict[str, float]:
        """The hazards on a car's most probable path, with the distance to each."""
        car = self._cars.get(vin)
        return {} if car is None else dict(self._ahead(car))

    def _place_hazard(self, h: Hazard) -> list[_Placed]:
        """Where a hazard lies ahead of cars: on its edge, and on the same road the other way
        unless it concerns one direction only."""
        # the published point is on its edge: its offset is where it projects onto the edge
        heading = np.array([self.matcher.bearing[h.edge]])
        [m] = self.matcher.match(np.array([h.lat]), np.array([h.lon]), heading)
        offset = m.offset_m if m is not None and m.edge == h.edge else 0.0
        places = [_Placed(h.edge, offset)]
        g = self.matcher.graph
        src, dst = int(g.src[h.edge]), int(g.dst[h.edge])
        if h.direction_deg is None:
            for back in range(int(g.indptr[dst]), int(g.indptr[dst + 1])):
                if int(g.dst[back]) == src:
                    places.append(_Placed(back, max(float(g.length_m[back]) - offset, 0.0)))
                    break
        return places

    def _ahead(self, car: _Placed) -> list[tuple[str, float]]:
        ahead = self._ahead_of.get(car.edge)
        if ahead is None:  # hazard id, distance from the start of the car's edge
            ahead = [
                (hazard_id, start + offset)
                for edge, start in self.horizon(car.edge).items()
                for hazard_id, offset in self._by_edge.get(edge, ())
            ]
            self._ahead_of[car.edge] = ahead
        return [
            (hazard_id, d - car.offset_m)
            for hazard_id, d in ahead
            if 0.0 <= d - car.offset_m <= self.horizon_m
        ]

    def _check(self, vin: str, car: _Placed, now_ms: int, only: set[str] | None = None) -> None:
        for hazard_id, d in self._ahead(car):
            if (only is not None and hazard_id not in only) or (vin, hazard_id) in self._warned:
                continue
            self._warned.add((vin, hazard_id))
            h = self._hazards[hazard_id][0]
            w = HazardWarning("hazard_warning", h.hazard_id, str(h.kind), h.lat, h.lon,
                              round(d, 1), h.confidence, now_ms)  # fmt: skip
            self.send(vin, msgspec.json.encode(w))
            self.sent += 1
