"""The embedded registry on SQLite.

Why SQLite and not DuckDB like the telemetry store: the registry is small, point-lookup work
(one query per request), and `volta vehicles add` must work while `volta serve` holds the data
dir. A DuckDB file admits one writing process; SQLite in WAL mode lets the CLI and the server
share the file safely.

The schema is versioned with `PRAGMA user_version` and migrated forward on open (in one
immediate transaction, so a CLI and a server opening the same file do not both migrate).
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Any

from volta.clock import Clock, wall_ms
from volta.errors import AuthError, BadRequest, Conflict, NotFound
from volta.registry import sessions
from volta.registry.keys import load_or_create_key
from volta.registry.model import (
    USER_ROLES,
    AuditEntry,
    AuditQuery,
    Credential,
    Enrollment,
    IssuedToken,
    Principal,
    Role,
    Session,
    User,
    Vehicle,
    new_credential_id,
    new_token,
    new_user_id,
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
)
SCHEMA_VERSION = len(_MIGRATIONS)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_USER_COLUMNS = "id, name, role, organisation, created_ms, disabled_ms"
_VEHICLE_COLUMNS = "vin, model, attributes, created_ms, organisation"


def _check_name(what: str, value: str) -> str:
    if not _NAME.fullmatch(value):
        raise BadRequest(
            f"invalid {what} {value!r}: 1-64 characters A-Z, a-z, 0-9 and . _ @ -,"
            " starting with a letter or digit"
        )
    return value


KEY_FILE = "registry.key"
DB_FILE = "registry.sqlite"


def load_key(data_dir: Path) -> bytes:
    """The HMAC key of a data dir, created (mode 0600) on first use. Kept beside, not inside,
    the database so that a copy of the database alone cannot be used to test token guesses."""
    return load_or_create_key(data_dir / KEY_FILE, "remove it only if every token may be revoked")


class SQLiteRegistry:
    """`Registry` on SQLite. `SQLiteRegistry.in_memory()` for tests."""

    def __init__(
        self,
        path: Path | str,
        key: bytes,
        clock: Clock = wall_ms,
        signing_key: bytes | None = None,
    ) -> None:
        self._key = key
        # Without a key of its own (in-memory registries), sessions are signed with a key
        # derived from the HMAC key, never with the HMAC key itself.
        self._signing_key = signing_key or token_digest(key, "volta-jwt").encode()
        self._clock = clock
        self._lock = threading.Lock()
        self._known_vins: set[str] = set()
        # Signed-in principals by user id, valid while nothing that decides what a user sees
        # changed: `_writes` counts this process's changes, SQLite's data_version others'.
        self._writes = 0
        self._principals: dict[str, tuple[tuple[int, int], Principal]] = {}
        # API-token principals by token digest (never the token), valid the same way: a
        # revocation here or in another process changes the generation. Saves the SQLite
        # look-up of every API request; only tokens that authenticated are kept.
        self._token_principals: dict[str, tuple[tuple[int, int], Principal]] = {}
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=10.0
        )
        if str(path) != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._migrate()

    @classmethod
    def open(cls, data_dir: Path, clock: Clock = wall_ms) -> SQLiteRegistry:
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            data_dir / DB_FILE,
            load_key(data_dir),
            clock,
            signing_key=sessions.load_signing_key(data_dir),
        )

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
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
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @classmethod
    def in_memory(cls, clock: Clock = wall_ms) -> SQLiteRegistry:
        return cls(":memory:", secrets.token_bytes(32), clock)

    # vehicles

    def add_vehicle(
        self,
        vin: str,
        model: str | None = None,
        attributes: dict[str, Any] | None = None,
        organisation: str | None = None,
    ) -> Enrollment:
        if not is_valid_vin(vin):
            raise BadRequest(
                f"invalid VIN {vin!r}: 17 characters A-Z/0-9 without I, O, Q (ISO 3779)"
            )
        if organisation is not None:
            _check_name("organisation", organisation)
        now = self._clock()
        vehicle = Vehicle(
            vin=vin,
            model=model,
            attributes=dict(attributes or {}),
            created_ms=now,
            organisation=organisation,
        )
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(
                    "INSERT INTO vehicles (vin, model, attributes, created_ms, organisation)"
                    " VALUES (?,?,?,?,?)",
                    (vin, model, json.dumps(vehicle.attributes), now, organisation),
                )
                token = self._insert_credential(Role.VEHICLE, vin, now)
                self._db.execute("COMMIT")
                self._writes += 1
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
                f"SELECT {_VEHICLE_COLUMNS} FROM vehicles WHERE vin = ?", (vin,)
            ).fetchone()
        if row is None:
            raise NotFound(f"vehicle {vin} is not registered")
        return _vehicle(row)

    def list_vehicles(self, limit: int = 1000, after: str | None = None) -> list[Vehicle]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_VEHICLE_COLUMNS} FROM vehicles WHERE vin > ? ORDER BY vin LIMIT ?",
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

    def set_organisation(self, vin: str, organisation: str | None) -> Vehicle:
        """Which service organisation looks after a vehicle (None: none)."""
        if organisation is not None:
            _check_name("organisation", organisation)
        with self._lock:
            cur = self._db.execute(
                "UPDATE vehicles SET organisation = ? WHERE vin = ?", (organisation, vin)
            )
            self._writes += 1
        if cur.rowcount == 0:
            raise NotFound(f"vehicle {vin} is not registered")
        return self.get_vehicle(vin)

    def visible_vehicles(
        self, principal: Principal, limit: int = 1000, after: str | None = None
    ) -> list[Vehicle]:
        """The vehicles a principal may see, by VIN, paged like `list_vehicles`."""
        if principal.sees_all:
            return self.list_vehicles(limit, after)
        candidates = set(principal.vins)
        if principal.vin is not None:
            candidates.add(principal.vin)
        wanted = sorted(v for v in candidates if v > (after or ""))[:limit]
        return [self.get_vehicle(v) for v in wanted if self.has_vehicle(v)]

    # users

    def add_user(
        self, name: str, role: Role, password: str, organisation: str | None = None
    ) -> User:
        """A person who signs in. Technicians need an organisation; operators have none."""
        _check_name("user name", name)
        if role not in USER_ROLES:
            raise BadRequest(f"a user is an operator, technician or driver, not {role.value}")
        if role is Role.TECHNICIAN and organisation is None:
            raise BadRequest("a technician needs an organisation (--org)")
        if role is Role.OPERATOR and organisation is not None:
            raise BadRequest("an operator sees the whole fleet and has no organisation")
        if organisation is not None:
            _check_name("organisation", organisation)
        hashed = sessions.hash_password(password)
        now = self._clock()
        user = User(
            id=new_user_id(), name=name, role=role, organisation=organisation, created_ms=now
        )
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO users (id, name, password_hash, role, organisation, created_ms)"
                    " VALUES (?,?,?,?,?,?)",
                    (user.id, name, hashed, role.value, organisation, now),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"user {name} already exists") from None
        return user

    def get_user(self, name: str) -> User:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no user {name}")
            return self._user(row)

    def list_users(self, limit: int = 1000, after: str | None = None) -> list[User]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE name > ? ORDER BY name LIMIT ?",
                (after or "", limit),
            ).fetchall()
            return [self._user(r) for r in rows]

    def set_password(self, name: str, password: str) -> None:
        hashed = sessions.hash_password(password)
        with self._lock:
            cur = self._db.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?", (hashed, name)
            )
        if cur.rowcount == 0:
            raise NotFound(f"no user {name}")

    def disable_user(self, name: str) -> None:
        """The user can no longer sign in, and their session tokens stop working at once."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE users SET disabled_ms = ? WHERE name = ? AND disabled_ms IS NULL",
                (self._clock(), name),
            )
            self._writes += 1
        if cur.rowcount == 0:
            raise NotFound(f"no active user {name}")

    def assign(self, name: str, vin: str) -> User:
        """Let a driver see a vehicle."""
        user = self.get_user(name)
        if user.role is not Role.DRIVER:
            raise BadRequest(
                f"{name} is a {user.role.value}: vehicles are assigned to drivers"
                " (technicians see their organisation's vehicles, operators every vehicle)"
            )
        if not self.has_vehicle(vin):
            raise NotFound(f"vehicle {vin} is not registered")
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO assignments (user_id, vin, created_ms) VALUES (?,?,?)",
                (user.id, vin, self._clock()),
            )
            self._writes += 1
        return self.get_user(name)

    def unassign(self, name: str, vin: str) -> User:
        user = self.get_user(name)
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM assignments WHERE user_id = ? AND vin = ?", (user.id, vin)
            )
            self._writes += 1
        if cur.rowcount == 0:
            raise NotFound(f"vehicle {vin} is not assigned to {name}")
        return self.get_user(name)

    def sign_in(self, name: str, password: str, ttl_s: int = sessions.DEFAULT_TTL_S) -> Session:
        """A session token for a user's name and password. The same AuthError whether the name
        is unknown, the user disabled or the password wrong (and as slow)."""
        with self._lock:
            row = self._db.execute(
                "SELECT password_hash, disabled_ms FROM users WHERE name = ?", (name,)
            ).fetchone()
        hashed: str | None = row[0] if row is not None and row[1] is None else None
        if not sessions.verify_password(hashed, password) or hashed is None:
            raise AuthError("invalid user name or password")
        if sessions.needs_rehash(hashed):  # parameters were raised since it was stored
            self.set_password(name, password)
        user = self.get_user(name)
        token, expires_ms = sessions.issue(
            self._signing_key, user.id, user.role.value, self._clock(), ttl_s
        )
        return Session(token=token, user=user, expires_ms=expires_ms)

    def refresh(self, token: str, ttl_s: int = sessions.DEFAULT_TTL_S) -> Session:
        """A new session token for a valid one, while the user is active and the password was
        checked less than `sessions.MAX_SESSION_S` ago. AuthError otherwise."""
        if not sessions.looks_like_jwt(token):
            raise BadRequest("only sign-in tokens are refreshed; API tokens do not expire")
        now = self._clock()
        claims = sessions.verify(self._signing_key, token, now)
        if now // 1000 - claims.auth_time_s > sessions.MAX_SESSION_S:
            raise AuthError("session too old: sign in again")
        with self._lock:
            row = self._db.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (claims.user_id,)
            ).fetchone()
            if row is None or row[5] is not None:
                raise AuthError("this user no longer exists or was disabled")
            user = self._user(row)
        new, expires_ms = sessions.issue(
            self._signing_key, user.id, user.role.value, now, ttl_s, claims.auth_time_s
        )
        return Session(token=new, user=user, expires_ms=expires_ms)

    # credentials

    def issue_token(self, role: Role, vin: str | None = None) -> IssuedToken:
        if role not in (Role.VEHICLE, Role.OPERATOR):
            raise BadRequest("API tokens are for operators (machines) and vehicles")
        if (role is Role.VEHICLE) != (vin is not None):
            raise BadRequest("a vehicle token needs a VIN; an operator token must not have one")
        if vin is not None and not self.has_vehicle(vin):
            raise NotFound(f"vehicle {vin} is not registered")
        with self._lock:
            return self._insert_credential(role, vin, self._clock())

    def authenticate(self, token: str) -> Principal | None:
        if sessions.looks_like_jwt(token):
            return self._session_principal(token)
        # Look-up by HMAC: the compared value is derived from the secret, so an equality
        # index lookup leaks nothing useful about stored tokens through timing.
        digest = token_digest(self._key, token)
        with self._lock:
            generation = self._generation()
            cached = self._token_principals.get(digest)
            if cached is not None and cached[0] == generation:
                return cached[1]
            row = self._db.execute(
                "SELECT id, role, vin FROM credentials WHERE digest = ? AND revoked_ms IS NULL",
                (digest,),
            ).fetchone()
            if row is None:
                return None
            principal = Principal(role=Role(row[1]), credential_id=row[0], vin=row[2])
            if len(self._token_principals) > 10_000:
                self._token_principals.clear()
            self._token_principals[digest] = (generation, principal)
            return principal

    def _generation(self) -> tuple[int, int]:
        """Changes whenever a cached principal may have (lock held): `_writes` counts this
        process's changes, SQLite's data_version other connections' commits."""
        return (self._writes, int(self._db.execute("PRAGMA data_version").fetchone()[0]))

    def _session_principal(self, token: str) -> Principal:
        claims = sessions.verify(self._signing_key, token, self._clock())
        with self._lock:
            generation = self._generation()
            cached = self._principals.get(claims.user_id)
            if cached is not None and cached[0] == generation:
                return cached[1]
            principal = self._load_principal(claims.user_id)
            if len(self._principals) > 10_000:
                self._principals.clear()
            self._principals[claims.user_id] = (generation, principal)
            return principal

    def _load_principal(self, user_id: str) -> Principal:
        """A user's principal with the vehicles it sees (lock held)."""
        row = self._db.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)
        ).fetchone()
        if row is None or row[5] is not None:
            raise AuthError("this user no longer exists or was disabled")
        user = self._user(row)
        vins: frozenset[str] = frozenset()
        if user.role is Role.DRIVER:
            vins = frozenset(user.vins)
        elif user.role is Role.TECHNICIAN:
            vins = frozenset(
                r[0]
                for r in self._db.execute(
                    "SELECT vin FROM vehicles WHERE organisation = ?", (user.organisation,)
                )
            )
        return Principal(
            role=user.role,
            credential_id=user.id,
            user=user.name,
            organisation=user.organisation,
            vins=vins,
        )

    def list_credentials(self, limit: int = 1000, after: str | None = None) -> list[Credential]:
        """Issued API tokens (ids, never secrets), by id."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, role, vin, created_ms, revoked_ms FROM credentials"
                " WHERE id > ? ORDER BY id LIMIT ?",
                (after or "", limit),
            ).fetchall()
        return [Credential(r[0], Role(r[1]), r[2], r[3], r[4]) for r in rows]

    def revoke(self, credential_id: str) -> None:
        with self._lock:
            cur = self._db.execute(
                "UPDATE credentials SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL",
                (self._clock(), credential_id),
            )
            self._writes += 1  # a cached principal of this credential is no longer valid
        if cur.rowcount == 0:
            raise NotFound(f"no active credential {credential_id}")

    # audit

    def record(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        status: int,
        credential_id: str | None = None,
        target: str | None = None,
        client: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append one entry to the audit log; its id."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO audit (ts_ms, actor, role, credential_id, action, target, client,"
                " status, detail) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    self._clock(),
                    actor,
                    role,
                    credential_id,
                    action,
                    target,
                    client,
                    status,
                    json.dumps(detail or {}),
                ),
            )
        return int(cur.lastrowid or 0)

    def audit(self, query: AuditQuery) -> list[AuditEntry]:
        """Entries matching every given filter, newest first. `action` matches a prefix
        (`POST`, `POST /v1/users`); `target` a VIN, user name or credential id exactly."""
        where: list[str] = []
        args: list[Any] = []
        if query.actor is not None:
            where.append("actor = ?")
            args.append(query.actor)
        if query.action is not None:
            where.append("substr(action, 1, ?) = ?")
            args += [len(query.action), query.action]
        if query.target is not None:
            where.append("target = ?")
            args.append(query.target)
        if query.since_ms is not None:
            where.append("ts_ms >= ?")
            args.append(query.since_ms)
        if query.until_ms is not None:
            where.append("ts_ms < ?")
            args.append(query.until_ms)
        if query.before is not None:
            where.append("id < ?")
            args.append(query.before)
        sql = (
            "SELECT id, ts_ms, actor, role, credential_id, action, target, client, status, detail"
            " FROM audit"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY id DESC LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(sql, (*args, query.limit)).fetchall()
        return [
            AuditEntry(
                id=r[0],
                ts_ms=r[1],
                actor=r[2],
                role=r[3],
                credential_id=r[4],
                action=r[5],
                target=r[6],
                client=r[7],
                status=r[8],
                detail=json.loads(r[9]),
            )
            for r in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _user(self, row: tuple[Any, ...]) -> User:
        """A user from a row of _USER_COLUMNS, with its assigned vehicles (lock held)."""
        vins = tuple(
            r[0]
            for r in self._db.execute(
                "SELECT vin FROM assignments WHERE user_id = ? ORDER BY vin", (row[0],)
            )
        )
        return User(
            id=row[0],
            name=row[1],
            role=Role(row[2]),
            organisation=row[3],
            created_ms=row[4],
            disabled_ms=row[5],
            vins=vins,
        )

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
    return Vehicle(
        vin=row[0],
        model=row[1],
        attributes=json.loads(row[2]),
        created_ms=row[3],
        organisation=row[4],
    )
