"""Users, roles and what each principal may see; the schema migration; the users CLI."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volta.cli import _register_all, app
from volta.errors import AuthError, BadRequest, Conflict, NotFound
from volta.registry import AuditQuery, Principal, Registry, Role, SQLiteRegistry
from volta.registry.sessions import SIGNING_KEY_FILE
from volta.registry.sqlite import DB_FILE, SCHEMA_VERSION

from .conftest import NOW, Opener

VIN = "JHMZZ1A1XRV000001"
VIN2 = "JHMZZ1A1XRV000002"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def registry(registry: Registry) -> Registry:
    """The engine's empty registry with two vehicles of two organisations."""
    registry.add_vehicle(VIN, organisation="north")
    registry.add_vehicle(VIN2, organisation="south")
    return registry


@pytest.mark.parametrize(
    ("role", "vin", "user_vins", "sees"),
    [
        (Role.OPERATOR, None, frozenset(), {VIN, VIN2, "ANYTHING"}),
        (Role.VEHICLE, VIN, frozenset(), {VIN}),
        (Role.DRIVER, None, frozenset({VIN2}), {VIN2}),
        (Role.TECHNICIAN, None, frozenset({VIN}), {VIN}),
        (Role.DRIVER, None, frozenset(), set()),
    ],
)
def test_may_access_answers_per_role(
    role: Role, vin: str | None, user_vins: frozenset[str], sees: set[str]
) -> None:
    p = Principal(role=role, credential_id="c", vin=vin, vins=user_vins)
    for candidate in (VIN, VIN2, "ANYTHING"):
        assert p.may_access(candidate) is (candidate in sees)


def test_a_signed_in_user_sees_by_role(registry: Registry) -> None:
    registry.add_user("tove", Role.TECHNICIAN, PASSWORD, "north")
    registry.add_user("dana", Role.DRIVER, PASSWORD)
    registry.assign("dana", VIN2)
    tove = registry.authenticate(registry.sign_in("tove", PASSWORD).token)
    dana = registry.authenticate(registry.sign_in("dana", PASSWORD).token)
    assert tove is not None and dana is not None
    assert tove.role is Role.TECHNICIAN and tove.vins == {VIN} and tove.user == "tove"
    assert dana.role is Role.DRIVER and dana.vins == {VIN2} and dana.actor == "dana"
    assert [v.vin for v in registry.visible_vehicles(dana)] == [VIN2]
    assert [v.vin for v in registry.visible_vehicles(tove, after=VIN)] == []
    # Visibility is read at each authentication: a new vehicle of the org shows at once.
    token = registry.sign_in("tove", PASSWORD).token
    registry.set_organisation(VIN2, "north")
    again = registry.authenticate(token)
    assert again is not None and again.vins == {VIN, VIN2}


def test_passwords_are_stored_as_argon2_hashes(registry: Registry) -> None:
    registry.add_user("olga", Role.OPERATOR, PASSWORD)
    with registry.database.connection() as c:  # type: ignore[attr-defined]
        (stored,) = c.one("SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(AuthError, match="invalid user name or password"):
        registry.sign_in("olga", "not the password")
    registry.set_password("olga", "a new password, long")
    with pytest.raises(AuthError):
        registry.sign_in("olga", PASSWORD)
    assert registry.sign_in("olga", "a new password, long").user.name == "olga"


@pytest.mark.parametrize(
    ("name", "role", "org", "error"),
    [
        ("bad name!", Role.DRIVER, None, BadRequest),
        ("tina", Role.TECHNICIAN, None, BadRequest),
        ("oscar", Role.OPERATOR, "north", BadRequest),
        ("vera", Role.VEHICLE, None, BadRequest),
        ("tina", Role.TECHNICIAN, "no spaces allowed", BadRequest),
    ],
)
def test_bad_users_are_refused(
    registry: Registry, name: str, role: Role, org: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        registry.add_user(name, role, PASSWORD, org)
    assert registry.list_users() == []


def test_user_names_are_unique_and_short_passwords_refused(registry: Registry) -> None:
    registry.add_user("dana", Role.DRIVER, PASSWORD)
    with pytest.raises(Conflict):
        registry.add_user("dana", Role.DRIVER, PASSWORD)
    with pytest.raises(BadRequest, match="at least 10"):
        registry.add_user("erik", Role.DRIVER, "short")
    with pytest.raises(NotFound):
        registry.assign("nobody", VIN)
    with pytest.raises(NotFound):
        registry.assign("dana", "JHMZZ1A1XRV000099")


def test_disabled_user_cannot_sign_in_and_its_tokens_stop(registry: Registry) -> None:
    registry.add_user("dana", Role.DRIVER, PASSWORD)
    token = registry.sign_in("dana", PASSWORD).token
    registry.disable_user("dana")
    with pytest.raises(AuthError, match="disabled"):
        registry.authenticate(token)
    with pytest.raises(AuthError, match="invalid user name or password"):
        registry.sign_in("dana", PASSWORD)
    with pytest.raises(NotFound):
        registry.disable_user("dana")


def test_audit_records_are_kept_and_filtered(registry: Registry) -> None:
    for i in range(3):
        registry.record(actor="olga", role="operator", action=f"POST /v1/x{i}", status=201)
    registry.record(actor="cli:root", role="cli", action="users add", target="dana", status=0)
    assert [e.action for e in registry.audit(AuditQuery(actor="olga"))] == [
        "POST /v1/x2",
        "POST /v1/x1",
        "POST /v1/x0",
    ]
    assert [e.target for e in registry.audit(AuditQuery(action="users"))] == ["dana"]
    assert registry.audit(AuditQuery(since_ms=NOW + 1)) == []
    page = registry.audit(AuditQuery(limit=2))
    assert [e.id for e in page] == [4, 3]
    assert [e.id for e in registry.audit(AuditQuery(before=page[-1].id))] == [2, 1]


def test_an_old_registry_is_migrated_forward(tmp_path: Path) -> None:
    """A data dir made before users existed (schema version 0) opens, keeps its vehicles and
    tokens, and gains users, organisations and the audit log."""
    db = sqlite3.connect(tmp_path / DB_FILE)
    db.executescript(
        """
        CREATE TABLE vehicles (vin TEXT PRIMARY KEY, model TEXT,
            attributes TEXT NOT NULL DEFAULT '{}', created_ms INTEGER NOT NULL);
        CREATE TABLE credentials (id TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL, vin TEXT REFERENCES vehicles(vin), created_ms INTEGER NOT NULL,
            revoked_ms INTEGER);
        """
    )
    db.execute("INSERT INTO vehicles VALUES (?, 'Model V', '{}', 1)", (VIN,))
    db.commit()
    db.close()
    registry = SQLiteRegistry.open(tmp_path)
    try:
        assert registry.schema_version == SCHEMA_VERSION
        assert registry.get_vehicle(VIN).organisation is None
        registry.set_organisation(VIN, "north")
        registry.add_user("tove", Role.TECHNICIAN, PASSWORD, "north")
        principal = registry.authenticate(registry.sign_in("tove", PASSWORD).token)
        assert principal is not None and principal.may_access(VIN)
    finally:
        registry.close()
    # Opening again does not migrate twice; the signing key is private to its owner.
    reopened = SQLiteRegistry.open(tmp_path)
    try:
        assert reopened.get_vehicle(VIN).organisation == "north"
    finally:
        reopened.close()
    assert stat.S_IMODE((tmp_path / SIGNING_KEY_FILE).stat().st_mode) == 0o600


def test_sessions_survive_a_restart_but_not_a_new_signing_key(tmp_path: Path) -> None:
    registry = SQLiteRegistry.open(tmp_path)
    registry.add_user("olga", Role.OPERATOR, PASSWORD)
    token = registry.sign_in("olga", PASSWORD).token
    registry.close()
    registry = SQLiteRegistry.open(tmp_path)
    assert registry.authenticate(token) is not None
    registry.close()
    (tmp_path / SIGNING_KEY_FILE).unlink()
    registry = SQLiteRegistry.open(tmp_path)
    try:
        with pytest.raises(AuthError, match="invalid token"):
            registry.authenticate(token)
    finally:
        registry.close()


def test_cli_users_never_take_a_password_on_the_command_line(tmp_path: Path) -> None:
    _register_all()
    runner = CliRunner()
    d = ["--data-dir", str(tmp_path)]
    runner.invoke(app, ["vehicles", "add", VIN, "--org", "north", *d])
    added = runner.invoke(
        app,
        ["users", "add", "dana", "--role", "driver", "--password-stdin", *d],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["role"] == "driver" and PASSWORD not in added.output
    prompted = runner.invoke(
        app,
        ["users", "add", "tove", "--role", "technician", "--org", "north", *d],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output
    assigned = runner.invoke(app, ["users", "assign", "dana", VIN, *d])
    assert assigned.exit_code == 0 and json.loads(assigned.stdout)["vehicles"] == [VIN]
    refused = runner.invoke(app, ["users", "assign", "tove", VIN, *d])
    assert refused.exit_code == 1 and "drivers" in refused.output
    listed = runner.invoke(app, ["users", "list", *d])
    assert [json.loads(line)["name"] for line in listed.stdout.splitlines()] == ["dana", "tove"]
    tokens = runner.invoke(app, ["tokens", "list", *d])
    (cred,) = [json.loads(line) for line in tokens.stdout.splitlines()]
    assert "token" not in cred
    assert runner.invoke(app, ["tokens", "revoke", cred["credential_id"], *d]).exit_code == 0
    assert runner.invoke(app, ["users", "disable", "dana", *d]).exit_code == 0
    registry = SQLiteRegistry.open(tmp_path)
    try:
        with pytest.raises(AuthError):
            registry.sign_in("dana", PASSWORD)
        assert registry.sign_in("tove", PASSWORD).user.organisation == "north"
        actions = [e.action for e in registry.audit(AuditQuery())]
        assert actions == [
            "users disable",
            "tokens revoke",
            "users assign",
            "users add",
            "users add",
            "vehicles add",
        ]
        assert all(e.actor.startswith("cli:") for e in registry.audit(AuditQuery()))
    finally:
        registry.close()


def test_a_change_made_by_another_process_applies_at_the_next_request(opener: Opener) -> None:
    """The server caches what a signed-in user sees; a change by the CLI (another connection
    to the same data) must still apply at once."""
    server, cli = opener(lambda: NOW), opener(lambda: NOW)
    server.add_vehicle(VIN)
    server.add_user("dana", Role.DRIVER, PASSWORD)
    token = server.sign_in("dana", PASSWORD).token
    before = server.authenticate(token)
    assert before is not None and before.vins == frozenset()
    assert server.authenticate(token) is before  # cached while nothing changed
    cli.assign("dana", VIN)
    after = server.authenticate(token)
    assert after is not None and after.vins == {VIN}
    cli.disable_user("dana")
    with pytest.raises(AuthError, match="disabled"):
        server.authenticate(token)
