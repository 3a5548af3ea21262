"""Slow faults of a fleet: tyre leaks and weak 12 V batteries, with their trouble codes; the
component faults (HV cells, pack cooling, brake pads, charging, software, intermittent codes)
are `volta.sim.health`'s, run from here.

Diagnostic trouble codes follow the SAE J2012 structure (letter for the system, then four
characters; a first digit of 1 marks a manufacturer-specific code). The codes and their
descriptions are Volta's own and live in `volta.diagnostics`, shared with the cloud side.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from volta.diagnostics import DTC_DESCRIPTIONS, LOW_VOLTAGE_BATTERY_WEAK, TYRE_PRESSURE_LOW
from volta.sim.health import Components
from volta.sim.ledger import OpenCharge
from volta.sim.truth import ChargeFailureTruth, FaultTruth

if TYPE_CHECKING:
    from volta.sim.window import Frame

__all__ = ["DTC_DESCRIPTIONS", "FaultRates", "Faults"]

FloatArray = NDArray[np.float64]

TYRE_NAMES = ("Row1.Left", "Row1.Right", "Row2.Left", "Row2.Right")
TYRE_DTC = TYRE_PRESSURE_LOW
LV_DTC = LOW_VOLTAGE_BATTERY_WEAK
_LOW_PRESSURE = 0.8  # warning below 80 % of the cold placard pressure (EU TPMS practice)
_LV_REST_OK = 12.6
_LV_DTC_V = 12.0
_LV_CHARGING = 14.3  # DC-DC converter output while the HV system is up
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class FaultRates:
    """How often faults begin, per vehicle-year (the component faults are off by default)."""

    tyre_leak_per_year: float = 0.5
    weak_12v_per_year: float = 0.2
    cell_imbalance_per_year: float = 0.0
    hot_battery_per_year: float = 0.0
    pad_wear_per_year: float = 0.0
    obc_per_year: float = 0.0
    charger_faults_per_year: float = 0.0  # per 100 vehicles of the fleet
    software_dtc_per_day: float = 0.0  # episodes a day of a car on the affected software
    software_affected: tuple[str, str] = ("bms-b", "2.4.0")  # BMS hardware variant, version
    intermittent_per_year: float = 0.0  # episodes per vehicle-year

    @classmethod
    def everything(cls, per_year: float = 6.0) -> FaultRates:
        """Every kind of fault, `per_year` of each per vehicle-year: for evaluations."""
        return cls(
            tyre_leak_per_year=per_year,
            weak_12v_per_year=per_year,
            cell_imbalance_per_year=per_year,
            hot_battery_per_year=per_year,
            pad_wear_per_year=per_year,
            obc_per_year=per_year,
            charger_faults_per_year=per_year * 20,
            software_dtc_per_day=0.3,
            intermittent_per_year=per_year * 4,
        )


class Faults:
    """Fault state of N vehicles; every method takes the time it works at."""

    def __init__(self, vins: list[str], placard_kpa: FloatArray, rates: FaultRates) -> None:
        n = len(vins)
        self.vins = vins
        self.rates = rates
        self.placard_kpa = placard_kpa
        self.leak_tyre = np.full(n, -1, dtype=np.int64)
        self.leak_kpa_per_day = np.zeros(n)
        self.leak_start_ms = np.zeros(n, dtype=np.int64)
        self.lv_rest_v = np.full(n, _LV_REST_OK)
        self.lv_decline_v_per_day = np.zeros(n)
        self.lv_start_ms = np.zeros(n, dtype=np.int64)
        self.dtcs: list[list[str]] = [[] for _ in range(n)]
        self.open: dict[tuple[int, str], FaultTruth] = {}
        self.repair_at_ms = np.zeros(n, dtype=np.int64)  # tyre repair after its DTC
        self.lv_repair_at_ms = np.zeros(n, dtype=np.int64)
        self.parts = Components(vins, rates, self.dtcs)

    @property
    def charge_failures(self) -> list[ChargeFailureTruth]:
        """Every failed charging session so far."""
        return self.parts.failures

    def observe(self, frame: Frame, sessions: dict[int, OpenCharge]) -> Frame:
        """The window `frame` with its component signals and the codes raised in it (the
        component faults advance over it; see `Components.observe`)."""
        health = self.parts.observe(frame, sessions)
        return replace(frame, health=health, dtcs=[list(self.dtcs[v]) for v in frame.vid.tolist()])

    def start_tyre_leak(self, v: int, tyre: int, kpa_per_day: float, now_ms: int) -> None:
        """Begin a slow leak on one tyre of vehicle v."""
        self.leak_tyre[v] = tyre
        self.leak_kpa_per_day[v] = kpa_per_day
        self.leak_start_ms[v] = now_ms
        self.open[(v, "tyre_leak")] = FaultTruth(
            vin=self.vins[v],
            kind="tyre_leak",
            start_ms=now_ms,
            dtc=TYRE_DTC[tyre],
            dtc_ms=0,
            end_ms=0,
            detail=f"{TYRE_NAMES[tyre]} {kpa_per_day:.1f} kPa/day",
            symptom_ms=now_ms + int(10.0 / kpa_per_day * _DAY_MS),  # 10 kPa gone
        )

    def start_weak_12v(self, v: int, v_per_day: float, now_ms: int) -> None:
        """Begin the decline of vehicle v's 12 V battery."""
        self.lv_decline_v_per_day[v] = v_per_day
        self.lv_start_ms[v] = now_ms
        self.open[(v, "weak_12v")] = FaultTruth(
            vin=self.vins[v],
            kind="weak_12v",
            start_ms=now_ms,
            dtc=LV_DTC,
            dtc_ms=0,
            end_ms=0,
            detail=f"resting voltage falls {v_per_day * 1000:.0f} mV/day",
            symptom_ms=now_ms + int(0.1 / v_per_day * _DAY_MS),  # 0.1 V down
        )

    def daily(self, now_ms: int, rng: np.random.Generator) -> list[FaultTruth]:
        """Once a day: new faults begin, due repairs happen; returns the faults that closed."""
        n = len(self.vins)
        closed: list[FaultTruth] = []
        p_leak = self.rates.tyre_leak_per_year / 365.25
        p_lv = self.rates.weak_12v_per_year / 365.25
        draws = rng.random((n, 2))
        for v in np.nonzero((draws[:, 0] < p_leak) & (self.leak_tyre < 0))[0].tolist():
            self.start_tyre_leak(v, int(rng.integers(4)), float(rng.uniform(4.0, 20.0)), now_ms)
        for v in np.nonzero((draws[:, 1] < p_lv) & (self.lv_decline_v_per_day == 0))[0].tolist():
            self.start_weak_12v(v, float(rng.uniform(0.01, 0.04)), now_ms)
        for v in np.nonzero((self.repair_at_ms > 0) & (self.repair_at_ms <= now_ms))[0].tolist():
            closed.append(self._close(v, "tyre_leak", now_ms))
            self.leak_tyre[v] = -1
            self.leak_kpa_per_day[v] = 0.0
            self.repair_at_ms[v] = 0
        for v in np.nonzero((self.lv_repair_at_ms > 0) & (self.lv_repair_at_ms <= now_ms))[
            0
        ].tolist():
            closed.append(self._close(v, "weak_12v", now_ms))
            self.lv_decline_v_per_day[v] = 0.0
            self.lv_repair_at_ms[v] = 0
        return closed + self.parts.daily(now_ms)

    def _close(self, v: int, kind: str, now_ms: int) -> FaultTruth:
        f = self.open.pop((v, kind))
        if f.dtc in self.dtcs[v]:
            self.dtcs[v].remove(f.dtc)
        return replace(f, end_ms=now_ms)

    def tyre_kpa(self, idx: NDArray[np.int64], ambient_c: float, now_ms: int) -> FloatArray:
        """Pressures (len(idx), 4) in kPa: set at 20 °C, following the air temperature (gas law)."""
        base = self.placard_kpa[idx] * (273.15 + ambient_c) / 293.15
        p = np.repeat(base[:, None], 4, axis=1)
        leaking = self.leak_tyre[idx] >= 0
        if np.any(leaking):
            rows = np.nonzero(leaking)[0]
            v = idx[rows]
            days = (now_ms - self.leak_start_ms[v]) / _DAY_MS
            loss = np.minimum(self.leak_kpa_per_day[v] * days, base[rows] * 0.7)
            p[rows, self.leak_tyre[v]] -= loss
        return p

    def lv_volts(self, idx: NDArray[np.int64], hv_on: NDArray[np.bool_], now_ms: int) -> FloatArray:
        """12 V battery voltage: DC-DC output while the HV system is on, else resting voltage."""
        days = (now_ms - self.lv_start_ms[idx]) / _DAY_MS
        rest = _LV_REST_OK - np.minimum(self.lv_decline_v_per_day[idx] * days, 1.4)
        return np.where(hv_on, _LV_CHARGING, rest)

    def check_dtcs(
        self, idx: NDArray[np.int64], ambient_c: float, now_ms: int, rng: np.random.Generator
    ) -> None:
        """Raise DTCs for online vehicles whose tyre or 12 V battery crossed its threshold."""
        cand = idx[(self.leak_tyre[idx] >= 0) | (self.lv_decline_v_per_day[idx] > 0)]
        if len(cand) == 0:
            return
        tyres = self.tyre_kpa(cand, ambient_c, now_ms)
        rest = self.lv_volts(cand, np.zeros(len(cand), dtype=bool), now_ms)
        for row, v in enumerate(cand.tolist()):
            t = int(self.leak_tyre[v])
            if t >= 0 and tyres[row, t] < _LOW_PRESSURE * self.placard_kpa[v]:
                self._raise(v, "tyre_leak", now_ms)
                if self.repair_at_ms[v] == 0:
                    self.repair_at_ms[v] = now_ms + int(rng.uniform(1.0, 5.0) * _DAY_MS)
            if self.lv_decline_v_per_day[v] > 0 and rest[row] < _LV_DTC_V:
                self._raise(v, "weak_12v", now_ms)
                if self.lv_repair_at_ms[v] == 0:
                    self.lv_repair_at_ms[v] = now_ms + int(rng.uniform(2.0, 10.0) * _DAY_MS)

    def _raise(self, v: int, kind: str, now_ms: int) -> None:
        f = self.open[(v, kind)]
        if f.dtc not in self.dtcs[v]:
            self.dtcs[v].append(f.dtc)
            self.open[(v, kind)] = replace(f, dtc_ms=now_ms, threshold_ms=now_ms)

    def still_open(self) -> list[FaultTruth]:
        """Faults not repaired by the end of the run (end_ms = 0), and the component faults and
        code episodes closed since the last day."""
        return [*self.open.values(), *self.parts.still_open()]
