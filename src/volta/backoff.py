"""Jittered, capped exponential back-off, shared by every reconnecting client (MQTT, NATS, the
worker supervisor), so that N workers that lost the same server do not all knock at once."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_delay(
    attempt: int,
    *,
    base_s: float = 0.5,
    cap_s: float = 30.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number `attempt` (0 = the first retry): `base_s * 2**attempt`
    capped at `cap_s`, then scaled by a random factor in [0.5, 1) ("equal jitter"): never
    zero, never above the cap, and spread out so retries of many clients do not line up."""
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt, 32))
    return ceiling * (0.5 + 0.5 * rand())
