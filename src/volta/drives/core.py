"""Drive detection: pure, from one vehicle's columnar samples to `Drive` records.

A drive is a run of motion (speed above a threshold) that no "parked" gear sample interrupts
and that has no hole in the data longer than `MAX_GAP_MS`: a stop at a red light stays inside
the drive, a shift to park ends it. Departure is the last standstill sample before the first
motion (at most a second earlier), arrival the first standstill sample after the last motion.
Distance comes from the odometer, energy from the battery power held between samples (net of
regeneration), so both are what the car measured, not what a speed integral suggests.

A drive is final once nothing later can change it: a "park" sample after its last motion lies
in the data known complete (a later motion is then another drive), or `SETTLE_MS` of complete
data follow it. A car that parks and sleeps at once is closed by the processor's sweep.
"""

from __future__ import annotations

import msgspec
import numpy as np
from numpy.typing import NDArray

from volta.derived.columns import (
    Columns,
    Series,
    at_or_after,
    at_or_before,
    get,
    hold_integral_wh,
    optional,
    window,
)

__all__ = ["MAX_GAP_MS", "SETTLE_MS", "Drive", "detect_drives", "drive_id"]

MOVING_KMH = 1.0  # noise on a standing car reads exactly 0; anything above is motion
MAX_GAP_MS = 15 * 60_000  # longer without a sample: the drive ended (or we cannot tell)
SETTLE_MS = 20 * 60_000  # a drive ending this long before the newest data cannot change
_EDGE_MS = 1_000  # 1 Hz while driving: departure/arrival are at most a sample away
_MAX_HOLD_MS = 10_000  # a power sample speaks for at most this long
_FOREVER = 2**62
_DENSE_MS = 1_500  # samples closer than this are at the driving rate
_STANDING_MS = 2_000  # a "drive" gear sample this far from motion: standing in drive


class Drive(msgspec.Struct, frozen=True, kw_only=True):
    """One drive. Times in ms since the epoch (UTC), distance in m, energy in Wh at the
    battery terminals (> 0 taken from the battery), speeds in km/h, temperature in °C."""

    id: str
    vin: str
    start_ms: int
    end_ms: int
    final: bool
    start_lat: float | None
    start_lon: float | None
    end_lat: float | None
    end_lon: float | None
    odometer_start_m: float | None
    odometer_end_m: float | None
    distance_m: float
    energy_wh: float  # net: traction + auxiliaries − regeneration
    regen_wh: float  # taken back into the battery while driving
    efficiency_wh_per_km: float | None
    avg_speed_kmh: float
    max_speed_kmh: float
    soc_start: float | None
    soc_end: float | None
    outside_temp_c: float | None
    # where it began and ended: a place's name, else the nearest named road (`volta.places`)
    start_place: str | None = None
    start_place_id: str | None = None
    end_place: str | None = None
    end_place_id: str | None = None


def drive_id(vin: str, start_ms: int) -> str:
    """Deterministic: re-processing the same data upserts, never duplicates."""
    return f"{vin}-{start_ms}"


def detect_drives(vin: str, cols: Columns, complete_to_ms: int) -> list[Drive]:
    """Every drive in `cols`. Data is known complete up to `complete_to_ms`: a drive is
    `final` when a "park" sample in it follows the drive's last motion, or when it ended at
    least `SETTLE_MS` before."""
    speed = get(cols, "speed")
    ts, v = speed
    moving = v > MOVING_KMH
    mts = ts[moving]
    if len(mts) == 0:
        return []
    gear_ts, gear = get(cols, "gear")
    park_ts = gear_ts[gear < 0.5]
    # split between consecutive motion samples when a park sample lies between, or a gap
    parks_between = np.searchsorted(park_ts, mts[1:], side="left") - np.searchsorted(
        park_ts, mts[:-1], side="right"
    )
    split = (parks_between > 0) | (np.diff(mts) > MAX_GAP_MS)
    firsts = np.r_[0, np.flatnonzero(split) + 1]
    lasts = np.r_[np.flatnonzero(split), len(mts) - 1]
    out: list[Drive] = []
    for a, b in zip(firsts.tolist(), lasts.tolist(), strict=True):
        t0, t1 = int(mts[a]), int(mts[b])
        start = _departure(ts, t0, (gear_ts, gear), park_ts)
        end = _arrival(ts, t1, (gear_ts, gear), park_ts)
        p = int(np.searchsorted(park_ts, t1, side="right"))
        parked = p < len(park_ts) and int(park_ts[p]) <= complete_to_ms
        out.append(_drive(vin, cols, start, end, parked or end + SETTLE_MS <= complete_to_ms))
    return out


def _dense_run(ts: NDArray[np.int64], i: int) -> tuple[int, int]:
    """First and last time of the run of driving-rate (~1 Hz) samples around index `i`."""
    gaps = np.flatnonzero(np.diff(ts) > _DENSE_MS)  # a gap lies between k and k + 1
    k = int(np.searchsorted(gaps, i))
    lo = int(gaps[k - 1]) + 1 if k > 0 else 0
    hi = int(gaps[k]) if k < len(gaps) else len(ts) - 1
    return int(ts[lo]), int(ts[hi])


def _departure(ts: NDArray[np.int64], t0: int, gear: Series, park_ts: NDArray[np.int64]) -> int:
    """When the drive began, given its first motion sample at `t0` (speed times `ts`).

    A car may stand in drive before it moves: then the start lies between the later of the
    last "park" sample and the start of the dense speed samples, and the first "drive" gear
    sample; the middle is the best guess."""
    i0 = int(np.searchsorted(ts, t0)) - 1
    before = max(int(ts[i0]), t0 - _EDGE_MS) if i0 >= 0 else t0 - _EDGE_MS
    p = int(np.searchsorted(park_ts, t0)) - 1
    park = int(park_ts[p]) if p >= 0 else None
    g0, g1 = np.searchsorted(gear[0], [park if park is not None else -_FOREVER, t0])
    in_drive = gear[0][g0:g1][gear[1][g0:g1] >= 0.5]
    if len(in_drive) == 0 or int(in_drive[0]) > t0 - _STANDING_MS:
        return before
    first_d = int(in_drive[0])
    lo = _dense_run(ts, i0 + 1)[0] - _EDGE_MS
    if park is not None:
        lo = max(lo, park)
    return min(before, first_d - (first_d - min(lo, first_d)) // 2)


def _arrival(ts: NDArray[np.int64], t1: int, gear: Series, park_ts: NDArray[np.int64]) -> int:
    """When the drive ended, given its last motion sample at `t1` (speed times `ts`).

    A car may stand in drive after its last motion (waiting to park): then the end lies
    between the last "drive" gear sample and the earlier of the next "park" sample and the end
    of the dense (driving-rate) speed samples; the middle is the best guess."""
    i1 = int(np.searchsorted(ts, t1, side="right"))
    after = min(int(ts[i1]), t1 + _EDGE_MS) if i1 < len(ts) else t1 + _EDGE_MS
    p = int(np.searchsorted(park_ts, t1, side="right"))
    park = int(park_ts[p]) if p < len(park_ts) else None
    g0, g1 = np.searchsorted(gear[0], [t1, park if park is not None else _FOREVER])
    in_drive = gear[0][g0:g1][gear[1][g0:g1] >= 0.5]
    if len(in_drive) == 0 or int(in_drive[-1]) < t1 + _STANDING_MS:
        return after
    last_d = int(in_drive[-1])
    hi = _dense_run(ts, i1 - 1)[1] + _EDGE_MS
    if park is not None:
        hi = min(hi, park)
    return max(after, last_d + (max(hi, last_d) - last_d) // 2)


def _drive(vin: str, cols: Columns, start: int, end: int, final: bool) -> Drive:
    odo = get(cols, "odometer")
    o0 = at_or_before(odo, start)
    if np.isnan(o0):
        o0 = at_or_after(odo, start)
    o1 = at_or_after(odo, end)
    if np.isnan(o1):
        o1 = at_or_before(odo, end)
    distance = max(o1 - o0, 0.0) if not (np.isnan(o0) or np.isnan(o1)) else 0.0
    power = get(cols, "power")
    into = hold_integral_wh(power, start, end, _MAX_HOLD_MS)  # > 0 into the battery
    pts, pv = window(power, start, end)
    regen = hold_integral_wh((pts, np.maximum(pv, 0.0)), start, end, _MAX_HOLD_MS)
    energy = -into
    _, sv = window(get(cols, "speed"), start, end + 1)
    hours = (end - start) / 3.6e6
    temp = window(get(cols, "outside"), start, end + 1)[1]
    lat, lon, soc = get(cols, "lat"), get(cols, "lon"), get(cols, "soc")
    t_out = float(temp.mean()) if len(temp) else at_or_before(get(cols, "outside"), start)
    return Drive(
        id=drive_id(vin, start),
        vin=vin,
        start_ms=start,
        end_ms=end,
        final=final,
        start_lat=optional(at_or_before(lat, start, at_or_after(lat, start))),
        start_lon=optional(at_or_before(lon, start, at_or_after(lon, start))),
        end_lat=optional(at_or_after(lat, end, at_or_before(lat, end))),
        end_lon=optional(at_or_after(lon, end, at_or_before(lon, end))),
        odometer_start_m=optional(o0),
        odometer_end_m=optional(o1),
        distance_m=round(distance, 3),
        energy_wh=round(energy, 3),
        regen_wh=round(regen, 3),
        efficiency_wh_per_km=round(energy / (distance / 1000.0), 3) if distance >= 100 else None,
        avg_speed_kmh=round(distance / 1000.0 / hours, 3) if hours > 0 else 0.0,
        max_speed_kmh=round(float(sv.max()), 3) if len(sv) else 0.0,
        soc_start=optional(at_or_before(soc, start, at_or_after(soc, start))),
        soc_end=optional(at_or_after(soc, end, at_or_before(soc, end))),
        outside_temp_c=optional(round(t_out, 3)),
    )
