"""The scale-out registry on PostgreSQL: every API, worker and processor process on any
machine reads and writes the same vehicles, users, tokens and audit log.

The tables live in their own schema (`volta_registry` by default), so the registry may share
a database, even the store's, without its tables or its `schema_migrations` meeting the
store's. Migrations (`volta.registry.migrations`) are applied on open, like the store's, by
the same runner. The keys do not live in the database: a copy of the database alone must
not let anyone test token guesses or sign sessions (see `open_registry`).
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pgerrors
from psycopg_pool import ConnectionPool

from volta.clock import Clock, wall_ms
from volta.registry.database import Row, Taken
from volta.registry.sql import SqlRegistry
from volta.store import migrations
from volta.store.postgres_store import Server

MIGRATIONS = "volta.registry.migrations"
DEFAULT_SCHEMA = "volta_registry"
_Conn = psycopg.Connection[tuple[Any, ...]]
_PLACEHOLDER = re.compile(r"\?")
RECENT_S = 1.0  # a connection that answered this recently is taken as alive


class PostgresDatabase:
    """`Database` on a pool of PostgreSQL connections; failures to reach the server are
    `Unavailable` with a plain reason (the store's `Server` words them)."""

    def __init__(self, url: str, schema: str = DEFAULT_SCHEMA, timeout: float = 5.0) -> None:
        self.server = Server(url, schema, timeout)
        with self.server.connect() as conn:
            migrations.migrate(conn, schema, MIGRATIONS)
        self._answered: weakref.WeakKeyDictionary[_Conn, float] = weakref.WeakKeyDictionary()
        self._pool: ConnectionPool[_Conn] = ConnectionPool(
            url, kwargs=self.server.kwargs, min_size=1, max_size=4, timeout=timeout,
            open=False, check=self._check,
        )  # fmt: skip
        with self.server.errors():
            self._pool.open(wait=True, timeout=timeout)

    def _check(self, conn: _Conn) -> None:
        """Check a connection taken from the pool (a server restart leaves dead ones) unless
        it answered within the last `RECENT_S`: the check is a round trip of its own, and on
        a busy API every request takes two or three connections (a workshop's case queue: 6
        round trips instead of 3; bench/aftersales_service.py)."""
        if time.monotonic() - self._answered.get(conn, float("-inf")) >= RECENT_S:
            ConnectionPool.check_connection(conn)

    @contextmanager
    def connection(self) -> Iterator[_Statements]:
        with self.server.errors(), self._pool.connection() as conn:
            yield _Statements(conn)
            self._answered[conn] = time.monotonic()

    @contextmanager
    def transaction(self) -> Iterator[_Statements]:
        with self.server.errors(), self._pool.connection() as conn:
            with conn.transaction():
                yield _Statements(conn)
            self._answered[conn] = time.monotonic()

    def schema_version(self) -> int | None:
        with self.server.connect() as conn:
            return migrations.current_version(conn, self.server.schema)

    def close(self) -> None:
        self._pool.close()


class _Statements:
    def __init__(self, conn: _Conn) -> None:
        self._conn = conn

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return self._conn.execute(_PLACEHOLDER.sub("%s", sql), args).fetchall()

    def one(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        return self._conn.execute(_PLACEHOLDER.sub("%s", sql), args).fetchone()

    def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        try:
            return self._conn.execute(_PLACEHOLDER.sub("%s", sql), args).rowcount
        except (pgerrors.UniqueViolation, pgerrors.ForeignKeyViolation) as e:
            raise Taken(str(e).splitlines()[0]) from None


class PostgresRegistry(SqlRegistry):
    """`Registry` on PostgreSQL (`url`: postgresql://…). `key` is the HMAC key of tokens and
    `signing_key` the sessions' (every process of a deployment must be given the same)."""

    def __init__(
        self,
        url: str,
        key: bytes,
        *,
        signing_key: bytes | None = None,
        schema: str = DEFAULT_SCHEMA,
        clock: Clock = wall_ms,
        timeout: float = 5.0,
    ) -> None:
        super().__init__(PostgresDatabase(url, schema, timeout), key, clock, signing_key)
