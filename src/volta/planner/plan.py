"""What a trip plan is: the request, its legs and charging stops, and why none could be made.

Pure types; the searches are `planner.search` (fast, over a charger graph) and `planner.exact`
(the baseline, over every road node).
"""

from __future__ import annotations

from dataclasses import dataclass

from volta.errors import VoltaError

__all__ = ["Leg", "NoFeasiblePlan", "NoRoute", "Plan", "PlanError", "Site", "Stop", "TripRequest"]


class PlanError(VoltaError):
    """No plan exists for this request; the message says why (change the request)."""


class NoRoute(PlanError):
    """The destination cannot be reached by road from the origin."""


class NoFeasiblePlan(PlanError):
    """The roads connect, but no sequence of chargers keeps the battery above the minimums."""


@dataclass(frozen=True, slots=True)
class Site:
    """A DC charger on the road network."""

    node: int
    power_kw: float
    name: str = ""
    connectors: tuple[str, ...] = ()  # as its charger file names them (planner.filters)
    network: str = ""


@dataclass(frozen=True, slots=True)
class TripRequest:
    """SoC values in %. Charging decisions are taken on a grid of `soc_step` % (the search
    charges to a multiple of it, or not at all)."""

    origin: int
    destination: int
    start_soc: float
    min_arrival_soc: float = 10.0
    min_charger_soc: float = 10.0
    max_charge_soc: float = 100.0
    soc_step: float = 1.0
    # charger nodes the driver's filters refuse: the car may pass them, never charge there
    no_charge: frozenset[int] = frozenset()
    # "prefer fewer stops": each stop costs this much extra in the search (not in the answer),
    # so a plan with a stop less wins unless it is slower by more than this per stop saved
    stop_penalty_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Leg:
    """Driving from one node to the next stop (or the destination)."""

    from_node: int
    to_node: int
    distance_m: float
    drive_s: float
    energy_wh: float
    departure_soc: float
    arrival_soc: float
    # The stop-to-stop drives it is made of (from node, to node, route: the index into the
    # charger graph's candidate paths), passing chargers it does not stop at: its geometry.
    via: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Stop:
    """A charging stop: arrive, charge for `charge_s`, leave."""

    site: Site
    km: float  # from the origin
    arrival_soc: float
    charge_s: float
    departure_soc: float


@dataclass(frozen=True, slots=True)
class Plan:
    """A trip: legs alternate with stops (len(legs) == len(stops) + 1)."""

    legs: tuple[Leg, ...]
    stops: tuple[Stop, ...]
    profile: tuple[tuple[float, float], ...]  # (km from the origin, SoC %) at every leg end

    @property
    def drive_s(self) -> float:
        return sum(leg.drive_s for leg in self.legs)

    @property
    def charge_s(self) -> float:
        return sum(stop.charge_s for stop in self.stops)

    @property
    def total_s(self) -> float:
        return self.drive_s + self.charge_s

    @property
    def distance_m(self) -> float:
        return sum(leg.distance_m for leg in self.legs)

    @property
    def energy_wh(self) -> float:
        return sum(leg.energy_wh for leg in self.legs)

    @property
    def arrival_soc(self) -> float:
        return self.legs[-1].arrival_soc


def profile_of(legs: list[Leg], stops: list[Stop]) -> tuple[tuple[float, float], ...]:
    """SoC over distance: the start, each leg's arrival and each stop's departure."""
    out = [(0.0, legs[0].departure_soc)]
    km = 0.0
    for i, leg in enumerate(legs):
        km += leg.distance_m / 1000.0
        out.append((km, leg.arrival_soc))
        if i < len(stops):
            out.append((km, stops[i].departure_soc))
    return tuple(out)
