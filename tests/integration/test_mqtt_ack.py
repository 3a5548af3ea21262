"""The PUBACK contract, with the real broker and a stand-in gateway: no ack when the store
failed (the broker delivers again after the transport reconnects), an ack once stored."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from volta.ingest.commit import IngestResult
from volta.ingest.mqtt import MqttTransport

from .conftest import BROKER_URL, VIN, MqttNames, Publisher, batch, wait_for

pytestmark = pytest.mark.services


class FlakyStore:
    """Answers `store_unavailable` to the first `failures` deliveries, then stores."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.deliveries: list[bytes] = []
        self._lock = threading.Lock()

    def submit(self, payload: bytes, vin: str, on_done: Callable[[IngestResult], None]) -> None:
        with self._lock:
            self.deliveries.append(payload)
            failed = len(self.deliveries) <= self.failures
        result = (
            IngestResult(vin, 1, 0, [], False, "store_unavailable", "disk full")
            if failed
            else IngestResult(vin, 1, 1, [], False)
        )
        # Answered from another thread, as the gateway's committer does.
        threading.Thread(target=on_done, args=(result,)).start()


def transport(gateway: FlakyStore, names: MqttNames) -> MqttTransport:
    t = MqttTransport(
        gateway,
        url=BROKER_URL,
        topic_prefix=names.prefix,
        client_id=names.client_id,
        retry_delay_s=0.2,
    )
    t.start()
    assert t.connected
    return t


def test_unstored_batch_is_not_acked_and_comes_again(
    mqtt_names: MqttNames, publisher: Publisher
) -> None:
    gateway = FlakyStore(failures=1)
    first = transport(gateway, mqtt_names)
    try:
        publisher.publish(VIN, batch([[0, "Vehicle.Speed", 1.0]]))
        assert wait_for(lambda: first.acked == 1, timeout_s=10)
        assert len(gateway.deliveries) == 2  # once refused, once more after the reconnect
        assert gateway.deliveries[0] == gateway.deliveries[1]
        assert first.unacked_retry == 1
    finally:
        first.stop()

    # Acknowledged for good: a new session under the same client id gets nothing again.
    later = FlakyStore(failures=0)
    second = transport(later, mqtt_names)
    try:
        time.sleep(0.5)
        assert later.deliveries == []
    finally:
        second.stop()
