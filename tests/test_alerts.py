"""The alert rules on hand-made twin values, at and around each threshold."""

from __future__ import annotations

import pytest

from volta.alerts import (
    DTC_LIST,
    LV_VOLTAGE,
    LV_WARNING_V,
    SOC,
    SOC_WARNING_PCT,
    TYRE_CRITICAL_KPA,
    TYRE_WARNING_KPA,
    Alert,
    evaluate,
    newest_first,
)
from volta.catalog import Catalog, default_catalog
from volta.twin.state import TwinValue

VIN = "JHMZZ1A1XRV000001"
NOW = 1_700_000_000_000
TS = NOW - 5_000
REAR_LEFT = "Vehicle.Chassis.Axle.Row2.Wheel.Left.Tire.Pressure"
FRONT_RIGHT = "Vehicle.Chassis.Axle.Row1.Wheel.Right.Tire.Pressure"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def values(catalog: Catalog, **by_path: TwinValue) -> dict[int, TwinValue]:
    return {catalog.get(path).id: tv for path, tv in by_path.items()}


def num(x: float, ts: int = TS) -> TwinValue:
    return TwinValue(ts, x, None)


def run(catalog: Catalog, by_path: dict[str, TwinValue]) -> list[Alert]:
    return evaluate(VIN, values(catalog, **by_path), catalog, NOW)


def test_healthy_values_raise_nothing(catalog: Catalog) -> None:
    healthy = {
        DTC_LIST: TwinValue(TS, None, "[]"),
        REAR_LEFT: num(250),
        LV_VOLTAGE: num(12.6),
        SOC: num(55.0),
    }
    assert run(catalog, healthy) == []
    assert evaluate(VIN, {}, catalog, NOW) == []


def test_one_critical_alert_per_active_dtc(catalog: Catalog) -> None:
    dtcs = TwinValue(TS, None, '["C1A02", "P0AFA", "C1A02"]')
    assert run(catalog, {DTC_LIST: dtcs}) == [
        Alert(
            VIN,
            "dtc",
            "critical",
            DTC_LIST,
            "C1A02",
            TS,
            "Trouble code C1A02: Tyre pressure low, rear left",
        ),
        Alert(VIN, "dtc", "critical", DTC_LIST, "P0AFA", TS, "Trouble code P0AFA"),
    ]


@pytest.mark.parametrize(
    ("kpa", "expected"),
    [
        (TYRE_WARNING_KPA, None),  # at the threshold: fine
        (TYRE_WARNING_KPA - 1, ("warning", "Rear-left tyre at 189 kPa (below 190 kPa)")),
        (170, ("warning", "Rear-left tyre at 170 kPa (below 190 kPa)")),
        (TYRE_CRITICAL_KPA, ("warning", "Rear-left tyre at 150 kPa (below 190 kPa)")),
        (TYRE_CRITICAL_KPA - 1, ("critical", "Rear-left tyre at 149 kPa (below 150 kPa)")),
        (0, ("critical", "Rear-left tyre at 0 kPa (below 150 kPa)")),
    ],
)
def test_tyre_pressure(catalog: Catalog, kpa: float, expected: tuple[str, str] | None) -> None:
    alerts = run(catalog, {REAR_LEFT: num(kpa)})
    if expected is None:
        assert alerts == []
    else:
        severity, message = expected
        assert alerts == [
            Alert(VIN, "tyre_pressure", severity, REAR_LEFT, kpa, TS, message)  # type: ignore[arg-type]
        ]


def test_each_low_tyre_is_its_own_alert(catalog: Catalog) -> None:
    alerts = run(catalog, {REAR_LEFT: num(180), FRONT_RIGHT: num(140)})
    assert [(a.signal, a.severity) for a in alerts] == [
        (FRONT_RIGHT, "critical"),
        (REAR_LEFT, "warning"),
    ]
    assert alerts[0].message == "Front-right tyre at 140 kPa (below 150 kPa)"


def test_weak_12_v_battery(catalog: Catalog) -> None:
    assert run(catalog, {LV_VOLTAGE: num(LV_WARNING_V)}) == []
    assert run(catalog, {LV_VOLTAGE: num(11.79)}) == [
        Alert(
            VIN,
            "low_voltage_battery",
            "warning",
            LV_VOLTAGE,
            11.79,
            TS,
            "12 V battery at 11.79 V (below 11.8 V)",
        )
    ]


def test_low_soc(catalog: Catalog) -> None:
    assert run(catalog, {SOC: num(SOC_WARNING_PCT)}) == []
    assert run(catalog, {SOC: num(9.5)}) == [
        Alert(VIN, "low_soc", "warning", SOC, 9.5, TS, "Battery at 9.5 % (below 10 %)")
    ]


def test_values_without_a_number_are_ignored(catalog: Catalog) -> None:
    empty = TwinValue(TS, None, None)
    assert run(catalog, {REAR_LEFT: empty, LV_VOLTAGE: empty, SOC: empty, DTC_LIST: empty}) == []


def test_since_is_the_sample_time_and_newest_come_first(catalog: Catalog) -> None:
    alerts = run(
        catalog,
        {
            SOC: num(5, ts=NOW - 60_000),
            LV_VOLTAGE: num(11.0, ts=NOW - 1_000),
            DTC_LIST: TwinValue(NOW - 1_000, None, '["B1A10"]'),
        },
    )
    assert {a.kind: a.since_ms for a in alerts} == {
        "dtc": NOW - 1_000,
        "low_voltage_battery": NOW - 1_000,
        "low_soc": NOW - 60_000,
    }
    assert [a.kind for a in newest_first(alerts)] == ["dtc", "low_voltage_battery", "low_soc"]
