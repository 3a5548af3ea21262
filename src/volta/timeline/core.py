"""State timeline and vampire drain: pure, from drives, charges and sample times.

Driving and charging come from the detected drives and sessions. Otherwise the car is parked
while it sends data; a silence longer than `SILENCE_MS` is sleep when it begins while parked
(a parked car switches its telemetry off to save the 12 V battery) and "offline" when it cuts
into a drive or a charge (the car was on, we just heard nothing). Vampire drain is the stored
energy lost over parked and asleep time, as an average power.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from itertools import pairwise

import msgspec
import numpy as np
from numpy.typing import NDArray

from volta.charging.core import Charge
from volta.derived.columns import Series, at_or_after, at_or_before
from volta.drives.core import Drive

__all__ = ["SILENCE_MS", "Interval", "State", "Vampire", "timeline", "vampire"]

SILENCE_MS = 5 * 60_000


class State(StrEnum):
    DRIVING = "driving"
    CHARGING = "charging"
    PARKED = "parked"  # awake, sending data
    ASLEEP = "asleep"
    OFFLINE = "offline"
    NO_DATA = "no data"  # before the vehicle's first sample: nothing to say


class Interval(msgspec.Struct, frozen=True):
    start_ms: int
    end_ms: int
    state: State


class Vampire(msgspec.Struct, frozen=True, kw_only=True):
    """Energy lost while standing still, per hour, split into awake and asleep."""

    parked_hours: float
    asleep_hours: float
    awake_w: float | None
    asleep_w: float | None
    lost_wh: float


def timeline(
    drives: Sequence[Drive],
    charges: Sequence[Charge],
    heartbeat: NDArray[np.int64],
    start_ms: int,
    end_ms: int,
    no_data_before_ms: int | None = None,
) -> list[Interval]:
    """Consecutive intervals covering [start_ms, end_ms); `heartbeat` is every sample time.
    Before `no_data_before_ms` (the vehicle's first sample; None: it has older ones) the
    state is "no data", not a sleep: a car first heard from an hour ago did not sleep all day."""
    hb = heartbeat[(heartbeat >= start_ms - SILENCE_MS) & (heartbeat < end_ms + SILENCE_MS)]
    gaps = np.flatnonzero(np.diff(hb) > SILENCE_MS)
    silences = [(int(hb[i]), int(hb[i + 1])) for i in gaps.tolist()]
    if len(hb) == 0:
        silences = [(start_ms, end_ms)]
    else:
        if hb[0] > start_ms:
            silences.insert(0, (start_ms, int(hb[0])))
        if hb[-1] < end_ms - SILENCE_MS:
            silences.append((int(hb[-1]), end_ms))
    active = [(d.start_ms, d.end_ms, State.DRIVING) for d in drives] + [
        (c.start_ms, c.end_ms, State.CHARGING) for c in charges
    ]
    cuts = {start_ms, end_ms}
    spans = [(a, b) for a, b, _ in active] + silences
    for a, b in spans:
        cuts.update(t for t in (a, b) if start_ms < t < end_ms)
    points = sorted(cuts)
    out: list[Interval] = []
    for a, b in pairwise(points):
        mid = (a + b) // 2
        state = next((s for x, y, s in active if x <= mid < y), None)
        silent = any(x <= mid < y for x, y in silences)
        if state is None:
            state = State.ASLEEP if silent else State.PARKED
        elif silent:
            state = State.OFFLINE
        if out and out[-1].state is state:
            out[-1] = Interval(out[-1].start_ms, b, state)
        else:
            out.append(Interval(a, b, state))
    if no_data_before_ms is None or no_data_before_ms <= start_ms:
        return out
    cut = min(no_data_before_ms, end_ms)
    later = [Interval(max(iv.start_ms, cut), iv.end_ms, iv.state) for iv in out if iv.end_ms > cut]
    return [Interval(start_ms, cut, State.NO_DATA), *later]


def vampire(intervals: Sequence[Interval], energy: Series) -> Vampire:
    """Average power lost (W) over parked and asleep intervals, from the stored energy (kWh)
    reported around them; an interval with a charge in it is not there by construction."""
    sums = {State.PARKED: [0.0, 0.0], State.ASLEEP: [0.0, 0.0]}  # Wh, hours
    for iv in intervals:
        if iv.state not in sums:
            continue
        e0 = at_or_before(energy, iv.start_ms)
        e1 = at_or_after(energy, iv.end_ms)
        if np.isnan(e0) or np.isnan(e1) or e1 > e0 + 0.05:  # an unseen charge: not drain
            continue
        sums[iv.state][0] += (e0 - e1) * 1000.0
        sums[iv.state][1] += (iv.end_ms - iv.start_ms) / 3.6e6
    (aw_wh, aw_h), (sl_wh, sl_h) = sums[State.PARKED], sums[State.ASLEEP]
    return Vampire(
        parked_hours=round(aw_h + sl_h, 3),
        asleep_hours=round(sl_h, 3),
        awake_w=round(aw_wh / aw_h, 1) if aw_h >= 0.5 else None,
        asleep_w=round(sl_wh / sl_h, 1) if sl_h >= 0.5 else None,
        lost_wh=round(aw_wh + sl_wh, 1),
    )
