"""Recall and field-campaign routes: operators define a campaign by a filter, see the affected
vehicles and the progress, open the cases and remind the drivers; technicians read the
campaigns and their own organisation's vehicles in them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from volta.registry import Role
from volta.service.access import DeskDep, OperatorDep, StaffDep, actor
from volta.service.model import Recall, RecallFilter, SoftwareFix
from volta.service.recallbook import filter_to_json
from volta.service.recalls import progress

router = APIRouter(prefix="/v1/recalls", tags=["after-sales"])


class FilterIn(BaseModel):
    """Every given criterion must hold."""

    models: list[str] = Field(default_factory=list, max_length=100)
    build_from: str | None = Field(None, description="ISO date; the vehicle's build_date")
    build_to: str | None = None
    vin_from: str | None = Field(None, max_length=17)
    vin_to: str | None = Field(None, max_length=17)
    ecu: str | None = Field(None, description="whose software/hardware: 'BMS', 'Telematics'…")
    software_versions: list[str] = Field(default_factory=list, max_length=100)
    hardware_variants: list[str] = Field(default_factory=list, max_length=100)
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict)

    def model(self) -> RecallFilter:
        return RecallFilter(
            models=tuple(self.models),
            build_from=self.build_from,
            build_to=self.build_to,
            vin_from=self.vin_from,
            vin_to=self.vin_to,
            ecu=self.ecu,
            software_versions=tuple(self.software_versions),
            hardware_variants=tuple(self.hardware_variants),
            attributes=dict(self.attributes),
        )


class FixIn(BaseModel):
    """The software that fixes the recall: a vehicle reporting it (or newer) is done."""

    ecu: str = Field(min_length=1, max_length=64, description="'BMS', 'Telematics'…")
    version: str = Field(
        min_length=1, max_length=64, description="MAJOR.MINOR.PATCH[-suffix]; this or newer"
    )

    def model(self) -> SoftwareFix:
        return SoftwareFix(self.ecu, self.version)


class RecallIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)
    remedy: str = Field(
        min_length=1, max_length=100, description="the fix; a case resolved with it completes"
    )
    filter: FilterIn
    fix: FixIn | None = Field(
        None, description="software that completes a vehicle without a case, once installed"
    )


class Preview(BaseModel):
    vehicles: int
    vins: list[str]
    warnings: list[str]


class RecallOut(BaseModel):
    id: str
    title: str
    description: str
    remedy: str
    filter: FilterIn
    fix: FixIn | None
    state: str
    created_ms: int
    created_by: str
    last_reminder_ms: int | None
    vehicles: int
    completed: int
    warnings: list[str] = Field(default_factory=list)


class RecallList(BaseModel):
    recalls: list[RecallOut]


class RecallVehicleOut(BaseModel):
    vin: str
    added_ms: int
    completed_ms: int | None
    completed_via: str | None = Field(
        description="'case' (resolved with the remedy), 'software' (the fix installed) or null"
    )
    case_id: str | None
    reminders: int


class RecallVehicles(BaseModel):
    recall_id: str
    vehicles: list[RecallVehicleOut]
    next_offset: int | None = None


class ProgressOut(BaseModel):
    day_ms: int
    total: int
    completed: int
    percent: float


class ProgressList(BaseModel):
    recall_id: str
    points: list[ProgressOut]


class Count(BaseModel):
    recall_id: str
    count: int


def _out(desk_counts: tuple[int, int], r: Recall, warnings: list[str] | None = None) -> RecallOut:
    total, done = desk_counts
    return RecallOut(
        id=r.id,
        title=r.title,
        description=r.description,
        remedy=r.remedy,
        filter=FilterIn.model_validate(filter_to_json(r.filter)),
        fix=FixIn(ecu=r.fix.ecu, version=r.fix.version) if r.fix else None,
        state=r.state,
        created_ms=r.created_ms,
        created_by=r.created_by,
        last_reminder_ms=r.last_reminder_ms,
        vehicles=total,
        completed=done,
        warnings=warnings or [],
    )


@router.post("/preview", response_model=Preview)
def preview(body: FilterIn, principal: OperatorDep, desk: DeskDep) -> Preview:
    """The vehicles a filter covers now. None matching is a 200 with a warning."""
    vins, warnings = desk.preview_recall(body.model())
    return Preview(vehicles=len(vins), vins=vins, warnings=warnings)


@router.post("", response_model=RecallOut, status_code=201)
def create(body: RecallIn, principal: OperatorDep, desk: DeskDep) -> RecallOut:
    """Create a campaign; its vehicles are the filter's matches now."""
    recall, _vins, warnings = desk.create_recall(
        body.title,
        body.description,
        body.remedy,
        body.filter.model(),
        actor(principal),
        fix=body.fix.model() if body.fix else None,
    )
    return _out(desk.recalls.counts(recall.id), recall, warnings)


@router.get("", response_model=RecallList)
def list_recalls(principal: StaffDep, desk: DeskDep) -> RecallList:
    recalls = [desk.sync_recall(r) for r in desk.recalls.all()]
    return RecallList(recalls=[_out(desk.recalls.counts(r.id), r) for r in recalls])


@router.get("/{recall_id}", response_model=RecallOut)
def get_recall(recall_id: str, principal: StaffDep, desk: DeskDep) -> RecallOut:
    recall = desk.sync_recall(desk.recalls.get(recall_id))
    return _out(desk.recalls.counts(recall.id), recall)


@router.get("/{recall_id}/vehicles", response_model=RecallVehicles)
def recall_vehicles(
    recall_id: str,
    principal: StaffDep,
    desk: DeskDep,
    open_only: bool = Query(False, description="only vehicles not yet done"),
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> RecallVehicles:
    """The affected vehicles (a technician: those of their organisation) and their state."""
    desk.sync_recall(desk.recalls.get(recall_id))
    vins = frozenset(principal.vins) if principal.role is Role.TECHNICIAN else None
    rows = desk.recalls.vehicles(
        recall_id, vins=vins, open_only=open_only, limit=limit, offset=offset
    )
    return RecallVehicles(
        recall_id=recall_id,
        vehicles=[
            RecallVehicleOut(
                vin=r.vin,
                added_ms=r.added_ms,
                completed_ms=r.completed_ms,
                completed_via=r.completed_via,
                case_id=r.case_id,
                reminders=r.reminders,
            )
            for r in rows
        ],
        next_offset=offset + limit if len(rows) == limit else None,
    )


@router.get("/{recall_id}/progress", response_model=ProgressList)
def recall_progress(recall_id: str, principal: StaffDep, desk: DeskDep) -> ProgressList:
    """Vehicles done per day since the campaign started."""
    recall = desk.sync_recall(desk.recalls.get(recall_id))
    points = progress(desk.recalls.vehicles(recall_id), recall.created_ms, desk.now())
    return ProgressList(
        recall_id=recall_id,
        points=[
            ProgressOut(
                day_ms=p.day_ms, total=p.total, completed=p.completed, percent=round(p.percent, 2)
            )
            for p in points
        ],
    )


@router.post("/{recall_id}/cases", response_model=Count)
def open_cases(recall_id: str, principal: OperatorDep, desk: DeskDep) -> Count:
    """Open a `recall:<id>` case for every vehicle not yet done (once)."""
    return Count(recall_id=recall_id, count=desk.open_recall_cases(recall_id, actor(principal)))


@router.post("/{recall_id}/reminders", response_model=Count)
def remind(recall_id: str, principal: OperatorDep, desk: DeskDep) -> Count:
    """Notify the drivers (and subscribers) of every vehicle not yet done."""
    return Count(recall_id=recall_id, count=desk.remind(recall_id))
