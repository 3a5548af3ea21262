"""Who sees which service records: operators everything; a technician the cases, workshops
and appointments of their own service organisation (never another's); a driver the cases of
the vehicles assigned to them. Routes ask here instead of deciding on their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from volta.api.auth import PEOPLE_OF_VEHICLE, Allow, AllowVehicle, PlatformDep, Policy
from volta.errors import NotFound, Unavailable
from volta.registry import Principal, Role
from volta.service.booking import SlotUnavailable
from volta.service.cases import IllegalTransition
from volta.service.desk import ServiceDesk
from volta.service.model import Actor, Case, Workshop

PEOPLE = Policy(frozenset({Role.OPERATOR, Role.TECHNICIAN, Role.DRIVER}))
STAFF = Policy(frozenset({Role.OPERATOR, Role.TECHNICIAN}))
OPERATOR = Policy(frozenset({Role.OPERATOR}))
PeopleDep = Annotated[Principal, Depends(Allow(PEOPLE))]
StaffDep = Annotated[Principal, Depends(Allow(STAFF))]
OperatorDep = Annotated[Principal, Depends(Allow(OPERATOR))]
VehiclePeopleDep = Annotated[Principal, Depends(AllowVehicle(PEOPLE_OF_VEHICLE))]


def _desk(platform: PlatformDep) -> ServiceDesk:
    desk: ServiceDesk | None = getattr(platform, "service", None)
    if desk is None:
        raise Unavailable("the after-sales service is not enabled on this platform")
    return desk


DeskDep = Annotated[ServiceDesk, Depends(_desk)]


def actor(p: Principal) -> Actor:
    return Actor(p.actor, p.role.value)


def organisations(p: Principal) -> frozenset[str] | None:
    """The organisations whose cases and workshops the caller sees (None: all)."""
    if p.role is Role.OPERATOR:
        return None
    if p.role is Role.TECHNICIAN and p.organisation:
        return frozenset({p.organisation})
    return frozenset()


def sees_case(p: Principal, case: Case) -> bool:
    if p.role is Role.OPERATOR:
        return True
    if p.role is Role.TECHNICIAN:
        return p.organisation is not None and case.organisation == p.organisation
    return p.role is Role.DRIVER and case.vin in p.vins


def visible_case(desk: ServiceDesk, p: Principal, case_id: str) -> Case:
    """The case, or NotFound when it does not exist or the caller may not see it (the same
    answer, so ids of other organisations' cases reveal nothing)."""
    try:
        case = desk.cases.get(case_id)
    except NotFound:
        case = None
    if case is None or not sees_case(p, case):
        raise NotFound(f"no case {case_id} visible to this credential")
    return case


def workshop_orgs(desk: ServiceDesk, p: Principal) -> frozenset[str] | None:
    """Workshops a caller may see: a driver those of their vehicles' organisations."""
    if p.role is Role.DRIVER:
        return frozenset(
            org for vin in p.vins if (org := desk.vehicle_organisation(vin)) is not None
        )
    return organisations(p)


def visible_workshop(desk: ServiceDesk, p: Principal, workshop_id: str) -> Workshop:
    try:
        ws = desk.bookings.workshop(workshop_id)
    except NotFound:
        ws = None
    orgs = workshop_orgs(desk, p)
    if ws is None or (orgs is not None and ws.organisation not in orgs):
        raise NotFound(f"no workshop {workshop_id} visible to this credential")
    return ws


async def _illegal_transition(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IllegalTransition)  # registered for it only
    return JSONResponse(
        {"error": "illegal_transition", "message": str(exc), "allowed": exc.allowed},
        status_code=409,
    )


async def _slot_unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SlotUnavailable)  # registered for it only
    free = [
        {"start_ms": s.start_ms, "end_ms": s.end_ms, "free_bays": s.free_bays}
        for s in exc.alternatives
    ]
    return JSONResponse(
        {"error": "slot_unavailable", "message": str(exc), "next_free": free}, status_code=409
    )


def install(app: FastAPI) -> None:
    """The 409 answers that carry more than a reason: the allowed states, the next slots."""
    app.add_exception_handler(IllegalTransition, _illegal_transition)
    app.add_exception_handler(SlotUnavailable, _slot_unavailable)
