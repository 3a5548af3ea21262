"""After-sales service goals: a workshop's case queue with 100,000 cases in the store answers
p99 < 50 ms; booking throughput under contention.

The registry (SQLite in a temp data dir, or PostgreSQL with `--postgres URL`, in a schema of
its own dropped afterwards) gets 100,000 cases of 20 organisations and 100 workshops (40 %
still open, spread over the SLA deadlines). Timed:
- the queue query itself (`CaseBook.find`, a page of 50 in SLA order), per workshop;
- `GET /v1/workshops/{id}/queue` and a technician's `GET /v1/cases` over HTTP in process
  (FastAPI TestClient: auth, the query, JSON);
- booking under contention: `--threads` people, each with a connection of its own, book
  cases into one 4-bay workshop, all racing for the earliest free slot (a refused booking
  retries with the first of the next free slots it was offered). Afterwards every slot is
  checked: no bay is held twice, no slot holds more cars than bays.

    .venv/bin/python bench/aftersales_service.py [--quick] [--postgres postgresql://…]

`--quick` runs fewer queries and bookings (the 100,000 cases stay). The last line of stdout
is one JSON object. The machine may be shared: CPU seconds are reported beside wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

from volta.registry import Role, SQLiteRegistry
from volta.registry.sql import SqlRegistry
from volta.service.booking import SlotUnavailable
from volta.service.casebook import CASE_COLUMNS, CaseQuery, case_row
from volta.service.cases import deadlines, next_due
from volta.service.desk import ServiceDesk
from volta.service.model import Actor, Case, CaseState, Severity

ORGS = 20
WORKSHOPS = 100
ALWAYS_OPEN = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
STATES = [CaseState.OPEN, CaseState.TRIAGED, CaseState.APPOINTMENT_BOOKED, CaseState.IN_SERVICE]
FINAL = [CaseState.RESOLVED, CaseState.NO_FAULT_FOUND, CaseState.CANCELLED]
DAY_MS = 86_400_000
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "warning", "info")


def fill(registry: SqlRegistry, desk: ServiceDesk, cases: int, now_ms: int) -> list[str]:
    """Workshops and `cases` cases over 1,000 vehicles; the workshop ids."""
    rng = random.Random(7)
    workshops = [
        desk.add_workshop(f"garage {i}", f"org{i % ORGS}", 4, 30, "UTC", ALWAYS_OPEN).id
        for i in range(WORKSHOPS)
    ]
    vins = [f"JHMZZ1A1XRV{i:06d}" for i in range(1000)]
    with registry.database.transaction() as tx:
        for i, vin in enumerate(vins):
            tx.execute(
                "INSERT INTO vehicles (vin, model, attributes, created_ms, organisation)"
                " VALUES (?,?,?,?,?)",
                (vin, "Model V", "{}", now_ms, f"org{i % ORGS}"),
            )
        rows: list[tuple[object, ...]] = []
        for i in range(cases):
            vin_index = rng.randrange(len(vins))
            org = vin_index % ORGS
            ws = workshops[org + ORGS * rng.randrange(WORKSHOPS // ORGS)]
            opened = now_ms - rng.randrange(180) * DAY_MS - rng.randrange(DAY_MS)
            severity = rng.choice(SEVERITIES)
            state = rng.choice(STATES) if rng.random() < 0.4 else rng.choice(FINAL)
            triage, repair = deadlines(severity, opened)
            case = Case(
                id=f"case_{i:012x}",
                vin=vins[vin_index],
                organisation=f"org{org}",
                problem_key=f"dtc:P{i:06d}",
                title="bench",
                severity=severity,
                source="alert",
                state=state,
                opened_ms=opened,
                opened_by="volta",
                triage_due_ms=triage,
                repair_due_ms=repair,
                due_ms=next_due(state, triage, repair),
                updated_ms=opened,
                workshop_id=ws if state is not CaseState.OPEN else None,
                closed_ms=opened + DAY_MS if state.final else None,
            )
            rows.append((*case_row(case), 0 if state.final else 1))
        # Many rows per statement: the bench fills the store, it does not time the inserts.
        width = len(CASE_COLUMNS.split(",")) + 1
        for at in range(0, len(rows), 400):
            chunk = rows[at : at + 400]
            marks = ",".join(["(" + ",".join("?" * width) + ")"] * len(chunk))
            tx.execute(
                f"INSERT INTO svc_cases ({CASE_COLUMNS}, active) VALUES {marks}",
                [v for row in chunk for v in row],
            )
    return workshops


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    a = np.array(samples_s) * 1000
    return round(float(np.percentile(a, 50)), 3), round(float(np.percentile(a, 99)), 3)


def timed(call: Callable[[], Any], n: int) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, CPU ms per call) of `n` calls after 20 warm-up ones."""
    for _ in range(20):
        call()
    samples = []
    cpu0 = time.process_time()
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) * 1000 / n
    p50, p99 = percentiles(samples)
    return p50, p99, round(cpu, 3)


def booking_contention(
    open_registry: Callable[[], SqlRegistry], threads: int, bookings: int
) -> dict[str, Any]:
    """`threads` people book `bookings` cases into one 4-bay workshop, racing for the earliest
    free slot; bookings per second, refusals, and the check that no bay is held twice."""
    setup = open_registry()
    desk = ServiceDesk(setup.database, setup, time_ms)
    setup.add_vehicle("JHMZZ1A1XRV900001", "Model V", organisation="contention")
    ws = desk.add_workshop("busy", "contention", 4, 30, "UTC", ALWAYS_OPEN)
    tech = Actor("bench", "technician")
    cases = [
        desk.open_case("JHMZZ1A1XRV900001", f"manual:b{i}", "bench", "warning", tech)[0].id
        for i in range(bookings)
    ]
    desks = []
    for _ in range(threads):
        registry = open_registry()
        desks.append((registry, ServiceDesk(registry.database, registry, time_ms)))
    refused = [0] * threads
    barrier = threading.Barrier(threads)

    def person(k: int) -> None:
        own = desks[k][1]
        barrier.wait()
        for case_id in cases[k::threads]:
            start = own.bookings.free(ws, time_ms(), 1)[0].start_ms
            while True:
                try:
                    own.book(case_id, ws.id, start, tech)
                    break
                except SlotUnavailable as e:
                    refused[k] += 1
                    start = e.alternatives[0].start_ms

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(person, range(threads)))
    wall = time.perf_counter() - t0
    with setup.database.connection() as c:
        rows = c.rows(
            "SELECT start_ms, count(*), count(DISTINCT bay) FROM svc_slot_claims"
            " WHERE workshop_id = ? GROUP BY start_ms",
            (ws.id,),
        )
        booked = c.one(
            "SELECT count(*) FROM svc_appointments WHERE workshop_id = ? AND state = 'booked'",
            (ws.id,),
        )
    over = sum(1 for _, n, distinct in rows if n > ws.bays or distinct != n)
    for registry, _ in desks:
        registry.close()
    setup.close()
    return {
        "booking_threads": threads,
        "bookings": bookings,
        "bookings_per_s": round(bookings / wall, 1),
        "booking_refusals": sum(refused),
        "booked_in_store": int(booked[0]) if booked else 0,
        "slots_over_capacity_or_double_booked": over,
    }


@contextmanager
def serve(data_dir: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`volta serve` on a free port over the data dir, in a process of its own (as deployed);
    its base URL and pid."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = "from volta.cli import main; main()"
    cmd = [
        sys.executable,
        "-c",
        code,
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(cmd, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("volta serve did not start")
            time.sleep(0.2)
        yield base, server.pid
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_database(admin_url: str, name: str) -> str:
    """A database of the bench's own on the server (dropped at the end), never a shared one."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return urlsplit(admin_url)._replace(path=f"/{name}").geturl()


def time_ms() -> int:
    return time.time_ns() // 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument(
        "--postgres",
        help="run on PostgreSQL instead of SQLite: an admin URL; the bench makes its own database",
    )
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    queries = 200 if args.quick else 2000
    bookings = 120 if args.quick else 1000
    now = time_ms()
    cpu0 = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        schema = f"bench_{secrets.token_hex(4)}"
        env = {"VOLTA_API_RATE_PER_S": "0"}
        key = secrets.token_bytes(32)
        if args.postgres:
            from volta.registry.postgres import PostgresRegistry

            url = bench_database(args.postgres, schema)
            env.update(
                VOLTA_REGISTRY=url,
                VOLTA_REGISTRY_SCHEMA=schema,
                VOLTA_REGISTRY_KEY=key.hex(),
                VOLTA_SESSION_KEY=key.hex(),
            )

            def open_registry() -> SqlRegistry:
                return PostgresRegistry(url, key, signing_key=key, schema=schema, timeout=30)
        else:

            def open_registry() -> SqlRegistry:
                return SQLiteRegistry.open(data_dir)

        registry = open_registry()
        desk = ServiceDesk(registry.database, registry, time_ms)
        t0, c0 = time.perf_counter(), time.process_time()
        workshops = fill(registry, desk, args.cases, now)
        fill_s, fill_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        token = registry.issue_token(Role.OPERATOR).token
        registry.add_user("bench-tech", Role.TECHNICIAN, "bench password 123", "org3")
        rng = random.Random(1)

        def store_queue() -> None:
            desk.cases.find(CaseQuery(workshop_id=rng.choice(workshops), limit=50))

        q50, q99, qcpu = timed(store_queue, queries)
        depth = len(desk.cases.find(CaseQuery(workshop_id=workshops[0], limit=100_000)))
        registry.close()
        with serve(data_dir, env) as (base, pid), httpx.Client(base_url=base, timeout=30) as client:
            auth = {"Authorization": f"Bearer {token}"}
            signed = client.post(
                "/v1/auth/token",
                json={"username": "bench-tech", "password": "bench password 123"},
            )
            tech = {"Authorization": f"Bearer {signed.json()['access_token']}"}

            def http_queue() -> None:
                ws = rng.choice(workshops)
                r = client.get(f"/v1/workshops/{ws}/queue", headers=auth)
                assert r.status_code == 200 and len(r.json()["cases"]) == 50, r.text

            def org_queue() -> None:
                r = client.get("/v1/cases", headers=tech)
                assert r.status_code == 200 and len(r.json()["cases"]) == 50, r.text

            def me() -> None:
                assert client.get("/v1/me", headers=auth).status_code == 200

            # The server's own background (dispatcher, sweeps) while idle, per second.
            cpu, t = server_cpu_s(pid), time.perf_counter()
            time.sleep(2)
            idle_per_s = (server_cpu_s(pid) - cpu) / (time.perf_counter() - t)
            cpu = server_cpu_s(pid)
            m50, m99, _ = timed(me, queries)
            mcpu = (server_cpu_s(pid) - cpu) * 1000 / (queries + 20)
            cpu = server_cpu_s(pid)
            h50, h99, _ = timed(http_queue, queries)
            hcpu = (server_cpu_s(pid) - cpu) * 1000 / (queries + 20)
            cpu = server_cpu_s(pid)
            o50, o99, _ = timed(org_queue, queries)
            ocpu = (server_cpu_s(pid) - cpu) * 1000 / (queries + 20)
            results: dict[str, Any] = {
                "server_idle_cpu_ms_per_s": round(idle_per_s * 1000, 2),
                "me_http_p50_ms": m50,
                "me_http_p99_ms": m99,
                "me_http_server_cpu_ms": round(mcpu, 3),
                "queue_http_p50_ms": h50,
                "queue_http_p99_ms": h99,
                "queue_http_server_cpu_ms": round(hcpu, 3),
                "org_queue_http_p50_ms": o50,
                "org_queue_http_p99_ms": o99,
                "org_queue_http_server_cpu_ms": round(ocpu, 3),
            }
        contention = booking_contention(open_registry, args.threads, bookings)
        if args.postgres:
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {schema} WITH (FORCE)")
    out = {
        "engine": "postgresql" if args.postgres else "sqlite",
        "cases": args.cases,
        "fill_s": round(fill_s, 2),
        "fill_cpu_s": round(fill_cpu_s, 2),
        "cases_per_workshop_queue": depth,
        "queue_p50_ms": q50,
        "queue_p99_ms": q99,
        "queue_cpu_ms": qcpu,
        **results,
        **contention,
        "goal_queue_p99_ms": 50,
        "cpu_s": round(time.process_time() - cpu0, 2),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
