"""Places on PostgreSQL (scale-out): the API process writes them, the processors tag drives
and charges with them, on any machine.

The table lives in a schema of its own (`volta_places` by default), migrated on open by the
store's runner (`volta.places.migrations`). Every change bumps the `generation` row in the
change's transaction; that number is the `PlaceTable` stamp, so a process re-reads the places
only after some process changed them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import psycopg
from psycopg_pool import ConnectionPool

from volta.places.core import Place
from volta.store import migrations
from volta.store.postgres_store import Server

__all__ = ["DEFAULT_SCHEMA", "MIGRATIONS", "PostgresPlaces"]

MIGRATIONS = "volta.places.migrations"
DEFAULT_SCHEMA = "volta_places"
_Conn = psycopg.Connection[tuple[Any, ...]]
_BUMP = "UPDATE generation SET n = n + 1 RETURNING n"


class PostgresPlaces:
    """`PlaceTable` on a small pool of PostgreSQL connections (`url`: postgresql://…);
    failures to reach the server are `Unavailable` with a plain reason."""

    def __init__(self, url: str, *, schema: str = DEFAULT_SCHEMA, timeout: float = 5.0) -> None:
        self.server = Server(url, schema, timeout)
        with self.server.connect() as conn:
            migrations.migrate(conn, schema, MIGRATIONS)
        self._pool: ConnectionPool[_Conn] = ConnectionPool(
            url, kwargs=self.server.kwargs, min_size=1, max_size=2, timeout=timeout,
            open=False, check=ConnectionPool.check_connection,
        )  # fmt: skip
        with self.server.errors():
            self._pool.open(wait=True, timeout=timeout)

    @contextmanager
    def _conn(self) -> Iterator[_Conn]:
        with self.server.errors(), self._pool.connection() as conn:
            yield conn

    def stamp(self) -> int:
        with self._conn() as conn:
            row = conn.execute("SELECT n FROM generation").fetchone()
        return int(row[0]) if row else 0

    def load(self) -> list[Place]:
        with self._conn() as conn:
            rows = conn.execute("SELECT body FROM places ORDER BY id").fetchall()
        return [msgspec.msgpack.decode(r[0], type=Place) for r in rows]

    def put(self, place: Place, seen: int) -> int:
        with self._conn() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO places (id, vin, body) VALUES (%s, %s, %s) ON CONFLICT (id) "
                "DO UPDATE SET vin = EXCLUDED.vin, body = EXCLUDED.body",
                (place.id, place.vin, msgspec.msgpack.encode(place)),
            )
            return _after(conn, seen)

    def delete(self, place_id: str, seen: int) -> tuple[Place | None, int]:
        with self._conn() as conn, conn.transaction():
            row = conn.execute(
                "DELETE FROM places WHERE id = %s RETURNING body", (place_id,)
            ).fetchone()
            if row is None:
                return None, seen
            return msgspec.msgpack.decode(row[0], type=Place), _after(conn, seen)

    def schema_version(self) -> int | None:
        with self._conn() as conn:
            return migrations.current_version(conn, self.server.schema)

    def close(self) -> None:
        self._pool.close()


def _after(conn: _Conn, seen: int) -> int:
    """Bump the generation; the caller may hold the new one only if nobody else changed the
    places since `seen` (else it keeps `seen` and reloads at its next look)."""
    row = conn.execute(_BUMP).fetchone()
    n = int(row[0]) if row else seen
    return n if n == seen + 1 else seen
