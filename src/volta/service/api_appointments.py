"""Appointment routes: book, list, move and cancel (drivers for their own cars, technicians
for their organisation's cases). A taken slot or a time the workshop has no slot at answers
409 with the next free slots."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from volta.errors import NotFound
from volta.registry import Principal, Role
from volta.service.access import DeskDep, PeopleDep, actor, organisations, visible_case
from volta.service.api_cases import MAX_MS, AppointmentOut
from volta.service.desk import ServiceDesk
from volta.service.model import Appointment

router = APIRouter(prefix="/v1", tags=["after-sales"])
_SLOT: dict[int | str, dict[str, Any]] = {
    409: {"description": "the slot is taken or does not exist; `next_free` lists others"}
}


class BookIn(BaseModel):
    case_id: str = Field(min_length=1, max_length=64)
    workshop_id: str = Field(min_length=1, max_length=64)
    start_ms: int = Field(ge=0, le=MAX_MS, description="a slot start (GET …/slots)")


class MoveIn(BaseModel):
    start_ms: int = Field(ge=0, le=MAX_MS)


class AppointmentList(BaseModel):
    appointments: list[AppointmentOut]


@router.post("/appointments", response_model=AppointmentOut, status_code=201, responses=_SLOT)
def book(body: BookIn, principal: PeopleDep, desk: DeskDep) -> AppointmentOut:
    """Book a case into a workshop slot (drivers for their own cars). A taken slot, or a time
    the workshop has no slot at, answers 409 with `next_free`."""
    visible_case(desk, principal, body.case_id)
    appt, _ = desk.book(body.case_id, body.workshop_id, body.start_ms, actor(principal))
    return AppointmentOut.of(appt)


@router.get("/appointments", response_model=AppointmentList)
def list_appointments(
    principal: PeopleDep,
    desk: DeskDep,
    workshop: str | None = None,
    from_ms: int | None = Query(None, ge=0, le=MAX_MS),
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AppointmentList:
    """Booked appointments the caller may see, by start."""
    orgs = organisations(principal)
    workshops: frozenset[str] | None = None
    vins: frozenset[str] | None = None
    if principal.role is Role.DRIVER:
        vins = frozenset(principal.vins)
    elif orgs is not None:
        workshops = frozenset(w.id for w in desk.bookings.workshops(orgs))
    if workshop is not None:
        workshops = (
            frozenset({workshop}) & workshops if workshops is not None else frozenset({workshop})
        )
    found = desk.bookings.appointments(
        workshop_ids=workshops, vins=vins, from_ms=from_ms, limit=limit
    )
    return AppointmentList(appointments=[AppointmentOut.of(a) for a in found])


def _visible_appointment(desk: ServiceDesk, p: Principal, appointment_id: str) -> Appointment:
    try:
        appt = desk.bookings.appointment(appointment_id)
        visible_case(desk, p, appt.case_id)
    except NotFound:
        raise NotFound(f"no appointment {appointment_id} visible to this credential") from None
    return appt


@router.get("/appointments/{appointment_id}", response_model=AppointmentOut)
def get_appointment(appointment_id: str, principal: PeopleDep, desk: DeskDep) -> AppointmentOut:
    return AppointmentOut.of(_visible_appointment(desk, principal, appointment_id))


@router.post("/appointments/{appointment_id}/move", response_model=AppointmentOut, responses=_SLOT)
def move_appointment(
    appointment_id: str, body: MoveIn, principal: PeopleDep, desk: DeskDep
) -> AppointmentOut:
    """Move to another slot of the same workshop (409 with `next_free` if it is taken)."""
    _visible_appointment(desk, principal, appointment_id)
    return AppointmentOut.of(desk.move(appointment_id, body.start_ms, actor(principal)))


@router.delete("/appointments/{appointment_id}", response_model=AppointmentOut)
def cancel_appointment(appointment_id: str, principal: PeopleDep, desk: DeskDep) -> AppointmentOut:
    """Cancel: the slot is free again; the case goes back to triaged (or open)."""
    _visible_appointment(desk, principal, appointment_id)
    appt, _ = desk.cancel(appointment_id, actor(principal))
    return AppointmentOut.of(appt)
