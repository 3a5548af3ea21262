"""Vehicles: list, get, register and rename (operators). A vehicle token sees only its own
vehicle."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from volta.api.auth import CallerDep, OperatorDep, PlatformDep, ReaderDep
from volta.errors import NotFound
from volta.registry import Vehicle

router = APIRouter(prefix="/v1/vehicles", tags=["vehicles"])


class VehicleOut(BaseModel):
    vin: str
    model: str | None
    attributes: dict[str, Any]
    created_ms: int
    name: str | None = Field(None, description="what people call it, e.g. 'Van 12'")
    plate: str | None = Field(None, description="licence plate")
    group: str | None = Field(None, description="an operator's grouping: depot, team, region")

    @classmethod
    def of(cls, v: Vehicle) -> VehicleOut:
        return cls(
            vin=v.vin,
            model=v.model,
            attributes=v.attributes,
            created_ms=v.created_ms,
            name=v.name,
            plate=v.plate,
            group=v.group,
        )


class VehicleList(BaseModel):
    vehicles: list[VehicleOut]
    next_after: str | None = Field(None, description="pass as `after` for the next page")


class NewVehicle(BaseModel):
    vin: str = Field(description="17 characters A-Z/0-9 without I, O, Q")
    model: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    name: str | None = Field(None, max_length=64)
    plate: str | None = Field(None, max_length=15)
    group: str | None = Field(None, max_length=64)


class VehiclePatch(BaseModel):
    """Fields to change; one left out is kept, null or "" clears it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=64, examples=["Van 12"])
    plate: str | None = Field(None, max_length=15, examples=["ABC-123"])
    group: str | None = Field(None, max_length=64, examples=["Depot North"])
    model: str | None = Field(None, max_length=64, description="the EV model file's name")


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
    enrollment = platform.registry.add_vehicle(
        body.vin, body.model, body.attributes, name=body.name, plate=body.plate, group=body.group
    )
    return Enrolled(
        vehicle=VehicleOut.of(enrollment.vehicle),
        token=enrollment.token.token,
        credential_id=enrollment.token.principal.credential_id,
    )


@router.get("/{vin}", response_model=VehicleOut)
def get_vehicle(vin: str, principal: ReaderDep, platform: PlatformDep) -> VehicleOut:
    return VehicleOut.of(platform.registry.get_vehicle(vin))


@router.patch("/{vin}", response_model=VehicleOut)
def update_vehicle(
    vin: str, body: VehiclePatch, principal: OperatorDep, platform: PlatformDep
) -> VehicleOut:
    """Set a vehicle's name, plate, group or model (operators; audited). Plates are kept
    upper-case; a field left out is kept, null or "" clears it."""
    if not platform.registry.has_vehicle(vin):
        raise NotFound(f"vehicle {vin} is not registered")
    return VehicleOut.of(platform.registry.update_vehicle(vin, body.model_dump(exclude_unset=True)))
