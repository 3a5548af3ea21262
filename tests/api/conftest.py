"""Fixtures for API tests: a real platform (DuckDB + SQLite in a temp dir) behind TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from fastapi.testclient import TestClient

from volta.api import create_app
from volta.clock import wall_ms
from volta.config import Settings
from volta.platform import Platform
from volta.registry import Role

VIN = "JHMZZ1A1XRV000001"
VIN2 = "JHMZZ1A1XRV000002"
UNREGISTERED = "JHMZZ1A1XRV000099"
SPEED = "Vehicle.Speed"
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"


def batch(
    samples: list[Any], seq: int = 1, vin: str = VIN, ts: int | None = None, fmt: str = "json"
) -> bytes:
    """A wire-format v1 batch, built by hand (so tests can build broken ones too)."""
    body = {
        "v": 1,
        "vin": vin,
        "seq": seq,
        "ts": wall_ms() - 5_000 if ts is None else ts,
        "samples": samples,
    }
    return msgspec.json.encode(body) if fmt == "json" else msgspec.msgpack.encode(body)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Api:
    client: TestClient
    platform: Platform
    operator: str  # token
    vehicle: str  # token of VIN
    other_vehicle: str  # token of VIN2

    def post_batch(
        self,
        body: bytes | Iterator[bytes],
        vin: str = VIN,
        token: str | None = None,
        **headers: str,
    ) -> httpx.Response:
        """POST a telemetry batch (bytes, or chunks sent without a Content-Length)."""
        h = {**bearer(token or self.vehicle), "Content-Type": "application/json", **headers}
        r: httpx.Response = self.client.post(
            f"/v1/vehicles/{vin}/telemetry", content=body, headers=h
        )
        return r


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, mqtt=None, **overrides)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    platform = Platform(make_settings(tmp_path, max_batch_bytes=4096))
    platform.start()
    vehicle = platform.registry.add_vehicle(VIN, "Model V").token.token
    other = platform.registry.add_vehicle(VIN2, "Model V").token.token
    operator = platform.registry.issue_token(Role.OPERATOR).token
    with TestClient(create_app(platform)) as client:
        yield Api(client, platform, operator, vehicle, other)
    platform.stop()
