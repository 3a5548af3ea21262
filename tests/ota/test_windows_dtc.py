"""Maintenance windows and the trouble-code halt: the pure decisions."""

from __future__ import annotations

import pytest

from volta.diagnostics.fleet import DAY_MS, FleetDiagnostics
from volta.diagnostics.reliability import Exposure, Occurrence
from volta.diagnostics.vehicle import DTC_LIST
from volta.errors import BadRequest
from volta.ota.dtc import DtcRule, dtc_halt
from volta.ota.windows import (
    CHARGING,
    LONGITUDE,
    SOC,
    SPEED,
    MaintenanceWindow,
    Sample,
    closed_because,
    local_hour,
)

NOW = 1_800_000_000_000  # 2027-01-15 08:00 UTC
H = 3_600_000


def state(
    speed: float = 0.0, soc: float = 80.0, charging: bool = False, lon: float = 0.0, age_ms: int = 0
) -> dict[str, Sample]:
    t = NOW - age_ms
    return {SPEED: (t, speed), SOC: (t, soc), CHARGING: (t, charging), LONGITUDE: (t, lon)}


def test_a_parked_car_with_charge_may_install() -> None:
    assert closed_because(MaintenanceWindow(min_soc_pct=30), state(), NOW) is None


@pytest.mark.parametrize(
    ("window", "car", "why"),
    [
        (MaintenanceWindow(), state(speed=12.0), "the vehicle is moving"),
        (MaintenanceWindow(), state(charging=True), "the vehicle is charging"),
        (
            MaintenanceWindow(charging_above_pct=50),
            state(soc=45, charging=True),
            "charging at 45 %, not above 50 %",
        ),
        (MaintenanceWindow(min_soc_pct=30), state(soc=30), "state of charge 30 %, not above 30 %"),
        (
            MaintenanceWindow(),
            state(age_ms=20 * 60_000),
            f"state of charge unknown (no {SOC} in the last 15 min)",
        ),
        (
            MaintenanceWindow(start_hour=22, end_hour=5),
            state(lon=0.0),
            "local hour 8, outside 22:00-5:00",
        ),
    ],
)
def test_the_window_is_closed_with_the_reason(
    window: MaintenanceWindow, car: dict[str, Sample], why: str
) -> None:
    assert closed_because(window, car, NOW) == why


def test_charging_above_the_threshold_and_moving_when_parking_is_not_asked() -> None:
    assert (
        closed_because(MaintenanceWindow(charging_above_pct=50), state(soc=60, charging=True), NOW)
        is None
    )
    assert closed_because(MaintenanceWindow(parked=False), state(speed=30.0), NOW) is None


def test_night_is_the_cars_local_night() -> None:
    """At 08:00 UTC it is 23:00 at 135 degrees west (night) and 18:00 at 150 degrees east."""
    night = MaintenanceWindow(start_hour=22, end_hour=5)
    assert local_hour(NOW, -135.0) == 23
    assert closed_because(night, state(lon=-135.0), NOW) is None
    assert closed_because(night, state(lon=150.0), NOW) == "local hour 18, outside 22:00-5:00"
    day = MaintenanceWindow(start_hour=8, end_hour=17)
    assert closed_because(day, state(lon=0.0), NOW) is None


def test_bad_windows_are_refused() -> None:
    with pytest.raises(BadRequest):
        MaintenanceWindow(start_hour=22)
    with pytest.raises(BadRequest):
        MaintenanceWindow(min_soc_pct=120)


def _exposure(vins: list[str], version: str, days: range) -> list[Exposure]:
    return [Exposure(v, "m", version, "x", frozenset(days), 0.0) for v in vins]


def _codes(vin: str, version: str, n: int) -> list[Occurrence]:
    return [Occurrence(vin, "P0A80", i, "m", version, "x") for i in range(n)]


CARS = [f"V{i}" for i in range(10)]
RULE = DtcRule(max_ratio=1.5, min_vehicle_days=20, min_occurrences=5, floor_per_1000=1.0)


def test_a_higher_code_rate_on_the_new_version_halts() -> None:
    # old: 10 cars x 30 days = 300 vehicle-days, 3 codes (10 per 1,000); new: 5 cars x 10 days
    # = 50 vehicle-days, 5 codes (100 per 1,000)
    exposure = _exposure(CARS, "1.0.0", range(30)) + _exposure(CARS[:5], "1.1.0", range(30, 40))
    codes = _codes("V0", "1.0.0", 3) + _codes("V1", "1.1.0", 5)
    why = dtc_halt(codes, exposure, set(CARS), "1.1.0", {"1.0.0"}, RULE)
    assert why == (
        "trouble codes on 1.1.0: 100.0 per 1,000 vehicle-days (5 in 50), above 1.5 x the old "
        "version's 10.0 (3 in 300)"
    )


def test_no_halt_when_the_rate_is_alike_or_the_evidence_thin() -> None:
    exposure = _exposure(CARS, "1.0.0", range(30)) + _exposure(CARS[:5], "1.1.0", range(30, 40))
    alike = _codes("V0", "1.0.0", 30) + _codes("V1", "1.1.0", 6)  # 100 vs 120 per 1,000
    assert dtc_halt(alike, exposure, set(CARS), "1.1.0", {"1.0.0"}, RULE) is None
    few = _codes("V1", "1.1.0", 4)  # below min_occurrences
    assert dtc_halt(few, exposure, set(CARS), "1.1.0", {"1.0.0"}, RULE) is None
    short = _exposure(CARS, "1.0.0", range(30)) + _exposure(CARS[:1], "1.1.0", range(30, 40))
    many = _codes("V0", "1.1.0", 9)  # 10 vehicle-days on the new version only
    assert dtc_halt(many, short, set(CARS), "1.1.0", {"1.0.0"}, RULE) is None
    # cars outside the campaign do not count
    assert dtc_halt(_codes("Z", "1.1.0", 50), exposure, set(CARS), "1.1.0", {"1.0.0"}, RULE) is None


def test_the_halt_reads_the_updated_ecus_versions_from_what_cars_send() -> None:
    """Diagnostics fed as the live follower feeds them: each car reports its Telematics and BMS
    versions once a day; five cars move to Telematics 5.1.0 on day 30 and raise codes there.
    By the Telematics version the new rate is 11.7 x the old one; by the BMS's (which did
    not change) there is nothing to compare."""
    fleet = FleetDiagnostics()
    tcu, bms = "Vehicle.OTA.Telematics.SoftwareVersion", "Vehicle.OTA.BMS.SoftwareVersion"
    for day in range(40):
        for i, vin in enumerate(CARS):
            ts = day * DAY_MS + 3_600_000
            version = "5.1.0" if day >= 30 and i < 5 else "5.0.0"
            fleet.feed(vin, [(ts, tcu, version), (ts, bms, "1.0.0")])
            sick = (vin == "V0" and day < 3) or (vin == "V1" and 30 <= day < 35)
            if sick:  # one code a day: appears, then clears an hour later
                fleet.feed(vin, [(ts + 60_000, DTC_LIST, ["U0100"])])
                fleet.feed(vin, [(ts + 3_660_000, DTC_LIST, [])])
    occurrences, exposure = fleet.records_for("Telematics")
    assert dtc_halt(occurrences, exposure, set(CARS), "5.1.0", {"5.0.0"}, RULE) == (
        "trouble codes on 5.1.0: 100.0 per 1,000 vehicle-days (5 in 50), above 1.5 x the old "
        "version's 8.6 (3 in 350)"  # 5 cars x 30 days + 5 cars x 40 days on 5.0.0
    )
    by_bms = fleet.records_for("BMS")
    assert {e.version for e in by_bms[1]} == {"1.0.0"} == {o.version for o in by_bms[0]}
    assert dtc_halt(*by_bms, set(CARS), "5.1.0", {"1.0.0"}, RULE) is None
    # the reliability tables keep grouping by the BMS's version
    assert {e.version for e in fleet.exposure()} == {"1.0.0"}
