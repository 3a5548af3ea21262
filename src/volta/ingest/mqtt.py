"""MQTT transport: the broker's telemetry topics into the gateway, PUBACK after storage.

The subscriptions are QoS 1 in a persistent session (fixed client id, clean start off, session
expiry), and acknowledgement is manual: a message's PUBACK leaves only from the gateway's
`on_done`, i.e. after its batch was durably stored. A gateway killed before that never acked,
so the broker delivers the message again to the next session with our client id, and the
gateway's (vin, seq) de-duplication makes the second delivery harmless.

Cars publish to `{prefix}/{vin}/telemetry/{shard}` (one of 64 fixed shards, `volta.wire.topics`).
One process subscribes to all of them (`{prefix}/+/telemetry/+`). Several gateway workers split
them: worker `i` of `n` subscribes to its own shards, one ordinary subscription each, and
unsubscribes the others (a session from a run with another `n` may still hold them; see
`claim_shards` for changing `n` without a gap). Ordinary subscriptions, not MQTT 5 shared ones,
because Mosquitto 2.0.11 restores a persistent session's ordinary subscriptions after its own
restart and queues messages for them while the worker is away, but forgets its shared ones:
batches it accepted from cars before the workers had subscribed again were acknowledged and
dropped (tests/integration/test_faults.py pins both behaviours).

Cars built before the shards publish to `{prefix}/{vin}/telemetry`; workers still take that
topic through the shared subscription `$share/{group}/{prefix}/+/telemetry` (`shared_group`),
with its limits: lost in the seconds after a broker restart, and what Mosquitto does with a
member that dies (its un-acked messages stay in ITS session and new ones keep being assigned to
it round-robin while it is offline, delivered when a process with the same client id connects
again). Either way a dead worker must be restarted with its index, as `volta serve --workers N`
does.

Reconnects: paho retries with exponential back-off (doubling, capped at 30 s) from a per-process
random start in [0.5, 1.5) s; a batch that was not stored (store down) is left un-acked and the
connection is recycled after a jittered, capped exponential delay, so that the broker delivers
it again.

Threading (checked in paho 2.2's source): `Client.ack` only appends to a deque and writes one
byte to the socket pair that wakes the network thread; with `loop_start` the write itself is
always done by that thread. Calling `ack` from the gateway's committer thread is therefore safe.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from volta.backoff import backoff_delay
from volta.errors import ConfigError, Unavailable
from volta.ingest.commit import IngestResult
from volta.mqtt import BrokerAddress, connect, new_client
from volta.wire import SHARDS, shard_filter, vin_from_topic

log = logging.getLogger(__name__)

# How many unacknowledged messages the broker may have in flight to us (MQTT 5 Receive
# Maximum; 65535 is the protocol's largest). Mosquitto's default of 20 would cap throughput at
# 20 batches per group commit; and what the broker cannot send it queues only up to its
# `max_queued_messages` (default 1000) and then drops, so while we are merely behind we would
# rather hold the backlog here (about 1 KB a batch) than have the broker discard it.
RECEIVE_MAXIMUM = 65535
SESSION_EXPIRY_S = 7 * 24 * 3600
# Store errors on which a message is left unacknowledged for the broker to deliver again.
RETRY_ERRORS = frozenset({"store_unavailable", "timeout"})
# The gateway is shutting down: leave the message for the next process's session.
STOPPED = "gateway_stopped"
_GROUP = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Submitter(Protocol):
    """What the transport needs of the gateway."""

    def submit(self, payload: bytes, vin: str, on_done: Callable[[IngestResult], None]) -> None: ...


class MqttTransport:
    """Feeds the gateway from a broker; see the module docstring for the delivery guarantee."""

    def __init__(
        self,
        gateway: Submitter,
        *,
        url: str,
        topic_prefix: str,
        client_id: str,
        session_expiry_s: int = SESSION_EXPIRY_S,
        receive_maximum: int = RECEIVE_MAXIMUM,
        retry_delay_s: float = 2.0,
        shared_group: str | None = None,
        shards: Sequence[int] | None = None,
    ) -> None:
        self._gateway = gateway
        self._address = BrokerAddress.parse(url)
        self._prefix = topic_prefix.rstrip("/")
        self._client_id = client_id
        self._session_expiry_s = session_expiry_s
        self._receive_maximum = receive_maximum
        # Bumped on every (re)connect: a PUBACK may only answer a delivery of the current
        # connection. Deliveries of an earlier one come again and are acked then.
        self._generation = 0
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._recycling = False
        self._stopped = False
        self._lifecycle = threading.Lock()  # stop() vs. a reconnect in progress
        self._retry_delay_s = retry_delay_s
        self._retries = 0  # recycles since the last stored batch, for the back-off
        if shared_group is not None and not _GROUP.match(shared_group):
            raise ConfigError(
                f"invalid MQTT shared-subscription group {shared_group!r}: "
                "use letters, digits, _ and -"
            )
        self._shared_group = shared_group
        if shards is not None and not all(0 <= k < SHARDS for k in shards):
            raise ConfigError(f"telemetry shards are 0..{SHARDS - 1}, got {sorted(shards)}")
        self._shards = None if shards is None else sorted(set(shards))
        self.received = 0
        self.acked = 0
        self.unacked_retry = 0
        self._client = self._new_client()

    @property
    def topic_filters(self) -> list[str]:
        """What we subscribe to: the cars' shards (ours, or all of them) and the topic of
        cars from before the shards (through the shared group, if any)."""
        legacy = f"{self._prefix}/+/telemetry"
        if self._shared_group:
            legacy = f"$share/{self._shared_group}/{legacy}"
        if self._shards is None:
            return [f"{self._prefix}/+/telemetry/+", legacy]
        return [*(shard_filter(k, self._prefix) for k in self._shards), legacy]

    @property
    def foreign_filters(self) -> list[str]:
        """The shard subscriptions our session must not hold: the other workers' shards."""
        if self._shards is None:
            return []
        ours = set(self._shards)
        return [shard_filter(k, self._prefix) for k in range(SHARDS) if k not in ours]

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self, wait_s: float = 10.0) -> None:
        """Connect and start the network thread; wait until subscribed (or `wait_s` elapsed)."""
        self._stopped = False
        self._connect()
        if not self._connected.wait(wait_s):
            log.warning(
                "mqtt: not connected to %s:%d yet; retrying in the background",
                self._address.host,
                self._address.port,
            )

    def stop(self) -> None:
        with self._lifecycle:
            self._stopped = True
            self._connected.clear()
            self._client.disconnect()
            self._client.loop_stop()

    # paho callbacks (network thread)

    def _new_client(self) -> mqtt.Client:
        # PUBACK only once stored; a random first reconnect delay de-synchronises the workers
        # that lost the same broker.
        client = new_client(
            self._address,
            self._client_id,
            manual_ack=True,
            first_reconnect_s=random.uniform(0.5, 1.5),
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("mqtt: broker refused the connection: %s", reason)
            return
        with self._lock:
            self._generation += 1
        # Subscribing again is harmless when the session kept the subscriptions. Ours first,
        # then drop shards an earlier run of this index owned: in this order on one
        # connection, so a shard this session keeps is never without it.
        client.subscribe([(f, SubscribeOptions(qos=1)) for f in self.topic_filters])
        if self.foreign_filters:
            client.unsubscribe(self.foreign_filters)
        log.info(
            "mqtt: connected to %s:%d as %s, session_present=%s",
            self._address.host,
            self._address.port,
            self._client_id,
            flags.session_present,
        )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [f for f, r in zip(self.topic_filters, reasons, strict=False) if r.is_failure]
        if refused:
            log.error(
                "mqtt: the broker refused the subscriptions to %s (its ACL must let this "
                "client read them: `volta vehicles provision` writes one that does)",
                ", ".join(refused),
            )
            if len(refused) == len(reasons):
                return
        # Only now is it "connected": a message published from here on reaches us.
        self._connected.set()
        log.info("mqtt: subscribed to %d telemetry filters", len(reasons) - len(refused))

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected.clear()
        if reason.is_failure:
            log.warning("mqtt: disconnected (%s); reconnecting with back-off", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.received += 1
        # A topic level that is not a valid VIN is still handed over (bounded), so that the
        # gateway quarantines the message with its reason and it is acked, never dropped.
        vin = vin_from_topic(msg.topic, self._prefix)
        if vin is None:
            vin = msg.topic[len(self._prefix) + 1 :].split("/", 1)[0][:64]
        mid, qos, generation = msg.mid, msg.qos, self._generation
        payload = msg.payload if isinstance(msg.payload, bytes) else bytes(msg.payload)
        self._gateway.submit(payload, vin, lambda result: self._done(result, mid, qos, generation))

    # gateway callback (committer thread)

    def _done(self, result: IngestResult, mid: int, qos: int, generation: int) -> None:
        if result.error == STOPPED:
            return
        if result.error in RETRY_ERRORS:
            # Not acked: the broker keeps the message. It only redelivers on a new
            # connection, so reconnect (after a pause) to get it back.
            self.unacked_retry += 1
            log.warning(
                "mqtt: batch of %s not stored (%s); will redeliver", result.vin, result.error
            )
            delay = backoff_delay(self._retries, base_s=self._retry_delay_s, cap_s=30.0)
            self._recycle_soon(delay)
            return
        self._retries = 0
        if qos == 0 or generation != self._generation:
            return
        self._client.ack(mid, qos)
        self.acked += 1

    def _recycle_soon(self, delay_s: float) -> None:
        with self._lock:
            if self._recycling or self._stopped:
                return
            self._recycling = True
            self._retries += 1

        def recycle() -> None:
            try:
                with self._lifecycle:
                    if not self._stopped:
                        self._reconnect()
            finally:
                with self._lock:
                    self._recycling = False

        timer = threading.Timer(delay_s, recycle)
        timer.daemon = True
        timer.start()

    def _connect(self) -> None:
        """Resume our persistent session (clean start off) and run the network thread."""
        connect(
            self._client,
            self._address,
            session_expiry_s=self._session_expiry_s,
            receive_maximum=self._receive_maximum,
        )

    def _reconnect(self) -> None:
        log.info("mqtt: reconnecting to have unacknowledged batches delivered again")
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()
        self._connect()


def claim_shards(
    url: str, topic_prefix: str, sessions: Mapping[str, Sequence[int]], timeout_s: float = 10.0
) -> None:
    """Subscribe each persistent session (client id → its shards) to its shards, before its
    worker runs, so that from now on the broker queues those shards' batches for it.

    Why: a worker drops the shards it no longer owns when it connects; when the number of
    workers changes, the new owner of such a shard might not have subscribed yet, and the
    broker would drop what cars publish on it meanwhile. Claiming every worker's shards
    first (`volta serve --workers N` does, before it starts them) leaves no such moment.
    Messages queued in a session are left to its worker: we never acknowledge them, so the
    broker sends them again when the worker connects. Unavailable if the broker cannot be
    reached or does not answer within `timeout_s`."""
    address = BrokerAddress.parse(url)
    prefix = topic_prefix.rstrip("/")
    for client_id, shards in sessions.items():
        _subscribe_session(address, client_id, [shard_filter(k, prefix) for k in shards], timeout_s)


def _subscribe_session(
    address: BrokerAddress, client_id: str, filters: list[str], timeout_s: float
) -> None:
    done = threading.Event()
    client = new_client(address, client_id, manual_ack=True)
    client.on_subscribe = lambda *_: done.set()
    # Receive Maximum 1: the broker sends at most one of the queued messages here.
    connect(client, address, session_expiry_s=SESSION_EXPIRY_S, receive_maximum=1, background=False)
    try:
        client.subscribe([(f, SubscribeOptions(qos=1)) for f in filters])
        if not done.wait(timeout_s):
            raise Unavailable(f"MQTT broker {address}: no answer to {client_id}'s SUBSCRIBE")
    finally:
        client.disconnect()
        client.loop_stop()
