"""Fixtures: a platform with a settable clock behind TestClient; tokens of every kind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from volta.api import create_app
from volta.clock import wall_ms
from volta.config import Settings
from volta.platform import Platform
from volta.registry import Role

VIN = "JHMZZ1A1XRV000001"
VIN2 = "JHMZZ1A1XRV000002"


@dataclass
class Clock:
    """The platform's clock (ms): real time plus a shift the test controls."""

    shift_ms: int = 0

    def __call__(self) -> int:
        return wall_ms() + self.shift_ms


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Api:
    client: TestClient
    platform: Platform
    clock: Clock
    operator: str
    vehicle: str  # token of VIN
    other_vehicle: str  # token of VIN2

    def command(
        self, body: dict[str, object], vin: str = VIN, token: str | None = None
    ) -> httpx.Response:
        """POST a command for `vin` as `token` (default: the operator)."""
        response: httpx.Response = self.client.post(
            f"/v1/vehicles/{vin}/commands", json=body, headers=bearer(token or self.operator)
        )
        return response


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    clock = Clock()
    platform = Platform(Settings(data_dir=tmp_path, mqtt=None), clock=clock)
    platform.start()
    vehicle = platform.registry.add_vehicle(VIN, "Model V").token.token
    other = platform.registry.add_vehicle(VIN2, "Model V").token.token
    operator = platform.registry.issue_token(Role.OPERATOR).token
    with TestClient(create_app(platform)) as client:
        yield Api(client, platform, clock, operator, vehicle, other)
    platform.stop()
