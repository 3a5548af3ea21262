"""The embedded registry on SQLite.

Why SQLite and not DuckDB like the telemetry store: the registry is small, point-lookup work
(one query per request), and `volta vehicles add` must work while `volta serve` holds the data
dir. A DuckDB file admits one writing process; SQLite in WAL mode lets the CLI and the server
share the file safely.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from volta.errors import BadRequest, Conflict, NotFound
from volta.registry.model import (
    Enrollment,
    IssuedToken,
    Principal,
    Role,
    Vehicle,
    new_credential_id,
    new_token,
    token_digest,
)
from volta.wire import is_valid_vin

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

KEY_FILE = "registry.key"
DB_FILE = "registry.sqlite"


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def load_key(data_dir: Path) -> bytes:
    """The HMAC key of a data dir, created (mode 0600) on first use. Kept beside, not inside,
    the database so that a copy of the database alone cannot be used to test token guesses."""
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
    else:
        key = secrets.token_bytes(32)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
    if len(key) < 32:
        raise OSError(f"{path} is damaged: remove it only if every token may be revoked")
    return key


class SQLiteRegistry:
    """`Registry` on SQLite. `SQLiteRegistry.in_memory()` for tests."""

    def __init__(self, path: Path | str, key: bytes, clock: Callable[[], int] = _wall_ms) -> None:
        self._key = key
        self._clock = clock
        self._lock = threading.Lock()
        self._known_vins: set[str] = set()
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=10.0
        )
        if str(path) != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    @classmethod
    def open(cls, data_dir: Path, clock: Callable[[], int] = _wall_ms) -> SQLiteRegistry:
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(data_dir / DB_FILE, load_key(data_dir), clock)

    @classmethod
    def in_memory(cls, clock: Callable[[], int] = _wall_ms) -> SQLiteRegistry:
        return cls(":memory:", secrets.token_bytes(32), clock)

    # vehicles

    def add_vehicle(
        self, vin: str, model: str | None = None, attributes: dict[str, Any] | None = None
    ) -> Enrollment:
        if not is_valid_vin(vin):
            raise BadRequest(
                f"invalid VIN {vin!r}: 17 characters A-Z/0-9 without I, O, Q (ISO 3779)"
            )
        now = self._clock()
        vehicle = Vehicle(vin=vin, model=model, attributes=dict(attributes or {}), created_ms=now)
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(
                    "INSERT INTO vehicles (vin, model, attributes, created_ms) VALUES (?,?,?,?)",
                    (vin, model, json.dumps(vehicle.attributes), now),
                )
                token = self._insert_credential(Role.VEHICLE, vin, now)
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError:
                self._rollback()
                raise Conflict(f"vehicle {vin} is already registered") from None
            except BaseException:
                self._rollback()
                raise
            self._known_vins.add(vin)
        return Enrollment(vehicle=vehicle, token=token)

    def get_vehicle(self, vin: str) -> Vehicle:
        with self._lock:
            row = self._db.execute(
                "SELECT vin, model, attributes, created_ms FROM vehicles WHERE vin = ?", (vin,)
            ).fetchone()
        if row is None:
            raise NotFound(f"vehicle {vin} is not registered")
        return _vehicle(row)

    def list_vehicles(self, limit: int = 1000, after: str | None = None) -> list[Vehicle]:
        with self._lock:
            rows = self._db.execute(
                "SELECT vin, model, attributes, created_ms FROM vehicles"
                " WHERE vin > ? ORDER BY vin LIMIT ?",
                (after or "", limit),
            ).fetchall()
        return [_vehicle(r) for r in rows]

    def has_vehicle(self, vin: str) -> bool:
        # Vehicles are never deleted, so a positive answer can be cached: the gateway asks
        # this for every batch.
        if vin in self._known_vins:
            return True
        with self._lock:
            found = (
                self._db.execute("SELECT 1 FROM vehicles WHERE vin = ?", (vin,)).fetchone()
                is not None
            )
            if found:
                self._known_vins.add(vin)
        return found

    # credentials

    def issue_token(self, role: Role, vin: str | None = None) -> IssuedToken:
        if (role is Role.VEHICLE) != (vin is not None):
            raise BadRequest("a vehicle token needs a VIN; an operator token must not have one")
        if vin is not None and not self.has_vehicle(vin):
            raise NotFound(f"vehicle {vin} is not registered")
        with self._lock:
            return self._insert_credential(role, vin, self._clock())

    def authenticate(self, token: str) -> Principal | None:
        # Look-up by HMAC: the compared value is derived from the secret, so an equality
        # index lookup leaks nothing useful about stored tokens through timing.
        digest = token_digest(self._key, token)
        with self._lock:
            row = self._db.execute(
                "SELECT id, role, vin FROM credentials WHERE digest = ? AND revoked_ms IS NULL",
                (digest,),
            ).fetchone()
        if row is None:
            return None
        return Principal(role=Role(row[1]), credential_id=row[0], vin=row[2])

    def revoke(self, credential_id: str) -> None:
        with self._lock:
            cur = self._db.execute(
                "UPDATE credentials SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL",
                (self._clock(), credential_id),
            )
        if cur.rowcount == 0:
            raise NotFound(f"no active credential {credential_id}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _insert_credential(self, role: Role, vin: str | None, now: int) -> IssuedToken:
        token = new_token(role)
        cred_id = new_credential_id()
        self._db.execute(
            "INSERT INTO credentials (id, digest, role, vin, created_ms) VALUES (?,?,?,?,?)",
            (cred_id, token_digest(self._key, token), role.value, vin, now),
        )
        return IssuedToken(
            token=token,
            principal=Principal(role=role, credential_id=cred_id, vin=vin),
            created_ms=now,
        )


def _vehicle(row: tuple[Any, ...]) -> Vehicle:
    return Vehicle(vin=row[0], model=row[1], attributes=json.loads(row[2]), created_ms=row[3])
