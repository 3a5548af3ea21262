"""`MqttNotifier`: sends a car its hazard warnings on its own topic `{prefix}/{vin}/notify`
(the broker ACL lets a car read only its own), QoS 1, expiring after `EXPIRY_S` so that a car
that connects much later is not told about a stretch of road it has long left."""

from __future__ import annotations

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from volta.mqtt import BrokerAddress, connect, new_client

__all__ = ["EXPIRY_S", "MqttNotifier", "notify_topic"]

EXPIRY_S = 300


def notify_topic(vin: str, prefix: str) -> str:
    return f"{prefix}/{vin}/notify"


class MqttNotifier:
    """One paho client of its own with a clean session: a lost warning is not worth a
    persistent session (the next fix of the car warns it again only if it was never sent)."""

    def __init__(self, url: str, topic_prefix: str, client_id: str) -> None:
        self._address = BrokerAddress.parse(url)
        self._prefix = topic_prefix.rstrip("/")
        self._client = new_client(self._address, client_id)
        self.sent = 0

    def start(self) -> None:
        connect(self._client, self._address)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def send(self, vin: str, payload: bytes) -> None:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.MessageExpiryInterval = EXPIRY_S
        self._client.publish(notify_topic(vin, self._prefix), payload, qos=1, properties=props)
        self.sent += 1
