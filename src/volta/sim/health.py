"""Component faults of a simulated fleet (beyond tyres and the 12 V battery), with ground truth.

- `cell_imbalance`: one cell of the HV battery drifts away from the others; the spread of cell
  voltages grows by a few mV a day until `P1B10` at 100 mV.
- `hot_battery`: the pack's cooling fails; DC charging heats it at ~1.2 °C/min, at 50 °C the
  BMS cuts the charge power (the threshold), at 55 °C `P1B20`, at 58 °C it stops the session.
- `pad_wear`: front brake pads near the end of their life wearing fast (a sticking caliper);
  wear grows with the distance driven times (1 − the car's share of braking done by
  regeneration), so more regeneration wears slower; `C1B20` at 80 %.
- `obc_fault`: the car's on-board charger aborts most of its sessions, at any charger;
  `charger_fault`: one public station aborts the session of every car that uses it. Per
  session both look alike: the car reports `P1C01` (cleared two hours later).
- `software_dtc`: cars whose BMS has hardware variant X and runs software version Y lose the
  BMS on the bus now and then (`U1A40`, gone after some minutes); others rarely do.
- `intermittent`: a code that appears for minutes and clears itself.
A service visit 1–5 days after the threshold resets the fault (a charger is fixed 5–10 days
after it starts failing). Times are ms since the epoch; every draw comes from this module's
own generator, so a fleet without these faults keeps every other value it had.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from volta.diagnostics.codes import (
    BATTERY_HOT_CHARGING,
    BMS_COMMUNICATION_LOST,
    BRAKE_PADS_WORN,
    CABIN_SENSOR_INTERMITTENT,
    CELL_IMBALANCE,
    CHARGING_ABORTED,
    WHEEL_SPEED_INTERMITTENT,
)
from volta.sim.ledger import OpenCharge
from volta.sim.truth import ChargeFailureTruth, FaultTruth

if TYPE_CHECKING:
    from volta.sim.faults import FaultRates
    from volta.sim.window import Frame

__all__ = ["CELLS", "Components", "Health"]

FloatArray = NDArray[np.float64]
_DAY_MS = 86_400_000
CELLS = 96
CELL_DTC_MV = 100.0
CELL_SYMPTOM_MV = 20.0  # of growth: the spread is then twice a healthy pack's widest
PAD_LIMIT_PCT = 80.0
HOT_DERATE_C = 50.0
HOT_DTC_C = 55.0
HOT_STOP_C = 58.0
DERATED_KW = 20.0
DC_KW = 11.0  # more than this into the battery is DC charging
ABORTED_CLEARS_MS = 15 * 60_000  # the car clears it when the next session starts
VARIANTS = ("bms-a", "bms-b")
VERSIONS = ("2.3.1", "2.4.0")
_INTERMITTENT = (WHEEL_SPEED_INTERMITTENT, CABIN_SENSOR_INTERMITTENT, BMS_COMMUNICATION_LOST)


@dataclass(frozen=True, slots=True)
class Health:
    """The component signals of the vehicles online in one window (rows as in the `Frame`)."""

    cell_max_v: FloatArray  # (n,)
    cell_min_v: FloatArray
    cell_id_max: FloatArray
    cell_id_min: FloatArray
    temp_max_c: FloatArray  # (n, W)
    pad_wear_pct: FloatArray  # (n, 2): front left, front right
    bms_version: list[str]
    bms_variant: list[str]


class Components:
    """Component fault state of N vehicles; `observe` advances it over one window."""

    def __init__(self, vins: list[str], rates: FaultRates, dtcs: list[list[str]]) -> None:
        n = len(vins)
        self.vins, self.rates, self.dtcs = vins, rates, dtcs
        self.rng = np.random.default_rng([zlib.crc32("".join(vins).encode()), 0xC0DE])
        r = self.rng
        self.regen_share = r.uniform(0.55, 0.9, n)
        self.pad_pct = r.uniform(5.0, 50.0, n)
        self.pad_side = r.uniform(-1.5, 1.5, n)  # right minus left
        self.pad_per_km = self._healthy_pad_rate(np.arange(n))
        self.pad_start: dict[int, float] = {}  # wear when a pad fault began
        self.cell_base_mv = r.uniform(8.0, 15.0, n)
        self.cell_growth = np.zeros(n)  # mV/day
        self.cell_start_ms = np.zeros(n, dtype=np.int64)
        self.cell_hi = r.integers(CELLS, size=n)
        self.cell_lo = r.integers(CELLS, size=n)
        self.cell_weak = r.integers(CELLS, size=n)
        self.temp_c = np.full(n, np.nan)
        self.cooling_bad = np.zeros(n, dtype=bool)
        self.obc_bad = np.zeros(n, dtype=bool)
        self.variant = [VARIANTS[int(k)] for k in r.integers(2, size=n)]
        self.version = [VERSIONS[int(k)] for k in r.integers(2, size=n)]
        self.open: dict[tuple[int, str], FaultTruth] = {}
        self.chargers: dict[str, FaultTruth] = {}  # failing stations
        self.charger_uses: Counter[str] = Counter()
        self.repair_at: dict[tuple[int, str], int] = {}
        self.charger_fixed_at: dict[str, int] = {}
        self.episodes: dict[tuple[int, str], tuple[FaultTruth | None, int]] = {}
        self.decided: dict[int, int] = {}  # vehicle → start second of the session decided
        self._just_ended: set[tuple[int, str]] = set()
        self.failures: list[ChargeFailureTruth] = []
        self.closed: list[FaultTruth] = []

    def _healthy_pad_rate(self, v: NDArray[np.int64]) -> FloatArray:
        # ~40,000 km from new to the limit at a 75 % regeneration share
        rate: FloatArray = 0.002 * (1.0 - self.regen_share[v]) / 0.25 * 0.5
        return rate

    # -- starting faults (tests inject them directly) ---------------------------------------
    def _open(self, v: int, kind: str, dtc: str, now_ms: int, detail: str, symptom: int) -> None:
        self.open[(v, kind)] = FaultTruth(
            vin=self.vins[v],
            kind=kind,
            start_ms=now_ms,
            dtc=dtc,
            dtc_ms=0,
            end_ms=0,
            detail=detail,
            symptom_ms=symptom,
        )

    def start_cell_imbalance(self, v: int, mv_per_day: float, now_ms: int) -> None:
        """Cell `cell_weak[v]` of vehicle v starts drifting `mv_per_day` below the others."""
        self.cell_growth[v] = mv_per_day
        self.cell_start_ms[v] = now_ms
        symptom = now_ms + int(CELL_SYMPTOM_MV / mv_per_day * _DAY_MS)
        detail = f"cell {int(self.cell_weak[v])} drifts {mv_per_day:.1f} mV/day"
        self._open(v, "cell_imbalance", CELL_IMBALANCE, now_ms, detail, symptom)

    def start_hot_battery(self, v: int, now_ms: int) -> None:
        """Vehicle v's pack cooling fails: DC charging overheats it."""
        self.cooling_bad[v] = True
        self._open(v, "hot_battery", BATTERY_HOT_CHARGING, now_ms, "pack cooling failed", 0)

    def start_pad_wear(self, v: int, wear_pct: float, pct_per_km: float, now_ms: int) -> None:
        """Vehicle v's front pads at `wear_pct`, wearing `pct_per_km` at a 75 % regen share."""
        self.pad_pct[v] = wear_pct
        self.pad_per_km[v] = pct_per_km * (1.0 - self.regen_share[v]) / 0.25
        detail = (
            f"pads at {wear_pct:.0f} %, {self.pad_per_km[v] * 1000:.1f} %/1000 km "
            f"(regeneration {self.regen_share[v]:.0%})"
        )
        self._open(v, "pad_wear", BRAKE_PADS_WORN, now_ms, detail, 0)
        self.pad_start[v] = wear_pct

    def start_obc_fault(self, v: int, now_ms: int) -> None:
        """Vehicle v's on-board charger starts aborting sessions."""
        self.obc_bad[v] = True
        self._open(v, "obc_fault", CHARGING_ABORTED, now_ms, "on-board charger aborts sessions", 0)

    def start_charger_fault(self, charger: str, now_ms: int) -> None:
        """Public station `charger` (its OSM id) starts aborting every session."""
        self.chargers[charger] = FaultTruth(
            vin="",
            kind="charger_fault",
            start_ms=now_ms,
            dtc=CHARGING_ABORTED,
            dtc_ms=0,
            end_ms=0,
            detail=f"station {charger} aborts every session",
            charger=charger,
        )
        self.charger_fixed_at[charger] = now_ms + int(self.rng.uniform(5.0, 10.0) * _DAY_MS)

    # -- once a day --------------------------------------------------------------------------
    def daily(self, now_ms: int) -> list[FaultTruth]:
        """New faults begin, due repairs happen; returns the faults closed since the last day."""
        rt, n = self.rates, len(self.vins)
        draws = self.rng.random((n, 4))
        year = 365.25
        for k, (kind, rate) in enumerate(
            (
                ("cell_imbalance", rt.cell_imbalance_per_year),
                ("hot_battery", rt.hot_battery_per_year),
                ("pad_wear", rt.pad_wear_per_year),
                ("obc_fault", rt.obc_per_year),
            )
        ):
            for v in np.nonzero(draws[:, k] < rate / year)[0].tolist():
                if (v, kind) in self.open or (v, kind) in self.repair_at:
                    continue
                if kind == "cell_imbalance":
                    self.start_cell_imbalance(v, float(self.rng.uniform(4.0, 10.0)), now_ms)
                elif kind == "hot_battery":
                    self.start_hot_battery(v, now_ms)
                elif kind == "pad_wear":
                    wear = float(self.rng.uniform(62.0, 72.0))
                    self.start_pad_wear(v, wear, float(self.rng.uniform(0.02, 0.05)), now_ms)
                else:
                    self.start_obc_fault(v, now_ms)
        if self.rng.random() < rt.charger_faults_per_year / year * max(n, 1) / 100:
            used = [c for c, _ in self.charger_uses.most_common() if c not in self.chargers]
            if used:  # the busiest station not failing yet: a fault there meets cars
                self.start_charger_fault(used[0], now_ms)
        for key, at in list(self.repair_at.items()):
            if at <= now_ms:
                self._repair(key, now_ms)
        for ch, at in list(self.charger_fixed_at.items()):
            if at <= now_ms:
                f = self.chargers.pop(ch)
                del self.charger_fixed_at[ch]
                self.closed.append(replace(f, end_ms=now_ms))
        out, self.closed = self.closed, []
        return out

    def _repair(self, key: tuple[int, str], now_ms: int) -> None:
        v, kind = key
        del self.repair_at[key]
        f = self.open.pop(key)
        if f.dtc in self.dtcs[v]:
            self.dtcs[v].remove(f.dtc)
        if kind == "cell_imbalance":
            self.cell_growth[v] = 0.0
        elif kind == "hot_battery":
            self.cooling_bad[v] = False
        elif kind == "pad_wear":
            self.pad_pct[v] = 2.0  # new pads
            self.pad_per_km[v] = self._healthy_pad_rate(np.array([v]))[0]
        elif kind == "obc_fault":
            self.obc_bad[v] = False
        self.closed.append(replace(f, end_ms=now_ms))

    def _threshold(self, v: int, kind: str, ts_ms: int, dtc: bool, lo: float, hi: float) -> None:
        """Fault (v, kind) crossed its threshold at ts_ms (and raised its DTC if `dtc`); a
        service visit is booked `lo`–`hi` days later."""
        f = self.open[(v, kind)]
        if f.threshold_ms == 0:
            f = replace(f, threshold_ms=ts_ms, symptom_ms=f.symptom_ms or ts_ms)
            self.repair_at[(v, kind)] = ts_ms + int(self.rng.uniform(lo, hi) * _DAY_MS)
        if dtc and f.dtc_ms == 0:
            f = replace(f, dtc_ms=ts_ms)
            if f.dtc not in self.dtcs[v]:
                self.dtcs[v].append(f.dtc)
        self.open[(v, kind)] = f

    def still_open(self) -> list[FaultTruth]:
        """Faults not repaired (end_ms = 0) and episodes still on at the end of the run."""
        eps = [f for f, _ in self.episodes.values() if f is not None]
        return [*self.open.values(), *self.chargers.values(), *eps, *self.closed]

    # -- one window ----------------------------------------------------------------------------
    def observe(self, fr: Frame, sessions: dict[int, OpenCharge]) -> Health:
        """Advance the component faults over the window `fr` (whose physics is done) and return
        its component signals. Failing charging sessions get a target of 0 % (they end at the
        next window's start), an overheating DC session is derated or stopped."""
        vid = fr.vid.tolist()
        n = len(vid)
        t0, t1 = fr.t0_ms, fr.t0_ms + fr.window_s * 1000
        self._episodes(vid, t0, fr.window_s)
        base = fr.ambient_c + 8.0  # packs run warmer than the air
        temps = self._temperatures(fr, base)
        cells = self._cells(fr, t0)
        self._pads(fr, t1)
        for row, v in enumerate(vid):
            if self.cooling_bad[v]:
                self._overheat(v, row, temps[row], t0, base, sessions.get(v))
            s = sessions.get(v)
            if s is not None and s.started and self.decided.get(v) != s.start_s:
                self.decided[v] = s.start_s
                self._charge(v, s, t0, float(fr.lat[row, 0]), float(fr.lon[row, 0]))
        return Health(
            cell_max_v=cells[0],
            cell_min_v=cells[1],
            cell_id_max=cells[2],
            cell_id_min=cells[3],
            temp_max_c=temps,
            pad_wear_pct=np.stack(
                [self.pad_pct[fr.vid], self.pad_pct[fr.vid] + self.pad_side[fr.vid]], axis=1
            ).clip(0.0, 100.0)
            if n
            else np.zeros((0, 2)),
            bms_version=[self.version[v] for v in vid],
            bms_variant=[self.variant[v] for v in vid],
        )

    def _episodes(self, vid: list[int], t0: int, w_s: int) -> None:
        """End the code episodes that are over; start new ones on online vehicles (not one of a
        code that just ended: the car would report it on and on, one episode)."""
        self._just_ended = set()
        for key, (f, end) in list(self.episodes.items()):
            if end <= t0:
                self._just_ended.add(key)
                v, code = key
                del self.episodes[key]
                if code in self.dtcs[v]:
                    self.dtcs[v].remove(code)
                if f is not None:
                    self.closed.append(replace(f, end_ms=end))
        rt = self.rates
        if not vid or (rt.software_dtc_per_day <= 0 and rt.intermittent_per_year <= 0):
            return
        u = self.rng.random((len(vid), 2))
        var, ver = rt.software_affected
        for k, v in enumerate(vid):
            hit = self.variant[v] == var and self.version[v] == ver
            # an online car is online ~2 h a day: the per-day rate lands in those hours
            p_sw = rt.software_dtc_per_day * (1.0 if hit else 0.05) * w_s / 7200.0
            p_int = rt.intermittent_per_year / 365.25 * w_s / 7200.0
            if u[k, 0] < p_sw:
                kind = "software_dtc" if hit else "intermittent"
                self._episode(
                    v, BMS_COMMUNICATION_LOST, kind, t0, f"{self.variant[v]} {self.version[v]}"
                )
            elif u[k, 1] < p_int:
                code = _INTERMITTENT[int(self.rng.integers(2))]
                self._episode(v, code, "intermittent", t0, "clears by itself")

    def _episode(self, v: int, code: str, kind: str | None, t0: int, detail: str) -> None:
        if (v, code) in self.episodes or (v, code) in self._just_ended:
            return
        end = t0 + int(self.rng.uniform(5.0, 40.0) * 60_000)
        if code == CHARGING_ABORTED:
            end = t0 + ABORTED_CLEARS_MS
        f = None
        if kind is not None:
            f = FaultTruth(
                vin=self.vins[v],
                kind=kind,
                start_ms=t0,
                dtc=code,
                dtc_ms=t0,
                end_ms=0,
                detail=detail,
                symptom_ms=t0,
                threshold_ms=t0,
            )
        self.episodes[(v, code)] = (f, end)
        if code not in self.dtcs[v]:
            self.dtcs[v].append(code)

    def _temperatures(self, fr: Frame, base: float) -> FloatArray:
        """Pack temperature each second: DC charging heats, cooling pulls back to `base`."""
        n, W = fr.online.shape
        vid = fr.vid
        t0 = np.where(np.isnan(self.temp_c[vid]), base, self.temp_c[vid])
        secs = np.arange(1, W + 1)[None, :]
        tau = 1800.0
        temps = base + (t0 - base)[:, None] * np.exp(-secs / tau)
        kw = fr.charge_kw
        dc_rows = np.nonzero((kw > DC_KW).any(axis=1))[0]
        for row in dc_rows.tolist():
            v = int(vid[row])
            t = float(t0[row])
            out = temps[row]
            bad = bool(self.cooling_bad[v])
            for c in range(W):
                p = float(kw[row, c])
                if bad and p > DC_KW:
                    t += 1.2 / 60.0 * min(p / 50.0, 2.0)
                else:  # active cooling holds a healthy pack within ~14 °C of its base
                    eq = base + (min(0.16 * p, 14.0) if p > DC_KW else 0.0)
                    t += (eq - t) / (600.0 if p > DC_KW else tau)
                out[c] = t
        if n:
            self.temp_c[vid] = temps[:, -1]
        noisy: FloatArray = np.round(temps + self.rng.normal(0.0, 0.2, temps.shape), 1)
        return noisy

    def _overheat(
        self, v: int, row: int, temps: FloatArray, t0: int, base: float, s: OpenCharge | None
    ) -> None:
        key = (v, "hot_battery")
        f = self.open[key]
        over = np.nonzero(temps > base + 17.0)[0]
        if f.symptom_ms == 0 and len(over):
            self.open[key] = replace(f, symptom_ms=t0 + int(over[0]) * 1000)
        hot = np.nonzero(temps >= HOT_DERATE_C)[0]
        if len(hot):
            self._threshold(v, "hot_battery", t0 + int(hot[0]) * 1000, False, 1.0, 5.0)
            if s is not None and s.dc:
                s.station_kw = min(s.station_kw, DERATED_KW)
        dtc = np.nonzero(temps >= HOT_DTC_C)[0]
        if len(dtc):
            self._threshold(v, "hot_battery", t0 + int(dtc[0]) * 1000, True, 1.0, 5.0)
        if s is not None and len(temps) and temps[-1] >= HOT_STOP_C:
            s.target_soc = 0.0

    def _cells(self, fr: Frame, t0: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        vid = fr.vid
        n = len(vid)
        soc = fr.soc_pct[:, 0] if n else np.zeros(0)
        u = 3.0 + 1.2 * soc / 100.0  # open-circuit voltage of a cell, V
        days = np.maximum(t0 - self.cell_start_ms[vid], 0) / _DAY_MS
        growth = self.cell_growth[vid] * days
        half = self.cell_base_mv[vid] / 2000.0
        noise = self.rng.normal(0.0, 0.0015, (n, 2))
        vmax = np.round(u + half + noise[:, 0], 3)
        vmin = np.round(u - half - growth / 1000.0 + noise[:, 1], 3)
        weak = growth > 5.0
        id_min = np.where(weak, self.cell_weak[vid], self.cell_lo[vid]).astype(np.float64)
        for row in np.nonzero(self.cell_growth[vid] > 0)[0].tolist():
            v = int(vid[row])
            if (v, "cell_imbalance") in self.open and (vmax[row] - vmin[row]) * 1000 >= CELL_DTC_MV:
                self._threshold(v, "cell_imbalance", t0, True, 1.0, 5.0)
        return vmax, vmin, self.cell_hi[vid].astype(np.float64), id_min

    def _pads(self, fr: Frame, t1: int) -> None:
        vid = fr.vid
        if len(vid) == 0:
            return
        km = (fr.odometer_m[:, -1] - fr.odometer_m[:, 0]) / 1000.0
        before = self.pad_pct[vid].copy()
        self.pad_pct[vid] = np.minimum(before + km * self.pad_per_km[vid], 100.0)
        for v, w0 in self.pad_start.items():
            f = self.open.get((v, "pad_wear"))
            if f is not None and not f.symptom_ms and self.pad_pct[v] >= w0 + 3.0:
                self.open[(v, "pad_wear")] = replace(f, symptom_ms=t1)  # 3 % more: visible
        crossed = (before < PAD_LIMIT_PCT) & (self.pad_pct[vid] >= PAD_LIMIT_PCT)
        for row in np.nonzero(crossed)[0].tolist():
            v = int(vid[row])
            if (v, "pad_wear") in self.open:
                self._threshold(v, "pad_wear", t1, True, 1.0, 5.0)

    def _charge(self, v: int, s: OpenCharge, t0: int, lat: float, lon: float) -> None:
        """Decide whether vehicle v's session (started in this window) fails, and why."""
        if s.public:
            self.charger_uses[s.charger] += 1
        u = float(self.rng.random())
        cause = ""
        if s.charger in self.chargers and u < 0.95:
            cause = "charger"
        elif self.obc_bad[v] and u < 0.7:
            cause = "car"
        if not cause:
            return
        s.target_soc = 0.0  # the session ends at the next window
        self.failures.append(ChargeFailureTruth(self.vins[v], t0, s.charger, cause, lat, lon))
        self._episode(v, CHARGING_ABORTED, None, t0, "")
        if cause == "car":
            key = (v, "obc_fault")
            if self.open[key].threshold_ms == 0:
                self.open[key] = replace(self.open[key], dtc_ms=t0)
                self._threshold(v, "obc_fault", t0, False, 3.0, 8.0)
        else:
            f = self.chargers[s.charger]
            if f.threshold_ms == 0:
                self.chargers[s.charger] = replace(f, symptom_ms=t0, threshold_ms=t0, dtc_ms=t0)
