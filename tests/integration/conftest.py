"""Integration fixtures: the real Mosquitto on 127.0.0.1:1883 (skipped, with the reason, only
when nothing listens there), unique topic prefixes and client ids per test."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from volta.clock import wall_ms
from volta.config import Settings
from volta.devservices import PrivateMosquitto, PrivateNats, PrivatePostgres
from volta.errors import Unavailable
from volta.mqtt import BrokerAddress, end_session
from volta.sim.senders import encode_batch
from volta.wire import Batch

BROKER_HOST = "127.0.0.1"
BROKER_PORT = 1883
BROKER_URL = f"mqtt://{BROKER_HOST}:{BROKER_PORT}"
VIN = "JHMZZ1A1XRV000001"
SPEED = "Vehicle.Speed"
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"


def batch(samples: list[Any], seq: int = 1, vin: str = VIN, ts: int | None = None) -> bytes:
    """A wire-format v1 batch in JSON, built by hand."""
    ts = wall_ms() - 5_000 if ts is None else ts
    return msgspec.json.encode({"v": 1, "vin": vin, "seq": seq, "ts": ts, "samples": samples})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, **{"mqtt": None, **overrides})


def broker_listening() -> bool:
    try:
        with socket.create_connection((BROKER_HOST, BROKER_PORT), timeout=1.0):
            return True
    except OSError:
        return False


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0, every_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return predicate()


@dataclass
class MqttNames:
    prefix: str
    client_id: str


def forget_session(client_id: str) -> None:
    """Have the broker drop the test's session (if the broker is still there)."""
    with contextlib.suppress(Unavailable):
        end_session(BrokerAddress(BROKER_HOST, BROKER_PORT, tls=False), client_id)


@pytest.fixture
def mqtt_names() -> Iterator[MqttNames]:
    if not broker_listening():
        pytest.skip(
            f"no MQTT broker listens on {BROKER_HOST}:{BROKER_PORT} (make services starts one)"
        )
    run = uuid.uuid4().hex[:12]
    names = MqttNames(prefix=f"volta-test-{run}/v1", client_id=f"volta-test-gw-{run}")
    yield names
    forget_session(names.client_id)


@dataclass
class Publisher:
    """A vehicle-side MQTT client that remembers which messages the broker acknowledged."""

    prefix: str
    client: mqtt.Client = field(init=False)
    acked: set[int] = field(default_factory=set)  # mids
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"volta-test-pub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.on_publish = self._on_publish
        self.client.connect(BROKER_HOST, BROKER_PORT)
        self.client.loop_start()

    def _on_publish(
        self, client: mqtt.Client, userdata: object, mid: int, reason: object, props: object
    ) -> None:
        with self._lock:
            self.acked.add(mid)

    def publish(self, vin: str, payload: bytes) -> mqtt.MQTTMessageInfo:
        return self.client.publish(f"{self.prefix}/{vin}/telemetry", payload, qos=1)

    def is_acked(self, mid: int) -> bool:
        with self._lock:
            return mid in self.acked

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(mqtt_names: MqttNames) -> Iterator[Publisher]:
    p = Publisher(mqtt_names.prefix)
    yield p
    p.close()


# -- private servers (scale-out tests: restarting them disturbs nobody else) -----------------


@dataclass
class Servers:
    pg: PrivatePostgres
    nats: PrivateNats
    mosquitto: PrivateMosquitto


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    made: list[PrivatePostgres | PrivateNats | PrivateMosquitto] = []
    try:
        made.append(pg := PrivatePostgres())
        made.append(nats := PrivateNats())
        made.append(mosq := PrivateMosquitto())
    except Unavailable as e:
        for s in made:  # what was made before the missing one (initdb's cluster directory)
            s.close()
        pytest.skip(f"cannot run private servers: {e}")
    try:
        for s in made:
            s.start()
        yield Servers(pg, nats, mosq)
    finally:
        for s in made:
            s.close()


def publish_day(port: int, topic_of: Callable[[str], str], batches: Iterable[Batch]) -> None:
    """Publish every batch (MessagePack, QoS 1) on `topic_of(vin)` and wait for the broker's
    acknowledgements."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"cars-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(200)
    client.connect(BROKER_HOST, port)
    client.loop_start()
    try:
        sent = [client.publish(topic_of(b.vin), encode_batch(b, "msgpack"), qos=1) for b in batches]
        for info in sent:
            info.wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


def answers(get: Callable[[str], object]) -> bool:
    """Whether a started API answers yet (`get` a path of it)."""
    try:
        get("/v1/ingest/health")
        return True
    except OSError:
        return False


def stop_processes(procs: Iterable[subprocess.Popen[bytes]], timeout_s: float = 40) -> None:
    """SIGTERM to every process still running, then wait for each (killed after `timeout_s`)."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
