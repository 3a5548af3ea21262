"""`/v1/vehicles/{vin}/stats` and fleet-wide `/v1/stats`: per day, week or month."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query

from volta.api.auth import OperatorDep, PlatformDep, ReaderDep
from volta.api.lists import Page, page_params
from volta.charging.core import Charge
from volta.drives.core import Drive
from volta.platform import Platform
from volta.stats.core import Period, summarise

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
