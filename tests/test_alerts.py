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
    facts,
    newest_first,
    reconcile,
)
from volta.catalog import Catalog, default_catalog
from volta.registry import LoggedAlert
from volta.twin.state import TwinValue

VIN = "JHMZZ1A1XRV000001"
NOW = 1_700_000_000_000
TS = NOW - 5_000
REAR_LEFT = "Vehicle.Chassis.Axle.Row2.Wheel.Left.Tire.Pressure"
FRONT_RIGHT = "Vehicle.Chassis.Axle.Row1.Wheel.Right.Tire.Pressure"
FL = "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure"
T0 = TS


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


def _logged(alert_id: int, a: Alert, ack_ms: int | None = None) -> LoggedAlert:
    return LoggedAlert(alert_id, facts(a), ack_ms=ack_ms, ack_by="olga" if ack_ms else None)


def test_reconcile_raises_new_alerts_and_leaves_unchanged_ones_alone() -> None:
    tyre = Alert(VIN, "tyre_pressure", "warning", FL, 180.0, T0, "Front-left tyre at 180 kPa")
    dtc = Alert(VIN, "dtc", "critical", "Vehicle.Diagnostics.DTCList", "C1A02", T0 + 5, "code")
    changes = reconcile([_logged(1, tyre)], [tyre, dtc], {}, T0 + 10)
    assert [(f.kind, f.key, f.raised_ms) for f in changes.raised] == [("dtc", "C1A02", T0 + 5)]
    assert changes.updated == [] and changes.cleared == []
    assert facts(tyre).key == "front-left"


def test_reconcile_clears_at_the_newest_sample_of_the_signal_else_now() -> None:
    tyre = Alert(VIN, "tyre_pressure", "warning", FL, 180.0, T0, "low")
    fade = Alert(
        VIN,
        "battery_fade",
        "warning",
        "Vehicle.Powertrain.TractionBattery.StateOfHealth",
        4.0,
        T0,
        "fade",
    )
    newer = {(VIN, FL): T0 + 7_000}
    changes = reconcile([_logged(1, tyre), _logged(2, fade)], [], newer, T0 + 60_000)
    assert sorted(changes.cleared) == [(1, T0 + 7_000), (2, T0 + 60_000)]
    # A sample older than the raise (a late batch) does not date the clearing before it.
    late = reconcile([_logged(1, tyre)], [], {(VIN, FL): T0 - 1}, T0 + 60_000)
    assert late.cleared == [(1, T0 + 60_000)]


def test_reconcile_withdraws_an_acknowledgement_only_when_the_severity_rises() -> None:
    warning = Alert(VIN, "tyre_pressure", "warning", FL, 180.0, T0, "180")
    critical = Alert(VIN, "tyre_pressure", "critical", FL, 140.0, T0 + 1, "140")
    up = reconcile([_logged(1, warning, ack_ms=T0)], [critical], {}, T0 + 2)
    assert [(i, f.severity, unack) for i, f, unack in up.updated] == [(1, "critical", True)]
    down = reconcile([_logged(1, critical, ack_ms=T0)], [warning], {}, T0 + 2)
    assert [(i, f.severity, unack) for i, f, unack in down.updated] == [(1, "warning", False)]
    assert not up.raised and not up.cleared  # the same alert, not a new one
