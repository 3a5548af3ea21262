"""Per-vehicle ingest budgets: a token bucket of samples per vehicle, so that one runaway car
cannot take the gateway's time from the others.

Each vehicle's bucket holds up to `burst` samples and refills at `rate` samples per second of
the gateway's clock. A batch of n samples is admitted when the bucket holds at least
min(n, burst) — so a batch larger than the burst is not refused for ever — and is then charged
n, which may leave the bucket in debt: a vehicle's average rate stays bounded by `rate`. While
a bucket is empty (or in debt) the gateway refuses the vehicle's batches before decoding them,
so a flood costs little more than its quarantine records.

Pure logic: the caller passes the time; no clock is read here.
"""

from __future__ import annotations

import math
import threading

# Above this many vehicles, buckets that are full again (idle vehicles) are dropped: a full
# bucket and no bucket mean the same, so memory stays bounded by the recently busy vehicles.
_PRUNE_ABOVE = 100_000


class IngestBudget:
    """Token buckets of samples per VIN. `rate <= 0` turns budgets off (everything admitted).

    Thread-safe: batches are prepared on the committer thread and on `ingest_many` callers'."""

    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate_per_ms = max(0.0, rate_per_s) / 1000.0
        self.burst = max(float(burst), 1.0)
        self.enabled = self.rate_per_ms > 0
        self._buckets: dict[str, list[float]] = {}  # vin -> [tokens, at_ms, last batch size]
        self._lock = threading.Lock()

    def _refill(self, vin: str, now_ms: int) -> list[float]:
        bucket = self._buckets.get(vin)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_ABOVE:
                self._prune(now_ms)
            bucket = self._buckets[vin] = [self.burst, float(now_ms), 1.0]
        elif now_ms > bucket[1]:
            bucket[0] = min(self.burst, bucket[0] + (now_ms - bucket[1]) * self.rate_per_ms)
            bucket[1] = float(now_ms)
        return bucket

    def _prune(self, now_ms: int) -> None:
        full = [
            vin
            for vin, (tokens, at, _) in self._buckets.items()
            if tokens + (now_ms - at) * self.rate_per_ms >= self.burst
        ]
        for vin in full:
            del self._buckets[vin]

    def exhausted(self, vin: str, now_ms: int) -> float | None:
        """If the vehicle's bucket is empty now, the seconds until a batch the size of its
        last one would be admitted; else None. Cheap enough to ask before decoding a batch."""
        if not self.enabled:
            return None
        with self._lock:
            tokens, _, last = self._refill(vin, now_ms)
        return None if tokens >= 1 else self._wait_s(min(last, self.burst) - tokens)

    def take(self, vin: str, samples: int, now_ms: int) -> float | None:
        """Charge `samples` to the vehicle and return None if its budget allows them; else
        charge nothing and return the seconds to wait before this batch would be admitted."""
        if not self.enabled:
            return None
        with self._lock:
            bucket = self._refill(vin, now_ms)
            need = min(float(samples), self.burst)
            bucket[2] = float(samples)
            if bucket[0] >= need:
                bucket[0] -= samples
                return None
            missing = need - bucket[0]
        return self._wait_s(missing)

    def _wait_s(self, tokens: float) -> float:
        # Whole seconds: what an HTTP Retry-After carries; at least one.
        return float(max(1, math.ceil(tokens / self.rate_per_ms / 1000.0)))

    def forget(self, vin: str) -> None:
        """Drop a vehicle's bucket (it starts full again)."""
        with self._lock:
            self._buckets.pop(vin, None)
