"""Places on PostgreSQL (scale-out): the API process writes them, the processors tag drives
and charges with them, on any machine.

The table lives in a schema of its own (`volta_places` by default), migrated on open by the
store's runner (`volta.places.migrations`). Every change bumps the `generation` row in the
change's statement; that number is the `PlaceTable` stamp, so a process re-reads the places
only after some process changed them, and a look costs one small query.
"""

from __future__ import annotations

import msgspec

from volta.places.core import Place
from volta.postgres import Conn, SideTables

__all__ = ["DEFAULT_SCHEMA", "MIGRATIONS", "PostgresPlaces"]

MIGRATIONS = "volta.places.migrations"
DEFAULT_SCHEMA = "volta_places"

# One statement each (atomic, one round trip): the change, then the generation it made.
_PUT = b"""
WITH put AS (
    INSERT INTO places (id, vin, body) VALUES (%(id)s, %(vin)s, %(body)s)
    ON CONFLICT (id) DO UPDATE SET vin = EXCLUDED.vin, body = EXCLUDED.body RETURNING 1
)
UPDATE generation SET n = n + (SELECT count(*) FROM put) RETURNING n
"""
_DELETE = b"""
WITH gone AS (DELETE FROM places WHERE id = %(id)s RETURNING body),
     bumped AS (UPDATE generation SET n = n + (SELECT count(*) FROM gone) RETURNING n)
SELECT (SELECT body FROM gone), (SELECT n FROM bumped)
"""


class PostgresPlaces:
    """`PlaceTable` on PostgreSQL (`url`: postgresql://…); failures to reach the server are
    `Unavailable` with a plain reason."""

    def __init__(self, url: str, *, schema: str = DEFAULT_SCHEMA, timeout: float = 5.0) -> None:
        self.tables = SideTables(url, schema, MIGRATIONS, timeout=timeout, pool_size=2)

    def stamp(self) -> int:
        row = self.tables.run(lambda conn: conn.execute("SELECT n FROM generation").fetchone())
        return int(row[0]) if row else 0

    def load(self) -> list[Place]:
        rows = self.tables.run(
            lambda conn: conn.execute("SELECT body FROM places ORDER BY id").fetchall()
        )
        return [msgspec.msgpack.decode(r[0], type=Place) for r in rows]

    def put(self, place: Place, seen: int) -> int:
        params = {"id": place.id, "vin": place.vin, "body": msgspec.msgpack.encode(place)}

        def put(conn: Conn) -> int:
            row = conn.execute(_PUT, params).fetchone()
            return int(row[0]) if row else seen

        return _after(seen, self.tables.run(put))

    def delete(self, place_id: str, seen: int) -> tuple[Place | None, int]:
        def delete(conn: Conn) -> tuple[bytes | None, int]:
            row = conn.execute(_DELETE, {"id": place_id}).fetchone()
            return (row[0], int(row[1])) if row else (None, seen)

        body, n = self.tables.run(delete)
        if body is None:
            return None, seen
        return msgspec.msgpack.decode(body, type=Place), _after(seen, n)

    def schema_version(self) -> int | None:
        return self.tables.schema_version()

    def close(self) -> None:
        self.tables.close()


def _after(seen: int, n: int) -> int:
    """The stamp the writer may hold after its change made generation `n`: `n` if nobody
    else changed the places since `seen`, else `seen` (it reloads at its next look)."""
    return n if n == seen + 1 else seen
