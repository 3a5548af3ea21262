"""`kill -9` the server while a publisher sends QoS 1 batches; after a restart, every batch
the publisher saw acknowledged is stored exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from volta.clock import wall_ms
from volta.registry import Role, SQLiteRegistry
from volta.store.duckdb_store import DuckDBStore

from .conftest import BROKER_URL, SPEED, VIN, MqttNames, Publisher, batch, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

BATCHES = 300
SAMPLES_PER_BATCH = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`volta serve` as a subprocess on a data dir, with MQTT on."""

    def __init__(self, data_dir: Path, names: MqttNames, operator: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.operator = operator
        self.cmd = [
            sys.executable, "-m", "volta.cli", "serve",
            "--data-dir", str(data_dir), "--port", str(self.port),
            "--mqtt", BROKER_URL, "--mqtt-prefix", names.prefix,
            "--mqtt-client-id", names.client_id,
            "--log-level", "warning",
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=log)
        assert wait_for(self.mqtt_connected, timeout_s=30), self.log.read_text()

    def health(self) -> dict[str, Any] | None:
        try:
            r = httpx.get(
                f"{self.url}/v1/ingest/health",
                headers={"Authorization": f"Bearer {self.operator}"},
                timeout=2,
            )
        except httpx.HTTPError:
            return None
        return r.json() if r.status_code == 200 else None

    def mqtt_connected(self) -> bool:
        h = self.health()
        return bool(h and isinstance(h.get("mqtt"), dict) and h["mqtt"]["connected"])

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)
        self.proc.wait(timeout=20)


def test_kill_9_mid_stream_loses_and_duplicates_nothing_acknowledged(
    tmp_path: Path, mqtt_names: MqttNames, publisher: Publisher
) -> None:
    registry = SQLiteRegistry.open(tmp_path)
    registry.add_vehicle(VIN)
    operator = registry.issue_token(Role.OPERATOR).token
    registry.close()
    server = Server(tmp_path, mqtt_names, operator)
    server.start()  # subscribed: the broker now keeps our session while we are down

    t0 = wall_ms() - BATCHES * 1000
    mids: dict[int, int] = {}  # seq -> mid
    done = threading.Event()

    def publish_all() -> None:
        for seq in range(1, BATCHES + 1):
            samples = [[i * 10, SPEED, float(seq % 250)] for i in range(SAMPLES_PER_BATCH)]
            mids[seq] = publisher.publish(VIN, batch(samples, seq=seq, ts=t0 + seq * 1000)).mid
            time.sleep(0.004)
        done.set()

    thread = threading.Thread(target=publish_all)
    thread.start()
    assert wait_for(lambda: len(mids) >= BATCHES // 3, timeout_s=20)

    def some_stored() -> bool:  # on a loaded machine the first commit may lag the publisher
        h = server.health()
        return bool(h and int(h["stored_batches"]) > 0)

    assert wait_for(some_stored, timeout_s=30), server.health()
    before = server.health()
    server.kill()  # mid-stream: some batches stored and acked, some stored not acked, some neither
    killed_at = len(mids)
    assert before is not None and 0 < int(before["stored_batches"]) < BATCHES
    server.start()
    thread.join(timeout=60)
    assert done.is_set()
    assert killed_at < BATCHES

    acked = {seq for seq, mid in mids.items() if publisher.is_acked(mid)}
    assert wait_for(
        lambda: len(acked | {s for s, m in mids.items() if publisher.is_acked(m)}) == BATCHES, 10
    )
    acked = {seq for seq, mid in mids.items() if publisher.is_acked(mid)}

    def all_stored() -> bool:
        h = server.health()
        return bool(h and h["stored_batches"] == len(acked))

    assert wait_for(all_stored, timeout_s=60), server.health()
    server.kill(signal.SIGTERM)

    store = DuckDBStore(tmp_path / "volta.duckdb")
    try:
        assert all(store.has_batch(VIN, seq) for seq in acked)
        stats = store.stats()
        assert stats.batches == len(acked)
        assert stats.samples == len(acked) * SAMPLES_PER_BATCH  # exactly once: no sample twice
        series = store.history(
            VIN,
            [store_signal_id()],
            t0,
            t0 + (BATCHES + 2) * 1000,
            max_points=10 * BATCHES * SAMPLES_PER_BATCH,
        )
        assert len(series[0].ts) == len(set(series[0].ts)) == len(acked) * SAMPLES_PER_BATCH
    finally:
        store.close()


def store_signal_id() -> int:
    from volta.catalog import default_catalog

    return default_catalog().get(SPEED).id
