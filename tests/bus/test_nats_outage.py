"""The NATS bus across a server outage (a private nats-server, restarted here): publishing
never stalls the caller, the client reconnects by itself, a tap follows again."""

from __future__ import annotations

import time

import pytest

from volta.bus import Message
from volta.bus.nats_bus import NatsBus
from volta.devservices import PrivateNats
from volta.store.base import AcceptedBatch

from .test_contract import VIN, _event, eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_a_tap_gets_every_event_live_in_order(private_nats: PrivateNats) -> None:
    bus = NatsBus(private_nats.url, prefix="tap")
    got: list[int] = []
    try:
        bus.tap("telemetry.*", lambda m: got.append(m.decode(AcceptedBatch).seq))
        for seq in range(1, 201):
            bus.publish(f"telemetry.{VIN}", _event(seq))
        eventually(lambda: len(got) == 200)
        assert got == list(range(1, 201))
    finally:
        bus.close()


def test_publishing_during_an_outage_drops_fast_and_resumes_after_reconnect(
    private_nats: PrivateNats,
) -> None:
    bus = NatsBus(private_nats.url, prefix="outage", max_pending=100, timeout=2.0)
    got: list[Message] = []
    try:
        bus.tap("telemetry.*", got.append)
        private_nats.stop()
        eventually(lambda: not bus._nc.is_connected)
        started = time.monotonic()
        for seq in range(1, 1001):
            bus.publish(f"telemetry.{VIN}", _event(seq))
        # Past the pending window, events are dropped at once: no 2 s wait per event.
        assert time.monotonic() - started < 2.0
        assert bus.dropped >= 800
        private_nats.start()
        eventually(lambda: bus._nc.is_connected, timeout_s=15)
        got.clear()
        bus.publish(f"telemetry.{VIN}", _event(5000))
        eventually(lambda: any(m.decode(AcceptedBatch).seq == 5000 for m in got), 10)
    finally:
        bus.close()
