"""MQTT through the real Mosquitto: publish with a real client, read back through the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from volta.api import create_app
from volta.clock import wall_ms
from volta.platform import Platform
from volta.registry import Role

from .conftest import (
    BROKER_URL,
    SOC,
    SPEED,
    VIN,
    MqttNames,
    Publisher,
    batch,
    bearer,
    make_settings,
    wait_for,
)

pytestmark = pytest.mark.services


@pytest.fixture
def platform(tmp_path: Path, mqtt_names: MqttNames) -> Iterator[Platform]:
    settings = make_settings(
        tmp_path,
        mqtt=BROKER_URL,
        mqtt_topic_prefix=mqtt_names.prefix,
        mqtt_client_id=mqtt_names.client_id,
    )
    p = Platform(settings)
    p.registry.add_vehicle(VIN, "Model V")
    p.start()
    assert p.mqtt is not None and p.mqtt.connected
    yield p
    p.stop()


def test_batches_published_over_mqtt_are_read_back_through_the_api(
    platform: Platform, publisher: Publisher
) -> None:
    t0 = wall_ms() - 30_000
    infos = [
        publisher.publish(
            VIN, batch([[0, SPEED, float(i)], [0, SOC, 50.0 + i]], seq=i + 1, ts=t0 + i * 1000)
        )
        for i in range(20)
    ]
    assert wait_for(lambda: all(publisher.is_acked(i.mid) for i in infos))
    assert wait_for(lambda: platform.store.stats().batches == 20)
    assert platform.mqtt is not None
    assert wait_for(lambda: platform.mqtt is not None and platform.mqtt.acked == 20)

    operator = platform.registry.issue_token(Role.OPERATOR).token
    with TestClient(create_app(platform)) as client:
        state = client.get(f"/v1/vehicles/{VIN}/state", headers=bearer(operator)).json()
        assert state["signals"][SPEED]["value"] == 19.0
        assert state["signals"][SOC]["value"] == 69.0
        url = f"/v1/vehicles/{VIN}/history?signals={SPEED}&start={t0}&end={t0 + 20_000}"
        series = client.get(url, headers=bearer(operator)).json()["series"]
        assert series[0]["value"] == [float(i) for i in range(20)]
        health = client.get("/v1/ingest/health", headers=bearer(operator)).json()
        assert health["mqtt"]["connected"] is True and health["mqtt"]["acked"] == 20


def test_resent_batch_over_mqtt_is_stored_once(platform: Platform, publisher: Publisher) -> None:
    body = batch([[0, SPEED, 1.0]], seq=5)
    for _ in range(3):
        publisher.publish(VIN, body)
    assert wait_for(lambda: platform.mqtt is not None and platform.mqtt.acked == 3)
    assert platform.store.stats().samples == 1


def test_bad_messages_over_mqtt_are_quarantined_and_acknowledged(
    platform: Platform, publisher: Publisher
) -> None:
    unregistered = "JHMZZ1A1XRV000099"
    publisher.publish(unregistered, batch([[0, SPEED, 1.0]], vin=unregistered))
    publisher.publish(VIN, b"\x00 not a batch")
    publisher.publish("NOT-A-VIN", batch([[0, SPEED, 1.0]]))
    # Acknowledged (not redelivered forever) once their quarantine records are stored.
    assert wait_for(lambda: platform.mqtt is not None and platform.mqtt.acked == 3)
    records = {q.record.vin: q.record for q in platform.store.quarantined()}
    assert {vin: r.code for vin, r in records.items()} == {
        unregistered: "unknown_vehicle",
        VIN: "undecodable",
        "NOT-A-VIN": "invalid_vin",  # checked before the registry: the precise reason
    }
    assert records[VIN].raw == b"\x00 not a batch"
    assert platform.store.stats().samples == 0
