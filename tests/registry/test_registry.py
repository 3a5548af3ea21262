"""The registry keeps vehicles and only HMACs of tokens; tokens authenticate until revoked."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volta.cli import _register_all, app
from volta.errors import BadRequest, Conflict, NotFound
from volta.registry import Registry, Role, SQLiteRegistry
from volta.registry.sqlite import DB_FILE, KEY_FILE

VIN = "JHMZZ1A1XRV000001"
VIN2 = "JHMZZ1A1XRV000002"


def test_added_vehicle_gets_a_token_that_authenticates_as_it(registry: Registry) -> None:
    enrolled = registry.add_vehicle(VIN, "Model V", {"colour": "red"})
    assert enrolled.vehicle.vin == VIN
    assert enrolled.vehicle.attributes == {"colour": "red"}
    assert enrolled.vehicle.created_ms == 1_764_201_600_000
    assert enrolled.token.token.startswith("vt_")
    principal = registry.authenticate(enrolled.token.token)
    assert principal is not None
    assert principal.role is Role.VEHICLE
    assert principal.vin == VIN
    assert registry.get_vehicle(VIN).model == "Model V"


@pytest.mark.parametrize(
    "vin",
    [
        "JHMZZ1A1XRV00000I",
        "JHMZZ1A1XRV00000O",
        "JHMZZ1A1XRV00000Q",
        "JHMZZ1A1XRV0001",
        "",
        "jhmzz1a1xrv000001",
    ],
)
def test_invalid_vin_is_refused(registry: SQLiteRegistry, vin: str) -> None:
    with pytest.raises(BadRequest, match="invalid VIN"):
        registry.add_vehicle(vin)
    assert registry.list_vehicles() == []


def test_vin_registered_twice_is_a_conflict(registry: Registry) -> None:
    registry.add_vehicle(VIN)
    with pytest.raises(Conflict):
        registry.add_vehicle(VIN)
    assert len(registry.list_vehicles()) == 1


def test_operator_token_and_unknown_or_revoked_tokens(registry: Registry) -> None:
    issued = registry.issue_token(Role.OPERATOR)
    assert issued.token.startswith("ot_")
    principal = registry.authenticate(issued.token)
    assert principal is not None and principal.role is Role.OPERATOR and principal.vin is None
    assert registry.authenticate(issued.token + "x") is None
    assert registry.authenticate("") is None
    registry.revoke(issued.principal.credential_id)
    assert registry.authenticate(issued.token) is None
    with pytest.raises(NotFound):
        registry.revoke(issued.principal.credential_id)


def test_vehicle_token_needs_a_registered_vin(registry: Registry) -> None:
    with pytest.raises(NotFound):
        registry.issue_token(Role.VEHICLE, VIN)
    with pytest.raises(BadRequest):
        registry.issue_token(Role.VEHICLE)
    with pytest.raises(BadRequest):
        registry.issue_token(Role.OPERATOR, VIN)


def test_list_vehicles_pages_by_vin(registry: Registry) -> None:
    registry.add_vehicle(VIN2)
    registry.add_vehicle(VIN)
    first = registry.list_vehicles(limit=1)
    assert [v.vin for v in first] == [VIN]
    assert [v.vin for v in registry.list_vehicles(limit=1, after=VIN)] == [VIN2]
    assert registry.has_vehicle(VIN) and not registry.has_vehicle("JHMZZ1A1XRV000009")


def test_only_hmacs_of_tokens_are_stored_and_survive_reopening(tmp_path: Path) -> None:
    registry = SQLiteRegistry.open(tmp_path)
    vehicle_token = registry.add_vehicle(VIN).token.token
    operator_token = registry.issue_token(Role.OPERATOR).token
    registry.close()
    for f in tmp_path.iterdir():
        data = f.read_bytes()
        assert vehicle_token.encode() not in data
        assert operator_token.encode() not in data
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert (tmp_path / DB_FILE).exists()
    reopened = SQLiteRegistry.open(tmp_path)
    principal = reopened.authenticate(vehicle_token)
    assert principal is not None and principal.vin == VIN
    assert reopened.authenticate(operator_token) is not None
    reopened.close()


def test_cli_adds_vehicles_and_creates_tokens(tmp_path: Path) -> None:
    _register_all()
    runner = CliRunner()
    added = runner.invoke(
        app, ["vehicles", "add", VIN, "--model", "Model V", "--data-dir", str(tmp_path)]
    )
    assert added.exit_code == 0, added.output
    vehicle = json.loads(added.stdout)
    assert vehicle["vin"] == VIN and vehicle["model"] == "Model V"
    assert vehicle["token"].startswith("vt_")

    again = runner.invoke(app, ["vehicles", "add", VIN, "--data-dir", str(tmp_path)])
    assert again.exit_code == 1
    bad = runner.invoke(app, ["vehicles", "add", "NOTAVIN", "--data-dir", str(tmp_path)])
    assert bad.exit_code == 1

    listed = runner.invoke(app, ["vehicles", "list", "--data-dir", str(tmp_path)])
    assert [json.loads(line)["vin"] for line in listed.stdout.splitlines()] == [VIN]

    created = runner.invoke(
        app, ["tokens", "create", "--role", "operator", "--data-dir", str(tmp_path)]
    )
    assert created.exit_code == 0, created.output
    token = json.loads(created.stdout)["token"]
    registry = SQLiteRegistry.open(tmp_path)
    try:
        principal = registry.authenticate(token)
        assert principal is not None and principal.role is Role.OPERATOR
        assert registry.authenticate(vehicle["token"]) is not None
    finally:
        registry.close()
