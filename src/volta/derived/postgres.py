"""The scale-out derived store on PostgreSQL: the processors write drives, charges and battery
health, and API processes on any machine read them, with no data dir in common.

The table lives in a schema of its own (`volta_derived` by default), so it may share a
database, even the store's, without meeting the store's tables or its `schema_migrations`.
Migrations (`volta.derived.migrations`) are applied on open by the store's runner.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec
import psycopg
from psycopg_pool import ConnectionPool

from volta.derived.store import Record, T
from volta.store import migrations
from volta.store.postgres_store import Server

__all__ = ["DEFAULT_SCHEMA", "MIGRATIONS", "PostgresDerivedStore"]

MIGRATIONS = "volta.derived.migrations"
DEFAULT_SCHEMA = "volta_derived"
_Conn = psycopg.Connection[tuple[Any, ...]]

_UPSERT = (
    "INSERT INTO derived (kind, id, vin, start_ms, end_ms, body) VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (kind, id) DO UPDATE SET vin = EXCLUDED.vin, start_ms = EXCLUDED.start_ms, "
    "end_ms = EXCLUDED.end_ms, body = EXCLUDED.body"
)


class PostgresDerivedStore:
    """`DerivedStore` on a pool of PostgreSQL connections (`url`: postgresql://…). Failures
    to reach the server are `Unavailable` with a plain reason (the store's `Server` words
    them), which the API answers with 503."""

    def __init__(
        self, url: str, *, schema: str = DEFAULT_SCHEMA, timeout: float = 5.0, pool_size: int = 4
    ) -> None:
        self.server = Server(url, schema, timeout)
        with self.server.connect() as conn:
            migrations.migrate(conn, schema, MIGRATIONS)
        self._pool: ConnectionPool[_Conn] = ConnectionPool(
            url, kwargs=self.server.kwargs, min_size=1, max_size=pool_size, timeout=timeout,
            open=False, check=ConnectionPool.check_connection,
        )  # fmt: skip
        with self.server.errors():
            self._pool.open(wait=True, timeout=timeout)

    @contextmanager
    def _conn(self) -> Iterator[_Conn]:
        with self.server.errors(), self._pool.connection() as conn:
            yield conn

    def upsert(self, kind: str, records: Sequence[Record]) -> None:
        self._write(kind, records, None)

    def replace_from(self, kind: str, vin: str, start_ms: int, records: Sequence[Record]) -> None:
        self._write(kind, records, (vin, start_ms))

    def _write(self, kind: str, records: Sequence[Record], clear: tuple[str, int] | None) -> None:
        rows = [
            (kind, r.id, r.vin, r.start_ms, r.end_ms, msgspec.msgpack.encode(r)) for r in records
        ]
        if not rows and clear is None:
            return
        with self._conn() as conn, conn.transaction():
            if clear is not None:
                conn.execute(
                    "DELETE FROM derived WHERE kind = %s AND vin = %s AND start_ms >= %s",
                    (kind, *clear),
                )
            if rows:
                with conn.cursor() as cur:
                    cur.executemany(_UPSERT, rows)

    def list(
        self,
        kind: str,
        type_: type[T],
        vin: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 100,
        before_ms: int | None = None,
    ) -> list[T]:
        sql = "SELECT body FROM derived WHERE kind = %s"
        args: list[object] = [kind]
        for cond, val in (
            ("vin = %s", vin),
            ("end_ms > %s", start_ms),
            ("start_ms < %s", end_ms),
            ("start_ms < %s", before_ms),
        ):
            if val is not None:
                sql += f" AND {cond}"
                args.append(val)
        sql += " ORDER BY start_ms DESC, id DESC LIMIT %s"
        args.append(max(0, limit))
        with self._conn() as conn:
            rows = conn.execute(sql.encode(), args).fetchall()
        return [msgspec.msgpack.decode(r[0], type=type_) for r in rows]

    def get(self, kind: str, type_: type[T], id: str) -> T | None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT body FROM derived WHERE kind = %s AND id = %s", (kind, id)
            ).fetchone()
        return None if row is None else msgspec.msgpack.decode(row[0], type=type_)

    def schema_version(self) -> int | None:
        with self._conn() as conn:
            return migrations.current_version(conn, self.server.schema)

    def close(self) -> None:
        self._pool.close()
