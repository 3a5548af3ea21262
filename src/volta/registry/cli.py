"""`volta vehicles add|list|set|set-org`, `volta tokens create|list|revoke` and
`volta users add|list|assign|unassign|passwd|disable`: the registry of a data dir.

Passwords are read from a prompt (hidden) or, with `--password-stdin`, from standard input;
never from the command line, which other users of the machine and shell histories see. Every
change is written to the audit log as done by `cli:<login name>`.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from volta.config import Settings
from volta.errors import BadRequest, ConfigError, NotFound, VoltaError
from volta.failure import fail
from volta.registry.base import Registry
from volta.registry.engines import is_postgres, open_registry
from volta.registry.model import Role, User, Vehicle
from volta.registry.sqlite import DB_FILE

vehicles = typer.Typer(help="Registered vehicles.", no_args_is_help=True)
tokens = typer.Typer(help="API tokens.", no_args_is_help=True)
users = typer.Typer(
    help="People who sign in: operators, technicians, drivers.", no_args_is_help=True
)

NameOpt = Annotated[str | None, typer.Option(help="what people call it, e.g. 'Van 12'")]
PlateOpt = Annotated[str | None, typer.Option(help="licence plate")]
GroupOpt = Annotated[str | None, typer.Option(help="a grouping: depot, team, region")]
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="default: VOLTA_DATA_DIR or ./volta-data")
]


def _registry(data_dir: Path | None, *, create: bool) -> Registry:
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    embedded = not is_postgres(settings.registry)
    if embedded and not create and not (settings.data_dir / DB_FILE).exists():
        # A read creates nothing: a mistyped or forgotten data dir must not grow a registry
        # and keys, and an empty answer would hide where we looked.
        fail(
            NotFound(
                f"no registry in {settings.data_dir.resolve()} (no {DB_FILE}): pass --data-dir"
                " or set VOLTA_DATA_DIR; `volta vehicles add` creates one"
            )
        )
    return open_registry(settings)


@contextmanager
def _opened(data_dir: Path | None, *, create: bool = True) -> Iterator[Registry]:
    """The registry for one command, closed afterwards; a VoltaError inside ends the command
    with its JSON error on stderr and exit code 1. Without `create`, a data dir with no
    registry is such an error (commands that only read)."""
    registry = _registry(data_dir, create=create)
    try:
        yield registry
    except VoltaError as exc:
        fail(exc)
    finally:
        registry.close()


def _audit(registry: Registry, action: str, target: str | None, **detail: Any) -> None:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        login = "unknown"
    registry.record(
        actor=f"cli:{login}",
        role="cli",
        action=action,
        target=target,
        client="local",
        status=0,
        detail={k: v for k, v in detail.items() if v is not None},
    )


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _user_json(user: User) -> str:
    return json.dumps(
        {
            "id": user.id,
            "name": user.name,
            "role": user.role.value,
            "organisation": user.organisation,
            "vehicles": list(user.vins),
            "disabled_ms": user.disabled_ms,
        }
    )


@vehicles.command("add")
def add_vehicle(
    vin: str,
    model: Annotated[str | None, typer.Option(help="vehicle model")] = None,
    attributes: Annotated[str | None, typer.Option(help="JSON object of attributes")] = None,
    org: Annotated[
        str | None, typer.Option("--org", help="service organisation (its technicians see it)")
    ] = None,
    name: NameOpt = None,
    plate: PlateOpt = None,
    group: GroupOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Register a vehicle; print it with its token (shown only this once)."""
    attrs: dict[str, Any] = json.loads(attributes) if attributes else {}
    with _opened(data_dir) as registry:
        enrollment = registry.add_vehicle(
            vin, model, attrs, organisation=org, name=name, plate=plate, group=group
        )
        _audit(registry, "vehicles add", vin, organisation=org)
    token = enrollment.token
    typer.echo(
        json.dumps(
            {
                **_vehicle_json(enrollment.vehicle),
                "token": token.token,
                "credential_id": token.principal.credential_id,
            }
        )
    )


def _vehicle_json(v: Vehicle) -> dict[str, Any]:
    return {
        "vin": v.vin,
        "model": v.model,
        "name": v.name,
        "plate": v.plate,
        "group": v.group,
        "attributes": v.attributes,
        "organisation": v.organisation,
    }


@vehicles.command("list")
def list_vehicles(data_dir: DataDir = None) -> None:
    """Print every registered vehicle, one JSON object per line."""
    with _opened(data_dir, create=False) as registry:
        after: str | None = None
        while page := registry.list_vehicles(limit=1000, after=after):
            for v in page:
                typer.echo(json.dumps(_vehicle_json(v)))
            after = page[-1].vin


@vehicles.command("set")
def set_vehicle(
    vin: str,
    name: NameOpt = None,
    plate: PlateOpt = None,
    group: GroupOpt = None,
    model: Annotated[str | None, typer.Option(help="vehicle model")] = None,
    data_dir: DataDir = None,
) -> None:
    """Set what people call a vehicle (name, plate, group) or its model; "" clears one."""
    given = {"name": name, "plate": plate, "group": group, "model": model}
    fields = {k: v for k, v in given.items() if v is not None}
    if not fields:
        fail(BadRequest("nothing to set: give --name, --plate, --group or --model"))
    with _opened(data_dir) as registry:
        v = registry.update_vehicle(vin, fields)
        _audit(registry, "vehicles set", vin, **fields)
    typer.echo(json.dumps(_vehicle_json(v)))


@vehicles.command("set-org")
def set_org(
    vin: str,
    org: Annotated[str | None, typer.Argument(help="organisation; leave out for none")] = None,
    data_dir: DataDir = None,
) -> None:
    """Set which service organisation looks after a vehicle (its technicians see it)."""
    with _opened(data_dir) as registry:
        v = registry.set_organisation(vin, org)
        _audit(registry, "vehicles set-org", vin, organisation=org)
    typer.echo(json.dumps({"vin": v.vin, "organisation": v.organisation}))


@tokens.command("create")
def create_token(
    role: Annotated[Role, typer.Option(help="operator, or vehicle (with --vin)")] = Role.OPERATOR,
    vin: Annotated[str | None, typer.Option(help="the vehicle, for a vehicle token")] = None,
    data_dir: DataDir = None,
) -> None:
    """Issue a token and print it (shown only this once)."""
    with _opened(data_dir) as registry:
        issued = registry.issue_token(role, vin)
        _audit(registry, "tokens create", issued.principal.credential_id, role=role.value, vin=vin)
    p = issued.principal
    typer.echo(
        json.dumps(
            {
                "token": issued.token,
                "role": p.role.value,
                "vin": p.vin,
                "credential_id": p.credential_id,
            }
        )
    )


@tokens.command("list")
def list_tokens(data_dir: DataDir = None) -> None:
    """Print every issued token's id, role, VIN and state (never a secret), one per line."""
    with _opened(data_dir, create=False) as registry:
        after: str | None = None
        while page := registry.list_credentials(limit=1000, after=after):
            for c in page:
                typer.echo(
                    json.dumps(
                        {
                            "credential_id": c.id,
                            "role": c.role.value,
                            "vin": c.vin,
                            "created_ms": c.created_ms,
                            "revoked_ms": c.revoked_ms,
                        }
                    )
                )
            after = page[-1].id


@tokens.command("revoke")
def revoke_token(credential_id: str, data_dir: DataDir = None) -> None:
    """Revoke a token by its credential id: it stops working at once."""
    with _opened(data_dir) as registry:
        registry.revoke(credential_id)
        _audit(registry, "tokens revoke", credential_id)
    typer.echo(json.dumps({"credential_id": credential_id, "revoked": True}))


RoleOption = Annotated[Role, typer.Option(help="operator, technician or driver")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


@users.command("add")
def add_user(
    name: str,
    role: RoleOption,
    org: Annotated[
        str | None, typer.Option("--org", help="a technician's service organisation")
    ] = None,
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
) -> None:
    """Create a user who signs in with a name and password (asked for, hidden)."""
    password = _password(password_stdin)
    with _opened(data_dir) as registry:
        user = registry.add_user(name, role, password, org)
        _audit(registry, "users add", name, role=role.value, organisation=org)
    typer.echo(_user_json(user))


@users.command("list")
def list_users(data_dir: DataDir = None) -> None:
    """Print every user, one JSON object per line."""
    with _opened(data_dir, create=False) as registry:
        after: str | None = None
        while page := registry.list_users(limit=1000, after=after):
            for u in page:
                typer.echo(_user_json(u))
            after = page[-1].name


@users.command("assign")
def assign(name: str, vin: str, data_dir: DataDir = None) -> None:
    """Let a driver see a vehicle."""
    with _opened(data_dir) as registry:
        user = registry.assign(name, vin)
        _audit(registry, "users assign", name, vin=vin)
    typer.echo(_user_json(user))


@users.command("unassign")
def unassign(name: str, vin: str, data_dir: DataDir = None) -> None:
    """Take a vehicle away from a driver."""
    with _opened(data_dir) as registry:
        user = registry.unassign(name, vin)
        _audit(registry, "users unassign", name, vin=vin)
    typer.echo(_user_json(user))


@users.command("passwd")
def passwd(name: str, password_stdin: PasswordStdin = False, data_dir: DataDir = None) -> None:
    """Set a user's password."""
    password = _password(password_stdin)
    with _opened(data_dir) as registry:
        registry.set_password(name, password)
        _audit(registry, "users passwd", name)
    typer.echo(json.dumps({"name": name, "password_set": True}))


@users.command("disable")
def disable(name: str, data_dir: DataDir = None) -> None:
    """Disable a user: no more sign-ins; their current sign-in tokens stop working."""
    with _opened(data_dir) as registry:
        registry.disable_user(name)
        _audit(registry, "users disable", name)
    typer.echo(json.dumps({"name": name, "disabled": True}))


registry_app = typer.Typer(help="The registry's engine.", no_args_is_help=True)
FromSqlite = Annotated[
    Path | None,
    typer.Option(
        "--from-sqlite",
        help="a data dir whose registry.sqlite (and registry.key) to copy into PostgreSQL",
    ),
]


@registry_app.command("migrate")
def migrate_registry(from_sqlite: FromSqlite = None) -> None:
    """Bring the PostgreSQL registry (VOLTA_REGISTRY) to the current schema; with
    --from-sqlite, then copy an embedded registry into it (it must be empty). Tokens keep
    working only with the key they were made with: VOLTA_REGISTRY_KEY must hold that data
    dir's registry.key (as 64 hex digits)."""
    from volta.registry.copy import copy_registry
    from volta.registry.engines import is_postgres, registry_keys
    from volta.registry.sqlite import DB_FILE, KEY_FILE, SQLiteRegistry, load_key

    settings = Settings()
    if not is_postgres(settings.registry):
        fail(ConfigError("set VOLTA_REGISTRY=postgresql://… to the registry to migrate"))
    if from_sqlite is not None and not (from_sqlite / DB_FILE).exists():
        fail(NotFound(f"no {DB_FILE} in {from_sqlite}"))
    try:
        target = open_registry(settings)  # applies pending migrations
    except VoltaError as e:
        fail(e)
    try:
        if from_sqlite is not None:
            if registry_keys(settings)[0] != load_key(from_sqlite):
                fail(ConfigError(
                    f"the tokens in {from_sqlite} were made with {from_sqlite / KEY_FILE}: give "
                    "every process that key, VOLTA_REGISTRY_KEY=$(xxd -p -c 32 "
                    f"{from_sqlite / KEY_FILE})"
                ))  # fmt: skip
            source = SQLiteRegistry.open(from_sqlite)
            try:
                copied = copy_registry(source.database, target.database)
            except VoltaError as e:
                fail(e)
            finally:
                source.close()
            typer.echo(json.dumps({"copied": copied}))
        else:
            typer.echo(json.dumps({"migrated": True}))
    finally:
        target.close()


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")
    app.add_typer(vehicles, name="vehicles")
    app.add_typer(tokens, name="tokens")
    app.add_typer(users, name="users")
