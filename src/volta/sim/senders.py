"""Where simulated telemetry goes: a file, Volta's HTTP ingest, an MQTT broker, or a callable.

Every sender takes batches (`Batch`, wire format v1) and speaks to the platform only as a
vehicle would. `make_sender("file:DIR" | "http://host:port" | "mqtt://host:port" | "inproc",
...)` picks one from a URL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
import msgspec

from volta.clock import wall_ms
from volta.commands.wire import (
    CommandAck,
    CommandMessage,
    ack_topic,
    cmd_topic,
    cmd_topic_filter,
    decode_message,
)
from volta.commands.wire import encode as encode_command
from volta.errors import ConfigError, Unavailable
from volta.wire import Batch, encode_json, encode_msgpack, telemetry_topic

__all__ = [
    "CallableSender",
    "FileSender",
    "HttpSender",
    "MqttSender",
    "Sender",
    "encode_batch",
    "load_tokens",
    "make_sender",
]


def encode_batch(batch: Batch, fmt: str = "json") -> bytes:
    """Wire-format v1 bytes of a batch: "json" or "msgpack"."""
    return encode_json(batch) if fmt == "json" else encode_msgpack(batch)


class Sender(Protocol):
    """Delivers batches; `close` waits until everything sent is acknowledged."""

    def send(self, batches: Sequence[Batch]) -> None: ...

    def close(self) -> None: ...


class FileSender:
    """Writes batches to DIR/telemetry.jsonl (a JSON batch a line) or .msgpack (length-prefixed)."""

    def __init__(self, directory: str | Path, fmt: str = "json") -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.fmt = fmt
        self.path = d / ("telemetry.jsonl" if fmt == "json" else "telemetry.msgpack")
        self._f: IO[bytes] = self.path.open("wb")

    def send(self, batches: Sequence[Batch]) -> None:
        for b in batches:
            data = encode_batch(b, self.fmt)
            if self.fmt == "json":
                self._f.write(data + b"\n")
            else:
                self._f.write(len(data).to_bytes(4, "big") + data)

    def close(self) -> None:
        self._f.close()


class CallableSender:
    """In-process hook: hands encoded batches to `deliver(vin, payload)` one by one, or all of a
    window's batches to `deliver_many([(vin, payload), ...])` (e.g. the embedded gateway's
    `InProcessTransport.publish` / `publish_many`)."""

    def __init__(
        self,
        deliver: Callable[[str, bytes], object] | None = None,
        fmt: str = "msgpack",
        deliver_many: Callable[[Sequence[tuple[str, bytes]]], Sequence[object]] | None = None,
    ) -> None:
        if deliver is None and deliver_many is None:
            raise ConfigError("CallableSender needs deliver or deliver_many")
        self.deliver = deliver
        self.deliver_many = deliver_many
        self.fmt = fmt
        self.results: list[object] = []

    def send(self, batches: Sequence[Batch]) -> None:
        items = [(b.vin, encode_batch(b, self.fmt)) for b in batches]
        if self.deliver_many is not None:
            self.results.extend(self.deliver_many(items))
        elif self.deliver is not None:
            self.results.extend(self.deliver(vin, data) for vin, data in items)

    def close(self) -> None:
        return None


class HttpSender:
    """POSTs each batch to /v1/vehicles/{vin}/telemetry with the vehicle's bearer token."""

    def __init__(
        self,
        base_url: str,
        tokens: dict[str, str],
        fmt: str = "msgpack",
        retries: int = 5,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client or httpx.Client(base_url=base_url, timeout=10.0)
        self.tokens = tokens
        self.fmt = fmt
        self.retries = retries
        self.sleep = sleep
        self.rejected: list[tuple[str, int, int, str]] = []  # (vin, seq, status, body)
        self._online: set[str] = set()  # vehicles that sent since the last command poll

    def send(self, batches: Sequence[Batch]) -> None:
        ctype = "application/json" if self.fmt == "json" else "application/msgpack"
        for b in batches:
            self._online.add(b.vin)
            token = self.tokens.get(b.vin)
            if token is None:
                raise ConfigError(f"no bearer token for {b.vin}: pass a tokens file")
            headers = {"Authorization": f"Bearer {token}", "Content-Type": ctype}
            body = encode_batch(b, self.fmt)
            for attempt in range(self.retries + 1):
                try:
                    r = self.client.post(
                        f"/v1/vehicles/{b.vin}/telemetry", content=body, headers=headers
                    )
                except httpx.TransportError as exc:
                    if attempt == self.retries:
                        raise Unavailable(f"ingest unreachable: {exc}") from exc
                    self.sleep(min(0.1 * 2**attempt, 5.0))
                    continue
                if r.status_code >= 500 or r.status_code == 429:
                    if attempt == self.retries:
                        raise Unavailable(
                            f"ingest answered {r.status_code} for {b.vin} seq {b.seq}"
                        )
                    self.sleep(min(0.1 * 2**attempt, 5.0))
                    continue
                if r.status_code >= 400:  # a real car would log it and move on
                    self.rejected.append((b.vin, b.seq, r.status_code, r.text[:200]))
                break

    def take_commands(self) -> list[CommandMessage]:
        """Commands waiting for the vehicles that were online since the last call (a sleeping
        car does not poll), from GET /v1/vehicles/{vin}/commands/pending."""
        out: list[CommandMessage] = []
        vins, self._online = sorted(self._online), set()
        for vin in vins:
            token = self.tokens.get(vin)
            if token is None:
                continue
            try:
                r = self.client.get(
                    f"/v1/vehicles/{vin}/commands/pending",
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.TransportError:
                continue  # the next poll asks again
            if r.status_code == 200:
                out += msgspec.convert(r.json()["commands"], list[CommandMessage])
        return out

    def ack(self, vin: str, ack: CommandAck) -> None:
        """POST the ack; a refused one (say, the command expired meanwhile) is recorded."""
        token = self.tokens.get(vin, "")
        body = {"status": ack.status, "reason": ack.reason, "ts": ack.ts}
        try:
            r = self.client.post(
                f"/v1/vehicles/{vin}/commands/{ack.id}/ack",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.TransportError:
            return  # the command will be pulled again and answered again
        if r.status_code >= 400:
            self.rejected.append((vin, -1, r.status_code, r.text[:200]))

    def close(self) -> None:
        self.client.close()


class MqttSender:
    """Publishes to volta/v1/{vin}/telemetry with QoS 1 (MQTT 5, paho-mqtt 2).

    `url`: mqtt(s)://[user:password@]host:port. One connection for the whole fleet (the URL's
    user, a simulator account), or with `per_vehicle=True` one connection per vehicle, user =
    VIN and password = its token, as the broker's ACLs expect of real cars.

    With `commands=True` the cars also listen on `{prefix}/{vin}/cmd` (call `listen(vins)` to
    subscribe before the first batch), confirm each command's receipt at once with a
    `delivered` ack, and hand it to the simulation through `take_commands()`.
    """

    def __init__(
        self,
        url: str,
        tokens: dict[str, str] | None = None,
        per_vehicle: bool = False,
        fmt: str = "msgpack",
        topic_prefix: str = "volta/v1",
        commands: bool = False,
    ) -> None:
        from volta.mqtt import BrokerAddress

        self.address = BrokerAddress.parse(url)
        self.commands = commands
        self._inbox: list[CommandMessage] = []
        self._inbox_lock = threading.Lock()
        self._subscribed: dict[str, threading.Event] = {}
        self.bad_commands = 0
        self.tokens = tokens or {}
        self.per_vehicle = per_vehicle
        self.fmt = fmt
        self.prefix = topic_prefix
        self.clients: dict[str, Any] = {}
        self.pending: list[Any] = []

    def _client(self, vin: str) -> Any:
        key = vin if self.per_vehicle else ""
        c = self.clients.get(key)
        if c is None:
            from volta.mqtt import connect, new_client

            address = self.address
            if self.per_vehicle:
                address = address.signed_in_as(vin, self.tokens.get(vin))
            c = new_client(address, f"volta-sim-{key or 'fleet'}")
            c.max_inflight_messages_set(1000)
            if self.commands:
                subscribed = threading.Event()
                self._subscribed[key] = subscribed
                topic = cmd_topic(vin, self.prefix) if self.per_vehicle else None
                self._listen(c, topic or cmd_topic_filter(self.prefix), subscribed)
            connect(c, address, background=False)
            self.clients[key] = c
        return c

    def _listen(self, c: Any, topic: str, subscribed: threading.Event) -> None:
        def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            if not reason.is_failure:
                client.subscribe(topic, qos=1)

        def on_subscribe(client: Any, userdata: Any, mid: int, codes: Any, props: Any) -> None:
            subscribed.set()

        def on_message(client: Any, userdata: Any, msg: Any) -> None:
            try:
                cmd = decode_message(bytes(msg.payload))
            except (msgspec.DecodeError, msgspec.ValidationError):
                self.bad_commands += 1  # a real car would log it; nothing to answer to
                return
            if msg.topic != cmd_topic(cmd.vin, self.prefix):
                self.bad_commands += 1  # a message naming another car than its topic
                return
            ack = CommandAck(id=cmd.id, status="delivered", ts=wall_ms())
            client.publish(ack_topic(cmd.vin, self.prefix), encode_command(ack), qos=1)
            with self._inbox_lock:
                self._inbox.append(cmd)

        c.on_connect = on_connect
        c.on_subscribe = on_subscribe
        c.on_message = on_message

    def listen(self, vins: Sequence[str], timeout_s: float = 10.0) -> None:
        """Connect now and wait until the command subscription is in place."""
        for vin in vins if self.per_vehicle else vins[:1]:
            self._client(vin)
        for ev in self._subscribed.values():
            if not ev.wait(timeout_s):
                raise Unavailable("the broker did not confirm the command subscription")

    def take_commands(self) -> list[CommandMessage]:
        with self._inbox_lock:
            out, self._inbox = self._inbox, []
        return out

    def ack(self, vin: str, ack: CommandAck) -> None:
        client = self._client(vin)
        self.pending.append(client.publish(ack_topic(vin, self.prefix), encode_command(ack), qos=1))

    def send(self, batches: Sequence[Batch]) -> None:
        for b in batches:
            info = self._client(b.vin).publish(
                telemetry_topic(b.vin, self.prefix), encode_batch(b, self.fmt), qos=1
            )
            self.pending.append(info)
        if len(self.pending) > 10_000:
            self._wait()

    def _wait(self) -> None:
        for info in self.pending:
            info.wait_for_publish(timeout=30)
        self.pending.clear()

    def close(self) -> None:
        self._wait()
        for c in self.clients.values():
            c.disconnect()
            c.loop_stop()


def load_tokens(path: str | Path) -> dict[str, str]:
    """Tokens file: JSON object {vin: token}, or the simulator's truth vehicles.parquet."""
    p = Path(path)
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        return {
            r["vin"]: r["token"] for r in pq.read_table(p, columns=["vin", "token"]).to_pylist()
        }
    data = json.loads(p.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a JSON object of vin -> token")
    return {str(k): str(v) for k, v in data.items()}


def make_sender(
    to: str,
    tokens: dict[str, str] | None = None,
    fmt: str = "msgpack",
    inproc: Callable[[str, bytes], object] | None = None,
    commands: bool = False,
) -> Sender:
    """A sender for a destination URL: file:DIR, http(s)://host:port, mqtt://host:port, inproc.
    `commands`: an MQTT sender's cars also subscribe to their command topics (an HTTP sender
    can always pull them)."""
    if to.startswith("file:"):
        return FileSender(to[5:], "json" if fmt == "json" else "msgpack")
    if to.startswith(("http://", "https://")):
        return HttpSender(to, tokens or {}, fmt)
    if to.startswith(("mqtt://", "mqtts://")):
        from volta.mqtt import BrokerAddress

        # Tokens and no account in the URL: each car signs in as itself.
        per_vehicle = bool(tokens) and BrokerAddress.parse(to).username is None
        return MqttSender(to, tokens, per_vehicle, fmt=fmt, commands=commands)
    if to == "inproc":
        if inproc is None:
            raise ConfigError(
                "inproc needs the embedded platform's ingest callable (see volta demo)"
            )
        return CallableSender(inproc, fmt)  # the embedded platform passes its transport's publish
    raise ConfigError(
        f"unknown destination {to!r}: use file:DIR, http://host:port, mqtt://host:port or inproc"
    )
