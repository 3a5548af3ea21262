"""Scale-out under faults, on private servers (so restarting them disturbs nobody else): a
simulated vehicle publishes QoS 1 batches through Mosquitto to two gateway worker processes
(`volta gateway`, run by the `Supervisor` as `volta serve --workers 2` does) on an MQTT shared
subscription, which store into PostgreSQL and publish to NATS. Each test restarts one server
(or kills one worker) while the vehicle publishes, and then checks what a user relies on:
every batch the broker acknowledged to the vehicle is stored exactly once.

Skipped only when a server binary is missing (initdb/pg_ctl, nats-server, mosquitto).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import paho.mqtt.client as mqtt
import psycopg
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from volta.api import create_app
from volta.clock import wall_ms
from volta.config import Settings
from volta.platform import Platform
from volta.registry import Role
from volta.store.postgres_store import Server
from volta.supervisor import Supervisor

from .conftest import Servers

pytestmark = [pytest.mark.services, pytest.mark.slow]

VINS = [f"JHMZZ1A1XRV{i:06d}" for i in range(8)]
SPEED = "Vehicle.Speed"
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
SAMPLES_PER_BATCH = 2


@dataclass
class Deployment:
    """One test's deployment: its own database, stream prefix, topic prefix, client ids."""

    settings: Settings
    db_url: str
    supervisor: Supervisor
    platform: Platform


@pytest.fixture
def deployment(servers: Servers, tmp_path: Path) -> Iterator[Deployment]:
    run = uuid.uuid4().hex[:8]
    with psycopg.connect(servers.pg.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE faults_{run}")
    db_url = servers.pg.url.rsplit("/", 1)[0] + f"/faults_{run}"
    Server(db_url).migrate()
    settings = Settings(
        data_dir=tmp_path,
        store=db_url,
        bus=f"{servers.nats.url}?prefix=faults_{run}",
        mqtt=servers.mosquitto.url,
        mqtt_topic_prefix=f"faults-{run}/v1",
        mqtt_client_id=f"faults-gw-{run}",
        store_timeout_s=1.0,
    )
    # The API process: registers the vehicles (the workers read the same registry), follows
    # the bus into its twin, no broker of its own.
    platform = Platform(settings.model_copy(update={"mqtt": None}), follow_workers=True)
    for vin in VINS:
        platform.registry.add_vehicle(vin, "faults")
    supervisor = Supervisor(2, settings, stop_timeout_s=20)
    supervisor.start()
    try:
        yield Deployment(settings, db_url, supervisor, platform)
    finally:
        supervisor.stop()
        platform.stop()


@dataclass
class Vehicle:
    """A simulated fleet on one MQTT connection that remembers which batches the broker
    acknowledged (PUBACK with success)."""

    port: int
    prefix: str
    acked: set[tuple[str, int]] = field(default_factory=set)
    sent: int = 0
    sent_at: dict[tuple[str, int], float] = field(default_factory=dict)  # monotonic
    _inflight: dict[int, tuple[str, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"faults-pub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.reconnect_delay_set(0.2, 2)  # type: ignore[arg-type]
        self.client.max_queued_messages_set(0)
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()

    def _on_publish(
        self, client: mqtt.Client, userdata: object, mid: int, reason: object, props: object
    ) -> None:
        ok = not getattr(reason, "is_failure", False)
        with self._lock:
            key = self._inflight.pop(mid, None)
            if key is not None and ok:
                self.acked.add(key)

    def publish_for(self, seconds: float, rate_hz: float = 40.0) -> None:
        """Publish round-robin over the VINs at `rate_hz` batches/s for `seconds`. Sequence
        numbers start at the wall clock (ms), so a later call (or another `Vehicle`) sends new
        batches, never duplicates of what an earlier one stored."""
        seqs = dict.fromkeys(VINS, wall_ms())
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            vin = VINS[i % len(VINS)]
            i += 1
            seqs[vin] += 1
            ts = wall_ms()
            body = msgspec.json.encode(
                {"v": 1, "vin": vin, "seq": seqs[vin], "ts": ts,
                 "samples": [[0, SPEED, float(i % 130)], [0, SOC, 50.0]]}
            )  # fmt: skip
            with self._lock:
                info = self.client.publish(f"{self.prefix}/{vin}/telemetry", body, qos=1)
                self._inflight[info.mid] = (vin, seqs[vin])
                self.sent_at[(vin, seqs[vin])] = time.monotonic()
            self.sent += 1
            time.sleep(1 / rate_hz)

    def settle(self, timeout_s: float = 20.0) -> None:
        """Wait for the outstanding PUBACKs (those lost in a broker restart never come)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._inflight:
                    break
            time.sleep(0.1)
        self.client.disconnect()
        self.client.loop_stop()


def stored(db_url: str) -> tuple[set[tuple[str, int]], int]:
    """(vin, seq) of every stored batch, and the number of stored samples."""
    with psycopg.connect(db_url) as conn:
        keys = {(r[0], r[1]) for r in conn.execute("SELECT vin, seq FROM batches").fetchall()}
        samples = conn.execute(
            "SELECT coalesce(sum(length(signal_ids) / 4), 0) FROM samples"
        ).fetchone()
    return keys, int(samples[0]) if samples else 0


def assert_exactly_once(
    d: Deployment,
    vehicle: Vehicle,
    timeout_s: float = 45.0,
    may_miss: frozenset[tuple[str, int]] | set[tuple[str, int]] = frozenset(),
) -> None:
    """Every acknowledged batch (but those in `may_miss`) is stored, none twice."""
    expected = vehicle.acked - may_miss
    deadline = time.monotonic() + timeout_s
    keys, samples = stored(d.db_url)
    while not expected <= keys and time.monotonic() < deadline:
        time.sleep(0.5)
        keys, samples = stored(d.db_url)
    missing = expected - keys
    assert not missing, (
        f"{len(missing)} acknowledged batches not stored, e.g. {sorted(missing)[:5]}"
    )
    # Nothing twice: the primary key makes a batch row unique; its samples must be too.
    assert samples == SAMPLES_PER_BATCH * len(keys)
    assert len(vehicle.acked) > 0.5 * vehicle.sent, (len(vehicle.acked), vehicle.sent)


def wait_workers_subscribed(d: Deployment, port: int) -> None:
    """Publish a probe batch until one is stored: then both workers are subscribed (the
    group exists as soon as one is; the other joins within its start time)."""
    time.sleep(3.0)  # the worker processes import and connect
    probe = Vehicle(port, d.settings.mqtt_topic_prefix)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        probe.publish_for(0.3, rate_hz=10)
        if stored(d.db_url)[0]:
            break
    probe.settle(5)


def publish_with_fault(d: Deployment, port: int, fault: threading.Thread) -> Vehicle:
    vehicle = Vehicle(port, d.settings.mqtt_topic_prefix)
    fault.start()
    vehicle.publish_for(8.0)
    fault.join()
    vehicle.settle()
    return vehicle


def test_postgres_restart_loses_and_doubles_nothing_and_the_api_answers_503(
    servers: Servers, deployment: Deployment
) -> None:
    wait_workers_subscribed(deployment, servers.mosquitto.port)
    token = deployment.platform.registry.issue_token(Role.OPERATOR).token
    answers: list[tuple[int, float, dict[str, str], str | None]] = []
    down: list[float] = []

    def fault() -> None:
        time.sleep(2.0)
        servers.pg.stop()
        down.append(time.monotonic())
        try:
            with TestClient(create_app(deployment.platform)) as client:
                started = time.monotonic()
                r = client.get("/v1/ingest/health", headers={"Authorization": f"Bearer {token}"})
                answers.append(
                    (r.status_code, time.monotonic() - started, r.json(),
                     r.headers.get("Retry-After"))
                )  # fmt: skip
            time.sleep(2.0)
        finally:
            down.append(time.monotonic())
            servers.pg.start()

    vehicle = publish_with_fault(deployment, servers.mosquitto.port, threading.Thread(target=fault))
    status, seconds, body, retry_after = answers[0]
    assert status == 503, body
    assert body["error"] == "unavailable" and "PostgreSQL" in body["message"]
    assert retry_after is not None
    assert seconds < 2.5, f"the API took {seconds:.1f} s to say the store is down"
    # Batches the broker took while the store was down were retried, not dropped.
    during = {k for k, t in vehicle.sent_at.items() if down[0] < t < down[1]} & vehicle.acked
    assert len(during) > 20, len(during)
    assert_exactly_once(deployment, vehicle)


def test_nats_restart_loses_nothing_and_the_twin_follows_again(
    servers: Servers, deployment: Deployment
) -> None:
    wait_workers_subscribed(deployment, servers.mosquitto.port)

    def fault() -> None:
        time.sleep(2.0)
        servers.nats.restart(down_s=2.0)

    vehicle = publish_with_fault(deployment, servers.mosquitto.port, threading.Thread(target=fault))
    assert_exactly_once(deployment, vehicle)
    # The API's twin follows the bus again: a batch published now reaches it.
    after = Vehicle(servers.mosquitto.port, deployment.settings.mqtt_topic_prefix)
    twin = deployment.platform.twin
    deadline = time.monotonic() + 20
    newest = 0
    while time.monotonic() < deadline and newest < (time.time() - 1) * 1000:
        after.publish_for(0.5, rate_hz=20)
        values = twin.get(VINS[0])
        newest = max((v.ts_ms for v in values.values()), default=0)
    after.settle(5)
    assert newest >= (time.time() - 10) * 1000, "the twin stopped following the bus"


def test_mosquitto_restart_loses_and_doubles_nothing(
    servers: Servers, deployment: Deployment
) -> None:
    """Everything the broker held across its restart is delivered once. The one exception is
    Mosquitto 2.0.11's, pinned by `test_mosquitto_does_not_restore_shared_subscriptions`: a
    batch the restarted broker accepts before a worker has subscribed again has no shared
    subscription to go to, so the broker acks and drops it. Those batches may be missing
    (docs/deployment.md); every other acknowledged batch must be stored exactly once."""
    wait_workers_subscribed(deployment, servers.mosquitto.port)
    window: list[float] = []

    def fault() -> None:
        time.sleep(2.0)
        window.append(time.monotonic())
        servers.mosquitto.restart(down_s=1.0)
        servers.mosquitto.wait_shared_subscriptions(1)
        window.append(time.monotonic())

    vehicle = publish_with_fault(deployment, servers.mosquitto.port, threading.Thread(target=fault))
    exposed = {k for k, t in vehicle.sent_at.items() if window[0] <= t <= window[1]}
    assert_exactly_once(deployment, vehicle, may_miss=exposed)
    before = {k for k, t in vehicle.sent_at.items() if t < window[0]}
    assert before <= vehicle.acked, "batches acked before the restart must all be stored"


def _session(port: int, client_id: str, got: list[bytes], expiry_s: int) -> mqtt.Client:
    """A connected MQTT 5 client resuming (or starting) a persistent session."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.on_message = lambda _c, _u, m: got.append(bytes(m.payload))
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = expiry_s
    c.connect("127.0.0.1", port, clean_start=False, properties=props)
    c.loop_start()
    return c


def test_mosquitto_does_not_restore_shared_subscriptions(servers: Servers) -> None:
    """The broker behaviour the test above allows for. Mosquitto 2.0.11 keeps a persistent
    session's plain subscription across a restart but not its shared one, so until the
    subscriber is back the broker acks messages for the group and drops them. If a broker
    upgrade fixes this, this test fails: then drop `may_miss` above."""
    from paho.mqtt.subscribeoptions import SubscribeOptions

    port, run = servers.mosquitto.port, uuid.uuid4().hex[:8]
    filters = {"plain": f"probe-{run}/plain", "shared": f"$share/probe/probe-{run}/shared"}
    got: dict[str, list[bytes]] = {kind: [] for kind in filters}
    for kind, topic_filter in filters.items():
        c = _session(port, f"probe-{kind}-{run}", got[kind], expiry_s=600)
        c.subscribe(topic_filter, options=SubscribeOptions(qos=1))
        time.sleep(0.5)
        c.disconnect()
        c.loop_stop()
    servers.mosquitto.restart()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.connect("127.0.0.1", port)
    publisher.loop_start()
    for kind in filters:
        publisher.publish(f"probe-{run}/{kind}", kind.encode(), qos=1).wait_for_publish(5)
    publisher.disconnect()
    publisher.loop_stop()
    for kind in filters:  # resume each session without subscribing: what did it keep?
        c = _session(port, f"probe-{kind}-{run}", got[kind], expiry_s=0)
        time.sleep(1.0)
        c.disconnect()
        c.loop_stop()
    assert got["plain"] == [b"plain"]
    assert got["shared"] == []


def test_a_killed_worker_is_restarted_and_gets_its_unacked_batches_again(
    servers: Servers, deployment: Deployment
) -> None:
    wait_workers_subscribed(deployment, servers.mosquitto.port)
    victim = deployment.supervisor.pids()[0]

    def fault() -> None:
        time.sleep(3.0)
        os.kill(victim, signal.SIGKILL)

    vehicle = publish_with_fault(deployment, servers.mosquitto.port, threading.Thread(target=fault))
    assert deployment.supervisor.restarts[0] == 1
    assert victim not in deployment.supervisor.pids()
    assert_exactly_once(deployment, vehicle)
