"""Trip planning on a server's road network: the OSM extract the platform runs on
(`VOLTA_ROADS`), its charging stations plus an optional charger file (`VOLTA_CHARGERS`), one
charger graph per vehicle model built on first use; points given as latitude/longitude.

The pure search is `planner.search`; this module turns places into road nodes and the plan's
legs back into lines on the map.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from volta.geo.graph import RoadGraph
from volta.geo.osm import load_roads
from volta.planner.alternatives import alternatives
from volta.planner.chargers import Station
from volta.planner.energy import edge_energy_wh
from volta.planner.filters import ChargerFilter
from volta.planner.live import TripRoute, trip_route
from volta.planner.network import OffGraph, RoadNetwork
from volta.planner.plan import NoFeasiblePlan, Plan, Site, TripRequest
from volta.planner.search import SiteIndex, plan_trip
from volta.vehicles.model import VehicleModel

__all__ = ["FEWER_STOPS_PENALTY_S", "SNAP_M", "PlannedTrip", "TripPlanner", "planner_for"]

SNAP_M = 500.0  # a point farther than this from every road node is refused (OffGraph)
# "prefer fewer stops": a stop is worth this much driving time to avoid (ABRP-style penalty)
FEWER_STOPS_PENALTY_S = 15 * 60.0

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

    def __init__(self, graph: RoadGraph, stations: Iterable[Station] = ()) -> None:
        self.graph = graph
        self.net = RoadNetwork.from_road_graph(graph)
        best: dict[int, Site] = {}
        for c in graph.chargers:
            self._keep(best, Site(c.node, c.power_kw, f"OSM charging station {c.osm_id}"))
        self.unsnapped: list[str] = []  # stations of the file too far from every road
        for s in stations:
            try:
                node = self.net.snap_latlon(s.lat, s.lon, SNAP_M)
            except OffGraph:
                self.unsnapped.append(s.station_id)
                continue
            site = Site(node, s.power_kw, s.name or s.station_id, s.connectors, s.network)
            self._keep(best, site)
        self.sites = sorted(best.values(), key=lambda site: site.node)
        self._indexes: dict[tuple[VehicleModel, float], SiteIndex] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keep(best: dict[int, Site], site: Site) -> None:
        # two stations on one node: the faster one is the stop a driver would pick
        if site.node not in best or best[site.node].power_kw < site.power_kw:
            best[site.node] = site

    def index(self, model: VehicleModel, energy_factor: float = 1.0) -> SiteIndex:
        """The charger graph for a model whose energy use is `energy_factor` times its
        physics' (a car's calibration); built once per model and factor (rounded to 1 %, so
        cars of a model share a few): the costs of every charger pair."""
        factor = round(energy_factor, 2)
        with self._lock:
            index = self._indexes.get((model, factor))
            if index is None:
                net = self.net
                energy = edge_energy_wh(model, net.speed_mps, net.grade, net.length_m) * factor
                index = SiteIndex(net, model, self.sites, energy)
                self._indexes[(model, factor)] = index
            return index

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
    ) -> PlannedTrip:
        """The fastest trip; `OffGraph` when a point is off the map, `PlanError` when none
        (with the filters named when they are why)."""
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
        index = self.index(model, energy_factor)
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


@lru_cache(maxsize=4)
def planner_for(roads: Path, chargers: Path | None) -> TripPlanner:
    """The planner of a server's settings, loaded on first use and kept (the map and the
    charger file do not change while it runs)."""
    from volta.planner.charger_files import load_chargers

    stations = load_chargers(chargers).stations if chargers is not None else ()
    return TripPlanner(load_roads(roads), stations)
