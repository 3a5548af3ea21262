"""One vehicle's diagnostics, kept up to date sample by sample.

`VehicleDiagnostics.feed(samples)` takes a batch's samples (ts, VSS path, value) in time order.
It keeps the latest value of the freeze-frame signals, tracks the trouble codes
(`events.DtcTracker`), folds the signals the rules read into hourly means, and each time an
hour closes evaluates the rules of that signal (`rules`), latching their alerts with
hysteresis. Per sample that is a dict update and an addition, so the rules keep up with a large
fleet at 1 Hz (bench/aftersales.py). Pure: the time is the samples'.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from volta.diagnostics import rules
from volta.diagnostics.events import FREEZE_SIGNALS, DtcEvent, DtcTracker
from volta.diagnostics.rules import Finding

__all__ = ["Alert", "AlertChange", "VehicleDiagnostics"]

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
DTC_LIST = "Vehicle.Diagnostics.DTCList"
_AXLE = "Vehicle.Chassis.Axle."
_TB = "Vehicle.Powertrain.TractionBattery."
TYRES = {
    _AXLE + "Row1.Wheel.Left.Tire.Pressure": "Front-left",
    _AXLE + "Row1.Wheel.Right.Tire.Pressure": "Front-right",
    _AXLE + "Row2.Wheel.Left.Tire.Pressure": "Rear-left",
    _AXLE + "Row2.Wheel.Right.Tire.Pressure": "Rear-right",
}
PADS = (_AXLE + "Row1.Wheel.Left.Brake.PadWear", _AXLE + "Row1.Wheel.Right.Brake.PadWear")
AMBIENT = "Vehicle.Exterior.AirTemperature"
LV = "Vehicle.LowVoltageBattery.CurrentVoltage"
CELL_MAX, CELL_MIN, CELL_ID_MIN = (
    _TB + "CellVoltage.Max",
    _TB + "CellVoltage.Min",
    _TB + ("CellVoltage.IdMin"),
)
TEMP_MAX = _TB + "Temperature.Max"
POWER = _TB + "CurrentPower"
IS_CHARGING = _TB + "Charging.IsCharging"
LAT, LON = "Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude"
CHARGING_ABORTED = "P1C01"
GOOD_SESSION_MS = 5 * 60_000  # charging this long without an abort: a session that worked
ODOMETER = "Vehicle.TraveledDistance"
DC_W = 11_000.0  # more than this into the battery is DC charging
_RESTING_V = 13.0  # above: the DC-DC converter charges the 12 V battery
# Every signal the diagnostics read (the follower keeps only these of a batch).
SIGNALS: frozenset[str] = frozenset(
    {*FREEZE_SIGNALS, *TYRES, *PADS, DTC_LIST, CELL_ID_MIN, ODOMETER, IS_CHARGING}
) | {"Vehicle.OTA.BMS.SoftwareVersion", "Vehicle.OTA.BMS.HardwareVariant"}
_KEEP_DAYS = {"tyre": 3.0, "tyre_rel": 7.0, "lv": 10.0, "cells": 5.0, "pads": 30.0}


@dataclass(frozen=True, slots=True)
class Alert:
    """A predictive alert that is on: since when, and the rule's latest finding."""

    vin: str
    since_ms: int
    finding: Finding


@dataclass(frozen=True, slots=True)
class AlertChange:
    """A predictive alert turned on or off."""

    vin: str
    kind: str
    subject: str
    on: bool
    ts_ms: int
    message: str


@dataclass
class _Hourly:
    """Hourly means of one quantity (x and y), the last few days of them."""

    keep_ms: int
    hour: int = -1
    sx: float = 0.0
    sy: float = 0.0
    n: int = 0
    pts: deque[tuple[float, float, float]] = field(default_factory=deque)  # (ts, x, y)

    def add(self, ts: int, x: float, y: float) -> bool:
        """Add a sample; True when it closed an hour (a new point to evaluate)."""
        h = ts // HOUR_MS
        if h < self.hour:
            return False  # late (a batch buffered in the car): the hour is closed
        closed = False
        if h != self.hour:
            closed = self._close()
            self.hour = h
        self.sx += x
        self.sy += y
        self.n += 1
        return closed

    def _close(self) -> bool:
        if self.n == 0:
            return False
        self.pts.append((self.hour * HOUR_MS + HOUR_MS / 2, self.sx / self.n, self.sy / self.n))
        self.sx = self.sy = 0.0
        self.n = 0
        while self.pts and self.pts[-1][0] - self.pts[0][0] > self.keep_ms:
            self.pts.popleft()
        return True

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = np.array(self.pts, dtype=np.float64).reshape(-1, 3)
        return a[:, 0], a[:, 1], a[:, 2]

    def reset_if_jump(self, y: float, jump: float) -> None:
        """Forget the history when a value jumps by `jump` (> 0: up, < 0: down) from the last
        hour's: a repair (air put in, a new battery, new pads, a balanced pack)."""
        if self.pts and (y - self.pts[-1][2]) / jump >= 1.0:
            self.pts.clear()


class VehicleDiagnostics:
    """The codes, hourly histories and latched alerts of one vehicle."""

    def __init__(self, vin: str) -> None:
        self.vin = vin
        self.latest: dict[str, tuple[int, float]] = {}
        self.text: dict[str, str] = {}  # latest string values (software version, variant)
        self.tracker = DtcTracker(vin)
        self.series: dict[str, _Hourly] = {}
        self.active: dict[tuple[str, str], Alert] = {}
        self.findings: dict[tuple[str, str], Finding] = {}
        self.changes: list[AlertChange] = []
        self.events: list[DtcEvent] = []
        self.first_ms = 0
        self.last_ms = 0
        self._dc: list[tuple[float, float]] = []  # temperatures of the DC session going on
        self._dc_start: float | None = None
        self._charging_since = 0  # a session going on: since when, where, did it abort
        self._charging_at: tuple[float, float] | None = None
        self._aborted = False
        self._charging_dc = False
        # (start, lat, lon, DC), not yet read
        self.good_sessions: list[tuple[int, float, float, bool]] = []

    def _hourly(self, key: str, kind: str) -> _Hourly:
        s = self.series.get(key)
        if s is None:
            s = self.series[key] = _Hourly(int(_KEEP_DAYS[kind] * DAY_MS))
        return s

    def feed(self, samples: Iterable[tuple[int, str, object]]) -> list[DtcEvent]:
        """One batch's samples (time order); returns the code events it caused."""
        out: list[DtcEvent] = []
        latest = self.latest
        for ts, path, value in samples:
            if not self.first_ms:
                self.first_ms = ts
            self.last_ms = max(self.last_ms, ts)
            if path == DTC_LIST:
                codes = value if isinstance(value, list) else [] if value is None else [value]
                ff = {k: latest[k] for k in FREEZE_SIGNALS if k in latest}
                ev = self.tracker.feed(ts, codes, ff)
                out += ev
                if any(e.code == CHARGING_ABORTED and e.kind == "appeared" for e in ev):
                    self._aborted = True
                continue
            if isinstance(value, str):
                self.text[path] = value
                continue
            if not isinstance(value, (int, float)):
                continue
            x = float(value)  # bools count as 0/1
            latest[path] = (ts, x)
            handler = _HANDLERS.get(path)
            if handler is not None:
                handler(self, ts, path, x)
        self.events += out
        return out

    # -- what each signal feeds ---------------------------------------------------------------
    def _tyre(self, ts: int, path: str, kpa: float) -> None:
        amb = self.latest.get(AMBIENT)
        if amb is None:
            return
        to20 = 293.15 / (273.15 + amb[1])  # the gas law: what it reads at 20 °C
        s = self._hourly(path, "tyre")
        s.reset_if_jump(kpa * to20, 15.0)
        closed = s.add(ts, amb[1], kpa * to20)
        # against the car's other tyres, read within the last 2 min: a leak shows alone there
        others = [self.latest[p] for p in TYRES if p != path and p in self.latest]
        rel = self._hourly(path + " rel", "tyre_rel")
        if len(others) == 3 and all(ts - t <= 120_000 for t, _ in others):
            dev = (kpa - sorted(v for _, v in others)[1]) * to20  # their median
            rel.reset_if_jump(dev, 15.0)
            closed |= rel.add(ts, float(ts), dev)
        if closed and s.pts:
            t, air, y = s.arrays()
            rt, _, ry = rel.arrays() if rel.pts else (None, None, None)
            self._latch(ts, rules.tyre_leak(TYRES[path], t, y, float(air.min()), rt, ry))

    def _lv(self, ts: int, path: str, volts: float) -> None:
        if volts >= _RESTING_V:
            return
        s = self._hourly(path, "lv")
        s.reset_if_jump(volts, 0.3)
        if s.add(ts, float(ts), volts):
            t, _, y = s.arrays()
            self._latch(ts, rules.lv_battery(t, y))

    def _cell(self, ts: int, path: str, v: float) -> None:
        hi, lo = self.latest.get(CELL_MAX), self.latest.get(CELL_MIN)
        if hi is None or lo is None or hi[0] != lo[0]:
            return  # the pair is complete once both of the same moment are in
        spread = (hi[1] - lo[1]) * 1000.0
        s = self._hourly("cells", "cells")
        s.reset_if_jump(spread, -30.0)
        if s.add(ts, float(ts), spread):
            t, _, y = s.arrays()
            weak = self.latest.get(CELL_ID_MIN)
            self._latch(ts, rules.cell_imbalance(t, y, int(weak[1]) if weak else None))

    def _pad(self, ts: int, path: str, wear: float) -> None:
        odo = self.latest.get(ODOMETER)
        if odo is None:
            return
        worst = max(self.latest[p][1] for p in PADS if p in self.latest)
        s = self._hourly("pads", "pads")
        s.reset_if_jump(worst, -20.0)
        if s.add(ts, odo[1] / 1000.0, worst):
            t, km, y = s.arrays()
            span_days = (t[-1] - t[0]) / DAY_MS
            per_day = (km[-1] - km[0]) / span_days if span_days >= 1.0 else 40.0
            self._latch(ts, rules.pad_wear(km, y, ts, per_day))

    def _temp(self, ts: int, path: str, temp: float) -> None:
        power = self.latest.get(POWER)
        dc = power is not None and power[1] > DC_W and ts - power[0] < 120_000
        if dc:
            if self._dc_start is None:
                self._dc_start = temp
            self._dc.append((ts, temp))
            f = self._session()
            if f is not None and f.on:
                self._latch(ts, f)
        elif self._dc:
            f = self._session()
            self._dc, self._dc_start = [], None
            if f is not None:  # a finished session decides whether the alert may end
                self._latch(
                    ts,
                    Finding(
                        f.kind, f.subject, f.on, f.off, f.message, None, None, f.value, f.evidence
                    ),
                )

    def _charging(self, ts: int, path: str, on: float) -> None:
        """Charging sessions that worked (long enough, no abort code) and where: they tell
        charging failures of the car from those of a charger (`charging.attribute`)."""
        if on and not self._charging_since:
            lat, lon = self.latest.get(LAT), self.latest.get(LON)
            self._charging_since = ts
            self._charging_at = (lat[1], lon[1]) if lat and lon else None
            self._aborted = False
            self._charging_dc = False
        elif on and self._charging_since:
            power = self.latest.get(POWER)  # a DC charger and an AC wallbox are two chargers
            self._charging_dc |= power is not None and power[1] > DC_W
        elif not on and self._charging_since:
            good = ts - self._charging_since >= GOOD_SESSION_MS and not self._aborted
            if good and self._charging_at is not None:
                self.good_sessions.append(
                    (self._charging_since, *self._charging_at, self._charging_dc)
                )
            self._charging_since = 0

    def _session(self) -> Finding | None:
        a = np.array(self._dc, dtype=np.float64)
        return rules.battery_hot(a[:, 0], a[:, 1], self._dc_start or float(a[0, 1]))

    # -- hysteresis ---------------------------------------------------------------------------
    def _latch(self, ts: int, f: Finding | None) -> None:
        if f is None:
            return
        key = (f.kind, f.subject)
        self.findings[key] = f
        on = key in self.active
        if not on and f.on:
            self.active[key] = Alert(self.vin, ts, f)
            self.changes.append(AlertChange(self.vin, f.kind, f.subject, True, ts, f.message))
        elif on and f.off and not f.on:
            del self.active[key]
            self.changes.append(AlertChange(self.vin, f.kind, f.subject, False, ts, f.message))
        elif on:
            self.active[key] = Alert(self.vin, self.active[key].since_ms, f)


_Handler = Callable[[VehicleDiagnostics, int, str, float], None]
_HANDLERS: dict[str, _Handler] = {
    **dict.fromkeys(TYRES, VehicleDiagnostics._tyre),
    LV: VehicleDiagnostics._lv,
    CELL_MAX: VehicleDiagnostics._cell,
    CELL_MIN: VehicleDiagnostics._cell,
    **dict.fromkeys(PADS, VehicleDiagnostics._pad),
    TEMP_MAX: VehicleDiagnostics._temp,
    IS_CHARGING: VehicleDiagnostics._charging,
}
