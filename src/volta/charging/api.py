"""`/v1/vehicles/{vin}/charges`: a vehicle's charging sessions, one with its curve, CSV export."""

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
from volta.charging.core import Charge
from volta.errors import NotFound

router = APIRouter(prefix="/v1/vehicles", tags=["charging"])

_SERIES = ("curve", "energy_by_slot")  # only in the detail
_COLUMNS = [f for f in Charge.__struct_fields__ if f not in _SERIES]
# CSV headers get the unit their field name lacks (`cost` is in the `currency` column's)
_UNITS = {"lat": "deg", "lon": "deg", "soc_from": "pct", "soc_to": "pct"}


@router.get("/{vin}/charges", response_model=None, responses=LIST_RESPONSES)
def list_charges(
    vin: str,
    principal: ReaderDep,
    platform: PlatformDep,
    page: Annotated[Page, Depends(page_params)],
    format: Annotated[ListFormat, Query(description="json or csv")] = ListFormat.JSON,
) -> dict[str, Any] | Response:
    """Newest first, without the charging curves (see `/charges/{id}`). `place` is the
    place's name (else the nearest road), `cost` the place's tariff on the energy charged."""
    charges = platform.derived.list(
        "charge", Charge, vin, page.start_ms, page.end_ms, page.limit, page.before_ms
    )
    if format is ListFormat.CSV:
        return csv_response(
            charges,
            _COLUMNS,
            file_name(
                vin,
                "charges",
                page.start_ms,
                page.end_ms if page.end_ms is not None else platform.clock(),
            ),
            units=_UNITS,
        )
    rows = [{k: v for k, v in msgspec.to_builtins(c).items() if k not in _SERIES} for c in charges]
    return {"vin": vin, "charges": rows, "next_before": next_before(charges, page)}


@router.get("/{vin}/charges/{charge_id}")
def get_charge(vin: str, charge_id: str, principal: ReaderDep, platform: PlatformDep) -> Any:
    """One session with its charging curve (kW over SoC) and energy per quarter-hour."""
    charge = platform.derived.get("charge", Charge, charge_id)
    if charge is None or charge.vin != vin:
        raise NotFound(f"vehicle {vin} has no charging session {charge_id!r}")
    return msgspec.to_builtins(charge)
