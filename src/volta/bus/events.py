"""Events that cross the bus, as msgspec Structs (MessagePack on the wire), and their subjects.

A stored batch is announced as the `AcceptedBatch` the store was given: one type for the
batch from the gateway's check to the store, the twin and the processors."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from volta.bus.base import Bus, Message, Subscription
from volta.store.base import AcceptedBatch


def stored_subject(source: int) -> str:
    """Where gateway `source` (a worker's index; 0 for the embedded gateway) announces what
    each of its group commits stored: `stored.{source}`, one `StoredGroup` per commit (or a
    few, see `publish_stored`)."""
    return f"stored.{source}"


STORED_ALL = "stored.*"

# ~15 bytes a sample in MessagePack: ~150 KB a message, well under NATS's 1 MB max_payload.
GROUP_MAX_SAMPLES = 10_000


class StoredGroup(msgspec.Struct, frozen=True, array_like=True):
    """Batches one group commit stored, in commit order. One message per commit instead of
    one per batch: at fleet rates (~1,000 batches/s per worker) the per-message cost of
    JetStream (publish, acknowledgement, a consumer's delivery and ack) was a sixth of a
    worker's CPU, and every consumer (the processors, the scale-out API's twin) pays it too."""

    batches: list[AcceptedBatch]


def publish_stored(
    bus: Bus, subject: str, stored: Sequence[AcceptedBatch], max_samples: int = GROUP_MAX_SAMPLES
) -> None:
    """Publish one commit's batches on `subject`, in order, in `StoredGroup`s of at most
    `max_samples` samples (a batch larger than that alone): a commit can hold 2,000 batches of
    thousands of samples, and NATS refuses a message over its max_payload."""
    group: list[AcceptedBatch] = []
    samples = 0
    for event in stored:
        if group and samples + len(event.signal_ids) > max_samples:
            bus.publish(subject, StoredGroup(group))
            group, samples = [], 0
        group.append(event)
        samples += len(event.signal_ids)
    if group:
        bus.publish(subject, StoredGroup(group))


def tap_stored(bus: Bus, handler: Callable[[list[AcceptedBatch]], None]) -> Subscription:
    """Call `handler(batches)` for each group commit any gateway announces from now on, with
    its batches in commit order (a tap: see `Bus.tap`)."""

    def on_group(message: Message) -> None:
        handler(message.decode(StoredGroup).batches)

    return bus.tap(STORED_ALL, on_group)
