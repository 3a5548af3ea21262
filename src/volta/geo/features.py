"""The dashboard's map features beyond roads, from an OpenStreetMap extract: areas by class
(building, water, park) and street-name labels (a point and the angle of each named street's
longest straight piece). Pure reading of the file; the API caches the result."""

from __future__ import annotations

import itertools
import math
from functools import lru_cache
from pathlib import Path
from typing import TypedDict

import osmium

from volta.errors import ConfigError

__all__ = ["AREA_CLASSES", "Features", "Label", "area_class", "load_features"]

AREA_CLASSES = ("water", "park", "building")

_PARK_LEISURE = {"park", "garden", "playground", "pitch", "nature_reserve"}
_PARK_LANDUSE = {"grass", "forest", "recreation_ground", "meadow", "village_green", "cemetery"}
_PARK_NATURAL = {"wood", "scrub", "grassland", "heath"}
_WATER_NATURAL = {"water", "bay", "wetland"}
_WATER_WATERWAY = {"riverbank", "dock", "canal"}
# Highways that carry street names worth a label (paths and tracks would crowd the map).
_LABEL_HIGHWAYS = {
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
    "living_street", "pedestrian", "service",
}  # fmt: skip


class Label(TypedDict):
    """A street name at the middle of its longest straight piece (`length_m` long), along it
    (`angle`: degrees counter-clockwise from east, kept within ±90 so text reads upright)."""

    name: str
    lon: float
    lat: float
    angle: float
    length_m: float


class Features(TypedDict):
    """Closed rings ([[lon, lat], ...], first == last) per class, and street labels."""

    water: list[list[list[float]]]
    park: list[list[list[float]]]
    building: list[list[list[float]]]
    labels: list[Label]


def area_class(tags: dict[str, str]) -> str | None:
    """The map class of a closed way's tags, or None when it is not drawn as an area."""
    if tags.get("building") not in (None, "no"):
        return "building"
    if (
        tags.get("natural") in _WATER_NATURAL
        or tags.get("waterway") in _WATER_WATERWAY
        or tags.get("landuse") in ("reservoir", "basin")
    ):
        return "water"
    if (
        tags.get("leisure") in _PARK_LEISURE
        or tags.get("landuse") in _PARK_LANDUSE
        or tags.get("natural") in _PARK_NATURAL
    ):
        return "park"
    return None


def _r(x: float) -> float:
    return round(x, 6)


def _ccw(ring: list[list[float]]) -> list[list[float]]:
    """The ring counter-clockwise: the map fills each class as one path with the nonzero rule,
    where rings of opposite turning would cancel where they overlap (a meadow in a park)."""
    twice_area = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))
    return ring if twice_area >= 0 else ring[::-1]


_M_PER_DEG = 111_320.0


class _Reader(osmium.SimpleHandler):
    def __init__(self) -> None:
        super().__init__()
        self.areas: dict[str, list[list[list[float]]]] = {c: [] for c in AREA_CLASSES}
        # name -> (length in metres of the longest straight piece, label)
        self.best: dict[str, tuple[float, Label]] = {}

    def way(self, w: osmium.osm.Way) -> None:
        tags = {t.k: t.v for t in w.tags}
        pts = [(nd.lon, nd.lat) for nd in w.nodes if nd.location.valid()]
        if len(pts) < 2:
            return
        cls = area_class(tags) if w.is_closed() else None
        if cls is not None and len(pts) >= 4:
            ring = [[_r(lon), _r(lat)] for lon, lat in pts]
            if ring[0] != ring[-1]:  # a clipped ring: close it so it still fills
                ring.append(ring[0])
            self.areas[cls].append(_ccw(ring))
            return
        name = tags.get("name")
        if name and tags.get("highway") in _LABEL_HIGHWAYS:
            self._label(name, pts)

    def area(self, a: osmium.osm.Area) -> None:
        # Closed ways are taken in way(); here the multipolygon relations' outer rings (their
        # holes, e.g. courtyards, are filled: one nonzero-filled path per class).
        if a.from_way():
            return
        cls = area_class({t.k: t.v for t in a.tags})
        if cls is None:
            return
        for outer in a.outer_rings():
            ring = [[_r(nd.lon), _r(nd.lat)] for nd in outer if nd.location.valid()]
            if len(ring) >= 4 and ring[0] == ring[-1]:
                self.areas[cls].append(_ccw(ring))

    def _label(self, name: str, pts: list[tuple[float, float]]) -> None:
        kx = math.cos(math.radians(pts[0][1])) * _M_PER_DEG
        xy = [(lon * kx, lat * _M_PER_DEG) for lon, lat in pts]
        # Straight pieces: runs of segments within 12° of the run's first bearing.
        start = 0
        while start < len(xy) - 1:
            (x0, y0), (x1, y1) = xy[start], xy[start + 1]
            bearing = math.atan2(y1 - y0, x1 - x0)
            end = start + 1
            while end < len(xy) - 1:
                (xa, ya), (xb, yb) = xy[end], xy[end + 1]
                turn = math.atan2(yb - ya, xb - xa) - bearing
                if abs(math.atan2(math.sin(turn), math.cos(turn))) > math.radians(12):
                    break
                end += 1
            self._piece(name, pts[start], pts[end], xy[start], xy[end])
            start = end

    def _piece(
        self,
        name: str,
        a: tuple[float, float],
        b: tuple[float, float],
        a_m: tuple[float, float],
        b_m: tuple[float, float],
    ) -> None:
        dx, dy = b_m[0] - a_m[0], b_m[1] - a_m[1]
        length = math.hypot(dx, dy)
        if name in self.best and length <= self.best[name][0]:
            return
        angle = math.degrees(math.atan2(dy, dx))
        if angle > 90:  # keep text upright: read left to right
            angle -= 180
        elif angle < -90:
            angle += 180
        label: Label = {
            "name": name,
            "lon": _r((a[0] + b[0]) / 2),
            "lat": _r((a[1] + b[1]) / 2),
            "angle": round(angle, 1),
            "length_m": round(length, 1),
        }
        self.best[name] = (length, label)


@lru_cache(maxsize=4)
def load_features(path: Path) -> Features:
    """Areas and street labels of an `.osm.pbf` extract (one label per street name, at the
    middle of its longest straight piece, so long labels fit)."""
    if not path.is_file():
        raise ConfigError(f"OSM file {path} not found")
    reader = _Reader()
    try:
        reader.apply_file(str(path), locations=True)
    except RuntimeError as exc:
        raise ConfigError(f"cannot read OSM file {path}: {exc}") from exc
    labels = [label for _, label in sorted(reader.best.values(), key=lambda t: -t[0])]
    a = reader.areas
    return {"water": a["water"], "park": a["park"], "building": a["building"], "labels": labels}
