"""Stop and restart the platform on the same data dir: history, twin and tokens intact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from volta.api import create_app
from volta.clock import wall_ms
from volta.platform import Platform
from volta.registry import Role

from .conftest import SOC, SPEED, VIN, batch, bearer, make_settings


def read_back(platform: Platform, token: str, t0: int) -> tuple[Any, Any]:
    with TestClient(create_app(platform)) as client:
        state = client.get(f"/v1/vehicles/{VIN}/state", headers=bearer(token)).json()
        url = f"/v1/vehicles/{VIN}/history?signals={SPEED},{SOC}&start={t0}&end={t0 + 100_000}"
        history = client.get(url, headers=bearer(token)).json()
    return state, history


def test_history_and_twin_survive_a_restart(tmp_path: Path) -> None:
    t0 = wall_ms() - 120_000
    first = Platform(make_settings(tmp_path))
    first.start()
    vehicle = first.registry.add_vehicle(VIN).token.token
    operator = first.registry.issue_token(Role.OPERATOR).token
    with TestClient(create_app(first)) as client:
        for seq in range(1, 11):
            samples = [[0, SPEED, float(seq)], [500, SOC, 90.0 - seq]]
            r = client.post(
                f"/v1/vehicles/{VIN}/telemetry",
                content=batch(samples, seq=seq, ts=t0 + seq * 1000),
                headers=bearer(vehicle),
            )
            assert r.json()["accepted"] == 2
    state_before, history_before = read_back(first, operator, t0)
    first.stop()

    second = Platform(make_settings(tmp_path))
    second.start()
    try:
        state_after, history_after = read_back(second, operator, t0)
        assert state_after == state_before
        assert state_after["signals"][SPEED]["value"] == 10.0
        assert history_after == history_before
        assert len(history_after["series"][0]["ts"]) == 10
        # The dedup window is warm again: a batch re-sent after the restart is not stored twice.
        assert second.gateway.ingest(
            batch([[0, SPEED, 10.0]], seq=10, ts=t0 + 10_000), VIN
        ).duplicate
        assert second.store.stats().samples == 20
    finally:
        second.stop()
