"""The twin follows the bus: every stored batch reaches it as an event, in embedded and scale-out
alike.

A gateway announces each group commit on `stored.{source}` once the commit is durable, and the
twin taps `stored.*`. On the in-process bus the tap runs in the committer's thread, right after
the commit and before any message of it is answered, in commit order; on NATS it runs in the
tap's own thread, and a group missed across a bus outage leaves those vehicles' values one batch
old until their next batch (or a restart's load from the store) mends it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from volta.bus import Bus, Subscription, tap_stored
from volta.store.base import AcceptedBatch
from volta.twin.state import Twin

log = logging.getLogger(__name__)


def follow(bus: Bus, twin: Twin, *also: Callable[[list[AcceptedBatch]], None]) -> Subscription:
    """Apply to `twin` every batch stored from now on, as `bus` announces them, then hand each
    group to every `also` (the ingest rates). One tap for all of them: on NATS each tap is a
    delivery and a decode of every group (with a tap each, the scale-out API process used
    15 -> 22 CPU-s in one pair of 120 s `bench/fleet.py` runs)."""

    def apply(batches: list[AcceptedBatch]) -> None:
        for batch in batches:
            try:
                twin.apply(batch)
            except Exception:  # one batch the twin fails on must not cost the rest of its group
                log.exception("twin update for %s/%s failed", batch.vin, batch.seq)
        for handler in also:
            try:
                handler(batches)
            except Exception:  # nor may a follower's fault cost the twin its next group
                log.exception("a follower of the stored batches failed")

    return tap_stored(bus, apply)
