"""A paced run (the demo) answers a remote command within seconds, whatever its cars are
doing: at night, with every car asleep, too."""

from __future__ import annotations

from volta.clock import wall_ms
from volta.commands.wire import CommandAck, CommandMessage
from volta.sim.fleet import FleetConfig, roster
from volta.sim.run import run
from volta.sim.senders import CallableSender
from volta.wire import Batch

NIGHT = 1_767_661_200_000  # 2026-01-06 01:00 UTC, 03:00 in Helsinki
ISSUE_AT_S = 600.0  # wall seconds into the run


class FakeTime:
    """The wall clock of the run: `sleep` moves it on, nothing really waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Link:
    """One command, waiting from ISSUE_AT_S on; records when its ack came."""

    def __init__(self, time_: FakeTime, vin: str) -> None:
        self.time = time_
        self.vin = vin
        self.acked_at: float | None = None
        self.wall_ms = wall_ms()

    def take_commands(self) -> list[CommandMessage]:
        if self.time.now < ISSUE_AT_S or self.acked_at is not None:
            return []
        return [
            CommandMessage(
                id="c1",
                vin=self.vin,
                type="flash_lights",
                issued_ms=self.wall_ms,
                expires_ms=self.wall_ms + 300_000,
            )
        ]

    def ack(self, vin: str, ack: CommandAck) -> None:
        if self.acked_at is None:
            self.acked_at = self.time.now


def test_a_command_at_night_is_answered_within_two_seconds() -> None:
    config = FleetConfig(vehicles=3, seed=2, start_ms=NIGHT, window_s=60)
    fake = FakeTime()
    link = Link(fake, roster(config)[0][0])
    sent: list[Batch] = []
    run(
        config,
        3600,
        CallableSender(deliver_many=lambda payloads: [None] * len(payloads)),
        batch_s=1,
        speedup=1.0,
        clock=fake.clock,
        sleep=fake.sleep,
        commands=link,
        on_batches=sent.extend,
    )
    assert link.acked_at is not None
    assert link.acked_at - ISSUE_AT_S <= 2.0
    # the flash shows in the car's telemetry within the next window (a minute)
    flashed = [b for b in sent if b.vin == link.vin and (0, FLASH, True) in b.samples]
    assert flashed and flashed[0].ts - NIGHT <= (ISSUE_AT_S + 60) * 1000


FLASH = "Vehicle.Body.Lights.Hazard.IsSignaling"
