"""Senders: file, HTTP (wire contract against a stand-in server), MQTT (real Mosquitto), pacing."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx
import msgspec
import pytest

from volta.errors import ConfigError, Unavailable
from volta.sim.fleet import FleetConfig
from volta.sim.run import catch_up_clock, run
from volta.sim.senders import FileSender, HttpSender, MqttSender, encode_batch, make_sender
from volta.wire import Batch, decode_batch, telemetry_topic

from .simrun import START_MS, helsinki

VIN = "VLTNATB38ND000000"


def _batches(n: int = 3) -> list[Batch]:
    return [
        Batch(1, VIN, i + 1, START_MS + i * 10_000, [(0, "Vehicle.Speed", 42.5)]) for i in range(n)
    ]


def test_file_sender_writes_decodable_batches_in_both_formats(tmp_path: Path) -> None:
    for fmt in ("json", "msgpack"):
        s = FileSender(tmp_path / fmt, fmt)
        s.send(_batches())
        s.close()
        data = s.path.read_bytes()
        if fmt == "json":
            frames = data.splitlines()
        else:
            frames, pos = [], 0
            while pos < len(data):
                size = int.from_bytes(data[pos : pos + 4], "big")
                frames.append(data[pos + 4 : pos + 4 + size])
                pos += 4 + size
        assert [decode_batch(f).seq for f in frames] == [1, 2, 3]


def test_http_sender_posts_each_batch_with_the_vehicles_token_and_retries_5xx() -> None:
    seen: list[httpx.Request] = []
    answers = iter([503, 200, 200, 400])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(answers), text="nope")

    client = httpx.Client(base_url="http://volta", transport=httpx.MockTransport(handler))
    s = HttpSender("http://volta", {VIN: "secret"}, client=client, sleep=lambda _: None)
    s.send(_batches())
    assert len(seen) == 4  # the first batch was retried once
    r = seen[0]
    assert r.url.path == f"/v1/vehicles/{VIN}/telemetry"
    assert r.headers["authorization"] == "Bearer secret"
    assert r.headers["content-type"] == "application/msgpack"
    assert decode_batch(r.content).seq == 1
    assert s.rejected == [(VIN, 3, 400, "nope")]


def test_http_sender_gives_up_with_a_typed_error_and_needs_tokens() -> None:
    client = httpx.Client(
        base_url="http://volta", transport=httpx.MockTransport(lambda r: httpx.Response(503))
    )
    s = HttpSender("http://volta", {VIN: "t"}, client=client, retries=2, sleep=lambda _: None)
    with pytest.raises(Unavailable, match="503"):
        s.send(_batches(1))
    with pytest.raises(ConfigError, match="no bearer token"):
        HttpSender("http://volta", {}, client=client).send(_batches(1))


def test_unknown_destinations_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown destination"):
        make_sender("ftp://x")
    with pytest.raises(ConfigError, match="inproc"):
        make_sender("inproc")


def _broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.mark.services
def test_mqtt_sender_publishes_qos1_to_the_vehicles_topic() -> None:
    if not _broker_up():
        pytest.skip("no MQTT broker on 127.0.0.1:1883 (scripts/services.sh starts Mosquitto)")
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    prefix = f"test-sim-{uuid.uuid4().hex[:8]}/v1"
    got: list[tuple[str, bytes, int]] = []
    ready = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = lambda c, u, m: got.append((m.topic, bytes(m.payload), m.qos))
    sub.on_subscribe = lambda *a: ready.set()
    sub.connect("127.0.0.1", 1883)
    sub.subscribe(f"{prefix}/+/telemetry/+", qos=1)
    sub.loop_start()
    try:
        assert ready.wait(5)
        sender = MqttSender("mqtt://127.0.0.1:1883", topic_prefix=prefix)
        sender.send(_batches())
        sender.close()
        deadline = time.monotonic() + 5
        while len(got) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert [t for t, _, _ in got] == [telemetry_topic(VIN, prefix)] * 3  # its shard's
    assert [msgspec.msgpack.decode(p)["seq"] for _, p, _ in got] == [1, 2, 3]
    assert {q for _, _, q in got} == {1}


class _Recorder:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send(self, batches: Sequence[Batch]) -> None:
        self.frames.extend(encode_batch(b, "msgpack") for b in batches)

    def close(self) -> None:
        return None


def test_paced_runs_sleep_but_send_the_same_batches() -> None:
    config = FleetConfig(vehicles=3, seed=9, start_ms=START_MS + 5 * 3_600_000)
    fast = _Recorder()
    run(config, 3_600, fast, graph=helsinki())
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    paced = _Recorder()
    run(config, 3_600, paced, graph=helsinki(), speedup=60.0, clock=lambda: now[0], sleep=sleep)
    # the same batches; a paced run sends them in time order across vehicles
    assert sorted(paced.frames) == sorted(fast.frames)
    assert sum(slept) == pytest.approx(3_600 / 60, abs=1.0)  # an hour at 60x takes a minute


class _Sends(_Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def send(self, batches: Sequence[Batch]) -> None:
        self.calls += 1
        super().send(batches)


def test_a_paced_run_catching_up_sends_its_history_a_window_at_a_time() -> None:
    config = FleetConfig(vehicles=3, seed=9, start_ms=START_MS + 5 * 3_600_000, window_s=60)
    fast = _Recorder()
    run(config, 3_600, fast, graph=helsinki(), batch_s=1)
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    late = _Sends()  # the run starts an hour behind the clock, as the demo's history does
    clock = catch_up_clock(3_600, clock=lambda: now[0])
    run(config, 3_600, late, graph=helsinki(), batch_s=1, speedup=1.0, clock=clock, sleep=sleep)
    assert sorted(late.frames) == sorted(fast.frames)
    assert late.calls <= 3_600 // 60 + 1  # one send per window, not one per second
    assert now[0] == 0.0  # nothing waited: it was all due
