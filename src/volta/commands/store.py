"""Where commands live: `commands.sqlite` in the data dir, one row per command.

SQLite in WAL mode for the reason the registry and the derived store use it: small,
durable, readable by a second process. The whole `Command` (with its history) is one
MessagePack body; the columns beside it are what the queries filter and sort on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import msgspec

from volta.commands.model import FINAL, Command
from volta.sqlite import SQLiteFile

__all__ = ["DB_FILE", "SQLiteCommandStore"]

DB_FILE = "commands.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY, vin TEXT NOT NULL, created_ms INTEGER NOT NULL,
    state TEXT NOT NULL, expires_ms INTEGER NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS commands_by_vin ON commands (vin, created_ms, id);
CREATE INDEX IF NOT EXISTS commands_open ON commands (state, expires_ms);
"""
_OPEN = ("queued", "delivered")


def _decode(body: bytes) -> Command:
    return msgspec.msgpack.decode(body, type=Command)


class SQLiteCommandStore(SQLiteFile):
    """Commands by id and by vehicle; `update` changes one under the store's lock with a
    function of its current value, so concurrent acks for one command cannot lose a step."""

    FILE = DB_FILE
    SCHEMA = _SCHEMA
    WHAT = "command store"

    def insert(self, cmd: Command) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO commands VALUES (?,?,?,?,?,?)",
                (
                    cmd.id,
                    cmd.vin,
                    cmd.created_ms,
                    cmd.state.value,
                    cmd.expires_ms,
                    msgspec.msgpack.encode(cmd),
                ),
            )

    def get(self, id: str) -> Command | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM commands WHERE id = ?", (id,)).fetchone()
        return None if row is None else _decode(row[0])

    def update(self, id: str, change: Callable[[Command], Command]) -> Command | None:
        """Read, `change`, write back in one transaction; None if there is no such command.
        `change` may raise to refuse: nothing is written then."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT body FROM commands WHERE id = ?", (id,)).fetchone()
                if row is None:
                    self._db.execute("ROLLBACK")
                    return None
                old = _decode(row[0])
                new = change(old)
                if new is not old:
                    self._write(new)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return new

    def _write(self, cmd: Command) -> None:
        self._db.execute(
            "UPDATE commands SET state = ?, body = ? WHERE id = ?",
            (cmd.state.value, msgspec.msgpack.encode(cmd), cmd.id),
        )

    def page(self, vin: str, limit: int = 50, before: Command | None = None) -> list[Command]:
        """Newest first; the next page starts after `before` (the last command of a page)."""
        sql = "SELECT body FROM commands WHERE vin = ?"
        args: list[object] = [vin]
        if before is not None:
            sql += " AND (created_ms, id) < (?, ?)"
            args += [before.created_ms, before.id]
        sql += " ORDER BY created_ms DESC, id DESC LIMIT ?"
        args.append(max(0, limit))
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_decode(r[0]) for r in rows]

    def open_for(self, vin: str, limit: int = 100) -> list[Command]:
        """The vehicle's queued and delivered commands, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM commands WHERE vin = ? AND state IN (?, ?) "
                "ORDER BY created_ms, id LIMIT ?",
                (vin, *_OPEN, limit),
            ).fetchall()
        return [_decode(r[0]) for r in rows]

    def due(self, now_ms: int, limit: int = 1000) -> list[str]:
        """Ids of open commands whose expiry has passed."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM commands WHERE state IN (?, ?) AND expires_ms <= ? LIMIT ?",
                (*_OPEN, now_ms, limit),
            ).fetchall()
        return [r[0] for r in rows]

    def update_many(self, ids: Iterable[str], change: Callable[[Command], Command]) -> int:
        """`update` each; returns how many reached a final state by it."""
        done = 0
        for id in ids:
            cmd = self.update(id, change)
            if cmd is not None and cmd.state in FINAL:
                done += 1
        return done
