"""PostgreSQL for the store tests: one database per test run, one schema per store.

`VOLTA_TEST_POSTGRES` names the server (an admin URL; default: postgres on 127.0.0.1:5432 with
trust auth). The database `volta_test_<random>` is created on first use and dropped when the
package's tests are done, so parallel runs and the shared server never see each other's tables.
Dropped then rather than at the end of the session: DROP DATABASE discards the database's dirty
pages and pending fsyncs, whereas the next forced checkpoint (any DROP DATABASE forces one) would
otherwise sync the thousands of files its schemas made (32 s on the shared machine).
"""

from __future__ import annotations

import itertools
import os
import socket
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from volta.store.postgres_store import PostgresStore

from .storekit import StoreFactory

ADMIN_URL = os.environ.get("VOLTA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 1):
            return True
    except OSError:
        return False


class RunDatabase:
    """The run's database, created lazily so that runs without PostgreSQL tests never touch it."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"volta_test_{uuid.uuid4().hex[:12]}"
        self.url: str | None = None
        self._schemas = itertools.count()

    def ensure(self) -> str:
        """The run database's URL; skips the test when no server listens."""
        if self.url is None:
            if not listening(self.admin_url):
                pytest.skip(f"no PostgreSQL listening at {urlsplit(self.admin_url).netloc}")
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
            self.url = urlsplit(self.admin_url)._replace(path=f"/{self.name}").geturl()
        return self.url

    def new_schema(self) -> str:
        return f"s{next(self._schemas)}"

    def drop(self) -> None:
        if self.url is None:
            return
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )
        self.url = None


PG_RUN = RunDatabase(ADMIN_URL)


class CompactingStore(PostgresStore):
    """A PostgreSQL store that compacts everything it holds after each append: reads then
    come from `signal_hours`, and a later append into a compacted hour from both tables."""

    def append(self, *args: Any, **kwargs: Any) -> set[tuple[str, int]]:
        duplicates = super().append(*args, **kwargs)
        self.compact(before_ms=_FAR_FUTURE)
        return duplicates


_FAR_FUTURE = 1 << 60


def pg_schema_factory(tmp_path: Path) -> StoreFactory:
    """Each store the factory makes lives in a fresh schema of the run's database. Its
    compaction job is off: tests that compact say when."""
    url = PG_RUN.ensure()
    return lambda: PostgresStore(url, schema=PG_RUN.new_schema(), pool_size=4, compact_every_s=0)


def pg_compacting_factory(tmp_path: Path) -> StoreFactory:
    """Like `pg_schema_factory`, stores that compact after each append."""
    url = PG_RUN.ensure()
    return lambda: CompactingStore(url, schema=PG_RUN.new_schema(), pool_size=4, compact_every_s=0)
