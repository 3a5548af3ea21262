"""The one way Volta's small side tables on PostgreSQL (derived results, places) connect: a
schema migrated on open, a small pool, and no round trip spent on checking a connection.

The telemetry store's pool checks every connection it hands out (an extra round trip). The
side tables are read and written in many small statements, on a machine where every round
trip waits for the server process to be scheduled, so here a pooled connection is used as it
is; when the server dropped it (a restart), the statement fails, the pool checks its idle
connections, and the statement runs once more on a fresh one. Every statement passed here
must therefore be safe to run twice (reads, upserts, replacements).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from volta.store import migrations
from volta.store.postgres_store import Server

__all__ = ["Conn", "SideTables"]

Conn = psycopg.Connection[tuple[Any, ...]]
R = TypeVar("R")


class SideTables:
    """A schema of small tables at `url`, migrated on open with the migrations of `package`,
    and a pool of at most `pool_size` connections. Failures to reach the server are
    `Unavailable` with a plain reason (the store's `Server` words them)."""

    def __init__(
        self,
        url: str,
        schema: str,
        package: str,
        *,
        timeout: float = 5.0,
        pool_size: int = 4,
        flush_each_commit: bool = True,
    ) -> None:
        self.server = Server(url, schema, timeout)
        self.package = package
        with self.server.connect() as conn:
            migrations.migrate(conn, schema, package)
        kwargs = dict(self.server.kwargs)
        if not flush_each_commit:
            # The commit returns before its WAL reaches the disk: a crash of the server (not a
            # restart) can lose the last fraction of a second of commits, never corrupt them.
            kwargs["options"] = f"{kwargs['options']} -c synchronous_commit=off"
        self._pool: ConnectionPool[Conn] = ConnectionPool(
            url, kwargs=kwargs, min_size=1, max_size=pool_size, timeout=timeout, open=False
        )
        with self.server.errors():
            self._pool.open(wait=True, timeout=timeout)

    def run(self, work: Callable[[Conn], R]) -> R:
        """`work` on a pooled connection (autocommit: open a transaction inside if needed);
        once more on a fresh connection if the server had dropped the first."""
        with self.server.errors():
            try:
                with self._pool.connection() as conn:
                    return work(conn)
            except psycopg.OperationalError:
                self._pool.check()  # drop the idle connections the server closed too
                with self._pool.connection() as conn:
                    return work(conn)

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        """A pooled connection for statements that must not run twice."""
        with self.server.errors(), self._pool.connection() as conn:
            yield conn

    def schema_version(self) -> int | None:
        return self.run(lambda conn: migrations.current_version(conn, self.server.schema))

    def close(self) -> None:
        self._pool.close()
