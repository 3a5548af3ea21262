"""Edge cases of drive detection, on hand-made per-second histories."""

from __future__ import annotations

from tests.servicekit.history import FOREVER, MIDNIGHT, VIN, cut, history
from volta.charging.core import detect_charges
from volta.drives.core import SETTLE_MS, detect_drives


def test_a_drive_spanning_midnight_is_one_drive() -> None:
    cols = history(4 * 3600, [(3600, 3 * 3600)], [], t0=MIDNIGHT - 2 * 3600 * 1000)
    (d,) = detect_drives(VIN, cols, FOREVER)
    assert d.start_ms < MIDNIGHT < d.end_ms
    assert d.distance_m == 72_000.0 and d.final


def test_a_drive_across_a_data_gap_keeps_its_odometer_distance_and_stays_one() -> None:
    cols = cut(history(3 * 3600, [(1000, 7000)], []), 3000, 3300)  # 5 minutes lost mid-drive
    (d,) = detect_drives(VIN, cols, FOREVER)
    assert abs(d.start_ms - (MIDNIGHT + 1_000_000)) <= 1000
    assert abs(d.end_ms - (MIDNIGHT + 7_000_000)) <= 1000
    assert d.distance_m == 60_000.0  # the odometer bridges the hole
    # energy: the power of the hole is unknown, and counted as such (not guessed)
    assert abs(d.energy_wh - 8000 * (6000 - 300) / 3600) <= 8000 * 11 / 3600


def test_a_parking_lot_shuffle_is_its_own_short_drive_not_merged() -> None:
    cols = history(3 * 3600, [(1000, 4000), (4300, 4330)], [])
    drives = detect_drives(VIN, cols, FOREVER)
    assert [round(d.distance_m) for d in drives] == [30_000, 300]


def test_regeneration_downhill_is_not_a_charge_and_is_netted_in_the_drive() -> None:
    cols = history(2 * 3600, [(100, 3700)], [])
    ts, p = cols["power"]
    p = p.copy()
    p[1000:1600] = 20_000.0  # a long descent: 20 kW back into the battery, flag off
    cols["power"] = (ts, p)
    assert detect_charges(VIN, cols, FOREVER) == []
    (d,) = detect_drives(VIN, cols, FOREVER)
    assert abs(d.regen_wh - 20_000 * 600 / 3600) < 1
    assert abs(d.energy_wh - (8000 * 3000 - 20_000 * 600) / 3600) < 1


def test_a_drive_is_final_as_soon_as_the_car_reports_park() -> None:
    cols = history(3600, [(1000, 2000)], [])  # last motion at 1999 s, "park" from 2000 s
    (d,) = detect_drives(VIN, cols, MIDNIGHT + 1_999_000)
    assert not d.final
    (d,) = detect_drives(VIN, cols, MIDNIGHT + 2_000_000)
    assert d.final


def test_a_drive_whose_data_stops_while_moving_waits_to_settle() -> None:
    cols = cut(history(3600, [(1000, 2000)], []), 1990, 3600)  # connection lost while driving
    (d,) = detect_drives(VIN, cols, MIDNIGHT + 1_989_000 + SETTLE_MS - 60_000)
    assert not d.final  # the rest may still come
    (d,) = detect_drives(VIN, cols, MIDNIGHT + 1_990_000 + SETTLE_MS)
    assert d.final
