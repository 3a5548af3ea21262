"""No password, API token or sign-in JWT ever reaches a log line or an error message.

A real uvicorn (access log on, at debug level, as a deployment might run it) serves the API
while the test signs in, sends wrong passwords, uses tokens in headers and in a WebSocket URL,
creates users and tokens, and provokes errors; every log record (pytest's caplog sees them
all) and every error body is then searched for each secret."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from volta.api import create_app
from volta.platform import Platform

from .conftest import PASSWORD, VIN, VIN2, make_settings, populate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Platform, dict[str, str]]]:
    platform = Platform(make_settings(tmp_path))
    platform.start()
    tokens = populate(platform.registry)
    port = free_port()
    config = uvicorn.Config(
        create_app(platform),
        host="127.0.0.1",
        port=port,
        log_config=None,  # records go to the root logger, where caplog listens
        log_level="debug",
        access_log=True,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"127.0.0.1:{port}", platform, tokens
    server.should_exit = True
    thread.join(timeout=10)
    platform.stop()


def test_no_secret_in_any_log_record_or_error(
    served: tuple[str, Platform, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    address, _, tokens = served
    base = f"http://{address}"
    new_password = "a brand new secret password"
    wrong_password = "Tr0ub4dor&3-wrong"
    errors: list[str] = []
    with httpx.Client(base_url=base) as http:

        def bearer(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        # Wrong passwords (a known user, an unknown one, a password typed as the name).
        for name, password in (("olga", wrong_password), ("nobody", wrong_password)):
            r = http.post("/v1/auth/token", json={"username": name, "password": password})
            assert r.status_code == 401
            errors.append(r.text)
        r = http.post("/v1/auth/token", json={"username": wrong_password, "password": "x"})
        errors.append(r.text)
        # A good sign-in, its JWT used on HTTP and on the WebSocket (token in the URL).
        r = http.post("/v1/auth/token", json={"username": "olga", "password": PASSWORD})
        jwt_token = r.json()["access_token"]
        assert http.get("/v1/me", headers=bearer(jwt_token)).status_code == 200
        with connect(f"ws://{address}/v1/vehicles/{VIN}/live?token={jwt_token}") as ws:
            assert '"snapshot"' in str(ws.recv(timeout=10))
        # API tokens: good, forged, another vehicle's, in a query string where none belongs.
        vehicle = tokens["vehicle"]
        assert http.get(f"/v1/vehicles/{VIN}/state", headers=bearer(vehicle)).status_code == 200
        errors.append(http.get(f"/v1/vehicles/{VIN2}/state", headers=bearer(vehicle)).text)
        errors.append(http.get("/v1/me", headers=bearer(vehicle + "x")).text)
        errors.append(http.get("/v1/me", headers=bearer(jwt_token[:-4] + "AAAA")).text)
        errors.append(http.get(f"/v1/me?token={tokens['operator_token']}").text)
        # Secrets created over the API.
        r = http.post(
            "/v1/users",
            json={"name": "nina", "role": "driver", "password": new_password},
            headers=bearer(jwt_token),
        )
        assert r.status_code == 201
        r = http.post(
            "/v1/users",
            json={"name": "nina", "role": "driver", "password": new_password},
            headers=bearer(jwt_token),
        )
        errors.append(r.text)  # 409
        issued = http.post(
            "/v1/tokens", json={"role": "operator"}, headers=bearer(jwt_token)
        ).json()["token"]
        errors.append(
            http.post("/v1/users", json={"password": new_password}, headers=bearer(issued)).text
        )
        # A token pasted where its id belongs; a forged token over the WebSocket.
        http.delete(f"/v1/tokens/{tokens['operator_token']}", headers=bearer(jwt_token))
        with (
            pytest.raises(InvalidStatus),
            connect(f"ws://{address}/v1/vehicles/{VIN}/live?token=ot_nope"),
        ):
            pass
        # Audit and users listings.
        errors.append(http.get("/v1/audit", headers=bearer(jwt_token)).text)
        errors.append(http.get("/v1/users", headers=bearer(jwt_token)).text)

    secrets = {
        "password": PASSWORD,
        "new password": new_password,
        "wrong password": wrong_password,
        "jwt": jwt_token,
        "jwt signature": jwt_token.rsplit(".", 1)[1],
        "vehicle token": vehicle,
        "other vehicle token": tokens["other_vehicle"],
        "operator token": tokens["operator_token"],
        "issued token": issued,
    }
    records = caplog.records
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in records) + caplog.text
    # The capture is real: the access log and uvicorn's WebSocket lines are in it.
    assert any(r.name == "uvicorn.access" for r in records)
    assert "/live?token=[redacted]" in logged
    assert "POST /v1/auth/token" in logged
    for what, secret in secrets.items():
        assert secret not in logged, f"{what} appears in the log"
        for body in errors:
            assert secret not in body, f"{what} appears in an error: {body[:100]}"
