"""The fleet report: statistics per vehicle and period, as rows and as a CSV table people open
in a spreadsheet (ISO dates, units in the column names). Pure: records in, rows out."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import msgspec

from volta.charging.core import Charge
from volta.drives.core import Drive
from volta.stats.core import Period, PeriodStats, summarise

__all__ = [
    "ReportRow",
    "VehicleNames",
    "by_vehicle",
    "csv_table",
    "currencies",
    "file_name",
    "iso_date",
]


class VehicleNames(msgspec.Struct, frozen=True, kw_only=True):
    """What people call a vehicle (from the registry)."""

    name: str | None = None
    plate: str | None = None
    group: str | None = None
    model: str | None = None


class ReportRow(msgspec.Struct, frozen=True, kw_only=True):
    """One vehicle in one period."""

    vin: str
    period_start: str  # ISO date (UTC) the period starts on
    names: VehicleNames
    stats: PeriodStats


def iso_date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def by_vehicle(
    drives: Sequence[Drive],
    charges: Sequence[Charge],
    period: Period,
    names: Mapping[str, VehicleNames],
) -> list[ReportRow]:
    """A row per vehicle and period with a drive or a charge; periods oldest first, vehicles
    by VIN within one."""
    by_d: dict[str, list[Drive]] = {}
    by_c: dict[str, list[Charge]] = {}
    for d in drives:
        by_d.setdefault(d.vin, []).append(d)
    for c in charges:
        by_c.setdefault(c.vin, []).append(c)
    rows = []
    for vin in sorted(by_d.keys() | by_c.keys()):
        for s in summarise(by_d.get(vin, []), by_c.get(vin, []), period):
            rows.append(
                ReportRow(
                    vin=vin,
                    period_start=iso_date(s.start_ms),
                    names=names.get(vin, VehicleNames()),
                    stats=s,
                )
            )
    rows.sort(key=lambda r: (r.stats.start_ms, r.vin))
    return rows


def currencies(rows: Sequence[ReportRow]) -> list[str]:
    return sorted({cur for r in rows for cur in r.stats.charge_cost})


def _num(x: float | None, scale: float = 1.0, digits: int = 3) -> str:
    return "" if x is None else f"{x * scale:.{digits}f}"


def csv_table(rows: Sequence[ReportRow]) -> str:
    """The rows as CSV: one column per currency charged in (`charge_cost_EUR`)."""
    curs = currencies(rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "period_start", "vin", "name", "plate", "group", "model", "drives", "distance_km",
            "drive_energy_kwh", "efficiency_wh_per_km", "charges", "charge_energy_kwh",
            "dc_energy_kwh", *(f"charge_cost_{c}" for c in curs), "charges_without_tariff",
        ]
    )  # fmt: skip
    for r in rows:
        s, n = r.stats, r.names
        w.writerow(
            [
                r.period_start, r.vin, n.name or "", n.plate or "", n.group or "", n.model or "",
                s.drives, _num(s.distance_m, 1e-3), _num(s.drive_energy_wh, 1e-3),
                _num(s.efficiency_wh_per_km, digits=1), s.charges,
                _num(s.charge_energy_wh, 1e-3), _num(s.dc_energy_wh, 1e-3),
                *(_num(s.charge_cost.get(c), digits=2) if c in s.charge_cost else "" for c in curs),
                s.uncosted_charges,
            ]
        )  # fmt: skip
    return buf.getvalue()


def file_name(period: Period, start_ms: int, end_ms: int, group: str | None) -> str:
    """e.g. volta-fleet-report-by-month-2026-01-01-to-2026-12-06.csv (the end date is the last
    day included)."""
    who = (
        "fleet"
        if group is None
        else "group-" + "".join(ch if ch.isalnum() else "-" for ch in group.lower()).strip("-")
    )
    last_day = iso_date(end_ms - 1)
    return f"volta-{who}-report-by-{period.value}-{iso_date(start_ms)}-to-{last_day}.csv"
