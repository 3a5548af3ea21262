"""The scale-out derived store on PostgreSQL: the processors write drives, charges and battery
health, and API processes on any machine read them, with no data dir in common.

The table lives in a schema of its own (`volta_derived` by default), so it may share a
database, even the store's, without meeting the store's tables or its `schema_migrations`.
Migrations (`volta.derived.migrations`) are applied on open by the store's runner.

Every call is ONE statement (one round trip, atomic on its own): the processors write three
kinds after every analysis run, and on a busy machine each round trip costs a wait for the
server. A replacement deletes the vehicle's records from `start_ms` on that the new ones do not
replace, and upserts the new ones, in one statement (`_WRITE`); the two touch disjoint rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from volta.derived.store import Record, T, list_query
from volta.postgres import Conn, SideTables

__all__ = ["DEFAULT_SCHEMA", "MIGRATIONS", "PostgresDerivedStore"]

MIGRATIONS = "volta.derived.migrations"
DEFAULT_SCHEMA = "volta_derived"

_WRITE = b"""
WITH new AS (
    SELECT * FROM unnest(%(ids)s::text[], %(vins)s::text[], %(starts)s::bigint[],
                         %(ends)s::bigint[], %(bodies)s::bytea[])
        AS n(id, vin, start_ms, end_ms, body)
), cleared AS (
    DELETE FROM derived d
    WHERE %(clear)s AND d.kind = %(kind)s AND d.vin = %(vin)s AND d.start_ms >= %(start)s
      AND NOT EXISTS (SELECT 1 FROM new WHERE new.id COLLATE "C" = d.id)
)
INSERT INTO derived (kind, id, vin, start_ms, end_ms, body)
SELECT %(kind)s, id, vin, start_ms, end_ms, body FROM new
ON CONFLICT (kind, id) DO UPDATE SET vin = EXCLUDED.vin, start_ms = EXCLUDED.start_ms,
    end_ms = EXCLUDED.end_ms, body = EXCLUDED.body
"""


class PostgresDerivedStore:
    """`DerivedStore` on PostgreSQL (`url`: postgresql://…); failures to reach the server are
    `Unavailable` with a plain reason, which the API answers with 503."""

    def __init__(
        self, url: str, *, schema: str = DEFAULT_SCHEMA, timeout: float = 5.0, pool_size: int = 4
    ) -> None:
        # Not flushed per commit: the processors write after every analysis run, and waiting
        # for the disk each time made them 4-5x slower than on SQLite (which syncs in WAL mode
        # only at checkpoints). What a server crash could lose is rebuilt from the store, the
        # system of record (`volta recompute`).
        self.tables = SideTables(
            url, schema, MIGRATIONS, timeout=timeout, pool_size=pool_size, flush_each_commit=False
        )

    def upsert(self, kind: str, records: Sequence[Record]) -> None:
        if records:
            self._write(kind, records, None)

    def replace_from(self, kind: str, vin: str, start_ms: int, records: Sequence[Record]) -> None:
        self._write(kind, records, (vin, start_ms))

    def _write(self, kind: str, records: Sequence[Record], clear: tuple[str, int] | None) -> None:
        last = list({r.id: r for r in records}.values())  # the last copy of an id wins
        params = {
            "kind": kind,
            "ids": [r.id for r in last],
            "vins": [r.vin for r in last],
            "starts": [r.start_ms for r in last],
            "ends": [r.end_ms for r in last],
            "bodies": [msgspec.msgpack.encode(r) for r in last],
            "clear": clear is not None,
            "vin": clear[0] if clear else "",
            "start": clear[1] if clear else 0,
        }

        def write(conn: Conn) -> None:
            conn.execute(_WRITE, params)

        self.tables.run(write)

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
        sql, args = list_query("%s", kind, vin, start_ms, end_ms, limit, before_ms)
        rows = self.tables.run(lambda conn: conn.execute(sql.encode(), args).fetchall())
        return [msgspec.msgpack.decode(r[0], type=type_) for r in rows]

    def get(self, kind: str, type_: type[T], id: str) -> T | None:
        row = self.tables.run(
            lambda conn: conn.execute(
                "SELECT body FROM derived WHERE kind = %s AND id = %s", (kind, id)
            ).fetchone()
        )
        return None if row is None else msgspec.msgpack.decode(row[0], type=type_)

    def schema_version(self) -> int | None:
        return self.tables.schema_version()

    def close(self) -> None:
        self.tables.close()
