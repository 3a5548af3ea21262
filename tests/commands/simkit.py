"""A small simulated fleet driven window by window, for the end-to-end command tests."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from volta.clock import wall_ms
from volta.commands.wire import CommandAck, CommandMessage
from volta.geo.graph import RoadGraph
from volta.geo.osm import load_roads
from volta.sim.commands import serve_commands
from volta.sim.faults import FaultRates
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.senders import Sender
from volta.sim.signals import Telemetry


@cache
def helsinki() -> RoadGraph:
    return load_roads()


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def fleet_config(vehicles: int = 2, seed: int = 7, behind_s: int = 3600) -> FleetConfig:
    """A fleet whose simulated clock starts `behind_s` before now (the gateway refuses the
    future), one-minute windows, no random faults."""
    return FleetConfig(
        vehicles=vehicles,
        seed=seed,
        start_ms=wall_ms() - behind_s * 1000,
        window_s=60,
        faults=FaultRates(0.0, 0.0),
    )


@dataclass
class Given:
    """A link that hands over commands already taken from a sender, acking through it."""

    messages: list[CommandMessage]
    acks_to: Callable[[str, CommandAck], None]

    def take_commands(self) -> list[CommandMessage]:
        out, self.messages = self.messages, []
        return out

    def ack(self, vin: str, ack: CommandAck) -> None:
        self.acks_to(vin, ack)


@dataclass
class SimCar:
    fleet: Fleet
    tel: Telemetry
    sender: Sender
    seen: OrderedDict[str, CommandAck] = field(default_factory=OrderedDict)

    @classmethod
    def start(cls, config: FleetConfig, sender: Sender) -> SimCar:
        fleet = Fleet(config, helsinki())
        return cls(fleet, Telemetry(fleet.vins, config.seed, gap_per_hour=0.0), sender)

    def run(self, seconds: int) -> None:
        """Advance and send `seconds` of simulated time."""
        end = self.fleet.t + seconds
        while self.fleet.t < end:
            out = self.tel.batches(self.fleet.step(end))
            if out:
                self.sender.send(out)

    def serve(
        self, messages: list[CommandMessage], ack: Callable[[str, CommandAck], None]
    ) -> list[CommandAck]:
        return serve_commands(self.fleet, self.tel, Given(messages, ack), seen=self.seen)
