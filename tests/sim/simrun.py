"""Shared, cached simulator runs for the fleet tests (one Helsinki graph, one small fleet-day)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from volta.geo.graph import RoadGraph
from volta.geo.osm import load_roads
from volta.sim.faults import FaultRates
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.signals import Telemetry
from volta.sim.trips import Driver
from volta.sim.truth import Truth
from volta.wire import Batch

START_MS = 1_767_571_200_000  # 2026-01-05T00:00Z, a Monday
LEAKY = 0  # vehicle given a fast tyre leak at the start
LOW = 1  # vehicle starting nearly empty: must stop at a (DC) charger


@cache
def helsinki() -> RoadGraph:
    return load_roads()


@dataclass
class Day:
    fleet: Fleet
    truth: Truth
    batches: list[Batch] = field(default_factory=list)
    sent_ms: list[int] = field(default_factory=list)  # when each batch left the car


def simulate(
    vehicles: int, seconds: int, seed: int, gaps: float = 0.2, prepare: bool = False
) -> Day:
    """Run a fleet; with `prepare`, vehicle LEAKY gets a tyre leak and vehicle LOW an empty pack."""
    fleet = Fleet(
        FleetConfig(vehicles=vehicles, seed=seed, start_ms=START_MS, faults=FaultRates(0.0, 0.0)),
        helsinki(),
    )
    if prepare:
        fleet.state.faults.start_tyre_leak(LEAKY, 0, 120.0, START_MS)
        pack, j = fleet.state.pack_of(LOW)
        pack.energy_kwh[j] = 0.08 * pack.capacity_kwh[j]
        pack.soc_pct[j] = 8.0
        fleet.state.drivers[LOW] = _no_home_charger(fleet, LOW)
    tel = Telemetry(fleet.vins, seed, gap_per_hour=gaps)
    day = Day(fleet=fleet, truth=Truth())
    while fleet.t < seconds:
        out = tel.batches(fleet.step(seconds))
        day.batches.extend(out)
        day.sent_ms.extend([fleet.start_ms + fleet.t * 1000] * len(out))
    rest = tel.flush()
    day.batches.extend(rest)
    day.sent_ms.extend([fleet.start_ms + fleet.t * 1000] * len(rest))
    day.truth = fleet.finish()
    return day


def _no_home_charger(fleet: Fleet, v: int) -> Driver:
    from dataclasses import replace

    fleet.state.sessions.pop(v, None)
    fleet.state.charging[v] = fleet.state.cable[v] = False
    return replace(fleet.state.drivers[v], home_charger_kw=0.0, public_below_soc=30.0)


@cache
def fleet_day() -> Day:
    """20 vehicles, one Monday, with a leaking tyre and a nearly empty car."""
    return simulate(20, 86_400, seed=3, prepare=True)
