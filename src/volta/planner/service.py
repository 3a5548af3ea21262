"""Trip planning on a server's road network: the OSM extract the platform runs on
(`VOLTA_ROADS`), its charging stations plus an optional charger file (`VOLTA_CHARGERS`), one
charger graph per vehicle model built on first use; points given as latitude/longitude (names
are resolved to points by `planner.gazetteer`, with the extract's named features and the
chargers this module collects).

The pure search is `planner.search`; this module turns places into road nodes and the plan's
legs back into lines on the map. On a large map the contraction hierarchy behind a charger
graph takes minutes to build: the server keeps it in the data dir (`CACHE_DIR`), under the
fingerprint of the graph, model and costs (`planner.hierarchy_file`), and loads it on the next
start; a file that cannot be read or does not fit the graph is rebuilt, with a log line.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np

from volta.config import Settings
from volta.geo.graph import RoadGraph
from volta.geo.osm import load_roads
from volta.planner.alternatives import alternatives
from volta.planner.chargers import Station
from volta.planner.energy import edge_energy_wh
from volta.planner.filters import ChargerFilter
from volta.planner.gazetteer import CHARGER, Candidate, Gazetteer, osm_places
from volta.planner.hierarchy import Hierarchy
from volta.planner.hierarchy_file import cached_hierarchy, fingerprint
from volta.planner.live import TripRoute, trip_route
from volta.planner.network import FloatArray, OffGraph, RoadNetwork
from volta.planner.plan import NoFeasiblePlan, Plan, Site, TripRequest
from volta.planner.search import ROUTE_WEIGHTS, SiteIndex, plan_trip, route_costs
from volta.vehicles.model import VehicleModel

__all__ = [
    "AMBIENT_C",
    "CACHE_DIR",
    "CACHE_FILES",
    "CACHE_MIN_NODES",
    "FEWER_STOPS_PENALTY_S",
    "INDEXES_KEPT",
    "SNAP_M",
    "PlannedTrip",
    "TripPlanner",
    "planner_for",
    "server_planner",
]

log = logging.getLogger(__name__)

SNAP_M = 500.0  # a point farther than this from every road node is refused (OffGraph)
# "prefer fewer stops": a stop is worth this much driving time to avoid (ABRP-style penalty)
FEWER_STOPS_PENALTY_S = 15 * 60.0
CACHE_DIR = "planner-cache"  # in the data dir: contraction hierarchies of large maps
# Below this many nodes a hierarchy builds in well under a second (Helsinki's 1,671: 25 ms,
# Amsterdam's 68,213: 2 s CPU), not worth a file.
CACHE_MIN_NODES = 20_000
# Files kept (the most recently used): one per model and calibration factor, up to ~1 GB each
# at a million nodes.
CACHE_FILES = 8
# Charger graphs kept in memory (one per model, calibration, temperature and payload): each
# holds its road graph's hierarchy, ~1 GB at a million nodes; one dropped is loaded again from
# CACHE_DIR (large maps) or rebuilt (small ones, in well under a second).
INDEXES_KEPT = 8
AMBIENT_C = 20.0  # the default: no heating or cooling (inside the shipped models' dead band)

LatLon = tuple[float, float]


@dataclass(frozen=True, slots=True)
class PlannedTrip:
    """A plan with where its stops are and the road each leg follows ((lat, lon) points)."""

    plan: Plan
    stop_positions: tuple[LatLon, ...]
    geometry: tuple[tuple[LatLon, ...], ...]  # one line per leg
    # other charger sequences nearly as fast (planner.alternatives), fastest first
    alternatives: tuple[PlannedTrip, ...] = ()
    route: TripRoute | None = None  # the plan on the road, for checking it under way


class TripPlanner:
    """Plans trips on one road network for any vehicle model; thread-safe."""

    def __init__(
        self, graph: RoadGraph, stations: Iterable[Station] = (), places_from: Path | None = None,
        cache_dir: Path | None = None, cache_min_nodes: int | None = None,
    ) -> None:  # fmt: skip
        """`places_from`: the OSM extract whose named places `features` are; `cache_dir`:
        where the contraction hierarchies of maps with at least `cache_min_nodes` (default
        CACHE_MIN_NODES) nodes are kept across restarts."""
        self.graph = graph
        self.net = RoadNetwork.from_road_graph(graph)
        best: dict[int, Site] = {}
        ids: dict[str, tuple[str, ...]] = {}  # a site's name -> the ids it answers to
        for c in graph.chargers:
            name = f"OSM charging station {c.osm_id}"
            self._keep(best, Site(c.node, c.power_kw, name))
            ids[name] = (c.osm_id,)
        self.unsnapped: list[str] = []  # stations of the file too far from every road
        for s in stations:
            try:
                node = self.net.snap_latlon(s.lat, s.lon, SNAP_M)
            except OffGraph:
                self.unsnapped.append(s.station_id)
                continue
            site = Site(node, s.power_kw, s.name or s.station_id, s.connectors, s.network)
            self._keep(best, site)
            ids[site.name] = (s.station_id,)
        self.sites = sorted(best.values(), key=lambda site: site.node)
        # the chargers by name or id, where the planner has them (on their road node)
        self.chargers = Gazetteer(
            Candidate(s.name, CHARGER, float(graph.lat[s.node]), float(graph.lon[s.node]),
                      ids.get(s.name, ()))
            for s in self.sites
        )  # fmt: skip
        self._places_from = places_from
        least = CACHE_MIN_NODES if cache_min_nodes is None else cache_min_nodes
        self.cache_dir = cache_dir if self.net.n_nodes >= least else None
        # least recently used first
        self._indexes: OrderedDict[tuple[VehicleModel, float, float, float], SiteIndex] = (
            OrderedDict()
        )
        self._lock = threading.Lock()  # guards the two dicts, never held while building
        self._building: dict[tuple[VehicleModel, float, float, float], threading.Lock] = {}

    @property
    def features(self) -> Gazetteer:
        """The map's named places, read from the extract when first asked for (planning
        needs none of them)."""
        return osm_places(self._places_from) if self._places_from else Gazetteer()

    @staticmethod
    def _keep(best: dict[int, Site], site: Site) -> None:
        # two stations on one node: the faster one is the stop a driver would pick
        if site.node not in best or best[site.node].power_kw < site.power_kw:
            best[site.node] = site

    def index(
        self, model: VehicleModel, energy_factor: float = 1.0, ambient_c: float = AMBIENT_C,
        payload_kg: float = 0.0,
    ) -> SiteIndex:  # fmt: skip
        """The charger graph for a model whose energy use is `energy_factor` times its
        physics' (a car's calibration) at `ambient_c` (heating or cooling) with `payload_kg`
        aboard: the costs of every charger pair. Built once per model, factor (rounded to 1 %,
        so cars of a model share a few), temperature (to 1 °C) and payload (to 10 kg); the
        INDEXES_KEPT most recently used are kept."""
        key = (model, round(energy_factor, 2), float(round(ambient_c)), round(payload_kg, -1))
        with self._lock:
            index = self._indexes.get(key)
            if index is not None:
                self._indexes.move_to_end(key)
                return index
            building = self._building.setdefault(key, threading.Lock())
        # Built outside the planner's lock (seconds to minutes on a large map): plans with
        # other indexes go on meanwhile; a second request for this key waits for this build.
        with building:
            with self._lock:
                index = self._indexes.get(key)
            if index is None:
                index = self._build(*key)
                with self._lock:
                    self._indexes[key] = index
                    while len(self._indexes) > INDEXES_KEPT:
                        self._indexes.popitem(last=False)
                    self._building.pop(key, None)
            return index

    def _build(
        self, model: VehicleModel, factor: float, ambient: float, payload: float
    ) -> SiteIndex:
        net = self.net
        energy = factor * edge_energy_wh(
            model, net.speed_mps, net.grade, net.length_m, ambient, payload
        )
        hierarchy = None
        if self.cache_dir is not None:
            hierarchy = _kept_hierarchy(self.cache_dir, net, model, energy)
        return SiteIndex(net, model, self.sites, energy, hierarchy=hierarchy)

    def plan(
        self,
        model: VehicleModel,
        origin: LatLon,
        destination: LatLon,
        start_soc: float,
        min_arrival_soc: float = 10.0,
        min_charger_soc: float = 10.0,
        max_charge_soc: float = 100.0,
        filters: ChargerFilter | None = None,
        prefer_fewer_stops: bool = False,
        alternatives_within: float = 0.0,
        energy_factor: float = 1.0,
        ambient_c: float = AMBIENT_C,
        payload_kg: float = 0.0,
    ) -> PlannedTrip:
        """The fastest trip; `OffGraph` when a point is off the map, `PlanError` when none
        (with the filters named when they are why). `ambient_c` and `payload_kg`: see index."""
        net = self.net
        filters = filters or ChargerFilter()
        req = TripRequest(
            origin=net.snap_latlon(*origin, max_m=SNAP_M),
            destination=net.snap_latlon(*destination, max_m=SNAP_M),
            start_soc=start_soc,
            min_arrival_soc=min_arrival_soc,
            min_charger_soc=min_charger_soc,
            max_charge_soc=max_charge_soc,
            no_charge=frozenset(s.node for s in self.sites if not filters.matches(s)),
            stop_penalty_s=FEWER_STOPS_PENALTY_S if prefer_fewer_stops else 0.0,
        )
        index = self.index(model, energy_factor, ambient_c, payload_kg)
        plan = self._plan(index, req, filters)
        others = alternatives(index, req, plan, alternatives_within) if alternatives_within else []
        return replace(
            self._drawn(index, plan, req),
            alternatives=tuple(self._drawn(index, p, req) for p in others),
        )

    def _drawn(self, index: SiteIndex, plan: Plan, req: TripRequest) -> PlannedTrip:
        g = self.graph
        stops = tuple((float(g.lat[s.site.node]), float(g.lon[s.site.node])) for s in plan.stops)
        route = trip_route(index, plan, req.min_charger_soc, req.min_arrival_soc)
        ends = (0, *route.targets)
        lines = tuple(
            tuple((float(g.lat[n]), float(g.lon[n])) for n in route.nodes[a : b + 1])
            for a, b in pairwise(ends)
        )
        return PlannedTrip(plan, stops, lines, route=route)

    def _plan(self, index: SiteIndex, req: TripRequest, filters: ChargerFilter) -> Plan:
        try:
            return plan_trip(index, req)
        except NoFeasiblePlan as e:
            if not req.no_charge:
                raise
            kept = len(self.sites) - len(req.no_charge)
            why = (
                f"no plan with the charger filters ({filters.describe()}; {kept} of "
                f"{len(self.sites)} chargers match): {e}"
            )
            try:  # would the trip work without them? Then the filters are the reason
                plan_trip(index, replace(req, no_charge=frozenset()))
            except NoFeasiblePlan:
                raise NoFeasiblePlan(why) from e
            raise NoFeasiblePlan(f"{why}; without the filters the trip can be made") from e


def _kept_hierarchy(
    directory: Path, net: RoadNetwork, model: VehicleModel, energy: FloatArray
) -> Hierarchy:
    """The hierarchy `SiteIndex` would build, from `directory` when a good file is there (built
    and saved otherwise). A file that cannot be read (cut short, damaged, another format) or
    whose arrays do not fit this graph is never used: it is deleted and rebuilt."""
    costs = route_costs(net, model, energy, ROUTE_WEIGHTS)
    values = np.stack([net.time_s, net.length_m, energy], axis=1)
    key = fingerprint(net, costs, values)
    kept = [p for p in directory.glob(f"*{key}*") if ".tmp" not in p.name]
    started = time.process_time()
    if kept:
        try:
            h = cached_hierarchy(directory, net, costs, values)
            _check_fits(h, net, costs)
        except Exception as exc:  # whatever is wrong with a cache file: rebuild it
            log.warning(
                "planner: the cached hierarchy %s is unreadable or stale (%s); rebuilding it",
                kept[0], exc,
            )  # fmt: skip
            for p in kept:
                p.unlink(missing_ok=True)
        else:
            for p in kept:
                os.utime(p)  # recently used: kept by _prune
            log.info(
                "planner: loaded the contraction hierarchy of %s nodes from %s in %.1f s CPU",
                f"{net.n_nodes:,}", kept[0], time.process_time() - started,
            )  # fmt: skip
            return h
    h = cached_hierarchy(directory, net, costs, values)
    log.info(
        "planner: built the contraction hierarchy of %s nodes in %.1f s CPU, kept in %s",
        f"{net.n_nodes:,}", time.process_time() - started, directory,
    )  # fmt: skip
    _prune(directory, CACHE_FILES)
    return h


def _check_fits(h: Hierarchy, net: RoadNetwork, costs: FloatArray) -> None:
    """ValueError unless the hierarchy fits the graph and its route costs (what `SiteIndex`
    relies on: its node count, one cost row per route, edges between the graph's nodes)."""
    m = len(h.src)
    if h.n != net.n_nodes or h.cost.shape != (costs.shape[0], m) or m < len(net.src):
        raise ValueError(f"made for another graph ({h.n:,} nodes, {m:,} edges)")
    if len(h.dst) != m or int(h.src.max()) >= h.n or int(h.dst.max()) >= h.n:
        raise ValueError("edges out of the graph's range")


def _prune(directory: Path, keep: int) -> None:
    """Delete all but the `keep` most recently used hierarchy files."""
    files = sorted(
        (p for p in directory.iterdir() if p.is_file() and ".tmp" not in p.name),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for p in files[keep:]:
        log.info("planner: removing the least recently used hierarchy file %s", p)
        p.unlink(missing_ok=True)


@lru_cache(maxsize=4)
def planner_for(roads: Path, chargers: Path | None, cache_dir: Path | None = None) -> TripPlanner:
    """The planner of a server's settings, loaded on first use and kept (the map and the
    charger file do not change while it runs)."""
    from volta.planner.charger_files import load_chargers

    stations = load_chargers(chargers).stations if chargers is not None else ()
    return TripPlanner(load_roads(roads), stations, roads, cache_dir)


def server_planner(settings: Settings) -> TripPlanner:
    """The planner of a server (`VOLTA_ROADS` set), its hierarchies kept in its data dir."""
    if settings.roads is None:
        raise ValueError("no road network configured (VOLTA_ROADS)")
    return planner_for(settings.roads, settings.chargers, settings.data_dir / CACHE_DIR)
