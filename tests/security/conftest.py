"""A platform with one of each kind of principal, for the security tests.

VIN belongs to service organisation `north`; VIN2 to `south`. `driver` has VIN assigned,
`other_driver` VIN2. Each principal is a bearer token: API tokens as issued, people signed in
with their password (a real argon2 check and a real JWT)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from volta.api import create_app
from volta.config import Settings
from volta.platform import Platform
from volta.registry import Role, SQLiteRegistry

VIN = "JHMZZ1A1XRV000001"
VIN2 = "JHMZZ1A1XRV000002"
PASSWORD = "correct horse battery staple"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Who:
    """A principal for the matrix: its name, token (None: no token) and what it should see."""

    name: str
    token: str | None
    role: Role | None  # None: not authenticated (no token, expired, revoked)
    sees: frozenset[str]  # VINs it may access; operators: both


@dataclass
class Secured:
    client: TestClient
    platform: Platform
    who: dict[str, Who]
    passwords: dict[str, str]


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, mqtt=None, **overrides)


def populate(registry: SQLiteRegistry | Any) -> dict[str, str]:
    """Vehicles and users; the API tokens issued, by principal name."""
    tokens = {
        "vehicle": registry.add_vehicle(VIN, "Model V", organisation="north").token.token,
        "other_vehicle": registry.add_vehicle(VIN2, "Model V", organisation="south").token.token,
        "operator_token": registry.issue_token(Role.OPERATOR).token,
    }
    registry.add_user("olga", Role.OPERATOR, PASSWORD)
    registry.add_user("tove", Role.TECHNICIAN, PASSWORD, "north")
    registry.add_user("sami", Role.TECHNICIAN, PASSWORD, "south")
    registry.add_user("dana", Role.DRIVER, PASSWORD)
    registry.add_user("erik", Role.DRIVER, PASSWORD)
    registry.assign("dana", VIN)
    registry.assign("erik", VIN2)
    revoked = registry.issue_token(Role.OPERATOR)
    registry.revoke(revoked.principal.credential_id)
    tokens["revoked"] = revoked.token
    return tokens


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    r = client.post("/v1/auth/token", json={"username": name, "password": password})
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    data = tmp_path_factory.mktemp("secured")
    # a server with every optional part on, so that each route answers (none with 503)
    platform = Platform(make_settings(data, ota_dir=data / "ota", ota_keys=data / "ota-keys"))
    platform.start()
    tokens = populate(platform.registry)
    # An operator's session token signed an hour ago: long expired.
    registry = platform.registry
    assert isinstance(registry, SQLiteRegistry)
    real_clock = registry._clock
    registry._clock = lambda: real_clock() - 3600_000
    expired = registry.sign_in("olga", PASSWORD, ttl_s=900).token
    registry._clock = real_clock
    both = frozenset({VIN, VIN2})
    with TestClient(create_app(platform)) as client:
        who = [
            Who("anonymous", None, None, frozenset()),
            Who("expired_jwt", expired, None, frozenset()),
            Who("revoked_token", tokens["revoked"], None, frozenset()),
            Who("operator_token", tokens["operator_token"], Role.OPERATOR, both),
            Who("operator_user", sign_in(client, "olga"), Role.OPERATOR, both),
            Who("technician", sign_in(client, "tove"), Role.TECHNICIAN, frozenset({VIN})),
            Who("foreign_technician", sign_in(client, "sami"), Role.TECHNICIAN, frozenset({VIN2})),
            Who("driver", sign_in(client, "dana"), Role.DRIVER, frozenset({VIN})),
            Who("foreign_driver", sign_in(client, "erik"), Role.DRIVER, frozenset({VIN2})),
            Who("vehicle", tokens["vehicle"], Role.VEHICLE, frozenset({VIN})),
            Who("foreign_vehicle", tokens["other_vehicle"], Role.VEHICLE, frozenset({VIN2})),
        ]
        yield Secured(client, platform, {w.name: w for w in who}, {})
    platform.stop()
