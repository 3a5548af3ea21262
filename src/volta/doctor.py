"""`volta doctor`: can this process reach the engines its settings name, and are they ready?
And where does each part live: in this data dir (a disk the processes that use it must share)
or on a server (PostgreSQL, NATS, the broker)?

Each check answers one line: what was checked, and either what is fine or what is wrong and
what to do, in plain words. The exit code is 1 when any check failed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from volta.config import Settings
from volta.errors import VoltaError


@dataclass(frozen=True, slots=True)
class Finding:
    component: str
    ok: bool
    detail: str


def check_store(settings: Settings) -> Finding:
    """Open the store (which migrates the embedded one) and compare schema versions."""
    if settings.store == "duckdb":
        path = settings.duckdb_path.resolve()
        if not path.exists():
            return Finding("store", True, f"DuckDB at {path}: not created yet (made on start)")
        held = _duckdb_held(path)
        if held:
            return Finding("store", False, held)
        return Finding("store", True, f"DuckDB at {path}: present (schema checked on open)")
    if not settings.store.startswith(("postgresql:", "postgres:")):
        scheme = settings.store.split(":", 1)[0]
        return Finding("store", False, f"unknown store engine {scheme!r}: use duckdb or postgresql")
    from volta.store import migrations
    from volta.store.postgres_store import Server

    server = Server(settings.store)
    version = server.version()
    want = migrations.latest_version()
    if version is None:
        return Finding("store", False, f"{server.where}: no Volta schema yet: run `volta migrate`")
    if version < want:
        return Finding(
            "store", False, f"{server.where}: schema {version}, need {want}: run `volta migrate`"
        )
    if version > want:
        return Finding(
            "store", False, f"{server.where}: schema {version} is newer than this Volta: upgrade"
        )
    return Finding("store", True, f"{server.where}: schema version {version} (current)")


def _duckdb_held(path: Path) -> str | None:
    """Why this process cannot open the DuckDB file (another process holds it: DuckDB lets
    one process write a file), or None. Opened read-only, so the check changes nothing."""
    import duckdb

    from volta.store.duckdb_store import open_error

    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as e:
        return open_error(path, e)
    return None


def check_registry(settings: Settings) -> Finding:
    """Where the vehicles, users, tokens and audit log live, and where their keys come from."""
    from volta.registry.sqlite import DB_FILE

    if settings.registry == "sqlite":
        return _in_data_dir(
            "registry",
            settings,
            DB_FILE,
            "the API and every gateway worker read it; "
            "VOLTA_REGISTRY=postgresql://… for no shared disk",
        )
    from volta.registry.engines import is_postgres

    if not is_postgres(settings.registry):
        scheme = settings.registry.split(":", 1)[0]
        return Finding(
            "registry", False, f"unknown registry engine {scheme!r}: sqlite or postgresql"
        )
    given = settings.registry_key is not None and settings.session_key is not None
    keys = (
        "keys from VOLTA_REGISTRY_KEY and VOLTA_SESSION_KEY"
        if given
        else "keys from registry.key and jwt.key in the data dir (right for one API process; "
        "give every process VOLTA_REGISTRY_KEY and VOLTA_SESSION_KEY)"
    )
    found = _postgres_schema(
        "registry",
        settings,
        settings.registry,
        settings.registry_schema,
        "volta.registry.migrations",
    )
    return Finding("registry", found.ok, f"{found.detail}; {keys}")


def _side_store(
    name: str, settings: Settings, url: str, env: str, schema: str, db_file: str, role: str
) -> Finding:
    """A store in the data dir (SQLite `db_file`) by default, or in a PostgreSQL schema when
    `env` names a server (migrations `volta.<name>.migrations`); `role`: who writes, who reads."""
    from volta.derived.engines import postgres_url

    if not postgres_url(url, env):
        return _in_data_dir(
            name, settings, db_file, f"{role}; {env}=postgresql://… for no shared disk"
        )
    return _postgres_schema(name, settings, url, schema, f"volta.{name}.migrations")


def check_derived(settings: Settings) -> Finding:
    """Where the processors write drives, charges and battery health for the API to read."""
    from volta.derived.store import DB_FILE

    return _side_store(
        "derived", settings, settings.derived, "VOLTA_DERIVED", settings.derived_schema, DB_FILE,
        "the processors write it and the API reads it",
    )  # fmt: skip


def check_places(settings: Settings) -> Finding:
    """Where places and tariffs live: the API writes them, the processors tag with them."""
    from volta.places.store import DB_FILE

    return _side_store(
        "places", settings, settings.places, "VOLTA_PLACES", settings.places_schema, DB_FILE,
        "the API writes them and the processors read them",
    )  # fmt: skip


def check_hazards(settings: Settings) -> Finding:
    """Road sensing's kept state: the process that owns the hazards writes it, and loads it
    back at each start."""
    from volta.hazards.store import DB_FILE

    return _side_store(
        "hazards", settings, settings.hazards, "VOLTA_HAZARDS", settings.hazards_schema, DB_FILE,
        "the road-sensing owner's",
    )  # fmt: skip


def check_diagnostics(settings: Settings) -> Finding:
    """Where after-sales diagnostics keep their state: the process that follows them (the
    embedded one, or `volta processors`) writes it and loads it back at each start; a
    scale-out API process reads it."""
    from volta.diagnostics.store import DB_FILE

    return _side_store(
        "diagnostics", settings, settings.diagnostics, "VOLTA_DIAGNOSTICS",
        settings.diagnostics_schema, DB_FILE,
        "written by the process that runs diagnostics, the embedded one or the processors, "
        "and read by the API",
    )  # fmt: skip


def check_commands(settings: Settings) -> Finding:
    """Remote commands: the API process's own file (no other process reads it)."""
    from volta.commands.store import DB_FILE

    return _in_data_dir("commands", settings, DB_FILE, "the API process's own")


def _in_data_dir(component: str, settings: Settings, name: str, who: str) -> Finding:
    path = (settings.data_dir / name).resolve()
    state = "present" if path.exists() else "not created yet"
    return Finding(component, True, f"SQLite at {path} ({state}; in the data dir: {who})")


def _postgres_schema(
    component: str, settings: Settings, url: str, schema: str, package: str
) -> Finding:
    """A PostgreSQL schema that Volta migrates on open: reachable, and not newer than this
    Volta (older or missing is fine: the first process to open it migrates it)."""
    from volta.store import migrations
    from volta.store.postgres_store import Server

    server = Server(url, schema, settings.store_timeout_s)
    with server.connect() as conn:
        version = migrations.current_version(conn, schema)
    want = migrations.latest_version(package)
    where = f"{server.where}, schema {schema}"
    if version is None:
        return Finding(component, True, f"{where}: not created yet (made on first open)")
    if version > want:
        return Finding(component, False, f"{where}: version {version} is newer than this Volta")
    if version < want:
        return Finding(component, True, f"{where}: version {version}, migrated to {want} on open")
    return Finding(component, True, f"{where}: version {version} (current)")


def check_bus(settings: Settings) -> Finding:
    """Connect to the bus and make sure its stream exists."""
    if settings.bus == "memory":
        return Finding("bus", True, "in-process (memory): nothing to reach")
    from volta.bus import open_bus
    from volta.bus.nats_bus import NatsBus

    bus = open_bus(settings)
    try:
        if isinstance(bus, NatsBus):
            return Finding("bus", True, f"{bus.where}: JetStream stream {bus.stream!r} ready")
        return Finding("bus", True, f"{settings.bus.split('@')[-1]}: connected")
    finally:
        bus.close()


def check_mqtt(settings: Settings) -> Finding:
    """A TCP connection to the broker (authentication is the gateway's own check)."""
    if not settings.mqtt:
        return Finding("mqtt", True, "off (HTTP ingest only)")
    parts = urlsplit(settings.mqtt)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    try:
        with socket.create_connection((host, port), timeout=3):
            return Finding("mqtt", True, f"broker at {host}:{port} accepts connections")
    except OSError as e:
        return Finding("mqtt", False, f"broker at {host}:{port} is unreachable: {e.strerror or e}")


CHECKS: tuple[Callable[[Settings], Finding], ...] = (
    check_store,
    check_registry,
    check_derived,
    check_places,
    check_hazards,
    check_diagnostics,
    check_commands,
    check_bus,
    check_mqtt,
)


def diagnose(settings: Settings) -> list[Finding]:
    """Run every check; an engine error becomes a failed finding, not an exception."""
    findings = []
    for check in CHECKS:
        component = check.__name__.removeprefix("check_")
        try:
            findings.append(check(settings))
        except VoltaError as e:
            findings.append(Finding(component, False, str(e)))
    return findings


def doctor(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="default: VOLTA_DATA_DIR or ./volta-data")
    ] = None,
) -> None:
    """Check that the store, registry, derived store, places, bus and broker the settings
    name are reachable and ready, and say where each lives (the data dir or a server); say
    what is wrong in plain words."""
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    findings = diagnose(Settings(**overrides))
    for f in findings:
        typer.echo(f"{'ok  ' if f.ok else 'FAIL'}  {f.component:<8}  {f.detail}")
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
