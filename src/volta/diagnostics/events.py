"""DTC events of one vehicle: codes appearing and clearing, with freeze frames.

`DtcTracker.feed(ts, codes, frame)` takes one reported list of active codes (the car's
`Vehicle.Diagnostics.DTCList`) and the values of the related signals at that moment; a code
absent before and present now *appears* (a new occurrence, its freeze frame kept), a code
present before and absent now *clears*. Every reported string is kept, also one that is not a
J2012 code. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["FREEZE_SIGNALS", "DtcEvent", "DtcRecord", "DtcTracker", "FreezeFrame"]

_TB = "Vehicle.Powertrain.TractionBattery."
# What a freeze frame holds: speed, charge, temperatures, voltages, power, place, odometer.
FREEZE_SIGNALS: tuple[str, ...] = (
    "Vehicle.Speed",
    _TB + "StateOfCharge.Current",
    _TB + "CurrentPower",
    _TB + "Charging.IsCharging",
    _TB + "Temperature.Max",
    _TB + "CellVoltage.Max",
    _TB + "CellVoltage.Min",
    "Vehicle.Exterior.AirTemperature",
    "Vehicle.Cabin.HVAC.AmbientAirTemperature",
    "Vehicle.LowVoltageBattery.CurrentVoltage",
    "Vehicle.CurrentLocation.Latitude",
    "Vehicle.CurrentLocation.Longitude",
    "Vehicle.TraveledDistance",
)


@dataclass(frozen=True, slots=True)
class FreezeFrame:
    """The latest value of each related signal when a code appeared, and how old it was."""

    ts_ms: int
    values: dict[str, float]
    age_ms: dict[str, int]


@dataclass(frozen=True, slots=True)
class DtcEvent:
    """A code appeared or cleared on a vehicle."""

    vin: str
    code: str
    kind: Literal["appeared", "cleared"]
    ts_ms: int
    occurrence: int
    freeze_frame: FreezeFrame | None = None


@dataclass(slots=True)
class DtcRecord:
    """One code's history on one vehicle."""

    code: str
    first_seen_ms: int
    last_seen_ms: int
    occurrences: int = 1
    active: bool = True
    cleared_ms: int = 0
    freeze_frame: FreezeFrame | None = None  # of the latest occurrence
    first_freeze_frame: FreezeFrame | None = None


@dataclass
class DtcTracker:
    """The codes of one vehicle, fed in time order."""

    vin: str
    records: dict[str, DtcRecord] = field(default_factory=dict)
    last_ts: int = -(2**62)

    def feed(
        self, ts_ms: int, codes: Iterable[object], frame: Mapping[str, tuple[int, float]]
    ) -> list[DtcEvent]:
        """One report of the active codes at ts_ms; `frame` maps a signal to (ts, value) of
        its latest sample. A report older than the last one is ignored (a late batch)."""
        if ts_ms < self.last_ts:
            return []
        self.last_ts = ts_ms
        now = dict.fromkeys(str(c) for c in codes)
        out: list[DtcEvent] = []
        for code in now:
            rec = self.records.get(code)
            if rec is not None and rec.active:
                rec.last_seen_ms = ts_ms
                continue
            ff = FreezeFrame(
                ts_ms,
                {k: v for k, (_, v) in frame.items()},
                {k: ts_ms - t for k, (t, _) in frame.items()},
            )
            if rec is None:
                rec = self.records[code] = DtcRecord(code, ts_ms, ts_ms, first_freeze_frame=ff)
            else:
                rec.occurrences += 1
                rec.active, rec.last_seen_ms, rec.cleared_ms = True, ts_ms, 0
            rec.freeze_frame = ff
            out.append(DtcEvent(self.vin, code, "appeared", ts_ms, rec.occurrences, ff))
        for code, rec in self.records.items():
            if rec.active and code not in now:
                rec.active, rec.cleared_ms = False, ts_ms
                out.append(DtcEvent(self.vin, code, "cleared", ts_ms, rec.occurrences))
        return out

    def active(self) -> list[DtcRecord]:
        return [r for r in self.records.values() if r.active]
