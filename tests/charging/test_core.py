"""Edge cases of charge detection, on hand-made per-second histories."""

from __future__ import annotations

from tests.servicekit.history import FOREVER, MIDNIGHT, VIN, history
from volta.charging.core import detect_charges


def test_a_charge_interrupted_and_resumed_is_one_session() -> None:
    cols = history(6 * 3600, [(100, 1000)], [(2000, 5000), (5300, 9000)])
    (c,) = detect_charges(VIN, cols, FOREVER)
    assert abs(c.energy_added_wh - 7000 * (3000 + 3700) / 3600) <= 7000 / 3600
    assert abs(c.start_ms - (MIDNIGHT + 2_000_000)) <= 1000
