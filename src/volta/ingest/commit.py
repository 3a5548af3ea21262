"""The group commit: de-duplicate, write in one transaction, announce, answer.

A group of prepared messages (see `admission`) becomes one store transaction: re-sent batches
are dropped (the `Dedup` window, then the store's own key), the rest and every quarantine
record are appended, and only once that is durable are the stored batches announced on the
bus (`StoredGroup`s on `stored.{source}`, which the twin, the ingest rates and the processors
follow) and each message's `IngestResult` made. A store that fails makes every answer of the
group `store_unavailable` ("not stored, send again"); a bus that fails changes no answer.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from volta.bus import Bus, publish_stored, stored_subject
from volta.config import Settings
from volta.ingest import codes
from volta.ingest.dedup import Dedup
from volta.ingest.metrics import IngestMetrics
from volta.ingest.pipeline import Prepared
from volta.store.base import AcceptedBatch, QuarantineRecord, TelemetryStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rejection:
    """One sample that went to quarantine: where it was, which signal, why."""

    index: int | None
    signal: str | None
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class IngestResult:
    """The answer to one message. `error` is set when nothing of it was stored."""

    vin: str | None
    seq: int | None
    accepted: int
    rejected: list[Rejection]
    duplicate: bool
    error: str | None = None
    reason: str | None = None
    retry_after_s: float | None = None  # set with error="rate_limited": when to send again


def not_stored(vin: str | None, code: str, reason: str) -> IngestResult:
    """The answer to a message of which nothing was stored, and why."""
    return IngestResult(vin, None, 0, [], False, code, reason)


class GroupCommit:
    """Commits groups of prepared messages into `store` and announces them on `bus`."""

    def __init__(
        self,
        store: TelemetryStore,
        bus: Bus,
        settings: Settings,
        metrics: IngestMetrics,
        source: int = 0,
    ) -> None:
        self.store = store
        self.bus = bus
        self.metrics = metrics
        self.subject = stored_subject(source)  # source: the gateway's worker index
        self._dedup = Dedup(store, settings.dedup_window)

    def commit(self, prepared: list[Prepared]) -> list[IngestResult]:
        """Store what `prepared` holds in one transaction, announce it, and return each
        message's answer, in order. The caller serialises commits (one writer)."""
        # De-duplicate against what is stored and within this group; a duplicate writes
        # nothing (not even its quarantine records again) and is answered once this commit is
        # durable, like any other message of the group. When the window cannot tell, a clean
        # batch goes to the store, which skips and reports what it already has; a batch with
        # rejects warms the window first, so that its quarantine records are not written twice.
        dedup = self._dedup
        pending: set[tuple[str, int]] = set()
        duplicate = [False] * len(prepared)
        batches: list[AcceptedBatch] = []
        quarantine: list[QuarantineRecord] = []
        for i, p in enumerate(prepared):
            b = p.batch
            if b is not None:
                key = (b.vin, b.seq)
                seen = key in pending or dedup.seen(b.vin, b.seq)
                if seen is None and p.quarantine:
                    dedup.warm(b.vin)
                    seen = dedup.seen(b.vin, b.seq)
                if seen:
                    duplicate[i] = True
                    continue
                pending.add(key)
                batches.append(b)
            quarantine.extend(p.quarantine)

        started = time.perf_counter()
        try:
            already = self.store.append(batches, quarantine) if batches or quarantine else set()
        except Exception as err:
            log.exception("store append of %d batches failed; nothing acknowledged", len(batches))
            reason = f"the store failed ({type(err).__name__}); send again"
            return [not_stored(p.vin, codes.STORE_UNAVAILABLE, reason) for p in prepared]
        seconds = time.perf_counter() - started

        for vin, seq in pending:
            dedup.record(vin, seq)
        self._announce(batches, already)
        return self._answer(prepared, duplicate, already, quarantine, seconds)

    def _announce(self, batches: list[AcceptedBatch], already: set[tuple[str, int]]) -> None:
        # What the store was given is what is announced: no copy per batch on the hot path. On
        # the in-process bus the followers (twin, ingest rates) run here, before any answer.
        stored = [b for b in batches if (b.vin, b.seq) not in already] if already else batches
        try:
            publish_stored(self.bus, self.subject, stored)
        except Exception:  # stored is stored: a bus fault must not un-ack it
            log.exception("announcing %d stored batches failed", len(stored))

    def _answer(
        self,
        prepared: list[Prepared],
        duplicate: list[bool],
        already: set[tuple[str, int]],
        quarantine: list[QuarantineRecord],
        seconds: float,
    ) -> list[IngestResult]:
        results: list[IngestResult] = []
        stored = dups = refused = samples = 0
        rejected: dict[str, int] = {}
        for p, dup in zip(prepared, duplicate, strict=True):
            b = p.batch
            if b is None:
                refused += 1
                results.append(
                    IngestResult(p.vin, p.seq, 0, [], False, p.error, p.reason, p.retry_after_s)
                )
            elif dup or (already and (b.vin, b.seq) in already):
                dups += 1
                results.append(IngestResult(p.vin, p.seq, 0, [], True))
            else:
                stored += 1
                samples += len(b.signal_ids)
                rejections = []
                for q in p.quarantine:
                    rejected[q.code] = rejected.get(q.code, 0) + 1
                    rejections.append(Rejection(q.sample_index, q.signal, q.code, q.reason))
                results.append(IngestResult(p.vin, p.seq, len(b.signal_ids), rejections, False))
        quarantined: dict[str, int] = {}
        for q in quarantine:
            quarantined[q.code] = quarantined.get(q.code, 0) + 1
        self.metrics.record_commit(
            stored=stored,
            duplicate=dups,
            refused=refused,
            samples=samples,
            rejected=rejected,
            quarantined=quarantined,
            seconds=seconds,
        )
        return results
