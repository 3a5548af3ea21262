"""`volta workshops add|list|slots` and `volta notifications dead-letters|replay`: the
after-sales records an operator sets up or repairs from the command line, in the registry of
a data dir (or the PostgreSQL registry the settings name). Changes go to the audit log as done
by `cli:<login name>`, like the registry's own commands."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from volta.clock import wall_ms
from volta.errors import BadRequest, Unavailable
from volta.registry.base import Registry
from volta.registry.cli import DataDir
from volta.registry.cli import _audit as audit
from volta.registry.cli import _opened as opened
from volta.registry.sql import SqlRegistry
from volta.service.desk import ServiceDesk
from volta.service.slots import format_hours

workshops = typer.Typer(help="Service workshops: bays, opening hours, slots.", no_args_is_help=True)
notifications = typer.Typer(help="Webhook and e-mail deliveries.", no_args_is_help=True)

DEFAULT_HOURS = json.dumps({d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")})


def _desk(registry: Registry) -> ServiceDesk:
    if not isinstance(registry, SqlRegistry):
        raise Unavailable("this registry has no after-sales tables")
    return ServiceDesk(registry.database, registry, wall_ms)


@workshops.command("add")
def add_workshop(
    name: str,
    org: Annotated[str, typer.Option("--org", help="the service organisation it belongs to")],
    bays: Annotated[int, typer.Option(help="cars it can take at once")] = 1,
    slot_minutes: Annotated[int, typer.Option(help="length of a slot")] = 60,
    timezone: Annotated[str, typer.Option(help="IANA time zone of its hours")] = "UTC",
    hours: Annotated[
        str, typer.Option(help='JSON: {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], ...}')
    ] = DEFAULT_HOURS,
    data_dir: DataDir = None,
) -> None:
    """Add a workshop; print it as JSON (its id is what bookings name)."""
    with opened(data_dir) as registry:
        try:
            raw = json.loads(hours)
        except json.JSONDecodeError as e:
            raise BadRequest(f"--hours is not JSON: {e}") from None
        if not isinstance(raw, dict):
            raise BadRequest('--hours is a JSON object: {"mon": [["08:00", "17:00"]], ...}')
        ws = _desk(registry).add_workshop(name, org, bays, slot_minutes, timezone, raw)
        audit(registry, "workshops add", ws.id, organisation=org, bays=bays)
    typer.echo(json.dumps({"id": ws.id, "name": ws.name, "organisation": ws.organisation,
                           "bays": ws.bays, "slot_minutes": ws.slot_minutes,
                           "timezone": ws.timezone, "hours": format_hours(ws.hours)}))  # fmt: skip


@workshops.command("list")
def list_workshops(data_dir: DataDir = None) -> None:
    """Every workshop, one JSON object per line."""
    with opened(data_dir, create=False) as registry:
        for ws in _desk(registry).bookings.workshops():
            typer.echo(json.dumps({"id": ws.id, "name": ws.name, "organisation": ws.organisation,
                                   "bays": ws.bays, "slot_minutes": ws.slot_minutes,
                                   "timezone": ws.timezone,
                                   "hours": format_hours(ws.hours)}))  # fmt: skip


@workshops.command("slots")
def slots(workshop_id: str, limit: int = 10, data_dir: DataDir = None) -> None:
    """The next free slots of a workshop, one JSON object per line."""
    with opened(data_dir, create=False) as registry:
        desk = _desk(registry)
        ws = desk.bookings.workshop(workshop_id)
        for s in desk.bookings.free(ws, wall_ms(), limit):
            typer.echo(json.dumps({"start_ms": s.start_ms, "end_ms": s.end_ms,
                                   "free_bays": s.free_bays}))  # fmt: skip


@notifications.command("dead-letters")
def dead_letters(limit: int = 100, data_dir: DataDir = None) -> None:
    """Deliveries that failed every attempt, newest first, one JSON object per line."""
    with opened(data_dir, create=False) as registry:
        for d in _desk(registry).outbox.find("dead", limit):
            typer.echo(json.dumps({"id": d.id, "channel": d.channel, "target": d.target,
                                   "event": d.event, "attempts": d.attempts,
                                   "last_error": d.last_error}))  # fmt: skip


@notifications.command("replay")
def replay(delivery_id: str, data_dir: DataDir = None) -> None:
    """Send a dead delivery again (the running server's dispatcher picks it up)."""
    with opened(data_dir, create=False) as registry:
        d = _desk(registry).outbox.replay(delivery_id, wall_ms())
        audit(registry, "notifications replay", d.id)
    typer.echo(json.dumps({"id": d.id, "state": d.state}))


def register(app: typer.Typer) -> None:
    app.add_typer(workshops, name="workshops")
    app.add_typer(notifications, name="notifications")
