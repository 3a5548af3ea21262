"""Validation against the VSS actuators, and the command life cycle with an injected clock."""

from __future__ import annotations

import uuid

import pytest

from volta.catalog import default_catalog
from volta.commands.model import (
    CHARGE_LIMIT,
    FAN,
    HAZARD,
    LOCKS,
    SETPOINT_DRIVER,
    START_STOP,
    AckStatus,
    Command,
    CommandState,
    acknowledge,
    deliver,
    expire_if_due,
    new_command,
    validate,
)
from volta.errors import BadRequest, Conflict, ValidationError

CAT = default_catalog()
VIN = "JHMZZ1A1XRV000001"
T0 = 1_800_000_000_000


def test_lock_and_unlock_set_every_door_actuator() -> None:
    assert validate(CAT, "lock").targets == dict.fromkeys(LOCKS, True)
    assert validate(CAT, "unlock").targets == dict.fromkeys(LOCKS, False)
    assert "Vehicle.Cabin.Door.Row1.DriverSide.IsLocked" in LOCKS
    for path in validate(CAT, "lock").targets:
        assert CAT.get(path).kind == "actuator"


def test_charge_limit_is_checked_against_the_vss_actuator() -> None:
    with pytest.raises(ValidationError, match=CHARGE_LIMIT.replace(".", r"\.")) as e:
        validate(CAT, "set_charge_limit", 150)
    assert "150" in str(e.value)
    v = validate(CAT, "set_charge_limit", 80.0)  # JSON's 80.0 is the uint8 80
    assert v.targets == {CHARGE_LIMIT: 80} and type(v.targets[CHARGE_LIMIT]) is int
    with pytest.raises(ValidationError, match="ChargeLimit"):
        validate(CAT, "set_charge_limit", 80.5)  # not an integer percent
    with pytest.raises(ValidationError, match="ChargeLimit"):
        validate(CAT, "set_charge_limit", 20)  # VSS allows it, a remote command does not
    with pytest.raises(ValidationError, match="needs a value"):
        validate(CAT, "set_charge_limit")


def test_climate_setpoint_is_bounded_and_defaults_to_21() -> None:
    assert validate(CAT, "climate_on").targets[SETPOINT_DRIVER] == 21.0
    v = validate(CAT, "climate_on", 23)
    assert v.value == 23.0 and v.targets[SETPOINT_DRIVER] == 23.0 and v.targets[FAN] > 0
    for bad in (45.0, 2.0, float("nan"), float("inf"), 10**400, -(10**400)):
        with pytest.raises(ValidationError, match=SETPOINT_DRIVER.replace(".", r"\.")):
            validate(CAT, "climate_on", bad)
    assert validate(CAT, "climate_off").targets == {FAN: 0}


def test_the_other_commands_and_their_actuators() -> None:
    assert validate(CAT, "charge_start").targets == {START_STOP: "START"}
    assert validate(CAT, "charge_stop").targets == {START_STOP: "STOP"}
    assert validate(CAT, "flash_lights").targets == {HAZARD: True}
    assert validate(CAT, "wake").targets == {}


def test_unknown_types_and_stray_values_are_refused_with_the_reason() -> None:
    with pytest.raises(BadRequest, match=r"unknown command type 'selfdestruct'.*lock"):
        validate(CAT, "selfdestruct")
    with pytest.raises(ValidationError, match="lock takes no value"):
        validate(CAT, "lock", 1)


def _cmd(ttl_s: int = 60) -> Command:
    return new_command(validate(CAT, "lock"), VIN, T0, ttl_s, "cred_x")


def test_a_new_command_is_queued_with_a_uuid_and_an_expiry() -> None:
    c = _cmd(60)
    assert uuid.UUID(c.id).version == 4
    assert c.state is CommandState.QUEUED and c.expires_ms == T0 + 60_000
    assert [h.state for h in c.history] == [CommandState.QUEUED]
    with pytest.raises(ValidationError, match="ttl_s"):
        _cmd(0)


def test_queued_delivered_succeeded() -> None:
    c = deliver(_cmd(), T0 + 1)
    assert c.state is CommandState.DELIVERED
    assert deliver(c, T0 + 2) is c  # delivering twice changes nothing
    done = acknowledge(c, AckStatus.SUCCEEDED, None, T0 + 3)
    assert done.state is CommandState.SUCCEEDED and done.final
    assert [h.state for h in done.history] == ["queued", "delivered", "succeeded"]
    assert acknowledge(done, AckStatus.SUCCEEDED, None, T0 + 4) is done  # idempotent
    assert acknowledge(done, AckStatus.DELIVERED, None, T0 + 4) is done
    with pytest.raises(Conflict, match="already succeeded"):
        acknowledge(done, AckStatus.FAILED, "jammed", T0 + 5)


def test_a_final_ack_without_receipt_passes_through_delivered() -> None:
    failed = acknowledge(_cmd(), AckStatus.FAILED, "door open", T0 + 5)
    assert failed.state is CommandState.FAILED and failed.reason == "door open"
    assert [h.state for h in failed.history] == ["queued", "delivered", "failed"]
    no_reason = acknowledge(_cmd(), AckStatus.FAILED, None, T0 + 5)
    assert no_reason.reason  # a failure always says something


def test_expiry_by_the_injected_clock() -> None:
    c = _cmd(60)
    assert expire_if_due(c, T0 + 59_999) is c
    gone = expire_if_due(c, T0 + 60_000)
    assert gone.state is CommandState.EXPIRED and gone.updated_ms == T0 + 60_000
    delivered = deliver(c, T0 + 10)
    assert expire_if_due(delivered, T0 + 61_000).state is CommandState.EXPIRED
    assert deliver(c, T0 + 61_000).state is CommandState.EXPIRED  # too late to hand out
    with pytest.raises(Conflict, match="expired"):
        acknowledge(delivered, AckStatus.SUCCEEDED, None, T0 + 61_000)
    done = acknowledge(delivered, AckStatus.SUCCEEDED, None, T0 + 30_000)
    assert expire_if_due(done, T0 + 10**9) is done  # a finished command never expires
