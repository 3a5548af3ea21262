"""Scale-out with no disk in common (issue 15, part 2): the API process (`volta serve
--api-only`), two gateway workers (`volta gateway`) and the processors (`volta processors`),
each started in its OWN EMPTY data dir, on private PostgreSQL, NATS and Mosquitto. Places are
written through the API, a simulated fleet sends through the broker, and the API answers
state, history, drives, charges, places and diagnostics as the cars sent them and as the
simulator's truth has them, and a tyre leak the processors predict opens a service case in the
API process; no process wrote anything of the platform's into its data dir.

Skipped only when a server binary is missing (initdb/pg_ctl, nats-server, mosquitto).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.sim.simrun import Day, simulate
from volta.devservices import free_port
from volta.diagnostics.vehicle import SIGNALS as DIAGNOSED
from volta.places.core import distance_m
from volta.registry import Role
from volta.registry.postgres import PostgresRegistry
from volta.wire import Batch
from volta.wire.topics import telemetry_topic

from .conftest import Servers, answers, publish_day, stop_processes, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

BOUNDARY_MS = 60_000  # a drive's or charge's start and end as derived vs. as simulated
HOME_PRICE = 0.20  # EUR per kWh at every home
SPEED = "Vehicle.Speed"
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
LEAKING = "JHMZZ1A1XRV000077"  # a car of the fleet with nothing but a leaking tyre to say
TYRE = "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure"
AIR = "Vehicle.Exterior.AirTemperature"


@dataclass
class Deployment:
    url: str
    token: str
    prefix: str  # MQTT topic root
    dirs: dict[str, Path]  # each process's data dir, by process
    procs: dict[str, subprocess.Popen[bytes]]
    logs: Path  # each process's output, outside the data dirs

    def request(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def get(self, path: str) -> Any:
        return self.request("GET", path)


@pytest.fixture(scope="module")
def day() -> Day:
    """Six cars from midnight to noon (UTC) of a Monday: night charging at home, the morning
    commutes."""
    return simulate(6, 12 * 3600, seed=7)


@pytest.fixture
def deployment(servers: Servers, day: Day, tmp_path: Path) -> Iterator[Deployment]:
    run = uuid.uuid4().hex[:8]
    with psycopg.connect(servers.pg.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE nodisk_{run}")
    db_url = servers.pg.url.rsplit("/", 1)[0] + f"/nodisk_{run}"
    key, session_key = secrets.token_hex(32), secrets.token_hex(32)
    registry = PostgresRegistry(db_url, bytes.fromhex(key), signing_key=bytes.fromhex(session_key))
    try:
        for v in day.truth.vehicles:
            registry.add_vehicle(v.vin, v.model)
        registry.add_vehicle(LEAKING, day.truth.vehicles[0].model)
        token = registry.issue_token(Role.OPERATOR).token
    finally:
        registry.close()
    port = free_port()
    prefix = f"nodisk-{run}/v1"
    common = {
        **os.environ,
        **{
            f"VOLTA_{part}": db_url
            for part in ("STORE", "REGISTRY", "DERIVED", "PLACES", "DIAGNOSTICS")
        },
        "VOLTA_REGISTRY_KEY": key,
        "VOLTA_SESSION_KEY": session_key,
        "VOLTA_BUS": f"{servers.nats.url}?prefix=nodisk_{run}",
        "VOLTA_MQTT": servers.mosquitto.url,
        "VOLTA_MQTT_TOPIC_PREFIX": prefix,
        "VOLTA_MQTT_CLIENT_ID": f"nodisk-gw-{run}",
        "VOLTA_API_RATE_PER_S": "0",
    }
    commands = {
        "api": ["serve", "--api-only", "--port", str(port)],
        "worker-0": ["gateway", "--index", "0", "--workers", "2"],
        "worker-1": ["gateway", "--index", "1", "--workers", "2"],
        "processors": ["processors"],
    }
    dirs = {name: tmp_path / name for name in commands}
    before = servers.mosquitto.wait_shared_subscriptions(0)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = tmp_path / "logs"
    logs.mkdir()
    # the processors say when they follow the bus: a new durable consumer starts at new events
    level = {name: "info" if name == "processors" else "warning" for name in commands}
    for name, args in commands.items():
        dirs[name].mkdir()
        with (logs / f"{name}.log").open("wb") as log:
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "volta.cli", *args, "--log-level", level[name]],
                env={**common, "VOLTA_DATA_DIR": str(dirs[name])},
                cwd=dirs[name],  # nothing relative may land anywhere else either
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    deployment = Deployment(f"http://127.0.0.1:{port}", token, prefix, dirs, procs, logs)
    try:
        # Four Pythons importing at once: ~3 CPU-s each, far longer on a busy shared machine.
        up = wait_for(lambda: answers(deployment.get), timeout_s=240, every_s=0.2)
        assert up, f"the API did not come up: {_tails(logs)}"
        servers.mosquitto.wait_shared_subscriptions(before + 2)
        following = wait_for(
            lambda: "processors: following" in (logs / "processors.log").read_text(), timeout_s=120
        )
        assert following, f"the processors did not subscribe: {_tails(logs)}"
        yield deployment
    finally:
        stop_processes(procs.values(), timeout_s=30)


def _tails(logs: Path) -> str:
    """The last lines each process wrote: what a failure report needs."""
    return "\n".join(
        f"--- {f.stem}\n" + "\n".join(f.read_text(errors="replace").splitlines()[-15:])
        for f in sorted(logs.iterdir())
    )


def _leak(end_ms: int) -> list[Batch]:
    """30 hourly batches of a front-left tyre losing 8 kPa a day (as tests.service.leak)."""
    return [
        Batch(v=1, vin=LEAKING, seq=h + 1, ts=end_ms - (29 - h) * 3_600_000,
              samples=[(0, AIR, 20.0), (0, TYRE, round(240.0 - 8.0 * h / 24.0))])
        for h in range(30)
    ]  # fmt: skip


def _sent(day: Day, vin: str, path: str) -> list[tuple[int, float]]:
    """(time, value) of every sample of `vin`'s `path` the cars sent, in time order."""
    out: dict[int, float] = {}
    for b in day.batches:
        if b.vin == vin:
            for offset, p, value in b.samples:
                if p == path and isinstance(value, int | float):
                    out[b.ts + offset] = float(value)
    return sorted(out.items())


def test_api_workers_and_processors_share_no_disk(
    servers: Servers, deployment: Deployment, day: Day
) -> None:
    d, truth = deployment, day.truth
    # Places, written through the API process: each home with a charger, priced.
    homes = {}
    for v in truth.vehicles:
        if v.home_charger_kw > 0:
            body = {"name": f"Home {v.vin[-2:]}", "lat": v.home_lat, "lon": v.home_lon,
                    "radius_m": 60, "vin": v.vin,
                    "tariff": {"price_per_kwh": HOME_PRICE, "currency": "EUR"}}  # fmt: skip
            homes[v.vin] = d.request("POST", "/v1/places", body)["id"]
    assert {p["id"] for p in d.get("/v1/places")["places"]} == set(homes.values())

    # each car on its shard topic, as cars publish: one worker takes all of a car's batches
    batches = day.batches + _leak(max(b.ts for b in day.batches))
    publish_day(servers.mosquitto.port, lambda vin: telemetry_topic(vin, d.prefix), batches)

    def stored() -> int:
        return int(d.get("/v1/ingest/health")["stored_batches"])

    assert wait_for(lambda: stored() == len(batches), timeout_s=40), (
        f"stored {stored()} of {len(batches)} batches"
    )

    # State: the API's twin follows the workers over the bus.
    for v in truth.vehicles:
        speed = _sent(day, v.vin, SPEED)[-1][1]

        def now(vin: str = v.vin) -> object:
            signals = d.get(f"/v1/vehicles/{vin}/state")["signals"]
            return signals.get(SPEED, {}).get("value")

        assert wait_for(lambda: now() == speed, timeout_s=10), (v.vin, now(), speed)  # noqa: B023

    # History: every state-of-charge sample of a car, as sent, read back from PostgreSQL.
    vin = truth.vehicles[0].vin
    soc = _sent(day, vin, SOC)
    start, end = soc[0][0], soc[-1][0] + 1
    [series] = d.get(
        f"/v1/vehicles/{vin}/history?signals={SOC}&start={start}&end={end}&max_points=100000"
    )["series"]
    assert not series["downsampled"]
    assert list(zip(series["ts"], series["value"], strict=True)) == soc

    # Drives and charges: derived by the processors process, read by the API process, where
    # the simulator had them. (Whether one is already `final` right after the cars went to
    # sleep is the sweep's, once a minute: tests/processors/test_sleep.py.)
    data_end = max(b.ts for b in day.batches)
    settled = data_end - 30 * 60_000
    for kind, items in (("drives", truth.drives), ("charges", truth.charges)):
        finished = [t for t in items if t.end_ms < settled]
        assert len(finished) >= 3, f"the simulated day has {kind}"  # city trips: few charges

        def found(kind: str = kind, finished: list[Any] = finished) -> list[Any]:
            out = []
            for t in finished:
                got = d.get(f"/v1/vehicles/{t.vin}/{kind}?limit=1000")[kind]
                near = [
                    g for g in got
                    if abs(g["start_ms"] - t.start_ms) <= BOUNDARY_MS
                    and abs(g["end_ms"] - t.end_ms) <= BOUNDARY_MS
                ]  # fmt: skip
                out.append(near[0] if len(near) == 1 else None)
            return out

        def missing(kind: str = kind, finished: list[Any] = finished) -> list[Any]:
            return [
                (t.vin, t.start_ms, t.end_ms, [
                    (g["start_ms"], g["end_ms"])
                    for g in d.get(f"/v1/vehicles/{t.vin}/{kind}?limit=1000")[kind]
                ])
                for t, g in zip(finished, found(), strict=True) if g is None
            ]  # fmt: skip

        assert wait_for(lambda: None not in found(), timeout_s=60, every_s=0.5), (
            kind, missing(), _tails(d.logs),
        )  # fmt: skip

    # Places: the processors tagged and priced with what the API wrote.
    for charge in (t for t in truth.charges if t.end_ms < settled):
        [c] = [
            g for g in d.get(f"/v1/vehicles/{charge.vin}/charges?limit=1000")["charges"]
            if abs(g["start_ms"] - charge.start_ms) <= BOUNDARY_MS
        ]  # fmt: skip
        assert charge.charger == "home" and c["place_id"] == homes[charge.vin], (
            {k: c[k] for k in ("start_ms", "lat", "lon", "place", "place_id", "cost", "final")},
            charge,
            d.get("/v1/places"),
        )
        assert c["place"] == f"Home {charge.vin[-2:]}" and c["currency"] == "EUR"
        kwh = charge.energy_into_battery_wh / 1000
        assert abs(c["cost"] / (kwh * HOME_PRICE) - 1) <= 0.02, (c["cost"], kwh)
    tagged = 0
    for drive in (t for t in truth.drives if t.end_ms < settled and t.vin in homes):
        [g] = [
            g for g in d.get(f"/v1/vehicles/{drive.vin}/drives?limit=1000")["drives"]
            if abs(g["start_ms"] - drive.start_ms) <= BOUNDARY_MS
        ]  # fmt: skip
        v = next(v for v in truth.vehicles if v.vin == drive.vin)
        ends = (("start", drive.start_lat, drive.start_lon), ("end", drive.end_lat, drive.end_lon))
        for which, lat, lon in ends:
            off = distance_m(lat, lon, v.home_lat, v.home_lon)
            if off <= 30:  # clearly at home, or clearly away: the place says so
                assert g[f"{which}_place_id"] == homes[drive.vin], (which, off, g)
                tagged += 1
            elif off >= 120:
                assert g[f"{which}_place_id"] != homes[drive.vin], (which, off, g)
    assert tagged, "a drive began or ended at a home"

    # Diagnostics: followed by the processors, kept in PostgreSQL, answered by the API process
    # (the models from the registry the processors read).
    for v in truth.vehicles:
        newest = max(
            b.ts + off
            for b in day.batches
            if b.vin == v.vin
            for off, p, _ in b.samples
            if p in DIAGNOSED
        )

        def last_seen(vin: str = v.vin) -> object:
            return d.get(f"/v1/vehicles/{vin}/diagnostics")["last_seen_ms"]

        assert wait_for(lambda: last_seen() == newest, timeout_s=30), (v.vin, last_seen(), newest)  # noqa: B023
    rates = d.get("/v1/fleet/reliability")["rates"]
    assert {r["model"] for r in rates} == {v.model for v in truth.vehicles}

    # Service cases: the leak the processors predicted opens one in the API process (the
    # alerts route brings the alert log, and with it the processors' predictions, up to date).
    def leak_cases() -> list[tuple[str, bool]]:
        d.get("/v1/alerts")
        cases = d.get(f"/v1/vehicles/{LEAKING}/cases")["cases"]
        return [(c["problem_key"], "losing" in c["title"]) for c in cases]  # the prediction's

    assert wait_for(lambda: leak_cases() == [("tyre:front-left", True)], timeout_s=30), (
        leak_cases(), _tails(d.logs),
    )  # fmt: skip

    # Nothing of the platform on any process's disk: the workers' and the processors' data
    # dirs are empty; the API keeps only its remote commands there (its own, no one else's).
    for name in ("worker-0", "worker-1", "processors"):  # the logs are written outside them
        assert sorted(p.name for p in d.dirs[name].iterdir()) == [], name
    api_files = {p.name for p in d.dirs["api"].iterdir()}
    assert api_files <= {"commands.sqlite", "commands.sqlite-wal", "commands.sqlite-shm"}, api_files
    assert all(proc.poll() is None for proc in d.procs.values()), "a process died"
