"""The one way Volta opens its small SQLite side stores (derived results, commands, places)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
