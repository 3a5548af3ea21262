"""Time as Volta passes it around: a clock is a function that returns milliseconds since the
Unix epoch. Cores take one as an argument and never read the time themselves, so that tests
can freeze or move it; `wall_ms` is the real one the entry points hand in."""

from __future__ import annotations

import time
from collections.abc import Callable

# ms since the Unix epoch (UTC), read on each call
Clock = Callable[[], int]


def wall_ms() -> int:
    """The wall clock: milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000
