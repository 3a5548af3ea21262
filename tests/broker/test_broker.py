"""The generated files enforced by a real Mosquitto: each vehicle only under its own VIN."""

from __future__ import annotations

import time

import pytest
from paho.mqtt.reasoncodes import ReasonCode

from volta.wire import shard_filter, shard_of, telemetry_topic

from .conftest import GW, PREFIX, A, B, Broker, batch, wait_for

pytestmark = pytest.mark.services

NOT_AUTHORIZED = "Not authorized"


def accepted(reason: ReasonCode) -> bool:
    """PUBACK "Success" or "No matching subscribers": either way the broker took it."""
    return not reason.is_failure


def telemetry(vin: str) -> str:
    return f"{PREFIX}/{vin}/telemetry"


def settle() -> None:
    """Give a message the broker would deliver time to arrive (asserting its absence)."""
    time.sleep(0.3)


def test_a_vehicle_publishes_on_its_own_topic_and_the_gateway_receives_it(broker: Broker) -> None:
    gateway = broker.client(GW, broker.passwords[GW])
    [granted] = gateway.subscribe(f"{PREFIX}/+/telemetry")
    assert not granted.is_failure
    body = batch(A, 1)

    assert accepted(broker.vehicle(A).publish(telemetry(A), body))
    assert wait_for(lambda: gateway.received(telemetry(A)) == [body])


def test_a_vehicle_publishes_on_its_shard_and_a_worker_subscribed_to_it_receives_it(
    broker: Broker,
) -> None:
    worker = broker.client(GW, broker.passwords[GW])
    [granted] = worker.subscribe(shard_filter(shard_of(A), PREFIX))
    assert not granted.is_failure
    body = batch(A, 1)
    a = broker.vehicle(A)

    assert accepted(a.publish(telemetry_topic(A, PREFIX), body))
    assert wait_for(lambda: worker.received(telemetry_topic(A, PREFIX)) == [body])
    # Only real shard numbers, spelled as the workers subscribe to them, and only its own VIN.
    for shard in ("64", "07", "x", ""):
        assert a.publish(f"{PREFIX}/{A}/telemetry/{shard}", body) == NOT_AUTHORIZED, shard
    assert a.publish(telemetry_topic(B, PREFIX), batch(B, 1)) == NOT_AUTHORIZED


def test_a_vehicle_publishing_on_another_vehicles_topic_is_refused(broker: Broker) -> None:
    gateway = broker.client(GW, broker.passwords[GW])
    gateway.subscribe(f"{PREFIX}/#")
    a = broker.vehicle(A)

    assert a.publish(telemetry(B), batch(B, 1)) == NOT_AUTHORIZED
    assert a.publish(f"{PREFIX}/{B}/cmd/ack", b"{}") == NOT_AUTHORIZED
    # Commands come from the gateway only, not from a vehicle, not even to itself.
    assert a.publish(f"{PREFIX}/{B}/cmd", b"{}") == NOT_AUTHORIZED
    assert a.publish(f"{PREFIX}/{A}/cmd", b"{}") == NOT_AUTHORIZED
    assert a.publish("elsewhere/topic", b"{}") == NOT_AUTHORIZED
    # Its own uplink topics work on the same connection.
    assert accepted(a.publish(f"{PREFIX}/{A}/cmd/ack", b"{}"))
    assert accepted(a.publish(f"{PREFIX}/{A}/events", b"{}"))
    assert wait_for(lambda: len(gateway.messages) == 2)
    settle()
    assert sorted(t for t, _ in gateway.messages) == [
        f"{PREFIX}/{A}/cmd/ack",
        f"{PREFIX}/{A}/events",
    ]


def test_a_vehicle_receives_its_own_commands_and_never_another_vehicles(broker: Broker) -> None:
    a, b = broker.vehicle(A), broker.vehicle(B)
    b.subscribe(f"{PREFIX}/{B}/cmd")
    a.subscribe(f"{PREFIX}/{A}/cmd")
    # Mosquitto 2.0 grants the subscription itself and then withholds every message on it.
    a.subscribe(f"{PREFIX}/{B}/cmd")
    a.subscribe(f"{PREFIX}/+/cmd")
    a.subscribe("#")

    gateway = broker.client(GW, broker.passwords[GW])
    assert accepted(gateway.publish(f"{PREFIX}/{B}/cmd", b'{"cmd": "lock"}'))
    assert accepted(gateway.publish(f"{PREFIX}/{A}/cmd", b'{"cmd": "unlock"}'))

    assert wait_for(lambda: b.received(f"{PREFIX}/{B}/cmd") == [b'{"cmd": "lock"}'])
    assert wait_for(lambda: len(a.messages) >= 1)
    settle()
    # Once per matching subscription, and only its own command.
    assert {t for t, _ in a.messages} == {f"{PREFIX}/{A}/cmd"}
    assert a.received(f"{PREFIX}/{B}/cmd") == []
    assert b.received(f"{PREFIX}/{A}/cmd") == []


def test_the_gateway_user_cannot_pose_as_a_vehicle(broker: Broker) -> None:
    gateway = broker.client(GW, broker.passwords[GW])
    assert gateway.publish(telemetry(A), batch(A, 1)) == NOT_AUTHORIZED


def test_wrong_passwords_unknown_users_and_anonymous_clients_are_refused(broker: Broker) -> None:
    assert broker.client(A, broker.passwords[B]).connack == NOT_AUTHORIZED
    assert broker.client(A, "guess").connack == NOT_AUTHORIZED
    assert broker.client("JHMZZ1A1XRV000099", broker.passwords[A]).connack == NOT_AUTHORIZED
    assert broker.client(None).connack == NOT_AUTHORIZED
    assert broker.vehicle(A).connected


def test_after_rotation_and_reload_only_the_new_secret_works(broker: Broker) -> None:
    old = broker.passwords[A]
    connected_with_old = broker.vehicle(A)
    other = broker.vehicle(B)

    answer = broker.provision("--rotate", A)
    [issued] = answer["issued"]
    assert (issued["username"], issued["replaced"]) == (A, True)
    assert issued["password"] != old

    # The broker drops the session authenticated with the old secret at reload …
    assert wait_for(lambda: bool(connected_with_old.disconnects))
    # … refuses the old secret from then on, and takes the new one.
    assert broker.client(A, old).connack == NOT_AUTHORIZED
    fresh = broker.vehicle(A)
    assert fresh.connected
    assert accepted(fresh.publish(telemetry(A), batch(A, 2)))
    # Other vehicles are untouched.
    assert other.connected
    assert accepted(other.publish(telemetry(B), batch(B, 1)))


def test_after_revocation_and_reload_the_vehicle_is_refused(broker: Broker) -> None:
    connected = broker.vehicle(A)
    answer = broker.provision("--revoke", A)
    assert answer["revoked"] == [A] and answer["issued"] == []

    assert wait_for(lambda: bool(connected.disconnects))
    assert broker.client(A, broker.passwords[A]).connack == NOT_AUTHORIZED
    assert broker.vehicle(B).connected
    # `--all` does not quietly bring it back.
    assert broker.provision("--all")["issued"] == []
    assert broker.client(A, broker.passwords[A]).connack == NOT_AUTHORIZED


def test_command_acks_reach_the_gateway_only_from_the_vehicle_they_name(broker: Broker) -> None:
    gateway = broker.client(GW, broker.passwords[GW])
    gateway.subscribe(f"{PREFIX}/+/cmd/ack")
    a = broker.vehicle(A)
    assert a.publish(f"{PREFIX}/{B}/cmd/ack", b'{"id": "forged"}') == NOT_AUTHORIZED
    assert accepted(a.publish(f"{PREFIX}/{A}/cmd/ack", b'{"id": "c1"}'))
    assert wait_for(lambda: len(gateway.messages) == 1)
    settle()
    assert gateway.messages == [(f"{PREFIX}/{A}/cmd/ack", b'{"id": "c1"}')]
