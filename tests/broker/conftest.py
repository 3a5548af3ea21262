"""A Mosquitto of the test's own, configured by `volta vehicles provision`.

Each test that needs it starts `mosquitto -c <generated mosquitto.conf>` on a free port of
127.0.0.1 and kills it in teardown; the machine's shared broker on 1883 is never touched.
"""

from __future__ import annotations

import json
import os
import pwd
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from typer.testing import CliRunner

from volta.cli import _register_all, app
from volta.clock import wall_ms
from volta.devservices import find_binary, free_port
from volta.registry import SQLiteRegistry

A = "JHMZZ1A1XRV000001"
B = "JHMZZ1A1XRV000002"
GW = "volta-gateway"
HOST = "127.0.0.1"
PREFIX = "volta/v1"
MOSQUITTO = find_binary("mosquitto", "/usr/sbin/mosquitto")


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def batch(vin: str, seq: int, speed: float = 1.0, ts: int | None = None) -> bytes:
    ts = wall_ms() - 5_000 if ts is None else ts
    body = {"v": 1, "vin": vin, "seq": seq, "ts": ts, "samples": [[0, "Vehicle.Speed", speed]]}
    return msgspec.json.encode(body)


def run_provision(data_dir: Path, out_dir: Path, *args: str) -> dict[str, Any]:
    """`volta vehicles provision …` through the real command line; its JSON answer."""
    _register_all()
    result = CliRunner().invoke(
        app,
        ["vehicles", "provision", "--data-dir", str(data_dir), "--out", str(out_dir), *args],
    )
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


@dataclass
class Broker:
    """A running private Mosquitto and the credentials provisioned for it."""

    data_dir: Path
    out_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    passwords: dict[str, str]
    clients: list[Client] = field(default_factory=list)

    def provision(self, *args: str) -> dict[str, Any]:
        """Provision again and reload the broker (SIGHUP); remember new secrets."""
        answer = run_provision(self.data_dir, self.out_dir, *args, "--reload-pid", str(self.pid))
        self.passwords.update({i["username"]: i["password"] for i in answer["issued"]})
        return answer

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"mqtt://{GW}:{self.passwords[GW]}@{HOST}:{self.port}"

    def client(self, username: str | None, password: str | None = None) -> Client:
        """A connected (or refused) client, closed at teardown."""
        client = Client(self.port, username, password)
        self.clients.append(client)
        return client

    def vehicle(self, vin: str) -> Client:
        return self.client(vin, self.passwords[vin])


@dataclass
class Client:
    """An MQTT 5 client that records what the broker answered: CONNACK, PUBACKs, SUBACKs,
    messages, disconnections."""

    port: int
    username: str | None
    password: str | None = field(repr=False)
    connack: ReasonCode | None = None
    pubacks: dict[int, ReasonCode] = field(default_factory=dict)
    subacks: dict[int, list[ReasonCode]] = field(default_factory=dict)
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    disconnects: list[ReasonCode] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.mqtt = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        if self.username is not None:
            self.mqtt.username_pw_set(self.username, self.password)
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_publish = self._on_publish
        self.mqtt.on_subscribe = self._on_subscribe
        self.mqtt.on_message = self._on_message
        self.mqtt.on_disconnect = self._on_disconnect
        self.mqtt.connect(HOST, self.port)
        self.mqtt.loop_start()
        assert wait_for(lambda: self.connack is not None), "no CONNACK"

    @property
    def connected(self) -> bool:
        return self.connack is not None and not self.connack.is_failure and not self.disconnects

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        """Publish at QoS 1 and wait for the broker's PUBACK reason."""
        mid = self.mqtt.publish(topic, payload, qos=1).mid
        assert wait_for(lambda: mid in self.pubacks), f"no PUBACK for {topic}"
        return self.pubacks[mid]

    def subscribe(self, topic: str) -> list[ReasonCode]:
        result, mid = self.mqtt.subscribe(topic, qos=1)
        assert mid is not None, f"SUBSCRIBE {topic} not sent: {mqtt.error_string(result)}"
        assert wait_for(lambda: mid in self.subacks), f"no SUBACK for {topic}"
        return self.subacks[mid]

    def received(self, topic: str) -> list[bytes]:
        with self._lock:
            return [payload for t, payload in self.messages if t == topic]

    def close(self) -> None:
        self.mqtt.disconnect()
        self.mqtt.loop_stop()

    def _on_connect(self, c: Any, u: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        self.connack = reason

    def _on_publish(self, c: Any, u: Any, mid: int, reason: ReasonCode, props: Any) -> None:
        self.pubacks[mid] = reason

    def _on_subscribe(
        self, c: Any, u: Any, mid: int, reasons: list[ReasonCode], props: Any
    ) -> None:
        self.subacks[mid] = reasons

    def _on_message(self, c: Any, u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def _on_disconnect(self, c: Any, u: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        self.disconnects.append(reason)


def start_mosquitto(conf: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    assert MOSQUITTO is not None
    with log.open("wb") as out:
        process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=out, stderr=out)

    def listening() -> bool:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return True
        except OSError:
            return False

    if not wait_for(lambda: listening() or process.poll() is not None, 10.0) or not listening():
        stop_mosquitto(process)
        pytest.fail(f"mosquitto did not start:\n{log.read_text()}")
    return process


def stop_mosquitto(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """Vehicles A and B registered, provisioned with `--all`, and a Mosquitto enforcing it."""
    if MOSQUITTO is None:
        pytest.skip("the mosquitto broker binary is not installed (apt install mosquitto)")
    data_dir, out_dir = tmp_path / "data", tmp_path / "broker"
    data_dir.mkdir()
    registry = SQLiteRegistry.open(data_dir)
    for vin in (A, B):
        registry.add_vehicle(vin, "Model V")
    registry.close()
    port = free_port()
    # The broker runs as this test's account (started as root, Mosquitto would otherwise
    # switch to `mosquitto`, which cannot read the test's private files).
    me = pwd.getpwuid(os.getuid()).pw_name
    answer = run_provision(
        data_dir, out_dir, "--all", "--listener", f"{HOST}:{port}", "--broker-user", me
    )
    passwords = {i["username"]: i["password"] for i in answer["issued"]}
    process = start_mosquitto(Path(answer["files"]["conf"]), port, tmp_path / "mosquitto.log")
    running = Broker(data_dir, out_dir, port, process, tmp_path / "mosquitto.log", passwords)
    try:
        yield running
    finally:
        for client in running.clients:
            client.close()
        stop_mosquitto(process)
