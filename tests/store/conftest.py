"""The `engine` fixture: every store engine the contract suite runs against.

A new engine (PostgreSQL) adds one param here; `test_contract.py` does not change.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from volta.store.base import TelemetryStore
from volta.store.duckdb_store import DuckDBStore

from .pgkit import PG_RUN, pg_compacting_factory, pg_schema_factory
from .storekit import StoreFactory, closing_factory


def _duckdb_file(tmp_path: Path) -> StoreFactory:
    counter = itertools.count()
    return lambda: DuckDBStore(tmp_path / f"store-{next(counter)}.duckdb")


def _duckdb_memory(tmp_path: Path) -> StoreFactory:
    return lambda: DuckDBStore(None)


ENGINES: dict[str, Callable[[Path], StoreFactory]] = {
    "duckdb-file": _duckdb_file,
    "duckdb-memory": _duckdb_memory,
    "postgresql": pg_schema_factory,
    "postgresql-compacted": pg_compacting_factory,
}


@pytest.fixture(scope="package", autouse=True)
def _drop_postgres_test_database() -> Iterator[None]:
    """The PostgreSQL engine makes one database per test run (on first use): drop it after."""
    yield
    PG_RUN.drop()


@pytest.fixture(params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A factory of fresh, empty stores of one engine; every store it made is closed after."""
    yield from closing_factory(ENGINES[request.param](tmp_path))


@pytest.fixture
def store(engine: StoreFactory) -> TelemetryStore:
    return engine()
