"""The telemetry store interface and the plain types that cross it.

Two engines implement `TelemetryStore`: DuckDB (embedded default, `volta.store.duckdb_store`) and
PostgreSQL (scale-out, later). `tests/store/test_contract.py` is the definition of the interface:
every engine must pass it unchanged.

Values are kept in two columns so that numbers stay columnar: numbers and booleans in `num`
(booleans as 0.0/1.0), strings and arrays in `txt` as JSON text. Turning a stored value back into
its VSS type is the catalog's job (`Catalog.from_stored`), not the store's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import msgspec
import numpy as np
from numpy.typing import NDArray


class AcceptedBatch(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """The good samples of one telemetry batch, column-wise: what the gateway writes in one
    bulk append and, once that is durable, announces on the bus (`bus.events.StoredGroup`):
    the very objects in-process, MessagePack arrays on NATS.

    The four sample lists have one entry per accepted sample; exactly one of `num[i]`/`txt[i]`
    is not None (turn values back into VSS types with `Signal.from_stored`). `received_ms` and
    `rejected` come last, with defaults, so that events published before they were carried
    still decode. Not tracked by the garbage collector (`gc=False`: it holds only lists of
    numbers and strings, never itself), so that the thousands a group commit makes add nothing
    to the collector's walks.
    """

    vin: str
    seq: int
    ts_ms: int  # the batch's base time
    signal_ids: list[int]
    ts: list[int]  # absolute sample times, ms since the epoch
    num: list[float | None]
    txt: list[str | None]
    received_ms: int = 0
    rejected: int = 0  # how many samples of this batch went to quarantine

    def __len__(self) -> int:
        return len(self.signal_ids)


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """Something that was not stored as telemetry, and why. Nothing is dropped silently."""

    received_ms: int
    reason: str  # what a user reads: "sample 3: Vehicle.Speed expects float, got 'fast'"
    code: str  # short machine-readable reason, the label of the rejects counter
    vin: str | None = None
    seq: int | None = None
    sample_index: int | None = None
    signal: str | None = None
    raw: bytes = b""  # the offending sample or (bounded) batch, as received


@dataclass(frozen=True, slots=True)
class StoredQuarantine:
    id: int
    record: QuarantineRecord


@dataclass(frozen=True, slots=True)
class LatestValue:
    vin: str
    signal_id: int
    ts_ms: int
    num: float | None
    txt: str | None


class Aggregate(StrEnum):
    MIN = "min"
    MAX = "max"
    AVG = "avg"
    LAST = "last"


@dataclass(frozen=True, slots=True)
class Series:
    """History of one signal. Raw when the range holds at most `max_points` samples; otherwise
    one point per time bucket, `ts` being the bucket start, with min/max/avg/last of the bucket
    (`num` is then the bucket's last value; min/max/avg are None for text signals). Buckets
    without samples are left out; bucket widths follow `bucket_width`."""

    signal_id: int
    ts: list[int]
    num: list[float | None]
    txt: list[str | None]
    downsampled: bool = False
    bucket_ms: int | None = None
    min: list[float | None] = field(default_factory=list)
    max: list[float | None] = field(default_factory=list)
    avg: list[float | None] = field(default_factory=list)
    count: list[int] = field(default_factory=list)


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


@dataclass(frozen=True, slots=True)
class StoreStats:
    batches: int
    samples: int
    quarantined: int
    vehicles: int


def bucket_width(start_ms: int, end_ms: int, max_points: int) -> int:
    """Width of the history buckets for [start_ms, end_ms) in at most `max_points` buckets:
    ceil((end - start) / max_points). Bucket k covers [start + k*w, start + (k+1)*w)."""
    return max(1, -(-(end_ms - start_ms) // max_points))


class TelemetryStore(Protocol):
    """Durable telemetry: batches, samples, quarantine.

    Thread-safe for one writer and many readers."""

    def append(
        self, batches: Sequence[AcceptedBatch], quarantine: Sequence[QuarantineRecord] = ()
    ) -> set[tuple[str, int]]:
        """Store everything in ONE transaction (group commit) and return the (vin, seq) of the
        batches that were already stored: their samples are not written again. Durable on return."""
        ...

    def has_batch(self, vin: str, seq: int) -> bool: ...

    def recent_seqs(self, vin: str, limit: int) -> list[int]:
        """The highest `limit` seqs stored for a vehicle (to warm the gateway's dedup window)."""
        ...

    def latest(self, vin: str | None = None) -> Iterator[LatestValue]:
        """Latest value of every signal (of one vehicle, or of all): the twin's source on start.

        "Latest" is by sample time, not arrival: a late batch of older samples changes nothing.
        Equal sample times go to the higher seq, then to the later sample within a batch, so the
        answer does not depend on the order in which batches arrived. Ordered by (vin, signal_id).
        """
        ...

    def history(
        self,
        vin: str,
        signal_ids: Sequence[int],
        start_ms: int,
        end_ms: int,
        max_points: int = 1000,
    ) -> list[Series]:
        """Samples in [start_ms, end_ms), at most `max_points` per signal (bucketed if more)."""
        ...

    def export(
        self,
        vin: str,
        signal_ids: Sequence[int] | None,
        start_ms: int,
        end_ms: int,
        fmt: ExportFormat,
        path: Path,
    ) -> int:
        """Write raw samples (vin, signal_id, ts_ms, num, txt) to `path`, ordered by time, then
        signal, then value; return the row count."""
        ...

    def quarantined(
        self, vin: str | None = None, limit: int = 100, before_id: int | None = None
    ) -> list[StoredQuarantine]:
        """Newest first; page with `before_id`."""
        ...

    def stats(self) -> StoreStats: ...

    def close(self) -> None: ...

    def scan(
        self, vin: str, signal_ids: Sequence[int], start_ms: int, end_ms: int
    ) -> dict[int, tuple[NDArray[np.int64], NDArray[np.float64]]]:
        """Raw numeric samples in [start_ms, end_ms) per signal, sorted by time (ties in a
        stable but unspecified order): the columnar input of the derived services. Text
        samples are left out; every requested id is in the answer, empty if it has nothing."""
        ...
