"""Per-credential API limits: a token bucket per key (pure logic, a clock passed in)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBuckets:
    """`rate_per_s` requests a second on average and up to `burst` at once, per key.

    `take(key)` spends one token and answers 0.0, or, when the bucket is empty, spends nothing
    and answers how many seconds until a token is back. A rate of 0 means no limit. Only
    `max_keys` buckets are kept: full buckets (keys that are idle) are dropped first."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if rate_per_s < 0 or burst < 1:
            raise ValueError("rate_per_s must be >= 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate_per_s > 0

    def take(self, key: str) -> float:
        if not self.enabled:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate_per_s)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self._max_keys:
                    self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate_per_s

    def _prune(self, now: float) -> None:
        full = [
            k
            for k, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate_per_s >= self.burst
        ]
        for k in full:
            del self._buckets[k]
        # Still too many busy keys: forget the oldest half (they start again with a full
        # bucket, which errs on letting requests through).
        if len(self._buckets) > self._max_keys:
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for k in by_age[: len(by_age) // 2]:
                del self._buckets[k]
