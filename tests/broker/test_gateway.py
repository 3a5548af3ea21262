"""Defence in depth: the gateway, logged in to a private broker with its own credentials,
checks every batch again, whatever the broker let through."""

from __future__ import annotations

import logging
import os
import signal
import uuid
from collections.abc import Iterator

import pytest

from volta.clock import wall_ms
from volta.config import Settings
from volta.platform import Platform

from .conftest import GW, HOST, PREFIX, A, B, Broker, batch, wait_for

pytestmark = pytest.mark.services


def duplicates(platform: Platform) -> float:
    value = platform.metrics_registry.get_sample_value(
        "volta_ingest_batches_total", {"result": "duplicate"}
    )
    return value or 0.0


def speed(platform: Platform, vin: str) -> float | None:
    sid = platform.catalog.get("Vehicle.Speed").id
    value = platform.twin.get(vin).get(sid)
    return value.num if value else None


@pytest.fixture
def platform(broker: Broker) -> Iterator[Platform]:
    settings = Settings(
        data_dir=broker.data_dir,
        mqtt=broker.url,  # mqtt://volta-gateway:<secret>@127.0.0.1:<port>
        mqtt_topic_prefix=PREFIX,
        mqtt_client_id=f"volta-test-gw-{uuid.uuid4().hex[:8]}",
    )
    p = Platform(settings)
    p.start()
    assert p.mqtt is not None and p.mqtt.connected, "the gateway did not log in"
    yield p
    p.stop()


def test_the_gateway_logs_in_with_its_credentials_and_stores_a_vehicles_batch(
    broker: Broker, platform: Platform
) -> None:
    vehicle = broker.vehicle(A)
    assert not vehicle.publish(f"{PREFIX}/{A}/telemetry", batch(A, 1, speed=42.0)).is_failure
    assert wait_for(lambda: platform.store.stats().batches == 1)
    assert wait_for(lambda: speed(platform, A) == 42.0)


def test_a_batch_naming_another_vin_is_refused_by_the_gateway_with_its_reason(
    broker: Broker, platform: Platform
) -> None:
    # The broker lets A publish on its own topic whatever the payload says; the gateway
    # compares the payload's VIN with the topic's, which the broker vouches for.
    vehicle = broker.vehicle(A)
    assert not vehicle.publish(f"{PREFIX}/{A}/telemetry", batch(B, 1)).is_failure
    assert wait_for(lambda: platform.mqtt is not None and platform.mqtt.acked == 1)
    [record] = [q.record for q in platform.store.quarantined()]
    assert record.code == "vin_mismatch"
    assert B in record.reason and A in record.reason
    assert platform.store.stats().samples == 0


def test_a_foreign_topic_batch_that_slips_past_a_misconfigured_broker_is_refused(
    broker: Broker, platform: Platform
) -> None:
    # Simulate a broken ACL: every user may do everything. The gateway must still refuse A's
    # batch on B's topic, because the payload (A's own data) names A, not the topic's B.
    (broker.out_dir / "acl").write_text("pattern readwrite #\n")
    os.kill(broker.pid, signal.SIGHUP)
    vehicle = broker.vehicle(A)
    assert wait_for(lambda: not vehicle.publish("probe", b"").is_failure), "ACL not reloaded"

    assert not vehicle.publish(f"{PREFIX}/{B}/telemetry", batch(A, 1)).is_failure
    assert wait_for(lambda: platform.mqtt is not None and platform.mqtt.acked == 1)
    [record] = [q.record for q in platform.store.quarantined()]
    assert (record.code, record.vin) == ("vin_mismatch", B)
    assert platform.store.stats().samples == 0


def test_a_replayed_old_batch_is_a_duplicate_not_new_data(
    broker: Broker, platform: Platform
) -> None:
    vehicle = broker.vehicle(A)
    topic = f"{PREFIX}/{A}/telemetry"
    t0 = wall_ms() - 60_000
    first, second = batch(A, 1, speed=10.0, ts=t0), batch(A, 2, speed=20.0, ts=t0 + 1000)
    for body in (first, second, first):  # the third is a captured old batch, sent again
        assert not vehicle.publish(topic, body).is_failure
    assert wait_for(lambda: platform.mqtt is not None and platform.mqtt.acked == 3)
    assert platform.store.stats().batches == 2
    assert platform.store.stats().samples == 2
    assert duplicates(platform) == 1
    # The replay did not roll the live state back to the old value.
    assert speed(platform, A) == 20.0


def test_a_gateway_with_a_wrong_secret_is_refused_and_the_secret_is_not_logged(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "mq_not-the-gateway-secret"
    settings = Settings(
        data_dir=broker.data_dir,
        mqtt=f"mqtt://{GW}:{wrong}@{HOST}:{broker.port}",
        mqtt_topic_prefix=PREFIX,
        mqtt_client_id=f"volta-test-gw-{uuid.uuid4().hex[:8]}",
    )
    p = Platform(settings)
    assert p.mqtt is not None
    with caplog.at_level(logging.DEBUG):
        try:
            p.mqtt.start(wait_s=1.0)
            assert not p.mqtt.connected
        finally:
            p.mqtt.stop()
            p.stop()
    assert "Not authorized" in caplog.text
    assert wrong not in caplog.text and broker.passwords[GW] not in caplog.text
