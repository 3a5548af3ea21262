"""`volta vehicles add|list` and `volta tokens create`: the registry of a data dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from volta.config import Settings
from volta.errors import VoltaError
from volta.registry.model import Role
from volta.registry.sqlite import SQLiteRegistry

vehicles = typer.Typer(help="Registered vehicles.", no_args_is_help=True)
tokens = typer.Typer(help="API tokens.", no_args_is_help=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="default: VOLTA_DATA_DIR or ./volta-data")
]


def _registry(data_dir: Path | None) -> SQLiteRegistry:
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    return SQLiteRegistry.open(settings.data_dir)


def _fail(exc: VoltaError) -> None:
    typer.echo(json.dumps({"error": type(exc).__name__, "message": str(exc)}), err=True)
    raise typer.Exit(1)


@vehicles.command("add")
def add_vehicle(
    vin: str,
    model: Annotated[str | None, typer.Option(help="vehicle model")] = None,
    attributes: Annotated[str | None, typer.Option(help="JSON object of attributes")] = None,
    data_dir: DataDir = None,
) -> None:
    """Register a vehicle; print it with its token (shown only this once)."""
    attrs: dict[str, Any] = json.loads(attributes) if attributes else {}
    registry = _registry(data_dir)
    try:
        enrollment = registry.add_vehicle(vin, model, attrs)
    except VoltaError as exc:
        _fail(exc)
        return
    finally:
        registry.close()
    v = enrollment.vehicle
    typer.echo(
        json.dumps(
            {
                "vin": v.vin,
                "model": v.model,
                "attributes": v.attributes,
                "token": enrollment.token.token,
                "credential_id": enrollment.token.principal.credential_id,
            }
        )
    )


@vehicles.command("list")
def list_vehicles(data_dir: DataDir = None) -> None:
    """Print every registered vehicle, one JSON object per line."""
    registry = _registry(data_dir)
    try:
        after: str | None = None
        while page := registry.list_vehicles(limit=1000, after=after):
            for v in page:
                typer.echo(json.dumps({"vin": v.vin, "model": v.model, "attributes": v.attributes}))
            after = page[-1].vin
    finally:
        registry.close()


@tokens.command("create")
def create_token(
    role: Annotated[Role, typer.Option(help="operator, or vehicle (with --vin)")] = Role.OPERATOR,
    vin: Annotated[str | None, typer.Option(help="the vehicle, for a vehicle token")] = None,
    data_dir: DataDir = None,
) -> None:
    """Issue a token and print it (shown only this once)."""
    registry = _registry(data_dir)
    try:
        issued = registry.issue_token(role, vin)
    except VoltaError as exc:
        _fail(exc)
        return
    finally:
        registry.close()
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


def register(app: typer.Typer) -> None:
    app.add_typer(vehicles, name="vehicles")
    app.add_typer(tokens, name="tokens")
