"""The command service: issue, deliver, acknowledge, expire; MQTT out and acks back in.

Delivery: with a broker, a new command is published at once (QoS 1, MQTT 5 message expiry =
its remaining time) on `{prefix}/{vin}/cmd`, and acks are read from `{prefix}/+/cmd/ack` by
the service's own client (`{client id}-commands`, separate from the telemetry transport).
Every vehicle can also pull its open commands over HTTP (`GET …/commands/pending`), which is
the only way without a broker and the way back for a car that was offline when it was sent.

Expiry is checked lazily whenever a command is read, and by a sweep every `sweep_s` seconds.
A bad or refused ack is counted and logged with its reason; it never stops the service.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import msgspec
from prometheus_client import CollectorRegistry, Counter

from volta.catalog import Catalog
from volta.clock import Clock
from volta.commands.model import (
    DEFAULT_TTL_S,
    AckStatus,
    Command,
    acknowledge,
    deliver,
    expire_if_due,
    new_command,
    validate,
)
from volta.commands.store import SQLiteCommandStore
from volta.commands.wire import (
    CommandAck,
    CommandMessage,
    ack_topic_filter,
    cmd_topic,
    decode_ack,
    encode,
    vin_from_ack_topic,
)
from volta.errors import NotFound, VoltaError
from volta.periodic import Periodic

log = logging.getLogger(__name__)

__all__ = ["CommandMetrics", "CommandService", "MqttCommandLink", "to_message"]


class CommandMetrics:
    """Prometheus counters of the command service (`registry=None`: unregistered)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.issued = Counter(
            "volta_commands_issued", "Commands accepted, by type.", ["type"], registry=registry
        )
        self.finished = Counter(
            "volta_commands_finished",
            "Commands that reached a final state: succeeded, failed or expired.",
            ["state"],
            registry=registry,
        )
        self.acks_refused = Counter(
            "volta_command_acks_refused",
            "MQTT acks not applied: refused (unknown, foreign, contradicting, expired "
            "command) or undecodable.",
            ["reason"],
            registry=registry,
        )


def to_message(cmd: Command) -> CommandMessage:
    return CommandMessage(
        id=cmd.id,
        vin=cmd.vin,
        type=cmd.type.value,
        value=cmd.value,
        targets=cmd.targets,
        issued_ms=cmd.created_ms,
        expires_ms=cmd.expires_ms,
    )


class CommandService:
    """Commands of every vehicle. `clock` is the platform's (ms); `link`, when set, sends new
    commands to vehicles (MQTT) and feeds their acks to `ack_message`."""

    def __init__(
        self,
        store: SQLiteCommandStore,
        catalog: Catalog,
        clock: Clock,
        *,
        sweep_s: float = 5.0,
        metrics: CommandMetrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics or CommandMetrics()
        self.catalog = catalog
        self.clock = clock
        self.sweep_s = sweep_s
        self.link: MqttCommandLink | None = None
        self.acks_refused = 0
        self.acks_undecodable = 0
        self._sweeper = Periodic(
            "volta-commands-sweep",
            lambda: self.sweep_s,
            self._sweep_and_log,
            log,
            "commands: sweep failed",
            timeout_s=5,
        )

    # -- operator side ----------------------------------------------------------------
    def issue(
        self,
        vin: str,
        type_: str,
        value: Any = None,
        ttl_s: int = DEFAULT_TTL_S,
        issued_by: str = "",
    ) -> Command:
        """Validate, store (queued) and send; raises BadRequest/ValidationError with a reason."""
        cmd = new_command(validate(self.catalog, type_, value), vin, self.clock(), ttl_s, issued_by)
        self.store.insert(cmd)
        self.metrics.issued.labels(type=cmd.type.value).inc()
        if self.link is not None:
            self.link.send(cmd, self.clock())
        log.info("command %s %s for %s queued by %s", cmd.id, cmd.type, vin, issued_by)
        return cmd

    def get(self, vin: str, id: str) -> Command:
        """The command (expired if due); NotFound if there is none with this id for `vin`."""
        cmd = self.store.get(id)
        if cmd is None or cmd.vin != vin:
            raise NotFound(f"no command {id} for vehicle {vin}")
        if expire_if_due(cmd, self.clock()) is not cmd:
            cmd = self._update(vin, id, lambda c: expire_if_due(c, self.clock()))
        return cmd

    def page(self, vin: str, limit: int = 50, before: str | None = None) -> list[Command]:
        """Newest first; `before` is the id of the last command of the previous page."""
        cursor = self.get(vin, before) if before is not None else None
        now = self.clock()
        out = self.store.page(vin, limit, cursor)
        return [self.get(vin, c.id) if expire_if_due(c, now) is not c else c for c in out]

    # -- vehicle side -----------------------------------------------------------------
    def pending(self, vin: str) -> list[Command]:
        """Open commands of the vehicle, marked delivered (it has them now), oldest first.
        Delivered-but-unanswered ones come again: a car that restarted can finish them."""
        now = self.clock()
        out = []
        for c in self.store.open_for(vin):
            cmd = self._update(vin, c.id, lambda x: deliver(x, now))
            if not cmd.final:
                out.append(cmd)
        return out

    def ack(self, vin: str, id: str, status: str | AckStatus, reason: str | None = None) -> Command:
        """Record a vehicle's ack. NotFound for a command that is not this vehicle's, Conflict
        for one that contradicts the recorded state; repeating an ack is harmless."""
        st = AckStatus(status)
        return self._update(vin, id, lambda c: acknowledge(c, st, reason, self.clock()))

    def ack_message(self, topic_vin: str | None, payload: bytes) -> Command | None:
        """An ack from MQTT. Never raises: a bad one is counted and logged with the reason."""
        try:
            ack: CommandAck = decode_ack(payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            self.acks_undecodable += 1
            self.metrics.acks_refused.labels(reason="undecodable").inc()
            log.warning("commands: undecodable ack from %s: %s", topic_vin, e)
            return None
        if topic_vin is None:
            self.acks_refused += 1
            self.metrics.acks_refused.labels(reason="refused").inc()
            log.warning("commands: ack %s on a topic without a valid VIN", ack.id)
            return None
        try:
            return self.ack(topic_vin, ack.id, ack.status, ack.reason)
        except VoltaError as e:
            self.acks_refused += 1
            self.metrics.acks_refused.labels(reason="refused").inc()
            log.warning("commands: ack of %s for %s refused: %s", topic_vin, ack.id, e)
            return None

    # -- expiry -----------------------------------------------------------------------
    def sweep(self) -> int:
        """Expire every open command past its expiry; returns how many."""
        now = self.clock()
        return self.store.update_many(
            self.store.due(now), self._counted(lambda c: expire_if_due(c, now))
        )

    def _counted(self, change: Callable[[Command], Command]) -> Callable[[Command], Command]:
        """`change`, counting the commands it finishes."""

        def counted(c: Command) -> Command:
            new = change(c)
            if new.final and new.state is not c.state:
                self.metrics.finished.labels(state=new.state.value).inc()
            return new

        return counted

    def _update(self, vin: str, id: str, change: Callable[[Command], Command]) -> Command:
        counted = self._counted(change)

        def checked(c: Command) -> Command:
            if c.vin != vin:  # someone else's command: as if it did not exist
                raise NotFound(f"no command {id} for vehicle {vin}")
            return counted(c)

        cmd = self.store.update(id, checked)
        if cmd is None:
            raise NotFound(f"no command {id} for vehicle {vin}")
        return cmd

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        if self.link is not None:
            self.link.start()
        if self.sweep_s > 0:
            self._sweeper.start()

    def _sweep_and_log(self) -> None:
        n = self.sweep()
        if n:
            log.info("commands: %d expired", n)

    def stop(self) -> None:
        self._sweeper.stop()
        if self.link is not None:
            self.link.stop()

    def close(self) -> None:
        self.stop()
        self.store.close()


class MqttCommandLink:
    """Publishes commands to `{prefix}/{vin}/cmd` and hands acks from `{prefix}/+/cmd/ack` to
    the service. Its own paho client; a clean session, since a lost ack is only a delay (the
    vehicle repeats it, or the command expires)."""

    def __init__(self, service: CommandService, *, url: str, topic_prefix: str, client_id: str):
        from volta.mqtt import BrokerAddress, new_client

        self._service = service
        self._address = BrokerAddress.parse(url)
        self._prefix = topic_prefix.rstrip("/")
        self._subscribed = threading.Event()
        self.sent = 0
        client = new_client(self._address, client_id)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client

    @property
    def connected(self) -> bool:
        return self._subscribed.is_set()

    def start(self, wait_s: float = 3.0) -> None:
        from volta.mqtt import connect

        # A short wait: the telemetry transport has already waited for the same broker.
        connect(self._client, self._address)
        if not self._subscribed.wait(wait_s):
            log.warning("commands: not connected to the broker yet; retrying in the background")

    def stop(self) -> None:
        self._subscribed.clear()
        self._client.disconnect()
        self._client.loop_stop()

    def send(self, cmd: Command, now_ms: int) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        # The broker drops it for a vehicle that only connects after it expired.
        props.MessageExpiryInterval = max(1, (cmd.expires_ms - now_ms) // 1000)
        self._client.publish(
            cmd_topic(cmd.vin, self._prefix),
            encode(to_message(cmd)),
            qos=1,
            properties=props,
        )
        self.sent += 1

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("commands: broker refused the connection: %s", reason)
            return
        client.subscribe(ack_topic_filter(self._prefix), qos=1)

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        if any(r.is_failure for r in reasons):
            log.error("commands: broker refused the ack subscription: %s", reasons)
            return
        self._subscribed.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, p: Any) -> None:
        self._subscribed.clear()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        vin = vin_from_ack_topic(msg.topic, self._prefix)
        self._service.ack_message(vin, bytes(msg.payload))
