"""Prometheus counters of the ingest path, updated once per batch or per commit, never per
sample (increments are by counts)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class IngestMetrics:
    """The gateway's counters. `registry=None` keeps them unregistered (tests, benchmarks);
    the service passes its registry so `/metrics` exports them."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.samples_accepted = Counter(
            "volta_ingest_samples_accepted",
            "Samples stored as telemetry.",
            registry=registry,
        )
        self.samples_rejected = Counter(
            "volta_ingest_samples_rejected",
            "Samples quarantined, by reason code.",
            ["reason"],
            registry=registry,
        )
        self.batches = Counter(
            "volta_ingest_batches",
            "Batches by outcome: stored, duplicate (re-sent, answered, not stored again), "
            "refused (quarantined whole or not accepted at all).",
            ["result"],
            registry=registry,
        )
        self.quarantined = Counter(
            "volta_ingest_quarantined",
            "Quarantine records written, by reason code.",
            ["reason"],
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "volta_ingest_commit_seconds",
            "Duration of one group commit (store append), seconds.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=registry,
        )
        self._stored = self.batches.labels(result="stored")
        self._duplicate = self.batches.labels(result="duplicate")
        self._refused = self.batches.labels(result="refused")

    def record_commit(
        self,
        *,
        stored: int,
        duplicate: int,
        refused: int,
        samples: int,
        rejected: dict[str, int],
        quarantined: dict[str, int],
        seconds: float,
    ) -> None:
        """Count one group commit: batches by outcome, samples, reject and quarantine codes."""
        if stored:
            self._stored.inc(stored)
        if duplicate:
            self._duplicate.inc(duplicate)
        if refused:
            self._refused.inc(refused)
        if samples:
            self.samples_accepted.inc(samples)
        for code, n in rejected.items():
            self.samples_rejected.labels(reason=code).inc(n)
        for code, n in quarantined.items():
            self.quarantined.labels(reason=code).inc(n)
        self.commit_seconds.observe(seconds)
