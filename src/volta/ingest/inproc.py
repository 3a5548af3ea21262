"""The in-process transport: a vehicle (simulator, test, embedded demo) publishing straight
into a `Gateway`, no network. Same answers as MQTT or HTTP would give."""

from __future__ import annotations

from collections.abc import Sequence

from volta.ingest.commit import IngestResult
from volta.ingest.gateway import Gateway


class InProcessTransport:
    """The vehicle side of the in-process transport."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def publish(self, vin: str, payload: bytes) -> IngestResult:
        """Publish one encoded batch as vehicle `vin`; returns once it is stored (or refused)."""
        return self.gateway.ingest(payload, vin)

    def publish_many(self, items: Sequence[tuple[str, bytes]]) -> list[IngestResult]:
        """Publish `(vin, payload)` batches, committed together in one transaction."""
        return self.gateway.ingest_many(items)
