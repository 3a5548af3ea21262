"""Back-off delays: growing, capped, jittered, never zero."""

from __future__ import annotations

import random

import pytest

from volta.backoff import backoff_delay


def test_delays_double_from_the_base_until_the_cap() -> None:
    top = [backoff_delay(a, base_s=0.5, cap_s=10.0, rand=lambda: 0.999999) for a in range(8)]
    assert top[:5] == pytest.approx([0.5, 1.0, 2.0, 4.0, 8.0], rel=1e-5)
    assert top[5:] == pytest.approx([10.0] * 3, rel=1e-5)


def test_jitter_spreads_delays_between_half_and_all_of_the_ceiling() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(3, base_s=1.0, cap_s=60.0, rand=rng.random) for _ in range(500)]
    assert all(4.0 <= d < 8.0 for d in delays)
    assert max(delays) - min(delays) > 3.0  # really spread, not one value


def test_huge_attempt_numbers_stay_at_the_cap() -> None:
    assert backoff_delay(10_000, cap_s=30.0, rand=lambda: 0.0) == 15.0


def test_negative_attempt_is_refused() -> None:
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(-1)
