"""Charging-session detection: pure, from one vehicle's columnar samples to `Charge` records.

A session is a run of samples saying "charging" (the flag, or clearly positive battery power
while standing) that motion does not interrupt; runs less than `MERGE_GAP_MS` apart with the
car not moving in between are one session (a charge interrupted and resumed). Regeneration on
a downhill is positive power too, but happens while moving, so it never opens a session.
Energy into the battery is the battery power held between samples; the last sample before
the end is held for half the interval to the next (non-charging) sample, since the end lies
somewhere in it and half is the unbiased guess.
"""

from __future__ import annotations

import msgspec
import numpy as np
from numpy.typing import NDArray

from volta.derived.columns import Columns, at_or_after, at_or_before, get, optional, window

__all__ = ["MERGE_GAP_MS", "SETTLE_MS", "Charge", "charge_id", "detect_charges"]

MERGE_GAP_MS = 10 * 60_000
SETTLE_MS = 20 * 60_000
CHARGING_W = 300.0  # positive battery power above this while standing is charging
DC_KW = 25.0  # a session peaking above this is DC fast charging (no AC charger reaches it)
_MAX_HOLD_MS = 120_000
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
    """Every session in `cols`; those ending `SETTLE_MS` before `complete_to_ms` are final."""
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
    ends = t1 + (nxt - t1) // 2
    # runs close together with no motion between are one session (interrupted and resumed)
    gap = t0[1:] - ends[:-1]
    joined = (gap <= MERGE_GAP_MS) & (_count_in(mts, ends[:-1], t0[1:]) == 0)
    starts = np.r_[0, np.flatnonzero(~joined) + 1]
    stops = np.r_[np.flatnonzero(~joined), len(t0) - 1]
    return [
        _charge(vin, cols, int(t0[i]), int(ends[j]), int(ends[j]) + SETTLE_MS <= complete_to_ms)
        for i, j in zip(starts.tolist(), stops.tolist(), strict=True)
    ]


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
