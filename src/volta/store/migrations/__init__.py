"""Schema migrations of the PostgreSQL store: versioned, forward-only SQL files.

`NNNN_name.sql` files in this package are applied in version order, all pending ones in ONE
transaction, each recorded in `schema_migrations`. A transaction-scoped advisory lock (one per
schema) serialises workers that start together: the first applies, the others wait and then
find nothing left to do. An applied file is never edited; a change is a new file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

from volta.errors import Unavailable

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")

_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available(package: str = __name__) -> list[Migration]:
    """Every migration shipped with this Volta in `package` (the store's by default; the
    registry has its own), in version order."""
    found = []
    for entry in resources.files(package).iterdir():
        m = _FILE.match(entry.name)
        if m:
            found.append(Migration(int(m[1]), m[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    return found


def latest_version(package: str = __name__) -> int:
    """The schema version this Volta expects."""
    return available(package)[-1].version


def current_version(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> int | None:
    """The highest version applied in `schema`, None if it was never migrated."""
    table = sql.Identifier(schema, "schema_migrations")
    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table.as_string(conn)]).fetchone()
    if not found or not found[0]:
        return None
    query = sql.SQL("SELECT max(version) FROM {}").format(table)
    row = conn.execute(query).fetchone()
    return None if row is None or row[0] is None else int(str(row[0]))


def migrate(
    conn: psycopg.Connection[tuple[object, ...]], schema: str, package: str = __name__
) -> list[Migration]:
    """Bring `schema` up to date with the migrations of `package`; return those applied now
    (empty if none were due).

    Refuses (`Unavailable`) a schema newer than this Volta knows: upgrade Volta first."""
    known = available(package)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"volta.migrate:{schema}"])
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(_TABLE)
        done = {int(str(r[0])) for r in conn.execute("SELECT version FROM schema_migrations")}
        newest = max(done, default=0)
        if newest > known[-1].version:
            raise Unavailable(
                f"the PostgreSQL schema {schema!r} is at version {newest}, newer than this Volta "
                f"understands ({known[-1].version}): upgrade Volta"
            )
        pending = [m for m in known if m.version not in done]
        for m in pending:
            conn.execute(m.sql.encode())  # bytes: no placeholders, several statements at once
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", [m.version, m.name]
            )
    return pending
