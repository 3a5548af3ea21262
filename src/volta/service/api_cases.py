"""Service case routes. Operators and technicians work cases (technicians only their
organisation's); drivers see their cars' cases and add notes. The shapes of cases and
appointments that other routes answer with live here too."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from volta.errors import Forbidden
from volta.registry import Principal, Role
from volta.service.access import (
    DeskDep,
    PeopleDep,
    StaffDep,
    VehiclePeopleDep,
    actor,
    organisations,
    sees_case,
    visible_case,
)
from volta.service.casebook import CaseQuery
from volta.service.cases import BOOKING_ONLY, TRANSITIONS, sla
from volta.service.desk import ServiceDesk
from volta.service.model import (
    AlertDetails,
    Appointment,
    Case,
    CaseEvent,
    CaseLine,
    CaseState,
)

router = APIRouter(prefix="/v1", tags=["after-sales"])
SeverityName = Literal["critical", "warning", "info"]
MAX_MS = 4_102_444_800_000  # 2100-01-01: times past it are mistakes, not appointments
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "an illegal transition (with `allowed`) or a changed case"}
}


class SlaOut(BaseModel):
    triage_due_ms: int
    repair_due_ms: int
    due_ms: int | None = Field(description="the next deadline: triage while open, then repair")
    time_to_triage_ms: int | None
    time_to_repair_ms: int | None
    overdue: list[str] = Field(description="'triage', 'repair': deadlines passed")


class CaseOut(BaseModel):
    id: str
    vin: str
    organisation: str | None
    problem_key: str
    title: str
    severity: str
    source: str
    state: CaseState
    allowed_transitions: list[str] = Field(description="states a person may move it to now")
    opened_ms: int
    opened_by: str
    updated_ms: int
    triaged_ms: int | None
    started_ms: int | None
    closed_ms: int | None
    alert_count: int
    last_alert_ms: int | None
    workshop_id: str | None
    recall_id: str | None
    remedy: str | None
    sla: SlaOut

    @classmethod
    def of(cls, c: Case, now_ms: int) -> CaseOut:
        t = sla(c, now_ms)
        return cls(
            id=c.id,
            vin=c.vin,
            organisation=c.organisation,
            problem_key=c.problem_key,
            title=c.title,
            severity=c.severity,
            source=c.source,
            state=c.state,
            allowed_transitions=[s.value for s in TRANSITIONS[c.state] if s not in BOOKING_ONLY],
            opened_ms=c.opened_ms,
            opened_by=c.opened_by,
            updated_ms=c.updated_ms,
            triaged_ms=c.triaged_ms,
            started_ms=c.started_ms,
            closed_ms=c.closed_ms,
            alert_count=c.alert_count,
            last_alert_ms=c.last_alert_ms,
            workshop_id=c.workshop_id,
            recall_id=c.recall_id,
            remedy=c.remedy,
            sla=SlaOut(
                triage_due_ms=t.triage_due_ms,
                repair_due_ms=t.repair_due_ms,
                due_ms=c.due_ms,
                time_to_triage_ms=t.time_to_triage_ms,
                time_to_repair_ms=t.time_to_repair_ms,
                overdue=list(t.overdue),
            ),
        )


class OpenedCase(CaseOut):
    attached: bool = Field(description="true: the vehicle already had this problem open")


class EventOut(BaseModel):
    id: int
    ts_ms: int
    actor: str
    role: str
    kind: str
    text: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, e: CaseEvent) -> EventOut:
        return cls(
            id=e.id,
            ts_ms=e.ts_ms,
            actor=e.actor,
            role=e.role,
            kind=e.kind,
            text=e.text,
            detail=e.detail,
        )


class LineOut(BaseModel):
    id: int
    ts_ms: int
    actor: str
    kind: str
    description: str
    part_number: str | None
    quantity: float

    @classmethod
    def of(cls, ln: CaseLine) -> LineOut:
        return cls(
            id=ln.id,
            ts_ms=ln.ts_ms,
            actor=ln.actor,
            kind=ln.kind,
            description=ln.description,
            part_number=ln.part_number,
            quantity=ln.quantity,
        )


class AppointmentOut(BaseModel):
    id: str
    case_id: str
    workshop_id: str
    vin: str
    start_ms: int
    end_ms: int
    bay: int
    state: str
    booked_by: str
    created_ms: int
    updated_ms: int

    @classmethod
    def of(cls, a: Appointment) -> AppointmentOut:
        return cls(
            id=a.id,
            case_id=a.case_id,
            workshop_id=a.workshop_id,
            vin=a.vin,
            start_ms=a.start_ms,
            end_ms=a.end_ms,
            bay=a.bay,
            state=a.state,
            booked_by=a.booked_by,
            created_ms=a.created_ms,
            updated_ms=a.updated_ms,
        )


class CaseDetail(CaseOut):
    events: list[EventOut]
    lines: list[LineOut]
    appointments: list[AppointmentOut]


class CaseList(BaseModel):
    cases: list[CaseOut]
    next_offset: int | None = Field(None, description="pass as `offset` for the next page")


def case_list(cases: list[Case], now_ms: int, next_offset: int | None = None) -> Response:
    """A CaseList answered as JSON at once: the queues are the busy lists, and FastAPI would
    validate the 50 cases a second time on the way out."""
    body = CaseList(cases=[CaseOut.of(c, now_ms) for c in cases], next_offset=next_offset)
    return Response(body.model_dump_json(), media_type="application/json")


class AlertIn(BaseModel):
    kind: str = Field(min_length=1, max_length=64)
    severity: SeverityName
    message: str = Field(min_length=1, max_length=500)
    since_ms: int = Field(ge=0, le=MAX_MS)
    signal: str | None = Field(None, max_length=200)
    value: float | str | None = None


class NewCase(BaseModel):
    vin: str = Field(min_length=17, max_length=17)
    problem_key: str = Field(
        min_length=1, max_length=130, description="e.g. 'dtc:P0A80', 'tyre_pressure:Row1.Left'"
    )
    title: str | None = Field(None, min_length=1, max_length=200, description="default: alert")
    severity: SeverityName = "warning"
    alert: AlertIn | None = Field(None, description="the alert that opens (or attaches to) it")


class TransitionIn(BaseModel):
    to: CaseState
    note: str | None = Field(None, max_length=4000)
    remedy: str | None = Field(
        None, min_length=1, max_length=100, description="the fix applied (a recall's remedy code)"
    )


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class LineIn(BaseModel):
    kind: Literal["part", "labour"]
    description: str = Field(min_length=1, max_length=500)
    quantity: float = Field(gt=0, le=10_000, description="pieces, or hours of labour")
    part_number: str | None = Field(None, min_length=1, max_length=100)


def _detail(desk: ServiceDesk, c: Case) -> CaseDetail:
    base = CaseOut.of(c, desk.now()).model_dump()
    return CaseDetail(
        **base,
        events=[EventOut.of(e) for e in desk.cases.events(c.id)],
        lines=[LineOut.of(ln) for ln in desk.cases.lines(c.id)],
        appointments=[AppointmentOut.of(a) for a in desk.bookings.appointments(case_id=c.id)],
    )


def _scoped(p: Principal, **filters: Any) -> CaseQuery:
    vins = frozenset(p.vins) if p.role is Role.DRIVER else None
    return CaseQuery(organisations=organisations(p) if vins is None else None, vins=vins, **filters)


@router.post(
    "/cases",
    response_model=OpenedCase,
    status_code=201,
    responses={200: {"description": "attached to the open case of that problem"}},
)
def open_case(body: NewCase, principal: PeopleDep, desk: DeskDep, response: Response) -> OpenedCase:
    """Open a case by hand or from an alert. One open case per vehicle and problem key: a
    repeat attaches to it (200, `attached`)."""
    if not principal.may_access(body.vin):
        raise Forbidden(f"this credential may not access vehicle {body.vin}")
    alert = None
    if body.alert is not None:
        a = body.alert
        alert = AlertDetails(a.kind, a.severity, a.message, a.since_ms, a.signal, a.value)
    title = body.title or (alert.message if alert else body.problem_key)
    case, created = desk.open_case(
        body.vin,
        body.problem_key,
        title,
        body.severity,
        actor(principal),
        source="alert" if alert else "manual",
        alert=alert,
    )
    if not created:
        response.status_code = 200
    return OpenedCase(**CaseOut.of(case, desk.now()).model_dump(), attached=not created)


@router.get("/cases", response_model=CaseList)
def list_cases(
    principal: PeopleDep,
    desk: DeskDep,
    vin: str | None = None,
    state: CaseState | None = None,
    active: bool = Query(True, description="only cases not yet closed, by SLA deadline"),
    overdue: bool = Query(False, description="only active cases past their next deadline"),
    workshop: str | None = None,
    recall: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The cases the caller may see: technicians their organisation's queue, drivers their
    cars', operators all. Active cases come in SLA order (the next deadline first)."""
    now = desk.now()
    q = _scoped(
        principal,
        vin=vin,
        state=state,
        active=active and state is None,
        overdue_at=now if overdue else None,
        workshop_id=workshop,
        recall_id=recall,
        limit=limit,
        offset=offset,
    )
    cases = desk.cases.find(q)
    nxt = offset + limit if len(cases) == limit else None
    return case_list(cases, now, nxt)


@router.get("/cases/{case_id}", response_model=CaseDetail)
def get_case(case_id: str, principal: PeopleDep, desk: DeskDep) -> CaseDetail:
    """A case with its history (who did what), lines and appointments."""
    return _detail(desk, visible_case(desk, principal, case_id))


@router.post("/cases/{case_id}/transitions", response_model=CaseOut, responses=_CONFLICT)
def transition_case(
    case_id: str, body: TransitionIn, principal: StaffDep, desk: DeskDep
) -> CaseOut:
    """Move a case. An illegal move answers 409 with the states `allowed` from here."""
    visible_case(desk, principal, case_id)
    case = desk.transition(case_id, body.to, actor(principal), body.note, body.remedy)
    return CaseOut.of(case, desk.now())


@router.post("/cases/{case_id}/notes", response_model=EventOut, status_code=201)
def add_note(case_id: str, body: NoteIn, principal: PeopleDep, desk: DeskDep) -> EventOut:
    visible_case(desk, principal, case_id)
    return EventOut.of(desk.add_note(case_id, actor(principal), body.text))


@router.post("/cases/{case_id}/lines", response_model=LineOut, status_code=201)
def add_line(case_id: str, body: LineIn, principal: StaffDep, desk: DeskDep) -> LineOut:
    """A part fitted or labour done (hours)."""
    visible_case(desk, principal, case_id)
    ln = desk.add_line(
        case_id, actor(principal), body.kind, body.description, body.quantity, body.part_number
    )
    return LineOut.of(ln)


@router.get("/vehicles/{vin}/cases", response_model=CaseList)
def vehicle_cases(
    vin: str,
    principal: VehiclePeopleDep,
    desk: DeskDep,
    active: bool = Query(True, description="only cases not yet closed"),
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """A vehicle's cases (its driver's view: what is open on my car)."""
    now = desk.now()
    cases = [
        c
        for c in desk.cases.find(CaseQuery(vin=vin, active=active, limit=limit))
        if sees_case(principal, c)
    ]
    return case_list(cases, now)
