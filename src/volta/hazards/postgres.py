"""Fusion's state on PostgreSQL (scale-out): the processor that owns road sensing keeps its
candidates there, so a restart on any machine goes on where it stopped.

The tables live in a schema of their own (`volta_hazards` by default), migrated on open by the
store's runner (`volta.hazards.migrations`).
"""

from __future__ import annotations

import msgspec

from volta.hazards.model import Candidate
from volta.postgres import Conn, SideTables

__all__ = ["DEFAULT_SCHEMA", "MIGRATIONS", "PostgresHazards"]

MIGRATIONS = "volta.hazards.migrations"
DEFAULT_SCHEMA = "volta_hazards"

_PUT = b"""
INSERT INTO candidates (id, body) VALUES (%s, %s)
ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body
"""


class PostgresHazards:
    """`HazardTable` on PostgreSQL (`url`: postgresql://…); failures to reach the server are
    `Unavailable` with a plain reason."""

    def __init__(self, url: str, *, schema: str = DEFAULT_SCHEMA, timeout: float = 5.0) -> None:
        self.tables = SideTables(url, schema, MIGRATIONS, timeout=timeout, pool_size=1)

    def load(self) -> tuple[list[Candidate], int]:
        def load(conn: Conn) -> tuple[list[tuple[bytes]], int]:
            with conn.transaction():  # the candidates and the id of one moment
                rows = conn.execute("SELECT body FROM candidates ORDER BY id").fetchall()
                row = conn.execute("SELECT n FROM next_id").fetchone()
            return rows, int(row[0]) if row else 0

        rows, n = self.tables.run(load)
        return [msgspec.msgpack.decode(r[0], type=Candidate) for r in rows], n

    def save(self, changed: list[Candidate], gone: list[str], next_id: int) -> None:
        rows = [(c.hazard_id, msgspec.msgpack.encode(c)) for c in changed]

        def save(conn: Conn) -> None:  # upserts and deletes: safe to run twice
            with conn.transaction(), conn.cursor() as cur:
                if rows:
                    cur.executemany(_PUT, rows)
                if gone:
                    cur.execute("DELETE FROM candidates WHERE id = ANY(%s)", (gone,))
                cur.execute("UPDATE next_id SET n = %s", (next_id,))

        self.tables.run(save)

    def schema_version(self) -> int | None:
        return self.tables.schema_version()

    def close(self) -> None:
        self.tables.close()
