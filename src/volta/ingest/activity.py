"""Ingest activity for the health page: samples/s over a sliding window, last-seen per vehicle.

Fed with what each group commit stored, as the bus announces it (`follow`): the process's own
gateway's commits (every transport: MQTT, HTTP, in-process) and, in a scale-out API process,
the workers'. One call per commit, on a tap: on NATS a consumer with an acknowledgement per
batch would cost the API process far more."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from volta.clock import Clock, wall_ms
from volta.store.base import AcceptedBatch

# A batch whose base time is at most this old when stored is live: its car is awake now.
LIVE_MS = 10 * 60_000


class IngestActivity:
    """Counts stored batches per second (ring of 1 s buckets) and remembers when each vehicle
    was last heard from. Runs in the committer's thread (in-process bus), so it does O(1) work
    per batch."""

    def __init__(self, clock: Clock = wall_ms, window_s: int = 10) -> None:
        self._clock = clock
        self._window_s = window_s
        self._buckets: deque[list[int]] = deque()  # [second, batches, samples]
        self._last_seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def record(self, stored: Sequence[AcceptedBatch]) -> None:
        """Count the batches one commit stored."""
        now = self._clock()
        second = now // 1000
        with self._lock:
            for event in stored:
                # A batch says its car is awake when it arrives, unless it is history (a
                # backfill, the demo's replay of the fleet's day): then only that the car was
                # awake at its samples' time. A car back from a connectivity gap sends live
                # batches too, so its late ones lose nothing.
                seen = now if now - event.ts_ms <= LIVE_MS else max(event.ts, default=0)
                if seen > self._last_seen.get(event.vin, -1):
                    self._last_seen[event.vin] = seen
            if not self._buckets or self._buckets[-1][0] != second:
                self._buckets.append([second, 0, 0])
                while self._buckets[0][0] <= second - self._window_s:
                    self._buckets.popleft()
            bucket = self._buckets[-1]
            bucket[1] += len(stored)
            bucket[2] += sum(len(event.signal_ids) for event in stored)

    def rates(self) -> tuple[float, float]:
        """(batches/s, samples/s) over the last full `window_s` seconds."""
        now_s = self._clock() // 1000
        with self._lock:
            inside = [b for b in self._buckets if now_s - self._window_s <= b[0] < now_s]
        return (
            sum(b[1] for b in inside) / self._window_s,
            sum(b[2] for b in inside) / self._window_s,
        )

    def last_seen(self) -> dict[str, int]:
        with self._lock:
            return dict(self._last_seen)
