"""Alerts: what an operator should look at now, from a vehicle's latest values in the twin,
and (after-sales) from the fleet's battery-fade norms; and how the alert log follows them.

Pure: `evaluate` reads the values it is given and the time it is told, nothing else;
`fade_alerts` reads the fade rates and norms it is given; `reconcile` compares the log's open
alerts with the alerts of now and says what to raise, update and clear.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from volta.battery.fleet import FadeNorm, FadeRate
from volta.catalog import Catalog
from volta.diagnostics import DTC_DESCRIPTIONS
from volta.registry.alertlog import AlertChanges, AlertFacts, LoggedAlert
from volta.twin.state import TwinValue

Severity = Literal["warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning")

DTC_LIST = "Vehicle.Diagnostics.DTCList"
LV_VOLTAGE = "Vehicle.LowVoltageBattery.CurrentVoltage"
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
SOH = "Vehicle.Powertrain.TractionBattery.StateOfHealth"
_AXLE = "Vehicle.Chassis.Axle."
TYRES = {
    _AXLE + "Row1.Wheel.Left.Tire.Pressure": "Front-left",
    _AXLE + "Row1.Wheel.Right.Tire.Pressure": "Front-right",
    _AXLE + "Row2.Wheel.Left.Tire.Pressure": "Rear-left",
    _AXLE + "Row2.Wheel.Right.Tire.Pressure": "Rear-right",
}

# Cold placard pressure is about 250 kPa; EU TPMS warns at 20 % under it (200 kPa at 20 °C).
# 190 kPa leaves room for cold mornings (250 kPa at 20 °C reads ~216 kPa at -20 °C), so a
# warning means air is really missing, not that it is winter.
TYRE_WARNING_KPA = 190.0
# 40 % under placard: the sidewall flexes enough to overheat at speed; stop and inflate.
TYRE_CRITICAL_KPA = 150.0
# A lead-acid 12 V battery resting at 11.8 V is under ~25 % charge: the next wake-up (which
# closes the HV contactors from it) may fail. While the DC-DC converter runs it reads ~14 V.
LV_WARNING_V = 11.8
# Under 10 % the car limits power and the usable range is a few tens of kilometres.
SOC_WARNING_PCT = 10.0


@dataclass(frozen=True, slots=True)
class Alert:
    """One condition of one vehicle; `since_ms` is the time of the sample that shows it."""

    vin: str
    # "dtc", "tyre_pressure", "low_voltage_battery", "low_soc", "battery_fade", "trip_soc"
    kind: str
    severity: Severity
    signal: str
    value: float | str
    since_ms: int
    message: str


def _fmt(x: float, digits: int = 0) -> str:
    return f"{x:.{digits}f}"


def evaluate(
    vin: str, values: Mapping[int, TwinValue], catalog: Catalog, now_ms: int
) -> list[Alert]:
    """The active alerts of one vehicle from its latest values (signal id → TwinValue).

    `now_ms` is the caller's clock: the rules here depend only on the latest values, but it is
    part of the contract so that time-based rules need no clock of their own."""
    del now_ms  # no rule depends on the age of a value yet
    alerts: list[Alert] = []

    def latest(path: str) -> TwinValue | None:
        return values.get(catalog.get(path).id)

    dtc = latest(DTC_LIST)
    if dtc is not None and dtc.txt is not None:
        codes = catalog.from_stored(DTC_LIST, dtc.num, dtc.txt) or []
        for code in dict.fromkeys(str(c) for c in codes):  # once per code, in reported order
            what = DTC_DESCRIPTIONS.get(code)
            message = f"Trouble code {code}" + (f": {what}" if what else "")
            alerts.append(Alert(vin, "dtc", "critical", DTC_LIST, code, dtc.ts_ms, message))

    for path, name in TYRES.items():
        tv = latest(path)
        if tv is None or tv.num is None or tv.num >= TYRE_WARNING_KPA:
            continue
        critical = tv.num < TYRE_CRITICAL_KPA
        severity: Severity = "critical" if critical else "warning"
        limit = TYRE_CRITICAL_KPA if critical else TYRE_WARNING_KPA
        message = f"{name} tyre at {_fmt(tv.num)} kPa (below {_fmt(limit)} kPa)"
        alerts.append(Alert(vin, "tyre_pressure", severity, path, tv.num, tv.ts_ms, message))

    lv = latest(LV_VOLTAGE)
    if lv is not None and lv.num is not None and lv.num < LV_WARNING_V:
        message = f"12 V battery at {_fmt(lv.num, 2)} V (below {_fmt(LV_WARNING_V, 1)} V)"
        alerts.append(
            Alert(vin, "low_voltage_battery", "warning", LV_VOLTAGE, lv.num, lv.ts_ms, message)
        )

    soc = latest(SOC)
    if soc is not None and soc.num is not None and soc.num < SOC_WARNING_PCT:
        message = f"Battery at {_fmt(soc.num, 1)} % (below {_fmt(SOC_WARNING_PCT)} %)"
        alerts.append(Alert(vin, "low_soc", "warning", SOC, soc.num, soc.ts_ms, message))
    return alerts


def fade_alerts(fast: Iterable[FadeRate], norms: Mapping[str, FadeNorm]) -> list[Alert]:
    """An after-sales warning per vehicle whose battery fades faster than its model's fleet
    norm (`volta.battery.fleet`: median + 3 robust SDs, at least 1 point a year above it);
    `since_ms` is its latest capacity estimate, the value its fade in points of SoH a year."""
    out = []
    for r in fast:
        n = norms[r.model]
        message = (
            f"Battery fading {_fmt(r.pp_per_year, 1)} points of SoH a year; the fleet's "
            f"{n.vehicles} {r.model} fade {_fmt(n.median_pp_per_year, 1)} (alert above "
            f"{_fmt(n.threshold_pp_per_year, 1)})"
        )
        out.append(Alert(r.vin, "battery_fade", "warning", SOH, r.pp_per_year, r.last_ms, message))
    return out


def newest_first(alerts: list[Alert]) -> list[Alert]:
    """Newest first; ties by severity (critical first), VIN, then signal."""
    return sorted(
        alerts,
        key=lambda a: (-a.since_ms, SEVERITIES.index(a.severity), a.vin, a.signal, str(a.value)),
    )


def alert_key(a: Alert) -> str:
    """What of its kind an alert is about, so the log tells two alerts of one vehicle apart:
    the DTC code, the tyre's signal; '' for a kind a vehicle has once."""
    if a.kind == "dtc":
        return str(a.value)
    if a.kind == "tyre_pressure":
        return TYRES.get(a.signal, a.signal).lower()
    return ""


def facts(a: Alert) -> AlertFacts:
    """The log's record of an alert (raised at the time of the sample that shows it)."""
    return AlertFacts(
        vin=a.vin,
        kind=a.kind,
        key=alert_key(a),
        severity=a.severity,
        signal=a.signal,
        value=a.value,
        message=a.message,
        raised_ms=a.since_ms,
    )


def reconcile(
    open_alerts: Iterable[LoggedAlert],
    now: Iterable[Alert],
    cleared_at: Mapping[tuple[str, str], int],
    now_ms: int,
) -> AlertChanges:
    """What the log must do so that its open alerts are the alerts of now: raise the new ones,
    update those whose severity, value or message changed (a rise in severity withdraws an
    acknowledgement), clear those no longer shown. An alert clears at the time of the newest
    sample of its signal (`cleared_at[(vin, signal)]`) if that is after it was raised, else at
    `now_ms` (a fade norm that moved, a vehicle gone from the twin)."""
    current: dict[tuple[str, str, str], AlertFacts] = {}
    for a in now:
        f = facts(a)
        current.setdefault((f.vin, f.kind, f.key), f)
    raised: list[AlertFacts] = []
    updated: list[tuple[int, AlertFacts, bool]] = []
    cleared: list[tuple[int, int]] = []
    logged = {(a.facts.vin, a.facts.kind, a.facts.key): a for a in open_alerts}
    for key, f in current.items():
        old = logged.get(key)
        if old is None:
            raised.append(f)
        elif (f.severity, f.value, f.message, f.signal) != (
            old.facts.severity, old.facts.value, old.facts.message, old.facts.signal,
        ):  # fmt: skip
            rose = SEVERITIES.index(f.severity) < SEVERITIES.index(old.facts.severity)
            updated.append((old.id, f, rose and old.ack_ms is not None))
    for key, old in logged.items():
        if key in current:
            continue
        at = cleared_at.get((old.facts.vin, old.facts.signal))
        cleared.append((old.id, at if at is not None and at >= old.facts.raised_ms else now_ms))
    raised.sort(key=lambda f: (f.raised_ms, f.vin, f.kind, f.key))
    return AlertChanges(raised=raised, updated=updated, cleared=cleared)
