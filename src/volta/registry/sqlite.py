"""The embedded registry on SQLite.

Why SQLite and not DuckDB like the telemetry store: the registry is small, point-lookup work
(one query per request), and `volta vehicles add` must work while `volta serve` holds the data
dir. A DuckDB file admits one writing process; SQLite in WAL mode lets the CLI and the server
share the file safely.

The schema is versioned with `PRAGMA user_version` and migrated forward on open (in one
immediate transaction, so a CLI and a server opening the same file do not both migrate).
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from volta.clock import Clock, wall_ms
from volta.registry import sessions
from volta.registry.database import Row, Taken
from volta.registry.keys import load_or_create_key
from volta.registry.sql import SqlRegistry

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vehicles (
    vin TEXT PRIMARY KEY,
    model TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS credentials (
    id TEXT PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    vin TEXT REFERENCES vehicles(vin),
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);
"""

# Forward migrations: _MIGRATIONS[n] takes a database at version n to n + 1. Version 0 is the
# first schema above (vehicles and credentials).
_MIGRATIONS: tuple[str, ...] = (
    """
    ALTER TABLE vehicles ADD COLUMN organisation TEXT;
    CREATE INDEX IF NOT EXISTS vehicles_by_org ON vehicles(organisation);
    CREATE TABLE IF NOT EXISTS users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        organisation TEXT,
        created_ms INTEGER NOT NULL,
        disabled_ms INTEGER
    );
    CREATE TABLE IF NOT EXISTS assignments (
        user_id TEXT NOT NULL REFERENCES users(id),
        vin TEXT NOT NULL REFERENCES vehicles(vin),
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (user_id, vin)
    );
    CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        role TEXT NOT NULL,
        credential_id TEXT,
        action TEXT NOT NULL,
        target TEXT,
        client TEXT,
        status INTEGER NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX IF NOT EXISTS audit_by_actor ON audit(actor, id);
    CREATE INDEX IF NOT EXISTS audit_by_target ON audit(target, id);
    """,
    # 2: the generation of what principals see (`volta.registry.database.BUMP`), which every
    # process checks before using a principal it cached; it replaces SQLite's data_version,
    # which the PostgreSQL engine has no equivalent of.
    """
    CREATE TABLE IF NOT EXISTS generation (n INTEGER NOT NULL);
    INSERT INTO generation (n) VALUES (0);
    """,
    # 3: what people call a vehicle (name, plate, group), and the alert log
    # (`volta.registry.alertlog`): when each alert was raised and cleared, who acknowledged it.
    """
    ALTER TABLE vehicles ADD COLUMN name TEXT;
    ALTER TABLE vehicles ADD COLUMN plate TEXT;
    ALTER TABLE vehicles ADD COLUMN group_name TEXT;
    CREATE TABLE IF NOT EXISTS alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        vin TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        severity TEXT NOT NULL,
        signal TEXT NOT NULL,
        value TEXT NOT NULL,
        message TEXT NOT NULL,
        raised_ms INTEGER NOT NULL,
        cleared_ms INTEGER,
        ack_ms INTEGER,
        ack_by TEXT,
        ack_note TEXT
    );
    CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts(vin, kind, key)
        WHERE cleared_ms IS NULL;
    CREATE INDEX IF NOT EXISTS alerts_by_raised ON alerts(raised_ms, id);
    """,
    # 4: after-sales service (volta.service): workshops, cases, appointments, recalls,
    # notifications; the same tables as the PostgreSQL registry's 0003_service.sql.
    resources.files("volta.registry.migrations")
    .joinpath("sqlite_0004_service.sql")
    .read_text(encoding="utf-8"),
    # 5: OTA campaigns (volta.ota.campaign_store); the PostgreSQL registry's 0004.
    resources.files("volta.registry.migrations")
    .joinpath("sqlite_0005_ota_campaigns.sql")
    .read_text(encoding="utf-8"),
    # 6: a recall's fixing software version, how each vehicle was completed; PostgreSQL's 0005.
    resources.files("volta.registry.migrations")
    .joinpath("sqlite_0006_recall_fix.sql")
    .read_text(encoding="utf-8"),
)
SCHEMA_VERSION = len(_MIGRATIONS)

KEY_FILE = "registry.key"
DB_FILE = "registry.sqlite"


def load_key(data_dir: Path) -> bytes:
    """The HMAC key of a data dir, created (mode 0600) on first use. Kept beside, not inside,
    the database so that a copy of the database alone cannot be used to test token guesses."""
    return load_or_create_key(data_dir / KEY_FILE, "remove it only if every token may be revoked")


class SQLiteDatabase:
    """`Database` on one SQLite connection shared by the process's threads (under a lock);
    WAL mode, so that a CLI and a server can use the same file."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=10.0
        )
        if str(path) != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._statements = _Statements(self._db)
        self._migrate()

    @contextmanager
    def connection(self) -> Iterator[_Statements]:
        with self._lock:
            yield self._statements

    @contextmanager
    def transaction(self) -> Iterator[_Statements]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._statements
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self.transaction():
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise OSError(
                    f"the registry has schema version {version}, newer than this Volta"
                    f" ({SCHEMA_VERSION}): upgrade Volta"
                )
            for step in _MIGRATIONS[version:]:
                for statement in step.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Statements:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return self._db.execute(sql, args).fetchall()

    def one(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        row: Row | None = self._db.execute(sql, args).fetchone()
        return row

    def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        try:
            return self._db.execute(sql, args).rowcount
        except sqlite3.IntegrityError as e:
            raise Taken(str(e)) from None


class SQLiteRegistry(SqlRegistry):
    """`Registry` on SQLite. `SQLiteRegistry.in_memory()` for tests."""

    def __init__(
        self,
        path: Path | str,
        key: bytes,
        clock: Clock = wall_ms,
        signing_key: bytes | None = None,
    ) -> None:
        self._sqlite = SQLiteDatabase(path)
        super().__init__(self._sqlite, key, clock, signing_key)

    @classmethod
    def open(cls, data_dir: Path, clock: Clock = wall_ms) -> SQLiteRegistry:
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            data_dir / DB_FILE,
            load_key(data_dir),
            clock,
            signing_key=sessions.load_signing_key(data_dir),
        )

    @classmethod
    def in_memory(cls, clock: Clock = wall_ms) -> SQLiteRegistry:
        return cls(":memory:", secrets.token_bytes(32), clock)

    @property
    def schema_version(self) -> int:
        return self._sqlite.schema_version
