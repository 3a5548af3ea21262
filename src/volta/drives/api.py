"""`/v1/vehicles/{vin}/drives`: a vehicle's drives, one drive with its series, CSV export."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from volta.api.auth import PlatformDep, ReaderDep
from volta.api.csvfiles import file_name
from volta.api.lists import (
    LIST_RESPONSES,
    ListFormat,
    Page,
    csv_response,
    next_before,
    page_params,
)
from volta.derived.columns import PATHS
from volta.drives.core import Drive
from volta.errors import NotFound

router = APIRouter(prefix="/v1/vehicles", tags=["drives"])

_COLUMNS = [f for f in Drive.__struct_fields__]
# CSV headers get the unit their field name lacks
_UNITS = {
    "start_lat": "deg",
    "start_lon": "deg",
    "end_lat": "deg",
    "end_lon": "deg",
    "soc_start": "pct",
    "soc_end": "pct",
}
_DETAIL = ("speed", "power", "soc", "lat", "lon", "odometer")


@router.get("/{vin}/drives", response_model=None, responses=LIST_RESPONSES)
def list_drives(
    vin: str,
    principal: ReaderDep,
    platform: PlatformDep,
    page: Annotated[Page, Depends(page_params)],
    format: Annotated[ListFormat, Query(description="json or csv")] = ListFormat.JSON,
) -> dict[str, Any] | Response:
    """Newest first. A drive still going on has `final: false` and grows until it ends."""
    drives = platform.derived.list(
        "drive", Drive, vin, page.start_ms, page.end_ms, page.limit, page.before_ms
    )
    if format is ListFormat.CSV:
        return csv_response(
            drives,
            _COLUMNS,
            file_name(
                vin,
                "drives",
                page.start_ms,
                page.end_ms if page.end_ms is not None else platform.clock(),
            ),
            units=_UNITS,
        )
    return {
        "vin": vin,
        "drives": msgspec.to_builtins(drives),
        "next_before": next_before(drives, page),
    }


@router.get("/{vin}/drives/{drive_id}")
def get_drive(
    vin: str,
    drive_id: str,
    principal: ReaderDep,
    platform: PlatformDep,
    max_points: int = Query(1000, ge=10, le=100_000),
) -> dict[str, Any]:
    """One drive with its path and speed/power/SoC series (down-sampled to `max_points`)."""
    drive = platform.derived.get("drive", Drive, drive_id)
    if drive is None or drive.vin != vin:
        raise NotFound(f"vehicle {vin} has no drive {drive_id!r}")
    ids = {platform.catalog.get(PATHS[n]).id: n for n in _DETAIL}
    series = platform.store.history(vin, list(ids), drive.start_ms, drive.end_ms + 1, max_points)
    return {
        **msgspec.to_builtins(drive),
        "series": {
            ids[s.signal_id]: {"ts": s.ts, "value": s.num, "downsampled": s.downsampled}
            for s in series
        },
    }
