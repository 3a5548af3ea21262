"""What only the JetStream bus does: durable consumers shared by processes, positions that
survive restarts, redelivery, replay from a point in time, an unreachable server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from volta.bus import Handler, MemoryBus, Message, open_bus
from volta.bus.nats_bus import NatsBus
from volta.clock import wall_ms
from volta.config import Settings
from volta.errors import ConfigError, Unavailable
from volta.store.base import AcceptedBatch

from .natskit import NATS_URL, nats_bus
from .test_contract import VIN, _event, eventually

pytestmark = pytest.mark.services


@pytest.fixture
def bus() -> Iterator[NatsBus]:
    b = nats_bus()
    yield b
    b.close()


def _seq(m: Message) -> int:
    return m.decode(AcceptedBatch).seq


def test_processes_sharing_a_durable_each_get_a_share_and_none_twice(bus: NatsBus) -> None:
    other = NatsBus(NATS_URL, prefix=bus.prefix)  # a second process of the same processor
    got: list[list[int]] = [[], []]
    lock = threading.Lock()

    def handler(i: int) -> Handler:
        def on(m: Message) -> None:
            with lock:
                got[i].append(_seq(m))

        return on

    bus.subscribe("telemetry.*", handler(0), durable="twin")
    other.subscribe("telemetry.*", handler(1), durable="twin")
    try:
        for seq in range(200):
            bus.publish(f"telemetry.{VIN}", _event(seq))
        eventually(lambda: len(got[0]) + len(got[1]) >= 200)
        time.sleep(0.1)
        assert sorted(got[0] + got[1]) == list(range(200))
    finally:
        other.close()


def test_durable_consumer_resumes_where_it_stopped(bus: NatsBus) -> None:
    got: list[int] = []
    sub = bus.subscribe("telemetry.*", lambda m: got.append(_seq(m)), durable="drives")
    bus.publish(f"telemetry.{VIN}", _event(1))
    eventually(lambda: got == [1])
    sub.close()  # the processor stops ...
    bus.publish(f"telemetry.{VIN}", _event(2))
    bus.publish(f"telemetry.{VIN}", _event(3))
    bus.subscribe("telemetry.*", lambda m: got.append(_seq(m)), durable="drives")  # ... restarts
    eventually(lambda: got == [1, 2, 3])


def test_event_whose_handler_failed_is_delivered_again(bus: NatsBus) -> None:
    attempts: list[int] = []

    def flaky(m: Message) -> None:
        attempts.append(_seq(m))
        if len(attempts) == 1:
            raise RuntimeError("database hiccup")

    bus.subscribe("telemetry.*", flaky, durable="battery")
    bus.publish(f"telemetry.{VIN}", _event(7))
    eventually(lambda: attempts == [7, 7])
    assert bus.handler_errors == 1


def test_replay_from_a_point_in_time_rebuilds_what_was_published_after_it(bus: NatsBus) -> None:
    bus.publish(f"telemetry.{VIN}", _event(1))
    time.sleep(0.05)
    since_ms = wall_ms()
    time.sleep(0.05)
    for seq in (2, 3, 4):
        bus.publish(f"telemetry.{VIN}", _event(seq))
    bus.publish("other.subject", b"x")
    got: list[int] = []
    assert bus.replay("telemetry.*", lambda m: got.append(_seq(m)), since_ms) == 3
    assert got == [2, 3, 4]
    everything: list[int] = []
    assert bus.replay("telemetry.*", lambda m: everything.append(_seq(m)), 0) == 4


def test_a_tap_follows_stored_events_in_order(bus: NatsBus) -> None:
    followed: list[int] = []
    bus.tap("stored.*", lambda m: followed.append(_seq(m)))
    for seq in range(1, 101):
        bus.publish("stored.0", _event(seq))
    eventually(lambda: len(followed) == 100)
    assert followed == list(range(1, 101))
    replayed: list[int] = []  # and the same events are in the stream
    assert bus.replay("stored.*", lambda m: replayed.append(_seq(m)), 0) == 100
    assert replayed == followed


def test_unreachable_server_is_unavailable_quickly() -> None:
    began = time.monotonic()
    with pytest.raises(Unavailable, match=r"NATS at 127\.0\.0\.1:1 is unavailable"):
        NatsBus("nats://volta:s3cret@127.0.0.1:1", timeout=1)
    assert time.monotonic() - began < 4


def test_open_bus_picks_the_engine_from_the_bus_url(bus: NatsBus) -> None:
    assert isinstance(open_bus(Settings(bus="memory")), MemoryBus)
    other = open_bus(Settings(bus=f"{NATS_URL}?prefix={bus.prefix}"))
    try:
        assert isinstance(other, NatsBus)
        assert (other.prefix, other.stream) == (bus.prefix, bus.prefix.upper())
    finally:
        other.close()


def test_open_bus_refuses_other_engines_without_echoing_secrets() -> None:
    with pytest.raises(ConfigError, match="supported engines are 'memory', 'nats'") as err:
        open_bus(Settings(bus="kafka://volta:s3cret@broker:9092"))
    assert "s3cret" not in str(err.value)
