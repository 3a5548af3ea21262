"""Events that cross the bus, as msgspec Structs (MessagePack on the wire), and their subjects."""

from __future__ import annotations

import msgspec

from volta.bus.base import Bus


def stored_subject(source: int) -> str:
    """Where gateway `source` (a worker's index; 0 for the embedded gateway) announces what
    each of its group commits stored: `stored.{source}`, one `StoredGroup` per commit (or a
    few, see `publish_stored`)."""
    return f"stored.{source}"


STORED_ALL = "stored.*"

# ~15 bytes a sample in MessagePack: ~150 KB a message, well under NATS's 1 MB max_payload.
GROUP_MAX_SAMPLES = 10_000


class TelemetryStored(msgspec.Struct, frozen=True, array_like=True):
    """The good samples of one batch, published after they are durably stored.

    Column-wise like `AcceptedBatch`: one entry per sample in the four lists; exactly one of
    `num[i]`/`txt[i]` is not None. Turn values back into VSS types with `Signal.from_stored`."""

    vin: str
    seq: int
    ts_ms: int  # the batch's base time
    signal_ids: list[int]
    ts: list[int]
    num: list[float | None]
    txt: list[str | None]


class StoredGroup(msgspec.Struct, frozen=True, array_like=True):
    """Batches one group commit stored, in commit order. One message per commit instead of
    one per batch: at fleet rates (~1,000 batches/s per worker) the per-message cost of
    JetStream (publish, acknowledgement, a consumer's delivery and ack) was a sixth of a
    worker's CPU, and every consumer (the processors, the scale-out API's twin) pays it too."""

    batches: list[TelemetryStored]


def publish_stored(
    bus: Bus, subject: str, stored: list[TelemetryStored], max_samples: int = GROUP_MAX_SAMPLES
) -> None:
    """Publish one commit's batches on `subject`, in order, in `StoredGroup`s of at most
    `max_samples` samples (a batch larger than that alone): a commit can hold 2,000 batches of
    thousands of samples, and NATS refuses a message over its max_payload."""
    group: list[TelemetryStored] = []
    samples = 0
    for event in stored:
        if group and samples + len(event.signal_ids) > max_samples:
            bus.publish(subject, StoredGroup(group))
            group, samples = [], 0
        group.append(event)
        samples += len(event.signal_ids)
    if group:
        bus.publish(subject, StoredGroup(group))
