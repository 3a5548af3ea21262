"""OTA campaign routes.

Operators: `POST /v1/campaigns` (refused with 400 before anything starts when the filter matches
no vehicle, or the image repository lacks the version for a selected hardware variant), list,
read with progress per wave and failure reasons per hardware variant, start / pause / resume /
cancel, roll back, and the reports that were ignored. A vehicle (its own token, only its own
VIN) reports its steps; a driver accepts a soft update of their own car; the people who see a
car, and the car itself, read the updates waiting for it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from volta.api.auth import (
    OPERATOR_ONLY,
    VEHICLE_ITSELF,
    VEHICLE_READ,
    PlatformDep,
    Policy,
    allow,
)
from volta.errors import NotFound, Unavailable
from volta.ota.rollout import Policy as RolloutPolicy
from volta.ota.runner import CampaignRunner, CampaignSpec, UpdateMode, describe
from volta.ota.targeting import TargetFilter
from volta.ota.windows import MaintenanceWindow
from volta.platform import Platform
from volta.registry import Principal, Role

__all__ = ["router", "vehicle_router"]

router = APIRouter(prefix="/v1/campaigns", tags=["ota"])
vehicle_router = APIRouter(prefix="/v1/vehicles/{vin}/ota", tags=["ota"])

OperatorDep = Annotated[Principal, allow(OPERATOR_ONLY)]
DRIVER_OF_VEHICLE = Policy(frozenset({Role.DRIVER}), vin=True)

Label = Annotated[str, Field(min_length=1, max_length=64)]
CampaignId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]


def _runner(platform: Platform) -> CampaignRunner:
    if platform.campaigns is None:
        raise Unavailable(
            "this server runs no OTA campaigns: it needs the registry database, VOLTA_OTA_DIR "
            "and VOLTA_OTA_KEYS (the online keys, to sign director targets)"
        )
    return platform.campaigns


class FilterIn(BaseModel):
    """Which vehicles: every list given must contain the vehicle's value (empty: any)."""

    model_config = ConfigDict(extra="forbid")
    ecu_type: Label = Field(description="the ECU type to update: tcu, bms, ivi, adas")
    models: list[Label] = Field(default_factory=list, max_length=100)
    regions: list[Label] = Field(default_factory=list, max_length=100, description="vehicle group")
    vins: list[Annotated[str, Field(min_length=1, max_length=17)]] = Field(
        default_factory=list, max_length=100_000
    )
    hardware_variants: list[Label] = Field(default_factory=list, max_length=100)
    versions: list[Label] = Field(default_factory=list, max_length=100, description="current")
    recall_id: str | None = Field(
        None, max_length=64, description="only this recall's open vehicles"
    )


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    waves: list[float] = Field([0.01, 0.10, 0.50, 1.0], min_length=1, max_length=20)
    success_threshold: float = Field(0.95, ge=0, le=1)
    failure_threshold: float = Field(0.05, ge=0, le=1)
    install_timeout_s: int = Field(7200, ge=1, le=30 * 86_400)
    max_attempts: int = Field(3, ge=1, le=20)
    retry_base_s: int = Field(60, ge=1, le=86_400)
    retry_cap_s: int = Field(3600, ge=1, le=7 * 86_400)
    pause_after_each_wave: bool = False


class WindowIn(BaseModel):
    """When a car may install (see volta.ota.windows)."""

    model_config = ConfigDict(extra="forbid")
    parked: bool = True
    charging_above_pct: float | None = Field(None, ge=0, le=100)
    min_soc_pct: float = Field(0, ge=0, le=100)
    start_hour: int | None = Field(None, ge=0, le=23, description="local hour, e.g. 22")
    end_hour: int | None = Field(None, ge=0, le=23, description="local hour, e.g. 5")


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: Label = Field(description="the version the ECUs get")
    filter: FilterIn
    policy: PolicyIn = Field(default_factory=PolicyIn)
    mode: UpdateMode = UpdateMode.FORCED
    window: WindowIn | None = None


class WaveOut(BaseModel):
    wave: int
    share: float
    vehicles: int
    states: dict[str, int]


class CampaignOut(BaseModel):
    id: str
    ecu_type: str
    version: str
    mode: str
    phase: str
    halt_reason: str
    released_waves: int
    vehicles: int
    listed: int = Field(description="vehicles the director lists the image for now")
    waves: list[WaveOut]
    failures_by_variant: dict[str, dict[str, int]] = Field(
        description="hardware variant -> failure reason -> vehicles"
    )
    ignored_reports: int
    created_ms: int
    created_by: str
    rollback_of: str | None
    images: dict[str, str] = Field(description="hardware variant -> image path")


class CampaignList(BaseModel):
    campaigns: list[CampaignOut]


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Label = Field(description="the old software, published under a newer version")


class IgnoredOut(BaseModel):
    at_ms: int
    vin: str
    state: str
    reason: str


class IgnoredList(BaseModel):
    campaign_id: str
    reports: list[IgnoredOut]


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    campaign_id: str = Field(min_length=1, max_length=64)
    state: Literal["downloading", "installing", "succeeded", "downloaded", "failed", "rolled_back"]
    reason: str = Field("", max_length=1000)
    ecu_serial: str = Field("", max_length=64)


class ReportOut(BaseModel):
    accepted: bool
    reason: str = Field(description="why the report was recorded and ignored (empty if accepted)")


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    campaign_id: str = Field(min_length=1, max_length=64)


class PendingOut(BaseModel):
    campaign_id: str
    ecu_type: str
    version: str
    mode: str
    state: str
    listed: bool = Field(description="the director lists the image for the car now")
    consent_needed: bool
    waiting_for: str | None = Field(description="why the image is not listed yet")


class PendingList(BaseModel):
    vin: str
    updates: list[PendingOut]


def _out(d: dict[str, Any]) -> CampaignOut:
    return CampaignOut.model_validate(d)


def _spec(body: CampaignIn, platform: Platform) -> CampaignSpec:
    f, p = body.filter, body.policy
    vins = frozenset(f.vins)
    if f.recall_id is not None:
        if platform.service is None:
            raise Unavailable("this server has no service desk: recalls cannot be targeted")
        # NotFound for an unknown recall; cars already on its fixing software are done
        platform.service.sync_recall(platform.service.recalls.get(f.recall_id))
        recalled = {rv.vin for rv in platform.service.recalls.vehicles(f.recall_id, open_only=True)}
        vins = frozenset(v for v in vins if v in recalled) if vins else frozenset(recalled)
        if not vins:
            vins = frozenset({"-"})  # a recall with no open vehicle matches none
    target = TargetFilter(
        f.ecu_type, frozenset(f.models), frozenset(f.regions), vins,
        frozenset(f.hardware_variants), frozenset(f.versions),
    )  # fmt: skip
    policy = RolloutPolicy(
        tuple(p.waves), p.success_threshold, p.failure_threshold, p.install_timeout_s * 1000,
        p.max_attempts, p.retry_base_s * 1000, p.retry_cap_s * 1000, p.pause_after_each_wave,
    )  # fmt: skip
    window = MaintenanceWindow(**body.window.model_dump()) if body.window else None
    return CampaignSpec(body.id, target, body.version, policy, body.mode, window)


@router.post("", response_model=CampaignOut, status_code=201)
def create_campaign(body: CampaignIn, principal: OperatorDep, platform: PlatformDep) -> CampaignOut:
    """Plan a campaign (paused until started). 400 with the reason when its filter matches no
    vehicle, the version has no image, or a selected hardware variant has none."""
    runner = _runner(platform)
    stored = runner.create(_spec(body, platform), principal.actor)
    return _out(describe(stored))


@router.get("", response_model=CampaignList)
def list_campaigns(principal: OperatorDep, platform: PlatformDep) -> CampaignList:
    """Every campaign, newest first."""
    return CampaignList(campaigns=[_out(d) for d in _runner(platform).describe_all()])


@router.get("/{campaign_id}", response_model=CampaignOut)
def get_campaign(
    campaign_id: CampaignId, principal: OperatorDep, platform: PlatformDep
) -> CampaignOut:
    """One campaign with its progress per wave and failure reasons per hardware variant."""
    return _out(_runner(platform).progress(campaign_id))


def _action(action: str) -> Any:
    def act(campaign_id: CampaignId, principal: OperatorDep, platform: PlatformDep) -> CampaignOut:
        return _out(describe(_runner(platform).act(campaign_id, action)))

    act.__name__ = f"{action}_campaign"
    act.__doc__ = {
        "start": "Release the first wave (409 if started already).",
        "pause": "Release no more cars; cars installing finish (409 unless running).",
        "resume": "Go on after a pause (409 unless paused).",
        "cancel": "Stop for good: cars that have not started are withdrawn.",
    }[action]
    return act


for _name in ("start", "pause", "resume", "cancel"):
    router.add_api_route(
        f"/{{campaign_id}}/{_name}", _action(_name), methods=["POST"], response_model=CampaignOut
    )


@router.post("/{campaign_id}/rollback", response_model=CampaignOut, status_code=201)
def rollback_campaign(
    campaign_id: CampaignId, body: RollbackIn, principal: OperatorDep, platform: PlatformDep
) -> CampaignOut:
    """Cancel the campaign and bring the cars that installed it to `version` (the old software
    under a newer version number: cars refuse older ones) in a new, started campaign."""
    stored = _runner(platform).rollback(campaign_id, body.version, principal.actor)
    return _out(describe(stored))


@router.get("/{campaign_id}/ignored", response_model=IgnoredList)
def ignored_reports(
    campaign_id: CampaignId,
    principal: OperatorDep,
    platform: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> IgnoredList:
    """The latest reports of this campaign that were recorded and ignored, with why."""
    runner = _runner(platform)
    if runner.store is not None:
        entries = runner.store.ignored(campaign_id, limit)
    else:
        stored = runner.live.get(campaign_id)
        entries = list(stored.campaign.ignored.entries)[-limit:][::-1] if stored else []
    if not entries and campaign_id not in runner.live:
        raise NotFound(f"no campaign {campaign_id}")
    return IgnoredList(
        campaign_id=campaign_id,
        reports=[
            IgnoredOut(at_ms=e.at_ms, vin=e.vin, state=e.state, reason=e.reason) for e in entries
        ],
    )


@vehicle_router.post("/reports", response_model=ReportOut)
def report(
    vin: str,
    body: ReportIn,
    principal: Annotated[Principal, allow(VEHICLE_ITSELF)],
    platform: PlatformDep,
) -> ReportOut:
    """The car's step in a campaign. A report for an unknown campaign, or one that does not
    follow the car's state, is recorded and ignored (200, `accepted: false`, with why)."""
    accepted, why = _runner(platform).report(body.campaign_id, vin, body.state, body.reason)
    return ReportOut(accepted=accepted, reason=why)


@vehicle_router.post("/consent", response_model=PendingList)
def consent(
    vin: str,
    body: ConsentIn,
    principal: Annotated[Principal, allow(DRIVER_OF_VEHICLE)],
    platform: PlatformDep,
) -> PendingList:
    """The driver accepts a soft update for their own car (409 for a campaign that is not soft,
    404 for one the car is not in)."""
    runner = _runner(platform)
    runner.consent(body.campaign_id, vin)
    return PendingList(vin=vin, updates=[PendingOut(**u) for u in runner.for_vehicle(vin)])


@vehicle_router.get("", response_model=PendingList)
def pending(
    vin: str, principal: Annotated[Principal, allow(VEHICLE_READ)], platform: PlatformDep
) -> PendingList:
    """The updates waiting for the car: listed, or why not yet (consent, maintenance window)."""
    runner = _runner(platform)
    return PendingList(vin=vin, updates=[PendingOut(**u) for u in runner.for_vehicle(vin)])
