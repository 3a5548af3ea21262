"""Vehicles: list, get, register (operators). A vehicle token sees only its own vehicle."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from volta.api.auth import CallerDep, OperatorDep, PlatformDep, ReaderDep
from volta.registry import Vehicle

router = APIRouter(prefix="/v1/vehicles", tags=["vehicles"])


class VehicleOut(BaseModel):
    vin: str
    model: str | None
    attributes: dict[str, Any]
    created_ms: int

    @classmethod
    def of(cls, v: Vehicle) -> VehicleOut:
        return cls(vin=v.vin, model=v.model, attributes=v.attributes, created_ms=v.created_ms)


class VehicleList(BaseModel):
    vehicles: list[VehicleOut]
    next_after: str | None = Field(None, description="pass as `after` for the next page")


class NewVehicle(BaseModel):
    vin: str = Field(description="17 characters A-Z/0-9 without I, O, Q")
    model: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class Enrolled(BaseModel):
    vehicle: VehicleOut
    token: str = Field(description="the vehicle's bearer token; shown only this once")
    credential_id: str


@router.get("", response_model=VehicleList)
def list_vehicles(
    principal: CallerDep,
    platform: PlatformDep,
    limit: int = Query(1000, ge=1, le=10_000),
    after: str | None = None,
) -> VehicleList:
    """The vehicles this credential may see (operators: all), by VIN."""
    vehicles = platform.registry.visible_vehicles(principal, limit=limit, after=after)
    next_after = vehicles[-1].vin if len(vehicles) == limit else None
    return VehicleList(vehicles=[VehicleOut.of(v) for v in vehicles], next_after=next_after)


@router.post("", response_model=Enrolled, status_code=201)
def add_vehicle(body: NewVehicle, principal: OperatorDep, platform: PlatformDep) -> Enrolled:
    enrollment = platform.registry.add_vehicle(body.vin, body.model, body.attributes)
    return Enrolled(
        vehicle=VehicleOut.of(enrollment.vehicle),
        token=enrollment.token.token,
        credential_id=enrollment.token.principal.credential_id,
    )


@router.get("/{vin}", response_model=VehicleOut)
def get_vehicle(vin: str, principal: ReaderDep, platform: PlatformDep) -> VehicleOut:
    return VehicleOut.of(platform.registry.get_vehicle(vin))
