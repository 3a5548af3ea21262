"""A planned trip under way: will the car still arrive with the SoC the plan said?

`TripRoute` is the plan laid on the road network: every node of the route in order, the route
positions of its stops and destination ("targets") with the SoC the plan expects on arriving
there and the minimum allowed, and the energy the car's calibrated model spends from the start
to each node. `check` takes where the car is and its SoC now (the twin's), finds how far along
the route it is (never backwards: a route can pass a node twice) and predicts its SoC at the
next target from the energy of the road left to it.

Pure: no I/O, no clock. The adapter (`planner.watch`) reads the twin, stores the trip, replans
and raises the alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from volta.planner.network import FloatArray, IntArray, RoadNetwork
from volta.planner.plan import Plan
from volta.planner.search import SiteIndex

__all__ = ["OFF_ROUTE_M", "SOC_TOLERANCE_PP", "Check", "TripRoute", "check", "trip_route"]

OFF_ROUTE_M = 150.0  # farther than this from every route node ahead: the car left the route
SOC_TOLERANCE_PP = 3.0  # arriving this many points under the plan's SoC is "not as planned"


@dataclass(frozen=True, slots=True)
class TripRoute:
    """A plan on the road: nodes in order, targets (stops, then the destination) by position."""

    nodes: IntArray
    energy_to_wh: FloatArray  # energy from the start to each node along the route
    targets: tuple[int, ...]  # route positions of the stops and the destination
    target_names: tuple[str, ...]
    planned_soc: tuple[float, ...]  # SoC the plan arrives with at each target
    min_soc: tuple[float, ...]  # the least allowed there (charger / arrival minimum)
    departure_soc: tuple[float, ...]  # SoC the plan leaves each stop with (targets[:-1])
    full_wh: float


@dataclass(frozen=True, slots=True)
class Check:
    """Where the car is on its trip and what it will arrive with at its next target."""

    position: int  # route position reached
    off_route_m: float  # distance to the nearest route node ahead (> OFF_ROUTE_M: off route)
    target: int  # index into the targets
    target_name: str
    predicted_soc: float
    planned_soc: float
    min_soc: float
    arrived: bool  # at the destination

    @property
    def off_route(self) -> bool:
        return self.off_route_m > OFF_ROUTE_M

    @property
    def as_planned(self) -> bool:
        return not self.off_route and self.predicted_soc >= self.planned_soc - SOC_TOLERANCE_PP

    @property
    def below_minimum(self) -> bool:
        return self.predicted_soc < self.min_soc

    def message(self) -> str:
        """What the driver is told when the check fails."""
        if self.off_route:
            return f"off the planned route ({self.off_route_m:,.0f} m from it)"
        return (
            f"will reach {self.target_name} with {self.predicted_soc:.0f} % instead of the "
            f"planned {self.planned_soc:.0f} %"
            + (f" (minimum {self.min_soc:.0f} %)" if self.below_minimum else "")
        )


def trip_route(
    index: SiteIndex, plan: Plan, min_charger_soc: float, min_arrival_soc: float
) -> TripRoute:
    """Lay a plan from `plan_trip(index, …)` on its road network."""
    net = index.net
    nodes: list[int] = [plan.legs[0].from_node]
    targets: list[int] = []
    for leg in plan.legs:
        for a, b, route in leg.via:
            _, pred = net.tree(a, False, math.inf, index.routes[route])
            nodes.extend(int(n) for n in net.path(pred, b)[1:])
        targets.append(len(nodes) - 1)
    arr = np.asarray(nodes, dtype=np.int64)
    edges = net.edge_index(arr[:-1], arr[1:]) if len(arr) > 1 else np.zeros(0, dtype=np.int64)
    energy = np.concatenate(([0.0], np.cumsum(index.energy_wh[edges])))
    names = tuple(s.site.name or f"stop {i + 1}" for i, s in enumerate(plan.stops))
    return TripRoute(
        nodes=arr,
        energy_to_wh=energy,
        targets=tuple(targets),
        target_names=(*names, "the destination"),
        planned_soc=tuple(leg.arrival_soc for leg in plan.legs),
        min_soc=(*([min_charger_soc] * len(plan.stops)), min_arrival_soc),
        departure_soc=tuple(s.departure_soc for s in plan.stops),
        full_wh=index.full_wh,
    )


def check(net: RoadNetwork, route: TripRoute, xy: tuple[float, float], soc: float,
          reached: int = 0) -> Check:  # fmt: skip
    """The car at plane point `xy` with `soc` %, having reached route position `reached`
    before: its position now and its predicted SoC at the next target."""
    ahead = route.nodes[reached:]
    d2 = (net.x_m[ahead] - xy[0]) ** 2 + (net.y_m[ahead] - xy[1]) ** 2
    pos = reached + int(np.argmin(d2))
    off = math.sqrt(float(d2[pos - reached]))
    k = next((i for i, t in enumerate(route.targets) if t >= pos), len(route.targets) - 1)
    if pos == route.targets[k] and k < len(route.targets) - 1:
        # at a stop: judged on the next leg, from the SoC it leaves with (charging now)
        k += 1
        soc = max(soc, route.departure_soc[k - 1])
    used = route.energy_to_wh[route.targets[k]] - route.energy_to_wh[pos]
    predicted = soc - used / route.full_wh * 100.0
    return Check(
        position=pos,
        off_route_m=off,
        target=k,
        target_name=route.target_names[k],
        predicted_soc=predicted,
        planned_soc=route.planned_soc[k],
        min_soc=route.min_soc[k],
        arrived=pos == route.targets[-1] and off <= OFF_ROUTE_M,
    )
