"""Per-period statistics of drives and charges: pure, from records to rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import msgspec

from volta.charging.core import Charge
from volta.drives.core import Drive

__all__ = ["Period", "PeriodStats", "period_start", "summarise"]


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, starting Monday
    MONTH = "month"


class PeriodStats(msgspec.Struct, frozen=True, kw_only=True):
    """One period (UTC) of one vehicle or of the whole fleet. Energies in Wh."""

    start_ms: int
    drives: int
    distance_m: float
    drive_energy_wh: float
    efficiency_wh_per_km: float | None
    charges: int
    charge_energy_wh: float
    dc_energy_wh: float
    dc_share: float | None  # of the energy charged
    charge_cost: dict[str, float] = {}  # currency → cost of the sessions priced by a tariff
    uncosted_charges: int = 0  # sessions at no place with a tariff


def period_start(ts_ms: int, period: Period) -> int:
    """Start (ms, UTC) of the period holding `ts_ms`."""
    d = datetime.fromtimestamp(ts_ms / 1000, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.WEEK:
        d -= timedelta(days=d.weekday())
    elif period is Period.MONTH:
        d = d.replace(day=1)
    return int(d.timestamp() * 1000)


def summarise(
    drives: Sequence[Drive], charges: Sequence[Charge], period: Period
) -> list[PeriodStats]:
    """One row per period with a drive or a charge (by its start), oldest first."""
    starts = [d.start_ms for d in drives] + [c.start_ms for c in charges]
    keys = {period_start(t, period) for t in starts}
    by_d: dict[int, list[Drive]] = {k: [] for k in keys}
    by_c: dict[int, list[Charge]] = {k: [] for k in keys}
    for d in drives:
        by_d[period_start(d.start_ms, period)].append(d)
    for c in charges:
        by_c[period_start(c.start_ms, period)].append(c)
    out = []
    for k in sorted(keys):
        dist = sum(d.distance_m for d in by_d[k])
        wh = sum(d.energy_wh for d in by_d[k])
        ch = sum(c.energy_added_wh for c in by_c[k])
        dc = sum(c.energy_added_wh for c in by_c[k] if c.dc)
        cost: dict[str, float] = {}
        for c in by_c[k]:
            if c.cost is not None and c.currency is not None:
                cost[c.currency] = cost.get(c.currency, 0.0) + c.cost
        out.append(
            PeriodStats(
                start_ms=k,
                drives=len(by_d[k]),
                distance_m=round(dist, 3),
                drive_energy_wh=round(wh, 3),
                efficiency_wh_per_km=round(wh / (dist / 1000), 3) if dist >= 100 else None,
                charges=len(by_c[k]),
                charge_energy_wh=round(ch, 3),
                dc_energy_wh=round(dc, 3),
                dc_share=round(dc / ch, 4) if ch > 0 else None,
                charge_cost={cur: round(v, 4) for cur, v in sorted(cost.items())},
                uncosted_charges=sum(1 for c in by_c[k] if c.cost is None),
            )
        )
    return out
