"""Loading the car road network of an OpenStreetMap extract into a `RoadGraph`.

`load_roads(path)` reads any `.osm.pbf` with pyosmium, keeps the ways a car may drive on,
honours one-ways (including `oneway=-1` and roundabouts) and speed limits (`maxspeed`, zones,
mph, highway-class defaults), keeps the largest strongly connected component (so every node
can reach every other) and snaps `amenity=charging_station` nodes and ways to the graph.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import numpy as np
import osmium
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from volta.errors import ConfigError
from volta.geo.distance import haversine_m
from volta.geo.graph import Charger, RoadGraph

__all__ = ["DEFAULT_SPEED_KMH", "default_osm_path", "load_roads", "parse_maxspeed", "socket_power"]

# Highway classes a car may use, with the limit assumed when a way has no usable `maxspeed`
# (typical European urban/rural defaults; `maxspeed` wins whenever it is present).
DEFAULT_SPEED_KMH: dict[str, float] = {
    "motorway": 110.0,
    "motorway_link": 70.0,
    "trunk": 90.0,
    "trunk_link": 60.0,
    "primary": 60.0,
    "primary_link": 50.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 50.0,
    "tertiary_link": 40.0,
    "unclassified": 40.0,
    "residential": 30.0,
    "living_street": 20.0,
    "service": 20.0,
    "road": 40.0,
}

# Implicit limits written as `XX:urban` and friends (OSM wiki "Default speed limits").
_TYPE_SPEED_KMH = {
    "urban": 50.0,
    "rural": 80.0,
    "motorway": 120.0,
    "trunk": 100.0,
    "living_street": 20.0,
    "walk": 7.0,
    "none": 130.0,
    "signals": 50.0,
}
_NUMBER_UNIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?\s*$")
_ZONE = re.compile(r"zone\s*:?\s*(\d+)", re.IGNORECASE)
_UNIT_TO_KMH = {"mph": 1.609344, "knots": 1.852}
_FORBIDDEN_ACCESS = {"no", "private", "agricultural", "forestry", "delivery", "emergency"}
_YES = {"yes", "true", "1"}


def parse_maxspeed(value: str | None) -> float | None:
    """`maxspeed` tag to km/h: "50", "50 mph", "FI:urban", "DE:zone30", "30;50" (lowest).

    Returns None when the value says nothing usable ("signals" on a variable sign, typos).
    """
    if not value:
        return None
    speeds = [s for s in (_parse_one(part) for part in value.split(";")) if s is not None]
    return min(speeds) if speeds else None


def _parse_one(text: str) -> float | None:
    m = _NUMBER_UNIT.match(text)
    if m:
        kmh = float(m.group(1)) * _UNIT_TO_KMH.get(m.group(2) or "", 1.0)
        return kmh if kmh > 0 else None
    zone = _ZONE.search(text)
    if zone:
        return float(zone.group(1))
    kind = text.strip().split(":")[-1].lower()
    return _TYPE_SPEED_KMH.get(kind)


def default_osm_path() -> Path:
    """The Helsinki extract shipped with Volta (© OpenStreetMap contributors, ODbL 1.0)."""
    return Path(str(resources.files("volta") / "data" / "osm" / "helsinki.osm.pbf"))


class _Collector(osmium.SimpleHandler):
    """Collects car ways (node ids, coordinates, direction, limit) and charging stations."""

    def __init__(self) -> None:
        super().__init__()
        self.ways: list[tuple[int, list[int], list[float], list[float], int, float]] = []
        self.stations: list[tuple[str, float, float, dict[str, str]]] = []

    def node(self, n: osmium.osm.Node) -> None:
        if n.tags.get("amenity") == "charging_station" and n.location.valid():
            self.stations.append((f"n{n.id}", n.location.lat, n.location.lon, dict(n.tags)))

    def way(self, w: osmium.osm.Way) -> None:
        tags = w.tags
        if tags.get("amenity") == "charging_station":
            pts = [(nd.lat, nd.lon) for nd in w.nodes if nd.location.valid()]
            if pts:
                lat, lon = np.mean(pts, axis=0)
                self.stations.append((f"w{w.id}", float(lat), float(lon), dict(tags)))
        highway = tags.get("highway")
        if highway not in DEFAULT_SPEED_KMH or tags.get("area") == "yes":
            return
        if _forbidden(tags.get("access"), tags.get("motor_vehicle"), tags.get("motorcar")):
            return
        direction = _direction(highway, tags.get("oneway"), tags.get("junction"))
        if direction is None:
            return
        kmh = parse_maxspeed(tags.get("maxspeed")) or parse_maxspeed(tags.get("zone:maxspeed"))
        ids, lats, lons = [], [], []
        for nd in w.nodes:
            if nd.location.valid():  # extracts clip ways: skip nodes cut off at the border
                ids.append(nd.ref)
                lats.append(nd.lat)
                lons.append(nd.lon)
        if len(ids) >= 2:
            self.ways.append((w.id, ids, lats, lons, direction, kmh or DEFAULT_SPEED_KMH[highway]))


def _forbidden(access: str | None, motor_vehicle: str | None, motorcar: str | None) -> bool:
    for value in (motorcar, motor_vehicle):
        if value is not None:
            return value in _FORBIDDEN_ACCESS
    return access in _FORBIDDEN_ACCESS


def _direction(highway: str, oneway: str | None, junction: str | None) -> int | None:
    """+1 forward only, -1 backward only, 0 both ways; None for reversible (time-dependent)."""
    if oneway in _YES:
        return 1
    if oneway in ("-1", "reverse"):
        return -1
    if oneway == "reversible":
        return None
    if oneway == "no":
        return 0
    if junction in ("roundabout", "circular") or highway == "motorway":
        return 1  # implied one-way (OSM wiki: oneway=yes is implied on these)
    return 0


def load_roads(path: str | Path | None = None, default_charger_kw: float = 22.0) -> RoadGraph:
    """Build the car graph of an `.osm.pbf` file (default: the shipped Helsinki extract)."""
    p = Path(path) if path is not None else default_osm_path()
    if not p.is_file():
        raise ConfigError(f"OSM file {p} not found")
    col = _Collector()
    try:
        col.apply_file(str(p), locations=True)
    except RuntimeError as exc:
        raise ConfigError(f"cannot read OSM file {p}: {exc}") from exc
    if not col.ways:
        raise ConfigError(f"{p} has no roads a car may use")
    return _build(col, default_charger_kw)


def _build(col: _Collector, default_charger_kw: float) -> RoadGraph:
    node_ids = np.concatenate([np.asarray(w[1], dtype=np.int64) for w in col.ways])
    lats = np.concatenate([np.asarray(w[2]) for w in col.ways])
    lons = np.concatenate([np.asarray(w[3]) for w in col.ways])
    uniq, first, inverse = np.unique(node_ids, return_index=True, return_inverse=True)
    # junctions: nodes shared by several ways or interior crossings (counted before dedup)
    uses = np.bincount(inverse, minlength=len(uniq))
    src_l, dst_l, spd_l, way_l = [], [], [], []
    pos = 0
    for way_id, ids, _, _, direction, kmh in col.ways:
        idx = inverse[pos : pos + len(ids)]
        pos += len(ids)
        a, b = idx[:-1], idx[1:]
        pairs = [(a, b)] if direction == 1 else [(b, a)] if direction == -1 else [(a, b), (b, a)]
        for s, d in pairs:
            src_l.append(s)
            dst_l.append(d)
            spd_l.append(np.full(len(s), kmh / 3.6))
            way_l.append(np.full(len(s), way_id, dtype=np.int64))
    src, dst = np.concatenate(src_l), np.concatenate(dst_l)
    speed, way = np.concatenate(spd_l), np.concatenate(way_l)
    lat, lon = lats[first], lons[first]
    length = haversine_m(lat[src], lon[src], lat[dst], lon[dst])
    keep = src != dst
    src, dst, speed, way, length = src[keep], dst[keep], speed[keep], way[keep], length[keep]
    length = np.maximum(length, 0.1)  # duplicate coordinates would give zero-cost edges

    # One edge per ordered pair: the fastest (scipy would *sum* duplicates in a CSR matrix).
    order = np.lexsort((length / speed, dst, src))
    src, dst, speed, way, length = src[order], dst[order], speed[order], way[order], length[order]
    first_of_pair = np.ones(len(src), dtype=bool)
    first_of_pair[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    src, dst, speed, way, length = (x[first_of_pair] for x in (src, dst, speed, way, length))

    n = len(uniq)
    m = csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    _, labels = connected_components(m, directed=True, connection="strong")
    big = np.argmax(np.bincount(labels))
    keep_node = labels == big
    new_index = np.cumsum(keep_node) - 1
    ke = keep_node[src] & keep_node[dst]
    src, dst = new_index[src[ke]], new_index[dst[ke]]
    speed, way, length = speed[ke], way[ke], length[ke]
    lat, lon, osm_node = lat[keep_node], lon[keep_node], uniq[keep_node]

    nn = len(lat)
    indptr = np.zeros(nn + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=nn), out=indptr[1:])
    und = np.unique(np.concatenate([src * nn + dst, dst * nn + src]))
    degree = np.bincount(und // nn, minlength=nn)
    junction = (degree > 2) | (uses[keep_node] > 2)

    graph = RoadGraph(
        lat=lat,
        lon=lon,
        osm_node=osm_node,
        indptr=indptr,
        src=src.astype(np.int64),
        dst=dst.astype(np.int64),
        length_m=length,
        speed_mps=speed,
        grade=np.zeros(len(src)),
        osm_way=way,
        junction=junction,
        chargers=(),
    )
    graph.chargers = tuple(_charger(graph, s, default_charger_kw) for s in col.stations)
    return graph


_SOCKET_OUTPUT = re.compile(r"^socket:([a-z0-9_]+):output$")
_DC_SOCKETS = {"chademo", "type2_combo", "type1_combo", "ccs", "tesla_supercharger", "gb_dc"}


def socket_power(tags: Mapping[str, str]) -> tuple[float, bool]:
    """(highest `socket:*:output` power in kW, 0 if none is tagged; whether a socket is DC)."""
    kw, dc = 0.0, False
    for key, value in tags.items():
        m = _SOCKET_OUTPUT.match(key)
        if m:
            # "22 kW", "50kW", "3700 W", "160 kW;350 kW": the highest value counts
            for num in re.finditer(r"(\d+(?:\.\d+)?)\s*(kW|W)?", str(value), re.IGNORECASE):
                unit = (num.group(2) or "").lower()
                kw = max(kw, float(num.group(1)) / (1000.0 if unit == "w" else 1.0))
            dc = dc or m.group(1) in _DC_SOCKETS
        elif key.startswith("socket:") and key.split(":")[1] in _DC_SOCKETS:
            dc = True
    return kw, dc


def _charger(
    graph: RoadGraph, station: tuple[str, float, float, dict[str, str]], default_kw: float
) -> Charger:
    osm_id, lat, lon, tags = station
    kw, dc = socket_power(tags)
    power = kw if kw > 0 else (50.0 if dc else default_kw)
    return Charger(
        node=graph.nearest_node(lat, lon),
        lat=lat,
        lon=lon,
        osm_id=osm_id,
        dc=dc or power > 43.0,
        power_kw=power,
    )
