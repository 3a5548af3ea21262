"""Remote command routes: issue and follow commands (people who may see the vehicle:
operators, technicians, its drivers), pull and acknowledge them (the vehicle itself, with its
own token). A vehicle token never issues a command, not even to itself."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from volta.api.auth import CommanderDep, PlatformDep, ReaderDep, VehicleItselfDep
from volta.commands.model import DEFAULT_TTL_S, MAX_TTL_S, MIN_TTL_S, Command
from volta.commands.service import CommandService, to_message
from volta.errors import Unavailable

router = APIRouter(prefix="/v1/vehicles/{vin}/commands", tags=["commands"])

CommandTypeName = Literal[
    "lock",
    "unlock",
    "climate_on",
    "climate_off",
    "set_charge_limit",
    "charge_start",
    "charge_stop",
    "flash_lights",
    "wake",
]


def _service(platform: PlatformDep) -> CommandService:
    service: CommandService | None = getattr(platform, "commands", None)
    if service is None:
        raise Unavailable("remote commands are not enabled on this platform")
    return service


ServiceDep = Annotated[CommandService, Depends(_service)]


class NewCommand(BaseModel):
    type: CommandTypeName = Field(description="what to do; see docs/commands.md")
    value: float | int | None = Field(
        None,
        description="climate_on: target °C (15–30, default 21); set_charge_limit: percent "
        "(50–100); absent for the others",
    )
    ttl_s: int = Field(
        DEFAULT_TTL_S,
        ge=MIN_TTL_S,
        le=MAX_TTL_S,
        description="seconds until the command expires if the vehicle has not finished it",
    )


class TransitionOut(BaseModel):
    state: str
    at_ms: int
    reason: str | None = None


class CommandOut(BaseModel):
    id: str
    vin: str
    type: str
    value: Any = None
    targets: dict[str, Any] = Field(description="the VSS actuators it sets, and their values")
    state: Literal["queued", "delivered", "succeeded", "failed", "expired"]
    created_ms: int
    expires_ms: int
    updated_ms: int
    issued_by: str
    reason: str | None = None
    history: list[TransitionOut]

    @classmethod
    def of(cls, cmd: Command) -> CommandOut:
        return cls.model_validate(msgspec.to_builtins(cmd))


class CommandList(BaseModel):
    commands: list[CommandOut]
    next_before: str | None = Field(None, description="pass as `before` for the next page")


class PendingCommand(BaseModel):
    """What a vehicle receives (the same fields as the MQTT message)."""

    v: int = 1
    id: str
    vin: str
    type: str
    value: Any = None
    targets: dict[str, Any]
    issued_ms: int
    expires_ms: int


class PendingList(BaseModel):
    commands: list[PendingCommand]


class AckIn(BaseModel):
    status: Literal["delivered", "succeeded", "failed"]
    reason: str | None = Field(None, max_length=500)
    ts: int | None = Field(None, description="the vehicle's clock, ms; for the record only")


@router.post("", response_model=CommandOut, status_code=202)
def issue_command(
    vin: str, body: NewCommand, principal: CommanderDep, service: ServiceDep
) -> CommandOut:
    cmd = service.issue(vin, body.type, body.value, body.ttl_s, principal.credential_id)
    return CommandOut.of(cmd)


@router.get("", response_model=CommandList)
def list_commands(
    vin: str,
    principal: ReaderDep,
    service: ServiceDep,
    limit: int = Query(50, ge=1, le=1000),
    before: str | None = Query(None, description="id of the last command of the previous page"),
) -> CommandList:
    cmds = service.page(vin, limit, before)
    next_before = cmds[-1].id if len(cmds) == limit else None
    return CommandList(commands=[CommandOut.of(c) for c in cmds], next_before=next_before)


@router.get("/pending", response_model=PendingList)
def pending_commands(vin: str, principal: VehicleItselfDep, service: ServiceDep) -> PendingList:
    return PendingList(
        commands=[
            PendingCommand.model_validate(msgspec.to_builtins(to_message(c)))
            for c in service.pending(vin)
        ]
    )


@router.get("/{id}", response_model=CommandOut)
def get_command(vin: str, id: str, principal: ReaderDep, service: ServiceDep) -> CommandOut:
    return CommandOut.of(service.get(vin, id))


@router.post("/{id}/ack", response_model=CommandOut)
def ack_command(
    vin: str, id: str, body: AckIn, principal: VehicleItselfDep, service: ServiceDep
) -> CommandOut:
    return CommandOut.of(service.ack(vin, id, body.status, body.reason))
