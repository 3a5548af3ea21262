"""Sign-in (name + password → a short-lived JWT), users, assignments, organisations, and
API tokens over the API."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from volta.api import create_app
from volta.api import users as users_api
from volta.platform import Platform
from volta.registry import Role

from .conftest import PASSWORD, VIN, VIN2, bearer, make_settings, populate, sign_in

VIN3 = "JHMZZ1A1XRV000003"


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A data dir with the principals of `populate`, made once: its five argon2 hashes took
    1.3-2 s of every test's setup. Each test starts its platform on a copy."""
    data = tmp_path_factory.mktemp("populated")
    platform = Platform(make_settings(data, session_ttl_s=600))
    platform.start()
    tokens = populate(platform.registry)
    platform.stop()
    return data, tokens


@pytest.fixture
def fresh(
    populated: tuple[Path, dict[str, str]], tmp_path: Path
) -> Iterator[tuple[TestClient, Platform, dict[str, str]]]:
    """A platform of the test's own on a copy of the populated data dir."""
    data, tokens = populated
    shutil.copytree(data, tmp_path, dirs_exist_ok=True)
    platform = Platform(make_settings(tmp_path, session_ttl_s=600))
    platform.start()
    with TestClient(create_app(platform)) as client:
        yield client, platform, tokens
    platform.stop()


def test_sign_in_gives_a_signed_short_lived_token(
    fresh: tuple[TestClient, Platform, dict[str, str]],
) -> None:
    client, _, _ = fresh
    r = client.post("/v1/auth/token", json={"username": "tove", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["role"] == "technician"
    assert body["expires_in"] == 600
    token = body["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600
    assert claims["role"] == "technician" and claims["sub"].startswith("usr_")
    me = client.get("/v1/me", headers=bearer(token)).json()
    assert me["user"] == "tove" and me["role"] == "technician"
    assert me["organisation"] == "north" and me["vehicles"] == [VIN]
    assert me["all_vehicles"] is False


@pytest.mark.parametrize(
    ("name", "password"), [("tove", "wrong password!"), ("nobody", PASSWORD), ("tove", "")]
)
def test_wrong_name_or_password_is_401_without_saying_which(
    fresh: tuple[TestClient, Platform, dict[str, str]], name: str, password: str
) -> None:
    client, _, _ = fresh
    r = client.post("/v1/auth/token", json={"username": name, "password": password})
    if password:
        assert r.status_code == 401
        assert r.json() == {"error": "unauthorized", "message": "invalid user name or password"}
    else:
        assert r.status_code == 422  # an empty password is not even tried
    assert "wrong password" not in r.text


def test_a_forged_or_tampered_token_is_refused(
    fresh: tuple[TestClient, Platform, dict[str, str]],
) -> None:
    client, _, _ = fresh
    token = sign_in(client, "dana")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "operator"
    claims["sub"] = "usr_000000000000"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    none_alg = jwt.encode(claims, key="", algorithm="none")  # "" is None to pyjwt, and typed
    other_key = jwt.encode(claims, "a key that is not the server's, long enough", "HS256")
    for bad in (f"{header}.{forged_payload}.{signature}", none_alg, other_key):
        r = client.get("/v1/me", headers=bearer(bad))
        assert r.status_code == 401, bad
        assert r.json()["message"] == "invalid token"
        assert bad not in r.text


def test_expired_token_says_so(tmp_path: Path) -> None:
    now = [1_764_201_600_000]
    platform = Platform(make_settings(tmp_path, session_ttl_s=60))
    platform.start()
    try:
        populate(platform.registry)
        registry = platform.registry
        registry._clock = lambda: now[0]  # type: ignore[attr-defined]
        with TestClient(create_app(platform)) as client:
            token = sign_in(client, "dana")
            assert client.get(f"/v1/vehicles/{VIN}", headers=bearer(token)).status_code == 200
            now[0] += 59_000
            assert client.get(f"/v1/vehicles/{VIN}", headers=bearer(token)).status_code == 200
            now[0] += 60_000  # past exp and the 10 s leeway
            r = client.get(f"/v1/vehicles/{VIN}", headers=bearer(token))
            assert r.status_code == 401
            assert r.json() == {"error": "unauthorized", "message": "token expired"}
            assert r.headers["www-authenticate"] == "Bearer"
    finally:
        platform.stop()


def test_drivers_and_technicians_see_only_their_vehicles(
    fresh: tuple[TestClient, Platform, dict[str, str]],
) -> None:
    client, _, tokens = fresh
    op = bearer(tokens["operator_token"])
    dana, tove = bearer(sign_in(client, "dana")), bearer(sign_in(client, "tove"))
    assert [v["vin"] for v in client.get("/v1/vehicles", headers=dana).json()["vehicles"]] == [VIN]
    assert client.get(f"/v1/vehicles/{VIN2}/state", headers=dana).status_code == 403
    assert client.get(f"/v1/vehicles/{VIN2}/state", headers=tove).status_code == 403
    # A new vehicle of north: its technician sees it at once (no new sign-in); the driver
    # sees it once assigned, and no longer once unassigned.
    r = client.post("/v1/vehicles", json={"vin": VIN3}, headers=op)
    assert r.status_code == 201
    assert client.get(f"/v1/vehicles/{VIN3}", headers=tove).status_code == 403
    r = client.put(f"/v1/vehicles/{VIN3}/organisation", json={"organisation": "north"}, headers=op)
    assert r.json() == {"vin": VIN3, "organisation": "north"}
    assert client.get(f"/v1/vehicles/{VIN3}", headers=tove).status_code == 200
    listed = client.get("/v1/vehicles", headers=tove).json()["vehicles"]
    assert [v["vin"] for v in listed] == [VIN, VIN3]
    assert client.get(f"/v1/vehicles/{VIN3}", headers=dana).status_code == 403
    r = client.put(f"/v1/users/dana/vehicles/{VIN3}", headers=op)
    assert r.status_code == 200 and r.json()["vehicles"] == [VIN, VIN3]
    assert client.get(f"/v1/vehicles/{VIN3}", headers=dana).status_code == 200
    assert client.delete(f"/v1/users/dana/vehicles/{VIN3}", headers=op).status_code == 200
    assert client.get(f"/v1/vehicles/{VIN3}", headers=dana).status_code == 403
    # Vehicles are assigned to drivers only.
    r = client.put(f"/v1/users/tove/vehicles/{VIN3}", headers=op)
    assert r.status_code == 400 and "drivers" in r.json()["message"]


def test_operator_creates_users_who_can_sign_in(
    fresh: tuple[TestClient, Platform, dict[str, str]],
) -> None:
    client, _, _ = fresh
    op = bearer(sign_in(client, "olga"))
    new = {
        "name": "tina",
        "role": "technician",
        "password": "a long enough one",
        "organisation": "south",
    }
    r = client.post("/v1/users", json=new, headers=op)
    assert r.status_code == 201
    assert r.json()["role"] == "technician" and "password" not in r.text
    assert "a long enough one" not in r.text
    assert client.post("/v1/users", json=new, headers=op).status_code == 409
    tina = bearer(sign_in(client, "tina", "a long enough one"))
    assert client.get(f"/v1/vehicles/{VIN2}", headers=tina).status_code == 200
    # No technician without an organisation, no short password, no user from a non-operator.
    bad = {**new, "name": "tim", "organisation": None}
    assert client.post("/v1/users", json=bad, headers=op).status_code == 400
    short = {**new, "name": "tim", "password": "short"}
    r = client.post("/v1/users", json=short, headers=op)
    assert r.status_code == 400 and "at least 10" in r.json()["message"]
    assert client.post("/v1/users", json={**new, "name": "tim"}, headers=tina).status_code == 403
    names = [u["name"] for u in client.get("/v1/users", headers=op).json()["users"]]
    assert names == sorted(["olga", "tove", "sami", "dana", "erik", "tina"])


def test_a_disabled_user_is_signed_out_at_once(
    fresh: tuple[TestClient, Platform, dict[str, str]],
) -> None:
    client, _, tokens = fresh
    dana = bearer(sign_in(client, "dana"))
    assert client.get("/v1/me", headers=dana).status_code == 200
    assert (
        client.delete("/v1/users/dana", headers=bearer(tokens["operator_token"])).status_code == 204
    )
    r = client.get("/v1/me", headers=dana)
    assert r.status_code == 401 and "disabled" in r.json()["message"]
    r = client.post("/v1/auth/token", json={"username": "dana", "password": PASSWORD})
    assert r.status_code == 401


def test_tokens_are_issued_listed_and_revoked_over_the_api(
    fresh: tuple[TestClient, Platform, dict[str, str]],
) -> None:
    client, _, tokens = fresh
    op = bearer(tokens["operator_token"])
    r = client.post("/v1/tokens", json={"role": "vehicle", "vin": VIN}, headers=op)
    assert r.status_code == 201
    issued = r.json()
    assert issued["token"].startswith("vt_") and issued["vin"] == VIN
    new = bearer(issued["token"])
    assert client.get(f"/v1/vehicles/{VIN}/state", headers=new).status_code == 200
    listed = client.get("/v1/tokens", headers=op)
    assert issued["credential_id"] in [t["id"] for t in listed.json()["tokens"]]
    assert issued["token"] not in listed.text and tokens["vehicle"] not in listed.text
    assert client.delete(f"/v1/tokens/{issued['credential_id']}", headers=op).status_code == 204
    assert client.get(f"/v1/vehicles/{VIN}/state", headers=new).status_code == 401
    assert client.delete(f"/v1/tokens/{issued['credential_id']}", headers=op).status_code == 404
    # Operators' machine tokens too; vehicle tokens need a VIN; users are not tokens.
    assert client.post("/v1/tokens", json={"role": "operator"}, headers=op).status_code == 201
    assert client.post("/v1/tokens", json={"role": "vehicle"}, headers=op).status_code == 400
    assert client.post("/v1/tokens", json={"role": "driver"}, headers=op).status_code == 400
    dana = bearer(sign_in(client, "dana"))
    assert client.post("/v1/tokens", json={"role": "operator"}, headers=dana).status_code == 403


def test_sign_in_attempts_are_limited_per_address(
    fresh: tuple[TestClient, Platform, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow refill, so that the slow argon2 checks of a loaded machine refill nothing.
    monkeypatch.setattr(users_api, "SIGNIN_RATE_PER_S", 0.01)
    client, _, _ = fresh
    statuses = []
    for _ in range(12):
        r = client.post("/v1/auth/token", json={"username": "tove", "password": "guess nr x"})
        statuses.append(r.status_code)
    assert statuses == [401] * 10 + [429, 429]  # a burst of 10, then wait
    assert 50 <= int(r.headers["retry-after"]) <= 100
    assert r.json()["error"] == "rate_limited" and "sign-in attempts" in r.json()["message"]
    # Even the right password waits: the limit is on attempts, not on failures.
    r = client.post("/v1/auth/token", json={"username": "tove", "password": PASSWORD})
    assert r.status_code == 429


def test_vehicle_and_operator_roles_from_tokens_still_work(
    fresh: tuple[TestClient, Platform, dict[str, str]],
) -> None:
    client, _, tokens = fresh
    me = client.get("/v1/me", headers=bearer(tokens["vehicle"])).json()
    assert me["role"] == Role.VEHICLE.value and me["vin"] == VIN and me["vehicles"] == [VIN]
    me = client.get("/v1/me", headers=bearer(tokens["operator_token"])).json()
    assert me["role"] == "operator" and me["all_vehicles"] is True and me["vehicles"] == []


def test_a_session_is_refreshed_without_the_password_for_up_to_12_hours(tmp_path: Path) -> None:
    now = [1_764_201_600_000]
    platform = Platform(make_settings(tmp_path, session_ttl_s=900))
    platform.start()
    try:
        tokens = populate(platform.registry)
        platform.registry._clock = lambda: now[0]  # type: ignore[attr-defined]
        with TestClient(create_app(platform)) as client:
            token = sign_in(client, "tove")
            first = jwt.decode(token, options={"verify_signature": False})
            for _ in range(47):  # every 14 minutes for 11 hours
                now[0] += 14 * 60_000
                r = client.post("/v1/auth/refresh", headers=bearer(token))
                assert r.status_code == 200, r.text
                token = r.json()["access_token"]
            claims = jwt.decode(token, options={"verify_signature": False})
            assert claims["auth_time"] == first["auth_time"] and claims["iat"] > first["iat"]
            assert client.get(f"/v1/vehicles/{VIN}", headers=bearer(token)).status_code == 200
            for _ in range(5):  # on past 12 h since the password was checked
                now[0] += 14 * 60_000
                r = client.post("/v1/auth/refresh", headers=bearer(token))
                if r.status_code != 200:
                    break
                token = r.json()["access_token"]
            assert r.status_code == 401 and r.json()["message"] == "session too old: sign in again"
            assert (now[0] // 1000 - first["auth_time"]) / 3600 == pytest.approx(12, abs=0.25)
            # API tokens do not expire and are not refreshed; an expired one cannot be.
            r = client.post("/v1/auth/refresh", headers=bearer(tokens["operator_token"]))
            assert r.status_code == 400 and "API tokens" in r.json()["message"]
            now[0] += 3600_000
            r = client.post("/v1/auth/refresh", headers=bearer(token))
            assert r.status_code == 401 and r.json()["message"] == "token expired"
    finally:
        platform.stop()
