"""The broker as every Volta MQTT client meets it: the gateway's transport, the command link,
`volta send` and the simulator's cars. One place builds the paho-mqtt 2 client (MQTT 5, the
version-2 callbacks, TLS and credentials from the URL, reconnect back-off) and connects it
with a clean or a persistent session; the callers only add their callbacks."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from volta.errors import ConfigError, Unavailable

KEEPALIVE_S = 30
# paho doubles the reconnect delay from the first up to this cap
MAX_RECONNECT_DELAY_S = 30


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is, whether over TLS, and who we are to it."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """`mqtt://[user:password@]host:port` (default port 1883) or `mqtts://…` (8883)."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            # Only the scheme is echoed: the URL may carry a password.
            raise ConfigError(f"broker URL with scheme {parts.scheme!r}: expected mqtt://host:port")
        tls = parts.scheme == "mqtts"
        port = parts.port or (8883 if tls else 1883)
        # Percent-decoded, so that a password may hold any character (`%40` for '@' …).
        user, password = parts.username, parts.password
        user = unquote(user) if user is not None else None
        password = unquote(password) if password is not None else None
        return cls(parts.hostname, port, tls, user, password)

    def signed_in_as(self, username: str, password: str | None) -> BrokerAddress:
        """The same broker with other credentials (a car: its VIN and token)."""
        return dataclasses.replace(self, username=username, password=password)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def new_client(
    address: BrokerAddress,
    client_id: str = "",
    *,
    manual_ack: bool = False,
    first_reconnect_s: float = 1.0,
) -> mqtt.Client:
    """An MQTT 5 client for `address` (TLS for mqtts://, its credentials if any), not yet
    connected. `manual_ack`: PUBACKs leave only when the caller calls `ack`. After a lost
    connection paho waits `first_reconnect_s`, doubling up to MAX_RECONNECT_DELAY_S."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
    )
    if address.tls:
        client.tls_set()
    if address.username is not None:
        client.username_pw_set(address.username, address.password)
    # paho types the delay int but doubles it in floats: a fractional start is fine.
    first = cast(int, first_reconnect_s)
    client.reconnect_delay_set(min_delay=first, max_delay=MAX_RECONNECT_DELAY_S)
    return client


def connect(
    client: mqtt.Client,
    address: BrokerAddress,
    *,
    session_expiry_s: int = 0,
    receive_maximum: int | None = None,
    background: bool = True,
) -> None:
    """Connect and start the network thread. `session_expiry_s` > 0: resume the persistent
    session the broker keeps for the client id (clean start off), and let it outlive a
    disconnection by that long; 0: a clean session that ends with the connection.
    `background`: connect from the network thread, retrying until the broker answers;
    otherwise connect now, Unavailable if the broker cannot be reached."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = session_expiry_s
    if receive_maximum is not None:
        props.ReceiveMaximum = receive_maximum
    # connect_async only records where to go: the network thread connects (and retries).
    start = client.connect_async if background else client.connect
    try:
        start(
            address.host,
            address.port,
            keepalive=KEEPALIVE_S,
            clean_start=session_expiry_s == 0,
            properties=props,
        )
    except OSError as exc:
        raise Unavailable(f"MQTT broker {address} unreachable: {exc}") from exc
    client.loop_start()


def end_session(address: BrokerAddress, client_id: str, timeout_s: float = 5.0) -> None:
    """Make the broker drop the persistent session of `client_id` and what it queued (say, of
    a gateway worker gone for good, or a test's): connect as it with a clean start and no
    expiry, then leave. Unavailable if the broker cannot be reached."""
    answered = threading.Event()
    client = new_client(address, client_id)
    client.on_connect = lambda *_: answered.set()
    connect(client, address, background=False)
    try:
        answered.wait(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()
