"""The diagnostics of a whole fleet: each vehicle's (`vehicle.VehicleDiagnostics`), the charging
failures across cars, and what fleet reliability is computed from.

`FleetDiagnostics.feed(vin, samples)` is all the live follower and the evaluation call; the
readers (`report`, `attribution`, `reliability`) build their answer from the state at that
moment. Pure apart from the state it keeps: time is the samples'.

The fleet-wide records are kept for a window of data time (the newest sample fed; the gateway
refuses timestamps in the future), pruned once a day of it as records arrive (`prune`):
- charging failures and sessions that worked: `CHARGING_KEEP_MS`, twice the attribution's
  horizon (`charging.HORIZON_MS`, ~47 days: older sessions move no verdict), so ~93 days;
- code occurrences with the exposure they are rated by (each car's days per software version,
  the km it drove): `OCCURRENCE_KEEP_MS`, a year, cut at the start of a UTC month so that every
  month the reliability tables still show is whole (rates, km between faults, software links
  and the OTA halt read only what is kept).
The lists are pruned at their head only (a record that arrived late, behind newer ones, goes
when those before it have gone); `pruned` counts the records pruned per list, which is also the
place (`seq`) of each list's first record, so that a kept record keeps its place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from volta.diagnostics.charging import HORIZON_MS, Attribution, ChargeFailure, attribute
from volta.diagnostics.codes import CHARGING_ABORTED
from volta.diagnostics.decode import Descriptions, decode
from volta.diagnostics.events import DtcEvent
from volta.diagnostics.reliability import Exposure, Occurrence, Reliability, on_ecu, reliability
from volta.diagnostics.vehicle import DC_W, ODOMETER, POWER, VehicleDiagnostics

__all__ = ["CHARGING_KEEP_MS", "OCCURRENCE_KEEP_MS", "RECORD_KINDS", "FleetDiagnostics"]

DAY_MS = 86_400_000
CHARGING_KEEP_MS = 2 * HORIZON_MS  # charging failures and sessions: ~93 days
OCCURRENCE_KEEP_MS = 365 * DAY_MS  # code occurrences and exposure: a year, in whole months
RECORD_KINDS = ("failure", "session", "occurrence")  # the fleet-wide record lists' names
K = TypeVar("K")
LAT, LON = "Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude"
VERSION, VARIANT = "Vehicle.OTA.BMS.SoftwareVersion", "Vehicle.OTA.BMS.HardwareVariant"
OTA_PREFIX, OTA_VERSION, OTA_VARIANT = "Vehicle.OTA.", ".SoftwareVersion", ".HardwareVariant"


@dataclass
class _Exposure:
    days: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    # per ECU (every ECU reporting a version, the BMS included): (ECU, version, variant) -> days
    ecu_days: dict[tuple[str, str, str], set[int]] = field(default_factory=dict)
    odo0: float | None = None
    odo1: float = 0.0
    # the odometer's first reading in each month (number since 1970-01): where the km driven
    # since a pruned month's end starts
    odo_months: dict[int, float] = field(default_factory=dict)


@lru_cache(maxsize=4096)  # once per batch with an odometer reading: its day's month
def _month(day: int) -> int:
    """The month (number since 1970-01) of a UTC day (number since the epoch)."""
    d = dt.date(1970, 1, 1) + dt.timedelta(days=day)
    return (d.year - 1970) * 12 + d.month - 1


def _month_start_ms(month: int) -> int:
    d = dt.date(1970 + month // 12, month % 12 + 1, 1)
    return (d - dt.date(1970, 1, 1)).days * DAY_MS


def _prune_head(records: list[Any], before_ms: int) -> int:
    """Drop the leading records older than `before_ms`; how many."""
    n = 0
    for r in records:
        if r.ts_ms >= before_ms:
            break
        n += 1
    del records[:n]
    return n


class FleetDiagnostics:
    """Every vehicle's diagnostics and the fleet-wide records (kept for `charging_keep_ms`
    and `occurrence_keep_ms` of data time: the module docstring)."""

    def __init__(
        self,
        model_of: Callable[[str], str] = lambda vin: "unknown",
        descriptions: Descriptions | None = None,
        *,
        charging_keep_ms: int = CHARGING_KEEP_MS,
        occurrence_keep_ms: int = OCCURRENCE_KEEP_MS,
    ) -> None:
        self.model_of = model_of
        self.charging_keep_ms = charging_keep_ms
        self.occurrence_keep_ms = occurrence_keep_ms
        self.descriptions = descriptions or Descriptions()
        self.vehicles: dict[str, VehicleDiagnostics] = {}
        self.failures: list[ChargeFailure] = []
        self.good_sessions: list[ChargeFailure] = []  # sessions that worked (same fields)
        self.occurrences: list[Occurrence] = []
        self._exposure: dict[str, _Exposure] = {}
        self._models: dict[str, str] = {}
        self.newest_ms = 0  # the newest sample fed: the records' windows end here
        self.pruned = dict.fromkeys(RECORD_KINDS, 0)  # per list: records pruned from its head
        self._pruned_day = -1  # the day of data time the records were last pruned on
        self._exposure_month = -1  # the first month the exposure was last pruned to

    def feed(self, vin: str, samples: Iterable[tuple[int, str, object]]) -> list[DtcEvent]:
        """One batch of one vehicle, in time order."""
        veh = self.vehicles.get(vin)
        if veh is None:
            veh = self.vehicles[vin] = VehicleDiagnostics(vin)
            self._models[vin] = self.model_of(vin)
        events = veh.feed(samples)
        version = veh.text.get(VERSION, "unknown")
        variant = veh.text.get(VARIANT, "unknown")
        ex = self._exposure.setdefault(vin, _Exposure())
        software = _software(veh.text)
        if veh.last_ms:
            day = veh.last_ms // DAY_MS
            ex.days.setdefault((version, variant), set()).add(day)
            for ecu, ecu_version in software:
                ecu_variant = veh.text.get(OTA_PREFIX + ecu + OTA_VARIANT, "unknown")
                ex.ecu_days.setdefault((ecu, ecu_version, ecu_variant), set()).add(day)
        odo = veh.latest.get(ODOMETER)
        if odo is not None:
            ex.odo0 = odo[1] if ex.odo0 is None else ex.odo0
            ex.odo1 = odo[1]
            ex.odo_months.setdefault(_month(odo[0] // DAY_MS), odo[1])
        if veh.good_sessions:
            self.good_sessions += [ChargeFailure(vin, *s) for s in veh.good_sessions]
            veh.good_sessions.clear()
        for ev in events:
            if ev.kind != "appeared":
                continue
            self.occurrences.append(
                Occurrence(vin, ev.code, ev.ts_ms, self._models[vin], version, variant, software)
            )
            ff = ev.freeze_frame
            if ev.code == CHARGING_ABORTED and ff is not None and LAT in ff.values:
                dc = ff.values.get(POWER, 0.0) > DC_W
                self.failures.append(
                    ChargeFailure(vin, ev.ts_ms, ff.values[LAT], ff.values[LON], dc)
                )
        if veh.last_ms > self.newest_ms:
            self.newest_ms = veh.last_ms
            if self.newest_ms // DAY_MS != self._pruned_day:
                self.prune()
        return events

    def record_lists(self) -> dict[str, list[Any]]:
        """The fleet-wide record lists by name (`RECORD_KINDS`): appended to as records come,
        pruned at the head (`pruned`)."""
        return {
            "failure": self.failures,
            "session": self.good_sessions,
            "occurrence": self.occurrences,
        }

    def prune(self) -> int:
        """Drop the records older than their window as of `newest_ms` (module docstring) and,
        when the occurrences' first month moved on, every car's exposure before it. How many
        records were dropped."""
        self._pruned_day = self.newest_ms // DAY_MS
        charging_from = self.newest_ms - self.charging_keep_ms
        month = _month(max(self.newest_ms - self.occurrence_keep_ms, 0) // DAY_MS)
        cut = {
            "failure": charging_from,
            "session": charging_from,
            "occurrence": _month_start_ms(month),
        }
        n = 0
        for kind, records in self.record_lists().items():
            k = _prune_head(records, cut[kind])
            self.pruned[kind] += k
            n += k
        if month != self._exposure_month:  # (the states saved since are pruned already)
            self._exposure_month = month
            for ex in self._exposure.values():
                _prune_exposure(ex, month)
        return n

    def attribution(self) -> Attribution:
        """Charging failures attributed to cars or chargers, as of now."""
        return attribute(self.failures, self.good_sessions)

    def exposure(self) -> list[Exposure]:
        out = []
        for vin, ex in self._exposure.items():
            km = (ex.odo1 - ex.odo0) / 1000.0 if ex.odo0 is not None else 0.0
            for i, ((version, variant), days) in enumerate(sorted(ex.days.items())):
                out.append(
                    Exposure(
                        vin,
                        self._models[vin],
                        version,
                        variant,
                        frozenset(days),
                        km if i == 0 else 0.0,
                    )
                )
        return out

    def records_for(self, ecu: str) -> tuple[list[Occurrence], list[Exposure]]:
        """Occurrences and exposure by one ECU's software (`Vehicle.OTA.<ecu>.*`): each
        record's `version` and `variant` are that ECU's. What an OTA campaign of that ECU
        compares its trouble-code rate by (`volta.ota.dtc`)."""
        exposure = [
            Exposure(vin, self._models[vin], version, variant, frozenset(days), 0.0)
            for vin, ex in self._exposure.items()
            for (name, version, variant), days in sorted(ex.ecu_days.items())
            if name == ecu
        ]
        return on_ecu(self.occurrences, ecu), exposure

    def reliability(self) -> Reliability:
        return reliability(self.occurrences, self.exposure(), self.descriptions)

    def report(self, vin: str) -> dict[str, Any] | None:
        """A vehicle's diagnosis: its codes (active first) with freeze frames, its predictions
        with their evidence, and the charging verdict; None for a vehicle never seen."""
        veh = self.vehicles.get(vin)
        if veh is None:
            return None
        codes = sorted(veh.tracker.records.values(), key=lambda r: (not r.active, -r.last_seen_ms))
        att = self.attribution()
        car = next((c for c in att.cars if c.vin == vin), None)
        mine = [(f, c) for f, c in zip(self.failures, att.causes, strict=True) if f.vin == vin]
        return {
            "vin": vin,
            "first_seen_ms": veh.first_ms,
            "last_seen_ms": veh.last_ms,
            "software": {
                "bms": {"version": veh.text.get(VERSION), "variant": veh.text.get(VARIANT)}
            },
            "codes": [
                {
                    **_decoded(decode(r.code, self.descriptions)),
                    "active": r.active,
                    "first_seen_ms": r.first_seen_ms,
                    "last_seen_ms": r.last_seen_ms,
                    "cleared_ms": r.cleared_ms or None,
                    "occurrences": r.occurrences,
                    "freeze_frame": _frame(r.freeze_frame),
                    "first_freeze_frame": _frame(r.first_freeze_frame),
                }
                for r in codes
            ],
            "predictions": [
                {
                    "active": key in veh.active,
                    "since_ms": veh.active[key].since_ms if key in veh.active else None,
                    **_finding(f),
                }
                for key, f in sorted(veh.findings.items())
            ],
            "charging_failures": {
                "failures": [
                    {"ts_ms": f.ts_ms, "lat": f.lat, "lon": f.lon, "cause": c} for f, c in mine
                ],
                "car_alert": car.message if car is not None else None,
            },
        }


def _decoded(d: Any) -> dict[str, Any]:
    return {
        "code": d.code,
        "valid": d.valid,
        "system": d.system,
        "origin": d.origin,
        "subsystem": d.subsystem,
        "failure_type": d.failure_type,
        "description": d.description,
        "description_source": d.source,
    }


def _frame(ff: Any) -> dict[str, Any] | None:
    if ff is None:
        return None
    return {"ts_ms": ff.ts_ms, "values": ff.values, "age_ms": ff.age_ms}


def _finding(f: Any) -> dict[str, Any]:
    ev = f.evidence
    fit = ev.fit
    return {
        "kind": f.kind,
        "subject": f.subject,
        "message": f.message,
        "eta_ms": f.eta_ms,
        "km_left": None if f.km_left is None else round(f.km_left, 1),
        "value": round(f.value, 4),
        "evidence": {
            "signal": ev.signal,
            "unit": ev.unit,
            "x_unit": ev.x_unit,
            "threshold": ev.threshold,
            "points": [list(p) for p in ev.points],
            "fit": None
            if fit is None
            else {
                "slope": fit.slope,
                "intercept": fit.intercept,
                "r2": round(fit.r2, 4),
                "t_stat": None if fit.t_stat == float("inf") else round(fit.t_stat, 2),
                "n": fit.n,
                "span": fit.span,
            },
        },
    }


def _prune_exposure(ex: _Exposure, month: int) -> None:
    """Forget the days before `month` and start the km driven at its first reading (the
    car's newest one when it has none since: nothing driven in the window)."""
    first_day = _month_start_ms(month) // DAY_MS
    _days_from(ex.days, first_day)
    _days_from(ex.ecu_days, first_day)
    old = [m for m in ex.odo_months if m < month]
    if old:
        for m in old:
            del ex.odo_months[m]
        ex.odo0 = ex.odo_months[min(ex.odo_months)] if ex.odo_months else ex.odo1


def _days_from(days: dict[K, set[int]], first_day: int) -> None:
    for key in list(days):
        if not days[key] or min(days[key]) < first_day:
            kept = {d for d in days[key] if d >= first_day}
            if kept:
                days[key] = kept
            else:
                del days[key]


def _software(text: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """(ECU, version) of every ECU whose `Vehicle.OTA.<ECU>.SoftwareVersion` the car sent."""
    return tuple(
        (path[len(OTA_PREFIX) : -len(OTA_VERSION)], value)
        for path, value in text.items()
        if path.startswith(OTA_PREFIX) and path.endswith(OTA_VERSION)
    )
