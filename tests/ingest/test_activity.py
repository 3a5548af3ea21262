"""When a vehicle was last heard from: a live batch says it is awake now, history does not."""

from __future__ import annotations

from volta.ingest.activity import IngestActivity
from volta.store.base import AcceptedBatch

NOW = 1_796_171_400_000
VIN = "VLTDCHT71NH000000"


def _batch(ts_ms: int, seq: int) -> AcceptedBatch:
    return AcceptedBatch(VIN, seq, ts_ms, [1, 1], [ts_ms, ts_ms + 900], [1.0, 2.0], [None, None])


def test_a_late_batch_says_awake_now_but_a_replayed_day_says_when() -> None:
    activity = IngestActivity(clock=lambda: NOW)
    activity.record([_batch(NOW - 3 * 3600_000, 1)])  # a backfill of this afternoon
    assert activity.last_seen() == {VIN: NOW - 3 * 3600_000 + 900}
    activity.record([_batch(NOW - 90_000, 2)])  # delayed a minute and a half: the car is up
    assert activity.last_seen() == {VIN: NOW}
    activity.record([_batch(NOW - 2 * 3600_000, 3)])  # older history changes nothing
    assert activity.last_seen() == {VIN: NOW}
