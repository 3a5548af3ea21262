"""Where derived results live: drives, charges, battery health, keyed by a deterministic id.

A `DerivedStore` keeps records of a few kinds ("drive", "charge", "battery") as msgspec
Structs, upserted by id (vin + start time), so re-processing the same data never creates a
duplicate. The embedded engine is SQLite (`derived.sqlite` in the data dir), for the reason the
registry uses it: `volta recompute` must be able to write while `volta serve` reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

import msgspec

from volta.sqlite import SQLiteFile, transaction

__all__ = ["DB_FILE", "DerivedStore", "Record", "SQLiteDerivedStore"]

DB_FILE = "derived.sqlite"

T = TypeVar("T", bound=msgspec.Struct)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS derived (
    kind TEXT NOT NULL, id TEXT NOT NULL, vin TEXT NOT NULL,
    start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (kind, id));
CREATE INDEX IF NOT EXISTS derived_by_vin ON derived (kind, vin, start_ms);
"""


class Record(Protocol):
    """What a derived record has to have to be stored."""

    @property
    def id(self) -> str: ...
    @property
    def vin(self) -> str: ...
    @property
    def start_ms(self) -> int: ...
    @property
    def end_ms(self) -> int: ...


class DerivedStore(Protocol):
    def upsert(self, kind: str, records: Sequence[Record]) -> None:
        """Insert or replace by (kind, id), in one transaction."""
        ...

    def replace_from(self, kind: str, vin: str, start_ms: int, records: Sequence[Record]) -> None:
        """In one transaction: remove the records of `vin` starting at or after `start_ms`,
        then write `records` (a re-detection owns everything from `start_ms` on)."""
        ...

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
        """Newest first; records overlapping [start_ms, end_ms); page with `before_ms` (the
        start of the last record of the previous page)."""
        ...

    def get(self, kind: str, type_: type[T], id: str) -> T | None: ...

    def close(self) -> None: ...


def list_query(
    mark: str,
    kind: str,
    vin: str | None,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
    before_ms: int | None,
) -> tuple[str, list[object]]:
    """`DerivedStore.list`'s query and its arguments, with the engine's placeholder `mark`
    (`?` for SQLite, `%s` for PostgreSQL)."""
    sql = f"SELECT body FROM derived WHERE kind = {mark}"
    args: list[object] = [kind]
    for cond, val in (
        ("vin =", vin),
        ("end_ms >", start_ms),
        ("start_ms <", end_ms),
        ("start_ms <", before_ms),
    ):
        if val is not None:
            sql += f" AND {cond} {mark}"
            args.append(val)
    sql += f" ORDER BY start_ms DESC, id DESC LIMIT {mark}"
    args.append(max(0, limit))
    return sql, args


class SQLiteDerivedStore(SQLiteFile):
    """`DerivedStore` on one SQLite file in WAL mode; one connection guarded by a lock (the
    work per call is small)."""

    FILE = DB_FILE
    SCHEMA = _SCHEMA
    WHAT = "derived-results store"

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
        with self._lock, transaction(self._db):
            if clear is not None:
                self._db.execute(
                    "DELETE FROM derived WHERE kind = ? AND vin = ? AND start_ms >= ?",
                    (kind, *clear),
                )
            self._db.executemany("INSERT OR REPLACE INTO derived VALUES (?,?,?,?,?,?)", rows)

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
        sql, args = list_query("?", kind, vin, start_ms, end_ms, limit, before_ms)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [msgspec.msgpack.decode(r[0], type=type_) for r in rows]

    def get(self, kind: str, type_: type[T], id: str) -> T | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM derived WHERE kind = ? AND id = ?", (kind, id)
            ).fetchone()
        return None if row is None else msgspec.msgpack.decode(row[0], type=type_)
