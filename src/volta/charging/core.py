"""Charging-session detection: pure, from one vehicle's columnar samples to `Charge` records.

A session is a run of samples saying "charging" (the flag, or clearly positive battery power
while standing) that motion does not interrupt; runs less than `MERGE_GAP_MS` apart with the
car not moving in between are one session (a charge interrupted and resumed). Regeneration on
a downhill is positive power too, but happens while moving, so it never opens a session.
Energy into the battery is the battery power held between samples; the last sample before
the end is held for half the interval to the next (non-charging) sample, since the end lies
somewhere in it and half is the unbiased guess.

A session is final once no later data can extend it: the data known complete goes on
`MERGE_GAP_MS` past its end (a resumed charge would be a new session), or shows the car moving
after it. A car that sleeps as soon as it stops charging is closed by the processor's sweep.
"""

from __future__ import annotations

import msgspec
import numpy as np
from numpy.typing import NDArray

from volta.derived.columns import (
    Columns,
    at_or_after,
    at_or_before,
    get,
    hold_integral_wh,
    optional,
    window,
)

__all__ = ["MERGE_GAP_MS", "Charge", "charge_id", "detect_charges"]

MERGE_GAP_MS = 10 * 60_000
CHARGING_W = 300.0  # positive battery power above this while standing is charging
DC_KW = 25.0  # a session peaking above this is DC fast charging (no AC charger reaches it)
_MAX_HOLD_MS = 120_000
_CLOSE_MS = 2_000
_ENERGY_NEAR_MS = 90_000  # an energy sample this close to the end brackets it
SLOT_MS = 15 * 60_000  # = volta.places.core.SLOT_MS: tariff windows lie on quarter-hours
_CURVE_POINTS = 100


class Charge(msgspec.Struct, frozen=True, kw_only=True):
    """One charging session. Energies in Wh, power in kW, SoC in %; `curve` is the
    charging curve as (SoC %, kW) points."""

    id: str
    vin: str
    start_ms: int
    end_ms: int
    final: bool
    dc: bool
    lat: float | None
    lon: float | None
    energy_added_wh: float  # into the battery, at its terminals
    energy_stored_wh: float | None  # change of the stored energy the BMS reports
    peak_kw: float
    avg_kw: float
    soc_from: float | None
    soc_to: float | None
    outside_temp_c: float | None
    curve: list[tuple[float, float]] = []
    # energy into the battery per quarter-hour, (slot start ms, Wh): what a time-of-use
    # tariff prices, without the samples
    energy_by_slot: list[tuple[int, float]] = []
    place: str | None = None  # a place's name, else the nearest named road
    place_id: str | None = None
    cost: float | None = None  # from the place's tariff, on `energy_added_wh`
    currency: str | None = None


def charge_id(vin: str, start_ms: int) -> str:
    return f"{vin}-{start_ms}"


def _runs(mask: NDArray[np.bool_]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """First and last index of every run of True."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1


def _count_in(
    sorted_ts: NDArray[np.int64], a: NDArray[np.int64], b: NDArray[np.int64]
) -> NDArray[np.intp]:
    """How many of `sorted_ts` lie in [a, b], element-wise."""
    return np.searchsorted(sorted_ts, b, side="right") - np.searchsorted(sorted_ts, a, side="left")


def _edges(
    ts: NDArray[np.int64], v: NDArray[np.float64], above: float
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """The "on" samples (value > `above`) and the "off" samples next to them: all the merged
    timeline needs (a run ends at an off sample), a small fraction of a year of samples."""
    on = v > above
    keep = on.copy()
    keep[1:] |= on[:-1]
    keep[:-1] |= on[1:]
    return ts[keep], on[keep]


def detect_charges(vin: str, cols: Columns, complete_to_ms: int) -> list[Charge]:
    """Every session in `cols`; data is known complete up to `complete_to_ms`, and a session
    that no later data can extend (see the module's docstring) is `final`."""
    fts, f_on = _edges(*get(cols, "charging"), 0.5)
    pts, p_on = _edges(*get(cols, "power"), CHARGING_W)
    sts, sv = get(cols, "speed")
    ts = np.concatenate([fts, pts])
    on = np.concatenate([f_on, p_on])
    order = np.argsort(ts, kind="stable")
    ts, on = ts[order], on[order]
    # positive power within 2 s of motion is regeneration, not charging
    mts = sts[sv > 1.0]
    cand = np.flatnonzero(on)
    on[cand[_count_in(mts, ts[cand] - 2000, ts[cand] + 2000) > 0]] = False
    if not on.any():
        return []
    firsts, lasts = _runs(on)
    t0, t1 = ts[firsts], ts[lasts]
    nxt = ts[np.minimum(lasts + 1, len(ts) - 1)]
    # a car that slept right after charging sends its next sample hours later: the end is
    # then near the last "on" sample, not half-way to the morning
    nxt = np.minimum(nxt, t1 + _MAX_HOLD_MS)
    on_ts = ts[on]
    prev = on_ts[np.maximum(np.searchsorted(on_ts, t1) - 1, 0)]  # the "on" sample before t1
    spacing = np.where((prev < t1) & (prev >= t0), t1 - prev, 0)
    ends = np.array(
        [
            _end(cols, a, b, p)
            for a, b, p in zip(t1.tolist(), nxt.tolist(), spacing.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    # runs close together with no motion between are one session (interrupted and resumed)
    gap = t0[1:] - ends[:-1]
    joined = (gap <= MERGE_GAP_MS) & (_count_in(mts, ends[:-1], t0[1:]) == 0)
    starts = np.r_[0, np.flatnonzero(~joined) + 1]
    stops = np.r_[np.flatnonzero(~joined), len(t0) - 1]
    end = ends[stops]
    left = _count_in(mts, end + 1, np.minimum(end + MERGE_GAP_MS, complete_to_ms)) > 0
    final = left | (end + MERGE_GAP_MS <= complete_to_ms)
    return [
        _charge(vin, cols, int(t0[i]), int(e), bool(f))
        for i, e, f in zip(starts.tolist(), end.tolist(), final.tolist(), strict=True)
    ]


def _end(cols: Columns, t1: int, t2: int, spacing: int) -> int:
    """When charging stopped, between the last "on" sample `t1` and the next sample `t2`;
    `spacing` is the interval between the "on" samples before (0: unknown).

    A car that reports the change as it happens sends its "off" sooner than its regular
    sample: that is the end. Otherwise the end lies somewhere in the interval (30 s parked),
    and the middle can be 15 s off; the stored energy the BMS reports on either side then says
    how long the power went on (the charging power until the end, the drain after it). Its
    noise of ~10 Wh puts that within ~8 s at AC powers, within a second at DC; the middle stays
    the answer when the energy is not there or says nothing sensible.
    """
    if 0 < t2 - t1 < spacing:
        return t2
    middle = t1 + (t2 - t1) // 2
    if t2 - t1 <= _CLOSE_MS:  # the middle is within a second
        return middle
    ets, ev = get(cols, "energy")
    i = int(np.searchsorted(ets, t1, side="right")) - 1
    j = int(np.searchsorted(ets, t2, side="left"))
    if i < 0 or j >= len(ets) or t1 - ets[i] > _ENERGY_NEAR_MS:
        return middle
    a, b = int(ets[i]), int(ets[j])
    if b - t2 > _ENERGY_NEAR_MS:
        return middle
    power = get(cols, "power")
    p_on, p_off = at_or_before(power, t1), at_or_after(power, t2)
    if np.isnan(p_on) or np.isnan(p_off) or p_on - p_off < CHARGING_W:
        return middle
    # stored-energy change (Wh) = held power over [a, t1) + p_on until the end + p_off after
    rise = (float(ev[j]) - float(ev[i])) * 1000.0 - hold_integral_wh(power, a, t1, _MAX_HOLD_MS)
    x = t1 + (rise * 3.6e6 - p_off * (b - t1)) / (p_on - p_off)
    return int(min(max(x, t1), t2)) if np.isfinite(x) else middle


def _charge(vin: str, cols: Columns, start: int, end: int, final: bool) -> Charge:
    pts, pv = get(cols, "power")
    wts, wv = window((pts, pv), start, end)
    on = wv > CHARGING_W
    nxt = np.append(wts[1:], end)
    dt = np.minimum(nxt - wts, _MAX_HOLD_MS).astype(np.float64)  # a mixed-type dot is slow
    added = float(np.dot(np.where(on, wv, 0.0), dt)) / 3.6e6
    peak = float(wv.max()) / 1000.0 if len(wv) else 0.0
    hours = (end - start) / 3.6e6
    energy = get(cols, "energy")
    e0 = at_or_before(energy, start, at_or_after(energy, start))
    e1 = at_or_after(energy, end, at_or_before(energy, end))
    soc = get(cols, "soc")
    lat, lon = get(cols, "lat"), get(cols, "lon")
    temp = window(get(cols, "outside"), start, end + 1)[1]
    return Charge(
        id=charge_id(vin, start),
        vin=vin,
        start_ms=start,
        end_ms=end,
        final=final,
        dc=peak > DC_KW,
        lat=optional(at_or_before(lat, end)),
        lon=optional(at_or_before(lon, end)),
        energy_added_wh=round(added, 3),
        energy_stored_wh=optional((e1 - e0) * 1000.0),
        peak_kw=round(peak, 3),
        avg_kw=round(added / 1000.0 / hours, 3) if hours > 0 else 0.0,
        soc_from=optional(at_or_before(soc, start, at_or_after(soc, start))),
        soc_to=optional(at_or_after(soc, end, at_or_before(soc, end))),
        outside_temp_c=optional(float(temp.mean())) if len(temp) else None,
        curve=_curve(window(soc, start - 600_000, end + 600_000), (wts[on], wv[on])),
        energy_by_slot=_by_slot(wts, np.where(on, wv, 0.0), dt),
    )


def _by_slot(
    ts: NDArray[np.int64], w: NDArray[np.float64], dt: NDArray[np.float64]
) -> list[tuple[int, float]]:
    """Energy per quarter-hour (UTC-aligned) of power `w` held for `dt` ms from each `ts`;
    a hold that crosses into the next slot is split at the boundary (a hold is shorter than a
    slot, so it crosses at most one)."""
    if len(ts) == 0:
        return []
    slot = ts // SLOT_MS
    boundary = (slot + 1) * SLOT_MS
    first = np.minimum(dt, (boundary - ts).astype(np.float64))
    keys = np.concatenate([slot, slot + 1])
    wh = np.concatenate([w * first, w * (dt - first)]) / 3.6e6
    uniq, inv = np.unique(keys, return_inverse=True)
    sums = np.bincount(inv, weights=wh)
    return [(int(k) * SLOT_MS, round(float(v), 3)) for k, v in zip(uniq, sums, strict=True) if v]


def _curve(
    soc: tuple[NDArray[np.int64], NDArray[np.float64]],
    power: tuple[NDArray[np.int64], NDArray[np.float64]],
) -> list[tuple[float, float]]:
    """Charging power (kW) against SoC (%), at most `_CURVE_POINTS` points."""
    pts, pv = power
    if len(pts) == 0 or len(soc[0]) == 0:
        return []
    step = max(1, len(pts) // _CURVE_POINTS)
    # float times: np.interp converts an int64 table on every call
    s = np.interp(pts[::step].astype(np.float64), soc[0].astype(np.float64), soc[1])
    pairs = zip(s.tolist(), pv[::step].tolist(), strict=True)
    return [(round(a, 2), round(b / 1000.0, 3)) for a, b in pairs]
