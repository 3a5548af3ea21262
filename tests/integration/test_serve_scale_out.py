"""`volta serve --workers 1` as deployed, on private PostgreSQL, NATS and Mosquitto: one gateway
worker stores what the cars publish, the processors process derives their drives, and the API
process answers with both (state from its twin, drives from the derived store). Stopping the
server stops its children.

Skipped only when a server binary is missing (initdb/pg_ctl, nats-server, mosquitto).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.sim.simrun import Day, simulate
from volta.devservices import children_of, free_port
from volta.registry import Registry, Role, SQLiteRegistry
from volta.registry.postgres import PostgresRegistry
from volta.registry.sqlite import DB_FILE
from volta.store.postgres_store import Server

from .conftest import Servers, answers, publish_day, stop_processes, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

# A drive's start as derived vs. as simulated (the driver-service truth tests hold it tighter).
START_TOLERANCE_MS = 60_000


@dataclass
class Served:
    url: str
    token: str
    prefix: str  # MQTT topic root
    proc: subprocess.Popen[bytes]
    data_dir: Path
    registry: str  # the registry engine: "sqlite" (in the data dir) or "postgresql"

    def get(self, path: str) -> Any:
        """The JSON body of an authorised GET."""
        req = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())


@pytest.fixture(scope="module")
def day() -> Day:
    """Three cars from midnight to 09:00 (UTC) of a Monday: the morning commutes."""
    return simulate(3, 9 * 3600, seed=5)


@pytest.fixture(params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, servers: Servers, day: Day, tmp_path: Path
) -> Iterator[Served]:
    """The registry in the data dir (embedded default), or in the store's database
    (`VOLTA_REGISTRY`, its keys given in the environment: nothing of it on the disk)."""
    run = uuid.uuid4().hex[:8]
    with psycopg.connect(servers.pg.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE serve_{run}")
    db_url = servers.pg.url.rsplit("/", 1)[0] + f"/serve_{run}"
    Server(db_url).migrate()
    keys: dict[str, str] = {}
    registry: Registry
    if request.param == "postgresql":
        keys = {"VOLTA_REGISTRY": db_url, "VOLTA_REGISTRY_KEY": secrets.token_hex(32),
                "VOLTA_SESSION_KEY": secrets.token_hex(32)}  # fmt: skip
        registry = PostgresRegistry(db_url, bytes.fromhex(keys["VOLTA_REGISTRY_KEY"]))
    else:
        registry = SQLiteRegistry.open(tmp_path)
    try:
        for v in day.truth.vehicles:
            registry.add_vehicle(v.vin, v.model)
        token = registry.issue_token(Role.OPERATOR).token
    finally:
        registry.close()
    port = free_port()
    env = {
        **os.environ,
        "VOLTA_STORE": db_url,
        "VOLTA_BUS": f"{servers.nats.url}?prefix=serve_{run}",
        "VOLTA_API_RATE_PER_S": "0",
        **keys,
    }
    args = [
        *("serve", "--workers", "1", "--data-dir", str(tmp_path), "--port", str(port)),
        *("--mqtt", servers.mosquitto.url, "--mqtt-prefix", f"serve-{run}/v1"),
        *("--mqtt-client-id", f"serve-gw-{run}", "--log-level", "warning"),
    ]
    # Workers of earlier runs keep their shared subscriptions (persistent sessions): wait for
    # this run's worker to add one.
    before = servers.mosquitto.wait_shared_subscriptions(0)
    proc = subprocess.Popen([sys.executable, "-m", "volta.cli", *args], env=env)
    served = Served(
        f"http://127.0.0.1:{port}", token, f"serve-{run}/v1", proc, tmp_path, request.param
    )
    try:
        # a Python importing and preparing its store on a busy machine: awaited, not slept
        assert wait_for(lambda: answers(served.get), timeout_s=90), "the API did not come up"
        servers.mosquitto.wait_shared_subscriptions(before + 1, timeout_s=90)
        yield served
    finally:
        stop_processes([proc])


def test_serve_with_workers_stores_derives_and_answers_then_stops_its_children(
    servers: Servers, served: Served, day: Day
) -> None:
    children = children_of(served.proc.pid)
    assert len(children) == 2, "one gateway worker and one processors process"
    publish_day(servers.mosquitto.port, lambda vin: f"{served.prefix}/{vin}/telemetry", day.batches)

    def stored() -> int:
        return int(served.get("/v1/ingest/health")["stored_batches"])

    assert wait_for(lambda: stored() == len(day.batches), timeout_s=60), (
        f"stored {stored()} of {len(day.batches)} batches"
    )

    # The twin (fed from the bus) has the newest speed of every car that sent any.
    # The twin's rule: the newest sample time wins, ties to the later batch and sample.
    newest: dict[str, tuple[tuple[int, int, int], object]] = {}  # vin -> (order, speed)
    for b in day.batches:
        for i, (offset, path, value) in enumerate(b.samples):
            order = (b.ts + offset, b.seq, i)
            if path == "Vehicle.Speed" and order > newest.get(b.vin, ((0, 0, 0), 0.0))[0]:
                newest[b.vin] = (order, value)

    def speed_of(vin: str) -> object:
        signals = served.get(f"/v1/vehicles/{vin}/state")["signals"]
        return signals.get("Vehicle.Speed", {}).get("value")

    for vin, (_, speed) in newest.items():  # the twin follows the store within moments
        assert wait_for(lambda: speed_of(vin) == speed, timeout_s=10), (vin, speed_of(vin), speed)  # noqa: B023

    # The processors process derived the drives that ended well before the data did.
    end_ms = max(b.ts for b in day.batches)
    finished = [d for d in day.truth.drives if d.end_ms < end_ms - 30 * 60_000]
    assert finished, "the simulated morning has finished drives"

    def derived_starts(vin: str) -> list[int]:
        drives = served.get(f"/v1/vehicles/{vin}/drives?limit=1000")["drives"]
        return [int(d["start_ms"]) for d in drives]

    def all_found() -> bool:
        return all(
            any(abs(s - t.start_ms) <= START_TOLERANCE_MS for s in derived_starts(t.vin))
            for t in finished
        )

    assert wait_for(all_found, timeout_s=60, every_s=0.5), (
        f"truth {[(t.vin, t.start_ms) for t in finished]}, "
        f"derived {[(vin, derived_starts(vin)) for vin in newest]}"
    )

    served.proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down, then re-raises the signal it stopped for
    assert served.proc.wait(timeout=40) in (0, -signal.SIGTERM)
    time.sleep(0.2)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert not alive, f"children left running: {alive}"
    if served.registry == "postgresql":  # the workers found the cars without the SQLite file
        assert not (served.data_dir / DB_FILE).exists()
