"""After-sales diagnostics over HTTP.

- `GET /v1/vehicles/{vin}/diagnostics`: the vehicle's trouble codes (active first; decoded,
  with freeze frames, occurrences, first/last seen), its predictions with their evidence, and
  its charging failures with their attribution. Operators, and the technicians of the
  vehicle's organisation and its drivers (a driver sees their car's health).
- `GET /v1/fleet/reliability`: DTC rates by model × software version × month, mean distance
  between faults, top issues, software-linked codes. Operators.
- `GET /v1/fleet/charging-faults`: chargers that fail many cars (for the charge-point
  operator) and cars whose own charging fails. Operators.
- `GET /v1/diagnostics/codes/{code}`: what a code means by its J2012 structure and the known
  descriptions; a code that does not follow J2012 comes back raw (`valid: false`). Any role.

The embedded process answers from its live diagnostics; a scale-out API process from what the
processors keep (`volta.diagnostics.mirror`, a few seconds behind).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Path

from volta.api.auth import CallerDep, CommanderDep, OperatorDep, PlatformDep
from volta.diagnostics.decode import decode
from volta.diagnostics.fleet import FleetDiagnostics

router = APIRouter(tags=["diagnostics"])


@router.get("/v1/vehicles/{vin}/diagnostics")
def vehicle_diagnostics(vin: str, principal: CommanderDep, platform: PlatformDep) -> dict[str, Any]:
    """Trouble codes with freeze frames, predictions with evidence, charging failures. A
    vehicle that has sent nothing yet has empty lists."""
    report = platform.diagnostics.report(vin)
    if report is None:
        return {
            "vin": vin,
            "first_seen_ms": None,
            "last_seen_ms": None,
            "software": {},
            "codes": [],
            "predictions": [],
            "charging_failures": {"failures": [], "car_alert": None},
        }
    return report


def _reliability(fleet: FleetDiagnostics) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(fleet.reliability())
    return out


@router.get("/v1/fleet/reliability")
def fleet_reliability(principal: OperatorDep, platform: PlatformDep) -> dict[str, Any]:
    """Rates (occurrences per 1,000 vehicle-days) by model × software version × month, mean km
    between faults per model, the top issues and the software-linked codes."""
    return platform.diagnostics.read(_reliability)


def _charging(fleet: FleetDiagnostics) -> dict[str, Any]:
    att = fleet.attribution()
    return {
        "failures": len(att.causes),
        "chargers": msgspec.to_builtins(list(att.chargers)),
        "cars": msgspec.to_builtins(list(att.cars)),
        "undecided": sum(c == "undecided" for c in att.causes),
    }


@router.get("/v1/fleet/charging-faults")
def charging_faults(principal: OperatorDep, platform: PlatformDep) -> dict[str, Any]:
    """Charging failures attributed: a charger failing several cars is one alert for the
    charge-point operator (not a case on each car); a car failing wherever it plugs in is the
    car's."""
    return platform.diagnostics.read(_charging)


@router.get("/v1/diagnostics/codes/{code}")
def code_meaning(
    code: Annotated[str, Path(max_length=64)], principal: CallerDep, platform: PlatformDep
) -> dict[str, Any]:
    """The J2012 structure of a code and its description (Volta's or the maker's)."""
    out: dict[str, Any] = msgspec.to_builtins(decode(code, platform.diagnostics.fleet.descriptions))
    return out
