"""A batch on an MQTT topic whose VIN level is not a VIN: quarantined as invalid_vin with its
reason, acked (handled, not to be redelivered), nothing stored. Through the real Mosquitto."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from volta.config import Settings
from volta.mqtt import BrokerAddress, end_session
from volta.platform import Platform

from .conftest import SPEED, VIN, message

pytestmark = pytest.mark.services

HOST, PORT = "127.0.0.1", 1883


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    try:
        socket.create_connection((HOST, PORT), timeout=1.0).close()
    except OSError:
        pytest.skip(f"no MQTT broker listens on {HOST}:{PORT} (make services starts one)")
    run = uuid.uuid4().hex[:12]
    settings = Settings(
        data_dir=tmp_path,
        mqtt=f"mqtt://{HOST}:{PORT}",
        mqtt_topic_prefix=f"volta-test-{run}/v1",
        mqtt_client_id=f"volta-test-gw-{run}",
    )
    p = Platform(settings)
    p.registry.add_vehicle(VIN, "Model V")
    p.start()
    assert p.mqtt is not None and p.mqtt.connected
    yield p
    p.stop()
    end_session(BrokerAddress(HOST, PORT, tls=False), settings.mqtt_client_id)


@pytest.mark.parametrize("level", ["not-a-vin", "JHMZZ1A1XRV00000I", "jhmzz1a1xrv000001"])
def test_batch_on_a_topic_without_a_valid_vin_is_quarantined_and_acked(
    platform: Platform, level: str
) -> None:
    acked: set[int] = set()
    lock = threading.Lock()

    def on_publish(client: mqtt.Client, u: object, mid: int, rc: object, p: object) -> None:
        with lock:
            acked.add(mid)

    pub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
    )
    pub.on_publish = on_publish
    pub.connect(HOST, PORT)
    pub.loop_start()
    try:
        prefix = platform.settings.mqtt_topic_prefix
        body = message([[0, SPEED, 10.0]], ts=platform.gateway.clock() - 5_000)
        info = pub.publish(f"{prefix}/{level}/telemetry", body, qos=1)
        assert wait_for(lambda: platform.mqtt is not None and platform.mqtt.acked == 1)
        assert wait_for(lambda: info.mid in acked)
    finally:
        pub.disconnect()
        pub.loop_stop()

    (record,) = [q.record for q in platform.store.quarantined(limit=10)]
    assert record.code == "invalid_vin"
    assert "is not a valid VIN" in record.reason and level in record.reason
    assert record.raw == body
    assert platform.store.stats().samples == 0
