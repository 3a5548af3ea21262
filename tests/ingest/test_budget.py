"""Per-vehicle ingest budgets: a runaway vehicle is quarantined as rate_limited while every
other vehicle's data is stored; the HTTP route answers 429 with Retry-After."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from volta.api import create_app
from volta.config import Settings
from volta.ingest import IngestMetrics, IngestResult
from volta.ingest.budget import IngestBudget
from volta.platform import Platform
from volta.registry import Role

from .conftest import SOC, SPEED, T0, VIN, VIN2, GatewayFactory, message

RUNAWAY, NORMAL = VIN, VIN2


def samples(n: int) -> list[list[object]]:
    return [[i, SPEED if i % 2 else SOC, 50.0] for i in range(n)]


# -- the bucket on its own ---------------------------------------------------------------------


def test_bucket_admits_the_burst_then_the_rate() -> None:
    budget = IngestBudget(rate_per_s=1000, burst=2000)
    assert budget.take(VIN, 2000, 0) is None  # a full bucket takes the whole burst
    wait = budget.take(VIN, 100, 0)
    assert wait is not None and wait >= 1
    assert budget.exhausted(VIN, 0) is not None
    assert budget.take(VIN, 100, 100) is None  # 100 ms refill 100 samples
    assert budget.take(VIN, 1, 100) is not None
    assert budget.take(VIN2, 2000, 100) is None  # another vehicle has its own bucket


def test_bucket_never_holds_more_than_the_burst() -> None:
    budget = IngestBudget(rate_per_s=1000, burst=500)
    assert budget.take(VIN, 1, 0) is None
    # An hour idle refills to the burst, not to 3.6 million.
    assert budget.take(VIN, 499, 3_600_000) is None
    assert budget.take(VIN, 2, 3_600_000) is not None


def test_a_batch_larger_than_the_burst_is_admitted_on_a_full_bucket_then_paid_for() -> None:
    budget = IngestBudget(rate_per_s=100, burst=50)
    assert budget.take(VIN, 200, 0) is None  # not refused for ever
    # 150 samples of debt: at 100/s that is 1.5 s before the bucket is positive again.
    assert budget.exhausted(VIN, 1000) is not None
    wait = budget.exhausted(VIN, 1000)
    assert wait is not None and wait >= 1
    assert budget.exhausted(VIN, 2100) is None


def test_zero_rate_turns_budgets_off() -> None:
    budget = IngestBudget(rate_per_s=0, burst=1)
    assert not budget.enabled
    assert budget.take(VIN, 10**9, 0) is None
    assert budget.exhausted(VIN, 0) is None


def test_settings_defaults_are_well_above_a_cars_rate() -> None:
    s = Settings()
    assert s.ingest_budget_samples_per_s >= 1000  # a car streams ~100 samples/s
    assert s.ingest_budget_burst >= s.ingest_budget_samples_per_s


# -- in the gateway ----------------------------------------------------------------------------


def test_runaway_vehicle_is_rate_limited_while_a_normal_vehicle_is_all_stored(
    make_gateway: GatewayFactory,
) -> None:
    now = [T0]
    registry = CollectorRegistry()
    gw = make_gateway(
        ingest_budget_samples_per_s=1000,
        ingest_budget_burst=2000,
        clock=lambda: now[0],
        metrics=IngestMetrics(registry),
    )
    runaway: list[IngestResult] = []
    normal: list[IngestResult] = []
    # 5 s of gateway time: the runaway sends 100 samples every 10 ms (10,000 samples/s), the
    # normal car 20 samples every 200 ms (100 samples/s). `ingest` is the HTTP route's path.
    for step in range(500):
        now[0] = T0 + step * 10
        runaway.append(gw.ingest(message(samples(100), seq=step + 1, vin=RUNAWAY), RUNAWAY))
        if step % 20 == 0:
            body = message(samples(20), seq=step // 20 + 1, vin=NORMAL)
            normal.append(gw.ingest(body, NORMAL))

    assert len(normal) == 25
    assert all(r.error is None and r.accepted == 20 for r in normal)
    stored = sum(r.accepted for r in runaway)
    # At most the burst plus 5 s at the rate; at least that less one batch of rounding.
    assert 2000 + 5000 - 100 <= stored <= 2000 + 5000
    limited = [r for r in runaway if r.error is not None]
    assert limited and all(r.error == "rate_limited" for r in limited)
    assert all(r.retry_after_s is not None and r.retry_after_s >= 1 for r in limited)
    assert "ingest budget of 1000 samples/s" in (limited[0].reason or "")

    stats = gw.store.stats()
    assert stats.samples == stored + 25 * 20
    records = gw.store.quarantined(RUNAWAY, limit=10_000)
    assert len(records) == len(limited)
    assert {q.record.code for q in records} == {"rate_limited"}
    assert not gw.store.quarantined(NORMAL)
    assert registry.get_sample_value(
        "volta_ingest_quarantined_total", {"reason": "rate_limited"}
    ) == len(limited)
    assert registry.get_sample_value("volta_ingest_batches_total", {"result": "refused"}) == len(
        limited
    )


def test_rate_limited_batch_can_be_sent_again_later(make_gateway: GatewayFactory) -> None:
    now = [T0]
    gw = make_gateway(
        ingest_budget_samples_per_s=100, ingest_budget_burst=100, clock=lambda: now[0]
    )
    assert gw.ingest(message(samples(100), seq=1), VIN).accepted == 100
    refused = gw.ingest(message(samples(100), seq=2), VIN)
    assert refused.error == "rate_limited" and refused.retry_after_s is not None
    now[0] += int(refused.retry_after_s * 1000)
    again = gw.ingest(message(samples(100), seq=2), VIN)
    assert again.error is None and again.accepted == 100 and not again.duplicate


def test_submitted_batches_go_through_the_budget(make_gateway: GatewayFactory) -> None:
    gw = make_gateway(ingest_budget_samples_per_s=10, ingest_budget_burst=100)
    gw.start()
    first = gw.ingest(message(samples(100), seq=1), VIN)
    second = gw.ingest(message(samples(100), seq=2), VIN)
    assert first.accepted == 100
    assert second.error == "rate_limited"


def test_in_process_ingest_many_is_not_budgeted(make_gateway: GatewayFactory) -> None:
    # The simulator and the demo backfill history in seconds through the in-process path.
    gw = make_gateway(ingest_budget_samples_per_s=10, ingest_budget_burst=10)
    results = gw.ingest_many([(VIN, message(samples(100), seq=s)) for s in range(1, 6)])
    assert [r.accepted for r in results] == [100] * 5


def test_budget_off_admits_a_flood(make_gateway: GatewayFactory) -> None:
    gw = make_gateway(ingest_budget_samples_per_s=0, ingest_budget_burst=1)
    results = [gw.ingest(message(samples(100), seq=s), VIN) for s in range(1, 30)]
    assert all(r.error is None and r.accepted == 100 for r in results)


# -- over HTTP ---------------------------------------------------------------------------------


def test_http_ingest_answers_429_with_retry_after(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, mqtt=None, ingest_budget_samples_per_s=10, ingest_budget_burst=100
    )
    platform = Platform(settings)
    platform.start()
    try:
        token = platform.registry.add_vehicle(VIN, "Model V").token.token
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        url = f"/v1/vehicles/{VIN}/telemetry"
        ts = platform.gateway.clock() - 60_000
        with TestClient(create_app(platform)) as client:
            ok = client.post(url, content=message(samples(100), seq=1, ts=ts), headers=headers)
            assert ok.status_code == 200 and ok.json()["accepted"] == 100
            limited = client.post(url, content=message(samples(100), seq=2, ts=ts), headers=headers)
            assert limited.status_code == 429
            assert limited.json()["error"] == "rate_limited"
            assert "ingest budget" in limited.json()["message"]
            # 100 samples at 10 samples/s: about 10 s before this batch fits.
            assert 5 <= int(limited.headers["Retry-After"]) <= 11
            operator = platform.registry.issue_token(Role.OPERATOR).token
            q = client.get(
                f"/v1/quarantine?vin={VIN}", headers={"Authorization": f"Bearer {operator}"}
            )
            assert q.status_code == 200
            assert [item["code"] for item in q.json()["records"]] == ["rate_limited"]
    finally:
        platform.stop()
