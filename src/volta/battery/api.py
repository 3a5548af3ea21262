"""`/v1/vehicles/{vin}/battery`: capacity, state of health, its trend and the projected range."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Query

from volta.api.auth import PlatformDep, ReaderDep
from volta.battery.core import CapacitySample, health
from volta.battery.watch import nominal_kwh
from volta.derived.columns import PATHS
from volta.drives.core import Drive
from volta.platform import Platform

router = APIRouter(prefix="/v1/vehicles", tags=["battery"])

_EFFICIENCY_DRIVES = 50  # recent drives whose energy per km projects the range


@router.get("/{vin}/battery")
def get_battery(
    vin: str,
    principal: ReaderDep,
    platform: PlatformDep,
    samples: bool = Query(False, description="include every capacity estimate"),
) -> dict[str, Any]:
    """Usable capacity estimated from ΔEnergy/ΔSoC of charges and drives, SoH against the
    model's nominal capacity, the daily trend and the range a full battery gives. `fade`:
    the vehicle's SoH fade (points a year, ≥ 60 days of estimates) against its model's fleet
    norm, `too_fast` when above the norm's alert threshold (then `/alerts` says so too)."""
    caps = platform.derived.list("capacity", CapacitySample, vin, limit=100_000)
    drives = platform.derived.list("drive", Drive, vin, limit=_EFFICIENCY_DRIVES)
    km = sum(d.distance_m for d in drives) / 1000.0
    wh = sum(d.energy_wh for d in drives)
    result = health(
        vin,
        caps,
        _nominal_kwh(platform, vin),
        round(wh / km, 3) if km >= 1.0 else None,
        _reported(platform, vin),
    )
    out: dict[str, Any] = msgspec.to_builtins(result)
    if not samples:
        out.pop("samples")
    out["fade"] = _fade(platform, vin)
    return out


def _fade(platform: Platform, vin: str) -> dict[str, Any] | None:
    fleet = platform.fade.current()
    rate = fleet.rates.get(vin)
    if rate is None:
        return None
    norm = fleet.norms.get(rate.model)
    return {
        "pp_per_year": rate.pp_per_year,
        "samples": rate.samples,
        "span_days": rate.span_days,
        "norm": msgspec.to_builtins(norm) if norm is not None else None,
        "too_fast": norm is not None and rate.pp_per_year > norm.threshold_pp_per_year,
    }


def _nominal_kwh(platform: Platform, vin: str) -> float | None:
    """The model's usable capacity when new, for models the platform knows."""
    return nominal_kwh(platform.registry.get_vehicle(vin).model)


def _reported(platform: Platform, vin: str) -> tuple[float | None, float | None]:
    latest = platform.twin.get(vin)
    out: list[float | None] = []
    for name in ("capacity", "soh"):
        v = latest.get(platform.catalog.get(PATHS[name]).id)
        out.append(None if v is None else v.num)
    return out[0], out[1]
