"""Concurrent booking requests through the API, on the embedded registry (SQLite) and on
PostgreSQL (whose pool lets the requests really run side by side in the database): eight
people ask for the same two-bay slot at once; two get it, six get 409 with the next free
slots, and no bay is held twice."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.security.conftest import make_settings
from tests.service.conftest import HOURS, SERVICE_RUN, VIN, VIN2
from volta.api import create_app
from volta.platform import Platform
from volta.registry import Role, SQLiteRegistry
from volta.registry.sql import SqlRegistry


def _registry(engine: str, tmp_path: Path) -> SqlRegistry:
    if engine == "sqlite":
        return SQLiteRegistry.open(tmp_path)
    from volta.registry.postgres import PostgresRegistry

    url, schema = SERVICE_RUN.ensure(), SERVICE_RUN.new_schema()
    return PostgresRegistry(url, secrets.token_bytes(32), schema=schema, timeout=10.0)


@pytest.fixture(params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    registry = _registry(request.param, tmp_path)
    registry.add_vehicle(VIN, "Model V", organisation="north")
    registry.add_vehicle(VIN2, "Model V", organisation="north")
    token = registry.issue_token(Role.OPERATOR).token
    platform = Platform(make_settings(tmp_path), registry=registry)
    platform.start()
    try:
        with TestClient(create_app(platform)) as c:
            yield c, token
    finally:
        platform.stop()


def test_concurrent_booking_requests_never_share_a_bay(client: tuple[TestClient, str]) -> None:
    c, token = client
    auth = {"Authorization": f"Bearer {token}"}
    ws = c.post(
        "/v1/workshops",
        headers=auth,
        json={
            "name": "North",
            "organisation": "north",
            "bays": 2,
            "slot_minutes": 60,
            "timezone": "UTC",
            "hours": HOURS,
        },
    ).json()["id"]
    cases = [
        c.post(
            "/v1/cases",
            headers=auth,
            json={"vin": VIN if i % 2 else VIN2, "problem_key": f"manual:n{i}"},
        ).json()["id"]
        for i in range(8)
    ]
    slots = c.get(f"/v1/workshops/{ws}/slots", headers=auth, params={"limit": 2}).json()["slots"]
    start = slots[0]["start_ms"]
    barrier = threading.Barrier(len(cases))

    def book(case_id: str) -> tuple[int, Any]:
        barrier.wait()
        r = c.post(
            "/v1/appointments",
            headers=auth,
            json={"case_id": case_id, "workshop_id": ws, "start_ms": start},
        )
        return r.status_code, r.json()

    with ThreadPoolExecutor(len(cases)) as pool:
        answers = list(pool.map(book, cases))
    won = [body for status, body in answers if status == 201]
    refused = [body for status, body in answers if status == 409]
    assert len(won) == 2 and sorted(a["bay"] for a in won) == [0, 1], answers
    assert len(refused) == 6
    assert all(r["error"] == "slot_unavailable" for r in refused)
    assert all(r["next_free"][0]["start_ms"] == slots[1]["start_ms"] for r in refused)
    listed = c.get("/v1/appointments", headers=auth, params={"workshop": ws}).json()
    assert sorted((a["start_ms"], a["bay"]) for a in listed["appointments"]) == [
        (start, 0),
        (start, 1),
    ]
