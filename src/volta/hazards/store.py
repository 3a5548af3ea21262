"""Where fusion's state is kept across restarts: a `HazardTable`.

The candidate hazards (confirmed ones and those still gathering reports toward k cars) and
the next hazard id sit in `hazards.sqlite` in the data dir (embedded) or on PostgreSQL
(`volta.hazards.postgres`, scale-out); `open_hazard_table` picks by the settings. Only what
changed is written (`Fusion.changes`), every few seconds and at a clean stop
(`volta.hazards.follow`); a restarted process loads it all back before its first report.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from volta.config import Settings
from volta.hazards.model import Candidate
from volta.sqlite import SQLiteFile, transaction

__all__ = ["DB_FILE", "HazardTable", "SQLiteHazards", "open_hazard_table"]

DB_FILE = "hazards.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS candidates (id TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS next_id (n INTEGER NOT NULL);
INSERT INTO next_id SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM next_id);
"""


class HazardTable(Protocol):
    """Fusion's candidates and next id, kept for the next start of road sensing."""

    def load(self) -> tuple[list[Candidate], int]:
        """Every candidate kept, and the next hazard id to give."""
        ...

    def save(self, changed: list[Candidate], gone: list[str], next_id: int) -> None:
        """Write the changed candidates (by id), drop the gone ones, set the next id: all in
        one transaction."""
        ...

    def close(self) -> None: ...


class SQLiteHazards(SQLiteFile):
    """`HazardTable` on one SQLite file in WAL mode."""

    FILE = DB_FILE
    SCHEMA = _SCHEMA
    WHAT = "road-sensing state"

    def load(self) -> tuple[list[Candidate], int]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM candidates ORDER BY id").fetchall()
            [(n,)] = self._db.execute("SELECT n FROM next_id").fetchall()
        return [msgspec.msgpack.decode(r[0], type=Candidate) for r in rows], int(n)

    def save(self, changed: list[Candidate], gone: list[str], next_id: int) -> None:
        rows = [(c.hazard_id, msgspec.msgpack.encode(c)) for c in changed]
        with self._lock, transaction(self._db):
            self._db.executemany("INSERT OR REPLACE INTO candidates VALUES (?, ?)", rows)
            self._db.executemany("DELETE FROM candidates WHERE id = ?", [(i,) for i in gone])
            self._db.execute("UPDATE next_id SET n = ?", (next_id,))


def open_hazard_table(settings: Settings) -> HazardTable:
    """The table on the engine `settings.hazards` names: `hazards.sqlite` in the data dir
    ('sqlite', the default) or PostgreSQL (postgresql://…; ConfigError for anything else)."""
    from volta.derived.engines import postgres_url

    if postgres_url(settings.hazards, "VOLTA_HAZARDS"):
        # Imported here: the embedded default never loads psycopg.
        from volta.hazards.postgres import PostgresHazards

        return PostgresHazards(
            settings.hazards, schema=settings.hazards_schema, timeout=settings.store_timeout_s
        )
    return SQLiteHazards.open(settings.data_dir)
