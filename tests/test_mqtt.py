"""Every Volta MQTT client's broker: URLs (defaults, TLS, credentials that never get echoed),
and the sessions the one client factory opens on the local Mosquitto."""

from __future__ import annotations

import threading
import uuid

import paho.mqtt.client as mqtt
import pytest

from volta.devservices import free_port
from volta.errors import ConfigError, Unavailable
from volta.mqtt import BrokerAddress, connect, end_session, new_client

BROKER = BrokerAddress("127.0.0.1", 1883, False)


def test_broker_urls_with_defaults_tls_and_credentials() -> None:
    assert BrokerAddress.parse("mqtt://127.0.0.1") == BrokerAddress("127.0.0.1", 1883, False)
    assert BrokerAddress.parse("127.0.0.1:1884") == BrokerAddress("127.0.0.1", 1884, False)
    assert BrokerAddress.parse("mqtts://broker") == BrokerAddress("broker", 8883, True)
    address = BrokerAddress.parse("mqtt://gateway:s3cret@broker:1883")
    assert (address.username, address.password) == ("gateway", "s3cret")
    assert "s3cret" not in repr(address)


def test_credentials_in_the_url_are_percent_decoded() -> None:
    address = BrokerAddress.parse("mqtt://svc%3Agw:p%40ss%2Fw%3Ard%25@broker:1884")
    assert (address.username, address.password) == ("svc:gw", "p@ss/w:rd%")
    assert (address.host, address.port) == ("broker", 1884)
    assert BrokerAddress.parse("mqtt://gateway@broker").password is None


def test_other_schemes_are_refused_without_echoing_the_url() -> None:
    with pytest.raises(ConfigError) as refused:
        BrokerAddress.parse("http://gateway:s3cret@broker")
    assert "s3cret" not in str(refused.value)


def test_other_credentials_replace_the_urls_and_stay_out_of_the_repr() -> None:
    car = BrokerAddress.parse("mqtts://sim:pw@broker").signed_in_as("JHMZZ1A1XRV000001", "vt_x")
    assert car == BrokerAddress("broker", 8883, True, "JHMZZ1A1XRV000001", "vt_x")
    assert "vt_x" not in repr(car) and str(car) == "broker:8883"


def _session_present(client_id: str, session_expiry_s: int) -> bool:
    """Connect through the factory, return the CONNACK's session-present flag, disconnect."""
    client = new_client(BROKER, client_id)
    present: list[bool] = []
    answered = threading.Event()

    def on_connect(
        c: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags, reason: object, p: object
    ) -> None:
        present.append(flags.session_present)
        answered.set()

    client.on_connect = on_connect
    connect(client, BROKER, session_expiry_s=session_expiry_s)
    try:
        assert answered.wait(10), "no CONNACK from the local Mosquitto"
    finally:
        client.disconnect()
        client.loop_stop()
    return present[0]


def test_a_persistent_session_is_resumed_after_a_disconnection() -> None:
    client_id = f"test-persistent-{uuid.uuid4().hex[:8]}"
    assert _session_present(client_id, session_expiry_s=5) is False  # nothing to resume yet
    assert _session_present(client_id, session_expiry_s=5) is True
    end_session(BROKER, client_id)


def test_a_clean_session_ends_with_its_connection() -> None:
    client_id = f"test-clean-{uuid.uuid4().hex[:8]}"
    assert _session_present(client_id, session_expiry_s=0) is False
    assert _session_present(client_id, session_expiry_s=0) is False


def test_connecting_now_to_a_broker_that_is_not_there_is_unavailable() -> None:
    nowhere = BrokerAddress("127.0.0.1", free_port(), False)
    with pytest.raises(Unavailable, match=f"MQTT broker {nowhere} unreachable"):
        connect(new_client(nowhere), nowhere, background=False)


def test_an_ended_session_is_not_resumed() -> None:
    client_id = f"test-ended-{uuid.uuid4().hex[:8]}"
    _session_present(client_id, session_expiry_s=60)
    end_session(BROKER, client_id)
    assert _session_present(client_id, session_expiry_s=5) is False
    end_session(BROKER, client_id)
