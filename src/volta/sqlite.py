"""The one way Volta opens its small SQLite side stores (derived results, commands, places,
hazards, diagnostics)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Self

from volta.errors import Unavailable


def open_sqlite(path: Path | str, schema: str, what: str) -> sqlite3.Connection:
    """A connection in autocommit and WAL mode (readers never wait for the writer) with
    `schema` applied, shareable across threads (callers guard it with their own lock).
    Unavailable, naming `what`, if the file cannot be opened."""
    try:
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(schema)
    except sqlite3.Error as e:
        raise Unavailable(f"cannot open the {what} at {path}: {e}") from e
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One transaction on an autocommit connection from `open_sqlite`: committed when the
    block ends, rolled back (and the error raised) when it fails."""
    db.execute("BEGIN")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class SQLiteFile:
    """Base of the SQLite side stores: one connection from `open_sqlite` on `path`, guarded by
    `_lock` (the work per call is small). A subclass names its `FILE` in the data dir, its
    `SCHEMA` and `WHAT` it holds (for errors)."""

    FILE: ClassVar[str]
    SCHEMA: ClassVar[str]
    WHAT: ClassVar[str]

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._db = open_sqlite(path, self.SCHEMA, self.WHAT)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path) -> Self:
        """The store's file in `data_dir` (created with the directory if missing)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(data_dir / cls.FILE)

    def close(self) -> None:
        with self._lock:
            self._db.close()
