"""Battery-health estimation: pure, from samples and sessions to capacity and SoH.

Each charge session (and each long drive) with a large enough SoC swing gives one capacity
sample: the slope of stored energy against SoC over the samples inside it (a least-squares
fit, so the noise of single readings averages out, and a partial charge counts as much as a
full one). The capacity at a time is the median of the samples of the trailing
`WINDOW_DAYS`, robust to the odd bad session; SoH is that capacity over the model's nominal.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np

from volta.derived.columns import Columns, get, window

__all__ = ["BatteryHealth", "CapacitySample", "Span", "capacity_samples", "health"]

MIN_SOC_SWING = 3.0  # %: below, quantisation of the SoC (0.1 %) would dominate
MIN_POINTS = 4
WINDOW_DAYS = 30
DAY_MS = 86_400_000
_MARGIN_MS = 10 * 60_000


class Span(msgspec.Struct, frozen=True):
    """A time span with a SoC swing: a charge session or a drive."""

    start_ms: int
    end_ms: int
    kind: str  # "charge" or "drive"


class CapacitySample(msgspec.Struct, frozen=True, kw_only=True):
    """One usable-capacity estimate (kWh) from one span (id: vin + span start)."""

    id: str
    vin: str
    start_ms: int
    end_ms: int
    kind: str
    capacity_kwh: float
    soc_swing: float


class HealthPoint(msgspec.Struct, frozen=True, kw_only=True):
    day_ms: int  # midnight UTC starting the day
    capacity_kwh: float
    soh_pct: float | None
    samples: int


class BatteryHealth(msgspec.Struct, frozen=True, kw_only=True):
    """Where a battery stands: latest estimate, its trend, and the range it gives."""

    vin: str
    capacity_kwh: float | None
    nominal_kwh: float | None
    soh_pct: float | None
    reported_soh_pct: float | None  # what the BMS itself says, for comparison
    fade_pct_per_year: float | None
    efficiency_wh_per_km: float | None
    projected_range_km: float | None
    trend: list[HealthPoint] = []
    samples: list[CapacitySample] = []


def capacity_samples(vin: str, cols: Columns, spans: Sequence[Span]) -> list[CapacitySample]:
    """One capacity estimate per span whose SoC swing is at least `MIN_SOC_SWING`."""
    ets, ev = get(cols, "energy")
    soc = get(cols, "soc")
    out: list[CapacitySample] = []
    for s in spans:
        t, e = window((ets, ev), s.start_ms, s.end_ms + 1)
        if len(t) < MIN_POINTS:
            continue
        st, sv = window(soc, s.start_ms - _MARGIN_MS, s.end_ms + _MARGIN_MS)
        if len(st) < 2:
            continue
        # on the span only, in float: interp costs the length of its table, and converts ints
        x = np.interp(t.astype(np.float64), st.astype(np.float64), sv)
        swing = float(x.max() - x.min())
        if swing < MIN_SOC_SWING:
            continue
        slope = float(np.polyfit(x, e, 1)[0])  # kWh per SoC %
        out.append(
            CapacitySample(
                id=f"{vin}-{s.start_ms}", vin=vin, start_ms=s.start_ms, end_ms=s.end_ms,
                kind=s.kind, capacity_kwh=round(slope * 100.0, 4), soc_swing=round(swing, 3),
            )
        )  # fmt: skip
    return out


def health(
    vin: str,
    samples: Sequence[CapacitySample],
    nominal_kwh: float | None,
    efficiency_wh_per_km: float | None,
    reported: tuple[float | None, float | None] = (None, None),
) -> BatteryHealth:
    """The trend (one point per day with samples, trailing median) and the latest estimate.
    `reported` is the (NetCapacity kWh, StateOfHealth %) the BMS last sent: it stands in for
    the nominal capacity of an unknown model, and is shown for comparison."""
    samples = sorted(samples, key=lambda s: s.end_ms)
    rep_cap, rep_soh = reported
    if nominal_kwh is None and rep_cap and rep_soh:
        nominal_kwh = rep_cap / (rep_soh / 100.0)
    trend: list[HealthPoint] = []
    ts = np.array([s.end_ms for s in samples], dtype=np.int64)
    cap = np.array([s.capacity_kwh for s in samples])
    for day in sorted({int(t) // DAY_MS * DAY_MS for t in ts.tolist()}):
        m = (ts >= day + DAY_MS - WINDOW_DAYS * DAY_MS) & (ts < day + DAY_MS)
        c = float(np.median(cap[m]))
        trend.append(
            HealthPoint(
                day_ms=day, capacity_kwh=round(c, 4), samples=int(m.sum()),
                soh_pct=round(100.0 * c / nominal_kwh, 3) if nominal_kwh else None,
            )
        )  # fmt: skip
    latest = trend[-1] if trend else None
    fade = None
    if len(trend) >= 2 and trend[-1].day_ms - trend[0].day_ms >= 7 * DAY_MS and nominal_kwh:
        d = np.array([p.day_ms for p in trend]) / (365.0 * DAY_MS)
        fade = -float(np.polyfit(d, [p.capacity_kwh for p in trend], 1)[0]) / nominal_kwh * 100
    capacity = latest.capacity_kwh if latest else None
    rng = None
    if capacity and efficiency_wh_per_km and efficiency_wh_per_km > 0:
        rng = round(capacity * 1000.0 / efficiency_wh_per_km, 1)
    return BatteryHealth(
        vin=vin,
        capacity_kwh=capacity,
        nominal_kwh=round(nominal_kwh, 4) if nominal_kwh else None,
        soh_pct=latest.soh_pct if latest else None,
        reported_soh_pct=rep_soh,
        fade_pct_per_year=round(fade, 3) if fade is not None else None,
        efficiency_wh_per_km=efficiency_wh_per_km,
        projected_range_km=rng,
        trend=trend,
        samples=list(samples),
    )
