"""Workshop routes: operators add workshops; people see those of their organisation (drivers:
of their cars' organisations), their free slots, and (staff) a workshop's case queue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from volta.service.access import (
    DeskDep,
    OperatorDep,
    PeopleDep,
    StaffDep,
    visible_workshop,
    workshop_orgs,
)
from volta.service.api_cases import MAX_MS, CaseList, case_list
from volta.service.casebook import CaseQuery
from volta.service.model import Workshop
from volta.service.slots import format_hours

router = APIRouter(prefix="/v1/workshops", tags=["after-sales"])


class WorkshopIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    organisation: str = Field(min_length=1, max_length=64, description="the service organisation")
    bays: int = Field(ge=1, le=500, description="cars it can take at once")
    slot_minutes: int = Field(60, ge=10, le=1440, description="length of a slot")
    timezone: str = Field("UTC", max_length=64, description="IANA name, e.g. Europe/Helsinki")
    hours: dict[str, list[list[str]]] = Field(
        description='weekday → [[open, close], ...] local time, e.g. {"mon": [["08:00", "17:00"]]}'
    )


class WorkshopOut(BaseModel):
    id: str
    name: str
    organisation: str
    bays: int
    slot_minutes: int
    timezone: str
    hours: dict[str, list[list[str]]]
    created_ms: int

    @classmethod
    def of(cls, w: Workshop) -> WorkshopOut:
        return cls(
            id=w.id,
            name=w.name,
            organisation=w.organisation,
            bays=w.bays,
            slot_minutes=w.slot_minutes,
            timezone=w.timezone,
            hours=format_hours(w.hours),
            created_ms=w.created_ms,
        )


class WorkshopList(BaseModel):
    workshops: list[WorkshopOut]


class SlotOut(BaseModel):
    start_ms: int
    end_ms: int
    local_start: str = Field(description="the start in the workshop's time zone (ISO 8601)")
    free_bays: int


class SlotList(BaseModel):
    workshop_id: str
    slots: list[SlotOut]


@router.post("", response_model=WorkshopOut, status_code=201)
def add_workshop(body: WorkshopIn, principal: OperatorDep, desk: DeskDep) -> WorkshopOut:
    ws = desk.add_workshop(
        body.name, body.organisation, body.bays, body.slot_minutes, body.timezone, body.hours
    )
    return WorkshopOut.of(ws)


@router.get("", response_model=WorkshopList)
def list_workshops(principal: PeopleDep, desk: DeskDep) -> WorkshopList:
    found = desk.bookings.workshops(workshop_orgs(desk, principal))
    return WorkshopList(workshops=[WorkshopOut.of(w) for w in found])


@router.get("/{workshop_id}", response_model=WorkshopOut)
def get_workshop(workshop_id: str, principal: PeopleDep, desk: DeskDep) -> WorkshopOut:
    return WorkshopOut.of(visible_workshop(desk, principal, workshop_id))


@router.get("/{workshop_id}/slots", response_model=SlotList)
def free_slots(
    workshop_id: str,
    principal: PeopleDep,
    desk: DeskDep,
    from_ms: int | None = Query(None, ge=0, le=MAX_MS, description="default: now"),
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> SlotList:
    """The next slots with a bay free."""
    ws = visible_workshop(desk, principal, workshop_id)
    tz = ZoneInfo(ws.timezone)
    slots = desk.bookings.free(ws, max(from_ms or 0, desk.now()), limit)
    return SlotList(
        workshop_id=ws.id,
        slots=[
            SlotOut(
                start_ms=s.start_ms,
                end_ms=s.end_ms,
                free_bays=s.free_bays,
                local_start=datetime.fromtimestamp(s.start_ms / 1000, tz).isoformat(),
            )
            for s in slots
        ],
    )


@router.get("/{workshop_id}/queue", response_model=CaseList)
def case_queue(
    workshop_id: str,
    principal: StaffDep,
    desk: DeskDep,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The workshop's open cases, the next SLA deadline first."""
    ws = visible_workshop(desk, principal, workshop_id)
    now = desk.now()
    q = CaseQuery(
        workshop_id=ws.id, overdue_at=now if overdue else None, limit=limit, offset=offset
    )
    cases = desk.cases.find(q)
    nxt = offset + limit if len(cases) == limit else None
    return case_list(cases, now, nxt)
