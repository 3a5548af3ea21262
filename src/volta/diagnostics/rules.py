"""Predictive rules: pure functions over a vehicle's (downsampled) history, each returning a
`Finding`: whether its alert should turn on, whether it may turn off (the two differ, so an
alert does not flap), what it predicts and the evidence (the points and the fitted trend).

The points are hourly means (`volta.diagnostics.vehicle` keeps them); x is in days before the
latest point (time rules) or in km of odometer (brake pads). No clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Evidence",
    "Finding",
    "Fit",
    "battery_hot",
    "cell_imbalance",
    "fit",
    "lv_battery",
    "pad_wear",
    "tyre_leak",
]

FloatArray = NDArray[np.float64]
DAY_MS = 86_400_000

TYRE_WARNING_KPA_20C = 200.0  # 20 % under the 250 kPa placard, at 20 °C (EU TPMS practice)
LV_DTC_V = 12.0
CELL_DTC_MV = 100.0
PAD_LIMIT_PCT = 80.0
HOT_RISE_C = 18.0  # a healthy pack's cooling holds DC charging within ~14 °C of its start
HOT_ABS_C = 48.0


@dataclass(frozen=True, slots=True)
class Fit:
    """Least-squares line y = intercept + slope · x, with its quality."""

    slope: float
    intercept: float  # the value at x = 0 (the latest point)
    r2: float
    t_stat: float  # slope / its standard error (inf for a perfect fit)
    n: int
    span: float  # of x


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a finding rests on: the points, the trend fitted to them and the threshold."""

    signal: str
    unit: str
    x_unit: str  # "day" (before the latest point) or "km"
    points: tuple[tuple[float, float], ...]  # (x as ms since the epoch or km, y)
    fit: Fit | None
    threshold: float


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's verdict: `on` turns its alert on, `off` lets it turn off (hysteresis)."""

    kind: str
    subject: str
    on: bool
    off: bool
    message: str
    eta_ms: int | None  # when the threshold is predicted to be crossed
    km_left: float | None
    value: float
    evidence: Evidence


def fit(x: FloatArray, y: FloatArray) -> Fit | None:
    """The least-squares line through (x, y); None with fewer than 3 points or no spread."""
    n = len(x)
    if n < 3:
        return None
    xm, ym = float(x.mean()), float(y.mean())
    dx = x - xm
    sxx = float(dx @ dx)
    if sxx <= 0:
        return None
    slope = float(dx @ (y - ym)) / sxx
    intercept = ym - slope * xm
    resid = y - (intercept + slope * x)
    sse = float(resid @ resid)
    syy = float((y - ym) @ (y - ym))
    r2 = 1.0 - sse / syy if syy > 0 else 1.0
    se = (sse / (n - 2) / sxx) ** 0.5 if n > 2 else float("inf")
    t = abs(slope) / se if se > 0 else float("inf")
    return Fit(slope, intercept, r2, t, n, float(x.max() - x.min()))


def _days(ts: FloatArray) -> FloatArray:
    out: FloatArray = (ts - ts[-1]) / DAY_MS
    return out


def _pts(x: FloatArray, y: FloatArray) -> tuple[tuple[float, float], ...]:
    return tuple(zip(x.tolist(), np.round(y, 4).tolist(), strict=True))


def _eta(now_ms: int, days: float) -> int:
    return now_ms + int(max(days, 0.0) * DAY_MS)


def tyre_leak(
    subject: str,
    ts: FloatArray,
    kpa20: FloatArray,
    coldest_c: float = 20.0,
    rel_ts: FloatArray | None = None,
    rel_kpa: FloatArray | None = None,
) -> Finding | None:
    """A tyre losing air: the trend of its pressure at 20 °C over the last days → the time it
    reads the warning pressure (200 kPa) on the coldest air of those days (cold takes pressure
    away too: 200 kPa at -10 °C is 223 kPa at 20 °C). On: ≥ 1 kPa/day, clearly (t ≥ 6, ≥ 5
    points over ≥ 18 h) and the warning within 14 days, or already under it and falling; off:
    < 0.4 kPa/day or no clear trend.

    `rel_ts`, `rel_kpa`: the tyre against the median of the car's other three (at 20 °C), hourly,
    the last 7 days. The air and the drive warm all four alike, so this falls only when the
    tyre loses air: a fast leak shows in hours, a slow one across days the car stood still. On
    also at ≥ 1 kPa/day over the last day, two or seven, clearly (t ≥ 8, ≥ 4 points over
    ≥ 6 h) with ≥ 5 kPa lost in that time; it keeps the alert on while it holds."""
    if len(ts) < 2:
        return None
    f = fit(_days(ts), kpa20)
    now, last = int(ts[-1]), float(kpa20[-1])
    warn = TYRE_WARNING_KPA_20C * 293.15 / (273.15 + min(coldest_c, 20.0))
    ev = Evidence("Tire.Pressure (at 20 °C)", "kPa", "day", _pts(ts, kpa20), f, round(warn, 1))
    fast = _fast_leak(rel_ts, rel_kpa)
    if f is None and fast is None:
        return Finding("tyre_leak", subject, False, True, "", None, None, last, ev)
    if fast is not None:
        fr, rt, rk = fast
        rate = -fr.slope
        level = last
        # the evidence: the tyre against the others, with the deviation at which it warns
        ev = Evidence(
            "Tire.Pressure − the other tyres' median (at 20 °C)",
            "kPa",
            "day",
            _pts(rt, rk),
            fr,
            round(fr.intercept - (last - warn), 1),
        )
        on, off = True, False
    else:
        assert f is not None
        rate, level = -f.slope, f.intercept
        clear = f.t_stat >= 6 and f.n >= 5 and f.span >= 0.75
        eta0 = (level - warn) / rate if rate > 0 else float("inf")
        below = f.n >= 3 and level < warn and rate >= 0.4  # already low, still falling
        on = (clear and rate >= 1.0 and eta0 <= 14) or below
        off = (rate < 0.4 or f.t_stat < 2) and not below
    eta_days = (level - warn) / rate if rate > 0 else float("inf")
    msg = f"{subject} tyre losing {rate:.1f} kPa/day: the warning in {eta_days * 24:.0f} h"
    eta = _eta(now, eta_days) if rate > 0 and eta_days < 3650 else None
    return Finding("tyre_leak", subject, on, off, msg, eta, None, level, ev)


def _fast_leak(
    ts: FloatArray | None, rel: FloatArray | None
) -> tuple[Fit, FloatArray, FloatArray] | None:
    """The fit of a tyre against the others over the last day, two or seven (the shortest
    first: a leak that began yesterday bends a longer line), if it shows a leak: ≥ 1 kPa/day,
    clearly, and ≥ 5 kPa lost in that time."""
    if ts is None or rel is None or len(ts) < 4:
        return None
    if float(rel.max() - rel[-1]) < 5.0:
        return None  # not 5 kPa below where it was against the others: no fit needed
    for days in (1, 2, 7):
        recent = ts >= ts[-1] - days * DAY_MS
        t, y = ts[recent], rel[recent]
        f = fit(_days(t), y)
        if f is None or f.n < 4 or f.span < 0.25 or f.t_stat < 8:
            continue
        if -f.slope >= 1.0 and -f.slope * f.span >= 5.0:
            return f, t, y
    return None


def lv_battery(ts: FloatArray, volts: FloatArray) -> Finding | None:
    """The 12 V battery's resting voltage falling: the trend → the day it reaches 12.0 V.
    On: falling ≥ 8 mV/day clearly (t ≥ 6, ≥ 36 h) with 12.0 V within 45 days (a 12 V
    battery is cheap to change at the next visit) or 0.08 V lost that way over ≥ 5 days (a
    healthy battery rests where it rested, however far 12.0 V still is), or resting below
    12.15 V; off: falling < 3 mV/day and above 12.3 V."""
    if len(ts) < 2:
        return None
    f = fit(_days(ts), volts)
    now, last = int(ts[-1]), float(volts[-1])
    ev = Evidence(
        "LowVoltageBattery.CurrentVoltage (resting)", "V", "day", _pts(ts, volts), f, 12.0
    )
    if f is None:
        return Finding(
            "lv_battery", "12 V battery", last < 12.15, last > 12.3, "", None, None, last, ev
        )
    drop = -f.slope
    eta_days = (f.intercept - LV_DTC_V) / drop if drop > 0 else float("inf")
    lost = f.span >= 5 and drop * f.span >= 0.08
    trend = f.t_stat >= 6 and f.span >= 1.5 and drop >= 0.008 and (eta_days <= 45 or lost)
    on = trend or f.intercept < 12.15
    off = drop < 0.003 and f.intercept > 12.3
    msg = f"12 V battery resting at {f.intercept:.2f} V, falling {drop * 1000:.0f} mV/day"
    eta = _eta(now, eta_days) if drop > 0 and eta_days < 3650 else None
    return Finding("lv_battery", "12 V battery", on, off, msg, eta, None, f.intercept, ev)


def cell_imbalance(ts: FloatArray, spread_mv: FloatArray, weak_cell: int | None) -> Finding | None:
    """The spread between the highest and lowest cell voltage growing: the trend → the day it
    reaches 100 mV. On: ≥ 25 mV and growing ≥ 1.5 mV/day clearly with 100 mV within 30 days,
    or ≥ 60 mV (a healthy pack's cells stay within ~15 mV); off: < 20 mV."""
    if len(ts) < 2:
        return None
    f = fit(_days(ts), spread_mv)
    now, last = int(ts[-1]), float(spread_mv[-1])
    ev = Evidence(
        "CellVoltage.Max − CellVoltage.Min", "mV", "day", _pts(ts, spread_mv), f, CELL_DTC_MV
    )
    level = f.intercept if f is not None else last
    grow = f.slope if f is not None else 0.0
    eta_days = (CELL_DTC_MV - level) / grow if grow > 0 else float("inf")
    trend = f is not None and f.t_stat >= 6 and grow >= 1.5 and eta_days <= 30
    on = (level >= 25 and trend) or level >= 60
    off = level < 20
    cell = f" (weakest cell {weak_cell})" if weak_cell is not None else ""
    msg = f"HV cell voltages {level:.0f} mV apart{cell}, growing {grow:.1f} mV/day"
    eta = _eta(now, eta_days) if grow > 0 and eta_days < 3650 else None
    return Finding("cell_imbalance", "HV battery", on, off, msg, eta, None, level, ev)


def pad_wear(
    km: FloatArray, wear_pct: FloatArray, now_ms: int, km_per_day: float
) -> Finding | None:
    """Brake pad wear against the distance driven → km (and days, at the recent daily
    distance) until the 80 % replacement limit. On: ≥ 60 % worn and ≤ 1,500 km left on a
    clear trend, or ≥ 78 %; off: > 3,000 km left or below 60 %."""
    if len(km) < 2:
        return None
    x = km - km[-1]
    f = fit(x, wear_pct)
    last = float(wear_pct[-1])
    ev = Evidence("Brake.PadWear (front, worst)", "%", "km", _pts(km, wear_pct), f, PAD_LIMIT_PCT)
    level = f.intercept if f is not None else last
    rate = f.slope if f is not None else 0.0
    km_left = (PAD_LIMIT_PCT - level) / rate if rate > 0 else float("inf")
    clear = f is not None and f.t_stat >= 4 and f.span >= 50 and rate > 0
    on = (level >= 60 and clear and km_left <= 1500) or last >= 78
    off = level < 60 or km_left > 3000
    left = f"{km_left:.0f} km" if km_left < 1e6 else "no trend"
    msg = f"Front brake pads {level:.0f} % worn: {left} to the {PAD_LIMIT_PCT:.0f} % limit"
    eta = None
    if km_left < 1e6 and km_per_day > 0:
        eta = _eta(now_ms, km_left / km_per_day)
    kl = km_left if km_left < 1e6 else None
    return Finding("pad_wear", "front brake pads", on, off, msg, eta, kl, level, ev)


def battery_hot(ts: FloatArray, temps: FloatArray, start_c: float) -> Finding | None:
    """The pack heating on DC charging: the session's temperatures since it began. On: ≥ 18 °C
    above its start or ≥ 48 °C (a healthy pack's cooling holds it within ~14 °C; the BMS cuts
    power at 50 °C); off: a session that stays within 12 °C of its start."""
    if len(ts) == 0:
        return None
    peak = float(temps.max())
    f = fit((ts - ts[0]) / 60_000.0, temps) if len(ts) >= 3 else None
    ev = Evidence(
        "TractionBattery.Temperature.Max (DC charging)",
        "Celsius",
        "minute",
        _pts(ts, temps),
        f,
        50.0,
    )
    rise = peak - start_c
    on = rise >= HOT_RISE_C or peak >= HOT_ABS_C
    off = rise < 12.0
    per_min = f"{f.slope:.2f} °C/min" if f is not None else "?"
    msg = f"HV battery at {peak:.0f} °C on DC charging ({rise:+.0f} °C, {per_min})"
    eta = None
    if f is not None and f.slope > 0 and peak < 50.0:
        eta = int(ts[-1] + (50.0 - float(temps[-1])) / f.slope * 60_000)
    return Finding("battery_hot", "HV battery", on, off, msg, eta, None, peak, ev)
