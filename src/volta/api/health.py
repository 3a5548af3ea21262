"""Health: liveness (no token), ingest health for operators, Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from volta.api.auth import PUBLIC_ROUTE, OperatorDep, PlatformDep

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: str


class MqttHealth(BaseModel):
    connected: bool
    received: int
    acked: int
    awaiting_redelivery: int


class IngestHealth(BaseModel):
    batches_per_s: float = Field(description="stored batches per second, last 10 s")
    samples_per_s: float = Field(description="stored samples per second, last 10 s")
    counters: dict[str, float] = Field(description="the volta_ingest_* Prometheus counters")
    stored_batches: int
    stored_samples: int
    quarantined: int
    vehicles: int
    last_seen_ms: dict[str, int] = Field(description="per VIN: when its last batch was stored")
    mqtt: MqttHealth | None


@router.get("/healthz", response_model=Liveness, dependencies=[PUBLIC_ROUTE])
def healthz() -> Liveness:
    return Liveness(status="ok")


@router.get("/v1/ingest/health", response_model=IngestHealth)
def ingest_health(principal: OperatorDep, platform: PlatformDep) -> IngestHealth:
    batches_s, samples_s = platform.activity.rates()
    stats = platform.store.stats()
    counters: dict[str, float] = {}
    for metric in platform.metrics_registry.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.name.startswith("volta_ingest_"):
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                counters[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    mqtt = platform.mqtt
    return IngestHealth(
        batches_per_s=batches_s,
        samples_per_s=samples_s,
        counters=counters,
        stored_batches=stats.batches,
        stored_samples=stats.samples,
        quarantined=stats.quarantined,
        vehicles=stats.vehicles,
        last_seen_ms=platform.activity.last_seen(),
        mqtt=None
        if mqtt is None
        else MqttHealth(
            connected=mqtt.connected,
            received=mqtt.received,
            acked=mqtt.acked,
            awaiting_redelivery=mqtt.unacked_retry,
        ),
    )


@router.get("/metrics", response_class=Response)
def metrics(principal: OperatorDep, platform: PlatformDep) -> Response:
    """Prometheus text format (scrape with an operator bearer token)."""
    return Response(generate_latest(platform.metrics_registry), media_type=CONTENT_TYPE_LATEST)
