"""Per-credential API limits: a token bucket per credential; 429 with Retry-After and a JSON
reason; counted in the metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from starlette.testclient import WebSocketDenialResponse

from volta.api import create_app
from volta.api.limits import TokenBuckets
from volta.platform import Platform

from .conftest import VIN, bearer, make_settings, populate, sign_in


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate_per_s=2.0, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token back in 0.5 s
    assert buckets.take("b") == 0.0  # every key has its own bucket
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    clock.now += 60  # refills up to the burst, not beyond
    takes = [buckets.take("a") for _ in range(4)]
    assert takes[:3] == [0.0, 0.0, 0.0] and takes[3] > 0  # the 4th finds the bucket empty


def test_rate_zero_means_no_limit_and_bad_settings_are_refused() -> None:
    buckets = TokenBuckets(rate_per_s=0, burst=1)
    assert all(buckets.take("a") == 0.0 for _ in range(10_000))
    with pytest.raises(ValueError):
        TokenBuckets(rate_per_s=-1, burst=1)
    with pytest.raises(ValueError):
        TokenBuckets(rate_per_s=1, burst=0)


def test_idle_keys_are_forgotten_beyond_the_bound() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate_per_s=1.0, burst=2, clock=clock, max_keys=100)
    for i in range(1000):
        buckets.take(f"k{i}")
        clock.now += 0.01
    assert len(buckets._buckets) <= 101


def test_the_api_answers_429_with_retry_after_and_counts_it(tmp_path: Path) -> None:
    # A refill of one request per 100 s: no refill while the test runs, however loaded.
    platform = Platform(make_settings(tmp_path, api_rate_per_s=0.01, api_burst=3))
    platform.start()
    try:
        tokens = populate(platform.registry)
        with TestClient(create_app(platform)) as client:
            vehicle = bearer(tokens["vehicle"])
            statuses = [
                client.get(f"/v1/vehicles/{VIN}/state", headers=vehicle).status_code
                for _ in range(3)
            ]
            assert statuses == [200, 200, 200]
            r = client.get(f"/v1/vehicles/{VIN}/state", headers=vehicle)
            assert r.status_code == 429
            assert 50 <= int(r.headers["retry-after"]) <= 100
            body = r.json()
            assert body["error"] == "rate_limited"
            assert "too many requests with this credential" in body["message"]
            assert tokens["vehicle"] not in r.text
            # Another credential has its own bucket; a signed-in user is limited per user.
            other = bearer(tokens["other_vehicle"])
            assert client.get("/v1/me", headers=other).status_code == 200
            dana = bearer(sign_in(client, "dana"))
            assert [client.get("/v1/me", headers=dana).status_code for _ in range(4)] == [
                200,
                200,
                200,
                429,
            ]
            # The WebSocket counts too.
            live = f"/v1/vehicles/{VIN}/live?token={tokens['vehicle']}"
            with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect(live):
                pass
            assert denied.value.status_code == 429
        text = generate_latest(platform.metrics_registry).decode()
        assert 'volta_api_rate_limited_total{role="vehicle"} 2.0' in text
        assert 'volta_api_rate_limited_total{role="driver"} 1.0' in text
    finally:
        platform.stop()
