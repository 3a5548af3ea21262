"""Edge cases of charge detection, on hand-made per-second histories."""

from __future__ import annotations

from tests.servicekit.history import FOREVER, MIDNIGHT, VIN, history
from volta.charging.core import MERGE_GAP_MS, detect_charges
from volta.derived.columns import Series


def test_a_charge_interrupted_and_resumed_is_one_session() -> None:
    cols = history(6 * 3600, [(100, 1000)], [(2000, 5000), (5300, 9000)])
    (c,) = detect_charges(VIN, cols, FOREVER)
    assert abs(c.energy_added_wh - 7000 * (3000 + 3700) / 3600) <= 7000 / 3600
    assert abs(c.start_ms - (MIDNIGHT + 2_000_000)) <= 1000


def _parked_rates(cols: dict[str, Series], keep_off_at: int | None = None) -> dict[str, Series]:
    """What a parked car sends: every 30 s, the stored energy every 60 s; with `keep_off_at`,
    also the sample of that second (the car reporting that charging stopped)."""
    out = {}
    for name, (ts, v) in cols.items():
        sec = (ts - MIDNIGHT) // 1000
        keep = sec % (60 if name == "energy" else 30) == 0
        if keep_off_at is not None:
            keep |= sec == keep_off_at
        out[name] = (ts[keep], v[keep])
    return out


def test_a_charge_end_between_two_parked_samples_is_placed_by_the_energy_it_stored() -> None:
    # charging stops at 995 s; the samples say "on" at 990 s and "off" at 1020 s: the middle
    # (1005 s) is 10 s late, the energy stored between 960 s and 1020 s says 995 s
    (c,) = detect_charges(VIN, _parked_rates(history(1800, [], [(0, 995)])), FOREVER)
    assert abs(c.end_ms - (MIDNIGHT + 995_000)) <= 1000


def test_a_charge_end_the_car_reports_as_it_happens_is_exact() -> None:
    cols = _parked_rates(history(1800, [], [(0, 1007)]), keep_off_at=1007)
    (c,) = detect_charges(VIN, cols, FOREVER)
    assert c.end_ms == MIDNIGHT + 1_007_000


def test_a_charge_is_final_once_ten_minutes_of_data_follow_it_or_the_car_drives() -> None:
    cols = history(3 * 3600, [(5000, 6000)], [(0, 3600)])
    end = MIDNIGHT + 3_600_000
    (c,) = detect_charges(VIN, cols, end + MERGE_GAP_MS - 60_000)
    assert not c.final  # a charge resumed now would still be the same session
    (c,) = detect_charges(VIN, cols, end + MERGE_GAP_MS)
    assert c.final
    cols = history(3 * 3600, [(3700, 4500)], [(0, 3600)])
    (c,) = detect_charges(VIN, cols, MIDNIGHT + 3_720_000)
    assert c.final  # it drove away
