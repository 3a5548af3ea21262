"""The diagnostics state on PostgreSQL (scale-out): the processors write it, the API processes
read it, and a restart on any machine goes on where the last one stopped.

The tables live in a schema of their own (`volta_diagnostics` by default), migrated on open by
the store's runner (`volta.diagnostics.migrations`).
"""

from __future__ import annotations

from collections.abc import Mapping

from volta.diagnostics import snapshot
from volta.diagnostics.store import History, Kept, Mark, Part, Record
from volta.postgres import Conn, SideTables

__all__ = ["DEFAULT_SCHEMA", "MIGRATIONS", "PostgresDiagnostics"]

MIGRATIONS = "volta.diagnostics.migrations"
DEFAULT_SCHEMA = "volta_diagnostics"

_PUT = b"""
INSERT INTO parts (vin, part, rev, body) VALUES (%s, %s, %s, %s)
ON CONFLICT (vin, part) DO UPDATE SET rev = EXCLUDED.rev, body = EXCLUDED.body
"""
_ADD = b"INSERT INTO records (kind, seq, body) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
_DROP = b"DELETE FROM records WHERE kind = %s AND seq < %s"
_MARK = b"""
INSERT INTO marks (vin, ts_ms, kind, subject, turned_on) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (vin) DO UPDATE SET ts_ms = EXCLUDED.ts_ms, kind = EXCLUDED.kind,
    subject = EXCLUDED.subject, turned_on = EXCLUDED.turned_on
"""


class PostgresDiagnostics:
    """`DiagnosticsTable` on PostgreSQL (`url`: postgresql://…); failures to reach the server
    are `Unavailable` with a plain reason."""

    def __init__(self, url: str, *, schema: str = DEFAULT_SCHEMA, timeout: float = 5.0) -> None:
        self.tables = SideTables(url, schema, MIGRATIONS, timeout=timeout, pool_size=2)

    def load(
        self, after_rev: int = 0, after: Mapping[str, int] | None = None, vin: str | None = None
    ) -> Kept:
        since = after or {}
        which = b" AND vin = %s" if vin is not None else b""
        args = (after_rev,) if vin is None else (after_rev, vin)

        def load(conn: Conn) -> Kept:
            # one moment for both tables: a save is one transaction
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                parts = conn.execute(
                    b"SELECT vin, part, rev, body FROM parts WHERE rev > %s" + which, args
                ).fetchall()
                records = []
                for kind in snapshot.RECORDS:
                    records += conn.execute(
                        "SELECT kind, seq, body FROM records WHERE kind = %s AND seq >= %s"
                        " ORDER BY seq",
                        (kind, since.get(kind, 0)),
                    ).fetchall()
            return Kept(
                [(v, p, int(r), bytes(b)) for v, p, r, b in parts],
                [(k, int(s), bytes(b)) for k, s, b in records],
            )

        return self.tables.run(load)

    def save(
        self,
        parts: list[Part],
        records: list[Record],
        rev: int,
        drop_before: Mapping[str, int] | None = None,
    ) -> None:
        rows = [(vin, part, rev, body) for vin, part, body in parts]
        drops = list((drop_before or {}).items())

        def save(conn: Conn) -> None:  # upserts and deletes: safe to run twice
            with conn.transaction(), conn.cursor() as cur:
                if rows:
                    cur.executemany(_PUT, rows)
                if records:
                    cur.executemany(_ADD, records)
                if drops:
                    cur.executemany(_DROP, drops)

        self.tables.run(save)

    def histories(self, after_rev: int) -> list[History]:
        def load(conn: Conn) -> list[History]:
            rows = conn.execute(
                "SELECT vin, rev, body FROM parts WHERE part = %s AND rev > %s",
                (snapshot.HISTORY, after_rev),
            ).fetchall()
            return [(v, int(r), bytes(b)) for v, r, b in rows]

        return self.tables.run(load)

    def marks(self) -> dict[str, Mark]:
        def load(conn: Conn) -> dict[str, Mark]:
            rows = conn.execute("SELECT vin, ts_ms, kind, subject, turned_on FROM marks")
            return {v: (int(ts), k, s, bool(on)) for v, ts, k, s, on in rows.fetchall()}

        return self.tables.run(load)

    def set_marks(self, marks: Mapping[str, Mark]) -> None:
        rows = [(vin, *m) for vin, m in marks.items()]

        def save(conn: Conn) -> None:  # upserts: safe to run twice
            if rows:
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(_MARK, rows)

        self.tables.run(save)

    def schema_version(self) -> int | None:
        return self.tables.schema_version()

    def close(self) -> None:
        self.tables.close()
