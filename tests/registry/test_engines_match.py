"""The registry's two engines are written twice (SQLite's schema and migrations, PostgreSQL's
migrations): the same tables with the same columns on both, so that a table or column added
to one dialect only fails here rather than in a deployment."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import psycopg

from volta.registry import SQLiteRegistry
from volta.registry.sqlite import DB_FILE

from .conftest import NOW, REGISTRY_RUN

# Each engine's own bookkeeping, not the registry's data.
_ENGINE_ONLY = {"schema_migrations", "sqlite_sequence"}


def _sqlite_columns(data_dir: Path) -> dict[str, set[str]]:
    SQLiteRegistry.open(data_dir, lambda: NOW).close()
    with sqlite3.connect(data_dir / DB_FILE) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            t: {r[1] for r in db.execute(f"PRAGMA table_info('{t}')")}
            for t in tables
            if t not in _ENGINE_ONLY
        }


def _postgres_columns() -> dict[str, set[str]]:
    from volta.registry.postgres import PostgresRegistry

    url, schema = REGISTRY_RUN.ensure(), REGISTRY_RUN.new_schema()
    PostgresRegistry(
        url, secrets.token_bytes(32), signing_key=secrets.token_bytes(32), schema=schema
    ).close()
    columns: dict[str, set[str]] = {}
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = %s",
            (schema,),
        ).fetchall()
    for table, column in rows:
        if table not in _ENGINE_ONLY:
            columns.setdefault(table, set()).add(column)
    return columns


def test_sqlite_and_postgresql_registries_have_the_same_tables_and_columns(
    tmp_path: Path,
) -> None:
    sqlite, postgres = _sqlite_columns(tmp_path), _postgres_columns()
    assert sorted(sqlite) == sorted(postgres)
    for table in sqlite:
        assert sqlite[table] == postgres[table], table
