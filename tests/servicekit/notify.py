"""A car listening on its own notify topic of the real Mosquitto, and the platform's notifier
that talks to it: for the tests of what Volta pushes to cars (hazard warnings, OTA notices)."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
import pytest

from volta.hazards.notify import MqttNotifier, notify_topic
from volta.mqtt import BrokerAddress, connect, new_client

_ADDRESS = BrokerAddress("127.0.0.1", 1883, False)


@dataclass
class Listening:
    """What the car received (`got`, `arrived` set on the first) and the notifier to send with,
    both on a topic prefix of their own."""

    notifier: MqttNotifier
    got: list[bytes] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)


def _broker() -> bool:
    try:
        with socket.create_connection((_ADDRESS.host, _ADDRESS.port), timeout=1.0):
            return True
    except OSError:
        return False


@contextmanager
def car_listening(vin: str) -> Iterator[Listening]:
    """Subscribed (awaited) before it yields; disconnected after. Skips, saying why, only when
    no broker listens on 127.0.0.1:1883."""
    if not _broker():
        pytest.skip("no MQTT broker listens on 127.0.0.1:1883 (make services starts one)")
    run = uuid.uuid4().hex[:12]
    prefix = f"volta-test-{run}/v1"
    subscribed = threading.Event()
    car = new_client(_ADDRESS, f"car-{run}")
    car.on_connect = lambda c, *a: c.subscribe(notify_topic(vin, prefix), qos=1)
    car.on_subscribe = lambda *a: subscribed.set()
    listening = Listening(
        MqttNotifier(f"mqtt://{_ADDRESS.host}:{_ADDRESS.port}", prefix, f"notifier-{run}")
    )

    def on_message(client: object, userdata: object, message: mqtt.MQTTMessage) -> None:
        listening.got.append(bytes(message.payload))
        listening.arrived.set()

    car.on_message = on_message
    connect(car, _ADDRESS)
    listening.notifier.start()
    try:
        assert subscribed.wait(10), "the car did not subscribe"
        yield listening
    finally:
        listening.notifier.stop()
        car.disconnect()
        car.loop_stop()
