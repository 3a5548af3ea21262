"""`/v1/vehicles/{vin}/stats` and fleet-wide `/v1/stats`: per day, week or month; and the
fleet report `/v1/stats/vehicles`: per vehicle and period, as JSON or a CSV file."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from volta.api.auth import OperatorDep, PlatformDep, ReaderDep
from volta.api.lists import LIST_RESPONSES, ListFormat, Page, page_params
from volta.api.params import time_range
from volta.charging.core import Charge
from volta.drives.core import Drive
from volta.platform import Platform
from volta.stats.core import Period, summarise
from volta.stats.report import VehicleNames, by_vehicle, csv_table, currencies, file_name

router = APIRouter(tags=["stats"])

_MAX_RECORDS = 100_000


def _stats(platform: Platform, vin: str | None, page: Page, period: Period) -> list[Any]:
    args = (vin, page.start_ms, page.end_ms, _MAX_RECORDS)
    drives = platform.derived.list("drive", Drive, *args)
    charges = platform.derived.list("charge", Charge, *args)
    rows: list[Any] = msgspec.to_builtins(summarise(drives, charges, period))
    return rows


@router.get("/v1/vehicles/{vin}/stats")
def vehicle_stats(
    vin: str,
    principal: ReaderDep,
    platform: PlatformDep,
    page: Annotated[Page, Depends(page_params)],
    period: Annotated[Period, Query(description="day, week or month (UTC)")] = Period.DAY,
) -> dict[str, Any]:
    """Distance, energy, efficiency, charging energy, DC share and charging cost (per
    currency, from the places' tariffs) per period."""
    return {"vin": vin, "period": period, "rows": _stats(platform, vin, page, period)}


@router.get("/v1/stats")
def fleet_stats(
    principal: OperatorDep,
    platform: PlatformDep,
    page: Annotated[Page, Depends(page_params)],
    period: Annotated[Period, Query(description="day, week or month (UTC)")] = Period.DAY,
) -> dict[str, Any]:
    """The same over every vehicle (operators only)."""
    return {"period": period, "rows": _stats(platform, None, page, period)}


REPORT_SPAN_MS = 366 * 86_400_000


@router.get("/v1/stats/vehicles", responses=LIST_RESPONSES)
def fleet_report(
    principal: OperatorDep,
    platform: PlatformDep,
    start: Annotated[str | None, Query(description="ISO-8601 or ms (default: a year ago)")] = None,
    end: Annotated[str | None, Query(description="ISO-8601 or ms (default: now)")] = None,
    period: Annotated[Period, Query(description="day, week or month (UTC)")] = Period.MONTH,
    group: Annotated[str | None, Query(max_length=64, description="only this group")] = None,
    format: Annotated[ListFormat, Query(description="json, or csv for a file")] = (ListFormat.JSON),
) -> Any:
    """Distance, energy, charging energy and cost per vehicle and period, over the drives and
    charges that start in [start, end) (operators). `format=csv` downloads it with ISO dates
    and units in the column names."""
    start_ms, end_ms = time_range(start, end, platform.clock(), REPORT_SPAN_MS)
    vehicles = platform.registry.list_vehicles(limit=10_000_000)
    names = {
        v.vin: VehicleNames(name=v.name, plate=v.plate, group=v.group, model=v.model)
        for v in vehicles
        if group is None or v.group == group
    }
    args = (None, start_ms, end_ms, _MAX_RECORDS)
    # Records that start in the range (the store's filter is by overlap).
    drives = [
        d for d in platform.derived.list("drive", Drive, *args)
        if start_ms <= d.start_ms < end_ms and d.vin in names
    ]  # fmt: skip
    charges = [
        c for c in platform.derived.list("charge", Charge, *args)
        if start_ms <= c.start_ms < end_ms and c.vin in names
    ]  # fmt: skip
    rows = by_vehicle(drives, charges, period, names)
    if format is ListFormat.CSV:
        name = file_name(period, start_ms, end_ms, group)
        return Response(
            csv_table(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return {
        "period": period,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "group": group,
        "groups": sorted({v.group for v in vehicles if v.group}),
        "currencies": currencies(rows),
        "rows": msgspec.to_builtins(rows),
        "totals": msgspec.to_builtins(summarise(drives, charges, period)),
    }
