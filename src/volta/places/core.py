"""Places: named circles (home, work, a charger) that drives and charges are tagged with, and
the tariffs that price the energy charged there. Pure: no clock, no I/O.

A place belongs to one vehicle (`vin`) or to the whole fleet (`vin=None`). A point lies in a
place when its distance to the centre is at most the radius; when several hold it, the
vehicle's own places win over the fleet's, then the nearest centre. Outside every place, the
nearest named road (`RoadNames`) stands in for an address.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from volta.errors import BadRequest
from volta.geo.distance import EARTH_RADIUS_M
from volta.places.roads import RoadNames

__all__ = ["SLOT_MS", "Label", "Place", "Tagger", "Tariff", "TouWindow", "distance_m"]

SLOT_MS = 15 * 60_000  # charged energy is kept per quarter-hour; windows align to it
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


class TouWindow(msgspec.Struct, frozen=True, kw_only=True):
    """A time-of-use price: from `start` to `end` local time ("HH:MM", on quarter-hours;
    `end` before `start` wraps past midnight)."""

    start: str
    end: str
    price_per_kwh: float


class Tariff(msgspec.Struct, frozen=True, kw_only=True):
    """Price of energy charged at a place: `price_per_kwh` unless a window says otherwise."""

    price_per_kwh: float
    currency: str
    timezone: str = "UTC"
    windows: list[TouWindow] = []

    def validate(self) -> Tariff:
        """Self, or BadRequest with the reason (unknown zone, a window off the quarter-hour)."""
        if not (self.price_per_kwh >= 0 and math.isfinite(self.price_per_kwh)):
            raise BadRequest(f"price_per_kwh must be finite and >= 0, got {self.price_per_kwh}")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise BadRequest(f"currency must be an ISO 4217 code like EUR, got {self.currency!r}")
        _zone(self.timezone)
        for w in self.windows:
            for t in (w.start, w.end):
                if _minute(t) % 15:
                    raise BadRequest(f"time-of-use window {t!r} is not on a quarter-hour")
            if not (w.price_per_kwh >= 0 and math.isfinite(w.price_per_kwh)):
                raise BadRequest(f"window price must be a finite number >= 0: {w.price_per_kwh}")
            if w.start == w.end:
                raise BadRequest(f"time-of-use window {w.start}-{w.end} is empty")
        return self

    def price_at(self, ts_ms: int) -> float:
        """Price per kWh at an instant: the first window holding its local time, else the base."""
        local = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(_zone(self.timezone))
        m = local.hour * 60 + local.minute
        for w in self.windows:
            a, b = _minute(w.start), _minute(w.end)
            if (a <= m < b) if a < b else (m >= a or m < b):
                return w.price_per_kwh
        return self.price_per_kwh

    def cost(self, energy_by_slot: Sequence[tuple[int, float]]) -> float:
        """Cost of energy given per quarter-hour slot as (slot start ms, Wh). Windows lie on
        quarter-hours (and time zones are whole quarter-hours off UTC), so each slot has one
        price and the result is exact."""
        return sum(wh / 1000.0 * self.price_at(t) for t, wh in energy_by_slot)


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """A named circle; `vin=None` is fleet-wide."""

    id: str
    name: str
    lat: float
    lon: float
    radius_m: float
    vin: str | None = None
    tariff: Tariff | None = None


class Label(msgspec.Struct, frozen=True):
    """What a point is called: a place (its id and name) or, outside every place, the
    nearest named road (`place_id` None)."""

    name: str | None
    place_id: str | None


_NOWHERE = Label(None, None)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), metres: `volta.geo.distance.haversine_m` for one pair of
    points, in scalar math (several times faster than numpy on scalars)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


class Tagger:
    """An immutable snapshot of the places (and the road names) that labels points.
    `version` says which snapshot a record was tagged with."""

    def __init__(
        self, places: Sequence[Place], roads: RoadNames | None = None, version: int = 0
    ) -> None:
        self.places = tuple(places)
        self.roads = roads
        self.version = version
        self._by_id = {p.id: p for p in self.places}
        self._own: dict[str, list[Place]] = {}
        for p in self.places:
            if p.vin is not None:
                self._own.setdefault(p.vin, []).append(p)
        # fleet-wide places (every public charger, say) in a KD-tree over points on the sphere:
        # a chord is never longer than its arc, so a ball of the largest radius finds them all
        self._fleet = [p for p in self.places if p.vin is None]
        self._tree = cKDTree(_xyz([p.lat for p in self._fleet], [p.lon for p in self._fleet]))
        self._reach = max((p.radius_m for p in self._fleet), default=0.0)

    def place(self, vin: str, lat: float | None, lon: float | None) -> Place | None:
        """The place holding the point for this vehicle, None outside every place."""
        if lat is None or lon is None:
            return None
        own = _nearest_holding(self._own.get(vin, ()), lat, lon)
        if own is not None or not self._fleet:
            return own
        near = self._tree.query_ball_point(_xyz([lat], [lon])[0], self._reach)
        return _nearest_holding([self._fleet[i] for i in sorted(near)], lat, lon)

    def label(self, vin: str, lat: float | None, lon: float | None) -> Label:
        """The place's name, else the nearest named road's, else nothing."""
        p = self.place(vin, lat, lon)
        if p is not None:
            return Label(p.name, p.id)
        if lat is None or lon is None or self.roads is None:
            return _NOWHERE
        return Label(self.roads.nearest(lat, lon), None)

    def get(self, place_id: str | None) -> Place | None:
        return self._by_id.get(place_id) if place_id else None


def _nearest_holding(places: Iterable[Place], lat: float, lon: float) -> Place | None:
    best: tuple[float, Place] | None = None
    for p in places:
        d = distance_m(lat, lon, p.lat, p.lon)
        if d <= p.radius_m and (best is None or d < best[0]):
            best = (d, p)
    return best[1] if best else None


def _xyz(lat: Sequence[float], lon: Sequence[float]) -> NDArray[np.float64]:
    """Points on the earth's sphere, metres (shape (n, 3), also for n = 0)."""
    la, lo = (
        np.radians(np.asarray(lat, dtype=np.float64)),
        np.radians(np.asarray(lon, dtype=np.float64)),
    )
    xyz = np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
    return xyz.reshape(-1, 3) * EARTH_RADIUS_M


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _zone(name: str) -> ZoneInfo:
    # membership first: ZoneInfo() reads a file named by the key, and some keys ("America",
    # a 300-character one) fail with an OSError rather than "not found"
    if name not in _zones():
        raise BadRequest(f"unknown time zone {name!r} (an IANA name: Europe/Helsinki)")
    return ZoneInfo(name)


def _minute(hhmm: str) -> int:
    m = _HHMM.match(hhmm)
    if m is None:
        raise BadRequest(f"time {hhmm!r} is not HH:MM")
    return 1440 if hhmm == "24:00" else int(hhmm[:2]) * 60 + int(hhmm[3:])
