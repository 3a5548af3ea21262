"""The audit log: every state-changing call with who, what, when, from where and the outcome;
operators query it with filters and pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient

from volta.api import create_app
from volta.clock import wall_ms
from volta.platform import Platform

from .conftest import PASSWORD, VIN, bearer, make_settings, populate, sign_in


@pytest.fixture
def audited(tmp_path: Path) -> Iterator[tuple[TestClient, Platform, dict[str, str]]]:
    platform = Platform(make_settings(tmp_path))
    platform.start()
    tokens = populate(platform.registry)
    with TestClient(create_app(platform)) as client:
        yield client, platform, tokens
    platform.stop()


def entries(client: TestClient, token: str, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/v1/audit", params=params, headers=bearer(token))
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["entries"]
    return found


def test_state_changing_calls_are_recorded_with_who_what_where(
    audited: tuple[TestClient, Platform, dict[str, str]],
) -> None:
    client, _, tokens = audited
    op_token = tokens["operator_token"]
    before = wall_ms()
    olga = sign_in(client, "olga")
    r = client.post(
        "/v1/users",
        json={"name": "nils", "role": "driver", "password": "another long one"},
        headers=bearer(olga),
    )
    assert r.status_code == 201
    assert client.put(f"/v1/users/nils/vehicles/{VIN}", headers=bearer(olga)).status_code == 200
    issued = client.post("/v1/tokens", json={"role": "operator"}, headers=bearer(op_token)).json()
    cred = issued["credential_id"]
    assert client.delete(f"/v1/tokens/{cred}", headers=bearer(op_token)).status_code == 204
    # Refused attempts are recorded too: a wrong password, a driver trying an operator's call.
    client.post("/v1/auth/token", json={"username": "dana", "password": "not her password"})
    dana = sign_in(client, "dana")
    assert client.delete("/v1/users/olga", headers=bearer(dana)).status_code == 403

    log = entries(client, olga)
    got = [(e["actor"], e["action"], e["target"], e["status"]) for e in log]
    op_id = client.get("/v1/me", headers=bearer(op_token)).json()["credential_id"]
    assert got == [
        ("dana", "DELETE /v1/users/{name}", "olga", 403),
        ("dana", "POST /v1/auth/token", None, 200),
        ("dana", "POST /v1/auth/token", None, 401),
        (op_id, "DELETE /v1/tokens/{credential_id}", cred, 204),
        (op_id, "POST /v1/tokens", None, 201),
        ("olga", "PUT /v1/users/{name}/vehicles/{vin}", VIN, 200),
        ("olga", "POST /v1/users", None, 201),
        ("olga", "POST /v1/auth/token", None, 200),
    ]
    newest = log[0]
    assert newest["role"] == "driver" and newest["client"] == "testclient"
    assert before <= newest["ts"] <= wall_ms()
    assert log[2]["role"] == "none" and log[2]["credential_id"] is None
    assert log[5]["detail"] == {"name": "nils", "vin": VIN}
    # Nothing secret in the log: no password, no token.
    text = client.get("/v1/audit", headers=bearer(olga)).text
    for secret in (PASSWORD, "another long one", "not her password", dana, olga, op_token):
        assert secret not in text
    assert issued["token"] not in text


def test_reads_and_telemetry_are_not_recorded_but_a_typo_is_not_a_name(
    audited: tuple[TestClient, Platform, dict[str, str]],
) -> None:
    client, _, tokens = audited
    op = tokens["operator_token"]
    client.get("/v1/vehicles", headers=bearer(op))
    client.get(f"/v1/vehicles/{VIN}/state", headers=bearer(op))
    batch = {"v": 1, "vin": VIN, "seq": 1, "ts": wall_ms(), "samples": []}
    r = client.post(
        f"/v1/vehicles/{VIN}/telemetry",
        content=msgspec.json.encode(batch),
        headers={**bearer(tokens["vehicle"]), "Content-Type": "application/json"},
    )
    assert r.status_code < 500
    client.post("/v1/nowhere", headers=bearer(op))  # no such route: nothing happened
    # A password typed into the name field must not end up in the log as a name.
    client.post("/v1/auth/token", json={"username": "my-Secret-pw1", "password": "x"})
    log = entries(client, op)
    assert [(e["actor"], e["action"], e["status"]) for e in log] == [
        ("unknown user", "POST /v1/auth/token", 401)
    ]


def test_filters_and_pages(audited: tuple[TestClient, Platform, dict[str, str]]) -> None:
    client, _, tokens = audited
    op = tokens["operator_token"]
    for i in range(5):
        client.delete(f"/v1/tokens/cred_missing{i}", headers=bearer(op))
    client.put(f"/v1/users/dana/vehicles/{VIN}", headers=bearer(op))
    assert len(entries(client, op)) == 6
    assert len(entries(client, op, action="DELETE")) == 5
    assert len(entries(client, op, action="PUT /v1/users")) == 1
    assert [e["target"] for e in entries(client, op, target=VIN)] == [VIN]
    assert entries(client, op, actor="somebody-else") == []
    first = client.get("/v1/audit", params={"limit": 4}, headers=bearer(op)).json()
    assert len(first["entries"]) == 4 and first["next_before"] is not None
    rest = entries(client, op, limit=4, before=first["next_before"])
    ids = [e["id"] for e in first["entries"] + rest]
    assert len(rest) == 2 and ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    now = wall_ms()
    assert len(entries(client, op, since=str(now - 60_000))) == 6
    assert entries(client, op, until="2020-01-01T00:00:00Z") == []
    r = client.get("/v1/audit", params={"since": "yesterday"}, headers=bearer(op))
    assert r.status_code == 400 and "since" in r.json()["message"]


def test_only_operators_read_the_audit_log(
    audited: tuple[TestClient, Platform, dict[str, str]],
) -> None:
    client, _, tokens = audited
    assert client.get("/v1/audit").status_code == 401
    assert client.get("/v1/audit", headers=bearer(tokens["vehicle"])).status_code == 403
    tove = sign_in(client, "tove")
    assert client.get("/v1/audit", headers=bearer(tove)).status_code == 403
    olga = sign_in(client, "olga")
    assert client.get("/v1/audit", headers=bearer(olga)).status_code == 200
