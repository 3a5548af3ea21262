"""`volta registry migrate --from-sqlite DIR`: an embedded registry moved into PostgreSQL keeps
every vehicle (with its name, plate, group), token, user, assignment, audit entry and logged
alert working as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from volta.cli import _register_all, app
from volta.errors import AuthError
from volta.registry import AlertChanges, AlertFacts, AuditQuery, Role, SQLiteRegistry
from volta.registry.postgres import PostgresRegistry
from volta.registry.sqlite import KEY_FILE

from .conftest import NOW, REGISTRY_RUN

VIN, VIN2 = "JHMZZ1A1XRV000001", "JHMZZ1A1XRV000002"
PASSWORD = "correct horse battery staple"
ALERT = AlertFacts(VIN, "low_soc", "", "warning", "Vehicle.Speed", 7.5, "Battery at 7.5 %", NOW)


def test_a_copied_registry_answers_as_the_embedded_one_did(tmp_path: Path) -> None:
    embedded = SQLiteRegistry.open(tmp_path, lambda: NOW)
    vehicle = embedded.add_vehicle(VIN, "Model V", {"colour": "red"}, organisation="north").token
    embedded.add_vehicle(VIN2, name="Van 2", plate="ABC-2", group="North")
    embedded.apply_alerts(AlertChanges(raised=[ALERT]))
    [alert] = embedded.open_alerts()
    acked = embedded.acknowledge_alert(alert.id, "olga", "seen")
    operator = embedded.issue_token(Role.OPERATOR)
    revoked = embedded.issue_token(Role.OPERATOR)
    embedded.revoke(revoked.principal.credential_id)
    embedded.add_user("dana", Role.DRIVER, PASSWORD)
    embedded.assign("dana", VIN2)
    embedded.add_user("olga", Role.OPERATOR, PASSWORD)
    embedded.disable_user("olga")
    for status in (200, 403):
        embedded.record(actor="ops", role="operator", action="GET /v1/vehicles", status=status)
    before = embedded.audit(AuditQuery())
    embedded.close()

    url, schema = REGISTRY_RUN.ensure(), REGISTRY_RUN.new_schema()
    key = (tmp_path / KEY_FILE).read_bytes()
    env = {"VOLTA_REGISTRY": url, "VOLTA_REGISTRY_SCHEMA": schema,
           "VOLTA_DATA_DIR": str(tmp_path / "elsewhere")}  # fmt: skip
    _register_all()
    runner = CliRunner()
    args = ["registry", "migrate", "--from-sqlite", str(tmp_path)]
    refused = runner.invoke(app, args, env=env)  # the tokens' key not given: nothing copied
    assert refused.exit_code == 1 and str(tmp_path / KEY_FILE) in refused.output
    env["VOLTA_REGISTRY_KEY"] = key.hex()
    copied = runner.invoke(app, args, env=env)
    assert copied.exit_code == 0, copied.output
    assert '"vehicles": 2' in copied.stdout and '"audit": 2' in copied.stdout
    again = runner.invoke(app, args, env=env)
    assert again.exit_code == 1 and "not empty" in again.output

    moved = PostgresRegistry(url, key, schema=schema, clock=lambda: NOW)
    try:
        principal = moved.authenticate(vehicle.token)
        assert principal is not None and principal.vin == VIN
        assert moved.authenticate(operator.token) is not None
        assert moved.authenticate(revoked.token) is None
        assert moved.get_vehicle(VIN).attributes == {"colour": "red"}
        assert moved.get_vehicle(VIN).organisation == "north"
        dana = moved.authenticate(moved.sign_in("dana", PASSWORD).token)
        assert dana is not None and dana.vins == {VIN2}
        with pytest.raises(AuthError):
            moved.sign_in("olga", PASSWORD)
        assert moved.audit(AuditQuery()) == before
        new = moved.record(actor="ops", role="operator", action="GET /v1/users", status=200)
        assert new == max(e.id for e in before) + 1
        v2 = moved.get_vehicle(VIN2)
        assert (v2.name, v2.plate, v2.group) == ("Van 2", "ABC-2", "North")
        assert moved.open_alerts() == [acked]
        # New alerts are numbered after the copied ones.
        moved.apply_alerts(AlertChanges(cleared=[(acked.id, NOW)]))
        moved.apply_alerts(AlertChanges(raised=[ALERT]))
        assert [a.id for a in moved.open_alerts()] == [acked.id + 1]
    finally:
        moved.close()
