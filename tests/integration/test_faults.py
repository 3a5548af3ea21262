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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
from volta.devservices import PrivateMosquitto
from volta.ingest.commit import IngestResult
from volta.ingest.mqtt import MqttTransport, claim_shards
from volta.mqtt import BrokerAddress, end_session
from volta.platform import Platform
from volta.registry import Role
from volta.store.postgres_store import Server
from volta.supervisor import Supervisor
from volta.wire import (
    legacy_telemetry_topic,
    owned_shards,
    shard_filter,
    shard_of,
    telemetry_topic,
)

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


@contextmanager
def deployed(servers: Servers, tmp_path: Path, vins: list[str]) -> Iterator[Deployment]:
    """Two supervised workers and the API process on `servers`, `vins` registered."""
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
        # The machine running the tests is shared and often busy: niced workers can take
        # a minute to start there, which tests nothing.
        background_nice=0,
    )
    # The API process: registers the vehicles (the workers read the same registry), follows
    # the bus into its twin, no broker of its own.
    platform = Platform(settings.model_copy(update={"mqtt": None}), follow_workers=True)
    supervisor = Supervisor(2, settings, stop_timeout_s=20)
    supervisor.start()
    try:
        # While the workers start (they look up a VIN they have not seen at its first batch).
        for vin in vins:
            platform.registry.add_vehicle(vin, "faults")
        yield Deployment(settings, db_url, supervisor, platform)
    finally:
        supervisor.stop()
        platform.stop()


@pytest.fixture
def deployment(servers: Servers, tmp_path: Path) -> Iterator[Deployment]:
    with deployed(servers, tmp_path, VINS) as d:
        yield d


@dataclass
class Vehicle:
    """A simulated fleet on one MQTT connection that remembers which batches the broker
    acknowledged (a PUBACK: "success" or "no matching subscribers", the car cannot tell
    them apart). Its cars publish to their shard's topic, or with `legacy` to the topic of cars
    from before the shards. paho sends again on reconnection what was not acknowledged."""

    port: int
    prefix: str
    vins: list[str] = field(default_factory=lambda: list(VINS))
    legacy: bool = False
    sent: int = 0
    sent_at: dict[tuple[str, int], float] = field(default_factory=dict)  # monotonic
    # No lock shared with the paho callback: paho calls back holding its own message lock,
    # which `publish` takes too (a lock taken in both orders deadlocked at 100 batches/s).
    # Message ids are unique per connection up to 65,535 publishes, far more than a test's.
    _keys: dict[int, tuple[str, int]] = field(default_factory=dict)  # mid → batch
    _acks: list[tuple[int, bool]] = field(default_factory=list)  # (mid, success) per PUBACK

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
        self._acks.append((mid, not getattr(reason, "is_failure", False)))

    @property
    def acked(self) -> set[tuple[str, int]]:
        """(vin, seq) of every batch the broker acknowledged so far."""
        keys = dict(self._keys)
        return {keys[mid] for mid, ok in list(self._acks) if ok and mid in keys}

    def publish_for(self, seconds: float, rate_hz: float = 40.0) -> None:
        """Publish round-robin over the VINs at `rate_hz` batches/s for `seconds`. Sequence
        numbers start at the wall clock (ms), so a later call (or another `Vehicle`) sends new
        batches, never duplicates of what an earlier one stored."""
        seqs = dict.fromkeys(self.vins, wall_ms())
        topic = legacy_telemetry_topic if self.legacy else telemetry_topic
        started = time.monotonic()
        end = started + seconds
        i = 0
        while time.monotonic() < end:
            vin = self.vins[i % len(self.vins)]
            i += 1
            seqs[vin] += 1
            ts = wall_ms()
            body = msgspec.json.encode(
                {"v": 1, "vin": vin, "seq": seqs[vin], "ts": ts,
                 "samples": [[0, SPEED, float(i % 130)], [0, SOC, 50.0]]}
            )  # fmt: skip
            key = (vin, seqs[vin])
            self.sent_at[key] = time.monotonic()
            self._keys[self.client.publish(topic(vin, self.prefix), body, qos=1).mid] = key
            self.sent += 1
            # Paced by the clock, not by a sleep per batch: a busy machine must not slow it.
            time.sleep(max(0.0, started + i / rate_hz - time.monotonic()))

    def settle(self, timeout_s: float = 20.0) -> None:
        """Wait for the outstanding PUBACKs (or `timeout_s`), then disconnect."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(self._acks) < self.sent:
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


def wait_stored(
    d: Deployment, expected: set[tuple[str, int]], timeout_s: float = 45.0
) -> set[tuple[str, int]]:
    """The stored batches' keys, once they include `expected` (or at `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    keys = stored(d.db_url)[0]
    while not expected <= keys and time.monotonic() < deadline:
        time.sleep(0.5)
        keys = stored(d.db_url)[0]
    return keys


def assert_exactly_once(d: Deployment, vehicle: Vehicle, timeout_s: float = 45.0) -> None:
    """Every acknowledged batch is stored, none twice."""
    keys = wait_stored(d, vehicle.acked, timeout_s)
    missing = vehicle.acked - keys
    assert not missing, (
        f"{len(missing)} acknowledged batches not stored, e.g. {sorted(missing)[:5]}"
    )
    # Nothing twice: the primary key makes a batch row unique; its samples must be too.
    assert stored(d.db_url)[1] == SAMPLES_PER_BATCH * len(keys)
    assert len(vehicle.acked) > 0.5 * vehicle.sent, (len(vehicle.acked), vehicle.sent)


def wait_workers_subscribed(d: Deployment, mosquitto: PrivateMosquitto) -> None:
    """Publish probe batches until both workers have stored one (a car on each worker's
    shards), then until one on the topic of cars from before the shards is stored (they still
    reach the store). On a busy machine a worker process can take tens of seconds to start;
    what a car publishes before its worker's session exists reaches nobody, so the tests
    publish only after this."""
    prefix = d.settings.mqtt_topic_prefix
    ours = [next(v for v in VINS if shard_of(v) % 2 == i) for i in range(2)]
    probes = [
        Vehicle(mosquitto.port, prefix, vins=ours),
        Vehicle(mosquitto.port, prefix, vins=VINS[:1], legacy=True),
    ]
    for probe in probes:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            probe.publish_for(0.2, rate_hz=10)
            if {vin for vin, _ in probe.acked & stored(d.db_url)[0]} == set(probe.vins):
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
    wait_workers_subscribed(deployment, servers.mosquitto)
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
    wait_workers_subscribed(deployment, servers.mosquitto)

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


FLEET = [f"JHMZZ1A1XRV1{i:05d}" for i in range(1000)]  # not the probes' VINS
CONNECTIONS = 4  # the fleet's MQTT connections (one per car would be 1,000 paho threads here)


def test_a_thousand_cars_lose_nothing_acknowledged_across_two_broker_restarts_and_a_killed_worker(
    servers: Servers, tmp_path: Path
) -> None:
    """The promise of docs/deployment.md: what the broker acknowledged to a car is stored,
    once, whatever restarts. 1,000 cars publish QoS 1 batches (~400/s) for 10 s; meanwhile a
    worker is killed (`kill -9`; the supervisor restarts it, and the broker gives the new
    worker what the killed one had not acknowledged) and Mosquitto is restarted twice. Every
    batch is counted as the cars saw it: stored == acknowledged, nothing stored twice. With
    the workers on a shared subscription this failed: Mosquitto 2.0.11 forgets shared
    subscriptions at a restart, so it acknowledged and dropped the batches published before
    the workers had subscribed again."""
    port = servers.mosquitto.port
    with deployed(servers, tmp_path, VINS + FLEET) as d:
        wait_workers_subscribed(d, servers.mosquitto)
        cars = [
            Vehicle(port, d.settings.mqtt_topic_prefix, vins=FLEET[i::CONNECTIONS])
            for i in range(CONNECTIONS)
        ]
        victim = d.supervisor.pids()[0]

        def faults() -> None:
            # The worker first: its successor's start (seconds on a busy machine) overlaps
            # the rest, and the broker restarts while it may still be away.
            time.sleep(1.0)
            os.kill(victim, signal.SIGKILL)
            time.sleep(2.0)
            servers.mosquitto.restart(down_s=0.5)
            time.sleep(3.0)
            servers.mosquitto.restart(down_s=0.5)

        threads = [threading.Thread(target=car.publish_for, args=(10.0, 100.0)) for car in cars]
        threads.append(threading.Thread(target=faults))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for car in cars:
            car.settle(30)

        acked: set[tuple[str, int]] = set().union(*(car.acked for car in cars))
        sent = sum(car.sent for car in cars)
        assert d.supervisor.restarts[0] == 1, "the killed worker was not restarted"
        assert victim not in d.supervisor.pids()
        assert {vin for vin, _ in acked} == set(FLEET), "every car sent and was answered"
        fleet = set(FLEET)
        keys = {k for k in wait_stored(d, acked, timeout_s=90.0) if k[0] in fleet}
        missing = acked - keys
        assert not missing, f"{len(missing)} of {len(acked)} acknowledged batches not stored"
        # Stored == acknowledged: no batch a car does not know was delivered (the cars'
        # clients send again what the broker had not acknowledged when it went down) …
        assert keys == acked, f"{len(keys - acked)} stored batches were never acknowledged"
        # … and nothing twice: `batches` has one row per (vin, seq); its samples once too.
        everything, samples = stored(d.db_url)
        assert samples == SAMPLES_PER_BATCH * len(everything)
        assert len(acked) == sent, f"{sent - len(acked)} of {sent} batches never acknowledged"


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


def test_mosquitto_restores_shard_subscriptions_but_not_shared_ones(servers: Servers) -> None:
    """Why each worker holds one ordinary subscription per shard. Mosquitto 2.0.11 keeps a
    persistent session's ordinary (wildcard) subscription across its restart, and queues for
    it while the subscriber is away; a shared one it forgets, so until the subscriber is back
    it acks messages for the group and drops them. If a broker upgrade restores shared ones
    too, the second assertion fails: then the cars from before the shards are safe as well
    (docs/deployment.md)."""
    from paho.mqtt.subscribeoptions import SubscribeOptions

    port, run, vin = servers.mosquitto.port, uuid.uuid4().hex[:8], VINS[0]
    prefix = f"probe-{run}/v1"
    filters = {
        "shard": shard_filter(shard_of(vin), prefix),
        "shared": f"$share/probe/{prefix}/+/telemetry",
    }
    topics = {"shard": telemetry_topic(vin, prefix), "shared": legacy_telemetry_topic(vin, prefix)}
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
    for kind, topic in topics.items():
        publisher.publish(topic, kind.encode(), qos=1).wait_for_publish(5)
    publisher.disconnect()
    publisher.loop_stop()
    for kind in filters:  # resume each session without subscribing: what did it keep?
        c = _session(port, f"probe-{kind}-{run}", got[kind], expiry_s=0)
        time.sleep(1.0)
        c.disconnect()
        c.loop_stop()
    assert got["shard"] == [b"shard"]
    assert got["shared"] == []


class Taken:
    """A gateway that only notes which vehicles' batches it was given (and never answers)."""

    def __init__(self) -> None:
        self.vins: list[str] = []

    def submit(self, payload: bytes, vin: str, on_done: Callable[[IngestResult], None]) -> None:
        self.vins.append(vin)


def test_more_workers_take_over_shards_without_a_moment_unsubscribed(servers: Servers) -> None:
    """From 2 workers to 3: worker 0 hands shard 2 to worker 2 and unsubscribes it when it
    connects. Claimed ahead (as `volta serve --workers 3` does before it starts them), worker
    2's session already holds shard 2, so a batch published there before worker 2 runs waits
    for it instead of being dropped."""
    run = uuid.uuid4().hex[:8]
    prefix, ids = f"claim-{run}/v1", [f"claim-gw-{run}-{i}" for i in range(3)]
    url = servers.mosquitto.url
    claim_shards(url, prefix, {ids[i]: owned_shards(i, 2) for i in range(2)})
    claim_shards(url, prefix, {ids[i]: owned_shards(i, 3) for i in range(3)})
    taken = Taken()
    worker0 = MqttTransport(
        taken,
        url=url,
        topic_prefix=prefix,
        client_id=ids[0],
        shards=owned_shards(0, 3),
    )
    worker0.start()
    try:
        assert worker0.connected
        vin = next(v for v in (f"JHMZZ1A1XRV{i:06d}" for i in range(100)) if shard_of(v) == 2)
        car = Vehicle(servers.mosquitto.port, prefix, vins=[vin])
        car.publish_for(0.05)
        car.settle(5)
        assert car.acked
        got: list[bytes] = []
        worker2 = _session(servers.mosquitto.port, ids[2], got, expiry_s=0)
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        worker2.disconnect()
        worker2.loop_stop()
        assert len(got) == car.sent
        assert taken.vins == []  # worker 0 gave shard 2 away
    finally:
        worker0.stop()
        for client_id in ids[:2]:
            end_session(BrokerAddress.parse(url), client_id)
