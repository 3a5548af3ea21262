"""`/v1/places` (operators: fleet-wide and any vehicle's) and `/v1/vehicles/{vin}/places`
(whoever sees the vehicle reads them; operators, its drivers and the vehicle edit its own).
A change re-tags the stored drives and charges of the vehicles it concerns before the answer,
so lists never show stale places or costs."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from volta.api.auth import OperatorDep, PlatformDep, Policy, ReaderDep, allow
from volta.errors import BadRequest, NotFound
from volta.places.core import Place, Tariff, TouWindow
from volta.places.tag import retag
from volta.platform import Platform
from volta.registry import Principal, Role

router = APIRouter(tags=["places"])

# A vehicle's own places: operators, its drivers and the vehicle itself may edit them (a
# driver names home); technicians only read them.
PLACE_EDITORS = Policy(frozenset({Role.OPERATOR, Role.DRIVER, Role.VEHICLE}), vin=True)
EditorDep = Annotated[Principal, allow(PLACE_EDITORS)]


class WindowIn(BaseModel):
    start: str = Field(
        max_length=5, description="local time HH:MM, on a quarter-hour", examples=["22:00"]
    )
    end: str = Field(max_length=5, description="local time HH:MM; before start wraps midnight")
    price_per_kwh: float = Field(ge=0)


class TariffIn(BaseModel):
    price_per_kwh: float = Field(ge=0, description="outside every window")
    currency: str = Field(max_length=3, description="ISO 4217", examples=["EUR"])
    timezone: str = Field("UTC", max_length=64, description="IANA zone of the windows' times")
    windows: list[WindowIn] = Field(
        default_factory=list, max_length=48, description="first match wins"
    )


class PlaceIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["Home"])
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float = Field(gt=0, le=50_000, description="the circle's radius, metres")
    vin: str | None = Field(None, description="the vehicle it belongs to; none: fleet-wide")
    tariff: TariffIn | None = Field(None, description="prices the energy charged here")


def _place(body: PlaceIn, place_id: str, vin: str | None) -> Place:
    tariff = None
    if body.tariff is not None:
        t = body.tariff
        windows = [TouWindow(**w.model_dump()) for w in t.windows]
        tariff = Tariff(
            price_per_kwh=t.price_per_kwh, currency=t.currency, timezone=t.timezone, windows=windows
        ).validate()
    return Place(
        id=place_id,
        name=body.name,
        lat=body.lat,
        lon=body.lon,
        radius_m=body.radius_m,
        vin=vin,
        tariff=tariff,
    )


def _changed(platform: Platform, place: Place, *before: Place) -> dict[str, Any]:
    """Re-tag the vehicles whose labels may have changed; the place and the count."""
    if any(p.vin is None for p in (place, *before)):
        vins = [v.vin for v in platform.registry.list_vehicles(limit=10_000_000)]
    else:
        vins = sorted({p.vin for p in (place, *before) if p.vin is not None})
    n = retag(platform.derived, platform.places.tagger(), vins)
    return {**msgspec.to_builtins(place), "retagged": n}


def _known(platform: Platform, vin: str | None) -> None:
    if vin is not None and not platform.registry.has_vehicle(vin):
        raise NotFound(f"vehicle {vin} is not registered")


@router.get("/v1/places")
def list_places(
    principal: OperatorDep,
    platform: PlatformDep,
    vin: Annotated[str | None, Query(description="only this vehicle's (and fleet-wide)")] = None,
) -> dict[str, Any]:
    """Every place (operators)."""
    return {"places": msgspec.to_builtins(platform.places.list(vin))}


@router.post("/v1/places", status_code=201)
def create_place(body: PlaceIn, principal: OperatorDep, platform: PlatformDep) -> dict[str, Any]:
    """A fleet-wide place, or one vehicle's with `vin` (operators)."""
    _known(platform, body.vin)
    return _changed(platform, platform.places.put(_place(body, "", body.vin)))


@router.get("/v1/places/{place_id}")
def get_place(place_id: str, principal: OperatorDep, platform: PlatformDep) -> dict[str, Any]:
    return msgspec.to_builtins(platform.places.get(place_id))  # type: ignore[no-any-return]


@router.put("/v1/places/{place_id}")
def replace_place(
    place_id: str, body: PlaceIn, principal: OperatorDep, platform: PlatformDep
) -> dict[str, Any]:
    """Replace a place (its tags on stored drives and charges follow)."""
    old = platform.places.get(place_id)
    _known(platform, body.vin)
    return _changed(platform, platform.places.put(_place(body, place_id, body.vin)), old)


@router.delete("/v1/places/{place_id}")
def delete_place(place_id: str, principal: OperatorDep, platform: PlatformDep) -> dict[str, Any]:
    old = platform.places.delete(place_id)
    return _changed(platform, old)


@router.get("/v1/vehicles/{vin}/places")
def vehicle_places(vin: str, principal: ReaderDep, platform: PlatformDep) -> dict[str, Any]:
    """The vehicle's own places and the fleet-wide ones."""
    return {"vin": vin, "places": msgspec.to_builtins(platform.places.list(vin))}


@router.post("/v1/vehicles/{vin}/places", status_code=201)
def create_vehicle_place(
    vin: str, body: PlaceIn, principal: EditorDep, platform: PlatformDep
) -> dict[str, Any]:
    """A place of this vehicle only (a driver, or the car's own token, names home)."""
    if body.vin not in (None, vin):
        raise BadRequest(f"the body's vin {body.vin} is not the path's {vin}")
    return _changed(platform, platform.places.put(_place(body, "", vin)))


def _own(platform: Platform, vin: str, place_id: str) -> Place:
    p = platform.places.get(place_id)
    if p.vin != vin:  # fleet-wide places and other cars' are not this token's to change
        raise NotFound(f"vehicle {vin} has no place {place_id!r} of its own")
    return p


@router.put("/v1/vehicles/{vin}/places/{place_id}")
def replace_vehicle_place(
    vin: str, place_id: str, body: PlaceIn, principal: EditorDep, platform: PlatformDep
) -> dict[str, Any]:
    old = _own(platform, vin, place_id)
    if body.vin not in (None, vin):
        raise BadRequest(f"the body's vin {body.vin} is not the path's {vin}")
    return _changed(platform, platform.places.put(_place(body, place_id, vin)), old)


@router.delete("/v1/vehicles/{vin}/places/{place_id}")
def delete_vehicle_place(
    vin: str, place_id: str, principal: EditorDep, platform: PlatformDep
) -> dict[str, Any]:
    _own(platform, vin, place_id)
    return _changed(platform, platform.places.delete(place_id))
