"""`volta doctor`: can this process reach the engines its settings name, and are they ready?

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


CHECKS: tuple[Callable[[Settings], Finding], ...] = (check_store, check_bus, check_mqtt)


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
    """Check that the store, bus and broker named by VOLTA_STORE, VOLTA_BUS and VOLTA_MQTT
    are reachable and ready; say what is wrong in plain words."""
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    findings = diagnose(Settings(**overrides))
    for f in findings:
        typer.echo(f"{'ok  ' if f.ok else 'FAIL'}  {f.component:<5}  {f.detail}")
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
