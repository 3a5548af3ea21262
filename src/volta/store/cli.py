"""`volta migrate`: bring the store's schema up to date (PostgreSQL; DuckDB migrates on open)."""

from __future__ import annotations

from typing import Annotated

import typer

from volta.errors import VoltaError

Store = Annotated[
    str | None,
    typer.Option(
        "--store", help="store URL, e.g. postgresql://volta@db:5432/volta; default: VOLTA_STORE"
    ),
]
Schema = Annotated[str, typer.Option(help="PostgreSQL schema that holds Volta's tables")]


def migrate(store: Store = None, schema: Schema = "public") -> None:
    """Apply pending schema migrations, in order, in one transaction; safe to run on every
    start and from several workers at once (they wait for each other)."""
    from volta.config import Settings
    from volta.store import migrations

    url = store or Settings().store
    if not url.startswith(("postgresql:", "postgres:")):
        typer.echo(f"{url.split(':', 1)[0]}: the embedded store migrates itself on open")
        return
    from volta.store.postgres_store import Server

    try:
        server = Server(url, schema)
        applied = server.migrate()
        version = server.version()
    except VoltaError as e:
        typer.echo(f"migrate failed: {e}", err=True)
        raise typer.Exit(1) from e
    for m in applied:
        typer.echo(f"applied {m.version:04d}_{m.name}")
    state = "current" if version == migrations.latest_version() else "not current"
    typer.echo(f"{server.where} schema {schema!r}: version {version} ({state})")


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate)
