"""Remote commands, pure: the command types, their VSS actuators, validation and the life cycle.

A command drives one or more VSS actuators: `lock` sets every door's `IsLocked` to true,
`set_charge_limit` sets `Vehicle.Powertrain.TractionBattery.Charging.ChargeLimit`, and so on
(`SPECS`). `validate` turns a request into the actuator values the vehicle must apply, each
checked by the catalog's own check of that actuator (type, range, allowed values), plus
Volta's narrower limits where VSS gives none (a cabin setpoint of 80 °C is a valid VSS float).

Life cycle: queued → delivered → succeeded | failed, and expired for a command not finished by
its `expires_ms`. The functions here take the time as an argument, so the state machine is
tested with any clock; the service (`volta.commands.service`) does the I/O around them.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from volta.catalog import Catalog
from volta.errors import BadRequest, Conflict, ValidationError

__all__ = [
    "DEFAULT_TTL_S",
    "FINAL",
    "MAX_TTL_S",
    "MIN_TTL_S",
    "SPECS",
    "AckStatus",
    "Command",
    "CommandSpec",
    "CommandState",
    "CommandType",
    "Transition",
    "Validated",
    "acknowledge",
    "deliver",
    "expire_if_due",
    "new_command",
    "validate",
]

DEFAULT_TTL_S = 300
MIN_TTL_S = 5
MAX_TTL_S = 7 * 24 * 3600


class CommandType(StrEnum):
    LOCK = "lock"
    UNLOCK = "unlock"
    CLIMATE_ON = "climate_on"
    CLIMATE_OFF = "climate_off"
    SET_CHARGE_LIMIT = "set_charge_limit"
    CHARGE_START = "charge_start"
    CHARGE_STOP = "charge_stop"
    FLASH_LIGHTS = "flash_lights"
    WAKE = "wake"


class CommandState(StrEnum):
    QUEUED = "queued"
    DELIVERED = "delivered"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"


class AckStatus(StrEnum):
    """What a vehicle may report: it received the command, or what became of it."""

    DELIVERED = "delivered"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINAL = frozenset({CommandState.SUCCEEDED, CommandState.FAILED, CommandState.EXPIRED})

_DOORS = "Vehicle.Cabin.Door."
LOCKS = tuple(
    f"{_DOORS}{row}.{side}.IsLocked"
    for row in ("Row1", "Row2")
    for side in ("DriverSide", "PassengerSide")
)
SETPOINT_DRIVER = "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature"
SETPOINT_PASSENGER = "Vehicle.Cabin.HVAC.Station.Row1.Passenger.Temperature"
FAN = "Vehicle.Cabin.HVAC.Station.Row1.Driver.FanSpeed"  # VSS: 0 = off
CHARGE_LIMIT = "Vehicle.Powertrain.TractionBattery.Charging.ChargeLimit"
START_STOP = "Vehicle.Powertrain.TractionBattery.Charging.StartStopCharging"
HAZARD = "Vehicle.Body.Lights.Hazard.IsSignaling"
CLIMATE_FAN_PCT = 60  # the blower speed a remote climate start asks for
DEFAULT_SETPOINT_C = 21.0


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """How one command type maps to actuator values.

    `value`: "none" (must be absent), "optional" (else `default`) or "required". `limits`
    narrows the actuator's VSS range for the commanded value (`primary`), where VSS has
    none or a wider one than a car accepts."""

    type: CommandType
    primary: str | None  # the actuator the value is for (None: wake drives no actuator)
    value: str
    targets: Callable[[Any], dict[str, Any]]
    default: Any = None
    limits: tuple[float, float] | None = None
    unit: str = ""


SPECS: dict[CommandType, CommandSpec] = {
    s.type: s
    for s in (
        CommandSpec(CommandType.LOCK, LOCKS[0], "none", lambda _: dict.fromkeys(LOCKS, True)),
        CommandSpec(CommandType.UNLOCK, LOCKS[0], "none", lambda _: dict.fromkeys(LOCKS, False)),
        CommandSpec(
            CommandType.CLIMATE_ON,
            SETPOINT_DRIVER,
            "optional",
            lambda t: {SETPOINT_DRIVER: t, SETPOINT_PASSENGER: t, FAN: CLIMATE_FAN_PCT},
            default=DEFAULT_SETPOINT_C,
            limits=(15.0, 30.0),
            unit="°C",
        ),
        CommandSpec(CommandType.CLIMATE_OFF, FAN, "none", lambda _: {FAN: 0}),
        CommandSpec(
            CommandType.SET_CHARGE_LIMIT,
            CHARGE_LIMIT,
            "required",
            lambda p: {CHARGE_LIMIT: p},
            # Below 50 % a car could be left unable to charge for the next trip.
            limits=(50, 100),
            unit="%",
        ),
        CommandSpec(CommandType.CHARGE_START, START_STOP, "none", lambda _: {START_STOP: "START"}),
        CommandSpec(CommandType.CHARGE_STOP, START_STOP, "none", lambda _: {START_STOP: "STOP"}),
        CommandSpec(CommandType.FLASH_LIGHTS, HAZARD, "none", lambda _: {HAZARD: True}),
        CommandSpec(CommandType.WAKE, None, "none", lambda _: {}),
    )
}


@dataclass(frozen=True, slots=True)
class Validated:
    """A request that passed validation: the value to record and the actuator values."""

    type: CommandType
    value: Any
    targets: dict[str, Any]


def _coerce(datatype: str, value: Any) -> Any:
    """JSON's numbers to the actuator's type: 80.0 means 80 for a uint8, 21 means 21.0 for a
    float. Anything else is left for the catalog's check to refuse with its reason."""
    if isinstance(value, bool):
        return value
    if datatype.startswith(("uint", "int")) and isinstance(value, float) and value.is_integer():
        return int(value)
    if datatype in ("float", "double") and isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an int beyond any float: the check says it is out of range
            return value
    return value


def validate(catalog: Catalog, type_: str, value: Any = None) -> Validated:
    """Check a command request against the actuators it drives.

    Raises `BadRequest` for an unknown type and `ValidationError` for a wrong value; both
    messages name the command, and a value's message names the VSS path."""
    try:
        ctype = CommandType(type_)
    except ValueError:
        known = ", ".join(t.value for t in CommandType)
        raise BadRequest(f"unknown command type {type_!r}; known types: {known}") from None
    spec = SPECS[ctype]
    if spec.value == "none":
        if value is not None:
            raise ValidationError(f"{ctype} takes no value, got {value!r}")
    elif value is None:
        if spec.value == "required":
            raise ValidationError(f"{ctype} needs a value for {spec.primary}")
        value = spec.default
    if spec.primary is not None and spec.value != "none":
        sig = catalog.get(spec.primary)
        value = _coerce(sig.datatype, value)
        reason = sig.check(value)
        if reason is not None:
            raise ValidationError(f"{ctype}: {reason}")
        if spec.limits is not None:
            lo, hi = spec.limits
            if not lo <= value <= hi:
                raise ValidationError(
                    f"{ctype}: {spec.primary} must be between {lo:g} and {hi:g} {spec.unit} "
                    f"for a remote command, got {value!r}"
                )
    targets = spec.targets(value)
    for path, v in targets.items():  # the actuators a vehicle will be told to set
        sig = catalog.get(path)
        if sig.kind != "actuator":
            raise ValidationError(f"{ctype}: {path} is a {sig.kind}, not an actuator")
        reason = sig.check(v)
        if reason is not None:
            raise ValidationError(f"{ctype}: {reason}")
    return Validated(ctype, value, targets)


class Transition(msgspec.Struct, frozen=True):
    """One step of a command's life: the state it entered, when (platform clock), and why."""

    state: CommandState
    at_ms: int
    reason: str | None = None


class Command(msgspec.Struct, frozen=True):
    """A command and its current state; `history` lists every transition, oldest first."""

    id: str
    vin: str
    type: CommandType
    value: Any
    targets: dict[str, Any]
    state: CommandState
    created_ms: int
    expires_ms: int
    issued_by: str  # credential id of the caller (safe to show; never the token)
    updated_ms: int
    reason: str | None = None
    history: list[Transition] = msgspec.field(default_factory=list)

    @property
    def final(self) -> bool:
        return self.state in FINAL


def new_command(
    v: Validated, vin: str, now_ms: int, ttl_s: int = DEFAULT_TTL_S, issued_by: str = ""
) -> Command:
    """A queued command with a fresh UUID, expiring `ttl_s` seconds from now."""
    if not MIN_TTL_S <= ttl_s <= MAX_TTL_S or isinstance(ttl_s, bool):
        raise ValidationError(f"ttl_s must be between {MIN_TTL_S} and {MAX_TTL_S}, got {ttl_s!r}")
    if isinstance(v.value, float) and not math.isfinite(v.value):
        raise ValidationError(f"{v.type}: value must be finite")
    return Command(
        id=str(uuid.uuid4()),
        vin=vin,
        type=v.type,
        value=v.value,
        targets=v.targets,
        state=CommandState.QUEUED,
        created_ms=now_ms,
        expires_ms=now_ms + ttl_s * 1000,
        issued_by=issued_by,
        updated_ms=now_ms,
        history=[Transition(CommandState.QUEUED, now_ms)],
    )


def _move(cmd: Command, state: CommandState, now_ms: int, reason: str | None = None) -> Command:
    return msgspec.structs.replace(
        cmd,
        state=state,
        updated_ms=now_ms,
        reason=reason if reason is not None else cmd.reason,
        history=[*cmd.history, Transition(state, now_ms, reason)],
    )


def expire_if_due(cmd: Command, now_ms: int) -> Command:
    """Expired if it is not finished by `expires_ms`; otherwise unchanged."""
    if cmd.final or now_ms < cmd.expires_ms:
        return cmd
    return _move(cmd, CommandState.EXPIRED, cmd.expires_ms, "not acknowledged before it expired")


def deliver(cmd: Command, now_ms: int) -> Command:
    """Handed to the vehicle (pulled over HTTP, or its receipt acknowledged): queued →
    delivered. Anything else is unchanged, so delivering twice is harmless."""
    cmd = expire_if_due(cmd, now_ms)
    return _move(cmd, CommandState.DELIVERED, now_ms) if cmd.state is CommandState.QUEUED else cmd


def acknowledge(cmd: Command, status: AckStatus, reason: str | None, now_ms: int) -> Command:
    """Apply a vehicle's acknowledgement.

    Idempotent: repeating the ack that finished a command (or a `delivered` after anything)
    changes nothing. Refused with `Conflict`: an ack for an expired command, or a final ack
    that contradicts the one already recorded."""
    cmd = expire_if_due(cmd, now_ms)
    if status is AckStatus.DELIVERED:
        if cmd.state is CommandState.EXPIRED:
            raise Conflict(f"command {cmd.id} expired at {cmd.expires_ms} ms; do not apply it")
        return deliver(cmd, now_ms)
    final = CommandState(status.value)
    if cmd.state is final:
        return cmd  # the same ack again (a retry after a lost answer)
    if cmd.final:
        raise Conflict(f"command {cmd.id} is already {cmd.state}; cannot become {final}")
    if final is CommandState.FAILED and not reason:
        reason = "the vehicle reported a failure without a reason"
    if cmd.state is CommandState.QUEUED:  # finished without a separate receipt
        cmd = _move(cmd, CommandState.DELIVERED, now_ms)
    return _move(cmd, final, now_ms, reason)
